//! How a process is asked to end and how it ended, in words every platform can map: a
//! platform turns a [`StopStep`] into what it has (a signal to a process group, a job
//! termination) and reports an exit as an [`ExitKind`].

/// One step of ending a process tree, from the politest to the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopStep {
    /// Please end (Unix: `SIGTERM`).
    Terminate,
    /// The terminal went away (Unix: `SIGHUP`): what a terminal program ends on.
    HangUp,
    /// End now, no say in it (Unix: `SIGKILL`).
    Kill,
    /// A signal the caller named (a terminal's `kill("SIGINT")`), as the platform's number;
    /// made by [`crate::process::parse_signal`] where the platform has signals.
    Signal(i32),
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Exited with this code. Wide enough for every platform's: Windows exit codes are
    /// unsigned 32-bit (a crash is `0xC0000005` = 3221225477, as Node reports it too).
    Code(i64),
    /// Ended by this signal number (platforms without signals never report one).
    Signal(i32),
}
