//! Fixtures for every mapping rule of `message-adapter.ts`, asserting the full
//! serialized output. Random ids (v4 UUIDs, alone or as the prefix of a derived
//! id) are checked and then masked as `<uuid>` so the rest can be compared exactly.

use super::*;
use serde_json::json;

const NOW: u64 = 1_700_000_000_123;

/// Adapt and serialize, masking random UUIDs in `id` and `content.toolUseId`.
fn run(adapter: Adapter, event: Value) -> Value {
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
fn mask(value: &mut Value) {
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
fn m(id: &str, kind: &str, content: Value) -> Value {
    json!({"id": id, "type": kind, "content": content, "timestamp": NOW})
}

/// One expected message with a parent.
fn mp(id: &str, kind: &str, content: Value, parent: &str) -> Value {
    json!({"id": id, "type": kind, "content": content, "timestamp": NOW, "parentId": parent})
}

fn claude(event: Value) -> Value {
    run(Adapter::Claude, event)
}

fn codex(event: Value) -> Value {
    run(Adapter::Codex, event)
}

fn ollama(event: Value) -> Value {
    run(Adapter::Ollama, event)
}

// ── shared API ───────────────────────────────────────────────────────────────

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

// ── Claude ───────────────────────────────────────────────────────────────────

#[test]
fn claude_system_init() {
    let out = claude(json!({
        "type": "system", "subtype": "init", "uuid": "u1", "session_id": "s1",
        "model": "claude-x", "cwd": "/w", "tools": ["Bash", 1, null, "Edit", {"a": 1}],
        "extra": true
    }));
    assert_eq!(
        out,
        json!([m(
            "u1",
            "init",
            json!({"sessionId": "s1", "model": "claude-x", "cwd": "/w", "tools": ["Bash", "Edit"]})
        )])
    );
}

#[test]
fn claude_system_init_defaults() {
    let out = claude(json!({
        "type": "system", "subtype": "init", "uuid": "", "session_id": 7, "tools": "Bash"
    }));
    assert_eq!(
        out,
        json!([m(
            "<uuid>",
            "init",
            json!({"sessionId": "", "model": "", "cwd": "", "tools": []})
        )])
    );
}

#[test]
fn claude_compact_boundary() {
    let out = claude(json!({
        "type": "system", "subtype": "compact_boundary", "uuid": "c1",
        "compact_metadata": {"trigger": "manual", "pre_tokens": 12345}
    }));
    assert_eq!(
        out,
        json!([m(
            "c1",
            "compaction",
            json!({"trigger": "manual", "preTokens": 12345})
        )])
    );
}

#[test]
fn claude_compact_boundary_defaults() {
    // No metadata at all.
    let out = claude(json!({"type": "system", "subtype": "compact_boundary", "uuid": "c"}));
    assert_eq!(
        out,
        json!([m(
            "c",
            "compaction",
            json!({"trigger": "auto", "preTokens": 0})
        )])
    );
    // Metadata that is not an object counts as {}.
    let out = claude(json!({
        "type": "system", "subtype": "compact_boundary", "uuid": "c",
        "compact_metadata": [{"trigger": "manual"}]
    }));
    assert_eq!(
        out,
        json!([m(
            "c",
            "compaction",
            json!({"trigger": "auto", "preTokens": 0})
        )])
    );
    // A null trigger is nullish; a non-string pre_tokens is 0.
    let out = claude(json!({
        "type": "system", "subtype": "compact_boundary", "uuid": "c",
        "compact_metadata": {"trigger": null, "pre_tokens": "12"}
    }));
    assert_eq!(
        out,
        json!([m(
            "c",
            "compaction",
            json!({"trigger": "auto", "preTokens": 0})
        )])
    );
    // `??` passes any non-null trigger through unchanged, even non-strings and "".
    for trigger in [json!(5), json!(""), json!(false), json!({"k": [1]})] {
        let out = claude(json!({
            "type": "system", "subtype": "compact_boundary", "uuid": "c",
            "compact_metadata": {"trigger": trigger.clone()}
        }));
        assert_eq!(
            out,
            json!([m(
                "c",
                "compaction",
                json!({"trigger": trigger, "preTokens": 0})
            )])
        );
    }
}

#[test]
fn claude_system_status() {
    let out = claude(json!({
        "type": "system", "subtype": "status", "uuid": "s", "status": "compacting", "message": "x"
    }));
    assert_eq!(
        out,
        json!([m(
            "s",
            "status",
            json!({"subtype": "status", "message": "compacting"})
        )])
    );
    // A non-string status is left out; `message` is not a fallback for Claude.
    let out = claude(json!({
        "type": "system", "subtype": "hook_response", "uuid": "s", "status": null, "message": "x"
    }));
    assert_eq!(
        out,
        json!([m("s", "status", json!({"subtype": "hook_response"}))])
    );
    // A missing subtype is "".
    let out = claude(json!({"type": "system"}));
    assert_eq!(out, json!([m("<uuid>", "status", json!({"subtype": ""}))]));
}

#[test]
fn claude_assistant_blocks() {
    let out = claude(json!({
        "type": "assistant", "uuid": "a1",
        "message": {"role": "assistant", "content": [
            {"type": "text", "text": "Hello"},
            {"type": "thinking", "thinking": "Hmm", "text": "ignored"},
            {"type": "redacted_thinking", "data": "xx"},
            {"type": "tool_use", "id": "tu1", "name": "Bash", "input": {"command": "ls", "n": 1}},
            "not a block",
            {"type": "text", "text": "Bye"}
        ]}
    }));
    assert_eq!(
        out,
        json!([
            m("a1-text-0", "text", json!({"text": "Hello"})),
            m("a1-thinking-1", "thinking", json!({"text": "Hmm"})),
            m(
                "a1-tool-3",
                "tool_call",
                json!({"toolUseId": "tu1", "name": "Bash", "input": {"command": "ls", "n": 1}})
            ),
            m("a1-text-5", "text", json!({"text": "Bye"})),
        ])
    );
}

#[test]
fn claude_assistant_parent_id() {
    let out = claude(json!({
        "type": "assistant", "uuid": "a2", "parent_tool_use_id": "toolu_parent",
        "message": {"content": [
            {"type": "text", "text": "sub"},
            {"type": "tool_use", "id": "t", "name": "Read", "input": {}}
        ]}
    }));
    assert_eq!(
        out,
        json!([
            mp("a2-text-0", "text", json!({"text": "sub"}), "toolu_parent"),
            mp(
                "a2-tool-1",
                "tool_call",
                json!({"toolUseId": "t", "name": "Read", "input": {}}),
                "toolu_parent"
            ),
        ])
    );
    // An empty string is still a string, so it is kept.
    let out = claude(json!({
        "type": "assistant", "uuid": "a", "parent_tool_use_id": "",
        "message": {"content": [{"type": "text", "text": "x"}]}
    }));
    assert_eq!(
        out,
        json!([mp("a-text-0", "text", json!({"text": "x"}), "")])
    );
    // Non-strings (the SDK sends null at top level) give no parentId.
    for parent in [Value::Null, json!(1), json!({"id": "p"})] {
        let out = claude(json!({
            "type": "assistant", "uuid": "a", "parent_tool_use_id": parent,
            "message": {"content": [{"type": "text", "text": "x"}]}
        }));
        assert_eq!(out, json!([m("a-text-0", "text", json!({"text": "x"}))]));
    }
}

#[test]
fn claude_assistant_string_content_is_one_text_block() {
    let out = claude(json!({
        "type": "assistant", "uuid": "a3", "parent_tool_use_id": "p",
        "message": {"content": "plain"}
    }));
    assert_eq!(
        out,
        json!([mp("a3-text-0", "text", json!({"text": "plain"}), "p")])
    );
}

#[test]
fn claude_assistant_without_blocks() {
    for event in [
        json!({"type": "assistant", "uuid": "a"}),
        json!({"type": "assistant", "uuid": "a", "message": "hello"}),
        json!({"type": "assistant", "uuid": "a", "message": ["x"]}),
        json!({"type": "assistant", "uuid": "a", "message": {}}),
        json!({"type": "assistant", "uuid": "a", "message": {"content": null}}),
        json!({"type": "assistant", "uuid": "a", "message": {"content": 3}}),
        json!({"type": "assistant", "uuid": "a", "message": {"content": {"type": "text"}}}),
        json!({"type": "assistant", "uuid": "a", "message": {"content": []}}),
    ] {
        assert_eq!(claude(event), json!([]));
    }
}

#[test]
fn claude_assistant_thinking_fallbacks() {
    let out = claude(json!({
        "type": "assistant", "uuid": "t",
        "message": {"content": [
            {"type": "thinking", "thinking": null, "text": "from text (null)"},
            {"type": "thinking", "text": "from text (missing)"},
            {"type": "thinking", "thinking": 42, "text": "not used"},
            {"type": "thinking"},
            {"type": "thinking", "thinking": "", "text": "not used"}
        ]}
    }));
    assert_eq!(
        out,
        json!([
            m(
                "t-thinking-0",
                "thinking",
                json!({"text": "from text (null)"})
            ),
            m(
                "t-thinking-1",
                "thinking",
                json!({"text": "from text (missing)"})
            ),
            m("t-thinking-2", "thinking", json!({"text": ""})),
            m("t-thinking-3", "thinking", json!({"text": ""})),
            m("t-thinking-4", "thinking", json!({"text": ""})),
        ])
    );
}

#[test]
fn claude_assistant_text_and_tool_use_defaults() {
    let out = claude(json!({
        "type": "assistant", "uuid": "d",
        "message": {"content": [
            {"type": "text", "text": 5},
            {"type": "text"},
            {"type": "tool_use"},
            {"type": "tool_use", "id": 1, "name": null, "input": null},
            {"type": "tool_use", "id": "x", "name": "N", "input": "raw"},
            {"type": "tool_use", "id": "y", "name": "N", "input": [1, 2]},
            {"type": "tool_use", "id": "z", "name": "N", "input": false}
        ]}
    }));
    assert_eq!(
        out,
        json!([
            m("d-text-0", "text", json!({"text": ""})),
            m("d-text-1", "text", json!({"text": ""})),
            m(
                "d-tool-2",
                "tool_call",
                json!({"toolUseId": "", "name": "", "input": {}})
            ),
            m(
                "d-tool-3",
                "tool_call",
                json!({"toolUseId": "", "name": "", "input": {}})
            ),
            m(
                "d-tool-4",
                "tool_call",
                json!({"toolUseId": "x", "name": "N", "input": "raw"})
            ),
            m(
                "d-tool-5",
                "tool_call",
                json!({"toolUseId": "y", "name": "N", "input": [1, 2]})
            ),
            m(
                "d-tool-6",
                "tool_call",
                json!({"toolUseId": "z", "name": "N", "input": false})
            ),
        ])
    );
}

#[test]
fn claude_assistant_ignores_untyped_and_unknown_blocks() {
    let out = claude(json!({
        "type": "assistant", "uuid": "x",
        "message": {"content": [
            {"text": "no type"},
            {"type": 1, "text": "numeric type"},
            {"type": "server_tool_use", "id": "s"},
            {"type": "tool_result", "content": "wrong side"},
            null,
            [1]
        ]}
    }));
    assert_eq!(out, json!([]));
}

#[test]
fn claude_assistant_random_base_id_is_shared() {
    let msgs = adapt(
        Adapter::Claude,
        json!({"type": "assistant", "message": {"content": [
            {"type": "text", "text": "a"},
            {"type": "thinking", "thinking": "b"},
            {"type": "tool_use", "id": "t", "name": "n"}
        ]}}),
        NOW,
    );
    assert_eq!(msgs.len(), 3);
    let base = msgs[0].id.strip_suffix("-text-0").expect("text id");
    assert_eq!(base.len(), 36);
    assert_eq!(msgs[1].id, format!("{base}-thinking-1"));
    assert_eq!(msgs[2].id, format!("{base}-tool-2"));
    let out = serde_json::to_value(&msgs).expect("serialize");
    let mut masked = out.clone();
    for item in masked.as_array_mut().into_iter().flatten() {
        if let Some(id) = item.get_mut("id") {
            mask(id);
        }
    }
    assert_eq!(
        masked,
        json!([
            m("<uuid>-text-0", "text", json!({"text": "a"})),
            m("<uuid>-thinking-1", "thinking", json!({"text": "b"})),
            m(
                "<uuid>-tool-2",
                "tool_call",
                json!({"toolUseId": "t", "name": "n", "input": {}})
            ),
        ])
    );
}

#[test]
fn claude_user_tool_results() {
    let out = claude(json!({
        "type": "user", "uuid": "u", "parent_tool_use_id": "p",
        "tool_use_result": {"stdout": "fallback"},
        "message": {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "t0", "content": "out0"},
            {"type": "text", "text": "user text"},
            {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "o"}]},
            {"type": "tool_result", "tool_use_id": "t3"},
            {"type": "tool_result", "tool_use_id": "t4", "content": null},
            {"type": "tool_result", "tool_use_id": "t5", "content": "", "is_error": true},
            {"type": "tool_result", "content": false}
        ]}
    }));
    assert_eq!(
        out,
        json!([
            mp(
                "u-result-0",
                "tool_result",
                json!({"toolUseId": "t0", "output": "out0"}),
                "p"
            ),
            mp(
                "u-result-2",
                "tool_result",
                json!({"toolUseId": "t2", "output": [{"type": "text", "text": "o"}]}),
                "p"
            ),
            mp(
                "u-result-3",
                "tool_result",
                json!({"toolUseId": "t3", "output": {"stdout": "fallback"}}),
                "p"
            ),
            mp(
                "u-result-4",
                "tool_result",
                json!({"toolUseId": "t4", "output": {"stdout": "fallback"}}),
                "p"
            ),
            mp(
                "u-result-5",
                "tool_result",
                json!({"toolUseId": "t5", "output": ""}),
                "p"
            ),
            mp(
                "u-result-6",
                "tool_result",
                json!({"toolUseId": "", "output": false}),
                "p"
            ),
        ])
    );
}

