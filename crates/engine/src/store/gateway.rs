//! The gateway's tables (migration 7): its tokens (names only; the tokens are in the OS
//! keyring), the files it wrote (who wrote them, which stay local-only until when) and its
//! settings (keys `gateway.*` of the settings table).

use std::collections::{HashMap, HashSet};

use rusqlite::{OptionalExtension, Transaction, TransactionBehavior};

use super::jobs::{FinishedJob, insert_finished_job};
use super::{Store, StoreError, lock};
use crate::model::{JobId, SyncJob};
use crate::relpath::RelPath;

/// Settings-table keys of the gateway start with this.
const SETTINGS_PREFIX: &str = "gateway.";

/// A gateway token as stored: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayTokenRow {
    pub name: String,
    pub folder: String,
    pub account: String,
    pub created_at: String,
}

/// A path the gateway wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayFileRow {
    pub path: RelPath,
    /// Who wrote it (edit rights of `sync_3rd`); `None` for an anonymous upload.
    pub account: Option<String>,
    /// Left out of the remote sync until it expires.
    pub local_only: bool,
    pub expires_at_ms: Option<i64>,
}

/// A change to a folder's gateway files, applied in the transaction of its job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayFileOp {
    /// The path was written (or made) by `account`: local-only until `expires_at_ms`, or
    /// for good when `local_only` is false.
    Set {
        path: RelPath,
        account: Option<String>,
        local_only: bool,
        expires_at_ms: Option<i64>,
    },
    /// The path and everything below it are gone.
    Forget(RelPath),
    /// The path, if local-only, is synced from now on (a file below it was written for good).
    MakePermanent(RelPath),
    /// The path, if local-only, lives at least until then (a local-only file below it does).
    ExtendTo { path: RelPath, expires_at_ms: i64 },
}

impl Store {
    // Tokens.

    /// Records a new token; `false` when the name is taken.
    pub fn insert_gateway_token(&self, token: &GatewayTokenRow) -> Result<bool, StoreError> {
        self.write(|tx| {
            let n = tx.execute(
                "INSERT INTO gateway_tokens (name, folder, account, created_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO NOTHING",
                (
                    &token.name,
                    &token.folder,
                    &token.account,
                    &token.created_at,
                ),
            )?;
            Ok(n == 1)
        })
    }

    pub fn gateway_tokens(&self) -> Result<Vec<GatewayTokenRow>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT name, folder, account, created_at FROM gateway_tokens ORDER BY name",
            )?;
            let rows = stmt.query_map([], token_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    pub fn gateway_token(&self, name: &str) -> Result<Option<GatewayTokenRow>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT name, folder, account, created_at FROM gateway_tokens WHERE name = ?1",
            )?;
            Ok(stmt.query_row([name], token_row).optional()?)
        })
    }

    /// Forgets a token; `false` when there was none of that name.
    pub fn delete_gateway_token(&self, name: &str) -> Result<bool, StoreError> {
        self.write(|tx| Ok(tx.execute("DELETE FROM gateway_tokens WHERE name = ?1", [name])? == 1))
    }

    // Files.

    pub fn gateway_file(
        &self,
        folder: &str,
        path: &[u8],
    ) -> Result<Option<GatewayFileRow>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT path, account, local_only, expires_at_ms FROM gateway_files
                 WHERE folder = ?1 AND path = ?2",
            )?;
            Ok(stmt.query_row((folder, path), file_row).optional()?)
        })
    }

    /// The folder's local-only paths: the sync leaves them (and what is below them) alone.
    pub fn gateway_local_only(&self, folder: &str) -> Result<HashSet<RelPath>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT path FROM gateway_files WHERE folder = ?1 AND local_only = 1",
            )?;
            let rows = stmt.query_map([folder], |row| row.get::<_, Vec<u8>>(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Local-only paths whose time is up at `now_ms`, by folder.
    pub fn gateway_expired(
        &self,
        now_ms: i64,
    ) -> Result<HashMap<String, Vec<GatewayFileRow>>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT folder, path, account, local_only, expires_at_ms FROM gateway_files
                 WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?1 AND local_only = 1",
            )?;
            let mut rows = stmt.query([now_ms])?;
            let mut out: HashMap<String, Vec<GatewayFileRow>> = HashMap::new();
            while let Some(row) = rows.next()? {
                let folder: String = row.get(0)?;
                let file = GatewayFileRow {
                    path: row.get(1)?,
                    account: row.get(2)?,
                    local_only: row.get(3)?,
                    expires_at_ms: row.get(4)?,
                };
                out.entry(folder).or_default().push(file);
            }
            Ok(out)
        })
    }

    /// Applies changes to a folder's gateway files (no job: nothing on disk changed).
    pub fn update_gateway_files(
        &self,
        folder: &str,
        ops: &[GatewayFileOp],
    ) -> Result<(), StoreError> {
        self.write(|tx| apply_ops(tx, folder, ops))
    }

    /// Records a gateway change as one finished job, in one transaction with its log and the
    /// changes to the folder's gateway files. `act` makes the change on disk once the job's id
    /// is known (it names the trash batch); if it fails, nothing is recorded. `act` runs while
    /// the state database is locked for writing, so it must be quick (renames) and must not
    /// use the store.
    pub fn record_gateway_change<T, E: From<StoreError>>(
        &self,
        job: &FinishedJob<'_>,
        ops: &[GatewayFileOp],
        act: impl FnOnce(JobId) -> Result<T, E>,
    ) -> Result<(SyncJob, T), E> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(StoreError::from)?;
        let row = insert_finished_job(&tx, job)?;
        // On an error the transaction is dropped, which rolls it back.
        let out = act(row.id)?;
        apply_ops(&tx, job.folder, ops)?;
        if let Err(e) = tx.commit() {
            tracing::error!(
                folder = job.folder,
                "a gateway change was made but its job could not be recorded: {e}"
            );
            return Err(StoreError::from(e).into());
        }
        Ok((row, out))
    }

    // Settings.

    /// The gateway's stored settings (keys without the `gateway.` prefix); keys never written
    /// are absent.
    pub fn gateway_settings_values(&self) -> Result<HashMap<String, String>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT key, value FROM settings WHERE key LIKE 'gateway.%'")?;
            let rows = stmt.query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })?;
            let mut out = HashMap::new();
            for row in rows {
                let (key, value) = row?;
                if let Some(k) = key.strip_prefix(SETTINGS_PREFIX) {
                    out.insert(k.to_owned(), value);
                }
            }
            Ok(out)
        })
    }

    /// Replaces gateway settings in one transaction; `None` removes a key.
    pub fn set_gateway_settings_values(
        &self,
        values: &[(&str, Option<String>)],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut put = tx.prepare_cached(
                "INSERT INTO settings (key, value) VALUES (?1, ?2)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            )?;
            let mut del = tx.prepare_cached("DELETE FROM settings WHERE key = ?1")?;
            for (key, value) in values {
                let key = format!("{SETTINGS_PREFIX}{key}");
                match value {
                    Some(v) => put.execute((&key, v))?,
                    None => del.execute([&key])?,
                };
            }
            Ok(())
        })
    }
}

