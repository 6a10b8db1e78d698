//! Zero-copy fast path for the lines that make up almost all runner output: the runner's
//! control events and Claude `assistant`/`user` messages.
//!
//! The general path parses a line into a `serde_json::Value` tree (an allocation per string,
//! array and object), maps it, and serialises the result. Here the line is parsed into
//! borrowed views (`&RawValue` slices of the line) and the output JSON is written by copying
//! those slices: a 64 KiB text is scanned by the parser and copied once, never unescaped and
//! escaped again. The output is byte-for-byte what the general path would hand to JS after
//! `JSON.parse` (a property test checks this); anything this path does not cover exactly —
//! other event types, escapes in ids, duplicate keys, invalid UTF-8 — returns
//! [`Fast::Fallback`] and takes the general path.
//!
//! Texts of at least [`LONG_TEXT_BYTES`] are not copied into the JSON at all: they leave as
//! [`LongText`]s (decoded here if they have escapes), and the message's `content.text` is `0`
//! until JS puts the string in (see `outbox`).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::agent::outbox::{LongText, MessageRun, TextField};

/// Texts at least this long (bytes) travel beside the batch JSON instead of inside it.
pub const LONG_TEXT_BYTES: usize = 16 * 1024;

/// What the fast path made of a line.
#[derive(Debug, PartialEq, Eq)]
pub enum Fast {
    /// Not covered here: use the general path.
    Fallback,
    /// `pong`.
    Ignored,
    /// `ready`.
    Ready,
    /// `agent_started`.
    Started,
    /// `agent_stopped`.
    Stopped,
    /// Messages were appended to the run; how many.
    Messages(usize),
}

/// One line, parsed once: the runner envelope and the Claude event share these fields (an
/// `agent_event` line holds the event in `event`, any other line is the event itself).
#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<&'a RawValue>,
    #[serde(borrow, default)]
    uuid: Option<&'a RawValue>,
    #[serde(borrow, default)]
    parent_tool_use_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    message: Option<Lenient<Message<'a>>>,
    #[serde(borrow, default)]
    event: Option<Lenient<Box<Event<'a>>>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    content: Option<Content<'a>>,
}

/// `message.content`: a string, an array of blocks, or something else (ignored).
enum Content<'a> {
    Text(&'a str),
    Escaped(String),
    Blocks(Vec<Lenient<Block<'a>>>),
    Other,
}

impl Content<'_> {
    /// The string, when the content is a bare string.
    fn bare_text(&self) -> Option<&str> {
        match self {
            Content::Text(t) => Some(t),
            Content::Escaped(t) => Some(t),
            _ => None,
        }
    }
}

/// Visitor methods mapping every JSON scalar (bool, number, null) to `$value`.
macro_rules! scalars_are {
    ($value:expr) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
}

/// A value that is kept when it is a JSON object and recorded as `NotObject` otherwise (the
/// TypeScript `asObject(x) ?? {}`), parsed in the same single pass as the rest of the line.
enum Lenient<T> {
    Object(T),
    NotObject,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for V<T> {
            type Value = Lenient<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Lenient::Object)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(Lenient::NotObject)
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Lenient::NotObject)
            }
            scalars_are!(Lenient::NotObject);
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Content<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Content<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Self::Value, E> {
                Ok(Content::Text(s))
            }
            fn visit_str<E>(self, s: &str) -> Result<Self::Value, E> {
                Ok(Content::Escaped(s.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut blocks = Vec::with_capacity(seq.size_hint().unwrap_or(4));
                while let Some(b) = seq.next_element()? {
                    blocks.push(b);
                }
                Ok(Content::Blocks(blocks))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Content::Other)
            }
            scalars_are!(Content::Other);
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct Block<'a> {
    #[serde(rename = "type", borrow, default)]
    ty: Option<&'a RawValue>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    thinking: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    name: Option<&'a RawValue>,
    #[serde(borrow, default)]
    input: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tool_use_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    content: Option<&'a RawValue>,
}

/// Marker: the line needs the general path.
struct NotCovered;

type Res<T> = Result<T, NotCovered>;

/// The JSON text of a raw value.
fn text(r: &RawValue) -> &str {
    r.get()
}

/// A raw value's kind, from its first byte (the parser already validated it).
fn first(r: &RawValue) -> u8 {
    r.get().as_bytes().first().copied().unwrap_or(b'n')
}

fn is_null(r: Option<&RawValue>) -> bool {
    r.is_none_or(|r| first(r) == b'n')
}

