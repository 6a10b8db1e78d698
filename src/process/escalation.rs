//! Stop/kill escalation of one supervised process, as a pure state machine: given what the
//! host asked and what time it is, which [`StopStep`] to take now and when to look again. The
//! supervisor loop ([`super::supervise`]) owns the timers; this type owns the rules. It
//! speaks stop steps, not signals, so every platform uses it as it is.

use std::time::Duration;

use tokio::time::Instant;

use super::stop::StopStep;

/// What the host asks of a running process's supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// A polite stop was sent (an agent's stop line): the first step after the stop grace
    /// if the process is still alive.
    Stop,
    /// End it now: the first step at once, the kill after the kill grace.
    Kill,
    /// End it now with this step instead of the first one, the kill after the kill grace.
    KillWith(StopStep),
}

/// The escalation timers of one process.
#[derive(Debug, Clone)]
pub struct Escalation {
    stop_grace: Duration,
    kill_grace: Duration,
    first: StopStep,
    first_at: Option<Instant>,
    kill_at: Option<Instant>,
}

impl Escalation {
    /// Escalation that sends `first` (`Terminate` for runners) before the kill.
    pub fn new(stop_grace: Duration, kill_grace: Duration, first: StopStep) -> Self {
        Self {
            stop_grace,
            kill_grace,
            first,
            first_at: None,
            kill_at: None,
        }
    }

    /// Applies a request at `now`; returns the signal to send at once, if any.
    ///
    /// A stop arms the first step unless an escalation is already under way; a kill sends
    /// the first step now and arms the kill (an armed kill keeps its earlier deadline).
    pub fn control(&mut self, c: Control, now: Instant) -> Option<StopStep> {
        match c {
            Control::Stop => {
                if self.first_at.is_none() && self.kill_at.is_none() {
                    self.first_at = Some(now + self.stop_grace);
                }
                None
            }
            Control::Kill => self.control(Control::KillWith(self.first), now),
            Control::KillWith(sig) => {
                self.first_at = None;
                self.kill_at.get_or_insert(now + self.kill_grace);
                Some(sig)
            }
        }
    }

    /// When [`Escalation::fire`] has something to do next, if ever.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.first_at, self.kill_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The deadline has come: returns the step it calls for (the first step arms the kill
    /// after the kill grace).
    pub fn fire(&mut self, now: Instant) -> Option<StopStep> {
        if self.first_at.is_some_and(|t| t <= now) {
            self.first_at = None;
            self.kill_at = Some(now + self.kill_grace);
            return Some(self.first);
        }
        if self.kill_at.is_some_and(|t| t <= now) {
            self.kill_at = None;
            return Some(StopStep::Kill);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STOP: Duration = Duration::from_millis(3000);
    const KILL: Duration = Duration::from_millis(2000);

    fn esc() -> Escalation {
        Escalation::new(STOP, KILL, StopStep::Terminate)
    }

    #[test]
    fn stop_then_term_after_the_stop_grace_then_kill() {
        let t0 = Instant::now();
        let mut e = esc();
        assert_eq!(e.deadline(), None);
        assert_eq!(e.control(Control::Stop, t0), None);
        assert_eq!(e.deadline(), Some(t0 + STOP));
        assert_eq!(e.fire(t0 + STOP - Duration::from_millis(1)), None);
        assert_eq!(e.fire(t0 + STOP), Some(StopStep::Terminate));
        assert_eq!(e.deadline(), Some(t0 + STOP + KILL));
        assert_eq!(e.fire(t0 + STOP + KILL), Some(StopStep::Kill));
        assert_eq!(e.deadline(), None);
        assert_eq!(e.fire(t0 + STOP + KILL * 10), None);
    }

    #[test]
    fn a_second_stop_does_not_restart_the_grace() {
        let t0 = Instant::now();
        let mut e = esc();
        e.control(Control::Stop, t0);
        e.control(Control::Stop, t0 + Duration::from_millis(2500));
        assert_eq!(e.deadline(), Some(t0 + STOP));
    }

    #[test]
    fn kill_signals_at_once_and_overrides_a_pending_stop() {
        let t0 = Instant::now();
        let mut e = esc();
        e.control(Control::Stop, t0);
        let t1 = t0 + Duration::from_millis(100);
        assert_eq!(e.control(Control::Kill, t1), Some(StopStep::Terminate));
        assert_eq!(e.deadline(), Some(t1 + KILL), "the stop grace is cancelled");
        // A second kill repeats the first step but keeps the kill deadline.
        assert_eq!(
            e.control(Control::Kill, t1 + KILL / 2),
            Some(StopStep::Terminate)
        );
        assert_eq!(e.deadline(), Some(t1 + KILL));
        assert_eq!(e.fire(t1 + KILL), Some(StopStep::Kill));
    }

    #[test]
    fn a_stop_during_a_kill_changes_nothing() {
        let t0 = Instant::now();
        let mut e = esc();
        e.control(Control::Kill, t0);
        assert_eq!(e.control(Control::Stop, t0), None);
        assert_eq!(e.deadline(), Some(t0 + KILL));
    }

    #[test]
    fn kill_with_sends_that_signal_then_sigkill() {
        let t0 = Instant::now();
        let mut e = esc();
        assert_eq!(
            e.control(Control::KillWith(StopStep::Signal(2)), t0),
            Some(StopStep::Signal(2))
        );
        assert_eq!(e.fire(t0 + KILL), Some(StopStep::Kill));
    }

    #[test]
    fn the_first_signal_is_the_callers() {
        let t0 = Instant::now();
        let mut e = Escalation::new(STOP, KILL, StopStep::HangUp);
        assert_eq!(e.control(Control::Kill, t0), Some(StopStep::HangUp));
    }
}
