//! Spawning a supervised process: its own process group, a clean environment, a death signal
//! tied to the spawning thread, piped stdio.

use std::io;
use std::os::fd::OwnedFd;

use std::process::{Command, Stdio};
use std::sync::Arc;

use super::group::ProcessGroup;
use crate::process::containment::Containment;
use crate::process::os;
use crate::process::spec::{SpawnSpec, Spawned};
use crate::process::stop::StopStep;

/// Spawns `spec` in a new process group with piped stdio.
///
/// On Linux the child also gets `PR_SET_PDEATHSIG = SIGKILL`, so it dies with the thread that
/// spawned it: callers spawn from a thread that lives as long as the manager (the JS thread),
/// never from a pool thread that may be retired while the runner still runs.
///
/// The death signal is set by util-linux `setpriv --pdeathsig KILL`, which then execs the
/// runtime in the same process. That keeps the spawn itself free of a `pre_exec` hook, so the
/// standard library can use `posix_spawn` (a `vfork`-style spawn that does not copy the
/// host's page tables: about a millisecond less on the calling thread for a large host).
/// Without `setpriv` a `pre_exec` hook sets it instead.
pub fn spawn(spec: &SpawnSpec) -> io::Result<Spawned> {
    check_program(&spec.program)?;
    // A confined child is started by the platform's confiner (which also sets the death
    // signal on Linux); others by setpriv where there is one.
    let confiner = spec
        .confine
        .as_deref()
        .map(|c| os::confine_prefix(c, true))
        .transpose()?;
    let helper = if confiner.is_some() {
        None
    } else {
        os::pdeathsig_helper()
    };
    let mut cmd = match (&confiner, helper) {
        (Some(prefix), _) => {
            let mut c = Command::new(&prefix[0]);
            c.args(&prefix[1..]).arg(&spec.program);
            c
        }
        (None, Some(setpriv)) => {
            let mut c = Command::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--", spec.program.as_str()]);
            c
        }
        (None, None) => Command::new(&spec.program),
    };
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    {
        use std::os::unix::process::CommandExt;
        // Own group: stop/kill reach the runner's children too, and a Ctrl-C aimed at the
        // host's terminal group does not hit runners behind the manager's back.
        cmd.process_group(0);
    }
    if confiner.is_none() && helper.is_none() {
        os::set_pdeathsig_on_exec(&mut cmd);
    }
    let mut child = cmd.spawn()?;
    let pid = i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        // Cannot happen with Stdio::piped(); do not leave the child behind if it does.
        let _ = ProcessGroup::unguarded(pid).stop(StopStep::Kill);
        let _ = child.wait();
        return Err(io::Error::other("child stdio pipes missing"));
    };
    let stdout: OwnedFd = stdout.into();
    os::grow_pipe(&stdout);
    Ok(Spawned {
        child,
        pid,
        stdin: stdin.into(),
        stdout,
        stderr: stderr.into(),
        containment: Arc::new(ProcessGroup::guard(pid)),
    })
}

/// Fails as `execve` would for a program that cannot run: with the helper in between, the
/// spawn itself would succeed and the failure would only show as the helper's exit code.
pub fn check_program(program: &str) -> io::Result<()> {
    use nix::unistd::{AccessFlags, access};
    if !program.contains('/') {
        // A bare name was not found in PATH when the manager was created.
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    access(program, AccessFlags::X_OK).map_err(io::Error::from)?;
    if std::fs::metadata(program)?.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::EACCES));
    }
    Ok(())
}
