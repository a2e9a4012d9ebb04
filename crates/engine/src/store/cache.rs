//! Per-folder caches of remote data: where a blob is stored, and tree objects.
//! Values are opaque bytes owned by the caller.

use rusqlite::OptionalExtension;

use super::{Store, StoreError, require_folder};

impl Store {
    /// Where the blob with this hash lives in the folder's repository, if known.
    /// An unknown folder is a cache miss, not an error: lookups are hot and the
    /// caller learns about a missing folder from any write.
    pub fn blob_location(
        &self,
        folder: &str,
        hash: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT location FROM blob_locations WHERE folder = ?1 AND hash = ?2",
            )?;
            Ok(stmt
                .query_row((folder, hash), |row| row.get(0))
                .optional()?)
        })
    }

    /// Records blob locations (replacing known ones) in one transaction.
    pub fn put_blob_locations(
        &self,
        folder: &str,
        entries: &[([u8; 32], Vec<u8>)],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            require_folder(tx, folder)?;
            let mut stmt = tx.prepare(
                "INSERT OR REPLACE INTO blob_locations (folder, hash, location) VALUES (?1, ?2, ?3)",
            )?;
            for (hash, location) in entries {
                stmt.execute((folder, hash, location))?;
            }
            Ok(())
        })
    }

    /// Forgets where these blobs are (their pack turned out not to be stored).
    pub fn forget_blob_locations(
        &self,
        folder: &str,
        hashes: &[[u8; 32]],
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let mut stmt =
                tx.prepare("DELETE FROM blob_locations WHERE folder = ?1 AND hash = ?2")?;
            for hash in hashes {
                stmt.execute((folder, hash))?;
            }
            Ok(())
        })
    }

    /// A cached tree object of the folder's repository; an unknown folder is a miss.
    pub fn cached_tree(&self, folder: &str, id: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        self.read(|tx| {
            let mut stmt =
                tx.prepare_cached("SELECT bytes FROM trees WHERE folder = ?1 AND id = ?2")?;
            Ok(stmt.query_row((folder, id), |row| row.get(0)).optional()?)
        })
    }

    pub fn cache_tree(&self, folder: &str, id: &[u8; 32], bytes: &[u8]) -> Result<(), StoreError> {
        self.write(|tx| {
            require_folder(tx, folder)?;
            tx.execute(
                "INSERT OR REPLACE INTO trees (folder, id, bytes) VALUES (?1, ?2, ?3)",
                (folder, id, bytes),
            )?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::tests::{folder, open_temp};

    #[test]
    fn blob_locations_are_per_folder_and_replaceable() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        store.add_folder(&folder("other")).unwrap();
        store
            .put_blob_locations(
                "docs",
                &[([1; 32], b"p1".to_vec()), ([2; 32], b"p2".to_vec())],
            )
            .unwrap();
        store
            .put_blob_locations("docs", &[([1; 32], b"p1-new".to_vec())])
            .unwrap();
        assert_eq!(
            store.blob_location("docs", &[1; 32]).unwrap(),
            Some(b"p1-new".to_vec())
        );
        assert_eq!(
            store.blob_location("docs", &[2; 32]).unwrap(),
            Some(b"p2".to_vec())
        );
        assert_eq!(store.blob_location("other", &[1; 32]).unwrap(), None);
        assert_eq!(store.blob_location("nope", &[1; 32]).unwrap(), None);
        assert!(matches!(
            store.put_blob_locations("nope", &[([1; 32], vec![])]),
            Err(StoreError::UnknownFolder(_))
        ));
    }

    #[test]
    fn trees_are_cached_per_folder() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        assert_eq!(store.cached_tree("docs", &[7; 32]).unwrap(), None);
        store.cache_tree("docs", &[7; 32], b"\x00tree\xff").unwrap();
        assert_eq!(
            store.cached_tree("docs", &[7; 32]).unwrap(),
            Some(b"\x00tree\xff".to_vec())
        );
        assert_eq!(store.cached_tree("docs", &[8; 32]).unwrap(), None);
        assert!(matches!(
            store.cache_tree("nope", &[7; 32], b""),
            Err(StoreError::UnknownFolder(_))
        ));
    }
}
