//! Host ↔ runner protocol: the options of a session, the `query`/`stop` lines the host writes
//! to the runner's stdin, and the classification of the runner's stdout events.

use serde_json::{Map, Value};

use crate::env::{ValidatedExtraEnv, validate_extra_env};

/// Session continuity requested for a query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResumeMode {
    /// Start a fresh conversation (the default; not sent to the runner).
    #[default]
    New,
    /// Continue the most recent conversation.
    Continue,
    /// Resume the conversation named by `resumeSessionId`.
    Resume,
}

/// The per-session options of `startSession`, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StartOptions {
    /// Working directory of the agent (and of the runner process).
    pub cwd: Option<String>,
    /// Model name handed to the runner.
    pub model: Option<String>,
    /// System prompt handed to the runner.
    pub system_prompt: Option<String>,
    /// Maximum number of turns (kept as the caller's JSON number).
    pub max_turns: Option<serde_json::Number>,
    /// Permission mode; `bypassPermissions` when absent.
    pub permission_mode: Option<String>,
    /// Claude configuration folder, also exported as `CLAUDE_CONFIG_DIR`.
    pub claude_config_dir: Option<String>,
    /// Extra environment variables, in the caller's order.
    pub extra_env: Option<Vec<(String, String)>>,
    /// Extra folders the agent may access.
    pub additional_directories: Option<Vec<String>>,
    /// Name of the git worktree to use.
    pub worktree_name: Option<String>,
    /// Session continuity.
    pub resume_mode: ResumeMode,
    /// Session to resume when `resume_mode` is `Resume`.
    pub resume_session_id: Option<String>,
}

fn opt_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "Invalid option \"{key}\": expected a string, got {}",
            type_name(other)
        )),
    }
}

/// The JavaScript-ish name of a JSON value's type, for error messages.
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl StartOptions {
    /// Parses and validates the options object (`null`/absent means no options).
    pub fn from_json(value: &Value) -> Result<Self, String> {
        let map = match value {
            Value::Null => return Ok(Self::default()),
            Value::Object(m) => m,
            other => {
                return Err(format!(
                    "Invalid options: expected an object, got {}",
                    type_name(other)
                ));
            }
        };
        let max_turns = match map.get("maxTurns") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f >= 0.0) => Some(n.clone()),
            Some(other) => {
                return Err(format!(
                    "Invalid option \"maxTurns\": expected a non-negative number, got {}",
                    type_name(other)
                ));
            }
        };
        let extra_env = match map.get("extraEnv") {
            None | Some(Value::Null) => None,
            Some(Value::Object(env)) => {
                let mut pairs = Vec::with_capacity(env.len());
                for (k, v) in env {
                    match v {
                        Value::String(s) => pairs.push((k.clone(), s.clone())),
                        other => {
                            return Err(format!(
                                "Invalid option \"extraEnv.{k}\": expected a string, got {}",
                                type_name(other)
                            ));
                        }
                    }
                }
                Some(pairs)
            }
            Some(other) => {
                return Err(format!(
                    "Invalid option \"extraEnv\": expected an object of strings, got {}",
                    type_name(other)
                ));
            }
        };
        let additional_directories = match map.get("additionalDirectories") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => {
                let mut dirs = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::String(s) => dirs.push(s.clone()),
                        other => {
                            return Err(format!(
                                "Invalid option \"additionalDirectories\": expected strings, got {}",
                                type_name(other)
                            ));
                        }
                    }
                }
                Some(dirs)
            }
            Some(other) => {
                return Err(format!(
                    "Invalid option \"additionalDirectories\": expected an array of strings, got {}",
                    type_name(other)
                ));
            }
        };
        let resume_mode = match opt_string(map, "resumeMode")?.as_deref() {
            None | Some("new") => ResumeMode::New,
            Some("continue") => ResumeMode::Continue,
            Some("resume") => ResumeMode::Resume,
            Some(other) => {
                return Err(format!(
                    "Invalid option \"resumeMode\": expected \"new\", \"continue\" or \"resume\", got \"{other}\""
                ));
            }
        };
        Ok(Self {
            cwd: opt_string(map, "cwd")?,
            model: opt_string(map, "model")?,
            system_prompt: opt_string(map, "systemPrompt")?,
            max_turns,
            permission_mode: opt_string(map, "permissionMode")?,
            claude_config_dir: opt_string(map, "claudeConfigDir")?,
            extra_env,
            additional_directories,
            worktree_name: opt_string(map, "worktreeName")?,
            resume_mode,
            resume_session_id: opt_string(map, "resumeSessionId")?,
        })
    }

    /// `extraEnv` split into accepted and refused keys.
    pub fn validated_extra_env(&self) -> ValidatedExtraEnv {
        self.extra_env
            .as_deref()
            .map(validate_extra_env)
            .unwrap_or_default()
    }
}

