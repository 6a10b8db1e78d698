//! The mounts of a plan, in this process's private mount namespace: nothing here is seen
//! outside it, and it ends with the last process of the tree.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use sidecar_confine::Plan;

/// The flags a read-only remount must keep: inside a user namespace the kernel refuses to
/// clear flags the outer mount has (they are locked), so carry them over.
const KEPT: libc::c_ulong = libc::MS_NOSUID
    | libc::MS_NODEV
    | libc::MS_NOEXEC
    | libc::MS_NOATIME
    | libc::MS_NODIRATIME
    | libc::MS_RELATIME;

/// Stops propagation from this namespace, then pins, makes read-only and hides.
pub fn apply(plan: &Plan) -> io::Result<()> {
    // Slave, not private: mounts the host makes later (a USB disk) still show up inside,
    // while nothing done here leaks out.
    mount(
        None,
        Path::new("/"),
        None,
        libc::MS_REC | libc::MS_SLAVE,
        None,
    )?;
    for p in &plan.pin {
        bind(p).map_err(|e| at("pin", p, e))?;
    }
    for p in &plan.read_only {
        bind(p).map_err(|e| at("read-only", p, e))?;
        remount_read_only(p).map_err(|e| at("read-only", p, e))?;
    }
    for p in &plan.hide {
        hide(p).map_err(|e| at("hide", p, e))?;
    }
    Ok(())
}

/// Binds `p` onto itself with what is mounted below it.
fn bind(p: &Path) -> io::Result<()> {
    mount(Some(p), p, None, libc::MS_BIND | libc::MS_REC, None)
}

/// Makes the bind mount at `p` read-only, keeping its locked flags.
fn remount_read_only(p: &Path) -> io::Result<()> {
    let kept = statvfs_flags(p)? & KEPT;
    mount(
        None,
        p,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | kept,
        None,
    )
}

/// Covers `p`: a folder by an empty read-only tmpfs (it lists as empty; nothing can be
/// made in it), a file by `/dev/null` on a read-only bind (it reads as empty; writes go to
/// `/dev/null` — a device on a read-only mount still takes writes — so the real file keeps
/// its content).
fn hide(p: &Path) -> io::Result<()> {
    let flags = libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC;
    if std::fs::metadata(p)?.is_dir() {
        mount(
            Some(Path::new("tmpfs")),
            p,
            Some("tmpfs"),
            flags,
            Some("mode=000,size=4k"),
        )
    } else {
        mount(Some(Path::new("/dev/null")), p, None, libc::MS_BIND, None)?;
        remount_read_only(p)
    }
}

fn statvfs_flags(p: &Path) -> io::Result<libc::c_ulong> {
    let c = cstring(p)?;
    // SAFETY: statvfs is plain old data; all-zero is a valid value to be overwritten.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid C string and `st` a valid statvfs, both outliving the call.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_flag)
}

fn mount(
    source: Option<&Path>,
    target: &Path,
    fstype: Option<&str>,
    flags: libc::c_ulong,
    data: Option<&str>,
) -> io::Result<()> {
    let source = source.map(cstring).transpose()?;
    let target = cstring(target)?;
    let fstype = fstype.map(CString::new).transpose()?;
    let data = data.map(CString::new).transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is null or a valid C string that outlives the call.
    let r = unsafe {
        libc::mount(
            ptr(&source),
            target.as_ptr(),
            ptr(&fstype),
            flags,
            ptr(&data).cast(),
        )
    };
    if r == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn cstring(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other)
}

fn at(what: &str, p: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{what} {}: {e}", p.display()))
}
