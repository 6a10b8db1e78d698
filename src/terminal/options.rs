//! `openTerminal` options: defaults, the environment, and everything that can be refused
//! before a process exists (a program that cannot run, a folder that does not exist).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use super::session::TerminalConfig;
use crate::config::ManagerConfig;
use crate::error::{ErrorCode, OpError};
use crate::process::{self, PtySpec, resolve_program};

/// Default size.
pub const DEFAULT_COLS: u16 = 80;
/// Default size.
pub const DEFAULT_ROWS: u16 = 24;
/// Default `TERM`.
pub const DEFAULT_TERM: &str = "xterm-256color";
/// Default scrollback, bytes.
pub const DEFAULT_SCROLLBACK_BYTES: usize = 1024 * 1024;
/// Default quiet time before `idle`.
pub const DEFAULT_IDLE_MS: u64 = 1000;

/// What the app asked for (types already checked by the JS wrapper).
#[derive(Debug, Clone, Default)]
pub struct TerminalRequest {
    /// Program; by default the user's shell ([`process::default_program`]: `$SHELL`, else
    /// `/bin/sh`; `%COMSPEC%`, else `cmd.exe`, on Windows).
    pub command: Option<String>,
    /// Arguments.
    pub args: Vec<String>,
    /// Working directory (the JS wrapper passes `process.cwd()` when none was given).
    pub cwd: String,
    /// Over the host environment; `None` removes a key.
    pub env: Vec<(String, Option<String>)>,
    /// Strip provider keys as agent sessions do.
    pub clean_env: bool,
    /// Size.
    pub cols: Option<u32>,
    /// Size.
    pub rows: Option<u32>,
    /// `TERM`.
    pub term: Option<String>,
    /// Text (`true`) or bytes.
    pub utf8: bool,
    /// Scrollback, bytes.
    pub scrollback_bytes: Option<usize>,
    /// Quiet time before `idle`, ms.
    pub idle_ms: Option<u64>,
    /// Its limits as JSON text (`{ maxRssBytes?, … }`), over the manager's.
    pub limits_json: Option<String>,
    /// Its sandbox as JSON text (`SandboxOptions` or `false`), over the manager's.
    pub sandbox_json: Option<String>,
}

/// Largest `cols` and `rows` a terminal can have (the PTY's size fields are 16-bit).
pub const MAX_TERMINAL_SIZE: u16 = u16::MAX;

fn size(v: Option<u32>, default: u16, name: &str) -> Result<u16, OpError> {
    match v {
        None => Ok(default),
        Some(n) => u16::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| {
            OpError::new(
                ErrorCode::InvalidArgument,
                format!("{name} must be an integer from 1 to {MAX_TERMINAL_SIZE} (got {n})"),
            )
        }),
    }
}

