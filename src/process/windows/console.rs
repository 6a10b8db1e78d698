//! Terminals on ConPTY: a pseudoconsole of the terminal's size, the program created on it
//! suspended, put into a job of its own, then resumed (the documented ConPTY start:
//! `PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE` on an extended start-up info). The host reads the
//! console's output and writes its input through named pipes (see `pipes.rs`).
//!
//! ConPTY reports no end of output when the program exits: the exit watch (`exit.rs`)
//! closes the pseudoconsole as soon as the program has exited, which flushes its last output
//! and ends the output pipe, so the terminal delivers everything before its exit.

use std::collections::HashMap;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Console::{
    COORD, ClosePseudoConsole, CreatePseudoConsole, HPCON, ResizePseudoConsole,
};
use windows_sys::Win32::System::Threading::{
    CREATE_SUSPENDED, CREATE_UNICODE_ENVIRONMENT, CreateProcessW, DeleteProcThreadAttributeList,
    EXTENDED_STARTUPINFO_PRESENT, InitializeProcThreadAttributeList,
    PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, PROCESS_INFORMATION, ResumeThread, STARTF_USESTDHANDLES,
    STARTUPINFOEXW, TerminateProcess, UpdateProcThreadAttribute,
};

use super::cmdline::{command_line, environment_block, is_batch, search_path};
use super::job::{self, Job};
use super::pipes::{Flow, Pipe, pipe_pair};
use super::wide;
use crate::process::containment::{Containment, Target};
use crate::process::spec::PtySpec;
use crate::util::lock;

/// Buffer quota of the console's output pipe.
const OUTPUT_BUFFER: u32 = 1 << 20;
/// Buffer quota of the console's input pipe.
const INPUT_BUFFER: u32 = 64 << 10;

/// A pseudoconsole, closed once (by the exit watch, or when the terminal is dropped).
#[derive(Debug)]
struct Console {
    hpc: Mutex<Option<HPCON>>,
}

impl Console {
    fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        let hpc = lock(&self.hpc);
        let Some(hpc) = *hpc else {
            return Ok(());
        };
        // SAFETY: `hpc` is an open pseudoconsole (closing takes it out under this lock).
        let hr = unsafe { ResizePseudoConsole(hpc, size(cols, rows)) };
        if hr < 0 {
            return Err(io::Error::from_raw_os_error(hr));
        }
        Ok(())
    }

    /// Closes the pseudoconsole on a thread of its own: `ClosePseudoConsole` may wait until
    /// the console's last output is read, which the terminal's reader does meanwhile.
    fn close(self: &Arc<Self>) {
        let Some(hpc) = lock(&self.hpc).take() else {
            return;
        };
        let closing = std::thread::Builder::new()
            .name("sidecar-conpty-close".into())
            // SAFETY: `hpc` was open and is closed exactly once (taken out above).
            .spawn(move || unsafe { ClosePseudoConsole(hpc) });
        if let Err(e) = closing {
            tracing::warn!(error = %e, "no thread to close a pseudoconsole; closing here");
            // SAFETY: as above; the spawn failed, so the closure never ran.
            unsafe { ClosePseudoConsole(hpc) };
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        if let Some(hpc) = lock(&self.hpc).take() {
            // SAFETY: open, closed exactly once.
            unsafe { ClosePseudoConsole(hpc) };
        }
    }
}

/// What the exit watch and the reaping need of a running console program.
struct Entry {
    process: Option<OwnedHandle>,
    console: Arc<Console>,
}

fn running() -> &'static Mutex<HashMap<i32, Entry>> {
    static RUNNING: OnceLock<Mutex<HashMap<i32, Entry>>> = OnceLock::new();
    RUNNING.get_or_init(Default::default)
}

/// Program `pid` has exited: close its pseudoconsole so its last output comes out.
pub(super) fn program_exited(pid: i32) {
    let console = lock(running()).get(&pid).map(|e| e.console.clone());
    if let Some(c) = console {
        c.close();
    }
}

/// The process handle the spawn kept for program `pid` (for its exit code), forgetting it.
pub(super) fn take_process(pid: i32) -> Option<OwnedHandle> {
    lock(running()).remove(&pid).and_then(|e| e.process)
}

