//! Applying a plan to the local folder: atomic writes (temp file, fsync, rename), the trash
//! for everything replaced or deleted, and a re-check that nothing changed since the scan.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use rayon::prelude::*;

use super::plan::{Action, Expect, conflict_name};
use crate::echo::EchoLog;
use crate::events::{Reporter, lock};
use crate::model::LogLevel;
use crate::relpath::{self, RelPath};
use crate::repo::pack::BlobKind;
use crate::repo::tree::{Entry, Hash, Kind};
use crate::repo::{Repo, RepoError};
use crate::scan::{stat_key, temp_name};
use crate::store::StatKey;
use crate::trash::{Trash, TrashError};

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cannot write {path}: {source}")]
    Write { path: String, source: io::Error },
    #[error(transparent)]
    Trash(#[from] TrashError),
    #[error("cannot download {path}: {source}")]
    Download { path: String, source: RepoError },
    #[error("downloaded content of {path} does not match its hash; nothing was replaced")]
    Corrupt { path: String },
}

/// How the index changes after the actions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexChange {
    Upsert(RelPath, StatKey, Hash),
    Delete(RelPath),
}

#[derive(Debug, Default)]
pub struct Applied {
    pub changes: Vec<IndexChange>,
    pub files_written: u64,
    pub bytes_written: u64,
    pub files_deleted: u64,
    /// Conflicts found while applying (a file changed after the scan).
    pub late_conflicts: u64,
}

pub struct Applier<'a> {
    pub root: &'a Path,
    pub repo: &'a Repo,
    pub trash: &'a Trash,
    pub reporter: &'a Reporter,
    /// Where to note what was written and removed, so the watcher ignores its echoes.
    pub echo: Option<&'a EchoLog>,
}

