//! Windows platform tests, run as they are on Windows and under Wine in CI (see
//! `scripts/wine/`). The children are this test binary itself, filtered to [`child_helper`]
//! and told what to do by an environment variable: no program beyond the OS is needed.

use std::io::{BufRead, Write};
use std::os::windows::io::AsRawHandle;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use windows_sys::Win32::Foundation::WAIT_TIMEOUT;
use windows_sys::Win32::System::Threading::{
    GetPriorityClass, IDLE_PRIORITY_CLASS, WaitForSingleObject,
};

use super::exit::open_process;
use super::*;
use crate::process::spec::{PtySpec, SpawnSpec, Spawned};
use crate::process::stop::{ExitKind, StopStep};

const CHILD_ENV: &str = "SIDECAR_WINDOWS_TEST_CHILD";
const WAIT: Duration = Duration::from_secs(20);

/// Not a test: what the tests' children run (see the module docs).
#[test]
#[ignore = "the child process of the other tests"]
fn child_helper() {
    let mut out = std::io::stdout();
    match std::env::var(CHILD_ENV).as_deref() {
        Ok("sleep") => std::thread::sleep(Duration::from_secs(60)),
        Ok("echo") => {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).expect("stdin");
            writeln!(out, "echo:{}", line.trim()).expect("stdout");
            out.flush().expect("flush");
            std::process::exit(5);
        }
        // The code of an access violation (0xC0000005), as a crashed process leaves it.
        Ok("crash-code") => std::process::exit(i32::from_ne_bytes(0xC000_0005u32.to_ne_bytes())),
        Ok("grandchild") => {
            // Started detached: the way a runner's background work escapes a process tree
            // on Windows, and what the session's job must still catch.
            use std::os::windows::process::CommandExt;
            #[allow(
                clippy::zombie_processes,
                reason = "left running on purpose: the job must end it"
            )]
            let g = std::process::Command::new(std::env::current_exe().expect("exe"))
                .args(child_args())
                .env(CHILD_ENV, "sleep")
                .creation_flags(windows_sys::Win32::System::Threading::DETACHED_PROCESS)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("grandchild");
            writeln!(out, "grandchild:{}", g.id()).expect("stdout");
            out.flush().expect("flush");
            std::thread::sleep(Duration::from_secs(60));
        }
        _ => {}
    }
}

fn child_args() -> Vec<String> {
    let name = "process::windows::tests::child_helper";
    [name, "--exact", "--ignored", "--nocapture", "--quiet"]
        .map(String::from)
        .to_vec()
}

