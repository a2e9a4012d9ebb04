//! Storage backends behind one small trait. Keys are `/`-separated, relative to the remote root.
//!
//! Correctness never relies on locks or conditional writes: every object but a device's own
//! head is immutable and content-addressed, so concurrent writers never overwrite each other.
//! That is also what makes every request safe to retry.
//!
//! - `spec`: what a remote is, without secrets — [`RemoteSpec`]; `spec_url`: its URL form;
//! - `local`: a local or network-mounted directory;
//! - `dal`: S3 and WebDAV through OpenDAL, over the HTTP client in `http` (timeouts, retries
//!   from `retry`, bandwidth limits from `throttle`, concurrency, TLS options), which sorts
//!   what went wrong with `failure`;
//! - `http_setup`: what every HTTP client of a remote starts from (push clients too);
//! - `probe`: the "Test connection" check.

mod dal;
mod failure;
mod http;
mod http_setup;
mod local;
mod probe;
mod retry;
mod spec;
mod spec_url;
mod throttle;

pub use dal::DalRemote;
pub(crate) use failure::{Trouble, chain, classify, excerpt};
pub(crate) use http_setup::HttpSetup;
pub use local::LocalRemote;
pub use probe::{PROBE_PREFIX, ProbeReport, ProbeStep, ProbeStepName, probe};
pub use retry::{RetryNotice, RetryObserver, RetryPolicy};
pub(crate) use retry::{human, parse_retry_after, unit_random};
pub use spec::{DEFAULT_REGION, DEFAULT_TIMEOUT_SECS, RemoteKind, RemoteSpec};

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{key} does not exist on the remote")]
    NotFound { key: String },
    #[error("{op} {key} failed: {source}")]
    Io {
        op: &'static str,
        key: String,
        source: std::io::Error,
    },
    #[error("the remote {remote:?} is not usable: {reason}")]
    Invalid { remote: String, reason: String },
    /// HTTP 401 or 403.
    #[error("the server refused the credentials (HTTP {status}): check {what} in Settings")]
    Auth { status: u16, what: &'static str },
    /// Connection refused, name not resolved, no answer in time, connection lost: after
    /// every retry.
    #[error(
        "cannot reach {host}: {reason} (tried {attempts} times); check the address, the network and that the server is running"
    )]
    Unreachable {
        host: String,
        reason: String,
        attempts: u32,
    },
    #[error(
        "the secure connection to {host} failed: {reason}; if the server uses a certificate from a private authority, set its CA certificate (ca_cert) in the remote's options"
    )]
    Tls { host: String, reason: String },
    /// An answer the request cannot go on from (after retries when it was worth retrying).
    #[error("{op} {key} failed with HTTP {status}{}{}", tries(.attempts), body_excerpt(.body))]
    Http {
        status: u16,
        op: String,
        key: String,
        /// The start of the response body, which often says why.
        body: String,
        attempts: u32,
    },
    #[error(
        "the server's answer to {op} {key} was cut short ({got} of {expected} bytes){}; a proxy or an unstable connection may be at fault",
        tries(.attempts)
    )]
    Truncated {
        op: String,
        key: String,
        expected: u64,
        got: u64,
        attempts: u32,
    },
    /// Anything else the storage client reports.
    #[error("{op} {key} failed: {message}")]
    Backend {
        op: &'static str,
        key: String,
        message: String,
    },
    /// "Test connection" failed at `step`.
    #[error("connection test failed at step \"{step}\": {source}")]
    Probe {
        step: &'static str,
        source: Box<RemoteError>,
    },
}

fn tries(attempts: &u32) -> String {
    if *attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    }
}

fn body_excerpt(body: &str) -> String {
    if body.is_empty() {
        String::new()
    } else {
        format!(": {body}")
    }
}

impl RemoteError {
    pub fn is_not_found(&self) -> bool {
        matches!(self.cause(), RemoteError::NotFound { .. })
    }

    /// The error under any "which step failed" wrapper, to decide what to do about it.
    pub fn cause(&self) -> &RemoteError {
        match self {
            RemoteError::Probe { source, .. } => source.cause(),
            other => other,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

/// Every call blocks its thread until the remote answered (after retries).
pub trait Remote: Send + Sync {
    /// Stores `data` at `key`; readers see the whole object or none of it.
    fn put(&self, key: &str, data: &[u8]) -> Result<(), RemoteError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, RemoteError>;
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, RemoteError>;
    /// Every object whose key starts with `prefix` (recursively).
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RemoteError>;
    /// Deleting a missing object is not an error.
    fn delete(&self, key: &str) -> Result<(), RemoteError>;
    /// The object at `key`, or `None` when there is none.
    fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, RemoteError>;
    /// A name for people: "local directory /srv/sync".
    fn describe(&self) -> String;
    /// The provider as `getSyncInfo` reports it.
    fn provider_name(&self) -> &'static str;
}

/// What opening a remote takes besides its [`RemoteSpec`].
#[derive(Clone, Default)]
pub struct OpenOptions {
    /// The S3 secret access key or the WebDAV password, from the OS keyring.
    pub secret: Option<String>,
    /// Told about every retry (for `syncRetry` events).
    pub on_retry: Option<RetryObserver>,
}

// By hand, so the secret never reaches a log.
impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("on_retry", &self.on_retry.as_ref().map(|_| "<observer>"))
            .finish()
    }
}

/// Opens a remote.
pub fn open_spec(spec: &RemoteSpec, opts: &OpenOptions) -> Result<Arc<dyn Remote>, RemoteError> {
    match spec.kind {
        RemoteKind::Local => {
            spec.validate().map_err(|reason| RemoteError::Invalid {
                remote: spec.to_url(),
                reason,
            })?;
            let path = spec.path.clone().unwrap_or_default();
            Ok(Arc::new(LocalRemote::new(path.into())?))
        }
        RemoteKind::S3 | RemoteKind::Webdav => Ok(Arc::new(DalRemote::open(spec, opts)?)),
        // Push remotes hold no repository; syncs push to them through `crate::push`.
        RemoteKind::Gateway | RemoteKind::Aries => Err(RemoteError::Invalid {
            remote: spec.to_url(),
            reason: format!(
                "a {} remote is a push target, not a repository: syncs push the folder to it, and it has no history, snapshots or encryption",
                spec.provider_name()
            ),
        }),
    }
}

/// Opens a remote from its folder setting (see [`RemoteSpec::parse`]) without a secret.
pub fn open(spec: &str) -> Result<Arc<dyn Remote>, RemoteError> {
    open_spec(&RemoteSpec::parse(spec)?, &OpenOptions::default())
}

/// The provider name of a remote setting without opening it; "Local" when it does not parse.
pub fn provider_name(spec: &str) -> &'static str {
    RemoteSpec::parse(spec)
        .map(|s| s.provider_name())
        .unwrap_or("Local")
}
