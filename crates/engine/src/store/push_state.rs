//! What a push remote (a gateway, Aries) is known to hold, per folder: a path and its content
//! hash (`None` for a directory). Written after each acknowledged request, so a process that
//! stops half-way neither sends again what arrived nor skips what did not.

use std::collections::BTreeMap;

use rusqlite::OptionalExtension;

use super::{Store, StoreError, require_folder};
use crate::relpath::RelPath;

/// A path's recorded content hash; `None` for a directory.
pub type PushHash = Option<Vec<u8>>;

impl Store {
    /// Everything the folder's push remote is known to hold.
    pub fn push_state(&self, folder: &str) -> Result<BTreeMap<RelPath, PushHash>, StoreError> {
        self.read(|tx| {
            require_folder(tx, folder)?;
            let mut stmt =
                tx.prepare_cached("SELECT path, hash FROM push_state WHERE folder = ?1")?;
            let rows = stmt.query_map([folder], |row| Ok((row.get(0)?, row.get(1)?)))?;
            let mut out = BTreeMap::new();
            for row in rows {
                let (path, hash): (RelPath, PushHash) = row?;
                out.insert(path, hash);
            }
            Ok(out)
        })
    }

    /// One recorded path: `None` when the remote is not known to hold it.
    pub fn push_entry(&self, folder: &str, path: &[u8]) -> Result<Option<PushHash>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT hash FROM push_state WHERE folder = ?1 AND path = ?2")?;
            Ok(stmt
                .query_row((folder, path), |row| row.get(0))
                .optional()?)
        })
    }

    /// One transaction: forgets `deletes`, then records `upserts` (a path in both stays).
    pub fn record_push(
        &self,
        folder: &str,
        upserts: &[(RelPath, PushHash)],
        deletes: &[RelPath],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            require_folder(tx, folder)?;
            let mut delete =
                tx.prepare_cached("DELETE FROM push_state WHERE folder = ?1 AND path = ?2")?;
            for path in deletes {
                delete.execute((folder, path))?;
            }
            let mut upsert = tx.prepare_cached(
                "INSERT INTO push_state (folder, path, hash) VALUES (?1, ?2, ?3)
                 ON CONFLICT (folder, path) DO UPDATE SET hash = excluded.hash",
            )?;
            for (path, hash) in upserts {
                upsert.execute((folder, path, hash))?;
            }
            Ok(())
        })
    }

    /// Forgets everything recorded for the folder (its push remote changed).
    pub fn clear_push_state(&self, folder: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            tx.execute("DELETE FROM push_state WHERE folder = ?1", [folder])?;
            Ok(())
        })
    }

    /// Replaces the folder's record with exactly `entries` (after a force-pull).
    pub fn replace_push_state(
        &self,
        folder: &str,
        entries: &[(RelPath, PushHash)],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            require_folder(tx, folder)?;
            tx.execute("DELETE FROM push_state WHERE folder = ?1", [folder])?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO push_state (folder, path, hash) VALUES (?1, ?2, ?3)",
            )?;
            for (path, hash) in entries {
                insert.execute((folder, path, hash))?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::tests::{folder, open_temp};

    #[test]
    fn records_survive_and_are_per_folder() {
        let (dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        store.add_folder(&folder("other")).unwrap();
        store
            .record_push(
                "docs",
                &[
                    (b"a.txt".to_vec(), Some(vec![1; 32])),
                    (b"d".to_vec(), None),
                ],
                &[],
            )
            .unwrap();
        store
            .record_push("other", &[(b"x".to_vec(), Some(vec![2; 32]))], &[])
            .unwrap();
        drop(store);
        let store = crate::store::Store::open(dir.path()).unwrap();
        let state = store.push_state("docs").unwrap();
        assert_eq!(state.len(), 2);
        assert_eq!(state[&b"a.txt".to_vec()], Some(vec![1; 32]));
        assert_eq!(state[&b"d".to_vec()], None);
        assert_eq!(store.push_entry("docs", b"d").unwrap(), Some(None));
        assert_eq!(store.push_entry("docs", b"zz").unwrap(), None);

        // Deletes first, then upserts; an upsert replaces the hash.
        store
            .record_push(
                "docs",
                &[(b"a.txt".to_vec(), Some(vec![3; 32]))],
                &[b"a.txt".to_vec(), b"d".to_vec()],
            )
            .unwrap();
        let state = store.push_state("docs").unwrap();
        assert_eq!(state.len(), 1);
        assert_eq!(state[&b"a.txt".to_vec()], Some(vec![3; 32]));

        store
            .replace_push_state("docs", &[(b"n".to_vec(), None)])
            .unwrap();
        assert_eq!(store.push_state("docs").unwrap().len(), 1);
        store.clear_push_state("docs").unwrap();
        assert!(store.push_state("docs").unwrap().is_empty());
        assert_eq!(store.push_state("other").unwrap().len(), 1);

        // Removing the folder removes its record.
        store.remove_folder("other").unwrap();
        assert!(store.push_state("other").is_err());
    }
}
