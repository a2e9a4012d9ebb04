//! Background sync: the thread that starts the scheduled and watch-triggered syncs.
//!
//! Every enabled automatic folder syncs every `interval_secs` (trigger `schedule`) and, when
//! watched, soon after its files change (trigger `watch`); nothing runs while the app is
//! paused. The timing rules (back-off, confirmation) are in [`crate::schedule`].
//!
//! One thread decides; it learns about jobs, folders and the app state from the engine's
//! event bus and about changes from the [`Watcher`], so every setting takes effect at once.
//! Jobs are started with `perform_sync`, like the user's: single flight, events and history
//! apply alike.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::engine::{Engine, EngineError};
use crate::events::{Subscription, lock};
use crate::model::{Event, JobStatus, JobType, PerformSyncRequest, TriggerType};
use crate::schedule::Slot;
use crate::watch::Watcher;

/// The `app` of background jobs.
pub const APP: &str = "syncdesk";

/// How often expired local-only gateway files are removed (they live two hours).
const GATEWAY_EXPIRE_EVERY: Duration = Duration::from_secs(60);

/// Timings of the background sync.
#[derive(Debug, Clone)]
pub struct BackgroundOptions {
    /// How long the watcher lets a burst of changes settle before syncing.
    pub debounce: Duration,
    /// Used instead of every folder's `interval_secs`: tests and benchmarks cannot wait
    /// minutes, and the settings themselves stay limited to 10 s..24 h.
    pub interval_override: Option<Duration>,
    /// How often the folders and the app state are read again. Another process (the CLI,
    /// the desktop app) may change them, and its events never reach this process's bus.
    pub settings_poll: Duration,
}

impl Default for BackgroundOptions {
    fn default() -> Self {
        BackgroundOptions {
            debounce: Duration::from_secs(1),
            interval_override: None,
            settings_poll: Duration::from_secs(2),
        }
    }
}

/// The running scheduler and watcher; dropping it stops both and joins their threads.
/// Jobs already started run to their end.
pub struct Background {
    /// None when background sync could not start (see [`Background::is_running`]).
    running: Option<Running>,
}

struct Running {
    engine: Arc<Engine>,
    tx: Sender<Msg>,
    thread: JoinHandle<()>,
    _subscription: Subscription,
}

impl Background {
    /// A handle that runs nothing, for when starting failed (the reason was logged).
    pub(crate) fn inert() -> Background {
        Background { running: None }
    }

    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        let Some(r) = self.running.take() else {
            return;
        };
        // Fails only if the thread is gone already.
        let _ = r.tx.send(Msg::Stop);
        if r.thread.join().is_err() {
            tracing::error!("the background sync thread panicked");
        }
        // Even after a panic: a new background may start.
        r.engine.background.store(false, Ordering::SeqCst);
    }
}

#[derive(Debug)]
enum Msg {
    Stop,
    /// Folders, their settings or the app state may have changed.
    Reconcile,
    JobStarted(String),
    JobEnded(String, JobStatus),
    /// The watcher saw a change (or lost track) in a folder.
    Changed(String),
}

impl Msg {
    fn from_event(e: &Event) -> Option<Msg> {
        match e {
            // A gateway write is no sync: it must not reset the folder's schedule or back-off.
            Event::JobChanged(job) if job.job_type == JobType::Gateway => None,
            Event::JobChanged(job) if job.status == JobStatus::Running => {
                Some(Msg::JobStarted(job.folder.clone()))
            }
            Event::JobChanged(job) if job.status.is_final() => {
                Some(Msg::JobEnded(job.folder.clone(), job.status))
            }
            Event::FolderChanged(_) | Event::FolderRemoved(_) | Event::AppStateChanged(_) => {
                Some(Msg::Reconcile)
            }
            _ => None,
        }
    }
}

pub(crate) fn start(
    engine: &Arc<Engine>,
    opts: BackgroundOptions,
) -> Result<Background, EngineError> {
    if engine.background.swap(true, Ordering::SeqCst) {
        return Err(EngineError::InvalidRequest(
            "background sync is already running in this process".into(),
        ));
    }
    let (tx, rx) = crossbeam_channel::unbounded();
    // Subscribed before the thread starts, so no job or setting change is missed.
    let subscription = {
        let tx = tx.clone();
        engine.events().subscribe(move |e| {
            if let Some(msg) = Msg::from_event(e) {
                // Fails only while shutting down.
                let _ = tx.send(msg);
            }
        })
    };
    let watcher = {
        let tx = tx.clone();
        match Watcher::new(engine.echo().clone(), opts.debounce, move |name| {
            let _ = tx.send(Msg::Changed(name));
        }) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(
                    "cannot watch folders for changes ({e}); they sync on their schedule only"
                );
                None
            }
        }
    };
    let mut scheduler = Scheduler {
        engine: engine.clone(),
        opts,
        slots: HashMap::new(),
        paused: false,
        watcher,
    };
    // Here rather than on the thread: once this returns, the folders are watched.
    scheduler.reconcile(Instant::now());
    let thread = std::thread::Builder::new()
        .name("syncdesk-background".into())
        .spawn(move || scheduler.run(&rx))
        .map_err(|e| {
            engine.background.store(false, Ordering::SeqCst);
            EngineError::Internal(format!("cannot start background sync: {e}"))
        })?;
    Ok(Background {
        running: Some(Running {
            engine: engine.clone(),
            tx,
            thread,
            _subscription: subscription,
        }),
    })
}

