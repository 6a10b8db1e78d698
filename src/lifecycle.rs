//! Lifecycle events: what happens to a session's or terminal's process, as data for
//! `manager.onLifecycle`. Both kinds queue them on their ordinary delivery path, in order
//! with their output and statuses, so an app sees e.g. `exited` only after the last message.
//!
//! An event goes to JS as one JSON object `{ id, kind, at, …fields }` (field names as in
//! `index.d.ts`'s `LifecycleEvent` union); its text is made here, off the JS thread.

use serde_json::{Value, json};

pub use crate::process::Target;
use crate::util::now_ms;

/// Why a session or terminal is being ended (`stopping.reason`, `exited.reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// `stopSession` / `terminal.kill()`.
    Stop,
    /// `removeSession`.
    Remove,
    /// `dispose()`.
    Dispose,
    /// A resource limit was crossed.
    Limit,
    /// The host process is exiting.
    HostExit,
}

impl StopReason {
    /// Every reason, for the binding's contract check.
    pub const ALL: [StopReason; 5] = [
        StopReason::Stop,
        StopReason::Remove,
        StopReason::Dispose,
        StopReason::Limit,
        StopReason::HostExit,
    ];

    /// The name JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Stop => "stop",
            StopReason::Remove => "remove",
            StopReason::Dispose => "dispose",
            StopReason::Limit => "limit",
            StopReason::HostExit => "host-exit",
        }
    }
}

/// Why an `exited` happened: the process ended by itself, was ended for a [`StopReason`], or
/// never ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    /// It ended on its own.
    Exit,
    /// It was ended.
    Ended(StopReason),
    /// The OS refused to start it.
    SpawnFailed,
    /// The runner build it waited for failed.
    BuildFailed,
}

impl ExitReason {
    /// Every reason of its own (besides [`ExitReason::Ended`] with each [`StopReason`]).
    pub const OWN: [ExitReason; 3] = [
        ExitReason::Exit,
        ExitReason::SpawnFailed,
        ExitReason::BuildFailed,
    ];

    /// The name JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            ExitReason::Exit => "exit",
            ExitReason::Ended(r) => r.as_str(),
            ExitReason::SpawnFailed => "spawn-failed",
            ExitReason::BuildFailed => "build-failed",
        }
    }
}

/// One lifecycle event (without its id and time, which [`LifecycleEvent::to_json`] adds).
#[derive(Debug, Clone, PartialEq)]
pub enum LifecycleEvent {
    /// A runner build started for this session.
    Building,
    /// The build this session waited for succeeded.
    Built {
        /// How long it ran.
        duration_ms: u64,
    },
    /// The build this session waited for failed.
    BuildFailed {
        /// `Runner build failed: <last line>`.
        error: String,
        /// The last 64 KiB of its stdout and stderr.
        output: String,
    },
    /// The process is being started.
    Spawning,
    /// The process runs.
    Spawned {
        /// Its pid (and process group id / session id).
        pid: i32,
    },
    /// The runner said `{"type":"ready"}`.
    Ready {
        /// Milliseconds from `startSession` to it.
        since_start_ms: u64,
    },
    /// Ending was asked for.
    Stopping {
        /// Why.
        reason: StopReason,
    },
    /// A signal was sent.
    Signal {
        /// Its name (`SIGTERM`).
        signal: String,
        /// To whom.
        target: Target,
        /// Why now (`"stop grace elapsed"`, `"kill grace elapsed"`, `"remove"`, …).
        why: &'static str,
    },
    /// The process has ended and all its output was delivered before this.
    Exited {
        /// Exit code, if it exited.
        exit_code: Option<i64>,
        /// Signal name, if a signal ended it.
        signal: Option<String>,
        /// Why it ended.
        reason: ExitReason,
    },
    /// The session or terminal is forgotten; nothing of it follows.
    Removed,
    /// The process runs confined (sent right after `spawned`).
    Sandboxed {
        /// How (`landlock`, `seatbelt`; `none` when nothing could be enforced and
        /// `onUnsupported` was `warn`).
        mechanism: String,
        /// Where it may write (resolved paths).
        writable: Vec<String>,
        /// Read-only inside writable places.
        deny_write: Vec<String>,
        /// Unreadable.
        deny_read: Vec<String>,
        /// The host's service sockets hidden by default (session bus, ssh agent, docker, X11).
        hidden: Vec<String>,
        /// `all`, `none` or `allowed-domains`.
        network: &'static str,
        /// How much of the network policy the kernel enforces: `full`, `tcp`, `none`.
        network_coverage: &'static str,
        /// The proxy's URL (`allowed-domains`).
        proxy: Option<String>,
        /// The private temp folder (`TMPDIR`).
        temp_dir: String,
        /// What was asked for and is not enforced here (`onUnsupported: "warn"`).
        not_enforced: Vec<String>,
        /// Paths left out because they do not exist.
        skipped: Vec<String>,
    },
    /// The proxy refused a connection (host not in `allowedDomains`).
    SandboxDenied {
        /// The host asked for.
        host: String,
        /// Its port.
        port: u16,
    },
    /// A limit was crossed (the session is ended for it).
    Limit {
        /// Which (`maxRssBytes`, …).
        limit: &'static str,
        /// The figure measured.
        value: f64,
        /// The bound.
        bound: f64,
    },
}

