//! Force-pull from a gateway: the folder made exactly what the gateway holds, from its
//! listing (`/service/gateway/list`) and its files (`/service/gateway/file`), both Syncdesk
//! extensions of seed 003. Every local file replaced or removed goes to the folder's trash
//! first; downloads are written to a temp file beside the target and renamed over it.
//! Ignored paths are left alone on both sides. Afterwards `push_state` is what was pulled.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::sync::Mutex;
use std::sync::atomic::AtomicBool;

use super::client::Client;
use super::send::{Gave, Sender, run_wave};
use super::{GatewayPushError, Local, Node, fatal, finish, plan::is_below, safe_path};
use crate::events::lock;
use crate::model::{LogLevel, Phase, SyncJobStats, SyncPreview};
use crate::push::PushContext;
use crate::relpath::{self, RelPath};
use crate::scan::temp_name;
use crate::store::PushHash;
use crate::sync::{SyncOptions, SyncOutcome};
use crate::trash::Trash;

pub struct Pull<'a> {
    pub ctx: &'a PushContext<'a>,
    pub client: &'a Client,
    pub sender: &'a Sender<'a>,
    pub local: &'a Local,
    pub stop: &'a AtomicBool,
}

/// One path the gateway holds.
#[derive(Debug, Clone)]
struct Held {
    dir: bool,
    size: u64,
    hash: Option<[u8; 32]>,
}

#[derive(Debug, Clone)]
struct Download {
    path: RelPath,
    size: u64,
    hash: Option<[u8; 32]>,
    /// A local file is there now (it goes to the trash).
    replace: bool,
}

