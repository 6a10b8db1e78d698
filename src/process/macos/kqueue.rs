//! The exit of a child as a readable descriptor: a kqueue with one
//! `EVFILT_PROC`/`NOTE_EXIT` registration (the kqueue is polled by the runtime like any
//! descriptor).

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A descriptor that becomes readable when child `pid` exits; `Ok(None)` when it has exited
/// already (a zombie cannot be watched: `ESRCH`).
pub fn exit_fd(pid: i32) -> io::Result<Option<OwnedFd>> {
    match watch_exit(pid) {
        Ok(fd) => Ok(Some(fd)),
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => Ok(None),
        Err(e) => Err(e),
    }
}

fn watch_exit(pid: i32) -> io::Result<OwnedFd> {
    let ident = usize::try_from(pid).map_err(|_| io::Error::from_raw_os_error(libc::ESRCH))?;
    // SAFETY: kqueue takes no arguments and returns a new descriptor or -1.
    let raw = unsafe { libc::kqueue() };
    if raw < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the kernel just returned this descriptor and nothing else owns it.
    let kq = unsafe { OwnedFd::from_raw_fd(raw) };
    let change = libc::kevent {
        ident,
        filter: libc::EVFILT_PROC,
        flags: libc::EV_ADD | libc::EV_ONESHOT,
        fflags: libc::NOTE_EXIT,
        data: 0,
        udata: std::ptr::null_mut(),
    };
    // SAFETY: one valid change record in, no event buffer out, no timeout.
    let rc = unsafe {
        libc::kevent(
            kq.as_raw_fd(),
            &change,
            1,
            std::ptr::null_mut(),
            0,
            std::ptr::null(),
        )
    };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(kq)
}
