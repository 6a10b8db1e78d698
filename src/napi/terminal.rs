//! The terminal half of the binding: the native terminal handle, its options and info, and
//! deliveries of terminal events to JS.

use std::collections::HashMap;
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::manager::{OpResult, result};
use crate::error::{ErrorCode, OpError};
use crate::process::exit_parts;
use crate::terminal::options::{MAX_TERMINAL_SIZE, TerminalRequest};
use crate::terminal::{Terminal, TerminalInfo};

/// `openTerminal` options, type-checked by the JS wrapper.
#[napi(object)]
pub struct NativeTerminalOptions {
    /// Program.
    pub command: Option<String>,
    /// Arguments.
    pub args: Option<Vec<String>>,
    /// Working directory (the wrapper fills in `process.cwd()`).
    pub cwd: String,
    /// Over the host environment; `null` removes a key.
    pub env: Option<HashMap<String, Option<String>>>,
    /// Strip provider keys.
    pub clean_env: Option<bool>,
    /// Size.
    pub cols: Option<u32>,
    /// Size.
    pub rows: Option<u32>,
    /// `TERM`.
    pub term: Option<String>,
    /// Text (`true`) or bytes.
    pub utf8: bool,
    /// Scrollback, bytes.
    pub scrollback_bytes: Option<f64>,
    /// Quiet time before `idle`, ms.
    pub idle_ms: Option<f64>,
    /// Limits as JSON text.
    pub limits_json: Option<String>,
    /// Its sandbox, JSON text of `SandboxOptions` or `false` (over the manager's).
    pub sandbox_json: Option<String>,
}

impl From<NativeTerminalOptions> for TerminalRequest {
    fn from(o: NativeTerminalOptions) -> Self {
        let mut env: Vec<(String, Option<String>)> =
            o.env.unwrap_or_default().into_iter().collect();
        env.sort();
        TerminalRequest {
            command: o.command,
            args: o.args.unwrap_or_default(),
            cwd: o.cwd,
            env,
            clean_env: o.clean_env.unwrap_or(false),
            cols: o.cols,
            rows: o.rows,
            term: o.term,
            utf8: o.utf8,
            scrollback_bytes: o.scrollback_bytes.map(|b| b as usize),
            idle_ms: o.idle_ms.map(|m| m as u64),
            limits_json: o.limits_json,
            sandbox_json: o.sandbox_json,
        }
    }
}

/// `terminal.info()` (the wrapper adds `state`).
#[napi(object)]
pub struct NativeTerminalInfo {
    /// Id.
    pub id: String,
    /// Program pid (0 until it runs).
    pub pid: i32,
    /// Size.
    pub cols: u32,
    /// Size.
    pub rows: u32,
    /// Idle now.
    pub idle: bool,
    /// Foreground process name.
    pub foreground: Option<String>,
    /// Start, ms since the epoch.
    pub started_at: f64,
    /// Last output, ms since the epoch.
    pub last_output_at: Option<f64>,
    /// Output bytes read.
    pub bytes_in: f64,
    /// Input bytes written.
    pub bytes_out: f64,
    /// Program running.
    pub alive: bool,
    /// Exit code.
    pub exit_code: Option<i64>,
    /// Signal name.
    pub signal: Option<String>,
    /// Latest figures of its session's processes.
    pub resources: super::manager::NativeResources,
    /// Set when a limit ended it.
    pub limit_error: Option<String>,
}

impl From<TerminalInfo> for NativeTerminalInfo {
    fn from(i: TerminalInfo) -> Self {
        let (exit_code, signal) = exit_parts(i.exit);
        Self {
            id: i.id,
            pid: i.pid,
            cols: u32::from(i.cols),
            rows: u32::from(i.rows),
            idle: i.idle,
            foreground: i.foreground,
            started_at: i.started_at as f64,
            last_output_at: i.last_output_at.map(|t| t as f64),
            bytes_in: i.bytes_in as f64,
            bytes_out: i.bytes_out as f64,
            alive: i.alive,
            exit_code,
            signal,
            resources: i.resources.into(),
            limit_error: i.limit_error,
        }
    }
}

/// The native half of a `Terminal` (the JS class in `terminal.js` is the public one).
#[napi]
pub struct NativeTerminal {
    inner: Arc<Terminal>,
}

impl NativeTerminal {
    /// Wraps a terminal of the core.
    pub fn new(inner: Arc<Terminal>) -> Self {
        Self { inner }
    }
}

#[napi]
impl NativeTerminal {
    /// Names the terminal in deliveries.
    #[napi(catch_unwind)]
    pub fn token(&self) -> f64 {
        self.inner.token as f64
    }

    /// Program pid, 0 until it runs.
    #[napi(catch_unwind)]
    pub fn pid(&self) -> i32 {
        self.inner.pid()
    }

    /// Queues input; false when the queue is full or the program has exited.
    #[napi(catch_unwind)]
    pub fn write(&self, data: &[u8]) -> bool {
        self.inner.write(data.to_vec())
    }

    /// Resizes (sizes checked by the wrapper); a size the system refuses answers its code
    /// (`ERR_INVALID_STATE`), which the wrapper throws.
    #[napi(catch_unwind)]
    pub fn resize(&self, cols: u32, rows: u32) -> OpResult {
        let (Ok(c), Ok(r)) = (u16::try_from(cols), u16::try_from(rows)) else {
            return result(Err(OpError::new(
                ErrorCode::InvalidArgument,
                format!("cols and rows must be at most {MAX_TERMINAL_SIZE}"),
            )));
        };
        result(self.inner.resize(c, r))
    }

    /// Stops or restarts reading the PTY.
    #[napi(catch_unwind)]
    pub fn set_paused(&self, paused: bool) {
        self.inner.set_paused(paused);
    }

    /// Signals the whole session (SIGHUP when `signal` is absent), SIGKILL after the grace.
    #[napi(catch_unwind)]
    pub fn kill(&self, signal: Option<String>) -> Result<()> {
        let step =
            match signal {
                None => None,
                Some(name) => Some(crate::process::parse_signal(&name).ok_or_else(|| {
                    Error::new(Status::InvalidArg, format!("unknown signal {name}"))
                })?),
            };
        self.inner.kill(step);
        Ok(())
    }

    /// The scrollback bytes (a `Buffer` at run time; typed as its base class so the public
    /// types need no Node typings).
    #[napi(catch_unwind, ts_return_type = "Uint8Array")]
    pub fn scrollback(&self) -> Buffer {
        self.inner.scrollback().into()
    }

    /// The terminal's state.
    #[napi(catch_unwind)]
    pub fn info(&self) -> NativeTerminalInfo {
        self.inner.info().into()
    }
}
