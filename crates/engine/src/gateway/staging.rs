//! Uploads on their way into a folder: a temp file in `<folder>/.syncdesk/gateway-tmp/`,
//! on the folder's filesystem so that putting it in place is a rename, and outside what the
//! sync sees. Removed when dropped, unless it was applied.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::{GatewayError, STAGING_DIR, state_subdir};
use crate::engine::Engine;

/// A staged upload. The HTTP layer streams the body into [`Staging::file`] (or
/// [`Staging::write_chunk`], which also enforces the size limit) and hands it to
/// [`Engine::gateway_apply`] as [`super::Content::Staged`].
#[derive(Debug)]
pub struct Staging {
    path: PathBuf,
    file: File,
    folder: String,
    written: u64,
    limit: u64,
    /// Renamed into the folder: nothing left to remove.
    pub(super) applied: bool,
}

impl Staging {
    /// A new empty staging file under `root`'s `.syncdesk/` for `folder`.
    pub(super) fn create(root: &Path, folder: &str, limit: u64) -> Result<Staging, GatewayError> {
        let dir = state_subdir(root, STAGING_DIR);
        fs::create_dir_all(&dir).map_err(|e| GatewayError::from_io("the upload", e))?;
        loop {
            let nonce = crate::random::u64().map_err(|e| GatewayError::from_io("the upload", e))?;
            let path = dir.join(format!("{nonce:016x}"));
            match File::create_new(&path) {
                Ok(file) => {
                    return Ok(Staging {
                        path,
                        file,
                        folder: folder.to_owned(),
                        written: 0,
                        limit,
                        applied: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(GatewayError::from_io("the upload", e)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file, for writing (`&File` implements `Write`).
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The folder it is staged for.
    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// Appends `data`: `TooLarge` past the gateway's `max_file_size`, `DiskFull` when the
    /// disk is.
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<(), GatewayError> {
        let total = self.written.saturating_add(data.len() as u64);
        if total > self.limit {
            return Err(GatewayError::TooLarge { limit: self.limit });
        }
        (&self.file)
            .write_all(data)
            .map_err(|e| GatewayError::from_io("the upload", e))?;
        self.written = total;
        Ok(())
    }

    /// Bytes in the file now (however they were written).
    pub fn len(&self) -> Result<u64, GatewayError> {
        self.file
            .metadata()
            .map(|m| m.len())
            .map_err(|e| GatewayError::from_io("the upload", e))
    }

    pub fn is_empty(&self) -> Result<bool, GatewayError> {
        Ok(self.len()? == 0)
    }

    /// Flushes to disk before the rename, so a crash never leaves a renamed but empty file.
    pub(super) fn sync(&self) -> Result<(), GatewayError> {
        self.file
            .sync_all()
            .map_err(|e| GatewayError::from_io("the upload", e))
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.applied
            && let Err(e) = fs::remove_file(&self.path)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(path = %self.path.display(), "cannot remove a staged upload: {e}");
        }
    }
}

/// Staged uploads older than this were left by a process that stopped.
const STALE: Duration = Duration::from_secs(24 * 3600);

/// Removes staged uploads a stopped process left behind; returns how many.
pub(super) fn clean_stale(root: &Path) -> usize {
    let Ok(rd) = fs::read_dir(state_subdir(root, STAGING_DIR)) else {
        return 0;
    };
    let now = SystemTime::now();
    rd.filter_map(Result::ok)
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| now.duration_since(t).ok())
                .is_some_and(|age| age > STALE)
        })
        .filter(|e| fs::remove_file(e.path()).is_ok())
        .count()
}

impl Engine {
    /// A new staging file for an upload into `folder`.
    pub fn gateway_staging(&self, folder: &str) -> Result<Staging, GatewayError> {
        let f = self.gateway_folder(folder)?;
        let limit = self.gateway_settings()?.max_file_size;
        Staging::create(&f.path, &f.name, limit)
    }
}
