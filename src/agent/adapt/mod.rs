//! Provider event → [`AgentMessage`] mapping.
//!
//! A Rust port of the baseline `message-adapter.ts`: one raw provider event
//! (already unwrapped from the runner's `agent_event` envelope) becomes zero or
//! more provider-neutral messages. The output must be indistinguishable from
//! what the TypeScript adapter hands to `JSON.stringify`, so every coercion
//! rule of the original (`asString`, `asNumber`, `??`, keys that would be
//! `undefined` and therefore vanish) is reproduced exactly here.
//!
//! This runs on every NDJSON line the runners emit, and single lines can be
//! megabytes (tool outputs, file contents), so the event is taken by value and
//! its parts are moved into the messages instead of being cloned.

use serde::Serialize;
use serde_json::{Map, Number, Value};

pub mod claude;
pub mod codex;
pub mod fast;
pub mod ollama;

#[cfg(test)]
mod tests;

/// A raw provider event: the JSON object the runner emitted.
type Raw = Map<String, Value>;

/// Which mapping to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapter {
    /// Claude Agent SDK / `claude --output-format stream-json` messages.
    Claude,
    /// `codex exec --json` thread/turn/item events.
    Codex,
    /// The ollama runner's system/chunk/error events.
    Ollama,
}

impl Adapter {
    /// `"codex"` -> [`Adapter::Codex`], `"ollama"` -> [`Adapter::Ollama`], anything
    /// else (including `"claude"` and unknown provider ids) -> [`Adapter::Claude`].
    ///
    /// Claude is the fallback because its stream-json format is what third-party
    /// runners imitate, and its mapping degrades to `unknown` messages for
    /// anything it does not recognise, so nothing is lost.
    pub fn for_provider(provider: &str) -> Adapter {
        match provider {
            "codex" => Adapter::Codex,
            "ollama" => Adapter::Ollama,
            _ => Adapter::Claude,
        }
    }
}

/// The AgentMessage type strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageType {
    /// Session start: session id, model, cwd, tools.
    Init,
    /// Assistant-visible text.
    Text,
    /// Model reasoning text.
    Thinking,
    /// A tool invocation by the model.
    ToolCall,
    /// The output of a tool invocation.
    ToolResult,
    /// A lifecycle/status notice.
    Status,
    /// The conversation context was compacted.
    Compaction,
    /// End-of-turn usage and cost figures.
    Cost,
    /// A provider-reported error.
    Error,
    /// An event the adapter does not understand; the raw event is the content.
    Unknown,
}

/// One provider-neutral message. Serializes to exactly the JS object shape, keys in this order:
/// `{"id","type","content","timestamp","parentId"?}` (`parentId` omitted when `None`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AgentMessage {
    /// Stable id: derived from the provider's own ids when it has them, else a random UUID.
    pub id: String,
    /// What kind of message this is.
    #[serde(rename = "type")]
    pub kind: MessageType,
    /// Type-specific payload (a JSON object; for `unknown` the whole raw event).
    pub content: Value,
    /// Milliseconds since the Unix epoch when the event was adapted.
    pub timestamp: u64,
    /// The Claude tool-use id of the sub-agent call this message belongs to.
    #[serde(rename = "parentId", skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
}

/// Map one raw provider event (already unwrapped from `agent_event`) to messages. Takes the event by value so
/// large strings/objects are moved, not cloned. `now_ms` is the timestamp given to every message.
/// A non-object event is treated as `{}` (as the TS `asObject(event) ?? {}`).
pub fn adapt(adapter: Adapter, event: Value, now_ms: u64) -> Vec<AgentMessage> {
    let raw = match event {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    match adapter {
        Adapter::Claude => claude::adapt(raw, now_ms),
        Adapter::Codex => codex::adapt(raw, now_ms),
        Adapter::Ollama => ollama::adapt(raw, now_ms),
    }
}

// ── helpers shared by the three mappings (the TS coercion helpers) ──────────

/// TS `newId()`: a random v4 UUID in its canonical 36-character form.
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// TS `make(...)` without a parent.
fn message(id: String, kind: MessageType, content: Value, timestamp: u64) -> AgentMessage {
    AgentMessage {
        id,
        kind,
        content,
        timestamp,
        parent_id: None,
    }
}

/// TS `unknownMessage(raw)`: the whole raw event becomes the content, so it is
/// moved in untouched (callers must not have removed anything from it).
/// The `init` message shared by the Claude and Ollama mappings:
/// `{ sessionId, model, cwd, tools }` taken from the raw event.
fn init_message(id: String, raw: &mut Raw, timestamp: u64) -> AgentMessage {
    message(
        id,
        MessageType::Init,
        object([
            ("sessionId", Value::String(take_string(raw, "session_id"))),
            ("model", Value::String(take_string(raw, "model"))),
            ("cwd", Value::String(take_string(raw, "cwd"))),
            ("tools", string_array(raw.remove("tools"))),
        ]),
        timestamp,
    )
}

fn unknown_message(raw: Raw, timestamp: u64) -> AgentMessage {
    let id = match raw.get("uuid") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => new_id(),
    };
    message(id, MessageType::Unknown, Value::Object(raw), timestamp)
}

