//! Reading through the gateway (Syncdesk's extension for force-pull): the folder's listing,
//! one file's content, and who wrote a path.

use std::collections::HashSet;
use std::fs::File;

use super::{GatewayEntry, GatewayError, paths};
use crate::engine::Engine;
use crate::engine::EngineError;
use crate::relpath::{self, RelPath};
use crate::scan::{self, LocalKind, ScanOptions};
use crate::sync::SyncError;

/// `rel` or a directory above it is local-only.
fn is_local_only(local_only: &HashSet<RelPath>, rel: &[u8]) -> bool {
    local_only.contains(rel)
        || paths::ancestors(rel)
            .iter()
            .any(|dir| local_only.contains(dir))
}

impl Engine {
    /// Every file and directory of the folder, except `.syncdesk/`, what its ignore rules
    /// leave out, local-only paths and symbolic links (the gateway cannot carry them).
    /// Hashes come from the file index when a file is unchanged since it was last hashed.
    pub fn gateway_list(&self, folder: &str) -> Result<Vec<GatewayEntry>, GatewayError> {
        let f = self.gateway_folder(folder)?;
        let index = self.store().load_index(&f.name)?;
        let report = scan::scan(&f.path, &index, &ScanOptions::default(), &|_| {})
            .map_err(|e| EngineError::from(SyncError::from(e)))?;
        let local_only = self.store().gateway_local_only(&f.name)?;
        let mut out = Vec::with_capacity(report.entries.len());
        for (rel, entry) in &report.entries {
            if is_local_only(&local_only, rel) {
                continue;
            }
            // Names that are not UTF-8 cannot be named in a request either.
            let Ok(path) = std::str::from_utf8(rel) else {
                continue;
            };
            match entry.kind {
                LocalKind::File => out.push(GatewayEntry {
                    path: path.to_owned(),
                    size: entry.stat.size,
                    hash: Some(hex::encode(entry.hash)),
                    dir: false,
                }),
                LocalKind::Dir => out.push(GatewayEntry {
                    path: path.to_owned(),
                    size: 0,
                    hash: None,
                    dir: true,
                }),
                LocalKind::Symlink => {}
            }
        }
        Ok(out)
    }

    /// One file of the folder, opened for reading, with its size. `NotFound` if it is not a
    /// file the listing shows.
    pub fn gateway_open(&self, folder: &str, path: &str) -> Result<(File, u64), GatewayError> {
        let rel = paths::parse(path)?;
        let f = self.gateway_folder(folder)?;
        let not_found = || GatewayError::NotFound(format!("{path} does not exist"));
        let located = match paths::locate(&f.path, &rel) {
            Ok(l) => l,
            Err(GatewayError::BadRequest(_)) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        let Some(meta) = located.target else {
            return Err(not_found());
        };
        if meta.file_type().is_symlink() {
            return Err(GatewayError::BadPath(format!(
                "{path} is a symbolic link; the gateway never reads through one"
            )));
        }
        if !meta.is_file() || is_local_only(&self.store().gateway_local_only(&f.name)?, &rel) {
            return Err(not_found());
        }
        let abs = relpath::to_path(&f.path, &rel);
        let file = File::open(&abs).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => not_found(),
            _ => GatewayError::Engine(EngineError::Internal(format!("cannot read {path}: {e}"))),
        })?;
        let opened = file.metadata().map_err(|e| {
            GatewayError::Engine(EngineError::Internal(format!("cannot read {path}: {e}")))
        })?;
        // The file opened must be the one looked at (not a link swapped in meanwhile).
        if !same_file(&meta, &opened) {
            return Err(not_found());
        }
        Ok((file, opened.len()))
    }

    /// The account recorded with a path the gateway wrote (`sync_3rd` edit rights).
    pub fn gateway_owner_of(
        &self,
        folder: &str,
        path: &str,
    ) -> Result<Option<String>, GatewayError> {
        let rel = paths::parse(path)?;
        Ok(self
            .store()
            .gateway_file(folder, &rel)?
            .and_then(|row| row.account))
    }
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_only_covers_what_is_below() {
        let lo: HashSet<RelPath> = [b"tmp".to_vec(), b"a/b.txt".to_vec()].into();
        assert!(is_local_only(&lo, b"tmp"));
        assert!(is_local_only(&lo, b"tmp/x/y"));
        assert!(is_local_only(&lo, b"a/b.txt"));
        assert!(!is_local_only(&lo, b"a"));
        assert!(!is_local_only(&lo, b"tmp0"));
    }
}
