//! The event bus and the per-job reporter that feeds it.
//!
//! Subscribers are callbacks, so each adapter forwards events its own way (Tauri events,
//! a WebSocket, a terminal progress bar), under [`Event::name`]. `syncProgress` is
//! throttled; `syncBegin`, `syncEnd`, `syncFail`, `syncRetry`, `syncLog` and the change
//! events (`jobChanged`, `folderChanged`, …) are always delivered. Callbacks run on the
//! publishing thread (often a sync's), so they must be quick and must not block.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use crate::clock;
use crate::model::{
    Event, EventName, JobId, JobStatus, LogLevel, Phase, Progress, SyncEvent, SyncJobStats,
};
use crate::store::Store;

type Callback = Arc<dyn Fn(&Event) + Send + Sync>;

#[derive(Default)]
pub struct EventBus {
    subscribers: Mutex<Vec<(u64, Callback)>>,
    next_id: AtomicU64,
}

/// Keeps a subscription alive; dropping it unsubscribes.
pub struct Subscription {
    bus: Weak<EventBus>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            lock(&bus.subscribers).retain(|(id, _)| *id != self.id);
        }
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it: every value kept
/// behind these locks stays consistent between statements.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl EventBus {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    pub fn subscribe(self: &Arc<Self>, f: impl Fn(&Event) + Send + Sync + 'static) -> Subscription {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        lock(&self.subscribers).push((id, Arc::new(f)));
        Subscription {
            bus: Arc::downgrade(self),
            id,
        }
    }

    pub fn publish(&self, event: &Event) {
        // Call outside the lock: a subscriber may subscribe or unsubscribe.
        let subs: Vec<Callback> = lock(&self.subscribers)
            .iter()
            .map(|(_, f)| f.clone())
            .collect();
        for f in subs {
            f(event);
        }
    }
}

/// At most this many `syncProgress` events a second per job.
const PROGRESS_INTERVAL: Duration = Duration::from_millis(200);

struct ReporterState {
    phase: Phase,
    current: u64,
    total: u64,
    bytes: u64,
    bytes_total: u64,
    info: String,
    last_emit: Option<Instant>,
    stats: SyncJobStats,
}

/// Progress, stats and log of one running job.
pub struct Reporter {
    bus: Arc<EventBus>,
    store: Option<Arc<Store>>,
    job_id: JobId,
    folder: String,
    state: Mutex<ReporterState>,
}

impl Reporter {
    pub fn new(bus: Arc<EventBus>, store: Option<Arc<Store>>, job_id: JobId, folder: &str) -> Self {
        Reporter {
            bus,
            store,
            job_id,
            folder: folder.to_owned(),
            state: Mutex::new(ReporterState {
                phase: Phase::Preparing,
                current: 0,
                total: 0,
                bytes: 0,
                bytes_total: 0,
                info: Phase::Preparing.describe().to_owned(),
                last_emit: None,
                stats: SyncJobStats::default(),
            }),
        }
    }

    fn event(
        &self,
        name: EventName,
        s: &ReporterState,
        msg: &str,
        status: Option<JobStatus>,
    ) -> SyncEvent {
        SyncEvent {
            name,
            job_id: self.job_id,
            folder: self.folder.clone(),
            phase: s.phase,
            current: s.current,
            total: s.total,
            bytes: s.bytes,
            bytes_total: s.bytes_total,
            info: s.info.clone(),
            msg: msg.to_owned(),
            percent: percent(s.current, s.total),
            status,
            at: clock::now(),
        }
    }

    fn emit(&self, name: EventName, msg: &str, status: Option<JobStatus>) {
        let event = {
            let mut s = lock(&self.state);
            s.last_emit = Some(Instant::now());
            self.event(name, &s, msg, status)
        };
        self.bus.publish(&event.into());
    }

    pub fn begin(&self) {
        self.emit(EventName::SyncBegin, "", Some(JobStatus::Running));
    }

    /// Enters a phase with `total` items and `bytes_total` bytes of work.
    pub fn phase(&self, phase: Phase, total: u64, bytes_total: u64) {
        {
            let mut s = lock(&self.state);
            s.phase = phase;
            s.current = 0;
            s.total = total;
            s.bytes = 0;
            s.bytes_total = bytes_total;
            s.info = phase.describe().to_owned();
        }
        self.emit(EventName::SyncProgress, "", None);
    }

