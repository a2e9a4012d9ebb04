//! The repository format (see docs/repo-format.md): config, packs, trees, snapshots, heads.

pub mod chunk;
pub mod pack;
pub mod tree;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::remote::{Remote, RemoteError};
use tree::{BlobRef, Hash};

pub const FORMAT: &str = "syncdesk-repo";
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error("the repository object {key} is damaged: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(
        "the repository uses format version {found}; this Syncdesk reads up to {FORMAT_VERSION}. Update Syncdesk."
    )]
    UnsupportedVersion { found: u32 },
    #[error("the repository is encrypted; this Syncdesk cannot open encrypted repositories yet")]
    Encrypted,
    #[error(
        "invalid cloud name {0:?}: use 1 to 64 letters, digits, '.', '_' or '-' (not starting with '.')"
    )]
    BadCloudName(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkerParams {
    pub min: u32,
    pub avg: u32,
    pub max: u32,
}

/// `config`: written once when the repository is created. Its content is deterministic for an
/// unencrypted repository, so two devices creating it at once write identical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub format: String,
    pub version: u32,
    pub chunker: ChunkerParams,
    pub compression: String,
    /// Reserved for end-to-end encryption; `null` means plaintext blobs.
    pub encryption: Option<serde_json::Value>,
}

impl Default for RepoConfig {
    fn default() -> Self {
        RepoConfig {
            format: FORMAT.into(),
            version: FORMAT_VERSION,
            chunker: ChunkerParams {
                min: 256 << 10,
                avg: 1 << 20,
                max: 4 << 20,
            },
            compression: "zstd".into(),
            encryption: None,
        }
    }
}

/// `snapshots/<id>`: one committed state of the folder. The id is the BLAKE3 of the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub version: u32,
    pub device: String,
    /// The snapshots this one merged: the device's previous one and the heads it read.
    pub parents: Vec<String>,
    pub root: BlobRef,
    pub created_at: String,
    pub files: u64,
    pub bytes: u64,
}

/// `heads/<device>`: the only mutable object, written only by its device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub device: String,
    /// Random per installation: another installation claiming this device id is detected.
    pub nonce: String,
    pub snapshot: String,
    pub written_at: String,
}

/// One head as read: the head, or the device whose head could not be read and why.
pub type HeadRead = Result<Head, (String, RepoError)>;

pub struct Repo {
    remote: Arc<dyn Remote>,
    prefix: String,
    pub config: RepoConfig,
}

/// 1 to 64 of `A–Z a–z 0–9 . _ -`, not starting with `.`: safe as a file name and in a URL,
/// the rule for cloud names and folder names.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub fn validate_cloud_name(name: &str) -> Result<(), RepoError> {
    if is_plain_name(name) {
        Ok(())
    } else {
        Err(RepoError::BadCloudName(name.into()))
    }
}

impl Repo {
    /// Opens `<remote>/<cloud_name>/`, creating the repository when it does not exist yet.
    pub fn open(remote: Arc<dyn Remote>, cloud_name: &str) -> Result<Repo, RepoError> {
        validate_cloud_name(cloud_name)?;
        let prefix = format!("{cloud_name}/");
        let key = format!("{prefix}config");
        let config = match remote.get(&key) {
            Ok(bytes) => {
                let config: RepoConfig =
                    serde_json::from_slice(&bytes).map_err(|e| RepoError::Corrupt {
                        key: key.clone(),
                        reason: e.to_string(),
                    })?;
                if config.format != FORMAT {
                    return Err(RepoError::Corrupt {
                        key,
                        reason: format!("not a Syncdesk repository (format {:?})", config.format),
                    });
                }
                if config.version > FORMAT_VERSION {
                    return Err(RepoError::UnsupportedVersion {
                        found: config.version,
                    });
                }
                if config.encryption.is_some() {
                    return Err(RepoError::Encrypted);
                }
                config
            }
            Err(e) if e.is_not_found() => {
                let config = RepoConfig::default();
                let bytes = serde_json::to_vec_pretty(&config).unwrap_or_default();
                remote.put(&key, &bytes)?;
                config
            }
            Err(e) => return Err(e.into()),
        };
        Ok(Repo {
            remote,
            prefix,
            config,
        })
    }

    fn key(&self, rel: &str) -> String {
        format!("{}{}", self.prefix, rel)
    }

    pub fn pack_key(&self, id: &Hash) -> String {
        let h = hex::encode(id);
        self.key(&format!("packs/{}/{}", &h[..2], h))
    }

    pub fn put_pack(&self, id: &Hash, bytes: &[u8]) -> Result<(), RepoError> {
        Ok(self.remote.put(&self.pack_key(id), bytes)?)
    }

    pub fn get_pack(&self, id: &Hash) -> Result<Vec<u8>, RepoError> {
        Ok(self.remote.get(&self.pack_key(id))?)
    }

    /// Every pack id in the repository.
    pub fn list_packs(&self) -> Result<Vec<(Hash, u64)>, RepoError> {
        let mut out = Vec::new();
        for obj in self.remote.list(&self.key("packs/"))? {
            let name = obj.key.rsplit('/').next().unwrap_or_default();
            if let Some(id) = parse_id(name) {
                out.push((id, obj.size));
            }
        }
        Ok(out)
    }

