//! One terminal session: a program on a PTY, its output read off the master (with
//! backpressure, pause, UTF-8 carry-over, scrollback and idle detection), its input written
//! through a bounded queue, and the supervision core's escalation aimed at the terminal's whole
//! session (SIGHUP, then SIGKILL).

use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use super::ring::Scrollback;
use crate::deliver::Credit;
use crate::error::{ErrorCode, OpError};
use crate::lifecycle::{ExitReason, LifecycleEvent, StopReason};
use crate::process::{
    self, Control, Drain, DrainOrder, Escalation, ExitKind, ExitSignal, ProcessHandle, PtyIo,
    PtyMaster, PtySpawned, StepCause, StopStep, Supervision, Target, Watcher,
};
use crate::resources::{LimitCrossing, Limits, Meter, Resources};
use crate::sandbox::Lease;
use crate::util::lock;
use crate::util::now_ms;
use crate::util::utf8::Utf8Carry;

/// Largest single read off the master.
const READ_CHUNK: usize = 64 * 1024;

/// Settings of one terminal, resolved and checked.
#[derive(Debug, Clone)]
pub struct TerminalConfig {
    /// Deliver text (UTF-8 decoded with carry-over) rather than bytes.
    pub utf8: bool,
    /// Scrollback kept, bytes (0: none).
    pub scrollback_bytes: usize,
    /// Quiet time before the state turns idle.
    pub idle: Duration,
    /// First signal → SIGKILL.
    pub kill_grace: Duration,
    /// Output read but not yet taken by the consumer; at the cap the PTY is not read.
    pub max_pending_bytes: usize,
    /// Input queued but not yet written; beyond it `write` refuses.
    pub input_queue_bytes: usize,
}

/// A piece of output, in the terminal's encoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk {
    /// Decoded text (`encoding: "utf8"`).
    Text(String),
    /// Raw bytes (`encoding: null`).
    Bytes(Vec<u8>),
}

/// What a terminal reports, in order.
#[derive(Debug)]
pub enum TerminalEvent {
    /// Output; its credit goes back to the reader when the consumer drops it.
    Data(Chunk, Option<Credit>),
    /// No output for `idle` (true), or output again (false).
    Idle(bool),
    /// The program exited and every byte of its output was delivered before this; the
    /// message of the limit that ended it, if one did.
    Exit(ExitKind, Option<String>),
    /// The program could not be started (fork/exec failed); nothing else follows.
    Failed(String),
    /// A lifecycle event, as JSON (see [`crate::lifecycle`]).
    Lifecycle(String),
}

/// Where a terminal's events go (the JS delivery queue; a channel in tests).
pub trait TerminalSink: Send + Sync {
    /// Called in order for every event of terminal `token`.
    fn push(&self, token: u64, event: TerminalEvent);
}

/// A copy of a terminal's state (`info()`).
#[derive(Debug, Clone)]
pub struct TerminalInfo {
    /// Id.
    pub id: String,
    /// Pid of the program (its session id); 0 until it runs.
    pub pid: i32,
    /// Size.
    pub cols: u16,
    /// Size.
    pub rows: u16,
    /// Whether the last `idle` period passed without output.
    pub idle: bool,
    /// Name of the foreground process (`tcgetpgrp`, then `/proc/<pgid>/comm` or macOS's
    /// `proc_name`), if known.
    pub foreground: Option<String>,
    /// Start, ms since the epoch.
    pub started_at: u64,
    /// Last output, ms since the epoch.
    pub last_output_at: Option<u64>,
    /// Output bytes read.
    pub bytes_in: u64,
    /// Input bytes written.
    pub bytes_out: u64,
    /// Whether the program is still running.
    pub alive: bool,
    /// How it ended.
    pub exit: Option<ExitKind>,
    /// The latest figures of its session's processes.
    pub resources: Resources,
    /// Set when a limit ended it.
    pub limit_error: Option<String>,
}

