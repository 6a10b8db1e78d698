//! A pseudoconsole's pipes as async I/O: its output read and its input written from tasks
//! of the runtime they were opened on.

use std::io;

use tokio::net::windows::named_pipe::NamedPipeServer;

use super::console::PtyMaster;
use super::pipes::{pipe_reader, pipe_writer};

/// The host's side of a terminal, readable and writable from tasks of the runtime it was
/// opened on.
#[derive(Debug)]
pub struct PtyIo {
    output: NamedPipeServer,
    input: NamedPipeServer,
}

impl PtyIo {
    /// Opens `master`'s pipes for async reading and writing (once); call inside the runtime
    /// that will poll them.
    pub fn open(master: &PtyMaster) -> io::Result<Self> {
        let (input, output) = master.take_pipes()?;
        Ok(Self {
            output: pipe_reader(output)?,
            input: pipe_writer(input)?,
        })
    }

    /// Waits until there is something to read (or end-of-file).
    pub async fn readable(&self) -> io::Result<()> {
        self.output.readable().await
    }

    /// Reads what the console has, up to `buf.len()`, in as few pieces as it comes. `Ok(0)`
    /// is end-of-file: the pseudoconsole was closed after its program exited.
    pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            self.output.readable().await?;
            let mut filled = 0;
            loop {
                match self.output.try_read(&mut buf[filled..]) {
                    Ok(0) => return Ok(filled),
                    Ok(n) => {
                        filled += n;
                        if filled == buf.len() {
                            return Ok(filled);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        if filled > 0 {
                            return Ok(filled);
                        }
                        break;
                    }
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(filled),
                    Err(e) => return if filled > 0 { Ok(filled) } else { Err(e) },
                }
            }
        }
    }

    /// Writes all of `data`, waiting while the console's input pipe is full.
    pub async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            self.input.writable().await?;
            match self.input.try_write(data) {
                Ok(n) => data = &data[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
