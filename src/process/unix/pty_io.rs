//! A PTY master as async I/O: a non-blocking duplicate of the master descriptor polled by
//! the runtime (portable-pty keeps the original for resize and the foreground group).

use std::io;
use std::os::fd::{AsFd, OwnedFd, RawFd};

use super::pty::PtyMaster;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The master side of a terminal, readable and writable from tasks of the runtime it was
/// opened on.
#[derive(Debug)]
pub struct PtyIo {
    fd: AsyncFd<OwnedFd>,
}

impl PtyIo {
    /// Opens `master` for async reading and writing; call inside the runtime that will poll
    /// it.
    pub fn open(master: &PtyMaster) -> io::Result<Self> {
        let raw = master
            .raw_fd()
            .ok_or_else(|| io::Error::other("no PTY descriptor"))?;
        let fd = dup_nonblocking(raw)?;
        // SAFETY: `fd` is an `OwnedFd` moved into the `AsyncFd`, so it stays open and is the
        // same descriptor for the whole life of the registration.
        let fd =
            unsafe { AsyncFd::register_with_interest(fd, Interest::READABLE | Interest::WRITABLE) }
                .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Self { fd })
    }

    /// Waits until there is something to read (or end-of-file).
    pub async fn readable(&self) -> io::Result<()> {
        drop(self.fd.readable().await?);
        Ok(())
    }

    /// Reads what the PTY has, up to `buf.len()`: after the first read, further reads until
    /// the descriptor would block, so a flood arrives in few large pieces (a tty hands out a
    /// few KiB per read) and each costs one delivery. `Ok(0)` is end-of-file, which Linux
    /// reports as EIO once the last holder of the slave has closed it.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self.read_some(buf).await {
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(0),
            r => r,
        }
    }

    async fn read_some(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let mut filled = 0;
            loop {
                let read = guard.try_io(|fd| {
                    nix::unistd::read(fd.get_ref(), &mut buf[filled..]).map_err(io::Error::from)
                });
                match read {
                    Ok(Ok(0)) => return Ok(filled),
                    Ok(Ok(n)) => {
                        filled += n;
                        if filled == buf.len() {
                            return Ok(filled);
                        }
                    }
                    Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                    // End of file (EIO) or an error after some data: hand out the data first;
                    // the next call sees the error again.
                    Ok(Err(e)) => return if filled > 0 { Ok(filled) } else { Err(e) },
                    Err(_would_block) if filled > 0 => return Ok(filled),
                    Err(_would_block) => break,
                }
            }
        }
    }

    /// Writes all of `data`, waiting while the tty's input buffer is full.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| nix::unistd::write(fd.get_ref(), data).map_err(io::Error::from))
            {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }
}

/// A non-blocking, close-on-exec duplicate of the master descriptor.
fn dup_nonblocking(raw: RawFd) -> io::Result<OwnedFd> {
    use nix::fcntl::{FcntlArg, OFlag, fcntl};
    // SAFETY: `raw` is the master descriptor owned by the `MasterPty` the caller holds for
    // the whole call; it is only borrowed to duplicate it.
    let borrowed = unsafe { std::os::fd::BorrowedFd::borrow_raw(raw) };
    let fd = borrowed.try_clone_to_owned()?;
    let flags = fcntl(fd.as_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
    fcntl(
        fd.as_fd(),
        FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
    )
    .map_err(io::Error::from)?;
    Ok(fd)
}
