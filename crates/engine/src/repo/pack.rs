//! Packs: many blobs in one immutable object, so 10,000 small files are a few requests.
//!
//! Layout: `MAGIC`, the stored blobs back to back, a CBOR header listing them, the header's
//! length (u32 LE) and `END_MAGIC`. A pack's id is random, chosen when it is opened, so a
//! blob's full reference is known the moment it is added; every blob carries its own hash.
//!
//! In an encrypted repository a pack starts with `SEALED_MAGIC` and the id of the master key
//! it is sealed with; every blob is sealed on its own (so a ranged read of one blob still
//! works) and so is the header.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::crypto::{self, KEY_ID_LEN, KeyId, MasterKey, NONCE_LEN};
use super::tree::{BlobRef, Codec, Hash};

pub const MAGIC: &[u8; 8] = b"SDPACK01";
/// The magic of a pack in an encrypted repository; the key id follows it.
pub const SEALED_MAGIC: &[u8; 8] = b"SDPACKE1";
pub const END_MAGIC: &[u8; 8] = b"SDPKEND1";
/// The plaintext framing before the first blob of a sealed pack: magic and key id.
pub const SEALED_PREFIX_LEN: usize = SEALED_MAGIC.len() + KEY_ID_LEN;
/// Packs are closed once they reach this size.
pub const TARGET_SIZE: usize = 16 << 20;
const ZSTD_LEVEL: i32 = 3;
const TAIL_LEN: usize = 4 + END_MAGIC.len();

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum BlobKind {
    Data,
    Tree,
}

impl From<BlobKind> for u8 {
    fn from(k: BlobKind) -> u8 {
        match k {
            BlobKind::Data => 0,
            BlobKind::Tree => 1,
        }
    }
}

impl TryFrom<u8> for BlobKind {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(BlobKind::Data),
            1 => Ok(BlobKind::Tree),
            other => Err(format!("unknown blob kind {other}")),
        }
    }
}

/// One blob as the pack header lists it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeaderEntry {
    #[serde(rename = "h", with = "serde_bytes")]
    pub hash: Hash,
    #[serde(rename = "k")]
    pub kind: BlobKind,
    #[serde(rename = "o")]
    pub offset: u64,
    #[serde(rename = "l")]
    pub len: u32,
    #[serde(rename = "r")]
    pub raw_len: u32,
    #[serde(rename = "c")]
    pub codec: Codec,
}

/// A blob made ready for a pack: hashed, compressed and, in an encrypted repository, sealed
/// (CPU work, done in parallel).
pub struct SealedBlob {
    /// The blob's id: BLAKE3 of the plaintext, keyed in an encrypted repository.
    pub hash: Hash,
    pub kind: BlobKind,
    pub raw_len: u32,
    /// How the plaintext was compressed (before sealing).
    pub codec: Codec,
    pub stored: Vec<u8>,
    /// The master key `stored` is sealed with; `None` in a plain repository.
    pub key: Option<KeyId>,
}

fn compress(raw: &[u8], try_compress: bool) -> (Codec, Vec<u8>) {
    if try_compress
        && let Ok(z) = zstd::bulk::compress(raw, ZSTD_LEVEL)
        && z.len() + 16 < raw.len()
    {
        return (Codec::Zstd, z);
    }
    (Codec::Raw, raw.to_vec())
}

/// Hashes and compresses `raw` for a plain repository, keeping it raw when compression does
/// not pay.
pub fn seal(kind: BlobKind, raw: &[u8]) -> SealedBlob {
    seal_plain(*blake3::hash(raw).as_bytes(), kind, raw, true)
}

/// Prepares `raw`, whose id is `id`, for a plain repository.
pub fn seal_plain(id: Hash, kind: BlobKind, raw: &[u8], try_compress: bool) -> SealedBlob {
    let (codec, stored) = compress(raw, try_compress);
    SealedBlob {
        hash: id,
        kind,
        // Chunks are at most 4 MiB and trees far below 4 GiB: the length fits in u32.
        raw_len: raw.len() as u32,
        codec,
        stored,
        key: None,
    }
}

/// Prepares `raw`, whose id is `id` (`key.blob_id(raw)`), for an encrypted repository:
/// compressed, then sealed as `nonce || ciphertext || tag` with the blob's id and kind as
/// associated data.
pub fn seal_with_key(
    id: Hash,
    kind: BlobKind,
    raw: &[u8],
    try_compress: bool,
    key: &MasterKey,
) -> Result<SealedBlob, std::io::Error> {
    let (codec, compressed) = compress(raw, try_compress);
    let stored = key.seal(&crypto::blob_ad(&id, kind.into()), &compressed)?;
    Ok(SealedBlob {
        hash: id,
        kind,
        raw_len: raw.len() as u32,
        codec,
        stored,
        key: Some(*key.id()),
    })
}

