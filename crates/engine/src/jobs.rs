//! Running sync jobs: one at a time per folder (across processes too, through a lock file),
//! each recorded from pending to its final status with stats, metadata and log.

use std::collections::BTreeMap;
use std::fs::{self, File, TryLockError};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::access::retry_reporter;
use crate::engine::{Engine, EngineError};
use crate::events::{Reporter, lock};
use crate::model::{Event, JobStatus, PushMode, SyncJob};
use crate::push::{self, PushContext};
use crate::remote::RemoteSpec;
use crate::sync::{self, SyncContext, SyncOptions};

/// Held while a folder syncs; released when dropped (or when the process dies).
pub struct FolderLock {
    _file: File,
}

impl FolderLock {
    /// Takes the folder's lock, or says a sync is already running.
    pub fn try_take(locks_dir: &Path, folder: &str) -> Result<FolderLock, EngineError> {
        fs::create_dir_all(locks_dir).map_err(EngineError::StateDir)?;
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(locks_dir.join(format!("{folder}.lock")))
            .map_err(EngineError::StateDir)?;
        match file.try_lock() {
            Ok(()) => Ok(FolderLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(EngineError::SyncInProgress),
            Err(TryLockError::Error(e)) => Err(EngineError::StateDir(e)),
        }
    }
}

/// What a job was asked to do, kept in its metadata so another process can run it.
pub fn options_to_metadata(opts: &SyncOptions, app: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("app".into(), app.to_owned());
    m.insert("mode".into(), opts.mode.as_str().to_owned());
    m.insert("force".into(), opts.force.to_string());
    m.insert("confirm".into(), opts.confirm.to_string());
    m
}

pub fn options_from_metadata(m: &BTreeMap<String, String>) -> SyncOptions {
    SyncOptions {
        mode: m
            .get("mode")
            .and_then(|s| s.parse::<PushMode>().ok())
            .unwrap_or_default(),
        force: m.get("force").is_some_and(|v| v == "true"),
        dry_run: false,
        confirm: m.get("confirm").is_some_and(|v| v == "true"),
    }
}

/// Runs a pending job to its end on this thread. The folder lock must be held; it is
/// released before the end is announced, so listeners see the folder idle.
pub fn execute(engine: &Engine, job: SyncJob, folder_lock: FolderLock) -> SyncJob {
    let store = engine.store();
    let reporter = Arc::new(Reporter::new(
        engine.events().clone(),
        Some(store.clone()),
        job.id,
        &job.folder,
    ));
    lock(&engine.running).insert(job.folder.clone(), reporter.clone());
    let span = tracing::info_span!("job", id = job.id, folder = %job.folder);
    let _enter = span.enter();
    let started = Instant::now();
    let opts = options_from_metadata(&job.metadata);
    let mut metadata = job.metadata.clone();

    let result = match store.start_job(job.id) {
        Ok(started) => {
            engine.publish(Event::JobChanged(started));
            engine.publish_folder(&job.folder);
            reporter.begin();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let folder = store.folder(&job.folder)?;
                // A push remote (gateway, Aries) has no repository: the folder is pushed.
                let spec = RemoteSpec::parse(&folder.remote)?;
                if spec.kind.is_push() {
                    let secret = engine.push_secret(&folder, &spec)?;
                    let ctx = PushContext {
                        store,
                        folder: &folder,
                        spec: &spec,
                        secret: &secret,
                        reporter: &reporter,
                        job_id: job.id,
                    };
                    return push::run(&ctx, &opts).map_err(EngineError::from);
                }
                let access = engine.access(&folder, Some(retry_reporter(&reporter)))?;
                let ctx = SyncContext {
                    access: &access,
                    store,
                    device: engine.device(),
                    folder: &folder,
                    reporter: &reporter,
                    job_id: job.id,
                    echo: Some(engine.echo()),
                };
                sync::run(&ctx, &opts).map_err(EngineError::from)
            }))
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                Err(EngineError::Internal(format!(
                    "the sync stopped unexpectedly: {what}"
                )))
            })
        }
        Err(e) => Err(e.into()),
    };

    let mut stats = reporter.stats();
    let (status, message) = match result {
        Ok(outcome) => {
            let retries = stats.retries;
            stats = outcome.stats;
            stats.retries = retries;
            metadata.extend(outcome.metadata);
            (outcome.status, outcome.message)
        }
        Err(e) => (JobStatus::Failed, Some(e.to_string())),
    };
    stats.duration_ms = started.elapsed().as_millis() as u64;
    let finished = store.finish_job(job.id, status, message.as_deref(), &stats, &metadata);
    if status == JobStatus::Failed {
        reporter.fail(message.as_deref().unwrap_or_default());
    }
    reporter.end(status, message.as_deref().unwrap_or_default());
    lock(&engine.running).remove(&job.folder);
    drop(folder_lock);
    let finished = match finished {
        Ok(job) => job,
        Err(e) => {
            tracing::error!("could not record the end of job {}: {e}", job.id);
            SyncJob {
                status,
                error_message: message,
                stats,
                metadata,
                ..job
            }
        }
    };
    // After the end is recorded, so the folder's `lastJob` is this job.
    engine.publish(Event::JobChanged(finished.clone()));
    engine.publish_folder(&finished.folder);
    // Last, so whoever waits for the job also finds its events delivered.
    engine.notify_finished();
    finished
}
