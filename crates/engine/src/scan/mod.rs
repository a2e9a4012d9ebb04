//! Local folder scan: what is on disk now, with content hashes.
//!
//! A parallel walk stats every path once; files whose stat key matches the index
//! (and whose mtime is old enough to be trusted) reuse the cached hash, the rest
//! are hashed in parallel. Anything that cannot be read is reported separately so
//! the caller never mistakes it for a deletion.

mod hashing;
mod names;
mod progress;
mod walk;

#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::relpath::{self, RelPath};
use crate::store::{IndexRow, StatKey};

pub use hashing::{hash_file, stat_key};
pub use names::{is_temp_name, temp_name};

/// Folder marker and trash at the folder root; never synced.
pub const STATE_DIR: &str = ".syncdesk";
/// Ignore rules (gitignore syntax) at any level; the file itself is synced.
pub const IGNORE_FILE: &str = ".syncignore";
/// Our temp files are named `.<name>.syncdesk-tmp-<16 hex>` (see [`temp_name`]).
pub const TEMP_MARKER: &str = ".syncdesk-tmp";

/// A cached hash is trusted only if the mtime is at least this much older than the
/// scan start: a write within the same timestamp tick would leave the stat unchanged.
const MTIME_TRUST_NS: i64 = 2_000_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LocalKind {
    File,
    Dir,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalEntry {
    pub kind: LocalKind,
    /// From lstat. For files, the stat the hash was computed against.
    pub stat: StatKey,
    /// File: BLAKE3 of the content; Symlink: BLAKE3 of the target bytes; Dir: zeros.
    pub hash: [u8; 32],
    /// Symlink only: the raw target bytes (never followed).
    pub link_target: Option<Vec<u8>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanOptions {
    /// Ignore the index cache and hash every file.
    pub force_rehash: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanProgress {
    /// Paths (files, directories, symlinks, …) examined so far by the walk.
    pub files: u64,
    /// Bytes read through BLAKE3 so far.
    pub bytes_hashed: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    /// Every file, directory (empty ones too) and symlink; not the root itself.
    pub entries: BTreeMap<RelPath, LocalEntry>,
    /// Could not stat/read/hash, sorted. The caller must treat these as UNCHANGED,
    /// never as deleted. An unreadable directory stands for its whole subtree:
    /// nothing below it is in `entries`.
    pub unreadable: Vec<(RelPath, String)>,
    /// Groups (sorted, each of 2+ paths) of names in one directory that are equal
    /// after Unicode NFC + lowercasing: they would collide on macOS / Windows.
    pub clashes: Vec<Vec<RelPath>>,
    /// Sockets, FIFOs, devices: not synced; with the reason, sorted.
    pub skipped: Vec<(RelPath, String)>,
    /// Our own temp files (never synced): left by an interrupted sync when none is running.
    pub temp_files: Vec<RelPath>,
    /// Files hashed (index cache misses).
    pub files_hashed: u64,
    /// Bytes read through BLAKE3 (retries included).
    pub bytes_hashed: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(
        "the folder {path} does not exist; if it was moved or is on a drive that is not mounted, restore it or update the folder's path"
    )]
    RootMissing { path: PathBuf },
    #[error("{path} is not a directory; a synced folder must be a directory")]
    NotADirectory { path: PathBuf },
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot use the ignore file {path}: {msg}; fix or remove the offending line and sync again"
    )]
    BadIgnoreFile { path: PathBuf, msg: String },
}