/// Accumulates sealed blobs into one pack.
pub struct PackWriter {
    id: Hash,
    buf: Vec<u8>,
    header: Vec<HeaderEntry>,
    /// For a sealed pack: its key, and the nonce its header will be sealed with (drawn when
    /// the pack is opened, so closing it cannot fail).
    sealing: Option<(Arc<MasterKey>, [u8; NONCE_LEN])>,
}

impl PackWriter {
    /// A new plain pack with the given (random) id.
    pub fn new(id: Hash) -> Self {
        let mut buf = Vec::with_capacity(TARGET_SIZE + (1 << 20));
        buf.extend_from_slice(MAGIC);
        PackWriter {
            id,
            buf,
            header: Vec::new(),
            sealing: None,
        }
    }

    /// A new pack of an encrypted repository, sealed with `key`.
    pub fn new_sealed(id: Hash, key: Arc<MasterKey>) -> Result<Self, std::io::Error> {
        let nonce = crate::random::bytes::<NONCE_LEN>()?;
        let mut buf = Vec::with_capacity(TARGET_SIZE + (1 << 20));
        buf.extend_from_slice(SEALED_MAGIC);
        buf.extend_from_slice(key.id());
        Ok(PackWriter {
            id,
            buf,
            header: Vec::new(),
            sealing: Some((key, nonce)),
        })
    }

    /// Appends a blob; returns where it will be once the pack is stored.
    pub fn add(&mut self, blob: &SealedBlob) -> BlobRef {
        // A blob sealed with another key (or not at all) would be unreadable in this pack;
        // the repository prepares blobs and packs with the same key.
        debug_assert_eq!(
            blob.key,
            self.sealing.as_ref().map(|(k, _)| *k.id()),
            "blob and pack sealed differently"
        );
        let entry = HeaderEntry {
            hash: blob.hash,
            kind: blob.kind,
            offset: self.buf.len() as u64,
            len: blob.stored.len() as u32,
            raw_len: blob.raw_len,
            codec: blob.codec,
        };
        self.header.push(entry);
        self.buf.extend_from_slice(&blob.stored);
        BlobRef {
            hash: entry.hash,
            pack: self.id,
            offset: entry.offset,
            len: entry.len,
            raw_len: entry.raw_len,
            codec: entry.codec,
        }
    }

    pub fn is_full(&self) -> bool {
        self.buf.len() >= TARGET_SIZE
    }

