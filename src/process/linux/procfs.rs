//! `/proc`: the members of a session, a process's name, and one pass over every process for
//! the usage figures.

use std::io::Read;
use std::sync::OnceLock;

use crate::process::table::ProcessRow;

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
pub fn parse_stat(stat: &[u8], ticks: u64, page: u64) -> Option<ProcessRow> {
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
    Some(ProcessRow {
        pgid,
        sid,
        live: !state.starts_with('Z') && !state.starts_with('X'),
        cpu_ms: cpu_ticks.saturating_mul(1000) / ticks,
        rss_bytes: rss_pages.saturating_mul(page),
    })
}

pub fn each_process(mut f: impl FnMut(ProcessRow)) {
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

/// The live processes of session `sid` (zombies left out), found by session id rather than
/// process group: an interactive shell puts each job in a group of its own, and a job may
/// ignore SIGHUP.
pub fn session_members(sid: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // After the command name (in parentheses, may hold anything): state, ppid, pgrp,
            // session.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
                return false;
            };
            let mut fields = rest.split_whitespace();
            let state = fields.next();
            let session = fields.nth(2).and_then(|f| f.parse::<i32>().ok());
            session == Some(sid) && state != Some("Z")
        })
        .collect()
}

/// The command name of process `pid` (what `ps -o comm` shows), if it exists.
pub fn process_name(pid: i32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim_end().to_owned())
}

/// The nice value of process `pid` as the kernel reports it (`/proc/<pid>/stat`, field 19).
#[cfg(test)]
pub fn nice_of(pid: i32) -> std::io::Result<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) is in parentheses and may contain spaces: count from after it.
    let rest = stat
        .rfind(')')
        .map(|i| &stat[i + 1..])
        .ok_or_else(|| std::io::Error::other("unexpected /proc stat format"))?;
    rest.split_whitespace()
        .nth(16)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| std::io::Error::other("unexpected /proc stat format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_whose_name_holds_parentheses_and_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
        // utime stime cutime cstime priority nice threads itreal start vsize rss …
        let line = b"4242 (a) b (c)) S 1 4242 4242 0 -1 4194304 10 0 0 0 150 50 30 20 20 0 1 0 99 1000000 256 18446744073709551615";
        let p = parse_stat(line, 100, 4096).expect("parsed");
        assert_eq!((p.pgid, p.sid, p.live), (4242, 4242, true));
        assert_eq!(p.cpu_ms, 2500, "(150+50+30+20) ticks at 100 Hz");
        assert_eq!(p.rss_bytes, 256 * 4096);
        let zombie = b"7 (z) Z 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 9 0 0 0";
        assert!(!parse_stat(zombie, 100, 4096).expect("parsed").live);
        assert!(parse_stat(b"garbage", 100, 4096).is_none());
    }
}
