//! Confinement: what the kernel is to enforce on one child's whole tree (files it may write
//! or read, connections it may open), in words every platform maps to its own mechanism —
//! Landlock plus namespaces on Linux (`linux/confine.rs` and the `sidecar-confine` helper),
//! Seatbelt on macOS (`seatbelt.rs`), nothing on Windows.
//!
//! The caller (`crate::sandbox`) resolves the user's options into a [`Confinement`] that
//! this machine can enforce ([`Support`] says what that is); the platform then applies it
//! before the child's program starts, so nothing in the tree runs unconfined and nothing in
//! it can lift the confinement.

use std::path::PathBuf;

/// What one child's tree may do. Every path is absolute, resolved (no symlinks, no `..`) and
/// exists: the mechanisms check resolved paths, and a rule for a path that does not exist
/// cannot be made (the caller reports such paths instead).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Confinement {
    /// Folders (with everything below) and files the tree may write, create and delete in.
    /// Everything else is read-only (or unreadable, see [`Confinement::deny_read`]).
    pub writable: Vec<PathBuf>,
    /// Read-only even where they lie inside a writable folder (their whole subtree).
    pub deny_write: Vec<PathBuf>,
    /// Neither readable nor writable (their whole subtree); listing shows them empty.
    pub deny_read: Vec<PathBuf>,
    /// Which connections may leave the tree.
    pub network: Network,
}

/// Which connections may leave a confined tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Network {
    /// No restriction.
    #[default]
    All,
    /// None (where the platform can: no socket of any kind reaches another host or the
    /// host's loopback; see [`NetworkSupport`]).
    None,
    /// Only TCP connections to the manager's proxy on `127.0.0.1:port`.
    Proxy {
        /// The proxy's port.
        port: u16,
    },
}

/// How much of [`Network`] this machine enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkSupport {
    /// Nothing: every network policy would be a request only.
    None,
    /// TCP connects only (Landlock ABI ≥ 4): UDP, DNS and other sockets are not covered.
    Tcp,
    /// Every socket: `Network::None` is a network of its own with nothing in it.
    Full,
}

impl NetworkSupport {
    /// The name JS sees (`sandboxSupport().network`).
    pub fn as_str(self) -> &'static str {
        match self {
            NetworkSupport::None => "none",
            NetworkSupport::Tcp => "tcp",
            NetworkSupport::Full => "full",
        }
    }
}

/// What this machine can enforce (probed once per process).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// Write confinement ([`Confinement::writable`]).
    pub filesystem: bool,
    /// [`Confinement::deny_write`] inside writable folders and [`Confinement::deny_read`].
    pub deny_paths: bool,
    /// [`Confinement::network`] `None`: what it covers.
    pub network_none: NetworkSupport,
    /// [`Confinement::network`] `Proxy`: what it covers (Linux: TCP at best — Landlock lets
    /// only the proxy's port be connected, other protocols are not covered; macOS: every
    /// socket, as Seatbelt allows only the proxy's loopback address and port).
    pub network_proxy: NetworkSupport,
    /// The mechanism, e.g. `"landlock"`, `"seatbelt"`, `"none"`.
    pub mechanism: String,
    /// Why something is not enforced (one sentence each), for errors and the README's table.
    pub missing: Vec<String>,
}

impl Support {
    /// Nothing is enforced, for `reason`.
    pub fn nothing(reason: &str) -> Self {
        Support {
            filesystem: false,
            deny_paths: false,
            network_none: NetworkSupport::None,
            network_proxy: NetworkSupport::None,
            mechanism: "none".into(),
            missing: vec![reason.to_owned()],
        }
    }
}
