//! The process core: every supervised child — an agent's runner, a terminal's program, the
//! runner build — is started, contained, stopped, reaped and measured here, the same way.
//! Nothing in here knows what a child speaks (that is `crate::agent`, `crate::terminal`,
//! `crate::build`), and nothing in here imports from them.
//!
//! - [`spec`]: what to run ([`SpawnSpec`] with pipes, [`PtySpec`] on a terminal).
//! - [`spawner`]: spawns on long-lived threads (the parent-death signal follows the spawning
//!   thread; `runnerNice` is the spawner thread's priority).
//! - [`containment`]: the [`Containment`] of one tree (a process group, a terminal's session;
//!   a Windows job object), which also carries the host-death guarantee.
//! - [`stop`]: [`StopStep`]s (terminate, hang up, kill) and [`ExitKind`]s, in words every
//!   platform maps to what it has; [`names`]: what they are called in events.
//! - [`escalation`] (the rules) and [`supervisor`] (the timers) of stop → kill.
//! - [`run`]: the one run loop: supervise until exit, step leftovers, reap, release, drain
//!   the output (bounded), and one [`ExitKind`] out; [`ProcessHandle`] is how the rest of the
//!   crate reaches a running process (stop it, kill it at once, its pid).
//! - [`usage`]: one pass over the process table for the resource figures of every tree.
//! - [`relay`]: bytes both ways between two sockets (the sandbox proxy's tunnels), by the
//!   fastest means the system has; `copy` is the portable one.
//!
//! Platform mechanisms live in folders chosen on the `mod` lines below and nowhere else:
//! `unix/` (shared by Linux and macOS), `linux/` and `macos/` (as `os`), and `windows/`
//! (both at once). A new platform is a new folder here that provides the same functions (see
//! `unix/mod.rs` and `linux/mod.rs`, or `windows/mod.rs`, for the list).

pub mod confine;
pub mod containment;
mod copy;
pub mod escalation;
pub mod names;
pub mod run;
#[cfg(any(target_os = "macos", test))]
pub mod seatbelt;
pub mod spawner;
pub mod spec;
pub mod stop;
pub mod supervisor;
pub mod table;
pub mod usage;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as platform;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as os;

#[cfg(target_os = "macos")]
mod macos;
#[cfg(target_os = "macos")]
use macos as os;

// Windows has one folder for both layers: what Unix shares and what each system adds.
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;
#[cfg(windows)]
use windows as os;

pub use confine::{Confinement, Network, NetworkSupport, Support};
pub use containment::{Containment, Target};
pub use escalation::{Control, Escalation};
pub use names::{exit_parts, signal_name};
pub use platform::{
    Pipe, PipeReader, PipeWriter, PtyIo, PtyMaster, PtySpawned, check_program, create_private_dir,
    pipe_reader, pipe_writer, resolve_program, thread_cpu_us,
};
pub use run::{
    Drain, DrainOrder, ExitSignal, ProcessHandle, Supervised, Supervision, Watcher, run,
};
pub use spawner::{prestart_spawner, spawn_async, spawn_pty_async};
pub use spec::{PtySpec, SpawnSpec, Spawned};
pub use stop::{ExitKind, StopStep};
pub use supervisor::StepCause;
pub use usage::{Scan, Usage, scan};

/// The program a terminal runs when none is named, given a lookup of the terminal's
/// environment: the user's shell (`$SHELL`, else `/bin/sh`; on Windows `%COMSPEC%`, else
/// `cmd.exe`).
pub fn default_program(var: &dyn Fn(&str) -> Option<String>) -> String {
    platform::default_program(var)
}

/// What this machine can confine (probed once; see [`confine`]).
pub fn confine_support() -> Support {
    os::confine_support()
}

/// Relays bytes both ways between `a` and `b` until both directions have ended or either
/// fails; an end of stream read on one side is passed on as a write shutdown of the other.
/// `on_activity` is called after every transfer that moved bytes (for idle timeouts).
/// Returns the bytes moved a → b and b → a. Linux splices through a pipe per direction
/// (the bytes never enter user space); elsewhere it is tokio's `copy_bidirectional`.
/// Dropping the future closes both sockets.
pub async fn relay(
    a: tokio::net::TcpStream,
    b: tokio::net::TcpStream,
    on_activity: &(dyn Fn() + Sync),
) -> std::io::Result<(u64, u64)> {
    os::relay(a, b, on_activity).await
}

/// The step for a signal name (`"SIGINT"`) where the platform has signals; `None` for a name
/// it does not know.
pub fn parse_signal(name: &str) -> Option<StopStep> {
    platform::parse_signal(name)
}

/// Spawns on a PTY on the calling thread (tests of spawn failures).
#[cfg(test)]
pub use platform::spawn_pty;

/// The live members of terminal session `sid` (tests).
#[cfg(all(test, unix))]
pub fn session_members(sid: i32) -> Vec<i32> {
    platform::session_members(sid)
}

/// Whether any process of group `pgid` is left (tests).
#[cfg(all(test, unix))]
pub fn group_alive(pgid: i32) -> bool {
    platform::ProcessGroup::unguarded(pgid).alive()
}

/// Kills every process of terminal session `sid` (tests cleaning up after a failure).
#[cfg(all(test, unix))]
pub fn kill_session(sid: i32) {
    let _ = platform::TerminalSession::unguarded(sid).stop(StopStep::Kill);
}
