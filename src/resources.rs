//! What a session or terminal costs the machine (its latest sample) and the limits that end
//! it: the figures both kinds share, the limit checks and their messages. Sampling itself is
//! [`crate::monitor`]'s; the process-table pass is [`crate::process::scan`].

use std::sync::Mutex;

use serde_json::Value;

use crate::process::Usage;
use crate::util::lock;

/// The latest figures of one process tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resources {
    /// Live processes in the group (terminals: the session).
    pub processes: u32,
    /// CPU time of the tree, including children it reaped, ms.
    pub cpu_ms: u64,
    /// Resident memory now, bytes.
    pub rss_bytes: u64,
    /// Largest `rss_bytes` seen by any sample.
    pub peak_rss_bytes: u64,
    /// When the figures were taken (ms since the epoch); 0 = never sampled.
    pub sampled_at: u64,
}

/// Bounds on one session or terminal; `None` = unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    /// Resident memory of the whole tree.
    pub max_rss_bytes: Option<u64>,
    /// CPU time of the whole tree.
    pub max_cpu_ms: Option<u64>,
    /// Live processes in the tree.
    pub max_processes: Option<u64>,
    /// Time since the start.
    pub max_runtime_ms: Option<u64>,
    /// Agent sessions: time spent `done` without a new prompt; terminals: time without
    /// output or input.
    pub max_idle_ms: Option<u64>,
}

/// The limit names JS uses, in the order they are checked.
pub const LIMIT_NAMES: [&str; 5] = [
    "maxRssBytes",
    "maxCpuMs",
    "maxProcesses",
    "maxRuntimeMs",
    "maxIdleMs",
];

impl Limits {
    /// Reads `{ maxRssBytes?, … }`; `null`/absent = none. Every value must be a whole number
    /// ≥ 1.
    pub fn from_json(v: Option<&Value>) -> Result<Self, String> {
        let Some(v) = v.filter(|v| !v.is_null()) else {
            return Ok(Self::default());
        };
        let obj = v
            .as_object()
            .ok_or_else(|| "limits must be an object".to_owned())?;
        if let Some(k) = obj.keys().find(|k| !LIMIT_NAMES.contains(&k.as_str())) {
            return Err(format!(
                "unknown limit \"{k}\" (known: {})",
                LIMIT_NAMES.join(", ")
            ));
        }
        let field = |name: &str| -> Result<Option<u64>, String> {
            match obj.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(n) => n
                    .as_f64()
                    .filter(|f| f.is_finite() && *f >= 1.0 && f.fract() == 0.0 && *f <= 9.0e15)
                    .map(|f| Some(f as u64))
                    .ok_or_else(|| format!("limits.{name} must be a whole number >= 1 (got {n})")),
            }
        };
        Ok(Self {
            max_rss_bytes: field("maxRssBytes")?,
            max_cpu_ms: field("maxCpuMs")?,
            max_processes: field("maxProcesses")?,
            max_runtime_ms: field("maxRuntimeMs")?,
            max_idle_ms: field("maxIdleMs")?,
        })
    }

    /// These limits with every unset one taken from `defaults` (the manager's).
    pub fn or(self, defaults: Limits) -> Limits {
        Limits {
            max_rss_bytes: self.max_rss_bytes.or(defaults.max_rss_bytes),
            max_cpu_ms: self.max_cpu_ms.or(defaults.max_cpu_ms),
            max_processes: self.max_processes.or(defaults.max_processes),
            max_runtime_ms: self.max_runtime_ms.or(defaults.max_runtime_ms),
            max_idle_ms: self.max_idle_ms.or(defaults.max_idle_ms),
        }
    }

    /// Whether a limit needs process samples (memory, CPU, processes).
    pub fn needs_samples(&self) -> bool {
        self.max_rss_bytes.is_some() || self.max_cpu_ms.is_some() || self.max_processes.is_some()
    }

    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.needs_samples() || self.max_runtime_ms.is_some() || self.max_idle_ms.is_some()
    }

    /// The first limit `r` (sampled), `runtime_ms` and `idle_ms` cross, if any.
    pub fn check(
        &self,
        r: &Resources,
        runtime_ms: u64,
        idle_ms: Option<u64>,
    ) -> Option<LimitCrossing> {
        let over = |v: u64, bound: Option<u64>| bound.filter(|&b| v > b);
        if r.sampled_at > 0 {
            if let Some(b) = over(r.rss_bytes, self.max_rss_bytes) {
                return Some(LimitCrossing::new(
                    "maxRssBytes",
                    r.rss_bytes,
                    b,
                    "Memory",
                    fmt_bytes,
                ));
            }
            if let Some(b) = over(r.cpu_ms, self.max_cpu_ms) {
                return Some(LimitCrossing::new("maxCpuMs", r.cpu_ms, b, "CPU", fmt_ms));
            }
            if let Some(b) = over(u64::from(r.processes), self.max_processes) {
                return Some(LimitCrossing::new(
                    "maxProcesses",
                    u64::from(r.processes),
                    b,
                    "Process",
                    |n| n.to_string(),
                ));
            }
        }
        if let Some(b) = over(runtime_ms, self.max_runtime_ms) {
            return Some(LimitCrossing::new(
                "maxRuntimeMs",
                runtime_ms,
                b,
                "Runtime",
                fmt_ms,
            ));
        }
        if let Some(idle) = idle_ms
            && let Some(b) = over(idle, self.max_idle_ms)
        {
            return Some(LimitCrossing::new("maxIdleMs", idle, b, "Idle", fmt_ms));
        }
        None
    }
}

