//! The manager's settings: constructor options resolved against the host environment, with
//! the TypeScript manager's defaults.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::env::KeyCase;
use crate::resolve::{self, ProgramSearch, RunnerRoots};
use crate::resources::Limits;

/// Stop grace before SIGTERM (the TypeScript manager's 3 s).
pub const DEFAULT_STOP_GRACE_MS: u64 = 3_000;
/// Grace between SIGTERM and SIGKILL.
pub const DEFAULT_KILL_GRACE_MS: u64 = 2_000;
/// Delay before a finished session is removed (the TypeScript manager's 60 s).
pub const DEFAULT_CLEANUP_GRACE_MS: u64 = 60_000;
/// Longest accepted NDJSON line (10 MB).
pub const DEFAULT_MAX_LINE_BYTES: usize = 10 * 1024 * 1024;
/// Largest accepted `maxLineBytes` (256 MiB): a line becomes one JS string, and engines cap
/// strings at about 512 M characters (V8); a larger cap could not be honoured.
pub const MAX_MAX_LINE_BYTES: usize = 256 * 1024 * 1024;
/// Largest `runnerNice`: the lowest priority a Unix nice value has.
pub const MAX_RUNNER_NICE: u8 = 19;
/// Most bytes read from one runner but not yet delivered to JS (50 MB).
pub const DEFAULT_MAX_PENDING_BYTES: usize = 50 * 1024 * 1024;
/// Nice steps below the app that runners run at (the `nice` command's default): runners are
/// background work, and on a small machine a burst of them must not starve the app's JS thread.
pub const DEFAULT_RUNNER_NICE: u8 = 10;
/// How often the processes of every session and terminal are sampled (ms).
pub const DEFAULT_RESOURCE_SAMPLE_MS: u64 = 2_000;
/// Most bytes queued for one runner's stdin (one larger prompt is still accepted when the
/// queue is empty).
pub const DEFAULT_STDIN_QUEUE_BYTES: usize = 16 * 1024 * 1024;

