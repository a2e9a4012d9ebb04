//! Gateway ingress (seed 003): other programs write into a synced folder through
//! `POST /service/gateway/sync` and `sync_3rd`. The HTTP side lives in `crates/api`; this is
//! what it calls: tokens, settings, rate limits, and applying a change to the folder.
//!
//! Every change is confined to the folder (see [`paths`]), written atomically (a staged temp
//! file renamed into place), goes through the folder's trash like a sync's, and is recorded as
//! one finished job of type `gateway`. Ingress writes are not hidden from the watcher: a
//! watched folder syncs them on to its remote, except local-only ones (`push_to_cloud`
//! false), which the sync leaves alone until they expire two hours later.

mod apply;
mod expiry;
mod limits;
pub mod paths;
mod read;
mod settings;
mod share;
mod staging;
mod tokens;
mod write;

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::engine::{Engine, EngineError};
use crate::events::lock;
use crate::model::{Folder, JobId};
use crate::scan::{self, STATE_DIR};
use crate::secrets::SecretError;
use crate::store::StoreError;
use crate::sync::SyncError;

pub use settings::{DEFAULT_MAX_FILE_SIZE, GatewaySettings};
pub use staging::Staging;
pub use tokens::TOKEN_PREFIX;

/// The account of the site owner's logged-in session.
pub const OWNER_ACCOUNT: &str = "owner";
/// How long a local-only file (`push_to_cloud` false) lives.
pub const LOCAL_ONLY_TTL: Duration = Duration::from_secs(2 * 3600);
/// Staged uploads, under the folder's `.syncdesk/` (never synced, same filesystem).
pub const STAGING_DIR: &str = "gateway-tmp";
/// Synced files a local-only write replaced, put back when it expires.
pub const STASH_DIR: &str = "gateway-orig";

/// Who is writing, and into which folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayCaller {
    /// `None` for an anonymous `sync_3rd` upload.
    pub account: Option<String>,
    pub folder: String,
    /// The site owner's logged-in session (not a gateway token).
    pub session: bool,
}

/// A gateway token as listed: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct GatewayToken {
    pub name: String,
    pub folder: String,
    pub account: String,
    pub created_at: String,
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Clone, Serialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct CreatedGatewayToken {
    pub token: GatewayToken,
    pub secret: String,
}

/// The content of a write.
#[derive(Debug)]
pub enum Content {
    /// None given: an empty file.
    Empty,
    /// Small content that came in the request (`raw_content`, `base64`).
    Bytes(Vec<u8>),
    /// An upload streamed to disk (`file`), see [`Engine::gateway_staging`].
    Staged(Staging),
}

impl Content {
    fn is_empty(&self) -> bool {
        match self {
            Content::Empty => true,
            Content::Bytes(b) => b.is_empty(),
            Content::Staged(_) => false,
        }
    }
}

/// One gateway request's change.
#[derive(Debug)]
pub struct GatewayChange {
    /// Relative to the caller's folder, `/`-separated.
    pub path: String,
    pub content: Content,
    pub is_deleted: bool,
    pub is_dir: bool,
    /// False: the change stays on this machine, out of the remote sync, for two hours.
    pub push_to_cloud: bool,
}

/// What a change did (the answer of `sync` and `sync_3rd`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct GatewayOutcome {
    pub path: String,
    pub action: GatewayAction,
    #[ts(type = "number")]
    pub bytes: u64,
    pub push_to_cloud: bool,
    /// RFC 3339; when a local-only path goes away.
    pub expires_at: Option<String>,
    /// The job recording the change (none when nothing changed).
    #[ts(type = "number | null")]
    pub job_id: Option<JobId>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "lowercase")]
pub enum GatewayAction {
    Written,
    Deleted,
    Directory,
    Unchanged,
}

impl GatewayAction {
    pub fn as_str(self) -> &'static str {
        match self {
            GatewayAction::Written => "written",
            GatewayAction::Deleted => "deleted",
            GatewayAction::Directory => "directory",
            GatewayAction::Unchanged => "unchanged",
        }
    }
}

/// One entry of [`Engine::gateway_list`]. Serialized as the wire shows it:
/// `{"path":"a/b.txt","size":12,"hash":"<blake3 hex>"}` or `{"path":"d","dir":true}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayEntry {
    pub path: String,
    pub size: u64,
    /// BLAKE3 of the content, hex; `None` for a directory.
    pub hash: Option<String>,
    pub dir: bool,
}

