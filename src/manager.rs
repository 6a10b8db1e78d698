//! The manager: the registry of every kind of child of one `SidecarManager` — agent sessions
//! (start, stop, prompt, list, remove, and removal of finished ones after the cleanup grace),
//! its terminals (`crate::terminal::registry`), the runner build step, the resource sampler —
//! and dispose. It owns them all and is owned by none: sessions see it through
//! [`crate::agent::Registry`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;

use crate::agent::outbox::Outbox;
use crate::agent::protocol::{self, StartOptions};
use crate::agent::session::SessionTasks;
use crate::agent::{Launch, LaunchFuture, Registry, Session, Snapshot, spawning};
use crate::build::{BuildJoin, Builder};
use crate::config::ManagerConfig;
use crate::env::{ValidatedExtraEnv, build_clean_env};
use crate::error::{ErrorCode, OpError};
use crate::lifecycle::{ExitReason, LifecycleEvent, StopReason};
use crate::monitor::{self, Consumer, ConsumerKind, Report, SamplerFigures, SamplerStats};
use crate::process::{self, SpawnSpec};
use crate::resolve::{RunnerLookup, find_runner};
use crate::sandbox::{Prepared, SandboxSetting, Sandboxes};
use crate::terminal::Terminal;
use crate::terminal::options::TerminalRequest;
use crate::terminal::registry::Terminals;
use crate::util::lock;

/// What the manager shares with its sessions' tasks.
#[derive(Debug)]
pub struct Shared {
    /// Settings.
    pub cfg: ManagerConfig,
    /// The queue to JS.
    pub outbox: Arc<Outbox>,
    sessions: Mutex<IndexMap<String, Arc<Session>>>,
    disposed: AtomicBool,
    next_token: AtomicU64,
    sampler: SamplerStats,
    monitor_started: AtomicBool,
    builder: Option<Arc<Builder>>,
    /// The sandbox defaults and the proxy of every session and terminal.
    pub sandboxes: Sandboxes,
}

impl Registry for Shared {
    fn cfg(&self) -> &ManagerConfig {
        &self.cfg
    }

    fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Removes `session` after the cleanup grace, unless it was replaced or removed already.
    fn schedule_cleanup(self: Arc<Self>, session: Arc<Session>) {
        let shared = Arc::downgrade(&self);
        let grace = self.cfg.cleanup_grace;
        tokio::spawn(async move {
            tokio::time::sleep(grace).await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let mut sessions = lock(&shared.sessions);
            if sessions
                .get(&session.key.id)
                .is_some_and(|s| Arc::ptr_eq(s, &session))
            {
                sessions.shift_remove(&session.key.id);
                drop(sessions);
                session.remove(&*shared);
                shared.outbox.push_removed(&session.key);
            }
        });
    }
}

/// The manager core: everything `SidecarManager` does, without JS types.
#[derive(Debug)]
pub struct Manager {
    shared: Arc<Shared>,
    terminals: Arc<Terminals>,
}

impl Manager {
    /// A manager with `cfg`; deliveries go to `outbox`.
    pub fn new(cfg: ManagerConfig, outbox: Arc<Outbox>) -> Self {
        process::prestart_spawner(cfg.runner_nice);
        Self {
            shared: Arc::new(Shared {
                outbox,
                sessions: Mutex::new(IndexMap::new()),
                disposed: AtomicBool::new(false),
                next_token: AtomicU64::new(1),
                sampler: SamplerStats::default(),
                monitor_started: AtomicBool::new(false),
                builder: cfg.runner_build.clone().map(Builder::new),
                sandboxes: Sandboxes::new(cfg.sandbox.clone()),
                cfg,
            }),
            terminals: Arc::new(Terminals::default()),
        }
    }

    /// A new outbox sized for the manager.
    pub fn new_outbox() -> Arc<Outbox> {
        Outbox::new(crate::deliver::BATCH_CAP)
    }

