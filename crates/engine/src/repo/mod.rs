//! The repository format (see docs/repo-format.md): config, packs, trees, snapshots, heads,
//! and optional end-to-end encryption (key files, sealed packs and objects).

pub mod chunk;
pub mod crypto;
pub mod keys;
pub mod pack;
pub mod tree;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::events::lock;
use crate::remote::{Remote, RemoteError};
use crypto::{KeyId, KeySet, MasterKey};
pub use keys::KdfParams;
use pack::{BlobKind, HeaderEntry, PackWriter, SealedBlob};
use tree::{BlobRef, Hash};

pub const FORMAT: &str = "syncdesk-repo";
pub const FORMAT_VERSION: u32 = 1;

/// The encryption scheme this Syncdesk writes and reads (the `encryption` of `config`).
pub const AEAD_XCHACHA20POLY1305: &str = "xchacha20poly1305";
pub const KDF_ARGON2ID: &str = "argon2id";
pub const IDS_BLAKE3_KEYED: &str = "blake3-keyed";

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
    #[error(
        "the repository is encrypted with {scheme}, which this Syncdesk does not support. Update Syncdesk."
    )]
    UnsupportedEncryption { scheme: String },
    #[error(
        "the repository {name} is not encrypted; remove the passphrase or use another cloud name"
    )]
    NotEncrypted { name: String },
    #[error("the repository is encrypted; enter its passphrase to open it")]
    PassphraseRequired,
    #[error(
        "wrong passphrase: it unlocks none of the repository's keys (if it was changed on another device, enter the new one)"
    )]
    WrongPassphrase,
    #[error("the passphrase is empty; choose a passphrase to encrypt the repository with")]
    EmptyPassphrase,
    #[error("cannot derive a key from the passphrase: {0}")]
    BadKdfParams(String),
    #[error("the system's random number generator failed: {0}")]
    Random(#[source] std::io::Error),
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

/// How an encrypted repository is sealed. Fixed names, no secrets and no random values, so
/// the config of an encrypted repository is as deterministic as a plain one's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionConfig {
    /// The AEAD of every sealed object and of wrapped keys.
    pub aead: String,
    /// How key files derive a key from the passphrase.
    pub kdf: String,
    /// How blob and snapshot ids are computed.
    pub ids: String,
}

impl Default for EncryptionConfig {
    fn default() -> Self {
        EncryptionConfig {
            aead: AEAD_XCHACHA20POLY1305.into(),
            kdf: KDF_ARGON2ID.into(),
            ids: IDS_BLAKE3_KEYED.into(),
        }
    }
}

/// `config`: written once when the repository is created. Its content is deterministic, so
/// two devices creating it at once write identical bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoConfig {
    pub format: String,
    pub version: u32,
    pub chunker: ChunkerParams,
    pub compression: String,
    /// `null` for a plain repository.
    pub encryption: Option<EncryptionConfig>,
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

impl RepoConfig {
    /// The config of a new encrypted repository.
    pub fn encrypted() -> Self {
        RepoConfig {
            encryption: Some(EncryptionConfig::default()),
            ..RepoConfig::default()
        }
    }

    fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    fn parse(key: &str, bytes: &[u8]) -> Result<RepoConfig, RepoError> {
        let corrupt = |reason: String| RepoError::Corrupt {
            key: key.into(),
            reason,
        };
        // Format and version first, so that a newer format is reported as such even when
        // the rest of its config no longer parses as this version's.
        #[derive(Deserialize)]
        struct Probe {
            format: Option<String>,
            version: Option<u32>,
        }
        let probe: Probe = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if probe.format.as_deref() != Some(FORMAT) {
            return Err(corrupt(format!(
                "not a Syncdesk repository (format {:?})",
                probe.format.unwrap_or_default()
            )));
        }
        if let Some(found) = probe.version.filter(|v| *v > FORMAT_VERSION) {
            return Err(RepoError::UnsupportedVersion { found });
        }
        let config: RepoConfig =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if let Some(enc) = &config.encryption
            && *enc != EncryptionConfig::default()
        {
            return Err(RepoError::UnsupportedEncryption {
                scheme: format!("{} / {} / {}", enc.aead, enc.kdf, enc.ids),
            });
        }
        Ok(config)
    }
}

