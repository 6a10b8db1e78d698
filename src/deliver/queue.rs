//! The delivery queue, generic over its entries (see the module docs of [`super`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use super::credit::Credit;
use crate::util::lock;

/// Schedules a drain on the JS thread. Called without any lock held.
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// What a [`Queue`] carries.
pub trait Entry: Sized + Send {
    /// What the entry weighs against the batch cap (its bytes for JS; 0 for a tiny event).
    fn weight(&self) -> usize;

    /// Appends `next` to `self` when both are one piece of output (the same session or
    /// terminal, nothing in between) and `self` weighs less than `cap`; otherwise gives it
    /// back. The default merges nothing.
    fn merge(&mut self, next: Self, cap: usize) -> Option<Self> {
        let _ = cap;
        Some(next)
    }
}

struct Queued<E> {
    entry: E,
    credit: Option<Credit>,
}

struct Inner<E> {
    entries: VecDeque<Queued<E>>,
    weight: usize,
    scheduled: bool,
}

/// One ordered queue to the JS thread.
pub struct Queue<E> {
    inner: Mutex<Inner<E>>,
    waker: Mutex<Option<Waker>>,
    batch_cap: usize,
}

impl<E> std::fmt::Debug for Queue<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Queue")
            .field("batch_cap", &self.batch_cap)
            .finish_non_exhaustive()
    }
}

impl<E: Entry> Queue<E> {
    /// A queue whose drains take at most about `batch_cap` of weight (a single heavier entry
    /// still goes out alone).
    pub fn new(batch_cap: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                entries: VecDeque::new(),
                weight: 0,
                scheduled: false,
            }),
            waker: Mutex::new(None),
            batch_cap,
        }
    }

    /// Installs the function that schedules a drain (or, with `None`, disconnects JS).
    pub fn set_waker(&self, waker: Option<Waker>) {
        *lock(&self.waker) = waker;
    }

    /// Queues `entry` (merged into the last one where [`Entry::merge`] says so) with the
    /// read-ahead `credit` it holds; wakes JS if the queue was idle.
    pub fn push(&self, entry: E, credit: Option<Credit>) {
        let wake = {
            let mut q = lock(&self.inner);
            q.weight += entry.weight();
            let rest = match q.entries.back_mut() {
                Some(last) => match last.entry.merge(entry, self.batch_cap) {
                    None => {
                        Credit::merge_into(&mut last.credit, credit);
                        None
                    }
                    Some(entry) => Some(Queued { entry, credit }),
                },
                None => Some(Queued { entry, credit }),
            };
            if let Some(queued) = rest {
                q.entries.push_back(queued);
            }
            !std::mem::replace(&mut q.scheduled, true)
        };
        if wake && let Some(w) = lock(&self.waker).as_ref() {
            w();
        }
    }

    /// Schedules a drain without queuing anything (the consumer has news outside the
    /// entries), unless one is scheduled already.
    pub fn wake(&self) {
        let wake = !std::mem::replace(&mut lock(&self.inner).scheduled, true);
        if wake && let Some(w) = lock(&self.waker).as_ref() {
            w();
        }
    }

    /// Takes the entries of the next batch, up to the cap, and whether more are left. Their
    /// credit is returned. With entries left no wake-up is sent: the consumer pulls again
    /// itself (JS does it from `setImmediate`, so the host's timers and I/O run between two
    /// batches; a wake-up here would be handled in the same turn and starve them).
    pub fn drain(&self) -> (Vec<E>, bool) {
        let mut q = lock(&self.inner);
        let mut out = Vec::new();
        let mut taken = 0usize;
        while let Some(front) = q.entries.front() {
            let w = front.entry.weight();
            if taken > 0 && w > 0 && taken + w > self.batch_cap {
                break;
            }
            let Some(Queued { entry, credit }) = q.entries.pop_front() else {
                break;
            };
            drop(credit);
            taken += w;
            q.weight -= w;
            out.push(entry);
        }
        let more = !q.entries.is_empty();
        q.scheduled = more;
        (out, more)
    }

    /// Weight queued now (output bytes waiting for JS).
    pub fn queued_weight(&self) -> usize {
        lock(&self.inner).weight
    }

    /// Drops everything queued (returning its credit) and disconnects JS.
    pub fn close(&self) {
        self.set_waker(None);
        let mut q = lock(&self.inner);
        q.entries.clear();
        q.weight = 0;
        q.scheduled = false;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Semaphore;

    use super::*;

    /// Text of one source (`.0`), merged with the next of the same source.
    #[derive(Debug, PartialEq)]
    struct Piece(u8, String);

    impl Entry for Piece {
        fn weight(&self) -> usize {
            self.1.len()
        }
        fn merge(&mut self, next: Self, cap: usize) -> Option<Self> {
            if next.0 != self.0 || self.1.len() >= cap {
                return Some(next);
            }
            self.1.push_str(&next.1);
            None
        }
    }

    fn queue(cap: usize) -> (Queue<Piece>, Arc<AtomicUsize>) {
        let q = Queue::new(cap);
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        q.set_waker(Some(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        })));
        (q, wakes)
    }

    #[test]
    fn merges_in_order_wakes_once_and_caps_drains() {
        let (q, wakes) = queue(4);
        for (src, t) in [(1, "ab"), (1, "c"), (2, "x"), (1, "defgh"), (1, "i")] {
            q.push(Piece(src, t.into()), None);
        }
        assert_eq!(wakes.load(Ordering::SeqCst), 1);
        assert_eq!(q.queued_weight(), 10);
        let (first, more) = q.drain();
        assert!(more);
        assert_eq!(first, [Piece(1, "abc".into()), Piece(2, "x".into())]);
        let (second, more) = q.drain();
        assert!(more);
        assert_eq!(
            second,
            [Piece(1, "defgh".into())],
            "heavier than the cap: alone"
        );
        let (third, more) = q.drain();
        assert!(!more);
        assert_eq!(
            third,
            [Piece(1, "i".into())],
            "nothing merges into a full entry"
        );
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "later batches are pulled, not woken"
        );
    }

    #[test]
    fn credit_comes_back_when_drained_or_closed() {
        let (q, _) = queue(100);
        let sem = Arc::new(Semaphore::new(0));
        q.push(Piece(1, "a".into()), Some(Credit::new(sem.clone(), 5)));
        q.push(Piece(1, "b".into()), Some(Credit::new(sem.clone(), 7)));
        assert_eq!(sem.available_permits(), 0);
        let _ = q.drain();
        assert_eq!(sem.available_permits(), 12);
        q.push(Piece(2, "c".into()), Some(Credit::new(sem.clone(), 3)));
        q.close();
        assert_eq!(sem.available_permits(), 15);
        assert_eq!(q.queued_weight(), 0);
    }
}
