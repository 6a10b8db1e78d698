//! What spawning lacks on macOS: no parent-death signal (the watchdog ends a dead host's
//! trees) and no pipe resizing.

use std::os::fd::OwnedFd;
use std::process::Command;

/// No `setpriv` here.
pub fn pdeathsig_helper() -> Option<&'static str> {
    None
}

/// No parent-death signal to set.
pub fn set_pdeathsig_on_exec(_cmd: &mut Command) {}

/// Pipes keep their size.
pub fn grow_pipe(_fd: &OwnedFd) {}
