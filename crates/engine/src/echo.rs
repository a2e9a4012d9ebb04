//! What the engine itself just did to synced folders, so the watcher can tell a sync's own
//! writes from a person's and does not answer every download with another sync.
//!
//! The applier records each path it wrote (with the stat it left), created as a directory,
//! or removed. A watcher event for a path that is still exactly as recorded is an echo.
//! A record is kept while it matches, because one write shows up as several watcher events
//! (create, rename over, the old file moved to the trash) that may arrive in different
//! debounce batches; any later change alters the stat (or existence) and consumes it. Records
//! expire after a minute: echoes arrive within seconds.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::events::lock;
use crate::scan::stat_key;
use crate::store::StatKey;

/// How long a record can suppress events.
pub const ECHO_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Left {
    /// A file or symlink with this stat.
    Entry(StatKey),
    Dir,
    Nothing,
}

#[derive(Debug, Clone, Copy)]
struct Record {
    left: Left,
    at: Instant,
}

#[derive(Debug)]
struct Records {
    by_path: HashMap<PathBuf, Record>,
    last_prune: Instant,
}

/// Shared by every sync of an engine (writers) and its watcher (reader).
#[derive(Debug)]
pub struct EchoLog {
    records: Mutex<Records>,
}

impl Default for EchoLog {
    fn default() -> Self {
        EchoLog {
            records: Mutex::new(Records {
                by_path: HashMap::new(),
                last_prune: Instant::now(),
            }),
        }
    }
}

impl EchoLog {
    /// The engine wrote a file or symlink at `path`; `stat` is its lstat right after.
    pub fn wrote(&self, path: &Path, stat: StatKey) {
        self.record(path, Left::Entry(stat), Instant::now());
    }

    pub fn made_dir(&self, path: &Path) {
        self.record(path, Left::Dir, Instant::now());
    }

    /// The engine removed `path` (moved it to the trash, or removed an empty directory).
    pub fn removed(&self, path: &Path) {
        self.record(path, Left::Nothing, Instant::now());
    }

    /// True if `path` is still as the engine recently left it: an event for it is an echo.
    pub fn is_echo(&self, path: &Path) -> bool {
        self.is_echo_at(path, Instant::now())
    }

    fn record(&self, path: &Path, left: Left, now: Instant) {
        let mut r = lock(&self.records);
        // Pruned at most once per TTL, so a big download does not rescan the map per file.
        if now.saturating_duration_since(r.last_prune) >= ECHO_TTL {
            r.by_path
                .retain(|_, rec| now.saturating_duration_since(rec.at) < ECHO_TTL);
            r.last_prune = now;
        }
        r.by_path
            .insert(path.to_path_buf(), Record { left, at: now });
    }

    fn is_echo_at(&self, path: &Path, now: Instant) -> bool {
        // Looked at before taking the lock: a stat may be slow, the applier waits on the lock.
        let current = match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => Some(Left::Dir),
            Ok(m) => Some(Left::Entry(stat_key(&m))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Some(Left::Nothing),
            // Cannot tell: let the sync look.
            Err(_) => None,
        };
        let mut r = lock(&self.records);
        let Some(rec) = r.by_path.get(path).copied() else {
            return false;
        };
        let echo = now.saturating_duration_since(rec.at) < ECHO_TTL && current == Some(rec.left);
        if !echo {
            r.by_path.remove(path);
        }
        echo
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.records).by_path.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat_of(p: &Path) -> StatKey {
        stat_key(&fs::symlink_metadata(p).unwrap())
    }

    #[test]
    fn a_path_left_as_recorded_is_an_echo_until_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        fs::write(&f, b"from the remote").unwrap();
        let echoes = EchoLog::default();
        echoes.wrote(&f, stat_of(&f));
        assert!(echoes.is_echo(&f));
        assert!(
            echoes.is_echo(&f),
            "several events of one write are all echoes"
        );
        // A person edits it: no longer ours, and the record is gone for good.
        fs::write(&f, b"edited by hand, longer").unwrap();
        assert!(!echoes.is_echo(&f));
        assert_eq!(echoes.len(), 0);
        assert!(!echoes.is_echo(&dir.path().join("never-recorded")));
    }

    #[test]
    fn removals_and_directories_are_echoes_only_while_still_true() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.txt");
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        let echoes = EchoLog::default();
        echoes.removed(&gone);
        echoes.made_dir(&sub);
        // Files added later change the directory's mtime: still our directory.
        fs::write(sub.join("x"), b"x").unwrap();
        assert!(echoes.is_echo(&gone));
        assert!(echoes.is_echo(&sub));
        // Someone creates the removed path again.
        fs::write(&gone, b"back").unwrap();
        assert!(!echoes.is_echo(&gone));
    }

    #[test]
    fn records_expire_after_a_minute() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.txt");
        fs::write(&f, b"x").unwrap();
        let echoes = EchoLog::default();
        let t0 = Instant::now();
        echoes.record(&f, Left::Entry(stat_of(&f)), t0);
        assert!(echoes.is_echo_at(&f, t0 + ECHO_TTL - Duration::from_secs(1)));
        assert!(!echoes.is_echo_at(&f, t0 + ECHO_TTL));
        assert_eq!(echoes.len(), 0);
        // Old records are dropped when new ones arrive, even if nobody asks about them.
        echoes.record(&f, Left::Nothing, t0);
        echoes.record(&dir.path().join("b"), Left::Nothing, t0 + 2 * ECHO_TTL);
        assert_eq!(echoes.len(), 1);
    }
}
