//! The queue between the I/O threads and the JS thread.
//!
//! Readers push messages and status changes here in the order they happen; one drain on the
//! JS thread takes everything queued (up to a size cap) as a single JSON text, so a burst of
//! lines costs one threadsafe-function call. At most one drain is scheduled at a time, so the
//! threadsafe function's own queue never grows.
//!
//! Batch format (a JSON array, first element the number of live runner processes):
//! `[alive, more, ["m", token, [AgentMessage…], [i…]?], ["s", token, status, error?], ["l", token, event], ["x", token], ["r", token]]`
//! where `more` (0/1) says entries are left: the consumer then pulls the next batch itself.
//! — messages, status change, lifecycle event (see [`crate::lifecycle`]), process exited,
//! session removed; `["u", 0]`: a requested resource sample is done.
//!
//! Long texts travel beside the JSON (see [`LongText`]): the optional fourth element of an
//! `"m"` entry lists, in order, where the batch's next long texts go: `i` means
//! `content.text` of message `i`, `-1 - i` means `content.output` of message `i` (`0` in the
//! JSON until then).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::status::Status;
use crate::util::lock;

/// A session's id and the token that names it in batches.
///
/// Batches name sessions by a per-manager token, not by id: a session removed and started
/// again under the same id gets a new token, so output of the old one still in flight can
/// never reach the new one's callbacks.
#[derive(Debug)]
pub struct SessionKey {
    /// The id.
    pub id: String,
    /// The token.
    pub token: u64,
    /// The token, as written in batches.
    pub json: String,
}

impl SessionKey {
    /// Wraps `id` with `token`.
    pub fn new(id: &str, token: u64) -> Arc<Self> {
        Arc::new(Self {
            id: id.to_owned(),
            token,
            json: token.to_string(),
        })
    }
}

/// Read-ahead credit held by queued messages, returned to the reader when they are drained.
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

    /// Takes `other`'s permits into this credit (both from the same semaphore).
    pub(crate) fn merge(&mut self, other: Credit) {
        if Arc::ptr_eq(&self.sem, &other.sem) {
            self.permits += other.permits;
            std::mem::forget(other);
        }
        // Different semaphores cannot happen for one session; `other` drops and returns its
        // permits in that case.
    }
}

impl Drop for Credit {
    fn drop(&mut self) {
        self.sem.add_permits(self.permits);
    }
}

/// A long string value taken out of a message's JSON: JS receives it as a string of its own,
/// made straight from these bytes, so it is neither copied into the batch text nor scanned by
/// `JSON.parse` (for an 8 MiB text that is most of the JS thread's work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongText {
    /// Index of its message within its run.
    pub index: u32,
    /// Which field of the message's `content` it is.
    pub field: TextField,
    /// The string's UTF-8 bytes (a JSON string literal's contents that needed no unescaping).
    pub bytes: Vec<u8>,
    /// Whether every byte is ASCII (then JS takes it as Latin-1, a plain copy).
    pub ascii: bool,
}

/// The `content` field a [`LongText`] belongs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// `content.text` (text and thinking messages).
    Text,
    /// `content.output` (tool results).
    Output,
}

/// Messages of one session produced by one read, in order.
#[derive(Debug, Default)]
pub struct MessageRun {
    /// Comma-separated `AgentMessage` JSON objects.
    pub body: Vec<u8>,
    /// How many messages `body` holds.
    pub count: u32,
    /// Texts taken out of the messages, by message index, in order.
    pub long: Vec<LongText>,
}

impl MessageRun {
    fn append(&mut self, mut other: MessageRun) {
        if !self.body.is_empty() && !other.body.is_empty() {
            self.body.push(b',');
        }
        self.body.extend_from_slice(&other.body);
        for t in &mut other.long {
            t.index += self.count;
        }
        self.long.append(&mut other.long);
        self.count += other.count;
    }

    fn long_bytes(&self) -> usize {
        self.long.iter().map(|t| t.bytes.len()).sum()
    }
}