#[test]
fn claude_user_output_undefined_and_null() {
    // Neither content nor tool_use_result: `undefined`, so the key is absent.
    let out = claude(json!({
        "type": "user", "uuid": "u",
        "message": {"content": [{"type": "tool_result", "tool_use_id": "t", "content": null}]}
    }));
    assert_eq!(
        out,
        json!([m("u-result-0", "tool_result", json!({"toolUseId": "t"}))])
    );
    assert_eq!(
        serde_json::to_string(&out[0]["content"]).expect("serialize"),
        r#"{"toolUseId":"t"}"#
    );
    // A null tool_use_result is the value of `??`, and null survives JSON.stringify.
    let out = claude(json!({
        "type": "user", "uuid": "u", "tool_use_result": null,
        "message": {"content": [{"type": "tool_result", "tool_use_id": "t"}]}
    }));
    assert_eq!(
        out,
        json!([m(
            "u-result-0",
            "tool_result",
            json!({"toolUseId": "t", "output": null})
        )])
    );
    // A string tool_use_result is used as-is.
    let out = claude(json!({
        "type": "user", "uuid": "u", "tool_use_result": "Error: boom",
        "message": {"content": [{"type": "tool_result", "tool_use_id": "t"}]}
    }));
    assert_eq!(
        out,
        json!([m(
            "u-result-0",
            "tool_result",
            json!({"toolUseId": "t", "output": "Error: boom"})
        )])
    );
}

