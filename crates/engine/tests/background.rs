//! Background sync on the real filesystem with real threads: the watcher, the scheduler,
//! pause, sync modes and back-off. Waits are on finished jobs (bus events) with timeouts;
//! an absence is checked after a later, observable job that the absent one would have
//! preceded, and after stopping the background (which joins its thread).

mod common;

use std::time::Duration;

use common::{Finished, World, jobs_of};
use syncdesk_engine::model::{
    FolderSettings, JobStatus, PerformSyncRequest, SyncJob, SyncMode, TriggerType,
};
use syncdesk_engine::{BackgroundOptions, Engine, clock};

fn quick(interval_ms: Option<u64>) -> BackgroundOptions {
    BackgroundOptions {
        debounce: Duration::from_millis(200),
        interval_override: interval_ms.map(Duration::from_millis),
        settings_poll: Duration::from_millis(100),
    }
}

fn set(engine: &Engine, folder: &str, f: impl FnOnce(&mut FolderSettings)) {
    let mut s = engine.folder(folder).unwrap().settings();
    f(&mut s);
    engine.update_folder_settings(folder, &s).unwrap();
}

fn is(folder: &'static str, trigger: TriggerType) -> impl Fn(&SyncJob) -> bool {
    move |j| j.folder == folder && j.trigger_type == trigger
}

/// Milliseconds from the end of `a` to the creation of `b`.
fn gap_ms(a: &SyncJob, b: &SyncJob) -> i128 {
    let end = clock::parse(a.ended_at.as_deref().unwrap()).unwrap();
    let created = clock::parse(&b.created_at).unwrap();
    (created - end).whole_milliseconds()
}

#[test]
fn an_edit_in_a_watched_folder_is_uploaded_and_reaches_the_other_device() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    let done = Finished::on(&a.engine);
    // Production timings: 1 s debounce, 5 min interval (so only the watcher can sync).
    let bg = a.engine.start_background();
    assert!(bg.is_running());
    a.write("notes/today.md", b"written by hand");

    let job = done.next("a watch job", is("docs", TriggerType::Watch));
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    assert_eq!(job.stats.files_uploaded, 1);
    assert_eq!(job.metadata["app"], "syncdesk");

    b.sync();
    assert_eq!(b.read("notes/today.md").unwrap(), b"written by hand");
}

#[test]
fn the_engines_own_downloads_do_not_trigger_a_watch_sync() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("keep.txt", b"v1");
    a.write("drop.txt", b"soon gone");
    a.sync();
    b.sync();
    // Downloads that replace, delete, create a directory and a new file.
    a.write("keep.txt", b"v2, longer");
    a.remove("drop.txt");
    a.write("sub/new.txt", b"new");
    a.sync();

    // A second watched folder on b, to make an observable change after the download.
    let probe = w.dir.path().join("probe-b");
    b.engine
        .add_folder("probe", &probe, w.remote.to_str().unwrap(), Some("probe"))
        .unwrap();
    let done = Finished::on(&b.engine);
    let bg = b.engine.start_background_with(quick(None)).unwrap();
    let download = b.sync();
    assert_eq!(download.stats.files_downloaded, 2);
    assert_eq!(b.read("keep.txt").unwrap(), b"v2, longer");

    // The probe's change comes after every event of the download: by the time its watch
    // job ends, any watch job the download caused has been started too.
    std::fs::write(probe.join("p.txt"), b"probe").unwrap();
    let job = done.next("the probe's watch job", is("probe", TriggerType::Watch));
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    drop(bg);

    let docs = jobs_of(&b.engine, "docs");
    assert_eq!(
        docs.iter().map(|j| j.trigger_type).collect::<Vec<_>>(),
        vec![TriggerType::Manual, TriggerType::Manual],
        "only b's own two syncs: {docs:#?}"
    );
}

#[test]
fn manual_and_completely_manual_folders_get_no_background_jobs() {
    let w = World::new();
    let a = w.device("a");
    let remote = w.remote.to_str().unwrap();
    let (man, cm) = (w.dir.path().join("man"), w.dir.path().join("cm"));
    a.engine
        .add_folder("man", &man, remote, Some("man"))
        .unwrap();
    a.engine.add_folder("cm", &cm, remote, Some("cm")).unwrap();
    set(&a.engine, "man", |s| s.sync_mode = SyncMode::Manual);
    set(&a.engine, "cm", |s| {
        s.sync_mode = SyncMode::CompletelyManual
    });
    let done = Finished::on(&a.engine);
    let bg = a.engine.start_background_with(quick(Some(100))).unwrap();

    std::fs::write(man.join("x.txt"), b"x").unwrap();
    std::fs::write(cm.join("y.txt"), b"y").unwrap();
    // The automatic folder is the clock: a change after the others, and scheduled syncs.
    a.write("z.txt", b"z");
    done.next("a watch job of docs", is("docs", TriggerType::Watch));
    for _ in 0..3 {
        done.next("a scheduled job of docs", is("docs", TriggerType::Schedule));
    }
    drop(bg);

    assert!(jobs_of(&a.engine, "man").is_empty());
    assert!(jobs_of(&a.engine, "cm").is_empty());
    // The user can still sync them.
    let started = a
        .engine
        .perform_sync(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("man".into()),
            ..Default::default()
        })
        .unwrap();
    let job = a.engine.wait_job(started.job_ids[0]).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
}