    /// The queue to JS.
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.shared.outbox
    }

    /// The settings in force.
    pub fn config(&self) -> &ManagerConfig {
        &self.shared.cfg
    }

    /// The terminals.
    pub fn terminals(&self) -> &Arc<Terminals> {
        &self.terminals
    }

    /// Opens a terminal (see [`Terminals::open`]); refused once disposed.
    pub fn open_terminal(
        &self,
        id: &str,
        req: &TerminalRequest,
        host_env: &HashMap<String, String>,
    ) -> Result<Arc<Terminal>, OpError> {
        self.check_live()?;
        let t = self
            .terminals
            .open(id, req, host_env, &self.shared.cfg, &self.shared.sandboxes)?;
        self.ensure_monitor();
        Ok(t)
    }

    /// Starts the sampling loop (once, inside the runtime's context; not at all when the
    /// interval is zero). It ends with the manager.
    fn ensure_monitor(&self) {
        let every = self.shared.cfg.sample_every;
        if every.is_zero() || self.shared.monitor_started.swap(true, Ordering::SeqCst) {
            return;
        }
        let shared = Arc::downgrade(&self.shared);
        let terminals = Arc::downgrade(&self.terminals);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(monitor::interval(every));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let (Some(shared), Some(terminals)) = (shared.upgrade(), terminals.upgrade())
                else {
                    return;
                };
                if shared.disposed.load(Ordering::SeqCst) && shared.outbox.alive() == 0 {
                    return;
                }
                sample(shared, terminals).await;
            }
        });
    }

    /// Samples every session and terminal now, off the JS thread; when done, JS is told
    /// through the outbox (a `Sampled` entry).
    pub fn request_sample(&self) {
        let shared = self.shared.clone();
        let terminals = self.terminals.clone();
        tokio::spawn(async move {
            sample(shared.clone(), terminals).await;
            shared.outbox.push_sampled();
        });
    }

    /// Totals and top consumers of every listed session and terminal (latest samples).
    pub fn resources(&self) -> Report {
        let consumer = |id: &str, kind, resources| Consumer {
            id: id.to_owned(),
            kind,
            resources,
        };
        let mut items: Vec<Consumer> = lock(&self.shared.sessions)
            .values()
            .map(|s| consumer(&s.key.id, ConsumerKind::Session, s.meter.get()))
            .collect();
        items.extend(
            self.terminals
                .all()
                .into_iter()
                .map(|t| consumer(&t.id, ConsumerKind::Terminal, t.meter.get())),
        );
        monitor::report(items)
    }

    /// What sampling has cost so far.
    pub fn sampler(&self) -> SamplerFigures {
        self.shared.sampler.figures()
    }

    /// The manager as its sessions see it.
    fn registry(&self) -> Arc<dyn Registry> {
        self.shared.clone()
    }

    fn check_live(&self) -> Result<(), OpError> {
        if self.shared.disposed.load(Ordering::SeqCst) {
            return Err(OpError::new(ErrorCode::Disposed, "manager is disposed"));
        }
        Ok(())
    }

    fn get(&self, id: &str) -> Result<Arc<Session>, OpError> {
        self.check_live()?;
        lock(&self.shared.sessions)
            .get(id)
            .cloned()
            .ok_or_else(|| OpError::new(ErrorCode::SessionNotFound, "Session not found"))
    }

    /// Starts a session: resolves and spawns the runner, sends it the query. Returns the
    /// token that names the session in batches.
    ///
    /// `options_json` is the options object as JSON text (`null` for none); `host_env` the
    /// host's environment at this moment. Must be called where spawning threads live as long
    /// as the manager (the JS thread), inside the runtime's context.
    pub fn start_session(
        &self,
        id: &str,
        provider: &str,
        prompt: &str,
        options: &serde_json::Value,
        host_env: HashMap<String, String>,
    ) -> Result<u64, OpError> {
        self.check_live()?;
        check_ids(id, provider)?;
        let invalid = |m| OpError::new(ErrorCode::InvalidArgument, m);
        let opts = StartOptions::from_json(options).map_err(invalid)?;
        let limits = self
            .shared
            .cfg
            .limits_for(options.get("limits"))
            .map_err(invalid)?;
        let own_sandbox = SandboxSetting::from_json(options.get("sandbox")).map_err(invalid)?;
        let mut sessions = lock(&self.shared.sessions);
        if sessions.contains_key(id) {
            return Err(OpError::new(
                ErrorCode::SessionExists,
                "Session already exists",
            ));
        }
        let (runner, builder) = self.runner_for(provider)?;
        if let Some(cwd) = &opts.cwd
            && !std::path::Path::new(cwd).is_dir()
        {
            return Err(OpError::new(
                ErrorCode::CwdNotFound,
                format!("Working directory not found: {cwd}"),
            ));
        }
        let extra = opts.validated_extra_env();
        for key in &extra.rejected {
            tracing::warn!(
                session = id,
                "Rejected extraEnv key \"{key}\" — provider-prefixed keys not allowed"
            );
        }
        let token = self.shared.next_token.fetch_add(1, Ordering::Relaxed);
        let sandbox = self.sandbox_for(id, token, provider, &own_sandbox, &opts, &host_env)?;
        let mut plan = self.plan(host_env, &opts, &extra)?;
        if let Some(s) = &sandbox {
            s.apply_env(&mut plan.env);
            plan.confine = s.confine.clone();
        }
        let (launch, after_build) = launch_for(builder.is_some(), runner, &plan);
        let (session, tasks) = Session::new(id, token, provider, launch, limits, &*self.shared);
        if let Some(s) = sandbox {
            session.hold_sandbox(s.event, s.lease);
        }
        match (builder, after_build) {
            (Some(b), Some(tx)) => {
                session.lifecycle(&*self.shared, &LifecycleEvent::Building);
                let join = b.build();
                let host = self.registry();
                let provider = provider.to_owned();
                tokio::spawn(launch_after_build(
                    join,
                    session.clone(),
                    host,
                    provider,
                    plan,
                    tx,
                ));
            }
            _ => session.lifecycle(&*self.shared, &LifecycleEvent::Spawning),
        }
        let query = protocol::build_query(id, prompt, &opts, &extra);
        // The queue is fresh and empty, so this cannot be refused.
        let _ = session.send_initial(query);
        self.shared.outbox.process_started();
        sessions.insert(id.to_owned(), session.clone());
        drop(sessions);
        self.supervise(id, session, tasks);
        self.ensure_monitor();
        Ok(token)
    }

    /// The runner script of `provider`, and the build to wait for first: one that is due for
    /// this runner or running now (it may be rewriting the runner right now). Refused when
    /// there is neither a runner nor a build that could make one.
    fn runner_for(
        &self,
        provider: &str,
    ) -> Result<(Option<PathBuf>, Option<Arc<Builder>>), OpError> {
        let cfg = &self.shared.cfg;
        if provider == "claude" && cfg.claude_path.is_none() {
            return Err(OpError::new(
                ErrorCode::ClaudeNotFound,
                "Claude CLI not found. Install Claude Code first.",
            ));
        }
        let found = find_runner(&cfg.runner_roots, provider);
        let runner = match &found {
            RunnerLookup::Found(p) => Some(p.clone()),
            RunnerLookup::NotFound(_) => None,
        };
        let builder = self
            .shared
            .builder
            .clone()
            .filter(|b| b.needed(runner.as_deref()));
        if builder.is_none()
            && let RunnerLookup::NotFound(tried) = &found
        {
            return Err(OpError::new(ErrorCode::RunnerNotFound, not_found(tried)));
        }
        Ok((runner, builder))
    }

    /// How the runner will be spawned: the runtime (refused here, with the OS error, when it
    /// cannot run), the clean environment, the working directory and priority.
    fn plan(
        &self,
        host_env: HashMap<String, String>,
        opts: &StartOptions,
        extra: &ValidatedExtraEnv,
    ) -> Result<Plan, OpError> {
        let cfg = &self.shared.cfg;
        let plan = Plan {
            program: cfg.runtime.clone(),
            env: build_clean_env(host_env, extra, opts.claude_config_dir.as_deref()),
            cwd: opts.cwd.as_ref().map(Into::into),
            nice: cfg.runner_nice,
            confine: None,
        };
        process::check_program(&plan.program).map_err(|e| {
            OpError::new(
                ErrorCode::SpawnFailed,
                format!("Failed to spawn runner ({}): {e}", plan.program),
            )
        })?;
        Ok(plan)
    }

    /// The sandbox of session `id` (token `token`), if it has one: its own `sandbox` option
    /// over the manager's. Refusals of its proxy become `sandbox-denied` events.
    fn sandbox_for(
        &self,
        id: &str,
        token: u64,
        provider: &str,
        own: &SandboxSetting,
        opts: &StartOptions,
        host_env: &HashMap<String, String>,
    ) -> Result<Option<Prepared>, OpError> {
        let Some(sandbox) = self.shared.sandboxes.options_for(own) else {
            return Ok(None);
        };
        let cwd = opts.cwd.as_deref().map(std::path::Path::new);
        let mut place = Sandboxes::place(id, cwd, host_env, |home| {
            crate::sandbox::policy::provider_state(
                provider,
                home,
                opts.claude_config_dir.as_deref(),
                host_env.get("CODEX_HOME").map(String::as_str),
            )
        });
        place.extra_dirs = opts.additional_directories.clone().unwrap_or_default();
        let outbox = Arc::downgrade(&self.shared.outbox);
        let key = crate::agent::outbox::SessionKey::new(id, token);
        let on_denied = Arc::new(move |d: crate::sandbox::proxy::Denied| {
            if let Some(outbox) = outbox.upgrade() {
                let event = LifecycleEvent::SandboxDenied {
                    host: d.host,
                    port: d.port,
                };
                outbox.push_lifecycle(&key, event.to_json(&key.id));
            }
        });
        self.shared
            .sandboxes
            .prepare(&sandbox, &place, on_denied)
            .map(Some)
    }

    /// Runs `session`'s supervisor. A bug that panics in it must not leave a runner, a
    /// keep-alive or a waiting dispose() behind: the session then ends as an internal error.
    fn supervise(&self, id: &str, session: Arc<Session>, tasks: SessionTasks) {
        let span = tracing::info_span!("session", id = %id);
        let supervisor = tokio::spawn(tracing::Instrument::instrument(
            session.clone().run(self.registry(), tasks),
            span,
        ));
        let host = self.registry();
        tokio::spawn(async move {
            if let Err(e) = supervisor.await
                && e.is_panic()
            {
                session.internal_failure(&host, "internal error in the session supervisor");
            }
        });
    }

    /// Asks a session to stop: stop line now, SIGTERM after the stop grace, SIGKILL after the
    /// kill grace, to the runner's whole process group.
    pub fn stop_session(&self, id: &str) -> Result<(), OpError> {
        let s = self.get(id)?;
        s.stop(&*self.shared, protocol::build_stop(id), StopReason::Stop);
        Ok(())
    }

    /// Sends a follow-up prompt.
    pub fn write_prompt(&self, id: &str, prompt: &str) -> Result<(), OpError> {
        let s = self.get(id)?;
        s.write_prompt(&*self.shared, protocol::build_followup(id, prompt))
    }

    /// Every session's state, in start order.
    pub fn list_sessions(&self) -> Vec<Snapshot> {
        lock(&self.shared.sessions)
            .values()
            .map(|s| s.snapshot())
            .collect()
    }

    /// One session's state.
    pub fn get_session(&self, id: &str) -> Option<Snapshot> {
        lock(&self.shared.sessions).get(id).map(|s| s.snapshot())
    }

    /// The batch token of the session registered under `id`.
    pub fn session_token(&self, id: &str) -> Option<u64> {
        lock(&self.shared.sessions).get(id).map(|s| s.key.token)
    }

    /// Forgets a session and ends its process if it is still alive.
    pub fn remove_session(&self, id: &str) {
        let removed = lock(&self.shared.sessions).shift_remove(id);
        if let Some(s) = removed {
            s.remove(&*self.shared);
        }
    }

    /// Number of runner processes alive.
    pub fn alive(&self) -> usize {
        self.shared.outbox.alive()
    }

    /// SIGKILLs every live runner group at once, synchronously (the host is going away).
    pub fn kill_all_now(&self) {
        if let Some(b) = &self.shared.builder {
            b.kill_now();
        }
        for s in lock(&self.shared.sessions).values() {
            s.kill_now(&*self.shared);
        }
        self.terminals.kill_all_now();
    }

    /// Refuses new work and stops every live session with the usual escalation (stop line,
    /// SIGTERM after the stop grace, SIGKILL after the kill grace). Sessions stay listed, and
    /// their final statuses are delivered, until [`Manager::finish_dispose`]. Returns how
    /// many runners were still alive.
    pub fn begin_dispose(&self) -> usize {
        self.shared.disposed.store(true, Ordering::SeqCst);
        if let Some(b) = &self.shared.builder {
            b.cancel();
        }
        let sessions: Vec<Arc<Session>> = lock(&self.shared.sessions).values().cloned().collect();
        let mut live = 0;
        for s in sessions {
            if !s.has_exited() {
                live += 1;
                s.stop(
                    &*self.shared,
                    protocol::build_stop(&s.key.id),
                    StopReason::Dispose,
                );
            }
        }
        self.terminals.begin_dispose();
        live
    }

    /// Forgets every session and terminal (after every process has exited); their `removed`
    /// events are still queued, for JS to take before [`Manager::close`].
    pub fn finish_dispose(&self) {
        self.shared.disposed.store(true, Ordering::SeqCst);
        let all: Vec<Arc<Session>> = lock(&self.shared.sessions)
            .drain(..)
            .map(|(_, s)| s)
            .collect();
        for s in all {
            s.remove(&*self.shared);
        }
        self.terminals.finish_dispose();
    }

    /// Stops all deliveries (after [`Manager::finish_dispose`]).
    pub fn close(&self) {
        self.finish_dispose();
        self.shared.outbox.close();
        self.terminals.close();
    }

    /// Sessions whose runner has not exited yet: `(id, pid)`.
    pub fn live_sessions(&self) -> Vec<(String, i32)> {
        lock(&self.shared.sessions)
            .values()
            .filter(|s| !s.has_exited())
            .map(|s| (s.key.id.clone(), s.pid()))
            .collect()
    }
}

