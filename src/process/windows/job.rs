//! Containment by Job Object (every kind of child on Windows): the child is created
//! suspended, assigned to a job of its own, then resumed, so everything it ever starts —
//! `detached` children included, as the job allows no breakaway — is in the job. The job is
//! `KILL_ON_JOB_CLOSE`: when its last handle closes, which the OS does for any end of the host
//! (exit, crash, `TerminateProcess` from Task Manager), every process in it ends. That is the
//! host-death guarantee on Windows; no watchdog is needed.

use std::collections::HashMap;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::time::Instant;
use windows_sys::Win32::Foundation::HANDLE;
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION,
    JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE, JOB_OBJECT_LIMIT_PRIORITY_CLASS,
    JOBOBJECT_BASIC_ACCOUNTING_INFORMATION, JOBOBJECT_EXTENDED_LIMIT_INFORMATION,
    JobObjectBasicAccountingInformation, JobObjectBasicProcessIdList,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject,
    TerminateJobObject,
};

use windows_sys::Win32::System::Threading::{
    OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, QueryFullProcessImageNameW,
};

use crate::process::containment::{Containment, Target};
use crate::process::stop::StopStep;
use crate::util::lock;

/// The exit code every process of a terminated job gets (what `taskkill /F` and Node's
/// `child.kill()` leave on Windows too).
pub const TERMINATED_EXIT_CODE: u32 = 1;