#[test]
fn settings_changes_take_effect_without_a_restart() {
    let w = World::new();
    let a = w.device("a");
    set(&a.engine, "docs", |s| {
        s.sync_mode = SyncMode::Manual;
        s.watch = false;
    });
    let done = Finished::on(&a.engine);
    let _bg = a.engine.start_background_with(quick(Some(100))).unwrap();

    set(&a.engine, "docs", |s| s.sync_mode = SyncMode::Automatic);
    let job = done.next("a scheduled job", is("docs", TriggerType::Schedule));
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);

    // Watching switched on: an edit is synced by the watcher.
    let before = clock::now();
    set(&a.engine, "docs", |s| s.watch = true);
    // The scheduler applies settings between jobs: once a job created after the change has
    // ended, the next one starts with the folder watched.
    done.next("a job created after the change", |j| j.created_at >= before);
    done.next("the job after it", is("docs", TriggerType::Schedule));
    a.write("w.txt", b"watched");
    let job = done.next("a watch job", is("docs", TriggerType::Watch));
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
}

#[test]
fn paused_means_no_background_jobs_and_resuming_catches_up() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.engine.set_paused(true).unwrap();
    let done_a = Finished::on(&a.engine);
    let done_b = Finished::on(&b.engine);
    let bg_a = a.engine.start_background_with(quick(Some(100))).unwrap();
    let bg_b = b.engine.start_background_with(quick(Some(100))).unwrap();
    a.write("while-paused.txt", b"edited while paused");

    // b runs the same timings unpaused: its syncs mark time for a.
    for _ in 0..5 {
        done_b.next("a scheduled job of b", is("docs", TriggerType::Schedule));
    }
    // A sync the user asks for runs while paused.
    let started = a
        .engine
        .perform_sync(&PerformSyncRequest {
            app: "tray".into(),
            folder: Some("docs".into()),
            ..Default::default()
        })
        .unwrap();
    let manual = a.engine.wait_job(started.job_ids[0]).unwrap();
    assert_eq!(manual.status, JobStatus::Succeeded);
    let triggers: Vec<_> = jobs_of(&a.engine, "docs")
        .iter()
        .map(|j| j.trigger_type)
        .collect();
    assert_eq!(
        triggers,
        vec![TriggerType::Manual],
        "nothing in the background"
    );
    drop(bg_b);

    a.write("after.txt", b"edited while paused, then resumed");
    let state = a.engine.set_paused(false).unwrap();
    assert!(!state.paused);
    let job = done_a.next("a background job after resuming", |j| {
        j.trigger_type != TriggerType::Manual
    });
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    drop(bg_a);
    b.sync();
    assert_eq!(
        b.read("after.txt").unwrap(),
        b"edited while paused, then resumed"
    );
}

#[test]
fn settings_another_process_changes_are_followed() {
    let w = World::new();
    let a = w.device("a");
    a.engine.set_paused(true).unwrap();
    let done = Finished::on(&a.engine);
    // Default interval (5 min): only resuming can start a sync within the test.
    let opts = BackgroundOptions {
        interval_override: None,
        ..quick(None)
    };
    let _bg = a.engine.start_background_with(opts).unwrap();

    // Another process on the same state (the CLI while the app runs): its changes reach
    // the database only, never this engine's event bus.
    let other = Engine::open(&a.state).unwrap();
    let more = w.dir.path().join("more");
    other
        .add_folder("more", &more, w.remote.to_str().unwrap(), Some("more"))
        .unwrap();
    std::fs::write(more.join("m.txt"), b"added elsewhere").unwrap();
    other.set_paused(false).unwrap();

    // Both folders sync after the resume, in either order.
    let mut seen = std::collections::HashMap::new();
    while seen.len() < 2 {
        let job = done.next("docs and the new folder synced after the resume", |j| {
            j.trigger_type == TriggerType::Schedule && (j.folder == "docs" || j.folder == "more")
        });
        seen.insert(job.folder.clone(), job);
    }
    for job in seen.values() {
        assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    }
    assert_eq!(seen["more"].stats.files_uploaded, 1);
}

