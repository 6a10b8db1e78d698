//! Runner processes: spawning (own process group, clean environment, death signal), waiting
//! for exit without reaping, signalling the whole group, reaping.
//!
//! Exit is observed through a pidfd where the kernel has one (Linux ≥ 5.3), never through
//! `SIGCHLD`: the host runtime (libuv in Node, Bun's loop) owns that signal, and a second
//! handler in the same process would race with it.

use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use crate::status::ExitKind;

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
    /// [`spawn_async`] applies it.
    pub nice: u8,
}

/// A spawned runner with its pipes.
#[derive(Debug)]
pub struct Spawned {
    /// The child (owned so it can be reaped).
    pub child: Child,
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
fn pdeathsig_helper() -> Option<&'static str> {
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

type SpawnJob = (SpawnSpec, tokio::sync::oneshot::Sender<io::Result<Spawned>>);

/// Spawns `spec` on a spawner thread; the result arrives on the returned channel.
///
/// A spawner is a thread per host process and priority level that lives as long as the
/// process, so `PR_SET_PDEATHSIG` (tied to the spawning *thread*) fires only when the host
/// dies, and the caller (the JS thread) never waits for a fork/exec. Its nice value is
/// lowered by `spec.nice` once, and every runner it spawns inherits that.
pub fn spawn_async(spec: SpawnSpec) -> tokio::sync::oneshot::Receiver<io::Result<Spawned>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    match spawner(spec.nice) {
        Some(jobs) => {
            if let Err(std::sync::mpsc::SendError((spec, reply))) = jobs.send((spec, tx)) {
                let _ = reply.send(spawn(&spec));
            }
        }
        // No thread could be started: spawn here (PDEATHSIG then follows this thread, and
        // the runner keeps this thread's priority).
        None => {
            tracing::warn!("no spawner thread; runner spawned at the caller's priority");
            let _ = tx.send(spawn(&spec));
        }
    }
    rx
}

/// Starts the spawner thread for priority level `nice` now rather than at the first spawn, so
/// a manager's threads are all there once it is built.
pub fn prestart_spawner(nice: u8) {
    let _ = spawner(nice);
}

/// The job queue of the spawner thread for `nice`, started on first use; `None` when no
/// thread could be started.
fn spawner(nice: u8) -> Option<std::sync::mpsc::Sender<SpawnJob>> {
    type Spawners = std::collections::HashMap<u8, Option<std::sync::mpsc::Sender<SpawnJob>>>;
    static SPAWNERS: std::sync::Mutex<Option<Spawners>> = std::sync::Mutex::new(None);
    // A panic while holding this lock cannot leave the map inconsistent: use it anyway.
    let mut spawners = SPAWNERS.lock().unwrap_or_else(|e| e.into_inner());
    spawners
        .get_or_insert_with(Default::default)
        .entry(nice)
        .or_insert_with(|| start_spawner(nice))
        .clone()
}

/// Starts the spawner thread for priority level `nice`; `None` when no thread can be started.
fn start_spawner(nice: u8) -> Option<std::sync::mpsc::Sender<SpawnJob>> {
    let (jobs, queue) = std::sync::mpsc::channel::<SpawnJob>();
    std::thread::Builder::new()
        .name(format!("sidecar-spawn-{nice}"))
        .spawn(move || {
            if let Err(e) = crate::priority::lower_current_thread(nice) {
                tracing::warn!(error = %e, nice, "could not lower the runners' priority");
            }
            for (spec, reply) in queue {
                let result = spawn(&spec);
                if let Err(Ok(orphan)) = reply.send(result) {
                    // Nobody waits for it any more: do not leave it running.
                    let _ = signal_group(orphan.pid, Signal::SIGKILL);
                    let mut child = orphan.child;
                    let _ = child.wait();
                }
            }
        })
        .ok()
        .map(|_| jobs)
}

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

/// Whether child `pid` has exited (without reaping it).
pub fn has_exited(pid: i32) -> bool {
    use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
    matches!(
        waitid(
            Id::Pid(Pid::from_raw(pid)),
            WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT,
        ),
        // ECHILD: already reaped by someone else; it is certainly not running.
        Ok(WaitStatus::Exited(..) | WaitStatus::Signaled(..)) | Err(nix::errno::Errno::ECHILD)
    )
}

/// How often runners whose exit cannot be seen otherwise are checked.
const EXIT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Runners being polled for exit, and whether the polling task runs.
type Watched = (Vec<(i32, Option<tokio::sync::oneshot::Sender<()>>)>, bool);

fn watched() -> &'static std::sync::Mutex<Watched> {
    static WATCHED: std::sync::OnceLock<std::sync::Mutex<Watched>> = std::sync::OnceLock::new();
    WATCHED.get_or_init(|| std::sync::Mutex::new((Vec::new(), false)))
}

