//! Property tests (bounded fuzzing, part of `cargo test`): the framer and the adapters never
//! panic, never hold more than the cap, and the framer's output does not depend on how the
//! input is split into reads.

use crate::agent::adapt::{self, Adapter};
use crate::agent::framing::tests::{Owned as Out, frame_all};
use crate::agent::outbox::{MessageRun, TextField};
use proptest::prelude::*;
use serde_json::Value;

/// Bytes biased towards the interesting ones: newlines, `\r`, spaces, braces, high bytes.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => Just(b'\n'),
            2 => Just(b'\r'),
            2 => Just(b' '),
            2 => Just(b'{'),
            1 => Just(0u8),
            1 => Just(0xffu8),
            10 => b'a'..=b'z',
        ],
        0..400,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn framer_split_invariant_and_bounded(input in stream(), max in 1usize..40, cuts in prop::collection::vec(0usize..400, 0..8)) {
        let (whole, _) = frame_all(max, &[&input]);
        let mut points: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
        points.sort_unstable();
        let mut chunks = Vec::new();
        let mut last = 0;
        for p in points {
            chunks.push(&input[last..p]);
            last = p;
        }
        chunks.push(&input[last..]);
        let (split, peak) = frame_all(max, &chunks);
        prop_assert_eq!(&split, &whole);
        prop_assert!(peak <= max + 1, "buffered {} > cap {}", peak, max);
        for o in &whole {
            match o {
                Out::Line(l) => {
                    prop_assert!(l.len() <= max);
                    prop_assert!(!l.contains(&b'\n'));
                    prop_assert!(!l.iter().all(u8::is_ascii_whitespace));
                }
                Out::Over(len) => prop_assert!(*len > max),
            }
        }
        // Nothing is lost: every non-blank line either arrives or is reported (an over-long
        // line is reported even if it is all white space: it is not buffered to find out).
        let expected = input
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .filter(|l| l.len() > max || !l.iter().all(u8::is_ascii_whitespace))
            .count();
        prop_assert_eq!(whole.len(), expected);
    }
}

/// Arbitrary JSON values, nested a few levels, with the keys the adapters look at.
fn json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("type"),
        Just("subtype"),
        Just("uuid"),
        Just("message"),
        Just("content"),
        Just("text"),
        Just("thinking"),
        Just("id"),
        Just("name"),
        Just("input"),
        Just("tool_use_id"),
        Just("usage"),
        Just("item"),
        Just("changes"),
        Just("kind"),
        Just("path"),
        Just("error"),
        Just("result"),
        Just("done"),
        Just("parent_tool_use_id"),
        Just("total_cost_usd"),
        Just("eval_duration"),
        Just("compact_metadata"),
        Just("tools"),
        Just("server"),
        Just("tool"),
        Just("arguments"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just("system"),
            Just("init"),
            Just("assistant"),
            Just("user"),
            Just("result"),
            Just("text"),
            Just("tool_use"),
            Just("tool_result"),
            Just("thinking"),
            Just("compact_boundary"),
            Just("thread.started"),
            Just("turn.completed"),
            Just("turn.failed"),
            Just("item.started"),
            Just("item.completed"),
            Just("item.updated"),
            Just("agent_message"),
            Just("command_execution"),
            Just("file_change"),
            Just("mcp_tool_call"),
            Just("web_search"),
            Just("error"),
            Just("chunk"),
            Just("add"),
            Just("delete"),
            Just(""),
            Just("é🚀"),
            Just("two\nlines, \"quoted\", a \\ and a\ttab")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..8).prop_map(|kv| Value::Object(
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
            )),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, .. ProptestConfig::default() })]

    #[test]
    fn adapters_never_panic_and_always_serialise(event in json()) {
        for adapter in [Adapter::Claude, Adapter::Codex, Adapter::Ollama] {
            let msgs = adapt::adapt(adapter, event.clone(), 1);
            for m in &msgs {
                let text = serde_json::to_string(m).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let back: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert!(back.get("id").and_then(Value::as_str).is_some_and(|s| !s.is_empty()));
                prop_assert_eq!(back.get("timestamp"), Some(&Value::from(1)));
            }
        }
    }
}

