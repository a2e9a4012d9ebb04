//! SQLite state of one installation: device identity, folders, the file index,
//! remote caches and job history. WAL mode; one writer connection, one reader.
//!
//! The `Store` methods live next to the tables they touch: `device.rs`,
//! `folders.rs`, `index.rs`, `cache.rs`, `jobs.rs`; the schema is in `schema.rs`.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::model::JobId;

mod cache;
mod device;
mod folders;
mod gateway;
mod index;
mod jobs;
mod push_state;
mod rate_hits;
mod schema;
mod settings;
mod tokens;

pub use gateway::{GatewayFileOp, GatewayFileRow, GatewayTokenRow};
pub use jobs::FinishedJob;

pub use push_state::PushHash;

/// Stat fields used as the index cache key: unchanged key = unchanged content.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StatKey {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub mode: u32,
}

/// One row of a folder's file index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexRow {
    /// Stat key at the last scan (None: not present locally when last synced).
    pub stat: Option<StatKey>,
    /// BLAKE3 of the content (file) or link target (symlink) at the last scan.
    pub hash: Option<[u8; 32]>,
}

/// This installation's identity in every repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// 16 lowercase hex chars, random, generated once per state dir.
    pub id: String,
    /// 32 lowercase hex chars, random, generated once per state dir.
    pub nonce: String,
}

/// Per-folder sync bookkeeping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FolderState {
    /// Snapshot this device last committed for the folder (None: never synced / base reset).
    pub base_snapshot: Option<String>,
    /// Snapshot id written to our head by the last completed sync.
    pub head_written: Option<String>,
    /// Snapshot id we were about to write to our head (crash between the two is tolerated).
    pub head_pending: Option<String>,
    pub last_sync_at: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the state directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "cannot open the state database {path}: {source} (check that the file is readable and writable and not damaged)"
    )]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("a folder named {0:?} already exists")]
    FolderExists(String),
    #[error("no folder named {0:?}")]
    UnknownFolder(String),
    #[error("no job with id {0}")]
    UnknownJob(JobId),
    #[error(
        "state database was written by a newer Syncdesk (schema {found}, this build knows {known})"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("corrupt value in the state database: {0}")]
    Corrupt(String),
    #[error("invalid request to the state database: {0}")]
    Invalid(String),
    #[error("cannot encode {what} for the state database: {source}")]
    Encode {
        what: &'static str,
        source: serde_json::Error,
    },
    #[error("cannot get random bytes from the operating system for this device's identity: {0}")]
    Random(getrandom::Error),
}

/// The state database of one state directory.
///
/// All writes go through `writer`, each in an IMMEDIATE transaction (it takes the
/// write lock up front, so a multi-statement write never fails half-way on a lock
/// held by another process). Reads use one of `readers`, so under WAL they never wait
/// behind a long write, and several readers (API requests, the UI) run side by side.
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    /// Job counts per listing filter, with the job list version they were counted at.
    job_counts: Mutex<HashMap<String, (i64, u64)>>,
}

/// Read connections: enough for the HTTP API's concurrent requests on a small machine.
const READERS: usize = 4;

/// Several processes (desktop app, CLI) may share a state dir; wait for each other.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

impl Store {
    /// Creates `state_dir` if needed and opens `state_dir/state.db`: WAL journal, synchronous=NORMAL,
    /// busy_timeout 10 s (several processes may share a state dir), foreign keys on; runs migrations
    /// keyed on PRAGMA user_version (refuse a newer schema with StoreError::SchemaTooNew).
    /// One connection for writes (all writes go through it, in transactions) and a few for
    /// reads, so readers never wait behind a long write (WAL).
    pub fn open(state_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(state_dir).map_err(|source| StoreError::CreateDir {
            path: state_dir.display().to_string(),
            source,
        })?;
        let db_path = state_dir.join("state.db");
        let open_err = |source| StoreError::Open {
            path: db_path.display().to_string(),
            source,
        };

        let mut writer = Connection::open(&db_path).map_err(open_err)?;
        configure(&writer).map_err(open_err)?;
        let mode: String = writer
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .map_err(open_err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            // Some filesystems (network shares) cannot do WAL; SQLite then keeps its
            // rollback journal, which is still correct, only readers may wait on writers.
            tracing::warn!(path = %db_path.display(), mode, "state database is not in WAL mode");
        }
        schema::migrate(&mut writer)?;

        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let reader = Connection::open(&db_path).map_err(open_err)?;
            configure(&reader).map_err(open_err)?;
            // Guards the split: a write slipping into a read path fails loudly.
            reader
                .pragma_update(None, "query_only", true)
                .map_err(open_err)?;
            readers.push(Mutex::new(reader));
        }

