//! One agent session: its state, and the tasks around its runner process — stdout reader
//! (NDJSON → adapter → messages), stderr logger, stdin writer. Everything about the process
//! itself (spawn, escalation, exit, sweep, reaping) is the supervision core's
//! (`crate::process`).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc};
use tracing::Instrument;

use crate::agent::adapt::fast::{self, Fast};
use crate::agent::adapt::{self, Adapter, AgentMessage, MessageType};
use crate::agent::framing::{Frame, LineFramer};
use crate::agent::outbox::{MessageRun, Outbox, SessionKey};
use crate::agent::protocol::{RunnerEvent, classify};
use crate::agent::status::{Status, StatusEvent, StatusMachine};
use crate::config::ManagerConfig;
use crate::deliver::Credit;
use crate::error::{ErrorCode, OpError};
use crate::lifecycle::{ExitReason, LifecycleEvent, StopReason};
use crate::process::{
    self, Control, Drain, Escalation, ExitKind, ExitSignal, ProcessHandle, Spawned, StepCause,
    StopStep, Supervision, Target, Watcher, exit_parts,
};
use crate::resources::{LimitCrossing, Limits, Meter, Resources};
use crate::sandbox::Lease;
use crate::util::{lock, now_ms};

/// Size of one stdout read.
const READ_CHUNK: usize = 256 * 1024;
/// Longest stderr line logged whole.
const MAX_STDERR_LINE: usize = 64 * 1024;

/// What a session needs from the registry that holds it (the manager). A trait, so that
/// sessions do not depend on the manager that depends on them.
pub trait Registry: Send + Sync {
    /// The manager's settings.
    fn cfg(&self) -> &ManagerConfig;
    /// The queue to JS.
    fn outbox(&self) -> &Outbox;
    /// The session has ended and its end is reported: remove it after the cleanup grace.
    fn schedule_cleanup(self: Arc<Self>, session: Arc<Session>);
}

/// Counters and status of a session, behind the session's lock.
#[derive(Debug)]
struct State {
    machine: StatusMachine,
    cost_usd: f64,
    input_tokens: f64,
    output_tokens: f64,
    stop_requested: bool,
    exit: Option<ExitKind>,
    bytes_in: u64,
    bytes_out: u64,
    messages: u64,
    dropped_lines: u64,
    last_output_at: Option<u64>,
    /// Why ending was first asked for.
    stop_reason: Option<StopReason>,
    /// Set when a limit ended the session: its final error.
    limit_error: Option<String>,
    /// The runner has said `ready`.
    ready: bool,
    /// Since when the session has been `done` with no new prompt (for `maxIdleMs`).
    done_since: Option<u64>,
    /// `exited` has been queued for JS.
    exit_reported: bool,
    /// The session was removed (JS forgot it); `removed` follows `exited`.
    remove_requested: bool,
}

/// How a session's runner came to be (or not): what [`Session::run`] waits for first.
pub enum Launch {
    /// It runs.
    Spawned(Spawned),
    /// It could not start: the session ends in `error` with `error`.
    Failed {
        /// The final error.
        error: String,
        /// What failed.
        reason: ExitReason,
    },
    /// The session was stopped or removed before its runner started (it waited for a build).
    Cancelled,
}

/// What [`Session::run`] waits on before anything else.
pub type LaunchFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Launch> + Send>>;

/// A plain copy of a session's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The id.
    pub session_id: String,
    /// The provider id given to `startSession`.
    pub provider: String,
    /// Current status.
    pub status: Status,
    /// Total cost reported by the agent.
    pub cost_usd: f64,
    /// Input tokens, summed over cost messages.
    pub input_tokens: f64,
    /// Output tokens, summed over cost messages.
    pub output_tokens: f64,
    /// When the session started (ms since the epoch).
    pub started_at: u64,
    /// Runner process id.
    pub pid: i32,
    /// Exit code, once exited normally.
    pub exit_code: Option<i64>,
    /// Signal name, once killed by a signal.
    pub signal: Option<String>,
    /// Stdout bytes read.
    pub bytes_in: u64,
    /// Stdin bytes written.
    pub bytes_out: u64,
    /// AgentMessages produced.
    pub messages: u64,
    /// Lines dropped (oversized, invalid JSON, not an object).
    pub dropped_lines: u64,
    /// When the runner last wrote to stdout (ms since the epoch).
    pub last_output_at: Option<u64>,
    /// The latest figures of the runner's process group.
    pub resources: Resources,
}

