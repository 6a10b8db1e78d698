//! Containment by process group (runners, the build step): the child is spawned as the
//! leader of a group of its own, so one `killpg` reaches everything it started that did not
//! leave the group; the orphan watchdog guards the group against the host's death.

use std::io;
use std::time::Duration;

use nix::sys::signal::killpg;
use nix::unistd::Pid;
use tokio::time::Instant;

use super::signal::to_signal;
use super::watchdog;
use crate::process::containment::{Containment, Target};
use crate::process::stop::StopStep;

/// The process group whose id is `pgid` (its leader's pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcessGroup {
    pgid: i32,
}

impl ProcessGroup {
    /// Takes the group of leader `pid` (just spawned, not reaped) under supervision: from now
    /// on the watchdog ends it if the host dies.
    pub fn guard(pid: i32) -> Self {
        watchdog::global().register(pid);
        Self { pgid: pid }
    }

    /// The group of `pid` without a guard (a spawn nobody waits for any more).
    pub fn unguarded(pid: i32) -> Self {
        Self { pgid: pid }
    }
}

impl Containment for ProcessGroup {
    fn target(&self) -> Target {
        Target::Group
    }

    fn stop(&self, step: StopStep) -> io::Result<bool> {
        let sig = to_signal(step).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        signal_group(self.pgid, Some(sig))
    }

    fn alive(&self) -> bool {
        !matches!(signal_group(self.pgid, None), Ok(false))
    }

    fn release(&self, leftovers: bool, grace: Duration) {
        if leftovers {
            tokio::spawn(sweep(self.pgid, grace));
        } else {
            watchdog::global().unregister(self.pgid);
        }
    }
}

/// `killpg(pgid, sig)`; `None` only probes. `Ok(false)` when the group no longer exists.
fn signal_group(pgid: i32, sig: Option<nix::sys::signal::Signal>) -> io::Result<bool> {
    match killpg(Pid::from_raw(pgid), sig) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::ESRCH) => Ok(false),
        // EPERM: a member changed credentials (setuid helper); nothing more we can do.
        Err(e) => Err(io::Error::from(e)),
    }
}

/// After the leader exited: SIGKILL whatever of group `pgid` ignored the last step for
/// `grace`, then stop guarding the group with the watchdog.
async fn sweep(pgid: i32, grace: Duration) {
    let group = ProcessGroup { pgid };
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && group.alive() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if group.alive() {
        let _ = group.stop(StopStep::Kill);
        let deadline = Instant::now() + Duration::from_secs(5);
        while group.alive() {
            if Instant::now() >= deadline {
                // Unkillable from here (EPERM, uninterruptible sleep): leave it guarded.
                tracing::warn!(pgid, "process group survived SIGKILL");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    watchdog::global().unregister(pgid);
}
