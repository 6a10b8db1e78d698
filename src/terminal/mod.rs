//! Terminal sessions: a program on a real PTY (portable-pty), supervised by
//! `crate::process` like an agent runner — its escalation aimed at the terminal's whole
//! session — its output streamed as text or bytes with backpressure, scrollback and idle
//! detection.

pub mod options;
pub mod queue;
pub mod registry;
pub mod ring;
pub mod session;

#[cfg(test)]
mod tests;

pub use session::{
    Chunk, Terminal, TerminalConfig, TerminalEvent, TerminalInfo, TerminalSink, TerminalTasks,
};
