//! The desktop contract (docs/desktop-contract.md) on the engine side: folder settings, app
//! state, error codes, job detail and the events a UI follows.

mod common;

use std::sync::{Arc, Mutex};

use common::World;
use syncdesk_engine::model::{
    ApiError, AppState, Event, FolderSettings, JobStatus, PerformSyncRequest, SyncMode, TriggerType,
};
use syncdesk_engine::{Engine, EngineError};

fn code<T: std::fmt::Debug>(r: Result<T, EngineError>) -> String {
    ApiError::from(&r.unwrap_err()).code
}

#[test]
fn folders_start_automatic_and_settings_are_validated_and_kept_across_reopen() {
    let w = World::new();
    let a = w.device("a");
    let docs = a.engine.folder("docs").unwrap();
    assert_eq!(
        docs.settings(),
        FolderSettings {
            enabled: true,
            sync_mode: SyncMode::Automatic,
            interval_secs: 300,
            watch: true,
        }
    );
    let mut s = docs.settings();
    for bad in [0, 9, 86_401] {
        s.interval_secs = bad;
        let err = a.engine.update_folder_settings("docs", &s).unwrap_err();
        assert_eq!(err.code(), "invalid_request");
        assert!(
            err.to_string().contains("between 10 seconds and 86400"),
            "{err}"
        );
    }
    assert_eq!(a.engine.folder("docs").unwrap(), docs, "nothing stored");
    let s = FolderSettings {
        enabled: false,
        sync_mode: SyncMode::CompletelyManual,
        interval_secs: 10,
        watch: false,
    };
    let updated = a.engine.update_folder_settings("docs", &s).unwrap();
    assert_eq!(updated.settings(), s);
    assert_eq!(
        code(a.engine.update_folder_settings("nope", &s)),
        "unknown_folder"
    );

    a.engine.set_paused(true).unwrap();
    a.engine.set_autostart_flag(true).unwrap();
    let state = a.engine.set_language(Some("zh-CN")).unwrap();
    let err = a.engine.set_language(Some("fr")).unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert!(err.to_string().contains("en, zh-CN"), "{err}");

    drop(a.engine);
    let engine = Engine::open(&a.state).unwrap();
    assert_eq!(engine.folder("docs").unwrap().settings(), s);
    assert_eq!(engine.app_state().unwrap(), state);
    assert_eq!(
        state,
        AppState {
            paused: true,
            autostart: true,
            language: Some("zh-CN".into()),
            ..AppState::default()
        }
    );
    let state = engine.set_language(None).unwrap();
    assert_eq!(state.language, None, "None follows the OS");
}

#[test]
fn every_error_code() {
    let w = World::new();
    let empty = Engine::open(&w.dir.path().join("empty")).unwrap();
    let sync_all = PerformSyncRequest {
        app: "test".into(),
        ..Default::default()
    };
    assert_eq!(code(empty.perform_sync(&sync_all)), "no_folders");
    assert_eq!(
        code(empty.perform_sync(&PerformSyncRequest::default())),
        "app_required"
    );

    let a = w.device("a");
    assert_eq!(code(a.engine.folder("nope")), "unknown_folder");
    // Asked again while the folder syncs (subscribers run on the job's thread).
    let answer = Arc::new(Mutex::new(None));
    let (seen, engine) = (answer.clone(), Arc::downgrade(&a.engine));
    let sub = a.engine.events().subscribe(move |e| {
        if let (Event::SyncBegin(_), Some(engine)) = (e, engine.upgrade()) {
            let r = engine.perform_sync(&PerformSyncRequest {
                app: "test".into(),
                ..Default::default()
            });
            *seen.lock().unwrap() = r.err().map(|e| ApiError::from(&e));
        }
    });
    a.sync();
    drop(sub);
    assert_eq!(
        answer.lock().unwrap().clone(),
        Some(ApiError {
            code: "sync_in_progress".into(),
            message: "Sync is in progress, please try again later".into(),
        })
    );
    assert_eq!(
        EngineError::BootSyncInProgress.code(),
        "boot_sync_in_progress"
    );

    assert_eq!(code(a.engine.job_detail(999_999)), "not_found");
    assert_eq!(code(a.engine.run_job(999_999)), "not_found");
    assert_eq!(
        code(a.engine.snapshot_files("docs", "deadbeef", "")),
        "not_found"
    );
    assert_eq!(
        code(
            a.engine
                .restore_from_trash("docs", "20240101-000000-job1", "a.txt", None)
        ),
        "not_found"
    );
    assert_eq!(
        code(
            a.engine
                .add_folder("bad name!", &w.dir.path().join("x"), "/tmp", None)
        ),
        "invalid_request"
    );
    assert_eq!(
        code(a.engine.restore_from_trash("docs", "../x", "a.txt", None)),
        "invalid_request"
    );
    assert_eq!(
        code(a.engine.set_ignore_rules("docs", "*.tmp\n[z-a]\n")),
        "invalid_request"
    );
    assert_eq!(
        a.engine.ignore_rules("docs").unwrap(),
        "",
        "nothing written"
    );
    a.engine.set_ignore_rules("docs", "*.tmp\n").unwrap();
    assert_eq!(a.engine.ignore_rules("docs").unwrap(), "*.tmp\n");
    assert_eq!(code(a.engine.ignore_rules("nope")), "unknown_folder");
    assert_eq!(EngineError::Internal("boom".into()).code(), "internal");
}

