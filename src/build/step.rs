//! Running one build: spawn, output tail, timeout, cancel, exit, sweep — the process side
//! entirely through `crate::process`, as for an agent session.

use std::fmt;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::BuildSpec;
use super::tail::{OutputTail, Stream};
use crate::process::{
    self, Control, Drain, Escalation, ExitKind, ExitSignal, ProcessHandle, SpawnSpec, Spawned,
    StepCause, StopStep, Supervision, Target, Watcher,
};
use crate::util::lock;

/// Size of one read of the build's stdout or stderr.
const READ_CHUNK: usize = 64 * 1024;

/// A build that exited with code 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildOk {
    /// From the start of the build (before the spawn) to its end (output drained).
    pub duration: Duration,
    /// The tail of its output (see [`OutputTail`]).
    pub output: String,
}

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// It could not be started: empty command, program not found or not executable,
    /// working directory missing, or the OS refused the spawn. The text says which.
    Spawn(String),
    /// It ended by itself, but not with code 0: the exit code, or the name of the signal
    /// (`"SIGSEGV"`) that killed it.
    Exit {
        /// Exit code, when it exited.
        code: Option<i64>,
        /// Signal name, when a signal killed it.
        signal: Option<String>,
    },
    /// It ran longer than [`BuildSpec::timeout`] (the duration here) and was ended.
    TimedOut(Duration),
    /// [`super::Builder::cancel`] or [`super::Builder::kill_now`] ended it (or kept it from
    /// starting).
    Cancelled,
    /// The task running the build ended without a result (a bug, or the runtime shutting
    /// down); its process group was killed.
    Internal(String),
}

impl BuildError {
    /// A stable name of the kind of failure, for JS to branch on: `"spawn"`, `"exit"`,
    /// `"timeout"`, `"cancelled"` or `"internal"`.
    pub fn code(&self) -> &'static str {
        match self {
            BuildError::Spawn(_) => "spawn",
            BuildError::Exit { .. } => "exit",
            BuildError::TimedOut(_) => "timeout",
            BuildError::Cancelled => "cancelled",
            BuildError::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::Spawn(text) | BuildError::Internal(text) => f.write_str(text),
            BuildError::Exit {
                code: Some(code), ..
            } => write!(f, "exit code {code}"),
            BuildError::Exit {
                signal: Some(sig), ..
            } => write!(f, "killed by {sig}"),
            BuildError::Exit { .. } => f.write_str("exited abnormally"),
            BuildError::TimedOut(after) => write!(f, "timed out after {} ms", after.as_millis()),
            BuildError::Cancelled => f.write_str("cancelled"),
        }
    }
}

/// A build that failed, with what it printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFailure {
    /// Why.
    pub error: BuildError,
    /// The tail of its output (at most [`super::BUILD_OUTPUT_TAIL`] bytes); empty when it
    /// never ran.
    pub output: String,
    /// The last line with something in it (see [`OutputTail::last_line`]); empty when none.
    pub last_line: String,
    /// From the start of the build to its failure.
    pub duration: Duration,
}

impl BuildFailure {
    /// The message for the user: `Runner build failed: <last line of output>`, since a
    /// build's own last words (a compiler error) say more than its exit code. Without output,
    /// the [`BuildError`] described instead (`exit code 2`, the spawn error). A timeout or a
    /// cancel always says so, with the last line after it: the output of a build that was
    /// ended is rarely the reason.
    pub fn message(&self) -> String {
        let line = &self.last_line;
        match &self.error {
            BuildError::TimedOut(_) | BuildError::Cancelled if !line.is_empty() => {
                format!("Runner build failed: {} (last output: {line})", self.error)
            }
            BuildError::Exit { .. } if !line.is_empty() => format!("Runner build failed: {line}"),
            error => format!("Runner build failed: {error}"),
        }
    }

    fn new(error: BuildError, tail: OutputTail, started: Instant) -> Self {
        let last_line = tail.last_line();
        Self {
            error,
            output: tail.into_string(),
            last_line,
            duration: started.elapsed(),
        }
    }
}

impl fmt::Display for BuildFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for BuildFailure {}

/// The build as its owner sees it while it runs.
#[derive(Debug, Default)]
struct Proc {
    /// Set when the build is reaped: its result stands.
    reaped: bool,
    /// Cancel or kill asked for before the reap: the result is [`BuildError::Cancelled`].
    cancelled: bool,
}

/// What the owner of a running build (the builder) holds to end it.
#[derive(Debug)]
pub(super) struct Handle {
    proc_: Mutex<Proc>,
    process: Arc<ProcessHandle>,
}

impl Handle {
    /// A handle and the receiving end [`run`] takes.
    pub(super) fn new() -> (Self, mpsc::UnboundedReceiver<Control>) {
        let (process, rx) = ProcessHandle::new();
        (
            Self {
                proc_: Mutex::new(Proc::default()),
                process,
            },
            rx,
        )
    }