struct Scheduler {
    engine: Arc<Engine>,
    opts: BackgroundOptions,
    /// The folders that sync in the background, by name.
    slots: HashMap<String, Slot>,
    paused: bool,
    watcher: Option<Watcher>,
}

impl Scheduler {
    fn run(mut self, rx: &Receiver<Msg>) {
        let mut next_poll = Instant::now() + self.opts.settings_poll;
        let mut next_expire = Instant::now();
        loop {
            self.start_due(Instant::now());
            // Even while paused: local-only files must not outlive their two hours.
            if Instant::now() >= next_expire {
                if let Err(e) = self.engine.gateway_expire() {
                    tracing::warn!("cannot remove expired local-only gateway files: {e}");
                }
                next_expire = Instant::now() + GATEWAY_EXPIRE_EVERY;
            }
            // Even while paused: a resume may come from another process.
            let wake = self
                .next_wake()
                .map_or(next_poll, |at| at.min(next_poll))
                .min(next_expire);
            let first = match rx.recv_deadline(wake) {
                Ok(msg) => Some(msg),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => break,
            };
            // Everything already queued is handled before deciding again.
            let mut reconcile = false;
            for msg in first.into_iter().chain(rx.try_iter()) {
                let now = Instant::now();
                match msg {
                    Msg::Stop => {
                        self.stop();
                        return;
                    }
                    Msg::Reconcile => reconcile = true,
                    Msg::JobStarted(name) => {
                        if let Some(slot) = self.slots.get_mut(&name) {
                            slot.started();
                        }
                    }
                    Msg::JobEnded(name, status) => {
                        let Some(slot) = self.slots.get_mut(&name) else {
                            continue;
                        };
                        let failed_before = slot.failures > 0;
                        if slot.ended(status, now) {
                            tracing::warn!(
                                folder = %name,
                                "the last sync needs confirmation; background syncs of this folder wait until you confirm a sync"
                            );
                        }
                        if failed_before
                            && status == JobStatus::Succeeded
                            && let Some(w) = self.watcher.as_mut()
                        {
                            // The root may have been replaced while failing: watch it afresh.
                            w.forget(&name);
                            reconcile = true;
                        }
                    }
                    Msg::Changed(name) => {
                        if let Some(slot) = self.slots.get_mut(&name) {
                            slot.asap(TriggerType::Watch);
                        }
                    }
                }
            }
            let now = Instant::now();
            if reconcile || now >= next_poll {
                self.reconcile(now);
                next_poll = now + self.opts.settings_poll;
            }
        }
        self.stop();
    }

    fn stop(&mut self) {
        // Joins the watcher's thread.
        self.watcher.take();
    }

    /// Follows the stored folders and app state.
    fn reconcile(&mut self, now: Instant) {
        let (state, folders) = match (self.engine.app_state(), self.engine.folders()) {
            (Ok(s), Ok(f)) => (s, f),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!("background sync cannot read the settings: {e}");
                return;
            }
        };
        let resumed = self.paused && !state.paused;
        self.paused = state.paused;
        let mut watch: Vec<(String, PathBuf)> = Vec::new();
        self.slots.retain(|name, _| {
            folders
                .iter()
                .any(|f| &f.name == name && f.syncs_in_background())
        });
        for f in folders.iter().filter(|f| f.syncs_in_background()) {
            let interval = self
                .opts
                .interval_override
                .unwrap_or(Duration::from_secs(u64::from(f.interval_secs)));
            let slot = self.slots.entry(f.name.clone()).or_insert_with(|| {
                let mut slot = Slot::new(interval, now);
                slot.running = lock(&self.engine.running).contains_key(&f.name);
                // Still waiting for confirmation from before (a restart does not confirm).
                if let Ok(Some(job)) = self.engine.store().last_job(&f.name)
                    && job.status == JobStatus::NeedsConfirmation
                {
                    slot.held = true;
                    tracing::warn!(
                        folder = %f.name,
                        "the last sync needs confirmation; background syncs of this folder wait until you confirm a sync"
                    );
                }
                slot
            });
            slot.interval = interval;
            if resumed {
                slot.asap(TriggerType::Schedule);
            }
            if f.watch && !self.paused {
                watch.push((f.name.clone(), f.path.clone()));
            }
        }
        if let Some(w) = self.watcher.as_mut() {
            w.set(&watch);
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        if self.paused {
            return None;
        }
        self.slots.values().filter_map(Slot::next_at).min()
    }

    fn start_due(&mut self, now: Instant) {
        if self.paused {
            return;
        }
        for (name, slot) in &mut self.slots {
            let Some(trigger) = slot.due(now) else {
                continue;
            };
            let req = PerformSyncRequest {
                app: APP.into(),
                folder: Some(name.clone()),
                trigger: Some(trigger),
                ..Default::default()
            };
            match self.engine.perform_sync(&req) {
                Ok(_) => slot.started(),
                // Someone else is syncing it (another process, or the boot sync): not an
                // error, just not now.
                Err(EngineError::SyncInProgress | EngineError::BootSyncInProgress) => {
                    slot.busy(now)
                }
                Err(e) => {
                    tracing::warn!(folder = %name, "background sync could not start: {e}");
                    slot.ended(JobStatus::Failed, now);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_handle_can_live_in_shared_app_state() {
        fn send<T: Send>() {}
        send::<Background>();
    }
}
