//! Spawning a supervised process: its own process group, a clean environment, a death signal
//! tied to the spawning thread, piped stdio.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::sys::signal::Signal;

use super::signal::signal_group;

/// What to run.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The program (runtime path or name).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The complete environment (nothing else is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory; the host's when `None`.
    pub cwd: Option<PathBuf>,
    /// Nice steps below the host the runner runs at (see [`crate::priority`]); only
    /// [`super::spawn_async`] applies it.
    pub nice: u8,
}

/// A spawned runner with its pipes.
#[derive(Debug)]
pub struct Spawned {
    /// The child (owned so it can be reaped).
    pub child: std::process::Child,
    /// Process id, which is also the process group id.
    pub pid: i32,
    /// Write end of the runner's stdin.
    pub stdin: OwnedFd,
    /// Read end of the runner's stdout.
    pub stdout: OwnedFd,
    /// Read end of the runner's stderr.
    pub stderr: OwnedFd,
}

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
    let helper = pdeathsig_helper();
    let mut cmd = match helper {
        Some(setpriv) => {
            let mut c = Command::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--", spec.program.as_str()]);
            c
        }
        None => Command::new(&spec.program),
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
        #[cfg(target_os = "linux")]
        if helper.is_none() {
            let parent = nix::unistd::getpid().as_raw();
            // SAFETY: the closure runs in the forked child before exec and only makes two
            // async-signal-safe system calls (prctl, getppid) and builds `io::Error`s from raw
            // OS codes, which does not allocate. It touches no locks and no heap.
            unsafe {
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) == -1 {
                        return Err(io::Error::last_os_error());
                    }
                    // The parent may have died between fork and prctl: then no signal will
                    // ever come, so refuse to start an orphan.
                    if libc::getppid() != parent {
                        return Err(io::Error::from_raw_os_error(libc::ESRCH));
                    }
                    Ok(())
                });
            }
        }
    }
    let mut child = cmd.spawn()?;
    let pid = i32::try_from(child.id()).map_err(|_| io::Error::other("pid out of range"))?;
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        // Cannot happen with Stdio::piped(); do not leave the child behind if it does.
        let _ = signal_group(pid, Signal::SIGKILL);
        let _ = child.wait();
        return Err(io::Error::other("child stdio pipes missing"));
    };
    let stdout: OwnedFd = stdout.into();
    grow_pipe(&stdout);
    Ok(Spawned {
        child,
        pid,
        stdin: stdin.into(),
        stdout,
        stderr: stderr.into(),
    })
}

/// Preferred capacity of a runner's stdout pipe.
#[cfg(target_os = "linux")]
const STDOUT_PIPE_BYTES: libc::c_int = 1024 * 1024;

/// Enlarges the stdout pipe (Linux: 64 KiB by default) so a fast runner blocks less often and
/// each wake-up of the reader takes a larger chunk. Best effort: the kernel refuses beyond
/// `pipe-max-size` or the user's pipe budget, and the default size works too.
fn grow_pipe(fd: &OwnedFd) {
    #[cfg(target_os = "linux")]
    {
        use nix::fcntl::{FcntlArg, fcntl};
        if let Err(e) = fcntl(fd, FcntlArg::F_SETPIPE_SZ(STDOUT_PIPE_BYTES)) {
            tracing::debug!(error = %e, "could not enlarge the stdout pipe");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = fd;
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

/// `setpriv`, if this system has one that supports `--pdeathsig` (checked once).
pub(super) fn pdeathsig_helper() -> Option<&'static str> {
    #[cfg(target_os = "linux")]
    {
        static HELPER: std::sync::OnceLock<Option<&'static str>> = std::sync::OnceLock::new();
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
    #[cfg(not(target_os = "linux"))]
    None
}
