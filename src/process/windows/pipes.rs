//! A child's stdio as named pipes: the host's end is a named pipe server opened for
//! overlapped I/O, so the runtime's completion port drives it (no thread parked in a
//! blocking read per stream, which anonymous pipes would need); the child's end is an
//! ordinary synchronous handle. This is what libuv does for Node's own child processes.

use std::io;
use std::os::windows::io::{FromRawHandle, IntoRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::net::windows::named_pipe::NamedPipeServer;
use windows_sys::Win32::Foundation::{GENERIC_READ, GENERIC_WRITE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Storage::FileSystem::{
    CreateFileW, FILE_FLAG_FIRST_PIPE_INSTANCE, FILE_FLAG_OVERLAPPED, FILE_READ_ATTRIBUTES,
    FILE_WRITE_ATTRIBUTES, OPEN_EXISTING, PIPE_ACCESS_INBOUND, PIPE_ACCESS_OUTBOUND,
};
use windows_sys::Win32::System::Pipes::{
    CreateNamedPipeW, PIPE_READMODE_BYTE, PIPE_REJECT_REMOTE_CLIENTS, PIPE_TYPE_BYTE, PIPE_WAIT,
};

use super::wide;

/// The host's end of a child's pipe, as the spawn hands it out (not yet registered with a
/// runtime: the spawn runs on a spawner thread).
pub type Pipe = OwnedHandle;
/// The read end of a pipe, registered with the current runtime (`tokio::io::AsyncRead`).
pub type PipeReader = NamedPipeServer;
/// The write end of a pipe, registered with the current runtime (`tokio::io::AsyncWrite`).
pub type PipeWriter = NamedPipeServer;

/// Which way the bytes go, seen from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The child writes, the host reads (stdout, stderr, a console's output).
    FromChild,
    /// The host writes, the child reads (stdin, a console's input).
    ToChild,
}

/// A connected pipe: `(host end, child end)`. `buffer` is the pipe's buffer quota in bytes.
pub fn pipe_pair(flow: Flow, buffer: u32) -> io::Result<(Pipe, OwnedHandle)> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        r"\\.\pipe\sidecar-native-{}-{}-{:x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().as_u128() as u64,
    );
    let wname = wide(&name);
    let (access, child_access) = match flow {
        Flow::FromChild => (PIPE_ACCESS_INBOUND, GENERIC_WRITE | FILE_READ_ATTRIBUTES),
        Flow::ToChild => (PIPE_ACCESS_OUTBOUND, GENERIC_READ | FILE_WRITE_ATTRIBUTES),
    };
    // SAFETY: `wname` is a NUL-terminated UTF-16 string that outlives the call; no security
    // attributes (the handle is not inheritable). One instance, and
    // FILE_FLAG_FIRST_PIPE_INSTANCE fails if a pipe of that name exists, so nobody else can
    // have created it first.
    let server = unsafe {
        CreateNamedPipeW(
            wname.as_ptr(),
            access | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
            PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS,
            1,
            buffer,
            buffer,
            0,
            std::ptr::null(),
        )
    };
    if server == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new handle this function owns from here on.
    let server = unsafe { OwnedHandle::from_raw_handle(server) };
    // SAFETY: as above for `wname`; no sharing, no security attributes (std makes the
    // inheritable copy the child gets), synchronous I/O for the child.
    let client = unsafe {
        CreateFileW(
            wname.as_ptr(),
            child_access,
            0,
            std::ptr::null(),
            OPEN_EXISTING,
            0,
            std::ptr::null_mut(),
        )
    };
    if client == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new handle this function owns from here on.
    let client = unsafe { OwnedHandle::from_raw_handle(client) };
    Ok((server, client))
}

/// `pipe` as an async reader; call inside the runtime that will poll it.
pub fn pipe_reader(pipe: Pipe) -> io::Result<PipeReader> {
    register(pipe)
}

/// `pipe` as an async writer; call inside the runtime that will poll it.
pub fn pipe_writer(pipe: Pipe) -> io::Result<PipeWriter> {
    register(pipe)
}

fn register(pipe: Pipe) -> io::Result<NamedPipeServer> {
    // SAFETY: `pipe` is the server end of a named pipe opened for overlapped I/O by
    // [`pipe_pair`]; ownership moves into the NamedPipeServer.
    unsafe { NamedPipeServer::from_raw_handle(pipe.into_raw_handle()) }
}
