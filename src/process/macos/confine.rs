//! Confinement on macOS: Seatbelt through `/usr/bin/sandbox-exec`, which spawning puts in
//! front of the program (the profile itself is `process::seatbelt`, pure text).

use std::io;
use std::path::Path;
use std::sync::OnceLock;

use crate::process::confine::{Confinement, Support};
use crate::process::seatbelt;

/// Whether `sandbox-exec` is there, looked up once per process: it ships with macOS and
/// does not come or go while the app runs.
fn sandbox_exec_exists() -> bool {
    static EXISTS: OnceLock<bool> = OnceLock::new();
    *EXISTS.get_or_init(|| Path::new(seatbelt::SANDBOX_EXEC).is_file())
}

/// The argv prefix that runs a program confined to `c` (append the program and its
/// arguments): see [`seatbelt::command`]. `Unsupported` when this Mac has no
/// `/usr/bin/sandbox-exec`, so a confined spawn fails rather than running unconfined.
/// `_pipes` (Linux leaves the host's controlling terminal for piped children) is not acted on
/// here: whether TIOCSTI through `/dev/tty` is refused by the profile is for a Mac to confirm.
pub fn command_prefix(c: &Confinement, _pipes: bool) -> io::Result<Vec<String>> {
    if !sandbox_exec_exists() {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "cannot confine: /usr/bin/sandbox-exec is missing",
        ));
    }
    Ok(seatbelt::command(c))
}

/// What this Mac enforces: see [`seatbelt::support`].
pub fn support() -> Support {
    seatbelt::support(sandbox_exec_exists())
}
