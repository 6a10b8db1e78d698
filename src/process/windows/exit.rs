//! Exit of a supervised process on Windows. A process handle keeps the pid reserved until it
//! is closed, so "not reaped" means "a handle of ours is open": the runner's `Child`, or the
//! handle a terminal's spawn keeps (see `console.rs`). Waiting is a thread-pool wait
//! (`RegisterWaitForSingleObject`), so a running process costs no thread while it runs.

use std::ffi::c_void;
use std::io;
use std::os::windows::io::{AsRawHandle, FromRawHandle, OwnedHandle};
use std::process::Child;
use std::sync::Mutex;

use windows_sys::Win32::Foundation::{HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Threading::{
    GetExitCodeProcess, INFINITE, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION,
    PROCESS_SYNCHRONIZE, RegisterWaitForSingleObject, UnregisterWaitEx, WT_EXECUTEONLYONCE,
    WaitForSingleObject,
};

use super::console;
use crate::process::stop::ExitKind;

/// Opens process `pid` to wait for it and read its exit code.
pub(super) fn open_process(pid: i32) -> io::Result<OwnedHandle> {
    let id = u32::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: opening a process by id; checked before use.
    let h = unsafe {
        OpenProcess(
            PROCESS_SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION,
            0,
            id,
        )
    };
    if h.is_null() {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a new handle this function owns from here on.
    Ok(unsafe { OwnedHandle::from_raw_handle(h) })
}

/// Waits until process `pid` (a child of this process, whose handle we still hold) has
/// exited. A terminal's pseudoconsole is closed right then: ConPTY reports no end of output
/// while it is open, and its last output is flushed by the close.
pub async fn wait_exited(pid: i32) -> io::Result<()> {
    let process = open_process(pid)?;
    signalled(&process).await?;
    console::program_exited(pid);
    Ok(())
}

/// As [`wait_exited`]. The `hint` (end of the child's output) Unix uses to put off opening a
/// descriptor is not needed: a thread-pool wait costs nothing while the process runs, and a
/// console's output ends only after its program's exit is seen.
pub async fn wait_exit_after(pid: i32, hint: tokio::sync::oneshot::Receiver<()>) -> io::Result<()> {
    drop(hint);
    wait_exited(pid).await
}

/// The thread-pool wait's shared state: the callback takes the sender once.
struct Waiter {
    tx: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

/// A registered wait, unregistered (waiting for a running callback) before its state goes.
struct Registration {
    wait: HANDLE,
    waiter: *const Waiter,
}

impl Drop for Registration {
    fn drop(&mut self) {
        // SAFETY: `wait` came from RegisterWaitForSingleObject; INVALID_HANDLE_VALUE makes
        // the call return only once no callback runs, so the waiter can be freed after it.
        unsafe { UnregisterWaitEx(self.wait, INVALID_HANDLE_VALUE) };
        // SAFETY: `waiter` came from Box::into_raw and no callback can use it any more.
        drop(unsafe { Box::from_raw(self.waiter.cast_mut()) });
    }
}

// SAFETY: the wait handle is usable from any thread, and the waiter is only shared with the
// thread-pool callback through its Mutex.
unsafe impl Send for Registration {}

unsafe extern "system" fn on_signalled(ctx: *mut c_void, _timed_out: bool) {
    // SAFETY: `ctx` is the Waiter the registration keeps alive until this callback is done.
    let waiter = unsafe { &*ctx.cast::<Waiter>() };
    if let Some(tx) = crate::util::lock(&waiter.tx).take() {
        let _ = tx.send(());
    }
}

/// Resolves when `process` is signalled (has exited).
async fn signalled(process: &OwnedHandle) -> io::Result<()> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let _registration = register(process, tx)?;
    rx.await
        .map_err(|_| io::Error::other("process wait ended without a result"))
}

/// A thread-pool wait for `process` that sends on `tx` once it is signalled.
fn register(
    process: &OwnedHandle,
    tx: tokio::sync::oneshot::Sender<()>,
) -> io::Result<Registration> {
    let waiter = Box::into_raw(Box::new(Waiter {
        tx: Mutex::new(Some(tx)),
    }));
    let mut wait: HANDLE = std::ptr::null_mut();
    // SAFETY: `process` is a valid handle with SYNCHRONIZE for the whole registration (the
    // caller borrows it for longer than the registration lives); `waiter` stays allocated
    // until the registration is dropped.
    let ok = unsafe {
        RegisterWaitForSingleObject(
            &mut wait,
            process.as_raw_handle(),
            Some(on_signalled),
            waiter.cast_const().cast(),
            INFINITE,
            WT_EXECUTEONLYONCE,
        )
    };
    if ok == 0 {
        let e = io::Error::last_os_error();
        // SAFETY: never registered; still ours.
        drop(unsafe { Box::from_raw(waiter) });
        return Err(e);
    }
    Ok(Registration {
        wait,
        waiter: waiter.cast_const(),
    })
}

/// Waits for `child` (which has exited, see [`wait_exited`]) and closes its handle.
pub fn reap(child: &mut Child) -> io::Result<ExitKind> {
    let status = child.wait()?;
    // Windows exit codes are u32; std hands out their bits as an i32.
    let code = status
        .code()
        .map_or(-1, |c| i64::from(u32::from_ne_bytes(c.to_ne_bytes())));
    Ok(ExitKind::Code(code))
}

/// Reads the exit code of process `pid`, which has exited, and closes the handle the spawn
/// kept (terminal programs have no `Child`).
pub fn reap_pid(pid: i32) -> io::Result<ExitKind> {
    let process = match console::take_process(pid) {
        Some(p) => p,
        None => open_process(pid)?,
    };
    exit_code(&process).map(|c| ExitKind::Code(c.into()))
}

/// Waits for `process` and reads its exit code.
pub(super) fn exit_code(process: &OwnedHandle) -> io::Result<u32> {
    // SAFETY: `process` is a valid process handle with SYNCHRONIZE.
    unsafe { WaitForSingleObject(process.as_raw_handle(), INFINITE) };
    let mut code = 0u32;
    // SAFETY: as above, with PROCESS_QUERY_LIMITED_INFORMATION; `code` is writable.
    if unsafe { GetExitCodeProcess(process.as_raw_handle(), &mut code) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(code)
}
