//! Multi-device sync through a local-directory remote, on the real filesystem.

mod common;

use std::fs;

use common::{World, conflict_copies};
use syncdesk_engine::EngineError;
use syncdesk_engine::model::{JobStatus, PerformSyncRequest, PushMode};

#[test]
fn files_dirs_links_and_deletions_reach_the_other_device() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("notes/today.md", b"hello");
    a.write("big.bin", &vec![7u8; 3 << 20]);
    a.write("empty.txt", b"");
    fs::create_dir_all(a.path("empty-dir/inner")).unwrap();
    std::os::unix::fs::symlink("notes/today.md", a.path("link")).unwrap();
    let job = a.sync();
    assert_eq!(
        job.stats.files_uploaded, 3,
        "the empty file counts as a new file"
    );
    b.sync();
    assert_eq!(b.tree(), a.tree());

    // Edits, a deletion and a new exec bit travel back.
    b.write("notes/today.md", b"hello again");
    b.remove("big.bin");
    b.remove("empty-dir");
    use std::os::unix::fs::PermissionsExt;
    fs::write(b.path("run.sh"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(b.path("run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
    b.sync();
    let job = a.sync();
    assert_eq!(a.tree(), b.tree());
    assert_eq!(a.read("notes/today.md").unwrap(), b"hello again");
    assert!(!a.path("big.bin").exists());
    assert!(!a.path("empty-dir").exists());
    let mode = fs::metadata(a.path("run.sh")).unwrap().permissions().mode();
    assert_eq!(mode & 0o111, 0o111, "executable bit synced");
    assert!(job.stats.files_downloaded >= 2);
    // What a sync replaced or deleted locally went to the trash first.
    let trash = a.trash();
    assert!(trash.contains(&b"hello".to_vec()));
    assert!(trash.contains(&vec![7u8; 3 << 20]));
}

#[test]
fn no_change_resync_writes_nothing() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    a.sync();
    let before: Vec<_> = walk_names(&w.remote);
    let job = a.sync();
    assert_eq!(job.stats.files_uploaded, 0);
    assert_eq!(job.stats.bytes_uploaded, 0);
    assert_eq!(
        walk_names(&w.remote),
        before,
        "no new objects on the remote"
    );
}

fn walk_names(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk_names(&e.path()));
        } else {
            out.push(e.path().to_string_lossy().into_owned());
        }
    }
    out.sort();
    out
}

#[test]
fn concurrent_edits_keep_both_versions_and_devices_converge() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("doc.txt", b"base");
    a.sync();
    b.sync();
    a.write("doc.txt", b"from a");
    b.write("doc.txt", b"from b, longer");
    a.sync();
    let job = b.sync();
    assert_eq!(job.stats.conflicts, 1);
    a.sync();
    let (ta, tb) = (a.tree(), b.tree());
    assert_eq!(ta, tb, "both devices hold the same files");
    let copies = conflict_copies(&ta);
    assert_eq!(copies.len(), 1, "{ta:?}");
    let mut contents = vec![ta["doc.txt"].clone(), ta[&copies[0]].clone()];
    contents.sort();
    assert_eq!(
        contents,
        vec![b"from a".to_vec(), b"from b, longer".to_vec()]
    );
    // Named from the losing version: name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext
    let copy = &copies[0];
    assert!(
        copy.starts_with("doc.sync-conflict-") && copy.ends_with(".txt"),
        "{copy}"
    );
    // A later sync on either side changes nothing more.
    assert_eq!(a.sync().stats.conflicts, 0);
    assert_eq!(b.sync().stats.files_downloaded, 0);
}

#[test]
fn identical_concurrent_edits_are_not_a_conflict() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("same.txt", b"one");
    a.sync();
    b.sync();
    a.write("same.txt", b"two");
    b.write("same.txt", b"two");
    a.sync();
    assert_eq!(b.sync().stats.conflicts, 0);
    a.sync();
    assert!(conflict_copies(&a.tree()).is_empty());
    assert_eq!(a.tree(), b.tree());
}

#[test]
fn modification_beats_a_concurrent_deletion() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("keep.txt", b"v1");
    a.write("dir/inner.txt", b"inner v1");
    a.sync();
    b.sync();
    a.remove("keep.txt");
    a.remove("dir");
    b.write("keep.txt", b"v2");
    b.write("dir/inner.txt", b"inner v2");
    a.sync();
    b.sync();
    a.sync();
    assert_eq!(a.read("keep.txt").unwrap(), b"v2");
    assert_eq!(a.read("dir/inner.txt").unwrap(), b"inner v2");
    assert_eq!(a.tree(), b.tree());
}

