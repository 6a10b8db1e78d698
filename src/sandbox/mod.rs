//! Confined ("sandboxed") sessions and terminals: the options JS gives ([`options`]), their
//! resolution into what the kernel enforces ([`policy`] → `crate::process::Confinement`,
//! applied by the platform in `crate::process`), what a sandboxed child owns while it lives
//! ([`lease`]: its private temp folder, its proxy listener), and the filtering HTTP proxy
//! ([`proxy`], [`domains`]) its network goes through with `allowedDomains`.
//!
//! [`Sandboxes`] is the manager's part: its default options, the one proxy, and
//! [`Sandboxes::prepare`], which every kind of child calls before it spawns.

pub mod domains;
pub mod lease;
pub mod options;
pub mod policy;
pub mod proxy;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::error::{ErrorCode, OpError};
use crate::lifecycle::LifecycleEvent;
use crate::process::{Confinement, Support};
use crate::util::lock;

pub use lease::Lease;
pub use options::{SandboxOptions, SandboxSetting};

/// The manager's sandbox state: default options, the proxy (started on first use).
#[derive(Debug, Default)]
pub struct Sandboxes {
    default: SandboxSetting,
    proxy: Mutex<Option<Arc<proxy::Proxy>>>,
}

/// Where a child runs, for its sandbox.
#[derive(Debug, Clone)]
pub struct Place {
    /// Session or terminal id (names the temp folder).
    pub id: String,
    /// Its working folder.
    pub cwd: PathBuf,
    /// `additionalDirectories`.
    pub extra_dirs: Vec<String>,
    /// The host's home folder.
    pub home: Option<PathBuf>,
    /// The provider's own state (see [`policy::provider_state`]).
    pub provider_state: Vec<PathBuf>,
    /// Where the private temp folder goes (the host's temp folder).
    pub temp_parent: PathBuf,
    /// The host's service sockets, hidden by default ([`policy::host_sockets`]).
    pub hidden: Vec<PathBuf>,
}

/// A sandbox ready to apply to one spawn.
#[derive(Debug)]
pub struct Prepared {
    /// What the platform enforces (`None`: nothing can be, and `warn` said start anyway).
    pub confine: Option<Arc<Confinement>>,
    /// Set in the child's environment (temp folder, proxy), replacing what is there.
    pub env: Vec<(String, String)>,
    /// Removed from the child's environment (a `NO_PROXY` would bypass the proxy; the
    /// addresses of hidden sockets lead nowhere).
    pub env_remove: Vec<&'static str>,
    /// The `sandboxed` event, sent after `spawned`.
    pub event: LifecycleEvent,
    /// Held until the child is forgotten.
    pub lease: Lease,
}

impl Prepared {
    /// Applies [`Prepared::env`] and [`Prepared::env_remove`] to `env`.
    pub fn apply_env(&self, env: &mut Vec<(String, String)>) {
        env.retain(|(k, _)| {
            !self.env_remove.contains(&k.as_str()) && !self.env.iter().any(|(n, _)| n == k)
        });
        env.extend(self.env.iter().cloned());
    }
}

/// Most `sandbox-denied` events one child reports: a client retrying on a keep-alive
/// connection could otherwise flood the queue to JS. Later refusals are still refused, and
/// logged once.
pub const MAX_DENIED_EVENTS: u32 = 256;

/// `on_denied`, silenced after [`MAX_DENIED_EVENTS`] calls.
fn bounded(
    on_denied: Arc<dyn Fn(proxy::Denied) + Send + Sync>,
) -> Arc<dyn Fn(proxy::Denied) + Send + Sync> {
    let count = std::sync::atomic::AtomicU32::new(0);
    Arc::new(move |d| {
        let n = count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if n < MAX_DENIED_EVENTS {
            on_denied(d);
        } else if n == MAX_DENIED_EVENTS {
            tracing::warn!(
                "more than {MAX_DENIED_EVENTS} proxy refusals for one sandbox: no more sandbox-denied events"
            );
        }
    })
}

/// Names every proxy-aware tool reads (upper and lower case; Node's fetch reads them with
/// `NODE_USE_ENV_PROXY=1`).
const PROXY_VARS: [&str; 6] = [
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
];

impl Sandboxes {
    /// With the manager's default (`sandbox` constructor option).
    pub fn new(default: SandboxSetting) -> Self {
        Sandboxes {
            default,
            proxy: Mutex::new(None),
        }
    }

    /// What this machine can enforce.
    pub fn support() -> Support {
        crate::process::confine_support()
    }

    /// The options in force for a child whose own setting is `own` (`None`: no sandbox).
    pub fn options_for(&self, own: &SandboxSetting) -> Option<SandboxOptions> {
        own.over(&self.default)
    }

