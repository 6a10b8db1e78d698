//! The tunnel relay on Linux: `splice(2)` from one socket into a pipe and from the pipe into
//! the other socket, so the bytes stay in the kernel (no copy into and out of a user-space
//! buffer). One pipe per direction; tokio's readiness of each socket drives the nonblocking
//! splices.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::fcntl::{FcntlArg, OFlag, SpliceFFlags, fcntl, splice};
use nix::sys::socket::{Shutdown, shutdown};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Pipe capacities to ask for, largest first: more per splice means fewer wake-ups. The
/// kernel refuses past `pipe-max-size` (1 MiB by default) or the user's pipe budget; the
/// default 64 KiB pipe still works, only with more calls.
const PIPE_BYTES: [libc::c_int; 2] = [1024 * 1024, 256 * 1024];

/// Relays both ways between `a` and `b` until both directions have ended (an end of stream
/// on one side becomes a write shutdown of the other) or either fails, calling
/// `on_activity` after every splice that moved bytes. Returns the bytes moved a → b and
/// b → a. Without pipes (out of descriptors) it copies through user space instead.
pub async fn relay(
    a: TcpStream,
    b: TcpStream,
    on_activity: &(dyn Fn() + Sync),
) -> io::Result<(u64, u64)> {
    let (Ok(forward), Ok(back)) = (Pipe::new(), Pipe::new()) else {
        return crate::process::copy::relay(a, b, on_activity).await;
    };
    tokio::try_join!(
        forward.pump(&a, &b, on_activity),
        back.pump(&b, &a, on_activity)
    )
}

/// The kernel buffer of one direction.
struct Pipe {
    read: OwnedFd,
    write: OwnedFd,
    /// Bytes the pipe holds at most (its page count times the page size, for bulk data).
    capacity: usize,
}

impl Pipe {
    fn new() -> io::Result<Pipe> {
        let (read, write) = nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK)?;
        let granted = PIPE_BYTES
            .iter()
            .find_map(|&bytes| fcntl(&write, FcntlArg::F_SETPIPE_SZ(bytes)).ok());
        let capacity = match granted {
            Some(bytes) => bytes,
            None => fcntl(&write, FcntlArg::F_GETPIPE_SZ)?,
        };
        Ok(Pipe {
            read,
            write,
            capacity: usize::try_from(capacity).unwrap_or(0).max(4096),
        })
    }

    /// Moves `from` → `to` until `from` ends (then shuts down writing on `to`) or either
    /// fails. Each round fills the empty pipe from `from` and drains it into `to`
    /// completely: with the pipe empty, a splice that would block can only mean `from` has
    /// nothing, so clearing `from`'s readiness then is right (a full pipe never clears it).
    async fn pump(
        &self,
        from: &TcpStream,
        to: &TcpStream,
        on_activity: &(dyn Fn() + Sync),
    ) -> io::Result<u64> {
        let flags = SpliceFFlags::SPLICE_F_MOVE | SpliceFFlags::SPLICE_F_NONBLOCK;
        let mut total = 0u64;
        loop {
            from.readable().await?;
            let filled = from.try_io(Interest::READABLE, || {
                Ok(splice(from, None, &self.write, None, self.capacity, flags)?)
            });
            let mut held = match filled {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if retry(&e) => continue,
                Err(e) => return Err(e),
            };
            on_activity();
            while held > 0 {
                to.writable().await?;
                let drained = to.try_io(Interest::WRITABLE, || {
                    Ok(splice(&self.read, None, to, None, held, flags)?)
                });
                match drained {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        held -= n;
                        total += n as u64;
                        on_activity();
                    }
                    Err(e) if retry(&e) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        shutdown(to.as_raw_fd(), Shutdown::Write)?;
        Ok(total)
    }
}

/// Whether a failed splice is only "not now": no readiness (tokio cleared it and the next
/// wait blocks) or a signal.
fn retry(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}
