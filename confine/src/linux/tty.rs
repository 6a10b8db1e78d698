//! Leaving the host's controlling terminal: a runner spawned with pipes is in the host's
//! session, so `/dev/tty` would be the terminal the app was started from, and TIOCSTI on it
//! (where `dev.tty.legacy_tiocsti` is 1) types commands into the user's shell. Terminals are
//! not affected (their program starts a session of its own on its own PTY).

use std::io;

/// Detaches this process from its controlling terminal, if it has one.
pub fn leave() -> io::Result<()> {
    let path = c"/dev/tty";
    // SAFETY: `path` is a valid C string; the result is checked.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        // ENXIO: no controlling terminal, nothing to leave.
        return Ok(());
    }
    // SAFETY: fd was just opened and is owned here.
    let tty = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // SAFETY: TIOCNOTTY takes no argument; a process that is not the session leader only
    // loses its controlling terminal (no signal is sent).
    let r = unsafe { libc::ioctl(std::os::fd::AsRawFd::as_raw_fd(&tty), libc::TIOCNOTTY as _) };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
