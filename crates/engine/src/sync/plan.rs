//! The merge planner: a pure function from (base tree, device heads, local scan) to a plan.
//!
//! It walks the trees side by side, one directory at a time, merging every path with
//! version vectors: a dominating version wins; concurrent versions with the same content are
//! joined silently; otherwise the live versions conflict and the losers are kept as conflict
//! copies named from the losing version itself, so every device computes the same result.
//! Head subtrees whose ids equal the base's are not loaded again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use crate::model::PushMode;
use crate::relpath::{self, RelPath};
use crate::repo::tree::{BlobRef, Entry, Kind, Tree};
use crate::scan::{LocalEntry, LocalKind};
use crate::store::StatKey;
use crate::vv::{Causality, VersionVector};

/// Loads trees by reference (from a cache or the remote). Content-addressed, so pure.
pub trait TreeSource {
    fn load(&self, r: &BlobRef) -> Result<Arc<Tree>, String>;
}

/// Another device's committed root.
#[derive(Debug, Clone)]
pub struct HeadRoot {
    pub device: String,
    pub root: BlobRef,
}

/// What the scan saw at one path.
#[derive(Debug, Clone, Copy)]
pub enum LocalState<'a> {
    Present(&'a LocalEntry),
    Absent,
    /// Ignored, unreadable or inside an unreadable directory: treated as unchanged, never touched.
    Opaque,
}

/// The local side: the scan grouped by parent directory.
pub struct LocalView<'a> {
    children: HashMap<&'a [u8], Vec<(&'a [u8], &'a LocalEntry)>>,
    opaque: &'a dyn Fn(&[u8], bool) -> bool,
}

impl<'a> LocalView<'a> {
    /// `opaque(path, is_dir)` tells paths to leave alone (ignored or unreadable; what lies
    /// below an opaque directory is opaque too).
    pub fn new(
        entries: &'a BTreeMap<RelPath, LocalEntry>,
        opaque: &'a dyn Fn(&[u8], bool) -> bool,
    ) -> Self {
        let mut children: HashMap<&[u8], Vec<(&[u8], &LocalEntry)>> = HashMap::new();
        for (path, entry) in entries {
            let (parent, name) = relpath::split(path);
            children.entry(parent).or_default().push((name, entry));
        }
        LocalView { children, opaque }
    }

    fn state(
        &self,
        parent_listed: bool,
        path: &[u8],
        is_dir: bool,
        found: Option<&'a LocalEntry>,
    ) -> LocalState<'a> {
        if !parent_listed || (self.opaque)(path, is_dir) {
            return LocalState::Opaque;
        }
        match found {
            Some(e) => LocalState::Present(e),
            None => LocalState::Absent,
        }
    }
}

pub struct PlanInput<'a> {
    pub device: &'a str,
    /// This round's counter: every new local version gets `device: clock`.
    pub clock: u64,
    /// Recorded as the time of local deletions.
    pub now_ns: i64,
    pub mode: PushMode,
    /// Root of the snapshot this device last committed.
    pub base: Option<BlobRef>,
    pub heads: &'a [HeadRoot],
    pub local: &'a LocalView<'a>,
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the head of device {device} is not fully readable yet: {reason}")]
    Head {
        index: usize,
        device: String,
        reason: String,
    },
    #[error("this device's last snapshot cannot be read: {0}")]
    Base(String),
}

/// Where a planned file's content comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// `entry.chunks` already point into the repository.
    Stored,
    /// Read and upload the local file at this path.
    Upload(RelPath),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEntry {
    /// The merged version. `sub` is filled by the executor from `children`.
    pub entry: Entry,
    pub content: Content,
    pub children: Option<PlannedNode>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlannedNode {
    /// Unchanged subtree: reuse the stored tree.
    Reuse(BlobRef),
    /// A new tree made of these entries (sorted by name).
    Dir(Vec<PlannedEntry>),
}

/// What the scan saw where an action applies; re-checked before touching anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Absent,
    Dir,
    Stat(StatKey),
}

/// One change to the local folder, in the order to apply them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    MakeDir {
        path: RelPath,
    },
    /// Write a file or symlink from the repository (the replaced one goes to the trash).
    Write {
        path: RelPath,
        entry: Box<Entry>,
        expect: Expect,
    },
    /// Move a file or symlink to the trash.
    Remove {
        path: RelPath,
        expect: Expect,
    },
    /// Remove a directory once empty (kept, with a log line, if it still holds anything).
    RemoveDir {
        path: RelPath,
    },
    /// Keep a losing local version under its conflict-copy name.
    Move {
        from: RelPath,
        to: RelPath,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub path: RelPath,
    pub copy: RelPath,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub root: PlannedNode,
    pub actions: Vec<Action>,
    pub conflicts: Vec<Conflict>,
    /// Paths whose local deletion becomes a deletion on the remote.
    pub remote_deletes: Vec<RelPath>,
    /// Live files in the merged tree that were live in the base (for the deletion guard).
    pub base_files: u64,
    /// The merged tree differs from the base: a new snapshot is needed.
    pub changed: bool,
}

impl Plan {
    pub fn uploads(&self) -> Vec<&RelPath> {
        let mut out = Vec::new();
        collect_uploads(&self.root, &mut out);
        out
    }
}