/// Constructor options as JS gives them (already type-checked by the JS wrapper).
#[derive(Debug, Clone, Default)]
pub struct ManagerOptions {
    /// Folders that hold `sidecar/dist/<provider>-runner.mjs`, tried in order.
    pub runner_root: Option<Vec<String>>,
    /// `node`, `deno`, `bun` or a path.
    pub runtime: Option<String>,
    /// Where the Claude CLI is.
    pub claude_path: Option<String>,
    /// Milliseconds between the stop message and SIGTERM.
    pub stop_grace_ms: Option<u64>,
    /// Milliseconds between SIGTERM and SIGKILL.
    pub kill_grace_ms: Option<u64>,
    /// Milliseconds a finished session stays listed.
    pub cleanup_grace_ms: Option<u64>,
    /// Line cap in bytes.
    pub max_line_bytes: Option<usize>,
    /// Read-ahead cap in bytes.
    pub max_pending_bytes: Option<usize>,
    /// Nice steps below the app for runners (0–19).
    pub runner_nice: Option<u64>,
    /// Folder of the app's entry script (plays the role of `import.meta.dir`).
    pub anchor_dir: Option<String>,
    /// The host's current directory.
    pub cwd: Option<String>,
    /// Limits of every session and terminal (JSON text of `{ maxRssBytes?, … }`).
    pub limits_json: Option<String>,
    /// Sampling interval in ms; 0 = only on request.
    pub resource_sample_ms: Option<u64>,
    /// The runner build step, JSON text of `{ command, cwd?, when?, watch?, timeoutMs?, env? }`.
    pub runner_build_json: Option<String>,
    /// The default sandbox of every session and terminal, JSON text of `SandboxOptions` or
    /// `false`.
    pub sandbox_json: Option<String>,
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct ManagerConfig {
    /// Where runners are looked for.
    pub runner_roots: RunnerRoots,
    /// The runtime that runs runner scripts.
    pub runtime: String,
    /// The Claude CLI, if found.
    pub claude_path: Option<PathBuf>,
    /// Stop message → SIGTERM.
    pub stop_grace: Duration,
    /// SIGTERM → SIGKILL.
    pub kill_grace: Duration,
    /// Exit → removal.
    pub cleanup_grace: Duration,
    /// Line cap.
    pub max_line_bytes: usize,
    /// Read-ahead cap.
    pub max_pending_bytes: usize,
    /// Stdin queue cap.
    pub stdin_queue_bytes: usize,
    /// Nice steps below the app for runners.
    pub runner_nice: u8,
    /// Limits of every session and terminal (each may set its own over these).
    pub limits: Limits,
    /// Sampling interval; zero = only on request.
    pub sample_every: Duration,
    /// How to build the runners before the first session that needs them.
    pub runner_build: Option<crate::build::BuildSpec>,
    /// The default sandbox of every session and terminal.
    pub sandbox: crate::sandbox::SandboxSetting,
}

impl ManagerConfig {
    /// Resolves `opts` against the host environment `env` (names compared ignoring case on
    /// Windows, so `Path` is `PATH`).
    pub fn resolve(opts: ManagerOptions, env: &HashMap<String, String>) -> Result<Self, String> {
        let keys = KeyCase::HOST;
        let search = ProgramSearch::host(keys.get(env, "PATH"), keys.get(env, "PATHEXT"));
        let runner_roots = match opts.runner_root {
            Some(roots) if !roots.is_empty() => {
                RunnerRoots::Search(roots.into_iter().map(PathBuf::from).collect())
            }
            Some(_) => return Err("runnerRoot must not be empty".into()),
            None => match keys.get(env, "AGOR_ROOT").filter(|r| !r.is_empty()) {
                Some(root) => RunnerRoots::Fixed(PathBuf::from(root)),
                None => RunnerRoots::Search(resolve::default_search_roots(
                    opts.anchor_dir.as_deref().map(std::path::Path::new),
                    opts.cwd.as_deref().map(std::path::Path::new),
                )),
            },
        };
        let claude_path = match opts.claude_path {
            Some(p) => Some(PathBuf::from(p)).filter(|p| p.exists()),
            None => resolve::find_claude_cli(
                home_dir(env, search.is_windows()).map(std::path::Path::new),
                &search,
            ),
        };
        let max_line_bytes = opts.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES);
        let max_pending_bytes = opts.max_pending_bytes.unwrap_or(DEFAULT_MAX_PENDING_BYTES);
        if max_line_bytes == 0 {
            return Err("maxLineBytes must be at least 1".into());
        }
        if max_line_bytes > MAX_MAX_LINE_BYTES {
            return Err(format!(
                "maxLineBytes must be at most {MAX_MAX_LINE_BYTES} (256 MiB; got {max_line_bytes})"
            ));
        }
        if max_pending_bytes < max_line_bytes {
            return Err(format!(
                "maxPendingBytes ({max_pending_bytes}) must be at least maxLineBytes ({max_line_bytes})"
            ));
        }
        let runner_nice = match opts.runner_nice {
            None => DEFAULT_RUNNER_NICE,
            Some(n) => u8::try_from(n)
                .ok()
                .filter(|n| *n <= MAX_RUNNER_NICE)
                .ok_or_else(|| format!("runnerNice must be 0..{MAX_RUNNER_NICE} (got {n})"))?,
        };
        let limits = match &opts.limits_json {
            None => Limits::default(),
            Some(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("limits: {e}"))?;
                Limits::from_json(Some(&v))?
            }
        };
        let sample_every = Duration::from_millis(
            opts.resource_sample_ms
                .unwrap_or(DEFAULT_RESOURCE_SAMPLE_MS),
        );
        check_limits_sampled(&limits, sample_every)?;
        let kill_grace = Duration::from_millis(opts.kill_grace_ms.unwrap_or(DEFAULT_KILL_GRACE_MS));
        let runner_build = match &opts.runner_build_json {
            None => None,
            Some(text) => Some(crate::build::options::parse(
                text,
                env,
                opts.cwd.as_deref(),
                kill_grace,
            )?),
        };
        let sandbox = match &opts.sandbox_json {
            None => crate::sandbox::SandboxSetting::Unset,
            Some(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("sandbox: {e}"))?;
                crate::sandbox::SandboxSetting::from_json(Some(&v))?
            }
        };
        Ok(Self {
            runner_roots,
            runtime: resolve::resolve_runtime(opts.runtime.as_deref(), &search),
            claude_path,
            stop_grace: Duration::from_millis(opts.stop_grace_ms.unwrap_or(DEFAULT_STOP_GRACE_MS)),
            kill_grace: Duration::from_millis(opts.kill_grace_ms.unwrap_or(DEFAULT_KILL_GRACE_MS)),
            cleanup_grace: Duration::from_millis(
                opts.cleanup_grace_ms.unwrap_or(DEFAULT_CLEANUP_GRACE_MS),
            ),
            max_line_bytes,
            max_pending_bytes,
            stdin_queue_bytes: DEFAULT_STDIN_QUEUE_BYTES,
            runner_nice,
            limits,
            sample_every,
            runner_build,
            sandbox,
        })
    }

    /// The limits of one session or terminal: its own (`{ maxRssBytes?, … }` or null) over
    /// the manager's.
    pub fn limits_for(&self, own: Option<&serde_json::Value>) -> Result<Limits, String> {
        let limits = Limits::from_json(own)?.or(self.limits);
        check_limits_sampled(&limits, self.sample_every)?;
        Ok(limits)
    }
}