#[derive(Debug)]
struct State {
    cols: u16,
    rows: u16,
    idle: bool,
    exit: Option<ExitKind>,
    bytes_in: u64,
    bytes_out: u64,
    last_output_at: Option<u64>,
    scrollback: Scrollback,
    stop_reason: Option<StopReason>,
    limit_error: Option<String>,
}

/// One terminal.
pub struct Terminal {
    /// Id given by the app.
    pub id: String,
    /// Names the terminal in deliveries (a new one for a reused id).
    pub token: u64,
    cfg: TerminalConfig,
    started_at: u64,
    process: Arc<ProcessHandle>,
    state: Mutex<State>,
    master: Mutex<Option<PtyMaster>>,
    input: mpsc::UnboundedSender<Vec<u8>>,
    queued: Arc<AtomicUsize>,
    paused: watch::Sender<bool>,
    pending: Arc<Semaphore>,
    finished: AtomicBool,
    sink: Arc<dyn TerminalSink>,
    /// Figures and limits, shared with the sampler.
    pub meter: Meter,
    /// The `sandboxed` event (until sent after `spawned`) and what the sandbox owns,
    /// released with the terminal.
    sandbox: Mutex<Option<(Option<LifecycleEvent>, Lease)>>,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("id", &self.id)
            .field("pid", &self.pid())
            .finish_non_exhaustive()
    }
}

/// Receiving ends handed to [`Terminal::run`].
pub struct TerminalTasks {
    input_rx: mpsc::UnboundedReceiver<Vec<u8>>,
    ctrl_rx: mpsc::UnboundedReceiver<Control>,
    spawned: tokio::sync::oneshot::Receiver<io::Result<PtySpawned>>,
}