    /// Resolves `opts` for a child at `place`: makes its temp folder, opens its proxy
    /// listener (reporting refusals through `on_denied`), and returns what to spawn with.
    /// Must run inside the manager's runtime. `ERR_SANDBOX_UNSUPPORTED` when the machine
    /// cannot enforce what is asked and `onUnsupported` is not `warn`.
    pub fn prepare(
        &self,
        opts: &SandboxOptions,
        place: &Place,
        on_denied: Arc<dyn Fn(proxy::Denied) + Send + Sync>,
    ) -> Result<Prepared, OpError> {
        let support = Self::support();
        let unsupported = |m: String| OpError::new(ErrorCode::SandboxUnsupported, m);
        let mut lease = Lease::with_temp(&place.temp_parent, &place.id).map_err(|e| {
            OpError::new(
                ErrorCode::SpawnFailed,
                format!(
                    "Sandbox temp folder could not be made in {}: {e}",
                    place.temp_parent.display()
                ),
            )
        })?;
        let temp = lease.temp().map(PathBuf::from).unwrap_or_default();
        let ctx = policy::Context {
            cwd: place.cwd.clone(),
            extra_dirs: place.extra_dirs.clone(),
            home: place.home.clone(),
            provider_state: place.provider_state.clone(),
            temp: temp.clone(),
            hidden: place.hidden.clone(),
        };
        let on_denied = bounded(on_denied);
        let mut listener = None;
        let mut open_proxy = || -> std::io::Result<u16> {
            let Some(options::NetworkOption::AllowedDomains(names)) = &opts.network else {
                return Err(std::io::Error::other("no allowedDomains"));
            };
            let allow = domains::Allowlist::parse(names).map_err(std::io::Error::other)?;
            let l = self.proxy().listen(allow, on_denied.clone())?;
            let port = l.port();
            listener = Some(l);
            Ok(port)
        };
        let r = policy::resolve(opts, &ctx, &support, &mut open_proxy)
            .map_err(|policy::Unsupported(m)| unsupported(m))?;
        let mut env_remove = vec!["NO_PROXY", "no_proxy"];
        let mut temp_vars = vec!["TMPDIR", "TMP", "TEMP"];
        if support.deny_paths {
            // Their sockets are hidden; the runtime folder is the private temp folder.
            env_remove.extend(["SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS"]);
            temp_vars.push("XDG_RUNTIME_DIR");
        }
        let mut env: Vec<(String, String)> = temp_vars
            .iter()
            .map(|k| ((*k).to_owned(), temp.display().to_string()))
            .collect();
        let mut proxy_url = None;
        if let Some(l) = listener {
            let url = format!("http://127.0.0.1:{}", l.port());
            env.extend(PROXY_VARS.iter().map(|k| ((*k).to_owned(), url.clone())));
            env.push(("NODE_USE_ENV_PROXY".into(), "1".into()));
            proxy_url = Some(url);
            lease.hold_proxy(l);
        }
        let show = |v: &[PathBuf]| v.iter().map(|p| p.display().to_string()).collect();
        let event = LifecycleEvent::Sandboxed {
            mechanism: if r.confinement.is_some() {
                support.mechanism.clone()
            } else {
                "none".into()
            },
            writable: show(&r.writable),
            deny_write: r
                .confinement
                .as_ref()
                .map_or(vec![], |c| show(&c.deny_write)),
            deny_read: r.confinement.as_ref().map_or(vec![], |c| {
                show(&c.deny_read[..c.deny_read.len().saturating_sub(r.hidden.len())])
            }),
            hidden: show(&r.hidden),
            network: r.network,
            network_coverage: r.network_coverage,
            proxy: proxy_url,
            temp_dir: temp.display().to_string(),
            not_enforced: r.not_enforced,
            skipped: r.skipped,
        };
        Ok(Prepared {
            confine: r.confinement.map(Arc::new),
            env,
            env_remove,
            event,
            lease,
        })
    }

    /// The [`Place`] of a child with working folder `cwd` (the host's when `None`) in the
    /// host environment `env`.
    pub fn place(
        id: &str,
        cwd: Option<&std::path::Path>,
        env: &std::collections::HashMap<String, String>,
        provider_state: impl FnOnce(Option<&std::path::Path>) -> Vec<PathBuf>,
    ) -> Place {
        let home = crate::config::home_dir(env, cfg!(windows)).map(PathBuf::from);
        let cwd = cwd
            .map(PathBuf::from)
            .or_else(|| std::env::current_dir().ok())
            .unwrap_or_else(|| PathBuf::from("/"));
        let temp_parent = env
            .get("TMPDIR")
            .filter(|t| !t.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        Place {
            id: id.to_owned(),
            cwd,
            extra_dirs: Vec::new(),
            provider_state: provider_state(home.as_deref()),
            home,
            temp_parent,
            hidden: policy::host_sockets(env),
        }
    }

    /// The manager's proxy, started on first use.
    fn proxy(&self) -> Arc<proxy::Proxy> {
        lock(&self.proxy)
            .get_or_insert_with(|| proxy::Proxy::new(proxy::ProxyLimits::default()))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_reports_are_bounded() {
        let seen = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let s = seen.clone();
        let f = bounded(Arc::new(move |_| {
            s.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }));
        for _ in 0..MAX_DENIED_EVENTS + 10 {
            f(proxy::Denied {
                host: "x".into(),
                port: 1,
            });
        }
        assert_eq!(
            seen.load(std::sync::atomic::Ordering::Relaxed),
            MAX_DENIED_EVENTS
        );
    }

    #[test]
    fn the_child_env_points_at_the_temp_folder_and_the_proxy_only() {
        let p = Prepared {
            confine: None,
            env: vec![
                ("TMPDIR".into(), "/t".into()),
                ("HTTPS_PROXY".into(), "http://p".into()),
            ],
            env_remove: vec!["NO_PROXY", "no_proxy"],
            event: LifecycleEvent::Removed,
            lease: Lease::default(),
        };
        let mut env = vec![
            ("TMPDIR".to_owned(), "/tmp".to_owned()),
            ("NO_PROXY".to_owned(), "localhost".to_owned()),
            ("PATH".to_owned(), "/bin".to_owned()),
        ];
        p.apply_env(&mut env);
        assert_eq!(
            env,
            vec![
                ("PATH".to_owned(), "/bin".to_owned()),
                ("TMPDIR".to_owned(), "/t".to_owned()),
                ("HTTPS_PROXY".to_owned(), "http://p".to_owned()),
            ]
        );
    }
}
