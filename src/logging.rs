//! Tracing set-up: once per process, to stderr (the host's stdout may be someone's protocol),
//! filtered by `SIDECAR_LOG` (e.g. `SIDECAR_LOG=debug`, `SIDECAR_LOG=sidecar::runner=info`).

use std::sync::OnceLock;

static INIT: OnceLock<()> = OnceLock::new();

/// Installs the stderr subscriber unless one is installed already.
pub fn init() {
    INIT.get_or_init(|| {
        let filter = tracing_subscriber::EnvFilter::try_from_env("SIDECAR_LOG")
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
        // Another copy of the addon (e.g. in a worker) may have installed one: keep it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_target(true)
            .try_init();
    });
}
