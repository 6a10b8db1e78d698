//! How stop steps and exits are named for JS (`"SIGTERM"`, `"Terminated by signal SIGKILL"`):
//! the platform knows the names, the data types in [`super::stop`] do not.

use std::fmt;

use super::platform;
use super::stop::{ExitKind, StopStep};

impl StopStep {
    /// What the step is called in lifecycle events (`"SIGTERM"` on Unix).
    pub fn name(self) -> String {
        platform::step_name(self)
    }
}

impl fmt::Display for StopStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl ExitKind {
    /// `(exit code, signal name)` as JS reports them: one of the two is set.
    pub fn parts(self) -> (Option<i64>, Option<String>) {
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
pub fn exit_parts(exit: Option<ExitKind>) -> (Option<i64>, Option<String>) {
    exit.map_or((None, None), ExitKind::parts)
}

/// `SIGTERM` for 15 and so on; `signal N` for a number without a name.
pub fn signal_name(sig: i32) -> String {
    platform::number_name(sig).unwrap_or_else(|| format!("signal {sig}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn unknown_signal_numbers_are_named_by_number() {
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(200), "signal 200");
        assert_eq!(ExitKind::Signal(9).parts(), (None, Some("SIGKILL".into())));
        assert_eq!(exit_parts(Some(ExitKind::Code(3))), (Some(3), None));
        assert_eq!(StopStep::Terminate.name(), "SIGTERM");
    }

    #[test]
    #[cfg(windows)]
    fn windows_names_every_step_by_the_job_termination() {
        assert_eq!(signal_name(15), "signal 15");
        assert_eq!(exit_parts(Some(ExitKind::Code(3))), (Some(3), None));
        assert_eq!(StopStep::Terminate.name(), "terminate-job");
        assert_eq!(StopStep::Kill.to_string(), "terminate-job");
    }
}