/// Bounded queue of lines for the runner's stdin.
#[derive(Debug)]
struct StdinQueue {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    cap: usize,
}

impl StdinQueue {
    /// Queues `line` unless the queue already holds `cap` bytes; an empty queue always
    /// accepts one line, so a prompt larger than the cap can still be sent.
    fn push(&self, line: Vec<u8>, force: bool) -> Result<(), OpError> {
        let len = line.len();
        let before = self.queued.fetch_add(len, Ordering::SeqCst);
        if !force && before > 0 && before + len > self.cap {
            self.queued.fetch_sub(len, Ordering::SeqCst);
            return Err(OpError::new(
                ErrorCode::StdinFull,
                format!(
                    "Runner is not reading its stdin: {before} bytes already queued (limit {})",
                    self.cap
                ),
            ));
        }
        self.tx.send(line).map_err(|_| {
            self.queued.fetch_sub(len, Ordering::SeqCst);
            OpError::new(ErrorCode::InvalidState, "Runner stdin is closed")
        })
    }
}

/// One supervised session.
#[derive(Debug)]
pub struct Session {
    /// The id (and its JSON form).
    pub key: Arc<SessionKey>,
    /// Provider id as given.
    pub provider: String,
    adapter: Adapter,
    started_at: u64,
    /// The runner process.
    process: Arc<ProcessHandle>,
    state: Mutex<State>,
    stdin: StdinQueue,
    removed: AtomicBool,
    /// Set once the end of the session (exit or failure) has been reported.
    finished: AtomicBool,
    pending: Arc<Semaphore>,
    /// Figures and limits, shared with the sampler.
    pub meter: Meter,
    /// The `sandboxed` event (until sent after `spawned`) and what the sandbox owns (its
    /// temp folder, its proxy listener), released with the session.
    sandbox: Mutex<Option<(Option<LifecycleEvent>, Lease)>>,
}

/// Receiving ends handed to the supervisor.
pub struct SessionTasks {
    ctrl_rx: mpsc::UnboundedReceiver<Control>,
    stdin_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    launch: LaunchFuture,
}

/// A [`LaunchFuture`] for a runner being spawned now (`command` describes it for errors).
pub fn spawning(
    spawned: tokio::sync::oneshot::Receiver<io::Result<Spawned>>,
    command: String,
) -> LaunchFuture {
    Box::pin(async move {
        match spawned.await {
            Ok(Ok(s)) => Launch::Spawned(s),
            Ok(Err(e)) => Launch::Failed {
                error: format!("Failed to spawn runner ({command}): {e}"),
                reason: ExitReason::SpawnFailed,
            },
            Err(_) => Launch::Failed {
                error: "Failed to spawn runner: the spawner thread is gone".to_owned(),
                reason: ExitReason::SpawnFailed,
            },
        }
    })
}

impl Session {
    /// A session whose runner `launch` delivers, bounded by `limits`. Call [`Session::run`]
    /// with the returned tasks.
    pub fn new(
        id: &str,
        token: u64,
        provider: &str,
        launch: LaunchFuture,
        limits: Limits,
        shared: &dyn Registry,
    ) -> (Arc<Self>, SessionTasks) {
        let (process, ctrl_rx) = ProcessHandle::new();
        let (stdin_tx, stdin_rx) = mpsc::unbounded_channel();
        let session = Arc::new(Self {
            key: SessionKey::new(id, token),
            provider: provider.to_owned(),
            adapter: Adapter::for_provider(provider),
            started_at: now_ms(),
            process,
            state: Mutex::new(State {
                machine: StatusMachine::new(),
                cost_usd: 0.0,
                input_tokens: 0.0,
                output_tokens: 0.0,
                stop_requested: false,
                exit: None,
                bytes_in: 0,
                bytes_out: 0,
                messages: 0,
                dropped_lines: 0,
                last_output_at: None,
                stop_reason: None,
                limit_error: None,
                ready: false,
                done_since: None,
                exit_reported: false,
                remove_requested: false,
            }),
            stdin: StdinQueue {
                tx: stdin_tx,
                queued: Arc::new(AtomicUsize::new(0)),
                cap: shared.cfg().stdin_queue_bytes,
            },
            removed: AtomicBool::new(false),
            finished: AtomicBool::new(false),
            pending: Arc::new(Semaphore::new(shared.cfg().max_pending_bytes)),
            meter: Meter::new(limits),
            sandbox: Mutex::new(None),
        });
        (
            session,
            SessionTasks {
                ctrl_rx,
                stdin_rx,
                launch,
            },
        )
    }