enum Entry {
    Messages {
        key: Arc<SessionKey>,
        run: MessageRun,
        ascii: bool,
        _credit: Option<Credit>,
    },
    Status {
        key: Arc<SessionKey>,
        status: Status,
        error: Option<String>,
    },
    Lifecycle {
        key: Arc<SessionKey>,
        json: String,
    },
    Exited(Arc<SessionKey>),
    Removed(Arc<SessionKey>),
    Sampled,
}

impl Entry {
    /// Bytes the entry weighs in a batch (its JSON and its long texts).
    fn size(&self) -> usize {
        match self {
            Entry::Messages { run, .. } => self.json_size() + run.long_bytes(),
            _ => self.json_size(),
        }
    }

    /// About the length of the entry's JSON.
    fn json_size(&self) -> usize {
        match self {
            Entry::Messages { run, key, .. } => {
                run.body.len() + run.long.len() * 11 + key.json.len() + 12
            }
            Entry::Status { key, error, .. } => {
                key.json.len() + error.as_ref().map_or(0, String::len) + 24
            }
            Entry::Lifecycle { key, json } => key.json.len() + json.len() + 8,
            Entry::Exited(key) | Entry::Removed(key) => key.json.len() + 8,
            Entry::Sampled => 8,
        }
    }

    /// Whether the entry's JSON is pure ASCII.
    fn is_ascii(&self) -> bool {
        match self {
            Entry::Messages { ascii, .. } => *ascii,
            Entry::Status { error, .. } => error.as_deref().is_none_or(str::is_ascii),
            Entry::Lifecycle { json, .. } => json.is_ascii(),
            Entry::Exited(_) | Entry::Removed(_) | Entry::Sampled => true,
        }
    }

    /// Writes the entry's JSON to `out` and moves its long texts to `long`.
    fn write(self, out: &mut Vec<u8>, long: &mut Vec<LongText>) {
        match self {
            Entry::Messages { key, run, .. } => {
                out.extend_from_slice(b"[\"m\",");
                out.extend_from_slice(key.json.as_bytes());
                out.extend_from_slice(b",[");
                out.extend_from_slice(&run.body);
                out.push(b']');
                if !run.long.is_empty() {
                    out.extend_from_slice(b",[");
                    let mut digits = itoa::Buffer::new();
                    for (n, t) in run.long.iter().enumerate() {
                        if n > 0 {
                            out.push(b',');
                        }
                        let at = i64::from(t.index);
                        let at = match t.field {
                            TextField::Text => at,
                            TextField::Output => -1 - at,
                        };
                        out.extend_from_slice(digits.format(at).as_bytes());
                    }
                    out.push(b']');
                }
                out.push(b']');
                long.extend(run.long);
            }
            Entry::Status { key, status, error } => {
                out.extend_from_slice(b"[\"s\",");
                out.extend_from_slice(key.json.as_bytes());
                out.extend_from_slice(b",\"");
                out.extend_from_slice(status.as_str().as_bytes());
                out.push(b'"');
                if let Some(e) = error {
                    out.push(b',');
                    out.extend_from_slice(serde_json::Value::from(e).to_string().as_bytes());
                }
                out.push(b']');
            }
            Entry::Lifecycle { key, json } => {
                out.extend_from_slice(b"[\"l\",");
                out.extend_from_slice(key.json.as_bytes());
                out.push(b',');
                out.extend_from_slice(json.as_bytes());
                out.push(b']');
            }
            Entry::Exited(key) => {
                out.extend_from_slice(b"[\"x\",");
                out.extend_from_slice(key.json.as_bytes());
                out.push(b']');
            }
            Entry::Removed(key) => {
                out.extend_from_slice(b"[\"r\",");
                out.extend_from_slice(key.json.as_bytes());
                out.push(b']');
            }
            Entry::Sampled => out.extend_from_slice(b"[\"u\",0]"),
        }
    }
}

#[derive(Default)]
struct Inner {
    entries: VecDeque<Entry>,
    scheduled: bool,
}

/// One batch for JS: UTF-8 JSON text (every piece is serde_json output, validated runner
/// text or ASCII punctuation), and whether it is pure ASCII (then JS can take it as Latin-1,
/// a plain copy, instead of decoding UTF-8), plus the long texts of its messages.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchText {
    /// The JSON bytes.
    pub json: Vec<u8>,
    /// Whether every byte is ASCII.
    pub ascii: bool,
    /// Long texts of the batch's messages, in order (see [`LongText`]).
    pub long: Vec<LongText>,
}

