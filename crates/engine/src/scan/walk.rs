//! The parallel directory walk: lists every path, applies ignore rules, stats each
//! entry once and decides which files need hashing.

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::sync::Mutex;

use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};

use super::hashing::stat_key;
use super::progress::Ticker;
use super::{IGNORE_FILE, LocalEntry, LocalKind, STATE_DIR, ScanError, is_temp_name};
use crate::relpath::{RelPath, bytes_of};
use crate::store::{IndexRow, StatKey};

/// What the walk learnt about one path.
pub(crate) enum Found {
    /// Fully known: directories, symlinks and files served from the index cache.
    Entry(RelPath, LocalEntry),
    /// A regular file whose content must be hashed.
    Hash(RelPath),
    Unreadable(RelPath, String),
    Skipped(RelPath, String),
    /// One of our temp files: left behind by an interrupted write.
    Temp(RelPath),
}

pub(crate) struct Walk<'a> {
    pub root: &'a Path,
    pub index: &'a HashMap<RelPath, IndexRow>,
    /// Cached hashes are trusted only for mtimes at or before this (scan start - 2 s).
    pub trust_mtime_until_ns: i64,
    pub force_rehash: bool,
    pub ticker: &'a Ticker<'a>,
}

/// Shared sink of the walker threads.
struct Sink<'w, 'a> {
    walk: &'w Walk<'a>,
    found: Mutex<Vec<Vec<Found>>>,
    fatal: Mutex<Option<ScanError>>,
}

impl Walk<'_> {
    /// Walks the tree; `Err` only for problems that make the whole scan meaningless
    /// (root unreadable, a broken `.syncignore`).
    pub(crate) fn run(&self) -> Result<Vec<Found>, ScanError> {
        let mut builder = WalkBuilder::new(self.root);
        builder
            .standard_filters(false)
            .hidden(false)
            .parents(false)
            .ignore(false)
            .git_ignore(false)
            .git_global(false)
            .git_exclude(false)
            .follow_links(false)
            .same_file_system(false)
            .threads(0)
            .add_custom_ignore_filename(IGNORE_FILE)
            .filter_entry(|dent| {
                let name = bytes_of(dent.file_name());
                // Depth 0 is the root itself, whatever it is called.
                dent.depth() == 0 || !(dent.depth() == 1 && name == STATE_DIR.as_bytes())
            });
        let sink = Sink {
            walk: self,
            found: Mutex::new(Vec::new()),
            fatal: Mutex::new(None),
        };
        builder.build_parallel().visit(&mut VisitorBuilder(&sink));
        // A poisoned lock only means a visitor panicked, which already propagated
        // out of `visit`; the data is still whole, so take it either way.
        if let Some(err) = sink.fatal.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Err(err);
        }
        let found = sink.found.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok(found.into_iter().flatten().collect())
    }
}

struct VisitorBuilder<'s, 'w, 'a>(&'s Sink<'w, 'a>);

impl<'s> ParallelVisitorBuilder<'s> for VisitorBuilder<'s, '_, '_> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            sink: self.0,
            found: Vec::new(),
        })
    }
}

/// One per walker thread: collects locally, hands over on drop (no per-entry locking).
struct Visitor<'s, 'w, 'a> {
    sink: &'s Sink<'w, 'a>,
    found: Vec<Found>,
}

impl Drop for Visitor<'_, '_, '_> {
    fn drop(&mut self) {
        let found = std::mem::take(&mut self.found);
        self.sink
            .found
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(found);
    }
}

impl ParallelVisitor for Visitor<'_, '_, '_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(dent) => self.visit_entry(&dent),
            Err(err) => self.visit_error(err),
        }
    }
}

