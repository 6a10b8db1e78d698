//! Files a child owns.

use std::io;
use std::path::Path;

/// Creates folder `p` (fails if it exists); it inherits the ACL of the user's temp folder,
/// which only that user (and administrators) can open.
pub fn create_private_dir(p: &Path) -> io::Result<()> {
    std::fs::create_dir(p)
}