    /// SIGTERM to the group now, SIGKILL after the kill grace; the build fails as cancelled.
    /// Does nothing once the build is reaped (its result stands).
    pub(super) fn cancel(&self) {
        self.end(Control::Kill, false);
    }

    /// SIGKILL to the group now, synchronously, if spawned and not reaped; a build still being
    /// spawned is killed as soon as it exists. The build fails as cancelled.
    pub(super) fn kill_now(&self) {
        self.end(Control::KillWith(StopStep::Kill), true);
    }

    /// The build's pid while it runs (spawned, not reaped).
    pub(super) fn pid(&self) -> Option<i32> {
        let pid = self.process.pid();
        (pid > 0 && !self.process.reaped()).then_some(pid)
    }

    /// Marks the build cancelled and asks its supervisor for `request`; with `at_once`, also
    /// kills the group from this thread. Not spawned yet: the queued request ends it right
    /// after the spawn, and the death signal and the watchdog cover a host that exits first.
    fn end(&self, request: Control, at_once: bool) {
        let mut p = lock(&self.proc_);
        if p.reaped {
            return;
        }
        p.cancelled = true;
        if at_once {
            self.process.stop_now(StopStep::Kill);
        }
        self.process.control(request);
    }

    fn is_cancelled(&self) -> bool {
        lock(&self.proc_).cancelled
    }
}

/// What the run loop tells a build: whether the timeout ended it, and the reap (after which a
/// cancel no longer changes the result).
struct BuildWatcher<'a> {
    handle: &'a Handle,
    timed_out: AtomicBool,
}

impl Watcher for BuildWatcher<'_> {
    fn stepped(&self, _step: StopStep, why: StepCause, _target: Target) {
        // The stop grace is the timeout; every other step is a cancel or its kill.
        if why == StepCause::StopGrace {
            self.timed_out.store(true, Ordering::SeqCst);
        }
    }

    fn reaped(&self, _exit: ExitKind) {
        lock(&self.handle.proc_).reaped = true;
    }

    fn drain_timed_out(&self, limit: Duration) {
        tracing::warn!("build output still open {limit:?} after it exited; closing it");
    }
}

/// Runs the build of `spec` to its end; `handle` ends it early (its `ctrl` pairs with `ctrl`).
/// Must run inside a tokio runtime with I/O and time enabled.
pub(super) async fn run(
    spec: &BuildSpec,
    handle: &Handle,
    mut ctrl: mpsc::UnboundedReceiver<Control>,
) -> Result<BuildOk, BuildFailure> {
    let started = Instant::now();
    let spawned = match spawn(spec, handle).await {
        Ok(s) => s,
        Err(error) => return Err(BuildFailure::new(error, OutputTail::new(), started)),
    };
    let Spawned {
        child,
        pid,
        stdin,
        stdout,
        stderr,
        containment,
    } = spawned;
    // A build reads nothing from us: end-of-file at once, rather than a tool that waits for
    // a prompt's answer until the timeout.
    drop(stdin);
    let process = handle.process.adopt(pid, containment, Some(child));
    tracing::info!(pid, command = %spec.command_line(), "runner build started");

    let tail = Arc::new(Mutex::new(OutputTail::new()));
    let reader = tokio::spawn(read_output(stdout, stderr, tail.clone()));
    let stop_reader = reader.abort_handle();
    let supervision = supervision(spec, started, reader);
    let watcher = BuildWatcher {
        handle,
        timed_out: AtomicBool::new(false),
    };
    let kind = process::run(&handle.process, &mut ctrl, process, supervision, &watcher).await;
    stop_reader.abort();
    let error = if handle.is_cancelled() {
        Some(BuildError::Cancelled)
    } else if watcher.timed_out.load(Ordering::SeqCst) {
        Some(BuildError::TimedOut(spec.timeout))
    } else {
        exit_error(kind)
    };
    let mut tail = std::mem::take(&mut *lock(&tail));
    tail.finish();
    finish(pid, error, tail, started)
}

/// Spawns the build, unless it cannot run or was cancelled before it started.
async fn spawn(spec: &BuildSpec, handle: &Handle) -> Result<Spawned, BuildError> {
    let program = program(spec).map_err(BuildError::Spawn)?;
    if handle.is_cancelled() {
        return Err(BuildError::Cancelled);
    }
    let spawned = process::spawn_async(SpawnSpec {
        program,
        args: spec.command.get(1..).unwrap_or_default().to_vec(),
        env: spec.env.clone(),
        cwd: spec.cwd.clone(),
        nice: 0,
        confine: None,
    })
    .await;
    match spawned {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(BuildError::Spawn(format!(
            "could not start `{}`: {e}",
            spec.command_line()
        ))),
        Err(_) => Err(BuildError::Spawn(
            "could not start the build: the spawner thread is gone".to_owned(),
        )),
    }
}

