//! Dropping every capability before exec: a host running as root would otherwise hand its
//! capabilities to the program (root keeps them across exec, `no_new_privs` or not), and with
//! CAP_SYS_ADMIN a tree can clone a mount without its covers (`open_tree`), open raw sockets
//! past the TCP rules, or load kernel modules. Landlock has no rule for these.

use std::io;

/// Clears the ambient set, empties the bounding set and locks "root is not special"
/// (SECBIT_NOROOT), so the program and everything it runs have no capabilities even as
/// uid 0. Steps that need a capability this process does not have are skipped: then it had
/// nothing to pass on (a non-root host without a user namespace).
pub fn drop_all() -> io::Result<()> {
    // SAFETY: prctl with integer arguments only.
    let r = unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r == -1 && io::Error::last_os_error().raw_os_error() != Some(libc::EINVAL) {
        return Err(io::Error::last_os_error());
    }
    for cap in 0..=last_cap() {
        // SAFETY: prctl with integer arguments only.
        if unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) } == -1 {
            match io::Error::last_os_error().raw_os_error() {
                // Without CAP_SETPCAP there is nothing in the sets to lose.
                Some(libc::EPERM) => return Ok(()),
                Some(libc::EINVAL) => break,
                _ => return Err(io::Error::last_os_error()),
            }
        }
    }
    let bits = libc::SECBIT_NOROOT
        | libc::SECBIT_NOROOT_LOCKED
        | libc::SECBIT_NO_SETUID_FIXUP
        | libc::SECBIT_NO_SETUID_FIXUP_LOCKED
        | libc::SECBIT_KEEP_CAPS_LOCKED;
    // SAFETY: prctl with integer arguments only.
    if unsafe { libc::prctl(libc::PR_SET_SECUREBITS, bits as libc::c_ulong, 0, 0, 0) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The highest capability number this kernel knows (40 on 6.x).
fn last_cap() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(63)
}
