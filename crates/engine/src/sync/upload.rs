//! Uploading: files are chunked, deduplicated against what the repository already holds,
//! and packed; a pack's blob locations are remembered only once the pack is stored, so an
//! interrupted sync resumes without sending those packs again.

use std::collections::HashMap;
use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use crate::events::lock;
use crate::repo::chunk::for_each_chunk;
use crate::repo::pack::{BlobKind, PackWriter, SealedBlob};
use crate::repo::tree::{BlobRef, Codec, Hash};
use crate::repo::{Repo, RepoError};
use crate::scan::stat_key;
use crate::store::{StatKey, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} kept changing while it was being uploaded; it will be synced next time")]
    Unstable { path: String },
    #[error("{path} is no longer a regular file")]
    NotAFile { path: String },
    #[error(
        "the remote accepted pack {pack} but does not hold it ({found}); nothing was committed and the next sync uploads it again. If this repeats, the server is losing data."
    )]
    Lost { pack: String, found: String },
}

/// A file as it was read for upload.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub hash: Hash,
    pub size: u64,
    pub stat: StatKey,
    pub chunks: Vec<BlobRef>,
}

struct OpenPack {
    writer: PackWriter,
    refs: Vec<BlobRef>,
}

/// Packs blobs and stores full packs. Shared by parallel workers.
pub struct Packer<'a> {
    repo: &'a Repo,
    store: &'a Store,
    folder: &'a str,
    open: Mutex<Option<OpenPack>>,
    /// Blobs added during this sync (including ones still in the open pack).
    added: Mutex<HashMap<Hash, BlobRef>>,
    /// Bytes of packs stored, for stats.
    pub stored_bytes: std::sync::atomic::AtomicU64,
    /// The packs stored during this sync: id, size, and the blobs in it.
    stored: Mutex<Vec<(Hash, u64, Vec<Hash>)>>,
}

impl<'a> Packer<'a> {
    pub fn new(repo: &'a Repo, store: &'a Store, folder: &'a str) -> Self {
        Packer {
            repo,
            store,
            folder,
            open: Mutex::new(None),
            added: Mutex::new(HashMap::new()),
            stored_bytes: Default::default(),
            stored: Mutex::new(Vec::new()),
        }
    }

    /// Where a blob with this hash already is, if the repository (as far as we know) has it.
    pub fn lookup(&self, hash: &Hash) -> Result<Option<BlobRef>, UploadError> {
        if let Some(r) = lock(&self.added).get(hash) {
            return Ok(Some(*r));
        }
        Ok(self
            .store
            .blob_location(self.folder, hash)?
            .and_then(|bytes| ciborium::from_reader::<BlobRef, _>(bytes.as_slice()).ok()))
    }

    /// Adds a sealed blob (unless already present) and returns its reference.
    pub fn add(&self, blob: &SealedBlob) -> Result<BlobRef, UploadError> {
        let full = {
            let mut added = lock(&self.added);
            if let Some(r) = added.get(&blob.hash) {
                return Ok(*r);
            }
            let mut open = lock(&self.open);
            if open.is_none() {
                *open = Some(OpenPack {
                    writer: self.repo.new_pack()?,
                    refs: Vec::new(),
                });
            }
            let Some(pack) = open.as_mut() else {
                unreachable!("opened above")
            };
            let r = pack.writer.add(blob);
            pack.refs.push(r);
            added.insert(blob.hash, r);
            if pack.writer.is_full() {
                open.take()
            } else {
                None
            }
        };
        let r = lock(&self.added)[&blob.hash];
        if let Some(pack) = full {
            self.store_pack(pack)?;
        }
        Ok(r)
    }

    /// Stores the open pack, if any.
    pub fn flush(&self) -> Result<(), UploadError> {
        let open = lock(&self.open).take();
        match open {
            Some(pack) => self.store_pack(pack),
            None => Ok(()),
        }
    }

