//! Sealing for encrypted repositories (see docs/repo-format.md, "Encryption").
//!
//! Every sealed object is XChaCha20-Poly1305 with a fresh random 24-byte nonce: the nonce is
//! large enough that random nonces never repeat in practice, so devices need no shared
//! counter. Each master key yields, through BLAKE3 `derive_key` with distinct contexts, a
//! sealing key, a blob id key (ids are keyed hashes, so plaintext hashes never leak) and a
//! public key id (a fingerprint that names the key in sealed objects; it stays the same when
//! the passphrase changes, because it depends on the master key only).

use std::sync::Arc;

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{Tag, XChaCha20Poly1305, XNonce};
use zeroize::{Zeroize, Zeroizing};

use super::tree::Hash;

pub const KEY_ID_LEN: usize = 16;
pub const NONCE_LEN: usize = 24;
pub const TAG_LEN: usize = 16;
/// Bytes a sealed value takes beyond its plaintext: nonce and tag.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// A master key's public fingerprint.
pub type KeyId = [u8; KEY_ID_LEN];

const CONTEXT_SEAL: &str = "syncdesk repository 2026 sealing key";
const CONTEXT_BLOB_ID: &str = "syncdesk repository 2026 blob id key";
const CONTEXT_KEY_ID: &str = "syncdesk repository 2026 master key id";

/// Framing of a sealed snapshot or head: `ENVELOPE_MAGIC`, key id, then a sealed value.
pub const ENVELOPE_MAGIC: &[u8; 8] = b"SDSEAL01";
const ENVELOPE_HEADER: usize = ENVELOPE_MAGIC.len() + KEY_ID_LEN;

/// Associated-data labels. Each kind of sealed value has its own, so a ciphertext of one
/// kind can never be passed off as another.
const AD_BLOB: &[u8] = b"syncdesk blob\0";
const AD_PACK_HEADER: &[u8] = b"syncdesk pack header\0";
pub const AD_SNAPSHOT: &[u8] = b"syncdesk snapshot\0";
const AD_HEAD: &[u8] = b"syncdesk head\0";

/// A sealed value did not authenticate: modified, damaged, or sealed with another key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("authentication failed: the object was modified or damaged")]
pub struct AuthFailed;

/// A repository master key and the keys derived from it. Secrets are wiped on drop.
pub struct MasterKey {
    id: KeyId,
    secret: Zeroizing<[u8; 32]>,
    seal_key: Zeroizing<[u8; 32]>,
    id_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material, not even in debug output.
        f.debug_struct("MasterKey")
            .field("id", &hex::encode(self.id))
            .finish_non_exhaustive()
    }
}

impl MasterKey {
    pub fn from_secret(secret: Zeroizing<[u8; 32]>) -> MasterKey {
        let seal_key = Zeroizing::new(blake3::derive_key(CONTEXT_SEAL, &secret[..]));
        let id_key = Zeroizing::new(blake3::derive_key(CONTEXT_BLOB_ID, &secret[..]));
        let mut full_id = blake3::derive_key(CONTEXT_KEY_ID, &secret[..]);
        let mut id = [0u8; KEY_ID_LEN];
        id.copy_from_slice(&full_id[..KEY_ID_LEN]);
        full_id.zeroize();
        MasterKey {
            id,
            secret,
            seal_key,
            id_key,
        }
    }

    /// A new random master key.
    pub fn generate() -> Result<MasterKey, std::io::Error> {
        let secret = Zeroizing::new(crate::random::bytes::<32>()?);
        Ok(MasterKey::from_secret(secret))
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    /// The raw master key, for wrapping it in a key file.
    pub(crate) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }

    /// The id of a blob in a repository sealed with this key: a keyed BLAKE3 of its plaintext.
    pub fn blob_id(&self, raw: &[u8]) -> Hash {
        *blake3::keyed_hash(&self.id_key, raw).as_bytes()
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        // The cipher wipes its own copy of the key when dropped.
        XChaCha20Poly1305::new((&*self.seal_key).into())
    }

    /// `nonce || ciphertext || tag`, with a fresh random nonce.
    pub fn seal(&self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        seal_with(&self.cipher(), ad, plaintext)
    }

    /// Like [`MasterKey::seal`] with a nonce the caller drew at random beforehand (so that
    /// the sealing itself cannot fail). Each nonce must be used once.
    pub(crate) fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        seal_nonce(&self.cipher(), nonce, ad, plaintext)
    }

    /// Opens a value made by [`MasterKey::seal`] with the same associated data.
    pub fn open(&self, ad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, AuthFailed> {
        open_with(&self.cipher(), ad, sealed)
    }
}