    /// Keeps the session's sandbox: `event` is sent right after `spawned`, `lease` lives
    /// until the session is removed and its runner has exited (see [`Session::release_sandbox`]).
    pub fn hold_sandbox(&self, event: LifecycleEvent, lease: Lease) {
        *lock(&self.sandbox) = Some((Some(event), lease));
    }

    /// Drops what the sandbox owns (its temp folder, its proxy listener): called once the
    /// session is both removed and exited. Not left to the session's own drop, which the
    /// cleanup timer (holding it for `cleanupGraceMs`) delays past `removeSession` and
    /// `dispose()`.
    fn release_sandbox(&self) {
        let taken = lock(&self.sandbox).take();
        drop(taken);
    }

    /// The runner's process id.
    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// A copy of the session's state.
    pub fn snapshot(&self) -> Snapshot {
        let s = lock(&self.state);
        let (exit_code, signal) = exit_parts(s.exit);
        Snapshot {
            session_id: self.key.id.clone(),
            provider: self.provider.clone(),
            status: s.machine.status(),
            cost_usd: s.cost_usd,
            input_tokens: s.input_tokens,
            output_tokens: s.output_tokens,
            started_at: self.started_at,
            pid: self.pid(),
            exit_code,
            signal,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            messages: s.messages,
            dropped_lines: s.dropped_lines,
            last_output_at: s.last_output_at,
            resources: self.meter.get(),
        }
    }

    /// When the session started (ms since the epoch).
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// Whether a stop or remove has been asked for.
    pub fn stop_requested(&self) -> bool {
        lock(&self.state).stop_requested
    }

    /// How long the session has been `done` without a new prompt, if it is.
    pub fn idle_ms(&self, now: u64) -> Option<u64> {
        let s = lock(&self.state);
        if s.exit.is_some() || s.stop_requested {
            return None;
        }
        s.done_since.map(|t| now.saturating_sub(t))
    }

    /// Queues a lifecycle event of this session.
    pub fn lifecycle(&self, shared: &dyn Registry, event: &LifecycleEvent) {
        shared
            .outbox()
            .push_lifecycle(&self.key, event.to_json(&self.key.id));
    }

    /// A limit was crossed: reports it and ends the session with the normal escalation; it
    /// ends in `error` with the limit's message. Only the first crossing counts.
    pub fn limit_crossed(&self, shared: &dyn Registry, crossed: LimitCrossing, stop_line: Vec<u8>) {
        {
            let mut s = lock(&self.state);
            if s.exit.is_some() || s.limit_error.is_some() {
                return;
            }
            s.limit_error = Some(crossed.message.clone());
            tracing::warn!(session = %self.key.id, "{}", crossed.message);
            self.lifecycle(
                shared,
                &LifecycleEvent::Limit {
                    limit: crossed.limit,
                    value: crossed.value as f64,
                    bound: crossed.bound as f64,
                },
            );
        }
        self.stop(shared, stop_line, StopReason::Limit);
    }

    /// Whether the runner process has exited.
    pub fn has_exited(&self) -> bool {
        lock(&self.state).exit.is_some()
    }

    /// Applies a status event and queues the change for JS (under the state lock, so changes
    /// reach JS in the order they were made).
    fn emit(&self, shared: &dyn Registry, event: StatusEvent) {
        self.emit_locked(&mut lock(&self.state), shared, event);
    }

    /// [`Session::emit`] with the state lock already held.
    fn emit_locked(&self, s: &mut State, shared: &dyn Registry, event: StatusEvent) {
        if let Some((status, error)) = s.machine.apply(event) {
            s.done_since = (status == Status::Done).then(now_ms);
            if !self.removed.load(Ordering::SeqCst) {
                shared.outbox().push_status(&self.key, status, error);
            }
        }
    }

    /// Queues the first query (always accepted, whatever its size).
    pub fn send_initial(&self, line: Vec<u8>) -> Result<(), OpError> {
        self.stdin.push(line, true)
    }

    /// Sends a follow-up query and marks the session running.
    ///
    /// The line is queued and `running` emitted under the state lock, which the stdout reader
    /// also takes to emit: the new turn's `done` can never be emitted before its `running`,
    /// however fast the runner answers (before, a runner that finished the turn while the JS
    /// thread was between the two steps left the session reported `running` after `done`).
    pub fn write_prompt(&self, shared: &dyn Registry, line: Vec<u8>) -> Result<(), OpError> {
        let mut s = lock(&self.state);
        if s.exit.is_some() {
            return Err(OpError::new(
                ErrorCode::InvalidState,
                format!("Session is {}", s.machine.status()),
            ));
        }
        if s.stop_requested {
            return Err(OpError::new(ErrorCode::InvalidState, "Session is stopping"));
        }
        self.stdin.push(line, false)?;
        self.emit_locked(&mut s, shared, StatusEvent::Prompted);
        Ok(())
    }

