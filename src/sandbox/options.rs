//! `SandboxOptions` as JS writes them, checked, and how a session's options combine with the
//! manager's.

use serde_json::Value;

/// Where a sandbox may connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetworkOption {
    /// Anywhere.
    All,
    /// Nowhere.
    None,
    /// Only through the manager's proxy, to these hosts (`*.example.com` wildcards).
    AllowedDomains(Vec<String>),
}

impl NetworkOption {
    /// The name the `sandboxed` event gives it.
    pub fn as_str(&self) -> &'static str {
        match self {
            NetworkOption::All => "all",
            NetworkOption::None => "none",
            NetworkOption::AllowedDomains(_) => "allowed-domains",
        }
    }
}

/// What to do when this machine cannot enforce all of a sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnUnsupported {
    /// Refuse to start (`ERR_SANDBOX_UNSUPPORTED`).
    Error,
    /// Start with what can be enforced; the `sandboxed` event lists what was not.
    Warn,
}

/// One `SandboxOptions` object; fields left out are `None` (so a session's options can
/// leave them to the manager's).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SandboxOptions {
    /// Writable besides the defaults.
    pub allow_write: Vec<String>,
    /// Read-only even inside a writable place.
    pub deny_write: Vec<String>,
    /// Neither readable nor writable.
    pub deny_read: Vec<String>,
    /// Where it may connect (`None`: not said).
    pub network: Option<NetworkOption>,
    /// `None`: not said.
    pub on_unsupported: Option<OnUnsupported>,
}

/// A `sandbox` option: not given, `false`, or an object.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SandboxSetting {
    /// Not given: the manager's default applies (for the manager: no sandbox).
    #[default]
    Unset,
    /// `false`: no sandbox, whatever the manager's default.
    Off,
    /// A sandbox.
    On(SandboxOptions),
}

impl SandboxSetting {
    /// Parses the `sandbox` option (`null`/absent, `false`, or an object). Unknown keys are
    /// refused: a misspelt `denyRead` must not silently leave secrets readable.
    pub fn from_json(v: Option<&Value>) -> Result<Self, String> {
        let obj = match v {
            None | Some(Value::Null) => return Ok(SandboxSetting::Unset),
            Some(Value::Bool(false)) => return Ok(SandboxSetting::Off),
            Some(Value::Object(o)) => o,
            Some(other) => {
                return Err(format!(
                    "Invalid option \"sandbox\": expected an object or false, got {other}"
                ));
            }
        };
        let mut out = SandboxOptions::default();
        for (key, value) in obj {
            match key.as_str() {
                "allowWrite" => out.allow_write = paths(key, value)?,
                "denyWrite" => out.deny_write = paths(key, value)?,
                "denyRead" => out.deny_read = paths(key, value)?,
                "network" => out.network = Some(network(value)?),
                "onUnsupported" => {
                    out.on_unsupported = Some(match value.as_str() {
                        Some("error") => OnUnsupported::Error,
                        Some("warn") => OnUnsupported::Warn,
                        _ => {
                            return Err(format!(
                                "Invalid option \"sandbox.onUnsupported\": expected \"error\" or \"warn\", got {value}"
                            ));
                        }
                    });
                }
                other => {
                    return Err(format!(
                        "Invalid option \"sandbox\": unknown key \"{other}\" (allowWrite, denyWrite, denyRead, network, onUnsupported)"
                    ));
                }
            }
        }
        Ok(SandboxSetting::On(out))
    }

    /// This (a session's or terminal's own setting) over `manager`'s: unset takes the
    /// manager's; `false` is no sandbox; an object adds its paths to the manager's (a
    /// session cannot drop the manager's `denyRead`) and its `network` / `onUnsupported`
    /// replace the manager's.
    pub fn over(&self, manager: &SandboxSetting) -> Option<SandboxOptions> {
        match (self, manager) {
            (SandboxSetting::Off, _) => None,
            (SandboxSetting::Unset, SandboxSetting::On(m)) => Some(m.clone()),
            (SandboxSetting::Unset, _) => None,
            (SandboxSetting::On(own), SandboxSetting::On(m)) => {
                let join = |a: &[String], b: &[String]| {
                    let mut v = a.to_vec();
                    v.extend(b.iter().filter(|x| !a.contains(x)).cloned());
                    v
                };
                Some(SandboxOptions {
                    allow_write: join(&m.allow_write, &own.allow_write),
                    deny_write: join(&m.deny_write, &own.deny_write),
                    deny_read: join(&m.deny_read, &own.deny_read),
                    network: own.network.clone().or_else(|| m.network.clone()),
                    on_unsupported: own.on_unsupported.or(m.on_unsupported),
                })
            }
            (SandboxSetting::On(own), _) => Some(own.clone()),
        }
    }
}

