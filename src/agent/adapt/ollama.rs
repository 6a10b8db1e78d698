//! The ollama runner's `system` / `chunk` / `error` events.
//!
//! Ollama has no message ids of its own, so every message gets a fresh UUID.
//! Streaming chunks become one thinking and/or text message each (the UI
//! concatenates them); the final chunk (`done: true`) also carries the usage.

use serde_json::{Map, Value};

use super::{
    AgentMessage, MessageType, Raw, init_message, js_number, js_round, message, new_id, object,
    take_number, take_object, take_string, type_of, unknown_message,
};

/// Map one ollama runner event to agent messages (TS `parseOllama`).
pub fn adapt(raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    match type_of(&raw) {
        Some("system") => system(raw, now_ms),
        Some("chunk") => chunk(raw, now_ms),
        Some("error") => {
            let mut raw = raw;
            vec![message(
                new_id(),
                MessageType::Error,
                object([("message", Value::String(take_string(&mut raw, "message")))]),
                now_ms,
            )]
        }
        _ => vec![unknown_message(raw, now_ms)],
    }
}

/// `system` events: `init`, anything else as a status (message from `status`, else `message`).
fn system(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let subtype = take_string(&mut raw, "subtype");
    if subtype == "init" {
        return vec![init_message(new_id(), &mut raw, now_ms)];
    }
    let mut content = Map::with_capacity(2);
    content.insert("subtype".to_owned(), Value::String(subtype));
    let text = match raw.remove("status") {
        Some(status @ Value::String(_)) => Some(status),
        _ => match raw.remove("message") {
            Some(text @ Value::String(_)) => Some(text),
            _ => None,
        },
    };
    if let Some(text) = text {
        content.insert("message".to_owned(), text);
    }
    vec![message(
        new_id(),
        MessageType::Status,
        Value::Object(content),
        now_ms,
    )]
}

/// `chunk` events: streamed thinking/text, plus the usage on the final chunk.
fn chunk(mut raw: Raw, now_ms: u64) -> Vec<AgentMessage> {
    let mut out = Vec::new();
    let mut msg = take_object(&mut raw, "message");
    let thinking = take_string(&mut msg, "thinking");
    let text = take_string(&mut msg, "content");
    // Empty strings are skipped: they are keep-alive chunks with nothing to show.
    if !thinking.is_empty() {
        out.push(message(
            new_id(),
            MessageType::Thinking,
            object([("text", Value::String(thinking))]),
            now_ms,
        ));
    }
    if !text.is_empty() {
        out.push(message(
            new_id(),
            MessageType::Text,
            object([("text", Value::String(text))]),
            now_ms,
        ));
    }
    if raw.get("done") == Some(&Value::Bool(true)) {
        // `eval_duration` is in nanoseconds; JS `Math.round(ns / 1e6)`.
        let eval_ns = match raw.get("eval_duration") {
            Some(Value::Number(n)) => n.as_f64().unwrap_or(0.0),
            _ => 0.0,
        };
        let is_error = raw.get("done_reason").and_then(Value::as_str) == Some("error");
        out.push(message(
            new_id(),
            MessageType::Cost,
            object([
                ("totalCostUsd", Value::from(0)),
                ("durationMs", js_number(js_round(eval_ns / 1e6))),
                ("inputTokens", take_number(&mut raw, "prompt_eval_count")),
                ("outputTokens", take_number(&mut raw, "eval_count")),
                ("numTurns", Value::from(1)),
                ("isError", Value::Bool(is_error)),
            ]),
            now_ms,
        ));
    }
    out
}
