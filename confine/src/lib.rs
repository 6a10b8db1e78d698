//! The argument format between the addon and the `sidecar-confine` helper.
//!
//! The addon spawns `sidecar-confine <plan> -- <program> <args>…` instead of the program
//! (with `posix_spawn`: no `pre_exec` hook, so no `fork` of a large host); the helper applies
//! the [`Plan`] to itself — namespaces, mounts, Landlock, the parent-death signal — and then
//! execs the program in the same process. Everything is decided by the addon; the helper only
//! carries it out, in a fixed order (see `main.rs`), and fails closed: if any step fails it
//! exits with [`EXIT_CONFINE_FAILED`] before the program ever runs.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// The helper's exit status when the plan could not be applied (the program never ran).
/// 126 is the shell's "found but could not run".
pub const EXIT_CONFINE_FAILED: i32 = 126;

/// The first line the helper writes to stderr when it fails starts with this.
pub const ERROR_PREFIX: &str = "sidecar-confine: ";

/// What the helper does before it execs the program.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// The pid whose death kills the program (`PR_SET_PDEATHSIG`); the helper refuses to
    /// start when its parent is already another process. 0: no death signal.
    pub parent: u32,
    /// A user namespace (where the host is not root: the mount and network namespaces need
    /// one then). The ids map to themselves.
    pub user_ns: bool,
    /// A private mount namespace (for [`Plan::read_only`] and [`Plan::hide`]).
    pub mount_ns: bool,
    /// A network namespace of its own: only its own loopback, which is brought up.
    pub net_ns: bool,
    /// Bound onto themselves first (outermost first), so that renaming a folder on the way
    /// to a read-only or hidden path fails (a mount point cannot be renamed) instead of
    /// moving the protection away from the path.
    pub pin: Vec<PathBuf>,
    /// Bound read-only onto themselves.
    pub read_only: Vec<PathBuf>,
    /// Covered: a folder by an empty read-only tmpfs, a file by a read-only `/dev/null`.
    pub hide: Vec<PathBuf>,
    /// Landlock for files: read everywhere, write only below these. `None`: no file rules.
    pub writable: Option<Vec<PathBuf>>,
    /// Landlock for TCP connects: `None` no rule, `Some(None)` every connect refused,
    /// `Some(Some(port))` only connects to `port`.
    pub tcp: Option<Option<u16>>,
    /// Landlock scopes: no signal to processes outside the tree.
    pub scope_signals: bool,
    /// Landlock scopes: no connect to abstract UNIX sockets made outside the tree.
    pub scope_abstract_unix: bool,
    /// Leave the controlling terminal (a child with pipes, in the host's session).
    pub no_tty: bool,
}

impl Plan {
    /// Whether any Landlock rule is asked for.
    pub fn landlock(&self) -> bool {
        self.writable.is_some()
            || self.tcp.is_some()
            || self.scope_signals
            || self.scope_abstract_unix
    }