/// A new job for one child: kill-on-close, no breakaway, a crash ends the process instead
/// of waiting on an error dialog nobody sees, and — when `priority_class` is given — every
/// process of the tree held at that priority class (the kernel enforces it).
pub fn create_job(priority_class: Option<u32>) -> io::Result<OwnedHandle> {
    // SAFETY: no attributes (the handle is not inheritable, so no child holds the job
    // open) and no name; the result is checked before use.
    let raw = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
    if raw.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new handle this function owns from here on.
    let job = unsafe { OwnedHandle::from_raw_handle(raw) };
    // SAFETY: the struct is plain data; all-zero is its "no limits" value.
    let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
    limits.BasicLimitInformation.LimitFlags =
        JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
    if let Some(class) = priority_class {
        limits.BasicLimitInformation.LimitFlags |= JOB_OBJECT_LIMIT_PRIORITY_CLASS;
        limits.BasicLimitInformation.PriorityClass = class;
    }
    // SAFETY: `job` is a valid job handle; the pointer and size describe `limits`, which
    // outlives the call.
    let ok = unsafe {
        SetInformationJobObject(
            job.as_raw_handle(),
            JobObjectExtendedLimitInformation,
            (&raw const limits).cast(),
            size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(job)
}

/// Puts `process` (created suspended) into `job`.
pub fn assign(job: &OwnedHandle, process: HANDLE) -> io::Result<()> {
    // SAFETY: both handles are valid for the call (the caller owns them).
    if unsafe { AssignProcessToJobObject(job.as_raw_handle(), process) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Every process of one child's job, named by the leader's pid.
#[derive(Debug, Clone)]
pub struct Job {
    inner: Arc<JobInner>,
}

#[derive(Debug)]
struct JobInner {
    pid: i32,
    target: Target,
    /// `None` once released: closing it ends whatever is still in the job.
    handle: Mutex<Option<OwnedHandle>>,
    /// Whether the latest `stop` found processes other than the leader in the job.
    others_at_stop: AtomicBool,
}

/// Live jobs by leader pid: what the resource scan walks.
fn jobs() -> &'static Mutex<HashMap<i32, Job>> {
    static JOBS: OnceLock<Mutex<HashMap<i32, Job>>> = OnceLock::new();
    JOBS.get_or_init(Default::default)
}

impl Job {
    /// Takes `handle` (the job leader `pid` was assigned to) under supervision.
    pub fn guard(pid: i32, handle: OwnedHandle, target: Target) -> Self {
        let job = Self {
            inner: Arc::new(JobInner {
                pid,
                target,
                handle: Mutex::new(Some(handle)),
                others_at_stop: AtomicBool::new(false),
            }),
        };
        lock(jobs()).insert(pid, job.clone());
        job
    }

    /// The job's accounting: `None` once released.
    fn accounting(&self) -> Option<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION> {
        let h = lock(&self.inner.handle);
        let h = h.as_ref()?;
        // SAFETY: plain data; all-zero is valid.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { std::mem::zeroed() };
        // SAFETY: `h` is a valid job handle; the pointer and size describe `info`.
        let ok = unsafe {
            QueryInformationJobObject(
                h.as_raw_handle(),
                JobObjectBasicAccountingInformation,
                (&raw mut info).cast(),
                size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                std::ptr::null_mut(),
            )
        };
        (ok != 0).then_some(info)
    }

    /// The pids of the job's live processes (`None` once released).
    fn pids(&self) -> Option<Vec<u32>> {
        let h = lock(&self.inner.handle);
        let h = h.as_ref()?;
        // The list is two u32 counts, then one usize per process; grow until it fits.
        let mut slots = 64usize;
        loop {
            let mut buf = vec![0usize; 1 + slots];
            let bytes = u32::try_from(buf.len() * size_of::<usize>()).ok()?;
            // SAFETY: `h` is a valid job handle; the buffer is `bytes` long, usize-aligned
            // (as JOBOBJECT_BASIC_PROCESS_ID_LIST requires) and outlives the call.
            let ok = unsafe {
                QueryInformationJobObject(
                    h.as_raw_handle(),
                    JobObjectBasicProcessIdList,
                    buf.as_mut_ptr().cast(),
                    bytes,
                    std::ptr::null_mut(),
                )
            };
            let header = buf[0].to_ne_bytes();
            let assigned = u32::from_ne_bytes(header[..4].try_into().ok()?) as usize;
            let listed = u32::from_ne_bytes(header[4..8].try_into().ok()?) as usize;
            if ok != 0 && listed >= assigned {
                let ids = &buf[1..=listed.min(slots)];
                return Some(ids.iter().filter_map(|&p| u32::try_from(p).ok()).collect());
            }
            if slots >= 1 << 16 {
                return None;
            }
            slots = (assigned + 16).max(slots * 2);
        }
    }

    fn close(&self) {
        // Dropping the handle ends whatever is left (kill-on-close).
        drop(lock(&self.inner.handle).take());
        let mut all = lock(jobs());
        if all
            .get(&self.inner.pid)
            .is_some_and(|j| Arc::ptr_eq(&j.inner, &self.inner))
        {
            all.remove(&self.inner.pid);
        }
    }
}

impl Containment for Job {
    fn target(&self) -> Target {
        self.inner.target
    }

    /// Every step ends the whole job at once: Windows has no signal a process without a
    /// console of the host's can be asked to end by (the polite step is the stop line).
    fn stop(&self, _step: StopStep) -> io::Result<bool> {
        if !self.alive() {
            return Ok(false);
        }
        let leader = self.inner.pid;
        let others = self.pids().is_some_and(|pids| {
            pids.iter()
                .any(|&p| i64::from(p) != i64::from(leader) && !is_console_host(p))
        });
        self.inner.others_at_stop.store(others, Ordering::SeqCst);
        let h = lock(&self.inner.handle);
        let Some(h) = h.as_ref() else {
            return Ok(false);
        };
        // SAFETY: `h` is a valid job handle.
        if unsafe { TerminateJobObject(h.as_raw_handle(), TERMINATED_EXIT_CODE) } == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(true)
    }

    fn alive(&self) -> bool {
        self.accounting().is_some_and(|a| a.ActiveProcesses > 0)
    }

    /// `TerminateJobObject` ends the tree at once, so nothing is left to find afterwards:
    /// what counts is whether the job held more than the exited leader when it was stopped.
    fn reached_others(&self, reached: bool) -> bool {
        reached && self.inner.others_at_stop.load(Ordering::SeqCst)
    }

    fn release(&self, leftovers: bool, grace: Duration) {
        if leftovers && self.alive() {
            let job = self.clone();
            tokio::spawn(async move {
                let deadline = Instant::now() + grace;
                while Instant::now() < deadline && job.alive() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                job.close();
            });
        } else {
            self.close();
        }
    }
}

/// Whether `pid` is a console host (`conhost.exe`). A child created with `CREATE_NO_WINDOW`
/// gets a hidden console, and the `conhost.exe` serving it is started by the child, inside
/// its job, and ends on its own once the child is gone: console plumbing, not a process of
/// the tree (not counted, not a leftover).
pub fn is_console_host(pid: u32) -> bool {
    // SAFETY: opening a process by id; checked before use.
    let h = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if h.is_null() {
        return false;
    }
    // SAFETY: a new handle owned from here on.
    let h = unsafe { OwnedHandle::from_raw_handle(h) };
    let mut buf = [0u16; 1024];
    let mut len = buf.len() as u32;
    // SAFETY: `h` has query rights; `buf` is writable for `len` UTF-16 units.
    if unsafe { QueryFullProcessImageNameW(h.as_raw_handle(), 0, buf.as_mut_ptr(), &mut len) } == 0
    {
        return false;
    }
    let path = String::from_utf16_lossy(&buf[..len as usize]);
    let name = path.rsplit(['\\', '/']).next().unwrap_or(&path);
    name.eq_ignore_ascii_case("conhost.exe")
}

/// Calls `f(leader pid, job)` for every live job (the resource scan).
pub fn each_job(mut f: impl FnMut(i32, &Job)) {
    let all: Vec<Job> = lock(jobs()).values().cloned().collect();
    for job in &all {
        f(job.inner.pid, job);
    }
}

/// One job's figures: (live pids, total CPU of every process it ever held, ms).
pub fn job_figures(job: &Job) -> Option<(Vec<u32>, u64)> {
    let acct = job.accounting()?;
    // 100 ns units.
    let cpu_ms = u64::try_from(acct.TotalUserTime.saturating_add(acct.TotalKernelTime))
        .unwrap_or(0)
        / 10_000;
    Some((job.pids()?, cpu_ms))
}

/// Whether job of leader `pid` still has processes (tests).
#[cfg(test)]
pub fn job_alive(pid: i32) -> bool {
    lock(jobs()).get(&pid).is_some_and(Containment::alive)
}
