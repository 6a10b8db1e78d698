//! From `SandboxOptions` to a [`Confinement`]: every path expanded (`~`, relative to the
//! session's folder) and resolved (symlinks followed, so a link inside `cwd` that points
//! outside is outside), the defaults added, and each part checked against what this machine
//! can enforce.

use std::path::{Path, PathBuf};

use crate::process::{Confinement, Network, NetworkSupport, Support};

use super::options::{NetworkOption, OnUnsupported, SandboxOptions};

/// Devices an ordinary program writes to (discarding output, its terminal, new PTYs).
pub const DEVICES: [&str; 8] = [
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/tty",
    "/dev/ptmx",
    "/dev/pts",
];

/// Where a session runs and what it owns.
#[derive(Debug, Clone)]
pub struct Context {
    /// The session's working folder (absolute).
    pub cwd: PathBuf,
    /// Folders the session also works in (`additionalDirectories`).
    pub extra_dirs: Vec<String>,
    /// The host's home folder (`~`).
    pub home: Option<PathBuf>,
    /// The provider's own state (the Claude config folder, `~/.codex`), absolute.
    pub provider_state: Vec<PathBuf>,
    /// The session's private temp folder (exists).
    pub temp: PathBuf,
    /// Hidden by default where the machine can ([`host_sockets`]); not reported when missing.
    pub hidden: Vec<PathBuf>,
}

/// The outcome: what will be enforced and what the `sandboxed` event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// What the kernel is to enforce; `None` when nothing can be (only with `warn`).
    pub confinement: Option<Confinement>,
    /// Writable paths, resolved.
    pub writable: Vec<PathBuf>,
    /// `all`, `none` or `allowed-domains`.
    pub network: &'static str,
    /// How much of the network policy holds: `full`, `tcp` or `none` (for `all`: `full`).
    pub network_coverage: &'static str,
    /// The host's service sockets hidden by default (in the confinement's `deny_read`
    /// after the asked-for paths).
    pub hidden: Vec<PathBuf>,
    /// What was asked for and is not enforced (`warn` only), one sentence each.
    pub not_enforced: Vec<String>,
    /// Paths that do not exist (so no rule could be made for them).
    pub skipped: Vec<String>,
}

