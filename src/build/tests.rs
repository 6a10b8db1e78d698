//! The build step against real processes, and its pure parts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::tail::{Stream, last_line};
use super::*;

/// Longest any one build in these tests may take before the test fails.
const LIMIT: Duration = Duration::from_secs(20);

fn rt() -> &'static tokio::runtime::Runtime {
    crate::runtime::get().expect("runtime")
}

/// A fresh folder for one test, removed afterwards.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("sidecar-build-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        Self(dir)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A build running `script` with `sh` (found through the build's own PATH) in `dir`.
fn sh(dir: &TempDir, script: &str) -> BuildSpec {
    BuildSpec {
        command: vec!["sh".into(), "-c".into(), script.into()],
        cwd: Some(dir.0.clone()),
        when: When::Always,
        watch: Vec::new(),
        timeout: LIMIT,
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("OUT".into(), dir.path("out").display().to_string()),
        ],
        kill_grace: Duration::from_millis(300),
    }
}

async fn finish(join: BuildJoin) -> Arc<BuildResult> {
    tokio::time::timeout(LIMIT, join)
        .await
        .expect("the build ended in time")
}

fn failure(r: &BuildResult) -> &BuildFailure {
    match r {
        Ok(ok) => panic!("expected a failure, got {ok:?}"),
        Err(f) => f,
    }
}

async fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}

/// The pid a build script printed first (`echo $$`): its process group.
fn first_pid(output: &str) -> i32 {
    output
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or_else(|| panic!("no pid in {output:?}"))
}

async fn assert_group_gone(pgid: i32) {
    assert!(
        wait_until(|| !crate::process::group_alive(pgid)).await,
        "process group {pgid} is still alive"
    );
}

#[test]
fn a_build_runs_in_its_cwd_with_its_env_and_stdin_closed() {
    rt().block_on(async {
        let dir = TempDir::new("ok");
        // `cat` would wait forever on an open stdin; HOME is not passed through.
        let b = Builder::new(sh(
            &dir,
            "cat; [ -z \"$HOME\" ] || exit 9; echo hi; touch \"$OUT\" ./made",
        ));
        assert!(b.needed(None));
        let join = b.build();
        assert!(join.started());
        let result = finish(join).await;
        let ok = result.as_ref().as_ref().expect("build ok");
        assert_eq!(ok.output, "hi\n");
        assert!(ok.duration > Duration::ZERO && ok.duration < LIMIT);
        assert!(dir.path("out").exists() && dir.path("made").exists());
        assert!(b.built_ok());
        assert!(!b.needed(None), "always: once per builder");
        assert_eq!(b.running_pid(), None);
    });
}

#[test]
fn a_failed_build_reports_its_last_line() {
    rt().block_on(async {
        let dir = TempDir::new("fail");
        let b = Builder::new(sh(
            &dir,
            // One stream: the order of lines across stdout and stderr is the order the
            // reads returned them, which the build cannot control.
            "echo compiling >&2; echo 'error TS2304: Cannot find name x.' >&2; \
             echo '  ' >&2; exit 3",
        ));
        let result = finish(b.build()).await;
        let f = failure(&result);
        assert_eq!(
            f.error,
            BuildError::Exit {
                code: Some(3),
                signal: None
            }
        );
        assert_eq!(f.error.code(), "exit");
        assert_eq!(f.last_line, "error TS2304: Cannot find name x.");
        assert_eq!(
            f.message(),
            "Runner build failed: error TS2304: Cannot find name x."
        );
        assert!(f.output.contains("compiling\n"), "{:?}", f.output);
        assert!(!b.built_ok());
    });
}

#[test]
fn a_silent_failure_is_described_by_its_exit() {
    rt().block_on(async {
        let dir = TempDir::new("silent");
        let result = finish(Builder::new(sh(&dir, "exit 2")).build()).await;
        assert_eq!(
            failure(&result).message(),
            "Runner build failed: exit code 2"
        );
        let result = finish(Builder::new(sh(&dir, "kill -SEGV $$")).build()).await;
        assert_eq!(
            failure(&result).message(),
            "Runner build failed: killed by SIGSEGV"
        );
    });
}