/// The host's side of a terminal: resize, and the pipes [`super::PtyIo`] opens once.
#[derive(Debug)]
pub struct PtyMaster {
    console: Arc<Console>,
    pipes: Mutex<Option<(Pipe, Pipe)>>,
}

impl PtyMaster {
    /// Resizes the console. (Wine 8 answers `E_NOTIMPL`, which is reported.)
    pub fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        self.console.resize(cols, rows)
    }

    /// The foreground program: Windows has no foreground process group to ask, so `None`.
    pub fn foreground_program(&self) -> Option<String> {
        None
    }

    /// `(input, output)`: the pipes to the console, handed out once.
    pub(super) fn take_pipes(&self) -> io::Result<(Pipe, Pipe)> {
        lock(&self.pipes)
            .take()
            .ok_or_else(|| io::Error::other("the console's pipes were already opened"))
    }
}

/// A program running on a pseudoconsole.
#[derive(Debug)]
pub struct PtySpawned {
    /// Process id.
    pub pid: i32,
    /// The host's side of the console.
    pub master: PtyMaster,
    /// Its job, guarded against the host's death from the spawn on.
    pub containment: Arc<dyn Containment>,
}

fn size(cols: u16, rows: u16) -> COORD {
    COORD {
        X: i16::try_from(cols).unwrap_or(i16::MAX),
        Y: i16::try_from(rows).unwrap_or(i16::MAX),
    }
}

/// `%COMSPEC%` when set and not empty, else `cmd.exe`.
pub fn default_program(var: &dyn Fn(&str) -> Option<String>) -> String {
    var("COMSPEC")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "cmd.exe".to_owned())
}

/// The program's path: `program` itself when it names a path, else the first file of that
/// name in `path` (a `PATH` value) with one of the `PATHEXT` extensions. A program that
/// cannot run is an error here, before any process exists.
pub fn resolve_program(program: &str, path: Option<&str>) -> io::Result<String> {
    if program.is_empty() {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    if program.contains(['/', '\\']) {
        super::check_program(program)?;
        return Ok(program.to_owned());
    }
    let pathext = std::env::var("PATHEXT").ok();
    search_path(program, path.unwrap_or(""), pathext.as_deref(), |p| {
        Path::new(p).is_file()
    })
    .ok_or_else(|| io::Error::from(io::ErrorKind::NotFound))
}

/// Spawns `spec` on a new pseudoconsole of its size.
pub fn spawn_pty(spec: &PtySpec) -> io::Result<PtySpawned> {
    super::confine::refuse(spec.confine.as_deref())?;
    let path = spec
        .env
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("PATH"))
        .map(|(_, v)| v.as_str());
    let program = resolve_program(&spec.program, path)?;
    if !spec.cwd.is_dir() {
        return Err(io::Error::from(io::ErrorKind::NotFound));
    }
    let comspec = spec
        .env
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("COMSPEC"))
        .map_or("cmd.exe", |(_, v)| v.as_str());
    let line = if is_batch(&program) {
        command_line(comspec, &[], Some((&program, &spec.args)))?
    } else {
        command_line(&program, &spec.args, None)?
    };
    let (input, child_input) = pipe_pair(Flow::ToChild, INPUT_BUFFER)?;
    let (output, child_output) = pipe_pair(Flow::FromChild, OUTPUT_BUFFER)?;
    let mut hpc: HPCON = 0;
    // SAFETY: both handles are valid pipe ends (the console duplicates them); `hpc` is
    // writable.
    let hr = unsafe {
        CreatePseudoConsole(
            size(spec.cols, spec.rows),
            child_input.as_raw_handle(),
            child_output.as_raw_handle(),
            0,
            &mut hpc,
        )
    };
    if hr < 0 {
        return Err(io::Error::other(format!(
            "CreatePseudoConsole failed: 0x{hr:08x}"
        )));
    }
    let console = Arc::new(Console {
        hpc: Mutex::new(Some(hpc)),
    });
    // The console holds its own copies: only it may hold the child's ends, or the output
    // never ends.
    drop((child_input, child_output));
    let job = job::create_job(None)?;
    let (process, thread, pid) = create_on_console(hpc, &line, spec)?;
    let started = job::assign(&job, process.as_raw_handle()).and_then(|()| {
        // SAFETY: `thread` is the new process's suspended main thread, a valid handle.
        match unsafe { ResumeThread(thread.as_raw_handle()) } {
            u32::MAX => Err(io::Error::last_os_error()),
            _ => Ok(()),
        }
    });
    if let Err(e) = started {
        // SAFETY: `process` is a valid process handle with PROCESS_TERMINATE.
        unsafe { TerminateProcess(process.as_raw_handle(), 1) };
        return Err(e);
    }
    let pid = i32::try_from(pid).map_err(|_| io::Error::other("pid out of range"))?;
    lock(running()).insert(
        pid,
        Entry {
            process: Some(process),
            console: console.clone(),
        },
    );
    Ok(PtySpawned {
        pid,
        master: PtyMaster {
            console,
            pipes: Mutex::new(Some((input, output))),
        },
        containment: Arc::new(Job::guard(pid, job, Target::Job)),
    })
}