fn collect_uploads<'p>(node: &'p PlannedNode, out: &mut Vec<&'p RelPath>) {
    if let PlannedNode::Dir(entries) = node {
        for e in entries {
            if let Content::Upload(p) = &e.content {
                out.push(p);
            }
            if let Some(c) = &e.children {
                collect_uploads(c, out);
            }
        }
    }
}

/// Conflict-copy name: `name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`, from the losing
/// version's own mtime and device, so every device picks the same name.
pub fn conflict_name(name: &[u8], mtime_ns: i64, device: &str) -> Vec<u8> {
    let short = &device[..device.len().min(8)];
    let tag = format!(
        ".sync-conflict-{}-{}",
        crate::clock::compact(mtime_ns),
        short
    );
    // The extension is what follows the last dot, unless the dot starts the name.
    let (stem, ext) = match name.iter().rposition(|&b| b == b'.') {
        Some(i) if i > 0 => (&name[..i], &name[i..]),
        _ => (name, &b""[..]),
    };
    // Stay within the 255-byte name limit by shortening the stem.
    let room = 255usize.saturating_sub(tag.len() + ext.len());
    let mut out = stem[..stem.len().min(room)].to_vec();
    out.extend_from_slice(tag.as_bytes());
    out.extend_from_slice(ext);
    out
}

pub fn plan(input: &PlanInput<'_>, trees: &dyn TreeSource) -> Result<Plan, PlanError> {
    let mut p = Planner {
        input,
        trees,
        conflicts: Vec::new(),
        remote_deletes: Vec::new(),
        base_files: 0,
    };
    let base = match &input.base {
        Some(r) => Some(trees.load(r).map_err(PlanError::Base)?),
        None => None,
    };
    let refs: Vec<Option<BlobRef>> = input.heads.iter().map(|h| Some(h.root)).collect();
    let heads = p.load_heads(&refs, input.base.as_ref(), base.as_ref())?;
    let sources = DirSources {
        base,
        base_ref: input.base,
        heads,
        listed: true,
    };
    let mut actions = Vec::new();
    let (node, _) = p.merge_dir(&[], &sources, &mut actions)?;
    let changed = match (&node, &input.base) {
        (PlannedNode::Reuse(r), Some(b)) => r != b,
        _ => true,
    };
    Ok(Plan {
        root: node,
        actions,
        conflicts: p.conflicts,
        remote_deletes: p.remote_deletes,
        base_files: p.base_files,
        changed,
    })
}

struct Planner<'a> {
    input: &'a PlanInput<'a>,
    trees: &'a dyn TreeSource,
    conflicts: Vec<Conflict>,
    remote_deletes: Vec<RelPath>,
    base_files: u64,
}

/// The children of one directory on every side.
struct DirSources {
    base: Option<Arc<Tree>>,
    base_ref: Option<BlobRef>,
    heads: Vec<Option<Arc<Tree>>>,
    /// The local directory was listed (false: opaque or absent, see LocalState).
    listed: bool,
}

/// A conflict copy to add next to its original, in the same directory.
struct CopyOut {
    entry: Entry,
    content: Content,
    action: Option<CopyAction>,
    original: RelPath,
}

/// How a conflict copy comes to exist locally.
enum CopyAction {
    /// The losing local version moves from this path.
    MoveFrom(RelPath),
    /// The losing remote version is written.
    Write(Box<Entry>),
}

/// What merging one path yields; its actions are emitted by the directory in order.
struct Merged {
    result: Option<PlannedEntry>,
    copies: Vec<CopyOut>,
    pre: Vec<Action>,
    child_actions: Vec<Action>,
    post: Vec<Action>,
}

impl<'a> Planner<'a> {
    /// Loads the heads' trees at one directory, once per distinct id; a head whose tree is
    /// the base's shares the base's.
    fn load_heads(
        &self,
        refs: &[Option<BlobRef>],
        base_ref: Option<&BlobRef>,
        base: Option<&Arc<Tree>>,
    ) -> Result<Vec<Option<Arc<Tree>>>, PlanError> {
        let mut out: Vec<Option<Arc<Tree>>> = Vec::with_capacity(refs.len());
        for (index, r) in refs.iter().enumerate() {
            let tree = match r {
                None => None,
                Some(r) if base_ref == Some(r) => base.cloned(),
                Some(r) => match refs[..index].iter().position(|o| o.as_ref() == Some(r)) {
                    Some(j) => out[j].clone(),
                    None => Some(self.trees.load(r).map_err(|reason| PlanError::Head {
                        index,
                        device: self.input.heads[index].device.clone(),
                        reason,
                    })?),
                },
            };
            out.push(tree);
        }
        Ok(out)
    }