impl Applier<'_> {
    /// Runs the actions in order; consecutive writes run in parallel (they touch distinct
    /// paths whose directories already exist).
    pub fn apply(&self, actions: &[Action]) -> Result<Applied, ApplyError> {
        let out = Mutex::new(Applied::default());
        let mut i = 0;
        while i < actions.len() {
            let end = actions[i..]
                .iter()
                .position(|a| !matches!(a, Action::Write { .. }))
                .map_or(actions.len(), |n| i + n);
            if end > i {
                actions[i..end]
                    .par_iter()
                    .try_for_each(|a| self.one(a, &out))?;
                i = end;
            } else {
                self.one(&actions[i], &out)?;
                i += 1;
            }
        }
        Ok(out.into_inner().unwrap_or_else(|p| p.into_inner()))
    }

    fn one(&self, action: &Action, out: &Mutex<Applied>) -> Result<(), ApplyError> {
        crate::failpoint::hit("apply");
        match action {
            Action::MakeDir { path } => {
                let abs = self.abs(path);
                match fs::symlink_metadata(&abs) {
                    Ok(m) if m.is_dir() => Ok(()),
                    _ => {
                        fs::create_dir(&abs).map_err(|source| write_err(path, source))?;
                        self.echo.inspect(|e| e.made_dir(&abs));
                        Ok(())
                    }
                }
            }
            Action::Write {
                path,
                entry,
                expect,
            } => {
                let (target, conflicted) = if self.unchanged(path, *expect) {
                    (path.clone(), false)
                } else {
                    // Changed since the scan: keep the local file, save this version beside it.
                    let (parent, name) = relpath::split(path);
                    let copy =
                        relpath::join(parent, &conflict_name(name, entry.mtime_ns, &entry.device));
                    if fs::symlink_metadata(self.abs(&copy)).is_ok() {
                        return Ok(());
                    }
                    self.reporter.log(
                        LogLevel::Warn,
                        &format!(
                            "{} changed during the sync; the incoming version was saved as {}",
                            relpath::display(path),
                            relpath::display(&copy)
                        ),
                    );
                    (copy, true)
                };
                let (stat, bytes) = self.write_entry(&target, entry)?;
                self.reporter
                    .advance(1, bytes, Some(&relpath::display(&target)));
                let mut o = lock(out);
                o.changes
                    .push(IndexChange::Upsert(target, stat, entry.hash));
                o.files_written += 1;
                o.bytes_written += bytes;
                o.late_conflicts += conflicted as u64;
                Ok(())
            }
            Action::Remove { path, expect } => {
                if !self.unchanged(path, *expect) {
                    self.reporter.log(
                        LogLevel::Warn,
                        &format!(
                            "{} changed during the sync and was kept (it will be synced next time)",
                            relpath::display(path)
                        ),
                    );
                    return Ok(());
                }
                if fs::symlink_metadata(self.abs(path)).is_ok() {
                    self.trash.put(path)?;
                    self.echo.inspect(|e| e.removed(&self.abs(path)));
                }
                let mut o = lock(out);
                o.changes.push(IndexChange::Delete(path.clone()));
                o.files_deleted += 1;
                Ok(())
            }
            Action::RemoveDir { path } => {
                match fs::remove_dir(self.abs(path)) {
                    Ok(()) => {
                        self.echo.inspect(|e| e.removed(&self.abs(path)));
                    }
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(_) => self.reporter.log(
                        LogLevel::Info,
                        &format!(
                            "kept the folder {} because it still holds files that are not synced",
                            relpath::display(path)
                        ),
                    ),
                }
                Ok(())
            }
            Action::Move { from, to } => {
                let (src, dst) = (self.abs(from), self.abs(to));
                if fs::symlink_metadata(&dst).is_ok() {
                    // The copy exists already (an earlier, interrupted run made it).
                    return Ok(());
                }
                fs::rename(&src, &dst).map_err(|source| write_err(to, source))?;
                self.echo.inspect(|e| e.removed(&src));
                if let Ok(meta) = fs::symlink_metadata(&dst) {
                    self.echo.inspect(|e| e.wrote(&dst, stat_key(&meta)));
                    let mut o = lock(out);
                    o.changes.push(IndexChange::Delete(from.clone()));
                    if let Some(hash) = hash_of(&dst, &meta) {
                        o.changes
                            .push(IndexChange::Upsert(to.clone(), stat_key(&meta), hash));
                    }
                }
                Ok(())
            }
        }
    }

    fn abs(&self, rel: &[u8]) -> PathBuf {
        relpath::to_path(self.root, rel)
    }

    /// The path is still what the scan saw.
    fn unchanged(&self, path: &[u8], expect: Expect) -> bool {
        match (fs::symlink_metadata(self.abs(path)), expect) {
            (Err(e), Expect::Absent) => e.kind() == io::ErrorKind::NotFound,
            (Ok(m), Expect::Dir) => m.is_dir(),
            (Ok(m), Expect::Stat(s)) => !m.is_dir() && stat_key(&m) == s,
            _ => false,
        }
    }

    /// Writes a file or symlink atomically; the one it replaces goes to the trash.
    fn write_entry(&self, rel: &[u8], entry: &Entry) -> Result<(StatKey, u64), ApplyError> {
        let abs = self.abs(rel);
        let (parent, name) = relpath::split(rel);
        let dir = relpath::to_path(self.root, parent);
        let nonce = crate::random::u64().map_err(|source| write_err(rel, source))?;
        let tmp = dir.join(relpath::os_str(&temp_name(name, nonce)));
        let written = match entry.kind {
            Kind::File => self.write_file(rel, &tmp, entry),
            Kind::Symlink => write_symlink(&tmp, entry.target.as_deref().unwrap_or_default())
                .map(|()| 0)
                .map_err(|source| write_err(rel, source)),
            Kind::Dir | Kind::Deleted => {
                return Err(write_err(rel, io::Error::other("not a file")));
            }
        };
        let bytes = match written {
            Ok(b) => b,
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if fs::symlink_metadata(&abs).is_ok_and(|m| !m.is_dir()) {
            self.trash.put(rel)?;
        }
        fs::rename(&tmp, &abs).map_err(|source| {
            let _ = fs::remove_file(&tmp);
            write_err(rel, source)
        })?;
        let meta = fs::symlink_metadata(&abs).map_err(|source| write_err(rel, source))?;
        let stat = stat_key(&meta);
        self.echo.inspect(|e| e.wrote(&abs, stat));
        Ok((stat, bytes))
    }

    fn write_file(&self, rel: &[u8], tmp: &Path, entry: &Entry) -> Result<u64, ApplyError> {
        let mut f = File::create_new(tmp).map_err(|source| write_err(rel, source))?;
        let mut hasher = blake3::Hasher::new();
        let mut size = 0u64;
        for chunk in &entry.chunks {
            let data = self
                .repo
                .read_blob_as(chunk, BlobKind::Data)
                .map_err(|source| ApplyError::Download {
                    path: relpath::display(rel),
                    source,
                })?;
            hasher.update(&data);
            size += data.len() as u64;
            f.write_all(&data)
                .map_err(|source| write_err(rel, source))?;
        }
        if *hasher.finalize().as_bytes() != entry.hash || size != entry.size {
            return Err(ApplyError::Corrupt {
                path: relpath::display(rel),
            });
        }
        set_mode(&f, entry.mode).map_err(|source| write_err(rel, source))?;
        if let Some(t) = mtime_of(entry.mtime_ns) {
            f.set_modified(t).map_err(|source| write_err(rel, source))?;
        }
        f.sync_all().map_err(|source| write_err(rel, source))?;
        Ok(size)
    }
}

fn write_err(rel: &[u8], source: io::Error) -> ApplyError {
    ApplyError::Write {
        path: relpath::display(rel),
        source,
    }
}

fn mtime_of(ns: i64) -> Option<SystemTime> {
    if ns <= 0 {
        return None;
    }
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_nanos(ns as u64))
}

fn hash_of(path: &Path, meta: &fs::Metadata) -> Option<Hash> {
    if meta.is_file() {
        crate::scan::hash_file(path).ok().map(|(h, _)| h)
    } else if meta.file_type().is_symlink() {
        fs::read_link(path)
            .ok()
            .map(|t| *blake3::hash(relpath::bytes_of(t.as_os_str())).as_bytes())
    } else {
        None
    }
}

#[cfg(unix)]
fn set_mode(f: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let bits = mode & 0o777;
    if bits == 0 {
        return Ok(());
    }
    // Only owner-writable modes: a file we cannot write again would block the next sync.
    f.set_permissions(fs::Permissions::from_mode(bits | 0o600))
}

#[cfg(not(unix))]
fn set_mode(_f: &File, _mode: u32) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn write_symlink(tmp: &Path, target: &[u8]) -> io::Result<()> {
    std::os::unix::fs::symlink(relpath::os_str(target), tmp)
}

#[cfg(not(unix))]
fn write_symlink(_tmp: &Path, _target: &[u8]) -> io::Result<()> {
    Err(io::Error::other(
        "symbolic links are not supported on this system",
    ))
}