/// The contents of a string literal without escapes; `Ok(None)` when `r` is not a string;
/// not covered when it has escapes (its text would have to be decoded).
fn plain_str(r: Option<&RawValue>) -> Res<Option<&str>> {
    match r {
        Some(r) if first(r) == b'"' => {
            let t = text(r);
            let inner = &t[1..t.len() - 1];
            if inner.contains('\\') {
                Err(NotCovered)
            } else {
                Ok(Some(inner))
            }
        }
        _ => Ok(None),
    }
}

/// Writes `asString(r)`: the literal itself if it is a string, else `""`.
fn write_as_string(out: &mut Vec<u8>, r: Option<&RawValue>) {
    match r {
        Some(r) if first(r) == b'"' => out.extend_from_slice(text(r).as_bytes()),
        _ => out.extend_from_slice(b"\"\""),
    }
}

/// The string `r` holds, if it is a string literal long enough to travel beside the JSON:
/// borrowed from the line when it has no escapes, else decoded here (on the I/O thread, so
/// the JS thread neither scans nor unescapes it).
fn detachable(r: Option<&RawValue>, long_min: usize) -> Option<Cow<'_, str>> {
    let r = r.filter(|r| first(r) == b'"')?;
    let t = text(r);
    let inner = &t[1..t.len() - 1];
    if inner.len() < long_min {
        return None;
    }
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Some(Cow::Borrowed(inner));
    }
    // The parser validated the literal already; decoding cannot fail, but if it did the text
    // would simply stay in the JSON.
    serde_json::from_str::<String>(t).ok().map(Cow::Owned)
}

/// Writes `{"text":asString(r)}`, or `{"text":0}` when the text is detached.
fn write_text_content(out: &mut Vec<u8>, r: Option<&RawValue>, detached: bool) {
    out.extend_from_slice(b"{\"text\":");
    if detached {
        out.push(b'0');
    } else {
        write_as_string(out, r);
    }
    out.push(b'}');
}

/// Moves `text` out as the long text in `field` of the run's last message (a decoded text is
/// moved, a borrowed one copied).
fn detach(run: &mut MessageRun, text: Cow<'_, str>, field: TextField) {
    let ascii = text.is_ascii();
    run.long.push(LongText {
        index: run.count.saturating_sub(1),
        field,
        bytes: text.into_owned().into_bytes(),
        ascii,
    });
}

/// Tries the fast path for one line. On [`Fast::Messages`] the messages were appended to
/// `run`; on any other result `run` is unchanged.
pub fn try_line(line: &[u8], claude: bool, now: u64, run: &mut MessageRun) -> Fast {
    try_line_detaching(line, claude, now, run, LONG_TEXT_BYTES)
}

/// [`try_line`] with texts of at least `long_min` bytes detached (tests use small values).
pub(crate) fn try_line_detaching(
    line: &[u8],
    claude: bool,
    now: u64,
    run: &mut MessageRun,
    long_min: usize,
) -> Fast {
    let (body, count, long) = (run.body.len(), run.count, run.long.len());
    match line_inner(line, claude, now, run, long_min) {
        Ok(f) => f,
        Err(NotCovered) => {
            run.body.truncate(body);
            run.count = count;
            run.long.truncate(long);
            Fast::Fallback
        }
    }
}

