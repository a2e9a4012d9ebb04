//! `sync` between devices sharing one remote directory, and what it reports.

mod common;

use std::fs::{self, File};

use common::*;
use serde_json::Value;

/// Files device A starts with: a nested one and one large enough for several chunks.
fn seed(a: &Device) {
    a.write("notes.txt", b"hello from A\n");
    a.write("deep/er/data.bin", &noise(3 << 20, 1));
    a.write("small.txt", b"s");
}

#[test]
fn two_devices_converge_and_jobs_are_recorded() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    seed(&a);

    let (code, jobs) = a.json(&["sync"]);
    assert_eq!(code, 0, "{jobs:#}");
    let job_a = only_job(&jobs);
    assert_eq!(job_a["status"], "succeeded");
    assert_eq!(job_a["stats"]["files_uploaded"], 3);

    let out = b.run(&["sync"]);
    assert_ok(&out);
    assert_eq!(
        stderr(&out),
        "",
        "no progress output when stderr is not a terminal"
    );
    let summary = stdout(&out);
    assert!(summary.starts_with("docs: succeeded"), "{summary}");
    assert!(summary.contains("3 downloaded"), "{summary}");
    for f in ["notes.txt", "deep/er/data.bin", "small.txt"] {
        assert_eq!(b.read(f), a.read(f), "{f}");
    }

    // info: the getSyncInfo shape.
    let (code, info) = b.json(&["info"]);
    assert_eq!(code, 0);
    assert_eq!(info["providerName"], "Local");
    assert_eq!(info["cloudName"], "main");
    assert_eq!(info["enabled"], true);
    assert_eq!(info["syncing"], false);
    for key in ["current", "total", "info", "msg", "percent"] {
        assert!(
            info["progress"].get(key).is_some(),
            "progress.{key}: {info:#}"
        );
    }
    let folder = &info["folders"][0];
    assert_eq!(folder["name"], "docs");
    assert_eq!(folder["syncing"], false);
    assert_eq!(folder["lastJob"]["status"], "succeeded");
    assert!(folder["lastSyncAt"].is_string(), "{folder:#}");

    // jobs list: B downloaded, A uploaded.
    let (code, page) = b.json(&["jobs", "list"]);
    assert_eq!(code, 0);
    assert_eq!(page["meta"]["total"], 1);
    let job_b = &page["items"][0];
    assert_eq!(job_b["status"], "succeeded");
    assert_eq!(job_b["job_type"], "sync");
    assert_eq!(job_b["trigger_type"], "manual");
    assert_eq!(job_b["stats"]["files_downloaded"], 3);
    assert_eq!(job_b["stats"]["files_uploaded"], 0);
    let (_, page) = a.json(&["jobs", "list", "--status", "succeeded", "--type", "sync"]);
    assert_eq!(page["items"][0]["stats"]["files_uploaded"], 3);
    let (_, page) = a.json(&["jobs", "list", "--status", "failed"]);
    assert_eq!(page["meta"]["total"], 0, "filters apply");

    // jobs show: the seed-004 record plus its log.
    let id = job_b["id"].as_i64().unwrap();
    let (code, shown) = b.json(&["jobs", "show", &id.to_string()]);
    assert_eq!(code, 0);
    for key in [
        "id",
        "job_type",
        "trigger_type",
        "status",
        "started_at",
        "ended_at",
        "error_message",
        "metadata",
        "stats",
        "created_at",
        "updated_at",
    ] {
        assert!(shown.get(key).is_some(), "{key} missing: {shown:#}");
    }
    assert_eq!(shown["id"], id);
    assert_eq!(shown["metadata"]["app"], "syncdesk-cli");
    assert!(shown["started_at"].is_string() && shown["ended_at"].is_string());
    assert!(shown["log"].is_array(), "{shown:#}");

    let (code, doc) = b.json(&["jobs", "show", "9999"]);
    assert_eq!(code, 1);
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("no job with id 9999")
    );

    // Changes on B come back to A, an empty file too.
    b.write("notes.txt", b"edited on B\n");
    b.write("empty", b"");
    assert_ok(&b.run(&["sync"]));
    assert_ok(&a.run(&["sync"]));
    assert_eq!(a.read("notes.txt"), b"edited on B\n");
    assert_eq!(a.read("empty"), b"");
}

#[test]
fn app_is_recorded_and_an_empty_app_is_refused() {
    let w = World::new();
    let a = w.device("a");
    let (code, jobs) = a.json(&["sync", "--app", "backup-script"]);
    assert_eq!(code, 0);
    assert_eq!(only_job(&jobs)["metadata"]["app"], "backup-script");
    let (code, doc) = a.json(&["sync", "--app", ""]);
    assert_eq!(code, 1);
    assert!(doc["error"].as_str().unwrap().contains("app is required"));
}

