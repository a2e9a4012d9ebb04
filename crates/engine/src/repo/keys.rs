//! Key files of an encrypted repository: `keys/<id>`, each holding one master key wrapped
//! (XChaCha20-Poly1305) under a key derived from the passphrase with Argon2id.
//!
//! A repository may hold several master keys (two devices creating it at the same moment
//! each write one); a passphrase opens every key file it unwraps. Unwrapping is slow on
//! purpose, and a sync opens the repository every time, so unwrapped keys are cached in
//! this process's memory (never written anywhere), keyed by the key file and a hash of the
//! passphrase.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::RepoError;
use super::crypto::{self, KEY_ID_LEN, KeyId, KeySet, MasterKey, NONCE_LEN, TAG_LEN};
use crate::events::lock;
use crate::remote::Remote;

pub const KEY_FILE_VERSION: u32 = 1;
pub const KEY_FILE_ID_LEN: usize = 16;
pub type KeyFileId = [u8; KEY_FILE_ID_LEN];
const SALT_LEN: usize = 16;
const AD_KEY_FILE: &[u8] = b"syncdesk key file\0";
const ARGON2_VERSION: u32 = 0x13;
/// How many unwrap results the process keeps; far more than any user has key files.
const CACHE_LIMIT: usize = 1024;

/// Argon2id cost of a key file. The defaults (64 MiB, 3 passes, 1 lane) take a fraction
/// of a second on a desktop: cheap once per process, expensive for someone guessing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams {
            memory_kib: 64 << 10,
            iterations: 3,
            parallelism: 1,
        }
    }
}

impl KdfParams {
    /// Upper bounds accepted from a key file: a damaged or hostile key file must not make a
    /// device allocate gigabytes or spin for minutes.
    pub const MAX_MEMORY_KIB: u32 = 1 << 20;
    pub const MAX_ITERATIONS: u32 = 64;
    pub const MAX_PARALLELISM: u32 = 16;

    fn argon2(&self) -> Result<Argon2<'static>, String> {
        if self.memory_kib > Self::MAX_MEMORY_KIB
            || self.iterations > Self::MAX_ITERATIONS
            || self.parallelism > Self::MAX_PARALLELISM
        {
            return Err(format!(
                "Argon2id cost ({} KiB, {} passes, {} lanes) exceeds this Syncdesk's limits ({} KiB, {} passes, {} lanes)",
                self.memory_kib,
                self.iterations,
                self.parallelism,
                Self::MAX_MEMORY_KIB,
                Self::MAX_ITERATIONS,
                Self::MAX_PARALLELISM
            ));
        }
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| format!("invalid Argon2id parameters: {e}"))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// The key-encryption key for `passphrase` and `salt`.
    fn derive(&self, passphrase: &str, salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, String> {
        let mut out = Zeroizing::new([0u8; 32]);
        self.argon2()?
            .hash_password_into(passphrase.as_bytes(), salt, &mut out[..])
            .map_err(|e| format!("Argon2id failed: {e}"))?;
        Ok(out)
    }
}

/// `keys/<id>` as stored (JSON). Everything but `wrapped` is public: the key id and the
/// KDF parameters reveal nothing about the passphrase or the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KeyFile {
    version: u32,
    /// The id of the master key inside (hex): lets people and tools match key files to the
    /// key ids that sealed objects name.
    key: String,
    kdf: KdfSpec,
    aead: String,
    /// Hex, 24 bytes.
    nonce: String,
    /// Hex, 48 bytes: the sealed 32-byte master key and its tag.
    wrapped: String,
    created_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct KdfSpec {
    algorithm: String,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    /// Hex, 16 bytes.
    salt: String,
}

/// Associated data of a wrapped key: binds it to its file's id and to the key id it claims.
fn wrap_ad(file: &KeyFileId, key: &KeyId) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_KEY_FILE.len() + KEY_FILE_ID_LEN + KEY_ID_LEN);
    ad.extend_from_slice(AD_KEY_FILE);
    ad.extend_from_slice(file);
    ad.extend_from_slice(key);
    ad
}

type CacheKey = ([u8; 32], [u8; 32]);