#[test]
fn a_build_past_its_timeout_is_ended_with_its_group() {
    rt().block_on(async {
        let dir = TempDir::new("timeout");
        let mut spec = sh(&dir, "echo $$; sleep 30 & sleep 30");
        spec.timeout = Duration::from_millis(300);
        let result = finish(Builder::new(spec).build()).await;
        let f = failure(&result);
        assert_eq!(f.error, BuildError::TimedOut(Duration::from_millis(300)));
        assert!(f.duration >= Duration::from_millis(300), "{:?}", f.duration);
        let pid = first_pid(&f.output);
        assert_eq!(
            f.message(),
            format!("Runner build failed: timed out after 300 ms (last output: {pid})")
        );
        assert_group_gone(pid).await;
    });
}

#[test]
fn a_build_that_ignores_sigterm_is_killed_after_the_grace() {
    rt().block_on(async {
        let dir = TempDir::new("stubborn");
        let mut spec = sh(&dir, "trap '' TERM; echo $$; sleep 30");
        spec.timeout = Duration::from_millis(200);
        spec.kill_grace = Duration::from_millis(200);
        let result = finish(Builder::new(spec).build()).await;
        let f = failure(&result);
        assert_eq!(f.error, BuildError::TimedOut(Duration::from_millis(200)));
        assert!(f.duration >= Duration::from_millis(400), "{:?}", f.duration);
        assert_group_gone(first_pid(&f.output)).await;
    });
}

#[test]
fn the_output_tail_is_bounded_and_all_output_is_read() {
    rt().block_on(async {
        let dir = TempDir::new("tail");
        // 1 MiB on stderr, then 8 MiB on stdout: a build whose stderr is not read while it
        // writes (or whose stdout is read only to the tail) blocks on a full pipe until the
        // timeout. The last line follows on the stream written last, since the order across
        // the two pipes is the order the reads return.
        let script = "head -c 1048576 /dev/zero | tr '\\0' y >&2; \
                      head -c 8388608 /dev/zero | tr '\\0' x; \
                      echo; echo the-end";
        let result = finish(Builder::new(sh(&dir, script)).build()).await;
        let ok = result.as_ref().as_ref().expect("build ok");
        assert_eq!(ok.output.len(), BUILD_OUTPUT_TAIL);
        assert!(
            ok.output.ends_with("\nthe-end\n"),
            "{:?}",
            &ok.output[ok.output.len() - 40..]
        );
        assert_eq!(last_line(&ok.output), "the-end");
    });
}

#[test]
fn concurrent_calls_share_one_run() {
    rt().block_on(async {
        let dir = TempDir::new("single");
        // The build holds until the test has joined it twice.
        let b = Builder::new(sh(
            &dir,
            "echo run >> runs; while [ ! -e go ]; do sleep 0.01; done",
        ));
        let first = b.build();
        let second = b.build();
        assert!(first.started());
        assert!(!second.started(), "the second call joins the first run");
        assert!(
            b.needed(Some(Path::new("/whatever"))),
            "a running build is waited for"
        );
        std::fs::write(dir.path("go"), b"").expect("go");
        let (a, c) = (finish(first).await, finish(second).await);
        assert!(Arc::ptr_eq(&a, &c), "the same result for both");
        assert!(a.is_ok());
        let runs = std::fs::read_to_string(dir.path("runs")).expect("runs");
        assert_eq!(runs, "run\n");
        // A call after the run has finished starts a new one (whether it is needed is the
        // caller's question).
        let third = b.build();
        assert!(third.started());
        assert!(finish(third).await.is_ok());
        let runs = std::fs::read_to_string(dir.path("runs")).expect("runs");
        assert_eq!(runs, "run\nrun\n");
    });
}

#[test]
fn a_failed_build_is_not_cached() {
    rt().block_on(async {
        let dir = TempDir::new("retry");
        let b = Builder::new(sh(
            &dir,
            "if [ -e mark ]; then echo fine; else touch mark; echo boom >&2; exit 1; fi",
        ));
        let first = finish(b.build()).await;
        assert_eq!(failure(&first).message(), "Runner build failed: boom");
        assert!(b.needed(None) && !b.built_ok());
        let join = b.build();
        assert!(join.started(), "a new run, not the failed one");
        let second = finish(join).await;
        assert_eq!(
            second.as_ref().as_ref().map(|ok| ok.output.as_str()),
            Ok("fine\n")
        );
        assert!(!b.needed(None) && b.built_ok());
    });
}