fn child(kind: &str, nice: u8) -> SpawnSpec {
    let mut env: Vec<(String, String)> = std::env::vars().collect();
    env.push((CHILD_ENV.into(), kind.into()));
    SpawnSpec {
        program: std::env::current_exe()
            .expect("exe")
            .to_string_lossy()
            .into_owned(),
        args: child_args(),
        env,
        cwd: None,
        nice,
        confine: None,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Whether process `pid` is still running (its handle not signalled).
fn running(pid: u32) -> bool {
    let Ok(h) = open_process(pid as i32) else {
        return false;
    };
    // SAFETY: `h` is a valid process handle with SYNCHRONIZE.
    unsafe { WaitForSingleObject(h.as_raw_handle(), 0) == WAIT_TIMEOUT }
}

async fn gone_within(pid: u32, limit: Duration) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if !running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// How process `pid` ended, once it has (bounded), reaped through its `child`.
async fn exit_of(pid: i32, child: &mut std::process::Child) -> ExitKind {
    tokio::time::timeout(WAIT, wait_exited(pid))
        .await
        .expect("exit in time")
        .expect("wait");
    reap(child).expect("reap")
}

/// A runner (at `nice`) that started a detached grandchild, and the grandchild's pid (read
/// off a duplicate of the runner's stdout).
async fn with_grandchild(nice: u8) -> (Spawned, u32) {
    let s = spawn(&child("grandchild", nice)).expect("spawn");
    let stdout = s.stdout.try_clone().expect("duplicate stdout");
    let g = line_with(stdout, "grandchild:").await.parse().expect("pid");
    (s, g)
}

/// The first stdout line of `spawned` that starts with `prefix`, without it.
async fn line_with(stdout: Pipe, prefix: &str) -> String {
    let mut lines = BufReader::new(pipe_reader(stdout).expect("reader")).lines();
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(WAIT, lines.next_line())
            .await
            .expect("a line in time")
            .expect("read");
        let Some(line) = line else {
            panic!("end of output before a line starting {prefix:?}; saw {seen:?}");
        };
        seen.push(line.clone());
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
}

#[test]
fn pipes_carry_stdin_and_stdout_and_the_exit_code_comes_back() {
    runtime().block_on(async {
        let mut s = spawn(&child("echo", 0)).expect("spawn");
        let mut stdin = pipe_writer(s.stdin).expect("writer");
        stdin.write_all(b"ping\n").await.expect("write");
        assert_eq!(line_with(s.stdout, "echo:").await, "ping");
        assert_eq!(exit_of(s.pid, &mut s.child).await, ExitKind::Code(5));
        s.containment.release(false, Duration::ZERO);
    });
}

#[test]
fn exit_codes_are_unsigned_as_windows_and_node_report_them() {
    runtime().block_on(async {
        let mut s = spawn(&child("crash-code", 0)).expect("spawn");
        assert_eq!(
            exit_of(s.pid, &mut s.child).await,
            ExitKind::Code(3_221_225_477)
        );
        s.containment.release(false, Duration::ZERO);
    });
}

#[test]
fn a_detached_grandchild_is_in_the_job_and_ends_with_it() {
    runtime().block_on(async {
        let (mut s, g) = with_grandchild(0).await;
        assert!(running(g), "grandchild runs");
        assert!(s.containment.alive());
        assert!(s.containment.stop(StopStep::Terminate).expect("stop"));
        assert_eq!(
            exit_of(s.pid, &mut s.child).await,
            ExitKind::Code(job::TERMINATED_EXIT_CODE.into())
        );
        assert!(
            gone_within(g, WAIT).await,
            "grandchild {g} ended with the job"
        );
        assert!(!s.containment.alive());
        assert!(
            !s.containment.stop(StopStep::Kill).expect("stop"),
            "nothing left"
        );
        s.containment.release(false, Duration::ZERO);
    });
}

#[test]
fn closing_the_job_ends_the_whole_tree_as_the_hosts_death_does() {
    runtime().block_on(async {
        let (mut s, g) = with_grandchild(0).await;
        // Release without leftovers closes the job's only handle: what the OS does for
        // every handle of a host that dies.
        s.containment.release(false, Duration::ZERO);
        assert!(gone_within(s.pid as u32, WAIT).await, "runner ended");
        assert!(gone_within(g, WAIT).await, "grandchild ended");
        assert!(!job::job_alive(s.pid), "job forgotten");
        let _ = reap(&mut s.child);
    });
}

#[test]
fn resources_and_priority_come_from_the_job() {
    runtime().block_on(async {
        let (mut s, _g) = with_grandchild(10).await;
        // SAFETY: the child's handle is valid while `s.child` lives.
        let class = unsafe { GetPriorityClass(s.child.as_raw_handle()) };
        assert_eq!(
            class, IDLE_PRIORITY_CLASS,
            "runnerNice 10 is the idle class"
        );
        let mut rows = Vec::new();
        each_process(|r| {
            if r.pgid == s.pid {
                rows.push(r);
            }
        });
        // The runner and its grandchild (and, where the system puts it in the job, the
        // runner's console host), each with its working set; then the job's CPU row.
        let live: Vec<_> = rows.iter().filter(|r| r.live).collect();
        assert!(live.len() >= 2, "runner and grandchild: {rows:?}");
        assert!(live.iter().all(|r| r.rss_bytes > 0), "{rows:?}");
        assert_eq!(rows.len() - live.len(), 1, "one CPU row: {rows:?}");
        s.containment.stop(StopStep::Kill).expect("stop");
        wait_exited(s.pid).await.expect("wait");
        let _ = reap(&mut s.child);
        s.containment.release(false, Duration::ZERO);
    });
}

/// Whether this runs under Wine (whose ConPTY gives the program no standard handles).
fn under_wine() -> bool {
    use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
    let ntdll = super::wide("ntdll.dll");
    // SAFETY: ntdll is loaded in every process; the name is NUL-terminated.
    unsafe {
        let m = GetModuleHandleW(ntdll.as_ptr());
        !m.is_null() && GetProcAddress(m, c"wine_get_version".as_ptr().cast()).is_some()
    }
}

#[test]
fn a_console_program_exits_with_its_code_after_its_output() {
    let comspec =
        std::env::var("COMSPEC").unwrap_or_else(|_| "C:\\windows\\system32\\cmd.exe".into());
    let spec = PtySpec {
        program: comspec,
        args: vec!["/c".into(), "echo console-marker& exit 7".into()],
        env: std::env::vars().collect(),
        cwd: std::env::temp_dir(),
        cols: 80,
        rows: 24,
        confine: None,
    };
    runtime().block_on(async {
        let s = spawn_pty(&spec).expect("spawn");
        let io = PtyIo::open(&s.master).expect("io");
        assert!(
            PtyIo::open(&s.master).is_err(),
            "the pipes are handed out once"
        );
        let read = async {
            let mut all = Vec::new();
            let mut buf = [0u8; 4096];
            loop {
                match io.read(&mut buf).await.expect("read") {
                    0 => return all,
                    n => all.extend_from_slice(&buf[..n]),
                }
            }
        };
        let (output, exited) =
            tokio::time::timeout(WAIT, async { tokio::join!(read, wait_exited(s.pid)) })
                .await
                .expect("exit and end of output in time");
        exited.expect("wait");
        assert_eq!(reap_pid(s.pid).expect("reap"), ExitKind::Code(7));
        if under_wine() {
            // Wine 8 starts ConPTY programs without standard handles: nothing to assert.
        } else {
            let text = String::from_utf8_lossy(&output);
            assert!(text.contains("console-marker"), "{text:?}");
        }
        assert!(!s.containment.alive());
        s.containment.release(false, Duration::ZERO);
    });
}

#[test]
fn terminals_run_comspec_by_default() {
    let with = |v: Option<&str>| {
        default_program(&|k| (k == "COMSPEC").then_some(v).flatten().map(String::from))
    };
    assert_eq!(
        with(Some(r"C:\Windows\system32\cmd.exe")),
        r"C:\Windows\system32\cmd.exe"
    );
    assert_eq!(with(Some("")), "cmd.exe");
    assert_eq!(with(None), "cmd.exe");
}

#[test]
fn programs_that_cannot_run_fail_before_any_process() {
    let mut spec = child("sleep", 0);
    spec.program = "C:\\no\\such\\program.exe".into();
    assert_eq!(
        spawn(&spec).expect_err("missing").kind(),
        std::io::ErrorKind::NotFound
    );
    spec.program = "bare-name".into();
    assert!(spawn(&spec).is_err());
    let text = std::env::temp_dir().join("sidecar-not-a-program");
    std::fs::write(&text, "not a program").expect("write");
    spec.program = text.to_string_lossy().into_owned();
    let e = spawn(&spec).expect_err("not a program");
    assert_eq!(e.raw_os_error(), Some(193), "{e}");
    let _ = std::fs::remove_file(&text);
    assert!(resolve_program("no-such-program-anywhere", Some("C:\\windows")).is_err());
    let cmd = resolve_program("cmd", std::env::var("PATH").ok().as_deref()).expect("cmd");
    assert!(cmd.to_ascii_lowercase().ends_with("cmd.exe"), "{cmd}");
}
