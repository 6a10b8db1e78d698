//! Confinement on Linux: the `sidecar-confine` helper (shipped beside the addon) applies it
//! between spawn and exec — namespaces, mounts, Landlock — so the spawn itself stays a
//! `posix_spawn` (a `pre_exec` hook would make it a `fork` of the whole host: 19–21 ms for
//! a 512 MB host, measured, against ~1.3 ms through the helper).
//!
//! How each part is enforced:
//! - writes: Landlock (read everywhere, write only below [`Confinement::writable`]);
//! - `deny_write` / `deny_read`: read-only bind mounts and empty covers in a private mount
//!   namespace (Landlock only grants, so it cannot take back a subtree of a writable
//!   folder), with every renamable folder on the way pinned by a bind mount so that renaming
//!   it cannot move the protection away; needs a mount namespace (root, or a user namespace);
//! - network `None`: a network namespace of its own where one can be made (every protocol),
//!   else Landlock's TCP rules (connects only); `Proxy`: Landlock's TCP rules (connects to the
//!   proxy's port only — Landlock's network rules name ports, not addresses);
//! - no signals and no abstract UNIX sockets out of the tree: Landlock scopes (ABI 6);
//! - no capabilities (dropped by the helper even under a root host), and a runner with pipes
//!   leaves the host's controlling terminal (no TIOCSTI into the user's shell).

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use sidecar_confine::Plan;

use crate::process::confine::{Confinement, Network, NetworkSupport, Support};

/// The helper's file name, beside the addon.
pub const HELPER_NAME: &str = "sidecar-confine";

/// What the helper's probe found (once per process).
#[derive(Debug, Clone, Copy, Default)]
struct Probe {
    landlock: u32,
    root: bool,
    user_ns: bool,
    mount_ns: bool,
    net_ns: bool,
}

/// The helper, if there is one: `$SIDECAR_CONFINE_HELPER` when set (tests, unusual
/// layouts), else `sidecar-confine` in the addon's own folder or, for `cargo test`
/// binaries in `target/<profile>/deps`, the folder above.
pub fn helper() -> Option<&'static Path> {
    static HELPER: OnceLock<Option<PathBuf>> = OnceLock::new();
    HELPER
        .get_or_init(|| {
            if let Some(p) = std::env::var_os("SIDECAR_CONFINE_HELPER") {
                return Some(PathBuf::from(p)).filter(|p| p.is_file());
            }
            let me = own_file()?;
            let dir = me.parent()?;
            [dir.join(HELPER_NAME), dir.parent()?.join(HELPER_NAME)]
                .into_iter()
                .find(|p| p.is_file())
        })
        .as_deref()
}

/// The file this code was loaded from (the `.node` addon, or a test binary).
fn own_file() -> Option<PathBuf> {
    // SAFETY: Dl_info is plain old data; all-zero is a valid value to be overwritten.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let here = own_file as *const ();
    // SAFETY: dladdr only reads the address and fills `info`, valid for the call.
    if unsafe { libc::dladdr(here.cast(), &mut info) } == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader, valid while the
    // object stays loaded (it is this very code); copied out at once.
    let name = unsafe { std::ffi::CStr::from_ptr(info.dli_fname) };
    use std::os::unix::ffi::OsStrExt;
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
    std::fs::canonicalize(&path).ok().or(Some(path))
}

fn probe() -> Option<Probe> {
    static PROBE: OnceLock<Option<Probe>> = OnceLock::new();
    *PROBE.get_or_init(|| {
        let out = std::process::Command::new(helper()?)
            .arg("--probe")
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .output()
            .ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mut p = Probe::default();
        for line in text.lines() {
            let Some((k, v)) = line.split_once('=') else {
                continue;
            };
            let n: u32 = v.trim().parse().unwrap_or(0);
            match k {
                "landlock" => p.landlock = n,
                "root" => p.root = n == 1,
                "user_ns" => p.user_ns = n == 1,
                "mount_ns" => p.mount_ns = n == 1,
                "net_ns" => p.net_ns = n == 1,
                _ => {}
            }
        }
        Some(p)
    })
}

