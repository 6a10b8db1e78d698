//! CPU priority of runners: they are background work and run a few nice steps below the app,
//! so a burst of agents on a small machine cannot starve the app's JS (UI) thread.
//!
//! The nice value is a per-thread attribute on Linux and a child inherits the value of the
//! thread that spawned it. Runners are spawned from a dedicated thread per priority level
//! (see `process::spawn_async`) whose own nice value is lowered once: every runner then starts
//! at that priority before it runs a single instruction, with no extra exec and no window in
//! which a runner thread could escape it.

use std::io;

/// Highest nice value (lowest priority) Linux knows.
pub const MAX_NICE: i32 = 19;

/// Lowers the calling thread's priority by `steps` nice steps (capped at [`MAX_NICE`]) and
/// returns the new nice value. Raising the nice value never needs a privilege.
pub fn lower_current_thread(steps: u8) -> io::Result<i32> {
    if steps == 0 {
        return current_thread_nice();
    }
    let target = (current_thread_nice()? + i32::from(steps)).min(MAX_NICE);
    // SAFETY: setpriority takes and returns plain integers; no memory is shared.
    // With PRIO_PROCESS and a thread id Linux changes that one thread only.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, thread_id(), target) };
    if rc == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(target)
}

/// The calling thread's kernel thread id.
///
/// The raw system call rather than `libc::gettid`: that wrapper only exists since glibc 2.30,
/// and the shipped addon must load on older glibc (see the README's glibc floor).
fn thread_id() -> libc::id_t {
    // SAFETY: gettid takes no arguments, cannot fail and touches no memory.
    let tid = unsafe { libc::syscall(libc::SYS_gettid) };
    tid as libc::id_t
}

/// The calling thread's nice value.
pub fn current_thread_nice() -> io::Result<i32> {
    // getpriority returns the nice value, and -1 is a valid one: errno tells them apart.
    // SAFETY: errno is thread-local, getpriority takes plain integers.
    unsafe {
        *libc::__errno_location() = 0;
        let nice = libc::getpriority(libc::PRIO_PROCESS, thread_id());
        if nice == -1 && *libc::__errno_location() != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(nice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowers_only_the_calling_thread() {
        let main_before = current_thread_nice().expect("nice");
        let (lowered, inside) = std::thread::spawn(move || {
            let lowered = lower_current_thread(3).expect("lower");
            (lowered, current_thread_nice().expect("nice"))
        })
        .join()
        .expect("thread");
        assert_eq!(lowered, (main_before + 3).min(MAX_NICE));
        assert_eq!(inside, lowered);
        assert_eq!(current_thread_nice().expect("nice"), main_before);
    }

    #[test]
    fn caps_at_the_lowest_priority() {
        let got = std::thread::spawn(|| lower_current_thread(u8::MAX).expect("lower"))
            .join()
            .expect("thread");
        assert_eq!(got, MAX_NICE);
    }

    #[test]
    fn zero_steps_changes_nothing() {
        let before = current_thread_nice().expect("nice");
        assert_eq!(lower_current_thread(0).expect("noop"), before);
    }

    #[test]
    fn reads_the_nice_value_of_a_process() {
        let me = i32::try_from(std::process::id()).expect("pid");
        // The main test thread (pid == tid of the group leader) has not been changed.
        let stat_nice = crate::process::os::nice_of(me).expect("stat");
        assert!((-20..=MAX_NICE).contains(&stat_nice));
        assert!(crate::process::os::nice_of(i32::MAX).is_err());
    }
}
