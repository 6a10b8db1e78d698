//! Spawning a supervised process on Windows: created suspended with no console window, put
//! into a job of its own, then resumed — so there is no moment in which it could start a
//! process outside the job — with its stdio on named pipes.

use std::io::{self, Read};
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::os::windows::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use windows_sys::Win32::Foundation::INVALID_HANDLE_VALUE;
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, TH32CS_SNAPTHREAD, THREADENTRY32, Thread32First, Thread32Next,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NO_WINDOW, CREATE_SUSPENDED, OpenThread, ResumeThread, SetPriorityClass,
    THREAD_SUSPEND_RESUME,
};

use super::job::{self, Job};
use super::pipes::{Flow, pipe_pair};
use super::priority::priority_class;
use crate::process::containment::Target;
use crate::process::spec::{SpawnSpec, Spawned};

/// Buffer quota of a runner's stdout pipe (Linux grows its pipe to 1 MiB the same way).
const STDOUT_BUFFER: u32 = 1 << 20;
/// Buffer quota of stdin and stderr.
const SMALL_BUFFER: u32 = 64 << 10;

/// Spawns `spec` suspended, in a job of its own, then resumes it.
///
/// Rust's `Command` builds the command line; a `.bat`/`.cmd` program is run through
/// `cmd.exe` with the argument escaping hardened after CVE-2024-24576 (arguments it cannot
/// escape safely are refused with an error, never passed on).
pub fn spawn(spec: &SpawnSpec) -> io::Result<Spawned> {
    super::confine::refuse(spec.confine.as_deref())?;
    check_program(&spec.program)?;
    let (stdin, child_stdin) = pipe_pair(Flow::ToChild, SMALL_BUFFER)?;
    let (stdout, child_stdout) = pipe_pair(Flow::FromChild, STDOUT_BUFFER)?;
    let (stderr, child_stderr) = pipe_pair(Flow::FromChild, SMALL_BUFFER)?;
    let class = priority_class(spec.nice);
    let job = job::create_job(class)?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::from(child_stdin))
        .stdout(Stdio::from(child_stdout))
        .stderr(Stdio::from(child_stderr))
        .creation_flags(CREATE_SUSPENDED | CREATE_NO_WINDOW | class.unwrap_or(0));
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = cmd.spawn()?;
    // The child's ends are closed with `cmd`: only the child holds them now, so the host
    // sees end-of-file once every process that inherited them is gone.
    drop(cmd);
    let pid = child.id();
    let started = job::assign(&job, child.as_raw_handle())
        .and_then(|()| set_priority(&child, class))
        .and_then(|()| resume(pid));
    if let Err(e) = started {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    Ok(Spawned {
        child,
        pid,
        stdin,
        stdout,
        stderr,
        containment: Arc::new(Job::guard(pid, job, Target::Job)),
    })
}

/// Sets the runner's priority class itself too: the job's limit is what holds its
/// descendants there, but not every implementation applies a job limit to the process
/// already in it (Wine does not).
fn set_priority(child: &std::process::Child, class: Option<u32>) -> io::Result<()> {
    let Some(class) = class else {
        return Ok(());
    };
    // SAFETY: the child's handle is valid while `child` lives and has PROCESS_SET_INFORMATION
    // (CreateProcess handles have every right).
    if unsafe { SetPriorityClass(child.as_raw_handle(), class) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Resumes the one thread of suspended process `pid` (found through a thread snapshot:
/// `Command` does not hand out the thread handle `CreateProcess` returned).
pub(super) fn resume(pid: u32) -> io::Result<()> {
    // SAFETY: a snapshot of the system's threads; checked before use.
    let snap = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snap == INVALID_HANDLE_VALUE {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new handle this function owns from here on.
    let snap = unsafe { OwnedHandle::from_raw_handle(snap) };
    // SAFETY: plain data; dwSize set as the API requires.
    let mut entry: THREADENTRY32 = unsafe { std::mem::zeroed() };
    entry.dwSize = size_of::<THREADENTRY32>() as u32;
    let mut resumed = 0;
    // SAFETY: `snap` is a valid snapshot and `entry` a valid, sized THREADENTRY32.
    let mut more = unsafe { Thread32First(snap.as_raw_handle(), &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: opening a thread by id; checked before use.
            let t = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if !t.is_null() {
                // SAFETY: a new handle this function owns from here on.
                let t = unsafe { OwnedHandle::from_raw_handle(t) };
                // SAFETY: `t` is a valid thread handle with THREAD_SUSPEND_RESUME.
                if unsafe { ResumeThread(t.as_raw_handle()) } != u32::MAX {
                    resumed += 1;
                }
            }
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snap.as_raw_handle(), &mut entry) } != 0;
    }
    if resumed == 0 {
        return Err(io::Error::other(format!(
            "could not resume process {pid}: its thread was not found"
        )));
    }
    Ok(())
}

/// Fails as `CreateProcess` would for a program that cannot run — no such file, a folder, a
/// file that is neither an executable image (`MZ`) nor a batch file (`ERROR_BAD_EXE_FORMAT`)
/// — so that it is refused before any session exists, as on Unix.
pub fn check_program(program: &str) -> io::Result<()> {
    /// `ERROR_BAD_EXE_FORMAT`: "%1 is not a valid Win32 application."
    const BAD_EXE_FORMAT: i32 = 193;
    let p = Path::new(program);
    if !program.contains(['/', '\\']) {
        // A bare name was not found in PATH when the manager was created.
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    if std::fs::metadata(p)?.is_dir() {
        return Err(io::Error::from(io::ErrorKind::PermissionDenied));
    }
    if super::cmdline::is_batch(program) {
        return Ok(());
    }
    let mut magic = [0u8; 2];
    std::fs::File::open(p)?.read_exact(&mut magic).ok();
    if &magic != b"MZ" {
        return Err(io::Error::from_raw_os_error(BAD_EXE_FORMAT));
    }
    Ok(())
}