/// `Runner not found: <first> (also tried: …)`.
fn not_found(tried: &[std::path::PathBuf]) -> String {
    let first = tried
        .first()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let mut msg = format!("Runner not found: {first}");
    if tried.len() > 1 {
        let rest: Vec<String> = tried[1..].iter().map(|p| p.display().to_string()).collect();
        msg.push_str(&format!(" (also tried: {})", rest.join(", ")));
    }
    msg
}

/// How a session's runner is started, once its script is known.
struct Plan {
    program: String,
    env: Vec<(String, String)>,
    cwd: Option<std::path::PathBuf>,
    nice: u8,
    confine: Option<Arc<process::Confinement>>,
}

impl Plan {
    /// Spawns the runner `runner` on the spawner thread; also gives the command line.
    fn spawn(
        &self,
        runner: &std::path::Path,
    ) -> (
        tokio::sync::oneshot::Receiver<std::io::Result<process::Spawned>>,
        String,
    ) {
        let spec = SpawnSpec {
            program: self.program.clone(),
            args: vec![runner.display().to_string()],
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            nice: self.nice,
            confine: self.confine.clone(),
        };
        let command = format!("{} {}", spec.program, spec.args.join(" "));
        (process::spawn_async(spec), command)
    }
}

/// Waits for the runner build, reports it, then looks the runner up again and spawns it —
/// unless the session was stopped or removed meanwhile.
async fn launch_after_build(
    join: BuildJoin,
    session: Arc<Session>,
    host: Arc<dyn Registry>,
    provider: String,
    plan: Plan,
    tx: tokio::sync::oneshot::Sender<Launch>,
) {
    let result = join.await;
    let outcome = match &*result {
        Ok(ok) => {
            session.lifecycle(
                &*host,
                &LifecycleEvent::Built {
                    duration_ms: u64::try_from(ok.duration.as_millis()).unwrap_or(u64::MAX),
                },
            );
            None
        }
        Err(f) => {
            session.lifecycle(
                &*host,
                &LifecycleEvent::BuildFailed {
                    error: f.message(),
                    output: f.output.clone(),
                },
            );
            Some(f.message())
        }
    };
    if session.stop_requested() {
        let _ = tx.send(Launch::Cancelled);
        return;
    }
    if let Some(error) = outcome {
        let _ = tx.send(Launch::Failed {
            error,
            reason: ExitReason::BuildFailed,
        });
        return;
    }
    let launch = match find_runner(&host.cfg().runner_roots, &provider) {
        RunnerLookup::Found(runner) => {
            session.lifecycle(&*host, &LifecycleEvent::Spawning);
            let (spawned, command) = plan.spawn(&runner);
            spawning(spawned, command).await
        }
        RunnerLookup::NotFound(tried) => Launch::Failed {
            error: format!("{} (after the runner build)", not_found(&tried)),
            reason: ExitReason::BuildFailed,
        },
    };
    let _ = tx.send(launch);
}