/// An object literal with keys in the given order (the order `JSON.stringify`
/// would print them). Used instead of `json!`, which serializes its values and
/// would therefore deep-copy large payloads.
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = Map::with_capacity(N);
    for (key, value) in entries {
        map.insert(key.to_owned(), value);
    }
    Value::Object(map)
}

/// The event's `type` when it is a string (TS `switch (raw.type)` compares
/// strictly, so non-strings match no case).
fn type_of(raw: &Raw) -> Option<&str> {
    raw.get("type").and_then(Value::as_str)
}

/// TS `asString(value)` applied to an already-extracted value.
fn string_or_empty(value: Option<Value>) -> String {
    match value {
        Some(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// TS `asString(raw[key])`, moving the string out.
fn take_string(raw: &mut Raw, key: &str) -> String {
    string_or_empty(raw.remove(key))
}

/// TS `asString(raw[key]) || newId()`: empty strings fall back too.
fn take_id(raw: &mut Raw, key: &str) -> String {
    match raw.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => s,
        _ => new_id(),
    }
}

/// TS `asNumber(raw[key])`: any JSON number (they are always finite), else 0.
fn take_number(raw: &mut Raw, key: &str) -> Value {
    match raw.remove(key) {
        Some(Value::Number(n)) => js_number_value(n),
        _ => Value::from(0),
    }
}

/// TS `asObject(raw[key]) ?? {}`.
fn take_object(raw: &mut Raw, key: &str) -> Raw {
    match raw.remove(key) {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

/// TS `asStringArray(value)` applied to an already-extracted value.
fn string_array(value: Option<Value>) -> Value {
    match value {
        Some(Value::Array(items)) => {
            Value::Array(items.into_iter().filter(Value::is_string).collect())
        }
        _ => Value::Array(Vec::new()),
    }
}

/// TS `value ?? fallback`: JSON `null` counts as missing, exactly like `??`.
fn nullish_or(value: Option<Value>, fallback: impl FnOnce() -> Value) -> Value {
    match value {
        None | Some(Value::Null) => fallback(),
        Some(v) => v,
    }
}

/// A number as JS would print it: JS has only doubles, so a float-backed
/// integral value (`3.0`) prints as `3`, and `-0` prints as `0`. Integer-backed
/// numbers are kept as they are so large integers do not lose precision.
fn js_number_value(n: Number) -> Value {
    match n.as_f64() {
        Some(x) if n.is_f64() => js_number(x),
        _ => Value::Number(n),
    }
}

/// Emit an `f64` the way `JSON.stringify` does: integral values as integers,
/// non-finite values as `null`.
fn js_number(x: f64) -> Value {
    // 2^63 is exactly representable, so the range test itself is exact.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if x.is_finite() && x.trunc() == x && (-LIMIT..LIMIT).contains(&x) {
        // Integral and in range: the cast is exact (and maps -0 to 0).
        Value::from(x as i64)
    } else {
        Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

/// JS `Math.round`: nearest integer, ties toward +infinity. Differs from
/// `f64::round` (ties away from zero) for negative halves, and from the naive
/// `floor(x + 0.5)` for values just below one half where the addition rounds.
fn js_round(x: f64) -> f64 {
    let floor = x.floor();
    if x - floor >= 0.5 { floor + 1.0 } else { floor }
}
