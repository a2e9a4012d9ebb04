//! The folder's trash: every local file a sync overwrites or deletes is moved here first.
//!
//! Layout: `<folder>/.syncdesk/trash/<YYYYMMDD-HHMMSS>-job<id>/<relative path>`. A batch per
//! job; batches older than the retention are purged at the start of a sync.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::relpath;
use crate::scan::STATE_DIR;

pub const TRASH_DIR: &str = "trash";
/// How long trashed files are kept.
pub const RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum TrashError {
    #[error("cannot move {path} to the trash: {source}")]
    Move { path: String, source: io::Error },
    #[error("no {path} in trash batch {batch}")]
    NotFound { batch: String, path: String },
    #[error("{0} already exists; move it away first, or restore to another place")]
    Exists(String),
    #[error("trash: {0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    BadPath(String),
}

/// One job's trash batch, created on first use.
pub struct Trash {
    root: PathBuf,
    dir: PathBuf,
}

pub fn trash_root(folder_root: &Path) -> PathBuf {
    folder_root.join(STATE_DIR).join(TRASH_DIR)
}

impl Trash {
    pub fn new(folder_root: &Path, job_id: i64) -> Self {
        let stamp = crate::clock::compact(crate::clock::now_ns());
        Trash {
            root: folder_root.to_path_buf(),
            dir: trash_root(folder_root).join(format!("{stamp}-job{job_id}")),
        }
    }

    /// Moves `rel` (a file, link or directory) into the trash.
    pub fn put(&self, rel: &[u8]) -> Result<(), TrashError> {
        let from = relpath::to_path(&self.root, rel);
        let to = relpath::to_path(&self.dir, rel);
        let err = |source| TrashError::Move {
            path: relpath::display(rel),
            source,
        };
        if let Some(parent) = to.parent() {
            fs::create_dir_all(parent).map_err(err)?;
        }
        // The same path may be trashed twice in one job (replaced, then replaced again).
        let to = if fs::symlink_metadata(&to).is_ok() {
            let mut n = 1;
            loop {
                let mut name = to.as_os_str().to_owned();
                name.push(format!(".{n}"));
                let candidate = PathBuf::from(name);
                if fs::symlink_metadata(&candidate).is_err() {
                    break candidate;
                }
                n += 1;
            }
        } else {
            to
        };
        fs::rename(&from, &to).map_err(err)
    }
}

/// A file kept in the trash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct TrashItem {
    pub batch: String,
    pub path: String,
    #[ts(type = "number")]
    pub size: u64,
}

/// Everything in the folder's trash, newest batch first.
pub fn list(folder_root: &Path) -> Result<Vec<TrashItem>, TrashError> {
    let mut out = Vec::new();
    let top = trash_root(folder_root);
    let mut batches: Vec<_> = match fs::read_dir(&top) {
        Ok(rd) => rd.filter_map(Result::ok).collect(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e.into()),
    };
    batches.sort_by_key(|b| std::cmp::Reverse(b.file_name()));
    for batch in batches {
        let name = batch.file_name().to_string_lossy().into_owned();
        walk(&batch.path(), &batch.path(), &mut |rel, size| {
            out.push(TrashItem {
                batch: name.clone(),
                path: relpath::display(rel),
                size,
            })
        })?;
    }
    Ok(out)
}

fn walk(base: &Path, dir: &Path, f: &mut dyn FnMut(&[u8], u64)) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(base, &entry.path(), f)?;
        } else if let Ok(rel) = entry.path().strip_prefix(base) {
            f(relpath::bytes_of(rel.as_os_str()), meta.len());
        }
    }
    Ok(())
}

/// Moves a trashed file (or directory) back to its place in the folder, or to `to`.
pub fn restore(
    folder_root: &Path,
    batch: &str,
    path: &str,
    to: Option<&Path>,
) -> Result<PathBuf, TrashError> {
    let rel = relpath::parse_user(path).map_err(TrashError::BadPath)?;
    if batch.contains('/') || batch.starts_with('.') || rel.is_empty() {
        return Err(TrashError::BadPath(format!("{batch}/{path}")));
    }
    let from = relpath::to_path(&trash_root(folder_root).join(batch), &rel);
    if fs::symlink_metadata(&from).is_err() {
        return Err(TrashError::NotFound {
            batch: batch.into(),
            path: path.into(),
        });
    }
    let dest = match to {
        Some(dir) => dir.join(relpath::os_str(relpath::split(&rel).1)),
        None => relpath::to_path(folder_root, &rel),
    };
    if fs::symlink_metadata(&dest).is_ok() {
        return Err(TrashError::Exists(dest.display().to_string()));
    }
    if let Some(parent) = dest.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::rename(&from, &dest)?;
    Ok(dest)
}

/// Deletes trash batches older than `retention`. Returns how many went.
pub fn purge(folder_root: &Path, retention: Duration) -> Result<usize, TrashError> {
    let top = trash_root(folder_root);
    let Ok(rd) = fs::read_dir(&top) else {
        return Ok(0);
    };
    let now = SystemTime::now();
    let mut n = 0;
    for batch in rd.filter_map(Result::ok) {
        let old = batch
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > retention);
        if old {
            fs::remove_dir_all(batch.path())?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trashed_files_can_be_listed_and_restored() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("docs")).unwrap();
        fs::write(root.join("docs/a.txt"), b"precious").unwrap();
        let t = Trash::new(root, 5);
        t.put(b"docs/a.txt").unwrap();
        assert!(!root.join("docs/a.txt").exists());
        let items = list(root).unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].path, "docs/a.txt");
        assert_eq!(items[0].size, 8);
        let back = restore(root, &items[0].batch, "docs/a.txt", None).unwrap();
        assert_eq!(fs::read(back).unwrap(), b"precious");
        assert!(list(root).unwrap().is_empty());
    }

    #[test]
    fn restore_never_overwrites_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), b"old").unwrap();
        let t = Trash::new(root, 1);
        t.put(b"a.txt").unwrap();
        fs::write(root.join("a.txt"), b"new").unwrap();
        let batch = list(root).unwrap()[0].batch.clone();
        assert!(matches!(
            restore(root, &batch, "a.txt", None),
            Err(TrashError::Exists(_))
        ));
        assert!(restore(root, &batch, "../../etc/passwd", None).is_err());
        assert!(restore(root, "../x", "a.txt", None).is_err());
        assert_eq!(fs::read(root.join("a.txt")).unwrap(), b"new");
    }

    #[test]
    fn the_same_path_trashed_twice_keeps_both() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let t = Trash::new(root, 2);
        fs::write(root.join("a"), b"1").unwrap();
        t.put(b"a").unwrap();
        fs::write(root.join("a"), b"2").unwrap();
        t.put(b"a").unwrap();
        assert_eq!(list(root).unwrap().len(), 2);
    }
}