/// What this machine can enforce.
pub fn support() -> Support {
    let Some(helper) = helper() else {
        return Support::nothing(&format!(
            "the {HELPER_NAME} helper is missing beside the addon (reinstall the package)"
        ));
    };
    let Some(p) = probe() else {
        return Support::nothing(&format!("{} --probe failed", helper.display()));
    };
    support_from(p)
}

fn support_from(p: Probe) -> Support {
    let mut missing = Vec::new();
    if p.landlock == 0 {
        missing.push(
            "Landlock is not enabled in this kernel (needs Linux 5.13+ with lsm=landlock)".into(),
        );
    }
    if !p.mount_ns {
        missing.push(if p.root {
            "no mount namespace can be made (denyWrite/denyRead need one, and without it the host's service sockets — session bus, ssh agent, docker — stay reachable)".into()
        } else {
            "user namespaces are not allowed for this user (denyWrite/denyRead need a mount namespace, and without it the host's service sockets — session bus, ssh agent, docker — stay reachable; see kernel.unprivileged_userns_clone / kernel.apparmor_restrict_unprivileged_userns)".into()
        });
    }
    if (1..6).contains(&p.landlock) {
        missing.push(format!(
            "Landlock ABI {} has no scopes (needs ABI 6, Linux 6.12+): the tree can signal processes outside it and reach abstract UNIX sockets",
            p.landlock
        ));
    }
    let tcp = p.landlock >= 4;
    if !tcp && p.landlock > 0 {
        missing.push(format!(
            "Landlock ABI {} has no network rules (needs ABI 4, Linux 6.7+)",
            p.landlock
        ));
    }
    let network_none = if p.net_ns {
        NetworkSupport::Full
    } else if tcp {
        missing.push(
            "no network namespace can be made: network \"none\" covers TCP only (UDP and DNS stay open)".into(),
        );
        NetworkSupport::Tcp
    } else {
        NetworkSupport::None
    };
    let mut mechanism = String::from("landlock");
    if p.landlock == 0 {
        mechanism = "none".into();
    }
    Support {
        filesystem: p.landlock > 0,
        deny_paths: p.landlock > 0 && p.mount_ns,
        network_none: if p.landlock > 0 {
            network_none
        } else {
            NetworkSupport::None
        },
        network_proxy: if tcp {
            NetworkSupport::Tcp
        } else {
            NetworkSupport::None
        },
        mechanism,
        missing,
    }
}

/// The command-line prefix that confines the program put after it: the helper, the plan,
/// `--`. `pipes`: a child with piped stdio, in the host's session (it leaves the host's
/// controlling terminal); a terminal's program has its own. An error when the helper is
/// missing.
pub fn prefix(c: &Confinement, pipes: bool) -> io::Result<Vec<OsString>> {
    let helper = helper().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("the {HELPER_NAME} helper is missing beside the addon"),
        )
    })?;
    let p = probe().unwrap_or_default();
    let mut plan = plan(c, &p, std::process::id());
    plan.no_tty = pipes;
    let mut out = vec![helper.as_os_str().to_owned()];
    out.extend(plan.to_args());
    out.push("--".into());
    Ok(out)
}

/// The helper's plan for `c` on a machine like `p`, dying with `parent`.
fn plan(c: &Confinement, p: &Probe, parent: u32) -> Plan {
    let mount_ns = !c.deny_write.is_empty() || !c.deny_read.is_empty();
    let net_ns = c.network == Network::None && p.net_ns;
    let tcp = match c.network {
        Network::All => None,
        // A namespace of its own already has no way out; a TCP rule on top would also
        // refuse the session's own loopback.
        Network::None if net_ns => None,
        Network::None => Some(None),
        Network::Proxy { port } => Some(Some(port)),
    };
    Plan {
        parent,
        user_ns: (mount_ns || net_ns) && p.user_ns,
        mount_ns,
        net_ns,
        pin: pins(c),
        read_only: c.deny_write.clone(),
        hide: c.deny_read.clone(),
        writable: Some(c.writable.clone()),
        tcp,
        scope_signals: p.landlock >= 6,
        scope_abstract_unix: p.landlock >= 6,
        no_tty: false,
    }
}

