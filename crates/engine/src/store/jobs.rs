//! Job records (seed 004), their log lines, and recovery of jobs whose process died.

use std::collections::BTreeMap;
use std::str::FromStr;

use rusqlite::types::Value;
use rusqlite::{Params, Row, Transaction, params_from_iter};
use serde::Serialize;

use super::{Store, StoreError};
use crate::clock;
use crate::model::{
    DEFAULT_PAGE_SIZE, JobFilter, JobId, JobLogLine, JobStatus, JobType, LogLevel, MAX_PAGE_SIZE,
    PageMeta, SyncJob, SyncJobPage, SyncJobStats, TriggerType,
};

const JOB_COLUMNS: &str = "id, folder, job_type, trigger_type, status, started_at, ended_at, \
                           error_message, metadata, stats, created_at, updated_at";

const INTERRUPTED: &str = "interrupted: the process running this job stopped";

/// A job that already ran to its end (a gateway write): recorded at once, final.
#[derive(Debug, Clone)]
pub struct FinishedJob<'a> {
    pub folder: &'a str,
    pub job_type: JobType,
    pub trigger: TriggerType,
    pub status: JobStatus,
    pub error: Option<&'a str>,
    pub stats: SyncJobStats,
    pub metadata: &'a BTreeMap<String, String>,
    pub log: &'a [(LogLevel, String)],
}

