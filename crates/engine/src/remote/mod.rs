//! Storage backends behind one small trait. Keys are `/`-separated, relative to the remote root.
//!
//! Correctness never relies on locks or conditional writes: every object but a device's own
//! head is immutable and content-addressed, so concurrent writers never overwrite each other.

mod local;

pub use local::LocalRemote;

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
}

impl RemoteError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, RemoteError::NotFound { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    pub key: String,
    pub size: u64,
}

pub trait Remote: Send + Sync {
    /// Stores `data` at `key`; readers see the whole object or none of it.
    fn put(&self, key: &str, data: &[u8]) -> Result<(), RemoteError>;
    fn get(&self, key: &str) -> Result<Vec<u8>, RemoteError>;
    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, RemoteError>;
    /// Every object whose key starts with `prefix` (recursively).
    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RemoteError>;
    fn delete(&self, key: &str) -> Result<(), RemoteError>;
    /// A name for people: "local directory /srv/sync".
    fn describe(&self) -> String;
    /// The provider as `getSyncInfo` reports it.
    fn provider_name(&self) -> &'static str;
}

/// Opens a remote from its folder setting: a local directory path (or `file://` URL).
pub fn open(spec: &str) -> Result<Arc<dyn Remote>, RemoteError> {
    let path = spec.strip_prefix("file://").unwrap_or(spec);
    if path.is_empty() || path.contains("://") {
        return Err(RemoteError::Invalid {
            remote: spec.into(),
            reason: "expected a local directory path (other remote types are not available yet)"
                .into(),
        });
    }
    Ok(Arc::new(LocalRemote::new(path.into())?))
}

/// The provider name of a remote setting without opening it.
pub fn provider_name(_spec: &str) -> &'static str {
    "Local"
}
