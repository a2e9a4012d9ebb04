//! A folder's file index: per relative path, the stat cache, the content hash and
//! the repository entry it was last synced with.

use std::collections::HashMap;

use rusqlite::{Row, Transaction};

use super::{IndexRow, StatKey, Store, StoreError, require_folder};
use crate::relpath::{self, RelPath};

impl Store {
    /// One transaction: apply index upserts/deletes, set base_snapshot = head_written = snapshot,
    /// head_pending = NULL, last_sync_at = at.
    ///
    /// Deletes are applied before upserts, so a path listed in both keeps its upserted row.
    pub fn commit_sync(
        &self,
        name: &str,
        snapshot: &str,
        upserts: &[(RelPath, IndexRow)],
        deletes: &[RelPath],
        at: &str,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            require_folder(tx, name)?;
            apply(tx, name, upserts, deletes)?;
            tx.execute(
                "UPDATE folders SET base_snapshot = ?2, head_written = ?2,
                 head_pending = NULL, last_sync_at = ?3 WHERE name = ?1",
                (name, snapshot, at),
            )?;
            Ok(())
        })
    }

    /// One transaction: index upserts/deletes only (e.g. refresh the stat cache after a scan).
    ///
    /// Deletes are applied before upserts, so a path listed in both keeps its upserted row.
    pub fn update_index(
        &self,
        name: &str,
        upserts: &[(RelPath, IndexRow)],
        deletes: &[RelPath],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            require_folder(tx, name)?;
            apply(tx, name, upserts, deletes)
        })
    }

    pub fn load_index(&self, name: &str) -> Result<HashMap<RelPath, IndexRow>, StoreError> {
        self.read(|tx| {
            require_folder(tx, name)?;
            let mut stmt = tx.prepare(
                "SELECT path, size, mtime_ns, inode, mode, hash
                 FROM file_index WHERE folder = ?1",
            )?;
            let rows = stmt.query_and_then([name], index_row)?;
            rows.collect()
        })
    }
}