#[test]
fn a_deletion_reaches_unchanged_devices() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    let c = w.device("c");
    a.write("gone.txt", b"bye");
    a.sync();
    b.sync();
    c.sync();
    b.remove("gone.txt");
    b.sync();
    a.sync();
    c.sync();
    assert!(!a.path("gone.txt").exists());
    assert!(!c.path("gone.txt").exists());
    assert!(a.trash().contains(&b"bye".to_vec()));
}

#[test]
fn mass_deletion_waits_for_confirmation() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    for i in 0..20 {
        a.write(&format!("f{i}.txt"), format!("{i}").as_bytes());
    }
    a.sync();
    b.sync();
    for i in 0..15 {
        a.remove(&format!("f{i}.txt"));
    }
    let job = a.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::NeedsConfirmation);
    assert!(
        job.error_message
            .unwrap()
            .contains("delete 15 of 20 files on the remote")
    );
    b.sync();
    assert_eq!(
        b.tree().len(),
        20,
        "nothing was deleted on the other device"
    );
    let job = a
        .sync_with(PerformSyncRequest {
            confirm: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    // The other device guards its own side too: its user confirms as well.
    let job = b.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::NeedsConfirmation);
    assert!(
        job.error_message
            .unwrap()
            .contains("delete 15 of 20 local files")
    );
    assert_eq!(b.tree().len(), 20);
    let job = b
        .sync_with(PerformSyncRequest {
            confirm: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(b.tree().len(), 5);
}

#[test]
fn an_unmounted_or_missing_folder_stops_the_sync() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("precious.txt", b"data");
    a.sync();
    b.sync();
    // The drive is "unmounted": the directory is there but empty, marker gone.
    fs::remove_dir_all(&a.root).unwrap();
    fs::create_dir(&a.root).unwrap();
    let job = a.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error_message.unwrap().contains("looks unmounted"));
    fs::remove_dir(&a.root).unwrap();
    let job = a.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(job.error_message.unwrap().contains("does not exist"));
    b.sync();
    assert_eq!(
        b.read("precious.txt").unwrap(),
        b"data",
        "no deletion was published"
    );
}

#[test]
fn force_pull_makes_local_equal_the_remote_with_a_preview_first() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("shared.txt", b"remote truth");
    a.sync();
    b.sync();
    b.write("shared.txt", b"local edit");
    b.write("local-only.txt", b"mine");
    let preview = b
        .engine
        .preview(&PerformSyncRequest {
            app: "t".into(),
            push_mode: PushMode::ForcePull,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(preview[0].replace, vec!["shared.txt".to_string()]);
    assert_eq!(preview[0].delete_local, vec!["local-only.txt".to_string()]);
    assert!(preview[0].upload.is_empty());
    assert_eq!(
        b.read("local-only.txt").unwrap(),
        b"mine",
        "a preview changes nothing"
    );
    b.sync_mode(PushMode::ForcePull);
    assert_eq!(b.tree(), a.tree());
    let trash = b.trash();
    assert!(trash.contains(&b"local edit".to_vec()) && trash.contains(&b"mine".to_vec()));
}

#[test]
fn force_push_makes_the_remote_equal_local() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("one.txt", b"1");
    a.write("two.txt", b"2");
    a.sync();
    b.sync();
    a.write("two.txt", b"2 changed");
    a.sync();
    // b never saw the change and pushes its own state over everything known.
    b.remove("one.txt");
    b.write("three.txt", b"3");
    let preview = b
        .engine
        .preview(&PerformSyncRequest {
            app: "t".into(),
            push_mode: PushMode::ForcePush,
            ..Default::default()
        })
        .unwrap();
    assert!(preview[0].delete_remote.contains(&"one.txt".to_string()));
    b.sync_mode(PushMode::ForcePush);
    a.sync();
    assert_eq!(a.tree(), b.tree());
    assert_eq!(a.read("two.txt").unwrap(), b"2");
    assert!(!a.path("one.txt").exists());
}

#[test]
fn a_second_sync_of_the_same_folder_is_refused() {
    let w = World::new();
    let a = w.device("a");
    fs::create_dir_all(a.state.join("locks")).unwrap();
    let lock = fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(a.state.join("locks/docs.lock"))
        .unwrap();
    lock.lock().unwrap();
    let err = a.engine.perform_sync(&PerformSyncRequest {
        app: "t".into(),
        ..Default::default()
    });
    match err {
        Err(e @ EngineError::SyncInProgress) => {
            assert_eq!(e.to_string(), "Sync is in progress, please try again later")
        }
        other => panic!("expected in-progress, got {other:?}"),
    }
    drop(lock);
    a.sync();
}