#[test]
fn dry_run_lists_changes_and_changes_nothing() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    seed(&a);
    assert_ok(&a.run(&["sync"]));
    b.write("only-on-b.txt", b"B's own");
    let before_b = b.tree();
    let before_remote = tree(&w.remote());

    let (code, previews) = b.json(&["sync", "--dry-run"]);
    assert_eq!(code, 0, "{previews:#}");
    let p = &previews.as_array().expect("an array of previews")[0];
    assert_eq!(p["folder"], "docs");
    let list = |key: &str| -> Vec<String> {
        let mut v: Vec<String> = serde_json::from_value(p[key].clone()).unwrap();
        v.sort();
        v
    };
    assert_eq!(
        list("download"),
        ["deep/er/data.bin", "notes.txt", "small.txt"]
    );
    assert_eq!(list("upload"), ["only-on-b.txt"]);
    assert!(list("deleteLocal").is_empty() && list("deleteRemote").is_empty());

    let out = b.run(&["sync", "--dry-run"]);
    assert_ok(&out);
    let text = stdout(&out);
    assert!(text.contains("1 to upload, 3 to download"), "{text}");
    assert!(text.contains("    only-on-b.txt"), "{text}");

    assert_eq!(b.tree(), before_b, "the folder is unchanged");
    assert_eq!(tree(&w.remote()), before_remote, "the remote is unchanged");
    let (_, page) = b.json(&["jobs", "list"]);
    assert_eq!(page["meta"]["total"], 0, "a dry run records no job");
}

#[test]
fn force_pull_needs_yes_then_replaces_local_files_into_the_trash() {
    let w = World::new();
    let a = w.device("a");
    let b = w.device("b");
    seed(&a);
    assert_ok(&a.run(&["sync"]));
    b.write("notes.txt", b"B's different notes\n");
    b.write("stray.txt", b"only on B\n");
    let before = b.tree();

    // Nobody can be asked (stdin is not a terminal): exit 4, nothing changed.
    let out = b.run(&["sync", "--push-mode", "force-pull"]);
    assert_eq!(exit_code(&out), 4, "{}", stderr(&out));
    assert!(
        stdout(&out).contains("to replace locally"),
        "the preview is shown first"
    );
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
    let (code, doc) = b.json(&["sync", "--push-mode", "force-pull"]);
    assert_eq!(code, 4);
    assert!(doc["error"].as_str().unwrap().contains("--yes"));
    assert_eq!(
        doc["preview"][0]["replace"],
        serde_json::json!(["notes.txt"])
    );
    assert_eq!(
        doc["preview"][0]["deleteLocal"],
        serde_json::json!(["stray.txt"])
    );
    assert_eq!(b.tree(), before);
    assert_eq!(b.json(&["jobs", "list"]).1["meta"]["total"], 0);

    let (code, jobs) = b.json(&["sync", "--push-mode", "force-pull", "--yes"]);
    assert_eq!(code, 0, "{jobs:#}");
    let job = only_job(&jobs);
    assert_eq!(job["job_type"], "force_pull");
    assert_eq!(job["status"], "succeeded");
    for f in ["notes.txt", "deep/er/data.bin", "small.txt"] {
        assert_eq!(b.read(f), a.read(f), "{f}");
    }
    assert!(!b.folder.join("stray.txt").exists());
    // Now in step with the remote, a force-pull changes nothing: no question asked.
    let (code, jobs) = b.json(&["sync", "--push-mode", "force-pull"]);
    assert_eq!(code, 0, "{jobs:#}");

    let (code, trash) = b.json(&["trash", "list", "--folder", "docs"]);
    assert_eq!(code, 0);
    let items = trash.as_array().unwrap();
    let find = |path: &str| -> &Value {
        items
            .iter()
            .find(|i| i["path"] == path)
            .unwrap_or_else(|| panic!("{path} not in {trash:#}"))
    };
    assert_eq!(find("notes.txt")["size"], 20);
    let stray = find("stray.txt");

    // And a trashed file can come back.
    let batch = stray["batch"].as_str().unwrap();
    let (code, restored) = b.json(&["trash", "restore", "--folder", "docs", batch, "stray.txt"]);
    assert_eq!(code, 0, "{restored:#}");
    assert_eq!(b.read("stray.txt"), b"only on B\n");
    let out = b.run(&["trash", "restore", "--folder", "docs", batch, "stray.txt"]);
    assert_eq!(exit_code(&out), 1, "a file is restored once");
}

#[test]
fn push_only_is_a_deprecated_force_push() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    let out = run(a.cmd().args(["--json", "sync", "--push-only", "--yes"]));
    assert_ok(&out);
    assert_eq!(only_job(&parse(&out))["job_type"], "force_push");
    assert!(stderr(&out).contains("deprecated"), "{}", stderr(&out));

    a.write("x.txt", b"changed");
    let out = a.run(&["sync", "--push-only"]);
    assert_eq!(
        exit_code(&out),
        4,
        "a force mode without --yes cannot ask anyone"
    );
}

