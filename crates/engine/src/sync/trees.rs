//! Reading trees (through the local cache) and writing the merged tree bottom-up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::plan::{Content, PlannedNode, TreeSource};
use super::upload::{Packer, UploadError, Uploaded};
use crate::events::lock;
use crate::relpath::RelPath;
use crate::repo::Repo;
use crate::repo::pack::BlobKind;
use crate::repo::tree::{BlobRef, Hash, Kind, Tree};
use crate::store::Store;

/// Trees by reference: memory, then the state database, then the remote.
pub struct RepoTrees<'a> {
    repo: &'a Repo,
    store: &'a Store,
    folder: &'a str,
    memo: Mutex<HashMap<Hash, Arc<Tree>>>,
}

impl<'a> RepoTrees<'a> {
    pub fn new(repo: &'a Repo, store: &'a Store, folder: &'a str) -> Self {
        RepoTrees {
            repo,
            store,
            folder,
            memo: Mutex::new(HashMap::new()),
        }
    }
}

impl TreeSource for RepoTrees<'_> {
    fn load(&self, r: &BlobRef) -> Result<Arc<Tree>, String> {
        if let Some(t) = lock(&self.memo).get(&r.hash) {
            return Ok(t.clone());
        }
        let cached = self
            .store
            .cached_tree(self.folder, &r.hash)
            .map_err(|e| e.to_string())?
            // Cached bytes are verified like remote ones: a damaged cache must not poison a merge.
            .filter(|bytes| self.repo.blob_id(bytes) == r.hash);
        let bytes = match cached {
            Some(b) => b,
            None => {
                let b = self
                    .repo
                    .read_blob_as(r, BlobKind::Tree)
                    .map_err(|e| e.to_string())?;
                self.store
                    .cache_tree(self.folder, &r.hash, &b)
                    .map_err(|e| e.to_string())?;
                b
            }
        };
        let tree = Arc::new(Tree::decode(&bytes)?);
        lock(&self.memo).insert(r.hash, tree.clone());
        Ok(tree)
    }
}

/// Totals of a merged tree.
#[derive(Debug, Default, Clone, Copy)]
pub struct Totals {
    pub files: u64,
    pub bytes: u64,
}

/// Writes the new trees of `node` (children first) and returns the root's reference.
pub fn build(
    node: &PlannedNode,
    uploaded: &HashMap<RelPath, Uploaded>,
    packer: &Packer<'_>,
    trees: &RepoTrees<'_>,
    totals: &mut Totals,
) -> Result<BlobRef, UploadError> {
    let entries = match node {
        PlannedNode::Reuse(r) => {
            count(r, trees, totals);
            return Ok(*r);
        }
        PlannedNode::Dir(entries) => entries,
    };
    let mut tree = Tree {
        entries: Vec::with_capacity(entries.len()),
    };
    for planned in entries {
        let mut entry = planned.entry.clone();
        if let Content::Upload(path) = &planned.content {
            // The upload read one consistent version; describe exactly that.
            let u = uploaded.get(path).ok_or_else(|| UploadError::NotAFile {
                path: crate::relpath::display(path),
            })?;
            entry.hash = u.hash;
            entry.size = u.size;
            entry.mtime_ns = u.stat.mtime_ns;
            entry.mode = u.stat.mode;
            entry.chunks = u.chunks.clone();
        }
        if entry.kind == Kind::File {
            totals.files += 1;
            totals.bytes += entry.size;
        }
        entry.sub = match &planned.children {
            Some(child) => Some(build(child, uploaded, packer, trees, totals)?),
            None => None,
        };
        tree.entries.push(entry);
    }
    let bytes = tree.encode();
    let (r, _) = packer.put(BlobKind::Tree, &bytes, true)?;
    // Our own trees are the next sync's base: keep them locally.
    trees.store.cache_tree(trees.folder, &r.hash, &bytes)?;
    Ok(r)
}

/// Adds an unchanged subtree's totals (from the cache; skipped if unreadable).
fn count(r: &BlobRef, trees: &RepoTrees<'_>, totals: &mut Totals) {
    let Ok(tree) = trees.load(r) else { return };
    for e in &tree.entries {
        if e.kind == Kind::File {
            totals.files += 1;
            totals.bytes += e.size;
        }
        if let Some(sub) = &e.sub {
            count(sub, trees, totals);
        }
    }
}
