//! `runnerNice` on Windows: a priority class for the runner's whole job (the job's
//! `PriorityClass` limit holds every process of the tree at it), since a thread's priority
//! is not inherited by the processes it creates.

use std::io;

use windows_sys::Win32::System::Threading::{BELOW_NORMAL_PRIORITY_CLASS, IDLE_PRIORITY_CLASS};

/// The class for `nice` steps below the host: none for 0 (the host's own), below-normal for
/// 1–9, idle for 10–19 (Windows has no finer steps below normal).
pub fn priority_class(nice: u8) -> Option<u32> {
    match nice {
        0 => None,
        1..=9 => Some(BELOW_NORMAL_PRIORITY_CLASS),
        _ => Some(IDLE_PRIORITY_CLASS),
    }
}

/// The spawner threads keep the host's priority on Windows (see [`priority_class`]).
pub fn lower_current_thread(_nice: u8) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_steps_map_to_the_classes_below_normal() {
        assert_eq!(priority_class(0), None);
        assert_eq!(priority_class(5), Some(BELOW_NORMAL_PRIORITY_CLASS));
        assert_eq!(priority_class(19), Some(IDLE_PRIORITY_CLASS));
    }
}
