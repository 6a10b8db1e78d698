//! Exit of a supervised process, observed without reaping (so its pid, which is its group id,
//! stays reserved while the group is signalled), then reaping.
//!
//! Exit is observed through a descriptor the platform gives (`os::exit_fd`: a pidfd on Linux
//! ≥ 5.3, a kqueue `EVFILT_PROC`/`NOTE_EXIT` registration on macOS), never through `SIGCHLD`: the host runtime
//! (libuv in Node, Bun's loop) owns that signal, and a second handler in the same process would
//! race with it.

use std::io;
use std::process::{Child, ExitStatus};

use nix::unistd::Pid;

use crate::process::os;
use crate::process::stop::ExitKind;

/// `waitid(P_PID, pid, WEXITED | WNOWAIT)`, with `WNOHANG` unless `block`: whether child `pid`
/// has exited, without reaping it. (libc's own, because nix offers `waitid` on Linux only.)
fn peek_exit(pid: i32, block: bool) -> io::Result<bool> {
    let id = libc::id_t::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ECHILD))?;
    let flags = libc::WEXITED | libc::WNOWAIT | if block { 0 } else { libc::WNOHANG };
    loop {
        // SAFETY: siginfo_t is plain data, so all-zero is a valid value to hand the kernel.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t for the duration of the call.
        let rc = unsafe { libc::waitid(libc::P_PID, id, &mut info, flags) };
        if rc == 0 {
            // With WNOHANG and nothing to report, the kernel leaves si_pid at 0.
            // SAFETY: the kernel filled `info` for a child event (or left it zeroed).
            return Ok(block || unsafe { info.si_pid() } != 0);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Whether child `pid` has exited (without reaping it).
pub fn has_exited(pid: i32) -> bool {
    match peek_exit(pid, false) {
        Ok(exited) => exited,
        // ECHILD: already reaped by someone else; it is certainly not running.
        Err(e) => e.raw_os_error() == Some(libc::ECHILD),
    }
}

/// How often runners whose exit cannot be seen otherwise are checked.
pub(crate) const EXIT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

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
        let mut w = crate::util::lock(watched());
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
                crate::util::lock(watched()).1 = false;
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
        let mut w = crate::util::lock(watched());
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
pub(crate) fn is_watched(pid: i32) -> bool {
    crate::util::lock(watched())
        .0
        .iter()
        .any(|(p, _)| *p == pid)
}

/// Waits until process `pid` (a child of this process) has exited, without reaping it, so
/// its pid — and so its process group id — stays reserved while the caller signals the group.
pub async fn wait_exited(pid: i32) -> io::Result<()> {
    match os::exit_fd(pid) {
        Ok(Some(fd)) => return wait_readable(fd).await,
        // It has exited already.
        Ok(None) if has_exited(pid) => return Ok(()),
        Ok(None) => {}
        Err(e) => {
            tracing::debug!(pid, error = %e, "no exit descriptor, waiting on a blocking thread")
        }
    }
    let waited = tokio::task::spawn_blocking(move || peek_exit(pid, true).map(|_| ())).await;
    waited.map_err(io::Error::other)?
}

/// Waits until `fd` (a pidfd, or a kqueue watching a process) becomes readable: the process has
/// exited.
async fn wait_readable(fd: std::os::fd::OwnedFd) -> io::Result<()> {
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;
    // SAFETY: `fd` is an `OwnedFd` moved into the `AsyncFd`, so it stays open and is the same
    // descriptor for the whole life of the registration.
    let afd = unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE) }
        .map_err(io::Error::from)?;
    let _guard = afd.readable().await?;
    Ok(())
}

/// Reaps `child`, which has exited (see [`wait_exited`]).
pub fn reap(child: &mut Child) -> io::Result<ExitKind> {
    child.wait().map(exit_kind)
}

/// Reaps child `pid`, which has exited (see [`wait_exited`]), when no `Child` handle owns it
/// (PTY children).
pub fn reap_pid(pid: i32) -> io::Result<ExitKind> {
    use nix::sys::wait::{WaitStatus, waitpid};
    loop {
        match waitpid(Pid::from_raw(pid), None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(ExitKind::Code(code.into())),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(ExitKind::Signal(sig as i32)),
            // Stopped/continued reports are not exits: wait on.
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
}

/// How an [`ExitStatus`] ended.
pub fn exit_kind(status: ExitStatus) -> ExitKind {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => ExitKind::Code(c.into()),
        (None, Some(s)) => ExitKind::Signal(s),
        (None, None) => ExitKind::Code(-1),
    }
}

/// Resolves when child `pid` has exited (not reaped). `hint` is an event that usually comes
/// with the exit (end of the child's output): the pidfd is opened only then, so a process
/// costs no descriptor for the exit watch while it runs; the shared poll covers a child that
/// exits while something else keeps its output open.
pub async fn wait_exit_after(pid: i32, hint: tokio::sync::oneshot::Receiver<()>) -> io::Result<()> {
    let polled = notify_when_exited(pid);
    tokio::select! {
        _ = hint => {}
        _ = polled => {}
    }
    wait_exited(pid).await
}
