//! Progress bars on a terminal, one per job, fed by the engine's events.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use syncdesk_engine::events::{EventBus, Subscription};
use syncdesk_engine::model::{EventName, JobId, Phase, SyncEvent};

use crate::output;

/// Shows the progress of every job of this process until dropped.
pub struct Tracker {
    state: Arc<Mutex<State>>,
    _subscription: Subscription,
}

struct State {
    multi: MultiProgress,
    bars: HashMap<JobId, Bar>,
    /// Set by `finish`: events still in flight must not redraw cleared bars.
    closed: bool,
}

struct Bar {
    pb: ProgressBar,
    phase: Option<Phase>,
    phase_started: Instant,
    kind: Kind,
}

/// What the bar measures in the current phase.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Bytes of a known total (uploads).
    Bytes,
    /// Items of a known total.
    Items,
    /// No total yet (scanning, fetching).
    Open,
}

/// A subscriber panicking mid-update poisons the lock; the bars are still fine to use.
fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Tracker {
    /// Subscribes before the jobs start, so no `syncBegin` is missed.
    pub fn start(bus: &Arc<EventBus>) -> Tracker {
        let state = Arc::new(Mutex::new(State {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: HashMap::new(),
            closed: false,
        }));
        let sink = state.clone();
        let subscription = bus.subscribe(move |e| {
            // Folder and job changes are for UIs that list them; bars follow sync events.
            if let Some(e) = e.as_sync() {
                lock(&sink).on_event(e)
            }
        });
        Tracker {
            state,
            _subscription: subscription,
        }
    }
}

/// Dropping the tracker clears the bars, so the caller can print its summary.
impl Drop for Tracker {
    fn drop(&mut self) {
        let mut s = lock(&self.state);
        s.closed = true;
        for bar in s.bars.values() {
            bar.pb.finish_and_clear();
        }
        // Clearing the terminal can only fail if stderr went away; nothing to do then.
        let _ = s.multi.clear();
    }
}

impl State {
    fn on_event(&mut self, e: &SyncEvent) {
        if self.closed {
            return;
        }
        let multi = &self.multi;
        let bar = self.bars.entry(e.job_id).or_insert_with(|| {
            let pb = multi.add(ProgressBar::no_length().with_prefix(e.folder.clone()));
            pb.set_style(style(Kind::Open));
            pb.enable_steady_tick(Duration::from_millis(120));
            Bar {
                pb,
                phase: None,
                phase_started: Instant::now(),
                kind: Kind::Open,
            }
        });
        match e.name {
            EventName::SyncBegin => bar.pb.set_message(Phase::Preparing.describe()),
            EventName::SyncProgress => bar.update(e),
            EventName::SyncLog if !e.msg.is_empty() => {
                let _ = multi.println(format!("{}: {}", e.folder, e.msg));
            }
            EventName::SyncRetry => {
                let _ = multi.println(format!("{}: retrying: {}", e.folder, e.msg));
            }
            EventName::SyncEnd => bar.pb.finish_and_clear(),
            // Failures are told in the summary after the bars are gone.
            EventName::SyncLog | EventName::SyncFail => {}
        }
    }
}

impl Bar {
    fn update(&mut self, e: &SyncEvent) {
        let kind = if e.bytes_total > 0 {
            Kind::Bytes
        } else if e.total > 0 {
            Kind::Items
        } else {
            Kind::Open
        };
        let changed = self.phase != Some(e.phase) || self.kind != kind;
        if changed {
            self.pb.set_style(style(kind));
            self.phase = Some(e.phase);
            self.kind = kind;
        }
        let what = e.phase.describe();
        // `info` is the phase's description or the item being worked on.
        let detail = if e.info.is_empty() || e.info == what {
            String::new()
        } else {
            format!(" · {}", e.info)
        };
        if changed {
            self.phase_started = Instant::now();
        }
        // Bytes moved outside a bytes bar, with their rate (indicatif's rate is per item).
        let secs = self.phase_started.elapsed().as_secs_f64();
        let bytes = if e.bytes == 0 {
            String::new()
        } else if secs >= 0.5 {
            let rate = (e.bytes as f64 / secs) as u64;
            format!(", {} at {}/s", output::bytes(e.bytes), output::bytes(rate))
        } else {
            format!(", {}", output::bytes(e.bytes))
        };
        let (length, position, message) = match kind {
            Kind::Bytes => (
                Some(e.bytes_total),
                e.bytes,
                format!("{what} {}/{}{detail}", e.current, e.total),
            ),
            Kind::Items => (Some(e.total), e.current, format!("{what}{bytes}{detail}")),
            Kind::Open if e.current > 0 => (
                None,
                e.current,
                format!("{what}: {}{bytes}{detail}", e.current),
            ),
            Kind::Open => (None, e.current, format!("{what}{detail}")),
        };
        match length {
            Some(len) => self.pb.set_length(len),
            None => self.pb.unset_length(),
        }
        self.pb.set_message(message);
        if changed {
            // A new phase starts its own rate and ETA; style, length and message are set
            // first because a reset redraws the bar.
            self.pb.reset();
        }
        self.pb.set_position(position);
    }
}

fn template(kind: Kind) -> &'static str {
    match kind {
        Kind::Bytes => {
            "{prefix:.bold} [{bar:30}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta} {wide_msg}"
        }
        Kind::Items => "{prefix:.bold} [{bar:30}] {pos}/{len} ETA {eta} {wide_msg}",
        Kind::Open => "{prefix:.bold} {spinner} {wide_msg}",
    }
}

fn style(kind: Kind) -> ProgressStyle {
    // The templates are constants checked by a unit test; fall back to the default style
    // rather than fail a sync over a progress bar.
    ProgressStyle::with_template(template(kind))
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for kind in [Kind::Bytes, Kind::Items, Kind::Open] {
            assert!(ProgressStyle::with_template(template(kind)).is_ok());
        }
    }

    #[test]
    fn events_move_the_bars_and_end_clears_them() {
        let bus = EventBus::new();
        let tracker = Tracker::start(&bus);
        let mut e = SyncEvent {
            name: EventName::SyncBegin,
            job_id: 1,
            folder: "docs".into(),
            phase: Phase::Preparing,
            current: 0,
            total: 0,
            bytes: 0,
            bytes_total: 0,
            info: String::new(),
            msg: String::new(),
            percent: 0.0,
            status: None,
            at: String::new(),
        };
        bus.publish(&e.clone().into());
        e.name = EventName::SyncProgress;
        e.phase = Phase::Uploading;
        e.current = 1;
        e.total = 4;
        e.bytes = 100;
        e.bytes_total = 400;
        bus.publish(&e.clone().into());
        {
            let s = lock(&tracker.state);
            let bar = &s.bars[&1];
            assert!(bar.kind == Kind::Bytes);
            assert_eq!(bar.pb.length(), Some(400));
            assert_eq!(bar.pb.position(), 100);
        }
        e.name = EventName::SyncEnd;
        bus.publish(&e.clone().into());
        assert!(lock(&tracker.state).bars[&1].pb.is_finished());
        let state = tracker.state.clone();
        drop(tracker);
        assert!(lock(&state).closed);
    }
}