/// Unwrap results of this process: `None` for a key file the passphrase does not unwrap
/// (so a repository holding a stale key file does not pay Argon2 on every sync).
fn cache() -> &'static Mutex<HashMap<CacheKey, Option<Arc<MasterKey>>>> {
    static CACHE: OnceLock<Mutex<HashMap<CacheKey, Option<Arc<MasterKey>>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cache_key(file: &KeyFileId, bytes: &[u8], passphrase: &str) -> CacheKey {
    // The file id is part of what is authenticated, so it is part of the key too.
    let mut h = blake3::Hasher::new();
    h.update(file);
    h.update(bytes);
    (
        *h.finalize().as_bytes(),
        *blake3::hash(passphrase.as_bytes()).as_bytes(),
    )
}

fn remember(key: CacheKey, value: Option<Arc<MasterKey>>) {
    let mut cache = lock(cache());
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(key, value);
}

fn decode_hex<const N: usize>(field: &str, value: &str) -> Result<[u8; N], String> {
    hex::decode(value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("key file field {field} is not {N} bytes of hex"))
}

/// Unwraps the master key in a key file: `Ok(None)` when the passphrase does not unwrap it,
/// `Err` when the file is not a key file this Syncdesk understands.
pub(crate) fn unwrap_key_file(
    file: &KeyFileId,
    bytes: &[u8],
    passphrase: &str,
) -> Result<Option<Arc<MasterKey>>, String> {
    let cached_as = cache_key(file, bytes, passphrase);
    if let Some(hit) = lock(cache()).get(&cached_as) {
        return Ok(hit.clone());
    }
    let kf: KeyFile = serde_json::from_slice(bytes).map_err(|e| format!("not a key file: {e}"))?;
    if kf.version != KEY_FILE_VERSION {
        return Err(format!(
            "key file version {} is not supported (this Syncdesk reads version {KEY_FILE_VERSION}); update Syncdesk",
            kf.version
        ));
    }
    if kf.kdf.algorithm != super::KDF_ARGON2ID || kf.kdf.version != ARGON2_VERSION {
        return Err(format!(
            "unsupported key derivation {} version {}",
            kf.kdf.algorithm, kf.kdf.version
        ));
    }
    if kf.aead != super::AEAD_XCHACHA20POLY1305 {
        return Err(format!("unsupported key wrapping {}", kf.aead));
    }
    let key_id: KeyId = decode_hex("key", &kf.key)?;
    let salt: [u8; SALT_LEN] = decode_hex("kdf.salt", &kf.kdf.salt)?;
    let nonce: [u8; NONCE_LEN] = decode_hex("nonce", &kf.nonce)?;
    let wrapped: [u8; 32 + TAG_LEN] = decode_hex("wrapped", &kf.wrapped)?;
    let params = KdfParams {
        memory_kib: kf.kdf.memory_kib,
        iterations: kf.kdf.iterations,
        parallelism: kf.kdf.parallelism,
    };
    let kek = params.derive(passphrase, &salt)?;
    let cipher = XChaCha20Poly1305::new((&*kek).into());
    let mut sealed = Vec::with_capacity(NONCE_LEN + wrapped.len());
    sealed.extend_from_slice(&nonce);
    sealed.extend_from_slice(&wrapped);
    let secret = match crypto::open_with(&cipher, &wrap_ad(file, &key_id), &sealed) {
        Ok(plain) => Zeroizing::new(plain),
        Err(crypto::AuthFailed) => {
            remember(cached_as, None);
            return Ok(None);
        }
    };
    let secret: Zeroizing<[u8; 32]> = Zeroizing::new(
        secret
            .as_slice()
            .try_into()
            .map_err(|_| "the wrapped key is not 32 bytes".to_string())?,
    );
    let key = Arc::new(MasterKey::from_secret(secret));
    if *key.id() != key_id {
        // Authenticated, so written by someone holding the passphrase, yet inconsistent.
        return Err(format!(
            "the key file claims key {} but holds key {}",
            kf.key,
            hex::encode(key.id())
        ));
    }
    remember(cached_as, Some(key.clone()));
    Ok(Some(key))
}

