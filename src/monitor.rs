//! Resource sampling and limits: one pass over the process table per tick (on the runtime's
//! blocking pool, never the JS thread) records every live session's and terminal's figures
//! and ends whatever crossed a limit. The sampler counts its own CPU time, so its cost is a
//! figure, not a guess.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::agent::protocol;
use crate::agent::{Registry, Session};
use crate::process;
use crate::resources::Resources;
use crate::terminal::Terminal;
use crate::util::now_ms;

/// What sampling has cost so far.
#[derive(Debug, Default)]
pub struct SamplerStats {
    ticks: AtomicU64,
    cpu_us: AtomicU64,
    last_us: AtomicU64,
    processes: AtomicU64,
}

/// A copy of [`SamplerStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SamplerFigures {
    /// Passes over the process table.
    pub ticks: u64,
    /// CPU time of every pass together, µs.
    pub cpu_us: u64,
    /// CPU time of the latest pass, µs.
    pub last_us: u64,
    /// Processes of sessions and terminals found by the latest pass.
    pub processes: u64,
}

impl SamplerStats {
    /// The figures now.
    pub fn figures(&self) -> SamplerFigures {
        SamplerFigures {
            ticks: self.ticks.load(Ordering::Relaxed),
            cpu_us: self.cpu_us.load(Ordering::Relaxed),
            last_us: self.last_us.load(Ordering::Relaxed),
            processes: self.processes.load(Ordering::Relaxed),
        }
    }
}

/// One sampling pass over `sessions` and `terminals`: records their figures and ends every
/// one that crossed a limit. Blocking (it reads the process table): run it off the I/O
/// workers.
pub fn tick(
    sessions: &[Arc<Session>],
    terminals: &[Arc<Terminal>],
    host: &dyn Registry,
    stats: &SamplerStats,
) {
    let t0 = process::thread_cpu_us();
    let live_sessions: Vec<&Arc<Session>> = sessions
        .iter()
        .filter(|s| s.pid() > 0 && !s.has_exited())
        .collect();
    let live_terminals: Vec<&Arc<Terminal>> = terminals
        .iter()
        .filter(|t| t.pid() > 0 && !t.has_exited())
        .collect();
    let groups: HashSet<i32> = live_sessions.iter().map(|s| s.pid()).collect();
    let sids: HashSet<i32> = live_terminals.iter().map(|t| t.pid()).collect();
    let scan = process::scan(&groups, &sids);
    let now = now_ms();
    let mut found = 0u64;
    for s in live_sessions {
        let r = s.meter.record(scan.groups.get(&s.pid()).copied(), now);
        found += u64::from(r.processes);
        let runtime = now.saturating_sub(s.started_at());
        if let Some(crossed) = s.meter.limits.check(&r, runtime, s.idle_ms(now)) {
            s.limit_crossed(host, crossed, protocol::build_stop(&s.key.id));
        }
    }
    for t in live_terminals {
        let r = t.meter.record(scan.sessions.get(&t.pid()).copied(), now);
        found += u64::from(r.processes);
        let runtime = now.saturating_sub(t.started_at());
        if let Some(crossed) = t.meter.limits.check(&r, runtime, t.quiet_ms(now)) {
            t.limit_crossed(crossed);
        }
    }
    let cost = process::thread_cpu_us().saturating_sub(t0);
    stats.ticks.fetch_add(1, Ordering::Relaxed);
    stats.cpu_us.fetch_add(cost, Ordering::Relaxed);
    stats.last_us.store(cost, Ordering::Relaxed);
    stats.processes.store(found, Ordering::Relaxed);
}

/// What a consumer of `manager.resources()` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerKind {
    /// An agent session.
    Session,
    /// A terminal.
    Terminal,
}

impl ConsumerKind {
    /// The `kind` JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerKind::Session => "session",
            ConsumerKind::Terminal => "terminal",
        }
    }
}

/// One session's or terminal's figures, by id.
#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    /// The session or terminal id.
    pub id: String,
    /// Which of the two.
    pub kind: ConsumerKind,
    /// Its latest figures.
    pub resources: Resources,
}

/// Totals and top consumers over a set of figures (`manager.resources()`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Live processes of every session and terminal.
    pub processes: u64,
    /// CPU time of every session and terminal listed, ms.
    pub cpu_ms: u64,
    /// Resident memory now, bytes.
    pub rss_bytes: u64,
    /// Newest sample time.
    pub sampled_at: u64,
    /// The largest consumers by memory, then CPU.
    pub top: Vec<Consumer>,
}

/// How many consumers [`report`] lists.
pub const TOP: usize = 5;

/// Sums `items` and lists the [`TOP`] largest.
pub fn report(mut items: Vec<Consumer>) -> Report {
    let mut r = Report::default();
    for Consumer { resources: x, .. } in &items {
        r.processes += u64::from(x.processes);
        r.cpu_ms += x.cpu_ms;
        r.rss_bytes += x.rss_bytes;
        r.sampled_at = r.sampled_at.max(x.sampled_at);
    }
    items.sort_by_key(|c| std::cmp::Reverse((c.resources.rss_bytes, c.resources.cpu_ms)));
    items.truncate(TOP);
    r.top = items;
    r
}

/// Interval of the sampling loop, with a floor so a tiny setting cannot spin.
pub fn interval(every: Duration) -> Duration {
    every.max(Duration::from_millis(10))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn res(rss: u64, cpu: u64) -> Resources {
        Resources {
            processes: 1,
            cpu_ms: cpu,
            rss_bytes: rss,
            peak_rss_bytes: rss,
            sampled_at: rss,
        }
    }

    #[test]
    fn the_report_sums_everything_and_lists_the_largest_first() {
        let items: Vec<Consumer> = (0..8)
            .map(|i| Consumer {
                id: format!("s{i}"),
                kind: if i % 2 == 1 {
                    ConsumerKind::Terminal
                } else {
                    ConsumerKind::Session
                },
                resources: res(i * 10, 100 - i),
            })
            .collect();
        let r = report(items);
        assert_eq!(r.processes, 8);
        assert_eq!(r.rss_bytes, (0..8).map(|i| i * 10).sum::<u64>());
        assert_eq!(r.cpu_ms, (0..8).map(|i| 100 - i).sum::<u64>());
        assert_eq!(r.sampled_at, 70);
        let ids: Vec<&str> = r.top.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["s7", "s6", "s5", "s4", "s3"]);
        assert_eq!(r.top[0].kind, ConsumerKind::Terminal, "s7 is a terminal");
    }

    #[test]
    fn thread_cpu_time_moves_forward() {
        let a = process::thread_cpu_us();
        let t0 = std::time::Instant::now();
        let mut x = 0u64;
        while t0.elapsed() < Duration::from_millis(100) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(process::thread_cpu_us() > a);
    }
}
