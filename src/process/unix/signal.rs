//! Stop steps as Unix signals, and signal names.

use std::str::FromStr;

use nix::sys::signal::Signal;

use crate::process::stop::StopStep;

/// The signal a step sends.
pub fn to_signal(step: StopStep) -> Option<Signal> {
    match step {
        StopStep::Terminate => Some(Signal::SIGTERM),
        StopStep::HangUp => Some(Signal::SIGHUP),
        StopStep::Kill => Some(Signal::SIGKILL),
        StopStep::Signal(n) => Signal::try_from(n).ok(),
    }
}

/// The step's signal name (`SIGTERM`), as lifecycle events report it.
pub fn step_name(step: StopStep) -> String {
    match to_signal(step) {
        Some(sig) => sig.as_str().to_owned(),
        None => match step {
            StopStep::Signal(n) => format!("signal {n}"),
            _ => String::new(),
        },
    }
}

/// `SIGTERM` for 15; `None` for a number without a name.
pub fn number_name(sig: i32) -> Option<String> {
    Signal::try_from(sig).ok().map(|s| s.as_str().to_owned())
}

/// The step for a signal name (`SIGINT`); `None` for a name this system does not know.
pub fn parse_signal(name: &str) -> Option<StopStep> {
    Signal::from_str(name).ok().map(|s| match s {
        Signal::SIGTERM => StopStep::Terminate,
        Signal::SIGHUP => StopStep::HangUp,
        Signal::SIGKILL => StopStep::Kill,
        other => StopStep::Signal(other as i32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_the_usual_signals_and_names_round_trip() {
        assert_eq!(step_name(StopStep::Terminate), "SIGTERM");
        assert_eq!(step_name(StopStep::HangUp), "SIGHUP");
        assert_eq!(step_name(StopStep::Kill), "SIGKILL");
        assert_eq!(parse_signal("SIGINT"), Some(StopStep::Signal(libc::SIGINT)));
        assert_eq!(parse_signal("SIGKILL"), Some(StopStep::Kill));
        assert_eq!(parse_signal("SIGNOPE"), None);
        assert_eq!(number_name(15).as_deref(), Some("SIGTERM"));
        assert_eq!(number_name(200), None);
    }
}