impl Terminal {
    /// A terminal whose program is being spawned (`spawned` delivers it), bounded by
    /// `limits`, reporting to `sink`. Call [`Terminal::run`] with the returned tasks.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: &str,
        token: u64,
        cols: u16,
        rows: u16,
        cfg: TerminalConfig,
        limits: Limits,
        sink: Arc<dyn TerminalSink>,
        spawned: tokio::sync::oneshot::Receiver<io::Result<PtySpawned>>,
    ) -> (Arc<Self>, TerminalTasks) {
        let (input, input_rx) = mpsc::unbounded_channel();
        let (process, ctrl_rx) = ProcessHandle::new();
        let (paused, _) = watch::channel(false);
        let term = Arc::new(Self {
            id: id.to_owned(),
            token,
            started_at: now_ms(),
            process,
            state: Mutex::new(State {
                cols,
                rows,
                idle: false,
                exit: None,
                bytes_in: 0,
                bytes_out: 0,
                last_output_at: None,
                scrollback: Scrollback::new(cfg.scrollback_bytes),
                stop_reason: None,
                limit_error: None,
            }),
            master: Mutex::new(None),
            input,
            queued: Arc::new(AtomicUsize::new(0)),
            paused,
            pending: Arc::new(Semaphore::new(cfg.max_pending_bytes.max(READ_CHUNK))),
            finished: AtomicBool::new(false),
            cfg,
            sink,
            meter: Meter::new(limits),
            sandbox: Mutex::new(None),
        });
        term.lifecycle(&LifecycleEvent::Spawning);
        (
            term,
            TerminalTasks {
                input_rx,
                ctrl_rx,
                spawned,
            },
        )
    }

    /// Pid of the program (also its session and group id); 0 until it runs.
    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    /// Whether the program has exited.
    pub fn has_exited(&self) -> bool {
        lock(&self.state).exit.is_some() || self.finished.load(Ordering::SeqCst)
    }

    /// Queues input. `false` when the queue is full or the program has exited; never blocks.
    pub fn write(&self, data: Vec<u8>) -> bool {
        if data.is_empty() {
            return !self.has_exited();
        }
        if self.has_exited() {
            return false;
        }
        let len = data.len();
        let cap = self.cfg.input_queue_bytes;
        if self
            .queued
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |q| {
                (q + len <= cap).then_some(q + len)
            })
            .is_err()
        {
            return false;
        }
        if self.input.send(data).is_err() {
            self.queued.fetch_sub(len, Ordering::SeqCst);
            return false;
        }
        true
    }

    /// Resizes the PTY (the kernel sends SIGWINCH to the foreground group). No-op after exit.
    pub fn resize(&self, cols: u16, rows: u16) -> Result<(), OpError> {
        if cols == 0 || rows == 0 {
            return Err(OpError::new(
                ErrorCode::InvalidArgument,
                "cols and rows must be positive integers",
            ));
        }
        let mut s = lock(&self.state);
        if s.exit.is_some() {
            return Ok(());
        }
        if let Some(m) = lock(&self.master).as_ref() {
            m.resize(cols, rows).map_err(|e| {
                OpError::new(ErrorCode::InvalidState, format!("resize failed: {e}"))
            })?;
        }
        // Only a size the terminal took is reported (a refused one leaves the old size).
        s.cols = cols;
        s.rows = rows;
        Ok(())
    }

    /// Stops (`true`) or restarts reading the PTY; while paused the program blocks on
    /// output, nothing is dropped.
    pub fn set_paused(&self, paused: bool) {
        self.paused.send_replace(paused);
    }

    /// Sends `step` (a hang-up by default) to every process of the terminal's session, the
    /// kill after the kill grace. No-op after exit.
    pub fn kill(&self, step: Option<StopStep>) {
        self.end(step, StopReason::Stop);
    }

    /// [`Terminal::kill`] for `reason` (the first reason is the one reported).
    pub fn end(&self, step: Option<StopStep>, reason: StopReason) {
        if !self.has_exited() {
            self.stopping(reason);
            self.process.control(match step {
                Some(s) => Control::KillWith(s),
                None => Control::Kill,
            });
        }
    }

    /// SIGKILL to the whole session at once, synchronously (host or worker going away).
    pub fn kill_now(&self) {
        let running = lock(&self.state).exit.is_none() && self.pid() > 0;
        if running {
            self.stopping(StopReason::HostExit);
            if self.process.stop_now(StopStep::Kill) {
                self.lifecycle(&LifecycleEvent::Signal {
                    signal: StopStep::Kill.name(),
                    target: Target::Session,
                    why: "host exit",
                });
            }
        }
    }

    /// Keeps the terminal's sandbox: `event` is sent right after `spawned`, `lease` lives
    /// until the registry forgets the terminal ([`Terminal::removed`]).
    pub fn hold_sandbox(&self, event: LifecycleEvent, lease: Lease) {
        *lock(&self.sandbox) = Some((Some(event), lease));
    }

    /// Queues a lifecycle event of this terminal.
    fn lifecycle(&self, event: &LifecycleEvent) {
        self.sink.push(
            self.token,
            TerminalEvent::Lifecycle(event.to_json(&self.id)),
        );
    }

    /// Reports `stopping` the first time ending is asked for.
    fn stopping(&self, reason: StopReason) {
        let first = {
            let mut s = lock(&self.state);
            s.exit.is_none() && s.stop_reason.is_none() && {
                s.stop_reason = Some(reason);
                true
            }
        };
        if first {
            self.lifecycle(&LifecycleEvent::Stopping { reason });
        }
    }

    /// Nothing of this terminal follows (the registry forgot it, after its program exited):
    /// what its sandbox owns (temp folder, proxy listener) goes now, not when the last
    /// reference to the terminal (JS's `Terminal`, a timer) is dropped — which after
    /// `dispose()` may be never, leaving the temp folder on disk.
    pub fn removed(&self) {
        self.lifecycle(&LifecycleEvent::Removed);
        let taken = lock(&self.sandbox).take();
        drop(taken);
    }

    /// A limit was crossed: reports it and ends the terminal's session (SIGHUP, SIGKILL
    /// after the grace). Only the first crossing counts.
    pub fn limit_crossed(&self, crossed: LimitCrossing) {
        {
            let mut s = lock(&self.state);
            if s.exit.is_some() || s.limit_error.is_some() {
                return;
            }
            s.limit_error = Some(crossed.message.clone());
        }
        tracing::warn!(terminal = %self.id, "{}", crossed.message);
        self.lifecycle(&LifecycleEvent::Limit {
            limit: crossed.limit,
            value: crossed.value as f64,
            bound: crossed.bound as f64,
        });
        self.end(None, StopReason::Limit);
    }

    /// When it started (ms since the epoch).
    pub fn started_at(&self) -> u64 {
        self.started_at
    }

    /// Milliseconds without output (from the start when there was none), while it runs.
    pub fn quiet_ms(&self, now: u64) -> Option<u64> {
        let s = lock(&self.state);
        if s.exit.is_some() || s.stop_reason.is_some() {
            return None;
        }
        Some(now.saturating_sub(s.last_output_at.unwrap_or(self.started_at)))
    }

    /// The scrollback: the latest output, from a character boundary.
    pub fn scrollback(&self) -> Vec<u8> {
        lock(&self.state).scrollback.contents()
    }

    /// A copy of the state.
    pub fn info(&self) -> TerminalInfo {
        let s = lock(&self.state);
        let foreground = if s.exit.is_none() {
            lock(&self.master)
                .as_ref()
                .and_then(PtyMaster::foreground_program)
        } else {
            None
        };
        TerminalInfo {
            id: self.id.clone(),
            pid: self.pid(),
            cols: s.cols,
            rows: s.rows,
            idle: s.idle,
            foreground,
            started_at: self.started_at,
            last_output_at: s.last_output_at,
            bytes_in: s.bytes_in,
            bytes_out: s.bytes_out,
            alive: s.exit.is_none() && !self.finished.load(Ordering::SeqCst),
            exit: s.exit,
            resources: self.meter.get(),
            limit_error: s.limit_error.clone(),
        }
    }

    /// Runs the terminal until its program has exited, its output is delivered and its
    /// session is gone (or being swept).
    pub async fn run(self: Arc<Self>, sink: Arc<dyn TerminalSink>, tasks: TerminalTasks) {
        let TerminalTasks {
            input_rx,
            mut ctrl_rx,
            spawned,
        } = tasks;
        let PtySpawned {
            pid,
            master,
            containment,
        } = match spawned.await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => return self.failed(&*sink, format!("Failed to start the terminal: {e}")),
            Err(_) => {
                return self.failed(
                    &*sink,
                    "Failed to start the terminal: the spawner thread is gone".into(),
                );
            }
        };
        let pty = PtyIo::open(&master);
        let pty = match pty {
            Ok(p) => Arc::new(p),
            Err(e) => {
                let _ = containment.stop(StopStep::Kill);
                containment.release(true, Duration::ZERO);
                return self.failed(&*sink, format!("Failed to start the terminal: {e}"));
            }
        };
        *lock(&self.master) = Some(master);
        let process = self.process.adopt(pid, containment, None);
        self.lifecycle(&LifecycleEvent::Spawned { pid });
        let sandboxed = lock(&self.sandbox).as_mut().and_then(|(e, _)| e.take());
        if let Some(event) = sandboxed {
            self.lifecycle(&event);
        }

        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        let (drained_tx, drained_rx) = watch::channel(false);
        let reader =
            tokio::spawn(
                self.clone()
                    .read_output(sink.clone(), pty.clone(), eof_tx, drained_tx),
            );
        let writer = tokio::spawn(self.clone().write_input(pty, input_rx));

        let supervision = terminal_supervision(&self.cfg, eof_rx, drained_rx);
        let watcher = TerminalWatcher { term: &self };
        let kind = process::run(&self.process, &mut ctrl_rx, process, supervision, &watcher).await;
        reader.abort();
        writer.abort();
        *lock(&self.master) = None;
        self.ended(&*sink, kind);
    }

    /// The program has exited and its output is delivered: `exited`, then the exit for JS.
    fn ended(&self, sink: &dyn TerminalSink, kind: ExitKind) {
        if !self.finished.swap(true, Ordering::SeqCst) {
            let (exit_code, signal) = kind.parts();
            let (reason, limit_error) = {
                let s = lock(&self.state);
                (
                    s.stop_reason.map_or(ExitReason::Exit, ExitReason::Ended),
                    s.limit_error.clone(),
                )
            };
            self.lifecycle(&LifecycleEvent::Exited {
                exit_code,
                signal,
                reason,
            });
            sink.push(self.token, TerminalEvent::Exit(kind, limit_error));
        }
    }

    fn failed(&self, sink: &dyn TerminalSink, error: String) {
        if !self.finished.swap(true, Ordering::SeqCst) {
            tracing::warn!(terminal = %self.id, "{error}");
            lock(&self.state).exit.get_or_insert(ExitKind::Code(-1));
            self.lifecycle(&LifecycleEvent::Exited {
                exit_code: None,
                signal: None,
                reason: ExitReason::SpawnFailed,
            });
            sink.push(self.token, TerminalEvent::Failed(error));
        }
    }

    /// `buf` was read with `credit` taken: keeps the credit of what it holds (returned when JS
    /// takes it), counts it, keeps it in the scrollback, ends an idle state, and queues it
    /// as text (a character split across reads waits for its end) or bytes.
    fn took_output(
        &self,
        sink: &dyn TerminalSink,
        decoder: &mut Utf8Carry,
        buf: Vec<u8>,
        credit: usize,
    ) {
        let n = buf.len();
        self.pending.add_permits(credit - n);
        let held = Credit::new(self.pending.clone(), n);
        let now = now_ms();
        let was_idle = {
            let mut s = lock(&self.state);
            s.bytes_in += n as u64;
            s.last_output_at = Some(now);
            s.scrollback.push(&buf[..n]);
            std::mem::replace(&mut s.idle, false)
        };
        if was_idle {
            sink.push(self.token, TerminalEvent::Idle(false));
        }
        let chunk = if self.cfg.utf8 {
            let mut text = String::with_capacity(n);
            decoder.decode(&buf[..n], &mut text);
            if text.is_empty() {
                // Only the start of a character: it goes out with the next read.
                return;
            }
            Chunk::Text(text)
        } else {
            // Queued output should not pin a 64 KiB allocation per small read.
            let mut buf = buf;
            if n < READ_CHUNK / 2 {
                buf.shrink_to_fit();
            }
            Chunk::Bytes(buf)
        };
        sink.push(self.token, TerminalEvent::Data(chunk, Some(held)));
    }

    async fn read_output(
        self: Arc<Self>,
        sink: Arc<dyn TerminalSink>,
        pty: Arc<PtyIo>,
        eof: tokio::sync::oneshot::Sender<()>,
        drained: watch::Sender<bool>,
    ) {
        let mut decoder = Utf8Carry::new();
        let mut paused = self.paused.subscribe();
        let mut idle_at = Some(Instant::now() + self.cfg.idle);
        loop {
            // Paused: read nothing (the program blocks once the tty buffer is full).
            if *paused.borrow_and_update() {
                tokio::select! {
                    r = paused.changed() => if r.is_err() { break },
                    _ = sleep_until(idle_at) => { idle_at = None; self.set_idle(&*sink, true); }
                }
                continue;
            }
            // Credit for a whole chunk first: at the cap the PTY is not read (backpressure).
            let credit = tokio::select! {
                c = self.pending.clone().acquire_many_owned(READ_CHUNK as u32) => match c {
                    Ok(p) => { p.forget(); READ_CHUNK }
                    Err(_) => break,
                },
                _ = sleep_until(idle_at) => { idle_at = None; self.set_idle(&*sink, true); continue }
            };
            let n = tokio::select! {
                // The buffer is allocated once there is something to read: an idle terminal
                // holds none.
                r = async {
                    pty.readable().await?;
                    let mut buf = vec![0u8; READ_CHUNK];
                    let n = pty.read(&mut buf).await?;
                    buf.truncate(n);
                    Ok::<_, io::Error>(buf)
                } => r,
                _ = sleep_until(idle_at) => {
                    self.pending.add_permits(credit);
                    idle_at = None;
                    self.set_idle(&*sink, true);
                    continue;
                }
                r = paused.changed() => {
                    self.pending.add_permits(credit);
                    if r.is_err() { break }
                    continue;
                }
            };
            let buf = match n {
                Ok(buf) if !buf.is_empty() => buf,
                Ok(_) => {
                    self.pending.add_permits(credit);
                    break;
                }
                Err(e) => {
                    self.pending.add_permits(credit);
                    tracing::debug!(terminal = %self.id, error = %e, "reading the PTY failed");
                    break;
                }
            };
            self.took_output(&*sink, &mut decoder, buf, credit);
            idle_at = Some(Instant::now() + self.cfg.idle);
        }
        if self.cfg.utf8 {
            let mut rest = String::new();
            decoder.finish(&mut rest);
            if !rest.is_empty() {
                sink.push(self.token, TerminalEvent::Data(Chunk::Text(rest), None));
            }
        }
        let _ = eof.send(());
        drained.send_replace(true);
    }

    fn set_idle(&self, sink: &dyn TerminalSink, idle: bool) {
        let changed = {
            let mut s = lock(&self.state);
            s.exit.is_none() && std::mem::replace(&mut s.idle, idle) != idle
        };
        if changed {
            sink.push(self.token, TerminalEvent::Idle(idle));
        }
    }

    async fn write_input(
        self: Arc<Self>,
        pty: Arc<PtyIo>,
        mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
    ) {
        while let Some(data) = rx.recv().await {
            let len = data.len();
            let result = pty.write_all(&data).await;
            self.queued.fetch_sub(len, Ordering::SeqCst);
            match result {
                Ok(()) => lock(&self.state).bytes_out += len as u64,
                Err(e) => {
                    tracing::debug!(terminal = %self.id, error = %e, "PTY input closed");
                    break;
                }
            }
        }
        rx.close();
        while let Ok(data) = rx.try_recv() {
            self.queued.fetch_sub(data.len(), Ordering::SeqCst);
        }
    }
}

