//! What to run: the platform-neutral descriptions a kind of child hands the process core.

use std::path::PathBuf;
use std::sync::Arc;

use super::confine::Confinement;
use super::containment::Containment;
use super::platform::Pipe;

/// What to run.
#[derive(Debug, Clone)]
pub struct SpawnSpec {
    /// The program (runtime path or name).
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The complete environment (nothing else is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory; the host's when `None`.
    pub cwd: Option<PathBuf>,
    /// Nice steps below the host the runner runs at (the platform's `runnerNice`: a lower priority of the spawner thread); only
    /// [`super::spawn_async`] applies it.
    pub nice: u8,
    /// What the kernel confines the whole tree to; `None` = not confined.
    pub confine: Option<Arc<Confinement>>,
}

/// What to run on a PTY.
#[derive(Debug, Clone)]
pub struct PtySpec {
    /// The program: a path, or a name looked up in the `PATH` of `env`.
    pub program: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The complete environment (nothing else is inherited).
    pub env: Vec<(String, String)>,
    /// Working directory; must exist (portable-pty would silently use `$HOME`).
    pub cwd: PathBuf,
    /// Size in character cells.
    pub cols: u16,
    /// Size in character cells.
    pub rows: u16,
    /// What the kernel confines the whole tree to; `None` = not confined.
    pub confine: Option<Arc<Confinement>>,
}

/// A spawned runner with its pipes (what [`super::spawn_async`] hands back).
#[derive(Debug)]
pub struct Spawned {
    /// The child (owned so it can be reaped).
    pub child: std::process::Child,
    /// Process id (on Unix also its process group id).
    pub pid: i32,
    /// Write end of the runner's stdin.
    pub stdin: Pipe,
    /// Read end of the runner's stdout.
    pub stdout: Pipe,
    /// Read end of the runner's stderr.
    pub stderr: Pipe,
    /// Its tree (process group, job), guarded against the host's death from the spawn on.
    pub containment: Arc<dyn Containment>,
}
