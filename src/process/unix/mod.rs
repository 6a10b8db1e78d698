//! Unix mechanisms shared by Linux and macOS: spawning into a process group or onto a PTY,
//! containment by process group ([`ProcessGroup`]) or session ([`TerminalSession`]), exit
//! without reaping, signals, and the orphan watchdog that carries host death to every tree.
//! What differs between the two systems is in `../linux` and `../macos` (`os`).

mod clock;
mod exit;
mod fs;
mod group;
mod pipes;
mod pty;
mod pty_io;
mod session;
mod signal;
mod spawn;
mod watchdog;

pub use clock::thread_cpu_us;
pub use exit::{reap, reap_pid, wait_exit_after, wait_exited};
pub use fs::create_private_dir;
pub use pipes::{Pipe, PipeReader, PipeWriter, pipe_reader, pipe_writer};
pub use pty::{PtyMaster, PtySpawned, default_program, resolve_program, spawn_pty};
pub use pty_io::PtyIo;
pub use signal::{number_name, parse_signal, step_name};
pub use spawn::{check_program, spawn};
pub use watchdog::global as watchdog;

#[cfg(test)]
pub use group::ProcessGroup;
#[cfg(test)]
pub use session::{TerminalSession, session_members};

#[cfg(test)]
pub(crate) mod tests;