#[test]
fn cancel_ends_a_running_build() {
    rt().block_on(async {
        let dir = TempDir::new("cancel");
        let b = Builder::new(sh(&dir, "sleep 30 & sleep 30"));
        let join = b.build();
        assert!(wait_until(|| b.running_pid().is_some()).await, "spawned");
        let pid = b.running_pid().expect("pid");
        b.cancel();
        let result = finish(join).await;
        let f = failure(&result);
        assert_eq!(f.error, BuildError::Cancelled);
        assert_eq!(f.message(), "Runner build failed: cancelled");
        assert!(f.duration < Duration::from_secs(5), "{:?}", f.duration);
        assert_eq!(b.running_pid(), None);
        assert_group_gone(pid).await;
        // Nothing to cancel now; the builder still builds.
        b.cancel();
        b.kill_now();
    });
}

#[test]
fn cancel_right_after_the_start_ends_the_build() {
    rt().block_on(async {
        let dir = TempDir::new("cancel-early");
        let b = Builder::new(sh(&dir, "echo $$ > pid; sleep 30"));
        let join = b.build();
        b.cancel();
        let result = finish(join).await;
        assert_eq!(failure(&result).error, BuildError::Cancelled);
        // It may have been spawned before the cancel arrived: then it is gone now.
        if let Ok(text) = std::fs::read_to_string(dir.path("pid")) {
            assert_group_gone(first_pid(&text)).await;
        }
    });
}

#[test]
fn kill_now_sigkills_the_build_without_waiting_for_a_grace() {
    rt().block_on(async {
        let dir = TempDir::new("kill-now");
        let mut spec = sh(&dir, "trap '' TERM; sleep 30");
        spec.kill_grace = Duration::from_secs(15);
        let b = Builder::new(spec);
        let join = b.build();
        assert!(wait_until(|| b.running_pid().is_some()).await, "spawned");
        let pid = b.running_pid().expect("pid");
        b.kill_now();
        let result = finish(join).await;
        let f = failure(&result);
        assert_eq!(f.error, BuildError::Cancelled);
        assert!(f.duration < Duration::from_secs(10), "{:?}", f.duration);
        assert_group_gone(pid).await;
    });
}

#[test]
fn what_a_build_leaves_behind_is_swept() {
    rt().block_on(async {
        let dir = TempDir::new("leftover");
        // The helper keeps the output pipes open: the build's end is its exit, not their end.
        let b = Builder::new(sh(&dir, "echo $$; sleep 30 &"));
        let result = finish(b.build()).await;
        let ok = result.as_ref().as_ref().expect("build ok");
        assert!(ok.duration < Duration::from_secs(10), "{:?}", ok.duration);
        assert_group_gone(first_pid(&ok.output)).await;
    });
}

async fn check_spawn_error(spec: &BuildSpec, expected: &str) {
    let result = finish(Builder::new(spec.clone()).build()).await;
    let f = failure(&result);
    assert!(matches!(f.error, BuildError::Spawn(_)), "{:?}", f.error);
    assert_eq!(f.error.code(), "spawn");
    assert_eq!(f.output, "");
    assert_eq!(f.message(), format!("Runner build failed: {expected}"));
}

#[test]
fn builds_that_cannot_start_fail_as_spawn_errors() {
    rt().block_on(async {
        let dir = TempDir::new("spawn");
        let mut spec = sh(&dir, "exit 0");
        spec.command = vec!["no-such-build-tool".into()];
        check_spawn_error(&spec, "`no-such-build-tool` not found in the build's PATH").await;
        spec.command = vec![];
        check_spawn_error(&spec, "the build command is empty").await;
        spec.command = vec!["sh".into()];
        spec.cwd = Some(dir.path("missing"));
        let missing = dir.path("missing").display().to_string();
        check_spawn_error(
            &spec,
            &format!("the build's working directory does not exist: {missing}"),
        )
        .await;
        // A relative program is the build folder's, not the host's.
        spec.cwd = Some(dir.0.clone());
        std::fs::write(dir.path("build.sh"), "echo local\n").expect("write");
        spec.command = vec!["./build.sh".into()];
        let result = finish(Builder::new(spec.clone()).build()).await;
        let f = failure(&result);
        assert!(
            f.message().contains("build.sh") && f.message().contains("ermission denied"),
            "{}",
            f.message()
        );
        spec.command = vec!["/bin/sh".into(), "./build.sh".into()];
        let result = finish(Builder::new(spec).build()).await;
        assert_eq!(
            result.as_ref().as_ref().map(|ok| ok.output.as_str()),
            Ok("local\n")
        );
    });
}