/// Scans `root`: parallel walk honouring `.syncignore` files (never following
/// symlinks, skipping `<root>/.syncdesk/` and our temp files), then parallel
/// BLAKE3 hashing of every file the index cannot vouch for.
///
/// A cached `index[path].hash` is reused only when the row's stat equals the
/// current one, the mtime is at least 2 s older than the scan start and
/// `!opts.force_rehash`. A file whose stat changes while it is hashed is retried
/// up to 3 times, then reported unreadable. `progress` is called at most every
/// ~50 ms, and once at the end with the totals.
pub fn scan(
    root: &Path,
    index: &HashMap<RelPath, IndexRow>,
    opts: &ScanOptions,
    progress: &(dyn Fn(ScanProgress) + Sync),
) -> Result<ScanReport, ScanError> {
    check_root(root)?;
    let ticker = progress::Ticker::new(progress);
    let walk = walk::Walk {
        root,
        index,
        trust_mtime_until_ns: crate::clock::now_ns().saturating_sub(MTIME_TRUST_NS),
        force_rehash: opts.force_rehash,
        ticker: &ticker,
    };
    let found = walk.run()?;

    let mut report = ScanReport::default();
    let mut to_hash = Vec::new();
    for item in found {
        match item {
            walk::Found::Entry(rel, entry) => {
                report.entries.insert(rel, entry);
            }
            walk::Found::Hash(rel) => to_hash.push(rel),
            walk::Found::Unreadable(rel, msg) => report.unreadable.push((rel, msg)),
            walk::Found::Skipped(rel, msg) => report.skipped.push((rel, msg)),
            walk::Found::Temp(rel) => report.temp_files.push(rel),
        }
    }

    report.files_hashed = to_hash.len() as u64;
    let hashed: Vec<_> = to_hash
        .into_par_iter()
        .map(|rel| {
            let result = hashing::hash_stable(&relpath::to_path(root, &rel), &ticker);
            (rel, result)
        })
        .collect();
    for (rel, result) in hashed {
        match result {
            Ok((stat, hash)) => {
                let entry = LocalEntry {
                    kind: LocalKind::File,
                    stat,
                    hash,
                    link_target: None,
                };
                report.entries.insert(rel, entry);
            }
            Err(msg) => report.unreadable.push((rel, msg)),
        }
    }
    report.bytes_hashed = ticker.bytes();

    report.unreadable.sort();
    report.skipped.sort();
    prune_unreadable_subtrees(&mut report);
    report.clashes = find_clashes(
        report
            .entries
            .keys()
            .chain(report.unreadable.iter().map(|(rel, _)| rel)),
    );
    ticker.emit();
    Ok(report)
}

pub fn check_root(root: &Path) -> Result<(), ScanError> {
    let meta = match fs::metadata(root) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ScanError::RootMissing {
                path: root.to_path_buf(),
            });
        }
        Err(source) => {
            return Err(ScanError::Io {
                path: root.to_path_buf(),
                source,
            });
        }
    };
    if !meta.is_dir() {
        return Err(ScanError::NotADirectory {
            path: root.to_path_buf(),
        });
    }
    Ok(())
}

/// Drops everything at or below an unreadable path from `entries` and `skipped`:
/// a directory whose listing failed must not report a partial subtree.
fn prune_unreadable_subtrees(report: &mut ScanReport) {
    for (rel, _) in &report.unreadable {
        report.entries.remove(rel);
        let mut lo = rel.clone();
        lo.push(b'/');
        let mut hi = rel.clone();
        // '0' is the byte after '/': [rel/, rel0) is exactly the subtree.
        hi.push(b'0');
        let below: Vec<RelPath> = report
            .entries
            .range(lo.clone()..hi)
            .map(|(k, _)| k.clone())
            .collect();
        for key in below {
            report.entries.remove(&key);
        }
        report.skipped.retain(|(s, _)| !s.starts_with(&lo));
    }
}

/// Parent directory and folded name: two paths with the same key clash.
type ClashKey<'a> = (&'a [u8], Cow<'a, [u8]>);

fn find_clashes<'a>(paths: impl Iterator<Item = &'a RelPath>) -> Vec<Vec<RelPath>> {
    let mut by_key: HashMap<ClashKey<'a>, Vec<&'a RelPath>> = HashMap::new();
    for path in paths {
        let (parent, name) = relpath::split(path);
        by_key
            .entry((parent, names::clash_key(name)))
            .or_default()
            .push(path);
    }
    let mut groups: Vec<Vec<RelPath>> = by_key
        .into_values()
        .filter(|group| group.len() > 1)
        .map(|group| {
            let mut group: Vec<RelPath> = group.into_iter().cloned().collect();
            group.sort();
            group
        })
        .collect();
    groups.sort();
    groups
}