fn put_opt(obj: &mut Map<String, Value>, key: &str, v: &Option<String>) {
    if let Some(s) = v {
        obj.insert(key.to_owned(), Value::String(s.clone()));
    }
}

/// The first `query` line for a session, newline-terminated, with the TypeScript manager's
/// fields, order and defaults (absent values are omitted, as `JSON.stringify` drops
/// `undefined`).
pub fn build_query(
    session_id: &str,
    prompt: &str,
    opts: &StartOptions,
    extra: &ValidatedExtraEnv,
) -> Vec<u8> {
    let mut q = Map::new();
    q.insert("type".into(), Value::from("query"));
    q.insert("sessionId".into(), Value::from(session_id));
    q.insert("prompt".into(), Value::from(prompt));
    put_opt(&mut q, "cwd", &opts.cwd);
    put_opt(&mut q, "model", &opts.model);
    put_opt(&mut q, "systemPrompt", &opts.system_prompt);
    if let Some(n) = &opts.max_turns {
        q.insert("maxTurns".into(), Value::Number(n.clone()));
    }
    q.insert(
        "permissionMode".into(),
        Value::from(
            opts.permission_mode
                .clone()
                .unwrap_or_else(|| "bypassPermissions".to_owned()),
        ),
    );
    put_opt(&mut q, "claudeConfigDir", &opts.claude_config_dir);
    if !extra.accepted.is_empty() {
        let env: Map<String, Value> = extra
            .accepted
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        q.insert("extraEnv".into(), Value::Object(env));
    }
    if let Some(dirs) = opts
        .additional_directories
        .as_ref()
        .filter(|d| !d.is_empty())
    {
        q.insert(
            "additionalDirectories".into(),
            Value::Array(dirs.iter().map(|d| Value::from(d.as_str())).collect()),
        );
    }
    if let Some(w) = opts.worktree_name.as_ref().filter(|w| !w.is_empty()) {
        q.insert("worktreeName".into(), Value::from(w.as_str()));
    }
    match opts.resume_mode {
        ResumeMode::New => {}
        ResumeMode::Continue => {
            q.insert("resumeMode".into(), Value::from("continue"));
        }
        ResumeMode::Resume => {
            q.insert("resumeMode".into(), Value::from("resume"));
        }
    }
    if let Some(r) = opts.resume_session_id.as_ref().filter(|r| !r.is_empty()) {
        q.insert("resumeSessionId".into(), Value::from(r.as_str()));
    }
    to_line(&Value::Object(q))
}

/// A follow-up `query` line (as `writePrompt` sends it).
pub fn build_followup(session_id: &str, prompt: &str) -> Vec<u8> {
    let mut q = Map::new();
    q.insert("type".into(), Value::from("query"));
    q.insert("sessionId".into(), Value::from(session_id));
    q.insert("prompt".into(), Value::from(prompt));
    to_line(&Value::Object(q))
}

/// The `stop` line.
pub fn build_stop(session_id: &str) -> Vec<u8> {
    let mut q = Map::new();
    q.insert("type".into(), Value::from("stop"));
    q.insert("sessionId".into(), Value::from(session_id));
    to_line(&Value::Object(q))
}