#[test]
fn claude_user_without_tool_results() {
    for event in [
        json!({"type": "user", "uuid": "u", "message": {"content": "typed by the user"}}),
        json!({"type": "user", "uuid": "u", "message": {"content": [{"type": "text", "text": "t"}]}}),
        json!({"type": "user", "uuid": "u", "tool_use_result": "x"}),
        json!({"type": "user", "uuid": "u", "message": {"content": [null, 1, "s"]}}),
    ] {
        assert_eq!(claude(event), json!([]));
    }
}

#[test]
fn claude_user_random_base_id_and_no_parent() {
    let out = claude(json!({
        "type": "user", "parent_tool_use_id": null,
        "message": {"content": [{"type": "tool_result", "tool_use_id": "t", "content": "c"}]}
    }));
    assert_eq!(
        out,
        json!([m(
            "<uuid>-result-0",
            "tool_result",
            json!({"toolUseId": "t", "output": "c"})
        )])
    );
}

#[test]
fn claude_result_full() {
    let out = claude(json!({
        "type": "result", "subtype": "success", "uuid": "r1",
        "total_cost_usd": 0.0123, "duration_ms": 4567, "num_turns": 3, "is_error": true,
        "usage": {"input_tokens": 100, "output_tokens": 20, "cache_read_input_tokens": 5},
        "result": "All done", "errors": ["e1", 2, null, "e2"]
    }));
    assert_eq!(
        out,
        json!([m(
            "r1",
            "cost",
            json!({
                "totalCostUsd": 0.0123, "durationMs": 4567, "inputTokens": 100,
                "outputTokens": 20, "numTurns": 3, "isError": true,
                "result": "All done", "errors": ["e1", "e2"]
            })
        )])
    );
    assert_eq!(
        serde_json::to_string(&out[0]["content"]).expect("serialize"),
        r#"{"totalCostUsd":0.0123,"durationMs":4567,"inputTokens":100,"outputTokens":20,"numTurns":3,"isError":true,"result":"All done","errors":["e1","e2"]}"#
    );
}

