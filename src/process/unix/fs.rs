//! Files a child owns: a folder only its user can enter.

use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// Creates folder `p` with mode 0700 (fails if it exists).
pub fn create_private_dir(p: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().mode(0o700).create(p)
}