/// Seals with any XChaCha20-Poly1305 key (also used to wrap master keys in key files).
pub(crate) fn seal_with(
    cipher: &XChaCha20Poly1305,
    ad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, std::io::Error> {
    let nonce = crate::random::bytes::<NONCE_LEN>()?;
    Ok(seal_nonce(cipher, &nonce, ad, plaintext))
}

/// `nonce || ciphertext || tag`. The nonce must never be used twice with the same key:
/// callers draw it at random.
fn seal_nonce(
    cipher: &XChaCha20Poly1305,
    nonce: &[u8; NONCE_LEN],
    ad: &[u8],
    plaintext: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
    out.extend_from_slice(nonce);
    out.extend_from_slice(plaintext);
    let tag = cipher
        .encrypt_in_place_detached(XNonce::from_slice(nonce), ad, &mut out[NONCE_LEN..])
        // Fails only for messages over 256 GiB; ours are blobs, headers and small JSON.
        .unwrap_or_else(|_| unreachable!("message too long for XChaCha20-Poly1305"));
    out.extend_from_slice(&tag);
    out
}

pub(crate) fn open_with(
    cipher: &XChaCha20Poly1305,
    ad: &[u8],
    sealed: &[u8],
) -> Result<Vec<u8>, AuthFailed> {
    if sealed.len() < SEAL_OVERHEAD {
        return Err(AuthFailed);
    }
    let (nonce, rest) = sealed.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let mut out = ciphertext.to_vec();
    cipher
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            ad,
            &mut out,
            Tag::from_slice(tag),
        )
        .map_err(|_| AuthFailed)?;
    Ok(out)
}

/// Associated data of one blob in a pack: its id and kind.
pub fn blob_ad(id: &Hash, kind: u8) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_BLOB.len() + 33);
    ad.extend_from_slice(AD_BLOB);
    ad.extend_from_slice(id);
    ad.push(kind);
    ad
}

/// Associated data of a sealed pack header: the pack's plaintext framing and its id.
pub fn pack_header_ad(magic: &[u8; 8], key: &KeyId, pack_id: &Hash) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_PACK_HEADER.len() + 8 + KEY_ID_LEN + 32);
    ad.extend_from_slice(AD_PACK_HEADER);
    ad.extend_from_slice(magic);
    ad.extend_from_slice(key);
    ad.extend_from_slice(pack_id);
    ad
}

/// The label of a device's head: binds the head to the device named in its key.
pub fn head_label(device: &str) -> Vec<u8> {
    let mut label = AD_HEAD.to_vec();
    label.extend_from_slice(device.as_bytes());
    label
}