/// Schedules a drain on the JS thread. Called without any lock held.
pub type Waker = Box<dyn Fn() + Send + Sync>;

/// The ordered queue of everything waiting to be delivered to JS.
pub struct Outbox {
    inner: Mutex<Inner>,
    waker: Mutex<Option<Waker>>,
    alive: AtomicUsize,
    batch_cap: usize,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("alive", &self.alive.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl Outbox {
    /// An outbox whose drains return at most about `batch_cap` bytes (a single larger entry
    /// still goes out alone).
    pub fn new(batch_cap: usize) -> Arc<Self> {
        Arc::new(Self {
            inner: Mutex::new(Inner::default()),
            waker: Mutex::new(None),
            alive: AtomicUsize::new(0),
            batch_cap,
        })
    }

    /// Installs the function that schedules a drain (or removes it, on dispose).
    pub fn set_waker(&self, waker: Option<Waker>) {
        *lock(&self.waker) = waker;
    }

    fn wake(&self) {
        if let Some(w) = lock(&self.waker).as_ref() {
            w();
        }
    }

    fn push(&self, entry: Entry) {
        let schedule = {
            let mut inner = lock(&self.inner);
            inner.entries.push_back(entry);
            !std::mem::replace(&mut inner.scheduled, true)
        };
        if schedule {
            self.wake();
        }
    }

    /// Queues messages of one session, merging with the previous entry when it holds
    /// messages of the same session.
    pub fn push_messages(&self, key: &Arc<SessionKey>, run: MessageRun, credit: Option<Credit>) {
        let mut credit = credit;
        if run.count == 0 {
            return;
        }
        // Checked here, on an I/O thread, so the JS thread can skip UTF-8 decoding.
        let body_ascii = run.body.is_ascii();
        let schedule = {
            let mut inner = lock(&self.inner);
            let mut run = Some(run);
            if let Some(Entry::Messages {
                key: k,
                run: queued,
                ascii,
                _credit: c,
            }) = inner.entries.back_mut()
                && Arc::ptr_eq(k, key)
                // Long texts count: they are part of what one delivery hands to JS.
                && queued.body.len() + queued.long_bytes() < self.batch_cap
                && let Some(r) = run.take()
            {
                queued.append(r);
                *ascii &= body_ascii;
                match (c.as_mut(), credit.take()) {
                    (Some(c), Some(n)) => c.merge(n),
                    (None, Some(n)) => *c = Some(n),
                    (_, None) => {}
                }
            }
            if let Some(run) = run {
                inner.entries.push_back(Entry::Messages {
                    key: key.clone(),
                    run,
                    ascii: body_ascii,
                    _credit: credit,
                });
            }
            !std::mem::replace(&mut inner.scheduled, true)
        };
        if schedule {
            self.wake();
        }
    }

    /// Queues a status change.
    pub fn push_status(&self, key: &Arc<SessionKey>, status: Status, error: Option<String>) {
        self.push(Entry::Status {
            key: key.clone(),
            status,
            error,
        });
    }

    /// Queues a lifecycle event (`json`: [`crate::lifecycle::LifecycleEvent::to_json`]).
    pub fn push_lifecycle(&self, key: &Arc<SessionKey>, json: String) {
        self.push(Entry::Lifecycle {
            key: key.clone(),
            json,
        });
    }

    /// Counts a newly spawned runner process as alive.
    pub fn process_started(&self) {
        self.alive.fetch_add(1, Ordering::SeqCst);
    }

    /// Queues "process exited" and stops counting it as alive.
    pub fn push_exited(&self, key: &Arc<SessionKey>) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
        self.push(Entry::Exited(key.clone()));
    }

    /// Queues "a requested resource sample is done" (JS resolves `sampleResources()`).
    pub fn push_sampled(&self) {
        self.push(Entry::Sampled);
    }

    /// Queues "session removed" (JS drops its callbacks).
    pub fn push_removed(&self, key: &Arc<SessionKey>) {
        self.push(Entry::Removed(key.clone()));
    }

    /// Number of runner processes alive.
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }

