//! The napi binding: the thin layer between `index.js` and the Rust core. Option structs,
//! one-line delegations, the contract JS branches on, and the deliveries. No logic lives
//! here; everything it calls is plain Rust tested with `cargo test`.
//!
//! - [`manager`]: `NativeManager` (the native half of `SidecarManager`).
//! - [`terminal`]: `NativeTerminal` (the native half of `Terminal`).
//! - [`callback`]: the one kind of JS callback the addon calls from other threads.
//! - [`wire`]: how a delivery becomes JS values, and the tags `index.js` reads them by.

mod callback;
mod contract;
mod manager;
mod terminal;
mod wire;

pub use callback::JsCallback;
pub use manager::NativeManager;
pub use terminal::NativeTerminal;
