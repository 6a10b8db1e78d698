//! The watchdog's macOS parts: its session sweep by the leader's group (no /proc), and a
//! socket that never raises SIGPIPE (no `MSG_NOSIGNAL` here).

use std::io;
use std::os::unix::net::UnixStream;

/// `kill_sessions SIG`: macOS has no /proc, and no tool there lists processes by session id
/// (Apple's pkill/pgrep are built without `-s`; ps's `sess` is an unfilled kernel pointer).
/// So the session leader's process group (its pgid is the session id) is signalled; jobs in
/// other groups get the PTY hangup the kernel sends when the host's master closes.
pub const SESSION_KILL: &str = r#"kill_sessions() {
  for s in $sessions; do kill "-$1" "-$s" 2>/dev/null; done
}
"#;

/// Flags for writes to the watchdog (the socket has `SO_NOSIGPIPE` instead).
pub const SEND_FLAGS: nix::sys::socket::MsgFlags = nix::sys::socket::MsgFlags::empty();

/// Sets `SO_NOSIGPIPE`: macOS has no `MSG_NOSIGNAL`, so the socket itself must not raise
/// SIGPIPE in the host.
pub fn prepare_socket(sock: &UnixStream) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket, a valid int option value and its size.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_NOSIGPIPE,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
