//! A remote in a local (or network-mounted) directory.

use std::fs::{self, File};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{ObjectInfo, Remote, RemoteError};

pub struct LocalRemote {
    root: PathBuf,
}

impl LocalRemote {
    pub fn new(root: PathBuf) -> Result<Self, RemoteError> {
        if !root.is_absolute() {
            return Err(RemoteError::Invalid {
                remote: root.display().to_string(),
                reason: "a local remote needs an absolute path".into(),
            });
        }
        fs::create_dir_all(&root).map_err(|source| RemoteError::Io {
            op: "create",
            key: root.display().to_string(),
            source,
        })?;
        Ok(LocalRemote { root })
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }
}

fn io(op: &'static str, key: &str, source: std::io::Error) -> RemoteError {
    if source.kind() == ErrorKind::NotFound {
        RemoteError::NotFound { key: key.into() }
    } else {
        RemoteError::Io {
            op,
            key: key.into(),
            source,
        }
    }
}

impl Remote for LocalRemote {
    fn put(&self, key: &str, data: &[u8]) -> Result<(), RemoteError> {
        let target = self.path(key);
        let dir = target.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| io("put", key, e))?;
        // Temp file + fsync + rename: readers and crashes never see half an object.
        let nonce = crate::random::u64().map_err(|e| io("put", key, e))?;
        let tmp = dir.join(format!(".tmp-{nonce:016x}"));
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            fs::rename(&tmp, &target)?;
            sync_dir(dir)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            io("put", key, e)
        })
    }

    fn get(&self, key: &str) -> Result<Vec<u8>, RemoteError> {
        fs::read(self.path(key)).map_err(|e| io("get", key, e))
    }

    fn get_range(&self, key: &str, offset: u64, len: u64) -> Result<Vec<u8>, RemoteError> {
        let read = || -> std::io::Result<Vec<u8>> {
            let mut f = File::open(self.path(key))?;
            f.seek(SeekFrom::Start(offset))?;
            let mut buf = Vec::with_capacity(len as usize);
            f.take(len).read_to_end(&mut buf)?;
            Ok(buf)
        };
        read().map_err(|e| io("get", key, e))
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, RemoteError> {
        let mut out = Vec::new();
        let start = self.path(prefix);
        let start_dir = if prefix.is_empty() || prefix.ends_with('/') {
            start.clone()
        } else {
            start
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or(start.clone())
        };
        walk(&self.root, &start_dir, prefix, &mut out).map_err(|e| io("list", prefix, e))?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), RemoteError> {
        match fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("delete", key, e)),
        }
    }

    fn stat(&self, key: &str) -> Result<Option<ObjectInfo>, RemoteError> {
        match fs::metadata(self.path(key)) {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectInfo {
                key: key.into(),
                size: meta.len(),
            })),
            Ok(_) => Ok(None),
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
                Ok(None)
            }
            Err(e) => Err(io("stat", key, e)),
        }
    }

    fn describe(&self) -> String {
        format!("local directory {}", self.root.display())
    }

    fn provider_name(&self) -> &'static str {
        "Local"
    }
}

fn walk(root: &Path, dir: &Path, prefix: &str, out: &mut Vec<ObjectInfo>) -> std::io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let meta = entry.metadata()?;
        let path = entry.path();
        let Some(key) = path
            .strip_prefix(root)
            .ok()
            .and_then(|p| p.to_str())
            .map(|s| s.replace(std::path::MAIN_SEPARATOR, "/"))
        else {
            continue;
        };
        if meta.is_dir() {
            walk(root, &path, prefix, out)?;
        } else if key.starts_with(prefix)
            && !entry.file_name().to_string_lossy().starts_with(".tmp-")
        {
            out.push(ObjectInfo {
                key,
                size: meta.len(),
            });
        }
    }
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let r = LocalRemote::new(dir.path().to_path_buf()).unwrap();
        r.put("main/heads/abc", b"one").unwrap();
        r.put("main/heads/abc", b"two").unwrap();
        r.put("main/packs/00/x", b"0123456789").unwrap();
        assert_eq!(r.get("main/heads/abc").unwrap(), b"two");
        assert_eq!(r.get_range("main/packs/00/x", 2, 3).unwrap(), b"234");
        let keys: Vec<_> = r
            .list("main/heads/")
            .unwrap()
            .into_iter()
            .map(|o| o.key)
            .collect();
        assert_eq!(keys, ["main/heads/abc"]);
        assert_eq!(r.list("main/").unwrap().len(), 2);
        assert!(r.list("other/").unwrap().is_empty());
        assert_eq!(
            r.stat("main/packs/00/x").unwrap(),
            Some(ObjectInfo {
                key: "main/packs/00/x".into(),
                size: 10
            })
        );
        assert_eq!(
            r.stat("main/packs/00").unwrap(),
            None,
            "a directory is no object"
        );
        assert_eq!(r.stat("main/packs/00/x/y").unwrap(), None);
        r.delete("main/heads/abc").unwrap();
        assert!(r.get("main/heads/abc").unwrap_err().is_not_found());
        assert_eq!(r.stat("main/heads/abc").unwrap(), None);
    }
}
