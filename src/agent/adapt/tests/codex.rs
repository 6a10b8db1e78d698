//! The `codex exec --json` thread-event mapping (`../codex.rs`).

use serde_json::json;

use super::*;

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
