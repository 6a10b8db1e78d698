//! `codex exec --json` thread/turn/item events.
//!
//! Codex reports items in phases (`item.started` / `item.updated` /
//! `item.completed`). Each item is emitted once: tool calls as soon as they
//! start (so the UI can show them running), their results and all text only on
//! completion, and `updated` is ignored because it repeats what the other two
//! phases carry.

use serde_json::{Map, Value};

use super::{
    AgentMessage, MessageType, Raw, message, new_id, nullish_or, object, take_id, take_number,
    take_object, take_string, unknown_message,
};

/// Which `item.*` event an item arrived in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Started,
    Updated,
    Completed,
}

/// Map one Codex event to agent messages (TS `parseCodex`).
pub fn adapt(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    // TS `asString(raw.type)`: a non-string type is "" and hits the default.
    let kind = match raw.get("type") {
        Some(Value::String(s)) => s.as_str(),
        _ => "",
    };
    let phase = match kind {
        "thread.started" => {
            return vec![message(
                new_id(),
                MessageType::Init,
                object([
                    (
                        "sessionId",
                        Value::String(take_string(&mut raw, "thread_id")),
                    ),
                    ("model", Value::from("")),
                    ("cwd", Value::from("")),
                    ("tools", Value::Array(Vec::new())),
                ]),
                now_ms,
            )];
        }
        "turn.started" => {
            return vec![message(
                new_id(),
                MessageType::Status,
                object([("subtype", Value::from("turn_started"))]),
                now_ms,
            )];
        }
        "turn.completed" => {
            // Codex reports tokens only; cost and duration are not known here.
            let mut usage = take_object(&mut raw, "usage");
            return vec![message(
                new_id(),
                MessageType::Cost,
                object([
                    ("totalCostUsd", Value::from(0)),
                    ("durationMs", Value::from(0)),
                    ("inputTokens", take_number(&mut usage, "input_tokens")),
                    ("outputTokens", take_number(&mut usage, "output_tokens")),
                    ("numTurns", Value::from(1)),
                    ("isError", Value::Bool(false)),
                ]),
                now_ms,
            )];
        }
        "turn.failed" => {
            // `error.message ?? "Turn failed"`: a non-null message of any type passes through.
            let mut error = take_object(&mut raw, "error");
            let text = nullish_or(error.remove("message"), || Value::from("Turn failed"));
            return vec![message(
                new_id(),
                MessageType::Error,
                object([("message", text)]),
                now_ms,
            )];
        }
        "error" => {
            return vec![message(
                new_id(),
                MessageType::Error,
                object([("message", Value::String(take_string(&mut raw, "message")))]),
                now_ms,
            )];
        }
        "item.started" => Phase::Started,
        "item.updated" => Phase::Updated,
        "item.completed" => Phase::Completed,
        _ => return vec![unknown_message(raw, now_ms)],
    };
    match raw.remove("item") {
        Some(Value::Object(item)) => item_messages(phase, item, now_ms),
        _ => Vec::new(),
    }
}

/// TS `parseCodexItem`: the messages for one item in one phase.
fn item_messages(phase: Phase, mut item: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let item_id = take_id(&mut item, "id");
    let completed = phase == Phase::Completed;
    let kind = match item.get("type") {
        Some(Value::String(s)) => s.as_str(),
        _ => return Vec::new(),
    };

    match kind {
        "agent_message" | "reasoning" if completed => {
            let kind = if kind == "agent_message" {
                MessageType::Text
            } else {
                MessageType::Thinking
            };
            vec![message(
                item_id,
                kind,
                object([("text", Value::String(take_string(&mut item, "text")))]),
                now_ms,
            )]
        }
        "command_execution" if phase != Phase::Updated => {
            let call = tool_call(
                item_id.clone(),
                "Bash",
                object([("command", Value::String(take_string(&mut item, "command")))]),
                now_ms,
            );
            if !completed {
                return vec![call];
            }
            let output = Value::String(take_string(&mut item, "aggregated_output"));
            vec![call, tool_result(item_id, Some(output), now_ms)]
        }
        "file_change" if completed => {
            let changes = match item.remove("changes") {
                Some(Value::Array(changes)) => changes,
                _ => Vec::new(),
            };
            let mut out = Vec::with_capacity(changes.len() * 2);
            for (i, change) in changes.into_iter().enumerate() {
                let mut change = match change {
                    Value::Object(change) => change,
                    _ => Map::new(),
                };
                let kind = take_string(&mut change, "kind");
                let path = take_string(&mut change, "path");
                let output = Value::String(format!("File {kind}: {path}"));
                let tool_use_id = format!("{item_id}-{i}");
                // Map onto the tools Claude would have used for the same change,
                // so the UI renders all providers alike.
                let (name, input) = match kind.as_str() {
                    "add" => ("Write", object([("file_path", Value::String(path))])),
                    "delete" => (
                        "Bash",
                        object([("command", Value::String(format!("rm {path}")))]),
                    ),
                    _ => ("Edit", object([("file_path", Value::String(path))])),
                };
                out.push(tool_call(tool_use_id.clone(), name, input, now_ms));
                out.push(tool_result(tool_use_id, Some(output), now_ms));
            }
            out
        }
        "mcp_tool_call" if phase != Phase::Updated => {
            let server = take_string(&mut item, "server");
            let tool = take_string(&mut item, "tool");
            let input = nullish_or(item.remove("arguments"), || Value::Object(Map::new()));
            let call = tool_call(item_id.clone(), &format!("{server}:{tool}"), input, now_ms);
            if !completed {
                return vec![call];
            }
            // An error object wins over a result; `result?.content` is `undefined`
            // (key omitted) when there is no result object or it has no content.
            let output = match item.remove("error") {
                Some(Value::Object(mut error)) => {
                    Some(Value::String(take_string(&mut error, "message")))
                }
                _ => match item.remove("result") {
                    Some(Value::Object(mut result)) => result.remove("content"),
                    _ => None,
                },
            };
            vec![call, tool_result(item_id, output, now_ms)]
        }
        "web_search" if completed => vec![tool_call(
            item_id,
            "WebSearch",
            object([("query", Value::String(take_string(&mut item, "query")))]),
            now_ms,
        )],
        "error" => vec![message(
            item_id,
            MessageType::Error,
            object([("message", Value::String(take_string(&mut item, "message")))]),
            now_ms,
        )],
        _ => Vec::new(),
    }
}

/// A `tool_call` whose message id doubles as its tool-use id.
fn tool_call(tool_use_id: String, name: &str, input: Value, now_ms: u64) -> AgentMessage {
    let content = object([
        ("toolUseId", Value::String(tool_use_id.clone())),
        ("name", Value::from(name)),
        ("input", input),
    ]);
    message(tool_use_id, MessageType::ToolCall, content, now_ms)
}

/// The `tool_result` for [`tool_call`]'s id; `None` output omits the key, as
/// `JSON.stringify` drops `undefined`.
fn tool_result(tool_use_id: String, output: Option<Value>, now_ms: u64) -> AgentMessage {
    let id = format!("{tool_use_id}-result");
    let mut content = Map::with_capacity(2);
    content.insert("toolUseId".to_owned(), Value::String(tool_use_id));
    if let Some(output) = output {
        content.insert("output".to_owned(), output);
    }
    message(id, MessageType::ToolResult, Value::Object(content), now_ms)
}
