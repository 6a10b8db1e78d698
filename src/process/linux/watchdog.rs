//! The watchdog's Linux parts: its session sweep through `/proc`, and sends that never raise
//! SIGPIPE.

use std::io;
use std::os::unix::net::UnixStream;

/// `kill_sessions SIG`: the members of every session in `$sessions`, found through /proc with
/// shell built-ins only.
pub const SESSION_KILL: &str = r#"kill_sessions() {
  [ "$sessions" = " " ] && return
  sig=$1
  set +f
  pids=
  for f in /proc/[0-9]*/stat; do
    IFS= read -r st < "$f" 2>/dev/null || continue
    p=${f#/proc/}
    p=${p%/stat}
    st=${st##*) }
    set -f
    set -- $st
    case "$sessions" in *" $4 "*) [ "$1" != Z ] && pids="$pids $p" ;; esac
    set +f
  done
  set -f
  [ -n "$pids" ] && kill "-$sig" $pids 2>/dev/null
}
"#;

/// Flags for writes to the watchdog: never raise SIGPIPE in the host (it may not ignore it).
pub const SEND_FLAGS: nix::sys::socket::MsgFlags = nix::sys::socket::MsgFlags::MSG_NOSIGNAL;

/// Nothing to set on the socket: [`SEND_FLAGS`] keeps SIGPIPE away.
pub fn prepare_socket(_sock: &UnixStream) -> io::Result<()> {
    Ok(())
}
