//! `NativeManager`: the native half of `SidecarManager` — option structs, one-line
//! delegations to [`crate::manager::Manager`], and the two deliveries wired to JS callbacks.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::callback::waker;
use super::contract::{NetworkCoverage, SessionStatus, SidecarErrorCode};
use super::terminal::{NativeTerminal, NativeTerminalInfo, NativeTerminalOptions};
use super::wire::{JsBatch, JsTerminalBatch};

use crate::agent::Snapshot;
use crate::config::{ManagerConfig, ManagerOptions};
use crate::error::OpError;
use crate::manager::Manager;
use crate::resources::Resources;

/// Constructor options, already type-checked by the JS wrapper.
#[napi(object)]
pub struct NativeOptions {
    /// Folders holding `sidecar/dist/<provider>-runner.mjs`.
    pub runner_root: Option<Vec<String>>,
    /// `node`, `deno`, `bun` or a path.
    pub runtime: Option<String>,
    /// Claude CLI path.
    pub claude_path: Option<String>,
    /// Stop message → SIGTERM, ms.
    pub stop_grace_ms: Option<f64>,
    /// SIGTERM → SIGKILL, ms.
    pub kill_grace_ms: Option<f64>,
    /// Exit → removal, ms.
    pub cleanup_grace_ms: Option<f64>,
    /// Line cap, bytes.
    pub max_line_bytes: Option<f64>,
    /// Read-ahead cap, bytes.
    pub max_pending_bytes: Option<f64>,
    /// Nice steps below the app for runners.
    pub runner_nice: Option<f64>,
    /// Folder of the app's entry script.
    pub anchor_dir: Option<String>,
    /// The host's current directory.
    pub cwd: Option<String>,
    /// The host's environment (`process.env`).
    pub env: HashMap<String, String>,
    /// Limits of every session and terminal, JSON text.
    pub limits_json: Option<String>,
    /// Sampling interval, ms (0: only on request).
    pub resource_sample_ms: Option<f64>,
    /// The runner build step, JSON text.
    pub runner_build_json: Option<String>,
    /// The default sandbox, JSON text of `SandboxOptions` or `false`.
    pub sandbox_json: Option<String>,
}

/// `{ ok, error?, code? }`.
#[napi(object)]
pub struct OpResult {
    /// Whether it worked.
    pub ok: bool,
    /// Why not.
    pub error: Option<String>,
    /// Stable error code.
    pub code: Option<SidecarErrorCode>,
    /// `startSession` only: the token naming the session in batches.
    pub token: Option<f64>,
}

pub(super) fn result(r: std::result::Result<(), OpError>) -> OpResult {
    result_with_token(r.map(|()| None))
}

fn result_with_token(r: std::result::Result<Option<u64>, OpError>) -> OpResult {
    match r {
        Ok(token) => OpResult {
            ok: true,
            error: None,
            code: None,
            token: token.map(|t| t as f64),
        },
        Err(e) => OpResult {
            ok: false,
            error: Some(e.message),
            code: Some(e.code.into()),
            token: None,
        },
    }
}

/// What this machine can enforce of a sandbox.
#[napi(object)]
pub struct NativeSandboxSupport {
    /// Writes confined to the writable paths.
    pub filesystem: bool,
    /// `denyWrite` inside writable folders and `denyRead`.
    pub deny_paths: bool,
    /// What `network: "none"` covers.
    pub network: NetworkCoverage,
    /// What `network: { allowedDomains }` covers.
    pub allowed_domains: NetworkCoverage,
    /// `landlock`, `seatbelt` or `none`.
    pub mechanism: String,
    /// What is missing and why, one sentence each.
    pub missing: Vec<String>,
}

impl From<crate::process::Support> for NativeSandboxSupport {
    fn from(s: crate::process::Support) -> Self {
        NativeSandboxSupport {
            filesystem: s.filesystem,
            deny_paths: s.deny_paths,
            network: s.network_none.into(),
            allowed_domains: s.network_proxy.into(),
            mechanism: s.mechanism,
            missing: s.missing,
        }
    }
}

