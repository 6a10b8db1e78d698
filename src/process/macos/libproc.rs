//! libproc: every pid, a process's group, status and name, the members of a session, and one
//! pass over every process for the usage figures.

use std::sync::OnceLock;

use crate::process::table::ProcessRow;

/// Every pid the kernel lists (`proc_listpids`), with room for processes started since the
/// size was asked for.
fn all_pids() -> Vec<i32> {
    const PROC_ALL_PIDS: u32 = 1; // <sys/proc_info.h>
    let pid_size = std::mem::size_of::<libc::pid_t>();
    // SAFETY: a null buffer asks for the size needed.
    let needed = unsafe { libc::proc_listpids(PROC_ALL_PIDS, 0, std::ptr::null_mut(), 0) };
    let Ok(needed) = usize::try_from(needed) else {
        return Vec::new();
    };
    let mut pids: Vec<libc::pid_t> = vec![0; needed / pid_size + 64];
    let bytes = i32::try_from(pids.len() * pid_size).unwrap_or(i32::MAX);
    // SAFETY: `pids` is a writable buffer of `bytes` bytes.
    let got = unsafe { libc::proc_listpids(PROC_ALL_PIDS, 0, pids.as_mut_ptr().cast(), bytes) };
    pids.truncate(usize::try_from(got).unwrap_or(0) / pid_size);
    pids.retain(|&pid| pid > 0);
    pids
}

/// `proc_pidinfo(PROC_PIDTBSDINFO)` of `pid` (group id, status), if it still exists.
fn bsd_info(pid: i32) -> Option<libc::proc_bsdinfo> {
    // SAFETY: proc_bsdinfo is plain data: all-zero is a valid value.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = i32::try_from(std::mem::size_of::<libc::proc_bsdinfo>()).unwrap_or(0);
    // SAFETY: `info` is writable for `size` bytes, which is all proc_pidinfo writes.
    let n = unsafe {
        libc::proc_pidinfo(
            pid,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        )
    };
    (n == size).then_some(info)
}

/// `p_stat` of a zombie (`<sys/proc.h>`).
const SZOMB: u32 = 5;

/// The live processes of session `sid` (zombies left out): every pid the kernel lists
/// (`proc_listpids`) whose `getsid` is `sid`.
pub fn session_members(sid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        // SAFETY: getsid takes a pid and returns a pid or -1.
        .filter(|&pid| unsafe { libc::getsid(pid) } == sid)
        .filter(|&pid| bsd_info(pid).is_some_and(|i| i.pbi_status != SZOMB))
        .collect()
}

/// The command name of process `pid` (libproc's `proc_name`), if it exists.
pub fn process_name(pid: i32) -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: `buf` is writable for its whole length, which is what we pass.
    let n = unsafe { libc::proc_name(pid, buf.as_mut_ptr().cast(), buf.len() as u32) };
    let n = usize::try_from(n).ok().filter(|n| *n > 0)?;
    Some(String::from_utf8_lossy(&buf[..n.min(buf.len())]).into_owned())
}

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

pub fn each_process(mut f: impl FnMut(ProcessRow)) {
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
        f(ProcessRow {
            pgid: i32::try_from(bsd.pbi_pgid).unwrap_or(-1),
            sid,
            live: bsd.pbi_status != SZOMB,
            cpu_ms: cpu,
            rss_bytes: rss,
        });
    }
}
