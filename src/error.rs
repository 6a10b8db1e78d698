//! Stable error codes: JS branches on `code`, the message is for people.

use std::fmt;

/// Why an operation was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A session with that id exists.
    SessionExists,
    /// No session with that id.
    SessionNotFound,
    /// The session cannot take that call in its current state.
    InvalidState,
    /// An argument or option is malformed.
    InvalidArgument,
    /// Provider `claude` without a Claude CLI.
    ClaudeNotFound,
    /// No runner script for the provider.
    RunnerNotFound,
    /// The `cwd` option names no folder.
    CwdNotFound,
    /// The OS refused to start the runner.
    SpawnFailed,
    /// The runner's stdin queue is full (the runner is not reading).
    StdinFull,
    /// The manager has been disposed.
    Disposed,
    /// A terminal with that id exists.
    TerminalExists,
    /// The addon failed where it should not have (a bug); the message says where.
    Internal,
    /// `dispose()` gave up: runners outlived their stop and kill graces.
    RunnerStuck,
    /// A sandbox this machine cannot enforce was asked for (the message names what is
    /// missing).
    SandboxUnsupported,
}

impl ErrorCode {
    /// Every code, for the binding's contract check.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::SessionExists,
        ErrorCode::SessionNotFound,
        ErrorCode::InvalidState,
        ErrorCode::InvalidArgument,
        ErrorCode::ClaudeNotFound,
        ErrorCode::RunnerNotFound,
        ErrorCode::CwdNotFound,
        ErrorCode::SpawnFailed,
        ErrorCode::StdinFull,
        ErrorCode::Disposed,
        ErrorCode::TerminalExists,
        ErrorCode::Internal,
        ErrorCode::RunnerStuck,
        ErrorCode::SandboxUnsupported,
    ];

    /// The code string JS sees.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SessionExists => "ERR_SESSION_EXISTS",
            ErrorCode::SessionNotFound => "ERR_SESSION_NOT_FOUND",
            ErrorCode::InvalidState => "ERR_INVALID_STATE",
            ErrorCode::InvalidArgument => "ERR_INVALID_ARGUMENT",
            ErrorCode::ClaudeNotFound => "ERR_CLAUDE_NOT_FOUND",
            ErrorCode::RunnerNotFound => "ERR_RUNNER_NOT_FOUND",
            ErrorCode::CwdNotFound => "ERR_CWD_NOT_FOUND",
            ErrorCode::TerminalExists => "ERR_TERMINAL_EXISTS",
            ErrorCode::SpawnFailed => "ERR_SPAWN_FAILED",
            ErrorCode::StdinFull => "ERR_STDIN_FULL",
            ErrorCode::Disposed => "ERR_DISPOSED",
            ErrorCode::Internal => "ERR_INTERNAL",
            ErrorCode::RunnerStuck => "ERR_RUNNER_STUCK",
            ErrorCode::SandboxUnsupported => "ERR_SANDBOX_UNSUPPORTED",
        }
    }
}

/// A refused operation: a code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
}

impl OpError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message, self.code.as_str())
    }
}

impl std::error::Error for OpError {}