    /// Sends the stop line and starts the stop grace (idempotent; the first `reason` is the
    /// one reported).
    pub fn stop(&self, shared: &dyn Registry, stop_line: Vec<u8>, reason: StopReason) {
        {
            let mut s = lock(&self.state);
            if s.exit.is_some() || std::mem::replace(&mut s.stop_requested, true) {
                return;
            }
            s.stop_reason = Some(reason);
            self.lifecycle(shared, &LifecycleEvent::Stopping { reason });
        }
        // The stop line may not fit a full queue; the grace timer ends the runner anyway.
        let _ = self.stdin.push(stop_line, true);
        self.process.control(Control::Stop);
    }

    /// Forgets the session for JS and ends its process (SIGTERM now, SIGKILL after the grace).
    /// The lifecycle goes on to `removed` (after `exited`, if the runner still runs).
    pub fn remove(&self, shared: &dyn Registry) {
        if self.removed.swap(true, Ordering::SeqCst) {
            return;
        }
        let exited = {
            let mut s = lock(&self.state);
            if s.exit.is_none() && !std::mem::replace(&mut s.stop_requested, true) {
                s.stop_reason = Some(StopReason::Remove);
                self.lifecycle(
                    shared,
                    &LifecycleEvent::Stopping {
                        reason: StopReason::Remove,
                    },
                );
            }
            s.remove_requested = true;
            if s.exit_reported {
                self.lifecycle(shared, &LifecycleEvent::Removed);
            }
            s.exit.is_some()
        };
        if exited {
            self.release_sandbox();
        } else {
            self.process.control(Control::Kill);
        }
    }

    /// Ends the process at once, synchronously (host or worker going away): SIGKILL to the
    /// whole group. Does nothing once the runner is reaped.
    pub fn kill_now(&self, shared: &dyn Registry) {
        let mut s = lock(&self.state);
        if s.exit.is_none() {
            if !std::mem::replace(&mut s.stop_requested, true) {
                s.stop_reason = Some(StopReason::HostExit);
                self.lifecycle(
                    shared,
                    &LifecycleEvent::Stopping {
                        reason: StopReason::HostExit,
                    },
                );
            }
            // Not spawned yet: such a runner dies with the spawner thread (PDEATHSIG) or by
            // the watchdog.
            if self.process.stop_now(StopStep::Kill) {
                self.lifecycle(
                    shared,
                    &LifecycleEvent::Signal {
                        signal: StopStep::Kill.name(),
                        target: self.process.target().unwrap_or(Target::Group),
                        why: "host exit",
                    },
                );
            }
        }
    }

    /// Runs the session's tasks until the process has exited and its output is delivered.
    pub async fn run(self: Arc<Self>, shared: Arc<dyn Registry>, tasks: SessionTasks) {
        let SessionTasks {
            mut ctrl_rx,
            stdin_rx,
            launch,
        } = tasks;
        let spawned = match launch.await {
            Launch::Spawned(s) => s,
            Launch::Failed { error, reason } => return self.spawn_failed(&shared, &error, reason),
            Launch::Cancelled => return self.cancelled(&shared),
        };
        let Spawned {
            child,
            pid,
            stdin,
            stdout,
            stderr,
            containment,
        } = spawned;
        let process = self.process.adopt(pid, containment, Some(child));
        self.lifecycle(&*shared, &LifecycleEvent::Spawned { pid });
        let sandboxed = lock(&self.sandbox).as_mut().and_then(|(e, _)| e.take());
        if let Some(event) = sandboxed {
            self.lifecycle(&*shared, &event);
        }
        tracing::debug!(pid, "runner spawned");
        // Child tasks inherit the session's span, so every log line names the session.
        let span = tracing::Span::current();
        let (stdout_done, stdout_closed) = tokio::sync::oneshot::channel::<()>();
        let read = self.clone().read_stdout(shared.clone(), stdout);
        let reader = tokio::spawn(
            async move {
                read.await;
                let _ = stdout_done.send(());
            }
            .instrument(span.clone()),
        );
        let stop_reader = reader.abort_handle();
        let logger = tokio::spawn(log_stderr(self.key.clone(), stderr).instrument(span.clone()));
        let writer = tokio::spawn(self.clone().write_stdin(stdin, stdin_rx).instrument(span));

        let supervision = runner_supervision(shared.cfg(), stdout_closed, reader);
        let watcher = RunnerWatcher {
            session: &self,
            shared: &*shared,
        };
        let kind = process::run(&self.process, &mut ctrl_rx, process, supervision, &watcher).await;
        stop_reader.abort();
        writer.abort();
        let confine_error = match tokio::time::timeout(Duration::from_millis(200), logger).await {
            Ok(Ok(e)) => e,
            Ok(Err(_)) => None,
            Err(_) => {
                tracing::debug!(session = %self.key.id, "stderr still open after exit");
                None
            }
        };
        // The sandbox helper failed before the runner ran: say why instead of an exit code.
        let sandboxed = lock(&self.sandbox).is_some();
        if let (true, Some(e), ExitKind::Code(code)) = (sandboxed, confine_error, kind)
            && code == i64::from(sidecar_confine::EXIT_CONFINE_FAILED)
        {
            // Ends the session in `error` with this message, as a crossed limit does.
            let mut s = lock(&self.state);
            s.limit_error
                .get_or_insert_with(|| format!("Sandbox could not be applied: {e}"));
        }

        self.ended(shared, kind);
    }