/// Resolves `opts` for a session in `ctx` on a machine that can enforce `support`;
/// `proxy_port` is the port of the session's proxy listener (asked for only when
/// `network` is `allowedDomains` and this machine can enforce it). Errors: `Err(message)` when
/// something asked for cannot be enforced and `onUnsupported` is `error`.
pub fn resolve(
    opts: &SandboxOptions,
    ctx: &Context,
    support: &Support,
    proxy_port: &mut dyn FnMut() -> std::io::Result<u16>,
) -> Result<Resolved, Unsupported> {
    let warn = opts.on_unsupported == Some(OnUnsupported::Warn);
    let mut skipped = Vec::new();
    let resolve_all = |list: &[String], skipped: &mut Vec<String>| -> Vec<PathBuf> {
        let mut out: Vec<PathBuf> = Vec::new();
        for p in list {
            match expand(p, ctx).and_then(|p| std::fs::canonicalize(&p).map_err(|e| (p, e))) {
                Ok(r) if !out.contains(&r) => out.push(r),
                Ok(_) => {}
                Err((p, e)) => skipped.push(format!("{} ({})", p.display(), brief(&e))),
            }
        }
        out
    };
    let mut asked: Vec<String> = vec![ctx.cwd.display().to_string()];
    asked.extend(ctx.extra_dirs.iter().cloned());
    asked.push(ctx.temp.display().to_string());
    asked.extend(ctx.provider_state.iter().map(|p| p.display().to_string()));
    asked.extend(opts.allow_write.iter().cloned());
    let mut writable = resolve_all(&asked, &mut skipped);
    for d in DEVICES {
        if let Ok(r) = std::fs::canonicalize(d)
            && !writable.contains(&r)
        {
            writable.push(r);
        }
    }
    let deny_write = resolve_all(&opts.deny_write, &mut skipped);
    let deny_read = resolve_all(&opts.deny_read, &mut skipped);
    let asked_deny = !deny_write.is_empty() || !deny_read.is_empty();
    let mut hidden: Vec<PathBuf> = Vec::new();
    if support.deny_paths {
        for h in &ctx.hidden {
            if let Ok(r) = std::fs::canonicalize(h)
                && !deny_read.contains(&r)
                && !hidden.contains(&r)
                && !writable.iter().any(|w| w.starts_with(&r))
            {
                hidden.push(r);
            }
        }
    }

    let mut missing: Vec<String> = Vec::new();
    let why = || support.missing.join("; ");
    if !support.filesystem {
        missing.push(format!("filesystem confinement ({})", why()));
    }
    let deny_ok = support.deny_paths || !asked_deny;
    if !deny_ok {
        missing.push(format!("denyWrite/denyRead ({})", why()));
    }
    let network_name = opts.network.as_ref().map_or("all", NetworkOption::as_str);
    let coverage = match opts.network.as_ref().unwrap_or(&NetworkOption::All) {
        NetworkOption::All => NetworkSupport::Full,
        NetworkOption::None => support.network_none,
        NetworkOption::AllowedDomains(_) => support.network_proxy,
    };
    if coverage == NetworkSupport::None {
        missing.push(format!("network \"{network_name}\" ({})", why()));
    }
    if !missing.is_empty() && !warn {
        return Err(Unsupported(format!(
            "Sandbox cannot be enforced on this machine ({}): {}",
            support.mechanism,
            missing.join("; ")
        )));
    }
    let network = match (&opts.network, coverage) {
        (_, NetworkSupport::None) | (None | Some(NetworkOption::All), _) => Network::All,
        (Some(NetworkOption::None), _) => Network::None,
        (Some(NetworkOption::AllowedDomains(_)), _) => match proxy_port() {
            Ok(port) => Network::Proxy { port },
            Err(e) => {
                return Err(Unsupported(format!(
                    "Sandbox proxy could not listen on 127.0.0.1: {e}"
                )));
            }
        },
    };
    let confinement = support.filesystem.then(|| Confinement {
        writable: writable.clone(),
        deny_write: if deny_ok { deny_write } else { vec![] },
        deny_read: if deny_ok {
            deny_read.iter().chain(&hidden).cloned().collect()
        } else {
            hidden.clone()
        },
        network,
    });
    Ok(Resolved {
        confinement,
        writable,
        network: network_name,
        network_coverage: coverage.as_str(),
        hidden,
        not_enforced: missing,
        skipped,
    })
}

/// The host's service sockets a confined tree must not reach, hidden by default (Landlock
/// cannot refuse a connect to a socket file): the user's runtime folder (session bus,
/// `systemd --user`, which would start unconfined programs on request; keyrings, audio),
/// the ssh agent, Docker and Podman (root), the system bus, X11 (keystrokes into other
/// windows). `env` is the host's environment.
pub fn host_sockets(env: &std::collections::HashMap<String, String>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let runtime = env
        .get("XDG_RUNTIME_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    out.extend(runtime);
    let uid_dir = PathBuf::from(format!("/run/user/{}", current_uid()));
    out.push(uid_dir);
    out.extend(
        env.get("SSH_AUTH_SOCK")
            .filter(|d| !d.is_empty())
            .map(PathBuf::from),
    );
    for p in [
        "/run/docker.sock",
        "/var/run/docker.sock",
        "/run/podman/podman.sock",
        "/run/dbus/system_bus_socket",
        "/tmp/.X11-unix",
    ] {
        out.push(PathBuf::from(p));
    }
    out
}

/// This process's user id, from `/proc/self` (no libc call outside the process core).
fn current_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|v| v.split_whitespace().next().and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// A sandbox that cannot be enforced (`ERR_SANDBOX_UNSUPPORTED`), with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub String);

/// `~` and `~/x` from the home folder, relative paths from the session's folder.
fn expand(p: &str, ctx: &Context) -> Result<PathBuf, (PathBuf, std::io::Error)> {
    let no_home = || {
        (
            PathBuf::from(p),
            std::io::Error::new(std::io::ErrorKind::NotFound, "no home folder"),
        )
    };
    if p == "~" {
        return ctx.home.clone().ok_or_else(no_home);
    }
    if let Some(rest) = p.strip_prefix("~/") {
        return Ok(ctx.home.as_ref().ok_or_else(no_home)?.join(rest));
    }
    let path = Path::new(p);
    Ok(if path.is_absolute() {
        path.to_owned()
    } else {
        ctx.cwd.join(path)
    })
}

fn brief(e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        "does not exist".into()
    } else {
        e.to_string()
    }
}

