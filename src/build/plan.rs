//! Whether a runner build is due: a pure decision from the file system and what this manager
//! has built already.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

/// Entries (files, folders, links) a staleness check visits at most, over all watched
/// folders together.
pub const MAX_WATCH_ENTRIES: usize = 100_000;

/// When a session start builds the runners first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Only while the runner file does not exist.
    Missing,
    /// While the runner does not exist, or a watched file changed after it was written (or
    /// after this manager's last successful build).
    Stale,
    /// Once per manager: before the first session, whatever is on disk.
    Always,
}

impl When {
    /// Parses the option value: `"missing"`, `"stale"` or `"always"`. The error is a message
    /// for the user naming the value given.
    pub fn parse(s: &str) -> Result<When, String> {
        match s {
            "missing" => Ok(When::Missing),
            "stale" => Ok(When::Stale),
            "always" => Ok(When::Always),
            other => Err(format!(
                "Invalid build.when {other:?}: expected \"missing\", \"stale\" or \"always\""
            )),
        }
    }

    /// The option value, as [`When::parse`] takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            When::Missing => "missing",
            When::Stale => "stale",
            When::Always => "always",
        }
    }
}

/// Whether a session start must build first.
///
/// `runner` is the runner file the lookup found (`None`: none found). `last_ok` is when this
/// manager's last successful build *ended*, if any: a file written before then was seen by
/// that build. The end rather than the start, because a build writes into folders people
/// watch (a `tsbuildinfo`, a second output file written after the runner); counted from
/// its start, those writes would make every later start rebuild. The price: a source saved
/// while a build runs does not trigger another one.
///
/// - [`When::Missing`]: `runner` is `None`.
/// - [`When::Stale`]: `runner` is `None`, or its modification time cannot be read, or a file
///   under `watch` was modified after both the runner and `last_ok`. Each `watch` entry is a
///   file or a folder; folders are walked recursively, skipping `node_modules` and names
///   starting with `.` (`.git`, caches) below them (a listed path itself is always used),
///   and not following links to folders (no cycles). Watched paths that do not exist are
///   ignored, and so are deletions: only modification times count. The walk stops at the
///   first newer file, and after [`MAX_WATCH_ENTRIES`] entries, when what it has not seen
///   counts as unchanged (with a warning, once per process): rebuilding at every start
///   because a watch list is too large would be the worse failure.
/// - [`When::Always`]: no build has succeeded yet (`last_ok` is `None`).
///
/// Reads the file system (a `stat` per entry under `watch` for [`When::Stale`]); it does not
/// block otherwise.
pub fn needs_build(
    when: When,
    runner: Option<&Path>,
    watch: &[PathBuf],
    last_ok: Option<SystemTime>,
) -> bool {
    match when {
        When::Missing => runner.is_none(),
        When::Always => last_ok.is_none(),
        When::Stale => {
            let Some(runner) = runner else {
                return true;
            };
            let Ok(built) = fs::metadata(runner).and_then(|m| m.modified()) else {
                return true;
            };
            let since = last_ok.map_or(built, |t| t.max(built));
            changed_since(watch, since)
        }
    }
}

/// Whether a file under `watch` was modified after `since` (see [`needs_build`]).
fn changed_since(watch: &[PathBuf], since: SystemTime) -> bool {
    let newer = |meta: &fs::Metadata| meta.modified().is_ok_and(|t| t > since);
    let mut folders: Vec<PathBuf> = Vec::new();
    for path in watch {
        // Listed paths follow links: naming a linked folder is a deliberate choice.
        let Ok(meta) = fs::metadata(path) else {
            continue;
        };
        if meta.is_dir() {
            folders.push(path.clone());
        } else if newer(&meta) {
            return true;
        }
    }
    let mut budget = MAX_WATCH_ENTRIES;
    while let Some(folder) = folders.pop() {
        let Ok(entries) = fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.flatten() {
            if budget == 0 {
                warn_truncated(watch);
                return false;
            }
            budget -= 1;
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !skipped(&entry.file_name()) {
                    folders.push(entry.path());
                }
                continue;
            }
            let meta = if kind.is_symlink() {
                // A link to a file counts with its target's time; a link to a folder is not
                // followed, and a dangling link is nothing.
                match fs::metadata(entry.path()) {
                    Ok(m) if m.is_file() => m,
                    _ => continue,
                }
            } else {
                match entry.metadata() {
                    Ok(m) => m,
                    Err(_) => continue,
                }
            };
            if newer(&meta) {
                return true;
            }
        }
    }
    false
}

/// Folders a walk does not enter: dependencies and hidden folders (VCS data, caches), which
/// are large and not the runners' sources.
fn skipped(name: &std::ffi::OsStr) -> bool {
    let name = name.as_encoded_bytes();
    name == b"node_modules" || name.starts_with(b".")
}

fn warn_truncated(watch: &[PathBuf]) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            ?watch,
            limit = MAX_WATCH_ENTRIES,
            "build.watch has more entries than are checked; the rest count as unchanged"
        );
    }
}