/// A session's extended state (`getSession`).
#[napi(object)]
pub struct NativeSessionInfo {
    /// Session id.
    pub session_id: String,
    /// Provider id.
    pub provider: String,
    /// Status.
    pub status: SessionStatus,
    /// Total cost in USD.
    pub cost_usd: f64,
    /// Input tokens.
    pub input_tokens: f64,
    /// Output tokens.
    pub output_tokens: f64,
    /// Start time, ms since the epoch.
    pub started_at: f64,
    /// Runner pid.
    pub pid: i32,
    /// Exit code, when exited.
    pub exit_code: Option<i64>,
    /// Signal name, when killed by a signal.
    pub signal: Option<String>,
    /// Stdout bytes read.
    pub bytes_in: f64,
    /// Stdin bytes written.
    pub bytes_out: f64,
    /// Messages produced.
    pub messages: f64,
    /// Lines dropped.
    pub dropped_lines: f64,
    /// Last stdout activity, ms since the epoch.
    pub last_output_at: Option<f64>,
    /// Latest figures of the runner's process group.
    pub resources: NativeResources,
}

/// The latest figures of one process tree.
#[napi(object)]
pub struct NativeResources {
    /// Live processes.
    pub processes: u32,
    /// CPU time, ms.
    pub cpu_ms: f64,
    /// Resident memory, bytes.
    pub rss_bytes: f64,
    /// Largest sampled resident memory, bytes.
    pub peak_rss_bytes: f64,
    /// Sample time, ms since the epoch (0: never sampled).
    pub sampled_at: f64,
}

impl From<Resources> for NativeResources {
    fn from(r: Resources) -> Self {
        Self {
            processes: r.processes,
            cpu_ms: r.cpu_ms as f64,
            rss_bytes: r.rss_bytes as f64,
            peak_rss_bytes: r.peak_rss_bytes as f64,
            sampled_at: r.sampled_at as f64,
        }
    }
}

/// One of `manager.resources().top`.
#[napi(object)]
pub struct NativeConsumer {
    /// Session or terminal id.
    pub id: String,
    /// `session` or `terminal`.
    pub kind: String,
    /// Its figures.
    pub resources: NativeResources,
}

/// `manager.resources()` before the wrapper shapes it.
#[napi(object)]
pub struct NativeResourceReport {
    /// Live processes of every session and terminal.
    pub processes: f64,
    /// CPU time, ms.
    pub cpu_ms: f64,
    /// Resident memory, bytes.
    pub rss_bytes: f64,
    /// Newest sample time.
    pub sampled_at: f64,
    /// Largest consumers.
    pub top: Vec<NativeConsumer>,
    /// Sampling passes so far.
    pub sampler_ticks: f64,
    /// CPU time of all passes, µs.
    pub sampler_cpu_us: f64,
    /// CPU time of the latest pass, µs.
    pub sampler_last_us: f64,
    /// Processes found by the latest pass.
    pub sampler_processes: f64,
    /// The sampling interval, ms.
    pub sample_interval_ms: f64,
}

impl From<Snapshot> for NativeSessionInfo {
    fn from(s: Snapshot) -> Self {
        Self {
            session_id: s.session_id,
            provider: s.provider,
            status: s.status.into(),
            cost_usd: s.cost_usd,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            started_at: s.started_at as f64,
            pid: s.pid,
            exit_code: s.exit_code,
            signal: s.signal,
            bytes_in: s.bytes_in as f64,
            bytes_out: s.bytes_out as f64,
            messages: s.messages as f64,
            dropped_lines: s.dropped_lines as f64,
            last_output_at: s.last_output_at.map(|t| t as f64),
            resources: s.resources.into(),
        }
    }
}

