//! A larger stdout pipe for runners.

use std::os::fd::OwnedFd;

/// Preferred capacity of a runner's stdout pipe.
const STDOUT_PIPE_BYTES: libc::c_int = 1024 * 1024;

/// Enlarges the stdout pipe (64 KiB by default) so a fast runner blocks less often and each
/// wake-up of the reader takes a larger chunk. Best effort: the kernel refuses beyond
/// `pipe-max-size` or the user's pipe budget, and the default size works too.
pub fn grow_pipe(fd: &OwnedFd) {
    use nix::fcntl::{FcntlArg, fcntl};
    if let Err(e) = fcntl(fd, FcntlArg::F_SETPIPE_SZ(STDOUT_PIPE_BYTES)) {
        tracing::debug!(error = %e, "could not enlarge the stdout pipe");
    }
}
