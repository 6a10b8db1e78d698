//! The contract JS branches on: error codes, statuses, stop reasons, lifecycle kinds, limit
//! names and sizes. Declared here as string enums and constants, so `binding.d.ts` carries
//! them and `index.d.ts` derives its public unions from them (`` `${B.SessionStatus}` ``);
//! `index.js` and `terminal.js` read codes and bounds from the binding at run time instead of
//! spelling them.
//!
//! The core writes the same strings (into batches and results) from its own enums; every
//! conversion here is an exhaustive `match`, so a new core variant does not compile without
//! its contract entry, and [`contract_values`] hands the core's strings to the test that
//! checks both sides agree (`__test__/contract.test.mjs`).

use napi_derive::napi;

use crate::agent::status::Status;
use crate::error::ErrorCode;
use crate::lifecycle::{
    ExitReason as CoreExitReason, LifecycleEvent, StopReason as CoreStopReason,
};
use crate::process::{NetworkSupport, Target};
use crate::resources::LIMIT_NAMES;

/// Stable error codes: `result.code` of `{ ok: false }` and `err.code` of thrown errors.
#[napi(string_enum)]
pub enum SidecarErrorCode {
    /// A session with that id exists.
    #[napi(value = "ERR_SESSION_EXISTS")]
    SessionExists,
    /// No session with that id.
    #[napi(value = "ERR_SESSION_NOT_FOUND")]
    SessionNotFound,
    /// The session cannot take that call in its current state.
    #[napi(value = "ERR_INVALID_STATE")]
    InvalidState,
    /// An argument or option is malformed (every malformed input, options included).
    #[napi(value = "ERR_INVALID_ARGUMENT")]
    InvalidArgument,
    /// Provider `claude` without a Claude CLI.
    #[napi(value = "ERR_CLAUDE_NOT_FOUND")]
    ClaudeNotFound,
    /// No runner script for the provider.
    #[napi(value = "ERR_RUNNER_NOT_FOUND")]
    RunnerNotFound,
    /// The `cwd` option names no folder.
    #[napi(value = "ERR_CWD_NOT_FOUND")]
    CwdNotFound,
    /// The OS refused to start the runner.
    #[napi(value = "ERR_SPAWN_FAILED")]
    SpawnFailed,
    /// The runner's stdin queue is full (the runner is not reading).
    #[napi(value = "ERR_STDIN_FULL")]
    StdinFull,
    /// The manager has been disposed.
    #[napi(value = "ERR_DISPOSED")]
    Disposed,
    /// A terminal with that id exists.
    #[napi(value = "ERR_TERMINAL_EXISTS")]
    TerminalExists,
    /// The addon failed where it should not have (a bug).
    #[napi(value = "ERR_INTERNAL")]
    Internal,
    /// `dispose()` gave up: runners outlived their stop and kill graces.
    #[napi(value = "ERR_RUNNER_STUCK")]
    RunnerStuck,
    /// A sandbox this machine cannot enforce was asked for (the message names what is
    /// missing; `onUnsupported: "warn"` starts it with what can be enforced instead).
    #[napi(value = "ERR_SANDBOX_UNSUPPORTED")]
    SandboxUnsupported,
    /// Before 0.2 the constructor's code for a bad option; every malformed input is
    /// `ERR_INVALID_ARGUMENT` now. Kept so code comparing with it still type-checks.
    #[napi(value = "ERR_INVALID_OPTION")]
    InvalidOptionLegacy,
}

impl From<ErrorCode> for SidecarErrorCode {
    fn from(c: ErrorCode) -> Self {
        match c {
            ErrorCode::SessionExists => Self::SessionExists,
            ErrorCode::SessionNotFound => Self::SessionNotFound,
            ErrorCode::InvalidState => Self::InvalidState,
            ErrorCode::InvalidArgument => Self::InvalidArgument,
            ErrorCode::ClaudeNotFound => Self::ClaudeNotFound,
            ErrorCode::RunnerNotFound => Self::RunnerNotFound,
            ErrorCode::CwdNotFound => Self::CwdNotFound,
            ErrorCode::SpawnFailed => Self::SpawnFailed,
            ErrorCode::StdinFull => Self::StdinFull,
            ErrorCode::Disposed => Self::Disposed,
            ErrorCode::TerminalExists => Self::TerminalExists,
            ErrorCode::Internal => Self::Internal,
            ErrorCode::RunnerStuck => Self::RunnerStuck,
            ErrorCode::SandboxUnsupported => Self::SandboxUnsupported,
        }
    }
}