pub fn run(
    p: &Pull<'_>,
    opts: &SyncOptions,
    metadata: BTreeMap<String, String>,
) -> Result<SyncOutcome, GatewayPushError> {
    let PushContext {
        store,
        folder,
        reporter,
        spec,
        job_id,
        ..
    } = *p.ctx;
    let name = folder.name.as_str();
    let root = folder.path.as_path();

    reporter.phase(Phase::Fetching, 0, 0);
    let entries = match p.sender.run("the gateway's listing", || p.client.list()) {
        Ok(Some(entries)) => entries,
        Ok(None) => return Err(GatewayPushError::NotPullable),
        Err(gave) => return Err(fatal(gave, "the gateway's listing")),
    };
    let mut held: BTreeMap<RelPath, Held> = BTreeMap::new();
    for e in entries {
        let Some(path) = safe_path(&e.path) else {
            return Err(GatewayPushError::BadListing(format!(
                "it names the unsafe path {:?}",
                e.path
            )));
        };
        if p.local.ignored(&path, e.dir) {
            continue;
        }
        let hash = e
            .hash
            .as_deref()
            .and_then(|h| hex::decode(h).ok())
            .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok());
        held.insert(
            path,
            Held {
                dir: e.dir,
                size: e.size,
                hash,
            },
        );
    }

    // What changes locally.
    reporter.phase(Phase::Merging, 0, 0);
    let local = &p.local.nodes;
    let mut in_the_way: Vec<RelPath> = Vec::new();
    let mut make_dirs: Vec<RelPath> = Vec::new();
    let mut downloads: Vec<Download> = Vec::new();
    for (path, h) in &held {
        let here = local.get(path);
        if p.local.unpushable.contains(path) {
            in_the_way.push(path.clone());
        }
        match (h.dir, here) {
            (true, Some(Node::Dir)) => {}
            (true, here) => {
                if here.is_some() {
                    in_the_way.push(path.clone());
                }
                make_dirs.push(path.clone());
            }
            (false, Some(Node::File { hash, .. })) if Some(*hash) == h.hash => {}
            (false, here) => {
                if matches!(here, Some(Node::Dir)) {
                    in_the_way.push(path.clone());
                }
                downloads.push(Download {
                    path: path.clone(),
                    size: h.size,
                    hash: h.hash,
                    replace: matches!(here, Some(Node::File { .. })),
                });
            }
        }
    }
    let gone_with = |p: &[u8]| in_the_way.iter().any(|w| is_below(p, w));
    let mut removes: Vec<RelPath> = local
        .iter()
        .filter(|(path, n)| {
            matches!(n, Node::File { .. }) && !held.contains_key(*path) && !gone_with(path)
        })
        .map(|(path, _)| path.clone())
        .chain(
            p.local
                .unpushable
                .iter()
                .filter(|path| !held.contains_key(*path) && !gone_with(path))
                .cloned(),
        )
        .collect();
    removes.sort();
    let mut remove_dirs: Vec<RelPath> = local
        .iter()
        .filter(|(path, n)| matches!(n, Node::Dir) && !held.contains_key(*path) && !gone_with(path))
        .map(|(path, _)| path.clone())
        .collect();
    // Deepest first, so each is empty when its turn comes.
    remove_dirs.sort_by(|a, b| b.cmp(a));

    let mut preview = SyncPreview {
        folder: name.to_owned(),
        mode: opts.mode,
        ..Default::default()
    };
    for d in &downloads {
        let shown = relpath::display(&d.path);
        if d.replace {
            preview.replace.push(shown);
        } else {
            preview.download.push(shown);
        }
    }
    let in_the_way_set: BTreeSet<&RelPath> = in_the_way.iter().collect();
    preview.delete_local = in_the_way_set
        .iter()
        .map(|p| relpath::display(p))
        .chain(removes.iter().map(|p| relpath::display(p)))
        .chain(
            remove_dirs
                .iter()
                .map(|p| format!("{}/", relpath::display(p))),
        )
        .collect();
    let mut stats = SyncJobStats {
        files_scanned: p.local.files,
        ..Default::default()
    };
    reporter.update_stats(|s| s.files_scanned = p.local.files);
    if opts.dry_run {
        return Ok(SyncOutcome::succeeded(preview, stats, metadata));
    }

    // Out of the way first, then directories, then the files, then what the gateway lacks.
    reporter.phase(Phase::Applying, in_the_way_set.len() as u64, 0);
    let trash = Trash::new(root, job_id);
    for path in &in_the_way_set {
        trash.put(path)?;
        reporter.advance(1, 0, Some(&relpath::display(path)));
    }
    for dir in &make_dirs {
        let abs = relpath::to_path(root, dir);
        fs::create_dir_all(&abs).map_err(|e| {
            GatewayPushError::Local(format!("cannot create {}: {e}", abs.display()))
        })?;
    }

    let bytes_total = downloads.iter().map(|d| d.size).sum();
    reporter.phase(Phase::Downloading, downloads.len() as u64, bytes_total);
    let failed: Mutex<Vec<(RelPath, String)>> = Mutex::new(Vec::new());
    let got: Mutex<BTreeMap<RelPath, [u8; 32]>> = Mutex::new(BTreeMap::new());
    let stopped: Mutex<Option<GatewayPushError>> = Mutex::new(None);
    run_wave(&downloads, spec.concurrency() as usize, p.stop, |d| {
        let shown = relpath::display(&d.path);
        match download(p, &trash, d) {
            Ok((hash, bytes)) => {
                if d.hash.is_some_and(|h| h != hash) {
                    reporter.log(
                        LogLevel::Warn,
                        &format!(
                            "{shown} changed on the gateway while it was pulled; kept as it arrived"
                        ),
                    );
                }
                let mut upserts: Vec<(RelPath, PushHash)> = ancestors(&d.path);
                upserts.push((d.path.clone(), Some(hash.to_vec())));
                if let Err(e) = store.record_push(name, &upserts, &[]) {
                    stop(p, &stopped, e.into());
                    return;
                }
                lock(&got).insert(d.path.clone(), hash);
                reporter.update_stats(|s| {
                    s.files_downloaded += 1;
                    s.bytes_downloaded += bytes;
                });
                reporter.advance(1, bytes, Some(&shown));
            }
            Err(Gave::Fatal(e)) => stop(p, &stopped, e),
            Err(Gave::Stopped) => {}
            Err(Gave::Refused { status, message }) => {
                let why = format!("HTTP {status} {message}");
                reporter.log(LogLevel::Error, &format!("cannot pull {shown}: {why}"));
                lock(&failed).push((d.path.clone(), why));
                reporter.advance(1, 0, Some(&shown));
            }
            Err(Gave::Local(why)) => {
                reporter.log(LogLevel::Error, &format!("cannot pull {shown}: {why}"));
                lock(&failed).push((d.path.clone(), why));
                reporter.advance(1, 0, Some(&shown));
            }
            Err(Gave::Vanished) => {}
        }
    });
    if let Some(e) = lock(&stopped).take() {
        return Err(e);
    }

    reporter.phase(
        Phase::Applying,
        (removes.len() + remove_dirs.len()) as u64,
        0,
    );
    for path in &removes {
        trash.put(path)?;
        reporter.update_stats(|s| s.files_deleted += 1);
        reporter.advance(1, 0, Some(&relpath::display(path)));
    }
    for dir in &remove_dirs {
        // Left in place when it still holds something (ignored files).
        let _ = fs::remove_dir(relpath::to_path(root, dir));
        reporter.advance(1, 0, None);
    }

    // The record is exactly what was pulled (a failed file is left unknown).
    let failed = std::mem::take(&mut *lock(&failed));
    let failed_paths: BTreeSet<&RelPath> = failed.iter().map(|(p, _)| p).collect();
    let got = lock(&got);
    let record: Vec<(RelPath, PushHash)> = held
        .iter()
        .filter(|(path, _)| !failed_paths.contains(path))
        .map(|(path, h)| {
            let hash = if h.dir {
                None
            } else {
                got.get(path).or(h.hash.as_ref()).map(|x| x.to_vec())
            };
            (path.clone(), hash)
        })
        .collect();
    store.replace_push_state(name, &record)?;

    let done = reporter.stats();
    stats.files_downloaded = done.files_downloaded;
    stats.bytes_downloaded = done.bytes_downloaded;
    stats.files_deleted = done.files_deleted;
    let lines: Vec<String> = failed
        .iter()
        .map(|(path, why)| format!("{}: {why}", relpath::display(path)))
        .collect();
    Ok(finish(
        preview,
        stats,
        metadata,
        &lines,
        downloads.len(),
        "files",
    ))
}