fn ms(v: Option<f64>) -> Option<u64> {
    v.map(|f| f as u64)
}

fn bytes(v: Option<f64>) -> Option<usize> {
    v.map(|f| f as usize)
}

/// The native half of `SidecarManager` (the JS wrapper in `index.js` is the public class).
#[napi]
pub struct NativeManager {
    core: Arc<Manager>,
}

#[napi]
impl NativeManager {
    /// Resolves the options and connects `deliver`, which receives every batch.
    #[napi(
        constructor,
        catch_unwind,
        ts_args_type = "options: NativeOptions, deliver: (batch: string | string[]) => void, deliverTerminal: (batch: Array<unknown>) => void"
    )]
    pub fn new(
        env: Env,
        options: NativeOptions,
        deliver: Function<String, ()>,
        deliver_terminal: Function<(), ()>,
    ) -> Result<Self> {
        crate::logging::init();
        let rt = crate::runtime::get().map_err(Error::from_reason)?;
        let host_env = options.env;
        let opts = ManagerOptions {
            runner_root: options.runner_root,
            runtime: options.runtime,
            claude_path: options.claude_path,
            stop_grace_ms: ms(options.stop_grace_ms),
            kill_grace_ms: ms(options.kill_grace_ms),
            cleanup_grace_ms: ms(options.cleanup_grace_ms),
            max_line_bytes: bytes(options.max_line_bytes),
            max_pending_bytes: bytes(options.max_pending_bytes),
            runner_nice: options.runner_nice.map(|n| n as u64),
            anchor_dir: options.anchor_dir,
            cwd: options.cwd,
            limits_json: options.limits_json,
            resource_sample_ms: ms(options.resource_sample_ms),
            runner_build_json: options.runner_build_json,
            sandbox_json: options.sandbox_json,
        };
        let cfg = ManagerConfig::resolve(opts, &host_env)
            .map_err(|m| Error::new(Status::InvalidArg, m))?;
        let outbox = Manager::new_outbox();
        let core = Arc::new(Manager::new(cfg, outbox.clone()));
        let weak: Weak<Manager> = Arc::downgrade(&core);
        outbox.set_waker(Some(waker(deliver, "delivery", move || {
            JsBatch(weak.upgrade().and_then(|m| m.outbox().drain()))
        })?));
        let weak: Weak<Manager> = Arc::downgrade(&core);
        core.terminals().queue().set_waker(Some(waker(
            deliver_terminal,
            "terminal delivery",
            move || {
                let (items, more) = weak
                    .upgrade()
                    .map(|m| m.terminals().queue().drain())
                    .unwrap_or_default();
                JsTerminalBatch(items, more)
            },
        )?));
        // Worker threads: when this env is torn down its runners must not outlive it.
        let hook_target = Arc::downgrade(&core);
        env.add_env_cleanup_hook(hook_target, |w| {
            if let Some(m) = w.upgrade() {
                m.kill_all_now();
                m.outbox().close();
                m.terminals().queue().close();
            }
        })?;
        let _guard = rt.enter();
        Ok(Self { core })
    }

    /// Starts a session (see `SidecarManager.startSession`).
    #[napi(catch_unwind)]
    pub fn start_session(
        &self,
        session_id: String,
        provider: String,
        prompt: String,
        options_json: String,
        env: HashMap<String, String>,
    ) -> OpResult {
        let options = match serde_json::from_str(&options_json) {
            Ok(v) => v,
            Err(e) => {
                return result(Err(OpError::new(
                    crate::error::ErrorCode::InvalidArgument,
                    format!("Invalid options: {e}"),
                )));
            }
        };
        let rt = match crate::runtime::get() {
            Ok(rt) => rt,
            Err(m) => {
                return result(Err(OpError::new(crate::error::ErrorCode::SpawnFailed, m)));
            }
        };
        let _guard = rt.enter();
        result_with_token(
            self.core
                .start_session(&session_id, &provider, &prompt, &options, env)
                .map(Some),
        )
    }

    /// Stops a session.
    #[napi(catch_unwind)]
    pub fn stop_session(&self, session_id: String) -> OpResult {
        result(self.core.stop_session(&session_id))
    }

    /// Sends a follow-up prompt.
    #[napi(catch_unwind)]
    pub fn write_prompt(&self, session_id: String, prompt: String) -> OpResult {
        result(self.core.write_prompt(&session_id, &prompt))
    }

    /// What this machine can enforce of a sandbox (see `SidecarManager.sandboxSupport`).
    #[napi(catch_unwind)]
    pub fn sandbox_support(&self) -> NativeSandboxSupport {
        crate::sandbox::Sandboxes::support().into()
    }

    /// Every session's extended state.
    #[napi(catch_unwind)]
    pub fn list_sessions(&self) -> Vec<NativeSessionInfo> {
        self.core
            .list_sessions()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// One session's extended state.
    #[napi(catch_unwind)]
    pub fn get_session(&self, session_id: String) -> Option<NativeSessionInfo> {
        self.core.get_session(&session_id).map(Into::into)
    }

    /// The token of the session registered under `session_id`, if any.
    #[napi(catch_unwind)]
    pub fn session_token(&self, session_id: String) -> Option<f64> {
        self.core.session_token(&session_id).map(|t| t as f64)
    }

    /// Removes a session, ending its process.
    #[napi(catch_unwind)]
    pub fn remove_session(&self, session_id: String) {
        let rt = crate::runtime::get();
        let _guard = rt.as_ref().ok().map(|rt| rt.enter());
        self.core.remove_session(&session_id);
    }

    /// The next batch when the previous one said more is queued ("" when none).
    #[napi(catch_unwind, ts_return_type = "string | string[]")]
    pub fn pull(&self) -> JsBatch {
        JsBatch(self.core.outbox().drain())
    }

    /// Opens a terminal: the native handle, or the refusal with its code.
    #[napi(catch_unwind)]
    pub fn open_terminal(
        &self,
        id: String,
        options: NativeTerminalOptions,
        env: HashMap<String, String>,
    ) -> Either<NativeTerminal, OpResult> {
        let rt = match crate::runtime::get() {
            Ok(rt) => rt,
            Err(m) => {
                return Either::B(result(Err(OpError::new(
                    crate::error::ErrorCode::SpawnFailed,
                    m,
                ))));
            }
        };
        let _guard = rt.enter();
        match self.core.open_terminal(&id, &options.into(), &env) {
            Ok(t) => Either::A(NativeTerminal::new(t)),
            Err(e) => Either::B(result(Err(e))),
        }
    }

    /// Every terminal's state.
    #[napi(catch_unwind)]
    pub fn list_terminals(&self) -> Vec<NativeTerminalInfo> {
        self.core
            .terminals()
            .list()
            .into_iter()
            .map(Into::into)
            .collect()
    }

    /// Terminals whose program is still running.
    #[napi(catch_unwind)]
    pub fn live_terminals(&self) -> Vec<LiveSession> {
        self.core
            .terminals()
            .live()
            .into_iter()
            .map(|(session_id, pid)| LiveSession { session_id, pid })
            .collect()
    }

    /// The next terminal delivery when the previous one said more is queued.
    #[napi(catch_unwind, ts_return_type = "Array<unknown>")]
    pub fn pull_terminals(&self) -> JsTerminalBatch {
        let (items, more) = self.core.terminals().queue().drain();
        JsTerminalBatch(items, more)
    }

    /// Runner processes alive.
    #[napi(catch_unwind)]
    pub fn alive(&self) -> u32 {
        u32::try_from(self.core.alive()).unwrap_or(u32::MAX)
    }

    /// Refuses further calls and stops every session; exits arrive as batches.
    #[napi(catch_unwind)]
    pub fn begin_dispose(&self) -> u32 {
        u32::try_from(self.core.begin_dispose()).unwrap_or(u32::MAX)
    }

    /// Ids and pids of sessions whose runner is still alive.
    #[napi(catch_unwind)]
    pub fn live_sessions(&self) -> Vec<LiveSession> {
        self.core
            .live_sessions()
            .into_iter()
            .map(|(session_id, pid)| LiveSession { session_id, pid })
            .collect()
    }

    /// SIGKILLs every live runner group synchronously (process exit path).
    #[napi(catch_unwind)]
    pub fn kill_all_now(&self) {
        self.core.kill_all_now();
    }

    /// Forgets every session and terminal after dispose; their `removed` events stay queued
    /// for a last `pull`.
    #[napi(catch_unwind)]
    pub fn finish_dispose(&self) {
        self.core.finish_dispose();
    }

    /// Stops every delivery (the end of dispose).
    #[napi(catch_unwind)]
    pub fn close(&self) {
        self.core.close();
    }

    /// Totals and top consumers from the latest samples, and what sampling costs. Reads
    /// memory only.
    #[napi(catch_unwind)]
    pub fn resources(&self) -> NativeResourceReport {
        let r = self.core.resources();
        let s = self.core.sampler();
        NativeResourceReport {
            processes: r.processes as f64,
            cpu_ms: r.cpu_ms as f64,
            rss_bytes: r.rss_bytes as f64,
            sampled_at: r.sampled_at as f64,
            top: r
                .top
                .into_iter()
                .map(|c| NativeConsumer {
                    kind: c.kind.as_str().to_owned(),
                    id: c.id,
                    resources: c.resources.into(),
                })
                .collect(),
            sampler_ticks: s.ticks as f64,
            sampler_cpu_us: s.cpu_us as f64,
            sampler_last_us: s.last_us as f64,
            sampler_processes: s.processes as f64,
            sample_interval_ms: self.core.config().sample_every.as_millis() as f64,
        }
    }

    /// Samples now, off the JS thread; a `sampled` batch entry says when it is done.
    #[napi(catch_unwind)]
    pub fn request_sample(&self) -> bool {
        let Ok(rt) = crate::runtime::get() else {
            return false;
        };
        let _guard = rt.enter();
        self.core.request_sample();
        true
    }

    /// The resolved settings, for diagnostics.
    #[napi(catch_unwind)]
    pub fn settings(&self) -> NativeSettings {
        let c = self.core.config();
        NativeSettings {
            runtime: c.runtime.clone(),
            claude_path: c.claude_path.as_ref().map(|p| p.display().to_string()),
            stop_grace_ms: c.stop_grace.as_millis() as f64,
            kill_grace_ms: c.kill_grace.as_millis() as f64,
            cleanup_grace_ms: c.cleanup_grace.as_millis() as f64,
            max_line_bytes: c.max_line_bytes as f64,
            max_pending_bytes: c.max_pending_bytes as f64,
            runner_nice: u32::from(c.runner_nice),
        }
    }
}

/// A session whose runner is alive.
#[napi(object)]
pub struct LiveSession {
    /// Session id.
    pub session_id: String,
    /// Runner pid.
    pub pid: i32,
}

/// The resolved settings.
#[napi(object)]
pub struct NativeSettings {
    /// Runtime that runs runners.
    pub runtime: String,
    /// Claude CLI, if found.
    pub claude_path: Option<String>,
    /// Stop grace.
    pub stop_grace_ms: f64,
    /// Kill grace.
    pub kill_grace_ms: f64,
    /// Cleanup grace.
    pub cleanup_grace_ms: f64,
    /// Line cap.
    pub max_line_bytes: f64,
    /// Read-ahead cap.
    pub max_pending_bytes: f64,
    /// Nice steps below the app for runners.
    pub runner_nice: u32,
}
