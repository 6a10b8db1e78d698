//! Spawning a program on a new PTY (portable-pty): the child is a session leader with the PTY
//! as its controlling terminal; the parent keeps only the master (close-on-exec), so the
//! master sees end-of-file once every holder of the slave has gone.

use std::io;
use std::path::Path;
use std::sync::Arc;

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::session::TerminalSession;
use super::spawn::check_program;
use crate::process::containment::Containment;
use crate::process::os;
use crate::process::spec::PtySpec;

/// The master side of a terminal: resize, the foreground program, and the descriptor
/// [`super::PtyIo`] reads and writes.
pub struct PtyMaster(Box<dyn MasterPty + Send>);

impl PtyMaster {
    /// Sets the terminal's size (the program gets `SIGWINCH`).
    pub fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        self.0
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .map_err(|e| io::Error::other(e.to_string()))
    }

    /// The name of the terminal's foreground program (its foreground process group's
    /// leader), if there is one.
    pub fn foreground_program(&self) -> Option<String> {
        self.0.process_group_leader().and_then(os::process_name)
    }

    /// The master descriptor.
    pub(super) fn raw_fd(&self) -> Option<std::os::fd::RawFd> {
        self.0.as_raw_fd()
    }
}

/// A program running on a PTY.
pub struct PtySpawned {
    /// Process id: also its process group id and session id.
    pub pid: i32,
    /// The master side (resize, foreground group, and the descriptor to read and write).
    pub master: PtyMaster,
    /// Its session, guarded against the host's death from the spawn on.
    pub containment: Arc<dyn Containment>,
}

impl std::fmt::Debug for PtySpawned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PtySpawned")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

/// `$SHELL` when set and not empty, else `/bin/sh`.
pub fn default_program(var: &dyn Fn(&str) -> Option<String>) -> String {
    var("SHELL")
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/bin/sh".to_owned())
}

/// The program's path: `program` itself when it has a `/`, else the first executable of that
/// name in `path` (a `PATH` value). A program that cannot run is an error here, before any
/// process exists, never an exit code with a message printed in the terminal.
pub fn resolve_program(program: &str, path: Option<&str>) -> io::Result<String> {
    if program.is_empty() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    if program.contains('/') {
        check_program(program)?;
        return Ok(program.to_owned());
    }
    for dir in path
        .unwrap_or("/usr/bin:/bin")
        .split(':')
        .filter(|d| !d.is_empty())
    {
        let candidate = Path::new(dir).join(program);
        let candidate = candidate.to_string_lossy();
        if check_program(&candidate).is_ok() {
            return Ok(candidate.into_owned());
        }
    }
    Err(io::Error::from_raw_os_error(libc::ENOENT))
}

/// Spawns `spec` on a new PTY of its size. Like [`super::spawn`], the child gets
/// `PR_SET_PDEATHSIG = SIGKILL` through `setpriv` where the system has it, so call it from a
/// thread that lives as long as the host (see [`super::spawn_pty_async`]).
pub fn spawn_pty(spec: &PtySpec) -> io::Result<PtySpawned> {
    let path = spec
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str());
    let program = resolve_program(&spec.program, path)?;
    if !spec.cwd.is_dir() {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    }
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: spec.rows,
            cols: spec.cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .map_err(|e| io::Error::other(format!("openpty: {e}")))?;
    let confiner = spec
        .confine
        .as_deref()
        .map(|c| os::confine_prefix(c, false))
        .transpose()?;
    let mut cmd = match (&confiner, os::pdeathsig_helper()) {
        (Some(prefix), _) => {
            let mut c = CommandBuilder::new(&prefix[0]);
            c.args(&prefix[1..]);
            c.arg(program.as_str());
            c
        }
        (None, Some(setpriv)) => {
            let mut c = CommandBuilder::new(setpriv);
            c.args(["--pdeathsig", "KILL", "--", program.as_str()]);
            c
        }
        (None, None) => CommandBuilder::new(&program),
    };
    cmd.args(&spec.args);
    cmd.env_clear();
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    cmd.cwd(&spec.cwd);
    let child = pair
        .slave
        .spawn_command(cmd)
        .map_err(|e| io::Error::other(format!("spawn on the PTY: {e}")))?;
    // Only the child may hold the slave: with a copy here the master never sees end-of-file.
    drop(pair.slave);
    let pid = child
        .process_id()
        .and_then(|p| i32::try_from(p).ok())
        .ok_or_else(|| io::Error::other("PTY child without a pid"))?;
    // The child handle only wraps the pid; exit is watched and reaped by pid (super::exit).
    drop(child);
    Ok(PtySpawned {
        pid,
        master: PtyMaster(pair.master),
        containment: Arc::new(TerminalSession::guard(pid)),
    })
}