#[test]
fn claude_result_defaults() {
    let zeros = json!({
        "totalCostUsd": 0, "durationMs": 0, "inputTokens": 0,
        "outputTokens": 0, "numTurns": 0, "isError": false
    });
    // Everything missing: no `result` or `errors` keys, a random id.
    assert_eq!(
        claude(json!({"type": "result"})),
        json!([m("<uuid>", "cost", zeros.clone())])
    );
    // Wrong types: numbers as strings are 0, is_error must be exactly true,
    // a non-string result and non-array errors are left out, usage not an object.
    assert_eq!(
        claude(json!({
            "type": "result", "uuid": "r", "total_cost_usd": "1", "duration_ms": null,
            "num_turns": [1], "is_error": "true", "usage": [1], "result": 5, "errors": "e"
        })),
        json!([m("r", "cost", zeros.clone())])
    );
    // An empty errors array is still an array; an empty result is still a string.
    let mut with_empty = zeros;
    with_empty["isError"] = json!(false);
    with_empty["result"] = json!("");
    with_empty["errors"] = json!([]);
    assert_eq!(
        claude(json!({
            "type": "result", "uuid": "r", "is_error": false, "result": "", "errors": [7]
        })),
        json!([m("r", "cost", with_empty)])
    );
}

#[test]
fn claude_unknown_types_keep_the_raw_event() {
    let event =
        json!({"uuid": "k1", "type": "stream_event", "z": 1, "a": {"nested": [1, 2]}, "m": null});
    let out = claude(event.clone());
    assert_eq!(out, json!([m("k1", "unknown", event.clone())]));
    // Key order of the raw event is preserved.
    assert_eq!(
        serde_json::to_string(&out[0]["content"]).expect("serialize"),
        serde_json::to_string(&event).expect("serialize")
    );
    // Missing / non-string types, and empty or non-string uuids (random id).
    for event in [
        json!({"uuid": "k2"}),
        json!({"type": 1, "uuid": "k2"}),
        json!({"type": null, "uuid": "k2"}),
        json!({"type": "System", "uuid": "k2"}),
    ] {
        assert_eq!(claude(event.clone()), json!([m("k2", "unknown", event)]));
    }
    for event in [
        json!({"type": "tool_progress", "uuid": ""}),
        json!({"type": "tool_progress", "uuid": 5}),
        json!({"type": "tool_progress"}),
        json!({}),
    ] {
        assert_eq!(
            claude(event.clone()),
            json!([m("<uuid>", "unknown", event)])
        );
    }
}

// ── Codex ────────────────────────────────────────────────────────────────────

#[test]
fn codex_thread_started() {
    assert_eq!(
        codex(json!({"type": "thread.started", "thread_id": "th_1"})),
        json!([m(
            "<uuid>",
            "init",
            json!({"sessionId": "th_1", "model": "", "cwd": "", "tools": []})
        )])
    );
    assert_eq!(
        codex(json!({"type": "thread.started", "thread_id": 9})),
        json!([m(
            "<uuid>",
            "init",
            json!({"sessionId": "", "model": "", "cwd": "", "tools": []})
        )])
    );
}

