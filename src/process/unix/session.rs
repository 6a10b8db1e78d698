//! Containment by session (terminals): a program on a PTY leads a session of its own, and an
//! interactive shell puts each job in a process group of its own — some ignore SIGHUP — so
//! the tree is every process whose session id is the leader's, found in the process table.

use std::io;
use std::time::Duration;

use nix::unistd::Pid;
use tokio::time::Instant;

use super::signal::to_signal;
use super::watchdog;
use crate::process::containment::{Containment, Target};
use crate::process::os;
use crate::process::stop::StopStep;

/// The session whose id is `sid` (its leader's pid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSession {
    sid: i32,
}

impl TerminalSession {
    /// Takes the session of leader `pid` (just spawned, not reaped) under supervision: from
    /// now on the watchdog ends it if the host dies.
    pub fn guard(pid: i32) -> Self {
        watchdog::global().register_session(pid);
        Self { sid: pid }
    }

    /// The session of `pid` without a guard (tests cleaning up).
    #[cfg(test)]
    pub fn unguarded(pid: i32) -> Self {
        Self { sid: pid }
    }

    /// Applies `step` to every live member; returns how many there were.
    pub fn stop_members(&self, step: StopStep) -> io::Result<usize> {
        let sig = to_signal(step).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let members = session_members(self.sid);
        for &pid in &members {
            match nix::sys::signal::kill(Pid::from_raw(pid), sig) {
                Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
                Err(e) => tracing::warn!(pid, error = %e, "signalling a terminal process failed"),
            }
        }
        Ok(members.len())
    }
}

impl Containment for TerminalSession {
    fn target(&self) -> Target {
        Target::Session
    }

    fn stop(&self, step: StopStep) -> io::Result<bool> {
        self.stop_members(step).map(|n| n > 0)
    }

    fn alive(&self) -> bool {
        !session_members(self.sid).is_empty()
    }

    fn release(&self, leftovers: bool, grace: Duration) {
        if leftovers {
            tokio::spawn(sweep(*self, grace));
        } else {
            watchdog::global().unregister_session(self.sid);
        }
    }
}

/// The live processes of session `sid` (zombies left out).
pub fn session_members(sid: i32) -> Vec<i32> {
    os::session_members(sid)
}

/// After the leader exited: SIGKILL whatever of the session is still there after `grace`,
/// then stop guarding it with the watchdog.
async fn sweep(session: TerminalSession, grace: Duration) {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && session.alive() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = session.stop_members(StopStep::Kill);
    let deadline = Instant::now() + Duration::from_secs(5);
    while session.alive() {
        if Instant::now() >= deadline {
            tracing::warn!(sid = session.sid, "terminal session survived SIGKILL");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    watchdog::global().unregister_session(session.sid);
}
