//! The one run loop of every supervised child, and the handle the rest of the crate holds on
//! a running process.
//!
//! A kind of child (agent runner, terminal program, build) spawns through
//! [`super::spawn_async`] / [`super::spawn_pty_async`], starts the tasks that read and write
//! what its child speaks, and hands the rest to [`run`]: supervise the exit while applying
//! stop/kill requests and their timers, ask what is left of the tree to go, reap the leader,
//! release the containment (sweep, host-death guard off), and wait — bounded — until the
//! output is read. It tells its [`Watcher`] what happened on the way and returns the one
//! [`ExitKind`]. The order of those steps is why every kind delivers all output before its
//! exit, and never signals a reused pid.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use super::containment::{Containment, Target};
use super::escalation::{Control, Escalation};
use super::platform;
use super::stop::{ExitKind, StopStep};
use super::supervisor::{StepCause, supervise};
use crate::util::lock;

/// What the rest of the crate holds on one supervised process: its pid once spawned, its
/// containment, and the requests channel of its [`run`].
#[derive(Debug)]
pub struct ProcessHandle {
    state: Mutex<HandleState>,
    ctrl: mpsc::UnboundedSender<Control>,
}

#[derive(Debug, Default)]
struct HandleState {
    pid: i32,
    containment: Option<Arc<dyn Containment>>,
    reaped: bool,
}

impl ProcessHandle {
    /// A handle with no process yet, and the receiving end its [`run`] takes.
    pub fn new() -> (Arc<Self>, mpsc::UnboundedReceiver<Control>) {
        let (ctrl, rx) = mpsc::unbounded_channel();
        let handle = Arc::new(Self {
            state: Mutex::new(HandleState::default()),
            ctrl,
        });
        (handle, rx)
    }

    /// The leader's pid; 0 until the spawn has completed.
    pub fn pid(&self) -> i32 {
        lock(&self.state).pid
    }

    /// Whether the leader has been reaped.
    pub fn reaped(&self) -> bool {
        lock(&self.state).reaped
    }

    /// Asks the run loop for a stop or kill (ignored once it has ended).
    pub fn control(&self, c: Control) {
        let _ = self.ctrl.send(c);
    }

    /// Applies `step` to the whole tree now, synchronously (the host or a worker is going
    /// away, or the caller gives up on it). Only while the leader is not reaped, so its pid —
    /// which names the tree — cannot have been reused: `false` when there is no process yet,
    /// it is reaped, or the step reached nothing.
    pub fn stop_now(&self, step: StopStep) -> bool {
        let s = lock(&self.state);
        match (&s.containment, s.reaped) {
            (Some(c), false) => c.stop(step).unwrap_or(false),
            _ => false,
        }
    }

    /// What the containment is (for events), once spawned.
    pub fn target(&self) -> Option<Target> {
        lock(&self.state).containment.as_ref().map(|c| c.target())
    }

    /// Takes a just-spawned leader and its tree: from now on [`ProcessHandle::pid`] and
    /// [`ProcessHandle::stop_now`] reach it. Pass the result to [`run`]. `child` is the
    /// standard library's handle where the spawn made one (the leader is reaped through it).
    pub fn adopt(
        &self,
        pid: i32,
        containment: Arc<dyn Containment>,
        child: Option<std::process::Child>,
    ) -> Supervised {
        let mut s = lock(&self.state);
        s.pid = pid;
        s.containment = Some(containment.clone());
        Supervised {
            pid,
            containment,
            child,
        }
    }
}

/// A spawned leader adopted by its [`ProcessHandle`], ready for [`run`].
#[derive(Debug)]
pub struct Supervised {
    pid: i32,
    containment: Arc<dyn Containment>,
    child: Option<std::process::Child>,
}

/// When the loop starts to wait for the exit.
pub enum ExitSignal {
    /// At once: a descriptor watches the leader (a build's few seconds).
    Watch,
    /// After this event, usually the end of the child's output (or a shared 2 s poll, if a
    /// grandchild keeps the output open): a process costs no descriptor while it runs.
    After(oneshot::Receiver<()>),
}

/// When, relative to the reaping, the output is waited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOrder {
    /// Before the leftovers are asked to go (terminals: a background job may still write to
    /// the tty). Past the limit the whole tree is killed and the output waited for 2 s more.
    BeforeLeftovers,
    /// After the leader is reaped and the tree released (pipes: a process outside the tree
    /// may hold them; past the limit the reader is given up).
    AfterRelease,
}

/// The end of a child's output: resolves when everything it wrote has been read.
pub struct Drain {
    /// Resolves when the output is read to its end.
    pub done: Pin<Box<dyn Future<Output = ()> + Send>>,
    /// Longest wait for it after the exit.
    pub limit: Duration,
    /// When it is waited for.
    pub order: DrainOrder,
}

impl Drain {
    /// Output read from pipes by `reader`: done when the task ends, waited for after the
    /// leader is reaped and the tree released, for `kill_grace` + 1 s (a process outside
    /// the tree may hold the pipes open; then the reader is given up).
    pub fn pipes(reader: tokio::task::JoinHandle<()>, kill_grace: Duration) -> Self {
        Self {
            done: Box::pin(async move {
                let _ = reader.await;
            }),
            limit: kill_grace + Duration::from_secs(1),
            order: DrainOrder::AfterRelease,
        }
    }
}

