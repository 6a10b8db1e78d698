//! Spawner threads: one per host process and priority level, living as long as the process.

use std::io;

use std::time::Duration;

use super::platform::{self, PtySpawned, spawn, spawn_pty};
use super::spec::{PtySpec, SpawnSpec, Spawned};
use super::stop::StopStep;

type Reply<T> = tokio::sync::oneshot::Sender<io::Result<T>>;

/// What a spawner thread is asked to start.
enum SpawnJob {
    Pipes(SpawnSpec, Reply<Spawned>),
    Pty(PtySpec, Reply<PtySpawned>),
}

/// Spawns `spec` on a spawner thread; the result arrives on the returned channel.
///
/// A spawner is a thread per host process and priority level that lives as long as the
/// process, so `PR_SET_PDEATHSIG` (tied to the spawning *thread*) fires only when the host
/// dies, and the caller (the JS thread) never waits for a fork/exec. Its nice value is
/// lowered by `spec.nice` once, and every runner it spawns inherits that.
pub fn spawn_async(spec: SpawnSpec) -> tokio::sync::oneshot::Receiver<io::Result<Spawned>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    match spawner(spec.nice) {
        Some(jobs) => {
            if let Err(std::sync::mpsc::SendError(SpawnJob::Pipes(spec, reply))) =
                jobs.send(SpawnJob::Pipes(spec, tx))
            {
                let _ = reply.send(spawn(&spec));
            }
        }
        // No thread could be started: spawn here (PDEATHSIG then follows this thread, and
        // the runner keeps this thread's priority).
        None => {
            tracing::warn!("no spawner thread; runner spawned at the caller's priority");
            let _ = tx.send(spawn(&spec));
        }
    }
    rx
}

/// Spawns `spec` on a PTY from the spawner thread of the app's own priority (terminals are
/// interactive: they are not lowered like runners); the result arrives on the channel.
pub fn spawn_pty_async(spec: PtySpec) -> tokio::sync::oneshot::Receiver<io::Result<PtySpawned>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    match spawner(0) {
        Some(jobs) => {
            if let Err(std::sync::mpsc::SendError(SpawnJob::Pty(spec, reply))) =
                jobs.send(SpawnJob::Pty(spec, tx))
            {
                let _ = reply.send(spawn_pty(&spec));
            }
        }
        None => {
            tracing::warn!("no spawner thread; terminal spawned on the calling thread");
            let _ = tx.send(spawn_pty(&spec));
        }
    }
    rx
}

/// Starts the spawner thread for priority level `nice` now rather than at the first spawn, so
/// a manager's threads are all there once it is built.
pub fn prestart_spawner(nice: u8) {
    let _ = spawner(nice);
}

/// The job queue of the spawner thread for `nice`, started on first use; `None` when no
/// thread could be started.
fn spawner(nice: u8) -> Option<std::sync::mpsc::Sender<SpawnJob>> {
    type Spawners = std::collections::HashMap<u8, Option<std::sync::mpsc::Sender<SpawnJob>>>;
    static SPAWNERS: std::sync::Mutex<Option<Spawners>> = std::sync::Mutex::new(None);
    // A panic while holding this lock cannot leave the map inconsistent: use it anyway.
    let mut spawners = SPAWNERS.lock().unwrap_or_else(|e| e.into_inner());
    spawners
        .get_or_insert_with(Default::default)
        .entry(nice)
        .or_insert_with(|| start_spawner(nice))
        .clone()
}

/// Starts the spawner thread for priority level `nice`; `None` when no thread can be started.
fn start_spawner(nice: u8) -> Option<std::sync::mpsc::Sender<SpawnJob>> {
    let (jobs, queue) = std::sync::mpsc::channel::<SpawnJob>();
    std::thread::Builder::new()
        .name(format!("sidecar-spawn-{nice}"))
        .spawn(move || {
            if let Err(e) = super::os::lower_current_thread(nice) {
                // Expected where the nice value is per process (macOS): runnerNice does nothing.
                if e.kind() == std::io::ErrorKind::Unsupported {
                    tracing::debug!(nice, "runnerNice is not supported on this system");
                } else {
                    tracing::warn!(error = %e, nice, "could not lower the runners' priority");
                }
            }
            for job in queue {
                // Nobody waits for what was spawned any more: do not leave it running.
                match job {
                    SpawnJob::Pipes(spec, reply) => {
                        if let Err(Ok(orphan)) = reply.send(spawn(&spec)) {
                            let _ = orphan.containment.stop(StopStep::Kill);
                            let mut child = orphan.child;
                            let _ = child.wait();
                            orphan.containment.release(false, Duration::ZERO);
                        }
                    }
                    SpawnJob::Pty(spec, reply) => {
                        if let Err(Ok(orphan)) = reply.send(spawn_pty(&spec)) {
                            let _ = orphan.containment.stop(StopStep::Kill);
                            let _ = platform::reap_pid(orphan.pid);
                            orphan.containment.release(false, Duration::ZERO);
                        }
                    }
                }
            }
        })
        .ok()
        .map(|_| jobs)
}
