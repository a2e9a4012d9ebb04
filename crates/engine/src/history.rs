//! History: snapshots of a folder, browsing them, restoring from them, and checking that
//! everything a snapshot reaches is present and intact.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::engine::EngineError;
use crate::events::{EventBus, Reporter};
use crate::model::Folder;
use crate::relpath::{self, RelPath};
use crate::repo::pack::BlobKind;
use crate::repo::tree::{BlobRef, Entry, Hash, Kind, Tree};
use crate::repo::{Repo, Snapshot};
use crate::store::Store;
use crate::sync::apply::Applier;
use crate::sync::plan::{Action, Expect, TreeSource};
use crate::sync::trees::RepoTrees;
use crate::trash::Trash;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct SnapshotInfo {
    pub id: String,
    pub device: String,
    pub created_at: String,
    pub parents: Vec<String>,
    #[ts(type = "number")]
    pub files: u64,
    #[ts(type = "number")]
    pub bytes: u64,
    /// Devices whose head is this snapshot.
    pub head_of: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct FileInfo {
    pub name: String,
    pub kind: String,
    #[ts(type = "number")]
    pub size: u64,
    #[ts(type = "number")]
    pub mtime_ns: i64,
    pub device: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    pub target: String,
    #[ts(type = "number")]
    pub files: u64,
    #[ts(type = "number")]
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    #[ts(type = "number")]
    pub snapshots: u64,
    #[ts(type = "number")]
    pub trees: u64,
    #[ts(type = "number")]
    pub blobs: u64,
    #[ts(type = "number")]
    pub packs: u64,
    /// Packs no snapshot reaches (left by interrupted syncs; harmless).
    #[ts(type = "number")]
    pub unreferenced_packs: u64,
    pub errors: Vec<String>,
}

impl CheckReport {
    pub fn ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Every snapshot in the folder's repository, newest first.
pub fn snapshots(repo: &Repo) -> Result<Vec<SnapshotInfo>, EngineError> {
    let mut heads: HashMap<String, Vec<String>> = HashMap::new();
    for h in repo.heads()?.into_iter().flatten() {
        heads.entry(h.snapshot).or_default().push(h.device);
    }
    let mut out = Vec::new();
    for id in repo.list_snapshots()? {
        let s = repo.snapshot(&id)?;
        out.push(SnapshotInfo {
            head_of: heads.remove(&id).unwrap_or_default(),
            id,
            device: s.device,
            created_at: s.created_at,
            parents: s.parents,
            files: s.files,
            bytes: s.bytes,
        });
    }
    out.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Finds a snapshot by id or unique id prefix.
fn find_snapshot(repo: &Repo, id: &str) -> Result<(String, Snapshot), EngineError> {
    if id.len() < 4 {
        return Err(EngineError::InvalidRequest(
            "give at least 4 characters of the snapshot id".into(),
        ));
    }
    let matches: Vec<String> = repo
        .list_snapshots()?
        .into_iter()
        .filter(|s| s.starts_with(id))
        .collect();
    match matches.as_slice() {
        [one] => Ok((one.clone(), repo.snapshot(one)?)),
        [] => Err(EngineError::NotFound(format!("no snapshot {id}"))),
        _ => Err(EngineError::InvalidRequest(format!(
            "{id} matches several snapshots; give more of it"
        ))),
    }
}

/// The entry at `path` in a snapshot (None for the root).
fn lookup(
    trees: &RepoTrees<'_>,
    root: &BlobRef,
    path: &[u8],
) -> Result<Option<Entry>, EngineError> {
    let mut dir = *root;
    let mut found = None;
    if path.is_empty() {
        return Ok(None);
    }
    let parts: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    for (i, part) in parts.iter().enumerate() {
        let tree = trees.load(&dir).map_err(EngineError::Internal)?;
        let entry = tree
            .entries
            .iter()
            .find(|e| e.name == *part && e.is_live())
            .ok_or_else(|| {
                EngineError::NotFound(format!(
                    "{} is not in this snapshot",
                    relpath::display(path)
                ))
            })?;
        if i + 1 < parts.len() {
            dir = entry
                .sub
                .filter(|_| entry.kind == Kind::Dir)
                .ok_or_else(|| {
                    EngineError::InvalidRequest(format!(
                        "{} is not a directory",
                        relpath::display(&parts[..=i].join(&b'/'))
                    ))
                })?;
        }
        found = Some(entry.clone());
    }
    Ok(found)
}

/// The live entries of a directory in a snapshot.
pub fn files(
    store: &Store,
    repo: &Repo,
    folder: &Folder,
    snapshot: &str,
    path: &str,
) -> Result<Vec<FileInfo>, EngineError> {
    let (_, snap) = find_snapshot(repo, snapshot)?;
    let trees = RepoTrees::new(repo, store, &folder.name);
    let rel = relpath::parse_user(path).map_err(EngineError::InvalidRequest)?;
    let dir = match lookup(&trees, &snap.root, &rel)? {
        None => Some(snap.root),
        Some(e) if e.kind == Kind::Dir => e.sub,
        Some(_) => {
            return Err(EngineError::InvalidRequest(format!(
                "{path} is not a directory"
            )));
        }
    };
    let Some(dir) = dir else {
        return Ok(Vec::new());
    };
    let tree = trees.load(&dir).map_err(EngineError::Internal)?;
    Ok(tree
        .entries
        .iter()
        .filter(|e| e.is_live())
        .map(|e| FileInfo {
            name: relpath::display(&e.name),
            kind: match e.kind {
                Kind::File => "file",
                Kind::Dir => "dir",
                Kind::Symlink => "symlink",
                Kind::Deleted => "deleted",
            }
            .into(),
            size: e.size,
            mtime_ns: e.mtime_ns,
            device: e.device.clone(),
        })
        .collect())
}

/// Restores a file or directory of a snapshot into `to` (a directory), never overwriting.
pub fn restore(
    store: &Store,
    repo: &Repo,
    folder: &Folder,
    snapshot: &str,
    path: &str,
    to: &Path,
) -> Result<RestoreReport, EngineError> {
    let (_, snap) = find_snapshot(repo, snapshot)?;
    let trees = RepoTrees::new(repo, store, &folder.name);
    let rel = relpath::parse_user(path).map_err(EngineError::InvalidRequest)?;
    std::fs::create_dir_all(to)
        .map_err(|e| EngineError::InvalidRequest(format!("cannot create {}: {e}", to.display())))?;
    let mut actions = Vec::new();
    let name: RelPath = match lookup(&trees, &snap.root, &rel)? {
        None => {
            // The whole snapshot.
            collect(&trees, &snap.root, b"", &mut actions)?;
            Vec::new()
        }
        Some(e) => {
            let name = e.name.clone();
            if std::fs::symlink_metadata(relpath::to_path(to, &name)).is_ok() {
                return Err(EngineError::InvalidRequest(format!(
                    "{} already exists; restore to another directory",
                    relpath::to_path(to, &name).display()
                )));
            }
            if e.kind == Kind::Dir {
                actions.push(Action::MakeDir { path: name.clone() });
                if let Some(sub) = &e.sub {
                    collect(&trees, sub, &name, &mut actions)?;
                }
            } else {
                actions.push(Action::Write {
                    path: name.clone(),
                    entry: Box::new(e),
                    expect: Expect::Absent,
                });
            }
            name
        }
    };
    if name.is_empty() && std::fs::read_dir(to).is_ok_and(|mut d| d.next().is_some()) {
        return Err(EngineError::InvalidRequest(format!(
            "{} is not empty; restore a whole snapshot into an empty directory",
            to.display()
        )));
    }
    let reporter = Reporter::new(EventBus::new(), None, 0, &folder.name);
    let trash = Trash::new(to, 0);
    let applied = Applier {
        root: to,
        repo,
        trash: &trash,
        reporter: &reporter,
        // A restore is the user's doing: a watched folder should sync it.
        echo: None,
    }
    .apply(&actions)
    .map_err(|e| EngineError::Sync(e.into()))?;
    Ok(RestoreReport {
        target: relpath::to_path(to, &name).display().to_string(),
        files: applied.files_written,
        bytes: applied.bytes_written,
    })
}

fn collect(
    trees: &RepoTrees<'_>,
    dir: &BlobRef,
    prefix: &[u8],
    out: &mut Vec<Action>,
) -> Result<(), EngineError> {
    let tree = trees.load(dir).map_err(EngineError::Internal)?;
    for e in tree.entries.iter().filter(|e| e.is_live()) {
        let path = relpath::join(prefix, &e.name);
        match e.kind {
            Kind::Dir => {
                out.push(Action::MakeDir { path: path.clone() });
                if let Some(sub) = &e.sub {
                    collect(trees, sub, &path, out)?;
                }
            }
            _ => out.push(Action::Write {
                path,
                entry: Box::new(e.clone()),
                expect: Expect::Absent,
            }),
        }
    }
    Ok(())
}

/// Verifies every object reachable from every snapshot and head: present, hash valid. In an
/// encrypted repository every pack header and blob is also authenticated with its key.
pub fn check_repo(repo: &Repo) -> Result<CheckReport, EngineError> {
    let mut report = CheckReport::default();
    let mut roots = Vec::new();
    for h in repo.heads()? {
        match h {
            Ok(h) => match repo.snapshot(&h.snapshot) {
                Ok(s) => roots.push(s.root),
                Err(e) => report.errors.push(format!("head of {}: {e}", h.device)),
            },
            Err((dev, e)) => report.errors.push(format!("head of {dev}: {e}")),
        }
    }
    for id in repo.list_snapshots()? {
        report.snapshots += 1;
        match repo.snapshot(&id) {
            Ok(s) => roots.push(s.root),
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    // Walk trees, collecting every referenced blob by pack.
    // Every referenced blob, by pack and offset: each pack is then read once.
    let mut by_pack: BTreeMap<Hash, BTreeMap<u64, (BlobRef, BlobKind)>> = BTreeMap::new();
    let mut seen_trees = HashSet::new();
    let mut stack = roots;
    while let Some(r) = stack.pop() {
        if !seen_trees.insert(r.hash) {
            continue;
        }
        by_pack
            .entry(r.pack)
            .or_default()
            .insert(r.offset, (r, BlobKind::Tree));
        let tree = match repo
            .read_blob_as(&r, BlobKind::Tree)
            .map_err(|e| e.to_string())
            .and_then(|b| Tree::decode(&b))
        {
            Ok(t) => t,
            Err(e) => {
                report
                    .errors
                    .push(format!("tree {}: {e}", hex::encode(r.hash)));
                continue;
            }
        };
        report.trees += 1;
        for e in &tree.entries {
            for c in &e.chunks {
                by_pack
                    .entry(c.pack)
                    .or_default()
                    .insert(c.offset, (*c, BlobKind::Data));
            }
            if let Some(sub) = e.sub {
                stack.push(sub);
            }
        }
    }
    let stored: HashSet<Hash> = repo.list_packs()?.into_iter().map(|(id, _)| id).collect();
    report.unreferenced_packs = stored
        .iter()
        .filter(|id| !by_pack.contains_key(*id))
        .count() as u64;
    for (pack_id, blobs) in &by_pack {
        report.packs += 1;
        let bytes = match repo.get_pack(pack_id) {
            Ok(b) => b,
            Err(e) => {
                report.errors.push(format!(
                    "pack {}: {e} ({} blobs lost)",
                    hex::encode(pack_id),
                    blobs.len()
                ));
                continue;
            }
        };
        if let Err(e) = repo.parse_pack(pack_id, &bytes) {
            report
                .errors
                .push(format!("pack {}: {e}", hex::encode(pack_id)));
        }
        for (r, kind) in blobs.values() {
            report.blobs += 1;
            if let Err(e) = repo.open_blob_in_pack(&bytes, r, *kind) {
                report.errors.push(format!(
                    "blob {} in pack {}: {e}",
                    hex::encode(r.hash),
                    hex::encode(pack_id)
                ));
            }
        }
    }
    Ok(report)
}
