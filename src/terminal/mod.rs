//! Terminal sessions: a program on a real PTY (portable-pty), supervised by
//! `crate::process` like an agent runner — its escalation aimed at the terminal's whole
//! session — its output streamed as text or bytes with backpressure, scrollback and idle
//! detection.

pub mod options;
pub mod queue;
pub mod registry;
pub mod ring;
pub mod session;

// The tests run programs of a Unix system (sh, sleep, stty); Windows has its own in
// process/windows/tests.rs.
#[cfg(all(test, unix))]
mod tests;

pub use session::{
    Chunk, Terminal, TerminalConfig, TerminalEvent, TerminalInfo, TerminalSink, TerminalTasks,
};
