//! Linux mechanisms: exit through a pidfd, the parent-death signal, `/proc` for members,
//! names and usage, per-thread nice values, the watchdog's `/proc` session sweep, and
//! `splice(2)` for the sandbox proxy's tunnels.
//! Every Linux-only line of the crate is in this folder.

mod confine;
mod pdeathsig;
mod pidfd;
mod pipe;
mod priority;
mod procfs;
mod splice;
mod watchdog;

pub use confine::{prefix as confine_prefix, support as confine_support};
pub use pdeathsig::{helper as pdeathsig_helper, set_on_exec as set_pdeathsig_on_exec};
pub use pidfd::exit_fd;
pub use pipe::grow_pipe;
pub use priority::lower_current_thread;
pub use procfs::{each_process, process_name, session_members};
pub use splice::relay;
pub use watchdog::{SEND_FLAGS, SESSION_KILL, prepare_socket};

#[cfg(test)]
pub use priority::MAX_NICE;
#[cfg(test)]
pub use procfs::nice_of;

#[cfg(test)]
mod tests;
