//! macOS mechanisms: exit through a kqueue, libproc for members, names and usage, the
//! watchdog's group sweep. macOS has no parent-death signal and no per-thread nice value:
//! the watchdog carries host death, and `runnerNice` does nothing here. Every macOS-only
//! line of the crate is in this folder.

mod confine;
mod kqueue;
mod libproc;
mod priority;
mod spawn;
mod watchdog;

pub use confine::{command_prefix as confine_prefix, support as confine_support};
pub use kqueue::exit_fd;
pub use libproc::{each_process, process_name, session_members};
pub use priority::lower_current_thread;
pub use spawn::{grow_pipe, pdeathsig_helper, set_pdeathsig_on_exec};
pub use watchdog::{SEND_FLAGS, SESSION_KILL, prepare_socket};
// Nothing faster than the portable copy for tunnels here.
pub use super::copy::relay;
