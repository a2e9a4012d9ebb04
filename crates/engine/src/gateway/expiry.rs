//! Local-only paths go away two hours after they were written: files into the trash,
//! directories when empty, and a synced original they covered comes back. One job per folder
//! and run records it. Run every minute by the background loop (and by `serve`).

use std::collections::BTreeMap;
use std::fs;
use std::time::Instant;

use super::{LOCAL_ONLY_TTL, now_ms, paths, staging, usable_root, write};
use crate::engine::{Engine, EngineError};
use crate::events::lock;
use crate::model::{Event, JobStatus, JobType, LogLevel, SyncJobStats, TriggerType};
use crate::relpath::{self, RelPath};
use crate::store::{FinishedJob, GatewayFileOp, GatewayFileRow};
use crate::trash::Trash;

/// A path whose expiry failed is tried again this much later.
const RETRY_MS: i64 = 10 * 60 * 1000;

enum Step {
    /// A file or link: to the trash.
    Trash,
    /// A directory: removed if empty (else it holds files that are not the gateway's, which
    /// sync from now on).
    RemoveDir,
    /// Nothing there (deleted locally only): only the original may come back.
    Nothing,
}

impl Engine {
    /// Removes the local-only paths whose time is up, in every folder. Returns how many.
    pub fn gateway_expire(&self) -> Result<usize, EngineError> {
        let now = now_ms();
        let mut total = 0;
        for (folder, rows) in self.store().gateway_expired(now)? {
            match self.expire_folder(&folder, rows, now) {
                Ok(n) => total += n,
                Err(e) => tracing::warn!(folder, "cannot remove expired local-only files: {e}"),
            }
        }
        for f in self.store().folders()? {
            let n = staging::clean_stale(&f.path);
            if n > 0 {
                tracing::info!(folder = %f.name, "removed {n} unfinished gateway upload(s)");
            }
        }
        Ok(total)
    }

    fn expire_folder(
        &self,
        name: &str,
        rows: Vec<GatewayFileRow>,
        now: i64,
    ) -> Result<usize, EngineError> {
        let started = Instant::now();
        let folder = self.store().folder(name)?;
        usable_root(self, &folder).map_err(|e| EngineError::Internal(e.to_string()))?;
        let root = folder.path.as_path();
        let folder_lock = self.gateway.folder_lock(name);
        let _one_at_a_time = lock(&folder_lock);

        let mut plan: Vec<(RelPath, Step)> = Vec::new();
        let mut forget = Vec::new();
        for row in rows {
            // Looked at again under the lock: a write may have renewed it or made it permanent.
            let current = self.store().gateway_file(name, &row.path)?;
            if !current.is_some_and(|r| r.local_only && r.expires_at_ms.is_some_and(|at| at <= now))
            {
                continue;
            }
            forget.push(GatewayFileOp::Forget(row.path.clone()));
            let step = match paths::locate(root, &row.path) {
                Ok(l) => match l.target {
                    Some(m) if m.is_dir() => Step::RemoveDir,
                    Some(_) => Step::Trash,
                    None => Step::Nothing,
                },
                // A link or a file where a directory was: not ours to touch any more.
                Err(_) => continue,
            };
            plan.push((row.path, step));
        }
        // Deepest first: a directory's files go before it.
        plan.sort_by(|a, b| depth(&b.0).cmp(&depth(&a.0)).then_with(|| b.0.cmp(&a.0)));
        if plan.is_empty() {
            self.store().update_gateway_files(name, &forget)?;
            return Ok(0);
        }

        let log: Vec<(LogLevel, String)> = plan
            .iter()
            .map(|(rel, _)| {
                (
                    LogLevel::Info,
                    format!(
                        "gateway: the local-only {} expired (kept {} h); what was there is in the trash",
                        relpath::display(rel),
                        LOCAL_ONLY_TTL.as_secs() / 3600
                    ),
                )
            })
            .collect();
        let trashed = plan
            .iter()
            .filter(|(_, s)| matches!(s, Step::Trash))
            .count() as u64;
        let metadata = BTreeMap::from([
            (
                "path".to_owned(),
                plan.first()
                    .map(|(p, _)| relpath::display(p))
                    .unwrap_or_default(),
            ),
            ("paths".to_owned(), plan.len().to_string()),
            ("account".to_owned(), String::new()),
            ("action".to_owned(), "expired".to_owned()),
            ("push_to_cloud".to_owned(), "false".to_owned()),
        ]);
        let job = FinishedJob {
            folder: name,
            job_type: JobType::Gateway,
            trigger: TriggerType::Gateway,
            status: JobStatus::Succeeded,
            error: None,
            stats: SyncJobStats {
                files_deleted: trashed,
                duration_ms: started.elapsed().as_millis() as u64,
                ..Default::default()
            },
            metadata: &metadata,
            log: &log,
        };
        let (job, problems) =
            self.store()
                .record_gateway_change::<_, EngineError>(&job, &forget, |id| {
                    let trash = Trash::new(root, id);
                    let mut problems = Vec::new();
                    for (rel, step) in &plan {
                        if let Err(e) = expire_one(root, &trash, rel, step) {
                            problems.push((rel.clone(), e));
                        }
                    }
                    Ok(problems)
                })?;
        if !problems.is_empty() {
            // Kept local-only (and out of the sync) until the next try.
            let retry: Vec<GatewayFileOp> = problems
                .iter()
                .map(|(rel, _)| GatewayFileOp::Set {
                    path: rel.clone(),
                    account: None,
                    local_only: true,
                    expires_at_ms: Some(now + RETRY_MS),
                })
                .collect();
            self.store().update_gateway_files(name, &retry)?;
            for (rel, e) in &problems {
                let msg = format!(
                    "could not remove the expired {}: {e}; trying again in 10 minutes",
                    relpath::display(rel)
                );
                tracing::warn!(folder = name, "{msg}");
                self.store().append_job_log(job.id, LogLevel::Warn, &msg)?;
            }
        }
        let done = plan.len() - problems.len();
        self.publish(Event::JobChanged(job));
        self.publish_folder(name);
        Ok(done)
    }
}

fn depth(rel: &[u8]) -> usize {
    rel.iter().filter(|&&b| b == b'/').count()
}

fn expire_one(
    root: &std::path::Path,
    trash: &Trash,
    rel: &[u8],
    step: &Step,
) -> Result<(), String> {
    match step {
        Step::Trash => trash.put(rel).map_err(|e| e.to_string())?,
        Step::RemoveDir => {
            // Not empty: left, and synced from now on.
            let _ = fs::remove_dir(relpath::to_path(root, rel));
        }
        Step::Nothing => {}
    }
    for original in write::stashed_below(root, rel) {
        write::unstash(root, &original).map_err(|e| {
            format!(
                "cannot put back the synced {}: {e}",
                relpath::display(&original)
            )
        })?;
    }
    Ok(())
}
