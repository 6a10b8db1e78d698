//! What to run: the platform-neutral descriptions a kind of child hands the process core.

use std::path::PathBuf;

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
}
