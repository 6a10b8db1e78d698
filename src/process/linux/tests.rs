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
