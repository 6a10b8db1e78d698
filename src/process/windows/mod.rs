//! Windows mechanisms: every child created suspended, put into a Job Object of its own and
//! resumed (containment, host-death cleanup by kill-on-close, resource figures), stdio on
//! overlapped named pipes, terminals on ConPTY, exits through thread-pool waits. Every
//! Windows-only line of the crate is in this folder.

mod clock;
mod cmdline;
mod confine;
mod console;
mod console_io;
mod exit;
mod fs;
mod job;
mod pipes;
mod priority;
mod signal;
mod spawn;
mod usage;

pub use clock::thread_cpu_us;
pub use confine::support as confine_support;
pub use console::{PtyMaster, PtySpawned, default_program, resolve_program, spawn_pty};
pub use console_io::PtyIo;
pub use exit::{reap, reap_pid, wait_exit_after, wait_exited};
pub use fs::create_private_dir;
pub use pipes::{Pipe, PipeReader, PipeWriter, pipe_reader, pipe_writer};
pub use priority::lower_current_thread;
pub use signal::{number_name, parse_signal, step_name};
pub use spawn::{check_program, spawn};
pub use usage::each_process;
// Nothing faster than the portable copy for tunnels here.
pub use super::copy::relay;

/// `s` as a NUL-terminated UTF-16 string.
fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

#[cfg(test)]
mod tests;
