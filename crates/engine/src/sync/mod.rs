//! One sync of one folder: scan, read the heads, plan the merge (pure), then upload, write
//! the snapshot, apply locally, and only then move this device's head — so a head never
//! names anything that is not stored, and a crash at any point leaves a state the next
//! sync recovers from.

pub mod apply;
pub(crate) mod folder_root;
pub mod plan;
pub mod trees;
pub mod upload;

use std::collections::{BTreeMap, HashMap, HashSet};

use rayon::prelude::*;

use crate::access::RepoAccess;
use crate::clock;
use crate::echo::EchoLog;
use crate::events::Reporter;
use crate::model::{
    Folder, JobId, JobStatus, LogLevel, Phase, PushMode, SyncJobStats, SyncPreview,
};
use crate::relpath::{self, RelPath};
use crate::remote::RemoteError;
use crate::repo::{Head, RepoError, Snapshot};
use crate::scan::{self, LocalKind, STATE_DIR, ScanError};
use crate::store::{Device, IndexRow, Store, StoreError};
use crate::trash::Trash;
use apply::{Applier, ApplyError, IndexChange};
use folder_root::FolderRootError;
use plan::{Action, HeadRoot, LocalView, Plan, PlanError, PlanInput};
use trees::{RepoTrees, Totals};
use upload::{Packer, UploadError, Uploaded};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncOptions {
    pub mode: PushMode,
    /// Re-hash every file instead of trusting the index cache.
    pub force: bool,
    /// Plan only; change nothing on either side.
    pub dry_run: bool,
    /// Go ahead past the mass-deletion guard.
    pub confirm: bool,
}

/// A sync that would delete more than this share of a side's files, and at least
/// `GUARD_MIN_FILES` of them, stops and asks for confirmation.
pub const GUARD_SHARE: f64 = 0.5;
pub const GUARD_MIN_FILES: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Scan(#[from] ScanError),
    #[error(
        "{path} has no {STATE_DIR} marker although it was synced before: the folder looks unmounted or replaced. Nothing was changed. Mount or restore it, or remove and re-add the folder."
    )]
    MarkerMissing { path: String },
    #[error(
        "another Syncdesk installation is writing as this device ({device}) in the repository; stop it or re-add this folder from a fresh state directory"
    )]
    DeviceClash { device: String },
    #[error(
        "this device's last snapshot cannot be read ({0}); run `check`, or start over with force-push or force-pull"
    )]
    BaseUnreadable(String),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Remote(#[from] RemoteError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Upload(#[from] UploadError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error("cannot create {path}: {source}")]
    Marker {
        path: String,
        source: std::io::Error,
    },
}

impl From<FolderRootError> for SyncError {
    fn from(e: FolderRootError) -> Self {
        match e {
            FolderRootError::Scan(e) => SyncError::Scan(e),
            FolderRootError::Store(e) => SyncError::Store(e),
            FolderRootError::MarkerMissing { path } => SyncError::MarkerMissing { path },
            FolderRootError::Marker { path, source } => SyncError::Marker { path, source },
        }
    }
}

pub struct SyncContext<'a> {
    /// The folder's remote, opened with its credentials.
    pub access: &'a RepoAccess,
    pub store: &'a Store,
    pub device: &'a Device,
    pub folder: &'a Folder,
    pub reporter: &'a Reporter,
    pub job_id: JobId,
    /// Notes the local writes for the watcher's echo suppression.
    pub echo: Option<&'a EchoLog>,
}

#[derive(Debug, Clone)]
pub struct SyncOutcome {
    pub status: JobStatus,
    pub preview: SyncPreview,
    pub stats: SyncJobStats,
    pub snapshot: Option<String>,
    pub metadata: BTreeMap<String, String>,
    /// Why the sync stopped before changing anything (needs confirmation).
    pub message: Option<String>,
}

impl SyncOutcome {
    /// Done; like the others, it names no snapshot (a push, or a sync that wrote none).
    pub fn succeeded(
        preview: SyncPreview,
        stats: SyncJobStats,
        metadata: BTreeMap<String, String>,
    ) -> SyncOutcome {
        SyncOutcome::ended(JobStatus::Succeeded, preview, stats, metadata, None)
    }

    /// Stopped before changing anything; `message` says what to confirm.
    pub fn needs_confirmation(
        preview: SyncPreview,
        stats: SyncJobStats,
        metadata: BTreeMap<String, String>,
        message: String,
    ) -> SyncOutcome {
        let status = JobStatus::NeedsConfirmation;
        SyncOutcome::ended(status, preview, stats, metadata, Some(message))
    }