fn stop(p: &Pull<'_>, slot: &Mutex<Option<GatewayPushError>>, e: GatewayPushError) {
    let mut s = lock(slot);
    if s.is_none() {
        *s = Some(e);
    }
    p.stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

fn ancestors(path: &[u8]) -> Vec<(RelPath, PushHash)> {
    path.iter()
        .enumerate()
        .filter(|(_, b)| **b == b'/')
        .map(|(i, _)| (path[..i].to_vec(), None))
        .collect()
}

/// Downloads one file into a temp file beside it, then puts it in place (the file there
/// before goes to the trash).
fn download(p: &Pull<'_>, trash: &Trash, d: &Download) -> Result<([u8; 32], u64), Gave> {
    let root = p.ctx.folder.path.as_path();
    let abs = relpath::to_path(root, &d.path);
    let (parent_rel, file_name) = relpath::split(&d.path);
    let parent = relpath::to_path(root, parent_rel);
    fs::create_dir_all(&parent)
        .map_err(|e| Gave::Local(format!("cannot create {}: {e}", parent.display())))?;
    let nonce = crate::random::u64().unwrap_or(0);
    let temp = parent.join(relpath::os_str(&temp_name(file_name, nonce)));
    // The path was checked UTF-8 when the listing was read.
    let shown = relpath::display(&d.path);
    let result = p.sender.run(&shown, || {
        let mut f = File::create(&temp).map_err(|e| {
            super::client::Failed::Local(format!("cannot write {}: {e}", temp.display()))
        })?;
        let out = p.client.fetch(&shown, d.size, &mut f)?;
        f.sync_all()
            .map_err(|e| super::client::Failed::Local(format!("cannot write it: {e}")))?;
        Ok(out)
    });
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            let _ = fs::remove_file(&temp);
            return Err(e);
        }
    };
    if fs::symlink_metadata(&abs).is_ok()
        && let Err(e) = trash.put(&d.path)
    {
        let _ = fs::remove_file(&temp);
        return Err(Gave::Local(e.to_string()));
    }
    fs::rename(&temp, &abs).map_err(|e| {
        let _ = fs::remove_file(&temp);
        Gave::Local(format!("cannot put it in place: {e}"))
    })?;
    Ok(out)
}