/// A terminal's supervision: a hang-up at once on kill, SIGKILL after the kill grace; the
/// exit watched once the master reads end-of-file (or by the shared poll). Output written
/// just before the exit, or by a background job that still holds the tty, is read until
/// end-of-file before the leftovers are hung up; something that keeps the tty open for
/// longer than the kill grace is ended with the session.
fn terminal_supervision(
    cfg: &TerminalConfig,
    eof: tokio::sync::oneshot::Receiver<()>,
    mut drained: watch::Receiver<bool>,
) -> Supervision {
    Supervision {
        escalation: Escalation::new(Duration::ZERO, cfg.kill_grace, StopStep::HangUp),
        exit: ExitSignal::After(eof),
        leftovers: StopStep::HangUp,
        kill_grace: cfg.kill_grace,
        drain: Drain {
            done: Box::pin(async move {
                let _ = drained.wait_for(|d| *d).await;
            }),
            limit: cfg.kill_grace + Duration::from_millis(500),
            order: DrainOrder::BeforeLeftovers,
        },
    }
}

/// What the run loop tells a terminal: lifecycle events, and its exit as soon as it is
/// reaped.
struct TerminalWatcher<'a> {
    term: &'a Terminal,
}

impl Watcher for TerminalWatcher<'_> {
    fn stepped(&self, step: StopStep, why: StepCause, target: Target) {
        let why = match why {
            // Asked for at once: by whatever asked for the end.
            StepCause::Requested => lock(&self.term.state)
                .stop_reason
                .unwrap_or(StopReason::Stop)
                .as_str(),
            w => w.as_str(),
        };
        self.term.lifecycle(&LifecycleEvent::Signal {
            signal: step.name(),
            target,
            why,
        });
    }

    fn reaped(&self, exit: ExitKind) {
        lock(&self.term.state).exit = Some(exit);
    }

    fn drain_timed_out(&self, limit: Duration) {
        tracing::debug!(terminal = %self.term.id, "PTY still held {limit:?} after exit; ending its session");
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