/// The provider's own state a session must be able to write: the Claude config folder
/// (`claudeConfigDir`, else `~/.claude` and `~/.claude.json`), `~/.codex` (or `$CODEX_HOME`).
/// Missing folders are made (the CLI would make them on its first run, and could not from
/// inside the sandbox).
pub fn provider_state(
    provider: &str,
    home: Option<&Path>,
    claude_config_dir: Option<&str>,
    codex_home: Option<&str>,
) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    let dir = |p: PathBuf, out: &mut Vec<PathBuf>| {
        if let Err(e) = std::fs::create_dir_all(&p) {
            tracing::debug!(path = %p.display(), error = %e, "provider state folder not made");
        }
        out.push(p);
    };
    match provider {
        "claude" => match (claude_config_dir, home) {
            (Some(d), _) if !d.is_empty() => dir(PathBuf::from(d), &mut out),
            (_, Some(h)) => {
                dir(h.join(".claude"), &mut out);
                out.push(h.join(".claude.json"));
            }
            _ => {}
        },
        "codex" => match (codex_home, home) {
            (Some(d), _) if !d.is_empty() => dir(PathBuf::from(d), &mut out),
            (_, Some(h)) => dir(h.join(".codex"), &mut out),
            _ => {}
        },
        _ => {}
    }
    out
}