/// Sets `path`'s modification time to `secs` seconds after an arbitrary fixed past time.
fn touch(path: &Path, secs: u64) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("mkdir");
    }
    let file = std::fs::File::create(path).expect("create");
    file.set_modified(at(secs)).expect("set mtime");
}

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
}

#[test]
fn needs_build_for_each_when() {
    let dir = TempDir::new("plan");
    let runner = dir.path("dist/x-runner.mjs");
    touch(&runner, 100);
    let src = dir.path("src");
    touch(&src.join("a/b/old.ts"), 50);
    let watch = vec![src.clone(), dir.path("no-such-file")];

    assert!(needs_build(When::Missing, None, &watch, None));
    assert!(!needs_build(When::Missing, Some(&runner), &watch, None));

    assert!(needs_build(When::Always, Some(&runner), &watch, None));
    assert!(!needs_build(When::Always, None, &watch, Some(at(0))));

    assert!(needs_build(When::Stale, None, &watch, Some(at(1000))));
    assert!(
        needs_build(When::Stale, Some(&dir.path("gone.mjs")), &watch, None),
        "an unreadable runner is stale"
    );
    assert!(!needs_build(When::Stale, Some(&runner), &watch, None));
    assert!(!needs_build(When::Stale, Some(&runner), &[], None));

    // Newer than the runner, but in folders the walk skips.
    touch(&src.join("node_modules/dep/index.js"), 200);
    touch(&src.join("a/.cache/x"), 200);
    assert!(!needs_build(When::Stale, Some(&runner), &watch, None));
    // ...unless listed itself.
    let hidden = vec![src.join("a/.cache")];
    assert!(needs_build(When::Stale, Some(&runner), &hidden, None));

    // A newer source deep in a watched folder, or a watched file itself.
    touch(&src.join("a/b/new.ts"), 200);
    assert!(needs_build(When::Stale, Some(&runner), &watch, None));
    assert!(needs_build(
        When::Stale,
        Some(&runner),
        &[src.join("a/b/new.ts")],
        None
    ));
    assert!(!needs_build(
        When::Stale,
        Some(&runner),
        &[src.join("a/b/old.ts")],
        None
    ));
    // A build that ended after the change has seen it (even if it left the runner as it was).
    assert!(!needs_build(
        When::Stale,
        Some(&runner),
        &watch,
        Some(at(300))
    ));
    assert!(needs_build(
        When::Stale,
        Some(&runner),
        &watch,
        Some(at(150))
    ));
}

#[cfg(unix)]
#[test]
fn the_stale_walk_does_not_follow_folder_links() {
    let dir = TempDir::new("plan-links");
    let runner = dir.path("x-runner.mjs");
    touch(&runner, 100);
    let src = dir.path("src");
    touch(&src.join("old.ts"), 50);
    // A cycle, and a link to a newer file elsewhere (which counts).
    std::os::unix::fs::symlink(&src, src.join("loop")).expect("symlink");
    assert!(!needs_build(
        When::Stale,
        Some(&runner),
        std::slice::from_ref(&src),
        None
    ));
    touch(&dir.path("elsewhere/new.ts"), 200);
    std::os::unix::fs::symlink(dir.path("elsewhere/new.ts"), src.join("linked.ts"))
        .expect("symlink");
    assert!(needs_build(
        When::Stale,
        Some(&runner),
        std::slice::from_ref(&src),
        None
    ));
    std::os::unix::fs::symlink(dir.path("nowhere"), src.join("dangling")).expect("symlink");
}

#[test]
fn when_parses_its_option_values() {
    for w in [When::Missing, When::Stale, When::Always] {
        assert_eq!(When::parse(w.as_str()), Ok(w));
    }
    let err = When::parse("Always").expect_err("case matters");
    assert!(
        err.contains("\"Always\"") && err.contains("\"stale\""),
        "{err}"
    );
}

