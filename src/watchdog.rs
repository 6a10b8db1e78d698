//! The orphan watchdog: a tiny `/bin/sh` process that outlives the host only to kill the
//! host's runner process groups after the host dies without cleaning up (crash, SIGKILL).
//!
//! `PR_SET_PDEATHSIG` already kills each runner when the host dies, but not the runner's own
//! children (a Claude CLI, tool commands): they would be re-parented and live on. The
//! watchdog knows every live runner group; when its stdin (a socket whose only other end is
//! in the host) reaches end-of-file — which happens however the host ends — it sends SIGTERM
//! to each group, then SIGKILL a second later.
//!
//! One watchdog per host process, started with the first session. It sits in its own process
//! group so a terminal's Ctrl-C to the host's group does not take it down first.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use crate::outbox::lock;

/// The shell program: `+PGID` registers a group, `-PGID` forgets it; on EOF kill them all.
const SCRIPT: &str = r#"trap '' INT HUP TERM
set -f
groups=" "
while IFS= read -r line; do
  case "$line" in
    +*) groups="$groups${line#+} " ;;
    -*) groups=$(printf '%s' "$groups" | sed "s/ ${line#-} / /") ;;
  esac
done
[ "$groups" = " " ] && exit 0
for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
sleep 1
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
exit 0
"#;

struct Running {
    child: Child,
    sock: UnixStream,
}

/// The host's watchdog and the groups it guards.
pub struct Watchdog {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    proc: Option<Running>,
    groups: BTreeSet<i32>,
}

static GLOBAL: OnceLock<Watchdog> = OnceLock::new();

/// The process-wide watchdog.
pub fn global() -> &'static Watchdog {
    GLOBAL.get_or_init(|| Watchdog {
        state: Mutex::new(State::default()),
    })
}

fn start() -> io::Result<Running> {
    let (ours, theirs) = UnixStream::pair()?;
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new("/bin/sh")
            .arg("-c")
            .arg(SCRIPT)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?
    };
    Ok(Running { child, sock: ours })
}

/// Writes `line` without ever raising SIGPIPE in the host (the host may not ignore it).
fn send_line(sock: &UnixStream, line: &str) -> io::Result<()> {
    use nix::sys::socket::{MsgFlags, send};
    use std::os::fd::AsRawFd;
    let mut buf = line.as_bytes();
    while !buf.is_empty() {
        match send(sock.as_raw_fd(), buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(io::Error::from(e)),
        }
    }
    Ok(())
}

impl Watchdog {
    /// Guards process group `pgid` from now on.
    pub fn register(&self, pgid: i32) {
        let mut s = lock(&self.state);
        s.groups.insert(pgid);
        self.send(&mut s, &format!("+{pgid}\n"));
    }

    /// Stops guarding `pgid` (its group is gone).
    pub fn unregister(&self, pgid: i32) {
        let mut s = lock(&self.state);
        if s.groups.remove(&pgid) {
            self.send(&mut s, &format!("-{pgid}\n"));
        }
    }

    /// Pid of the watchdog process, if one is running.
    pub fn pid(&self) -> Option<u32> {
        lock(&self.state).proc.as_ref().map(|r| r.child.id())
    }

    fn send(&self, s: &mut State, line: &str) {
        if let Some(r) = &s.proc
            && send_line(&r.sock, line).is_ok()
        {
            return;
        }
        // No watchdog yet, or it died: (re)start it and tell it every live group.
        if let Some(mut old) = s.proc.take() {
            let _ = old.child.kill();
            let _ = old.child.wait();
        }
        match start() {
            Ok(r) => {
                let all: String = s.groups.iter().map(|g| format!("+{g}\n")).collect();
                if let Err(e) = send_line(&r.sock, &all) {
                    tracing::warn!(error = %e, "orphan watchdog did not take its groups");
                }
                s.proc = Some(r);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not start the orphan watchdog; runner children may outlive a crashed host")
            }
        }
    }
}
