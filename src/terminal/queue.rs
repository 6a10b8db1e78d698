//! What terminals deliver to JS, on the shared delivery queue ([`crate::deliver::Queue`]):
//! events in order, consecutive output of one terminal merged into one piece, one wake-up of
//! JS when the queue goes from empty to non-empty (so a keystroke echo goes out at once and a
//! flood becomes a few large callbacks), the read-ahead credit of queued output returned when
//! JS takes it.

use super::session::{Chunk, TerminalEvent, TerminalSink};
use crate::deliver::{Entry, Queue};
use crate::process::ExitKind;

/// One delivery item.
#[derive(Debug)]
pub enum Item {
    /// Output of terminal `token` (merged runs of it).
    Data {
        /// The terminal.
        token: u64,
        /// The output.
        chunk: Chunk,
    },
    /// Idle (true) or active (false).
    Idle {
        /// The terminal.
        token: u64,
        /// The state.
        idle: bool,
    },
    /// The program exited; nothing of this terminal follows.
    Exit {
        /// The terminal.
        token: u64,
        /// How.
        kind: ExitKind,
        /// The limit that ended it.
        error: Option<String>,
    },
    /// The program could not be started; nothing of this terminal follows.
    Failed {
        /// The terminal.
        token: u64,
        /// The OS error.
        error: String,
    },
    /// A lifecycle event (JSON).
    Lifecycle {
        /// The terminal.
        token: u64,
        /// The event.
        json: String,
    },
}

impl Entry for Item {
    /// Output weighs its bytes; events weigh nothing (they never split a batch).
    fn weight(&self) -> usize {
        match self {
            Item::Data { chunk, .. } => chunk_len(chunk),
            _ => 0,
        }
    }

    /// Output of the same terminal in the same encoding becomes one piece.
    fn merge(&mut self, next: Self, _cap: usize) -> Option<Self> {
        let Item::Data {
            token: t,
            chunk: held,
        } = self
        else {
            return Some(next);
        };
        match next {
            Item::Data { token, chunk } if token == *t => match (held, chunk) {
                (Chunk::Text(a), Chunk::Text(b)) => {
                    a.push_str(&b);
                    None
                }
                (Chunk::Bytes(a), Chunk::Bytes(b)) => {
                    a.extend_from_slice(&b);
                    None
                }
                (_, chunk) => Some(Item::Data { token, chunk }),
            },
            next => Some(next),
        }
    }
}

fn chunk_len(c: &Chunk) -> usize {
    match c {
        Chunk::Text(t) => t.len(),
        Chunk::Bytes(b) => b.len(),
    }
}

/// The terminals' delivery queue of one manager.
pub type TerminalQueue = Queue<Item>;

impl TerminalSink for TerminalQueue {
    fn push(&self, token: u64, event: TerminalEvent) {
        let (item, credit) = match event {
            TerminalEvent::Data(chunk, credit) => (Item::Data { token, chunk }, credit),
            TerminalEvent::Idle(idle) => (Item::Idle { token, idle }, None),
            TerminalEvent::Exit(kind, error) => (Item::Exit { token, kind, error }, None),
            TerminalEvent::Failed(error) => (Item::Failed { token, error }, None),
            TerminalEvent::Lifecycle(json) => (Item::Lifecycle { token, json }, None),
        };
        Queue::push(self, item, credit);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::*;
    use crate::deliver::Credit;

    fn queue() -> (Arc<TerminalQueue>, Arc<AtomicUsize>) {
        let q = Arc::new(TerminalQueue::new(8));
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        q.set_waker(Some(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        })));
        (q, wakes)
    }

    /// The queue as terminals see it.
    fn sink(q: &Arc<TerminalQueue>) -> &dyn TerminalSink {
        &**q
    }

    fn text(s: &str) -> TerminalEvent {
        TerminalEvent::Data(Chunk::Text(s.into()), None)
    }

    #[test]
    fn one_wake_up_per_empty_to_non_empty_and_output_of_one_terminal_merged() {
        let (q, wakes) = queue();
        sink(&q).push(1, text("a"));
        sink(&q).push(1, text("b"));
        sink(&q).push(2, text("x"));
        sink(&q).push(1, text("c"));
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        let (items, more) = q.drain();
        assert!(!more);
        let got: Vec<String> = items
            .iter()
            .map(|i| match i {
                Item::Data {
                    token,
                    chunk: Chunk::Text(t),
                } => format!("{token}:{t}"),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(got, ["1:ab", "2:x", "1:c"]);
        sink(&q).push(1, text("d"));
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            2,
            "empty again: the next push wakes JS"
        );
    }

    #[test]
    fn an_exit_is_never_merged_or_moved_before_output() {
        let (q, _) = queue();
        sink(&q).push(1, text("last"));
        sink(&q).push(1, TerminalEvent::Exit(ExitKind::Code(3), None));
        let (items, _) = q.drain();
        assert!(matches!(items[0], Item::Data { .. }));
        assert!(matches!(
            items[1],
            Item::Exit {
                kind: ExitKind::Code(3),
                ..
            }
        ));
    }

    #[test]
    fn drains_are_capped_and_credit_comes_back_when_taken() {
        let (q, wakes) = queue();
        let sem = Arc::new(Semaphore::new(0));
        for s in ["12345", "xx"] {
            sink(&q).push(
                1,
                TerminalEvent::Data(
                    Chunk::Bytes(s.as_bytes().to_vec()),
                    Some(Credit::new(sem.clone(), s.len())),
                ),
            );
            sink(&q).push(2, TerminalEvent::Idle(true));
        }
        sink(&q).push(
            3,
            TerminalEvent::Data(
                Chunk::Bytes(vec![0; 20]),
                Some(Credit::new(sem.clone(), 20)),
            ),
        );
        assert_eq!(sem.available_permits(), 0);
        let (first, more) = q.drain();
        assert!(more, "the 20-byte piece waits for the next drain");
        assert_eq!(first.len(), 4);
        assert_eq!(sem.available_permits(), 7);
        let (second, more) = q.drain();
        assert!(!more);
        assert_eq!(second.len(), 1, "a piece over the cap goes alone");
        assert_eq!(sem.available_permits(), 27);
        assert_eq!(q.queued_weight(), 0);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
    }
}
