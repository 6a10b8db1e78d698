//! A child's stdio pipes as the kinds of child use them: the raw end the spawn hands out
//! ([`Pipe`]), made an async reader or writer on the runtime that will poll it.

use std::io;
use std::os::fd::OwnedFd;

use tokio::net::unix::pipe;

/// One end of a child's stdio pipe, as the spawn hands it out (not yet registered with a
/// runtime: the spawn runs on a spawner thread).
pub type Pipe = OwnedFd;
/// The read end of a pipe, registered with the current runtime (`tokio::io::AsyncRead`).
pub type PipeReader = pipe::Receiver;
/// The write end of a pipe, registered with the current runtime (`tokio::io::AsyncWrite`).
pub type PipeWriter = pipe::Sender;

/// `pipe` as an async reader; call inside the runtime that will poll it.
pub fn pipe_reader(pipe: Pipe) -> io::Result<PipeReader> {
    pipe::Receiver::from_owned_fd(pipe)
}

/// `pipe` as an async writer; call inside the runtime that will poll it.
pub fn pipe_writer(pipe: Pipe) -> io::Result<PipeWriter> {
    pipe::Sender::from_owned_fd(pipe)
}
