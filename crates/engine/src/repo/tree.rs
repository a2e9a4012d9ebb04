//! Directory trees: content-addressed CBOR blobs listing entries sorted by name.

use serde::{Deserialize, Serialize};

use crate::vv::VersionVector;

pub type Hash = [u8; 32];

/// Where a blob is stored: pack id, byte range, and the BLAKE3 of its plaintext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BlobRef {
    #[serde(rename = "h", with = "serde_bytes")]
    pub hash: Hash,
    #[serde(rename = "p", with = "serde_bytes")]
    pub pack: Hash,
    #[serde(rename = "o")]
    pub offset: u64,
    /// Stored (compressed) length.
    #[serde(rename = "l")]
    pub len: u32,
    /// Plaintext length.
    #[serde(rename = "r")]
    pub raw_len: u32,
    #[serde(rename = "c")]
    pub codec: Codec,
}

/// How a blob's bytes are stored in its pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Codec {
    Raw,
    Zstd,
}

impl From<Codec> for u8 {
    fn from(c: Codec) -> u8 {
        match c {
            Codec::Raw => 0,
            Codec::Zstd => 1,
        }
    }
}

impl TryFrom<u8> for Codec {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(Codec::Raw),
            1 => Ok(Codec::Zstd),
            other => Err(format!("unknown codec {other}")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Kind {
    File,
    Dir,
    Symlink,
    /// A tombstone: the path was deleted in this version.
    Deleted,
}

impl From<Kind> for u8 {
    fn from(k: Kind) -> u8 {
        match k {
            Kind::File => 0,
            Kind::Dir => 1,
            Kind::Symlink => 2,
            Kind::Deleted => 3,
        }
    }
}

impl TryFrom<u8> for Kind {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(Kind::File),
            1 => Ok(Kind::Dir),
            2 => Ok(Kind::Symlink),
            3 => Ok(Kind::Deleted),
            other => Err(format!("unknown entry kind {other}")),
        }
    }
}

/// One version of one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(rename = "n", with = "serde_bytes")]
    pub name: Vec<u8>,
    #[serde(rename = "k")]
    pub kind: Kind,
    #[serde(rename = "v")]
    pub vv: VersionVector,
    /// The device that wrote this version (names conflict copies).
    #[serde(rename = "d")]
    pub device: String,
    /// Modification time (ns since the epoch) of this version.
    #[serde(rename = "m")]
    pub mtime_ns: i64,
    #[serde(rename = "s", default)]
    pub size: u64,
    /// Unix permission bits; only the executable bits are applied on other devices.
    #[serde(rename = "x", default)]
    pub mode: u32,
    /// BLAKE3 of the content (file) or of the link target (symlink).
    #[serde(rename = "h", with = "serde_bytes", default)]
    pub hash: Hash,
    /// File content, in order.
    #[serde(rename = "c", default, skip_serializing_if = "Vec::is_empty")]
    pub chunks: Vec<BlobRef>,
    /// Symlink target bytes.
    #[serde(
        rename = "t",
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_bytes"
    )]
    pub target: Option<Vec<u8>>,
    /// Children: a directory's, or the tombstones left under a deleted directory.
    #[serde(rename = "u", default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<BlobRef>,
}

pub const EXEC_BITS: u32 = 0o111;

impl Entry {
    pub fn is_live(&self) -> bool {
        self.kind != Kind::Deleted
    }

    /// Same content as far as a user can tell: kind, bytes, link target, executable bit.
    /// Directories are equal by kind alone (their children merge on their own).
    pub fn same_content(&self, other: &Entry) -> bool {
        if self.kind != other.kind {
            return false;
        }
        match self.kind {
            Kind::File => {
                self.hash == other.hash
                    && self.size == other.size
                    && (self.mode & EXEC_BITS != 0) == (other.mode & EXEC_BITS != 0)
            }
            Kind::Symlink => self.hash == other.hash,
            Kind::Dir | Kind::Deleted => true,
        }
    }
}

/// A directory listing as stored: entries sorted by name, names unique.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tree {
    #[serde(rename = "e")]
    pub entries: Vec<Entry>,
}

impl Tree {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.entries.len() * 96);
        // Serializing plain owned data into a Vec cannot fail.
        ciborium::into_writer(self, &mut out).unwrap_or_else(|e| unreachable!("{e}"));
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Tree, String> {
        let tree: Tree = ciborium::from_reader(bytes).map_err(|e| e.to_string())?;
        if tree.entries.windows(2).any(|w| w[0].name >= w[1].name) {
            return Err("tree entries are not sorted and unique".into());
        }
        // A damaged or hostile repository must not make us write outside the folder.
        if let Some(bad) = tree.entries.iter().find(|e| !valid_name(&e.name)) {
            return Err(format!(
                "tree holds an invalid name {:?}",
                String::from_utf8_lossy(&bad.name)
            ));
        }
        Ok(tree)
    }
}

/// A single path component: not empty, not `.` or `..`, no `/` or NUL, at most 255 bytes.
pub fn valid_name(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != b"."
        && name != b".."
        && !name.iter().any(|&b| b == b'/' || b == 0)
}

mod opt_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_bytes(b),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<serde_bytes::ByteBuf>::deserialize(d).map(|o| o.map(|b| b.into_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &[u8]) -> Entry {
        Entry {
            name: name.to_vec(),
            kind: Kind::File,
            vv: VersionVector::new().bumped("dev1", 3),
            device: "dev1".into(),
            mtime_ns: 1_700_000_000_000_000_000,
            size: 5,
            mode: 0o644,
            hash: [7; 32],
            chunks: vec![BlobRef {
                hash: [7; 32],
                pack: [9; 32],
                offset: 8,
                len: 5,
                raw_len: 5,
                codec: Codec::Raw,
            }],
            target: None,
            sub: None,
        }
    }

    #[test]
    fn tree_round_trips_byte_names() {
        let mut link = file(b"link");
        link.kind = Kind::Symlink;
        link.target = Some(b"../caf\xe9".to_vec());
        link.chunks.clear();
        let tree = Tree {
            entries: vec![file(b"a\nb"), file(b"caf\xe9"), link],
        };
        let bytes = tree.encode();
        assert_eq!(Tree::decode(&bytes).unwrap(), tree);
        // Same tree, same bytes: trees are content-addressed.
        assert_eq!(tree.encode(), bytes);
    }

    #[test]
    fn hostile_names_are_rejected() {
        for bad in [&b".."[..], b"a/b", b"", b"x\0y"] {
            let tree = Tree {
                entries: vec![file(bad)],
            };
            assert!(Tree::decode(&tree.encode()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn unsorted_trees_are_rejected() {
        let tree = Tree {
            entries: vec![file(b"b"), file(b"a")],
        };
        assert!(Tree::decode(&tree.encode()).is_err());
    }

    #[test]
    fn content_equality_ignores_vectors_and_mtime_but_not_exec_bit() {
        let a = file(b"a");
        let mut b = a.clone();
        b.vv = VersionVector::new().bumped("dev2", 1);
        b.mtime_ns += 5;
        assert!(a.same_content(&b));
        b.mode = 0o755;
        assert!(!a.same_content(&b));
    }
}
