//! `runnerBuild` as the app writes it (`{ command, cwd?, when?, watch?, timeoutMs?, env? }`),
//! read into a [`BuildSpec`]. Every mistake is refused with a message naming the field.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{BuildSpec, When};

/// Longest a build may run unless `timeoutMs` says otherwise (5 minutes).
pub const DEFAULT_BUILD_TIMEOUT_MS: u64 = 5 * 60 * 1000;

const KNOWN: [&str; 6] = ["command", "cwd", "when", "watch", "timeoutMs", "env"];

/// Reads `runnerBuild` (JSON text): the command must be a non-empty list of strings; `cwd`
/// and `watch` are taken relative to the host's directory; the build gets the host's
/// environment with `env` over it.
pub fn parse(
    text: &str,
    host_env: &HashMap<String, String>,
    host_cwd: Option<&str>,
    kill_grace: Duration,
) -> Result<BuildSpec, String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("runnerBuild: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "runnerBuild must be an object".to_owned())?;
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("runnerBuild: unknown field \"{k}\""));
    }
    let command = strings(obj, "command")?;
    if command.first().is_none_or(String::is_empty) {
        return Err("runnerBuild.command must be a non-empty array of strings".into());
    }
    let base = PathBuf::from(host_cwd.unwrap_or("."));
    let cwd = match obj.get("cwd") {
        None | Some(Value::Null) => base.clone(),
        Some(Value::String(c)) if !c.is_empty() => base.join(c),
        Some(_) => return Err("runnerBuild.cwd must be a non-empty string".into()),
    };
    let watch = strings(obj, "watch")?
        .into_iter()
        .map(|w| cwd.join(w))
        .collect();
    Ok(BuildSpec {
        command,
        when: when(obj)?,
        watch,
        timeout: Duration::from_millis(timeout_ms(obj)?),
        env: env(obj, host_env)?,
        kill_grace,
        cwd: Some(cwd),
    })
}

/// `obj[name]`: absent or null = empty, else an array of strings.
fn strings(obj: &Map<String, Value>, name: &str) -> Result<Vec<String>, String> {
    let refuse = || format!("runnerBuild.{name} must be an array of strings");
    match obj.get(name) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(refuse),
        Some(_) => Err(refuse()),
    }
}

fn when(obj: &Map<String, Value>) -> Result<When, String> {
    match obj.get("when") {
        None | Some(Value::Null) => Ok(When::Missing),
        Some(Value::String(w)) => When::parse(w).map_err(|e| format!("runnerBuild.when: {e}")),
        Some(_) => Err("runnerBuild.when must be \"missing\", \"stale\" or \"always\"".into()),
    }
}

fn timeout_ms(obj: &Map<String, Value>) -> Result<u64, String> {
    match obj.get("timeoutMs") {
        None | Some(Value::Null) => Ok(DEFAULT_BUILD_TIMEOUT_MS),
        Some(n) => n
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 1.0)
            .map(|f| f as u64)
            .ok_or_else(|| "runnerBuild.timeoutMs must be a number >= 1".to_owned()),
    }
}

/// The host's environment with `env` over it.
fn env(
    obj: &Map<String, Value>,
    host_env: &HashMap<String, String>,
) -> Result<Vec<(String, String)>, String> {
    let mut env: BTreeMap<String, String> = host_env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    match obj.get("env") {
        None | Some(Value::Null) => {}
        Some(Value::Object(m)) => {
            for (k, v) in m {
                let v = v
                    .as_str()
                    .ok_or_else(|| format!("runnerBuild.env.{k} must be a string"))?;
                env.insert(k.clone(), v.to_owned());
            }
        }
        Some(_) => return Err("runnerBuild.env must be an object of strings".into()),
    }
    Ok(env.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn relative_places_are_the_hosts_and_env_goes_over_the_hosts() {
        let host = HashMap::from([
            ("A".to_owned(), "1".to_owned()),
            ("B".to_owned(), "2".to_owned()),
        ]);
        let spec = parse(
            r#"{"command":["npm","run","build"],"cwd":"app","watch":["src"],"env":{"B":"3"}}"#,
            &host,
            Some("/work"),
            Duration::from_secs(2),
        )
        .expect("parsed");
        assert_eq!(spec.cwd.as_deref(), Some(Path::new("/work/app")));
        assert_eq!(spec.watch, vec![PathBuf::from("/work/app/src")]);
        assert_eq!(
            spec.env,
            vec![("A".into(), "1".into()), ("B".into(), "3".into())]
        );
        assert_eq!(
            spec.timeout,
            Duration::from_millis(DEFAULT_BUILD_TIMEOUT_MS)
        );
        assert_eq!(spec.when, When::Missing);
    }

    #[test]
    fn mistakes_name_the_field() {
        let host = HashMap::new();
        let err = |text: &str| {
            parse(text, &host, None, Duration::ZERO)
                .err()
                .unwrap_or_default()
        };
        assert!(err(r#"{"command":[]}"#).contains("runnerBuild.command"));
        assert!(err(r#"{"command":["x"],"nope":1}"#).contains("unknown field \"nope\""));
        assert!(err(r#"{"command":["x"],"when":"sometimes"}"#).contains("runnerBuild.when"));
        assert!(err(r#"{"command":["x"],"timeoutMs":0}"#).contains("runnerBuild.timeoutMs"));
        assert!(err(r#"{"command":["x"],"env":{"A":1}}"#).contains("runnerBuild.env.A"));
        assert!(err("[]").contains("must be an object"));
    }
}
