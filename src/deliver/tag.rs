//! The tags that name entries in a delivery to JS. Written once here; the binding hands them
//! to `index.js` (`wireTags()`), which never spells a tag itself.

/// What an entry of a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Tag {
    /// Agent messages of one session: `[tag, token, [AgentMessage…], [longTextSlots…]?]`.
    Messages = 0,
    /// A session's status change: `[tag, token, status, error?]`.
    Status = 1,
    /// A lifecycle event: `[tag, token, event]` (terminals: the event's JSON text).
    Lifecycle = 2,
    /// A session was removed; JS forgets its token: `[tag, token]`.
    Removed = 3,
    /// A requested resource sample is done: `[tag, 0]`.
    Sampled = 4,
    /// Terminal output (text or bytes).
    Output = 5,
    /// A terminal went idle (`true`) or active.
    Idle = 6,
    /// A terminal's program exited: `[code, signal, limitError]`.
    Exit = 7,
    /// A terminal's program could not start: the error text.
    Failed = 8,
}

impl Tag {
    /// Every tag, for the binding's table.
    pub const ALL: [Tag; 9] = [
        Tag::Messages,
        Tag::Status,
        Tag::Lifecycle,
        Tag::Removed,
        Tag::Sampled,
        Tag::Output,
        Tag::Idle,
        Tag::Exit,
        Tag::Failed,
    ];

    /// The number on the wire.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The name `index.js` knows it by.
    pub fn name(self) -> &'static str {
        match self {
            Tag::Messages => "messages",
            Tag::Status => "status",
            Tag::Lifecycle => "lifecycle",
            Tag::Removed => "removed",
            Tag::Sampled => "sampled",
            Tag::Output => "output",
            Tag::Idle => "idle",
            Tag::Exit => "exit",
            Tag::Failed => "failed",
        }
    }
}