    fn local_children(&self, dir: &[u8]) -> &[(&'a [u8], &'a LocalEntry)] {
        self.input
            .local
            .children
            .get(dir)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Merges one directory's children. Returns the merged node and whether any child is live.
    fn merge_dir(
        &mut self,
        dir: &[u8],
        src: &DirSources,
        actions: &mut Vec<Action>,
    ) -> Result<(PlannedNode, bool), PlanError> {
        let local: BTreeMap<&[u8], &LocalEntry> = if src.listed {
            self.local_children(dir).iter().copied().collect()
        } else {
            BTreeMap::new()
        };
        let mut names: BTreeSet<&[u8]> = local.keys().copied().collect();
        if let Some(t) = &src.base {
            names.extend(t.entries.iter().map(|e| e.name.as_slice()));
        }
        for t in src.heads.iter().flatten() {
            names.extend(t.entries.iter().map(|e| e.name.as_slice()));
        }

        // Pass 1: every name on its own.
        let mut results: BTreeMap<Vec<u8>, PlannedEntry> = BTreeMap::new();
        let mut merged_paths = Vec::new();
        let mut copies = Vec::new();
        for name in names {
            let path = relpath::join(dir, name);
            let base = src.base.as_ref().and_then(|t| find(t, name));
            let heads: Vec<Option<&Entry>> = src
                .heads
                .iter()
                .map(|t| t.as_ref().and_then(|t| find(t, name)))
                .collect();
            let found = local.get(name).copied();
            let is_dir = found.is_some_and(|l| l.kind == LocalKind::Dir)
                || base
                    .into_iter()
                    .chain(heads.iter().flatten().copied())
                    .any(|e| e.kind == Kind::Dir);
            let local_state = self.input.local.state(src.listed, &path, is_dir, found);
            let mut merged = self.merge_path(&path, base, &heads, local_state)?;
            if let Some(r) = merged.result.take() {
                results.insert(name.to_vec(), r);
            }
            copies.append(&mut merged.copies);
            merged_paths.push(merged);
        }

        // Pass 2: conflict copies take their final names next to their originals.
        let mut moves = Vec::new();
        let mut copy_writes = Vec::new();
        for copy in copies {
            let (name, action) = self.place_copy(copy, &mut results);
            let to = relpath::join(dir, &name);
            match action {
                Some(CopyAction::MoveFrom(from)) => moves.push(Action::Move { from, to }),
                Some(CopyAction::Write(entry)) => copy_writes.push(Action::Write {
                    path: to,
                    entry,
                    expect: Expect::Absent,
                }),
                None => {}
            }
        }

        // Pass 3: local actions. Losing local versions move away before anything takes
        // their place; copies of losing remote versions are written last.
        actions.append(&mut moves);
        for mut m in merged_paths {
            actions.append(&mut m.pre);
            actions.append(&mut m.child_actions);
            actions.append(&mut m.post);
        }
        actions.append(&mut copy_writes);

        let any_live = results.values().any(|r| r.entry.is_live());
        let entries: Vec<PlannedEntry> = results.into_values().collect();
        // Unchanged against the base: reuse its tree so ids stay equal and nothing is rewritten.
        if let (Some(b), Some(base)) = (src.base_ref, &src.base)
            && same_as_tree(&entries, base)
        {
            return Ok((PlannedNode::Reuse(b), any_live));
        }
        Ok((PlannedNode::Dir(entries), any_live))
    }

    /// Adds a conflict copy to the directory's results, joining an identical one already
    /// there. Returns its final name and the local action that makes it exist, if any.
    fn place_copy(
        &mut self,
        mut copy: CopyOut,
        results: &mut BTreeMap<Vec<u8>, PlannedEntry>,
    ) -> (Vec<u8>, Option<CopyAction>) {
        let wanted = copy.entry.name.clone();
        let mut name = wanted.clone();
        let mut n = 1;
        loop {
            match results.get_mut(&name) {
                Some(existing) if existing.entry.is_live() => {
                    if existing.entry.same_content(&copy.entry) {
                        // Another device made the same copy already: join silently. A local
                        // loser still has to leave the original path.
                        existing.entry.vv = existing.entry.vv.join(&copy.entry.vv);
                        let action = match copy.action {
                            Some(CopyAction::MoveFrom(from)) => Some(CopyAction::MoveFrom(from)),
                            _ => None,
                        };
                        return (name, action);
                    }
                    // A different file holds the name: take the next free one.
                    name = wanted.clone();
                    name.extend_from_slice(format!("-{n}").as_bytes());
                    n += 1;
                }
                Some(existing) => {
                    copy.entry.vv = copy.entry.vv.join(&existing.entry.vv);
                    break;
                }
                None => break,
            }
        }
        copy.entry.name = name.clone();
        let copy_path = relpath::join(relpath::split(&copy.original).0, &name);
        self.conflicts.push(Conflict {
            path: copy.original,
            copy: copy_path,
        });
        results.insert(
            name.clone(),
            PlannedEntry {
                entry: copy.entry,
                content: copy.content,
                children: None,
            },
        );
        (name, copy.action)
    }

    fn merge_path(
        &mut self,
        path: &[u8],
        base: Option<&Entry>,
        heads: &[Option<&Entry>],
        local: LocalState<'_>,
    ) -> Result<Merged, PlanError> {
        let me = self.input.device;
        let clock = self.input.clock;
        let (_, name) = relpath::split(path);
        if base.is_some_and(|b| b.kind == Kind::File) {
            self.base_files += 1;
        }

        // 1. This device's version of the path.
        let (local_version, local_changed) = match (self.input.mode, local) {
            (_, LocalState::Opaque) | (PushMode::ForcePull, _) => (base.cloned(), false),
            (_, LocalState::Present(le)) => match base {
                Some(b) if b.is_live() && same_local(b, le) => (Some(b.clone()), false),
                _ => (Some(self.local_entry(name, le, base)), true),
            },
            (_, LocalState::Absent) => match base {
                Some(b) if b.is_live() => (Some(self.tombstone(name, &b.vv)), true),
                _ => (base.cloned(), false),
            },
        };

        // 2. Merge it with every head.
        let mut candidates: Vec<(Entry, bool)> = Vec::new();
        if let Some(v) = &local_version {
            candidates.push((v.clone(), local_changed));
        }
        for h in heads.iter().flatten() {
            candidates.push(((*h).clone(), false));
        }
        let mut resolved = resolve(candidates, me, clock);

        // Force-push: the local state wins over every known version.
        let opaque = matches!(local, LocalState::Opaque);
        if self.input.mode == PushMode::ForcePush && !opaque {
            let local_live = local_version.as_ref().filter(|v| v.is_live());
            let already = match (&resolved.winner, local_live) {
                (Some(w), Some(l)) => w.same_content(l) && resolved.losers.is_empty(),
                (Some(w), None) => !w.is_live(),
                (None, None) => true,
                (None, Some(_)) => false,
            };
            if !already {
                let all = base
                    .into_iter()
                    .chain(heads.iter().flatten().copied())
                    .fold(VersionVector::new(), |acc, e| acc.join(&e.vv));
                let mut forced = match local_live {
                    Some(l) => l.clone(),
                    None => self.tombstone(name, &all),
                };
                forced.vv = all.bumped(me, clock);
                forced.device = me.to_owned();
                resolved = Resolved {
                    winner: Some(forced),
                    winner_is_local: local_live.is_some(),
                    losers: Vec::new(),
                };
            }
        }

        // 3. Children, when any side has some.
        let local_dir = matches!(local, LocalState::Present(le) if le.kind == LocalKind::Dir);
        let has_children = local_dir
            || base.is_some_and(|b| b.sub.is_some())
            || heads.iter().flatten().any(|h| h.sub.is_some());
        let mut child_actions = Vec::new();
        let mut children = None;
        let mut children_live = false;
        let base_ref = base.and_then(|b| b.sub);
        let head_refs: Vec<Option<BlobRef>> = heads.iter().map(|h| h.and_then(|h| h.sub)).collect();
        let untouched =
            opaque && base_ref.is_some() && head_refs.iter().all(|r| r.is_none() || *r == base_ref);
        if has_children && untouched {
            // Nothing local to look at and every head agrees with the base: not even opened.
            children = base_ref.map(PlannedNode::Reuse);
            children_live = base.is_some_and(|b| b.kind == Kind::Dir);
        } else if has_children {
            let base_tree = match base_ref {
                Some(r) => Some(self.trees.load(&r).map_err(PlanError::Base)?),
                None => None,
            };
            let head_trees = self.load_heads(&head_refs, base_ref.as_ref(), base_tree.as_ref())?;
            let src = DirSources {
                base: base_tree,
                base_ref,
                heads: head_trees,
                // Below a file or an absent path nothing exists locally; below an opaque
                // path nothing is known.
                listed: !opaque,
            };
            let (node, live) = self.merge_dir(path, &src, &mut child_actions)?;
            children_live = live;
            if !matches!(&node, PlannedNode::Dir(v) if v.is_empty()) {
                children = Some(node);
            }
        }

        // 4. Structure: a path with live children is a directory.
        let mut winner = resolved.winner.take();
        let mut winner_is_local = resolved.winner_is_local;
        if children_live && !winner.as_ref().is_some_and(|w| w.kind == Kind::Dir) {
            let mut all = base
                .into_iter()
                .chain(heads.iter().flatten().copied())
                .fold(VersionVector::new(), |acc, e| acc.join(&e.vv));
            if let Some(w) = winner.take() {
                all = all.join(&w.vv);
                if w.is_live() {
                    resolved.losers.push((w, winner_is_local));
                }
            }
            winner = Some(Entry {
                name: name.to_vec(),
                kind: Kind::Dir,
                vv: all.bumped(me, clock),
                device: me.to_owned(),
                mtime_ns: 0,
                size: 0,
                mode: 0,
                hash: [0; 32],
                chunks: Vec::new(),
                target: None,
                sub: None,
            });
            winner_is_local = local_dir;
        }

        if let Some(w) = &winner
            && !w.is_live()
            && w.vv.get(me) == clock
            && (base.is_some_and(Entry::is_live) || heads.iter().flatten().any(|h| h.is_live()))
        {
            self.remote_deletes.push(path.to_vec());
        }

        // 5. Conflict copies of the losers.
        let push_only = self.input.mode == PushMode::ForcePush;
        let acts = !opaque && !push_only;
        let mut copies = Vec::new();
        let mut local_moved = false;
        for (loser, is_local) in resolved.losers {
            let mut entry = loser.clone();
            entry.name = conflict_name(name, loser.mtime_ns, &loser.device);
            entry.vv = VersionVector::new().bumped(me, clock);
            entry.device = me.to_owned();
            entry.sub = None;
            let (content, action) = if is_local {
                local_moved = acts;
                (
                    file_content(&mut entry, path, true, base, heads),
                    acts.then(|| CopyAction::MoveFrom(path.to_vec())),
                )
            } else {
                let content = file_content(&mut entry, path, false, base, heads);
                (content, acts.then_some(CopyAction::Write(Box::new(loser))))
            };
            copies.push(CopyOut {
                entry,
                content,
                action,
                original: path.to_vec(),
            });
        }

        // 6. Local actions that make the path match the winner.
        let local_now = match local {
            LocalState::Present(le) if !local_moved => Some(le),
            _ => None,
        };
        let expect = match local_now {
            None => Expect::Absent,
            Some(le) if le.kind == LocalKind::Dir => Expect::Dir,
            Some(le) => Expect::Stat(le.stat),
        };
        let mut pre = Vec::new();
        let mut post = Vec::new();
        if acts {
            let p = path.to_vec();
            match (winner.as_ref().filter(|w| w.is_live()), local_now) {
                (None, None) => {}
                (None, Some(le)) if le.kind == LocalKind::Dir => {
                    post.push(Action::RemoveDir { path: p })
                }
                (None, Some(_)) => post.push(Action::Remove { path: p, expect }),
                (Some(w), Some(le)) if w.kind == Kind::Dir => {
                    if le.kind != LocalKind::Dir {
                        pre.push(Action::Remove {
                            path: p.clone(),
                            expect,
                        });
                        pre.push(Action::MakeDir { path: p });
                    }
                }
                (Some(w), None) if w.kind == Kind::Dir => pre.push(Action::MakeDir { path: p }),
                (Some(w), Some(le)) if le.kind == LocalKind::Dir => {
                    post.push(Action::RemoveDir { path: p.clone() });
                    post.push(Action::Write {
                        path: p,
                        entry: Box::new(w.clone()),
                        expect: Expect::Absent,
                    });
                }
                (Some(w), Some(le)) => {
                    if !(winner_is_local || same_local(w, le)) {
                        post.push(Action::Write {
                            path: p,
                            entry: Box::new(w.clone()),
                            expect,
                        });
                    }
                }
                (Some(w), None) => post.push(Action::Write {
                    path: p,
                    entry: Box::new(w.clone()),
                    expect,
                }),
            }
        }

        let result = winner.map(|mut w| {
            let content = file_content(&mut w, path, winner_is_local, base, heads);
            w.sub = None;
            PlannedEntry {
                entry: w,
                content,
                children,
            }
        });
        Ok(Merged {
            result,
            copies,
            pre,
            child_actions,
            post,
        })
    }

    fn local_entry(&self, name: &[u8], le: &LocalEntry, base: Option<&Entry>) -> Entry {
        let vv = base.map(|b| b.vv.clone()).unwrap_or_default();
        Entry {
            name: name.to_vec(),
            kind: match le.kind {
                LocalKind::File => Kind::File,
                LocalKind::Dir => Kind::Dir,
                LocalKind::Symlink => Kind::Symlink,
            },
            vv: vv.bumped(self.input.device, self.input.clock),
            device: self.input.device.to_owned(),
            mtime_ns: le.stat.mtime_ns,
            size: if le.kind == LocalKind::File {
                le.stat.size
            } else {
                0
            },
            mode: le.stat.mode,
            hash: le.hash,
            chunks: Vec::new(),
            target: le.link_target.clone(),
            sub: None,
        }
    }

    fn tombstone(&self, name: &[u8], vv: &VersionVector) -> Entry {
        Entry {
            name: name.to_vec(),
            kind: Kind::Deleted,
            vv: vv.bumped(self.input.device, self.input.clock),
            device: self.input.device.to_owned(),
            mtime_ns: self.input.now_ns,
            size: 0,
            mode: 0,
            hash: [0; 32],
            chunks: Vec::new(),
            target: None,
            sub: None,
        }
    }
}

struct Resolved {
    winner: Option<Entry>,
    winner_is_local: bool,
    /// Live versions that lost a conflict, each with "is the local version".
    losers: Vec<(Entry, bool)>,
}

/// Order of preference among concurrent live versions: directories, then the newer
/// mtime, then the device id; the rest only makes the order total.
fn rank(e: &Entry) -> impl Ord + '_ {
    (
        e.kind == Kind::Dir,
        e.mtime_ns,
        e.device.as_str(),
        e.hash,
        e.vv.0.iter().collect::<Vec<_>>(),
    )
}

