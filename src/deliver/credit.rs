//! Read-ahead credit: permits a reader took from its session's semaphore before reading,
//! held by the output while it waits for JS, given back when it is dropped.

use std::sync::Arc;

use tokio::sync::Semaphore;

/// Read-ahead credit held by queued output, returned to the reader when it is dropped.
#[derive(Debug)]
pub struct Credit {
    sem: Arc<Semaphore>,
    permits: usize,
}

impl Credit {
    /// Credit of `permits` taken from `sem` (already acquired and forgotten by the caller).
    pub fn new(sem: Arc<Semaphore>, permits: usize) -> Self {
        Self { sem, permits }
    }

    /// Takes `other`'s permits into this credit. Credits of two different semaphores are not
    /// merged: `other` is dropped, which returns its permits at once.
    pub fn merge(&mut self, other: Credit) {
        if Arc::ptr_eq(&self.sem, &other.sem) {
            self.permits += other.permits;
            std::mem::forget(other);
        }
    }

    /// Merges `other` into `slot`, whichever of the two holds credit.
    pub fn merge_into(slot: &mut Option<Credit>, other: Option<Credit>) {
        match (slot.as_mut(), other) {
            (Some(held), Some(more)) => held.merge(more),
            (None, more) => *slot = more,
            (Some(_), None) => {}
        }
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}
