//! Applying one gateway change to a folder: write, delete or make a directory, through the
//! trash, recorded as a finished job together with the folder's gateway files.
//!
//! Local-only changes (`push_to_cloud` false) are left out of the remote sync until they
//! expire: the paths they create are marked local-only, and a synced file they cover is kept
//! aside (the stash) to come back when they expire — so an expiry never turns into a deletion
//! on the remote.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Instant;

use super::paths::{self, Located};
use super::write::{self, NearCopy};
use super::{
    Content, GatewayAction, GatewayCaller, GatewayChange, GatewayError, GatewayOutcome,
    LOCAL_ONLY_TTL, Staging, now_ms, rfc3339_ms,
};
use crate::engine::Engine;
use crate::events::lock;
use crate::model::{Event, Folder, JobStatus, JobType, LogLevel, SyncJobStats, TriggerType};
use crate::relpath::{self, RelPath};
use crate::store::{FinishedJob, GatewayFileOp};
use crate::trash::{Trash, TrashError};

impl Engine {
    /// Applies one change of `caller` to its folder.
    pub fn gateway_apply(
        &self,
        caller: &GatewayCaller,
        change: GatewayChange,
    ) -> Result<GatewayOutcome, GatewayError> {
        let started = Instant::now();
        let rel = paths::parse(&change.path)?;
        if change.is_deleted && change.is_dir {
            return Err(GatewayError::BadRequest(
                "is_deleted and is_dir together: send one of them".into(),
            ));
        }
        if (change.is_deleted || change.is_dir) && !change.content.is_empty() {
            return Err(GatewayError::BadRequest(
                "content cannot go with is_deleted or is_dir".into(),
            ));
        }
        if let Content::Staged(s) = &change.content
            && s.folder() != caller.folder
        {
            return Err(GatewayError::BadRequest(format!(
                "the upload was staged for the folder {:?}, not {:?}",
                s.folder(),
                caller.folder
            )));
        }
        let folder = self.gateway_folder(&caller.folder)?;
        let max_file_size = self.gateway_settings()?.max_file_size;
        let folder_lock = self.gateway.folder_lock(&folder.name);
        let _one_at_a_time = lock(&folder_lock);
        let row = self.store().gateway_file(&folder.name, &rel)?;
        let a = Apply {
            engine: self,
            root: &folder.path,
            folder: &folder,
            path: relpath::display(&rel),
            rel,
            caller,
            push: change.push_to_cloud,
            overlay: row.as_ref().is_some_and(|r| r.local_only),
            row_expires: row.and_then(|r| r.expires_at_ms),
            started,
        };
        let outcome = if change.is_deleted {
            a.delete()
        } else if change.is_dir {
            a.mkdir()
        } else {
            a.write(change.content, max_file_size)
        };
        self.gateway.share.release(&folder.name, &a.rel);
        outcome
    }
}

struct Apply<'a> {
    engine: &'a Engine,
    root: &'a Path,
    folder: &'a Folder,
    rel: RelPath,
    /// `rel` for people (it came as UTF-8).
    path: String,
    caller: &'a GatewayCaller,
    push: bool,
    /// The path is local-only now (written so, not yet expired).
    overlay: bool,
    row_expires: Option<i64>,
    started: Instant,
}