/// A crossed limit: what the `limit` event and the final error say.
#[derive(Debug, Clone, PartialEq)]
pub struct LimitCrossing {
    /// The limit's name (`maxRssBytes`).
    pub limit: &'static str,
    /// The figure.
    pub value: u64,
    /// The bound.
    pub bound: u64,
    /// `Memory limit exceeded: 2.1 GB > 2 GB`.
    pub message: String,
}

impl LimitCrossing {
    fn new(
        limit: &'static str,
        value: u64,
        bound: u64,
        what: &str,
        fmt: fn(u64) -> String,
    ) -> Self {
        Self {
            limit,
            value,
            bound,
            message: format!("{what} limit exceeded: {} > {}", fmt(value), fmt(bound)),
        }
    }
}

/// One decimal, without a trailing `.0`.
fn one_decimal(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_owned).unwrap_or(s)
}

/// Bytes in decimal units, as people read sizes (`2.1 GB`).
pub fn fmt_bytes(b: u64) -> String {
    let f = b as f64;
    if f >= 1e9 {
        format!("{} GB", one_decimal(f / 1e9))
    } else if f >= 1e6 {
        format!("{} MB", one_decimal(f / 1e6))
    } else if f >= 1e3 {
        format!("{} kB", one_decimal(f / 1e3))
    } else {
        format!("{b} B")
    }
}

/// Milliseconds as seconds (or ms below one second).
pub fn fmt_ms(ms: u64) -> String {
    if ms >= 1000 {
        format!("{} s", one_decimal(ms as f64 / 1000.0))
    } else {
        format!("{ms} ms")
    }
}

/// The figures and limits of one session or terminal, shared with the sampler.
#[derive(Debug, Default)]
pub struct Meter {
    latest: Mutex<Resources>,
    /// Its limits (session's over the manager's).
    pub limits: Limits,
}

