//! Agent sessions: a runner script speaking NDJSON on its stdio, its events mapped to
//! `AgentMessage`s (`crate::agent::adapt`), statuses and costs. The process is supervised by
//! `crate::process`.

pub mod adapt;
pub mod framing;
pub mod outbox;
pub mod protocol;
pub mod session;
pub mod status;

#[cfg(test)]
mod fuzz_tests;

pub use session::{Launch, LaunchFuture, Registry, Session, Snapshot, spawning};