/// One sampling pass over the manager's sessions and terminals on the blocking pool.
async fn sample(shared: Arc<Shared>, terminals: Arc<Terminals>) {
    let sessions: Vec<Arc<Session>> = lock(&shared.sessions).values().cloned().collect();
    let terms = terminals.all();
    let done = tokio::task::spawn_blocking(move || {
        monitor::tick(&sessions, &terms, &*shared, &shared.sampler);
    })
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, "a resource sample failed");
    }
}

/// Refuses an empty session id and a provider id that could name a path.
fn check_ids(id: &str, provider: &str) -> Result<(), OpError> {
    if id.is_empty() {
        return Err(OpError::new(
            ErrorCode::InvalidArgument,
            "sessionId must be a non-empty string",
        ));
    }
    if provider.is_empty() || provider.contains(['/', '\\', '\0']) {
        return Err(OpError::new(
            ErrorCode::InvalidArgument,
            format!("Invalid provider id: {provider:?}"),
        ));
    }
    Ok(())
}

/// What the session waits for first: the runner spawned now, or — when a build comes first
/// — what the build task sends through the returned sender.
fn launch_for(
    after_a_build: bool,
    runner: Option<PathBuf>,
    plan: &Plan,
) -> (LaunchFuture, Option<tokio::sync::oneshot::Sender<Launch>>) {
    match (after_a_build, runner) {
        (false, Some(runner)) => {
            // The fork/exec itself happens on the spawner thread: under load it can take
            // tens of milliseconds, which must not stall the JS thread.
            let (spawned, command) = plan.spawn(&runner);
            (spawning(spawned, command), None)
        }
        _ => {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let launch: LaunchFuture = Box::pin(async move {
                rx.await.unwrap_or(Launch::Failed {
                    error: "Runner build failed: the build task is gone".to_owned(),
                    reason: ExitReason::BuildFailed,
                })
            });
            (launch, Some(tx))
        }
    }
}

