//! When a folder's next background sync is due: every interval after the last sync, at once
//! for a change, later and later after failures ([`backoff`]), and not at all while a sync
//! that needs confirmation waits for the user (until a sync of the folder ends otherwise).
//! Pure: the caller says what time it is.

use std::time::{Duration, Instant};

use crate::model::{JobStatus, TriggerType};

/// The longest wait between attempts after failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// How soon to try again when another process is syncing a changed folder.
const BUSY_RETRY: Duration = Duration::from_secs(5);

/// The wait before the next attempt after `failures` failed syncs in a row:
/// `interval × 2^failures`, at most [`MAX_BACKOFF`]; just the interval after a success.
pub fn backoff(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return interval;
    }
    2u32.checked_pow(failures)
        .and_then(|factor| interval.checked_mul(factor))
        .map_or(MAX_BACKOFF, |d| d.min(MAX_BACKOFF))
}

/// The timing of one folder's background syncs.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    pub(crate) interval: Duration,
    /// When the last sync ended (or scheduling began): waits count from here.
    since: Instant,
    /// Failed syncs in a row.
    pub(crate) failures: u32,
    /// The last sync needs confirmation: nothing runs until some sync of it ends otherwise.
    pub(crate) held: bool,
    pub(crate) running: bool,
    /// A sync is wanted before the interval is up (a change, or resuming), with its trigger.
    asap: Option<TriggerType>,
    /// Another process syncs the folder: not before this.
    busy_until: Option<Instant>,
}

impl Slot {
    pub(crate) fn new(interval: Duration, now: Instant) -> Slot {
        Slot {
            interval,
            since: now,
            failures: 0,
            held: false,
            running: false,
            asap: None,
            busy_until: None,
        }
    }

    /// When the next sync should start; `None` while one runs or confirmation is awaited.
    pub(crate) fn next_at(&self) -> Option<Instant> {
        if self.running || self.held {
            return None;
        }
        // A wanted sync waits out a back-off, never the plain interval.
        let at = match (self.asap.is_some(), self.failures) {
            (true, 0) => self.since,
            _ => self.since + backoff(self.interval, self.failures),
        };
        Some(self.busy_until.map_or(at, |b| at.max(b)))
    }

    /// The trigger of the sync to start now, if one is due.
    pub(crate) fn due(&self, now: Instant) -> Option<TriggerType> {
        let at = self.next_at()?;
        (now >= at).then(|| self.asap.unwrap_or(TriggerType::Schedule))
    }

    /// A sync should run as soon as back-off allows; a change outranks a resume.
    pub(crate) fn asap(&mut self, trigger: TriggerType) {
        if self.asap != Some(TriggerType::Watch) {
            self.asap = Some(trigger);
        }
    }

    /// A sync of the folder started (ours or anyone's): it covers what was wanted.
    pub(crate) fn started(&mut self) {
        self.running = true;
        self.asap = None;
        self.busy_until = None;
    }

    /// A sync ended. True when it newly asks for confirmation (to be said once).
    pub(crate) fn ended(&mut self, status: JobStatus, now: Instant) -> bool {
        self.running = false;
        self.since = now;
        match status {
            JobStatus::Failed => {
                self.failures = self.failures.saturating_add(1);
                self.held = false;
                false
            }
            JobStatus::NeedsConfirmation => !std::mem::replace(&mut self.held, true),
            _ => {
                self.failures = 0;
                self.held = false;
                false
            }
        }
    }

    /// Another process holds the folder: a wanted sync retries soon, the schedule restarts.
    pub(crate) fn busy(&mut self, now: Instant) {
        if self.asap.is_some() {
            self.busy_until = Some(now + self.interval.min(BUSY_RETRY));
        } else {
            self.since = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn backoff_doubles_per_failure_up_to_an_hour() {
        assert_eq!(backoff(MIN, 0), MIN);
        assert_eq!(backoff(MIN, 1), 2 * MIN);
        assert_eq!(backoff(MIN, 2), 4 * MIN);
        assert_eq!(backoff(MIN, 5), 32 * MIN);
        assert_eq!(backoff(MIN, 6), MAX_BACKOFF, "64 minutes is capped");
        assert_eq!(backoff(MIN, 200), MAX_BACKOFF, "no overflow");
        assert_eq!(backoff(Duration::from_secs(86_400), 1), MAX_BACKOFF);
    }

    #[test]
    fn the_schedule_counts_from_the_last_sync_and_backs_off_after_failures() {
        let t0 = Instant::now();
        let mut s = Slot::new(MIN, t0);
        assert_eq!(s.due(t0), None);
        assert_eq!(s.due(t0 + MIN), Some(TriggerType::Schedule));
        s.started();
        assert_eq!(s.due(t0 + 10 * MIN), None, "never while it syncs");
        let t1 = t0 + MIN + Duration::from_secs(5);
        s.ended(JobStatus::Failed, t1);
        assert_eq!(s.next_at(), Some(t1 + 2 * MIN));
        // A change does not skip the back-off.
        s.asap(TriggerType::Watch);
        assert_eq!(s.due(t1 + MIN), None);
        assert_eq!(s.due(t1 + 2 * MIN), Some(TriggerType::Watch));
        s.started();
        let t2 = t1 + 2 * MIN;
        s.ended(JobStatus::Failed, t2);
        assert_eq!(s.next_at(), Some(t2 + 4 * MIN));
        s.started();
        let t3 = t2 + 4 * MIN;
        s.ended(JobStatus::Succeeded, t3);
        assert_eq!(s.next_at(), Some(t3 + MIN), "a success resets the back-off");
        s.asap(TriggerType::Watch);
        assert_eq!(s.due(t3), Some(TriggerType::Watch), "changes sync at once");
    }

    #[test]
    fn needing_confirmation_holds_until_another_outcome() {
        let t0 = Instant::now();
        let mut s = Slot::new(MIN, t0);
        s.started();
        assert!(s.ended(JobStatus::NeedsConfirmation, t0), "said once");
        assert!(!s.ended(JobStatus::NeedsConfirmation, t0), "not twice");
        s.asap(TriggerType::Watch);
        assert_eq!(s.next_at(), None);
        assert_eq!(s.due(t0 + 1000 * MIN), None);
        // The user's confirmed sync ends: back to normal.
        s.started();
        assert!(!s.ended(JobStatus::Succeeded, t0 + MIN));
        assert_eq!(s.next_at(), Some(t0 + 2 * MIN));
    }

    #[test]
    fn a_folder_busy_elsewhere_waits() {
        let t0 = Instant::now();
        let mut s = Slot::new(MIN, t0);
        s.busy(t0 + MIN);
        assert_eq!(
            s.next_at(),
            Some(t0 + 2 * MIN),
            "the schedule waits a whole interval"
        );
        s.asap(TriggerType::Watch);
        s.busy(t0 + MIN);
        assert_eq!(
            s.next_at(),
            Some(t0 + MIN + BUSY_RETRY),
            "a change retries soon"
        );
        assert_eq!(s.due(t0 + MIN + BUSY_RETRY), Some(TriggerType::Watch));
        s.asap(TriggerType::Schedule);
        assert_eq!(
            s.due(t0 + MIN + BUSY_RETRY),
            Some(TriggerType::Watch),
            "a resume does not relabel a change"
        );
    }
}