    /// The runner has exited and its output is delivered: the final status, `exited`, and the
    /// cleanup timer.
    fn ended(self: Arc<Self>, shared: Arc<dyn Registry>, kind: ExitKind) {
        let (stopped, limit_error, stop_reason) = {
            let s = lock(&self.state);
            (s.stop_requested, s.limit_error.clone(), s.stop_reason)
        };
        match limit_error {
            Some(e) => self.emit(&*shared, StatusEvent::Failed(e)),
            None => self.emit(&*shared, StatusEvent::Exited { kind, stopped }),
        }
        let (exit_code, signal) = kind.parts();
        let reason = stop_reason.map_or(ExitReason::Exit, ExitReason::Ended);
        self.report_end(&*shared, exit_code, signal, reason);
        if !self.finished.swap(true, Ordering::SeqCst) {
            shared.outbox().process_ended();
            shared.clone().schedule_cleanup(self);
        }
    }

    /// Queues `exited` (once), then `removed` if the session was removed meanwhile.
    fn report_end(
        &self,
        shared: &dyn Registry,
        exit_code: Option<i64>,
        signal: Option<String>,
        reason: ExitReason,
    ) {
        let mut s = lock(&self.state);
        if std::mem::replace(&mut s.exit_reported, true) {
            return;
        }
        self.lifecycle(
            shared,
            &LifecycleEvent::Exited {
                exit_code,
                signal,
                reason,
            },
        );
        if s.remove_requested {
            self.lifecycle(shared, &LifecycleEvent::Removed);
            drop(s);
            self.release_sandbox();
        }
    }

    /// Stopped or removed while waiting for its runner's build: ends without a process.
    fn cancelled(self: Arc<Self>, shared: &Arc<dyn Registry>) {
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        {
            let mut s = lock(&self.state);
            s.exit.get_or_insert(ExitKind::Code(0));
        }
        self.emit(
            &**shared,
            StatusEvent::Exited {
                kind: ExitKind::Code(0),
                stopped: true,
            },
        );
        let reason = lock(&self.state)
            .stop_reason
            .map_or(ExitReason::Exit, ExitReason::Ended);
        self.report_end(&**shared, None, None, reason);
        shared.outbox().process_ended();
        shared.clone().schedule_cleanup(self);
    }

    /// The supervisor panicked (a bug): kill the runner group and end the session in `error`,
    /// so nothing waits for it forever.
    pub fn internal_failure(self: Arc<Self>, shared: &Arc<dyn Registry>, error: &str) {
        tracing::error!(session = %self.key.id, "{error}");
        self.process.stop_now(StopStep::Kill);
        self.spawn_failed(shared, error, ExitReason::Exit);
    }

    /// The runner could not start (or the supervisor failed): the session ends in `error`
    /// with `error`, like an exit.
    fn spawn_failed(self: Arc<Self>, shared: &Arc<dyn Registry>, error: &str, reason: ExitReason) {
        if self.finished.swap(true, Ordering::SeqCst) {
            return;
        }
        tracing::warn!("{error}");
        {
            let mut s = lock(&self.state);
            s.exit.get_or_insert(ExitKind::Code(-1));
            if let Some((status, _)) = s.machine.apply(StatusEvent::Exited {
                kind: ExitKind::Code(-1),
                stopped: false,
            }) && !self.removed.load(Ordering::SeqCst)
            {
                shared
                    .outbox()
                    .push_status(&self.key, status, Some(error.to_owned()));
            }
        }
        self.report_end(&**shared, None, None, reason);
        shared.outbox().process_ended();
        shared.clone().schedule_cleanup(self);
    }

