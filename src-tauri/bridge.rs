//! Engine events to the UI (as Tauri events, under the engine's names), to the tray, and to
//! desktop notifications for failures and new conflicts.

use std::sync::Arc;
use std::sync::mpsc;

use syncdesk_engine::Engine;
use syncdesk_engine::events::Subscription;
use syncdesk_engine::model::{Event, JobStatus};
use tauri::{AppHandle, Emitter, Manager, Runtime};
use tauri_plugin_notification::NotificationExt;

use crate::tray;

/// Keeps the bridge's subscription for the app's lifetime.
pub struct Bridge(#[allow(dead_code)] Subscription);

pub fn start<R: Runtime>(app: &AppHandle<R>, engine: &Arc<Engine>) {
    // Tray updates ask the engine for the whole state: done on a thread of their own so the
    // publishing job never waits, and coalesced when events come in bursts.
    let (refresh, pending) = mpsc::channel::<()>();
    let tray_app = app.clone();
    std::thread::Builder::new()
        .name("tray-state".into())
        .spawn(move || {
            while pending.recv().is_ok() {
                while pending.try_recv().is_ok() {}
                tray::refresh(&tray_app);
            }
        })
        .map_err(|e| tracing::error!("tray updates are off: {e}"))
        .ok();

    let handle = app.clone();
    let subscription = engine.events().subscribe(move |event: &Event| {
        forward(&handle, event);
        if !matches!(event, Event::SyncProgress(_) | Event::SyncLog(_)) {
            let _ = refresh.send(());
        }
        notify(&handle, event);
    });
    app.manage(Bridge(subscription));
}

fn forward<R: Runtime>(app: &AppHandle<R>, event: &Event) {
    // `Event` serializes as {event, payload}; the UI gets the payload under the event's name.
    let payload = serde_json::to_value(event)
        .map(|mut v| v["payload"].take())
        .unwrap_or_default();
    if let Err(e) = app.emit(event.name(), payload) {
        tracing::debug!("cannot emit {}: {e}", event.name());
    }
}

fn notify<R: Runtime>(app: &AppHandle<R>, event: &Event) {
    let (title, body) = match event {
        Event::SyncFail(e) => (format!("Sync of {} failed", e.folder), e.msg.clone()),
        Event::JobChanged(job) if job.status == JobStatus::Succeeded && job.stats.conflicts > 0 => (
            format!("{} conflict(s) in {}", job.stats.conflicts, job.folder),
            "Both versions were kept; the other one is saved next to the file as a conflict copy."
                .to_owned(),
        ),
        Event::JobChanged(job) if job.status == JobStatus::NeedsConfirmation => (
            format!("{} needs your confirmation", job.folder),
            job.error_message.clone().unwrap_or_default(),
        ),
        _ => return,
    };
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::debug!("notification not shown: {e}");
    }
}
