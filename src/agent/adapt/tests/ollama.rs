//! The Ollama chat-chunk mapping (`../ollama.rs`).

use serde_json::json;

use super::*;

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