    /// Ran to the end, but part of it failed; `message` says what.
    pub fn failed(
        preview: SyncPreview,
        stats: SyncJobStats,
        metadata: BTreeMap<String, String>,
        message: String,
    ) -> SyncOutcome {
        SyncOutcome::ended(JobStatus::Failed, preview, stats, metadata, Some(message))
    }

    fn ended(
        status: JobStatus,
        preview: SyncPreview,
        stats: SyncJobStats,
        metadata: BTreeMap<String, String>,
        message: Option<String>,
    ) -> SyncOutcome {
        SyncOutcome {
            status,
            preview,
            stats,
            snapshot: None,
            metadata,
            message,
        }
    }
}

pub fn run(ctx: &SyncContext<'_>, opts: &SyncOptions) -> Result<SyncOutcome, SyncError> {
    let SyncContext {
        access,
        store,
        device,
        folder,
        reporter,
        job_id,
        echo,
    } = *ctx;
    let name = folder.name.as_str();
    let root = folder.path.as_path();
    let mut metadata = BTreeMap::new();
    metadata.insert("mode".into(), opts.mode.as_str().to_owned());
    metadata.insert("cloud_name".into(), folder.cloud_name.clone());
    metadata.insert("device".into(), device.id.clone());

    // Guards before anything else: the root must be there and be the folder we synced.
    let mut state = folder_root::prepare(
        root,
        opts.dry_run,
        reporter,
        || store.folder_state(name),
        |s| s.base_snapshot.is_some(),
    )?;

    reporter.phase(Phase::Fetching, 0, 0);
    let repo = access.open_repo()?;
    let mut base_snapshot = state.base_snapshot.clone();
    match repo.head(&device.id)? {
        Some(h) => {
            let ours = [&state.head_written, &state.head_pending];
            if h.nonce != device.nonce
                || (state.head_written.is_some()
                    && !ours.iter().any(|s| s.as_deref() == Some(&h.snapshot)))
            {
                return Err(SyncError::DeviceClash {
                    device: device.id.clone(),
                });
            }
            if state.head_pending.as_deref() == Some(&h.snapshot) {
                // The last sync wrote its head but stopped before recording it.
                reporter.log(LogLevel::Info, "resuming after an interrupted sync");
                base_snapshot = Some(h.snapshot.clone());
            }
        }
        None if state.head_written.is_some() => {
            reporter.log(
                LogLevel::Warn,
                "this device's head is gone from the repository (it was reset); merging from scratch",
            );
            store.reset_base(name)?;
            state = store.folder_state(name)?;
            base_snapshot = None;
        }
        None => {}
    }
    let forced = opts.mode != PushMode::TwoWay;
    let base_root = match &base_snapshot {
        Some(id) => match repo.snapshot(id) {
            Ok(s) => Some(s.root),
            Err(e) if forced => {
                reporter.log(
                    LogLevel::Warn,
                    &format!("ignoring unreadable base snapshot: {e}"),
                );
                None
            }
            Err(e) => return Err(SyncError::BaseUnreadable(e.to_string())),
        },
        None => None,
    };

    // Local state.
    reporter.phase(Phase::Scanning, 0, 0);
    let index = store.load_index(name)?;
    let (report, ignores) = folder_root::scan(root, &index, opts, reporter, "synced")?;
    for group in &report.clashes {
        let names: Vec<String> = group.iter().map(|p| relpath::display(p)).collect();
        reporter.log(
            LogLevel::Warn,
            &format!(
                "names that differ only by case or Unicode form: {}; they are kept as separate files and would collide on Windows or macOS",
                names.join(", ")
            ),
        );
    }
    metadata.insert("name_clashes".into(), report.clashes.len().to_string());
    let unreadable: HashSet<&[u8]> = report
        .unreadable
        .iter()
        .map(|(p, _)| p.as_slice())
        .collect();
    // Local-only gateway files (push_to_cloud false) stay out of the remote until they expire.
    let local_only = store.gateway_local_only(name)?;
    let opaque = |p: &[u8], is_dir: bool| {
        unreadable.contains(p) || local_only.contains(p) || ignores.is_ignored(p, is_dir)
    };
    let local = LocalView::new(&report.entries, &opaque);

    // Remote state: every other device's head.
    let mut heads = Vec::new();
    let mut head_snapshots = Vec::new();
    for h in repo.heads()? {
        match h {
            Ok(h) if h.device == device.id => {}
            Ok(h) => match repo.snapshot(&h.snapshot) {
                Ok(s) => {
                    heads.push(HeadRoot {
                        device: h.device,
                        root: s.root,
                    });
                    head_snapshots.push(h.snapshot);
                }
                Err(e) => reporter.log(
                    LogLevel::Warn,
                    &format!(
                        "skipping device {} this round: its snapshot is not readable yet ({e})",
                        h.device
                    ),
                ),
            },
            Err((dev, e)) => reporter.log(
                LogLevel::Warn,
                &format!("skipping device {dev} this round: {e}"),
            ),
        }
    }

    // Merge.
    reporter.phase(Phase::Merging, 0, 0);
    let clock = store.reserve_clock(1)?;
    let trees = RepoTrees::new(&repo, store, name);
    let plan = loop {
        let input = PlanInput {
            device: &device.id,
            clock,
            now_ns: clock::now_ns(),
            mode: opts.mode,
            base: base_root,
            heads: &heads,
            local: &local,
        };
        match plan::plan(&input, &trees) {
            Ok(p) => break p,
            Err(PlanError::Head {
                index,
                device,
                reason,
            }) => {
                reporter.log(
                    LogLevel::Warn,
                    &format!("skipping device {device} this round: its data is not fully readable yet ({reason})"),
                );
                heads.remove(index);
                head_snapshots.remove(index);
            }
            Err(e @ PlanError::Base(_)) if !forced => {
                return Err(SyncError::BaseUnreadable(e.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    };
    let preview = preview_of(name, opts.mode, &plan);
    let local_files = report
        .entries
        .values()
        .filter(|e| e.kind == LocalKind::File)
        .count();
    let mut stats = SyncJobStats {
        files_scanned: local_files as u64,
        conflicts: plan.conflicts.len() as u64,
        ..Default::default()
    };

    if opts.mode == PushMode::TwoWay && !opts.confirm {
        let local_dels = preview.delete_local.len();
        let remote_dels = plan.remote_deletes.len();
        let too_many = |dels: usize, files: usize| {
            dels >= GUARD_MIN_FILES && dels as f64 > GUARD_SHARE * files.max(1) as f64
        };
        let message = if too_many(local_dels, local_files) {
            Some(format!(
                "this sync would delete {local_dels} of {local_files} local files; confirm to go ahead"
            ))
        } else if too_many(remote_dels, plan.base_files as usize) {
            Some(format!(
                "this sync would delete {remote_dels} of {} files on the remote; confirm to go ahead",
                plan.base_files
            ))
        } else {
            None
        };
        if let Some(message) = message {
            reporter.log(LogLevel::Warn, &message);
            metadata.insert("delete_local".into(), local_dels.to_string());
            metadata.insert("delete_remote".into(), remote_dels.to_string());
            return Ok(SyncOutcome::needs_confirmation(
                preview, stats, metadata, message,
            ));
        }
    }
    if opts.dry_run {
        return Ok(SyncOutcome::succeeded(preview, stats, metadata));
    }

    // Upload what is new, then the trees, then the snapshot.
    let uploads: Vec<RelPath> = {
        let set: HashSet<&RelPath> = plan.uploads().into_iter().collect();
        let mut v: Vec<RelPath> = set.into_iter().cloned().collect();
        v.sort();
        v
    };
    let upload_bytes: u64 = uploads
        .iter()
        .filter_map(|p| report.entries.get(p))
        .map(|e| e.stat.size)
        .sum();
    reporter.phase(Phase::Uploading, uploads.len() as u64, upload_bytes);
    let packer = Packer::new(&repo, store, name);
    let uploaded: HashMap<RelPath, Uploaded> = uploads
        .par_iter()
        .map(|p| {
            let u =
                packer.upload_file(&relpath::to_path(root, p), |b| reporter.advance(0, b, None))?;
            reporter.advance(1, 0, Some(&relpath::display(p)));
            Ok((p.clone(), u))
        })
        .collect::<Result<_, UploadError>>()?;

    reporter.phase(Phase::Committing, 0, 0);
    let mut totals = Totals::default();
    let root_ref = trees::build(&plan.root, &uploaded, &packer, &trees, &mut totals)?;
    packer.flush()?;
    // Before a snapshot names them: the packs must really be there.
    packer.verify_stored()?;
    stats.files_uploaded = uploaded.len() as u64;
    stats.bytes_uploaded = packer
        .stored_bytes
        .load(std::sync::atomic::Ordering::Relaxed);
    let snapshot = match (&base_snapshot, plan.changed) {
        (Some(id), false) => id.clone(),
        _ => {
            let mut parents: Vec<String> = base_snapshot.iter().cloned().collect();
            parents.extend(head_snapshots.iter().cloned());
            repo.write_snapshot(&Snapshot {
                version: crate::repo::FORMAT_VERSION,
                device: device.id.clone(),
                parents,
                root: root_ref,
                created_at: clock::now(),
                files: totals.files,
                bytes: totals.bytes,
            })?
        }
    };

    // Before anything local changes or a head names it: the snapshot must really be there.
    if base_snapshot.as_deref() != Some(snapshot.as_str()) {
        repo.snapshot(&snapshot)?;
    }
    crate::failpoint::hit("snapshot-written");

    // Apply locally, then publish the head.
    let writes = plan
        .actions
        .iter()
        .filter(|a| matches!(a, Action::Write { .. }))
        .count();
    reporter.phase(Phase::Downloading, writes as u64, 0);
    let trash = Trash::new(root, job_id);
    let applied = Applier {
        root,
        repo: &repo,
        trash: &trash,
        reporter,
        echo,
    }
    .apply(&plan.actions)?;
    stats.files_downloaded = applied.files_written;
    stats.bytes_downloaded = applied.bytes_written;
    stats.files_deleted = applied.files_deleted + plan.remote_deletes.len() as u64;
    stats.conflicts += applied.late_conflicts;

    if state.head_written.as_deref() != Some(snapshot.as_str()) {
        store.set_head_pending(name, Some(&snapshot))?;
        repo.write_head(&Head {
            device: device.id.clone(),
            nonce: device.nonce.clone(),
            snapshot: snapshot.clone(),
            written_at: clock::now(),
        })?;
        crate::failpoint::hit("head-written");
    }
    let (upserts, deletes) = index_changes(&index, &report, &uploaded, &applied.changes);
    store.commit_sync(name, &snapshot, &upserts, &deletes, &clock::now())?;
    metadata.insert("snapshot".into(), snapshot.clone());
    if !plan.conflicts.is_empty() {
        let copies: Vec<String> = plan
            .conflicts
            .iter()
            .take(20)
            .map(|c| relpath::display(&c.copy))
            .collect();
        metadata.insert("conflict_copies".into(), copies.join("\n"));
        for c in &plan.conflicts {
            reporter.log(
                LogLevel::Warn,
                &format!(
                    "conflict on {}: the other version was kept as {}",
                    relpath::display(&c.path),
                    relpath::display(&c.copy)
                ),
            );
        }
    }
    Ok(SyncOutcome {
        snapshot: Some(snapshot),
        ..SyncOutcome::succeeded(preview, stats, metadata)
    })
}

/// The index after the sync: the scan, what the uploads read, and what was applied.
fn index_changes(
    index: &HashMap<RelPath, IndexRow>,
    report: &scan::ScanReport,
    uploaded: &HashMap<RelPath, Uploaded>,
    applied: &[IndexChange],
) -> (Vec<(RelPath, IndexRow)>, Vec<RelPath>) {
    let mut want: HashMap<RelPath, IndexRow> = report
        .entries
        .iter()
        .filter(|(_, e)| e.kind != LocalKind::Dir)
        .map(|(p, e)| (p.clone(), row(e.stat, e.hash)))
        .collect();
    for (p, u) in uploaded {
        want.insert(p.clone(), row(u.stat, u.hash));
    }
    for change in applied {
        match change {
            IndexChange::Upsert(p, stat, hash) => {
                want.insert(p.clone(), row(*stat, *hash));
            }
            IndexChange::Delete(p) => {
                want.remove(p);
            }
        }
    }
    let unreadable: HashSet<&RelPath> = report.unreadable.iter().map(|(p, _)| p).collect();
    let deletes = index
        .keys()
        .filter(|p| !want.contains_key(*p) && !unreadable.contains(p))
        .cloned()
        .collect();
    let upserts = want
        .into_iter()
        .filter(|(p, r)| index.get(p) != Some(r))
        .collect();
    (upserts, deletes)
}

fn row(stat: crate::store::StatKey, hash: [u8; 32]) -> IndexRow {
    IndexRow {
        stat: Some(stat),
        hash: Some(hash),
    }
}

fn preview_of(folder: &str, mode: PushMode, plan: &Plan) -> SyncPreview {
    let mut p = SyncPreview {
        folder: folder.to_owned(),
        mode,
        ..Default::default()
    };
    p.upload = plan
        .uploads()
        .into_iter()
        .map(|x| relpath::display(x))
        .collect();
    for a in &plan.actions {
        match a {
            // A file written over an existing one is a replacement, not a new download.
            Action::Write { path, expect, .. } => match expect {
                plan::Expect::Stat(_) => p.replace.push(relpath::display(path)),
                _ => p.download.push(relpath::display(path)),
            },
            Action::Remove { path, .. } => p.delete_local.push(relpath::display(path)),
            Action::MakeDir { .. } | Action::RemoveDir { .. } | Action::Move { .. } => {}
        }
    }
    p.delete_remote = plan
        .remote_deletes
        .iter()
        .map(|x| relpath::display(x))
        .collect();
    p.conflicts = plan
        .conflicts
        .iter()
        .map(|c| relpath::display(&c.copy))
        .collect();
    p
}