fn apply_ops(tx: &Transaction<'_>, folder: &str, ops: &[GatewayFileOp]) -> Result<(), StoreError> {
    for op in ops {
        match op {
            GatewayFileOp::Set {
                path,
                account,
                local_only,
                expires_at_ms,
            } => {
                tx.prepare_cached(
                    "INSERT INTO gateway_files (folder, path, account, local_only, expires_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (folder, path) DO UPDATE SET account = excluded.account,
                         local_only = excluded.local_only, expires_at_ms = excluded.expires_at_ms",
                )?
                .execute((folder, path, account, local_only, expires_at_ms))?;
            }
            GatewayFileOp::Forget(path) => {
                let (lo, hi) = subtree(path);
                tx.prepare_cached(
                    "DELETE FROM gateway_files WHERE folder = ?1
                     AND (path = ?2 OR (path >= ?3 AND path < ?4))",
                )?
                .execute((folder, path, lo, hi))?;
            }
            GatewayFileOp::MakePermanent(path) => {
                tx.prepare_cached(
                    "UPDATE gateway_files SET local_only = 0, expires_at_ms = NULL
                     WHERE folder = ?1 AND path = ?2",
                )?
                .execute((folder, path))?;
            }
            GatewayFileOp::ExtendTo {
                path,
                expires_at_ms,
            } => {
                tx.prepare_cached(
                    "UPDATE gateway_files SET expires_at_ms = MAX(expires_at_ms, ?3)
                     WHERE folder = ?1 AND path = ?2 AND local_only = 1",
                )?
                .execute((folder, path, expires_at_ms))?;
            }
        }
    }
    Ok(())
}

/// `[path/, path0)`: exactly the paths below `path` ('0' is the byte after '/').
fn subtree(path: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut lo = path.to_vec();
    lo.push(b'/');
    let mut hi = path.to_vec();
    hi.push(b'0');
    (lo, hi)
}

fn token_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GatewayTokenRow> {
    Ok(GatewayTokenRow {
        name: row.get(0)?,
        folder: row.get(1)?,
        account: row.get(2)?,
        created_at: row.get(3)?,
    })
}

