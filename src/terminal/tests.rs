//! Terminal sessions against real programs on real PTYs.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};

use super::*;
use crate::process::{self, ExitKind, PtySpec};
use crate::resources::Limits;

/// Events of one terminal, as a test sees them (data kept with its credit until dropped).
struct ChannelSink(mpsc::UnboundedSender<TerminalEvent>);

impl TerminalSink for ChannelSink {
    fn push(&self, _token: u64, event: TerminalEvent) {
        let _ = self.0.send(event);
    }
}

fn cfg() -> TerminalConfig {
    TerminalConfig {
        utf8: true,
        scrollback_bytes: 1 << 20,
        idle: Duration::from_secs(30),
        kill_grace: Duration::from_millis(300),
        max_pending_bytes: 1 << 20,
        input_queue_bytes: 1 << 20,
    }
}

fn spec(script: &str) -> PtySpec {
    PtySpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("TERM".into(), "xterm-256color".into()),
            ("PS1".into(), "$ ".into()),
        ],
        cwd: std::env::temp_dir(),
        cols: 80,
        rows: 24,
        confine: None,
    }
}

struct Open {
    term: Arc<Terminal>,
    events: mpsc::UnboundedReceiver<TerminalEvent>,
}

fn open(spec: PtySpec, cfg: TerminalConfig) -> Open {
    let (tx, events) = mpsc::unbounded_channel();
    let spawned = process::spawn_pty_async(spec.clone());
    let sink: Arc<dyn TerminalSink> = Arc::new(ChannelSink(tx));
    let (term, tasks) = Terminal::new(
        "t",
        1,
        spec.cols,
        spec.rows,
        cfg,
        Limits::default(),
        sink.clone(),
        spawned,
    );
    tokio::spawn(term.clone().run(sink, tasks));
    Open { term, events }
}

/// Text received until `until` holds of it (or the exit), and the exit if it came.
async fn collect(
    o: &mut Open,
    limit: Duration,
    until: impl Fn(&str) -> bool,
) -> (String, Option<ExitKind>) {
    let mut text = String::new();
    let deadline = Instant::now() + limit;
    loop {
        if until(&text) {
            return (text, None);
        }
        match timeout(
            deadline.saturating_duration_since(Instant::now()),
            o.events.recv(),
        )
        .await
        {
            Ok(Some(TerminalEvent::Data(Chunk::Text(t), _))) => text.push_str(&t),
            Ok(Some(TerminalEvent::Data(Chunk::Bytes(b), _))) => {
                text.push_str(&String::from_utf8_lossy(&b))
            }
            Ok(Some(TerminalEvent::Idle(_) | TerminalEvent::Lifecycle(_))) => {}
            Ok(Some(TerminalEvent::Exit(k, _))) => return (text, Some(k)),
            Ok(Some(TerminalEvent::Failed(e))) => panic!("terminal failed: {e}"),
            Ok(None) | Err(_) => return (text, None),
        }
    }
}

async fn until_exit(o: &mut Open) -> (String, ExitKind) {
    let (text, exit) = collect(o, Duration::from_secs(10), |_| false).await;
    match exit {
        Some(k) => (text, k),
        None => panic!("no exit; output so far: {text:?}"),
    }
}

/// Waits until every process of session `sid` has gone (kills and fails if not).
async fn session_gone(sid: i32) {
    for _ in 0..200 {
        if process::session_members(sid).is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let left = process::session_members(sid);
    process::kill_session(sid);
    panic!("processes of the terminal's session left alive: {left:?}");
}

fn rt() -> &'static tokio::runtime::Runtime {
    crate::runtime::get().expect("runtime")
}

#[test]
fn exit_code_comes_after_the_last_output() {
    rt().block_on(async {
        let mut o = open(spec("printf early; exit 3"), cfg());
        let (text, exit) = until_exit(&mut o).await;
        assert_eq!(text, "early");
        assert_eq!(exit, ExitKind::Code(3));
        session_gone(o.term.pid()).await;
    });
}

