//! The runner's environment: the host's environment minus provider credentials and settings.
//!
//! Provider-prefixed variables are stripped so that a runner never inherits the host's own
//! Claude/Codex/Ollama/Anthropic configuration by accident; the app passes what it means to
//! pass through `claudeConfigDir` and `extraEnv`.

/// Prefixes of variables removed from the inherited environment and refused in `extraEnv`.
pub const STRIP_PREFIXES: [&str; 4] = ["CLAUDE", "CODEX", "OLLAMA", "ANTHROPIC_"];

/// Prefixes kept even though they match [`STRIP_PREFIXES`].
pub const WHITELIST_PREFIXES: [&str; 1] = ["CLAUDE_CODE_EXPERIMENTAL_"];

/// Whether `key` starts with a provider prefix.
pub fn is_provider_key(key: &str) -> bool {
    STRIP_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Whether an inherited variable is kept.
pub fn keep_inherited(key: &str) -> bool {
    !is_provider_key(key) || WHITELIST_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// `extraEnv` with provider-prefixed keys removed, in the caller's order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidatedExtraEnv {
    /// The accepted pairs.
    pub accepted: Vec<(String, String)>,
    /// Keys refused because they carry a provider prefix.
    pub rejected: Vec<String>,
}

/// Splits `extra` into accepted pairs and refused provider-prefixed keys.
pub fn validate_extra_env(extra: &[(String, String)]) -> ValidatedExtraEnv {
    let mut out = ValidatedExtraEnv::default();
    for (k, v) in extra {
        if is_provider_key(k) {
            out.rejected.push(k.clone());
        } else {
            out.accepted.push((k.clone(), v.clone()));
        }
    }
    out
}

/// Builds the runner's environment from the host's `inherited` variables.
///
/// Same rules as the TypeScript manager: strip provider-prefixed keys (except the whitelist),
/// set `CLAUDE_CONFIG_DIR` when given, then apply the accepted `extraEnv` pairs (which may
/// override inherited values).
pub fn build_clean_env(
    inherited: impl IntoIterator<Item = (String, String)>,
    extra: &ValidatedExtraEnv,
    claude_config_dir: Option<&str>,
) -> Vec<(String, String)> {
    let mut env: indexmap::IndexMap<String, String> = inherited
        .into_iter()
        .filter(|(k, _)| keep_inherited(k))
        .collect();
    if let Some(dir) = claude_config_dir.filter(|d| !d.is_empty()) {
        env.insert("CLAUDE_CONFIG_DIR".to_owned(), dir.to_owned());
    }
    for (k, v) in &extra.accepted {
        env.insert(k.clone(), v.clone());
    }
    env.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn strips_provider_keys_but_keeps_experimental_ones() {
        let host = pairs(&[
            ("PATH", "/bin"),
            ("CLAUDE_API", "x"),
            ("CLAUDECODE", "1"),
            ("CODEX_HOME", "x"),
            ("OLLAMA_HOST", "x"),
            ("ANTHROPIC_API_KEY", "x"),
            ("ANTHROPIC", "kept: no underscore"),
            ("CLAUDE_CODE_EXPERIMENTAL_AGENT_TEAMS", "1"),
            ("HOME", "/h"),
        ]);
        let env = build_clean_env(host, &ValidatedExtraEnv::default(), None);
        assert_eq!(
            env,
            pairs(&[
                ("PATH", "/bin"),
                ("ANTHROPIC", "kept: no underscore"),
                ("CLAUDE_CODE_EXPERIMENTAL_AGENT_TEAMS", "1"),
                ("HOME", "/h"),
            ])
        );
    }

    #[test]
    fn sets_config_dir_and_applies_extra_env() {
        let extra = validate_extra_env(&pairs(&[
            ("FOO", "bar"),
            ("CLAUDE_CONFIG_DIR", "/evil"),
            ("ANTHROPIC_API_KEY", "k"),
            ("PATH", "/override"),
        ]));
        assert_eq!(
            extra.rejected,
            vec!["CLAUDE_CONFIG_DIR", "ANTHROPIC_API_KEY"]
        );
        let env = build_clean_env(pairs(&[("PATH", "/bin")]), &extra, Some("/cfg"));
        assert_eq!(
            env,
            pairs(&[
                ("PATH", "/override"),
                ("CLAUDE_CONFIG_DIR", "/cfg"),
                ("FOO", "bar")
            ])
        );
    }

    #[test]
    fn empty_config_dir_is_ignored_like_a_falsy_value() {
        let env = build_clean_env(pairs(&[]), &ValidatedExtraEnv::default(), Some(""));
        assert!(env.is_empty());
    }
}