    /// Work done within the phase; emits at most every PROGRESS_INTERVAL.
    pub fn advance(&self, items: u64, bytes: u64, info: Option<&str>) {
        let event = {
            let mut s = lock(&self.state);
            s.current += items;
            s.bytes += bytes;
            if let Some(i) = info {
                s.info = i.to_owned();
            }
            let due = s.last_emit.is_none_or(|t| t.elapsed() >= PROGRESS_INTERVAL)
                || (s.total > 0 && s.current >= s.total);
            if !due {
                return;
            }
            s.last_emit = Some(Instant::now());
            self.event(EventName::SyncProgress, &s, "", None)
        };
        self.bus.publish(&event.into());
    }

    /// Sets absolute progress (for work whose counts arrive as totals).
    pub fn set(&self, current: u64, bytes: u64) {
        let delta = {
            let s = lock(&self.state);
            (
                current.saturating_sub(s.current),
                bytes.saturating_sub(s.bytes),
            )
        };
        self.advance(delta.0, delta.1, None);
    }

    /// A `syncLog` line, also kept with the job.
    pub fn log(&self, level: LogLevel, msg: &str) {
        match level {
            LogLevel::Info => tracing::info!(job = self.job_id, "{msg}"),
            LogLevel::Warn => tracing::warn!(job = self.job_id, "{msg}"),
            LogLevel::Error => tracing::error!(job = self.job_id, "{msg}"),
        }
        if let Some(store) = &self.store
            && let Err(e) = store.append_job_log(self.job_id, level, msg)
        {
            tracing::warn!(job = self.job_id, "could not keep a log line: {e}");
        }
        self.emit(EventName::SyncLog, msg, None);
    }

    pub fn retry(&self, msg: &str) {
        lock(&self.state).stats.retries += 1;
        self.emit(EventName::SyncRetry, msg, None);
    }

    pub fn end(&self, status: JobStatus, msg: &str) {
        {
            let mut s = lock(&self.state);
            s.phase = Phase::Done;
            s.info = Phase::Done.describe().to_owned();
        }
        self.emit(EventName::SyncEnd, msg, Some(status));
    }

    pub fn fail(&self, msg: &str) {
        self.emit(EventName::SyncFail, msg, Some(JobStatus::Failed));
    }

    pub fn stats(&self) -> SyncJobStats {
        lock(&self.state).stats
    }

    pub fn update_stats(&self, f: impl FnOnce(&mut SyncJobStats)) {
        f(&mut lock(&self.state).stats);
    }

    pub fn progress(&self) -> Progress {
        let s = lock(&self.state);
        Progress {
            current: s.current,
            total: s.total,
            info: s.info.clone(),
            msg: String::new(),
            percent: percent(s.current, s.total),
        }
    }
}

pub fn percent(current: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        ((current as f64 / total as f64) * 1000.0).round() / 10.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_throttled_but_begin_end_and_logs_are_not() {
        let bus = EventBus::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let sub = bus.subscribe(move |e| {
            if let Some(e) = e.as_sync() {
                lock(&sink).push(e.name)
            }
        });
        let r = Reporter::new(bus.clone(), None, 7, "docs");
        r.begin();
        r.phase(Phase::Uploading, 100_000, 0);
        for _ in 0..99_999 {
            r.advance(1, 0, None);
        }
        r.log(LogLevel::Info, "hello");
        r.advance(1, 0, None);
        r.end(JobStatus::Succeeded, "");
        let names = lock(&seen).clone();
        let progress = names
            .iter()
            .filter(|n| **n == EventName::SyncProgress)
            .count();
        // 100,000 updates in well under a second collapse to a handful of events.
        assert!(progress < 20, "{progress} progress events");
        assert_eq!(names.first(), Some(&EventName::SyncBegin));
        assert_eq!(names.last(), Some(&EventName::SyncEnd));
        assert!(names.contains(&EventName::SyncLog));
        // The final item of a phase is always reported, so a UI reaches 100%.
        assert_eq!(names[names.len() - 2], EventName::SyncProgress);
        drop(sub);
        r.begin();
        assert_eq!(
            lock(&seen).len(),
            names.len(),
            "no events after unsubscribing"
        );
    }

    #[test]
    fn percent_rounds_to_one_decimal() {
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(0, 0), 0.0);
        assert_eq!(percent(5, 5), 100.0);
    }
}