fn file_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<GatewayFileRow> {
    Ok(GatewayFileRow {
        path: row.get(0)?,
        account: row.get(1)?,
        local_only: row.get(2)?,
        expires_at_ms: row.get(3)?,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::model::{JobStatus, JobType, LogLevel, SyncJobStats, TriggerType};
    use crate::store::tests::{folder, open_temp};

    fn set(path: &str, local_only: bool, expires: Option<i64>) -> GatewayFileOp {
        GatewayFileOp::Set {
            path: path.as_bytes().to_vec(),
            account: Some("alice".into()),
            local_only,
            expires_at_ms: expires,
        }
    }

    #[test]
    fn tokens_round_trip_and_names_are_unique() {
        let (_dir, store) = open_temp();
        let t = GatewayTokenRow {
            name: "gw-1".into(),
            folder: "docs".into(),
            account: "alice".into(),
            created_at: "2024-01-01T00:00:00.000000Z".into(),
        };
        assert!(store.insert_gateway_token(&t).unwrap());
        assert!(!store.insert_gateway_token(&t).unwrap());
        assert_eq!(store.gateway_tokens().unwrap(), vec![t.clone()]);
        assert_eq!(store.gateway_token("gw-1").unwrap(), Some(t));
        assert!(store.delete_gateway_token("gw-1").unwrap());
        assert!(!store.delete_gateway_token("gw-1").unwrap());
        assert_eq!(store.gateway_token("gw-1").unwrap(), None);
    }

    #[test]
    fn files_local_only_expiry_and_subtrees() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        store
            .update_gateway_files(
                "docs",
                &[
                    set("tmp", true, Some(100)),
                    set("tmp/a.txt", true, Some(50)),
                    set("tmp0", true, Some(50)),
                    set("keep.txt", false, None),
                    GatewayFileOp::ExtendTo {
                        path: b"tmp".to_vec(),
                        expires_at_ms: 200,
                    },
                    GatewayFileOp::ExtendTo {
                        path: b"tmp0".to_vec(),
                        expires_at_ms: 10,
                    },
                ],
            )
            .unwrap();
        let lo = store.gateway_local_only("docs").unwrap();
        assert_eq!(lo.len(), 3);
        assert!(!lo.contains(b"keep.txt".as_slice()));
        assert_eq!(
            store
                .gateway_file("docs", b"tmp")
                .unwrap()
                .unwrap()
                .expires_at_ms,
            Some(200)
        );
        let expired = store.gateway_expired(60).unwrap();
        let mut paths: Vec<_> = expired["docs"].iter().map(|r| r.path.clone()).collect();
        paths.sort();
        assert_eq!(paths, vec![b"tmp/a.txt".to_vec(), b"tmp0".to_vec()]);
        store
            .update_gateway_files(
                "docs",
                &[
                    GatewayFileOp::Forget(b"tmp".to_vec()),
                    GatewayFileOp::MakePermanent(b"tmp0".to_vec()),
                ],
            )
            .unwrap();
        assert_eq!(
            store.gateway_file("docs", b"tmp0").unwrap().unwrap(),
            GatewayFileRow {
                path: b"tmp0".to_vec(),
                account: Some("alice".into()),
                local_only: false,
                expires_at_ms: None
            }
        );
        assert!(store.gateway_file("docs", b"tmp/a.txt").unwrap().is_none());
        assert!(store.gateway_local_only("docs").unwrap().is_empty());
        // Rows go with their folder.
        store.remove_folder("docs").unwrap();
        assert!(store.gateway_file("docs", b"keep.txt").unwrap().is_none());
    }

    #[test]
    fn a_change_and_its_job_are_recorded_together_or_not_at_all() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        let meta = BTreeMap::from([("path".to_owned(), "a.txt".to_owned())]);
        let log = [(LogLevel::Info, "wrote a.txt".to_owned())];
        let job = FinishedJob {
            folder: "docs",
            job_type: JobType::Gateway,
            trigger: TriggerType::Gateway,
            status: JobStatus::Succeeded,
            error: None,
            stats: SyncJobStats::default(),
            metadata: &meta,
            log: &log,
        };
        let failed: Result<(SyncJob, ()), StoreError> =
            store.record_gateway_change(&job, &[set("a.txt", false, None)], |_| {
                Err(StoreError::Invalid("disk full".into()))
            });
        assert!(failed.is_err());
        assert_eq!(store.last_job("docs").unwrap(), None);
        assert!(store.gateway_file("docs", b"a.txt").unwrap().is_none());

        let (row, id_seen) = store
            .record_gateway_change::<_, StoreError>(&job, &[set("a.txt", false, None)], Ok)
            .unwrap();
        assert_eq!(row.id, id_seen);
        assert_eq!(row.status, JobStatus::Succeeded);
        assert_eq!(row.job_type, JobType::Gateway);
        assert_eq!(row.started_at, row.ended_at);
        assert_eq!(store.job_log(row.id).unwrap()[0].msg, "wrote a.txt");
        assert!(store.gateway_file("docs", b"a.txt").unwrap().is_some());
    }

    #[test]
    fn settings_values_round_trip() {
        let (_dir, store) = open_temp();
        assert!(store.gateway_settings_values().unwrap().is_empty());
        store
            .set_gateway_settings_values(&[("folder", Some("docs".into())), ("x", None)])
            .unwrap();
        assert_eq!(
            store.gateway_settings_values().unwrap(),
            HashMap::from([("folder".to_owned(), "docs".to_owned())])
        );
        store
            .set_gateway_settings_values(&[("folder", None)])
            .unwrap();
        assert!(store.gateway_settings_values().unwrap().is_empty());
        // Other settings are not gateway settings.
        assert!(store.app_state().is_ok());
    }
}