fn line_inner(
    line: &[u8],
    claude: bool,
    now: u64,
    run: &mut MessageRun,
    long_min: usize,
) -> Res<Fast> {
    // serde_json may skip over ignored strings without checking their UTF-8; check it all.
    let line = std::str::from_utf8(line).map_err(|_| NotCovered)?;
    let env: Event<'_> = serde_json::from_str(line).map_err(|_| NotCovered)?;
    let env_ty = plain_str(env.ty)?;
    match env_ty {
        Some("ready") => return Ok(Fast::Ready),
        Some("pong") => return Ok(Fast::Ignored),
        Some("agent_started") => return Ok(Fast::Started),
        Some("agent_stopped") => return Ok(Fast::Stopped),
        Some("agent_error") => return Err(NotCovered),
        _ => {}
    }
    if !claude {
        return Err(NotCovered);
    }
    let ev: &Event<'_> = match (env_ty, &env.event) {
        (Some("agent_event"), Some(Lenient::Object(inner))) => inner,
        _ => &env,
    };
    let assistant = match plain_str(ev.ty)? {
        Some("assistant") => true,
        Some("user") => false,
        _ => return Err(NotCovered),
    };
    let base: std::borrow::Cow<'_, str> = match plain_str(ev.uuid)? {
        Some(u) if !u.is_empty() => u.into(),
        _ => uuid::Uuid::new_v4().to_string().into(),
    };
    let mut digits = itoa::Buffer::new();
    let now_text = digits.format(now);
    let parent = ev.parent_tool_use_id.filter(|p| first(p) == b'"');
    let content = match &ev.message {
        Some(Lenient::Object(m)) => m.content.as_ref(),
        _ => None,
    };
    let start = run.count;
    let emit =
        |run: &mut MessageRun, suffix: &str, i: usize, kind: &str, body: &dyn Fn(&mut Vec<u8>)| {
            let out = &mut run.body;
            if !out.is_empty() {
                out.push(b',');
            }
            // Plain appends: this runs for every message of every line.
            let mut index = itoa::Buffer::new();
            out.extend_from_slice(b"{\"id\":\"");
            out.extend_from_slice(base.as_bytes());
            out.push(b'-');
            out.extend_from_slice(suffix.as_bytes());
            out.push(b'-');
            out.extend_from_slice(index.format(i).as_bytes());
            out.extend_from_slice(b"\",\"type\":\"");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"\",\"content\":");
            body(out);
            out.extend_from_slice(b",\"timestamp\":");
            out.extend_from_slice(now_text.as_bytes());
            if let Some(p) = parent {
                out.extend_from_slice(b",\"parentId\":");
                out.extend_from_slice(text(p).as_bytes());
            }
            out.push(b'}');
            run.count += 1;
        };
    let Some(content) = content else {
        return Ok(Fast::Messages(0));
    };
    match content {
        Content::Text(_) | Content::Escaped(_) => {
            // A bare string is one text block.
            if let (true, Some(t)) = (assistant, content.bare_text()) {
                let long = t.len() >= long_min;
                emit(run, "text", 0, "text", &|o| {
                    o.extend_from_slice(b"{\"text\":");
                    if long {
                        o.push(b'0');
                    } else {
                        let _ = serde_json::to_writer(&mut *o, t);
                    }
                    o.push(b'}');
                });
                if long {
                    detach(run, Cow::Borrowed(t), TextField::Text);
                }
            }
        }
        Content::Blocks(blocks) => {
            for (i, block) in blocks.iter().enumerate() {
                let Lenient::Object(b) = block else {
                    continue; // `asObject(b) ?? {}`: no type, nothing to show
                };
                let ty = plain_str(b.ty)?;
                if assistant {
                    match ty {
                        Some(kind @ ("text" | "thinking")) => {
                            // thinking: `block.thinking ?? block.text`
                            let src = if kind == "thinking" && !is_null(b.thinking) {
                                b.thinking
                            } else {
                                b.text
                            };
                            let long = detachable(src, long_min);
                            emit(run, kind, i, kind, &|o| {
                                write_text_content(o, src, long.is_some());
                            });
                            if let Some(t) = long {
                                detach(run, t, TextField::Text);
                            }
                        }
                        Some("tool_use") => emit(run, "tool", i, "tool_call", &|o| {
                            o.extend_from_slice(b"{\"toolUseId\":");
                            write_as_string(o, b.id);
                            o.extend_from_slice(b",\"name\":");
                            write_as_string(o, b.name);
                            o.extend_from_slice(b",\"input\":");
                            match b.input.filter(|r| !is_null(Some(r))) {
                                Some(r) => o.extend_from_slice(text(r).as_bytes()),
                                None => o.extend_from_slice(b"{}"),
                            }
                            o.push(b'}');
                        }),
                        _ => {}
                    }
                } else if ty == Some("tool_result") {
                    // `block.content ?? raw.tool_use_result`: a null `tool_use_result` gives
                    // `output: null`, a missing one no key, and a borrowed `Option` cannot tell
                    // the two apart: leave that (rare) case to the general path.
                    if is_null(b.content) {
                        return Err(NotCovered);
                    }
                    let output = b.content;
                    // A long string output (a file read, a command's output) travels beside
                    // the JSON like a long text; arrays of blocks stay in it.
                    let long = detachable(output, long_min);
                    emit(run, "result", i, "tool_result", &|o| {
                        o.extend_from_slice(b"{\"toolUseId\":");
                        write_as_string(o, b.tool_use_id);
                        if let Some(r) = output {
                            o.extend_from_slice(b",\"output\":");
                            if long.is_some() {
                                o.push(b'0');
                            } else {
                                o.extend_from_slice(text(r).as_bytes());
                            }
                        }
                        o.push(b'}');
                    });
                    if let Some(t) = long {
                        detach(run, t, TextField::Output);
                    }
                }
            }
        }
        Content::Other => {}
    }
    Ok(Fast::Messages((run.count - start) as usize))
}
