//! What a process tree costs the machine: live processes, CPU time and resident memory of
//! every process of a group (agent runners) or a session (terminals), from one pass over the
//! system's process table — `/proc/<pid>/stat` on Linux, `proc_listpids` + `proc_pid_rusage`
//! on macOS. One pass serves every session of every manager, so the cost grows with the
//! number of processes on the machine, not with sessions × processes.

use std::collections::{HashMap, HashSet};

use super::os;

/// Figures of one tree at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Live (not zombie) processes.
    pub processes: u32,
    /// User + system CPU of the live processes, plus what they collected from children they
    /// reaped (so a finished tool command still counts), in milliseconds.
    pub cpu_ms: u64,
    /// Resident memory of the live processes, bytes (shared pages count in each process that
    /// maps them, as `ps` shows them).
    pub rss_bytes: u64,
}

impl Usage {
    fn add(&mut self, live: bool, cpu_ms: u64, rss_bytes: u64) {
        if live {
            self.processes += 1;
            self.rss_bytes += rss_bytes;
        }
        self.cpu_ms += cpu_ms;
    }
}

/// The figures of every group and session asked for (absent: no process found).
#[derive(Debug, Default)]
pub struct Scan {
    /// By process group id.
    pub groups: HashMap<i32, Usage>,
    /// By session id.
    pub sessions: HashMap<i32, Usage>,
}

/// One pass over the process table for the trees of `groups` and `sessions`.
pub fn scan(groups: &HashSet<i32>, sessions: &HashSet<i32>) -> Scan {
    let mut out = Scan::default();
    if groups.is_empty() && sessions.is_empty() {
        return out;
    }
    os::each_process(|p| {
        if groups.contains(&p.pgid) {
            out.groups
                .entry(p.pgid)
                .or_default()
                .add(p.live, p.cpu_ms, p.rss_bytes);
        }
        if sessions.contains(&p.sid) {
            out.sessions
                .entry(p.sid)
                .or_default()
                .add(p.live, p.cpu_ms, p.rss_bytes);
        }
    });
    out
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_with_its_memory_and_cpu() {
        let me = i32::try_from(std::process::id()).expect("pid");
        // SAFETY: getpgid/getsid of our own pid cannot fail.
        let (pgid, sid) = unsafe { (libc::getpgid(me), libc::getsid(me)) };
        // Burn a little CPU so the figure is above zero.
        let mut x = 0u64;
        let t0 = std::time::Instant::now();
        while t0.elapsed() < std::time::Duration::from_millis(30) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        let s = scan(&HashSet::from([pgid]), &HashSet::from([sid]));
        let g = s.groups.get(&pgid).copied().unwrap_or_default();
        assert!(g.processes >= 1, "{g:?}");
        assert!(g.rss_bytes > 1024 * 1024, "{g:?}");
        assert!(g.cpu_ms > 0, "{g:?}");
        assert!(s.sessions.get(&sid).is_some_and(|u| u.processes >= 1));
        assert!(scan(&HashSet::new(), &HashSet::new()).groups.is_empty());
    }
}