impl Visitor<'_, '_, '_> {
    fn fail(&self, err: ScanError) -> WalkState {
        let mut slot = self.sink.fatal.lock().unwrap_or_else(|e| e.into_inner());
        slot.get_or_insert(err);
        WalkState::Quit
    }

    fn rel(&self, path: &Path) -> Option<RelPath> {
        // Every path the walker yields is the root joined with names read from disk.
        path.strip_prefix(self.sink.walk.root)
            .ok()
            .map(|p| bytes_of(p.as_os_str()).to_vec())
    }

    /// Errors the walker reports itself: mostly unreadable directories.
    fn visit_error(&mut self, err: ignore::Error) -> WalkState {
        let path = first_path(&err).map(Path::to_path_buf);
        match path.as_deref().and_then(|p| self.rel(p)) {
            Some(rel) if !rel.is_empty() => {
                self.found.push(Found::Unreadable(rel, message(&err)));
                WalkState::Continue
            }
            // The root itself could not be listed: an empty result would read as
            // "everything was deleted", so the scan must fail instead.
            _ => {
                let msg = message(&err);
                let source = err
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other(msg));
                self.fail(ScanError::Io {
                    path: path.unwrap_or_else(|| self.sink.walk.root.to_path_buf()),
                    source,
                })
            }
        }
    }

    fn visit_entry(&mut self, dent: &DirEntry) -> WalkState {
        if dent.depth() > 0 && is_temp_name(bytes_of(dent.file_name())) {
            if let Some(rel) = self.rel(dent.path()) {
                self.found.push(Found::Temp(rel));
            }
            return WalkState::Skip;
        }
        if let Some(err) = dent.error() {
            // Only directories carry errors: their `.syncignore` could not be read or
            // parsed. Scanning on without those rules could upload what the user
            // meant to keep out, so stop.
            let path = first_path(err)
                .map(Path::to_path_buf)
                .unwrap_or_else(|| dent.path().join(IGNORE_FILE));
            return self.fail(ScanError::BadIgnoreFile {
                path,
                msg: message(err),
            });
        }
        if dent.depth() == 0 {
            return WalkState::Continue;
        }
        let path = dent.path();
        let Some(rel) = self.rel(path) else {
            // Unreachable (see `rel`); skipping is harmless because nothing outside
            // the root may be synced anyway.
            return WalkState::Skip;
        };
        let walk = self.sink.walk;
        walk.ticker.add_file();
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(e) => {
                self.found.push(Found::Unreadable(rel, e.to_string()));
                return WalkState::Skip;
            }
        };
        let ft = meta.file_type();
        // The walker decided whether to descend from the type readdir reported. If
        // the path changed type since, its listing (or lack of one) is wrong: a
        // file turned directory would look empty, a directory turned symlink
        // would have been listed through the link.
        if let Some(seen) = dent.file_type()
            && (seen.is_dir() != ft.is_dir() || seen.is_symlink() != ft.is_symlink())
        {
            self.found.push(Found::Unreadable(
                rel,
                "changed type during the scan".into(),
            ));
            return WalkState::Skip;
        }
        let stat = stat_key(&meta);
        if ft.is_dir() {
            self.found.push(Found::Entry(
                rel,
                entry(LocalKind::Dir, stat, [0; 32], None),
            ));
        } else if ft.is_symlink() {
            match fs::read_link(path) {
                Ok(target) => {
                    let target = bytes_of(target.as_os_str()).to_vec();
                    let hash = *blake3::hash(&target).as_bytes();
                    self.found.push(Found::Entry(
                        rel,
                        entry(LocalKind::Symlink, stat, hash, Some(target)),
                    ));
                }
                Err(e) => self.found.push(Found::Unreadable(rel, e.to_string())),
            }
        } else if ft.is_file() {
            match self.cached_hash(&rel, stat) {
                Some(hash) => self
                    .found
                    .push(Found::Entry(rel, entry(LocalKind::File, stat, hash, None))),
                None => self.found.push(Found::Hash(rel)),
            }
        } else {
            self.found.push(Found::Skipped(rel, special_reason(&ft)));
        }
        WalkState::Continue
    }

    /// The index's hash, if it can be trusted for this stat (see [`super::scan`]).
    fn cached_hash(&self, rel: &[u8], stat: StatKey) -> Option<[u8; 32]> {
        let walk = self.sink.walk;
        if walk.force_rehash || stat.mtime_ns > walk.trust_mtime_until_ns {
            return None;
        }
        let row = walk.index.get(rel)?;
        if row.stat != Some(stat) {
            return None;
        }
        row.hash
    }
}

fn entry(
    kind: LocalKind,
    stat: StatKey,
    hash: [u8; 32],
    link_target: Option<Vec<u8>>,
) -> LocalEntry {
    LocalEntry {
        kind,
        stat,
        hash,
        link_target,
    }
}

#[cfg(unix)]
fn special_reason(ft: &fs::FileType) -> String {
    use std::os::unix::fs::FileTypeExt;
    let what = if ft.is_socket() {
        "a socket"
    } else if ft.is_fifo() {
        "a named pipe (FIFO)"
    } else if ft.is_block_device() {
        "a block device"
    } else if ft.is_char_device() {
        "a character device"
    } else {
        "a special file"
    };
    format!("{what}; only files, directories and symlinks are synced")
}

/// The first path mentioned anywhere in an ignore error.
fn first_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            first_path(err)
        }
        ignore::Error::Partial(errs) => errs.iter().find_map(first_path),
        _ => None,
    }
}

/// An ignore error without its path prefixes (the caller shows the path separately).
fn message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. } | ignore::Error::WithDepth { err, .. } => message(err),
        ignore::Error::WithLineNumber { line, err } => format!("line {line}: {}", message(err)),
        ignore::Error::Partial(errs) => errs.iter().map(message).collect::<Vec<_>>().join("; "),
        other => other.to_string(),
    }
}