fn apply(
    tx: &Transaction<'_>,
    folder: &str,
    upserts: &[(RelPath, IndexRow)],
    deletes: &[RelPath],
) -> Result<(), StoreError> {
    let mut delete = tx.prepare("DELETE FROM file_index WHERE folder = ?1 AND path = ?2")?;
    for path in deletes {
        delete.execute((folder, path))?;
    }
    let mut upsert = tx.prepare(
        "INSERT OR REPLACE INTO file_index (folder, path, size, mtime_ns, inode, mode, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?;
    for (path, row) in upserts {
        // SQLite integers are i64: u64 fields are stored with the same bits, read back alike.
        let stat = row.stat.as_ref();
        upsert.execute((
            folder,
            path,
            stat.map(|s| s.size as i64),
            stat.map(|s| s.mtime_ns),
            stat.map(|s| s.inode as i64),
            stat.map(|s| i64::from(s.mode)),
            row.hash.as_ref(),
        ))?;
    }
    Ok(())
}

fn index_row(row: &Row<'_>) -> Result<(RelPath, IndexRow), StoreError> {
    let path: RelPath = row.get(0)?;
    let corrupt = |what: &str| {
        StoreError::Corrupt(format!("index entry {:?}: {what}", relpath::display(&path)))
    };
    let stat = match (
        row.get::<_, Option<i64>>(1)?,
        row.get::<_, Option<i64>>(2)?,
        row.get::<_, Option<i64>>(3)?,
        row.get::<_, Option<i64>>(4)?,
    ) {
        (Some(size), Some(mtime_ns), Some(inode), Some(mode)) => Some(StatKey {
            size: size as u64,
            mtime_ns,
            inode: inode as u64,
            mode: u32::try_from(mode).map_err(|_| corrupt("file mode out of range"))?,
        }),
        (None, None, None, None) => None,
        _ => return Err(corrupt("partial stat fields")),
    };
    let hash = match row.get::<_, Option<Vec<u8>>>(5)? {
        Some(bytes) => Some(
            <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| corrupt("hash is not 32 bytes"))?,
        ),
        None => None,
    };
    Ok((path, IndexRow { stat, hash }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{folder, open_temp};
    use crate::store::{FolderState, lock};

    fn row(n: u8) -> IndexRow {
        IndexRow {
            stat: Some(StatKey {
                size: u64::MAX - u64::from(n),
                mtime_ns: -1_000 - i64::from(n),
                inode: u64::MAX,
                mode: 0o100644,
            }),
            hash: Some([n; 32]),
        }
    }

    #[test]
    fn index_round_trips_invalid_utf8_paths_and_extreme_stats() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        let odd: RelPath = b"dir/caf\xe9\xff\x00name".to_vec();
        let absent = IndexRow {
            stat: None,
            hash: None,
        };
        let upserts = vec![
            (odd.clone(), row(1)),
            (b"plain.txt".to_vec(), row(2)),
            (b"gone-locally".to_vec(), absent.clone()),
        ];
        store.update_index("docs", &upserts, &[]).unwrap();
        let index = store.load_index("docs").unwrap();
        assert_eq!(index.len(), 3);
        assert_eq!(index[&odd], row(1));
        assert_eq!(index[b"plain.txt".as_slice()], row(2));
        assert_eq!(index[b"gone-locally".as_slice()], absent);
        // Same bytes without the invalid part are a different path.
        assert!(!index.contains_key(b"dir/caf".as_slice()));
    }

    #[test]
    fn update_index_upserts_and_deletes_without_touching_state() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        store.add_folder(&folder("other")).unwrap();
        let (a, b) = (b"a".to_vec(), b"b".to_vec());
        store
            .update_index("docs", &[(a.clone(), row(1)), (b.clone(), row(2))], &[])
            .unwrap();
        store
            .update_index("other", &[(a.clone(), row(9))], &[])
            .unwrap();
        store
            .update_index("docs", &[(a.clone(), row(3))], std::slice::from_ref(&b))
            .unwrap();
        let index = store.load_index("docs").unwrap();
        assert_eq!(index, HashMap::from([(a.clone(), row(3))]));
        assert_eq!(store.load_index("other").unwrap()[&a], row(9));
        assert_eq!(store.folder_state("docs").unwrap(), FolderState::default());
        assert!(matches!(
            store.update_index("nope", &[(a, row(1))], &[]),
            Err(StoreError::UnknownFolder(_))
        ));
        assert!(matches!(
            store.load_index("nope"),
            Err(StoreError::UnknownFolder(_))
        ));
    }

    #[test]
    fn commit_sync_updates_index_and_state_together() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        let (a, b) = (b"a".to_vec(), b"b".to_vec());
        store
            .update_index("docs", &[(a.clone(), row(1))], &[])
            .unwrap();
        store.set_head_pending("docs", Some("snap-1")).unwrap();
        store
            .commit_sync(
                "docs",
                "snap-1",
                &[(b.clone(), row(2))],
                std::slice::from_ref(&a),
                "2024-05-01T10:00:00.000Z",
            )
            .unwrap();
        assert_eq!(
            store.folder_state("docs").unwrap(),
            FolderState {
                base_snapshot: Some("snap-1".into()),
                head_written: Some("snap-1".into()),
                head_pending: None,
                last_sync_at: Some("2024-05-01T10:00:00.000Z".into()),
            }
        );
        assert_eq!(
            store.load_index("docs").unwrap(),
            HashMap::from([(b.clone(), row(2))])
        );
    }

    #[test]
    fn failed_commit_sync_changes_nothing() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        let a = b"a".to_vec();
        store
            .update_index("docs", &[(a.clone(), row(1))], &[])
            .unwrap();
        // Break the schema so the state update fails after the index writes succeeded.
        lock(&store.writer)
            .execute_batch(
                "CREATE TRIGGER no_state BEFORE UPDATE OF base_snapshot ON folders
                 BEGIN SELECT RAISE(ABORT, 'refused'); END;",
            )
            .unwrap();
        let err = store
            .commit_sync(
                "docs",
                "snap-1",
                &[(b"b".to_vec(), row(2))],
                std::slice::from_ref(&a),
                "2024-05-01T10:00:00.000Z",
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::Sqlite(_)), "{err:?}");
        assert_eq!(
            store.load_index("docs").unwrap(),
            HashMap::from([(a, row(1))])
        );
        assert_eq!(store.folder_state("docs").unwrap(), FolderState::default());
    }
}
