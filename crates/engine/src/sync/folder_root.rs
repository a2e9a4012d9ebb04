//! The checks a sync and a push both make before touching a folder: its root is there, it
//! is the folder synced before (its `.syncdesk` marker), and old trash batches are emptied.
//! Each caller maps [`FolderRootError`] to its own error, with its own wording.

use std::path::Path;

use crate::events::Reporter;
use crate::model::LogLevel;
use crate::scan::{self, STATE_DIR, ScanError};
use crate::store::StoreError;
use crate::trash;

#[derive(Debug, thiserror::Error)]
pub enum FolderRootError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No marker although the folder was synced before: unmounted or replaced.
    #[error("{path} has no {STATE_DIR} marker although it was synced before")]
    MarkerMissing { path: String },
    #[error("cannot create {path}: {source}")]
    Marker {
        path: String,
        source: std::io::Error,
    },
}

/// Checks `root` and returns the folder's recorded state. `state` is read only once the root
/// is known to be there, so a missing root is reported as such; `synced_before` says from
/// that state whether a missing marker means the folder was replaced (an error) or is new
/// (the marker is created). A dry run creates and empties nothing.
pub(crate) fn prepare<S>(
    root: &Path,
    dry_run: bool,
    reporter: &Reporter,
    state: impl FnOnce() -> Result<S, StoreError>,
    synced_before: impl FnOnce(&S) -> bool,
) -> Result<S, FolderRootError> {
    scan::check_root(root)?;
    let state = state()?;
    let marker = root.join(STATE_DIR);
    if !marker.is_dir() {
        if synced_before(&state) {
            return Err(FolderRootError::MarkerMissing {
                path: root.display().to_string(),
            });
        }
        if !dry_run {
            std::fs::create_dir(&marker).map_err(|source| FolderRootError::Marker {
                path: marker.display().to_string(),
                source,
            })?;
        }
    }
    // Best effort: a trash that cannot be emptied must not stop the sync.
    if !dry_run
        && let Ok(n) = trash::purge(root, trash::RETENTION)
        && n > 0
    {
        reporter.log(
            LogLevel::Info,
            &format!("emptied {n} trash batches older than 30 days"),
        );
    }
    Ok(state)
}