#[test]
fn a_signal_death_is_reported_as_the_signal() {
    rt().block_on(async {
        let mut o = open(spec("kill -9 $$"), cfg());
        let (_, exit) = until_exit(&mut o).await;
        assert_eq!(exit, ExitKind::Signal(libc::SIGKILL));
    });
}

#[test]
fn output_of_a_background_job_that_still_holds_the_tty_comes_before_the_exit() {
    rt().block_on(async {
        let mut o = open(
            spec("trap '' HUP; (sleep 0.3; printf late) & printf early; exit 0"),
            cfg(),
        );
        let (text, exit) = until_exit(&mut o).await;
        assert_eq!(text, "earlylate");
        assert_eq!(exit, ExitKind::Code(0));
        session_gone(o.term.pid()).await;
    });
}

#[test]
fn a_holder_that_never_closes_the_tty_is_ended_and_the_exit_still_reported() {
    rt().block_on(async {
        let mut o = open(
            spec("trap '' HUP; (trap '' HUP TERM; exec sleep 1000) & printf up; exit 4"),
            cfg(),
        );
        let started = Instant::now();
        let (text, exit) = until_exit(&mut o).await;
        assert_eq!(text, "up");
        assert_eq!(exit, ExitKind::Code(4));
        // The 2 s exit poll plus the bounded drain (kill grace + 0.5 s).
        assert!(
            started.elapsed() < Duration::from_secs(6),
            "{:?}",
            started.elapsed()
        );
        session_gone(o.term.pid()).await;
    });
}

#[test]
fn the_program_has_the_pty_as_its_controlling_terminal_and_its_size() {
    rt().block_on(async {
        let mut o = open(
            spec("tty; stty size; [ -z \"$COLUMNS$LINES\" ] && echo clean; echo $TERM"),
            cfg(),
        );
        let (text, _) = until_exit(&mut o).await;
        assert!(text.contains("/dev/pts/"), "{text:?}");
        assert!(text.contains("24 80"), "{text:?}");
        assert!(text.contains("clean"), "{text:?}");
        assert!(text.contains("xterm-256color"), "{text:?}");
    });
}

#[test]
fn resize_is_seen_by_the_program_and_raises_sigwinch() {
    rt().block_on(async {
        let mut o = open(
            spec("trap 'stty size' WINCH; echo ready; while :; do sleep 0.05; done"),
            cfg(),
        );
        let (text, _) = collect(&mut o, Duration::from_secs(5), |t| t.contains("ready")).await;
        assert!(text.contains("ready"));
        o.term.resize(100, 30).expect("resize");
        let (text, _) = collect(&mut o, Duration::from_secs(5), |t| t.contains("30 100")).await;
        assert!(text.contains("30 100"), "{text:?}");
        assert_eq!((o.term.info().cols, o.term.info().rows), (100, 30));
        assert!(o.term.resize(0, 10).is_err());
        o.term.kill(None);
        until_exit(&mut o).await;
    });
}

#[test]
fn a_character_written_one_byte_at_a_time_arrives_whole() {
    rt().block_on(async {
        let mut o = open(
            spec("printf '\\342'; sleep 0.1; printf '\\202'; sleep 0.1; printf '\\254'"),
            cfg(),
        );
        let (text, _) = until_exit(&mut o).await;
        assert_eq!(text, "€");
    });
}

#[test]
fn kill_reaches_background_jobs_in_their_own_groups_that_ignore_sighup() {
    rt().block_on(async {
        // An interactive shell: job control puts `sleep` in a group of its own.
        let mut s = spec("");
        s.args = vec!["-i".into()];
        let mut o = open(s, cfg());
        // The tty echoes the typed line too: the pid is the digits between `job=` and `x`.
        assert!(
            o.term
                .write(b"trap '' HUP; (trap '' HUP; exec sleep 1000) & echo job=$!x\n".to_vec())
        );
        let job_pid = |t: &str| -> Option<i32> {
            t.split("job=")
                .filter_map(|r| r.split_once('x'))
                .find_map(|(digits, _)| digits.parse().ok())
        };
        let (text, _) = collect(&mut o, Duration::from_secs(5), |t| job_pid(t).is_some()).await;
        let job = job_pid(&text).unwrap_or_else(|| panic!("no job pid in {text:?}"));
        let sid = o.term.pid();
        let pgid = nix::unistd::getpgid(Some(nix::unistd::Pid::from_raw(job))).expect("job pgid");
        assert_ne!(pgid.as_raw(), sid, "the job runs in a group of its own");
        o.term.kill(None);
        let (_, exit) = until_exit(&mut o).await;
        assert_eq!(
            exit,
            ExitKind::Signal(libc::SIGKILL),
            "the shell ignores SIGHUP too"
        );
        session_gone(sid).await;
    });
}

