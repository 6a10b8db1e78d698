//! `sidecar-confine --probe`: what this machine lets the helper do, one `key=value` a line:
//! `landlock=<ABI>`, `root=0|1`, `user_ns=0|1` (namespaces need a user namespace first),
//! `mount_ns=0|1`, `net_ns=0|1`. It tries for real, on itself (it is a throwaway process).

use std::path::Path;

use sidecar_confine::Plan;

use super::{mounts, namespaces, rules};

/// Prints the findings.
pub fn run() {
    // SAFETY: geteuid cannot fail and touches no memory.
    let root = unsafe { libc::geteuid() } == 0;
    let tries: &[bool] = if root { &[false, true] } else { &[true] };
    let mut found = None;
    for &user_ns in tries {
        let plan = Plan {
            user_ns,
            mount_ns: true,
            net_ns: true,
            ..Plan::default()
        };
        if namespaces::enter(&plan).is_ok() {
            found = Some(user_ns);
            break;
        }
    }
    // A namespace made is not yet a mount allowed (an LSM may still refuse mounts): try one
    // like a real plan's, in the namespace just made.
    let mount_ok = found.is_some()
        && mounts::apply(&Plan {
            read_only: vec![Path::new("/dev/null").into()],
            ..Plan::default()
        })
        .is_ok();
    let b = |v: bool| u8::from(v);
    println!("landlock={}", rules::kernel_abi());
    println!("root={}", b(root));
    println!("user_ns={}", b(found == Some(true)));
    println!("mount_ns={}", b(mount_ok));
    println!("net_ns={}", b(found.is_some()));
}
