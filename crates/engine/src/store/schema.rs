//! Schema migrations, keyed on `PRAGMA user_version`.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`. Append only:
/// a released step never changes, since installed databases already ran it.
const MIGRATIONS: &[&str] = &[
    // 1: initial schema.
    r#"
    CREATE TABLE device (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        id TEXT NOT NULL,
        nonce TEXT NOT NULL
    );

    CREATE TABLE logical_clock (
        singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
        -- Last value handed out; 0 before the first reservation.
        value INTEGER NOT NULL
    );
    INSERT INTO logical_clock (singleton, value) VALUES (1, 0);

    CREATE TABLE folders (
        name TEXT PRIMARY KEY,
        -- Raw OS bytes on Unix, so any path round-trips.
        path BLOB NOT NULL,
        remote TEXT NOT NULL,
        cloud_name TEXT NOT NULL,
        enabled INTEGER NOT NULL,
        base_snapshot TEXT,
        head_written TEXT,
        head_pending TEXT,
        last_sync_at TEXT
    );

    -- stat columns are all NULL or all set; u64 values are stored with their bits as i64.
    CREATE TABLE file_index (
        folder TEXT NOT NULL REFERENCES folders (name) ON DELETE CASCADE,
        path BLOB NOT NULL,
        size INTEGER,
        mtime_ns INTEGER,
        inode INTEGER,
        mode INTEGER,
        hash BLOB,
        PRIMARY KEY (folder, path)
    ) WITHOUT ROWID;

    CREATE TABLE blob_locations (
        folder TEXT NOT NULL REFERENCES folders (name) ON DELETE CASCADE,
        hash BLOB NOT NULL,
        location BLOB NOT NULL,
        PRIMARY KEY (folder, hash)
    ) WITHOUT ROWID;

    CREATE TABLE trees (
        folder TEXT NOT NULL REFERENCES folders (name) ON DELETE CASCADE,
        id BLOB NOT NULL,
        bytes BLOB NOT NULL,
        PRIMARY KEY (folder, id)
    ) WITHOUT ROWID;

    -- No foreign key to folders: job history outlives a removed folder.
    -- AUTOINCREMENT: a job id is never reused, even after the newest jobs are deleted.
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        folder TEXT NOT NULL,
        job_type TEXT NOT NULL,
        trigger_type TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT,
        ended_at TEXT,
        error_message TEXT,
        metadata TEXT NOT NULL,
        stats TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        owner_pid INTEGER NOT NULL
    );
    -- Listings filter on one of these and page by id DESC: each index serves both.
    CREATE INDEX jobs_by_status ON jobs (status, id);
    CREATE INDEX jobs_by_folder ON jobs (folder, id);
    CREATE INDEX jobs_by_type ON jobs (job_type, id);
    CREATE INDEX jobs_by_trigger ON jobs (trigger_type, id);

    CREATE TABLE job_log (
        seq INTEGER PRIMARY KEY,
        job_id INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        level TEXT NOT NULL,
        msg TEXT NOT NULL
    );
    CREATE INDEX job_log_by_job ON job_log (job_id, seq);
    "#,
    // 2: per-folder background sync settings; app-wide settings.
    r#"
    ALTER TABLE folders ADD COLUMN sync_mode TEXT NOT NULL DEFAULT 'automatic';
    ALTER TABLE folders ADD COLUMN interval_secs INTEGER NOT NULL DEFAULT 300;
    ALTER TABLE folders ADD COLUMN watch INTEGER NOT NULL DEFAULT 1;

    -- Small app-wide values (paused, autostart, language); a missing key means the default.
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 3: the History view's most common combined filter (a folder's failed jobs).
    r#"
    CREATE INDEX jobs_by_folder_status ON jobs (folder, status, id);
    "#,
    // 4: end-to-end encrypted repositories (the passphrase itself is in the OS keyring).
    r#"
    ALTER TABLE folders ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
    "#,
    // 5: tokens of the local HTTP API: names and roles only, the tokens are in the OS keyring.
    r#"
    CREATE TABLE api_tokens (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    "#,
    // 6: a version of the job list, bumped by every change that can move a job in or out of a
    // listing, so the listing's total can be cached and still be exact (other processes too).
    r#"
    CREATE TABLE jobs_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    );
    INSERT INTO jobs_version (id, version) VALUES (1, 0);
    CREATE TRIGGER jobs_version_insert AFTER INSERT ON jobs
        BEGIN UPDATE jobs_version SET version = version + 1; END;
    CREATE TRIGGER jobs_version_update AFTER UPDATE OF status, folder, job_type, trigger_type ON jobs
        BEGIN UPDATE jobs_version SET version = version + 1; END;
    CREATE TRIGGER jobs_version_delete AFTER DELETE ON jobs
        BEGIN UPDATE jobs_version SET version = version + 1; END;
    "#,
    // 7: the gateway (seed 003): its tokens (the tokens themselves are in the OS keyring), who
    // wrote which file and which files stay local-only until they expire, and the hits counted
    // against its rate limits (kept so that a restart does not reset them).
    r#"
    CREATE TABLE gateway_tokens (
        name TEXT PRIMARY KEY,
        folder TEXT NOT NULL,
        account TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE gateway_files (
        folder TEXT NOT NULL REFERENCES folders (name) ON DELETE CASCADE,
        path BLOB NOT NULL,
        account TEXT,
        local_only INTEGER NOT NULL,
        expires_at_ms INTEGER,
        PRIMARY KEY (folder, path)
    ) WITHOUT ROWID;
    CREATE INDEX gateway_files_expiring ON gateway_files (expires_at_ms) WHERE expires_at_ms IS NOT NULL;
    CREATE TABLE rate_hits (
        key TEXT NOT NULL,
        at_ms INTEGER NOT NULL
    );
    CREATE INDEX rate_hits_by_time ON rate_hits (at_ms);
    "#,
    // 8: what a push remote (gateway, Aries) is known to hold: a path and its content hash
    // (NULL for a directory), updated after each acknowledged request.
    r#"
    CREATE TABLE push_state (
        folder TEXT NOT NULL REFERENCES folders (name) ON DELETE CASCADE,
        path BLOB NOT NULL,
        hash BLOB,
        PRIMARY KEY (folder, path)
    ) WITHOUT ROWID;
    "#,
];

