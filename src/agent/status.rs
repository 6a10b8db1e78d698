//! One session's status machine: which status changes the callbacks are told about.
//!
//! Status strings are the TypeScript manager's (`running | idle | done | error`). A change is
//! emitted only when it differs from the last one emitted, so callbacks never see the same
//! `(status, error)` twice in a row (the TypeScript manager reported `done` twice after a
//! turn ended and the runner then exited).

use std::fmt;

use crate::process::ExitKind;

/// A session's status, as JS sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// A turn is in progress.
    Running,
    /// Waiting for a prompt (kept for API compatibility; the runner protocol never sets it).
    Idle,
    /// The turn or the session ended normally (or was stopped).
    Done,
    /// The agent or the runner failed.
    Error,
}

impl Status {
    /// Every status, for the binding's contract check.
    pub const ALL: [Status; 4] = [Status::Running, Status::Idle, Status::Done, Status::Error];

    /// The status string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Idle => "idle",
            Status::Done => "done",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something that can change a session's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusEvent {
    /// The runner said `agent_started`.
    AgentStarted,
    /// The runner said `agent_stopped`.
    AgentStopped,
    /// The runner said `agent_error`.
    AgentError(String),
    /// `writePrompt` sent a follow-up query.
    Prompted,
    /// The session ended for a reason of the manager's (a crossed limit): `error`, whatever
    /// the exit.
    Failed(String),
    /// The runner process ended (`stopped`: a stop or remove had been requested).
    Exited {
        /// How it ended.
        kind: ExitKind,
        /// Whether the host had asked it to stop.
        stopped: bool,
    },
}

/// Status bookkeeping for one session.
#[derive(Debug, Clone)]
pub struct StatusMachine {
    current: Status,
    last_emitted: Option<(Status, Option<String>)>,
    terminal: bool,
}

impl Default for StatusMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl StatusMachine {
    /// A session that has just been spawned: `running`, nothing emitted yet.
    pub fn new() -> Self {
        Self {
            current: Status::Running,
            last_emitted: None,
            terminal: false,
        }
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.current
    }

    /// Whether the process has ended (no further changes are accepted).
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// Applies `event`; returns the change to emit, if any.
    pub fn apply(&mut self, event: StatusEvent) -> Option<(Status, Option<String>)> {
        if self.terminal {
            return None;
        }
        let (status, error) = match event {
            StatusEvent::AgentStarted | StatusEvent::Prompted => (Status::Running, None),
            StatusEvent::AgentStopped => (Status::Done, None),
            StatusEvent::AgentError(msg) => (Status::Error, Some(msg)),
            StatusEvent::Failed(msg) => {
                self.terminal = true;
                (Status::Error, Some(msg))
            }
            StatusEvent::Exited { kind, stopped } => {
                self.terminal = true;
                if stopped {
                    (Status::Done, None)
                } else {
                    match kind.error_text() {
                        None => (Status::Done, None),
                        Some(e) => (Status::Error, Some(e)),
                    }
                }
            }
        };
        self.current = status;
        let change = (status, error);
        if self.last_emitted.as_ref() == Some(&change) {
            return None;
        }
        self.last_emitted = Some(change.clone());
        Some(change)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(events: Vec<StatusEvent>) -> Vec<(Status, Option<String>)> {
        let mut m = StatusMachine::new();
        events.into_iter().filter_map(|e| m.apply(e)).collect()
    }

    #[test]
    fn normal_turn_then_exit() {
        let got = run(vec![
            StatusEvent::AgentStarted,
            StatusEvent::AgentStopped,
            StatusEvent::Exited {
                kind: ExitKind::Code(0),
                stopped: false,
            },
        ]);
        assert_eq!(got, vec![(Status::Running, None), (Status::Done, None)]);
    }

    #[test]
    fn crash_reports_exit_code_and_signal() {
        let got = run(vec![
            StatusEvent::AgentStarted,
            StatusEvent::Exited {
                kind: ExitKind::Code(3),
                stopped: false,
            },
        ]);
        assert_eq!(got[1], (Status::Error, Some("Exit code: 3".into())));
        let got = run(vec![StatusEvent::Exited {
            kind: ExitKind::Signal(9),
            stopped: false,
        }]);
        assert_eq!(
            got,
            vec![(
                Status::Error,
                Some(format!(
                    "Terminated by signal {}",
                    crate::process::signal_name(9)
                ))
            )]
        );
    }

    #[test]
    fn stop_ends_in_done_whatever_the_exit() {
        // `done` comes with the exit, not when the grace runs out: the runner is gone then.
        let got = run(vec![
            StatusEvent::AgentStarted,
            StatusEvent::Exited {
                kind: ExitKind::Signal(9),
                stopped: true,
            },
        ]);
        assert_eq!(got, vec![(Status::Running, None), (Status::Done, None)]);
    }

    #[test]
    fn follow_up_turns_and_agent_errors() {
        let got = run(vec![
            StatusEvent::AgentStarted,
            StatusEvent::AgentStopped,
            StatusEvent::Prompted,
            StatusEvent::AgentStarted,
            StatusEvent::AgentError("boom".into()),
            StatusEvent::Exited {
                kind: ExitKind::Code(1),
                stopped: false,
            },
        ]);
        assert_eq!(
            got,
            vec![
                (Status::Running, None),
                (Status::Done, None),
                (Status::Running, None),
                (Status::Error, Some("boom".into())),
                (Status::Error, Some("Exit code: 1".into())),
            ]
        );
    }

    #[test]
    fn nothing_after_terminal() {
        let mut m = StatusMachine::new();
        assert!(
            m.apply(StatusEvent::Exited {
                kind: ExitKind::Code(0),
                stopped: false
            })
            .is_some()
        );
        assert!(m.is_terminal());
        assert_eq!(m.apply(StatusEvent::AgentStarted), None);
        assert_eq!(m.status(), Status::Done);
    }
}
