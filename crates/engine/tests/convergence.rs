//! Property: random edits, deletes and renames on 2–4 devices with random sync
//! interleavings converge to one tree, and no sync ever destroys local content (what it
//! replaces or deletes is in the trash, or kept as a conflict copy).

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::sync::Arc;

use common::{Device, World};
use proptest::prelude::*;
use syncdesk_engine::model::{JobStatus, PerformSyncRequest};
use syncdesk_engine::repo::tree::{Kind, Tree};

const PATHS: [&str; 5] = ["a.txt", "b.txt", "d/c.txt", "d/e/f.txt", "g"];

#[derive(Debug, Clone)]
enum Op {
    Write { dev: usize, path: usize },
    Delete { dev: usize, path: usize },
    Rename { dev: usize, from: usize, to: usize },
    RemoveDir { dev: usize },
    Sync { dev: usize },
}

fn op(devices: usize) -> impl Strategy<Value = Op> {
    let d = 0..devices;
    let p = 0..PATHS.len();
    prop_oneof![
        4 => (d.clone(), p.clone()).prop_map(|(dev, path)| Op::Write { dev, path }),
        1 => (d.clone(), p.clone()).prop_map(|(dev, path)| Op::Delete { dev, path }),
        1 => (d.clone(), p.clone(), p).prop_map(|(dev, from, to)| Op::Rename { dev, from, to }),
        1 => d.clone().prop_map(|dev| Op::RemoveDir { dev }),
        4 => d.prop_map(|dev| Op::Sync { dev }),
    ]
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Op>)> {
    (2usize..=4).prop_flat_map(|n| (Just(n), proptest::collection::vec(op(n), 1..30)))
}

/// Contents of the folder and of its trash.
fn contents(d: &Device) -> (BTreeSet<Vec<u8>>, BTreeSet<Vec<u8>>) {
    let folder = d
        .tree()
        .into_iter()
        .filter(|(k, _)| !k.ends_with('/'))
        .map(|(_, v)| v)
        .collect();
    let trash = d.trash().into_iter().collect();
    (folder, trash)
}

/// Syncs, checking that nothing the folder held before is gone afterwards. Returns the
/// contents the sync saw.
fn sync_checked(d: &Device) -> Result<BTreeSet<Vec<u8>>, TestCaseError> {
    let (before, _) = contents(d);
    let job = d
        .sync_with(PerformSyncRequest {
            confirm: true,
            ..Default::default()
        })
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    let (after, trash) = contents(d);
    for c in &before {
        prop_assert!(
            after.contains(c) || trash.contains(c),
            "sync lost {:?}",
            String::from_utf8_lossy(c)
        );
    }
    Ok(before)
}

/// BLAKE3 hashes of every file version in every snapshot of the repository.
fn history(w: &World) -> BTreeSet<[u8; 32]> {
    let repo = w.repo();
    let mut out = BTreeSet::new();
    let mut stack: Vec<_> = repo
        .list_snapshots()
        .unwrap()
        .iter()
        .map(|id| repo.snapshot(id).unwrap().root)
        .collect();
    while let Some(r) = stack.pop() {
        let tree = Tree::decode(&repo.read_blob(&r).unwrap()).unwrap();
        for e in tree.entries {
            if e.kind == Kind::File {
                out.insert(e.hash);
            }
            stack.extend(e.sub);
        }
    }
    out
}

fn run(devices: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let w = World::new();
    let devs: Vec<Arc<Device>> = (0..devices)
        .map(|i| Arc::new(w.device(&format!("d{i}"))))
        .collect();
    // Every content a sync saw in a folder, and every content a user overwrote or
    // deleted somewhere (which may then legitimately disappear).
    let mut observed = BTreeSet::new();
    let mut superseded = BTreeSet::new();
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Write { dev, path } => {
                let d = &devs[dev];
                let p = d.path(PATHS[path]);
                // A directory in the way stays; the write is skipped like a user would.
                if p.is_dir() || p.parent().is_some_and(|q| q.is_file()) {
                    continue;
                }
                let content = format!("dev{dev} step{step} {}", PATHS[path]).into_bytes();
                superseded.extend(fs::read(&p).ok());
                d.write(PATHS[path], &content);
            }
            Op::Delete { dev, path } => {
                let p = devs[dev].path(PATHS[path]);
                if p.is_file() {
                    superseded.extend(fs::read(&p).ok());
                    fs::remove_file(p).unwrap();
                }
            }
            Op::Rename { dev, from, to } => {
                let d = &devs[dev];
                let (f, t) = (d.path(PATHS[from]), d.path(PATHS[to]));
                if f.is_file() && !t.exists() && t.parent().is_some_and(|q| !q.is_file()) {
                    fs::create_dir_all(t.parent().unwrap()).unwrap();
                    fs::rename(f, t).unwrap();
                }
            }
            Op::RemoveDir { dev } => {
                let p = devs[dev].path("d");
                if p.is_dir() {
                    let d = &devs[dev];
                    superseded.extend(
                        d.tree()
                            .into_iter()
                            .filter(|(k, _)| k.starts_with("d/") && !k.ends_with('/'))
                            .map(|(_, v)| v),
                    );
                    fs::remove_dir_all(p).unwrap();
                }
            }
            Op::Sync { dev } => observed.extend(sync_checked(&devs[dev])?),
        }
    }
    // Settle: every device syncs until a full round changes nothing.
    for _ in 0..3 {
        for d in &devs {
            observed.extend(sync_checked(d)?);
        }
    }
    let first = devs[0].tree();
    for d in &devs[1..] {
        prop_assert_eq!(&d.tree(), &first, "devices did not converge");
    }
    // Everything a sync ever saw is in the history; and in the final tree itself (as the
    // file or a conflict copy) unless a user overwrote or deleted it somewhere.
    let hist = history(&w);
    let present: BTreeSet<&Vec<u8>> = first.values().collect();
    for c in &observed {
        prop_assert!(
            hist.contains(blake3::hash(c).as_bytes()),
            "{:?} never reached the history",
            String::from_utf8_lossy(c)
        );
        prop_assert!(
            present.contains(c) || superseded.contains(c),
            "{:?} was lost although no user replaced it",
            String::from_utf8_lossy(c)
        );
    }
    // Conflict copies never nest endlessly.
    prop_assert!(
        first
            .keys()
            .all(|k| k.matches(".sync-conflict-").count() <= 1),
        "{:?}",
        first.keys().collect::<Vec<_>>()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        max_shrink_iters: 200,
        ..ProptestConfig::default()
    })]

    #[test]
    fn devices_converge_and_nothing_is_lost((devices, ops) in scenario()) {
        run(devices, ops)?;
    }
}