/// The schema version this build writes.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`], refusing one from a newer build.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE: two processes opening a fresh state dir at once must not both
    // run the same step; the second waits, then sees the new version.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let found: i64 = tx.pragma_query_value(None, "user_version", |row| row.get(0))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    if found == SCHEMA_VERSION {
        return Ok(());
    }
    let start = usize::try_from(found)
        .map_err(|_| StoreError::Corrupt(format!("negative schema version {found}")))?;
    // start < SCHEMA_VERSION = MIGRATIONS.len() here, so the slice is in bounds.
    for step in &MIGRATIONS[start..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AppState, DEFAULT_INTERVAL_SECS, SyncMode};
    use crate::store::Store;

    #[test]
    fn a_version_1_database_gains_the_default_settings() {
        let dir = tempfile::tempdir().unwrap();
        let conn = Connection::open(dir.path().join("state.db")).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO folders (name, path, remote, cloud_name, enabled)
             VALUES ('docs', CAST('/home/me/docs' AS BLOB), '/mnt/backup', 'main', 0)",
            [],
        )
        .unwrap();
        drop(conn);

        let store = Store::open(dir.path()).unwrap();
        let docs = store.folder("docs").unwrap();
        assert!(!docs.enabled, "existing values are kept");
        assert_eq!(docs.sync_mode, SyncMode::Automatic);
        assert_eq!(docs.interval_secs, DEFAULT_INTERVAL_SECS);
        assert!(docs.watch);
        assert_eq!(store.app_state().unwrap(), AppState::default());
    }
}