#[test]
fn codex_turn_started() {
    assert_eq!(
        codex(json!({"type": "turn.started"})),
        json!([m("<uuid>", "status", json!({"subtype": "turn_started"}))])
    );
}

#[test]
fn codex_turn_completed() {
    assert_eq!(
        codex(json!({
            "type": "turn.completed",
            "usage": {"input_tokens": 1200, "cached_input_tokens": 5, "output_tokens": 34}
        })),
        json!([m(
            "<uuid>",
            "cost",
            json!({
                "totalCostUsd": 0, "durationMs": 0, "inputTokens": 1200,
                "outputTokens": 34, "numTurns": 1, "isError": false
            })
        )])
    );
    for event in [
        json!({"type": "turn.completed"}),
        json!({"type": "turn.completed", "usage": null}),
        json!({"type": "turn.completed", "usage": {"input_tokens": "1", "output_tokens": null}}),
    ] {
        assert_eq!(
            codex(event),
            json!([m(
                "<uuid>",
                "cost",
                json!({
                    "totalCostUsd": 0, "durationMs": 0, "inputTokens": 0,
                    "outputTokens": 0, "numTurns": 1, "isError": false
                })
            )])
        );
    }
}

#[test]
fn codex_turn_failed() {
    assert_eq!(
        codex(json!({"type": "turn.failed", "error": {"message": "rate limited"}})),
        json!([m("<uuid>", "error", json!({"message": "rate limited"}))])
    );
    for event in [
        json!({"type": "turn.failed"}),
        json!({"type": "turn.failed", "error": "boom"}),
        json!({"type": "turn.failed", "error": {}}),
        json!({"type": "turn.failed", "error": {"message": null}}),
    ] {
        assert_eq!(
            codex(event),
            json!([m("<uuid>", "error", json!({"message": "Turn failed"}))])
        );
    }
    // `??` keeps any non-null message as-is, including "" and non-strings.
    for message in [json!(""), json!(42), json!({"code": 1})] {
        assert_eq!(
            codex(json!({"type": "turn.failed", "error": {"message": message.clone()}})),
            json!([m("<uuid>", "error", json!({"message": message}))])
        );
    }
}

#[test]
fn codex_error_event() {
    assert_eq!(
        codex(json!({"type": "error", "message": "stream disconnected"})),
        json!([m(
            "<uuid>",
            "error",
            json!({"message": "stream disconnected"})
        )])
    );
    assert_eq!(
        codex(json!({"type": "error", "message": {"x": 1}})),
        json!([m("<uuid>", "error", json!({"message": ""}))])
    );
}

#[test]
fn codex_item_events_without_an_item_object() {
    for kind in ["item.started", "item.updated", "item.completed"] {
        for item in [None, Some(Value::Null), Some(json!([])), Some(json!("i"))] {
            let mut event = json!({"type": kind});
            if let Some(item) = item {
                event["item"] = item;
            }
            assert_eq!(codex(event), json!([]));
        }
    }
}

/// An `item.<phase>` event wrapping `item`.
fn item_event(phase: &str, item: Value) -> Value {
    json!({"type": format!("item.{phase}"), "item": item})
}

#[test]
fn codex_agent_message_and_reasoning_only_on_completion() {
    let text = json!({"id": "i1", "type": "agent_message", "text": "Hi"});
    let thought = json!({"id": "i2", "type": "reasoning", "text": "Plan"});
    for phase in ["started", "updated"] {
        assert_eq!(codex(item_event(phase, text.clone())), json!([]));
        assert_eq!(codex(item_event(phase, thought.clone())), json!([]));
    }
    assert_eq!(
        codex(item_event("completed", text)),
        json!([m("i1", "text", json!({"text": "Hi"}))])
    );
    assert_eq!(
        codex(item_event("completed", thought)),
        json!([m("i2", "thinking", json!({"text": "Plan"}))])
    );
    // Missing id -> random; missing text -> "".
    assert_eq!(
        codex(item_event(
            "completed",
            json!({"type": "agent_message", "id": ""})
        )),
        json!([m("<uuid>", "text", json!({"text": ""}))])
    );
    assert_eq!(
        codex(item_event(
            "completed",
            json!({"type": "reasoning", "text": 3})
        )),
        json!([m("<uuid>", "thinking", json!({"text": ""}))])
    );
}

#[test]
fn codex_command_execution() {
    let item = json!({
        "id": "c1", "type": "command_execution", "command": "ls -la",
        "aggregated_output": "total 0\n", "exit_code": 0, "status": "completed"
    });
    let call = m(
        "c1",
        "tool_call",
        json!({"toolUseId": "c1", "name": "Bash", "input": {"command": "ls -la"}}),
    );
    assert_eq!(
        codex(item_event("started", item.clone())),
        json!([call.clone()])
    );
    assert_eq!(codex(item_event("updated", item.clone())), json!([]));
    assert_eq!(
        codex(item_event("completed", item)),
        json!([
            call,
            m(
                "c1-result",
                "tool_result",
                json!({"toolUseId": "c1", "output": "total 0\n"})
            ),
        ])
    );
    // Defaults, and a random id shared by the call and its result.
    let msgs = adapt(
        Adapter::Codex,
        item_event(
            "completed",
            json!({"type": "command_execution", "aggregated_output": null}),
        ),
        NOW,
    );
    assert_eq!(msgs.len(), 2);
    assert_eq!(msgs[0].id.len(), 36);
    assert_eq!(msgs[0].content["toolUseId"], json!(msgs[0].id));
    assert_eq!(msgs[1].id, format!("{}-result", msgs[0].id));
    assert_eq!(msgs[1].content["toolUseId"], json!(msgs[0].id));
    assert_eq!(
        codex(item_event(
            "completed",
            json!({"type": "command_execution"})
        )),
        json!([
            m(
                "<uuid>",
                "tool_call",
                json!({"toolUseId": "<uuid>", "name": "Bash", "input": {"command": ""}})
            ),
            m(
                "<uuid>-result",
                "tool_result",
                json!({"toolUseId": "<uuid>", "output": ""})
            ),
        ])
    );
}