// The tests run sh scripts as runners; Windows has its own in process/windows/tests.rs.
#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::config::ManagerOptions;
    use std::collections::HashMap;

    /// A manager whose provider `x` runs `script` with /bin/sh.
    fn manager(script: &str) -> Manager {
        let root = std::env::temp_dir().join(format!(
            "sidecar-mgr-{}-{}",
            std::process::id(),
            script.len()
        ));
        let dist = root.join("sidecar").join("dist");
        std::fs::create_dir_all(&dist).expect("mkdir");
        std::fs::write(dist.join("x-runner.mjs"), script).expect("write");
        let opts = ManagerOptions {
            runner_root: Some(vec![root.display().to_string()]),
            runtime: Some("/bin/sh".into()),
            kill_grace_ms: Some(100),
            ..ManagerOptions::default()
        };
        let env: HashMap<String, String> = [("PATH".to_owned(), "/usr/bin:/bin".to_owned())].into();
        let cfg = ManagerConfig::resolve(opts, &env).expect("config");
        Manager::new(cfg, Manager::new_outbox())
    }

    async fn wait_until(mut f: impl FnMut() -> bool) -> bool {
        for _ in 0..500 {
            if f() {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        false
    }

    #[test]
    fn a_failing_supervisor_ends_the_session_and_its_runner() {
        let rt = crate::runtime::get().expect("runtime");
        rt.block_on(async {
            let m = manager("sleep 30\n");
            let env: HashMap<String, String> = HashMap::new();
            m.start_session("s", "x", "hi", &serde_json::Value::Null, env)
                .expect("start");
            let session = lock(&m.shared.sessions).get("s").cloned().expect("session");
            assert!(wait_until(|| session.pid() > 0).await, "spawned");
            let pid = session.pid();
            assert_eq!(m.alive(), 1);
            session.clone().internal_failure(&m.registry(), "boom");
            assert!(
                wait_until(|| m.alive() == 0).await,
                "no longer counted alive"
            );
            let batch = m.outbox().drain().expect("a batch");
            let text = String::from_utf8(batch.json).expect("utf8");
            assert!(text.contains(r#""error","boom""#), "{text}");
            assert!(
                wait_until(|| !crate::process::group_alive(pid)).await,
                "runner killed"
            );
            // The supervisor's own end afterwards reports nothing twice.
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert_eq!(m.alive(), 0);
        });
    }

    #[test]
    fn dispose_stops_every_session() {
        let rt = crate::runtime::get().expect("runtime");
        rt.block_on(async {
            let m = manager("read line; sleep 30\n");
            for id in ["a", "b"] {
                m.start_session(id, "x", "hi", &serde_json::Value::Null, HashMap::new())
                    .expect("start");
            }
            assert_eq!(m.begin_dispose(), 2);
            assert!(
                m.start_session("c", "x", "hi", &serde_json::Value::Null, HashMap::new())
                    .is_err()
            );
            // The runners ignore the stop line; SIGTERM after the 3 s stop grace ends them
            // (wait_until allows 5 s).
            assert!(wait_until(|| m.live_sessions().is_empty()).await);
            m.close();
            assert!(m.list_sessions().is_empty());
        });
    }
}