/// Resolves `req` against the host's environment and the manager's settings.
pub fn resolve(
    req: &TerminalRequest,
    host_env: &HashMap<String, String>,
    cfg: &ManagerConfig,
) -> Result<(PtySpec, TerminalConfig), OpError> {
    let cols = size(req.cols, DEFAULT_COLS, "cols")?;
    let rows = size(req.rows, DEFAULT_ROWS, "rows")?;
    let mut env: indexmap::IndexMap<String, String> = host_env
        .iter()
        .filter(|(k, _)| !req.clean_env || crate::env::keep_inherited(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    env.sort_keys();
    let keys = crate::env::KeyCase::HOST;
    for (k, v) in &req.env {
        // One spelling per variable where names ignore case (Windows: `Path` is `PATH`).
        env.retain(|have, _| have == k || !keys.same(have, k));
        match v {
            Some(v) => {
                env.insert(k.clone(), v.clone());
            }
            None => {
                env.shift_remove(k);
            }
        }
    }
    // The size is the PTY's (and follows resize); stale values would override it.
    env.retain(|k, _| !keys.same(k, "COLUMNS") && !keys.same(k, "LINES"));
    env.insert(
        "TERM".to_owned(),
        req.term.clone().unwrap_or_else(|| DEFAULT_TERM.to_owned()),
    );
    let cwd = PathBuf::from(&req.cwd);
    if !cwd.is_dir() {
        return Err(OpError::new(
            ErrorCode::CwdNotFound,
            format!("Working directory not found: {}", req.cwd),
        ));
    }
    let var = |name: &str| {
        env.iter()
            .find(|(k, _)| keys.same(k, name))
            .map(|(_, v)| v.clone())
    };
    let program = req
        .command
        .clone()
        .unwrap_or_else(|| process::default_program(&var));
    let resolved = resolve_program(&program, var("PATH").as_deref())
        .map_err(|e| OpError::new(ErrorCode::SpawnFailed, format!("Cannot run {program}: {e}")))?;
    let spec = PtySpec {
        program: resolved,
        args: req.args.clone(),
        env: env.into_iter().collect(),
        cwd,
        cols,
        rows,
        confine: None,
    };
    let term = TerminalConfig {
        utf8: req.utf8,
        scrollback_bytes: req.scrollback_bytes.unwrap_or(DEFAULT_SCROLLBACK_BYTES),
        idle: Duration::from_millis(req.idle_ms.unwrap_or(DEFAULT_IDLE_MS)),
        kill_grace: cfg.kill_grace,
        max_pending_bytes: cfg.max_pending_bytes,
        input_queue_bytes: cfg.stdin_queue_bytes,
    };
    Ok((spec, term))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ManagerOptions;

    fn cfg() -> ManagerConfig {
        ManagerConfig::resolve(ManagerOptions::default(), &HashMap::new()).expect("cfg")
    }

    fn host() -> HashMap<String, String> {
        [
            ("PATH", "/usr/bin:/bin"),
            ("SHELL", "/bin/sh"),
            ("TERM", "dumb"),
            ("COLUMNS", "10"),
            ("LINES", "5"),
            ("ANTHROPIC_API_KEY", "secret"),
            ("KEEP", "1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn req() -> TerminalRequest {
        TerminalRequest {
            cwd: std::env::temp_dir().display().to_string(),
            utf8: true,
            ..Default::default()
        }
    }

    #[cfg(unix)]
    fn env_of(spec: &PtySpec, key: &str) -> Option<String> {
        spec.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    }

    #[test]
    // Runs /bin/sh from a Unix PATH; Windows' default is checked in process/windows/tests.rs.
    #[cfg(unix)]
    fn defaults_shell_size_term_and_no_stale_size_variables() {
        let (spec, term) = resolve(&req(), &host(), &cfg()).expect("resolve");
        assert_eq!(spec.program, "/bin/sh");
        assert_eq!((spec.cols, spec.rows), (80, 24));
        assert_eq!(env_of(&spec, "TERM").as_deref(), Some("xterm-256color"));
        assert_eq!(env_of(&spec, "COLUMNS"), None);
        assert_eq!(env_of(&spec, "LINES"), None);
        assert_eq!(
            env_of(&spec, "ANTHROPIC_API_KEY").as_deref(),
            Some("secret"),
            "kept unless cleanEnv"
        );
        assert_eq!(term.scrollback_bytes, DEFAULT_SCROLLBACK_BYTES);
        assert_eq!(term.idle, Duration::from_millis(DEFAULT_IDLE_MS));
    }

    #[test]
    // Runs /bin/sh from a Unix PATH; Windows' default is checked in process/windows/tests.rs.
    #[cfg(unix)]
    fn env_overrides_remove_keys_and_clean_env_strips_provider_keys() {
        let mut r = req();
        r.env = vec![("KEEP".into(), None), ("NEW".into(), Some("v".into()))];
        r.clean_env = true;
        r.term = Some("vt100".into());
        let (spec, _) = resolve(&r, &host(), &cfg()).expect("resolve");
        assert_eq!(env_of(&spec, "KEEP"), None);
        assert_eq!(env_of(&spec, "NEW").as_deref(), Some("v"));
        assert_eq!(env_of(&spec, "ANTHROPIC_API_KEY"), None);
        assert_eq!(env_of(&spec, "TERM").as_deref(), Some("vt100"));
    }

    #[test]
    fn refusals_before_any_process() {
        let mut r = req();
        r.cwd = "/no/such/dir".into();
        assert_eq!(
            resolve(&r, &host(), &cfg()).err().map(|e| e.code),
            Some(ErrorCode::CwdNotFound)
        );
        let mut r = req();
        r.command = Some("surely-not-a-program".into());
        let err = resolve(&r, &host(), &cfg()).expect_err("refused");
        assert_eq!(err.code, ErrorCode::SpawnFailed);
        assert!(
            err.message.contains("surely-not-a-program"),
            "{}",
            err.message
        );
        let mut r = req();
        r.cols = Some(0);
        assert_eq!(
            resolve(&r, &host(), &cfg()).err().map(|e| e.code),
            Some(ErrorCode::InvalidArgument)
        );
        r.cols = Some(70_000);
        assert_eq!(
            resolve(&r, &host(), &cfg()).err().map(|e| e.code),
            Some(ErrorCode::InvalidArgument)
        );
    }
}