/// The per-path join of a set of versions (each flagged "is the local version").
fn resolve(candidates: Vec<(Entry, bool)>, me: &str, clock: u64) -> Resolved {
    // Keep the maximal versions; equal vectors collapse unless their content differs.
    let mut maximal: Vec<(Entry, bool)> = Vec::new();
    'next: for (cand, is_local) in candidates {
        let mut i = 0;
        while i < maximal.len() {
            match cand.vv.compare(&maximal[i].0.vv) {
                Causality::DominatedBy => continue 'next,
                Causality::Equal if cand.same_content(&maximal[i].0) => {
                    // Keep the higher-ranked duplicate so the input order never matters.
                    let local = maximal[i].1 || is_local;
                    if rank(&cand) > rank(&maximal[i].0) {
                        maximal[i].0 = cand;
                    }
                    maximal[i].1 = local;
                    continue 'next;
                }
                Causality::Dominates => {
                    maximal.swap_remove(i);
                }
                _ => i += 1,
            }
        }
        maximal.push((cand, is_local));
    }
    if maximal.is_empty() {
        return Resolved {
            winner: None,
            winner_is_local: false,
            losers: Vec::new(),
        };
    }
    if maximal.len() == 1 {
        let (winner, is_local) = maximal.pop().unwrap_or_else(|| unreachable!());
        return Resolved {
            winner: Some(winner),
            winner_is_local: is_local,
            losers: Vec::new(),
        };
    }
    let joined = maximal
        .iter()
        .fold(VersionVector::new(), |acc, (e, _)| acc.join(&e.vv));

    // Group by content, each group represented by its highest-ranked member.
    maximal.sort_by(|a, b| rank(&b.0).cmp(&rank(&a.0)));
    let mut groups: Vec<Vec<(Entry, bool)>> = Vec::new();
    for m in maximal {
        match groups.iter_mut().find(|g| g[0].0.same_content(&m.0)) {
            Some(g) => g.push(m),
            None => groups.push(vec![m]),
        }
    }
    if groups.len() == 1 {
        // Same content everywhere: not a conflict, just join the vectors.
        let group = groups.pop().unwrap_or_default();
        let is_local = group.iter().all(|(_, l)| *l);
        let mut winner = pick(group);
        winner.vv = joined;
        return Resolved {
            winner: Some(winner),
            winner_is_local: is_local,
            losers: Vec::new(),
        };
    }
    let mut live: Vec<Vec<(Entry, bool)>> =
        groups.into_iter().filter(|g| g[0].0.is_live()).collect();
    // Live groups are still sorted by rank; the first wins. Modify beats delete.
    let winner_group = live.remove(0);
    let winner_is_local = winner_group.iter().all(|(_, l)| *l);
    let mut winner = pick(winner_group);
    winner.vv = joined.bumped(me, clock);
    let losers = live
        .into_iter()
        .map(|g| {
            let is_local = g.iter().any(|(_, l)| *l);
            (pick(g), is_local)
        })
        .collect();
    Resolved {
        winner: Some(winner),
        winner_is_local,
        losers,
    }
}