#[test]
fn codex_file_change() {
    let item = json!({
        "id": "f1", "type": "file_change", "status": "completed",
        "changes": [
            {"kind": "add", "path": "/a.txt"},
            {"kind": "update", "path": "/b.txt"},
            {"kind": "delete", "path": "/c.txt"},
            {"kind": "rename", "path": "/d.txt"},
            {"path": "/e.txt"},
            "junk",
            {"kind": 1, "path": null}
        ]
    });
    assert_eq!(codex(item_event("started", item.clone())), json!([]));
    assert_eq!(codex(item_event("updated", item.clone())), json!([]));
    let pair = |i: usize, name: &str, input: Value, output: &str| {
        let id = format!("f1-{i}");
        [
            m(
                &id,
                "tool_call",
                json!({"toolUseId": id, "name": name, "input": input}),
            ),
            m(
                &format!("{id}-result"),
                "tool_result",
                json!({"toolUseId": id, "output": output}),
            ),
        ]
    };
    let mut expected = Vec::new();
    expected.extend(pair(
        0,
        "Write",
        json!({"file_path": "/a.txt"}),
        "File add: /a.txt",
    ));
    expected.extend(pair(
        1,
        "Edit",
        json!({"file_path": "/b.txt"}),
        "File update: /b.txt",
    ));
    expected.extend(pair(
        2,
        "Bash",
        json!({"command": "rm /c.txt"}),
        "File delete: /c.txt",
    ));
    expected.extend(pair(
        3,
        "Edit",
        json!({"file_path": "/d.txt"}),
        "File rename: /d.txt",
    ));
    expected.extend(pair(
        4,
        "Edit",
        json!({"file_path": "/e.txt"}),
        "File : /e.txt",
    ));
    expected.extend(pair(5, "Edit", json!({"file_path": ""}), "File : "));
    expected.extend(pair(6, "Edit", json!({"file_path": ""}), "File : "));
    assert_eq!(codex(item_event("completed", item)), Value::Array(expected));
}

#[test]
fn codex_file_change_without_changes() {
    for changes in [
        None,
        Some(Value::Null),
        Some(json!({"kind": "add"})),
        Some(json!([])),
    ] {
        let mut item = json!({"id": "f", "type": "file_change"});
        if let Some(changes) = changes {
            item["changes"] = changes;
        }
        assert_eq!(codex(item_event("completed", item)), json!([]));
    }
    // A random item id prefixes the per-change ids.
    assert_eq!(
        codex(item_event(
            "completed",
            json!({"type": "file_change", "changes": [{"kind": "delete", "path": "x"}]})
        )),
        json!([
            m(
                "<uuid>-0",
                "tool_call",
                json!({"toolUseId": "<uuid>-0", "name": "Bash", "input": {"command": "rm x"}})
            ),
            m(
                "<uuid>-0-result",
                "tool_result",
                json!({"toolUseId": "<uuid>-0", "output": "File delete: x"})
            ),
        ])
    );
}

#[test]
fn codex_mcp_tool_call() {
    let item = json!({
        "id": "m1", "type": "mcp_tool_call", "server": "docs", "tool": "search",
        "arguments": {"q": "rust"}, "status": "completed",
        "result": {"content": [{"type": "text", "text": "found"}], "structured_content": null}
    });
    let call = m(
        "m1",
        "tool_call",
        json!({"toolUseId": "m1", "name": "docs:search", "input": {"q": "rust"}}),
    );
    assert_eq!(
        codex(item_event("started", item.clone())),
        json!([call.clone()])
    );
    assert_eq!(codex(item_event("updated", item.clone())), json!([]));
    assert_eq!(
        codex(item_event("completed", item)),
        json!([
            call,
            m(
                "m1-result",
                "tool_result",
                json!({"toolUseId": "m1", "output": [{"type": "text", "text": "found"}]})
            ),
        ])
    );
}