    /// Whether JS no longer wants this session's output.
    fn is_removed(&self) -> bool {
        self.removed.load(Ordering::SeqCst)
    }

    async fn write_stdin(
        self: Arc<Self>,
        stdin: process::Pipe,
        mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        let mut tx = match process::pipe_writer(stdin) {
            Ok(tx) => tx,
            Err(e) => {
                tracing::warn!(session = %self.key.id, error = %e, "runner stdin unusable");
                return;
            }
        };
        while let Some(line) = rx.recv().await {
            let len = line.len();
            let result = tx.write_all(&line).await;
            self.stdin.queued.fetch_sub(len, Ordering::SeqCst);
            match result {
                Ok(()) => lock(&self.state).bytes_out += len as u64,
                Err(e) => {
                    tracing::debug!(session = %self.key.id, error = %e, "runner stdin closed");
                    break;
                }
            }
        }
        // Anything still queued is lost with the closed pipe: release its accounting.
        rx.close();
        while let Ok(line) = rx.try_recv() {
            self.stdin.queued.fetch_sub(line.len(), Ordering::SeqCst);
        }
    }

    async fn read_stdout(self: Arc<Self>, shared: Arc<dyn Registry>, stdout: process::Pipe) {
        let mut rx = match process::pipe_reader(stdout) {
            Ok(rx) => rx,
            Err(e) => {
                tracing::warn!(session = %self.key.id, error = %e, "runner stdout unusable");
                return;
            }
        };
        let mut framer = LineFramer::new(shared.cfg().max_line_bytes);
        let mut buf = vec![0u8; READ_CHUNK];
        let mut batch = Batch::default();
        loop {
            let n = match rx.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    tracing::warn!(session = %self.key.id, error = %e, "reading runner stdout failed");
                    break;
                }
            };
            let now = now_ms();
            framer.push(&buf[..n], &mut |frame| {
                batch.frame(self.adapter, frame, now)
            });
            self.flush(&*shared, &mut batch, n, now).await;
        }
        let now = now_ms();
        framer.finish(&mut |frame| batch.frame(self.adapter, frame, now));
        self.flush(&*shared, &mut batch, 0, now).await;
    }

    /// Hands one read's worth of results to the outbox, in order, waiting for read-ahead
    /// credit first (this is the backpressure: while JS is behind, the pipe is not read).
    async fn flush(&self, shared: &dyn Registry, batch: &mut Batch, read: usize, now: u64) {
        {
            let mut s = lock(&self.state);
            s.bytes_in += read as u64;
            if read > 0 {
                s.last_output_at = Some(now);
            }
            s.messages += batch.messages;
            s.dropped_lines += batch.dropped;
            for cost in batch.costs.drain(..) {
                if let Some(total) = cost.total_cost_usd {
                    s.cost_usd = total;
                }
                s.input_tokens += cost.input_tokens.unwrap_or(0.0);
                s.output_tokens += cost.output_tokens.unwrap_or(0.0);
            }
            batch.messages = 0;
            batch.dropped = 0;
        }
        for action in batch.actions.drain(..) {
            match action {
                Action::Messages { run, raw_bytes } => {
                    if self.is_removed() {
                        continue;
                    }
                    let credit = self
                        .take_credit(raw_bytes, shared.cfg().max_pending_bytes)
                        .await;
                    shared.outbox().push_messages(&self.key, run, credit);
                }
                Action::Status(ev) => self.emit(shared, ev),
                Action::Ready => {
                    let first = !std::mem::replace(&mut lock(&self.state).ready, true);
                    if first {
                        let since_start_ms = now.saturating_sub(self.started_at);
                        self.lifecycle(shared, &LifecycleEvent::Ready { since_start_ms });
                    }
                }
            }
        }
    }

    async fn take_credit(&self, bytes: usize, cap: usize) -> Option<Credit> {
        let n = bytes.clamp(1, cap);
        let permits = u32::try_from(n).unwrap_or(u32::MAX);
        match self.pending.clone().acquire_many_owned(permits).await {
            Ok(p) => {
                p.forget();
                Some(Credit::new(self.pending.clone(), permits as usize))
            }
            // The semaphore is never closed; without credit the message still goes out.
            Err(_) => None,
        }
    }
}