/// How one process is supervised.
pub struct Supervision {
    /// Its stop/kill rules (a build's timeout is a stop armed at the start).
    pub escalation: Escalation,
    /// When to watch the exit.
    pub exit: ExitSignal,
    /// The step for what is left of the tree once the leader has exited.
    pub leftovers: StopStep,
    /// How long the leftovers have before they are killed.
    pub kill_grace: Duration,
    /// The output.
    pub drain: Drain,
}

/// What a kind of child hears from [`run`] (lifecycle events, its own state).
pub trait Watcher: Send + Sync {
    /// `step` reached the tree because of `why`.
    fn stepped(&self, step: StopStep, why: StepCause, target: Target);
    /// Members of the tree outlived the leader and were sent `step`.
    fn left_over(&self, _step: StopStep, _target: Target) {}
    /// The leader is reaped (before the output is drained when the drain comes last).
    fn reaped(&self, _exit: ExitKind) {}
    /// The output was not done within the drain limit (then it is given up).
    fn drain_timed_out(&self, _limit: Duration) {}
}

/// Supervises `process` to its end (see the module docs) and returns how it ended.
/// `handle` is the process's [`ProcessHandle`], `ctrl` the receiver [`ProcessHandle::new`]
/// gave with it.
pub async fn run(
    handle: &ProcessHandle,
    ctrl: &mut mpsc::UnboundedReceiver<Control>,
    process: Supervised,
    sup: Supervision,
    watcher: &dyn Watcher,
) -> ExitKind {
    let Supervised {
        pid,
        containment,
        mut child,
    } = process;
    let target = containment.target();
    let Supervision {
        mut escalation,
        exit,
        leftovers: leftover_step,
        kill_grace,
        drain,
    } = sup;
    supervise_exit(pid, exit, ctrl, &mut escalation, &*containment, watcher).await;
    let Drain { done, limit, order } = drain;
    let mut done = Some(done);
    if order == DrainOrder::BeforeLeftovers
        && let Some(done) = done.take()
    {
        drain_or_kill(done, limit, &*containment, watcher).await;
    }

    // The leader has exited but is not reaped: its pid, which names the tree, is still
    // reserved, so the step cannot reach an unrelated process. Whatever is left (tool
    // commands, a CLI, a shell's background job) is an orphan-to-be: ask it to go.
    let leftovers = containment.stop(leftover_step).unwrap_or(false);
    let exit = reap(handle, pid, child.as_mut());
    watcher.reaped(exit);
    // The step may also have reached the unreaped leader itself; only a tree that had
    // other members is worth telling.
    if containment.reached_others(leftovers) {
        watcher.left_over(leftover_step, target);
    }
    containment.release(leftovers, kill_grace);

    if let Some(done) = done
        && tokio::time::timeout(limit, done).await.is_err()
    {
        watcher.drain_timed_out(limit);
    }
    exit
}

/// Waits for the leader's exit (as `exit` says) while applying `ctrl`'s requests and the
/// escalation's timers to the tree.
async fn supervise_exit(
    pid: i32,
    exit: ExitSignal,
    ctrl: &mut mpsc::UnboundedReceiver<Control>,
    escalation: &mut Escalation,
    containment: &dyn Containment,
    watcher: &dyn Watcher,
) {
    let exited: Pin<Box<dyn Future<Output = io::Result<()>> + Send>> = match exit {
        ExitSignal::Watch => Box::pin(platform::wait_exited(pid)),
        ExitSignal::After(hint) => Box::pin(platform::wait_exit_after(pid, hint)),
    };
    let target = containment.target();
    let step = |s: StopStep, why: StepCause| match containment.stop(s) {
        Ok(_) => watcher.stepped(s, why, target),
        Err(e) => tracing::warn!(pid, error = %e, "stopping the process tree failed"),
    };
    if let Err(e) = supervise(exited, ctrl, escalation, step).await {
        // Without an exit to wait for, the reap below would block until one: make it come.
        tracing::warn!(pid, error = %e, "waiting for the exit failed; killing the tree");
        let _ = containment.stop(StopStep::Kill);
    }
}

/// Reaps the exited leader, under the handle's lock: from then on its pid may be reused,
/// and [`ProcessHandle::stop_now`] no longer signals it.
fn reap(handle: &ProcessHandle, pid: i32, child: Option<&mut std::process::Child>) -> ExitKind {
    let mut s = lock(&handle.state);
    let exit = match child {
        Some(c) => platform::reap(c),
        None => platform::reap_pid(pid),
    }
    .unwrap_or_else(|e| {
        tracing::warn!(pid, error = %e, "reaping failed");
        ExitKind::Code(-1)
    });
    s.reaped = true;
    exit
}

/// Waits for the output until `limit`; then kills the tree (it holds the output open) and
/// gives it 2 s more.
async fn drain_or_kill(
    done: Pin<Box<dyn Future<Output = ()> + Send>>,
    limit: Duration,
    containment: &dyn Containment,
    watcher: &dyn Watcher,
) {
    let mut done = done;
    if tokio::time::timeout(limit, &mut done).await.is_err() {
        watcher.drain_timed_out(limit);
        let _ = containment.stop(StopStep::Kill);
        let _ = tokio::time::timeout(Duration::from_secs(2), done).await;
    }
}