#[test]
fn ctrl_c_interrupts_the_foreground_program_through_the_line_discipline() {
    rt().block_on(async {
        let mut s = spec("");
        s.args = vec!["-i".into()];
        let mut o = open(s, cfg());
        assert!(o.term.write(b"sleep 100\n".to_vec()));
        // The shell hands the tty's foreground to `sleep` once it runs.
        let deadline = Instant::now() + Duration::from_secs(5);
        while o.term.info().foreground.as_deref() != Some("sleep") && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(o.term.info().foreground.as_deref(), Some("sleep"));
        assert!(o.term.write(b"\x03".to_vec()));
        assert!(o.term.write(b"echo after-$((40+2))\n".to_vec()));
        let (text, _) = collect(&mut o, Duration::from_secs(5), |t| t.contains("after-42")).await;
        assert!(text.contains("after-42"), "{text:?}");
        assert!(o.term.write(b"exit 0\n".to_vec()));
        let (_, exit) = until_exit(&mut o).await;
        assert_eq!(exit, ExitKind::Code(0));
    });
}

#[test]
fn a_slow_consumer_gets_everything_in_order_with_bounded_read_ahead() {
    rt().block_on(async {
        let mut c = cfg();
        c.max_pending_bytes = 256 * 1024;
        c.utf8 = false;
        // 3 MB of zeros as 4 000 000 base64 characters on one line (no \n for ONLCR to grow).
        let mut o = open(spec("head -c 3000000 /dev/zero | base64 -w0"), c);
        // Hold everything delivered: no credit comes back, so reading stops near the cap.
        let mut held = Vec::new();
        let mut got = 0usize;
        let deadline = Instant::now() + Duration::from_secs(2);
        while let Ok(Some(ev)) = timeout(
            deadline.saturating_duration_since(Instant::now()),
            o.events.recv(),
        )
        .await
        {
            if let TerminalEvent::Data(Chunk::Bytes(b), credit) = ev {
                got += b.len();
                held.push(credit);
            }
        }
        assert!(
            got <= 256 * 1024 + 64 * 1024,
            "read ahead {got} bytes past the cap"
        );
        assert!(o.term.info().bytes_in as usize <= 256 * 1024 + 64 * 1024);
        drop(held);
        let mut all = got;
        let exit = loop {
            match timeout(Duration::from_secs(20), o.events.recv())
                .await
                .expect("progress")
            {
                Some(TerminalEvent::Data(Chunk::Bytes(b), _)) => {
                    assert!(b.iter().all(|&x| x == b'A'), "only base64 of zeros");
                    all += b.len();
                }
                Some(TerminalEvent::Exit(k, _)) => break k,
                Some(_) => {}
                None => panic!("events ended"),
            }
        };
        assert_eq!(all, 4_000_000);
        assert_eq!(exit, ExitKind::Code(0));
    });
}

#[test]
fn pause_stops_reading_and_resume_goes_on() {
    rt().block_on(async {
        let mut o = open(
            spec("echo first; sleep 0.2; head -c 200000 /dev/zero | base64 -w0; echo"),
            cfg(),
        );
        let (text, _) = collect(&mut o, Duration::from_secs(5), |t| t.contains("first")).await;
        assert!(text.contains("first"));
        o.term.set_paused(true);
        tokio::time::sleep(Duration::from_millis(600)).await;
        let before = o.term.info().bytes_in;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(o.term.info().bytes_in, before, "nothing read while paused");
        assert!(!o.term.has_exited(), "the program is blocked, not gone");
        o.term.set_paused(false);
        let (text, exit) = until_exit(&mut o).await;
        assert_eq!(exit, ExitKind::Code(0));
        assert!(text.len() >= 200_000 * 4 / 3 - 1024, "{}", text.len());
    });
}

