//! The parent-death signal: a child gets `PR_SET_PDEATHSIG = SIGKILL`, so it dies with the
//! thread that spawned it (callers spawn from threads that live as long as the host).
//!
//! Set by util-linux `setpriv --pdeathsig KILL`, which then execs the program in the same
//! process: that keeps the spawn free of a `pre_exec` hook, so the standard library can use
//! `posix_spawn` (a `vfork`-style spawn that does not copy the host's page tables: about a
//! millisecond less on the calling thread for a large host). Without `setpriv` a `pre_exec`
//! hook sets it instead.

use std::io;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// `setpriv`, if this system has one that supports `--pdeathsig` (checked once).
pub fn helper() -> Option<&'static str> {
    static HELPER: OnceLock<Option<&'static str>> = OnceLock::new();
    *HELPER.get_or_init(|| {
        ["/usr/bin/setpriv", "/bin/setpriv"].into_iter().find(|p| {
            Command::new(p)
                .args(["--pdeathsig", "KILL", "--", "/bin/true"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
    })
}

/// Where there is no [`helper`]: sets the death signal in the child before `exec`.
pub fn set_on_exec(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = nix::unistd::getpid().as_raw();
    // SAFETY: the closure runs in the forked child before exec and only makes two
    // async-signal-safe system calls (prctl, getppid) and builds `io::Error`s from raw OS
    // codes, which does not allocate. It touches no locks and no heap.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then no signal will ever
            // come, so refuse to start an orphan.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}
