//! Content hashing and stat keys.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;
use std::time::Duration;

use crate::store::StatKey;

use super::progress::Ticker;

/// Read size: large enough for BLAKE3's SIMD/rayon paths, small enough to stay in cache.
const CHUNK: usize = 256 * 1024;
/// Files at least this big hash each chunk with rayon (below, the fork/join costs more than it saves).
const RAYON_MIN_FILE: u64 = 4 * 1024 * 1024;
/// How many times a file that changes while being read is re-read before giving up.
const RETRIES: u32 = 3;

/// StatKey of a path without following symlinks (pass metadata from `symlink_metadata`).
#[cfg(unix)]
pub fn stat_key(meta: &fs::Metadata) -> StatKey {
    use std::os::unix::fs::MetadataExt;
    StatKey {
        size: meta.size(),
        // i64 nanoseconds cover years 1678..2262; saturate rather than wrap outside.
        mtime_ns: meta
            .mtime()
            .saturating_mul(1_000_000_000)
            .saturating_add(meta.mtime_nsec()),
        inode: meta.ino(),
        mode: meta.mode() & 0o7777,
    }
}

/// Streams a file through BLAKE3; returns (hash, bytes read).
pub fn hash_file(path: &Path) -> io::Result<([u8; 32], u64)> {
    let file = File::open(path)?;
    let size = file.metadata()?.len();
    hash_reader(file, size, None)
}

fn hash_reader(
    mut file: File,
    size_hint: u64,
    ticker: Option<&Ticker<'_>>,
) -> io::Result<([u8; 32], u64)> {
    // Small files get a small buffer: a 256 KiB allocation per tiny file would be
    // an mmap/munmap pair each, which dominates a first scan of many small files.
    let cap = (size_hint.saturating_add(1)).clamp(8 * 1024, CHUNK as u64) as usize;
    let mut buf = vec![0u8; cap];
    let use_rayon = size_hint >= RAYON_MIN_FILE;
    let mut hasher = blake3::Hasher::new();
    let mut total = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if use_rayon {
            hasher.update_rayon(&buf[..n]);
        } else {
            hasher.update(&buf[..n]);
        }
        total += n as u64;
        if let Some(t) = ticker {
            t.add_bytes(n as u64);
        }
    }
    Ok((*hasher.finalize().as_bytes(), total))
}

/// Hashes a regular file and returns the stat key the hash belongs to.
///
/// The key is taken from the open descriptor before reading and compared with a
/// fresh lstat afterwards: if they differ (or the byte count disagrees with the
/// size) the file changed under us and the hash may mix two versions, so retry.
/// Comparing against lstat also catches the path being swapped for a symlink
/// after the walk (the descriptor then points at the link's target).
pub(crate) fn hash_stable(path: &Path, ticker: &Ticker<'_>) -> Result<(StatKey, [u8; 32]), String> {
    for attempt in 0..=RETRIES {
        if attempt > 0 {
            // A writer is usually mid-save; give it a moment instead of spinning.
            std::thread::sleep(Duration::from_millis(20 * u64::from(attempt)));
        }
        let file = File::open(path).map_err(|e| e.to_string())?;
        let meta = file.metadata().map_err(|e| e.to_string())?;
        if !meta.is_file() {
            return Err("no longer a regular file".into());
        }
        let before = stat_key(&meta);
        let (hash, read) =
            hash_reader(file, before.size, Some(ticker)).map_err(|e| e.to_string())?;
        let after_meta = fs::symlink_metadata(path).map_err(|e| e.to_string())?;
        if after_meta.is_file() && stat_key(&after_meta) == before && read == before.size {
            return Ok((before, hash));
        }
    }
    Err("changing while being read".into())
}