/// `CreateProcessW` of `line` on console `hpc`, suspended: `(process, main thread, pid)`.
fn create_on_console(
    hpc: HPCON,
    line: &str,
    spec: &PtySpec,
) -> io::Result<(OwnedHandle, OwnedHandle, u32)> {
    let mut list_size = 0usize;
    // SAFETY: the documented size query: a null list and a writable size.
    unsafe { InitializeProcThreadAttributeList(std::ptr::null_mut(), 1, 0, &mut list_size) };
    // usize-aligned storage of the size the system asked for.
    let mut list = vec![0usize; list_size.div_ceil(size_of::<usize>())];
    let list_ptr = list.as_mut_ptr().cast();
    // SAFETY: `list` is `list_size` bytes, writable, and outlives its use below.
    if unsafe { InitializeProcThreadAttributeList(list_ptr, 1, 0, &mut list_size) } == 0 {
        return Err(io::Error::last_os_error());
    }
    struct List(*mut core::ffi::c_void);
    impl Drop for List {
        fn drop(&mut self) {
            // SAFETY: initialised above, deleted once.
            unsafe { DeleteProcThreadAttributeList(self.0) };
        }
    }
    let _list = List(list_ptr);
    // SAFETY: the attribute's value is the HPCON itself (passed by value, as documented).
    let ok = unsafe {
        UpdateProcThreadAttribute(
            list_ptr,
            0,
            PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE as usize,
            hpc as *const core::ffi::c_void,
            size_of::<HPCON>(),
            std::ptr::null_mut(),
            std::ptr::null(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let mut si = STARTUPINFOEXW::default();
    si.StartupInfo.cb = size_of::<STARTUPINFOEXW>() as u32;
    // Standard handles explicitly invalid: otherwise a host whose own stdio is redirected
    // can hand those handles to the program instead of the console's.
    si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
    si.StartupInfo.hStdInput = INVALID_HANDLE_VALUE;
    si.StartupInfo.hStdOutput = INVALID_HANDLE_VALUE;
    si.StartupInfo.hStdError = INVALID_HANDLE_VALUE;
    si.lpAttributeList = list_ptr;
    let mut line = wide(line);
    let env = environment_block(&spec.env);
    let cwd = wide(&spec.cwd.to_string_lossy());
    let mut pi = PROCESS_INFORMATION {
        hProcess: std::ptr::null_mut(),
        hThread: std::ptr::null_mut(),
        dwProcessId: 0,
        dwThreadId: 0,
    };
    // SAFETY: every pointer is valid for the call: the mutable command line, the
    // double-NUL-terminated UTF-16 environment block, the NUL-terminated cwd, the start-up
    // info whose attribute list is initialised; no handles are inherited.
    let ok = unsafe {
        CreateProcessW(
            std::ptr::null(),
            line.as_mut_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            0,
            EXTENDED_STARTUPINFO_PRESENT | CREATE_UNICODE_ENVIRONMENT | CREATE_SUSPENDED,
            env.as_ptr().cast(),
            cwd.as_ptr(),
            &si.StartupInfo,
            &mut pi,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: both handles are new and owned from here on.
    let (process, thread) = unsafe {
        (
            OwnedHandle::from_raw_handle(pi.hProcess),
            OwnedHandle::from_raw_handle(pi.hThread as HANDLE),
        )
    };
    Ok((process, thread, pi.dwProcessId))
}