/// Resolves once child `pid` has exited (not reaped), checked every 2 s. Drop the receiver
/// to stop watching.
///
/// For runners whose exit has no event of its own (a child of theirs keeps their stdout
/// open, and a pidfd per session would cost a descriptor for its whole life): one task polls
/// them all, so idle sessions cost one wake-up per 2 s in total, not one each.
pub fn notify_when_exited(pid: i32) -> tokio::sync::oneshot::Receiver<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let start = {
        let mut w = crate::outbox::lock(watched());
        w.0.push((pid, Some(tx)));
        !std::mem::replace(&mut w.1, true)
    };
    if start {
        // On the process-wide runtime, which lives as long as the process: a task on a
        // caller's runtime would die with it and leave the others unwatched.
        match crate::runtime::get() {
            Ok(rt) => drop(rt.spawn(poll_exits())),
            Err(e) => {
                tracing::warn!(error = %e, "no runtime to poll runner exits");
                crate::outbox::lock(watched()).1 = false;
            }
        }
    }
    rx
}

async fn poll_exits() {
    let mut tick = tokio::time::interval(EXIT_POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        let mut w = crate::outbox::lock(watched());
        w.0.retain_mut(|(pid, tx)| {
            if tx.as_ref().is_none_or(|t| t.is_closed()) {
                return false;
            }
            if !has_exited(*pid) {
                return true;
            }
            if let Some(t) = tx.take() {
                let _ = t.send(());
            }
            false
        });
        if w.0.is_empty() {
            // Cleared under the lock, so a registration either sees the task running or
            // starts a new one.
            w.1 = false;
            return;
        }
    }
}

#[cfg(test)]
fn is_watched(pid: i32) -> bool {
    crate::outbox::lock(watched())
        .0
        .iter()
        .any(|(p, _)| *p == pid)
}

/// Waits until process `pid` (a child of this process) has exited, without reaping it, so
/// its pid — and so its process group id — stays reserved while the caller signals the group.
pub async fn wait_exited(pid: i32) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        match pidfd::open(pid) {
            Ok(fd) => return pidfd::wait_readable(fd).await,
            Err(e) => {
                tracing::debug!(pid, error = %e, "pidfd unavailable, waiting on a blocking thread")
            }
        }
    }
    let waited = tokio::task::spawn_blocking(move || {
        use nix::sys::wait::{Id, WaitPidFlag, waitid};
        loop {
            match waitid(
                Id::Pid(Pid::from_raw(pid)),
                WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => return other.map(|_| ()).map_err(io::Error::from),
            }
        }
    })
    .await;
    waited.map_err(io::Error::other)?
}

