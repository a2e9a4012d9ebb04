//! Folders and their per-folder sync state.

use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Row};

use super::{FolderState, Store, StoreError, folder_exists};
use crate::model::{Folder, FolderSettings};

const FOLDER_COLUMNS: &str =
    "name, path, remote, cloud_name, enabled, sync_mode, interval_secs, watch, encrypted";

impl Store {
    pub fn add_folder(&self, folder: &Folder) -> Result<(), StoreError> {
        let path = path_to_blob(&folder.path)?;
        self.write(|tx| {
            if folder_exists(tx, &folder.name)? {
                return Err(StoreError::FolderExists(folder.name.clone()));
            }
            tx.execute(
                "INSERT INTO folders (name, path, remote, cloud_name, enabled, sync_mode,
                                      interval_secs, watch, encrypted)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                (
                    &folder.name,
                    &path,
                    &folder.remote,
                    &folder.cloud_name,
                    folder.enabled,
                    folder.sync_mode.as_str(),
                    folder.interval_secs,
                    folder.watch,
                    folder.encrypted,
                ),
            )?;
            Ok(())
        })
    }

    pub fn folder(&self, name: &str) -> Result<Folder, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders WHERE name = ?1");
            let mut stmt = tx.prepare(&sql)?;
            let mut rows = stmt.query_and_then([name], folder_from_row)?;
            rows.next()
                .transpose()?
                .ok_or_else(|| StoreError::UnknownFolder(name.to_owned()))
        })
    }

    /// All folders, ordered by name.
    pub fn folders(&self) -> Result<Vec<Folder>, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {FOLDER_COLUMNS} FROM folders ORDER BY name");
            let mut stmt = tx.prepare(&sql)?;
            let rows = stmt.query_and_then([], folder_from_row)?;
            rows.collect()
        })
    }

    /// Deletes the folder with its index, caches and state; its job history stays.
    pub fn remove_folder(&self, name: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            // Index and cache rows go with it (ON DELETE CASCADE); jobs have no such key.
            match tx.execute("DELETE FROM folders WHERE name = ?1", [name])? {
                0 => Err(StoreError::UnknownFolder(name.to_owned())),
                _ => Ok(()),
            }
        })
    }

    pub fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), StoreError> {
        self.write(|tx| {
            match tx.execute(
                "UPDATE folders SET enabled = ?2 WHERE name = ?1",
                (name, enabled),
            )? {
                0 => Err(StoreError::UnknownFolder(name.to_owned())),
                _ => Ok(()),
            }
        })
    }

    /// Stores the settings as given (the engine validates them first).
    pub fn set_folder_settings(
        &self,
        name: &str,
        settings: &FolderSettings,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            match tx.execute(
                "UPDATE folders SET enabled = ?2, sync_mode = ?3, interval_secs = ?4, watch = ?5
                 WHERE name = ?1",
                (
                    name,
                    settings.enabled,
                    settings.sync_mode.as_str(),
                    settings.interval_secs,
                    settings.watch,
                ),
            )? {
                0 => Err(StoreError::UnknownFolder(name.to_owned())),
                _ => Ok(()),
            }
        })
    }

    /// Changes the repository name and resets the folder's sync base: FolderState fields all None
    /// except last_sync_at (the index's stat+hash rows describe local files and stay valid),
    /// blob-location and tree caches of the folder emptied. No-op if unchanged.
    pub fn set_cloud_name(&self, name: &str, cloud_name: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            let current: String = tx
                .query_row(
                    "SELECT cloud_name FROM folders WHERE name = ?1",
                    [name],
                    |row| row.get(0),
                )
                .optional()?
                .ok_or_else(|| StoreError::UnknownFolder(name.to_owned()))?;
            if current == cloud_name {
                return Ok(());
            }
            tx.execute(
                "UPDATE folders SET cloud_name = ?2 WHERE name = ?1",
                (name, cloud_name),
            )?;
            reset_base(tx, name)
        })
    }

    /// Points the folder at another repository (remote, cloud name, encryption) and resets
    /// its sync base like [`Store::set_cloud_name`]. No-op if nothing changes.
    pub fn set_repository(
        &self,
        name: &str,
        remote: &str,
        cloud_name: &str,
        encrypted: bool,
    ) -> Result<(), StoreError> {
        self.write(|tx| {
            let current: (String, String, bool) = tx
                .query_row(
                    "SELECT remote, cloud_name, encrypted FROM folders WHERE name = ?1",
                    [name],
                    |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
                )
                .optional()?
                .ok_or_else(|| StoreError::UnknownFolder(name.to_owned()))?;
            if current == (remote.to_owned(), cloud_name.to_owned(), encrypted) {
                return Ok(());
            }
            tx.execute(
                "UPDATE folders SET remote = ?2, cloud_name = ?3, encrypted = ?4 WHERE name = ?1",
                (name, remote, cloud_name, encrypted),
            )?;
            reset_base(tx, name)
        })
    }

    /// Forgets everything tied to the folder's repository (as when it changes): the base,
    /// the heads written and the remote caches. Local stat+hash rows stay valid.
    pub fn reset_base(&self, name: &str) -> Result<(), StoreError> {
        self.write(|tx| {
            if !folder_exists(tx, name)? {
                return Err(StoreError::UnknownFolder(name.to_owned()));
            }
            reset_base(tx, name)
        })
    }

    pub fn folder_state(&self, name: &str) -> Result<FolderState, StoreError> {
        self.read(|tx| {
            tx.query_row(
                "SELECT base_snapshot, head_written, head_pending, last_sync_at
                 FROM folders WHERE name = ?1",
                [name],
                |row| {
                    Ok(FolderState {
                        base_snapshot: row.get(0)?,
                        head_written: row.get(1)?,
                        head_pending: row.get(2)?,
                        last_sync_at: row.get(3)?,
                    })
                },
            )
            .optional()?
            .ok_or_else(|| StoreError::UnknownFolder(name.to_owned()))
        })
    }

    pub fn set_head_pending(&self, name: &str, snapshot: Option<&str>) -> Result<(), StoreError> {
        self.write(|tx| {
            match tx.execute(
                "UPDATE folders SET head_pending = ?2 WHERE name = ?1",
                (name, snapshot),
            )? {
                0 => Err(StoreError::UnknownFolder(name.to_owned())),
                _ => Ok(()),
            }
        })
    }
}

