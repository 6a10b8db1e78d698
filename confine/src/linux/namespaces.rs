//! Entering the namespaces of a plan: user (ids mapped to themselves), mount, network (with
//! its loopback up).

use std::io;

use sidecar_confine::Plan;

/// Unshares what `plan` asks for. No-op for a plan without namespaces.
pub fn enter(plan: &Plan) -> io::Result<()> {
    let mut flags = 0;
    if plan.user_ns {
        flags |= libc::CLONE_NEWUSER;
    }
    if plan.mount_ns {
        flags |= libc::CLONE_NEWNS;
    }
    if plan.net_ns {
        flags |= libc::CLONE_NEWNET;
    }
    if flags == 0 {
        return Ok(());
    }
    // Read before unsharing: inside a new user namespace they would read as unmapped.
    // SAFETY: geteuid/getegid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
    // SAFETY: unshare with flags only; this process is single-threaded (a requirement of
    // CLONE_NEWUSER), as the helper starts no threads.
    if unsafe { libc::unshare(flags) } == -1 {
        return Err(io::Error::last_os_error());
    }
    if plan.user_ns {
        // setgroups must be denied before an unprivileged gid_map can be written.
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1\n"))?;
        std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1\n"))?;
    }
    if plan.net_ns {
        loopback_up()?;
    }
    Ok(())
}

/// A new network namespace starts with its loopback down: bring it up, so a session's own
/// servers and clients on 127.0.0.1 work (they reach only each other, not the host's).
fn loopback_up() -> io::Result<()> {
    // SAFETY: socket with constant arguments; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd was just returned by socket() and is owned by nothing else.
    let sock = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let raw = std::os::fd::AsRawFd::as_raw_fd(&sock);
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
        *dst = *src as libc::c_char;
    }
    // `as _`: the request's type is c_ulong on glibc and c_int on musl.
    // SAFETY: SIOCGIFFLAGS reads the flags into `req`, a valid ifreq that outlives the call.
    if unsafe { libc::ioctl(raw, libc::SIOCGIFFLAGS as _, &mut req) } == -1 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: the union field written by SIOCGIFFLAGS is ifru_flags.
    unsafe {
        req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    }
    // SAFETY: SIOCSIFFLAGS reads `req`, valid for the call.
    if unsafe { libc::ioctl(raw, libc::SIOCSIFFLAGS as _, &req) } == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