#[test]
fn codex_mcp_tool_call_outputs() {
    let result_of = |extra: Value| {
        let mut item = json!({"id": "m", "type": "mcp_tool_call", "server": "s", "tool": "t"});
        for (k, v) in extra.as_object().into_iter().flatten() {
            item[k] = v.clone();
        }
        let out = codex(item_event("completed", item));
        assert_eq!(out.as_array().map(Vec::len), Some(2));
        out[1].clone()
    };
    let result = |content: Value| m("m-result", "tool_result", content);
    // An error object wins over the result.
    assert_eq!(
        result_of(json!({"error": {"message": "denied"}, "result": {"content": "ignored"}})),
        result(json!({"toolUseId": "m", "output": "denied"}))
    );
    assert_eq!(
        result_of(json!({"error": {"message": 5}})),
        result(json!({"toolUseId": "m", "output": ""}))
    );
    assert_eq!(
        result_of(json!({"error": {}})),
        result(json!({"toolUseId": "m", "output": ""}))
    );
    // A non-object error is ignored in favour of the result.
    assert_eq!(
        result_of(json!({"error": "denied", "result": {"content": "ok"}})),
        result(json!({"toolUseId": "m", "output": "ok"}))
    );
    // A null content is kept (JSON null), a missing one is `undefined` (key absent).
    assert_eq!(
        result_of(json!({"result": {"content": null}})),
        result(json!({"toolUseId": "m", "output": null}))
    );
    for extra in [
        json!({}),
        json!({"result": {}}),
        json!({"result": null, "error": null}),
        json!({"result": "text"}),
    ] {
        let out = result_of(extra);
        assert_eq!(out, result(json!({"toolUseId": "m"})));
        assert_eq!(
            serde_json::to_string(&out["content"]).expect("serialize"),
            r#"{"toolUseId":"m"}"#
        );
    }
}

#[test]
fn codex_mcp_tool_call_defaults() {
    let call = |input: Value| {
        json!([m(
            "<uuid>",
            "tool_call",
            json!({"toolUseId": "<uuid>", "name": ":", "input": input})
        )])
    };
    assert_eq!(
        codex(item_event("started", json!({"type": "mcp_tool_call"}))),
        call(json!({}))
    );
    assert_eq!(
        codex(item_event(
            "started",
            json!({"type": "mcp_tool_call", "arguments": null})
        )),
        call(json!({}))
    );
    assert_eq!(
        codex(item_event(
            "started",
            json!({"type": "mcp_tool_call", "arguments": "raw"})
        )),
        call(json!("raw"))
    );
    assert_eq!(
        codex(item_event(
            "started",
            json!({"type": "mcp_tool_call", "arguments": 0})
        )),
        call(json!(0))
    );
}

#[test]
fn codex_web_search() {
    let item = json!({"id": "w1", "type": "web_search", "query": "rust serde"});
    assert_eq!(codex(item_event("started", item.clone())), json!([]));
    assert_eq!(codex(item_event("updated", item.clone())), json!([]));
    assert_eq!(
        codex(item_event("completed", item)),
        json!([m(
            "w1",
            "tool_call",
            json!({"toolUseId": "w1", "name": "WebSearch", "input": {"query": "rust serde"}})
        )])
    );
    assert_eq!(
        codex(item_event("completed", json!({"type": "web_search"}))),
        json!([m(
            "<uuid>",
            "tool_call",
            json!({"toolUseId": "<uuid>", "name": "WebSearch", "input": {"query": ""}})
        )])
    );
}

#[test]
fn codex_error_item_in_every_phase() {
    for phase in ["started", "updated", "completed"] {
        assert_eq!(
            codex(item_event(
                phase,
                json!({"id": "e1", "type": "error", "message": "bad"})
            )),
            json!([m("e1", "error", json!({"message": "bad"}))])
        );
    }
    assert_eq!(
        codex(item_event("started", json!({"type": "error"}))),
        json!([m("<uuid>", "error", json!({"message": ""}))])
    );
}

#[test]
fn codex_unknown_item_types_are_dropped() {
    for phase in ["started", "updated", "completed"] {
        for item in [
            json!({"id": "x", "type": "todo_list", "items": []}),
            json!({"id": "x"}),
            json!({"id": "x", "type": 3}),
            json!({"id": "x", "type": null}),
        ] {
            assert_eq!(codex(item_event(phase, item)), json!([]));
        }
    }
}

#[test]
fn codex_unknown_event_types() {
    for event in [
        json!({"type": "session.configured", "b": 1, "a": 2}),
        json!({"type": 5}),
        json!({"type": "item.deleted", "item": {"id": "i", "type": "agent_message"}}),
        json!({"thread_id": "t"}),
        json!({}),
    ] {
        let out = codex(event.clone());
        assert_eq!(out, json!([m("<uuid>", "unknown", event.clone())]));
        assert_eq!(
            serde_json::to_string(&out[0]["content"]).expect("serialize"),
            serde_json::to_string(&event).expect("serialize")
        );
    }
    let event = json!({"type": "custom", "uuid": "cx"});
    assert_eq!(codex(event.clone()), json!([m("cx", "unknown", event)]));
}

// ── Ollama ───────────────────────────────────────────────────────────────────

#[test]
fn ollama_system_init() {
    assert_eq!(
        ollama(json!({
            "type": "system", "subtype": "init", "session_id": "o1", "model": "llama3",
            "cwd": "/w", "tools": ["read", 2, "write"], "uuid": "ignored"
        })),
        json!([m(
            "<uuid>",
            "init",
            json!({"sessionId": "o1", "model": "llama3", "cwd": "/w", "tools": ["read", "write"]})
        )])
    );
    assert_eq!(
        ollama(json!({"type": "system", "subtype": "init", "tools": null})),
        json!([m(
            "<uuid>",
            "init",
            json!({"sessionId": "", "model": "", "cwd": "", "tools": []})
        )])
    );
}

