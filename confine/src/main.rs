//! `sidecar-confine <plan> -- <program> <args>…`: confines itself as the plan says, then
//! execs the program in the same process (so the program and everything it starts inherit
//! the confinement and cannot lift it). See the library for the plan.
//!
//! `sidecar-confine --probe` prints what this machine allows (one `key=value` per line) and
//! exits; the addon runs it once to answer `sandboxSupport()`.

#[cfg(target_os = "linux")]
mod linux;

fn main() {
    #[cfg(target_os = "linux")]
    linux::main();
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("{}runs on Linux only", sidecar_confine::ERROR_PREFIX);
        std::process::exit(sidecar_confine::EXIT_CONFINE_FAILED);
    }
}
