//! What agent sessions deliver to JS: their entries on the shared delivery queue
//! ([`crate::deliver::Queue`]), and the batch they become — one JSON text per drain, so a
//! burst of lines costs one threadsafe-function call.
//!
//! Batch format (a JSON array): `[alive, more, entry…]`, `alive` the number of live runner
//! processes, `more` (0/1) whether entries are left (the consumer then pulls the next batch
//! itself). Each entry starts with its [`Tag`] number and the session's token:
//! `[Messages, token, [AgentMessage…], [slot…]?]`, `[Status, token, status, error?]`,
//! `[Lifecycle, token, event]` (see [`crate::lifecycle`]), `[Removed, token]`,
//! `[Sampled, 0]` (a requested resource sample is done). A batch with no entries only
//! carries a new `alive` count (a runner exited).
//!
//! Long texts travel beside the JSON (see [`LongText`]): the optional fourth element of a
//! messages entry lists, in order, where the batch's next long texts go: `i` means
//! `content.text` of message `i`, `-1 - i` means `content.output` of message `i` (`0` in the
//! JSON until then).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use crate::agent::status::Status;
use crate::deliver::{self, Credit, Queue, Tag, Waker};

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

/// One entry of a session batch.
pub enum SessionEntry {
    /// Messages of one session, in order (merged runs of it).
    Messages {
        /// The session.
        key: Arc<SessionKey>,
        /// The messages.
        run: MessageRun,
        /// Whether their JSON is pure ASCII.
        ascii: bool,
    },
    /// A status change.
    Status {
        /// The session.
        key: Arc<SessionKey>,
        /// The new status.
        status: Status,
        /// Its error text.
        error: Option<String>,
    },
    /// A lifecycle event (JSON).
    Lifecycle {
        /// The session.
        key: Arc<SessionKey>,
        /// The event.
        json: String,
    },
    /// The session was removed.
    Removed(Arc<SessionKey>),
    /// A requested resource sample is done.
    Sampled,
}

impl deliver::Entry for SessionEntry {
    fn weight(&self) -> usize {
        self.size()
    }

    /// Messages of the same session merge while the held ones are under the cap (long
    /// texts count: they are part of what one delivery hands to JS).
    fn merge(&mut self, next: Self, cap: usize) -> Option<Self> {
        match (self, next) {
            (
                SessionEntry::Messages {
                    key,
                    run: queued,
                    ascii,
                },
                SessionEntry::Messages {
                    key: k,
                    run,
                    ascii: a,
                },
            ) if Arc::ptr_eq(key, &k) && queued.body.len() + queued.long_bytes() < cap => {
                queued.append(run);
                *ascii &= a;
                None
            }
            (_, next) => Some(next),
        }
    }
}

impl SessionEntry {
    /// Bytes the entry weighs in a batch (its JSON and its long texts).
    fn size(&self) -> usize {
        match self {
            SessionEntry::Messages { run, .. } => self.json_size() + run.long_bytes(),
            _ => self.json_size(),
        }
    }

    /// About the length of the entry's JSON.
    fn json_size(&self) -> usize {
        match self {
            SessionEntry::Messages { run, key, .. } => {
                run.body.len() + run.long.len() * 11 + key.json.len() + 12
            }
            SessionEntry::Status { key, error, .. } => {
                key.json.len() + error.as_ref().map_or(0, String::len) + 24
            }
            SessionEntry::Lifecycle { key, json } => key.json.len() + json.len() + 8,
            SessionEntry::Removed(key) => key.json.len() + 8,
            SessionEntry::Sampled => 8,
        }
    }

    /// Whether the entry's JSON is pure ASCII.
    fn is_ascii(&self) -> bool {
        match self {
            SessionEntry::Messages { ascii, .. } => *ascii,
            SessionEntry::Status { error, .. } => error.as_deref().is_none_or(str::is_ascii),
            SessionEntry::Lifecycle { json, .. } => json.is_ascii(),
            SessionEntry::Removed(_) | SessionEntry::Sampled => true,
        }
    }

