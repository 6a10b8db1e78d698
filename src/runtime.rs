//! The process-wide tokio runtime that runs every session's I/O.
//!
//! Sized for a 2-core desktop: two I/O workers, so framing and parsing of several sessions
//! run beside the JS thread without oversubscribing the machine. The blocking pool is only
//! used where the kernel has no pidfd.

use std::sync::OnceLock;

use tokio::runtime::{Builder, Runtime};

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The shared runtime, created on first use.
pub fn get() -> Result<&'static Runtime, String> {
    RUNTIME
        .get_or_init(|| {
            let workers = std::thread::available_parallelism()
                .map(|n| n.get().clamp(1, 2))
                .unwrap_or(2);
            Builder::new_multi_thread()
                .worker_threads(workers)
                .max_blocking_threads(64)
                .thread_name("sidecar-io")
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| format!("could not start the I/O runtime: {e}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}