/// A new key file wrapping `key` under `passphrase`: its id and bytes.
pub(crate) fn wrap_key_file(
    key: &Arc<MasterKey>,
    passphrase: &str,
    params: &KdfParams,
) -> Result<(KeyFileId, Vec<u8>), RepoError> {
    let file: KeyFileId = crate::random::bytes().map_err(RepoError::Random)?;
    let salt: [u8; SALT_LEN] = crate::random::bytes().map_err(RepoError::Random)?;
    let kek = params
        .derive(passphrase, &salt)
        .map_err(RepoError::BadKdfParams)?;
    let cipher = XChaCha20Poly1305::new((&*kek).into());
    let sealed = crypto::seal_with(&cipher, &wrap_ad(&file, key.id()), key.secret())
        .map_err(RepoError::Random)?;
    let kf = KeyFile {
        version: KEY_FILE_VERSION,
        key: hex::encode(key.id()),
        kdf: KdfSpec {
            algorithm: super::KDF_ARGON2ID.into(),
            version: ARGON2_VERSION,
            memory_kib: params.memory_kib,
            iterations: params.iterations,
            parallelism: params.parallelism,
            salt: hex::encode(salt),
        },
        aead: super::AEAD_XCHACHA20POLY1305.into(),
        nonce: hex::encode(&sealed[..NONCE_LEN]),
        wrapped: hex::encode(&sealed[NONCE_LEN..]),
        created_at: crate::clock::now(),
    };
    let bytes = serde_json::to_vec_pretty(&kf).unwrap_or_default();
    // We know what this file holds: no need to pay Argon2 again to read it back.
    remember(cache_key(&file, &bytes, passphrase), Some(key.clone()));
    Ok((file, bytes))
}

/// Writes a new key file for `key` under `keys_prefix` and makes sure it reads back
/// identical (it may be about to replace the only other way in). Returns its object key.
pub(crate) fn write_key_file(
    remote: &dyn Remote,
    keys_prefix: &str,
    key: &Arc<MasterKey>,
    passphrase: &str,
    params: &KdfParams,
) -> Result<String, RepoError> {
    let (file, bytes) = wrap_key_file(key, passphrase, params)?;
    let object = format!("{keys_prefix}{}", hex::encode(file));
    remote.put(&object, &bytes)?;
    if remote.get(&object)? != bytes {
        return Err(RepoError::Corrupt {
            key: object,
            reason: "the key file just written reads back different".into(),
        });
    }
    Ok(object)
}

/// One key file the passphrase unwrapped.
pub(crate) struct Unlocked {
    /// The key file's object key.
    pub object: String,
    pub key: Arc<MasterKey>,
}

/// What a passphrase made of the key files of a repository.
pub(crate) struct Unlock {
    pub unlocked: Vec<Unlocked>,
    /// Key files the passphrase does not unwrap.
    pub rejected: Vec<String>,
    /// Objects under `keys/` that are not key files this Syncdesk can read, and why.
    pub unreadable: Vec<(String, String)>,
}

impl Unlock {
    /// Whether `keys/` holds no key file at all.
    pub fn is_empty(&self) -> bool {
        self.unlocked.is_empty() && self.rejected.is_empty() && self.unreadable.is_empty()
    }

    /// The unlocked key files, once at least one was unwrapped; the others are ignored
    /// with a warning (a key file written under another passphrase, or damaged).
    pub fn into_unlocked(self, keys_prefix: &str) -> Result<Vec<Unlocked>, RepoError> {
        if self.unlocked.is_empty() {
            if !self.rejected.is_empty() {
                return Err(RepoError::WrongPassphrase);
            }
            return Err(match self.unreadable.into_iter().next() {
                Some((key, reason)) => RepoError::Corrupt { key, reason },
                None => RepoError::Corrupt {
                    key: keys_prefix.trim_end_matches('/').into(),
                    reason: "the repository is encrypted but holds no key file, so nothing in it can be read".into(),
                },
            });
        }
        for key in &self.rejected {
            tracing::warn!(
                key_file = %key,
                "ignoring a key file this passphrase does not unlock (written under another passphrase?)"
            );
        }
        for (key, reason) in &self.unreadable {
            tracing::warn!(key_file = %key, %reason, "ignoring an unreadable key file");
        }
        Ok(self.unlocked)
    }