        Ok(Store {
            writer: Mutex::new(writer),
            readers,
            job_counts: Mutex::new(HashMap::new()),
        })
    }

    /// Runs `f` in an IMMEDIATE transaction on the writer and commits if it succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a read transaction on the reader: one consistent snapshot for
    /// queries that belong together (a count and its page, a check and its rows).
    fn read<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.reader();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Deferred)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

impl Store {
    fn job_counts(&self) -> MutexGuard<'_, HashMap<String, (i64, u64)>> {
        self.job_counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A free reader if there is one, else the first (waiting for it).
    fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            match reader.try_lock() {
                Ok(conn) => return conn,
                Err(std::sync::TryLockError::Poisoned(p)) => return p.into_inner(),
                Err(std::sync::TryLockError::WouldBlock) => {}
            }
        }
        lock(&self.readers[0])
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    Ok(())
}

fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while the lock was held leaves the connection usable: an open
    // rusqlite Transaction rolls back when it is dropped during unwinding.
    conn.lock().unwrap_or_else(PoisonError::into_inner)
}

fn folder_exists(tx: &Transaction<'_>, name: &str) -> Result<bool, StoreError> {
    let mut stmt = tx.prepare_cached("SELECT 1 FROM folders WHERE name = ?1")?;
    Ok(stmt.exists([name])?)
}

/// Fails with UnknownFolder unless a folder named `name` exists.
fn require_folder(tx: &Transaction<'_>, name: &str) -> Result<(), StoreError> {
    if folder_exists(tx, name)? {
        Ok(())
    } else {
        Err(StoreError::UnknownFolder(name.to_owned()))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::model::Folder;

    pub(crate) fn open_temp() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        (dir, store)
    }

    pub(crate) fn folder(name: &str) -> Folder {
        Folder {
            name: name.to_owned(),
            path: PathBuf::from(format!("/home/me/{name}")),
            remote: "/mnt/backup".to_owned(),
            cloud_name: "main".to_owned(),
            enabled: true,
            sync_mode: crate::model::SyncMode::Automatic,
            interval_secs: crate::model::DEFAULT_INTERVAL_SECS,
            watch: true,
            encrypted: false,
        }
    }

    #[test]
    fn store_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Store>();
    }

    #[test]
    fn open_creates_the_state_dir_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested").join("state");
        let store = Store::open(&state).unwrap();
        store.add_folder(&folder("docs")).unwrap();
        drop(store);
        assert!(state.join("state.db").is_file());
        let store = Store::open(&state).unwrap();
        assert_eq!(store.folders().unwrap(), vec![folder("docs")]);
    }

    #[test]
    fn open_refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let conn = Connection::open(dir.path().join("state.db")).unwrap();
        conn.pragma_update(None, "user_version", schema::SCHEMA_VERSION + 1)
            .unwrap();
        drop(conn);
        match Store::open(dir.path()) {
            Err(StoreError::SchemaTooNew { found, known }) => {
                assert_eq!(
                    (found, known),
                    (schema::SCHEMA_VERSION + 1, schema::SCHEMA_VERSION)
                );
            }
            other => panic!("expected SchemaTooNew, got {:?}", other.err()),
        }
    }

    #[test]
    fn open_reports_a_state_dir_that_cannot_be_created() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        let err = Store::open(&file.join("state")).err().unwrap();
        assert!(matches!(err, StoreError::CreateDir { .. }), "{err:?}");
    }
}
