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

/// After the leader of group `pgid` is reaped: sweep what is left of the group (`leftovers`:
/// the last signal found members) or, when nothing is, take it off the watchdog's list.
pub fn release_group(pgid: i32, leftovers: bool, grace: Duration) {
    if leftovers {
        tokio::spawn(sweep_group(pgid, grace));
    } else {
        crate::watchdog::global().unregister(pgid);
    }
}

/// [`release_group`] for a terminal's session `sid`.
pub fn release_session(sid: i32, leftovers: bool, grace: Duration) {
    if leftovers {
        tokio::spawn(sweep_session(sid, grace));
    } else {
        crate::watchdog::global().unregister_session(sid);
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

/// The live processes of session `sid` (zombies left out), found by session id rather than
/// process group: an interactive shell puts each job in a group of its own, and a job may
/// ignore SIGHUP.
#[cfg(target_os = "linux")]
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command name (in parentheses, may hold anything): state, ppid, pgrp,
            // session.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let session = fields.nth(2).and_then(|f| f.parse::<i32>().ok());
            session == Some(sid) && state != Some("Z")
        })
        .collect()
}

/// Every pid the kernel lists (`proc_listpids`), with room for processes started since the
/// size was asked for.
#[cfg(target_os = "macos")]
pub(super) fn all_pids() -> Vec<i32> {
    const PROC_ALL_PIDS: u32 = 1; // <sys/proc_info.h>
    let pid_size = std::mem::size_of::<libc::pid_t>();
    // SAFETY: a null buffer asks for the size needed.
    let needed = unsafe { libc::proc_listpids(PROC_ALL_PIDS, 0, std::ptr::null_mut(), 0) };
    let Ok(needed) = usize::try_from(needed) else {
        return Vec::new();
    };
    let mut pids: Vec<libc::pid_t> = vec![0; needed / pid_size + 64];
    let bytes = i32::try_from(pids.len() * pid_size).unwrap_or(i32::MAX);
    // SAFETY: `pids` is a writable buffer of `bytes` bytes.
    let got = unsafe { libc::proc_listpids(PROC_ALL_PIDS, 0, pids.as_mut_ptr().cast(), bytes) };
    pids.truncate(usize::try_from(got).unwrap_or(0) / pid_size);
    pids.retain(|&pid| pid > 0);
    pids
}

/// `proc_pidinfo(PROC_PIDTBSDINFO)` of `pid` (group id, status), if it still exists.
#[cfg(target_os = "macos")]
pub(super) fn bsd_info(pid: i32) -> Option<libc::proc_bsdinfo> {
    // SAFETY: proc_bsdinfo is plain data: all-zero is a valid value.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = i32::try_from(std::mem::size_of::<libc::proc_bsdinfo>()).unwrap_or(0);
    // SAFETY: `info` is writable for `size` bytes, which is all proc_pidinfo writes.
    let n = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        )
    };
    (n == size).then_some(info)
}

/// `p_stat` of a zombie (`<sys/proc.h>`).
#[cfg(target_os = "macos")]
pub(super) const SZOMB: u32 = 5;

/// The live processes of session `sid` (zombies left out): every pid the kernel lists
/// (`proc_listpids`) whose `getsid` is `sid`.
#[cfg(target_os = "macos")]
pub fn session_members(sid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        // SAFETY: getsid takes a pid and returns a pid or -1.
        .filter(|&pid| unsafe { libc::getsid(pid) } == sid)
        .filter(|&pid| bsd_info(pid).is_some_and(|i| i.pbi_status != SZOMB))
        .collect()
}

/// Sends `sig` to every live process of session `sid`; returns how many there were.
pub fn signal_session(sid: i32, sig: Signal) -> io::Result<usize> {
    let members = session_members(sid);
    for &pid in &members {
        match nix::sys::signal::kill(Pid::from_raw(pid), sig) {
            Ok(()) | Err(nix::errno::Errno::ESRCH) => {}
            Err(e) => tracing::warn!(pid, error = %e, "signalling a terminal process failed"),
        }
    }
    Ok(members.len())
}

/// After the leader of session `sid` exited: SIGKILL whatever of the session is still there
/// after `grace`, then stop guarding it with the watchdog.
pub async fn sweep_session(sid: i32, grace: Duration) {
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !session_members(sid).is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = signal_session(sid, Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !session_members(sid).is_empty() {
        if Instant::now() >= deadline {
            tracing::warn!(sid, "terminal session survived SIGKILL");
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    crate::watchdog::global().unregister_session(sid);
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
