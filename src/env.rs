//! The runner's environment: the host's environment minus provider credentials and settings.
//!
//! Provider-prefixed variables are stripped so that a runner never inherits the host's own
//! Claude/Codex/Ollama/Anthropic configuration by accident; the app passes what it means to
//! pass through `claudeConfigDir` and `extraEnv`.

/// Prefixes of variables removed from the inherited environment and refused in `extraEnv`.
pub const STRIP_PREFIXES: [&str; 4] = ["CLAUDE", "CODEX", "OLLAMA", "ANTHROPIC_"];

/// Prefixes kept even though they match [`STRIP_PREFIXES`].
pub const WHITELIST_PREFIXES: [&str; 1] = ["CLAUDE_CODE_EXPERIMENTAL_"];

/// How environment variable names compare: exactly on Unix; ignoring case on Windows, where
/// `Path` and `PATH`, `claude_config_dir` and `CLAUDE_CONFIG_DIR` are the same variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyCase {
    /// Names are equal when their bytes are (Unix).
    Sensitive,
    /// Names are equal ignoring case (Windows).
    Insensitive,
}

impl KeyCase {
    /// The rule of the platform this addon was built for.
    pub const HOST: Self = if cfg!(windows) {
        Self::Insensitive
    } else {
        Self::Sensitive
    };

    /// Whether `a` and `b` name the same variable.
    pub fn same(self, a: &str, b: &str) -> bool {
        match self {
            Self::Sensitive => a == b,
            Self::Insensitive => a.eq_ignore_ascii_case(b) || self.fold(a) == self.fold(b),
        }
    }

    /// Whether `key` starts with the (ASCII) `prefix`.
    pub fn starts_with(self, key: &str, prefix: &str) -> bool {
        match self {
            Self::Sensitive => key.starts_with(prefix),
            Self::Insensitive => key
                .get(..prefix.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        }
    }

    /// The form of `key` under which equal names collide (itself, or upper-cased).
    fn fold(self, key: &str) -> String {
        match self {
            Self::Sensitive => key.to_owned(),
            Self::Insensitive => key.to_uppercase(),
        }
    }

    /// The value of `key` in `env`: an exact match first, else (when ignoring case) any
    /// spelling of it. Empty values count as set.
    pub fn get<'a>(
        self,
        env: &'a std::collections::HashMap<String, String>,
        key: &str,
    ) -> Option<&'a str> {
        env.get(key).map(String::as_str).or_else(|| match self {
            Self::Sensitive => None,
            Self::Insensitive => env
                .iter()
                .find(|(k, _)| self.same(k, key))
                .map(|(_, v)| v.as_str()),
        })
    }

    /// Whether `key` starts with a provider prefix.
    pub fn is_provider_key(self, key: &str) -> bool {
        STRIP_PREFIXES.iter().any(|p| self.starts_with(key, p))
    }

    /// Whether an inherited variable is kept.
    pub fn keep_inherited(self, key: &str) -> bool {
        !self.is_provider_key(key) || WHITELIST_PREFIXES.iter().any(|p| self.starts_with(key, p))
    }

    /// Splits `extra` into accepted pairs and refused provider-prefixed keys.
    pub fn validate_extra_env(self, extra: &[(String, String)]) -> ValidatedExtraEnv {
        let mut out = ValidatedExtraEnv::default();
        for (k, v) in extra {
            if self.is_provider_key(k) {
                out.rejected.push(k.clone());
            } else {
                out.accepted.push((k.clone(), v.clone()));
            }
        }
        out
    }

    /// Builds the runner's environment; see [`build_clean_env`].
    ///
    /// Every name appears once in the result: a later value of the same variable (under this
    /// rule) replaces an earlier one in its place, under the later spelling, so when ignoring
    /// case `{ Path: a, PATH: b }` gives `PATH=b`.
    pub fn build_clean_env(
        self,
        inherited: impl IntoIterator<Item = (String, String)>,
        extra: &ValidatedExtraEnv,
        claude_config_dir: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut env: indexmap::IndexMap<String, (String, String)> = indexmap::IndexMap::new();
        let mut set = |k: String, v: String| {
            env.insert(self.fold(&k), (k, v));
        };
        for (k, v) in inherited {
            if self.keep_inherited(&k) {
                set(k, v);
            }
        }
        if let Some(dir) = claude_config_dir.filter(|d| !d.is_empty()) {
            set("CLAUDE_CONFIG_DIR".to_owned(), dir.to_owned());
        }
        for (k, v) in &extra.accepted {
            set(k.clone(), v.clone());
        }
        env.into_values().collect()
    }
}

/// Whether `key` starts with a provider prefix (case-insensitively on Windows).
pub fn is_provider_key(key: &str) -> bool {
    KeyCase::HOST.is_provider_key(key)
}

/// Whether an inherited variable is kept (names compared case-insensitively on Windows).
pub fn keep_inherited(key: &str) -> bool {
    KeyCase::HOST.keep_inherited(key)
}