#[test]
fn mass_deletion_needs_confirmation() {
    let w = World::new();
    let a = w.device("a");
    for i in 0..12 {
        a.write(&format!("f{i:02}.txt"), format!("file {i}").as_bytes());
    }
    assert_ok(&a.run(&["sync"]));
    for i in 0..12 {
        fs::remove_file(a.folder.join(format!("f{i:02}.txt"))).unwrap();
    }

    let out = a.run(&["sync"]);
    assert_eq!(exit_code(&out), 4);
    let text = stdout(&out);
    assert!(text.contains("needs_confirmation"), "{text}");
    assert!(text.contains("would delete 12"), "{text}");
    assert!(text.contains("re-run with --yes to go ahead"), "{text}");
    let (_, snaps) = a.json(&["snapshots", "--folder", "docs"]);
    assert_eq!(snaps.as_array().unwrap().len(), 1, "nothing was committed");

    let (code, jobs) = a.json(&["sync", "--yes"]);
    assert_eq!(code, 0, "{jobs:#}");
    assert_eq!(only_job(&jobs)["stats"]["files_deleted"], 12);
}

#[test]
fn a_failed_job_is_exit_3_with_its_error() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    assert_ok(&a.run(&["sync"]));
    // The folder looks replaced (its marker is gone): the engine refuses to sync it.
    fs::remove_dir_all(a.folder.join(".syncdesk")).unwrap();

    let out = a.run(&["sync"]);
    assert_eq!(exit_code(&out), 3, "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("docs: failed"), "{text}");
    assert!(
        text.contains("error:") && text.contains(".syncdesk marker"),
        "{text}"
    );

    let (code, jobs) = a.json(&["sync"]);
    assert_eq!(code, 3);
    let job = only_job(&jobs);
    assert_eq!(job["status"], "failed");
    assert!(job["error_message"].as_str().unwrap().contains("marker"));
}

#[test]
fn a_held_folder_lock_is_exit_5() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    let locks = a.state.join("locks");
    fs::create_dir_all(&locks).unwrap();
    let lock = File::create(locks.join("docs.lock")).unwrap();
    lock.lock().unwrap();

    let out = a.run(&["sync"]);
    assert_eq!(exit_code(&out), 5);
    assert!(
        stderr(&out).contains("Sync is in progress, please try again later"),
        "{}",
        stderr(&out)
    );
    let (code, doc) = a.json(&["sync", "--detach"]);
    assert_eq!(code, 5);
    assert_eq!(doc["error"], "Sync is in progress, please try again later");
    let (_, info) = a.json(&["info"]);
    assert_eq!(
        info["folders"][0]["syncing"], true,
        "another process holds the lock"
    );

    drop(lock);
    assert_ok(&a.run(&["sync"]));
}

#[test]
fn detach_returns_job_ids_and_the_job_completes() {
    let w = World::new();
    let a = w.device("a");
    seed(&a);

    let (code, doc) = a.json(&["sync", "--detach"]);
    assert_eq!(code, 0, "{doc:#}");
    let ids = doc["jobIds"].as_array().expect("jobIds");
    assert_eq!(ids.len(), 1);
    let id = ids[0].as_i64().unwrap().to_string();

    // The job runs in a grandchild process; `jobs wait` blocks until it ends.
    let (code, job) = a.json(&["jobs", "wait", &id]);
    assert_eq!(code, 0, "{job:#}");
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["stats"]["files_uploaded"], 3);
    let (_, snaps) = a.json(&["snapshots", "--folder", "docs"]);
    assert_eq!(snaps.as_array().unwrap().len(), 1);
}

#[test]
fn previews_refuse_a_repository_the_folder_does_not_use() {
    let w = World::new();
    let a = w.device("a");
    a.write("x.txt", b"x");
    // A preview would read `main` and show the wrong changes, so it is refused.
    let (code, doc) = a.json(&["sync", "--dry-run", "--cloud-name", "other"]);
    assert_eq!(code, 1, "{doc}");
    assert!(
        doc["error"]
            .as_str()
            .unwrap()
            .contains("another repository"),
        "{doc}"
    );
    let (code, _) = a.json(&["sync", "--dry-run", "--cloud-name", "main"]);
    assert_eq!(code, 0);

    // A two-way sync switches the folder to the new repository.
    let (code, jobs) = a.json(&["sync", "--cloud-name", "other"]);
    assert_eq!(code, 0, "{jobs:#}");
    assert_eq!(only_job(&jobs)["metadata"]["cloud_name"], "other");
    assert!(w.remote().join("other").is_dir());
    assert_eq!(a.json(&["folder", "list"]).1[0]["cloudName"], "other");
}
