//! Claude Agent SDK / `claude --output-format stream-json` messages.
//!
//! Message ids derive from the SDK's `uuid` so that re-delivered lines map to
//! the same ids; per-block messages append the block kind and its index in the
//! content array (skipped blocks still count, so ids stay stable when the SDK
//! adds block kinds we ignore).

use serde_json::{Map, Value};

use super::{
    AgentMessage, MessageType, Raw, init_message, message, nullish_or, object, string_array,
    string_or_empty, take_id, take_number, take_object, take_string, type_of, unknown_message,
};

/// Map one Claude SDK message to agent messages (TS `parseClaude`).
pub fn adapt(raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    match type_of(&raw) {
        Some("system") => system(raw, now_ms),
        Some("assistant") => assistant(raw, now_ms),
        Some("user") => user(raw, now_ms),
        Some("result") => result(raw, now_ms),
        _ => vec![unknown_message(raw, now_ms)],
    }
}

/// `system` messages: `init`, `compact_boundary`, and anything else as a status.
fn system(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let id = take_id(&mut raw, "uuid");
    let subtype = take_string(&mut raw, "subtype");
    let msg = match subtype.as_str() {
        "init" => init_message(id, &mut raw, now_ms),
        "compact_boundary" => {
            let mut meta = take_object(&mut raw, "compact_metadata");
            // `meta.trigger ?? "auto"`: any non-null trigger passes through as-is.
            let trigger = nullish_or(meta.remove("trigger"), || Value::from("auto"));
            message(
                id,
                MessageType::Compaction,
                object([
                    ("trigger", trigger),
                    ("preTokens", take_number(&mut meta, "pre_tokens")),
                ]),
                now_ms,
            )
        }
        _ => {
            let mut content = Map::with_capacity(2);
            content.insert("subtype".to_owned(), Value::String(subtype));
            if let Some(status @ Value::String(_)) = raw.remove("status") {
                content.insert("message".to_owned(), status);
            }
            message(id, MessageType::Status, Value::Object(content), now_ms)
        }
    };
    vec![msg]
}

/// `assistant` messages: one message per text/thinking/tool_use block.
fn assistant(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let base_id = take_id(&mut raw, "uuid");
    let parent_id = take_parent_id(&mut raw);
    let blocks = take_content_blocks(&mut raw);
    let mut out = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.into_iter().enumerate() {
        // Non-object blocks are `{}` in the TS, whose `type` matches nothing.
        let Value::Object(mut block) = block else {
            continue;
        };
        let (id, kind, content) = match type_of(&block) {
            Some("text") => (
                format!("{base_id}-text-{i}"),
                MessageType::Text,
                object([("text", Value::String(take_string(&mut block, "text")))]),
            ),
            Some("thinking") => {
                // `asString(block.thinking ?? block.text)`: a non-null, non-string
                // `thinking` yields "" rather than falling back to `text`.
                let text = match block.remove("thinking") {
                    None | Some(Value::Null) => block.remove("text"),
                    thinking => thinking,
                };
                (
                    format!("{base_id}-thinking-{i}"),
                    MessageType::Thinking,
                    object([("text", Value::String(string_or_empty(text)))]),
                )
            }
            Some("tool_use") => (
                format!("{base_id}-tool-{i}"),
                MessageType::ToolCall,
                object([
                    ("toolUseId", Value::String(take_string(&mut block, "id"))),
                    ("name", Value::String(take_string(&mut block, "name"))),
                    (
                        "input",
                        nullish_or(block.remove("input"), || Value::Object(Map::new())),
                    ),
                ]),
            ),
            // Other block kinds (redacted_thinking, server tool blocks…) carry nothing to show.
            _ => continue,
        };
        out.push(AgentMessage {
            id,
            kind,
            content,
            timestamp: now_ms,
            parent_id: parent_id.clone(),
        });
    }
    out
}

