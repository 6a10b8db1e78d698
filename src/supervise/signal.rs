//! Signals to a supervised process group, and the sweep of what is left in it after exit.

use std::io;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

/// Sends `sig` to the process group `pgid`. `Ok(false)` when the group no longer exists.
pub fn signal_group(pgid: i32, sig: Signal) -> io::Result<bool> {
    match killpg(Pid::from_raw(pgid), sig) {
        Ok(()) => Ok(true),
        Err(nix::errno::Errno::ESRCH) => Ok(false),
        // EPERM: a member changed credentials (setuid helper); nothing more we can do.
        Err(e) => Err(io::Error::from(e)),
    }
}

/// Whether any process of group `pgid` still exists.
pub fn group_alive(pgid: i32) -> bool {
    match killpg(Pid::from_raw(pgid), None) {
        Ok(()) => true,
        Err(nix::errno::Errno::ESRCH) => false,
        Err(_) => true,
    }
}

/// After the leader exited: SIGKILL whatever of group `pgid` ignored SIGTERM for `grace`, then
/// stop guarding the group with the watchdog.
pub async fn sweep_group(pgid: i32, grace: Duration) {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && group_alive(pgid) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if group_alive(pgid) {
        let _ = signal_group(pgid, Signal::SIGKILL);
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_alive(pgid) {
            if Instant::now() >= deadline {
                // Unkillable from here (EPERM, uninterruptible sleep): leave it guarded.
                tracing::warn!(pgid, "process group survived SIGKILL");
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    crate::watchdog::global().unregister(pgid);
}