impl Apply<'_> {
    fn account(&self) -> &str {
        self.caller.account.as_deref().unwrap_or("anonymous")
    }

    fn outcome(
        &self,
        action: GatewayAction,
        bytes: u64,
        expires: Option<i64>,
        job_id: Option<i64>,
    ) -> GatewayOutcome {
        GatewayOutcome {
            path: self.path.clone(),
            action,
            bytes,
            push_to_cloud: self.push,
            expires_at: expires.map(rfc3339_ms),
            job_id,
        }
    }

    /// The rows of a path written or made now, with the directories created for it.
    fn ops_for_new(&self, missing: &[RelPath], expires: Option<i64>) -> Vec<GatewayFileOp> {
        let account = self.caller.account.clone();
        let mut ops = vec![GatewayFileOp::Set {
            path: self.rel.clone(),
            account: account.clone(),
            local_only: !self.push,
            expires_at_ms: expires,
        }];
        match expires {
            // Local-only: what it needed created goes with it; local-only directories above
            // it live as long as it does.
            Some(at) => {
                for dir in paths::ancestors(&self.rel) {
                    if missing.contains(&dir) {
                        ops.push(GatewayFileOp::Set {
                            path: dir,
                            account: account.clone(),
                            local_only: true,
                            expires_at_ms: Some(at),
                        });
                    } else {
                        ops.push(GatewayFileOp::ExtendTo {
                            path: dir,
                            expires_at_ms: at,
                        });
                    }
                }
            }
            // For good: a local-only directory above would keep it out of the sync.
            None => {
                for dir in paths::ancestors(&self.rel) {
                    ops.push(GatewayFileOp::MakePermanent(dir));
                }
            }
        }
        ops
    }

    fn expiry(&self) -> Option<i64> {
        (!self.push).then(|| now_ms() + LOCAL_ONLY_TTL.as_millis() as i64)
    }

    fn write(&self, content: Content, max_file_size: u64) -> Result<GatewayOutcome, GatewayError> {
        let located = paths::locate(self.root, &self.rel)?;
        if let Some(m) = &located.target {
            if m.file_type().is_symlink() {
                return Err(GatewayError::BadPath(format!(
                    "{} is a symbolic link; the gateway never writes through one",
                    self.path
                )));
            }
            if m.is_dir() {
                return Err(GatewayError::BadRequest(format!(
                    "{} is a folder; delete it first to write a file there",
                    self.path
                )));
            }
            if !m.is_file() {
                return Err(GatewayError::BadRequest(format!(
                    "{} is not a regular file",
                    self.path
                )));
            }
        }
        let size = match &content {
            Content::Empty => 0,
            Content::Bytes(b) => b.len() as u64,
            Content::Staged(s) => s.len()?,
        };
        if size > max_file_size {
            return Err(GatewayError::TooLarge {
                limit: max_file_size,
            });
        }
        let abs = relpath::to_path(self.root, &self.rel);
        if located.target.is_some() {
            let same = match &content {
                Content::Empty => write::file_equals_bytes(&abs, b""),
                Content::Bytes(b) => write::file_equals_bytes(&abs, b),
                Content::Staged(s) => write::file_equals_file(&abs, s.path()),
            }
            .map_err(|e| GatewayError::from_io(&self.path, e))?;
            if same {
                return self.unchanged(size);
            }
        }

        let mut staging = match content {
            Content::Staged(s) => s,
            Content::Empty => Staging::create(self.root, &self.folder.name, u64::MAX)?,
            Content::Bytes(b) => {
                let mut s = Staging::create(self.root, &self.folder.name, u64::MAX)?;
                s.write_chunk(&b)?;
                s
            }
        };
        staging.sync()?;
        let (parent, name) = relpath::split(&self.rel);
        let dir = relpath::to_path(self.root, parent);
        let io = |e| GatewayError::from_io(&self.path, e);
        // A mount inside the folder: copy next to the target first, so the last step is a
        // rename all the same.
        let near = if write::device_of(&dir).map_err(io)?
            != write::device_of(staging.path()).map_err(io)?
        {
            paths::make_dirs(self.root, &located.missing)?;
            Some(NearCopy::make(staging.path(), &dir, name)?)
        } else {
            None
        };
        let src = near
            .as_ref()
            .map_or(staging.path(), |n| n.path.as_path())
            .to_path_buf();

        let covers_synced = !self.push && !self.overlay && located.target.is_some();
        if covers_synced {
            write::stash(self.root, &self.rel)?;
        }
        let expires = self.expiry();
        let mut log = vec![(
            LogLevel::Info,
            format!(
                "gateway: wrote {} ({size} bytes) for account {}{}",
                self.path,
                self.account(),
                local_note(expires)
            ),
        )];
        if located.target.is_some() {
            log.push((
                LogLevel::Info,
                format!("the previous version of {} is in the trash", self.path),
            ));
        }
        let stats = SyncJobStats {
            files_downloaded: 1,
            bytes_downloaded: size,
            ..Default::default()
        };
        let ops = self.ops_for_new(&located.missing, expires);
        let recorded = self.record(GatewayAction::Written, stats, &log, &ops, |trash| {
            paths::make_dirs(self.root, &located.missing)?;
            if located.target.is_some() {
                trash.put(&self.rel).map_err(|e| trash_err(&self.path, e))?;
            }
            fs::rename(&src, &abs).map_err(|e| GatewayError::from_io(&self.path, e))
        });
        let job_id = match recorded {
            Ok(id) => id,
            Err(e) => {
                if covers_synced {
                    write::drop_stash(self.root, &self.rel);
                }
                return Err(e);
            }
        };
        match near {
            Some(n) => n.keep(),
            None => staging.applied = true,
        }
        if self.push {
            write::drop_stash(self.root, &self.rel);
        }
        Ok(self.outcome(GatewayAction::Written, size, expires, Some(job_id)))
    }

    /// The content is already there: no job; only whether the path syncs may change.
    fn unchanged(&self, size: u64) -> Result<GatewayOutcome, GatewayError> {
        let mut expires = None;
        if self.push && self.overlay {
            let mut ops = vec![GatewayFileOp::MakePermanent(self.rel.clone())];
            ops.extend(
                paths::ancestors(&self.rel)
                    .into_iter()
                    .map(GatewayFileOp::MakePermanent),
            );
            self.engine
                .store()
                .update_gateway_files(&self.folder.name, &ops)?;
            write::drop_stash(self.root, &self.rel);
        } else if self.overlay {
            expires = self.row_expires;
        }
        Ok(self.outcome(GatewayAction::Unchanged, size, expires, None))
    }

    fn delete(&self) -> Result<GatewayOutcome, GatewayError> {
        let not_found = || GatewayError::NotFound(format!("{} does not exist", self.path));
        let located = match paths::locate(self.root, &self.rel) {
            Ok(l) => l,
            // A path through a file names nothing.
            Err(GatewayError::BadRequest(_)) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        let Located {
            target: Some(meta), ..
        } = located
        else {
            return Err(not_found());
        };
        let is_dir = meta.is_dir();
        let mut expires = None;
        let ops = if self.push {
            vec![GatewayFileOp::Forget(self.rel.clone())]
        } else if is_dir {
            if !self.overlay {
                return Err(GatewayError::BadRequest(format!(
                    "{} is a synced folder; deleting it on this machine only is not possible, send push_to_cloud=true to delete it everywhere",
                    self.path
                )));
            }
            vec![GatewayFileOp::Forget(self.rel.clone())]
        } else {
            if !self.overlay {
                // Gone here only: the synced original comes back when this expires.
                write::stash(self.root, &self.rel)?;
            }
            if write::has_stash(self.root, &self.rel) {
                expires = self.expiry();
                vec![GatewayFileOp::Set {
                    path: self.rel.clone(),
                    account: self.caller.account.clone(),
                    local_only: true,
                    expires_at_ms: expires,
                }]
            } else {
                vec![GatewayFileOp::Forget(self.rel.clone())]
            }
        };
        let log = [(
            LogLevel::Info,
            format!(
                "gateway: deleted {} for account {}{}; it is in the trash",
                self.path,
                self.account(),
                local_note(expires)
            ),
        )];
        let stats = SyncJobStats {
            files_deleted: 1,
            ..Default::default()
        };
        let job_id = self.record(GatewayAction::Deleted, stats, &log, &ops, |trash| {
            trash.put(&self.rel).map_err(|e| trash_err(&self.path, e))
        })?;
        if self.push {
            write::drop_stash(self.root, &self.rel);
        }
        Ok(self.outcome(GatewayAction::Deleted, 0, expires, Some(job_id)))
    }

    fn mkdir(&self) -> Result<GatewayOutcome, GatewayError> {
        let located = paths::locate(self.root, &self.rel)?;
        match &located.target {
            Some(m) if m.file_type().is_symlink() => {
                return Err(GatewayError::BadPath(format!(
                    "{} is a symbolic link; the gateway never writes through one",
                    self.path
                )));
            }
            Some(m) if m.is_dir() => return self.unchanged(0),
            Some(_) => {
                return Err(GatewayError::BadRequest(format!(
                    "{} is a file; delete it first to make a folder there",
                    self.path
                )));
            }
            None => {}
        }
        let expires = self.expiry();
        let log = [(
            LogLevel::Info,
            format!(
                "gateway: made the folder {} for account {}{}",
                self.path,
                self.account(),
                local_note(expires)
            ),
        )];
        let ops = self.ops_for_new(&located.missing, expires);
        let mut all = located.missing.clone();
        all.push(self.rel.clone());
        let job_id = self.record(
            GatewayAction::Directory,
            SyncJobStats::default(),
            &log,
            &ops,
            |_| paths::make_dirs(self.root, &all),
        )?;
        Ok(self.outcome(GatewayAction::Directory, 0, expires, Some(job_id)))
    }

    /// Records the change as one finished job while `act` makes it (with the job's trash),
    /// then tells listeners.
    fn record(
        &self,
        action: GatewayAction,
        mut stats: SyncJobStats,
        log: &[(LogLevel, String)],
        ops: &[GatewayFileOp],
        act: impl FnOnce(&Trash) -> Result<(), GatewayError>,
    ) -> Result<i64, GatewayError> {
        stats.duration_ms = self.started.elapsed().as_millis() as u64;
        let metadata = BTreeMap::from([
            ("path".to_owned(), self.path.clone()),
            ("account".to_owned(), self.account().to_owned()),
            ("action".to_owned(), action.as_str().to_owned()),
            ("push_to_cloud".to_owned(), self.push.to_string()),
        ]);
        let job = FinishedJob {
            folder: &self.folder.name,
            job_type: JobType::Gateway,
            trigger: TriggerType::Gateway,
            status: JobStatus::Succeeded,
            error: None,
            stats,
            metadata: &metadata,
            log,
        };
        let (job, ()) = self
            .engine
            .store()
            .record_gateway_change(&job, ops, |id| act(&Trash::new(self.root, id)))?;
        tracing::info!(
            folder = %self.folder.name,
            path = %self.path,
            account = self.account(),
            action = action.as_str(),
            job = job.id,
            "gateway change"
        );
        let id = job.id;
        self.engine.publish(Event::JobChanged(job));
        self.engine.publish_folder(&self.folder.name);
        Ok(id)
    }
}

fn local_note(expires: Option<i64>) -> String {
    match expires {
        Some(at) => format!(", kept on this machine only until {}", rfc3339_ms(at)),
        None => String::new(),
    }
}

/// A full disk while moving to the trash (its batch directory is new) is a full disk.
fn trash_err(path: &str, e: TrashError) -> GatewayError {
    match e {
        TrashError::Move { source, .. } | TrashError::Io(source)
            if source.kind() == std::io::ErrorKind::StorageFull =>
        {
            GatewayError::from_io(path, source)
        }
        other => crate::engine::EngineError::from(other).into(),
    }
}