/// Every folder on the way to a denied path that the tree could rename (its parent is
/// writable), outermost first: pinned, renaming it fails instead of carrying the
/// protection away from the path.
fn pins(c: &Confinement) -> Vec<PathBuf> {
    let writable = |p: &Path| c.writable.iter().any(|w| p.starts_with(w));
    let mut out: Vec<PathBuf> = Vec::new();
    for denied in c.deny_write.iter().chain(&c.deny_read) {
        for a in denied.ancestors().skip(1) {
            if a.parent().is_some_and(writable) && !out.iter().any(|o| o == a) {
                out.push(a.to_owned());
            }
        }
    }
    out.sort_by_key(|p| p.components().count());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(root: bool, landlock: u32, ns: bool) -> Probe {
        Probe {
            landlock,
            root,
            user_ns: ns && !root,
            mount_ns: ns,
            net_ns: ns,
        }
    }

    fn conf(network: Network) -> Confinement {
        Confinement {
            writable: vec!["/w".into(), "/dev/null".into()],
            deny_write: vec!["/w/a/b/.git".into()],
            deny_read: vec!["/home/u/.ssh".into()],
            network,
        }
    }

    #[test]
    fn renamable_folders_on_the_way_are_pinned_outermost_first() {
        let c = conf(Network::All);
        assert_eq!(pins(&c), vec![PathBuf::from("/w/a"), "/w/a/b".into()]);
    }

    #[test]
    fn a_user_namespace_only_when_not_root_and_namespaces_are_needed() {
        let c = conf(Network::None);
        let as_root = plan(&c, &probe(true, 7, true), 9);
        assert!(!as_root.user_ns && as_root.mount_ns && as_root.net_ns);
        assert_eq!(
            as_root.tcp, None,
            "the namespace covers TCP and keeps loopback"
        );
        let user = plan(&c, &probe(false, 7, true), 9);
        assert!(user.user_ns && user.mount_ns && user.net_ns);
        let plain = Confinement {
            deny_write: vec![],
            deny_read: vec![],
            ..conf(Network::All)
        };
        let p = plan(&plain, &probe(false, 7, true), 9);
        assert!(!p.user_ns && !p.mount_ns && !p.net_ns);
        assert_eq!(p.parent, 9);
    }

    #[test]
    fn without_a_network_namespace_none_is_a_tcp_rule() {
        let p = plan(&conf(Network::None), &probe(false, 7, false), 1);
        assert!(!p.net_ns);
        assert_eq!(p.tcp, Some(None));
        let proxy = plan(
            &conf(Network::Proxy { port: 4000 }),
            &probe(true, 7, true),
            1,
        );
        assert!(!proxy.net_ns, "the proxy is on the host's loopback");
        assert_eq!(proxy.tcp, Some(Some(4000)));
        assert!(proxy.scope_abstract_unix && proxy.scope_signals);
        let old = plan(&conf(Network::All), &probe(true, 5, true), 1);
        assert!(
            !old.scope_signals && !old.scope_abstract_unix,
            "scopes need ABI 6"
        );
    }

    #[test]
    fn support_says_what_is_missing() {
        let full = support_from(probe(true, 7, true));
        assert!(full.filesystem && full.deny_paths);
        assert_eq!(full.network_none, NetworkSupport::Full);
        assert_eq!(full.network_proxy, NetworkSupport::Tcp);
        assert!(full.missing.is_empty(), "{:?}", full.missing);
        let no_ns = support_from(probe(false, 7, false));
        assert!(no_ns.filesystem && !no_ns.deny_paths);
        assert_eq!(no_ns.network_none, NetworkSupport::Tcp);
        assert!(no_ns.missing.iter().any(|m| m.contains("user namespaces")));
        let old = support_from(probe(true, 3, true));
        assert_eq!(old.network_proxy, NetworkSupport::None);
        let none = support_from(probe(true, 0, true));
        assert!(!none.filesystem && none.mechanism == "none");
    }
}
