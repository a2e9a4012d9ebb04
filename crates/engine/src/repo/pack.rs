//! Packs: many blobs in one immutable object, so 10,000 small files are a few requests.
//!
//! Layout: `MAGIC`, the stored blobs back to back, a CBOR header listing them, the header's
//! length (u32 LE) and `END_MAGIC`. A pack's id is random, chosen when it is opened, so a
//! blob's full reference is known the moment it is added; every blob carries its own hash.

use serde::{Deserialize, Serialize};

use super::tree::{BlobRef, Codec, Hash};

pub const MAGIC: &[u8; 8] = b"SDPACK01";
pub const END_MAGIC: &[u8; 8] = b"SDPKEND1";
/// Packs are closed once they reach this size.
pub const TARGET_SIZE: usize = 16 << 20;
const ZSTD_LEVEL: i32 = 3;

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

/// A blob made ready for a pack: hashed and compressed (CPU work, done in parallel).
pub struct SealedBlob {
    pub hash: Hash,
    pub kind: BlobKind,
    pub raw_len: u32,
    pub codec: Codec,
    pub stored: Vec<u8>,
}

/// Hashes and compresses `raw`, keeping it raw when compression does not pay.
pub fn seal(kind: BlobKind, raw: &[u8]) -> SealedBlob {
    let hash = *blake3::hash(raw).as_bytes();
    let (codec, stored) = match zstd::bulk::compress(raw, ZSTD_LEVEL) {
        Ok(z) if z.len() + 16 < raw.len() => (Codec::Zstd, z),
        _ => (Codec::Raw, raw.to_vec()),
    };
    SealedBlob {
        hash,
        kind,
        // Chunks are at most 4 MiB and trees far below 4 GiB: the length fits in u32.
        raw_len: raw.len() as u32,
        codec,
        stored,
    }
}

/// Accumulates sealed blobs into one pack.
pub struct PackWriter {
    id: Hash,
    buf: Vec<u8>,
    header: Vec<HeaderEntry>,
}

impl PackWriter {
    /// A new pack with the given (random) id.
    pub fn new(id: Hash) -> Self {
        let mut buf = Vec::with_capacity(TARGET_SIZE + (1 << 20));
        buf.extend_from_slice(MAGIC);
        PackWriter {
            id,
            buf,
            header: Vec::new(),
        }
    }

    /// Appends a blob; returns where it will be once the pack is stored.
    pub fn add(&mut self, blob: &SealedBlob) -> BlobRef {
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
        self.buf.extend_from_slice(&header);
        self.buf
            .extend_from_slice(&(header.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(END_MAGIC);
        (self.id, self.buf)
    }
}

/// Reads the header of a whole pack, checking its framing.
pub fn parse_header(pack: &[u8]) -> Result<Vec<HeaderEntry>, String> {
    let tail = MAGIC.len() + 4 + END_MAGIC.len();
    if pack.len() < tail || &pack[..MAGIC.len()] != MAGIC {
        return Err("not a Syncdesk pack (bad magic)".into());
    }
    if &pack[pack.len() - END_MAGIC.len()..] != END_MAGIC {
        return Err("pack is truncated (no end marker)".into());
    }
    let len_at = pack.len() - END_MAGIC.len() - 4;
    let mut len_bytes = [0u8; 4];
    len_bytes.copy_from_slice(&pack[len_at..len_at + 4]);
    let header_len = u32::from_le_bytes(len_bytes) as usize;
    if header_len > len_at - MAGIC.len() {
        return Err("pack header length is out of range".into());
    }
    let header: Vec<HeaderEntry> = ciborium::from_reader(&pack[len_at - header_len..len_at])
        .map_err(|e| format!("pack header is unreadable: {e}"))?;
    for h in &header {
        if h.offset < MAGIC.len() as u64 || h.offset + h.len as u64 > (len_at - header_len) as u64 {
            return Err("pack header points outside the pack".into());
        }
    }
    Ok(header)
}

/// Turns a blob's stored bytes back into its plaintext, verifying length and hash.
pub fn open_blob(stored: &[u8], r: &BlobRef) -> Result<Vec<u8>, String> {
    if stored.len() != r.len as usize {
        return Err(format!(
            "blob is {} bytes, expected {} (truncated read?)",
            stored.len(),
            r.len
        ));
    }
    let raw = match r.codec {
        Codec::Raw => stored.to_vec(),
        Codec::Zstd => zstd::bulk::decompress(stored, r.raw_len as usize)
            .map_err(|e| format!("blob does not decompress: {e}"))?,
    };
    if raw.len() != r.raw_len as usize || *blake3::hash(&raw).as_bytes() != r.hash {
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