/// The representative of same-content versions: the highest-ranked, with stored chunks
/// borrowed from another member when it has none yet.
fn pick(group: Vec<(Entry, bool)>) -> Entry {
    let chunks = group
        .iter()
        .find(|(e, _)| !e.chunks.is_empty())
        .map(|(e, _)| e.chunks.clone());
    let mut first = group.into_iter().next().map(|(e, _)| e).unwrap_or_else(|| {
        // Groups are built non-empty.
        unreachable!()
    });
    if first.kind == Kind::File
        && first.chunks.is_empty()
        && let Some(c) = chunks
    {
        first.chunks = c;
    }
    first
}

/// Where a planned version's content comes from: its own chunks, the chunks of a stored
/// version with the same content, or (for a local version) the local file at `path`.
fn file_content(
    e: &mut Entry,
    path: &[u8],
    local: bool,
    base: Option<&Entry>,
    heads: &[Option<&Entry>],
) -> Content {
    if e.kind != Kind::File || !e.chunks.is_empty() || !local {
        return Content::Stored;
    }
    match reusable_chunks(e, base, heads) {
        Some(chunks) => {
            e.chunks = chunks;
            Content::Stored
        }
        None => Content::Upload(path.to_vec()),
    }
}

/// Chunks of a stored version with the same content, to avoid re-reading the file.
fn reusable_chunks(
    w: &Entry,
    base: Option<&Entry>,
    heads: &[Option<&Entry>],
) -> Option<Vec<crate::repo::tree::BlobRef>> {
    base.into_iter()
        .chain(heads.iter().flatten().copied())
        .find(|e| {
            e.kind == Kind::File && e.hash == w.hash && e.size == w.size && !e.chunks.is_empty()
        })
        .map(|e| e.chunks.clone())
}