/// `extraEnv` with provider-prefixed keys removed, in the caller's order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ValidatedExtraEnv {
    /// The accepted pairs.
    pub accepted: Vec<(String, String)>,
    /// Keys refused because they carry a provider prefix.
    pub rejected: Vec<String>,
}

/// Splits `extra` into accepted pairs and refused provider-prefixed keys (case-insensitively
/// on Windows).
pub fn validate_extra_env(extra: &[(String, String)]) -> ValidatedExtraEnv {
    KeyCase::HOST.validate_extra_env(extra)
}

/// Builds the runner's environment from the host's `inherited` variables.
///
/// Same rules as the TypeScript manager: strip provider-prefixed keys (except the whitelist),
/// set `CLAUDE_CONFIG_DIR` when given, then apply the accepted `extraEnv` pairs (which may
/// override inherited values). On Windows names compare ignoring case and the result holds
/// one spelling of each ([`KeyCase::build_clean_env`]).
pub fn build_clean_env(
    inherited: impl IntoIterator<Item = (String, String)>,
    extra: &ValidatedExtraEnv,
    claude_config_dir: Option<&str>,
) -> Vec<(String, String)> {
    KeyCase::HOST.build_clean_env(inherited, extra, claude_config_dir)
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

    #[test]
    fn host_rule_is_the_platforms() {
        assert_eq!(KeyCase::HOST == KeyCase::Insensitive, cfg!(windows));
    }

    #[test]
    fn insensitive_keys_strip_every_spelling_of_provider_keys() {
        let host = pairs(&[
            ("Path", "C:\\bin"),
            ("claude_config_dir", "x"),
            ("Anthropic_Api_Key", "x"),
            ("codex_home", "x"),
            ("Claude_Code_Experimental_Teams", "1"),
        ]);
        let kept =
            KeyCase::Insensitive.build_clean_env(host.clone(), &ValidatedExtraEnv::default(), None);
        assert_eq!(
            kept,
            pairs(&[("Path", "C:\\bin"), ("Claude_Code_Experimental_Teams", "1")])
        );
        // Unix names are exact: lower-case spellings are other variables and stay.
        let kept =
            KeyCase::Sensitive.build_clean_env(host.clone(), &ValidatedExtraEnv::default(), None);
        assert_eq!(kept, host);
        let extra = pairs(&[("claude_config_dir", "/evil"), ("Foo", "1")]);
        assert_eq!(
            KeyCase::Insensitive.validate_extra_env(&extra).rejected,
            vec!["claude_config_dir"]
        );
        assert!(
            KeyCase::Sensitive
                .validate_extra_env(&extra)
                .rejected
                .is_empty()
        );
    }

    #[test]
    fn insensitive_keys_leave_one_spelling_of_each_variable() {
        let extra = KeyCase::Insensitive.validate_extra_env(&pairs(&[("PATH", "D:\\tools")]));
        let env = KeyCase::Insensitive.build_clean_env(
            pairs(&[("Path", "C:\\bin"), ("TEMP", "t"), ("temp", "t2")]),
            &extra,
            Some("C:\\cfg"),
        );
        assert_eq!(
            env,
            pairs(&[
                ("PATH", "D:\\tools"),
                ("temp", "t2"),
                ("CLAUDE_CONFIG_DIR", "C:\\cfg"),
            ])
        );
        // The same input on Unix keeps every name as given.
        let extra = KeyCase::Sensitive.validate_extra_env(&pairs(&[("PATH", "/tools")]));
        let env = KeyCase::Sensitive.build_clean_env(
            pairs(&[("Path", "/bin"), ("TEMP", "t"), ("temp", "t2")]),
            &extra,
            Some("/cfg"),
        );
        assert_eq!(
            env,
            pairs(&[
                ("Path", "/bin"),
                ("TEMP", "t"),
                ("temp", "t2"),
                ("CLAUDE_CONFIG_DIR", "/cfg"),
                ("PATH", "/tools"),
            ])
        );
    }

    #[test]
    fn get_takes_the_exact_name_then_any_spelling_when_ignoring_case() {
        let env: std::collections::HashMap<String, String> =
            pairs(&[("Path", "a"), ("USERPROFILE", "u")])
                .into_iter()
                .collect();
        assert_eq!(KeyCase::Insensitive.get(&env, "PATH"), Some("a"));
        assert_eq!(KeyCase::Insensitive.get(&env, "UserProfile"), Some("u"));
        assert_eq!(KeyCase::Sensitive.get(&env, "PATH"), None);
        assert_eq!(KeyCase::Sensitive.get(&env, "Path"), Some("a"));
        assert!(KeyCase::Insensitive.same("claude_config_dir", "CLAUDE_CONFIG_DIR"));
        assert!(!KeyCase::Sensitive.same("Path", "PATH"));
        // Prefixes are compared on character boundaries only.
        assert!(!KeyCase::Insensitive.starts_with("é", "C"));
    }
}