fn folder_from_row(row: &Row<'_>) -> Result<Folder, StoreError> {
    let name: String = row.get(0)?;
    let path = path_from_blob(&name, row.get(1)?)?;
    let sync_mode: String = row.get(5)?;
    Ok(Folder {
        remote: row.get(2)?,
        cloud_name: row.get(3)?,
        enabled: row.get(4)?,
        sync_mode: sync_mode
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("sync mode of folder {name:?}: {e}")))?,
        interval_secs: row.get(6)?,
        watch: row.get(7)?,
        encrypted: row.get(8)?,
        name,
        path,
    })
}

// Unix paths are bytes: store them as they are so any path round-trips.
#[cfg(unix)]
fn path_to_blob(path: &Path) -> Result<Vec<u8>, StoreError> {
    use std::os::unix::ffi::OsStrExt;
    Ok(path.as_os_str().as_bytes().to_vec())
}

#[cfg(unix)]
fn path_from_blob(_folder: &str, bytes: Vec<u8>) -> Result<PathBuf, StoreError> {
    use std::os::unix::ffi::OsStringExt;
    Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
}

// Elsewhere paths are stored as UTF-8; one that is not valid Unicode is refused
// up front rather than silently altered.
#[cfg(not(unix))]
fn path_to_blob(path: &Path) -> Result<Vec<u8>, StoreError> {
    path.to_str().map(|s| s.as_bytes().to_vec()).ok_or_else(|| {
        StoreError::Invalid(format!(
            "folder path {} is not valid Unicode; choose another folder",
            path.display()
        ))
    })
}

#[cfg(not(unix))]
fn path_from_blob(folder: &str, bytes: Vec<u8>) -> Result<PathBuf, StoreError> {
    String::from_utf8(bytes)
        .map(PathBuf::from)
        .map_err(|_| StoreError::Corrupt(format!("path of folder {folder:?} is not UTF-8")))
}

