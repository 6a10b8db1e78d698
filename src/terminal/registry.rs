//! The terminals of one manager: opening (options resolved, program spawned on the spawner
//! thread), lookup, listing, removal after exit, and the dispose and host-exit paths.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indexmap::IndexMap;

use super::options::{TerminalRequest, resolve};
use super::queue::TerminalQueue;
use super::session::TerminalEvent;
use super::session::{Terminal, TerminalInfo, TerminalSink, TerminalTasks};
use crate::config::ManagerConfig;
use crate::error::{ErrorCode, OpError};
use crate::lifecycle::LifecycleEvent;
use crate::process;
use crate::resources::Limits;
use crate::sandbox::{SandboxSetting, Sandboxes};
use crate::util::lock;

/// A manager's terminals and their delivery queue.
#[derive(Debug)]
pub struct Terminals {
    map: Mutex<IndexMap<String, Arc<Terminal>>>,
    queue: Arc<TerminalQueue>,
    next_token: AtomicU64,
}

impl Default for Terminals {
    fn default() -> Self {
        Self {
            map: Mutex::new(IndexMap::new()),
            queue: Arc::new(TerminalQueue::new(crate::deliver::BATCH_CAP)),
            next_token: AtomicU64::new(1),
        }
    }
}

impl Terminals {
    /// The delivery queue (JS connects to it).
    pub fn queue(&self) -> &Arc<TerminalQueue> {
        &self.queue
    }

    /// Opens terminal `id`. Everything that can be refused without a process is refused here
    /// (bad size, missing folder, a program that cannot run, an id in use by a live terminal);
    /// the program itself starts on the spawner thread. Call inside the runtime's context.
    pub fn open(
        self: &Arc<Self>,
        id: &str,
        req: &TerminalRequest,
        host_env: &HashMap<String, String>,
        cfg: &ManagerConfig,
        sandboxes: &Sandboxes,
    ) -> Result<Arc<Terminal>, OpError> {
        if id.is_empty() {
            return Err(OpError::new(
                ErrorCode::InvalidArgument,
                "terminal id must be a non-empty string",
            ));
        }
        let in_use =
            |map: &IndexMap<String, Arc<Terminal>>| map.get(id).is_some_and(|t| !t.has_exited());
        let exists = || {
            OpError::new(
                ErrorCode::TerminalExists,
                format!("Terminal {id} already exists"),
            )
        };
        // An id in use is the answer whatever the options say (they are resolved outside the
        // lock: that looks at the file system), and again under the lock for a racing open.
        if in_use(&lock(&self.map)) {
            return Err(exists());
        }
        let (mut spec, term_cfg) = resolve(req, host_env, cfg)?;
        let limits = limits_of(req, cfg)?;
        let own_sandbox = sandbox_of(req)?;
        let mut map = lock(&self.map);
        if in_use(&map) {
            return Err(exists());
        }
        let token = self.next_token.fetch_add(1, Ordering::Relaxed);
        let sandbox = match sandboxes.options_for(&own_sandbox) {
            None => None,
            Some(options) => {
                let place = Sandboxes::place(id, Some(&spec.cwd), host_env, |_| Vec::new());
                let queue = Arc::downgrade(&self.queue);
                let tid = id.to_owned();
                let on_denied = Arc::new(move |d: crate::sandbox::proxy::Denied| {
                    if let Some(q) = queue.upgrade() {
                        let event = LifecycleEvent::SandboxDenied {
                            host: d.host,
                            port: d.port,
                        };
                        TerminalSink::push(
                            &*q,
                            token,
                            TerminalEvent::Lifecycle(event.to_json(&tid)),
                        );
                    }
                });
                let prepared = sandboxes.prepare(&options, &place, on_denied)?;
                let mut env = std::mem::take(&mut spec.env);
                prepared.apply_env(&mut env);
                spec.env = env;
                spec.confine = prepared.confine.clone();
                Some(prepared)
            }
        };
        let (cols, rows) = (spec.cols, spec.rows);
        let spawned = process::spawn_pty_async(spec);
        let sink: Arc<dyn TerminalSink> = self.queue.clone();
        let (term, tasks) = Terminal::new(
            id,
            token,
            cols,
            rows,
            term_cfg,
            limits,
            sink.clone(),
            spawned,
        );
        if let Some(s) = sandbox {
            term.hold_sandbox(s.event, s.lease);
        }
        map.insert(id.to_owned(), term.clone());
        drop(map);
        self.supervise(&term, sink, tasks, cfg.cleanup_grace);
        Ok(term)
    }