/// The local file is what `e` describes.
fn same_local(e: &Entry, le: &LocalEntry) -> bool {
    match (e.kind, le.kind) {
        (Kind::File, LocalKind::File) => {
            e.hash == le.hash
                && e.size == le.stat.size
                && (e.mode & crate::repo::tree::EXEC_BITS != 0)
                    == (le.stat.mode & crate::repo::tree::EXEC_BITS != 0)
        }
        (Kind::Symlink, LocalKind::Symlink) => e.hash == le.hash,
        (Kind::Dir, LocalKind::Dir) => true,
        _ => false,
    }
}

fn find<'t>(tree: &'t Tree, name: &[u8]) -> Option<&'t Entry> {
    tree.entries
        .binary_search_by(|e| e.name.as_slice().cmp(name))
        .ok()
        .map(|i| &tree.entries[i])
}

/// The planned entries are exactly the base tree (same versions, same subtrees).
fn same_as_tree(entries: &[PlannedEntry], base: &Tree) -> bool {
    entries.len() == base.entries.len()
        && entries.iter().zip(&base.entries).all(|(p, b)| {
            p.content == Content::Stored
                && p.entry
                    == Entry {
                        sub: None,
                        ..b.clone()
                    }
                && match (&p.children, &b.sub) {
                    (None, None) => true,
                    (Some(PlannedNode::Reuse(r)), Some(s)) => r == s,
                    _ => false,
                }
        })
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use proptest::prelude::*;

    use super::*;
    use crate::repo::tree::Codec;

    /// Trees in memory, counting loads.
    #[derive(Default)]
    struct MemTrees {
        trees: Mutex<HashMap<[u8; 32], Arc<Tree>>>,
        loads: AtomicUsize,
    }

    impl MemTrees {
        fn put(&self, mut entries: Vec<Entry>) -> BlobRef {
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let tree = Tree { entries };
            let hash = *blake3::hash(&tree.encode()).as_bytes();
            self.trees.lock().unwrap().insert(hash, Arc::new(tree));
            BlobRef {
                hash,
                pack: [0; 32],
                offset: 8,
                len: 1,
                raw_len: 1,
                codec: Codec::Raw,
            }
        }
    }

    impl TreeSource for MemTrees {
        fn load(&self, r: &BlobRef) -> Result<Arc<Tree>, String> {
            self.loads.fetch_add(1, Ordering::Relaxed);
            self.trees
                .lock()
                .unwrap()
                .get(&r.hash)
                .cloned()
                .ok_or_else(|| "missing".into())
        }
    }

    fn file(name: &str, content: &str, vv: &[(&str, u64)], device: &str, mtime: i64) -> Entry {
        let hash = *blake3::hash(content.as_bytes()).as_bytes();
        Entry {
            name: name.as_bytes().to_vec(),
            kind: Kind::File,
            vv: VersionVector(vv.iter().map(|(d, c)| (d.to_string(), *c)).collect()),
            device: device.into(),
            mtime_ns: mtime,
            size: content.len() as u64,
            mode: 0o644,
            hash,
            chunks: vec![BlobRef {
                hash,
                pack: [1; 32],
                offset: 8,
                len: 1,
                raw_len: 1,
                codec: Codec::Raw,
            }],
            target: None,
            sub: None,
        }
    }

    fn dir(name: &str, sub: BlobRef, vv: &[(&str, u64)]) -> Entry {
        Entry {
            kind: Kind::Dir,
            size: 0,
            hash: [0; 32],
            chunks: Vec::new(),
            sub: Some(sub),
            ..file(name, "", vv, "x", 0)
        }
    }

    fn opaque_none(_: &[u8], _: bool) -> bool {
        false
    }

    /// Plans with no local files (an empty listed folder would mean "deleted"; use opaque).
    fn plan_remote_only(
        device: &str,
        base: Option<BlobRef>,
        heads: &[HeadRoot],
        trees: &MemTrees,
    ) -> Plan {
        let empty = BTreeMap::new();
        let everything_opaque = |_: &[u8], _: bool| true;
        let local = LocalView::new(&empty, &everything_opaque);
        let input = PlanInput {
            device,
            clock: 9,
            now_ns: 1,
            mode: PushMode::TwoWay,
            base,
            heads,
            local: &local,
        };
        plan(&input, trees).unwrap()
    }

    /// Names, kinds and content hashes of a planned tree: what a user sees.
    fn visible(
        node: &PlannedNode,
        trees: &MemTrees,
        prefix: &str,
        out: &mut Vec<(String, Kind, [u8; 32])>,
    ) {
        let entries: Vec<(Entry, Option<PlannedNode>)> = match node {
            PlannedNode::Reuse(r) => trees
                .load(r)
                .unwrap()
                .entries
                .iter()
                .map(|e| (e.clone(), e.sub.map(PlannedNode::Reuse)))
                .collect(),
            PlannedNode::Dir(v) => v
                .iter()
                .map(|p| (p.entry.clone(), p.children.clone()))
                .collect(),
        };
        for (e, children) in entries {
            let path = format!("{prefix}{}", String::from_utf8_lossy(&e.name));
            out.push((path.clone(), e.kind, e.hash));
            if let Some(c) = children {
                visible(&c, trees, &format!("{path}/"), out);
            }
        }
    }

    #[test]
    fn conflict_names_come_from_the_losing_version() {
        let t = 1_566_656_122_000_000_000;
        assert_eq!(
            conflict_name(b"doc.txt", t, "0123456789abcdef"),
            b"doc.sync-conflict-20190824-141522-01234567.txt"
        );
        assert_eq!(
            conflict_name(b".bashrc", t, "ab"),
            b".bashrc.sync-conflict-20190824-141522-ab"
        );
        assert_eq!(
            conflict_name(b"Makefile", t, "ab"),
            b"Makefile.sync-conflict-20190824-141522-ab"
        );
        let long = vec![b'x'; 250];
        let mut name = long.clone();
        name.extend_from_slice(b".md");
        let out = conflict_name(&name, t, "ab");
        assert!(out.len() <= 255 && out.ends_with(b".md"));
    }

    #[test]
    fn concurrent_heads_merge_identically_on_every_device() {
        let trees = MemTrees::default();
        let base = trees.put(vec![file("doc.txt", "base", &[("a", 1)], "a", 10)]);
        let ha = trees.put(vec![file("doc.txt", "from a", &[("a", 2)], "a", 20)]);
        let hb = trees.put(vec![file(
            "doc.txt",
            "from b",
            &[("a", 1), ("b", 1)],
            "b",
            30,
        )]);
        let heads = [
            HeadRoot {
                device: "a".into(),
                root: ha,
            },
            HeadRoot {
                device: "b".into(),
                root: hb,
            },
        ];
        let mut seen = Vec::new();
        for device in ["c", "d"] {
            let p = plan_remote_only(device, Some(base), &heads, &trees);
            let mut v = Vec::new();
            visible(&p.root, &trees, "", &mut v);
            assert_eq!(p.conflicts.len(), 1);
            seen.push(v);
        }
        assert_eq!(
            seen[0], seen[1],
            "same winner, same copy name and content on every device"
        );
        // The newer version (b's, mtime 30) wins the path; a's is the copy, named after a.
        let names: Vec<&str> = seen[0].iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names[0], "doc.sync-conflict-19700101-000000-a.txt");
        assert_eq!(seen[0][1].2, *blake3::hash(b"from b").as_bytes());
    }

    #[test]
    fn unchanged_head_subtrees_are_not_loaded_again() {
        let trees = MemTrees::default();
        let deep = trees.put(
            (0..50)
                .map(|i| file(&format!("f{i}"), &format!("{i}"), &[("a", 1)], "a", 1))
                .collect(),
        );
        let other = trees.put(vec![file("x", "x", &[("a", 1)], "a", 1)]);
        let base = trees.put(vec![
            dir("big", deep, &[("a", 1)]),
            dir("small", other, &[("a", 1)]),
        ]);
        let changed = trees.put(vec![file("x", "x2", &[("a", 1), ("b", 1)], "b", 2)]);
        let head = trees.put(vec![
            dir("big", deep, &[("a", 1)]),
            dir("small", changed, &[("a", 1)]),
        ]);
        let heads: Vec<HeadRoot> = (0..5)
            .map(|i| HeadRoot {
                device: format!("h{i}"),
                root: head,
            })
            .collect();
        trees.loads.store(0, Ordering::Relaxed);
        let p = plan_remote_only("me", Some(base), &heads, &trees);
        // base root, head root, base `small`, head `small`: `big` is never opened.
        assert_eq!(trees.loads.load(Ordering::Relaxed), 4);
        match &p.root {
            PlannedNode::Dir(v) => assert_eq!(v[0].children, Some(PlannedNode::Reuse(deep))),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nothing_changed_means_no_new_snapshot() {
        let trees = MemTrees::default();
        let base = trees.put(vec![file("a", "a", &[("me", 1)], "me", 1)]);
        let heads = [HeadRoot {
            device: "o".into(),
            root: base,
        }];
        let p = plan_remote_only("me", Some(base), &heads, &trees);
        assert!(!p.changed);
        assert!(p.actions.is_empty());
        let _ = opaque_none;
    }

    fn arb_entry() -> impl Strategy<Value = Entry> {
        (
            prop::sample::select(vec!["one", "two", "three"]),
            prop::collection::btree_map(prop::sample::select(vec!["a", "b", "c"]), 1u64..4, 1..3),
            prop::sample::select(vec!["a", "b", "c"]),
            0i64..3,
            prop::bool::weighted(0.2),
        )
            .prop_map(|(content, vv, device, mtime, deleted)| {
                let vv: Vec<(&str, u64)> = vv.into_iter().collect();
                let mut e = file("p", content, &vv, device, mtime);
                if deleted {
                    e.kind = Kind::Deleted;
                    e.chunks.clear();
                    e.hash = [0; 32];
                    e.size = 0;
                }
                e
            })
    }

    proptest! {
        #[test]
        fn resolution_ignores_order_and_dominates_every_input(mut cands in prop::collection::vec(arb_entry(), 1..5), seed in any::<u64>()) {
            let first = resolve(cands.iter().cloned().map(|e| (e, false)).collect(), "me", 7);
            // Any other order of the same versions gives the same result.
            let n = cands.len();
            cands.rotate_left((seed as usize) % n);
            let second = resolve(cands.iter().cloned().map(|e| (e, false)).collect(), "me", 7);
            let key = |r: &Resolved| {
                let mut losers: Vec<_> = r.losers.iter().map(|(e, _)| (e.hash, e.device.clone(), e.mtime_ns)).collect();
                losers.sort();
                (r.winner.as_ref().map(|w| (w.kind, w.hash, w.vv.clone())), losers)
            };
            prop_assert_eq!(key(&first), key(&second));
            let w = first.winner.unwrap();
            for c in &cands {
                prop_assert!(w.vv.covers(&c.vv), "winner must dominate or equal every input");
            }
            // A concurrent live version never vanishes: it wins or is a loser kept as a copy.
            for c in cands.iter().filter(|c| c.is_live()) {
                let dominated = cands.iter().any(|o| o.vv.compare(&c.vv) == Causality::Dominates);
                if !dominated {
                    prop_assert!(w.same_content(c) || first.losers.iter().any(|(l, _)| l.same_content(c)));
                }
            }
        }
    }
}
