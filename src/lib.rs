//! Native `SidecarManager`: supervised AI-agent runner processes for Node.js and Bun.
//!
//! The core (everything but [`napi`]) is plain Rust with no JS types: runner resolution,
//! clean environments, process supervision, bounded NDJSON framing, provider adapters and
//! the ordered delivery queue. [`napi`] is the thin binding the JS wrapper (`index.js`) uses.
#![deny(clippy::all)]

pub mod agent;
pub mod build;
pub mod config;
pub mod deliver;
pub mod env;
pub mod error;
pub mod lifecycle;
pub mod logging;
pub mod manager;
pub mod monitor;
pub mod napi;
pub mod process;
pub mod resolve;
pub mod resources;
pub mod runtime;
pub mod sandbox;
pub mod terminal;
pub mod util;