#[test]
fn perform_sync_requires_app_and_returns_at_once_with_progress() {
    let w = World::new();
    let a = w.device("a");
    let err = a
        .engine
        .perform_sync(&PerformSyncRequest::default())
        .unwrap_err();
    assert!(matches!(err, EngineError::AppRequired));
    a.write("x", b"x");
    let started = a
        .engine
        .perform_sync(&PerformSyncRequest {
            app: "client-1".into(),
            push_only: true,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(started.progress.current, 0);
    assert!(!started.progress.info.is_empty());
    let job = a.engine.wait_job(started.job_ids[0]).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    // pushOnly is the deprecated spelling of force-push.
    assert_eq!(job.job_type.as_str(), "force_push");
    assert_eq!(job.metadata["app"], "client-1");
}

#[test]
fn changing_cloud_name_starts_a_new_repository() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    a.sync();
    let job = a
        .sync_with(PerformSyncRequest {
            cloud_name: Some("other".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(
        job.stats.files_uploaded, 1,
        "everything is pushed to the new repository"
    );
    assert!(w.remote.join("other/heads").is_dir());
    assert_eq!(a.engine.folder("docs").unwrap().cloud_name, "other");
}

#[test]
fn hostile_names_round_trip() {
    use std::os::unix::ffi::OsStrExt;
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("line\nbreak.txt", b"nl");
    let long = "x".repeat(255);
    a.write(&long, b"long");
    let bad = std::ffi::OsStr::from_bytes(b"caf\xe9.txt");
    fs::write(a.root.join(bad), b"latin1").unwrap();
    a.write("Readme.md", b"1");
    a.write("README.md", b"2");
    let job = a.sync();
    assert_eq!(job.metadata["name_clashes"], "1");
    let log = a.engine.job_log(job.id).unwrap();
    assert!(log.iter().any(|l| l.msg.contains("differ only by case")));
    b.sync();
    assert_eq!(fs::read(b.root.join(bad)).unwrap(), b"latin1");
    assert_eq!(b.tree(), a.tree());
}

#[test]
fn ignored_files_are_neither_uploaded_nor_deleted() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write(".syncignore", b"*.tmp\n");
    a.write("keep.txt", b"k");
    a.write("scratch.tmp", b"t");
    a.sync();
    b.sync();
    assert!(b.read("keep.txt").is_some());
    assert!(b.read("scratch.tmp").is_none());
    // A file b already has, newly ignored on b, is not deleted on a.
    b.write(".syncignore", b"*.tmp\nkeep.txt\n");
    b.remove("keep.txt");
    b.sync();
    a.sync();
    assert_eq!(a.read("keep.txt").unwrap(), b"k");
}

#[test]
fn a_corrupted_pack_is_reported_by_sync_and_check_and_nothing_local_changes() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    a.write("data.txt", &b"important ".repeat(1000));
    a.sync();
    let report = a.engine.check("docs").unwrap();
    assert!(report.ok(), "{:?}", report.errors);
    assert!(report.blobs >= 2 && report.packs >= 1);
    // Flip a byte in the middle of every pack.
    for pack in walk_names(&w.remote.join("main/packs")) {
        let mut bytes = fs::read(&pack).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        fs::write(&pack, bytes).unwrap();
    }
    let report = a.engine.check("docs").unwrap();
    assert!(!report.ok());
    b.write("mine.txt", b"untouched");
    let job = b.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    // The damaged device's head is skipped (not fully readable), never applied half-way.
    assert_eq!(b.read("mine.txt").unwrap(), b"untouched");
    assert!(b.read("data.txt").is_none());
    let log = b.engine.job_log(job.id).unwrap();
    assert!(
        log.iter().any(|l| l.msg.contains("skipping device")),
        "{log:?}"
    );
}

#[test]
fn history_lists_snapshots_and_restores_files_and_dirs() {
    let w = World::new();
    let a = w.device("a");
    a.write("docs/a.txt", b"first");
    a.write("docs/sub/b.txt", b"bee");
    a.sync();
    a.write("docs/a.txt", b"second");
    a.sync();
    let snaps = a.engine.snapshots("docs").unwrap();
    assert_eq!(snaps.len(), 2);
    let oldest = &snaps[1];
    assert_eq!(oldest.files, 2);
    let files = a.engine.snapshot_files("docs", &oldest.id, "docs").unwrap();
    let names: Vec<_> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a.txt", "sub"]);
    let out = w.dir.path().join("restored");
    let report = a
        .engine
        .restore("docs", &oldest.id[..8], "docs/a.txt", &out)
        .unwrap();
    assert_eq!(report.files, 1);
    assert_eq!(fs::read(out.join("a.txt")).unwrap(), b"first");
    a.engine.restore("docs", &oldest.id, "docs", &out).unwrap();
    assert_eq!(fs::read(out.join("docs/sub/b.txt")).unwrap(), b"bee");
    // Never overwrites.
    assert!(
        a.engine
            .restore("docs", &oldest.id, "docs/a.txt", &out)
            .is_err()
    );
}

#[test]
fn another_installation_writing_as_this_device_stops_the_sync() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"1");
    a.sync();
    let id = &a.engine.device().id;
    let head_path = w.remote.join(format!("main/heads/{id}"));
    let mut head: serde_json::Value =
        serde_json::from_slice(&fs::read(&head_path).unwrap()).unwrap();
    head["nonce"] = "0123456789abcdef0123456789abcdef".into();
    fs::write(&head_path, serde_json::to_vec(&head).unwrap()).unwrap();
    let job = a.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        job.error_message
            .unwrap()
            .contains("another Syncdesk installation")
    );
}

