//! One row of the system's process table, as each platform's scan reports it (see
//! [`super::usage`]).

/// One process.
#[derive(Debug, Clone, Copy)]
pub struct ProcessRow {
    /// Its process group.
    pub pgid: i32,
    /// Its session.
    pub sid: i32,
    /// Not a zombie.
    pub live: bool,
    /// User + system CPU, its own and its reaped children's, in milliseconds.
    pub cpu_ms: u64,
    /// Resident memory, bytes.
    pub rss_bytes: u64,
}
