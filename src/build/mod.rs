//! The runner build step: a command (`npm run build`, say) that produces the runner scripts,
//! run before the first agent session that needs it, supervised like every other child
//! (`crate::process`: own process group, parent-death signal, watchdog, SIGTERM→SIGKILL).
//!
//! - [`plan`] decides whether a build is due ([`When`], [`needs_build`]), from the file system
//!   alone.
//! - [`step`] runs one build and reports [`BuildOk`] or a [`BuildFailure`] with the tail of its
//!   output ([`tail`]).
//! - [`builder`] makes the build single-flight per manager: every session start that needs it
//!   waits for the same run, and a success is remembered (a failure is not).
//!
//! Nothing here knows about JS or lifecycle events: the manager asks [`Builder::needed`],
//! calls [`Builder::build`], and emits its own `building` events when [`BuildJoin::started`]
//! says that its call started the run.

pub mod builder;
pub mod options;
pub mod plan;
pub mod step;
pub mod tail;

// The tests run sh scripts as builds; Windows has its own in process/windows/tests.rs.
#[cfg(all(test, unix))]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

pub use builder::{BuildJoin, BuildResult, Builder};
pub use plan::{MAX_WATCH_ENTRIES, When, needs_build};
pub use step::{BuildError, BuildFailure, BuildOk};
pub use tail::{BUILD_OUTPUT_TAIL, LAST_LINE_CHARS, OutputTail};

/// How to build the runners, and when.
#[derive(Debug, Clone)]
pub struct BuildSpec {
    /// Program and arguments; must not be empty. A program without a `/` is looked up in the
    /// `PATH` of [`BuildSpec::env`] (not the host's), when the build starts; a program that
    /// cannot be found or run fails that build with [`BuildError::Spawn`].
    pub command: Vec<String>,
    /// Working directory of the build; the host's when `None`. A folder that does not exist
    /// fails the build with [`BuildError::Spawn`].
    pub cwd: Option<PathBuf>,
    /// When a session start triggers a build.
    pub when: When,
    /// Sources whose changes make the runners stale under [`When::Stale`]: files, or folders
    /// walked recursively (see [`needs_build`] for what the walk skips and its bound).
    pub watch: Vec<PathBuf>,
    /// Longest a build may run: then SIGTERM to its process group, SIGKILL after
    /// [`BuildSpec::kill_grace`], and the build fails with [`BuildError::TimedOut`].
    pub timeout: Duration,
    /// The complete environment of the build: nothing else is inherited from the host.
    pub env: Vec<(String, String)>,
    /// How long the build's group has between SIGTERM and SIGKILL (timeout, cancel, leftovers
    /// after it exited).
    pub kill_grace: Duration,
}

impl BuildSpec {
    /// The command as one line, for messages and logs.
    pub fn command_line(&self) -> String {
        self.command.join(" ")
    }
}
