//! Exit codes, and the errors that carry one other than the generic 1.

use std::fmt;

use syncdesk_engine::EngineError;

/// The process exit codes (documented in `--help` and docs/cli.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    Error = 1,
    Usage = 2,
    JobFailed = 3,
    NeedsConfirmation = 4,
    InProgress = 5,
    CheckFailed = 6,
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> Self {
        std::process::ExitCode::from(e as u8)
    }
}

/// An error with its own exit code and, for `--json`, extra fields next to `error`.
#[derive(Debug)]
pub struct Failure {
    pub exit: Exit,
    pub message: String,
    pub details: serde_json::Map<String, serde_json::Value>,
}

impl Failure {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Failure {
            exit,
            message: message.into(),
            details: serde_json::Map::new(),
        }
    }

    pub fn with(mut self, key: &str, value: serde_json::Value) -> Self {
        self.details.insert(key.to_owned(), value);
        self
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The exit code an error stands for.
pub fn exit_of(err: &anyhow::Error) -> Exit {
    if let Some(f) = err.downcast_ref::<Failure>() {
        return f.exit;
    }
    match err.downcast_ref::<EngineError>() {
        Some(EngineError::SyncInProgress | EngineError::BootSyncInProgress) => Exit::InProgress,
        _ => Exit::Error,
    }
}

/// Extra JSON fields an error carries, if any.
pub fn details_of(err: &anyhow::Error) -> Option<&serde_json::Map<String, serde_json::Value>> {
    err.downcast_ref::<Failure>().map(|f| &f.details)
}
