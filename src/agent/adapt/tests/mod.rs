//! Fixtures for every mapping rule of `message-adapter.ts`, asserting the full
//! serialized output. Random ids (v4 UUIDs, alone or as the prefix of a derived
//! id) are checked and then masked as `<uuid>` so the rest can be compared exactly.

mod claude;
mod codex;
mod ollama;

use super::*;
use serde_json::json;

pub(super) const NOW: u64 = 1_700_000_000_123;

/// Adapt and serialize, masking random UUIDs in `id` and `content.toolUseId`.
pub(super) fn run(adapter: Adapter, event: Value) -> Value {
    let msgs = adapt(adapter, event, NOW);
    let mut out = serde_json::to_value(&msgs).expect("messages serialize");
    if let Value::Array(items) = &mut out {
        for item in items {
            if let Some(id) = item.get_mut("id") {
                mask(id);
            }
            if let Some(id) = item.pointer_mut("/content/toolUseId") {
                mask(id);
            }
        }
    }
    out
}

/// Replace a leading random v4 UUID with `<uuid>`.
pub(super) fn mask(value: &mut Value) {
    let Value::String(s) = value else { return };
    if let Some(prefix) = s.get(..36)
        && let Ok(parsed) = uuid::Uuid::parse_str(prefix)
        && parsed.get_version_num() == 4
        && parsed.to_string() == prefix
    {
        *s = format!("<uuid>{}", &s[36..]);
    }
}

/// One expected message without a parent.
pub(super) fn m(id: &str, kind: &str, content: Value) -> Value {
    json!({"id": id, "type": kind, "content": content, "timestamp": NOW})
}

/// One expected message with a parent.
pub(super) fn mp(id: &str, kind: &str, content: Value, parent: &str) -> Value {
    json!({"id": id, "type": kind, "content": content, "timestamp": NOW, "parentId": parent})
}

pub(super) fn claude(event: Value) -> Value {
    run(Adapter::Claude, event)
}

pub(super) fn codex(event: Value) -> Value {
    run(Adapter::Codex, event)
}

pub(super) fn ollama(event: Value) -> Value {
    run(Adapter::Ollama, event)
}

#[test]
fn for_provider_maps_known_ids_and_defaults_to_claude() {
    assert_eq!(Adapter::for_provider("codex"), Adapter::Codex);
    assert_eq!(Adapter::for_provider("ollama"), Adapter::Ollama);
    assert_eq!(Adapter::for_provider("claude"), Adapter::Claude);
    assert_eq!(Adapter::for_provider("whatever"), Adapter::Claude);
    assert_eq!(Adapter::for_provider(""), Adapter::Claude);
    // Provider ids are matched exactly, as the TS `switch` does.
    assert_eq!(Adapter::for_provider("Codex"), Adapter::Claude);
}

#[test]
fn message_type_strings() {
    let all = [
        (MessageType::Init, "init"),
        (MessageType::Text, "text"),
        (MessageType::Thinking, "thinking"),
        (MessageType::ToolCall, "tool_call"),
        (MessageType::ToolResult, "tool_result"),
        (MessageType::Status, "status"),
        (MessageType::Compaction, "compaction"),
        (MessageType::Cost, "cost"),
        (MessageType::Error, "error"),
        (MessageType::Unknown, "unknown"),
    ];
    for (kind, name) in all {
        assert_eq!(serde_json::to_value(kind).expect("serialize"), json!(name));
    }
}

#[test]
fn agent_message_key_order_and_parent_omission() {
    let mut msg = AgentMessage {
        id: "a".into(),
        kind: MessageType::Text,
        content: json!({"text": "hi"}),
        timestamp: 5,
        parent_id: None,
    };
    assert_eq!(
        serde_json::to_string(&msg).expect("serialize"),
        r#"{"id":"a","type":"text","content":{"text":"hi"},"timestamp":5}"#
    );
    msg.parent_id = Some("p".into());
    assert_eq!(
        serde_json::to_string(&msg).expect("serialize"),
        r#"{"id":"a","type":"text","content":{"text":"hi"},"timestamp":5,"parentId":"p"}"#
    );
}

#[test]
fn non_object_event_is_an_empty_object() {
    for adapter in [Adapter::Claude, Adapter::Codex, Adapter::Ollama] {
        for event in [
            Value::Null,
            json!([1, 2]),
            json!("text"),
            json!(3),
            json!(true),
        ] {
            assert_eq!(
                run(adapter, event),
                json!([m("<uuid>", "unknown", json!({}))]),
                "{adapter:?}"
            );
        }
    }
}

#[test]
fn generated_ids_are_v4_uuids_and_unique() {
    let msgs = adapt(
        Adapter::Ollama,
        json!({"type": "chunk", "message": {"thinking": "a", "content": "b"}, "done": true}),
        NOW,
    );
    assert_eq!(msgs.len(), 3);
    for msg in &msgs {
        assert_eq!(msg.id.len(), 36);
        let parsed = uuid::Uuid::parse_str(&msg.id).expect("uuid");
        assert_eq!(parsed.get_version_num(), 4);
    }
    assert_ne!(msgs[0].id, msgs[1].id);
    assert_ne!(msgs[1].id, msgs[2].id);
    assert_ne!(msgs[0].id, msgs[2].id);
}

#[test]
fn js_round_matches_math_round() {
    let cases = [
        (0.5, 1.0),
        (1.5, 2.0),
        (2.5, 3.0),
        (2.4999, 2.0),
        (-0.5, 0.0),
        (-2.5, -2.0),
        (-2.6, -3.0),
        (0.499_999_999_999_999_94, 0.0),
        (4_503_599_627_370_497.0, 4_503_599_627_370_497.0),
    ];
    for (x, want) in cases {
        assert_eq!(js_round(x), want, "Math.round({x})");
    }
}

#[test]
fn js_number_prints_like_json_stringify() {
    assert_eq!(js_number(3.0), json!(3));
    assert!(js_number(3.0).is_i64());
    assert_eq!(js_number(-0.0).to_string(), "0");
    assert_eq!(js_number(1.5), json!(1.5));
    assert!(js_number(1e300).is_f64());
    assert_eq!(js_number(f64::NAN), Value::Null);
    assert_eq!(js_number(f64::INFINITY), Value::Null);
}

#[test]
fn as_number_keeps_integers_and_normalises_integral_floats() {
    let out = claude(json!({
        "type": "result", "uuid": "r",
        "total_cost_usd": 2.0, "duration_ms": 18_446_744_073_709_551_615_u64,
        "num_turns": -3, "usage": {"input_tokens": 0.25, "output_tokens": -0.0}
    }));
    let content = &out[0]["content"];
    assert!(content["totalCostUsd"].is_i64());
    assert_eq!(content["totalCostUsd"], json!(2));
    assert_eq!(content["durationMs"], json!(u64::MAX));
    assert_eq!(content["numTurns"], json!(-3));
    assert_eq!(content["inputTokens"], json!(0.25));
    assert_eq!(content["outputTokens"].to_string(), "0");
}