#[test]
fn the_tail_keeps_the_last_bytes_on_a_char_boundary() {
    let mut t = OutputTail::new();
    // 3-byte characters, so the cut falls inside one whatever the count.
    let big = "€".repeat(BUILD_OUTPUT_TAIL);
    t.push(Stream::Stdout, big.as_bytes());
    t.push(Stream::Stdout, b"\nlast\n");
    let s = t.as_str();
    assert!(s.len() <= BUILD_OUTPUT_TAIL && s.len() > BUILD_OUTPUT_TAIL - 4);
    assert!(s.ends_with("€\nlast\n"));
    assert!(s.starts_with('€'));
    assert_eq!(t.total_bytes(), big.len() as u64 + 6);
    // Many small reads trim the same way as one large one.
    let mut small = OutputTail::new();
    for chunk in big.as_bytes().chunks(1000) {
        small.push(Stream::Stdout, chunk);
    }
    small.push(Stream::Stdout, b"\nlast\n");
    small.finish();
    assert_eq!(small.into_string(), s);
}

#[test]
fn the_tail_joins_characters_split_across_reads_of_one_stream() {
    let mut t = OutputTail::new();
    let e = "é".as_bytes();
    t.push(Stream::Stdout, &e[..1]);
    t.push(Stream::Stderr, b"[err]");
    t.push(Stream::Stdout, &e[1..]);
    t.push(Stream::Stdout, &[0xff]);
    t.push(Stream::Stderr, &e[..1]);
    t.finish();
    assert_eq!(t.into_string(), "[err]é\u{fffd}\u{fffd}");
}

#[test]
fn the_last_line_is_what_a_terminal_would_show_last() {
    assert_eq!(last_line(""), "");
    assert_eq!(last_line("\n  \n\t\n"), "");
    assert_eq!(last_line("one\ntwo  \n\n   \n"), "two");
    assert_eq!(last_line("50%\r100%\rdone\r\n"), "done");
    assert_eq!(last_line("progress\r   \n"), "progress");
    assert_eq!(
        last_line("\u{1b}[31merror\u{1b}[0m: \u{1b}]8;;http://x\u{7}bad\u{1b}]8;;\u{1b}\\ thing\n"),
        "error: bad thing"
    );
    let long = "é".repeat(LAST_LINE_CHARS + 10);
    let shown = last_line(&long);
    assert_eq!(shown.chars().count(), LAST_LINE_CHARS + 1);
    assert!(shown.ends_with('…'));
}

#[test]
fn failure_messages_say_what_happened() {
    let f = |error, last_line: &str| BuildFailure {
        error,
        output: last_line.to_owned(),
        last_line: last_line.to_owned(),
        duration: Duration::ZERO,
    };
    let exit = |code, signal: Option<&str>| BuildError::Exit {
        code,
        signal: signal.map(str::to_owned),
    };
    assert_eq!(
        f(exit(Some(2), None), "").message(),
        "Runner build failed: exit code 2"
    );
    assert_eq!(
        f(exit(Some(2), None), "oops").message(),
        "Runner build failed: oops"
    );
    assert_eq!(
        f(exit(None, Some("SIGKILL")), "").message(),
        "Runner build failed: killed by SIGKILL"
    );
    let timeout = BuildError::TimedOut(Duration::from_millis(5000));
    assert_eq!(timeout.code(), "timeout");
    assert_eq!(
        f(timeout.clone(), "").message(),
        "Runner build failed: timed out after 5000 ms"
    );
    assert_eq!(
        f(timeout, "bundling").message(),
        "Runner build failed: timed out after 5000 ms (last output: bundling)"
    );
    assert_eq!(
        f(BuildError::Cancelled, "").message(),
        "Runner build failed: cancelled"
    );
    assert_eq!(
        f(
            BuildError::Spawn("`npm` not found in the build's PATH".into()),
            ""
        )
        .message(),
        "Runner build failed: `npm` not found in the build's PATH"
    );
    assert_eq!(
        f(BuildError::Cancelled, "x").to_string(),
        "Runner build failed: cancelled (last output: x)"
    );
}
