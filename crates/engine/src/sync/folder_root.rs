//! What a sync and a push both do before touching a folder: check that its root is there and
//! is the folder synced before (its `.syncdesk` marker), empty old trash batches, and scan it.
//! Each caller maps [`FolderRootError`] to its own error, with its own wording.

use std::collections::HashMap;
use std::path::Path;

use crate::events::Reporter;
use crate::ignores::Ignores;
use crate::model::LogLevel;
use crate::relpath::{self, RelPath};
use crate::scan::{self, STATE_DIR, ScanError, ScanOptions, ScanReport};
use crate::store::{IndexRow, StoreError};
use crate::trash;

use super::SyncOptions;

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

/// Scans the folder and loads its ignore rules, logging what the scan had to leave out and
/// any broken rule; removes the temp files an interrupted run left. `job` names the work in
/// those lines ("synced", "pushed").
pub(crate) fn scan(
    root: &Path,
    index: &HashMap<RelPath, IndexRow>,
    opts: &SyncOptions,
    reporter: &Reporter,
    job: &str,
) -> Result<(ScanReport, Ignores), ScanError> {
    let report = scan::scan(
        root,
        index,
        &ScanOptions {
            force_rehash: opts.force,
        },
        &|p| reporter.set(p.files, p.bytes_hashed),
    )?;
    for (path, why) in &report.unreadable {
        reporter.log(
            LogLevel::Warn,
            &format!(
                "left unchanged, cannot read {}: {why}",
                relpath::display(path)
            ),
        );
    }
    for (path, why) in &report.skipped {
        reporter.log(
            LogLevel::Info,
            &format!("not {job}: {} ({why})", relpath::display(path)),
        );
    }
    if !opts.dry_run && !report.temp_files.is_empty() {
        // Ours, and no other run on this folder goes on (the caller holds its lock): left by
        // a crash.
        let removed = report
            .temp_files
            .iter()
            .filter(|p| std::fs::remove_file(relpath::to_path(root, p)).is_ok())
            .count();
        reporter.log(
            LogLevel::Info,
            &format!("removed {removed} unfinished file(s) left by an interrupted run"),
        );
    }
    let (ignores, problems) = Ignores::load(root, report.entries.keys());
    for p in problems {
        reporter.log(LogLevel::Warn, &format!("ignore rules: {p}"));
    }
    Ok((report, ignores))
}