    /// Takes the next batch as JSON text; `None` when nothing is queued. Drained messages
    /// return their read-ahead credit. If entries remain the batch says so (`more`), no new
    /// wake-up is sent, and the consumer must call `drain` again.
    pub fn drain(&self) -> Option<BatchText> {
        let mut taken = Vec::new();
        let more = {
            let mut inner = lock(&self.inner);
            let mut size = 0;
            while let Some(e) = inner.entries.front() {
                let s = e.size();
                if !taken.is_empty() && size + s > self.batch_cap {
                    break;
                }
                size += s;
                if let Some(e) = inner.entries.pop_front() {
                    taken.push(e);
                }
            }
            let more = !inner.entries.is_empty();
            inner.scheduled = more;
            more
        };
        // With entries left, the consumer pulls the next batch itself (JS does it from
        // `setImmediate`), so timers and I/O of the host run between two batches; a wake-up
        // here would be handled in the same event-loop turn and starve them during a flood.
        if taken.is_empty() {
            return None;
        }
        let cap: usize = taken.iter().map(Entry::json_size).sum::<usize>() + 16;
        let ascii = taken.iter().all(Entry::is_ascii);
        let mut out = Vec::with_capacity(cap);
        let mut long = Vec::new();
        out.push(b'[');
        out.extend_from_slice(self.alive().to_string().as_bytes());
        out.extend_from_slice(if more { b",1" } else { b",0" });
        for e in taken {
            out.push(b',');
            e.write(&mut out, &mut long);
        }
        out.push(b']');
        Some(BatchText {
            json: out,
            ascii,
            long,
        })
    }

    /// Drops everything queued (returning its credit) and never wakes JS again.
    pub fn close(&self) {
        self.set_waker(None);
        lock(&self.inner).entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// A run of `count` messages with body `body` and no long texts.
    fn run(body: &[u8], count: u32) -> MessageRun {
        MessageRun {
            body: body.to_vec(),
            count,
            long: Vec::new(),
        }
    }

    fn counting_outbox(cap: usize) -> (Arc<Outbox>, Arc<AtomicUsize>) {
        let ob = Outbox::new(cap);
        let wakes = Arc::new(AtomicUsize::new(0));
        let w = wakes.clone();
        ob.set_waker(Some(Box::new(move || {
            w.fetch_add(1, Ordering::SeqCst);
        })));
        (ob, wakes)
    }

    #[test]
    fn batches_in_order_and_merges_messages_of_one_session() {
        let (ob, wakes) = counting_outbox(1 << 20);
        let a = SessionKey::new("a", 1);
        let b = SessionKey::new("b", 2);
        ob.process_started();
        ob.push_messages(&a, run(b"{\"n\":1}", 1), None);
        ob.push_messages(&a, run(b"{\"n\":2}", 1), None);
        ob.push_status(&b, Status::Error, Some("x\né".into()));
        ob.push_messages(&a, run(b"{\"n\":3}", 1), None);
        ob.push_lifecycle(&a, r#"{"id":"a","kind":"ready"}"#.into());
        ob.push_exited(&a);
        ob.push_removed(&b);
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "one drain scheduled for the burst"
        );
        let batch = ob.drain().unwrap_or_default();
        assert!(!batch.ascii, "the status error is not ASCII");
        let v: serde_json::Value = serde_json::from_slice(&batch.json).expect("valid json");
        assert_eq!(
            v,
            serde_json::json!([0, 0,
                ["m",1,[{"n":1},{"n":2}]],
                ["s",2,"error","x\né"],
                ["m",1,[{"n":3}]],
                ["l",1,{"id":"a","kind":"ready"}],
                ["x",1],
                ["r",2]])
        );
        assert_eq!(ob.drain(), None);
        ob.push_status(&a, Status::Done, None);
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            2,
            "a new push after a drain schedules again"
        );
    }