#[test]
fn a_damaged_base_fails_clearly_and_touches_nothing_local() {
    let w = World::new();
    let a = w.device("a");
    a.write("keep.txt", b"mine");
    a.sync();
    // The device's own last snapshot is damaged on the remote.
    for snap in walk_names(&w.remote.join("main/snapshots")) {
        fs::write(&snap, b"{}").unwrap();
    }
    a.write("new.txt", b"new");
    let before = a.tree();
    let job = a.sync_with(PerformSyncRequest::default()).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = job.error_message.unwrap();
    assert!(
        msg.contains("last snapshot cannot be read") && msg.contains("check"),
        "{msg}"
    );
    assert_eq!(a.tree(), before, "nothing local changed");
    assert!(!a.engine.check("docs").unwrap().ok());
    // Force-push starts over from the local folder, as the message says.
    a.sync_mode(PushMode::ForcePush);
    let b = w.device("b");
    b.sync();
    assert_eq!(b.tree(), a.tree());
}

#[test]
fn unusable_paths_are_refused_when_adding_a_folder() {
    let w = World::new();
    let engine = syncdesk_engine::Engine::open(&w.dir.path().join("state")).unwrap();
    let remote = w.remote.to_str().unwrap();
    let err = engine
        .add_folder(
            "x",
            std::path::Path::new("/proc/syncdesk-nope"),
            remote,
            None,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot create /proc/syncdesk-nope"),
        "{err}"
    );
    let err = engine
        .add_folder("x", &w.dir.path().join("f"), "/proc/syncdesk-remote", None)
        .unwrap_err();
    assert!(err.to_string().contains("/proc/syncdesk-remote"), "{err}");
    let err = engine
        .add_folder("x", std::path::Path::new("relative/dir"), remote, None)
        .unwrap_err();
    assert!(err.to_string().contains("not an absolute path"), "{err}");
    // The remote inside the folder would sync itself.
    let inside = w.dir.path().join("f/remote");
    let err = engine
        .add_folder("x", &w.dir.path().join("f"), inside.to_str().unwrap(), None)
        .unwrap_err();
    assert!(
        err.to_string().contains("must not contain one another"),
        "{err}"
    );
    assert!(engine.folders().unwrap().is_empty(), "nothing was added");
}

#[test]
fn perform_sync_during_the_boot_sync_is_refused_with_the_seed_message() {
    use std::sync::{Arc, Mutex};
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    let answer = Arc::new(Mutex::new(None));
    let engine = Arc::downgrade(&a.engine);
    let seen = answer.clone();
    // Subscribers run on the job's thread: this call happens while the boot sync runs.
    let _sub = a.engine.events().subscribe(move |e| {
        if let syncdesk_engine::model::Event::SyncBegin(_) = e
            && let Some(engine) = engine.upgrade()
        {
            let r = engine.perform_sync(&PerformSyncRequest {
                app: "t".into(),
                ..Default::default()
            });
            *seen.lock().unwrap() = Some(r.map(|_| ()).map_err(|e| e.to_string()));
        }
    });
    let ids = a.engine.start_boot_sync().unwrap();
    let job = a.engine.wait_job(ids[0]).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded);
    assert_eq!(job.trigger_type.as_str(), "boot");
    assert_eq!(
        answer.lock().unwrap().clone(),
        Some(Err(
            "Boot sync is in progress, please try again later".to_string()
        ))
    );
}