    /// Reads one blob and verifies it against its reference.
    pub fn read_blob(&self, r: &BlobRef) -> Result<Vec<u8>, RepoError> {
        let key = self.pack_key(&r.pack);
        let stored = self.remote.get_range(&key, r.offset, r.len as u64)?;
        pack::open_blob(&stored, r).map_err(|reason| RepoError::Corrupt { key, reason })
    }

    pub fn write_snapshot(&self, snapshot: &Snapshot) -> Result<String, RepoError> {
        let bytes = serde_json::to_vec_pretty(snapshot).unwrap_or_default();
        let id = hex::encode(blake3::hash(&bytes).as_bytes());
        self.remote
            .put(&self.key(&format!("snapshots/{id}")), &bytes)?;
        Ok(id)
    }

    pub fn snapshot(&self, id: &str) -> Result<Snapshot, RepoError> {
        let key = self.key(&format!("snapshots/{id}"));
        let bytes = self.remote.get(&key)?;
        if hex::encode(blake3::hash(&bytes).as_bytes()) != id {
            return Err(RepoError::Corrupt {
                key,
                reason: "content does not match its id".into(),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| RepoError::Corrupt {
            key,
            reason: e.to_string(),
        })
    }

    pub fn list_snapshots(&self) -> Result<Vec<String>, RepoError> {
        Ok(self
            .remote
            .list(&self.key("snapshots/"))?
            .into_iter()
            .filter_map(|o| o.key.rsplit('/').next().map(str::to_owned))
            .filter(|name| parse_id(name).is_some())
            .collect())
    }

    /// All device heads. A head that cannot be read or parsed is returned as an error
    /// for that device, so one bad head does not stop the others.
    pub fn heads(&self) -> Result<Vec<HeadRead>, RepoError> {
        let mut out = Vec::new();
        for obj in self.remote.list(&self.key("heads/"))? {
            let device = obj.key.rsplit('/').next().unwrap_or_default().to_owned();
            out.push(self.read_head_key(&obj.key).map_err(|e| (device, e)));
        }
        Ok(out)
    }

    pub fn head(&self, device: &str) -> Result<Option<Head>, RepoError> {
        match self.read_head_key(&self.key(&format!("heads/{device}"))) {
            Ok(h) => Ok(Some(h)),
            Err(RepoError::Remote(e)) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_head_key(&self, key: &str) -> Result<Head, RepoError> {
        let bytes = self.remote.get(key)?;
        serde_json::from_slice(&bytes).map_err(|e| RepoError::Corrupt {
            key: key.into(),
            reason: e.to_string(),
        })
    }

    pub fn write_head(&self, head: &Head) -> Result<(), RepoError> {
        let bytes = serde_json::to_vec_pretty(head).unwrap_or_default();
        Ok(self
            .remote
            .put(&self.key(&format!("heads/{}", head.device)), &bytes)?)
    }
}

fn parse_id(name: &str) -> Option<Hash> {
    let bytes = hex::decode(name).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::LocalRemote;

    #[test]
    fn cloud_names_are_validated() {
        for ok in ["main", "my-Notes_2", "a.b"] {
            validate_cloud_name(ok).unwrap();
        }
        for bad in ["", "..", ".hidden", "a/b", "a b", &"x".repeat(65)] {
            assert!(validate_cloud_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn newer_or_foreign_repositories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new(dir.path().into()).unwrap());
        let repo = Repo::open(remote.clone(), "main").unwrap();
        assert_eq!(repo.config, RepoConfig::default());
        let cfg = RepoConfig {
            version: 99,
            ..RepoConfig::default()
        };
        remote
            .put("main/config", &serde_json::to_vec(&cfg).unwrap())
            .unwrap();
        assert!(matches!(
            Repo::open(remote.clone(), "main"),
            Err(RepoError::UnsupportedVersion { found: 99 })
        ));
        remote
            .put("main/config", b"{\"format\":\"other\"}")
            .unwrap();
        assert!(matches!(
            Repo::open(remote, "main"),
            Err(RepoError::Corrupt { .. })
        ));
    }

    #[test]
    fn snapshots_are_verified_against_their_id() {
        let dir = tempfile::tempdir().unwrap();
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new(dir.path().into()).unwrap());
        let repo = Repo::open(remote.clone(), "main").unwrap();
        let snap = Snapshot {
            version: 1,
            device: "d".into(),
            parents: vec![],
            root: BlobRef {
                hash: [1; 32],
                pack: [2; 32],
                offset: 8,
                len: 1,
                raw_len: 1,
                codec: tree::Codec::Raw,
            },
            created_at: "2026-01-01T00:00:00.000Z".into(),
            files: 0,
            bytes: 0,
        };
        let id = repo.write_snapshot(&snap).unwrap();
        assert_eq!(repo.snapshot(&id).unwrap(), snap);
        assert_eq!(repo.list_snapshots().unwrap(), vec![id.clone()]);
        remote.put(&format!("main/snapshots/{id}"), b"{}").unwrap();
        assert!(matches!(repo.snapshot(&id), Err(RepoError::Corrupt { .. })));
    }
}
