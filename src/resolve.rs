//! Finding things on disk: the runner script for a provider, the runtime that runs it, and the
//! Claude CLI.

use std::path::{Path, PathBuf};

/// File name of a provider's runner script.
pub fn runner_file_name(provider: &str) -> String {
    format!("{provider}-runner.mjs")
}

/// Where runner scripts are looked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerRoots {
    /// One root that is used as it is (`AGOR_ROOT`): the runner is expected there.
    Fixed(PathBuf),
    /// Roots tried in order; the first that has the runner wins.
    Search(Vec<PathBuf>),
}

/// Result of looking for a runner script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunnerLookup {
    /// The runner script exists here.
    Found(PathBuf),
    /// Nothing found; the paths tried, in order (never empty).
    NotFound(Vec<PathBuf>),
}

/// `<root>/sidecar/dist/<provider>-runner.mjs`, the layout the TypeScript manager uses.
pub fn runner_path(root: &Path, provider: &str) -> PathBuf {
    root.join("sidecar")
        .join("dist")
        .join(runner_file_name(provider))
}

/// Looks for `provider`'s runner under `roots`.
pub fn find_runner(roots: &RunnerRoots, provider: &str) -> RunnerLookup {
    let candidates: Vec<PathBuf> = match roots {
        RunnerRoots::Fixed(root) => vec![runner_path(root, provider)],
        RunnerRoots::Search(list) => list.iter().map(|r| runner_path(r, provider)).collect(),
    };
    match candidates.iter().find(|p| p.is_file()) {
        Some(p) => RunnerLookup::Found(p.clone()),
        None => RunnerLookup::NotFound(candidates),
    }
}

/// The TypeScript manager's candidate roots, relative to `anchor` (the folder of the app's
/// entry script, which plays the role of `import.meta.dir`), then `cwd`.
pub fn default_search_roots(anchor: Option<&Path>, cwd: Option<&Path>) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Some(a) = anchor {
        roots.push(a.join(".."));
        roots.push(a.join("..").join("..").join(".."));
        roots.push(
            a.join("..")
                .join("..")
                .join("..")
                .join("..")
                .join("..")
                .join(".."),
        );
    }
    if let Some(c) = cwd {
        roots.push(c.to_path_buf());
    }
    roots
}

/// Whether `p` is a regular file with an execute bit set.
fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Looks `name` up in `path_var` (a `PATH`-style list), like `which`.
pub fn which(name: &str, path_var: Option<&str>) -> Option<PathBuf> {
    let path_var = path_var?;
    std::env::split_paths(path_var)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// The runtime that runs runner scripts.
///
/// A value with a `/` is a path used as given; a bare name is looked up in `PATH`, falling back
/// to the bare name (so spawning reports the OS error). With no choice: `deno`, else `node`,
/// from `PATH`, else `node`, as the TypeScript manager does.
pub fn resolve_runtime(choice: Option<&str>, path_var: Option<&str>) -> String {
    match choice {
        Some(c) if c.contains('/') => c.to_owned(),
        Some(name) => which(name, path_var)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_owned()),
        None => which("deno", path_var)
            .or_else(|| which("node", path_var))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "node".to_owned()),
    }
}

/// Finds the Claude CLI at the TypeScript manager's places: `~/.local/bin/claude`,
/// `~/.claude/local/claude`, `/usr/local/bin/claude`, `/usr/bin/claude`, then `PATH`.
pub fn find_claude_cli(home: Option<&Path>, path_var: Option<&str>) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(h) = home {
        candidates.push(h.join(".local").join("bin").join("claude"));
        candidates.push(h.join(".claude").join("local").join("claude"));
    }
    candidates.push(PathBuf::from("/usr/local/bin/claude"));
    candidates.push(PathBuf::from("/usr/bin/claude"));
    candidates
        .into_iter()
        .find(|p| p.exists())
        .or_else(|| which("claude", path_var))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("sidecar-resolve-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("tmp dir");
        d
    }

    fn touch(p: &Path, mode: u32) {
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, b"#!/bin/sh\n").expect("write");
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[test]
    fn fixed_root_is_used_as_is() {
        let d = tmp("fixed");
        let got = find_runner(&RunnerRoots::Fixed(d.clone()), "codex");
        assert_eq!(
            got,
            RunnerLookup::NotFound(vec![d.join("sidecar/dist/codex-runner.mjs")])
        );
        touch(&d.join("sidecar/dist/codex-runner.mjs"), 0o644);
        assert_eq!(
            find_runner(&RunnerRoots::Fixed(d.clone()), "codex"),
            RunnerLookup::Found(d.join("sidecar/dist/codex-runner.mjs"))
        );
    }

    #[test]
    fn search_roots_first_match_wins() {
        let a = tmp("search-a");
        let b = tmp("search-b");
        touch(&b.join("sidecar/dist/x-runner.mjs"), 0o644);
        let roots = RunnerRoots::Search(vec![a.clone(), b.clone()]);
        assert_eq!(
            find_runner(&roots, "x"),
            RunnerLookup::Found(b.join("sidecar/dist/x-runner.mjs"))
        );
        match find_runner(&roots, "y") {
            RunnerLookup::NotFound(tried) => assert_eq!(tried.len(), 2),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn default_roots_follow_the_typescript_candidates() {
        let roots = default_search_roots(Some(Path::new("/app/src/bun")), Some(Path::new("/cwd")));
        assert_eq!(
            roots,
            vec![
                PathBuf::from("/app/src/bun/.."),
                PathBuf::from("/app/src/bun/../../.."),
                PathBuf::from("/app/src/bun/../../../../../.."),
                PathBuf::from("/cwd"),
            ]
        );
    }

    #[test]
    fn which_needs_the_execute_bit() {
        let d = tmp("which");
        touch(&d.join("tool"), 0o644);
        let path = d.to_string_lossy().into_owned();
        assert_eq!(which("tool", Some(&path)), None);
        touch(&d.join("tool"), 0o755);
        assert_eq!(which("tool", Some(&path)), Some(d.join("tool")));
    }

    #[test]
    fn runtime_prefers_deno_then_node_and_keeps_paths() {
        let d = tmp("runtime");
        let path = d.to_string_lossy().into_owned();
        assert_eq!(resolve_runtime(None, Some(&path)), "node");
        touch(&d.join("node"), 0o755);
        assert_eq!(
            resolve_runtime(None, Some(&path)),
            d.join("node").to_string_lossy()
        );
        touch(&d.join("deno"), 0o755);
        assert_eq!(
            resolve_runtime(None, Some(&path)),
            d.join("deno").to_string_lossy()
        );
        assert_eq!(resolve_runtime(Some("/opt/bun"), Some(&path)), "/opt/bun");
        assert_eq!(resolve_runtime(Some("bun"), Some(&path)), "bun");
    }

    #[test]
    fn claude_cli_from_home_or_path() {
        let home = tmp("home");
        let bin = tmp("bin");
        let path = bin.to_string_lossy().into_owned();
        let found = find_claude_cli(Some(&home), Some(&path));
        // The machine may have a real CLI in /usr/bin; only assert what this test controls.
        if found.is_none() {
            touch(&bin.join("claude"), 0o755);
            assert_eq!(
                find_claude_cli(Some(&home), Some(&path)),
                Some(bin.join("claude"))
            );
        }
        touch(&home.join(".local/bin/claude"), 0o755);
        assert_eq!(
            find_claude_cli(Some(&home), Some(&path)),
            Some(home.join(".local/bin/claude"))
        );
    }
}