/// Codes of the errors `require`/`import` of the package throws when no addon can be loaded
/// (thrown by `loader.js`, before the binding exists, so spelled there and checked by test).
#[napi(string_enum)]
pub enum SidecarLoadErrorCode {
    /// No package for this platform is installed.
    #[napi(value = "ERR_SIDECAR_NATIVE_NOT_FOUND")]
    NativeNotFound,
    /// The installed platform package is another version than the main package.
    #[napi(value = "ERR_SIDECAR_NATIVE_VERSION")]
    NativeVersion,
    /// The engine refused to load the addon (the cause says why).
    #[napi(value = "ERR_SIDECAR_NATIVE_LOAD")]
    NativeLoad,
    /// No addon is built for this platform.
    #[napi(value = "ERR_SIDECAR_UNSUPPORTED_PLATFORM")]
    UnsupportedPlatform,
}

/// A session's status (the TypeScript manager's strings).
#[napi(string_enum = "lowercase")]
pub enum SessionStatus {
    /// A turn is in progress.
    Running,
    /// Waiting for a prompt.
    Idle,
    /// The turn or the session ended normally.
    Done,
    /// The agent or the runner failed.
    Error,
}

impl From<Status> for SessionStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Running => Self::Running,
            Status::Idle => Self::Idle,
            Status::Done => Self::Done,
            Status::Error => Self::Error,
        }
    }
}

/// Why a session or terminal is being ended (`stopping.reason`).
#[napi(string_enum = "kebab-case")]
pub enum StopReason {
    /// `stopSession` / `terminal.kill()`.
    Stop,
    /// `removeSession`.
    Remove,
    /// `dispose()`.
    Dispose,
    /// A resource limit was crossed.
    Limit,
    /// The host process is exiting.
    HostExit,
}

impl From<CoreStopReason> for StopReason {
    fn from(r: CoreStopReason) -> Self {
        match r {
            CoreStopReason::Stop => Self::Stop,
            CoreStopReason::Remove => Self::Remove,
            CoreStopReason::Dispose => Self::Dispose,
            CoreStopReason::Limit => Self::Limit,
            CoreStopReason::HostExit => Self::HostExit,
        }
    }
}

/// Why an `exited` happened (`exited.reason`): on its own, a [`StopReason`], or never ran.
#[napi(string_enum = "kebab-case")]
pub enum ExitReason {
    /// It ended on its own.
    Exit,
    /// `stopSession` / `terminal.kill()`.
    Stop,
    /// `removeSession`.
    Remove,
    /// `dispose()`.
    Dispose,
    /// A resource limit was crossed.
    Limit,
    /// The host process is exiting.
    HostExit,
    /// The OS refused to start it.
    SpawnFailed,
    /// The runner build it waited for failed.
    BuildFailed,
}

impl From<CoreExitReason> for ExitReason {
    fn from(r: CoreExitReason) -> Self {
        match r {
            CoreExitReason::Exit => Self::Exit,
            CoreExitReason::Ended(CoreStopReason::Stop) => Self::Stop,
            CoreExitReason::Ended(CoreStopReason::Remove) => Self::Remove,
            CoreExitReason::Ended(CoreStopReason::Dispose) => Self::Dispose,
            CoreExitReason::Ended(CoreStopReason::Limit) => Self::Limit,
            CoreExitReason::Ended(CoreStopReason::HostExit) => Self::HostExit,
            CoreExitReason::SpawnFailed => Self::SpawnFailed,
            CoreExitReason::BuildFailed => Self::BuildFailed,
        }
    }
}

/// The `kind` of a lifecycle event.
#[napi(string_enum = "kebab-case")]
pub enum LifecycleKind {
    /// A runner build started for this session.
    Building,
    /// The build this session waited for succeeded.
    Built,
    /// The build this session waited for failed.
    BuildFailed,
    /// The process is being spawned.
    Spawning,
    /// It runs (`pid`).
    Spawned,
    /// The runner said it is ready.
    Ready,
    /// Ending it was asked for (`reason`).
    Stopping,
    /// A stop step reached its tree (`signal`, `target`, `why`).
    Signal,
    /// It ended, after its last output (`exitCode`, `signal`, `reason`).
    Exited,
    /// It was forgotten.
    Removed,
    /// A limit was crossed (`limit`, `value`, `bound`).
    Limit,
    /// It runs confined (`mechanism`, `writable`, `network`, …), right after `spawned`.
    Sandboxed,
    /// The sandbox proxy refused a host (`host`, `port`).
    SandboxDenied,
}

/// What a lifecycle `signal` event's step reached (`target`).
#[napi(string_enum = "lowercase")]
pub enum SignalTarget {
    /// The runner's (or build's) process group (Unix).
    Group,
    /// The terminal's session (Unix).
    Session,
    /// The child's Job Object: every process it started (Windows, every kind of child).
    Job,
}

