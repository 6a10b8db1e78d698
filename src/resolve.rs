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

/// `PATHEXT` when the environment has none (Windows' own default).
pub const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// How a program name becomes a file: the platform's `PATH` conventions as data, so both sets
/// are tested on any host.
///
/// Unix: `PATH` is split on `:`, a candidate is `dir/name`, and it must be a regular file with
/// an execute bit. Windows: `PATH` is split on `;` (double quotes around an entry are dropped),
/// a runnable file is one whose extension is in `PATHEXT` (any case), and a bare name is tried
/// with each `PATHEXT` extension in order, folder by folder (so an earlier folder's `x.cmd`
/// wins over a later folder's `x.exe`); a name that already ends in a `PATHEXT` extension
/// (`node.exe`) is tried as is. The result may be a `.cmd`/`.bat` shim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSearch {
    /// Folders of `PATH` in order, empty entries dropped.
    dirs: Vec<PathBuf>,
    /// Windows: the `PATHEXT` extensions, each with its leading dot. `None`: Unix rules.
    extensions: Option<Vec<String>>,
}

impl ProgramSearch {
    /// Unix rules over `path_var` (`PATH`; nothing is found without it).
    pub fn unix(path_var: Option<&str>) -> Self {
        Self {
            dirs: path_var
                .map(|p| {
                    p.split(':')
                        .filter(|d| !d.is_empty())
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default(),
            extensions: None,
        }
    }

    /// Windows rules over `path_var` (`PATH`) and `pathext` (`PATHEXT`; missing or without a
    /// usable entry means [`DEFAULT_PATHEXT`]).
    pub fn windows(path_var: Option<&str>, pathext: Option<&str>) -> Self {
        let parse = |list: &str| -> Vec<String> {
            list.split(';')
                .map(str::trim)
                .filter(|e| e.len() > 1 && e.starts_with('.'))
                .map(str::to_owned)
                .collect()
        };
        let mut extensions = pathext.map(parse).unwrap_or_default();
        if extensions.is_empty() {
            extensions = parse(DEFAULT_PATHEXT);
        }
        Self {
            dirs: path_var.map(split_windows_path).unwrap_or_default(),
            extensions: Some(extensions),
        }
    }

    /// The rules of the platform this addon was built for. `pathext` is ignored on Unix.
    pub fn host(path_var: Option<&str>, pathext: Option<&str>) -> Self {
        if cfg!(windows) {
            Self::windows(path_var, pathext)
        } else {
            Self::unix(path_var)
        }
    }

    /// Whether these are the Windows rules.
    pub fn is_windows(&self) -> bool {
        self.extensions.is_some()
    }

    /// Whether `program` names a path (used as given) rather than a name looked up in `PATH`:
    /// it has a `/` (Windows: also `\` or a drive `:`).
    pub fn is_path(&self, program: &str) -> bool {
        program.contains('/') || (self.is_windows() && program.contains(['\\', ':']))
    }

    /// Whether `file`'s name ends in one of the `PATHEXT` extensions (ignoring case); always
    /// true on Unix.
    pub fn has_runnable_extension(&self, file: &Path) -> bool {
        let Some(extensions) = &self.extensions else {
            return true;
        };
        let Some(name) = file.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        extensions.iter().any(|ext| {
            name.len() > ext.len()
                && name
                    .get(name.len() - ext.len()..)
                    .is_some_and(|tail| tail.eq_ignore_ascii_case(ext))
        })
    }

    /// The files `file` may be, in the order they are tried: itself on Unix or when it already
    /// has a `PATHEXT` extension, else itself plus each extension (lower-cased).
    pub fn spellings(&self, file: &Path) -> Vec<PathBuf> {
        match &self.extensions {
            Some(extensions) if !self.has_runnable_extension(file) => extensions
                .iter()
                .map(|ext| {
                    let mut name = file.as_os_str().to_owned();
                    name.push(ext.to_ascii_lowercase());
                    PathBuf::from(name)
                })
                .collect(),
            _ => vec![file.to_path_buf()],
        }
    }

    /// Every file a `PATH` lookup of `name` tries, in order.
    pub fn candidates(&self, name: &str) -> Vec<PathBuf> {
        self.dirs
            .iter()
            .flat_map(|dir| self.spellings(&dir.join(name)))
            .collect()
    }

    /// The first of [`Self::candidates`] that `is_runnable` accepts.
    pub fn find(&self, name: &str, is_runnable: impl Fn(&Path) -> bool) -> Option<PathBuf> {
        self.candidates(name).into_iter().find(|c| is_runnable(c))
    }

    /// Looks `name` up in `PATH` on disk, like `which` (Windows: like `where`).
    pub fn which(&self, name: &str) -> Option<PathBuf> {
        self.find(name, |p| self.is_runnable(p))
    }

    /// Whether the file at `p` can be started under these rules.
    fn is_runnable(&self, p: &Path) -> bool {
        std::fs::metadata(p).is_ok_and(|m| {
            m.is_file()
                && match self.extensions {
                    None => has_execute_bit(&m),
                    Some(_) => self.has_runnable_extension(p),
                }
        })
    }
}

/// Splits a Windows `PATH` on `;` outside double quotes, dropping the quotes and empty entries
/// (as `std::env::split_paths` does on Windows).
fn split_windows_path(list: &str) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in list.chars() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => dirs.push(std::mem::take(&mut current)),
            c => current.push(c),
        }
    }
    dirs.push(current);
    dirs.into_iter()
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// Whether a file's permissions have an execute bit.
#[cfg(unix)]
fn has_execute_bit(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    m.permissions().mode() & 0o111 != 0
}