fn paths(key: &str, v: &Value) -> Result<Vec<String>, String> {
    let bad = || {
        format!("Invalid option \"sandbox.{key}\": expected an array of non-empty paths, got {v}")
    };
    let arr = v.as_array().ok_or_else(bad)?;
    arr.iter()
        .map(|p| {
            p.as_str()
                .filter(|s| !s.is_empty() && !s.contains('\0'))
                .map(str::to_owned)
                .ok_or_else(bad)
        })
        .collect()
}

fn network(v: &Value) -> Result<NetworkOption, String> {
    match v {
        Value::String(s) if s == "all" => Ok(NetworkOption::All),
        Value::String(s) if s == "none" => Ok(NetworkOption::None),
        Value::Object(o) if o.len() == 1 && o.contains_key("allowedDomains") => {
            let list = o
                .get("allowedDomains")
                .and_then(Value::as_array)
                .ok_or_else(|| {
                    format!("Invalid option \"sandbox.network.allowedDomains\": expected an array of host names, got {v}")
                })?;
            let names: Option<Vec<String>> =
                list.iter().map(|d| d.as_str().map(str::to_owned)).collect();
            let names = names.ok_or_else(|| {
                format!("Invalid option \"sandbox.network.allowedDomains\": expected host names, got {v}")
            })?;
            crate::sandbox::domains::Allowlist::parse(&names)
                .map_err(|e| format!("Invalid option \"sandbox.network.allowedDomains\": {e}"))?;
            Ok(NetworkOption::AllowedDomains(names))
        }
        _ => Err(format!(
            "Invalid option \"sandbox.network\": expected \"all\", \"none\" or {{ allowedDomains: [...] }}, got {v}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<SandboxSetting, String> {
        SandboxSetting::from_json(Some(&v))
    }

    #[test]
    fn absent_false_and_objects() {
        assert_eq!(SandboxSetting::from_json(None), Ok(SandboxSetting::Unset));
        assert_eq!(parse(json!(null)), Ok(SandboxSetting::Unset));
        assert_eq!(parse(json!(false)), Ok(SandboxSetting::Off));
        assert_eq!(
            parse(json!({})),
            Ok(SandboxSetting::On(SandboxOptions::default()))
        );
        let full = parse(json!({
            "allowWrite": ["~/out"], "denyWrite": [".git/hooks"], "denyRead": ["~/.ssh"],
            "network": { "allowedDomains": ["*.example.com"] }, "onUnsupported": "warn"
        }))
        .expect("valid");
        let SandboxSetting::On(o) = full else {
            panic!("on")
        };
        assert_eq!(o.allow_write, vec!["~/out"]);
        assert_eq!(
            o.network,
            Some(NetworkOption::AllowedDomains(vec!["*.example.com".into()]))
        );
        assert_eq!(o.on_unsupported, Some(OnUnsupported::Warn));
    }

    #[test]
    fn bad_options_name_the_option() {
        for (v, needle) in [
            (json!(true), "\"sandbox\""),
            (json!("x"), "\"sandbox\""),
            (json!({"denyReads": []}), "denyReads"),
            (json!({"allowWrite": "x"}), "sandbox.allowWrite"),
            (json!({"denyRead": [""]}), "sandbox.denyRead"),
            (json!({"denyWrite": [1]}), "sandbox.denyWrite"),
            (json!({"network": "some"}), "sandbox.network"),
            (
                json!({"network": {"allowedDomains": "x"}}),
                "allowedDomains",
            ),
            (
                json!({"network": {"allowedDomains": ["http://x"]}}),
                "allowedDomains",
            ),
            (
                json!({"network": {"allowedDomains": [], "x": 1}}),
                "sandbox.network",
            ),
            (json!({"onUnsupported": "ignore"}), "onUnsupported"),
        ] {
            let e = parse(v.clone()).expect_err(&v.to_string());
            assert!(e.contains(needle), "{v}: {e}");
        }
    }

    #[test]
    fn a_session_adds_paths_and_replaces_network() {
        let m = parse(json!({"denyRead": ["~/.ssh"], "network": "none"})).expect("m");
        let own =
            parse(json!({"denyRead": ["~/.aws", "~/.ssh"], "allowWrite": ["/o"]})).expect("own");
        let o = own.over(&m).expect("sandboxed");
        assert_eq!(o.deny_read, vec!["~/.ssh", "~/.aws"]);
        assert_eq!(o.allow_write, vec!["/o"]);
        assert_eq!(o.network, Some(NetworkOption::None));
        let all = parse(json!({"network": "all"})).expect("all");
        assert_eq!(all.over(&m).expect("s").network, Some(NetworkOption::All));
        assert_eq!(SandboxSetting::Off.over(&m), None);
        assert_eq!(
            SandboxSetting::Unset.over(&m),
            m.over(&SandboxSetting::Unset)
        );
        assert_eq!(SandboxSetting::Unset.over(&SandboxSetting::Unset), None);
    }
}