fn to_line(v: &Value) -> Vec<u8> {
    // Serialising a `Value` cannot fail: all keys are strings.
    let mut out = serde_json::to_vec(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// What one runner stdout event means to the manager.
#[derive(Debug, PartialEq)]
pub enum RunnerEvent {
    /// `pong`: nothing to do.
    Ignored,
    /// `ready`: the runner is up (a lifecycle event, nothing else).
    Ready,
    /// `agent_started`: the session is running.
    Started,
    /// `agent_stopped`: the turn finished.
    Stopped,
    /// `agent_error` with its message.
    Failed(String),
    /// A provider event for the adapter (unwrapped from `agent_event` when wrapped).
    Provider(Value),
}

/// Classifies one parsed stdout line.
pub fn classify(mut raw: Value) -> RunnerEvent {
    let ty = raw.get("type").and_then(Value::as_str).unwrap_or("");
    match ty {
        "ready" => RunnerEvent::Ready,
        "pong" => RunnerEvent::Ignored,
        "agent_started" => RunnerEvent::Started,
        "agent_stopped" => RunnerEvent::Stopped,
        "agent_error" => RunnerEvent::Failed(
            raw.get("message")
                .and_then(Value::as_str)
                .unwrap_or("Unknown error")
                .to_owned(),
        ),
        "agent_event" if raw.get("event").is_some_and(Value::is_object) => {
            RunnerEvent::Provider(raw.get_mut("event").map(Value::take).unwrap_or_default())
        }
        _ => RunnerEvent::Provider(raw),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn query_of(opts: Value) -> Value {
        let o = StartOptions::from_json(&opts).expect("valid options");
        let line = build_query("s1", "hi", &o, &o.validated_extra_env());
        assert_eq!(line.last(), Some(&b'\n'));
        serde_json::from_slice(&line).expect("json")
    }

    #[test]
    fn defaults_match_the_typescript_manager() {
        let line = build_query(
            "s1",
            "hi",
            &StartOptions::default(),
            &ValidatedExtraEnv::default(),
        );
        assert_eq!(
            std::str::from_utf8(&line).ok(),
            Some(
                "{\"type\":\"query\",\"sessionId\":\"s1\",\"prompt\":\"hi\",\"permissionMode\":\"bypassPermissions\"}\n"
            )
        );
    }

    #[test]
    fn all_fields_in_order() {
        let q = query_of(json!({
            "cwd": "/w", "model": "m", "systemPrompt": "sp", "maxTurns": 5,
            "permissionMode": "plan", "claudeConfigDir": "/c",
            "extraEnv": {"A": "1", "CLAUDE_X": "no"},
            "additionalDirectories": ["/d"], "worktreeName": "wt",
            "resumeMode": "resume", "resumeSessionId": "r1"
        }));
        let keys: Vec<&str> = q
            .as_object()
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            [
                "type",
                "sessionId",
                "prompt",
                "cwd",
                "model",
                "systemPrompt",
                "maxTurns",
                "permissionMode",
                "claudeConfigDir",
                "extraEnv",
                "additionalDirectories",
                "worktreeName",
                "resumeMode",
                "resumeSessionId"
            ]
        );
        assert_eq!(q["maxTurns"], json!(5));
        assert_eq!(q["extraEnv"], json!({"A": "1"}));
    }

    #[test]
    fn omits_empty_and_default_values() {
        let q = query_of(json!({
            "additionalDirectories": [], "worktreeName": "", "resumeMode": "new",
            "resumeSessionId": "", "extraEnv": {"CODEX_KEY": "x"}
        }));
        assert_eq!(
            q,
            json!({"type":"query","sessionId":"s1","prompt":"hi","permissionMode":"bypassPermissions"})
        );
        let q = query_of(json!({"resumeMode": "continue"}));
        assert_eq!(q["resumeMode"], json!("continue"));
    }

    #[test]
    fn rejects_wrong_types_naming_the_option() {
        for (opts, needle) in [
            (json!({"cwd": 1}), "\"cwd\""),
            (json!({"maxTurns": "3"}), "\"maxTurns\""),
            (json!({"maxTurns": -1}), "\"maxTurns\""),
            (json!({"extraEnv": {"A": 1}}), "\"extraEnv.A\""),
            (json!({"extraEnv": []}), "\"extraEnv\""),
            (
                json!({"additionalDirectories": [1]}),
                "\"additionalDirectories\"",
            ),
            (json!({"resumeMode": "later"}), "\"resumeMode\""),
            (json!("str"), "expected an object"),
        ] {
            let err = StartOptions::from_json(&opts).err().unwrap_or_default();
            assert!(err.contains(needle), "{err} should name {needle}");
        }
    }

    #[test]
    fn followup_and_stop_lines() {
        assert_eq!(
            build_followup("a", "b"),
            b"{\"type\":\"query\",\"sessionId\":\"a\",\"prompt\":\"b\"}\n".to_vec()
        );
        assert_eq!(
            build_stop("a"),
            b"{\"type\":\"stop\",\"sessionId\":\"a\"}\n".to_vec()
        );
    }

    #[test]
    fn classifies_runner_events() {
        assert_eq!(classify(json!({"type":"ready"})), RunnerEvent::Ready);
        assert_eq!(classify(json!({"type":"pong"})), RunnerEvent::Ignored);
        assert_eq!(
            classify(json!({"type":"agent_started"})),
            RunnerEvent::Started
        );
        assert_eq!(
            classify(json!({"type":"agent_stopped"})),
            RunnerEvent::Stopped
        );
        assert_eq!(
            classify(json!({"type":"agent_error","message":"boom"})),
            RunnerEvent::Failed("boom".into())
        );
        assert_eq!(
            classify(json!({"type":"agent_error","message":3})),
            RunnerEvent::Failed("Unknown error".into())
        );
        assert_eq!(
            classify(json!({"type":"agent_event","event":{"type":"x"}})),
            RunnerEvent::Provider(json!({"type":"x"}))
        );
        // An agent_event whose event is not an object is passed on whole, as the TS manager does.
        assert_eq!(
            classify(json!({"type":"agent_event","event":null})),
            RunnerEvent::Provider(json!({"type":"agent_event","event":null}))
        );
        assert_eq!(classify(json!([1])), RunnerEvent::Provider(json!([1])));
    }
}