fn reset_base(tx: &rusqlite::Transaction<'_>, name: &str) -> Result<(), StoreError> {
    tx.execute(
        "UPDATE folders SET base_snapshot = NULL, head_written = NULL, head_pending = NULL
         WHERE name = ?1",
        [name],
    )?;
    tx.execute("DELETE FROM blob_locations WHERE folder = ?1", [name])?;
    tx.execute("DELETE FROM trees WHERE folder = ?1", [name])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::IndexRow;
    use crate::store::tests::{folder, open_temp};

    #[test]
    fn folder_crud_and_errors() {
        let (_dir, store) = open_temp();
        assert!(store.folders().unwrap().is_empty());
        let docs = folder("docs");
        let art = folder("art");
        store.add_folder(&docs).unwrap();
        store.add_folder(&art).unwrap();
        assert!(matches!(
            store.add_folder(&docs),
            Err(StoreError::FolderExists(n)) if n == "docs"
        ));

        assert_eq!(store.folder("docs").unwrap(), docs);
        assert_eq!(store.folders().unwrap(), vec![art.clone(), docs.clone()]);
        assert!(matches!(
            store.folder("nope"),
            Err(StoreError::UnknownFolder(n)) if n == "nope"
        ));

        store.set_enabled("docs", false).unwrap();
        assert!(!store.folder("docs").unwrap().enabled);
        assert!(matches!(
            store.set_enabled("nope", true),
            Err(StoreError::UnknownFolder(_))
        ));
        assert!(matches!(
            store.set_head_pending("nope", None),
            Err(StoreError::UnknownFolder(_))
        ));
        assert!(matches!(
            store.folder_state("nope"),
            Err(StoreError::UnknownFolder(_))
        ));
        assert!(matches!(
            store.set_cloud_name("nope", "x"),
            Err(StoreError::UnknownFolder(_))
        ));

        store.remove_folder("docs").unwrap();
        assert_eq!(store.folders().unwrap(), vec![art]);
        assert!(matches!(
            store.remove_folder("docs"),
            Err(StoreError::UnknownFolder(_))
        ));
        // The name is free again, with a fresh state.
        store.add_folder(&docs).unwrap();
        assert_eq!(store.folder_state("docs").unwrap(), FolderState::default());
    }

    #[test]
    fn folder_settings_are_stored_and_survive_reopen() {
        let (dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        store.add_folder(&folder("art")).unwrap();
        let settings = FolderSettings {
            enabled: false,
            sync_mode: crate::model::SyncMode::CompletelyManual,
            interval_secs: 60,
            watch: false,
        };
        store.set_folder_settings("docs", &settings).unwrap();
        assert!(matches!(
            store.set_folder_settings("nope", &settings),
            Err(StoreError::UnknownFolder(_))
        ));
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.folder("docs").unwrap().settings(), settings);
        assert_eq!(
            store.folder("art").unwrap(),
            folder("art"),
            "others untouched"
        );
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_folder_path_round_trips() {
        use std::os::unix::ffi::OsStrExt;
        let (_dir, store) = open_temp();
        let mut f = folder("odd");
        f.path = PathBuf::from(std::ffi::OsStr::from_bytes(b"/tmp/caf\xe9"));
        store.add_folder(&f).unwrap();
        assert_eq!(store.folder("odd").unwrap().path, f.path);
    }

    #[test]
    fn remove_folder_drops_index_and_caches_but_keeps_jobs() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        let row = IndexRow {
            stat: None,
            hash: Some([1; 32]),
        };
        store
            .update_index("docs", &[(b"a".to_vec(), row)], &[])
            .unwrap();
        store
            .put_blob_locations("docs", &[([2; 32], b"pack-1".to_vec())])
            .unwrap();
        store.cache_tree("docs", &[3; 32], b"tree").unwrap();
        let job = store
            .create_job(
                "docs",
                crate::model::JobType::Sync,
                crate::model::TriggerType::Manual,
                &Default::default(),
            )
            .unwrap();

        store.remove_folder("docs").unwrap();
        store.add_folder(&folder("docs")).unwrap();
        assert!(store.load_index("docs").unwrap().is_empty());
        assert_eq!(store.blob_location("docs", &[2; 32]).unwrap(), None);
        assert_eq!(store.cached_tree("docs", &[3; 32]).unwrap(), None);
        assert_eq!(store.job(job.id).unwrap(), job);
    }

    #[test]
    fn set_cloud_name_resets_base_but_keeps_stat_and_hash() {
        let (_dir, store) = open_temp();
        store.add_folder(&folder("docs")).unwrap();
        store.add_folder(&folder("other")).unwrap();
        let row = IndexRow {
            stat: Some(crate::store::StatKey {
                size: 5,
                mtime_ns: 10,
                inode: 7,
                mode: 0o644,
            }),
            hash: Some([9; 32]),
        };
        for name in ["docs", "other"] {
            store
                .commit_sync(
                    name,
                    "snap-1",
                    &[(b"a.txt".to_vec(), row.clone())],
                    &[],
                    "2024-01-01T00:00:00.000Z",
                )
                .unwrap();
            store.set_head_pending(name, Some("snap-2")).unwrap();
            store
                .put_blob_locations(name, &[([2; 32], b"pack".to_vec())])
                .unwrap();
            store.cache_tree(name, &[3; 32], b"tree").unwrap();
        }

        // Unchanged name: nothing is reset.
        store.set_cloud_name("docs", "main").unwrap();
        assert_eq!(
            store.folder_state("docs").unwrap().base_snapshot.as_deref(),
            Some("snap-1")
        );

        store.set_cloud_name("docs", "laptop").unwrap();
        assert_eq!(store.folder("docs").unwrap().cloud_name, "laptop");
        assert_eq!(
            store.folder_state("docs").unwrap(),
            FolderState {
                last_sync_at: Some("2024-01-01T00:00:00.000Z".into()),
                ..FolderState::default()
            }
        );
        let index = store.load_index("docs").unwrap();
        assert_eq!(index[&b"a.txt"[..]], row);
        assert_eq!(store.blob_location("docs", &[2; 32]).unwrap(), None);
        assert_eq!(store.cached_tree("docs", &[3; 32]).unwrap(), None);

        // The other folder is untouched.
        assert_eq!(
            store
                .folder_state("other")
                .unwrap()
                .base_snapshot
                .as_deref(),
            Some("snap-1")
        );
        assert_eq!(store.load_index("other").unwrap()[&b"a.txt"[..]], row);
        assert!(store.blob_location("other", &[2; 32]).unwrap().is_some());
        assert!(store.cached_tree("other", &[3; 32]).unwrap().is_some());
    }
}