impl LifecycleEvent {
    /// Every `kind`, for the binding's contract check.
    pub const KINDS: [&'static str; 13] = [
        "building",
        "built",
        "build-failed",
        "spawning",
        "spawned",
        "ready",
        "stopping",
        "signal",
        "exited",
        "removed",
        "limit",
        "sandboxed",
        "sandbox-denied",
    ];

    /// The `kind` JS sees.
    pub fn kind(&self) -> &'static str {
        match self {
            LifecycleEvent::Building => "building",
            LifecycleEvent::Built { .. } => "built",
            LifecycleEvent::BuildFailed { .. } => "build-failed",
            LifecycleEvent::Spawning => "spawning",
            LifecycleEvent::Spawned { .. } => "spawned",
            LifecycleEvent::Ready { .. } => "ready",
            LifecycleEvent::Stopping { .. } => "stopping",
            LifecycleEvent::Signal { .. } => "signal",
            LifecycleEvent::Exited { .. } => "exited",
            LifecycleEvent::Removed => "removed",
            LifecycleEvent::Limit { .. } => "limit",
            LifecycleEvent::Sandboxed { .. } => "sandboxed",
            LifecycleEvent::SandboxDenied { .. } => "sandbox-denied",
        }
    }

    /// The event as JS receives it, stamped now.
    pub fn to_json(&self, id: &str) -> String {
        self.to_json_at(id, now_ms())
    }

    /// The event as JS receives it, stamped `at` (ms since the epoch).
    pub fn to_json_at(&self, id: &str, at: u64) -> String {
        let mut v = json!({ "id": id, "kind": self.kind(), "at": at });
        let fields: Value = match self {
            LifecycleEvent::Building | LifecycleEvent::Spawning | LifecycleEvent::Removed => {
                Value::Null
            }
            LifecycleEvent::Built { duration_ms } => json!({ "durationMs": duration_ms }),
            LifecycleEvent::BuildFailed { error, output } => {
                json!({ "error": error, "output": output })
            }
            LifecycleEvent::Spawned { pid } => json!({ "pid": pid }),
            LifecycleEvent::Ready { since_start_ms } => json!({ "sinceStartMs": since_start_ms }),
            LifecycleEvent::Stopping { reason } => json!({ "reason": reason.as_str() }),
            LifecycleEvent::Signal {
                signal,
                target,
                why,
            } => json!({
                "signal": signal,
                "target": target.as_str(),
                "why": why,
            }),
            LifecycleEvent::Exited {
                exit_code,
                signal,
                reason,
            } => json!({ "exitCode": exit_code, "signal": signal, "reason": reason.as_str() }),
            LifecycleEvent::Limit {
                limit,
                value,
                bound,
            } => json!({ "limit": limit, "value": value, "bound": bound }),
            LifecycleEvent::Sandboxed {
                mechanism,
                writable,
                deny_write,
                deny_read,
                hidden,
                network,
                network_coverage,
                proxy,
                temp_dir,
                not_enforced,
                skipped,
            } => json!({
                "mechanism": mechanism,
                "writable": writable,
                "denyWrite": deny_write,
                "denyRead": deny_read,
                "hidden": hidden,
                "network": network,
                "networkCoverage": network_coverage,
                "proxy": proxy,
                "tempDir": temp_dir,
                "notEnforced": not_enforced,
                "skipped": skipped,
            }),
            LifecycleEvent::SandboxDenied { host, port } => json!({ "host": host, "port": port }),
        };
        if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), fields) {
            obj.extend(extra);
        }
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_lists_the_kind_of_every_event() {
        let one_of_each = [
            LifecycleEvent::Building,
            LifecycleEvent::Built { duration_ms: 1 },
            LifecycleEvent::BuildFailed {
                error: String::new(),
                output: String::new(),
            },
            LifecycleEvent::Spawning,
            LifecycleEvent::Spawned { pid: 1 },
            LifecycleEvent::Ready { since_start_ms: 1 },
            LifecycleEvent::Stopping {
                reason: StopReason::Stop,
            },
            LifecycleEvent::Signal {
                signal: String::new(),
                target: Target::Group,
                why: "",
            },
            LifecycleEvent::Exited {
                exit_code: None,
                signal: None,
                reason: ExitReason::Exit,
            },
            LifecycleEvent::Removed,
            LifecycleEvent::Limit {
                limit: "maxCpuMs",
                value: 1.0,
                bound: 1.0,
            },
            LifecycleEvent::Sandboxed {
                mechanism: String::new(),
                writable: vec![],
                deny_write: vec![],
                deny_read: vec![],
                hidden: vec![],
                network: "all",
                network_coverage: "full",
                proxy: None,
                temp_dir: String::new(),
                not_enforced: vec![],
                skipped: vec![],
            },
            LifecycleEvent::SandboxDenied {
                host: String::new(),
                port: 0,
            },
        ];
        let kinds: Vec<&str> = one_of_each.iter().map(LifecycleEvent::kind).collect();
        assert_eq!(kinds, LifecycleEvent::KINDS);
    }

    fn parse(e: &LifecycleEvent) -> Value {
        serde_json::from_str(&e.to_json_at("s1", 42)).expect("json")
    }

    #[test]
    fn events_carry_id_kind_time_and_their_fields() {
        assert_eq!(
            parse(&LifecycleEvent::Spawned { pid: 7 }),
            json!({"id":"s1","kind":"spawned","at":42,"pid":7})
        );
        assert_eq!(
            parse(&LifecycleEvent::Removed),
            json!({"id":"s1","kind":"removed","at":42})
        );
        assert_eq!(
            parse(&LifecycleEvent::Signal {
                signal: "SIGTERM".into(),
                target: Target::Group,
                why: "stop grace elapsed"
            }),
            json!({"id":"s1","kind":"signal","at":42,"signal":"SIGTERM","target":"group","why":"stop grace elapsed"})
        );
        assert_eq!(
            parse(&LifecycleEvent::Exited {
                exit_code: None,
                signal: Some("SIGKILL".into()),
                reason: ExitReason::Ended(StopReason::HostExit)
            }),
            json!({"id":"s1","kind":"exited","at":42,"exitCode":null,"signal":"SIGKILL","reason":"host-exit"})
        );
        assert_eq!(
            parse(&LifecycleEvent::Limit {
                limit: "maxRssBytes",
                value: 3.0,
                bound: 2.0
            }),
            json!({"id":"s1","kind":"limit","at":42,"limit":"maxRssBytes","value":3.0,"bound":2.0})
        );
    }

    #[test]
    fn sandbox_events_carry_their_fields() {
        assert_eq!(
            parse(&LifecycleEvent::SandboxDenied {
                host: "evil.example".into(),
                port: 443
            }),
            json!({"id":"s1","kind":"sandbox-denied","at":42,"host":"evil.example","port":443})
        );
        let v = parse(&LifecycleEvent::Sandboxed {
            mechanism: "landlock".into(),
            writable: vec!["/w".into()],
            deny_write: vec!["/w/.git".into()],
            deny_read: vec![],
            hidden: vec!["/run/user/1000".into()],
            network: "allowed-domains",
            network_coverage: "tcp",
            proxy: Some("http://127.0.0.1:9".into()),
            temp_dir: "/tmp/x".into(),
            not_enforced: vec![],
            skipped: vec!["/nope (does not exist)".into()],
        });
        assert_eq!(v["kind"], "sandboxed");
        assert_eq!(v["writable"], json!(["/w"]));
        assert_eq!(v["denyWrite"], json!(["/w/.git"]));
        assert_eq!(v["hidden"], json!(["/run/user/1000"]));
        assert_eq!(v["networkCoverage"], "tcp");
        assert_eq!(v["proxy"], "http://127.0.0.1:9");
        assert_eq!(v["tempDir"], "/tmp/x");
        assert_eq!(v["skipped"], json!(["/nope (does not exist)"]));
    }

    #[test]
    fn ids_with_quotes_stay_valid_json() {
        let v: Value =
            serde_json::from_str(&LifecycleEvent::Building.to_json_at("a\"b\n", 1)).expect("json");
        assert_eq!(v["id"], "a\"b\n");
    }
}
