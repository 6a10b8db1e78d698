//! Agent sessions: a runner script speaking NDJSON on its stdio, its events mapped to
//! `AgentMessage`s (`crate::adapt`), statuses and costs. The process is supervised by
//! `crate::process`.

pub mod session;

pub use session::{Host, Launch, LaunchFuture, Session, Snapshot, spawning};
