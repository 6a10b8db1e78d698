//! The Claude Agent SDK stream-json mapping (`../claude.rs`).

use serde_json::json;

use super::*;

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
