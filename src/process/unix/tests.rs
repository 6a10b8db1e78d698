//! Tests of the supervision core against real processes.

use std::io;
use std::process::Command;

use nix::unistd::Pid;

use super::exit::{EXIT_POLL, has_exited, is_watched, notify_when_exited};
use super::*;
use crate::process::spec::SpawnSpec;
use crate::process::spec::Spawned;
use crate::process::stop::{ExitKind, StopStep};

pub(crate) fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

pub(crate) fn sh(script: &str) -> SpawnSpec {
    SpawnSpec {
        program: "/bin/sh".into(),
        args: vec!["-c".into(), script.into()],
        env: vec![
            ("PATH".into(), "/usr/bin:/bin".into()),
            ("ONLY".into(), "me".into()),
        ],
        cwd: Some(std::env::temp_dir()),
        nice: 0,
        confine: None,
    }
}

#[test]
fn spawns_in_own_group_with_clean_env_and_reports_exit() {
    rt().block_on(async {
        let mut s = spawn(&sh("[ \"$ONLY\" = me ] && [ -z \"$HOME\" ] && exit 7")).expect("spawn");
        let pgid = nix::unistd::getpgid(Some(Pid::from_raw(s.pid))).expect("pgid");
        assert_eq!(pgid.as_raw(), s.pid);
        wait_exited(s.pid).await.expect("wait");
        assert_eq!(reap(&mut s.child).expect("reap"), ExitKind::Code(7));
    });
}

/// SIGKILLs `s`'s group and reaps it.
pub(crate) async fn kill_and_reap(s: &mut Spawned) {
    s.containment.stop(StopStep::Kill).expect("kill");
    wait_exited(s.pid).await.expect("wait");
    reap(&mut s.child).expect("reap");
}

#[test]
fn one_poller_reports_exits_and_forgets_dropped_watches() {
    rt().block_on(async {
        let mut quick = spawn(&sh("exit 0")).expect("spawn");
        let mut slow = spawn(&sh("exec sleep 30")).expect("spawn");
        let exited = notify_when_exited(quick.pid);
        let dropped = notify_when_exited(slow.pid);
        drop(dropped);
        tokio::time::timeout(EXIT_POLL * 3, exited)
            .await
            .expect("exit noticed within the poll period")
            .expect("notified");
        // The exited runner and the dropped watch are both forgotten (the dropped one at
        // the latest on the next tick).
        assert!(!is_watched(quick.pid));
        for _ in 0..300 {
            if !is_watched(slow.pid) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!is_watched(slow.pid));
        assert!(
            !has_exited(slow.pid),
            "a dropped watch does not mean exited"
        );
        reap(&mut quick.child).expect("reap");
        kill_and_reap(&mut slow).await;
    });
}

#[test]
fn group_signal_reaches_grandchildren() {
    rt().block_on(async {
        let mut s = spawn(&sh("sleep 30 & sleep 30; wait")).expect("spawn");
        // Wait until the group has the grandchild (sh forks both sleeps quickly).
        let pid = s.pid;
        for _ in 0..200 {
            let out = Command::new("pgrep")
                .args(["-g", &pid.to_string()])
                .output();
            if out
                .map(|o| String::from_utf8_lossy(&o.stdout).lines().count() >= 3)
                .unwrap_or(false)
            {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(s.containment.alive());
        assert!(s.containment.stop(StopStep::Kill).expect("killpg"));
        wait_exited(pid).await.expect("wait");
        assert_eq!(reap(&mut s.child).expect("reap"), ExitKind::Signal(9));
        for _ in 0..500 {
            if !s.containment.alive() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(!s.containment.alive(), "grandchildren died with the group");
        s.containment.release(false, std::time::Duration::ZERO);
    });
}

#[test]
fn programs_that_cannot_run_fail_at_spawn() {
    let mut spec = sh("exit 0");
    spec.program = "not-a-path".into();
    assert_eq!(
        spawn(&spec).err().map(|e| e.kind()),
        Some(io::ErrorKind::NotFound)
    );
    let plain = std::env::temp_dir().join(format!("sidecar-plain-{}", std::process::id()));
    std::fs::write(&plain, b"not a program").expect("write");
    spec.program = plain.display().to_string();
    assert_eq!(
        spawn(&spec).err().map(|e| e.kind()),
        Some(io::ErrorKind::PermissionDenied)
    );
    let _ = std::fs::remove_file(&plain);
    spec.program = "/usr".into();
    assert_eq!(
        spawn(&spec).err().map(|e| e.kind()),
        Some(io::ErrorKind::PermissionDenied)
    );
}

#[test]
fn has_exited_does_not_reap() {
    rt().block_on(async {
        let mut s = spawn(&sh("read line; exit 5")).expect("spawn");
        assert!(!has_exited(s.pid));
        drop(s.stdin);
        wait_exited(s.pid).await.expect("wait");
        assert!(has_exited(s.pid));
        assert_eq!(reap(&mut s.child).expect("reap"), ExitKind::Code(5));
    });
}

#[test]
fn spawn_failure_is_the_os_error() {
    let err = spawn(&SpawnSpec {
        program: "/nonexistent/runtime".into(),
        args: vec![],
        env: vec![],
        cwd: None,
        nice: 0,
        confine: None,
    })
    .err()
    .map(|e| e.kind());
    assert_eq!(err, Some(io::ErrorKind::NotFound));
}
