//! One manager's runner build, single-flight: session starts that need a build while one runs
//! wait for that one instead of starting their own, and a success is remembered.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::SystemTime;

use tokio::sync::watch;
use tracing::Instrument;

use super::BuildSpec;
use super::plan::needs_build;
use super::step::{self, BuildError, BuildFailure, BuildOk, Handle};
use crate::util::lock;

/// What every caller of one build gets: shared, because all callers of the run see the same.
pub type BuildResult = Result<BuildOk, BuildFailure>;

type Slot = watch::Receiver<Option<Arc<BuildResult>>>;

/// The build in flight.
#[derive(Debug)]
struct Flight {
    handle: Handle,
    done: Slot,
}

#[derive(Debug, Default)]
struct State {
    /// When the last successful build ended.
    last_ok: Option<SystemTime>,
    flight: Option<Arc<Flight>>,
}

/// The runner build of one manager. See [`Builder::build`].
#[derive(Debug)]
pub struct Builder {
    spec: BuildSpec,
    state: Mutex<State>,
}

impl Builder {
    /// A builder for `spec`; nothing runs until [`Builder::build`].
    pub fn new(spec: BuildSpec) -> Arc<Self> {
        Arc::new(Self {
            spec,
            state: Mutex::new(State::default()),
        })
    }

    /// What it builds, and when.
    pub fn spec(&self) -> &BuildSpec {
        &self.spec
    }

    /// Whether a session whose runner lookup gave `runner` (`None`: not found) must wait for a
    /// build first: a build is due ([`needs_build`] with this manager's last success), or one
    /// is running now — whatever the lookup found, since a running build may be rewriting that
    /// very file, and a runtime could load it half-written.
    ///
    /// With [`super::When::Stale`] this walks the watched folders (see [`needs_build`]) on
    /// the calling thread.
    pub fn needed(&self, runner: Option<&Path>) -> bool {
        let (running, last_ok) = {
            let s = lock(&self.state);
            (s.flight.is_some(), s.last_ok)
        };
        running || needs_build(self.spec.when, runner, &self.spec.watch, last_ok)
    }

    /// Whether a build has succeeded in this manager.
    pub fn built_ok(&self) -> bool {
        lock(&self.state).last_ok.is_some()
    }

    /// Joins the build in flight, or starts one now (whether or not it is due: ask
    /// [`Builder::needed`] first). [`BuildJoin::started`] tells which, so that only the
    /// caller that started the run reports it (`building` events); awaiting the join gives
    /// the run's result, the same `Arc` to every caller of that run.
    ///
    /// The run starts here, not when the join is first polled, and goes on if the join is
    /// dropped (end it with [`Builder::cancel`]). It is a task on the tokio runtime this is
    /// called from, else on the process-wide one (`crate::runtime`). A success is remembered
    /// (see [`Builder::needed`]); a failure is not: the next call after it starts a new run.
    pub fn build(self: &Arc<Self>) -> BuildJoin {
        let mut s = lock(&self.state);
        if let Some(f) = &s.flight {
            return BuildJoin::wait(false, f.done.clone());
        }
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(h) => h,
            Err(_) => match crate::runtime::get() {
                Ok(rt) => rt.handle().clone(),
                Err(e) => {
                    let failure = BuildFailure {
                        error: BuildError::Spawn(format!("could not start the build: {e}")),
                        output: String::new(),
                        last_line: String::new(),
                        duration: std::time::Duration::ZERO,
                    };
                    return BuildJoin::ready(Arc::new(Err(failure)));
                }
            },
        };
        let (handle, ctrl) = Handle::new();
        let (publish, done) = watch::channel(None);
        let flight = Arc::new(Flight {
            handle,
            done: done.clone(),
        });
        s.flight = Some(flight.clone());
        drop(s);
        let run = Run {
            builder: self.clone(),
            flight,
            publish: Some(publish),
        };
        let span = tracing::info_span!("runner_build");
        runtime.spawn(
            async move {
                let result = step::run(&run.builder.spec, &run.flight.handle, ctrl).await;
                run.finish(result);
            }
            .instrument(span),
        );
        BuildJoin::wait(true, done)
    }

    /// Ends the running build, if any (dispose): SIGTERM to its process group now, SIGKILL
    /// after the kill grace; every waiter gets [`BuildError::Cancelled`]. A build still being
    /// spawned is ended as soon as it exists. The builder stays usable: a later
    /// [`Builder::build`] starts a new run.
    pub fn cancel(&self) {
        if let Some(f) = self.flight() {
            f.handle.cancel();
        }
    }

    /// SIGKILLs the running build's process group at once, synchronously (the host is
    /// exiting); its waiters get [`BuildError::Cancelled`]. Signals only a build that is
    /// spawned and not yet reaped, under the lock its reap takes, so the group id cannot be
    /// anyone else's; a build still being spawned is killed by its supervisor as soon as it
    /// exists, or by its death signal and the watchdog if the host is gone first.
    pub fn kill_now(&self) {
        if let Some(f) = self.flight() {
            f.handle.kill_now();
        }
    }

    /// Pid (also the process group id) of the running build: spawned and not yet reaped.
    pub fn running_pid(&self) -> Option<i32> {
        self.flight().and_then(|f| f.handle.pid())
    }

    fn flight(&self) -> Option<Arc<Flight>> {
        lock(&self.state).flight.clone()
    }
}