/// `snapshots/<id>`: one committed state of the folder. The id is the BLAKE3 of the bytes
/// (in an encrypted repository: the keyed BLAKE3 of the plaintext).
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
    name: String,
    prefix: String,
    pub config: RepoConfig,
    /// The master keys of an encrypted repository; `None` for a plain one.
    keys: Option<KeySet>,
    /// Cost of the key files this handle writes (a new repository, a passphrase change).
    kdf: KdfParams,
    /// Which key each sealed pack is sealed with, learned from its framing. Only consulted
    /// when the repository has several master keys.
    pack_keys: Mutex<HashMap<Hash, KeyId>>,
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
    /// Opens `<remote>/<cloud_name>/`, creating the repository when it does not exist yet:
    /// plain without a passphrase, encrypted with one. Opening an existing repository checks
    /// that the passphrase (or its absence) fits it and writes nothing.
    pub fn open(
        remote: Arc<dyn Remote>,
        cloud_name: &str,
        passphrase: Option<&str>,
    ) -> Result<Repo, RepoError> {
        Repo::open_with_kdf(remote, cloud_name, passphrase, KdfParams::default())
    }

    /// [`Repo::open`] with the Argon2id cost of the key files this handle writes (when it
    /// creates the repository, and in [`Repo::change_passphrase`]). Existing key files carry
    /// their own cost. Lower than the default only for tests.
    pub fn open_with_kdf(
        remote: Arc<dyn Remote>,
        cloud_name: &str,
        passphrase: Option<&str>,
        kdf: KdfParams,
    ) -> Result<Repo, RepoError> {
        validate_cloud_name(cloud_name)?;
        let prefix = format!("{cloud_name}/");
        let config_key = format!("{prefix}config");
        let keys_prefix = format!("{prefix}keys/");
        let config = match remote.get(&config_key) {
            Ok(bytes) => RepoConfig::parse(&config_key, &bytes)?,
            Err(e) if e.is_not_found() => {
                let ours = create(remote.as_ref(), &config_key, &keys_prefix, passphrase, &kdf)?;
                // Read it back: another device creating the repository at the same moment
                // may have written a different config (plain where we wanted encrypted, or
                // the reverse); then the checks below refuse it like any mismatch.
                match remote.get(&config_key) {
                    Ok(bytes) => RepoConfig::parse(&config_key, &bytes)?,
                    Err(e) if e.is_not_found() => ours,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e.into()),
        };
        let keys = match (&config.encryption, passphrase) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(RepoError::NotEncrypted {
                    name: cloud_name.into(),
                });
            }
            (Some(_), None) => return Err(RepoError::PassphraseRequired),
            (Some(_), Some(p)) => {
                Some(keys::unlock(remote.as_ref(), &keys_prefix, p)?.into_key_set(&keys_prefix)?)
            }
        };
        Ok(Repo {
            remote,
            name: cloud_name.into(),
            prefix,
            config,
            keys,
            kdf,
            pack_keys: Mutex::new(HashMap::new()),
        })
    }

    pub fn is_encrypted(&self) -> bool {
        self.keys.is_some()
    }

    /// The ids (hex) of the master keys this handle holds, the primary first.
    pub fn key_ids(&self) -> Vec<String> {
        self.keys
            .iter()
            .flat_map(|ks| ks.iter())
            .map(|k| hex::encode(k.id()))
            .collect()
    }

    /// Re-wraps every master key `old` unlocks under `new`, then deletes the key files `old`
    /// unlocked. No data is rewritten. A crash in between leaves both key files: either
    /// passphrase then works, and running the change again finishes it.
    pub fn change_passphrase(&self, old: &str, new: &str) -> Result<(), RepoError> {
        if !self.is_encrypted() {
            return Err(RepoError::NotEncrypted {
                name: self.name.clone(),
            });
        }
        if new.is_empty() {
            return Err(RepoError::EmptyPassphrase);
        }
        let keys_prefix = self.key("keys/");
        let unlocked =
            keys::unlock(self.remote.as_ref(), &keys_prefix, old)?.into_unlocked(&keys_prefix)?;
        let mut rewrapped = HashSet::new();
        for u in &unlocked {
            if rewrapped.insert(*u.key.id()) {
                keys::write_key_file(self.remote.as_ref(), &keys_prefix, &u.key, new, &self.kdf)?;
            }
        }
        // Only now that every key is reachable with the new passphrase.
        for u in &unlocked {
            match self.remote.delete(&u.object) {
                Ok(()) => {}
                // Another device changing the passphrase at the same time deleted it first.
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    fn key(&self, rel: &str) -> String {
        format!("{}{}", self.prefix, rel)
    }

    fn corrupt(key: &str, reason: impl Into<String>) -> RepoError {
        RepoError::Corrupt {
            key: key.into(),
            reason: reason.into(),
        }
    }

    /// The id of a blob with this plaintext: BLAKE3, keyed with the primary key's id key in
    /// an encrypted repository (so plaintext hashes never reach the remote).
    pub fn blob_id(&self, raw: &[u8]) -> Hash {
        match &self.keys {
            None => *blake3::hash(raw).as_bytes(),
            Some(ks) => ks.primary().blob_id(raw),
        }
    }

    /// Compresses (when `compress` and it pays) and, in an encrypted repository, seals a
    /// blob whose id is `id` (from [`Repo::blob_id`]) for a pack from [`Repo::new_pack`].
    pub fn seal_blob(
        &self,
        id: Hash,
        kind: BlobKind,
        raw: &[u8],
        compress: bool,
    ) -> Result<SealedBlob, RepoError> {
        debug_assert_eq!(id, self.blob_id(raw), "blob id from another key");
        match &self.keys {
            None => Ok(pack::seal_plain(id, kind, raw, compress)),
            Some(ks) => pack::seal_with_key(id, kind, raw, compress, ks.primary())
                .map_err(RepoError::Random),
        }
    }

    /// A new, empty pack with a random id, sealed with the primary key when encrypted.
    pub fn new_pack(&self) -> Result<PackWriter, RepoError> {
        let id: Hash = crate::random::bytes().map_err(RepoError::Random)?;
        match &self.keys {
            None => Ok(PackWriter::new(id)),
            Some(ks) => PackWriter::new_sealed(id, ks.primary().clone()).map_err(RepoError::Random),
        }
    }

    pub fn pack_key(&self, id: &Hash) -> String {
        let h = hex::encode(id);
        self.key(&format!("packs/{}/{}", &h[..2], h))
    }

    pub fn put_pack(&self, id: &Hash, bytes: &[u8]) -> Result<(), RepoError> {
        Ok(self.remote.put(&self.pack_key(id), bytes)?)
    }

    /// The stored size of a pack, `None` when the remote does not have it.
    pub fn stat_pack(&self, id: &Hash) -> Result<Option<u64>, RepoError> {
        Ok(self.remote.stat(&self.pack_key(id))?.map(|o| o.size))
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

    /// The master key of the key set `ks` that the pack named `id` is sealed with;
    /// `prefix` is the pack's first bytes when at hand, otherwise they are fetched.
    fn pack_master_key(
        &self,
        ks: &KeySet,
        id: &Hash,
        prefix: Option<&[u8]>,
    ) -> Result<Arc<MasterKey>, String> {
        let key_id = match prefix {
            Some(p) => pack::sealed_key_id(p)?,
            None => {
                if let Some(k) = ks.single() {
                    // One key: a pack sealed with any other fails authentication anyway,
                    // so the framing need not be fetched.
                    return Ok(k.clone());
                }
                let known = lock(&self.pack_keys).get(id).copied();
                match known {
                    Some(k) => k,
                    None => {
                        let p = self
                            .remote
                            .get_range(&self.pack_key(id), 0, pack::SEALED_PREFIX_LEN as u64)
                            .map_err(|e| e.to_string())?;
                        pack::sealed_key_id(&p)?
                    }
                }
            }
        };
        lock(&self.pack_keys).insert(*id, key_id);
        ks.get(&key_id).cloned().ok_or_else(|| unknown_key(&key_id))
    }

    /// Reads one blob and verifies it against its reference. Either kind is accepted; use
    /// [`Repo::read_blob_as`] when the kind is known.
    pub fn read_blob(&self, r: &BlobRef) -> Result<Vec<u8>, RepoError> {
        self.read_blob_kind(r, None)
    }

    /// Reads one blob of `kind` and verifies it against its reference.
    pub fn read_blob_as(&self, r: &BlobRef, kind: BlobKind) -> Result<Vec<u8>, RepoError> {
        self.read_blob_kind(r, Some(kind))
    }

    fn read_blob_kind(&self, r: &BlobRef, kind: Option<BlobKind>) -> Result<Vec<u8>, RepoError> {
        let key = self.pack_key(&r.pack);
        let stored = self.remote.get_range(&key, r.offset, r.len as u64)?;
        let opened = match &self.keys {
            None => pack::open_blob(&stored, r),
            Some(ks) => self
                .pack_master_key(ks, &r.pack, None)
                .and_then(|mk| pack::open_sealed_blob(&stored, r, kind, &mk)),
        };
        opened.map_err(|reason| Repo::corrupt(&key, reason))
    }

    /// Checks the framing of a whole pack (as [`Repo::get_pack`] returns it) and reads its
    /// header, opening it in an encrypted repository.
    pub fn parse_pack(&self, id: &Hash, bytes: &[u8]) -> Result<Vec<HeaderEntry>, String> {
        match &self.keys {
            None => pack::parse_header(bytes),
            Some(ks) => {
                let mk = self.pack_master_key(ks, id, Some(bytes))?;
                pack::parse_sealed_header(bytes, id, &mk)
            }
        }
    }

    /// Opens and verifies one blob of a whole pack `bytes` (the pack `r.pack`).
    pub fn open_blob_in_pack(
        &self,
        bytes: &[u8],
        r: &BlobRef,
        kind: BlobKind,
    ) -> Result<Vec<u8>, String> {
        let start = r.offset as usize;
        let stored = bytes
            .get(start..start.saturating_add(r.len as usize))
            .ok_or_else(|| "blob lies past the end of the pack".to_string())?;
        match &self.keys {
            None => pack::open_blob(stored, r),
            Some(ks) => {
                let mk = self.pack_master_key(ks, &r.pack, Some(bytes))?;
                pack::open_sealed_blob(stored, r, Some(kind), &mk)
            }
        }
    }

    /// Opens an object sealed whole (a snapshot or a head) with the key it names.
    fn open_envelope(
        &self,
        ks: &KeySet,
        key: &str,
        label: &[u8],
        bytes: &[u8],
    ) -> Result<(Arc<MasterKey>, Vec<u8>), RepoError> {
        let key_id = crypto::envelope_key_id(bytes).map_err(|r| Repo::corrupt(key, r))?;
        let mk = ks
            .get(&key_id)
            .ok_or_else(|| Repo::corrupt(key, unknown_key(&key_id)))?;
        let plain = crypto::open_envelope(mk, label, bytes).map_err(|r| Repo::corrupt(key, r))?;
        Ok((mk.clone(), plain))
    }

    pub fn write_snapshot(&self, snapshot: &Snapshot) -> Result<String, RepoError> {
        let json = serde_json::to_vec_pretty(snapshot).unwrap_or_default();
        let (id, bytes) = match &self.keys {
            None => (*blake3::hash(&json).as_bytes(), json),
            Some(ks) => {
                let mk = ks.primary();
                let sealed = crypto::seal_envelope(mk, crypto::AD_SNAPSHOT, &json)
                    .map_err(RepoError::Random)?;
                (mk.blob_id(&json), sealed)
            }
        };
        let id = hex::encode(id);
        self.remote
            .put(&self.key(&format!("snapshots/{id}")), &bytes)?;
        Ok(id)
    }

    pub fn snapshot(&self, id: &str) -> Result<Snapshot, RepoError> {
        let key = self.key(&format!("snapshots/{id}"));
        let bytes = self.remote.get(&key)?;
        let json = match &self.keys {
            None => {
                refuse_sealed(&key, &bytes)?;
                if hex::encode(blake3::hash(&bytes).as_bytes()) != id {
                    return Err(Repo::corrupt(&key, "content does not match its id"));
                }
                bytes
            }
            Some(ks) => {
                let (mk, plain) = self.open_envelope(ks, &key, crypto::AD_SNAPSHOT, &bytes)?;
                if hex::encode(mk.blob_id(&plain)) != id {
                    return Err(Repo::corrupt(&key, "content does not match its id"));
                }
                plain
            }
        };
        serde_json::from_slice(&json).map_err(|e| Repo::corrupt(&key, e.to_string()))
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
            out.push(
                self.read_head_key(&obj.key, &device)
                    .map_err(|e| (device, e)),
            );
        }
        Ok(out)
    }

    pub fn head(&self, device: &str) -> Result<Option<Head>, RepoError> {
        match self.read_head_key(&self.key(&format!("heads/{device}")), device) {
            Ok(h) => Ok(Some(h)),
            Err(RepoError::Remote(e)) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn read_head_key(&self, key: &str, device: &str) -> Result<Head, RepoError> {
        let bytes = self.remote.get(key)?;
        let json = match &self.keys {
            None => {
                refuse_sealed(key, &bytes)?;
                bytes
            }
            // The device name in the object's key is authenticated: a head cannot be passed
            // off as another device's.
            Some(ks) => {
                self.open_envelope(ks, key, &crypto::head_label(device), &bytes)?
                    .1
            }
        };
        serde_json::from_slice(&json).map_err(|e| Repo::corrupt(key, e.to_string()))
    }

    pub fn write_head(&self, head: &Head) -> Result<(), RepoError> {
        let json = serde_json::to_vec_pretty(head).unwrap_or_default();
        let bytes = match &self.keys {
            None => json,
            Some(ks) => {
                crypto::seal_envelope(ks.primary(), &crypto::head_label(&head.device), &json)
                    .map_err(RepoError::Random)?
            }
        };
        Ok(self
            .remote
            .put(&self.key(&format!("heads/{}", head.device)), &bytes)?)
    }
}

/// Creates a repository whose config is missing, and returns the config it wrote. For an
/// encrypted one the key file comes first (unless key files the passphrase unlocks are there
/// already), so a config never names an encryption that has no key. Writes nothing when it
/// fails (a wrong passphrase, key files but no passphrase).
fn create(
    remote: &dyn Remote,
    config_key: &str,
    keys_prefix: &str,
    passphrase: Option<&str>,
    kdf: &KdfParams,
) -> Result<RepoConfig, RepoError> {
    let config = match passphrase {
        None => {
            // Key files without a config: another device is creating an encrypted repository
            // here right now (it writes its key file first), or the config was lost.
            if !remote.list(keys_prefix)?.is_empty() {
                return Err(RepoError::PassphraseRequired);
            }
            RepoConfig::default()
        }
        Some("") => return Err(RepoError::EmptyPassphrase),
        Some(p) => {
            let found = keys::unlock(remote, keys_prefix, p)?;
            if found.is_empty() {
                let key = Arc::new(MasterKey::generate().map_err(RepoError::Random)?);
                keys::write_key_file(remote, keys_prefix, &key, p, kdf)?;
            } else {
                // Keys are there already: use them, and refuse a passphrase that unlocks
                // none of them before writing anything.
                found.into_unlocked(keys_prefix)?;
            }
            RepoConfig::encrypted()
        }
    };
    remote.put(config_key, &config.to_bytes())?;
    Ok(config)
}

fn unknown_key(id: &KeyId) -> String {
    format!(
        "sealed with key {}, which this passphrase does not unlock (a key file written under another passphrase?)",
        hex::encode(id)
    )
}

/// A plain repository refuses sealed objects with a clear reason rather than a parse error.
fn refuse_sealed(key: &str, bytes: &[u8]) -> Result<(), RepoError> {
    if bytes.starts_with(crypto::ENVELOPE_MAGIC) {
        return Err(Repo::corrupt(
            key,
            "the object is encrypted, but the repository is not: refusing it",
        ));
    }
    Ok(())
}

fn parse_id(name: &str) -> Option<Hash> {
    let bytes = hex::decode(name).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::remote::LocalRemote;
    use keys::TEST_KDF;

    fn new_remote() -> (tempfile::TempDir, Arc<dyn Remote>) {
        let dir = tempfile::tempdir().unwrap();
        let remote: Arc<dyn Remote> = Arc::new(LocalRemote::new(dir.path().into()).unwrap());
        (dir, remote)
    }

    fn open(remote: &Arc<dyn Remote>, pw: Option<&str>) -> Result<Repo, RepoError> {
        Repo::open_with_kdf(remote.clone(), "main", pw, TEST_KDF)
    }

    /// Every object of the remote and its bytes.
    fn objects(remote: &Arc<dyn Remote>) -> BTreeMap<String, Vec<u8>> {
        remote
            .list("")
            .unwrap()
            .into_iter()
            .map(|o| (o.key.clone(), remote.get(&o.key).unwrap()))
            .collect()
    }

    fn snapshot(root: BlobRef) -> Snapshot {
        Snapshot {
            version: 1,
            device: "d".into(),
            parents: vec![],
            root,
            created_at: "2026-01-01T00:00:00.000Z".into(),
            files: 0,
            bytes: 0,
        }
    }

    fn head(device: &str, snapshot: &str) -> Head {
        Head {
            device: device.into(),
            nonce: "00".repeat(16),
            snapshot: snapshot.into(),
            written_at: "2026-01-01T00:00:00.000Z".into(),
        }
    }

    /// Stores one pack holding `blobs`; returns their references.
    fn put_blobs(repo: &Repo, blobs: &[(BlobKind, &[u8])]) -> Vec<BlobRef> {
        let mut w = repo.new_pack().unwrap();
        let refs = blobs
            .iter()
            .map(|(kind, raw)| {
                let sealed = repo.seal_blob(repo.blob_id(raw), *kind, raw, true).unwrap();
                w.add(&sealed)
            })
            .collect();
        let (id, bytes) = w.finish();
        repo.put_pack(&id, &bytes).unwrap();
        refs
    }

    fn flip(remote: &Arc<dyn Remote>, key: &str, at: usize) {
        let mut bytes = remote.get(key).unwrap();
        bytes[at] ^= 0x01;
        remote.put(key, &bytes).unwrap();
    }

    fn assert_auth_failure(e: RepoError, object: &str) {
        match e {
            RepoError::Corrupt { key, reason } => {
                assert_eq!(key, object);
                assert!(reason.contains("authentication failed"), "{reason}");
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
    }

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
        let (_dir, remote) = new_remote();
        let repo = Repo::open(remote.clone(), "main", None).unwrap();
        assert_eq!(repo.config, RepoConfig::default());
        assert!(!repo.is_encrypted());
        let cfg = RepoConfig {
            version: 99,
            ..RepoConfig::default()
        };
        remote
            .put("main/config", &serde_json::to_vec(&cfg).unwrap())
            .unwrap();
        assert!(matches!(
            Repo::open(remote.clone(), "main", None),
            Err(RepoError::UnsupportedVersion { found: 99 })
        ));
        remote
            .put("main/config", b"{\"format\":\"other\"}")
            .unwrap();
        assert!(matches!(
            Repo::open(remote.clone(), "main", None),
            Err(RepoError::Corrupt { .. })
        ));
        let mut cfg = RepoConfig::encrypted();
        if let Some(e) = cfg.encryption.as_mut() {
            e.aead = "aes-256-gcm-siv".into();
        }
        remote
            .put("main/config", &serde_json::to_vec(&cfg).unwrap())
            .unwrap();
        let err = Repo::open(remote, "main", Some("pw")).err().unwrap();
        assert!(matches!(err, RepoError::UnsupportedEncryption { .. }));
        assert!(err.to_string().contains("aes-256-gcm-siv"), "{err}");
    }

    #[test]
    fn snapshots_are_verified_against_their_id() {
        let (_dir, remote) = new_remote();
        let repo = Repo::open(remote.clone(), "main", None).unwrap();
        let snap = snapshot(BlobRef {
            hash: [1; 32],
            pack: [2; 32],
            offset: 8,
            len: 1,
            raw_len: 1,
            codec: tree::Codec::Raw,
        });
        let id = repo.write_snapshot(&snap).unwrap();
        assert_eq!(repo.snapshot(&id).unwrap(), snap);
        assert_eq!(repo.list_snapshots().unwrap(), vec![id.clone()]);
        remote.put(&format!("main/snapshots/{id}"), b"{}").unwrap();
        assert!(matches!(repo.snapshot(&id), Err(RepoError::Corrupt { .. })));
    }

    #[test]
    fn configs_are_deterministic_and_say_how_they_are_encrypted() {
        let (_d1, a) = new_remote();
        let (_d2, b) = new_remote();
        open(&a, Some("one")).unwrap();
        open(&b, Some("two")).unwrap();
        let config = a.get("main/config").unwrap();
        assert_eq!(config, b.get("main/config").unwrap());
        let v: serde_json::Value = serde_json::from_slice(&config).unwrap();
        assert_eq!(
            v["encryption"],
            serde_json::json!({"aead": "xchacha20poly1305", "kdf": "argon2id", "ids": "blake3-keyed"})
        );
        assert_eq!(v["version"], 1);
        let (_d3, c) = new_remote();
        open(&c, None).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&c.get("main/config").unwrap()).unwrap();
        assert!(v["encryption"].is_null());
    }

    #[test]
    fn encrypted_objects_round_trip() {
        let (_dir, remote) = new_remote();
        let repo = open(&remote, Some("pw")).unwrap();
        assert!(repo.is_encrypted());
        assert_eq!(repo.key_ids().len(), 1);
        let text = b"some words that compress well, some words that compress well".repeat(50);
        let tree = b"a tree blob".to_vec();
        let refs = put_blobs(&repo, &[(BlobKind::Data, &text), (BlobKind::Tree, &tree)]);
        assert_eq!(refs[0].codec, tree::Codec::Zstd);
        assert_ne!(refs[0].hash, *blake3::hash(&text).as_bytes());
        assert_eq!(refs[0].hash, repo.blob_id(&text));
        assert_eq!(repo.read_blob(&refs[0]).unwrap(), text);
        assert_eq!(repo.read_blob(&refs[1]).unwrap(), tree);
        assert_eq!(repo.read_blob_as(&refs[1], BlobKind::Tree).unwrap(), tree);
        // The kind is authenticated.
        assert!(repo.read_blob_as(&refs[1], BlobKind::Data).is_err());

        let pack = repo.get_pack(&refs[0].pack).unwrap();
        let header = repo.parse_pack(&refs[0].pack, &pack).unwrap();
        assert_eq!(header.len(), 2);
        assert_eq!(header[1].kind, BlobKind::Tree);
        assert_eq!(
            repo.open_blob_in_pack(&pack, &refs[0], BlobKind::Data)
                .unwrap(),
            text
        );
        // A plain reader sees neither a valid pack nor valid blobs.
        assert!(pack::parse_header(&pack).is_err());
        let stored = &pack[refs[0].offset as usize..][..refs[0].len as usize];
        assert!(pack::open_blob(stored, &refs[0]).is_err());

        let snap = snapshot(refs[1]);
        let id = repo.write_snapshot(&snap).unwrap();
        let json = serde_json::to_vec_pretty(&snap).unwrap();
        assert_ne!(id, hex::encode(blake3::hash(&json).as_bytes()));
        assert_eq!(repo.snapshot(&id).unwrap(), snap);
        repo.write_head(&head("laptop", &id)).unwrap();
        assert_eq!(repo.head("laptop").unwrap().unwrap(), head("laptop", &id));
        let heads = repo.heads().unwrap();
        assert_eq!(heads.len(), 1);
        assert_eq!(heads[0].as_ref().unwrap().snapshot, id);

        // Another handle (another process: keys from the file, not this one's memory).
        let again = open(&remote, Some("pw")).unwrap();
        assert_eq!(again.snapshot(&id).unwrap(), snap);
        assert_eq!(again.read_blob(&refs[0]).unwrap(), text);
    }

    #[test]
    fn mismatched_or_wrong_passphrases_are_refused_and_write_nothing() {
        let (_dir, remote) = new_remote();
        open(&remote, None).unwrap();
        let before = objects(&remote);
        let err = open(&remote, Some("pw")).err().unwrap();
        assert!(matches!(err, RepoError::NotEncrypted { .. }));
        assert!(
            err.to_string()
                .contains("the repository main is not encrypted"),
            "{err}"
        );
        assert_eq!(objects(&remote), before);

        let (_dir, remote) = new_remote();
        open(&remote, Some("right")).unwrap();
        let before = objects(&remote);
        assert!(matches!(
            open(&remote, None),
            Err(RepoError::PassphraseRequired)
        ));
        assert!(matches!(
            open(&remote, Some("wrong")),
            Err(RepoError::WrongPassphrase)
        ));
        assert!(matches!(
            open(&remote, Some("")),
            Err(RepoError::WrongPassphrase)
        ));
        assert_eq!(objects(&remote), before);

        // Creating: an empty passphrase encrypts nothing.
        let (_dir, remote) = new_remote();
        assert!(matches!(
            open(&remote, Some("")),
            Err(RepoError::EmptyPassphrase)
        ));
        assert!(objects(&remote).is_empty());
    }

    #[test]
    fn a_lost_config_is_recreated_without_a_new_key() {
        let (_dir, remote) = new_remote();
        let repo = open(&remote, Some("pw")).unwrap();
        let id = repo.write_snapshot(&snapshot(BlobRef {
            hash: [1; 32],
            pack: [2; 32],
            offset: 24,
            len: 41,
            raw_len: 1,
            codec: tree::Codec::Raw,
        }));
        let id = id.unwrap();
        remote.delete("main/config").unwrap();
        // Key files are there: without a passphrase nothing is created.
        assert!(matches!(
            open(&remote, None),
            Err(RepoError::PassphraseRequired)
        ));
        assert!(matches!(
            open(&remote, Some("wrong")),
            Err(RepoError::WrongPassphrase)
        ));
        assert!(remote.get("main/config").is_err());
        let again = open(&remote, Some("pw")).unwrap();
        assert_eq!(again.key_ids(), repo.key_ids());
        assert!(again.snapshot(&id).is_ok());
        assert_eq!(remote.list("main/keys/").unwrap().len(), 1);
    }

    #[test]
    fn tampering_is_detected_never_returned() {
        let (_dir, remote) = new_remote();
        let repo = open(&remote, Some("pw")).unwrap();
        let refs = put_blobs(&repo, &[(BlobKind::Data, b"important bytes")]);
        let r = refs[0];
        let pack_key = repo.pack_key(&r.pack);
        let id = repo.write_snapshot(&snapshot(r)).unwrap();
        repo.write_head(&head("laptop", &id)).unwrap();

        // A blob: every byte of it.
        let pristine = remote.get(&pack_key).unwrap();
        for at in r.offset as usize..(r.offset + r.len as u64) as usize {
            flip(&remote, &pack_key, at);
            assert_auth_failure(repo.read_blob(&r).unwrap_err(), &pack_key);
            remote.put(&pack_key, &pristine).unwrap();
        }
        // The sealed header.
        let header_at = pristine.len() - 12 - 5;
        flip(&remote, &pack_key, header_at);
        let bytes = remote.get(&pack_key).unwrap();
        let err = repo.parse_pack(&r.pack, &bytes).unwrap_err();
        assert!(err.contains("authentication failed"), "{err}");
        // The header is bound to the pack's name.
        assert!(repo.parse_pack(&[9; 32], &pristine).is_err());
        remote.put(&pack_key, &pristine).unwrap();
        repo.parse_pack(&r.pack, &pristine).unwrap();

        // A snapshot and a head.
        let snap_key = format!("main/snapshots/{id}");
        flip(&remote, &snap_key, 60);
        assert_auth_failure(repo.snapshot(&id).unwrap_err(), &snap_key);
        flip(&remote, "main/heads/laptop", 60);
        assert_auth_failure(repo.head("laptop").unwrap_err(), "main/heads/laptop");
        // A head copied under another device's name does not open.
        repo.write_head(&head("laptop", &id)).unwrap();
        remote
            .put("main/heads/desk", &remote.get("main/heads/laptop").unwrap())
            .unwrap();
        assert_auth_failure(repo.head("desk").unwrap_err(), "main/heads/desk");
    }

    #[test]
    fn plaintext_and_ciphertext_never_mix() {
        let (_d1, plain_remote) = new_remote();
        let (_d2, enc_remote) = new_remote();
        let plain = open(&plain_remote, None).unwrap();
        let enc = open(&enc_remote, Some("pw")).unwrap();
        // A plain snapshot and head planted in an encrypted repository (an attacker with
        // write access, or a device without the passphrase) are refused.
        let snap = snapshot(put_blobs(&plain, &[(BlobKind::Tree, b"t")])[0]);
        let id = plain.write_snapshot(&snap).unwrap();
        plain.write_head(&head("x", &id)).unwrap();
        for key in [format!("main/snapshots/{id}"), "main/heads/x".into()] {
            enc_remote
                .put(&key, &plain_remote.get(&key).unwrap())
                .unwrap();
        }
        let err = enc.snapshot(&id).unwrap_err().to_string();
        assert!(err.contains("not encrypted"), "{err}");
        assert!(enc.head("x").is_err());
        // A plain pack too.
        let r = snap.root;
        enc_remote
            .put(
                &enc.pack_key(&r.pack),
                &plain_remote.get(&plain.pack_key(&r.pack)).unwrap(),
            )
            .unwrap();
        assert!(enc.read_blob(&r).is_err());
        let bytes = enc.get_pack(&r.pack).unwrap();
        assert!(
            enc.parse_pack(&r.pack, &bytes)
                .unwrap_err()
                .contains("not encrypted")
        );

        // And the reverse.
        let snap = snapshot(put_blobs(&enc, &[(BlobKind::Tree, b"t")])[0]);
        let id = enc.write_snapshot(&snap).unwrap();
        enc.write_head(&head("y", &id)).unwrap();
        for key in [format!("main/snapshots/{id}"), "main/heads/y".into()] {
            plain_remote
                .put(&key, &enc_remote.get(&key).unwrap())
                .unwrap();
        }
        let err = plain.snapshot(&id).unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");
        let err = plain.head("y").unwrap_err().to_string();
        assert!(err.contains("encrypted"), "{err}");
        let r = snap.root;
        plain_remote
            .put(
                &plain.pack_key(&r.pack),
                &enc_remote.get(&enc.pack_key(&r.pack)).unwrap(),
            )
            .unwrap();
        assert!(plain.read_blob(&r).is_err());
        let bytes = plain.get_pack(&r.pack).unwrap();
        assert!(plain.parse_pack(&r.pack, &bytes).is_err());
    }

    #[test]
    fn changing_the_passphrase_rewraps_keys_only() {
        let (_dir, remote) = new_remote();
        let repo = open(&remote, Some("old")).unwrap();
        let refs = put_blobs(&repo, &[(BlobKind::Data, b"kept as is")]);
        let id = repo.write_snapshot(&snapshot(refs[0])).unwrap();
        repo.write_head(&head("laptop", &id)).unwrap();
        let data = |remote: &Arc<dyn Remote>| {
            let mut all = objects(remote);
            all.retain(|k, _| !k.starts_with("main/keys/"));
            all
        };
        let before = data(&remote);
        let old_files = remote.list("main/keys/").unwrap();

        let nothing = objects(&remote);
        assert!(matches!(
            repo.change_passphrase("not it", "new"),
            Err(RepoError::WrongPassphrase)
        ));
        assert!(matches!(
            repo.change_passphrase("old", ""),
            Err(RepoError::EmptyPassphrase)
        ));
        assert_eq!(objects(&remote), nothing);

        repo.change_passphrase("old", "new").unwrap();
        assert_eq!(data(&remote), before);
        let new_files = remote.list("main/keys/").unwrap();
        assert_eq!(new_files.len(), 1);
        assert_ne!(new_files[0].key, old_files[0].key);
        assert!(matches!(
            open(&remote, Some("old")),
            Err(RepoError::WrongPassphrase)
        ));
        let reopened = open(&remote, Some("new")).unwrap();
        // Same master key, same primary: ids and sealing are unchanged.
        assert_eq!(reopened.key_ids(), repo.key_ids());
        assert_eq!(reopened.read_blob(&refs[0]).unwrap(), b"kept as is");
        assert_eq!(reopened.snapshot(&id).unwrap().root, refs[0]);
        assert_eq!(reopened.blob_id(b"x"), repo.blob_id(b"x"));
    }

    #[test]
    fn a_creation_race_leaves_two_keys_both_readable() {
        let (_dir, remote) = new_remote();
        // Device A: created the repository and wrote data with its only key.
        let a = open(&remote, Some("pw")).unwrap();
        let a_refs = put_blobs(&a, &[(BlobKind::Data, b"from a")]);
        let a_snap = a.write_snapshot(&snapshot(a_refs[0])).unwrap();
        a.write_head(&head("a", &a_snap)).unwrap();
        // Device B, at the same moment, saw no key file and wrote its own.
        let b_key = Arc::new(MasterKey::generate().unwrap());
        let (file, bytes) = keys::wrap_key_file(&b_key, "pw", &TEST_KDF).unwrap();
        remote
            .put(&format!("main/keys/{}", hex::encode(file)), &bytes)
            .unwrap();

        let both = open(&remote, Some("pw")).unwrap();
        assert_eq!(both.key_ids().len(), 2);
        let primary = a.key_ids()[0].clone().min(hex::encode(b_key.id()));
        assert_eq!(both.key_ids()[0], primary);
        // What A wrote stays readable, and what is written now too, by a fresh handle.
        assert_eq!(both.read_blob(&a_refs[0]).unwrap(), b"from a");
        assert_eq!(both.snapshot(&a_snap).unwrap().root, a_refs[0]);
        assert!(both.head("a").unwrap().is_some());
        let refs = put_blobs(&both, &[(BlobKind::Data, b"after the race")]);
        let snap = both.write_snapshot(&snapshot(refs[0])).unwrap();
        let fresh = open(&remote, Some("pw")).unwrap();
        assert_eq!(fresh.read_blob(&refs[0]).unwrap(), b"after the race");
        assert_eq!(fresh.read_blob(&a_refs[0]).unwrap(), b"from a");
        assert_eq!(fresh.snapshot(&snap).unwrap().root, refs[0]);
        let pack = fresh.get_pack(&a_refs[0].pack).unwrap();
        fresh.parse_pack(&a_refs[0].pack, &pack).unwrap();
    }

    #[test]
    fn a_key_file_of_another_passphrase_is_ignored() {
        let (_dir, remote) = new_remote();
        let repo = open(&remote, Some("pw")).unwrap();
        let stray = Arc::new(MasterKey::generate().unwrap());
        let (file, bytes) = keys::wrap_key_file(&stray, "other", &TEST_KDF).unwrap();
        remote
            .put(&format!("main/keys/{}", hex::encode(file)), &bytes)
            .unwrap();
        remote.put("main/keys/.tmp-upload", b"partial").unwrap();
        let again = open(&remote, Some("pw")).unwrap();
        assert_eq!(again.key_ids(), repo.key_ids());
        // Something sealed with the stray key is named as such.
        let mut w = PackWriter::new_sealed([7; 32], stray.clone()).unwrap();
        let r = w.add(
            &pack::seal_with_key(stray.blob_id(b"z"), BlobKind::Data, b"z", false, &stray).unwrap(),
        );
        let (id, bytes) = w.finish();
        again.put_pack(&id, &bytes).unwrap();
        let err = again.parse_pack(&id, &bytes).unwrap_err();
        assert!(err.contains("does not unlock"), "{err}");
        assert!(again.read_blob(&r).is_err());
    }
}