    /// Runs `term`'s supervisor, then forgets it after `grace`. A bug that panics in the
    /// supervisor ends the program's session rather than leave it unsupervised.
    fn supervise(
        self: &Arc<Self>,
        term: &Arc<Terminal>,
        sink: Arc<dyn TerminalSink>,
        tasks: TerminalTasks,
        grace: Duration,
    ) {
        let span = tracing::info_span!("terminal", id = %term.id);
        let run = tokio::spawn(tracing::Instrument::instrument(
            term.clone().run(sink, tasks),
            span,
        ));
        let me = Arc::downgrade(self);
        let t = term.clone();
        tokio::spawn(async move {
            if let Err(e) = run.await
                && e.is_panic()
            {
                tracing::error!(terminal = %t.id, "internal error in the terminal supervisor");
                t.kill_now();
            }
            tokio::time::sleep(grace).await;
            if let Some(me) = me.upgrade() {
                me.forget(&t);
            }
        });
    }

    /// Removes `term` from the registry if it is still the one under its id.
    fn forget(&self, term: &Arc<Terminal>) {
        let mut map = lock(&self.map);
        if map.get(&term.id).is_some_and(|t| Arc::ptr_eq(t, term)) {
            map.shift_remove(&term.id);
            drop(map);
            term.removed();
        }
    }

    /// The terminal registered under `id`.
    pub fn get(&self, id: &str) -> Option<Arc<Terminal>> {
        lock(&self.map).get(id).cloned()
    }

    /// Every terminal, in opening order.
    pub fn all(&self) -> Vec<Arc<Terminal>> {
        lock(&self.map).values().cloned().collect()
    }

    /// Every terminal's state, in opening order.
    pub fn list(&self) -> Vec<TerminalInfo> {
        let all: Vec<Arc<Terminal>> = lock(&self.map).values().cloned().collect();
        all.iter().map(|t| t.info()).collect()
    }

    /// Terminals whose program has not exited: `(id, pid)`.
    pub fn live(&self) -> Vec<(String, i32)> {
        lock(&self.map)
            .values()
            .filter(|t| !t.has_exited())
            .map(|t| (t.id.clone(), t.pid()))
            .collect()
    }

    /// SIGKILL to every live terminal's session, synchronously (the host is going away).
    pub fn kill_all_now(&self) {
        for t in lock(&self.map).values() {
            t.kill_now();
        }
    }

    /// Ends every live terminal with the usual escalation; returns how many were live.
    pub fn begin_dispose(&self) -> usize {
        let all: Vec<Arc<Terminal>> = lock(&self.map).values().cloned().collect();
        let mut live = 0;
        for t in all {
            if !t.has_exited() {
                live += 1;
                t.end(None, crate::lifecycle::StopReason::Dispose);
            }
        }
        live
    }

    /// Forgets every terminal (their `removed` events are queued).
    pub fn finish_dispose(&self) {
        let all: Vec<Arc<Terminal>> = lock(&self.map).drain(..).map(|(_, t)| t).collect();
        for t in all {
            t.removed();
        }
    }

    /// Disconnects JS.
    pub fn close(&self) {
        self.queue.close();
    }
}

/// The terminal's own `sandbox` setting.
fn sandbox_of(req: &TerminalRequest) -> Result<SandboxSetting, OpError> {
    let invalid = |m: String| OpError::new(ErrorCode::InvalidArgument, m);
    let own: Option<serde_json::Value> = match req.sandbox_json.as_deref() {
        None => None,
        Some(text) => {
            Some(serde_json::from_str(text).map_err(|e| invalid(format!("sandbox: {e}")))?)
        }
    };
    SandboxSetting::from_json(own.as_ref()).map_err(invalid)
}

/// The terminal's own limits (JSON text of `{ maxRssBytes?, … }`) over the manager's.
fn limits_of(req: &TerminalRequest, cfg: &ManagerConfig) -> Result<Limits, OpError> {
    let invalid = |m: String| OpError::new(ErrorCode::InvalidArgument, m);
    let own: Option<serde_json::Value> = match req.limits_json.as_deref() {
        None => None,
        Some(text) => {
            Some(serde_json::from_str(text).map_err(|e| invalid(format!("limits: {e}")))?)
        }
    };
    cfg.limits_for(own.as_ref()).map_err(invalid)
}