    /// The plan as the helper's arguments (without the `--` and the program).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut out: Vec<OsString> = Vec::new();
        let mut flag = |on: bool, name: &str| {
            if on {
                out.push(name.into());
            }
        };
        flag(self.user_ns, "--user-ns");
        flag(self.mount_ns, "--mount-ns");
        flag(self.net_ns, "--net-ns");
        flag(self.scope_signals, "--scope-signals");
        flag(self.scope_abstract_unix, "--scope-abstract-unix");
        flag(self.no_tty, "--no-tty");
        if self.parent != 0 {
            out.push("--parent".into());
            out.push(self.parent.to_string().into());
        }
        let mut paths = |name: &str, list: &[PathBuf]| {
            for p in list {
                out.push(name.into());
                out.push(p.clone().into_os_string());
            }
        };
        paths("--pin", &self.pin);
        paths("--read-only", &self.read_only);
        paths("--hide", &self.hide);
        if let Some(w) = &self.writable {
            out.push("--files".into());
            for p in w {
                out.push("--write".into());
                out.push(p.clone().into_os_string());
            }
        }
        match self.tcp {
            None => {}
            Some(None) => {
                out.push("--tcp".into());
                out.push("none".into());
            }
            Some(Some(port)) => {
                out.push("--tcp".into());
                out.push(port.to_string().into());
            }
        }
        out
    }

    /// Parses what [`Plan::to_args`] wrote, followed by `--` and the program with its
    /// arguments (returned, the program first).
    pub fn parse<I: IntoIterator<Item = OsString>>(
        args: I,
    ) -> Result<(Plan, Vec<OsString>), String> {
        let mut plan = Plan::default();
        let mut it = args.into_iter();
        let text = |v: &OsStr| {
            v.to_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("not text: {v:?}"))
        };
        loop {
            let Some(arg) = it.next() else {
                return Err("missing `--` and the program".into());
            };
            let mut value = |name: &str| it.next().ok_or_else(|| format!("{name} needs a value"));
            match arg.to_str() {
                Some("--") => break,
                Some("--user-ns") => plan.user_ns = true,
                Some("--mount-ns") => plan.mount_ns = true,
                Some("--net-ns") => plan.net_ns = true,
                Some("--scope-signals") => plan.scope_signals = true,
                Some("--scope-abstract-unix") => plan.scope_abstract_unix = true,
                Some("--no-tty") => plan.no_tty = true,
                Some("--parent") => {
                    let v = text(&value("--parent")?)?;
                    plan.parent = v.parse().map_err(|_| format!("--parent: not a pid: {v}"))?;
                }
                Some("--pin") => plan.pin.push(value("--pin")?.into()),
                Some("--read-only") => plan.read_only.push(value("--read-only")?.into()),
                Some("--hide") => plan.hide.push(value("--hide")?.into()),
                Some("--files") => {
                    plan.writable.get_or_insert_with(Vec::new);
                }
                Some("--write") => {
                    let p = value("--write")?;
                    plan.writable.get_or_insert_with(Vec::new).push(p.into());
                }
                Some("--tcp") => {
                    let v = text(&value("--tcp")?)?;
                    plan.tcp = Some(if v == "none" {
                        None
                    } else {
                        Some(v.parse().map_err(|_| format!("--tcp: not a port: {v}"))?)
                    });
                }
                _ => return Err(format!("unknown argument {arg:?}")),
            }
        }
        let program: Vec<OsString> = it.collect();
        if program.is_empty() {
            return Err("no program after `--`".into());
        }
        Ok((plan, program))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(plan: &Plan) -> Plan {
        let mut args = plan.to_args();
        args.push("--".into());
        args.push("/bin/sh".into());
        args.push("-c".into());
        let (back, program) = Plan::parse(args).expect("parses");
        assert_eq!(
            program,
            vec![OsString::from("/bin/sh"), OsString::from("-c")]
        );
        back
    }

    #[test]
    fn every_plan_survives_the_round_trip() {
        let full = Plan {
            parent: 4242,
            user_ns: true,
            mount_ns: true,
            net_ns: true,
            pin: vec!["/w/a".into()],
            read_only: vec!["/w/a/.git".into(), "/w/with space".into()],
            hide: vec!["/home/u/.ssh".into()],
            writable: Some(vec!["/w".into(), "/dev/null".into()]),
            tcp: Some(Some(8080)),
            scope_signals: true,
            scope_abstract_unix: true,
            no_tty: true,
        };
        assert_eq!(round_trip(&full), full);
        assert_eq!(round_trip(&Plan::default()), Plan::default());
        let files_only = Plan {
            writable: Some(vec![]),
            tcp: Some(None),
            ..Plan::default()
        };
        assert_eq!(round_trip(&files_only), files_only);
    }

    #[test]
    fn arguments_that_look_like_flags_stay_paths() {
        let plan = Plan {
            writable: Some(vec!["--tcp".into(), "--".into()]),
            ..Plan::default()
        };
        assert_eq!(round_trip(&plan), plan);
    }

    #[test]
    fn bad_arguments_are_refused_with_their_name() {
        let parse = |a: &[&str]| Plan::parse(a.iter().map(OsString::from)).map(|_| ());
        assert!(
            parse(&["--tcp", "x", "--", "p"])
                .unwrap_err()
                .contains("--tcp")
        );
        assert!(
            parse(&["--parent", "-1", "--", "p"])
                .unwrap_err()
                .contains("--parent")
        );
        assert!(
            parse(&["--what", "--", "p"])
                .unwrap_err()
                .contains("--what")
        );
        assert!(parse(&["--pin"]).unwrap_err().contains("--pin"));
        assert!(parse(&["--user-ns"]).unwrap_err().contains("--"));
        assert!(parse(&["--"]).unwrap_err().contains("no program"));
    }
}