/// How much of a sandbox's network policy the kernel enforces (`sandboxSupport().network`,
/// the `sandboxed` event's `networkCoverage`).
#[napi(string_enum = "lowercase")]
pub enum NetworkCoverage {
    /// Nothing.
    None,
    /// TCP connects only (UDP and DNS are not covered).
    Tcp,
    /// Every socket.
    Full,
}

impl From<NetworkSupport> for NetworkCoverage {
    fn from(n: NetworkSupport) -> Self {
        match n {
            NetworkSupport::None => Self::None,
            NetworkSupport::Tcp => Self::Tcp,
            NetworkSupport::Full => Self::Full,
        }
    }
}

/// The `network` of a `sandboxed` event: the policy asked for.
#[napi(string_enum = "kebab-case")]
pub enum SandboxNetwork {
    /// No restriction.
    All,
    /// No connection leaves the tree.
    None,
    /// Only through the proxy, to `allowedDomains`.
    AllowedDomains,
}

/// The names of `limits`.
#[napi(string_enum = "camelCase")]
#[allow(
    clippy::enum_variant_names,
    reason = "the names are the option names JS writes"
)]
pub enum LimitName {
    /// Resident memory of the whole tree, bytes.
    MaxRssBytes,
    /// CPU time of the whole tree, ms.
    MaxCpuMs,
    /// Live processes in the tree.
    MaxProcesses,
    /// Wall time since the start, ms.
    MaxRuntimeMs,
    /// Time without activity, ms.
    MaxIdleMs,
}

/// Largest `maxLineBytes` (256 MiB: a line becomes one JS string).
#[napi]
pub const MAX_LINE_BYTES_LIMIT: u32 = crate::config::MAX_MAX_LINE_BYTES as u32;

/// Largest `runnerNice`.
#[napi]
pub const MAX_RUNNER_NICE: u32 = crate::config::MAX_RUNNER_NICE as u32;

/// Largest terminal `cols` and `rows`.
#[napi]
pub const MAX_TERMINAL_SIZE: u32 = crate::terminal::options::MAX_TERMINAL_SIZE as u32;

/// The strings the core writes, by kind, for the contract test to compare with the enums
/// above.
#[napi(object)]
pub struct ContractValues {
    /// Every error code the core returns.
    pub error_codes: Vec<String>,
    /// Every status.
    pub statuses: Vec<String>,
    /// Every stop reason.
    pub stop_reasons: Vec<String>,
    /// Every exit reason.
    pub exit_reasons: Vec<String>,
    /// Every lifecycle kind.
    pub lifecycle_kinds: Vec<String>,
    /// Every limit name.
    pub limit_names: Vec<String>,
    /// Every `target` of a `signal` event.
    pub signal_targets: Vec<String>,
}

/// What the core writes (see [`ContractValues`]).
#[napi]
pub fn contract_values() -> ContractValues {
    let own = |s: &[&str]| s.iter().map(|s| (*s).to_owned()).collect();
    ContractValues {
        error_codes: ErrorCode::ALL.iter().map(|c| c.as_str().into()).collect(),
        statuses: Status::ALL.iter().map(|s| s.as_str().into()).collect(),
        stop_reasons: CoreStopReason::ALL
            .iter()
            .map(|r| r.as_str().into())
            .collect(),
        exit_reasons: CoreExitReason::OWN
            .iter()
            .copied()
            .chain(
                CoreStopReason::ALL
                    .iter()
                    .map(|r| CoreExitReason::Ended(*r)),
            )
            .map(|r| r.as_str().into())
            .collect(),
        lifecycle_kinds: own(&LifecycleEvent::KINDS),
        limit_names: own(&LIMIT_NAMES),
        signal_targets: Target::ALL.iter().map(|t| t.as_str().into()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_the_cores() {
        assert_eq!(MAX_LINE_BYTES_LIMIT, 256 * 1024 * 1024);
        assert_eq!(MAX_RUNNER_NICE, 19);
        assert_eq!(MAX_TERMINAL_SIZE, 65535);
    }

    #[test]
    fn the_core_lists_have_no_duplicates_and_every_variant() {
        let v = contract_values();
        for list in [
            &v.error_codes,
            &v.statuses,
            &v.stop_reasons,
            &v.exit_reasons,
            &v.lifecycle_kinds,
            &v.limit_names,
            &v.signal_targets,
        ] {
            let mut sorted = list.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), list.len(), "{list:?}");
        }
        assert_eq!(v.error_codes.len(), 14);
        assert_eq!(v.exit_reasons.len(), 8);
        assert!(v.exit_reasons.contains(&"host-exit".to_owned()));
    }
}
