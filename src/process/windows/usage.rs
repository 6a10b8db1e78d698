//! Resource figures from the jobs: the process list and the CPU of every process a job ever
//! held (`QueryInformationJobObject`), and each live process's working set.

use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};

use windows_sys::Win32::System::ProcessStatus::{K32GetProcessMemoryInfo, PROCESS_MEMORY_COUNTERS};
use windows_sys::Win32::System::Threading::{OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION};

use super::job::{each_job, is_console_host, job_figures};
use crate::process::table::ProcessRow;

/// Calls `f` for every process of every supervised job but its console host (see
/// `is_console_host`), as rows whose group and session are the job's leader pid; the job's CPU (finished processes included) comes as one extra
/// row that is not live.
pub fn each_process(mut f: impl FnMut(ProcessRow)) {
    each_job(|leader, job| {
        let Some((pids, cpu_ms)) = job_figures(job) else {
            return;
        };
        for pid in pids.into_iter().filter(|&p| !is_console_host(p)) {
            f(ProcessRow {
                pgid: leader,
                sid: leader,
                live: true,
                cpu_ms: 0,
                rss_bytes: working_set(pid),
            });
        }
        f(ProcessRow {
            pgid: leader,
            sid: leader,
            live: false,
            cpu_ms,
            rss_bytes: 0,
        });
    });
}

/// The working set of process `pid`, bytes (0 when it cannot be read).
fn working_set(pid: u32) -> u64 {
    // SAFETY: opening a process by id; checked before use.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        return 0;
    }
    // SAFETY: a new handle owned from here on.
    let h = unsafe { OwnedHandle::from_raw_handle(h) };
    // SAFETY: plain data; all-zero is valid.
    let mut counters: PROCESS_MEMORY_COUNTERS = unsafe { std::mem::zeroed() };
    let size = size_of::<PROCESS_MEMORY_COUNTERS>() as u32;
    // SAFETY: `h` is valid with query rights; `counters` is writable and `size` long.
    if unsafe { K32GetProcessMemoryInfo(h.as_raw_handle(), &mut counters, size) } == 0 {
        return 0;
    }
    counters.WorkingSetSize as u64
}