/// Claude `assistant`/`user` events with every block kind and odd field values.
fn claude_event() -> impl Strategy<Value = Value> {
    let field = || prop_oneof![3 => Just(None), 1 => json().prop_map(Some)];
    let block = (
        prop_oneof![
            Just("text"),
            Just("thinking"),
            Just("tool_use"),
            Just("tool_result"),
            Just("image"),
            Just("")
        ],
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
        field(),
    )
        .prop_map(
            |(ty, text, thinking, id, name, input, tool_use_id, content)| {
                let mut m = serde_json::Map::new();
                m.insert("type".into(), Value::from(ty));
                for (k, v) in [
                    ("text", text),
                    ("thinking", thinking),
                    ("id", id),
                    ("name", name),
                    ("input", input),
                    ("tool_use_id", tool_use_id),
                    ("content", content),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                Value::Object(m)
            },
        );
    let content = prop_oneof![
        1 => Just(None),
        1 => "[a-z é\"\\\\]{0,12}".prop_map(|s| Some(Value::from(s))),
        4 => prop::collection::vec(prop_oneof![6 => block, 1 => json()], 0..5).prop_map(|b| Some(Value::Array(b))),
        1 => json().prop_map(Some),
    ];
    (
        prop_oneof![Just("assistant"), Just("user")],
        prop_oneof![
            Just(Value::from("u-1")),
            Just(Value::from("abc")),
            Just(Value::from(7))
        ],
        prop_oneof![
            Just(None),
            Just(Some(Value::Null)),
            Just(Some(Value::from("toolu_1"))),
            Just(Some(Value::from(3)))
        ],
        content,
        prop_oneof![Just(None), json().prop_map(Some)],
        any::<bool>(),
    )
        .prop_map(|(ty, uuid, parent, content, tool_use_result, wrap)| {
            let mut ev = serde_json::Map::new();
            ev.insert("type".into(), Value::from(ty));
            ev.insert("uuid".into(), uuid);
            if let Some(p) = parent {
                ev.insert("parent_tool_use_id".into(), p);
            }
            let mut msg = serde_json::Map::new();
            if let Some(c) = content {
                msg.insert("content".into(), c);
            }
            ev.insert("message".into(), Value::Object(msg));
            if let Some(t) = tool_use_result {
                ev.insert("tool_use_result".into(), t);
            }
            let ev = Value::Object(ev);
            if wrap {
                serde_json::json!({"type": "agent_event", "sessionId": "s", "event": ev})
            } else {
                ev
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, .. ProptestConfig::default() })]

    #[test]
    fn fast_path_matches_the_general_path(line in claude_event(), long_min in prop_oneof![Just(usize::MAX), 0usize..24]) {
        use crate::agent::adapt::fast::{Fast, try_line_detaching};
        let text = serde_json::to_vec(&line).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut run = MessageRun::default();
        match try_line_detaching(&text, true, 42, &mut run, long_min) {
            Fast::Messages(n) => {
                prop_assert_eq!(run.count as usize, n);
                let fast = reassemble(&run)?;
                let event = match crate::agent::protocol::classify(line) {
                    crate::agent::protocol::RunnerEvent::Provider(ev) => ev,
                    other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
                };
                let slow = serde_json::to_value(adapt::adapt(Adapter::Claude, event, 42))
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(fast.as_array().map(Vec::len), Some(n));
                prop_assert_eq!(normalize_ids(fast), normalize_ids(slow));
            }
            Fast::Fallback => prop_assert!(run.body.is_empty() && run.count == 0 && run.long.is_empty()),
            other => return Err(TestCaseError::fail(format!("unexpected {other:?}"))),
        }
    }
}

/// The messages of `run` as JS sees them: the JSON with each long text put back in.
fn reassemble(run: &MessageRun) -> Result<Value, TestCaseError> {
    let mut v: Value = serde_json::from_slice(&[b"[".as_slice(), &run.body, b"]"].concat())
        .map_err(|e| TestCaseError::fail(format!("fast output is not JSON: {e}")))?;
    for t in &run.long {
        let text =
            String::from_utf8(t.bytes.clone()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(t.ascii, text.is_ascii());
        let field = match t.field {
            TextField::Text => "text",
            TextField::Output => "output",
        };
        let slot = v
            .get_mut(t.index as usize)
            .and_then(|m| m.get_mut("content"))
            .and_then(|c| c.get_mut(field))
            .ok_or_else(|| {
                TestCaseError::fail(format!("no content.{field} at message {}", t.index))
            })?;
        prop_assert_eq!(&*slot, &Value::from(0), "placeholder");
        *slot = Value::String(text);
    }
    Ok(v)
}

/// Replaces random (36-character UUID) id prefixes, which differ between two runs.
fn normalize_ids(mut v: Value) -> Value {
    if let Some(items) = v.as_array_mut() {
        for m in items {
            if let Some(Value::String(id)) = m.get_mut("id")
                && id.len() > 36
                && uuid::Uuid::parse_str(&id[..36]).is_ok()
            {
                id.replace_range(..36, "<uuid>");
            }
        }
    }
    v
}

#[test]
fn fast_path_takes_the_common_lines() {
    use crate::agent::adapt::fast::{Fast, try_line};
    let mut run = MessageRun::default();
    let text = br#"{"type":"agent_event","sessionId":"s","event":{"type":"assistant","uuid":"u1","message":{"content":[{"type":"text","text":"hi \"there\""},{"type":"tool_use","id":"t","name":"Read","input":{"file_path":"/x"}}]}}}"#;
    assert_eq!(try_line(text, true, 5, &mut run), Fast::Messages(2));
    assert_eq!(
        std::str::from_utf8(&run.body).ok(),
        Some(
            r#"{"id":"u1-text-0","type":"text","content":{"text":"hi \"there\""},"timestamp":5},{"id":"u1-tool-1","type":"tool_call","content":{"toolUseId":"t","name":"Read","input":{"file_path":"/x"}},"timestamp":5}"#
        )
    );
    let mut run = MessageRun::default();
    assert_eq!(
        try_line(
            br#"{"type":"agent_started","sessionId":"s"}"#,
            false,
            5,
            &mut run
        ),
        Fast::Started
    );
    assert_eq!(
        try_line(br#"{"type":"agent_stopped"}"#, true, 5, &mut run),
        Fast::Stopped
    );
    assert_eq!(
        try_line(br#"{"type":"ready"}"#, true, 5, &mut run),
        Fast::Ready
    );
    // Not covered: other event kinds, escapes in ids, invalid UTF-8, duplicate keys, bad JSON.
    for line in [
        &br#"{"type":"result","total_cost_usd":1}"#[..],
        br#"{"type":"assistant","uuid":"a\nb","message":{"content":"x"}}"#,
        b"{\"type\":\"assistant\",\"x\":\"\xff\"}",
        br#"{"type":"assistant","type":"user"}"#,
        br#"{"type":"assistant""#,
        br#"{"type":"agent_error","message":"m"}"#,
    ] {
        assert_eq!(
            try_line(line, true, 5, &mut run),
            Fast::Fallback,
            "{}",
            String::from_utf8_lossy(line)
        );
        assert!(run.body.is_empty() && run.count == 0);
    }
    // Other providers only use the control part.
    assert_eq!(
        try_line(
            br#"{"type":"assistant","uuid":"u","message":{}}"#,
            false,
            5,
            &mut run
        ),
        Fast::Fallback
    );
}

/// Runs the fast path on one Claude line, which must give `n` messages; returns the run.
fn fast_messages(line: &[u8], n: usize) -> MessageRun {
    use crate::agent::adapt::fast::{Fast, try_line};
    let mut run = MessageRun::default();
    assert_eq!(try_line(line, true, 5, &mut run), Fast::Messages(n));
    run
}

#[test]
fn long_texts_leave_the_json_from_the_threshold_on() {
    use crate::agent::adapt::fast::LONG_TEXT_BYTES;
    let long = "a".repeat(LONG_TEXT_BYTES);
    let short = "b".repeat(LONG_TEXT_BYTES - 1);
    let escaped = format!("{}\\n", "c".repeat(LONG_TEXT_BYTES));
    let utf8 = "é".repeat(LONG_TEXT_BYTES);
    let line = format!(
        r#"{{"type":"assistant","uuid":"u","message":{{"content":[{{"type":"text","text":"{long}"}},{{"type":"thinking","thinking":"{short}"}},{{"type":"text","text":"{escaped}"}},{{"type":"thinking","thinking":"{utf8}"}}]}}}}"#
    );
    let run = fast_messages(line.as_bytes(), 4);
    let indexes: Vec<_> = run.long.iter().map(|t| (t.index, t.ascii)).collect();
    assert_eq!(indexes, vec![(0, true), (2, true), (3, false)]);
    assert_eq!(run.long[0].bytes, long.as_bytes());
    // An escaped text leaves decoded.
    assert_eq!(
        run.long[1].bytes,
        format!("{}\n", "c".repeat(LONG_TEXT_BYTES)).as_bytes()
    );
    assert_eq!(run.long[2].bytes, utf8.as_bytes());
    // Only the short text is still in the JSON.
    assert!(run.body.len() < 2 * LONG_TEXT_BYTES);
    let v = reassemble(&run).expect("reassembled");
    let texts: Vec<_> = (0..4).map(|i| v[i]["content"]["text"].clone()).collect();
    assert_eq!(
        texts,
        vec![
            Value::from(long.clone()),
            Value::from(short),
            Value::from(format!("{}\n", "c".repeat(LONG_TEXT_BYTES))),
            Value::from(utf8)
        ]
    );
    // A bare string content is one text block and is detached the same way.
    let line = format!(r#"{{"type":"assistant","uuid":"u","message":{{"content":"{long}"}}}}"#);
    let run = fast_messages(line.as_bytes(), 1);
    assert_eq!(run.long.len(), 1);
    assert_eq!(
        std::str::from_utf8(&run.body).ok(),
        Some(r#"{"id":"u-text-0","type":"text","content":{"text":0},"timestamp":5}"#)
    );
    // So is a bare string with escapes, decoded.
    let line = format!(
        r#"{{"type":"assistant","uuid":"u","message":{{"content":"{}\"q\"\u00e9"}}}}"#,
        "d".repeat(LONG_TEXT_BYTES)
    );
    let run = fast_messages(line.as_bytes(), 1);
    assert_eq!(
        run.long[0].bytes,
        format!("{}\"q\"é", "d".repeat(LONG_TEXT_BYTES)).as_bytes()
    );
    assert!(!run.long[0].ascii);
}

#[test]
fn long_tool_outputs_leave_the_json_too() {
    use crate::agent::adapt::fast::LONG_TEXT_BYTES;
    let file = "line of a file\n".repeat(LONG_TEXT_BYTES / 10);
    let line = serde_json::json!({"type": "user", "uuid": "u", "message": {"content": [
        {"type": "tool_result", "tool_use_id": "t1", "content": file},
        {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": file}]},
        {"type": "tool_result", "tool_use_id": "t3", "content": "short"},
    ]}})
    .to_string();
    let run = fast_messages(line.as_bytes(), 3);
    // Only the long string output is detached; block arrays and short strings stay.
    assert_eq!(run.long.len(), 1);
    assert_eq!(
        (run.long[0].index, run.long[0].field),
        (0, TextField::Output)
    );
    assert_eq!(run.long[0].bytes, file.as_bytes());
    let v = reassemble(&run).expect("reassembled");
    assert_eq!(v[0]["content"]["output"], Value::from(file.clone()));
    assert_eq!(v[1]["content"]["output"][0]["text"], Value::from(file));
    assert_eq!(v[2]["content"]["output"], Value::from("short"));
}
