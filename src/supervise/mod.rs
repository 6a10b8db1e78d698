//! The supervision core shared by every kind of session: spawning a process in its own
//! process group with a clean environment and a parent-death signal (on a spawner thread),
//! observing its exit without `SIGCHLD`, the stop/kill escalation, signalling and sweeping its
//! group, reaping. A kind of session (`crate::agent` for runners) owns its I/O and uses these
//! pieces for everything about the process; it never signals or reaps on its own.

mod escalation;
mod exit;
mod pty;
mod signal;
mod spawn;
mod spawner;
mod supervisor;
mod usage;

#[cfg(test)]
mod tests;

pub use escalation::{Control, Escalation};
pub use exit::{
    exit_kind, has_exited, notify_when_exited, reap, reap_pid, wait_exit_after, wait_exited,
};
pub use pty::{PtySpawned, PtySpec, resolve_program, spawn_pty};
pub use signal::{
    group_alive, release_group, release_session, session_members, signal_group, signal_session,
    sweep_group, sweep_session,
};
pub use spawn::{SpawnSpec, Spawned, check_program, spawn};
pub use spawner::{prestart_spawner, spawn_async, spawn_pty_async};
pub use supervisor::{Why, supervise};
pub use usage::{Scan, Usage, scan};