/// Whether a file's permissions have an execute bit: there is none here, any file counts.
#[cfg(not(unix))]
fn has_execute_bit(_: &std::fs::Metadata) -> bool {
    true
}

/// The runtime that runs runner scripts.
///
/// A value that is a path ([`ProgramSearch::is_path`]) is used as given; a bare name is looked
/// up in `PATH`, falling back to the bare name (so spawning reports the OS error). With no
/// choice: `deno`, else `node`, from `PATH`, else `node`, as the TypeScript manager does. On
/// Windows the result may be a `.cmd`/`.bat` shim found in `PATH`.
pub fn resolve_runtime(choice: Option<&str>, search: &ProgramSearch) -> String {
    match choice {
        Some(c) if search.is_path(c) => c.to_owned(),
        Some(name) => search
            .which(name)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| name.to_owned()),
        None => search
            .which("deno")
            .or_else(|| search.which("node"))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| "node".to_owned()),
    }
}

/// Finds the Claude CLI at the TypeScript manager's places: `~/.local/bin/claude`,
/// `~/.claude/local/claude`, `/usr/local/bin/claude`, `/usr/bin/claude`, then `PATH`.
///
/// Windows: the two home places with each `PATHEXT` extension (`claude.exe`, …), no `/usr`
/// places, then `PATH` (where npm's `claude.cmd` shim usually is).
pub fn find_claude_cli(home: Option<&Path>, search: &ProgramSearch) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(h) = home {
        candidates.extend(search.spellings(&h.join(".local").join("bin").join("claude")));
        candidates.extend(search.spellings(&h.join(".claude").join("local").join("claude")));
    }
    if !search.is_windows() {
        candidates.push(PathBuf::from("/usr/local/bin/claude"));
        candidates.push(PathBuf::from("/usr/bin/claude"));
    }
    candidates
        .into_iter()
        .find(|p| p.exists())
        .or_else(|| search.which("claude"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
        #[cfg(not(unix))]
        let _ = mode;
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
    #[cfg(unix)] // Unix rules: `:`-separated PATH of this host's paths, execute bits.
    fn which_needs_the_execute_bit() {
        let d = tmp("which");
        touch(&d.join("tool"), 0o644);
        let path = d.to_string_lossy().into_owned();
        let search = ProgramSearch::unix(Some(&path));
        assert_eq!(search.which("tool"), None);
        touch(&d.join("tool"), 0o755);
        assert_eq!(search.which("tool"), Some(d.join("tool")));
    }

    #[test]
    #[cfg(unix)] // Unix rules: `:`-separated PATH of this host's paths, execute bits.
    fn runtime_prefers_deno_then_node_and_keeps_paths() {
        let d = tmp("runtime");
        let path = d.to_string_lossy().into_owned();
        let path = &ProgramSearch::unix(Some(&path));
        assert_eq!(resolve_runtime(None, path), "node");
        touch(&d.join("node"), 0o755);
        assert_eq!(
            resolve_runtime(None, path),
            d.join("node").to_string_lossy()
        );
        touch(&d.join("deno"), 0o755);
        assert_eq!(
            resolve_runtime(None, path),
            d.join("deno").to_string_lossy()
        );
        assert_eq!(resolve_runtime(Some("/opt/bun"), path), "/opt/bun");
        assert_eq!(resolve_runtime(Some("bun"), path), "bun");
    }

    #[test]
    #[cfg(unix)] // Unix rules: `:`-separated PATH of this host's paths, execute bits.
    fn claude_cli_from_home_or_path() {
        let home = tmp("home");
        let bin = tmp("bin");
        let path = bin.to_string_lossy().into_owned();
        let path = &ProgramSearch::unix(Some(&path));
        let found = find_claude_cli(Some(&home), path);
        // The machine may have a real CLI in /usr/bin; only assert what this test controls.
        if found.is_none() {
            touch(&bin.join("claude"), 0o755);
            assert_eq!(find_claude_cli(Some(&home), path), Some(bin.join("claude")));
        }
        touch(&home.join(".local/bin/claude"), 0o755);
        assert_eq!(
            find_claude_cli(Some(&home), path),
            Some(home.join(".local/bin/claude"))
        );
    }

    #[test]
    fn windows_path_splits_on_semicolons_and_drops_quotes() {
        let search = ProgramSearch::windows(Some(r#"C:\bin;;"C:\Program Files\a;b";D:\x"#), None);
        assert_eq!(
            search.dirs,
            vec![
                PathBuf::from(r"C:\bin"),
                PathBuf::from(r"C:\Program Files\a;b"),
                PathBuf::from(r"D:\x"),
            ]
        );
        assert!(ProgramSearch::windows(None, None).dirs.is_empty());
    }

    #[test]
    fn pathext_defaults_and_matches_any_case() {
        let default = ProgramSearch::windows(None, None);
        assert_eq!(
            default.extensions,
            Some(vec![
                ".COM".into(),
                ".EXE".into(),
                ".BAT".into(),
                ".CMD".into()
            ])
        );
        assert_eq!(ProgramSearch::windows(None, Some(" ; ;")), default);
        let custom = ProgramSearch::windows(None, Some(".EXE; .Js ;bad"));
        assert_eq!(custom.extensions, Some(vec![".EXE".into(), ".Js".into()]));
        assert!(custom.has_runnable_extension(Path::new("node.exe")));
        assert!(custom.has_runnable_extension(Path::new("x.JS")));
        assert!(!custom.has_runnable_extension(Path::new("claude.cmd")));
        assert!(!custom.has_runnable_extension(Path::new(".exe")));
        assert!(!custom.has_runnable_extension(Path::new("node")));
        // Unix has no extensions to check.
        assert!(ProgramSearch::unix(None).has_runnable_extension(Path::new("node")));
    }

    #[test]
    fn windows_bare_names_try_each_extension_folder_by_folder() {
        let search = ProgramSearch::windows(Some("a;b"), Some(".EXE;.CMD"));
        let a = Path::new("a");
        let b = Path::new("b");
        assert_eq!(
            search.candidates("node"),
            vec![
                a.join("node.exe"),
                a.join("node.cmd"),
                b.join("node.exe"),
                b.join("node.cmd"),
            ]
        );
        // A name with a PATHEXT extension is tried as is, in whatever case it was given.
        assert_eq!(
            search.candidates("bun.EXE"),
            vec![a.join("bun.EXE"), b.join("bun.EXE")]
        );
        // A dot that is not a PATHEXT extension is part of the name.
        assert_eq!(search.candidates("python3.12")[0], a.join("python3.12.exe"));
        // An earlier folder's shim wins over a later folder's executable.
        let only = |p: &Path| p == b.join("node.exe") || p == a.join("node.cmd");
        assert_eq!(search.find("node", only), Some(a.join("node.cmd")));
        assert_eq!(search.find("deno", only), None);
        // Unix: one candidate per folder, the name itself.
        assert_eq!(
            ProgramSearch::unix(Some("a::b")).candidates("node"),
            vec![a.join("node"), b.join("node")]
        );
    }

    #[test]
    fn windows_lookup_needs_an_extension_not_an_execute_bit() {
        let d = tmp("win-which");
        let path = d.to_string_lossy().into_owned();
        let search = ProgramSearch::windows(Some(&path), None);
        touch(&d.join("claude"), 0o755);
        assert_eq!(search.which("claude"), None);
        touch(&d.join("claude.cmd"), 0o644);
        assert_eq!(search.which("claude"), Some(d.join("claude.cmd")));
        touch(&d.join("claude.exe"), 0o644);
        assert_eq!(search.which("claude"), Some(d.join("claude.exe")));
        std::fs::create_dir_all(d.join("dir.exe")).expect("mkdir");
        assert_eq!(search.which("dir"), None);
    }

    #[test]
    fn windows_runtime_paths_are_used_as_given() {
        let search = ProgramSearch::windows(Some(r"C:\none"), None);
        for given in [r"C:\nodejs\node.exe", r"tools\bun", "C:bun.exe", "./node"] {
            assert!(search.is_path(given), "{given}");
            assert_eq!(resolve_runtime(Some(given), &search), given);
        }
        assert!(!search.is_path("node.exe"));
        assert!(!ProgramSearch::unix(None).is_path(r"C:\node"));
        assert_eq!(resolve_runtime(Some("bun"), &search), "bun");
        assert_eq!(resolve_runtime(None, &search), "node");
    }

    #[test]
    fn windows_claude_cli_from_home_with_an_extension_then_path() {
        let home = tmp("win-home");
        let bin = tmp("win-bin");
        let path = bin.to_string_lossy().into_owned();
        let search = ProgramSearch::windows(Some(&path), None);
        assert_eq!(find_claude_cli(Some(&home), &search), None);
        touch(&bin.join("claude.cmd"), 0o644);
        assert_eq!(
            find_claude_cli(Some(&home), &search),
            Some(bin.join("claude.cmd"))
        );
        touch(&home.join(".local/bin/claude"), 0o755);
        touch(&home.join(".local/bin/claude.exe"), 0o644);
        assert_eq!(
            find_claude_cli(Some(&home), &search),
            Some(home.join(".local/bin/claude.exe"))
        );
    }
}