/// The user's home folder in `env`: `HOME`; on Windows (names ignoring case) `USERPROFILE`,
/// what Node's `os.homedir()` and the Claude CLI use, else a non-empty `HOME`.
pub fn home_dir(env: &HashMap<String, String>, windows: bool) -> Option<&str> {
    if windows {
        ["USERPROFILE", "HOME"]
            .into_iter()
            .find_map(|k| KeyCase::Insensitive.get(env, k).filter(|h| !h.is_empty()))
    } else {
        KeyCase::Sensitive.get(env, "HOME")
    }
}

/// Limits are checked when processes are sampled: without sampling they could never fire.
fn check_limits_sampled(limits: &Limits, every: Duration) -> Result<(), String> {
    if limits.any() && every.is_zero() {
        return Err("limits need resource sampling: resourceSampleMs must be > 0".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn defaults_are_the_typescript_managers() {
        let c =
            ManagerConfig::resolve(ManagerOptions::default(), &env(&[("PATH", "")])).expect("cfg");
        assert_eq!(c.stop_grace, Duration::from_secs(3));
        assert_eq!(c.cleanup_grace, Duration::from_secs(60));
        assert_eq!(c.max_line_bytes, 10 * 1024 * 1024);
        assert_eq!(c.max_pending_bytes, 50 * 1024 * 1024);
        assert_eq!(c.runtime, "node");
        assert_eq!(c.runner_roots, RunnerRoots::Search(vec![]));
        assert_eq!(c.runner_nice, DEFAULT_RUNNER_NICE);
    }

    #[test]
    fn runner_nice_is_a_nice_step_count() {
        let with = |n| {
            ManagerConfig::resolve(
                ManagerOptions {
                    runner_nice: Some(n),
                    ..Default::default()
                },
                &env(&[]),
            )
        };
        assert_eq!(with(0).expect("0").runner_nice, 0);
        assert_eq!(with(19).expect("19").runner_nice, 19);
        let err = with(20).err().unwrap_or_default();
        assert!(err.contains("runnerNice"), "{err}");
        assert!(with(300).is_err());
    }

    #[test]
    fn agor_root_then_explicit_roots() {
        let e = env(&[("AGOR_ROOT", "/agor")]);
        let c = ManagerConfig::resolve(ManagerOptions::default(), &e).expect("cfg");
        assert_eq!(c.runner_roots, RunnerRoots::Fixed("/agor".into()));
        // Windows names ignore case (`Agor_Root`); Unix ones do not.
        let c = ManagerConfig::resolve(ManagerOptions::default(), &env(&[("Agor_Root", "/a")]))
            .expect("cfg");
        assert_eq!(
            c.runner_roots == RunnerRoots::Fixed("/a".into()),
            cfg!(windows)
        );
        let c = ManagerConfig::resolve(
            ManagerOptions {
                runner_root: Some(vec!["/a".into(), "/b".into()]),
                ..Default::default()
            },
            &e,
        )
        .expect("cfg");
        assert_eq!(
            c.runner_roots,
            RunnerRoots::Search(vec!["/a".into(), "/b".into()])
        );
    }

    #[test]
    fn rejects_inconsistent_caps() {
        let e = env(&[]);
        let err = ManagerConfig::resolve(
            ManagerOptions {
                max_line_bytes: Some(100),
                max_pending_bytes: Some(10),
                ..Default::default()
            },
            &e,
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("maxPendingBytes"));
        assert!(
            ManagerConfig::resolve(
                ManagerOptions {
                    max_line_bytes: Some(0),
                    ..Default::default()
                },
                &e
            )
            .is_err()
        );
        let err = ManagerConfig::resolve(
            ManagerOptions {
                max_line_bytes: Some(MAX_MAX_LINE_BYTES + 1),
                max_pending_bytes: Some(usize::MAX),
                ..Default::default()
            },
            &e,
        )
        .err()
        .unwrap_or_default();
        assert!(err.contains("at most"), "{err}");
        assert!(
            ManagerConfig::resolve(
                ManagerOptions {
                    runner_root: Some(vec![]),
                    ..Default::default()
                },
                &e
            )
            .is_err()
        );
    }

    #[test]
    fn missing_claude_path_counts_as_not_found() {
        let c = ManagerConfig::resolve(
            ManagerOptions {
                claude_path: Some("/definitely/not/here/claude".into()),
                ..Default::default()
            },
            &env(&[]),
        )
        .expect("cfg");
        assert_eq!(c.claude_path, None);
    }

    #[test]
    fn home_is_userprofile_on_windows_and_home_elsewhere() {
        let e = env(&[("HOME", "/home/u"), ("UserProfile", "C:\\Users\\u")]);
        assert_eq!(home_dir(&e, true), Some("C:\\Users\\u"));
        assert_eq!(home_dir(&e, false), Some("/home/u"));
        let e = env(&[("HOME", "C:\\msys\\u"), ("USERPROFILE", "")]);
        assert_eq!(home_dir(&e, true), Some("C:\\msys\\u"));
        assert_eq!(home_dir(&env(&[]), true), None);
    }
}
