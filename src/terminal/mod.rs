//! Terminal sessions: a program on a real PTY (portable-pty), supervised by
//! `crate::supervise` like an agent runner, its output streamed as bytes or text.

pub mod ring;
pub mod utf8;