/// Seals a whole object (a snapshot or a head) into an envelope.
pub fn seal_envelope(
    key: &MasterKey,
    label: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, std::io::Error> {
    let mut out = Vec::with_capacity(ENVELOPE_HEADER + plaintext.len() + SEAL_OVERHEAD);
    out.extend_from_slice(ENVELOPE_MAGIC);
    out.extend_from_slice(key.id());
    let ad = envelope_ad(&out, label);
    out.extend_from_slice(&key.seal(&ad, plaintext)?);
    Ok(out)
}

/// The key id an envelope names, after checking its framing.
pub fn envelope_key_id(bytes: &[u8]) -> Result<KeyId, String> {
    if bytes.len() < ENVELOPE_HEADER + SEAL_OVERHEAD
        || &bytes[..ENVELOPE_MAGIC.len()] != ENVELOPE_MAGIC
    {
        return Err(if bytes.first() == Some(&b'{') {
            "the object is not encrypted, but the repository is: refusing plaintext".into()
        } else {
            "not a sealed Syncdesk object (bad magic or too short)".into()
        });
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&bytes[ENVELOPE_MAGIC.len()..ENVELOPE_HEADER]);
    Ok(id)
}

/// Opens an envelope sealed with `key` (the one [`envelope_key_id`] names).
pub fn open_envelope(key: &MasterKey, label: &[u8], bytes: &[u8]) -> Result<Vec<u8>, String> {
    let named = envelope_key_id(bytes)?;
    if named != *key.id() {
        return Err(format!(
            "sealed with key {}, not {}",
            hex::encode(named),
            hex::encode(key.id())
        ));
    }
    let ad = envelope_ad(&bytes[..ENVELOPE_HEADER], label);
    key.open(&ad, &bytes[ENVELOPE_HEADER..])
        .map_err(|e| e.to_string())
}

fn envelope_ad(header: &[u8], label: &[u8]) -> Vec<u8> {
    let mut ad = Vec::with_capacity(header.len() + label.len());
    ad.extend_from_slice(header);
    ad.extend_from_slice(label);
    ad
}

/// The master keys a passphrase unlocks. Never empty; sorted by key id, without duplicates.
#[derive(Debug, Clone)]
pub struct KeySet {
    keys: Vec<Arc<MasterKey>>,
}

impl KeySet {
    /// `None` when `keys` is empty: a key set always has a primary.
    pub fn new(mut keys: Vec<Arc<MasterKey>>) -> Option<KeySet> {
        keys.sort_by(|a, b| a.id().cmp(b.id()));
        keys.dedup_by(|a, b| a.id() == b.id());
        if keys.is_empty() {
            None
        } else {
            Some(KeySet { keys })
        }
    }

    /// The key new objects are sealed with: the smallest id, so every device that sees the
    /// same key files picks the same one.
    pub fn primary(&self) -> &Arc<MasterKey> {
        // `new` refuses an empty set.
        &self.keys[0]
    }

    pub fn get(&self, id: &KeyId) -> Option<&Arc<MasterKey>> {
        self.keys.iter().find(|k| k.id() == id)
    }

    /// The only key, when there is exactly one (the usual case): no lookup needed.
    pub fn single(&self) -> Option<&Arc<MasterKey>> {
        match self.keys.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<MasterKey>> {
        self.keys.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> MasterKey {
        MasterKey::from_secret(Zeroizing::new([byte; 32]))
    }

    #[test]
    fn sealed_values_round_trip_and_reject_any_change() {
        let k = key(1);
        let sealed = k.seal(b"ad", b"secret text").unwrap();
        assert_eq!(sealed.len(), 11 + SEAL_OVERHEAD);
        assert_eq!(k.open(b"ad", &sealed).unwrap(), b"secret text");
        assert_eq!(k.open(b"other ad", &sealed), Err(AuthFailed));
        assert_eq!(key(2).open(b"ad", &sealed), Err(AuthFailed));
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x01;
            assert_eq!(k.open(b"ad", &bad), Err(AuthFailed), "bit flip at {i}");
        }
        assert_eq!(k.open(b"ad", &sealed[..sealed.len() - 1]), Err(AuthFailed));
        assert_eq!(k.open(b"ad", &sealed[..10]), Err(AuthFailed));
        // Fresh nonce every time: the same plaintext never seals to the same bytes.
        assert_ne!(k.seal(b"ad", b"secret text").unwrap(), sealed);
    }

    #[test]
    fn derived_keys_are_distinct_and_stable() {
        let a = key(1);
        assert_eq!(a.id(), key(1).id());
        assert_ne!(a.id(), key(2).id());
        assert_eq!(a.blob_id(b"x"), key(1).blob_id(b"x"));
        assert_ne!(a.blob_id(b"x"), key(2).blob_id(b"x"));
        assert_ne!(a.blob_id(b"x"), *blake3::hash(b"x").as_bytes());
        assert_ne!(&a.seal_key[..], &a.id_key[..]);
        assert_ne!(&a.seal_key[..], &a.secret[..]);
    }

    #[test]
    fn envelopes_bind_their_label_and_key() {
        let k = key(3);
        let env = seal_envelope(&k, &head_label("laptop"), b"{}").unwrap();
        assert_eq!(envelope_key_id(&env).unwrap(), *k.id());
        assert_eq!(
            open_envelope(&k, &head_label("laptop"), &env).unwrap(),
            b"{}"
        );
        assert!(
            open_envelope(&k, &head_label("desktop"), &env)
                .unwrap_err()
                .contains("authentication failed")
        );
        assert!(open_envelope(&key(4), &head_label("laptop"), &env).is_err());
        assert!(
            envelope_key_id(b"{\"device\":\"x\"}")
                .unwrap_err()
                .contains("not encrypted")
        );
    }

    #[test]
    fn key_sets_pick_the_smallest_id_as_primary() {
        let (a, b) = (Arc::new(key(5)), Arc::new(key(6)));
        let set = KeySet::new(vec![a.clone(), b.clone(), a.clone()]).unwrap();
        let smallest = a.id().min(b.id());
        assert_eq!(set.primary().id(), smallest);
        assert_eq!(set.iter().count(), 2);
        assert!(set.single().is_none());
        assert!(set.get(b.id()).is_some());
        assert!(KeySet::new(Vec::new()).is_none());
    }
}