/// A runner's supervision: SIGTERM after the stop grace, SIGKILL after the kill grace; the
/// exit watched once stdout closes; leftovers asked to go with SIGTERM. Output written just
/// before the exit is still in the pipe: it is delivered before the final status.
fn runner_supervision(
    cfg: &ManagerConfig,
    stdout_closed: tokio::sync::oneshot::Receiver<()>,
    reader: tokio::task::JoinHandle<()>,
) -> Supervision {
    Supervision {
        escalation: Escalation::new(cfg.stop_grace, cfg.kill_grace, StopStep::Terminate),
        exit: ExitSignal::After(stdout_closed),
        leftovers: StopStep::Terminate,
        kill_grace: cfg.kill_grace,
        drain: Drain::pipes(reader, cfg.kill_grace),
    }
}

/// What the run loop tells an agent session: lifecycle events, and the exit under the
/// session's lock as soon as the runner is reaped.
struct RunnerWatcher<'a> {
    session: &'a Session,
    shared: &'a dyn Registry,
}

impl Watcher for RunnerWatcher<'_> {
    fn stepped(&self, step: StopStep, why: StepCause, target: Target) {
        let why = match why {
            // Only remove asks for a step at once.
            StepCause::Requested => "remove",
            w => w.as_str(),
        };
        self.session.lifecycle(
            self.shared,
            &LifecycleEvent::Signal {
                signal: step.name(),
                target,
                why,
            },
        );
    }

    fn left_over(&self, step: StopStep, target: Target) {
        self.session.lifecycle(
            self.shared,
            &LifecycleEvent::Signal {
                signal: step.name(),
                target,
                why: "left over after the runner exited",
            },
        );
    }

    fn reaped(&self, exit: ExitKind) {
        lock(&self.session.state).exit = Some(exit);
    }

    fn drain_timed_out(&self, limit: Duration) {
        tracing::warn!(session = %self.session.key.id, "stdout still open {limit:?} after the runner exited; closing it");
    }
}

async fn log_stderr(key: Arc<SessionKey>, stderr: process::Pipe) -> Option<String> {
    let Ok(mut rx) = process::pipe_reader(stderr) else {
        return None;
    };
    let mut framer = LineFramer::new(MAX_STDERR_LINE);
    let mut buf = vec![0u8; 16 * 1024];
    // The sandbox helper's first line, if it failed (it writes only that one, then exits).
    let mut confine_error: Option<String> = None;
    let mut log = |frame: Frame<'_>| match frame {
        Frame::Line(l) => {
            let line = String::from_utf8_lossy(l);
            let line = line.trim_end();
            if confine_error.is_none()
                && let Some(why) = line.strip_prefix(sidecar_confine::ERROR_PREFIX)
            {
                confine_error = Some(why.to_owned());
            }
            tracing::info!(target: "sidecar::runner", session = %key.id, "{line}");
        }
        Frame::Oversized { len } => {
            tracing::info!(target: "sidecar::runner", session = %key.id, "(stderr line of {len} bytes not shown)");
        }
    };
    loop {
        match rx.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => framer.push(&buf[..n], &mut log),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    framer.finish(&mut log);
    confine_error
}

/// Cost figures from one `cost` message.
#[derive(Debug, Default)]
struct CostUpdate {
    total_cost_usd: Option<f64>,
    input_tokens: Option<f64>,
    output_tokens: Option<f64>,
}

enum Action {
    Messages {
        run: MessageRun,
        raw_bytes: usize,
    },
    Status(StatusEvent),
    /// The runner said `ready`.
    Ready,
}

/// What one read produced, in order: runs of serialized messages and status events.
#[derive(Default)]
struct Batch {
    actions: Vec<Action>,
    costs: Vec<CostUpdate>,
    messages: u64,
    dropped: u64,
}

impl Batch {
    fn frame(&mut self, adapter: Adapter, frame: Frame<'_>, now: u64) {
        match frame {
            Frame::Line(line) => self.line(adapter, line, now),
            Frame::Oversized { len } => {
                self.dropped += 1;
                let text =
                    format!("Runner output line of {len} bytes exceeds maxLineBytes; line dropped");
                tracing::warn!("{text}");
                self.error(text, len, now);
            }
        }
    }

