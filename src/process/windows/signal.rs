//! Stop steps on Windows, which has no signals: every step ends the child's whole job
//! (`TerminateJobObject`), and events name it by what was done.

use crate::process::stop::StopStep;

/// What lifecycle events call any step here: the job (every process of the tree) was
/// terminated.
pub const TERMINATE_JOB: &str = "terminate-job";

/// The step's name as lifecycle events report it.
pub fn step_name(_step: StopStep) -> String {
    TERMINATE_JOB.to_owned()
}

/// No exit is ever a signal here.
pub fn number_name(_sig: i32) -> Option<String> {
    None
}

/// The names a terminal's `kill(signal)` accepts on Windows: the ones that mean "end it",
/// all done by terminating its job. Any other signal has no Windows meaning: `None`.
pub fn parse_signal(name: &str) -> Option<StopStep> {
    match name {
        "SIGTERM" => Some(StopStep::Terminate),
        "SIGHUP" => Some(StopStep::HangUp),
        "SIGKILL" => Some(StopStep::Kill),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_terminates_the_job_and_only_ending_signals_parse() {
        assert_eq!(step_name(StopStep::Terminate), "terminate-job");
        assert_eq!(step_name(StopStep::Kill), "terminate-job");
        assert_eq!(parse_signal("SIGKILL"), Some(StopStep::Kill));
        assert_eq!(parse_signal("SIGINT"), None);
        assert_eq!(number_name(15), None);
    }
}
