//! The supervisor loop: waits for a process to exit while applying the host's stop/kill
//! requests through an [`Escalation`]. Used by [`super::run`], never by a kind of child
//! directly.

use std::future::Future;
use std::io;

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::escalation::{Control, Escalation};
use super::stop::StopStep;

/// Why [`supervise`] takes a stop step now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepCause {
    /// A control asked for it (kill, remove).
    Requested,
    /// The stop grace ran out.
    StopGrace,
    /// The kill grace ran out (the last step).
    KillGrace,
}

impl StepCause {
    /// The text of a lifecycle `signal` event's `why` (a [`StepCause::Requested`] signal is
    /// described by its caller, who knows what asked for it).
    pub fn as_str(self) -> &'static str {
        match self {
            StepCause::Requested => "requested",
            StepCause::StopGrace => "stop grace elapsed",
            StepCause::KillGrace => "kill grace elapsed",
        }
    }
}

/// Runs until `exited` resolves, taking the stop steps `escalation` calls for through `signal`
/// as requests arrive on `ctrl` and its deadlines pass. Never blocks a thread: every wait is
/// a timer or a channel.
pub async fn supervise(
    exited: impl Future<Output = io::Result<()>>,
    ctrl: &mut mpsc::UnboundedReceiver<Control>,
    escalation: &mut Escalation,
    mut signal: impl FnMut(StopStep, StepCause),
) -> io::Result<()> {
    tokio::pin!(exited);
    let mut ctrl_open = true;
    loop {
        let deadline = escalation.deadline();
        tokio::select! {
            r = &mut exited => return r,
            c = ctrl.recv(), if ctrl_open => match c {
                Some(c) => {
                    if let Some(sig) = escalation.control(c, Instant::now()) {
                        signal(sig, StepCause::Requested);
                    }
                }
                None => ctrl_open = false,
            },
            _ = sleep_until(deadline), if deadline.is_some() => {
                if let Some(sig) = escalation.fire(Instant::now()) {
                    // A timer takes either the first step (the stop grace ran out) or the
                    // kill (the kill grace did); the first step is never the kill.
                    let why = if sig == StopStep::Kill { StepCause::KillGrace } else { StepCause::StopGrace };
                    signal(sig, why);
                }
            }
        }
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::*;

    /// Runs `supervise` on paused time with a fake process that exits when `exit` is sent;
    /// returns the (elapsed, signal) pairs it sent.
    async fn run_until_exit(
        requests: Vec<(Duration, Control)>,
        exit_after: Duration,
    ) -> Vec<(Duration, StopStep)> {
        let t0 = Instant::now();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            for (at, c) in requests {
                tokio::time::sleep_until(t0 + at).await;
                let _ = tx.send(c);
            }
        });
        let exited = async move {
            tokio::time::sleep_until(t0 + exit_after).await;
            Ok(())
        };
        let mut esc = Escalation::new(
            Duration::from_millis(3000),
            Duration::from_millis(2000),
            StopStep::Terminate,
        );
        let log = sent.clone();
        supervise(exited, &mut rx, &mut esc, move |s, _| {
            crate::util::lock(&log).push((t0.elapsed(), s));
        })
        .await
        .expect("supervise");
        crate::util::lock(&sent).clone()
    }

    #[tokio::test(start_paused = true)]
    async fn stop_escalates_on_time_until_the_process_exits() {
        let sent = run_until_exit(
            vec![(Duration::ZERO, Control::Stop)],
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            sent,
            vec![
                (Duration::from_millis(3000), StopStep::Terminate),
                (Duration::from_millis(5000), StopStep::Kill),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_exit_before_the_grace_sends_nothing() {
        let sent = run_until_exit(
            vec![(Duration::ZERO, Control::Stop)],
            Duration::from_millis(2999),
        )
        .await;
        assert_eq!(sent, vec![]);
    }

    #[tokio::test(start_paused = true)]
    async fn kill_during_the_stop_grace_signals_at_once() {
        let sent = run_until_exit(
            vec![
                (Duration::ZERO, Control::Stop),
                (Duration::from_millis(1000), Control::Kill),
            ],
            Duration::from_secs(60),
        )
        .await;
        assert_eq!(
            sent,
            vec![
                (Duration::from_millis(1000), StopStep::Terminate),
                (Duration::from_millis(3000), StopStep::Kill),
            ]
        );
    }
}
