//! The Landlock part of a plan: read everywhere (but devices), write only below the writable
//! paths, TCP
//! connects only to the proxy's port (or none), no signals or abstract UNIX sockets out of
//! the tree. Landlock domains are inherited by every child and can only be narrowed.

use std::io;
use std::path::Path;

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath,
    PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, path_beneath_rules,
};
use sidecar_confine::Plan;

/// The kernel's Landlock ABI version (0: none).
pub fn kernel_abi() -> i32 {
    // SAFETY: landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION) only returns
    // the version; no memory is passed.
    let v = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            1u32,
        )
    };
    i32::try_from(v).unwrap_or(0).max(0)
}

/// The newest ABI whose rights the helper uses (V6: scopes), at most the kernel's.
fn abi() -> ABI {
    match kernel_abi() {
        0 => ABI::Unsupported,
        1 => ABI::V1,
        2 => ABI::V2,
        3 => ABI::V3,
        4 => ABI::V4,
        5 => ABI::V5,
        _ => ABI::V6,
    }
}

/// File rights handled: all of the ABI's but ioctl on devices, which terminals need on
/// their tty and which opens of devices (read-only outside the writable paths) already bound.
fn file_rights(abi: ABI) -> BitFlags<AccessFs> {
    AccessFs::from_all(abi) & !BitFlags::from(AccessFs::IoctlDev)
}

/// Restricts this process (and everything it will exec and start) as `plan` says; an error
/// when the kernel cannot enforce all of it (nothing is then half-applied that the addon
/// would report as enforced: the helper exits).
pub fn restrict(plan: &Plan) -> io::Result<()> {
    let abi = abi();
    if abi == ABI::Unsupported {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "Landlock is not enabled in this kernel",
        ));
    }
    let err = |e: landlock::RulesetError| io::Error::other(e.to_string());
    let mut ruleset = Ruleset::default().set_compatibility(CompatLevel::HardRequirement);
    if plan.writable.is_some() {
        ruleset = ruleset.handle_access(file_rights(abi)).map_err(err)?;
    }
    if plan.tcp.is_some() {
        ruleset = ruleset.handle_access(AccessNet::ConnectTcp).map_err(err)?;
    }
    let mut scopes = BitFlags::<Scope>::empty();
    if plan.scope_signals {
        scopes |= Scope::Signal;
    }
    if plan.scope_abstract_unix {
        scopes |= Scope::AbstractUnixSocket;
    }
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes).map_err(err)?;
    }
    let mut created = ruleset.create().map_err(err)?;
    if let Some(writable) = &plan.writable {
        let fd = |p: &Path| PathFd::new(p).map_err(|e| io::Error::other(e.to_string()));
        // Every folder can be listed; files can be read everywhere but in /dev, where only
        // the writable devices (and /dev/shm) are open: a raw disk readable by its owner or
        // group would give away every file a denyRead hides.
        created = created
            .add_rule(PathBeneath::new(fd(Path::new("/"))?, AccessFs::ReadDir))
            .map_err(err)?;
        let mut readable = Vec::new();
        for entry in std::fs::read_dir("/")? {
            let path = entry?.path();
            if path != Path::new("/dev") {
                readable.push(path);
            }
        }
        readable.push("/dev/shm".into());
        // path_beneath_rules keeps only the file rights for files, and skips what cannot be
        // opened (a /dev/shm that is not there).
        created = created
            .add_rules(path_beneath_rules(readable, AccessFs::from_read(abi)))
            .map_err(err)?;
        created = created
            .add_rules(path_beneath_rules(writable, file_rights(abi)))
            .map_err(err)?;
    }
    if let Some(Some(port)) = plan.tcp {
        created = created
            .add_rule(NetPort::new(port, AccessNet::ConnectTcp))
            .map_err(err)?;
    }
    let status = created.restrict_self().map_err(err)?;
    if status.ruleset != RulesetStatus::FullyEnforced || !status.no_new_privs {
        return Err(io::Error::other(format!(
            "Landlock only partly enforced ({:?})",
            status.ruleset
        )));
    }
    Ok(())
}