/// The task of one run: publishes its result exactly once, and if the task ends without one
/// (a panic, the runtime dropping it) kills the build and publishes that instead, so no
/// waiter hangs and no build outlives its supervisor.
struct Run {
    builder: Arc<Builder>,
    flight: Arc<Flight>,
    publish: Option<watch::Sender<Option<Arc<BuildResult>>>>,
}

impl Run {
    fn finish(mut self, result: BuildResult) {
        self.publish(result);
    }

    fn publish(&mut self, result: BuildResult) {
        let Some(publish) = self.publish.take() else {
            return;
        };
        // Under the state lock, so a waiter that wakes sees the builder already without this
        // flight, and with the success recorded.
        let mut s = lock(&self.builder.state);
        if result.is_ok() {
            s.last_ok = Some(SystemTime::now());
        }
        if s.flight
            .as_ref()
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
        {
            s.flight = None;
        }
        publish.send_replace(Some(Arc::new(result)));
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if self.publish.is_some() {
            self.flight.handle.kill_now();
            tracing::error!("the runner build task ended without a result");
            self.publish(Err(internal_failure()));
        }
    }
}

fn internal_failure() -> BuildFailure {
    BuildFailure {
        error: BuildError::Internal("internal error: the build task ended without a result".into()),
        output: String::new(),
        last_line: String::new(),
        duration: std::time::Duration::ZERO,
    }
}

/// A caller's place in one run: whether this call started it, and (awaited) its result.
pub struct BuildJoin {
    started: bool,
    result: Pin<Box<dyn Future<Output = Arc<BuildResult>> + Send>>,
}

impl BuildJoin {
    fn wait(started: bool, mut done: Slot) -> Self {
        let result = Box::pin(async move {
            match done.wait_for(Option::is_some).await {
                Ok(r) => r
                    .clone()
                    .unwrap_or_else(|| Arc::new(Err(internal_failure()))),
                Err(_) => Arc::new(Err(internal_failure())),
            }
        });
        Self { started, result }
    }

    fn ready(result: Arc<BuildResult>) -> Self {
        Self {
            started: true,
            result: Box::pin(std::future::ready(result)),
        }
    }

    /// Whether this call started the run (`false`: it joined one already running).
    pub fn started(&self) -> bool {
        self.started
    }
}

impl std::fmt::Debug for BuildJoin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuildJoin")
            .field("started", &self.started)
            .finish_non_exhaustive()
    }
}

impl Future for BuildJoin {
    type Output = Arc<BuildResult>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.result.as_mut().poll(cx)
    }
}