#[test]
fn the_scheduler_syncs_every_interval() {
    let w = World::new();
    let a = w.device("a");
    set(&a.engine, "docs", |s| s.watch = false);
    let done = Finished::on(&a.engine);
    let _bg = a.engine.start_background_with(quick(Some(150))).unwrap();
    let jobs: Vec<SyncJob> = (0..3)
        .map(|_| done.next("a scheduled job", is("docs", TriggerType::Schedule)))
        .collect();
    for pair in jobs.windows(2) {
        assert_eq!(pair[0].status, JobStatus::Succeeded);
        // The interval counts from the end of the last sync (a little slack for clocks).
        assert!(gap_ms(&pair[0], &pair[1]) >= 140, "{:#?}", pair);
    }
    assert!(jobs.iter().all(|j| j.metadata["app"] == "syncdesk"));
}

#[test]
fn a_failing_folder_is_retried_with_growing_delays() {
    let w = World::new();
    let a = w.device("a");
    std::fs::remove_dir(&a.root).unwrap();
    let done = Finished::on(&a.engine);
    let _bg = a.engine.start_background_with(quick(Some(150))).unwrap();
    let jobs: Vec<SyncJob> = (0..3)
        .map(|_| done.next("a failed scheduled job", is("docs", TriggerType::Schedule)))
        .collect();
    for j in &jobs {
        assert_eq!(j.status, JobStatus::Failed);
        assert!(
            j.error_message
                .as_deref()
                .unwrap()
                .contains("does not exist"),
            "{:?}",
            j.error_message
        );
    }
    // 150 ms × 2 after one failure, × 4 after two (a little slack for clocks).
    let (g1, g2) = (gap_ms(&jobs[0], &jobs[1]), gap_ms(&jobs[1], &jobs[2]));
    assert!(g1 >= 290, "first retry after {g1} ms");
    assert!(g2 >= 590, "second retry after {g2} ms");

    // The folder comes back: the next attempt succeeds, then the plain interval returns.
    std::fs::create_dir(&a.root).unwrap();
    let ok = done.next("a successful job", |j| j.status == JobStatus::Succeeded);
    let next = done.next("the next scheduled job", is("docs", TriggerType::Schedule));
    assert_eq!(
        next.status,
        JobStatus::Succeeded,
        "{:?}",
        next.error_message
    );
    assert!(gap_ms(&ok, &next) >= 140);
    // And the restored root is watched (set up before `next` started).
    a.write("back.txt", b"back");
    done.next(
        "a watch job on the restored root",
        is("docs", TriggerType::Watch),
    );
}

#[test]
fn a_sync_that_needs_confirmation_waits_for_the_user() {
    let w = World::new();
    let a = w.device("a");
    for i in 0..12 {
        a.write(&format!("f{i}.txt"), b"x");
    }
    a.sync();
    for i in 0..12 {
        a.remove(&format!("f{i}.txt"));
    }
    // A second automatic folder marks time.
    let clock_dir = w.dir.path().join("clock");
    a.engine
        .add_folder(
            "clock",
            &clock_dir,
            w.remote.to_str().unwrap(),
            Some("clock"),
        )
        .unwrap();
    let done = Finished::on(&a.engine);
    let bg = a.engine.start_background_with(quick(Some(100))).unwrap();
    let held = done.next("the guarded job", is("docs", TriggerType::Schedule));
    assert_eq!(held.status, JobStatus::NeedsConfirmation);
    for _ in 0..5 {
        done.next(
            "a job of the clock folder",
            is("clock", TriggerType::Schedule),
        );
    }
    drop(bg);
    assert_eq!(
        jobs_of(&a.engine, "docs").len(),
        2,
        "the first sync and the guarded one"
    );

    // Still waiting after a restart: a restart is no confirmation.
    let bg = a.engine.start_background_with(quick(Some(100))).unwrap();
    for _ in 0..3 {
        done.next(
            "a job of the clock folder",
            is("clock", TriggerType::Schedule),
        );
    }
    assert_eq!(jobs_of(&a.engine, "docs").len(), 2);
    // The user confirms; background syncs resume after it.
    let started = a
        .engine
        .perform_sync(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("docs".into()),
            confirm: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        a.engine.wait_job(started.job_ids[0]).unwrap().status,
        JobStatus::Succeeded
    );
    let job = done.next(
        "a scheduled job after confirming",
        is("docs", TriggerType::Schedule),
    );
    assert_eq!(job.status, JobStatus::Succeeded);
    drop(bg);
}

#[test]
fn background_sync_starts_once_per_engine() {
    let w = World::new();
    let a = w.device("a");
    let bg = a.engine.start_background();
    let err = a.engine.start_background_with(quick(None)).err().unwrap();
    assert_eq!(err.code(), "invalid_request");
    assert!(
        !a.engine.start_background().is_running(),
        "logged, runs nothing"
    );
    drop(bg);
    // Stopped cleanly: it can start again.
    assert!(a.engine.start_background().is_running());
}
