//! `runnerNice` on macOS: the nice value is per process here, so lowering the spawner
//! thread's would lower the app. Runners keep the app's priority.

use std::io;

/// Always `Unsupported` (see the module docs).
pub fn lower_current_thread(_steps: u8) -> io::Result<i32> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}
