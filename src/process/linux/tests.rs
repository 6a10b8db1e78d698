//! Linux-only behaviour of spawned runners: the spawner thread's nice value, the death signal.

use std::io;

use crate::process::spawn_async;
use crate::process::stop::ExitKind;
use crate::process::unix::tests::{kill_and_reap, rt, sh};
use crate::process::unix::{reap, spawn, wait_exited};

#[test]
fn async_spawns_inherit_the_spawner_priority() {
    rt().block_on(async {
        let host = crate::process::os::nice_of(i32::try_from(std::process::id()).expect("pid"))
            .expect("host nice");
        for steps in [0u8, 4, 10] {
            let mut spec = sh("exec sleep 30");
            spec.nice = steps;
            let mut s = spawn_async(spec).await.expect("reply").expect("spawn");
            let nice = crate::process::os::nice_of(s.pid);
            kill_and_reap(&mut s).await;
            assert_eq!(
                nice.expect("runner nice"),
                (host + i32::from(steps)).min(crate::process::os::MAX_NICE)
            );
        }
    });
}

#[test]
fn runner_dies_with_the_thread_that_spawned_it() {
    rt().block_on(async {
        // The spawning thread ends once the child runs its script (so the death signal is
        // set up: with the setpriv helper that happens after spawn() returns).
        let spawned = std::thread::spawn(|| {
            let s = spawn(&sh("echo up; sleep 30"))?;
            let mut byte = [0u8; 1];
            nix::unistd::read(&s.stdout, &mut byte).map_err(io::Error::from)?;
            Ok::<_, io::Error>(s)
        })
        .join()
        .expect("thread")
        .expect("spawn");
        let mut s = spawned;
        wait_exited(s.pid).await.expect("wait");
        assert_eq!(
            reap(&mut s.child).expect("reap"),
            ExitKind::Signal(libc::SIGKILL)
        );
    });
}

/// A confined runner and its grandchild write inside the writable folder and not outside it;
/// the confinement is the helper's (built beside the test binary by `cargo test`).
#[test]
fn a_confined_tree_writes_only_where_it_may() {
    use std::sync::Arc;
    let base = std::env::temp_dir().join(format!("sidecar-confine-test-{}", std::process::id()));
    let inside = base.join("inside");
    std::fs::create_dir_all(&inside).expect("mkdir");
    let base = std::fs::canonicalize(&base).expect("canonical");
    let inside = base.join("inside");
    let mut spec = sh(&format!(
        "echo a > '{i}/runner' && sh -c \"echo b > '{i}/grandchild'\" && \
         if echo c > '{o}/outside' 2>/dev/null; then exit 3; fi; \
         if sh -c \"echo d > '{o}/outside2'\" 2>/dev/null; then exit 4; fi; exit 0",
        i = inside.display(),
        o = base.display()
    ));
    spec.confine = Some(Arc::new(crate::process::Confinement {
        writable: vec![inside.clone(), "/dev/null".into()],
        ..Default::default()
    }));
    assert!(
        crate::process::confine_support().filesystem,
        "the sidecar-confine helper must be built beside the test binary (cargo build -p sidecar-confine): {:?}",
        crate::process::confine_support().missing
    );
    let kind = rt().block_on(async {
        let s = spawn_async(spec).await.expect("reply").expect("spawn");
        let mut child = s.child;
        tokio::task::spawn_blocking(move || child.wait())
            .await
            .expect("join")
            .expect("wait")
    });
    let wrote_inside = inside.join("runner").is_file() && inside.join("grandchild").is_file();
    let wrote_outside = base.join("outside").exists() || base.join("outside2").exists();
    let _ = std::fs::remove_dir_all(&base);
    assert_eq!(
        kind.code(),
        Some(0),
        "3: the runner, 4: its child wrote outside ({kind:?})"
    );
    assert!(wrote_inside, "runner and grandchild write inside");
    assert!(!wrote_outside);
}