#[test]
fn job_detail_has_the_job_and_its_log() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    let job = a.sync();
    let detail = a.engine.job_detail(job.id).unwrap();
    assert_eq!(detail.job, job);
    assert_eq!(detail.log, a.engine.job_log(job.id).unwrap());
}

#[test]
fn events_carry_the_contract_names_and_follow_jobs_folders_and_app_state() {
    let w = World::new();
    let engine = Engine::open(&w.dir.path().join("state")).unwrap();
    let seen: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let _sub = engine.events().subscribe(move |e| {
        sink.lock().unwrap().push(e.clone());
        let _ = tx.send(e.clone());
    });

    let root = w.dir.path().join("docs");
    engine
        .add_folder("docs", &root, w.remote.to_str().unwrap(), None)
        .unwrap();
    std::fs::write(root.join("a.txt"), b"a").unwrap();
    let started = engine
        .perform_sync(&PerformSyncRequest {
            app: "test".into(),
            ..Default::default()
        })
        .unwrap();
    let job = engine.wait_job(started.job_ids[0]).unwrap();
    // The job's last event: its folder, idle, naming it as the last job.
    loop {
        match rx
            .recv_timeout(common::PATIENCE)
            .expect("no final folderChanged")
        {
            Event::FolderChanged(f) if f.last_job.as_ref() == Some(&job) => break,
            _ => {}
        }
    }
    let mut s = engine.folder("docs").unwrap().settings();
    s.interval_secs = 60;
    engine.update_folder_settings("docs", &s).unwrap();
    engine.set_paused(true).unwrap();
    engine.set_paused(true).unwrap();
    engine.remove_folder("docs").unwrap();

    let events = seen.lock().unwrap().clone();
    let names: Vec<&str> = events
        .iter()
        .map(Event::name)
        .filter(|n| *n != "syncProgress" && *n != "syncLog")
        .collect();
    assert_eq!(
        names,
        [
            "folderChanged", // added
            "jobChanged",    // created
            "jobChanged",    // started
            "folderChanged", // syncing
            "syncBegin",
            "syncEnd",
            "jobChanged",      // finished
            "folderChanged",   // idle again, with lastJob
            "folderChanged",   // settings
            "appStateChanged", // paused (once: the second call changed nothing)
            "folderRemoved",
        ]
    );
    let jobs: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::JobChanged(j) => Some(j.status),
            _ => None,
        })
        .collect();
    assert_eq!(
        jobs,
        [JobStatus::Pending, JobStatus::Running, JobStatus::Succeeded]
    );
    let folders: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::FolderChanged(f) => Some(f),
            _ => None,
        })
        .collect();
    assert!(folders[1].syncing);
    assert!(!folders[2].syncing);
    assert_eq!(folders[2].last_job.as_ref(), Some(&job));
    assert_eq!(folders[3].interval_secs, 60);
    assert!(events.contains(&Event::AppStateChanged(AppState {
        paused: true,
        ..Default::default()
    })));
    assert!(events.contains(&Event::FolderRemoved("docs".into())));
    assert_eq!(job.trigger_type, TriggerType::Manual);

    // On the wire the name is the tag, so the shell and the API forward under it.
    for e in &events {
        let json = serde_json::to_value(e).unwrap();
        assert_eq!(json["event"], e.name(), "{json}");
        assert!(json.get("payload").is_some());
        let back: Event = serde_json::from_value(json).unwrap();
        assert_eq!(&back, e);
    }
}

/// A server lowers the priority of its request threads; the syncs its requests start run at
/// the normal priority all the same (Linux threads inherit their creator's).
#[cfg(target_os = "linux")]
#[test]
fn syncs_do_not_inherit_the_priority_of_the_thread_that_asks() {
    fn own_priority() -> i32 {
        // SAFETY: plain system calls on the calling thread.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            libc::getpriority(libc::PRIO_PROCESS, tid)
        }
    }
    let w = World::new();
    let a = w.device("a");
    let base = own_priority();
    let seen = Arc::new(Mutex::new(None));
    let record = seen.clone();
    // Listeners run on the sync's own thread.
    let _sub = a.engine.events().subscribe(move |e| {
        if let Event::SyncBegin(_) = e {
            *record.lock().unwrap() = Some(own_priority());
        }
    });
    let engine = a.engine.clone();
    let job = std::thread::spawn(move || {
        // SAFETY: as above.
        unsafe {
            let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
            assert_eq!(libc::setpriority(libc::PRIO_PROCESS, tid, base + 5), 0);
        }
        assert_eq!(own_priority(), base + 5);
        let req = PerformSyncRequest {
            app: "test".into(),
            ..Default::default()
        };
        engine.perform_sync(&req).unwrap().job_ids[0]
    })
    .join()
    .unwrap();
    assert_eq!(a.engine.wait_job(job).unwrap().status, JobStatus::Succeeded);
    assert_eq!(
        *seen.lock().unwrap(),
        Some(base),
        "the sync ran at the normal priority"
    );
}