impl Store {
    /// A new pending job, owned by this process. The folder need not exist: a
    /// request naming an unknown folder still leaves a (failed) record behind.
    pub fn create_job(
        &self,
        folder: &str,
        job_type: JobType,
        trigger: TriggerType,
        metadata: &BTreeMap<String, String>,
    ) -> Result<SyncJob, StoreError> {
        let metadata = encode("job metadata", metadata)?;
        let stats = encode("job stats", &SyncJobStats::default())?;
        let now = clock::now();
        self.write(|tx| {
            let sql = format!(
                "INSERT INTO jobs (folder, job_type, trigger_type, status, metadata, stats,
                                   created_at, updated_at, owner_pid)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING {JOB_COLUMNS}"
            );
            let params = (
                folder,
                job_type.as_str(),
                trigger.as_str(),
                JobStatus::Pending.as_str(),
                &metadata,
                &stats,
                &now,
                my_pid(),
            );
            query_job(tx, &sql, params)?
                .ok_or_else(|| StoreError::Corrupt("inserted job was not returned".into()))
        })
    }

    /// Marks the job running, owned by this process (the one whose death orphans it).
    pub fn start_job(&self, id: JobId) -> Result<SyncJob, StoreError> {
        let now = clock::now();
        self.write(|tx| {
            let sql = format!(
                "UPDATE jobs SET status = ?2, started_at = ?3, updated_at = ?3, owner_pid = ?4
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            );
            let params = (id, JobStatus::Running.as_str(), &now, my_pid());
            query_job(tx, &sql, params)?.ok_or(StoreError::UnknownJob(id))
        })
    }

    pub fn update_job_stats(&self, id: JobId, stats: &SyncJobStats) -> Result<(), StoreError> {
        let stats = encode("job stats", stats)?;
        let now = clock::now();
        self.write(|tx| {
            match tx.execute(
                "UPDATE jobs SET stats = ?2, updated_at = ?3 WHERE id = ?1",
                (id, &stats, &now),
            )? {
                0 => Err(StoreError::UnknownJob(id)),
                _ => Ok(()),
            }
        })
    }

    /// Final status: ended_at = now, error_message, stats, metadata replaced.
    pub fn finish_job(
        &self,
        id: JobId,
        status: JobStatus,
        error: Option<&str>,
        stats: &SyncJobStats,
        metadata: &BTreeMap<String, String>,
    ) -> Result<SyncJob, StoreError> {
        let stats = encode("job stats", stats)?;
        let metadata = encode("job metadata", metadata)?;
        let now = clock::now();
        self.write(|tx| {
            let sql = format!(
                "UPDATE jobs SET status = ?2, ended_at = ?3, updated_at = ?3, error_message = ?4,
                                 stats = ?5, metadata = ?6
                 WHERE id = ?1 RETURNING {JOB_COLUMNS}"
            );
            let params = (id, status.as_str(), &now, error, &stats, &metadata);
            query_job(tx, &sql, params)?.ok_or(StoreError::UnknownJob(id))
        })
    }

    /// Records a finished job with its log in one transaction: nobody sees it half-written.
    pub fn record_finished_job(&self, job: &FinishedJob<'_>) -> Result<SyncJob, StoreError> {
        self.write(|tx| insert_finished_job(tx, job))
    }

    pub fn job(&self, id: JobId) -> Result<SyncJob, StoreError> {
        self.read(|tx| {
            let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?1");
            query_job(tx, &sql, [id])?.ok_or(StoreError::UnknownJob(id))
        })
    }

    /// Newest first (id DESC). page >= 1 (0 treated as 1); page_size clamped to 1..=MAX_PAGE_SIZE
    /// (0 -> DEFAULT_PAGE_SIZE); total = rows matching the filters, total_pages =
    /// ceil(total / page_size) (0 when total is 0); a page past the end is empty.
    pub fn jobs(&self, filter: &JobFilter) -> Result<SyncJobPage, StoreError> {
        let page = filter.page.max(1);
        let page_size = match filter.page_size {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        };
        let mut clauses = Vec::new();
        let mut args = Vec::new();
        let mut filter_on = |column: &'static str, value: Option<&str>| {
            if let Some(value) = value {
                clauses.push(format!("{column} = ?"));
                args.push(Value::Text(value.to_owned()));
            }
        };
        filter_on("status", filter.status.map(JobStatus::as_str));
        filter_on("folder", filter.folder.as_deref());
        filter_on("job_type", filter.job_type.map(JobType::as_str));
        filter_on("trigger_type", filter.trigger_type.map(TriggerType::as_str));
        let where_sql = if clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", clauses.join(" AND "))
        };

        // One read transaction: the count and the page describe the same rows.
        self.read(|tx| {
            let total = self.job_count(tx, &where_sql, &args)?;
            let offset = (u64::from(page) - 1) * u64::from(page_size);
            let items = if offset >= total {
                Vec::new()
            } else {
                let sql = format!(
                    "SELECT {JOB_COLUMNS} FROM jobs{where_sql} ORDER BY id DESC LIMIT ? OFFSET ?"
                );
                let mut page_args = args.clone();
                // offset < total <= i64::MAX, so both fit.
                page_args.push(Value::Integer(i64::from(page_size)));
                page_args.push(Value::Integer(offset as i64));
                let mut stmt = tx.prepare(&sql)?;
                let rows = stmt.query_and_then(params_from_iter(page_args), job_from_row)?;
                rows.collect::<Result<Vec<_>, _>>()?
            };
            let total_pages =
                u32::try_from(total.div_ceil(u64::from(page_size))).unwrap_or(u32::MAX);
            Ok(SyncJobPage {
                items,
                meta: PageMeta {
                    page,
                    page_size,
                    total,
                    total_pages,
                },
            })
        })
    }

    /// How many jobs match: counting 100,000 rows takes most of a listing's time, so the count
    /// is kept per filter for as long as the job list's version (see migration 6) stays.
    fn job_count(
        &self,
        tx: &rusqlite::Transaction<'_>,
        where_sql: &str,
        args: &[Value],
    ) -> Result<u64, StoreError> {
        let version: i64 =
            tx.query_row("SELECT version FROM jobs_version", [], |row| row.get(0))?;
        let key = format!("{where_sql}{args:?}");
        if let Some(&(v, total)) = self.job_counts().get(&key)
            && v == version
        {
            return Ok(total);
        }
        let total: i64 = tx.query_row(
            &format!("SELECT COUNT(*) FROM jobs{where_sql}"),
            params_from_iter(args),
            |row| row.get(0),
        )?;
        let total = u64::try_from(total).unwrap_or(0);
        let mut counts = self.job_counts();
        // Filters by folder are unbounded in number; a few dozen are what a UI uses.
        if counts.len() >= 64 {
            counts.clear();
        }
        counts.insert(key, (version, total));
        Ok(total)
    }

    /// The folder's newest job, if it ever had one.
    pub fn last_job(&self, folder: &str) -> Result<Option<SyncJob>, StoreError> {
        self.read(|tx| {
            let sql = format!(
                "SELECT {JOB_COLUMNS} FROM jobs WHERE folder = ?1 ORDER BY id DESC LIMIT 1"
            );
            query_job(tx, &sql, [folder])
        })
    }

    pub fn append_job_log(&self, id: JobId, level: LogLevel, msg: &str) -> Result<(), StoreError> {
        let now = clock::now();
        self.write(|tx| {
            // The EXISTS turns an unknown job into "0 rows" rather than a foreign-key error.
            match tx.execute(
                "INSERT INTO job_log (job_id, at, level, msg)
                 SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?1)",
                (id, &now, level_str(level), msg),
            )? {
                0 => Err(StoreError::UnknownJob(id)),
                _ => Ok(()),
            }
        })
    }

    /// The job's log lines, in the order they were appended.
    pub fn job_log(&self, id: JobId) -> Result<Vec<JobLogLine>, StoreError> {
        self.read(|tx| {
            if !tx
                .prepare("SELECT 1 FROM jobs WHERE id = ?1")?
                .exists([id])?
            {
                return Err(StoreError::UnknownJob(id));
            }
            let mut stmt =
                tx.prepare("SELECT at, level, msg FROM job_log WHERE job_id = ?1 ORDER BY seq")?;
            let rows = stmt.query_and_then([id], |row| {
                let level: String = row.get(1)?;
                Ok(JobLogLine {
                    at: row.get(0)?,
                    level: parse_level(&level).ok_or_else(|| {
                        StoreError::Corrupt(format!("job {id}: unknown log level {level:?}"))
                    })?,
                    msg: row.get(2)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Jobs left running by a process that no longer exists (owner pid not alive: check
    /// /proc/<pid> on Linux; on other OSes only jobs of this very pid are never touched) become failed
    /// with error "interrupted: the process running this job stopped". Returns how many.
    /// Pending jobs are left alone: another process may be about to run them (`--detach`).
    pub fn fail_orphaned_jobs(&self) -> Result<usize, StoreError> {
        let open: Vec<(JobId, i64)> = self.read(|tx| {
            let mut stmt = tx.prepare("SELECT id, owner_pid FROM jobs WHERE status = ?1")?;
            let rows = stmt.query_map([JobStatus::Running.as_str()], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        let orphans: Vec<_> = open
            .into_iter()
            .filter(|&(_, pid)| !owner_alive(pid))
            .collect();
        if orphans.is_empty() {
            return Ok(0);
        }
        let now = clock::now();
        self.write(|tx| {
            // Re-checked under the write lock: the job may have finished, or been
            // started by a live process, since we looked.
            let mut stmt = tx.prepare(
                "UPDATE jobs SET status = ?4, ended_at = ?3, updated_at = ?3, error_message = ?5
                 WHERE id = ?1 AND owner_pid = ?2 AND status = ?6",
            )?;
            let mut failed = 0;
            for (id, pid) in orphans {
                failed += stmt.execute((
                    id,
                    pid,
                    &now,
                    JobStatus::Failed.as_str(),
                    INTERRUPTED,
                    JobStatus::Running.as_str(),
                ))?;
            }
            Ok(failed)
        })
    }
}

/// Inserts a finished job and its log lines in the caller's transaction.
pub(super) fn insert_finished_job(
    tx: &Transaction<'_>,
    job: &FinishedJob<'_>,
) -> Result<SyncJob, StoreError> {
    let metadata = encode("job metadata", job.metadata)?;
    let stats = encode("job stats", &job.stats)?;
    let now = clock::now();
    let sql = format!(
        "INSERT INTO jobs (folder, job_type, trigger_type, status, started_at, ended_at,
                           error_message, metadata, stats, created_at, updated_at, owner_pid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?5, ?5, ?9) RETURNING {JOB_COLUMNS}"
    );
    let params = (
        job.folder,
        job.job_type.as_str(),
        job.trigger.as_str(),
        job.status.as_str(),
        &now,
        job.error,
        &metadata,
        &stats,
        my_pid(),
    );
    let row = query_job(tx, &sql, params)?
        .ok_or_else(|| StoreError::Corrupt("inserted job was not returned".into()))?;
    let mut line =
        tx.prepare_cached("INSERT INTO job_log (job_id, at, level, msg) VALUES (?1, ?2, ?3, ?4)")?;
    for (level, msg) in job.log {
        line.execute((row.id, &now, level_str(*level), msg))?;
    }
    Ok(row)
}

fn my_pid() -> i64 {
    i64::from(std::process::id())
}

/// Whether the process that owns a job may still be running it. A recycled pid
/// makes a dead owner look alive; the job then stays open until that pid is gone.
fn owner_alive(pid: i64) -> bool {
    if pid == my_pid() {
        return true;
    }
    #[cfg(target_os = "linux")]
    {
        // Without /proc (very unusual) we cannot tell and fall back to the rule of other OSes.
        if std::path::Path::new("/proc/self").exists() {
            return pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists();
        }
    }
    false
}

/// Runs a statement returning at most one job row.
fn query_job(
    tx: &Transaction<'_>,
    sql: &str,
    params: impl Params,
) -> Result<Option<SyncJob>, StoreError> {
    let mut stmt = tx.prepare(sql)?;
    let mut rows = stmt.query_and_then(params, job_from_row)?;
    rows.next().transpose()
}

fn job_from_row(row: &Row<'_>) -> Result<SyncJob, StoreError> {
    let id: JobId = row.get(0)?;
    let corrupt = |what: &str, err: &dyn std::fmt::Display| {
        StoreError::Corrupt(format!("job {id}: {what}: {err}"))
    };
    fn parse<T: FromStr<Err = String>>(text: String) -> Result<T, String> {
        text.parse()
    }
    Ok(SyncJob {
        id,
        folder: row.get(1)?,
        job_type: parse(row.get(2)?).map_err(|e| corrupt("job type", &e))?,
        trigger_type: parse(row.get(3)?).map_err(|e| corrupt("trigger type", &e))?,
        status: parse(row.get(4)?).map_err(|e| corrupt("status", &e))?,
        started_at: row.get(5)?,
        ended_at: row.get(6)?,
        error_message: row.get(7)?,
        metadata: serde_json::from_str(&row.get::<_, String>(8)?)
            .map_err(|e| corrupt("metadata", &e))?,
        stats: serde_json::from_str(&row.get::<_, String>(9)?).map_err(|e| corrupt("stats", &e))?,
        created_at: row.get(10)?,
        updated_at: row.get(11)?,
    })
}

fn encode<T: Serialize + ?Sized>(what: &'static str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

// LogLevel has no as_str/FromStr in the model; these spellings match its serde form.
fn level_str(level: LogLevel) -> &'static str {
    match level {
        LogLevel::Info => "info",
        LogLevel::Warn => "warn",
        LogLevel::Error => "error",
    }
}

fn parse_level(text: &str) -> Option<LogLevel> {
    match text {
        "info" => Some(LogLevel::Info),
        "warn" => Some(LogLevel::Warn),
        "error" => Some(LogLevel::Error),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::lock;
    use crate::store::tests::open_temp;

    fn meta(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|&(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn new_job(store: &Store, folder: &str) -> SyncJob {
        store
            .create_job(folder, JobType::Sync, TriggerType::Manual, &BTreeMap::new())
            .unwrap()
    }

    fn filter(page: u32, page_size: u32) -> JobFilter {
        JobFilter {
            page,
            page_size,
            ..JobFilter::default()
        }
    }

    #[test]
    fn job_lifecycle() {
        let (_dir, store) = open_temp();
        assert_eq!(store.last_job("docs").unwrap(), None);
        let created = store
            .create_job(
                "docs",
                JobType::ForcePush,
                TriggerType::Tray,
                &meta(&[("app", "desktop")]),
            )
            .unwrap();
        assert_eq!(created.status, JobStatus::Pending);
        assert_eq!(created.job_type, JobType::ForcePush);
        assert_eq!(created.trigger_type, TriggerType::Tray);
        assert_eq!(created.folder, "docs");
        assert_eq!(created.metadata, meta(&[("app", "desktop")]));
        assert_eq!(created.stats, SyncJobStats::default());
        assert_eq!(created.created_at, created.updated_at);
        assert!(clock::parse(&created.created_at).is_some());
        assert_eq!(
            (
                &created.started_at,
                &created.ended_at,
                &created.error_message
            ),
            (&None, &None, &None)
        );
        assert_eq!(store.job(created.id).unwrap(), created);

        let started = store.start_job(created.id).unwrap();
        assert_eq!(started.status, JobStatus::Running);
        let started_at = started.started_at.clone().unwrap();
        assert!(started_at >= created.created_at);

        let stats = SyncJobStats {
            files_scanned: 10,
            bytes_uploaded: 1 << 40,
            ..SyncJobStats::default()
        };
        store.update_job_stats(created.id, &stats).unwrap();
        assert_eq!(store.job(created.id).unwrap().stats, stats);

        store
            .append_job_log(created.id, LogLevel::Info, "scanning")
            .unwrap();
        store
            .append_job_log(created.id, LogLevel::Warn, "skipped a.tmp")
            .unwrap();
        store
            .append_job_log(created.id, LogLevel::Error, "disk full")
            .unwrap();

        let final_stats = SyncJobStats {
            duration_ms: 1234,
            ..stats
        };
        let finished = store
            .finish_job(
                created.id,
                JobStatus::Failed,
                Some("disk full"),
                &final_stats,
                &meta(&[("snapshot", "s1")]),
            )
            .unwrap();
        assert_eq!(finished.status, JobStatus::Failed);
        assert_eq!(finished.error_message.as_deref(), Some("disk full"));
        assert_eq!(finished.stats, final_stats);
        assert_eq!(finished.metadata, meta(&[("snapshot", "s1")]));
        assert_eq!(finished.started_at.as_deref(), Some(started_at.as_str()));
        assert!(finished.ended_at.as_deref().unwrap() >= started_at.as_str());
        assert_eq!(finished.updated_at, finished.ended_at.clone().unwrap());
        assert_eq!(finished.created_at, created.created_at);
        assert_eq!(store.job(created.id).unwrap(), finished);
        assert_eq!(store.last_job("docs").unwrap(), Some(finished));

        let log = store.job_log(created.id).unwrap();
        let lines: Vec<_> = log.iter().map(|l| (l.level, l.msg.as_str())).collect();
        assert_eq!(
            lines,
            [
                (LogLevel::Info, "scanning"),
                (LogLevel::Warn, "skipped a.tmp"),
                (LogLevel::Error, "disk full")
            ]
        );

        let later = new_job(&store, "docs");
        new_job(&store, "other");
        assert_eq!(store.last_job("docs").unwrap().unwrap().id, later.id);
        assert!(later.id > created.id);
        assert!(store.job_log(later.id).unwrap().is_empty());
    }

    /// Counts are cached per filter; a job another process (another connection) creates or
    /// finishes still shows in the next listing's total.
    #[test]
    fn listing_totals_follow_changes_made_elsewhere() {
        let (dir, store) = open_temp();
        let other = Store::open(dir.path()).unwrap();
        let failed = JobFilter {
            status: Some(JobStatus::Failed),
            ..JobFilter::default()
        };
        let total = |f: &JobFilter| store.jobs(f).unwrap().meta.total;
        assert_eq!((total(&JobFilter::default()), total(&failed)), (0, 0));
        let job = other
            .create_job("docs", JobType::Sync, TriggerType::Api, &meta(&[]))
            .unwrap();
        assert_eq!((total(&JobFilter::default()), total(&failed)), (1, 0));
        other
            .finish_job(
                job.id,
                JobStatus::Failed,
                Some("x"),
                &job.stats,
                &job.metadata,
            )
            .unwrap();
        assert_eq!((total(&JobFilter::default()), total(&failed)), (1, 1));
        assert_eq!(store.jobs(&failed).unwrap().items[0].id, job.id);
    }

    #[test]
    fn unknown_job_ids_are_reported() {
        let (_dir, store) = open_temp();
        let missing = 42;
        let unknown = |r: Result<(), StoreError>| matches!(r, Err(StoreError::UnknownJob(42)));
        assert!(unknown(store.job(missing).map(drop)));
        assert!(unknown(store.start_job(missing).map(drop)));
        assert!(unknown(
            store.update_job_stats(missing, &SyncJobStats::default())
        ));
        assert!(unknown(
            store
                .finish_job(
                    missing,
                    JobStatus::Succeeded,
                    None,
                    &SyncJobStats::default(),
                    &BTreeMap::new()
                )
                .map(drop)
        ));
        assert!(unknown(store.append_job_log(missing, LogLevel::Info, "x")));
        assert!(unknown(store.job_log(missing).map(drop)));
    }

    #[test]
    fn empty_listing() {
        let (_dir, store) = open_temp();
        let page = store.jobs(&JobFilter::default()).unwrap();
        assert!(page.items.is_empty());
        assert_eq!(
            page.meta,
            PageMeta {
                page: 1,
                page_size: DEFAULT_PAGE_SIZE,
                total: 0,
                total_pages: 0
            }
        );
    }

    #[test]
    fn pagination_edges() {
        let (_dir, store) = open_temp();
        let ids: Vec<JobId> = (0..40).map(|_| new_job(&store, "docs").id).collect();
        let newest_first: Vec<JobId> = ids.iter().rev().copied().collect();
        let page_ids = |f: &JobFilter| -> (Vec<JobId>, PageMeta) {
            let page = store.jobs(f).unwrap();
            (page.items.iter().map(|j| j.id).collect(), page.meta)
        };

        // An exact multiple: two full pages, the third is past the end.
        let (p1, m1) = page_ids(&filter(1, 20));
        assert_eq!(p1, newest_first[..20]);
        assert_eq!((m1.total, m1.total_pages), (40, 2));
        let (p2, _) = page_ids(&filter(2, 20));
        assert_eq!(p2, newest_first[20..]);
        let (p3, m3) = page_ids(&filter(3, 20));
        assert!(p3.is_empty());
        assert_eq!(
            m3,
            PageMeta {
                page: 3,
                page_size: 20,
                total: 40,
                total_pages: 2
            }
        );
        assert!(page_ids(&filter(u32::MAX, MAX_PAGE_SIZE)).0.is_empty());

        // One more job: a third page holding the oldest job alone.
        let extra = new_job(&store, "docs").id;
        let (p1, m1) = page_ids(&filter(1, 20));
        assert_eq!(p1[0], extra);
        assert_eq!((m1.total, m1.total_pages), (41, 3));
        assert_eq!(page_ids(&filter(3, 20)).0, vec![ids[0]]);

        // Page 0 is page 1; page_size 0 is the default; too large is clamped.
        let (p0, m0) = page_ids(&filter(0, 7));
        assert_eq!((p0.len(), m0.page, m0.total_pages), (7, 1, 6));
        let (_, m) = page_ids(&filter(1, 0));
        assert_eq!(m.page_size, DEFAULT_PAGE_SIZE);
        let (all, m) = page_ids(&filter(1, 10_000));
        assert_eq!(
            (m.page_size, m.total_pages, all.len()),
            (MAX_PAGE_SIZE, 1, 41)
        );
        let (one, m) = page_ids(&filter(2, 1));
        assert_eq!((one, m.total_pages), (vec![newest_first[0]], 41));
    }

    #[test]
    fn page_size_is_clamped_to_the_maximum() {
        let (_dir, store) = open_temp();
        for _ in 0..MAX_PAGE_SIZE + 5 {
            new_job(&store, "docs");
        }
        let page = store.jobs(&filter(1, MAX_PAGE_SIZE + 1)).unwrap();
        assert_eq!(page.items.len(), MAX_PAGE_SIZE as usize);
        assert_eq!(
            (page.meta.page_size, page.meta.total_pages),
            (MAX_PAGE_SIZE, 2)
        );
        assert_eq!(
            store
                .jobs(&filter(2, MAX_PAGE_SIZE + 1))
                .unwrap()
                .items
                .len(),
            5
        );
    }

    #[test]
    fn filters_combine() {
        let (_dir, store) = open_temp();
        let folders = ["docs", "art"];
        let types = [JobType::Sync, JobType::ForcePush, JobType::ForcePull];
        let triggers = [TriggerType::Manual, TriggerType::Schedule];
        let mut all = Vec::new();
        for i in 0..36usize {
            let job = store
                .create_job(
                    folders[i % 2],
                    types[i % 3],
                    triggers[i / 3 % 2],
                    &BTreeMap::new(),
                )
                .unwrap();
            let job = if i % 4 == 0 {
                let status = JobStatus::Succeeded;
                let stats = SyncJobStats::default();
                store
                    .finish_job(job.id, status, None, &stats, &BTreeMap::new())
                    .unwrap()
            } else {
                job
            };
            all.push(job);
        }
        let filters = [
            JobFilter {
                folder: Some("docs".into()),
                ..filter(1, 200)
            },
            JobFilter {
                status: Some(JobStatus::Succeeded),
                folder: Some("docs".into()),
                ..filter(1, 200)
            },
            JobFilter {
                folder: Some("art".into()),
                job_type: Some(JobType::ForcePull),
                trigger_type: Some(TriggerType::Schedule),
                ..filter(1, 200)
            },
            JobFilter {
                status: Some(JobStatus::Pending),
                job_type: Some(JobType::Sync),
                ..filter(1, 200)
            },
            JobFilter {
                status: Some(JobStatus::Cancelled),
                ..filter(1, 200)
            },
            JobFilter {
                folder: Some("nope".into()),
                ..filter(1, 200)
            },
        ];
        for f in filters {
            let expected: Vec<JobId> = all
                .iter()
                .rev()
                .filter(|j| {
                    f.status.is_none_or(|s| s == j.status)
                        && f.folder.as_ref().is_none_or(|x| *x == j.folder)
                        && f.job_type.is_none_or(|t| t == j.job_type)
                        && f.trigger_type.is_none_or(|t| t == j.trigger_type)
                })
                .map(|j| j.id)
                .collect();
            let page = store.jobs(&f).unwrap();
            let got: Vec<JobId> = page.items.iter().map(|j| j.id).collect();
            assert_eq!(got, expected, "{f:?}");
            assert_eq!(page.meta.total, expected.len() as u64, "{f:?}");
            // A small page of the same filter counts the same rows.
            let small = store
                .jobs(&JobFilter {
                    page_size: 2,
                    ..f.clone()
                })
                .unwrap();
            assert_eq!(small.meta.total, expected.len() as u64);
            assert_eq!(small.meta.total_pages as usize, expected.len().div_ceil(2));
            assert_eq!(
                small.items.iter().map(|j| j.id).collect::<Vec<_>>(),
                expected.iter().take(2).copied().collect::<Vec<_>>()
            );
        }
    }

    #[test]
    fn fail_orphaned_jobs_fails_only_jobs_of_dead_processes() {
        let (_dir, store) = open_temp();
        // Above any possible pid (Linux caps pid_max at 2^22).
        let dead_pid: i64 = i64::from(i32::MAX);
        let set_owner = |id: JobId, pid: i64| {
            lock(&store.writer)
                .execute("UPDATE jobs SET owner_pid = ?2 WHERE id = ?1", (id, pid))
                .unwrap();
        };
        let ours_pending = new_job(&store, "docs");
        let ours_running = store.start_job(new_job(&store, "docs").id).unwrap();
        let dead_running = store.start_job(new_job(&store, "docs").id).unwrap();
        set_owner(dead_running.id, dead_pid);
        let dead_pending = new_job(&store, "art");
        set_owner(dead_pending.id, dead_pid);
        let dead_finished = store
            .finish_job(
                new_job(&store, "docs").id,
                JobStatus::Succeeded,
                None,
                &SyncJobStats::default(),
                &BTreeMap::new(),
            )
            .unwrap();
        set_owner(dead_finished.id, dead_pid);

        assert_eq!(store.fail_orphaned_jobs().unwrap(), 1);
        // A pending job may be waiting for another process to run it.
        assert_eq!(
            store.job(dead_pending.id).unwrap().status,
            JobStatus::Pending
        );
        let job = store.job(dead_running.id).unwrap();
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.error_message.as_deref(), Some(INTERRUPTED));
        assert!(job.ended_at.is_some());
        assert_eq!(job.started_at, dead_running.started_at);
        assert_eq!(store.job(ours_pending.id).unwrap(), ours_pending);
        assert_eq!(store.job(ours_running.id).unwrap(), ours_running);
        assert_eq!(store.job(dead_finished.id).unwrap(), dead_finished);
        assert_eq!(store.fail_orphaned_jobs().unwrap(), 0);

        // Starting a job takes it over: a job left by a dead process but restarted
        // here is ours now.
        let adopted = new_job(&store, "docs");
        set_owner(adopted.id, dead_pid);
        store.start_job(adopted.id).unwrap();
        assert_eq!(store.fail_orphaned_jobs().unwrap(), 0);
        assert_eq!(store.job(adopted.id).unwrap().status, JobStatus::Running);
    }

    #[test]
    fn job_history_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let job = new_job(&store, "docs");
        store
            .append_job_log(job.id, LogLevel::Info, "hello")
            .unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.job(job.id).unwrap(), job);
        assert_eq!(store.job_log(job.id).unwrap()[0].msg, "hello");
        // Ids keep growing after a reopen.
        assert!(new_job(&store, "docs").id > job.id);
    }
}