#[test]
fn ollama_system_status() {
    let status = |event: Value, content: Value| {
        assert_eq!(ollama(event), json!([m("<uuid>", "status", content)]));
    };
    status(
        json!({"type": "system", "subtype": "pulling", "status": "pulling manifest", "message": "m"}),
        json!({"subtype": "pulling", "message": "pulling manifest"}),
    );
    status(
        json!({"type": "system", "subtype": "info", "status": 5, "message": "from message"}),
        json!({"subtype": "info", "message": "from message"}),
    );
    status(
        json!({"type": "system", "subtype": "info", "message": "only message"}),
        json!({"subtype": "info", "message": "only message"}),
    );
    status(
        json!({"type": "system", "subtype": "info", "status": null, "message": 1}),
        json!({"subtype": "info"}),
    );
    status(json!({"type": "system"}), json!({"subtype": ""}));
    status(
        json!({"type": "system", "subtype": "x", "status": ""}),
        json!({"subtype": "x", "message": ""}),
    );
}

#[test]
fn ollama_chunk_text_and_thinking() {
    assert_eq!(
        ollama(json!({
            "type": "chunk", "message": {"role": "assistant", "content": "Hel", "thinking": "hmm"},
            "done": false
        })),
        json!([
            m("<uuid>", "thinking", json!({"text": "hmm"})),
            m("<uuid>", "text", json!({"text": "Hel"})),
        ])
    );
    assert_eq!(
        ollama(json!({"type": "chunk", "message": {"content": "only text"}})),
        json!([m("<uuid>", "text", json!({"text": "only text"}))])
    );
    assert_eq!(
        ollama(json!({"type": "chunk", "message": {"thinking": "only thinking", "content": 4}})),
        json!([m("<uuid>", "thinking", json!({"text": "only thinking"}))])
    );
    // Empty or missing pieces produce nothing.
    for event in [
        json!({"type": "chunk"}),
        json!({"type": "chunk", "message": null}),
        json!({"type": "chunk", "message": "text"}),
        json!({"type": "chunk", "message": {"content": "", "thinking": ""}}),
        json!({"type": "chunk", "message": {}, "done": "true"}),
        json!({"type": "chunk", "message": {}, "done": false}),
        json!({"type": "chunk", "message": {}, "done": 1}),
    ] {
        assert_eq!(ollama(event), json!([]));
    }
}

#[test]
fn ollama_final_chunk_cost() {
    assert_eq!(
        ollama(json!({
            "type": "chunk", "message": {"content": "end"}, "done": true, "done_reason": "stop",
            "eval_duration": 1_500_000, "prompt_eval_count": 26, "eval_count": 298
        })),
        json!([
            m("<uuid>", "text", json!({"text": "end"})),
            m(
                "<uuid>",
                "cost",
                json!({
                    "totalCostUsd": 0, "durationMs": 2, "inputTokens": 26,
                    "outputTokens": 298, "numTurns": 1, "isError": false
                })
            ),
        ])
    );
    assert_eq!(
        ollama(json!({"type": "chunk", "done": true, "done_reason": "error"})),
        json!([m(
            "<uuid>",
            "cost",
            json!({
                "totalCostUsd": 0, "durationMs": 0, "inputTokens": 0,
                "outputTokens": 0, "numTurns": 1, "isError": true
            })
        )])
    );
}

#[test]
fn ollama_duration_rounding() {
    let duration = |eval: Value| {
        let out = ollama(json!({"type": "chunk", "done": true, "eval_duration": eval}));
        out[0]["content"]["durationMs"].clone()
    };
    assert_eq!(duration(json!(2_499_999)), json!(2));
    assert_eq!(duration(json!(2_500_000)), json!(3));
    assert_eq!(duration(json!(1_234_567.8)), json!(1));
    assert_eq!(duration(json!(4_321_000_000_u64)), json!(4321));
    assert_eq!(duration(json!(-2_500_000)), json!(-2));
    assert_eq!(duration(json!(-100)), json!(0));
    assert_eq!(duration(json!("1500000")), json!(0));
    assert_eq!(duration(Value::Null), json!(0));
    assert!(duration(json!(2_500_000)).is_i64());
    // Beyond i64 the value stays a (JS-style) double.
    assert!(duration(json!(1e300)).is_f64());
}

#[test]
fn ollama_error() {
    assert_eq!(
        ollama(json!({"type": "error", "message": "model not found"})),
        json!([m("<uuid>", "error", json!({"message": "model not found"}))])
    );
    assert_eq!(
        ollama(json!({"type": "error"})),
        json!([m("<uuid>", "error", json!({"message": ""}))])
    );
}

#[test]
fn ollama_unknown_event_types() {
    for event in [
        json!({"type": "tool", "name": "x"}),
        json!({"type": ["chunk"]}),
        json!({"message": {"content": "no type"}}),
    ] {
        assert_eq!(
            ollama(event.clone()),
            json!([m("<uuid>", "unknown", event)])
        );
    }
    let event = json!({"type": "progress", "uuid": "ou"});
    assert_eq!(ollama(event.clone()), json!([m("ou", "unknown", event)]));
}