    pub fn into_key_set(self, keys_prefix: &str) -> Result<KeySet, RepoError> {
        let unlocked = self.into_unlocked(keys_prefix)?;
        // `into_unlocked` returns at least one key.
        KeySet::new(unlocked.into_iter().map(|u| u.key).collect()).ok_or_else(|| {
            RepoError::Corrupt {
                key: keys_prefix.into(),
                reason: "no key".into(),
            }
        })
    }
}

/// Tries `passphrase` on every key file under `keys_prefix`. Reads only.
pub(crate) fn unlock(
    remote: &dyn Remote,
    keys_prefix: &str,
    passphrase: &str,
) -> Result<Unlock, RepoError> {
    let mut out = Unlock {
        unlocked: Vec::new(),
        rejected: Vec::new(),
        unreadable: Vec::new(),
    };
    let mut objects = remote.list(keys_prefix)?;
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    for obj in objects {
        let name = obj.key.rsplit('/').next().unwrap_or_default();
        // Temporary upload names and anything else that is not `<32 hex>` are not key files.
        let Some(file) = hex::decode(name)
            .ok()
            .and_then(|b| KeyFileId::try_from(b).ok())
        else {
            continue;
        };
        let bytes = match remote.get(&obj.key) {
            Ok(b) => b,
            // Deleted since the listing: a passphrase change on another device.
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e.into()),
        };
        match unwrap_key_file(&file, &bytes, passphrase) {
            Ok(Some(key)) => out.unlocked.push(Unlocked {
                object: obj.key,
                key,
            }),
            Ok(None) => out.rejected.push(obj.key),
            Err(reason) => out.unreadable.push((obj.key, reason)),
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) const TEST_KDF: KdfParams = KdfParams {
    memory_kib: 8,
    iterations: 1,
    parallelism: 1,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_cost_is_strong() {
        let d = KdfParams::default();
        assert_eq!((d.memory_kib, d.iterations, d.parallelism), (65536, 3, 1));
    }

    #[test]
    fn key_files_unwrap_only_with_their_passphrase_and_name() {
        let key = Arc::new(MasterKey::generate().unwrap());
        let (file, bytes) = wrap_key_file(&key, "correct horse", &TEST_KDF).unwrap();
        // Not from the cache: another process reading this file.
        lock(cache()).clear();
        let back = unwrap_key_file(&file, &bytes, "correct horse")
            .unwrap()
            .unwrap();
        assert_eq!(back.id(), key.id());
        assert_eq!(back.secret(), key.secret());
        assert!(
            unwrap_key_file(&file, &bytes, "wrong horse")
                .unwrap()
                .is_none()
        );
        // The file id is authenticated: a copy under another name does not unwrap.
        let mut other = file;
        other[0] ^= 1;
        assert!(
            unwrap_key_file(&other, &bytes, "correct horse")
                .unwrap()
                .is_none()
        );
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(!text.contains(&hex::encode(key.secret())));
        assert!(text.contains("\"memory_kib\": 8"));
    }

    #[test]
    fn hostile_key_files_are_refused_before_any_work() {
        let key = Arc::new(MasterKey::generate().unwrap());
        let (file, bytes) = wrap_key_file(&key, "pw", &TEST_KDF).unwrap();
        let mut kf: KeyFile = serde_json::from_slice(&bytes).unwrap();
        kf.kdf.memory_kib = u32::MAX;
        let huge = serde_json::to_vec(&kf).unwrap();
        let err = unwrap_key_file(&file, &huge, "pw").unwrap_err();
        assert!(err.contains("exceeds"), "{err}");
        assert!(unwrap_key_file(&file, b"{}", "pw").is_err());
        // A tampered wrapped key does not unwrap.
        let mut kf: KeyFile = serde_json::from_slice(&bytes).unwrap();
        let mut w = hex::decode(&kf.wrapped).unwrap();
        w[0] ^= 1;
        kf.wrapped = hex::encode(w);
        let bad = serde_json::to_vec(&kf).unwrap();
        assert!(unwrap_key_file(&file, &bad, "pw").unwrap().is_none());
    }
}