#[test]
fn idle_and_active_states_follow_the_output_and_never_repeat() {
    rt().block_on(async {
        let mut c = cfg();
        c.idle = Duration::from_millis(150);
        let mut o = open(spec("printf a; sleep 0.5; printf b; sleep 0.5"), c);
        let mut seen = Vec::new();
        loop {
            match timeout(Duration::from_secs(10), o.events.recv())
                .await
                .expect("event")
            {
                Some(TerminalEvent::Data(Chunk::Text(t), _)) => seen.push(t),
                Some(TerminalEvent::Idle(true)) => seen.push("idle".into()),
                Some(TerminalEvent::Idle(false)) => seen.push("active".into()),
                Some(TerminalEvent::Exit(..)) => break,
                Some(TerminalEvent::Lifecycle(json)) => {
                    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
                    seen.push(v["kind"].as_str().unwrap_or("?").to_owned());
                }
                other => panic!("{other:?}"),
            }
        }
        // Lifecycle events come in order with the output: `exited` after the last byte.
        assert_eq!(
            seen,
            [
                "spawning", "spawned", "a", "idle", "active", "b", "idle", "exited"
            ]
        );
    });
}

#[test]
fn input_to_a_program_that_never_reads_is_bounded() {
    rt().block_on(async {
        let mut c = cfg();
        c.input_queue_bytes = 64 * 1024;
        let mut o = open(spec("exec sleep 30"), c);
        let chunk = vec![b'x'; 16 * 1024];
        let mut accepted = 0usize;
        for _ in 0..1000 {
            if !o.term.write(chunk.clone()) {
                break;
            }
            accepted += chunk.len();
        }
        // The tty takes a few KiB (its input buffer), then the queue fills.
        assert!(accepted < 1 << 20, "accepted {accepted} bytes");
        o.term.kill(None);
        until_exit(&mut o).await;
        assert!(!o.term.write(b"late".to_vec()), "refused after exit");
    });
}

#[test]
fn programs_and_folders_that_do_not_exist_fail_before_any_process() {
    assert_eq!(
        process::resolve_program("no-such-program-here", Some("/usr/bin:/bin"))
            .err()
            .map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
    assert_eq!(
        process::resolve_program("sh", Some("/usr/bin:/bin"))
            .ok()
            .map(|p| p.ends_with("/sh")),
        Some(true)
    );
    let mut s = spec("exit 0");
    s.cwd = "/no/such/folder".into();
    assert_eq!(
        process::spawn_pty(&s).err().map(|e| e.kind()),
        Some(std::io::ErrorKind::NotFound)
    );
}

#[test]
fn the_master_is_never_inherited_by_other_children() {
    rt().block_on(async {
        let mut o = open(spec("echo ready; exec sleep 30"), cfg());
        collect(&mut o, Duration::from_secs(5), |t| t.contains("ready")).await;
        // Another child started while the terminal is open: its descriptors are 0, 1, 2 only.
        let out = std::process::Command::new("/bin/sh")
            .args(["-c", "ls -l /proc/$$/fd"])
            .output()
            .expect("ls");
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(
            !listing.contains("ptmx") && !listing.contains("/dev/pts"),
            "{listing}"
        );
        o.term.kill(None);
        until_exit(&mut o).await;
    });
}

#[test]
fn scrollback_keeps_the_latest_output() {
    rt().block_on(async {
        let mut c = cfg();
        c.scrollback_bytes = 10;
        let mut o = open(spec("printf 0123456789abcdef"), c);
        until_exit(&mut o).await;
        assert_eq!(o.term.scrollback(), b"6789abcdef");
    });
}