    fn store_pack(&self, pack: OpenPack) -> Result<(), UploadError> {
        let (id, bytes) = pack.writer.finish();
        self.repo.put_pack(&id, &bytes)?;
        crate::failpoint::hit("pack-stored");
        self.stored_bytes
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        let entries: Vec<(Hash, Vec<u8>)> =
            pack.refs.iter().map(|r| (r.hash, encode_ref(r))).collect();
        self.store.put_blob_locations(self.folder, &entries)?;
        lock(&self.stored).push((
            id,
            bytes.len() as u64,
            pack.refs.iter().map(|r| r.hash).collect(),
        ));
        Ok(())
    }

    /// Checks that every pack this sync stored is on the remote with its full size, before
    /// anything names them: some servers answer a PUT with success and then do not have the
    /// object. A missing pack's blobs are forgotten, so the next sync uploads them again.
    pub fn verify_stored(&self) -> Result<(), UploadError> {
        let stored = std::mem::take(&mut *lock(&self.stored));
        for (id, size, blobs) in stored {
            let found = match self.repo.stat_pack(&id)? {
                Some(n) if n == size => continue,
                Some(n) => format!("{n} of {size} bytes"),
                None => "missing".to_owned(),
            };
            self.store.forget_blob_locations(self.folder, &blobs)?;
            return Err(UploadError::Lost {
                pack: hex::encode(id),
                found,
            });
        }
        Ok(())
    }

    /// Seals and adds one blob of `kind`, reusing a stored copy when there is one.
    pub fn put(
        &self,
        kind: BlobKind,
        raw: &[u8],
        compress: bool,
    ) -> Result<(BlobRef, bool), UploadError> {
        // The repository's id: keyed in an encrypted repository, so the ids stored in the
        // repository (and in the local location cache) never reveal plaintext hashes.
        let hash = self.repo.blob_id(raw);
        if let Some(r) = self.lookup(&hash)? {
            return Ok((r, false));
        }
        let sealed: SealedBlob = self.repo.seal_blob(hash, kind, raw, compress)?;
        Ok((self.add(&sealed)?, true))
    }