    fn line(&mut self, adapter: Adapter, line: &[u8], now: u64) {
        match self.fast_line(adapter, line, now) {
            Fast::Fallback => {}
            Fast::Ignored => return,
            Fast::Started => return self.actions.push(Action::Status(StatusEvent::AgentStarted)),
            Fast::Stopped => return self.actions.push(Action::Status(StatusEvent::AgentStopped)),
            Fast::Ready => return self.actions.push(Action::Ready),
            Fast::Messages(n) => {
                self.messages += n as u64;
                return;
            }
        }
        let value: Value = match serde_json::from_slice(line) {
            Ok(v) => v,
            Err(e) => {
                self.dropped += 1;
                let preview = String::from_utf8_lossy(&line[..line.len().min(100)]).into_owned();
                let text = format!("Invalid JSON from runner ({e}): {preview}");
                tracing::warn!("{text}");
                self.error(text, line.len(), now);
                return;
            }
        };
        if !value.is_object() {
            self.dropped += 1;
            let text = format!(
                "Runner line is not a JSON object ({}); line dropped",
                crate::agent::protocol::type_name(&value)
            );
            tracing::warn!("{text}");
            self.error(text, line.len(), now);
            return;
        }
        match classify(value) {
            RunnerEvent::Ignored => {}
            RunnerEvent::Ready => self.actions.push(Action::Ready),
            RunnerEvent::Started => self.actions.push(Action::Status(StatusEvent::AgentStarted)),
            RunnerEvent::Stopped => self.actions.push(Action::Status(StatusEvent::AgentStopped)),
            RunnerEvent::Failed(m) => self
                .actions
                .push(Action::Status(StatusEvent::AgentError(m))),
            RunnerEvent::Provider(event) => {
                let msgs = adapt::adapt(adapter, event, now);
                for m in &msgs {
                    if m.kind == MessageType::Cost {
                        self.costs.push(CostUpdate {
                            total_cost_usd: m.content.get("totalCostUsd").and_then(Value::as_f64),
                            input_tokens: m.content.get("inputTokens").and_then(Value::as_f64),
                            output_tokens: m.content.get("outputTokens").and_then(Value::as_f64),
                        });
                    }
                }
                self.push_messages(&msgs, line.len());
            }
        }
    }

    /// Runs the zero-copy path, writing straight into the current run of messages.
    fn fast_line(&mut self, adapter: Adapter, line: &[u8], now: u64) -> Fast {
        let claude = adapter == Adapter::Claude;
        if !matches!(self.actions.last(), Some(Action::Messages { .. })) {
            self.actions.push(Action::Messages {
                run: MessageRun::default(),
                raw_bytes: 0,
            });
        }
        let Some(Action::Messages { run, raw_bytes }) = self.actions.last_mut() else {
            return Fast::Fallback;
        };
        let result = fast::try_line(line, claude, now, run);
        if let Fast::Messages(n) = result
            && n > 0
        {
            *raw_bytes += line.len();
        }
        if run.count == 0 {
            // Nothing written: do not leave an empty run between two status events.
            self.actions.pop();
        }
        result
    }

    fn error(&mut self, message: String, raw_bytes: usize, now: u64) {
        let msg = AgentMessage {
            id: uuid::Uuid::new_v4().to_string(),
            kind: MessageType::Error,
            content: serde_json::json!({ "message": message }),
            timestamp: now,
            parent_id: None,
        };
        // An oversized line's bytes were never held, so it costs no read-ahead credit.
        self.push_messages(std::slice::from_ref(&msg), raw_bytes.min(4096));
    }

    fn push_messages(&mut self, msgs: &[AgentMessage], raw_bytes: usize) {
        if msgs.is_empty() {
            return;
        }
        self.messages += msgs.len() as u64;
        let (run, raw) = match self.actions.last_mut() {
            Some(Action::Messages { run, raw_bytes }) => (run, raw_bytes),
            _ => {
                self.actions.push(Action::Messages {
                    run: MessageRun::default(),
                    raw_bytes: 0,
                });
                match self.actions.last_mut() {
                    Some(Action::Messages { run, raw_bytes }) => (run, raw_bytes),
                    _ => return,
                }
            }
        };
        *raw += raw_bytes;
        for m in msgs {
            let body = &mut run.body;
            let mark = body.len();
            if !body.is_empty() {
                body.push(b',');
            }
            match serde_json::to_writer(&mut *body, m) {
                Ok(()) => run.count += 1,
                Err(e) => {
                    body.truncate(mark);
                    tracing::warn!(error = %e, "could not serialise a message");
                }
            }
        }
    }
}