/// `user` messages: one `tool_result` per tool_result block; other blocks are
/// the user's own input, which the UI already has.
fn user(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let base_id = take_id(&mut raw, "uuid");
    let parent_id = take_parent_id(&mut raw);
    let blocks = take_content_blocks(&mut raw);

    // `block.content ?? raw.tool_use_result`: the fallback is shared by every
    // block without content, so clone it for all but the last such block and
    // move it into that one.
    let mut pending = blocks
        .iter()
        .filter(|block| {
            block.as_object().is_some_and(|b| {
                type_of(b) == Some("tool_result") && b.get("content").is_none_or(Value::is_null)
            })
        })
        .count();
    let mut fallback = raw.remove("tool_use_result");

    let mut out = Vec::with_capacity(blocks.len());
    for (i, block) in blocks.into_iter().enumerate() {
        let Value::Object(mut block) = block else {
            continue;
        };
        if type_of(&block) != Some("tool_result") {
            continue;
        }
        let mut content = Map::with_capacity(2);
        content.insert(
            "toolUseId".to_owned(),
            Value::String(take_string(&mut block, "tool_use_id")),
        );
        let output = match block.remove("content") {
            None | Some(Value::Null) => {
                pending = pending.saturating_sub(1);
                if pending == 0 {
                    fallback.take()
                } else {
                    fallback.clone()
                }
            }
            output => output,
        };
        // `undefined` (no content and no tool_use_result) is dropped by
        // JSON.stringify, so the key is omitted; a JSON null is kept.
        if let Some(output) = output {
            content.insert("output".to_owned(), output);
        }
        out.push(AgentMessage {
            id: format!("{base_id}-result-{i}"),
            kind: MessageType::ToolResult,
            content: Value::Object(content),
            timestamp: now_ms,
            parent_id: parent_id.clone(),
        });
    }
    out
}

/// `result` messages: the end-of-turn cost/usage summary.
fn result(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let id = take_id(&mut raw, "uuid");
    let mut usage = take_object(&mut raw, "usage");
    let mut content = Map::with_capacity(8);
    content.insert(
        "totalCostUsd".to_owned(),
        take_number(&mut raw, "total_cost_usd"),
    );
    content.insert(
        "durationMs".to_owned(),
        take_number(&mut raw, "duration_ms"),
    );
    content.insert(
        "inputTokens".to_owned(),
        take_number(&mut usage, "input_tokens"),
    );
    content.insert(
        "outputTokens".to_owned(),
        take_number(&mut usage, "output_tokens"),
    );
    content.insert("numTurns".to_owned(), take_number(&mut raw, "num_turns"));
    content.insert(
        "isError".to_owned(),
        Value::Bool(raw.get("is_error") == Some(&Value::Bool(true))),
    );
    if let Some(text @ Value::String(_)) = raw.remove("result") {
        content.insert("result".to_owned(), text);
    }
    if let errors @ Some(Value::Array(_)) = raw.remove("errors") {
        content.insert("errors".to_owned(), string_array(errors));
    }
    vec![message(
        id,
        MessageType::Cost,
        Value::Object(content),
        now_ms,
    )]
}

/// `parent_tool_use_id` when it is a string (set on messages from sub-agents).
fn take_parent_id(raw: &mut Raw) -> Option<String> {
    match raw.remove("parent_tool_use_id") {
        Some(Value::String(s)) => Some(s),
        _ => None,
    }
}

/// TS `contentBlocks`: the blocks of `raw.message.content`; a bare string counts
/// as one text block. Non-object entries are returned as-is and skipped by the
/// callers, which is what mapping them to `{}` achieves in the TS.
fn take_content_blocks(raw: &mut Raw) -> Vec<Value> {
    let Some(Value::Object(message)) = raw.get_mut("message") else {
        return Vec::new();
    };
    match message.remove("content") {
        Some(Value::String(text)) => vec![object([
            ("type", Value::from("text")),
            ("text", Value::String(text)),
        ])],
        Some(Value::Array(blocks)) => blocks,
        _ => Vec::new(),
    }
}