    /// Writes the entry's JSON to `out` and moves its long texts to `long`.
    fn write(self, out: &mut Vec<u8>, long: &mut Vec<LongText>) {
        // `[tag,token` — every entry starts so.
        let open = |out: &mut Vec<u8>, tag: Tag, key: &SessionKey| {
            out.push(b'[');
            out.extend_from_slice(itoa::Buffer::new().format(tag.code()).as_bytes());
            out.push(b',');
            out.extend_from_slice(key.json.as_bytes());
        };
        match self {
            SessionEntry::Messages { key, run, .. } => {
                open(out, Tag::Messages, &key);
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
            SessionEntry::Status { key, status, error } => {
                open(out, Tag::Status, &key);
                out.extend_from_slice(b",\"");
                out.extend_from_slice(status.as_str().as_bytes());
                out.push(b'"');
                if let Some(e) = error {
                    out.push(b',');
                    out.extend_from_slice(serde_json::Value::from(e).to_string().as_bytes());
                }
                out.push(b']');
            }
            SessionEntry::Lifecycle { key, json } => {
                open(out, Tag::Lifecycle, &key);
                out.push(b',');
                out.extend_from_slice(json.as_bytes());
                out.push(b']');
            }
            SessionEntry::Removed(key) => {
                open(out, Tag::Removed, &key);
                out.push(b']');
            }
            SessionEntry::Sampled => {
                out.push(b'[');
                out.extend_from_slice(itoa::Buffer::new().format(Tag::Sampled.code()).as_bytes());
                out.extend_from_slice(b",0]");
            }
        }
    }
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

/// The sessions' delivery queue of one manager, and the count of live runner processes each
/// batch carries.
pub struct Outbox {
    queue: Queue<SessionEntry>,
    alive: AtomicUsize,
    /// The live count changed since the last batch: the next drain reports it even with no
    /// entries.
    alive_changed: AtomicBool,
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
            queue: Queue::new(batch_cap),
            alive: AtomicUsize::new(0),
            alive_changed: AtomicBool::new(false),
        })
    }

    /// Installs the function that schedules a drain (or removes it, on dispose).
    pub fn set_waker(&self, waker: Option<Waker>) {
        self.queue.set_waker(waker);
    }

    /// Queues messages of one session (merged with the previous entry when that holds
    /// messages of the same session), holding `credit` until JS takes them.
    pub fn push_messages(&self, key: &Arc<SessionKey>, run: MessageRun, credit: Option<Credit>) {
        if run.count == 0 {
            return;
        }
        // Checked here, on an I/O thread, so the JS thread can skip UTF-8 decoding.
        let ascii = run.body.is_ascii();
        self.queue.push(
            SessionEntry::Messages {
                key: key.clone(),
                run,
                ascii,
            },
            credit,
        );
    }

    /// Queues a status change.
    pub fn push_status(&self, key: &Arc<SessionKey>, status: Status, error: Option<String>) {
        self.queue.push(
            SessionEntry::Status {
                key: key.clone(),
                status,
                error,
            },
            None,
        );
    }

    /// Queues a lifecycle event (`json`: [`crate::lifecycle::LifecycleEvent::to_json`]).
    pub fn push_lifecycle(&self, key: &Arc<SessionKey>, json: String) {
        self.queue.push(
            SessionEntry::Lifecycle {
                key: key.clone(),
                json,
            },
            None,
        );
    }

    /// Counts a newly spawned runner process as alive.
    pub fn process_started(&self) {
        self.alive.fetch_add(1, Ordering::SeqCst);
    }

    /// Stops counting a runner process as alive, and has JS told (a batch without entries
    /// if nothing else is queued): the count keeps the host's event loop alive.
    pub fn process_ended(&self) {
        self.alive.fetch_sub(1, Ordering::SeqCst);
        self.alive_changed.store(true, Ordering::SeqCst);
        self.queue.wake();
    }

    /// Queues "a requested resource sample is done" (JS resolves `sampleResources()`).
    pub fn push_sampled(&self) {
        self.queue.push(SessionEntry::Sampled, None);
    }

    /// Queues "session removed" (JS drops its callbacks).
    pub fn push_removed(&self, key: &Arc<SessionKey>) {
        self.queue.push(SessionEntry::Removed(key.clone()), None);
    }

    /// Number of runner processes alive.
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }

    /// Takes the next batch as JSON text; `None` when there is nothing to tell. Drained
    /// messages return their read-ahead credit. If entries remain the batch says so (`more`)
    /// and the consumer must call `drain` again.
    pub fn drain(&self) -> Option<BatchText> {
        let (taken, more) = self.queue.drain();
        let alive_changed = self.alive_changed.swap(false, Ordering::SeqCst);
        if taken.is_empty() && !alive_changed {
            return None;
        }
        let cap: usize = taken.iter().map(SessionEntry::json_size).sum::<usize>() + 16;
        let ascii = taken.iter().all(SessionEntry::is_ascii);
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
        self.queue.close();
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::Semaphore;

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
        ob.process_ended();
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
                [0,1,[{"n":1},{"n":2}]],
                [1,2,"error","x\né"],
                [0,1,[{"n":3}]],
                [2,1,{"id":"a","kind":"ready"}],
                [3,2]])
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
    fn an_exit_alone_still_tells_js_the_new_live_count() {
        let (ob, wakes) = counting_outbox(1 << 20);
        ob.process_started();
        ob.process_started();
        assert_eq!(ob.drain(), None, "nothing to tell yet");
        ob.process_ended();
        assert_eq!(wakes.load(Ordering::SeqCst), 1, "the exit wakes JS");
        let batch = ob.drain().unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&batch.json).expect("valid json");
        assert_eq!(v, serde_json::json!([1, 0]));
        assert_eq!(ob.drain(), None, "told once");
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
            serde_json::json!([0, 0, [0, 1, [
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