    #[test]
    fn long_texts_travel_beside_the_json_with_their_message_indexes() {
        let (ob, _) = counting_outbox(1 << 20);
        let a = SessionKey::new("a", 1);
        let long = |index, field, text: &str| LongText {
            index,
            field,
            bytes: text.as_bytes().to_vec(),
            ascii: text.is_ascii(),
        };
        ob.push_messages(
            &a,
            MessageRun {
                body: br#"{"n":0},{"n":1,"content":{"text":0}}"#.to_vec(),
                count: 2,
                long: vec![long(1, TextField::Text, "first")],
            },
            None,
        );
        // Merged into the same entry: its indexes move past the two messages before it.
        ob.push_messages(
            &a,
            MessageRun {
                body: br#"{"n":2,"content":{"output":0}}"#.to_vec(),
                count: 1,
                long: vec![long(0, TextField::Output, "sécond")],
            },
            None,
        );
        ob.push_messages(&a, run(b"{\"n\":3}", 1), None);
        let batch = ob.drain().unwrap_or_default();
        assert!(batch.ascii, "the JSON itself stays ASCII");
        let v: serde_json::Value = serde_json::from_slice(&batch.json).expect("valid json");
        assert_eq!(
            v,
            serde_json::json!([0, 0, ["m", 1, [
                {"n":0}, {"n":1,"content":{"text":0}}, {"n":2,"content":{"output":0}}, {"n":3}
            ], [1, -3]]])
        );
        assert_eq!(
            batch.long,
            vec![
                long(1, TextField::Text, "first"),
                long(2, TextField::Output, "sécond")
            ]
        );
        assert!(!batch.long[1].ascii);
    }

    #[test]
    fn long_texts_count_toward_the_batch_cap() {
        let (ob, _) = counting_outbox(100);
        let a = SessionKey::new("a", 1);
        for _ in 0..10 {
            ob.push_messages(
                &a,
                MessageRun {
                    body: br#"{"content":{"text":0}}"#.to_vec(),
                    count: 1,
                    long: vec![LongText {
                        index: 0,
                        field: TextField::Text,
                        bytes: vec![b'x'; 60],
                        ascii: true,
                    }],
                },
                None,
            );
        }
        let mut batches = 0;
        while let Some(t) = ob.drain() {
            batches += 1;
            assert!(t.long.len() <= 2, "{} texts in one batch", t.long.len());
        }
        assert!(batches >= 5, "{batches}");
    }

    #[test]
    fn drain_respects_the_batch_cap_and_reschedules() {
        let (ob, wakes) = counting_outbox(64);
        let a = SessionKey::new("a", 1);
        let b = SessionKey::new("b", 2);
        for i in 0..10 {
            // Alternate sessions so nothing merges.
            let k = if i % 2 == 0 { &a } else { &b };
            ob.push_messages(k, run(&[b'1'; 30], 1), None);
        }
        let mut batches = 0;
        let mut entries = 0;
        while let Some(t) = ob.drain() {
            batches += 1;
            assert!(t.ascii);
            let v: serde_json::Value = serde_json::from_slice(&t.json).expect("json");
            entries += v.as_array().map_or(0, |a| a.len() - 2);
        }
        assert_eq!(entries, 10);
        assert!(batches >= 5, "cap splits the queue: {batches}");
        assert_eq!(
            wakes.load(Ordering::SeqCst),
            1,
            "later batches are pulled, not woken"
        );
    }

    #[test]
    fn credit_returns_permits_when_drained_or_closed() {
        let (ob, _) = counting_outbox(1 << 20);
        let sem = Arc::new(Semaphore::new(100));
        let a = SessionKey::new("a", 1);
        for _ in 0..2 {
            if let Ok(p) = sem.clone().try_acquire_many_owned(40) {
                p.forget();
            }
            ob.push_messages(&a, run(b"1", 1), Some(Credit::new(sem.clone(), 40)));
        }
        assert_eq!(sem.available_permits(), 20);
        assert!(ob.drain().is_some());
        assert_eq!(sem.available_permits(), 100);
        if let Ok(p) = sem.clone().try_acquire_many_owned(50) {
            p.forget();
        }
        ob.push_messages(&a, run(b"1", 1), Some(Credit::new(sem.clone(), 50)));
        ob.close();
        assert_eq!(sem.available_permits(), 100);
    }
}
