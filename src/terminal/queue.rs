//! The queue between terminals' readers and the JS thread: events in order, consecutive output
//! of one terminal merged into one piece, one wake-up of JS when the queue goes from empty to
//! non-empty (so a keystroke echo goes out at once and a flood becomes a few large callbacks),
//! and the read-ahead credit of queued output returned when JS takes it.

use std::collections::VecDeque;
use std::sync::Mutex;

use super::session::{Chunk, TerminalEvent, TerminalSink};
use crate::outbox::Credit;
use crate::process::ExitKind;
use crate::util::lock;

/// Schedules a drain on the JS thread; called without any lock held.
pub type Waker = Box<dyn Fn() + Send + Sync>;

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

struct Queued {
    item: Item,
    credit: Option<Credit>,
}

#[derive(Default)]
struct Inner {
    items: VecDeque<Queued>,
    bytes: usize,
    scheduled: bool,
}

/// The terminals' delivery queue of one manager.
pub struct TerminalQueue {
    inner: Mutex<Inner>,
    waker: Mutex<Option<Waker>>,
    batch_cap: usize,
}

impl std::fmt::Debug for TerminalQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalQueue").finish_non_exhaustive()
    }
}

/// Appends output of `token` to `last` when that is output of the same terminal in the same
/// encoding; otherwise gives it back as an item of its own.
fn merge(
    last: &mut Queued,
    token: u64,
    chunk: Chunk,
    credit: Option<Credit>,
) -> Option<(Item, Option<Credit>)> {
    let Item::Data {
        token: t,
        chunk: held,
    } = &mut last.item
    else {
        return Some((Item::Data { token, chunk }, credit));
    };
    if *t != token {
        return Some((Item::Data { token, chunk }, credit));
    }
    match (held, chunk) {
        (Chunk::Text(a), Chunk::Text(b)) => a.push_str(&b),
        (Chunk::Bytes(a), Chunk::Bytes(b)) => a.extend_from_slice(&b),
        (_, chunk) => return Some((Item::Data { token, chunk }, credit)),
    }
    match (&mut last.credit, credit) {
        (Some(held), Some(more)) => held.merge(more),
        (slot @ None, more) => *slot = more,
        (Some(_), None) => {}
    }
    None
}

fn chunk_len(c: &Chunk) -> usize {
    match c {
        Chunk::Text(t) => t.len(),
        Chunk::Bytes(b) => b.len(),
    }
}

impl TerminalQueue {
    /// A queue handing JS at most `batch_cap` bytes of output per drain.
    pub fn new(batch_cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            waker: Mutex::new(None),
            batch_cap,
        }
    }

    /// Connects (or with `None` disconnects) the JS side.
    pub fn set_waker(&self, waker: Option<Waker>) {
        *lock(&self.waker) = waker;
    }

    fn enqueue(&self, item: Item, credit: Option<Credit>) {
        let wake = {
            let mut q = lock(&self.inner);
            let rest = match item {
                Item::Data { token, chunk } => {
                    q.bytes += chunk_len(&chunk);
                    match q.items.back_mut() {
                        Some(last) => merge(last, token, chunk, credit),
                        None => Some((Item::Data { token, chunk }, credit)),
                    }
                }
                other => Some((other, credit)),
            };
            if let Some((item, credit)) = rest {
                q.items.push_back(Queued { item, credit });
            }
            !std::mem::replace(&mut q.scheduled, true)
        };
        if wake && let Some(w) = lock(&self.waker).as_ref() {
            w();
        }
    }

    /// Takes queued items, output up to the batch cap (a single larger piece goes alone), and
    /// whether more is left (then the consumer pulls again itself). Their credit is returned.
    pub fn drain(&self) -> (Vec<Item>, bool) {
        let mut q = lock(&self.inner);
        let mut out = Vec::new();
        let mut taken = 0usize;
        while let Some(front) = q.items.front() {
            let len = match &front.item {
                Item::Data { chunk, .. } => chunk_len(chunk),
                _ => 0,
            };
            if taken > 0 && len > 0 && taken + len > self.batch_cap {
                break;
            }
            let Some(Queued { item, credit }) = q.items.pop_front() else {
                break;
            };
            drop(credit);
            taken += len;
            q.bytes -= len;
            out.push(item);
        }
        let more = !q.items.is_empty();
        q.scheduled = more;
        (out, more)
    }

    /// Output bytes queued now.
    pub fn queued_bytes(&self) -> usize {
        lock(&self.inner).bytes
    }

    /// Drops everything queued (returning its credit) and disconnects JS.
    pub fn close(&self) {
        self.set_waker(None);
        let mut q = lock(&self.inner);
        q.items.clear();
        q.bytes = 0;
        q.scheduled = false;
    }
}

impl TerminalSink for TerminalQueue {
    fn push(&self, token: u64, event: TerminalEvent) {
        match event {
            TerminalEvent::Data(chunk, credit) => self.enqueue(Item::Data { token, chunk }, credit),
            TerminalEvent::Idle(idle) => self.enqueue(Item::Idle { token, idle }, None),
            TerminalEvent::Exit(kind, error) => {
                self.enqueue(Item::Exit { token, kind, error }, None)
            }
            TerminalEvent::Failed(error) => self.enqueue(Item::Failed { token, error }, None),
            TerminalEvent::Lifecycle(json) => self.enqueue(Item::Lifecycle { token, json }, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::*;

    fn queue() -> (Arc<TerminalQueue>, Arc<AtomicUsize>) {
        let q = Arc::new(TerminalQueue::new(8));
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        q.set_waker(Some(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        })));
        (q, wakes)
    }

    fn text(s: &str) -> TerminalEvent {
        TerminalEvent::Data(Chunk::Text(s.into()), None)
    }

    #[test]
    fn one_wake_up_per_empty_to_non_empty_and_output_of_one_terminal_merged() {
        let (q, wakes) = queue();
        q.push(1, text("a"));
        q.push(1, text("b"));
        q.push(2, text("x"));
        q.push(1, text("c"));
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
        q.push(1, text("d"));
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            2,
            "empty again: the next push wakes JS"
        );
    }

    #[test]
    fn an_exit_is_never_merged_or_moved_before_output() {
        let (q, _) = queue();
        q.push(1, text("last"));
        q.push(1, TerminalEvent::Exit(ExitKind::Code(3), None));
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
            q.push(
                1,
                TerminalEvent::Data(
                    Chunk::Bytes(s.as_bytes().to_vec()),
                    Some(Credit::new(sem.clone(), s.len())),
                ),
            );
            q.push(2, TerminalEvent::Idle(true));
        }
        q.push(
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
        assert_eq!(q.queued_bytes(), 0);
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
    }
}