    /// Reads, chunks and packs one local file, making sure the content read is one
    /// consistent version (the file did not change while it was read).
    pub fn upload_file(
        &self,
        abs: &Path,
        mut on_bytes: impl FnMut(u64),
    ) -> Result<Uploaded, UploadError> {
        let shown = abs.display().to_string();
        let read_err = |source| UploadError::Read {
            path: shown.clone(),
            source,
        };
        for _attempt in 0..3 {
            let before = std::fs::symlink_metadata(abs).map_err(read_err)?;
            if !before.is_file() {
                return Err(UploadError::NotAFile { path: shown });
            }
            let file = File::open(abs).map_err(read_err)?;
            let mut hasher = blake3::Hasher::new();
            let mut chunks = Vec::new();
            let mut size = 0u64;
            // Stop trying to compress a file once a large chunk of it does not shrink
            // (media, archives): it saves most of the CPU on incompressible data.
            let mut compress = true;
            let mut failure = None;
            let result = for_each_chunk(file, &self.repo.config.chunker, |data| {
                hasher.update(&data);
                size += data.len() as u64;
                on_bytes(data.len() as u64);
                match self.put(BlobKind::Data, &data, compress) {
                    Ok((r, _)) => {
                        if compress && data.len() >= 64 << 10 && r.codec == Codec::Raw {
                            compress = false;
                        }
                        chunks.push(r);
                        Ok(())
                    }
                    Err(e) => {
                        failure = Some(e);
                        Err(std::io::Error::other("upload failed"))
                    }
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            result.map_err(read_err)?;
            let after = std::fs::symlink_metadata(abs).map_err(read_err)?;
            if stat_key(&before) == stat_key(&after) {
                return Ok(Uploaded {
                    hash: *hasher.finalize().as_bytes(),
                    size,
                    stat: stat_key(&after),
                    chunks,
                });
            }
        }
        Err(UploadError::Unstable { path: shown })
    }
}

pub fn encode_ref(r: &BlobRef) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    // Serializing plain owned data into a Vec cannot fail.
    ciborium::into_writer(r, &mut out).unwrap_or_else(|e| unreachable!("{e}"));
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::model::Folder;
    use crate::remote::LocalRemote;

    fn setup() -> (tempfile::TempDir, Repo, Store) {
        let dir = tempfile::tempdir().unwrap();
        let remote = Arc::new(LocalRemote::new(dir.path().join("remote")).unwrap());
        let repo = Repo::open(remote, "main", None).unwrap();
        let store = Store::open(&dir.path().join("state")).unwrap();
        store
            .add_folder(&Folder::new(
                "f",
                dir.path().join("f"),
                &dir.path().join("remote").display().to_string(),
                "main",
            ))
            .unwrap();
        (dir, repo, store)
    }

    #[test]
    fn a_file_changed_while_read_is_read_again() {
        let (dir, repo, store) = setup();
        let path = dir.path().join("doc.txt");
        std::fs::write(&path, b"first version").unwrap();
        let packer = Packer::new(&repo, &store, "f");
        let mut edits = 0;
        let u = packer
            .upload_file(&path, |_| {
                // The user saves a new version while the first read is under way.
                if edits == 0 {
                    std::fs::write(&path, b"second version, longer").unwrap();
                }
                edits += 1;
            })
            .unwrap();
        assert_eq!(u.hash, *blake3::hash(b"second version, longer").as_bytes());
        assert_eq!(u.size, 22);
        packer.flush().unwrap();
        let back: Vec<u8> = u
            .chunks
            .iter()
            .flat_map(|c| repo.read_blob(c).unwrap())
            .collect();
        assert_eq!(back, b"second version, longer");
    }

    #[test]
    fn a_file_that_keeps_changing_is_left_for_the_next_sync() {
        let (dir, repo, store) = setup();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, b"0").unwrap();
        let packer = Packer::new(&repo, &store, "f");
        let mut n = 0u32;
        let err = packer
            .upload_file(&path, |_| {
                n += 1;
                std::fs::write(&path, "x".repeat(n as usize)).unwrap();
            })
            .unwrap_err();
        assert!(matches!(err, UploadError::Unstable { .. }), "{err}");
        assert!(err.to_string().contains("kept changing"));
    }

    #[test]
    fn an_encrypted_repository_gets_keyed_ids_and_sealed_packs() {
        let (dir, _, store) = setup();
        let remote = Arc::new(LocalRemote::new(dir.path().join("remote")).unwrap());
        let repo =
            Repo::open_with_kdf(remote, "secret", Some("pw"), crate::repo::keys::TEST_KDF).unwrap();
        let path = dir.path().join("notes.txt");
        let content = b"plaintext that must not reach the remote ".repeat(100);
        std::fs::write(&path, &content).unwrap();
        let packer = Packer::new(&repo, &store, "f");
        let u = packer.upload_file(&path, |_| {}).unwrap();
        packer.flush().unwrap();
        // The file's own hash stays plain (it lives inside sealed trees); blob ids are keyed.
        assert_eq!(u.hash, *blake3::hash(&content).as_bytes());
        assert_eq!(u.chunks[0].hash, repo.blob_id(&content));
        assert_ne!(u.chunks[0].hash, u.hash);
        let pack = repo.get_pack(&u.chunks[0].pack).unwrap();
        assert!(pack.starts_with(crate::repo::pack::SEALED_MAGIC));
        assert!(!pack.windows(9).any(|w| w == b"plaintext"));
        assert_eq!(repo.read_blob(&u.chunks[0]).unwrap(), content);
    }

    #[test]
    fn blobs_already_stored_are_not_stored_again() {
        let (dir, repo, store) = setup();
        let path = dir.path().join("a.bin");
        std::fs::write(&path, vec![5u8; 100_000]).unwrap();
        let first = Packer::new(&repo, &store, "f");
        first.upload_file(&path, |_| {}).unwrap();
        first.flush().unwrap();
        let stored = first
            .stored_bytes
            .load(std::sync::atomic::Ordering::Relaxed);
        assert!(stored > 0);
        // A later sync (a new packer) finds the blob through the cache: nothing is sent.
        let second = Packer::new(&repo, &store, "f");
        second.upload_file(&path, |_| {}).unwrap();
        second.flush().unwrap();
        assert_eq!(
            second
                .stored_bytes
                .load(std::sync::atomic::Ordering::Relaxed),
            0
        );
    }
}