impl Serialize for GatewayEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("path", &self.path)?;
        if self.dir {
            m.serialize_entry("dir", &true)?;
        } else {
            m.serialize_entry("size", &self.size)?;
            if let Some(h) = &self.hash {
                m.serialize_entry("hash", h)?;
            }
        }
        m.end()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The path is not a safe path inside the folder; the message names the rule.
    #[error("unsafe path: {0}")]
    BadPath(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    /// The site's settings turn this off.
    #[error("{0}")]
    Disabled(String),
    #[error("{0}")]
    NotFound(String),
    #[error(
        "the file is larger than this gateway accepts ({limit} bytes); the site owner can raise max_file_size"
    )]
    TooLarge { limit: u64 },
    #[error("too many requests; retry in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("{0}")]
    DiskFull(String),
    /// The folder cannot take writes now: its root is gone or looks unmounted.
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl GatewayError {
    /// A stable code for programs (the API's error `code`).
    pub fn code(&self) -> &'static str {
        match self {
            GatewayError::BadPath(_) | GatewayError::BadRequest(_) => "bad_request",
            GatewayError::Unauthorized(_) => "unauthorized",
            GatewayError::Forbidden(_) => "forbidden",
            GatewayError::Disabled(_) => "disabled",
            GatewayError::NotFound(_) => "not_found",
            GatewayError::TooLarge { .. } => "too_large",
            GatewayError::RateLimited { .. } => "rate_limited",
            GatewayError::DiskFull(_) => "insufficient_storage",
            GatewayError::Unavailable(_) => "folder_unavailable",
            GatewayError::Engine(e) => e.code(),
        }
    }

    /// An I/O error while writing `what`: a full disk says so (507), anything else is internal.
    pub fn from_io(what: &str, e: std::io::Error) -> GatewayError {
        if e.kind() == std::io::ErrorKind::StorageFull
            || e.kind() == std::io::ErrorKind::QuotaExceeded
        {
            GatewayError::DiskFull(format!(
                "the disk holding the folder is full (writing {what}); nothing was changed, free some space and retry"
            ))
        } else {
            GatewayError::Engine(EngineError::Internal(format!("cannot write {what}: {e}")))
        }
    }
}

impl From<StoreError> for GatewayError {
    fn from(e: StoreError) -> Self {
        GatewayError::Engine(e.into())
    }
}

impl From<SecretError> for GatewayError {
    fn from(e: SecretError) -> Self {
        GatewayError::Engine(e.into())
    }
}

/// What the gateway keeps in memory for an engine: the token cache, the rate limiter and
/// one lock per folder (changes to one folder are applied one at a time).
#[derive(Default)]
pub struct GatewayState {
    tokens: tokens::TokenCache,
    limits: limits::LimitState,
    folders: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    share: share::Reservations,
}

impl std::fmt::Debug for GatewayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GatewayState")
    }
}

impl GatewayState {
    fn folder_lock(&self, folder: &str) -> Arc<Mutex<()>> {
        lock(&self.folders)
            .entry(folder.to_owned())
            .or_default()
            .clone()
    }
}

impl Engine {
    /// The folder a change goes into, if it is safe to write: its root is there and, once
    /// synced, still holds its `.syncdesk` marker (else it looks unmounted or replaced, and
    /// writing would make the sync take everything else for deleted).
    fn gateway_folder(&self, name: &str) -> Result<Folder, GatewayError> {
        let folder = self.store().folder(name)?;
        usable_root(self, &folder)?;
        Ok(folder)
    }
}

fn usable_root(engine: &Engine, folder: &Folder) -> Result<(), GatewayError> {
    let root = folder.path.as_path();
    // Not the caller's fault and possibly over soon (a drive being mounted): "unavailable".
    let unavailable = |e: SyncError| GatewayError::Unavailable(e.to_string());
    scan::check_root(root).map_err(|e| unavailable(SyncError::from(e)))?;
    if !root.join(STATE_DIR).is_dir()
        && engine
            .store()
            .folder_state(&folder.name)?
            .base_snapshot
            .is_some()
    {
        return Err(unavailable(SyncError::MarkerMissing {
            path: root.display().to_string(),
        }));
    }
    Ok(())
}

fn now_ms() -> i64 {
    crate::clock::now_ns() / 1_000_000
}

/// RFC 3339 of a time in ms since 1970.
fn rfc3339_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    crate::clock::format(t)
}

/// `<root>/.syncdesk/<dir>`.
fn state_subdir(root: &Path, dir: &str) -> std::path::PathBuf {
    root.join(STATE_DIR).join(dir)
}