#[cfg(target_os = "linux")]
mod pidfd {
    use std::io;
    use std::os::fd::{FromRawFd, OwnedFd};

    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// `pidfd_open(2)`.
    pub fn open(pid: i32) -> io::Result<OwnedFd> {
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is
        // passed to the kernel.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = i32::try_from(fd).map_err(|_| io::Error::other("fd out of range"))?;
        // SAFETY: the kernel just returned this descriptor and nothing else owns it.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// A pidfd becomes readable when the process exits.
    pub async fn wait_readable(fd: OwnedFd) -> io::Result<()> {
        // SAFETY: `fd` is an `OwnedFd` moved into the `AsyncFd`, so it stays open and is the
        // same descriptor for the whole life of the registration.
        let afd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
            .map_err(io::Error::from)?;
        let _guard = afd.readable().await?;
        Ok(())
    }
}

/// Reaps `child`, which has exited (see [`wait_exited`]).
pub fn reap(child: &mut Child) -> io::Result<ExitKind> {
    child.wait().map(exit_kind)
}

/// How an [`ExitStatus`] ended.
pub fn exit_kind(status: ExitStatus) -> ExitKind {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => ExitKind::Code(c),
        (None, Some(s)) => ExitKind::Signal(s),
        (None, None) => ExitKind::Code(-1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn sh(script: &str) -> SpawnSpec {
        SpawnSpec {
            program: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![
                ("PATH".into(), "/usr/bin:/bin".into()),
                ("ONLY".into(), "me".into()),
            ],
            cwd: Some(std::env::temp_dir()),
            nice: 0,
        }
    }

    #[test]
    fn spawns_in_own_group_with_clean_env_and_reports_exit() {
        rt().block_on(async {
            let mut s =
                spawn(&sh("[ \"$ONLY\" = me ] && [ -z \"$HOME\" ] && exit 7")).expect("spawn");
            let pgid = nix::unistd::getpgid(Some(Pid::from_raw(s.pid))).expect("pgid");
            assert_eq!(pgid.as_raw(), s.pid);
            wait_exited(s.pid).await.expect("wait");
            assert_eq!(reap(&mut s.child).expect("reap"), ExitKind::Code(7));
        });
    }

    /// SIGKILLs `s`'s group and reaps it.
    async fn kill_and_reap(s: &mut Spawned) {
        signal_group(s.pid, Signal::SIGKILL).expect("kill");
        wait_exited(s.pid).await.expect("wait");
        reap(&mut s.child).expect("reap");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn async_spawns_inherit_the_spawner_priority() {
        rt().block_on(async {
            let host = crate::priority::nice_of(i32::try_from(std::process::id()).expect("pid"))
                .expect("host nice");
            for steps in [0u8, 4, 10] {
                let mut spec = sh("exec sleep 30");
                spec.nice = steps;
                let mut s = spawn_async(spec).await.expect("reply").expect("spawn");
                let nice = crate::priority::nice_of(s.pid);
                kill_and_reap(&mut s).await;
                assert_eq!(
                    nice.expect("runner nice"),
                    (host + i32::from(steps)).min(crate::priority::MAX_NICE)
                );
            }
        });
    }

    #[test]
    fn one_poller_reports_exits_and_forgets_dropped_watches() {
        rt().block_on(async {
            let mut quick = spawn(&sh("exit 0")).expect("spawn");
            let mut slow = spawn(&sh("exec sleep 30")).expect("spawn");
            let exited = notify_when_exited(quick.pid);
            let dropped = notify_when_exited(slow.pid);
            drop(dropped);
            tokio::time::timeout(EXIT_POLL * 3, exited)
                .await
                .expect("exit noticed within the poll period")
                .expect("notified");
            // The exited runner and the dropped watch are both forgotten (the dropped one at
            // the latest on the next tick).
            assert!(!is_watched(quick.pid));
            for _ in 0..300 {
                if !is_watched(slow.pid) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(!is_watched(slow.pid));
            assert!(
                !has_exited(slow.pid),
                "a dropped watch does not mean exited"
            );
            reap(&mut quick.child).expect("reap");
            kill_and_reap(&mut slow).await;
        });
    }

    #[test]
    fn group_signal_reaches_grandchildren() {
        rt().block_on(async {
            let mut s = spawn(&sh("sleep 30 & sleep 30; wait")).expect("spawn");
            // Wait until the group has the grandchild (sh forks both sleeps quickly).
            let pid = s.pid;
            for _ in 0..200 {
                let out = Command::new("pgrep")
                    .args(["-g", &pid.to_string()])
                    .output();
                if out
                    .map(|o| String::from_utf8_lossy(&o.stdout).lines().count() >= 3)
                    .unwrap_or(false)
                {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(group_alive(pid));
            assert!(signal_group(pid, Signal::SIGKILL).expect("killpg"));
            wait_exited(pid).await.expect("wait");
            assert_eq!(reap(&mut s.child).expect("reap"), ExitKind::Signal(9));
            for _ in 0..500 {
                if !group_alive(pid) {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
            assert!(!group_alive(pid), "grandchildren died with the group");
        });
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn runner_dies_with_the_thread_that_spawned_it() {
        rt().block_on(async {
            // The spawning thread ends once the child runs its script (so the death signal is
            // set up: with the setpriv helper that happens after spawn() returns).
            let spawned = std::thread::spawn(|| {
                let s = spawn(&sh("echo up; sleep 30"))?;
                let mut byte = [0u8; 1];
                nix::unistd::read(&s.stdout, &mut byte).map_err(io::Error::from)?;
                Ok::<_, io::Error>(s)
            })
            .join()
            .expect("thread")
            .expect("spawn");
            let mut s = spawned;
            wait_exited(s.pid).await.expect("wait");
            assert_eq!(
                reap(&mut s.child).expect("reap"),
                ExitKind::Signal(libc::SIGKILL)
            );
        });
    }

    #[test]
    fn programs_that_cannot_run_fail_at_spawn() {
        let mut spec = sh("exit 0");
        spec.program = "not-a-path".into();
        assert_eq!(
            spawn(&spec).err().map(|e| e.kind()),
            Some(io::ErrorKind::NotFound)
        );
        let plain = std::env::temp_dir().join(format!("sidecar-plain-{}", std::process::id()));
        std::fs::write(&plain, b"not a program").expect("write");
        spec.program = plain.display().to_string();
        assert_eq!(
            spawn(&spec).err().map(|e| e.kind()),
            Some(io::ErrorKind::PermissionDenied)
        );
        let _ = std::fs::remove_file(&plain);
        spec.program = "/usr".into();
        assert_eq!(
            spawn(&spec).err().map(|e| e.kind()),
            Some(io::ErrorKind::PermissionDenied)
        );
    }

    #[test]
    fn has_exited_does_not_reap() {
        rt().block_on(async {
            let mut s = spawn(&sh("read line; exit 5")).expect("spawn");
            assert!(!has_exited(s.pid));
            drop(s.stdin);
            wait_exited(s.pid).await.expect("wait");
            assert!(has_exited(s.pid));
            assert_eq!(reap(&mut s.child).expect("reap"), ExitKind::Code(5));
        });
    }

    #[test]
    fn spawn_failure_is_the_os_error() {
        let err = spawn(&SpawnSpec {
            program: "/nonexistent/runtime".into(),
            args: vec![],
            env: vec![],
            cwd: None,
            nice: 0,
        })
        .err()
        .map(|e| e.kind());
        assert_eq!(err, Some(io::ErrorKind::NotFound));
    }
}