    /// Closes the pack: its id and bytes.
    pub fn finish(mut self) -> (Hash, Vec<u8>) {
        let mut header = Vec::new();
        // Serializing plain owned data into a Vec cannot fail.
        ciborium::into_writer(&self.header, &mut header).unwrap_or_else(|e| unreachable!("{e}"));
        if let Some((key, nonce)) = &self.sealing {
            let ad = crypto::pack_header_ad(SEALED_MAGIC, key.id(), &self.id);
            header = key.seal_with_nonce(nonce, &ad, &header);
        }
        self.buf.extend_from_slice(&header);
        self.buf
            .extend_from_slice(&(header.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(END_MAGIC);
        (self.id, self.buf)
    }
}

/// The header bytes of a pack whose blobs start at `data_start`, after checking the framing.
fn framing(pack: &[u8], data_start: usize) -> Result<&[u8], String> {
    if pack.len() < data_start + TAIL_LEN {
        return Err("pack is truncated".into());
    }
    if &pack[pack.len() - END_MAGIC.len()..] != END_MAGIC {
        return Err("pack is truncated (no end marker)".into());
    }
    let len_at = pack.len() - TAIL_LEN;
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(&pack[len_at..len_at + 4]);
    let header_len = u32::from_le_bytes(len_bytes) as usize;
    if header_len > len_at - data_start {
        return Err("pack header length is out of range".into());
    }
    Ok(&pack[len_at - header_len..len_at])
}

fn decode_header(
    bytes: &[u8],
    data_start: usize,
    data_end: usize,
) -> Result<Vec<HeaderEntry>, String> {
    let header: Vec<HeaderEntry> =
        ciborium::from_reader(bytes).map_err(|e| format!("pack header is unreadable: {e}"))?;
    for h in &header {
        if h.offset < data_start as u64 || h.offset + h.len as u64 > data_end as u64 {
            return Err("pack header points outside the pack".into());
        }
    }
    Ok(header)
}

/// Reads the header of a whole plain pack, checking its framing.
pub fn parse_header(pack: &[u8]) -> Result<Vec<HeaderEntry>, String> {
    if pack.starts_with(SEALED_MAGIC) {
        return Err("the pack is encrypted, but the repository is not: refusing it".into());
    }
    if !pack.starts_with(MAGIC) {
        return Err("not a Syncdesk pack (bad magic)".into());
    }
    let header = framing(pack, MAGIC.len())?;
    let data_end = pack.len() - TAIL_LEN - header.len();
    decode_header(header, MAGIC.len(), data_end)
}

/// The key a sealed pack names, from its first [`SEALED_PREFIX_LEN`] bytes.
pub fn sealed_key_id(prefix: &[u8]) -> Result<KeyId, String> {
    if prefix.starts_with(MAGIC) {
        return Err("the pack is not encrypted, but the repository is: refusing plaintext".into());
    }
    if prefix.len() < SEALED_PREFIX_LEN || !prefix.starts_with(SEALED_MAGIC) {
        return Err("not an encrypted Syncdesk pack (bad magic)".into());
    }
    let mut id = [0u8; KEY_ID_LEN];
    id.copy_from_slice(&prefix[SEALED_MAGIC.len()..SEALED_PREFIX_LEN]);
    Ok(id)
}

/// Opens and reads the header of a whole sealed pack (the one named `pack_id`, sealed with
/// `key`, the key [`sealed_key_id`] names).
pub fn parse_sealed_header(
    pack: &[u8],
    pack_id: &Hash,
    key: &MasterKey,
) -> Result<Vec<HeaderEntry>, String> {
    let named = sealed_key_id(pack)?;
    if named != *key.id() {
        return Err(format!(
            "the pack is sealed with key {}, not {}",
            hex::encode(named),
            hex::encode(key.id())
        ));
    }
    let sealed = framing(pack, SEALED_PREFIX_LEN)?;
    let data_end = pack.len() - TAIL_LEN - sealed.len();
    let ad = crypto::pack_header_ad(SEALED_MAGIC, key.id(), pack_id);
    let header = key
        .open(&ad, sealed)
        .map_err(|e| format!("pack header: {e}"))?;
    decode_header(&header, SEALED_PREFIX_LEN, data_end)
}

/// Decompresses a blob's (opened) stored bytes and checks the plaintext length.
fn decode_blob(stored: Vec<u8>, r: &BlobRef) -> Result<Vec<u8>, String> {
    let raw = match r.codec {
        Codec::Raw => stored,
        Codec::Zstd => zstd::bulk::decompress(&stored, r.raw_len as usize)
            .map_err(|e| format!("blob does not decompress: {e}"))?,
    };
    if raw.len() != r.raw_len as usize {
        return Err("blob content does not match its hash".into());
    }
    Ok(raw)
}

fn check_stored_len(stored: &[u8], r: &BlobRef) -> Result<(), String> {
    if stored.len() != r.len as usize {
        return Err(format!(
            "blob is {} bytes, expected {} (truncated read?)",
            stored.len(),
            r.len
        ));
    }
    Ok(())
}

/// Turns a plain blob's stored bytes back into its plaintext, verifying length and hash.
pub fn open_blob(stored: &[u8], r: &BlobRef) -> Result<Vec<u8>, String> {
    check_stored_len(stored, r)?;
    let raw = decode_blob(stored.to_vec(), r)?;
    if *blake3::hash(&raw).as_bytes() != r.hash {
        return Err("blob content does not match its hash".into());
    }
    Ok(raw)
}

/// Opens a sealed blob's stored bytes, verifying tag, length and keyed hash. `kind` is the
/// kind the caller expects; with `None` either kind is accepted (the id already commits to
/// the content, so the kind only separates domains).
pub fn open_sealed_blob(
    stored: &[u8],
    r: &BlobRef,
    kind: Option<BlobKind>,
    key: &MasterKey,
) -> Result<Vec<u8>, String> {
    check_stored_len(stored, r)?;
    let kinds = match kind {
        Some(k) => vec![k],
        None => vec![BlobKind::Data, BlobKind::Tree],
    };
    let opened = kinds
        .into_iter()
        .find_map(|k| key.open(&crypto::blob_ad(&r.hash, k.into()), stored).ok())
        .ok_or_else(|| crypto::AuthFailed.to_string())?;
    let raw = decode_blob(opened, r)?;
    if key.blob_id(&raw) != r.hash {
        return Err("blob content does not match its hash".into());
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip_through_a_pack() {
        let text = b"hello hello hello hello hello hello hello hello".repeat(20);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..5000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        let mut w = PackWriter::new([3; 32]);
        let a = seal(BlobKind::Data, &text);
        let b = seal(BlobKind::Tree, &noise);
        assert_eq!(a.codec, Codec::Zstd);
        assert_eq!(b.codec, Codec::Raw);
        let refs = [w.add(&a), w.add(&b)];
        let (id, bytes) = w.finish();
        assert_eq!(id, [3; 32]);
        let header = parse_header(&bytes).unwrap();
        assert_eq!(header.len(), 2);
        for (r, raw) in refs.iter().zip([&text[..], &noise[..]]) {
            let stored = &bytes[r.offset as usize..r.offset as usize + r.len as usize];
            assert_eq!(open_blob(stored, r).unwrap(), raw);
        }
    }

    #[test]
    fn sealed_packs_round_trip_and_refuse_damage() {
        let key = Arc::new(MasterKey::from_secret(zeroize::Zeroizing::new([9; 32])));
        let text = b"hello hello hello hello hello hello hello hello".repeat(20);
        let mut w = PackWriter::new_sealed([5; 32], key.clone()).unwrap();
        let a = seal_with_key(key.blob_id(&text), BlobKind::Data, &text, true, &key).unwrap();
        let b = seal_with_key(key.blob_id(b"tree"), BlobKind::Tree, b"tree", true, &key).unwrap();
        assert_eq!(a.codec, Codec::Zstd);
        let refs = [w.add(&a), w.add(&b)];
        let (id, bytes) = w.finish();
        assert!(bytes.starts_with(SEALED_MAGIC));
        assert_eq!(sealed_key_id(&bytes).unwrap(), *key.id());
        assert_eq!(refs[0].offset, SEALED_PREFIX_LEN as u64);
        let header = parse_sealed_header(&bytes, &id, &key).unwrap();
        assert_eq!(header.len(), 2);
        assert_eq!(header[0].hash, key.blob_id(&text));
        assert!(parse_header(&bytes).unwrap_err().contains("encrypted"));
        assert!(parse_sealed_header(&bytes, &[6; 32], &key).is_err());
        let stored = |r: &BlobRef| &bytes[r.offset as usize..r.offset as usize + r.len as usize];
        assert_eq!(
            open_sealed_blob(stored(&refs[0]), &refs[0], Some(BlobKind::Data), &key).unwrap(),
            text
        );
        assert_eq!(
            open_sealed_blob(stored(&refs[1]), &refs[1], None, &key).unwrap(),
            b"tree"
        );
        let err = open_sealed_blob(stored(&refs[1]), &refs[1], Some(BlobKind::Data), &key);
        assert!(err.unwrap_err().contains("authentication failed"));
        // Plain readers get an error, not ciphertext.
        assert!(open_blob(stored(&refs[0]), &refs[0]).is_err());

        let mut damaged = bytes.clone();
        let end = damaged.len() - TAIL_LEN - 1;
        damaged[end] ^= 1;
        assert!(
            parse_sealed_header(&damaged, &id, &key)
                .unwrap_err()
                .contains("authentication failed")
        );
        assert!(parse_sealed_header(&bytes[..bytes.len() - 3], &id, &key).is_err());
        let mut other_key = bytes.clone();
        other_key[SEALED_MAGIC.len()] ^= 1;
        assert!(parse_sealed_header(&other_key, &id, &key).is_err());
        let mut r = refs[0];
        r.hash[0] ^= 1;
        assert!(open_sealed_blob(stored(&refs[0]), &r, None, &key).is_err());
    }

    #[test]
    fn damage_is_detected() {
        let mut w = PackWriter::new([4; 32]);
        let r = w.add(&seal(BlobKind::Data, b"some content that matters"));
        let (_, mut bytes) = w.finish();
        let at = r.offset as usize;
        bytes[at] ^= 0xff;
        let stored = &bytes[at..at + r.len as usize];
        assert!(open_blob(stored, &r).unwrap_err().contains("hash"));
        assert!(
            open_blob(&stored[1..], &r)
                .unwrap_err()
                .contains("truncated")
        );
        assert!(parse_header(&bytes[..bytes.len() - 3]).is_err());
    }
}
