//! Confinement on Windows: none in this version. `sandboxSupport()` says so and a sandbox
//! request is refused (or, with `onUnsupported: "warn"`, runs unconfined and says so); a
//! spawn that still carries a confinement is refused rather than run unconfined.

use std::io;

use crate::process::confine::{Confinement, Support};

/// Nothing is enforced here.
pub fn support() -> Support {
    Support::nothing(
        "Windows: no confinement in this version (an AppContainer or restricted-token sandbox is not implemented)",
    )
}

/// Refuses: a confined child cannot be started here.
pub fn refuse(c: Option<&Confinement>) -> io::Result<()> {
    match c {
        None => Ok(()),
        Some(_) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "confinement is not supported on Windows",
        )),
    }
}
