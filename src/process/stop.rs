//! How a process is asked to end and how it ended, in words every platform can map: a
//! platform turns a [`StopStep`] into what it has (a signal to a process group, a job
//! termination) and reports an exit as an [`ExitKind`].

use std::fmt;

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

impl StopStep {
    /// What the step is called in lifecycle events (`"SIGTERM"` on Unix).
    pub fn name(self) -> String {
        super::os_signal_name(self)
    }
}

impl fmt::Display for StopStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// Exited with this code.
    Code(i32),
    /// Ended by this signal number (platforms without signals never report one).
    Signal(i32),
}

impl ExitKind {
    /// `(exit code, signal name)` as JS reports them: one of the two is set.
    pub fn parts(self) -> (Option<i32>, Option<String>) {
        match self {
            ExitKind::Code(c) => (Some(c), None),
            ExitKind::Signal(s) => (None, Some(signal_name(s))),
        }
    }

    /// The error text the status callback gets for an abnormal exit, `None` for code 0.
    pub fn error_text(self) -> Option<String> {
        match self {
            ExitKind::Code(0) => None,
            ExitKind::Code(c) => Some(format!("Exit code: {c}")),
            ExitKind::Signal(s) => Some(format!("Terminated by signal {}", signal_name(s))),
        }
    }
}

/// `(exit code, signal name)` of an exit that may not have happened yet.
pub fn exit_parts(exit: Option<ExitKind>) -> (Option<i32>, Option<String>) {
    exit.map_or((None, None), ExitKind::parts)
}

/// `SIGTERM` for 15 and so on; `signal N` for a number without a name.
pub fn signal_name(sig: i32) -> String {
    super::os_signal_number_name(sig).unwrap_or_else(|| format!("signal {sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_signal_numbers_are_named_by_number() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(200), "signal 200");
        assert_eq!(ExitKind::Signal(9).parts(), (None, Some("SIGKILL".into())));
        assert_eq!(exit_parts(Some(ExitKind::Code(3))), (Some(3), None));
        assert_eq!(StopStep::Terminate.name(), "SIGTERM");
    }
}
