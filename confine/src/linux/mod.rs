//! The helper on Linux. Order matters and is fixed here:
//!
//! 1. namespaces (a user namespace first where the host is not root);
//! 2. mounts (Landlock forbids mounting once applied);
//! 3. Landlock (which also sets `no_new_privs`, so nothing exec'd later gains privileges);
//! 4. every capability dropped (root keeps its capabilities across exec otherwise), the
//!    host's controlling terminal left (`--no-tty`);
//! 5. the parent-death signal last (credential changes in the steps before would clear it);
//! 6. exec.
mod mounts;
mod namespaces;
mod privileges;
mod probe;
mod rules;
mod tty;

use std::ffi::OsString;
use std::io;
use std::os::unix::process::CommandExt;

use sidecar_confine::{ERROR_PREFIX, EXIT_CONFINE_FAILED, Plan};

/// Runs the helper: never returns.
pub fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--probe") {
        probe::run();
        std::process::exit(0);
    }
    let (plan, program) = match Plan::parse(args) {
        Ok(p) => p,
        Err(e) => fail("arguments", &io::Error::new(io::ErrorKind::InvalidInput, e)),
    };
    if let Err((step, e)) = confine(&plan) {
        fail(step, &e);
    }
    let (first, rest) = program.split_first().unwrap_or_else(|| {
        fail(
            "arguments",
            &io::Error::new(io::ErrorKind::InvalidInput, "no program"),
        )
    });
    // exec only returns on failure.
    let e = std::process::Command::new(first).args(rest).exec();
    fail("exec", &e);
}

/// Applies `plan` to this process; the step that failed, with its error.
fn confine(plan: &Plan) -> Result<(), (&'static str, io::Error)> {
    namespaces::enter(plan).map_err(|e| ("namespaces", e))?;
    if plan.mount_ns {
        mounts::apply(plan).map_err(|e| ("mounts", e))?;
    }
    if plan.landlock() {
        rules::restrict(plan).map_err(|e| ("landlock", e))?;
    }
    privileges::drop_all().map_err(|e| ("capabilities", e))?;
    if plan.no_tty {
        tty::leave().map_err(|e| ("controlling terminal", e))?;
    }
    if plan.parent != 0 {
        die_with_parent(plan.parent).map_err(|e| ("parent-death signal", e))?;
    }
    Ok(())
}

/// `PR_SET_PDEATHSIG = SIGKILL`, then refuses to go on if the parent is already gone (the
/// signal would then never come).
fn die_with_parent(parent: u32) -> io::Result<()> {
    // SAFETY: prctl with an integer argument; no memory is passed.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: getppid cannot fail and touches no memory.
    let now = unsafe { libc::getppid() };
    if u32::try_from(now).ok() != Some(parent) {
        return Err(io::Error::other(format!("the host (pid {parent}) is gone")));
    }
    Ok(())
}

/// Reports the failed step on stderr (the session's stderr log) and exits before the
/// program runs.
fn fail(step: &str, e: &io::Error) -> ! {
    eprintln!("{ERROR_PREFIX}{step}: {e}");
    std::process::exit(EXIT_CONFINE_FAILED);
}