impl Meter {
    /// A meter with `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            latest: Mutex::new(Resources::default()),
            limits,
        }
    }

    /// The latest figures.
    pub fn get(&self) -> Resources {
        *lock(&self.latest)
    }

    /// Records a sample taken at `at`; `None` = no process of the tree was found (it has
    /// ended: the last figures stay, with no live processes and no memory).
    pub fn record(&self, usage: Option<Usage>, at: u64) -> Resources {
        let mut r = lock(&self.latest);
        match usage {
            Some(u) => {
                r.processes = u.processes;
                // CPU of processes that have gone is no longer listed: never go backwards.
                r.cpu_ms = r.cpu_ms.max(u.cpu_ms);
                r.rss_bytes = u.rss_bytes;
            }
            None => {
                r.processes = 0;
                r.rss_bytes = 0;
            }
        }
        r.peak_rss_bytes = r.peak_rss_bytes.max(r.rss_bytes);
        r.sampled_at = at;
        *r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_parse_and_refuse_what_they_cannot_mean() {
        let l = Limits::from_json(Some(&json!({"maxRssBytes": 2e9, "maxIdleMs": 5}))).expect("ok");
        assert_eq!(l.max_rss_bytes, Some(2_000_000_000));
        assert_eq!(l.max_idle_ms, Some(5));
        assert!(l.needs_samples());
        assert_eq!(Limits::from_json(None), Ok(Limits::default()));
        assert_eq!(Limits::from_json(Some(&Value::Null)), Ok(Limits::default()));
        for bad in [
            json!(3),
            json!({"maxRss": 1}),
            json!({"maxCpuMs": 0}),
            json!({"maxCpuMs": 1.5}),
            json!({"maxCpuMs": "1"}),
        ] {
            assert!(Limits::from_json(Some(&bad)).is_err(), "{bad}");
        }
        let merged = Limits {
            max_cpu_ms: Some(1),
            ..Limits::default()
        }
        .or(l);
        assert_eq!(
            (merged.max_cpu_ms, merged.max_rss_bytes),
            (Some(1), Some(2_000_000_000))
        );
    }

    #[test]
    fn each_limit_names_itself_and_its_figure() {
        let r = Resources {
            processes: 12,
            cpu_ms: 61_200,
            rss_bytes: 2_100_000_000,
            peak_rss_bytes: 0,
            sampled_at: 1,
        };
        let only = |l: Limits| l.check(&r, 3000, Some(9000)).map(|c| c.message);
        let mem = Limits {
            max_rss_bytes: Some(2_000_000_000),
            ..Limits::default()
        };
        assert_eq!(
            only(mem).as_deref(),
            Some("Memory limit exceeded: 2.1 GB > 2 GB")
        );
        let cpu = Limits {
            max_cpu_ms: Some(60_000),
            ..Limits::default()
        };
        assert_eq!(
            only(cpu).as_deref(),
            Some("CPU limit exceeded: 61.2 s > 60 s")
        );
        let procs = Limits {
            max_processes: Some(10),
            ..Limits::default()
        };
        assert_eq!(
            only(procs).as_deref(),
            Some("Process limit exceeded: 12 > 10")
        );
        let run = Limits {
            max_runtime_ms: Some(2500),
            ..Limits::default()
        };
        assert_eq!(
            only(run).as_deref(),
            Some("Runtime limit exceeded: 3 s > 2.5 s")
        );
        let idle = Limits {
            max_idle_ms: Some(500),
            ..Limits::default()
        };
        assert_eq!(
            only(idle).as_deref(),
            Some("Idle limit exceeded: 9 s > 500 ms")
        );
        assert_eq!(idle.check(&r, 3000, None), None, "not idle");
        let unsampled = Resources::default();
        assert_eq!(mem.check(&unsampled, 0, None), None, "no figures yet");
        assert_eq!(Limits::default().check(&r, u64::MAX, Some(u64::MAX)), None);
    }

    #[test]
    fn a_meter_keeps_the_peak_and_never_loses_cpu() {
        let m = Meter::new(Limits::default());
        m.record(
            Some(Usage {
                processes: 3,
                cpu_ms: 500,
                rss_bytes: 300,
            }),
            1,
        );
        let r = m.record(
            Some(Usage {
                processes: 1,
                cpu_ms: 200,
                rss_bytes: 100,
            }),
            2,
        );
        assert_eq!(
            (
                r.processes,
                r.cpu_ms,
                r.rss_bytes,
                r.peak_rss_bytes,
                r.sampled_at
            ),
            (1, 500, 100, 300, 2)
        );
        let gone = m.record(None, 3);
        assert_eq!((gone.processes, gone.rss_bytes, gone.cpu_ms), (0, 0, 500));
        assert_eq!(fmt_bytes(999), "999 B");
        assert_eq!(fmt_bytes(104_857_600), "104.9 MB");
    }
}
