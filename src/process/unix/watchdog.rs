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

use crate::process::os;
use crate::util::lock;

/// The shell program: `+PGID` registers a group, `-PGID` forgets it, `+sSID` / `-sSID` the
/// same for a terminal's session (all its processes, whatever their group); on EOF (the host is
/// gone) it ends them all: SIGTERM to the groups and SIGHUP to the sessions, SIGKILL a second
/// later. Built from [`SCRIPT_HEAD`], the system's `SESSION_KILL` (`os::SESSION_KILL`) and [`SCRIPT_TAIL`].
const SCRIPT_HEAD: &str = r#"trap '' INT HUP TERM
set -f
groups=" "
sessions=" "
while IFS= read -r line; do
  case "$line" in
    +s*) sessions="$sessions${line#+s} " ;;
    -s*) sessions=$(printf '%s' "$sessions" | sed "s/ ${line#-s} / /") ;;
    +*) groups="$groups${line#+} " ;;
    -*) groups=$(printf '%s' "$groups" | sed "s/ ${line#-} / /") ;;
  esac
done
[ "$groups" = " " ] && [ "$sessions" = " " ] && exit 0
"#;

const SCRIPT_TAIL: &str = r#"for g in $groups; do kill -TERM "-$g" 2>/dev/null; done
kill_sessions HUP
sleep 1
for g in $groups; do kill -KILL "-$g" 2>/dev/null; done
kill_sessions KILL
exit 0
"#;

fn script() -> String {
    format!("{SCRIPT_HEAD}{}{SCRIPT_TAIL}", os::SESSION_KILL)
}

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
    sessions: BTreeSet<i32>,
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
    os::prepare_socket(&ours)?;
    let child = {
        use std::os::unix::process::CommandExt;
        Command::new("/bin/sh")
            .arg("-c")
            .arg(script())
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
    use nix::sys::socket::send;
    use std::os::fd::AsRawFd;
    let mut buf = line.as_bytes();
    while !buf.is_empty() {
        match send(sock.as_raw_fd(), buf, os::SEND_FLAGS) {
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

    /// Guards every process of session `sid` (a terminal) from now on.
    pub fn register_session(&self, sid: i32) {
        let mut s = lock(&self.state);
        s.sessions.insert(sid);
        self.send(&mut s, &format!("+s{sid}\n"));
    }

    /// Stops guarding session `sid` (it is gone).
    pub fn unregister_session(&self, sid: i32) {
        let mut s = lock(&self.state);
        if s.sessions.remove(&sid) {
            self.send(&mut s, &format!("-s{sid}\n"));
        }
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
                let all: String = s
                    .groups
                    .iter()
                    .map(|g| format!("+{g}\n"))
                    .chain(s.sessions.iter().map(|sid| format!("+s{sid}\n")))
                    .collect();
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

// The tests start a stubborn session with util-linux `setsid`: Linux only.
#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// A process in a session of its own that ignores SIGHUP and SIGTERM, with a background
    /// job in another process group of that session (as an interactive shell makes them).
    fn stubborn_session() -> (Child, i32) {
        let child = Command::new("setsid")
            .args([
                "/bin/sh",
                "-c",
                "trap '' HUP TERM; set -m; (trap '' HUP TERM; exec sleep 300) & exec sleep 300",
            ])
            .stdin(Stdio::null())
            .spawn()
            .expect("setsid");
        let sid = i32::try_from(child.id()).expect("pid");
        (child, sid)
    }

    fn wait_for(mut f: impl FnMut() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if f() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    #[test]
    fn host_death_ends_every_process_of_a_registered_session() {
        let (mut child, sid) = stubborn_session();
        assert!(
            wait_for(|| crate::process::unix::session_members(sid).len() == 2),
            "leader and background job in the session"
        );
        let mut dog = start().expect("watchdog");
        send_line(&dog.sock, &format!("+s{sid}\n")).expect("register");
        // The host "dies": the watchdog sees end-of-file on its socket.
        drop(dog.sock);
        let gone = wait_for(|| crate::process::unix::session_members(sid).is_empty());
        let _ = child.kill();
        let _ = child.wait();
        let _ = dog.child.wait();
        for pid in crate::process::unix::session_members(sid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        assert!(gone, "no process of the session outlived the host");
    }

    #[test]
    fn a_forgotten_session_is_left_alone() {
        let (mut child, sid) = stubborn_session();
        assert!(wait_for(|| crate::process::unix::session_members(sid)
            .len()
            == 2));
        let mut dog = start().expect("watchdog");
        send_line(&dog.sock, &format!("+s{sid}\n-s{sid}\n")).expect("register, forget");
        drop(dog.sock);
        let _ = dog.child.wait();
        let alive = crate::process::unix::session_members(sid).len();
        for pid in crate::process::unix::session_members(sid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = child.wait();
        assert_eq!(alive, 2);
    }
}