/// The build's supervision: the timeout is the escalation's stop grace, armed from the start
/// (SIGTERM at the deadline, SIGKILL a kill grace later; a cancel overrides it), all with the
/// one set of timers the run loop already runs.
fn supervision(spec: &BuildSpec, started: Instant, reader: JoinHandle<()>) -> Supervision {
    let mut escalation = Escalation::new(spec.timeout, spec.kill_grace, StopStep::Terminate);
    escalation.control(Control::Stop, started);
    Supervision {
        escalation,
        // The exit is watched directly (a pidfd or kqueue for the build's few seconds), not
        // after end-of-file as for sessions: a build's background helper may hold the pipes.
        exit: ExitSignal::Watch,
        leftovers: StopStep::Terminate,
        kill_grace: spec.kill_grace,
        // What it printed just before exiting is still in the pipes.
        drain: Drain::pipes(reader, spec.kill_grace),
    }
}

/// The failure an exit means, if any.
fn exit_error(kind: ExitKind) -> Option<BuildError> {
    match kind {
        ExitKind::Code(0) => None,
        ExitKind::Code(code) => Some(BuildError::Exit {
            code: Some(code),
            signal: None,
        }),
        ExitKind::Signal(sig) => Some(BuildError::Exit {
            code: None,
            signal: Some(process::signal_name(sig)),
        }),
    }
}

/// The build's result, logged.
fn finish(
    pid: i32,
    error: Option<BuildError>,
    tail: OutputTail,
    started: Instant,
) -> Result<BuildOk, BuildFailure> {
    let Some(error) = error else {
        let ok = BuildOk {
            duration: started.elapsed(),
            output: tail.into_string(),
        };
        let ms = u64::try_from(ok.duration.as_millis()).unwrap_or(u64::MAX);
        tracing::info!(pid, ms, "runner build succeeded");
        return Ok(ok);
    };
    let failure = BuildFailure::new(error, tail, started);
    if failure.error == BuildError::Cancelled {
        tracing::info!(pid, "runner build cancelled");
    } else {
        tracing::warn!(pid, "{}", failure.message());
    }
    Err(failure)
}

/// The program to spawn: resolved through the `PATH` of the build's environment (the last
/// `PATH` entry, as `execve` would see it); a relative path with a `/` is taken from the
/// build's working directory (where a shell in that folder would find it), never from the
/// host's. The error is the text of a [`BuildError::Spawn`].
fn program(spec: &BuildSpec) -> Result<String, String> {
    let Some(program) = spec.command.first().filter(|p| !p.is_empty()) else {
        return Err("the build command is empty".to_owned());
    };
    if let Some(cwd) = &spec.cwd
        && !cwd.is_dir()
    {
        return Err(format!(
            "the build's working directory does not exist: {}",
            cwd.display()
        ));
    }
    let program = match &spec.cwd {
        Some(cwd) if has_separator(program) && Path::new(program).is_relative() => {
            cwd.join(program).to_string_lossy().into_owned()
        }
        _ => program.clone(),
    };
    let path = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| crate::env::KeyCase::HOST.same(k, "PATH"))
        .map(|(_, v)| v.as_str());
    process::resolve_program(&program, path).map_err(|e| {
        if !has_separator(&program) && e.kind() == io::ErrorKind::NotFound {
            format!("`{program}` not found in the build's PATH")
        } else {
            format!("cannot run `{program}`: {e}")
        }
    })
}

/// Reads the build's stdout and stderr to their ends, at once, into `tail`: a build blocks
/// when either pipe fills, so both are always read, and all of it, whatever is kept.
async fn read_output(stdout: process::Pipe, stderr: process::Pipe, tail: Arc<Mutex<OutputTail>>) {
    tokio::join!(
        pump(stdout, Stream::Stdout, &tail),
        pump(stderr, Stream::Stderr, &tail)
    );
}

async fn pump(pipe: process::Pipe, stream: Stream, tail: &Mutex<OutputTail>) {
    let mut rx = match process::pipe_reader(pipe) {
        Ok(rx) => rx,
        Err(e) => {
            tracing::warn!(?stream, error = %e, "build output pipe unusable");
            return;
        }
    };
    let mut buf = vec![0u8; READ_CHUNK];
    loop {
        match rx.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => lock(tail).push(stream, &buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::debug!(?stream, error = %e, "reading build output failed");
                break;
            }
        }
    }
}

/// Whether `program` names a path rather than a name to look up (`/`, and `\` on Windows).
fn has_separator(program: &str) -> bool {
    program.chars().any(std::path::is_separator)
}