// Unix paths (/dev/null, symlinks); the policy is the same code on every platform.
#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn full() -> Support {
        Support {
            filesystem: true,
            deny_paths: true,
            network_none: NetworkSupport::Full,
            network_proxy: NetworkSupport::Tcp,
            mechanism: "landlock".into(),
            missing: vec![],
        }
    }

    struct Tree {
        root: PathBuf,
    }

    impl Tree {
        fn new(name: &str) -> Tree {
            let root =
                std::env::temp_dir().join(format!("sidecar-policy-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            for d in ["home/.ssh", "work/.git/hooks", "tmp", "outside"] {
                std::fs::create_dir_all(root.join(d)).expect("mkdir");
            }
            Tree {
                root: std::fs::canonicalize(&root).expect("canonical"),
            }
        }
        fn ctx(&self) -> Context {
            Context {
                cwd: self.root.join("work"),
                extra_dirs: vec![],
                home: Some(self.root.join("home")),
                provider_state: vec![],
                temp: self.root.join("tmp"),
                hidden: vec![],
            }
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn no_proxy() -> std::io::Result<u16> {
        Err(std::io::Error::other("no proxy asked for"))
    }

    #[test]
    fn defaults_are_cwd_temp_and_devices_and_paths_are_resolved() {
        let t = Tree::new("defaults");
        std::os::unix::fs::symlink(t.root.join("outside"), t.root.join("work/link"))
            .expect("symlink");
        let opts = SandboxOptions {
            allow_write: vec!["link".into(), "~/missing".into()],
            deny_write: vec![".git/hooks".into()],
            deny_read: vec!["~/.ssh".into()],
            ..SandboxOptions::default()
        };
        let r = resolve(&opts, &t.ctx(), &full(), &mut no_proxy).expect("resolved");
        let c = r.confinement.expect("confined");
        assert_eq!(c.writable[0], t.root.join("work"));
        assert_eq!(c.writable[1], t.root.join("tmp"));
        assert_eq!(
            c.writable[2],
            t.root.join("outside"),
            "the link's target, not the link"
        );
        assert!(c.writable.contains(&PathBuf::from("/dev/null")));
        assert_eq!(c.deny_write, vec![t.root.join("work/.git/hooks")]);
        assert_eq!(c.deny_read, vec![t.root.join("home/.ssh")]);
        assert_eq!(c.network, Network::All);
        assert_eq!(r.skipped.len(), 1);
        assert!(r.skipped[0].contains("missing") && r.skipped[0].contains("does not exist"));
        assert!(r.not_enforced.is_empty());
    }

    #[test]
    fn host_sockets_are_hidden_where_they_exist_and_only_where_mounts_can_be_made() {
        let t = Tree::new("hidden");
        std::fs::create_dir_all(t.root.join("run-user")).expect("mkdir");
        let mut ctx = t.ctx();
        ctx.hidden = vec![t.root.join("run-user"), t.root.join("no-such.sock")];
        let opts = SandboxOptions::default();
        let r = resolve(&opts, &ctx, &full(), &mut no_proxy).expect("resolved");
        assert_eq!(r.hidden, vec![t.root.join("run-user")]);
        let c = r.confinement.expect("confined");
        assert_eq!(c.deny_read, vec![t.root.join("run-user")]);
        assert!(
            r.skipped.is_empty(),
            "defaults are not reported: {:?}",
            r.skipped
        );
        let mut no_mounts = full();
        no_mounts.deny_paths = false;
        let r = resolve(&opts, &ctx, &no_mounts, &mut no_proxy).expect("not an error");
        assert!(r.confinement.expect("confined").deny_read.is_empty());
        assert!(r.not_enforced.is_empty());
        let env = std::collections::HashMap::from([
            ("XDG_RUNTIME_DIR".to_owned(), "/run/user/1000".to_owned()),
            ("SSH_AUTH_SOCK".to_owned(), "/tmp/ssh-x/agent.1".to_owned()),
        ]);
        let list = host_sockets(&env);
        for p in [
            "/run/user/1000",
            "/tmp/ssh-x/agent.1",
            "/run/docker.sock",
            "/tmp/.X11-unix",
        ] {
            assert!(list.contains(&PathBuf::from(p)), "{p} in {list:?}");
        }
    }

    #[test]
    fn what_cannot_be_enforced_is_an_error_or_a_warning() {
        let t = Tree::new("support");
        let mut no_ns = full();
        no_ns.deny_paths = false;
        no_ns.network_none = NetworkSupport::Tcp;
        no_ns.missing = vec!["user namespaces are not allowed".into()];
        let opts = SandboxOptions {
            deny_read: vec!["~/.ssh".into()],
            network: Some(NetworkOption::None),
            ..SandboxOptions::default()
        };
        let e = resolve(&opts, &t.ctx(), &no_ns, &mut no_proxy).expect_err("refused");
        assert!(
            e.0.contains("denyWrite/denyRead") && e.0.contains("user namespaces"),
            "{}",
            e.0
        );
        let warn = SandboxOptions {
            on_unsupported: Some(OnUnsupported::Warn),
            ..opts
        };
        let r = resolve(&warn, &t.ctx(), &no_ns, &mut no_proxy).expect("warned");
        let c = r.confinement.expect("files still confined");
        assert!(c.deny_read.is_empty());
        assert_eq!(c.network, Network::None);
        assert_eq!(r.network_coverage, "tcp");
        assert_eq!(r.not_enforced.len(), 1);
        let nothing = Support::nothing("Windows: none");
        let r = resolve(&warn, &t.ctx(), &nothing, &mut no_proxy).expect("warned");
        assert_eq!(r.confinement, None);
        assert_eq!(r.not_enforced.len(), 3, "{:?}", r.not_enforced);
    }

    #[test]
    fn allowed_domains_open_the_proxy_only_when_enforced() {
        let t = Tree::new("proxy");
        let opts = SandboxOptions {
            network: Some(NetworkOption::AllowedDomains(vec!["example.com".into()])),
            ..SandboxOptions::default()
        };
        let r = resolve(&opts, &t.ctx(), &full(), &mut || Ok(4321)).expect("resolved");
        assert_eq!(
            r.confinement.expect("confined").network,
            Network::Proxy { port: 4321 }
        );
        assert_eq!(r.network, "allowed-domains");
        let mut old = full();
        old.network_proxy = NetworkSupport::None;
        let mut asked = false;
        let e = resolve(&opts, &t.ctx(), &old, &mut || {
            asked = true;
            Ok(1)
        });
        assert!(e.is_err() && !asked);
    }

    #[test]
    fn provider_state_is_the_clis_own() {
        let t = Tree::new("state");
        let home = t.root.join("home");
        assert_eq!(
            provider_state("claude", Some(&home), None, None),
            vec![home.join(".claude"), home.join(".claude.json")]
        );
        assert!(home.join(".claude").is_dir(), "made for the CLI");
        let own = t.root.join("cfg").display().to_string();
        assert_eq!(
            provider_state("claude", Some(&home), Some(&own), None),
            vec![PathBuf::from(&own)]
        );
        assert_eq!(
            provider_state("codex", Some(&home), None, None),
            vec![home.join(".codex")]
        );
        assert!(provider_state("ollama", Some(&home), None, None).is_empty());
    }
}
