//! The disk side of a write: comparing content, getting a staged file onto the target's
//! filesystem, and the stash of synced files a local-only write covers.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::{GatewayError, STASH_DIR, state_subdir};
use crate::relpath::{self, RelPath};
use crate::scan::temp_name;

const CHUNK: usize = 256 * 1024;

/// The file at `path` holds exactly what `other` (a reader of `len` bytes) does.
fn same_as(path: &Path, len: u64, mut other: impl Read) -> io::Result<bool> {
    let mut file = File::open(path)?;
    if file.metadata()?.len() != len {
        return Ok(false);
    }
    let mut a = vec![0u8; CHUNK];
    let mut b = vec![0u8; CHUNK];
    loop {
        let n = read_full(&mut file, &mut a)?;
        let m = read_full(&mut other, &mut b[..n.max(1)])?;
        if n != m || a[..n] != b[..m] {
            return Ok(false);
        }
        if n == 0 {
            return Ok(true);
        }
    }
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// The regular file at `path` (already lstat'ed) holds `bytes`.
pub(super) fn file_equals_bytes(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    same_as(path, bytes.len() as u64, bytes)
}

/// The regular file at `path` holds what `staged` does.
pub(super) fn file_equals_file(path: &Path, staged: &Path) -> io::Result<bool> {
    let other = File::open(staged)?;
    let len = other.metadata()?.len();
    same_as(path, len, other)
}

/// The filesystem (device) of the deepest existing directory of `dir`'s ancestry.
#[cfg(unix)]
pub(super) fn device_of(mut dir: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    loop {
        match fs::symlink_metadata(dir) {
            Ok(m) => return Ok(m.dev()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => match dir.parent() {
                Some(p) => dir = p,
                None => return Err(e),
            },
            Err(e) => return Err(e),
        }
    }
}

/// A copy of `src` next to its final place, for a target on another filesystem than the
/// staging directory (a mount inside the folder): the final step stays a rename. Removed
/// when dropped unless `keep` is called.
pub(super) struct NearCopy {
    pub path: PathBuf,
    kept: bool,
}

impl NearCopy {
    pub(super) fn make(src: &Path, dir: &Path, name: &[u8]) -> Result<NearCopy, GatewayError> {
        let nonce = crate::random::u64().map_err(|e| GatewayError::from_io("the upload", e))?;
        let path = dir.join(relpath::os_str(&temp_name(name, nonce)));
        let copy = NearCopy { path, kept: false };
        let done = File::create_new(&copy.path).and_then(|mut out| {
            io::copy(&mut File::open(src)?, &mut out)?;
            out.sync_all()
        });
        done.map_err(|e| GatewayError::from_io("the upload", e))?;
        Ok(copy)
    }

    pub(super) fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for NearCopy {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn stash_path(root: &Path, rel: &[u8]) -> PathBuf {
    relpath::to_path(&state_subdir(root, STASH_DIR), rel)
}

/// Keeps the synced file (or link) at `rel` aside, as a hard link (a copy where links are
/// not possible), before a local-only write covers it: when that expires, it comes back. A
/// stash already there is the older original and is kept.
pub(super) fn stash(root: &Path, rel: &[u8]) -> Result<(), GatewayError> {
    let to = stash_path(root, rel);
    if fs::symlink_metadata(&to).is_ok() {
        return Ok(());
    }
    let from = relpath::to_path(root, rel);
    let err = |e| GatewayError::from_io(&relpath::display(rel), e);
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(err)?;
    }
    if fs::hard_link(&from, &to).is_ok() {
        return Ok(());
    }
    let meta = fs::symlink_metadata(&from).map_err(err)?;
    let copied = if meta.file_type().is_symlink() {
        fs::read_link(&from).and_then(|t| symlink(&t, &to))
    } else {
        fs::copy(&from, &to).map(drop)
    };
    copied.map_err(|e| {
        let _ = fs::remove_file(&to);
        err(e)
    })
}

#[cfg(unix)]
fn symlink(target: &Path, at: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

pub(super) fn has_stash(root: &Path, rel: &[u8]) -> bool {
    fs::symlink_metadata(stash_path(root, rel)).is_ok()
}

/// Puts the stashed original of `rel` back, if there is one and the path is free. True when
/// it did.
pub(super) fn unstash(root: &Path, rel: &[u8]) -> io::Result<bool> {
    let from = stash_path(root, rel);
    if fs::symlink_metadata(&from).is_err() {
        return Ok(false);
    }
    let to = relpath::to_path(root, rel);
    if fs::symlink_metadata(&to).is_ok() {
        // Something new is there: the original is not needed (the trash has it too).
        fs::remove_file(&from)?;
        return Ok(false);
    }
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent)?;
    }
    fs::rename(&from, &to)?;
    Ok(true)
}

/// Drops the stashed originals at and below `rel`: the path was written or deleted for good
/// (the original went to the trash when it was first covered).
pub(super) fn drop_stash(root: &Path, rel: &[u8]) {
    let at = stash_path(root, rel);
    let done = match fs::symlink_metadata(&at) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(&at),
        Ok(_) => fs::remove_file(&at),
        Err(_) => Ok(()),
    };
    if let Err(e) = done {
        tracing::warn!(path = %at.display(), "cannot remove a stashed original: {e}");
    }
}

/// The stashed paths at or below `rel`, for expiry to restore.
pub(super) fn stashed_below(root: &Path, rel: &[u8]) -> Vec<RelPath> {
    let base = state_subdir(root, STASH_DIR);
    let mut out = Vec::new();
    let mut todo = vec![rel.to_vec()];
    while let Some(p) = todo.pop() {
        match fs::symlink_metadata(relpath::to_path(&base, &p)) {
            Ok(m) if m.is_dir() => {
                if let Ok(rd) = fs::read_dir(relpath::to_path(&base, &p)) {
                    for e in rd.filter_map(Result::ok) {
                        todo.push(relpath::join(&p, relpath::bytes_of(&e.file_name())));
                    }
                }
            }
            Ok(_) => out.push(p),
            Err(_) => {}
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_comparison() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        let b = dir.path().join("b");
        let big: Vec<u8> = (0..CHUNK * 2 + 7).map(|i| (i % 251) as u8).collect();
        fs::write(&a, &big).unwrap();
        fs::write(&b, &big).unwrap();
        assert!(file_equals_bytes(&a, &big).unwrap());
        assert!(file_equals_file(&a, &b).unwrap());
        let mut other = big.clone();
        *other.last_mut().unwrap() ^= 1;
        fs::write(&b, &other).unwrap();
        assert!(!file_equals_file(&a, &b).unwrap());
        assert!(!file_equals_bytes(&a, &other).unwrap());
        assert!(!file_equals_bytes(&a, &big[1..]).unwrap());
        fs::write(&a, b"").unwrap();
        assert!(file_equals_bytes(&a, b"").unwrap());
    }

    #[test]
    fn stash_and_unstash() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("d")).unwrap();
        fs::write(root.join("d/a.txt"), b"original").unwrap();
        stash(root, b"d/a.txt").unwrap();
        assert!(has_stash(root, b"d/a.txt"));
        // The overlay never writes in place: the original is moved away, the new one renamed in.
        fs::remove_file(root.join("d/a.txt")).unwrap();
        assert_eq!(stashed_below(root, b"d"), vec![b"d/a.txt".to_vec()]);
        assert!(unstash(root, b"d/a.txt").unwrap());
        assert_eq!(fs::read(root.join("d/a.txt")).unwrap(), b"original");
        assert!(!has_stash(root, b"d/a.txt"));
        assert!(!unstash(root, b"d/a.txt").unwrap());
        stash(root, b"d/a.txt").unwrap();
        drop_stash(root, b"d");
        assert!(!has_stash(root, b"d/a.txt"));
    }
}
