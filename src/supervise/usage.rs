//! What a process tree costs the machine: live processes, CPU time and resident memory of
//! every process of a group (agent runners) or a session (terminals), from one pass over the
//! system's process table — `/proc/<pid>/stat` on Linux, `proc_listpids` + `proc_pid_rusage`
//! on macOS. One pass serves every session of every manager, so the cost grows with the
//! number of processes on the machine, not with sessions × processes.

use std::collections::{HashMap, HashSet};

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

/// One process as the OS reports it.
#[derive(Debug, Clone, Copy)]
struct Proc {
    pgid: i32,
    sid: i32,
    live: bool,
    cpu_ms: u64,
    rss_bytes: u64,
}

#[cfg(target_os = "linux")]
mod os {
    use std::io::Read;
    use std::sync::OnceLock;

    use super::Proc;

    /// Clock ticks per second and page size, asked once.
    fn units() -> (u64, u64) {
        static UNITS: OnceLock<(u64, u64)> = OnceLock::new();
        *UNITS.get_or_init(|| {
            let sysconf = |name| {
                // SAFETY: sysconf takes a constant name and returns a number or -1.
                let v = unsafe { libc::sysconf(name) };
                u64::try_from(v).ok().filter(|&n| n > 0)
            };
            (
                sysconf(libc::_SC_CLK_TCK).unwrap_or(100),
                sysconf(libc::_SC_PAGESIZE).unwrap_or(4096),
            )
        })
    }

    /// Parses the fields after the command name of `/proc/<pid>/stat`
    /// (proc(5): state ppid pgrp session … utime stime cutime cstime … rss).
    pub(super) fn parse_stat(stat: &[u8], ticks: u64, page: u64) -> Option<Proc> {
        // The command name may hold spaces and parentheses: the fields start after the last ')'.
        let close = stat.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(stat.get(close + 2..)?).ok()?;
        let mut f = rest.split_ascii_whitespace();
        let state = f.next()?;
        let num = |s: Option<&str>| s.and_then(|s| s.parse::<i64>().ok());
        let _ppid = f.next()?;
        let pgid = i32::try_from(num(f.next())?).ok()?;
        let sid = i32::try_from(num(f.next())?).ok()?;
        // tty_nr tpgid flags minflt cminflt majflt cmajflt
        let mut f = f.skip(7);
        let mut cpu_ticks = 0u64;
        for _ in 0..4 {
            cpu_ticks += u64::try_from(num(f.next())?).unwrap_or(0);
        }
        // priority nice num_threads itrealvalue starttime vsize, then rss (pages)
        let rss_pages = u64::try_from(num(f.nth(6))?).unwrap_or(0);
        Some(Proc {
            pgid,
            sid,
            live: !state.starts_with('Z') && !state.starts_with('X'),
            cpu_ms: cpu_ticks.saturating_mul(1000) / ticks,
            rss_bytes: rss_pages.saturating_mul(page),
        })
    }

    pub(super) fn each_process(mut f: impl FnMut(Proc)) {
        let (ticks, page) = units();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        // A stat line is a few hundred bytes; one buffer serves every process.
        let mut buf = Vec::with_capacity(1024);
        let mut path = String::with_capacity(32);
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            path.clear();
            path.push_str("/proc/");
            path.push_str(name);
            path.push_str("/stat");
            buf.clear();
            // Gone since the listing, or not ours to read: skip it.
            let Ok(mut file) = std::fs::File::open(&path) else {
                continue;
            };
            if file.read_to_end(&mut buf).is_err() {
                continue;
            }
            if let Some(p) = parse_stat(&buf, ticks, page) {
                f(p);
            }
        }
    }
}

#[cfg(target_os = "macos")]
mod os {
    use std::sync::OnceLock;

    use super::Proc;

    /// Mach time units → nanoseconds (`proc_pid_rusage` times are in Mach absolute time
    /// units, which are nanoseconds on Intel but not on Apple silicon).
    fn timebase() -> (u64, u64) {
        static TB: OnceLock<(u64, u64)> = OnceLock::new();
        *TB.get_or_init(|| {
            let mut info = mach2::mach_time::mach_timebase_info { numer: 0, denom: 0 };
            // SAFETY: `info` is a valid, writable mach_timebase_info.
            let rc = unsafe { mach2::mach_time::mach_timebase_info(&mut info) };
            if rc == 0 && info.numer > 0 && info.denom > 0 {
                (u64::from(info.numer), u64::from(info.denom))
            } else {
                (1, 1)
            }
        })
    }

    pub(super) fn each_process(mut f: impl FnMut(Proc)) {
        use crate::supervise::signal::{SZOMB, all_pids, bsd_info};
        let (numer, denom) = timebase();
        for pid in all_pids() {
            let Some(bsd) = bsd_info(pid) else {
                continue;
            };
            // SAFETY: getsid takes a pid and returns a pid or -1.
            let sid = unsafe { libc::getsid(pid) };
            // SAFETY: rusage_info_v2 is plain data: all-zero is a valid value.
            let mut ru: libc::rusage_info_v2 = unsafe { std::mem::zeroed() };
            // SAFETY: `ru` is a writable rusage_info_v2, the layout RUSAGE_INFO_V2 asks for.
            let rc = unsafe {
                libc::proc_pid_rusage(
                    pid,
                    libc::RUSAGE_INFO_V2,
                    (&mut ru as *mut libc::rusage_info_v2).cast(),
                )
            };
            let (cpu, rss) = if rc == 0 {
                let mach = ru
                    .ri_user_time
                    .saturating_add(ru.ri_system_time)
                    .saturating_add(ru.ri_child_user_time)
                    .saturating_add(ru.ri_child_system_time);
                (
                    mach.saturating_mul(numer) / denom / 1_000_000,
                    ru.ri_resident_size,
                )
            } else {
                (0, 0)
            };
            f(Proc {
                pgid: i32::try_from(bsd.pbi_pgid).unwrap_or(-1),
                sid,
                live: bsd.pbi_status != SZOMB,
                cpu_ms: cpu,
                rss_bytes: rss,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn parses_a_stat_line_whose_name_holds_parentheses_and_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice threads itreal start vsize rss …
        let line = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194304 10 0 0 0 150 50 30 20 20 0 1 0 99 1000000 256 18446744073709551615";
        let p = os::parse_stat(line, 100, 4096).expect("parsed");
        assert_eq!((p.pgid, p.sid, p.live), (4242, 4242, true));
        assert_eq!(p.cpu_ms, 2500, "(150+50+30+20) ticks at 100 Hz");
        assert_eq!(p.rss_bytes, 256 * 4096);
        let zombie = b"7 (z) Z 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 0 0 0";
        assert!(!os::parse_stat(zombie, 100, 4096).expect("parsed").live);
        assert!(os::parse_stat(b"garbage", 100, 4096).is_none());
    }

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
