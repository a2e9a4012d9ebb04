//! Seeds 000 (`performSync`) and 001 (`getSyncInfo`) over HTTP, as a client of the seed
//! would call them.

mod common;

use std::sync::{Arc, Barrier};

use common::{
    Gate, SEED_000_FIRST, SEED_000_SECOND, TestServer, assert_envelope_error, files_under, keys,
};
use serde_json::{Value, json};

const PERFORM: &str = "/api/sync/performSync";
const INFO: &str = "/api/sync/getSyncInfo";

/// `performSync` with a raw body: the whole answer (HTTP 200 checked).
fn perform_raw(ts: &TestServer, body: &str) -> Value {
    let r = ts.post_raw(
        PERFORM,
        Some(&ts.admin),
        Some("application/json"),
        body.to_owned(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()
}

/// Seed 000's success shape: `{code: 0, msg: "", data: {current, total, info, msg, …}}` with
/// the initial progress: the started job ids.
fn assert_started(v: &Value) -> Vec<i64> {
    assert_eq!(keys(v), ["code", "data", "msg"], "{v:#}");
    assert_eq!(v["code"], 0, "{v:#}");
    assert_eq!(v["msg"], "", "{v:#}");
    let d = &v["data"];
    assert_eq!(d["current"], 0, "{v:#}");
    assert_eq!(d["total"], 0, "{v:#}");
    assert!(d["info"].as_str().is_some_and(|i| !i.is_empty()), "{v:#}");
    assert_eq!(d["msg"], "", "{v:#}");
    assert_eq!(d["percent"], 0.0, "{v:#}");
    d["jobIds"]
        .as_array()
        .expect("jobIds")
        .iter()
        .map(|id| id.as_i64().expect("an id"))
        .collect()
}

#[test]
fn seed_first_example_answers_at_once_and_runs_a_two_way_api_sync() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    ts.write("docs", "sub/b.txt", b"beta");
    let gate = Gate::new(&ts.engine, "docs");

    let v = perform_raw(&ts, SEED_000_FIRST);
    let ids = assert_started(&v);
    assert_eq!(ids.len(), 1);
    assert_eq!(v["data"]["info"], "Preparing to sync");
    // The answer came while the sync is still held at its start: it did not wait for it.
    assert_eq!(gate.wait_held(), ids[0]);
    let running = ts.job(ids[0]);
    assert_eq!(running["status"], "running", "{running:#}");
    gate.open();

    let job = ts.wait_job(ids[0]);
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["job_type"], "sync");
    assert_eq!(job["trigger_type"], "api");
    assert_eq!(job["folder"], "docs");
    assert_eq!(job["metadata"]["app"], "my-client-app-123");
    assert_eq!(job["metadata"]["mode"], "");
    assert_eq!(job["metadata"]["force"], "false");
    assert_eq!(job["stats"]["files_scanned"], 2);
    assert_eq!(job["stats"]["files_uploaded"], 2);
    assert!(job["stats"]["bytes_uploaded"].as_u64().unwrap() > 0);
    // It really went to the repository.
    let snaps = ts.call("/api/history/listSnapshots", json!({ "folder": "docs" }));
    assert_eq!(snaps.as_array().unwrap().len(), 1, "{snaps:#}");
    assert_eq!(snaps[0]["files"], 2, "{snaps:#}");
}

#[test]
fn seed_second_example_runs_a_force_push() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let v = perform_raw(&ts, SEED_000_SECOND);
    let ids = assert_started(&v);
    assert_eq!(ids.len(), 1);
    let job = ts.wait_job(ids[0]);
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["job_type"], "force_push");
    assert_eq!(job["trigger_type"], "api");
    assert_eq!(job["metadata"]["app"], "my-client-app-123");
    assert_eq!(job["metadata"]["mode"], "force-push");
    assert_eq!(job["stats"]["files_uploaded"], 1);
}

#[test]
fn without_app_nothing_starts() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    for body in [
        json!({ "app": "" }),
        json!({}),
        json!({ "app": "   " }),
        json!({ "force": false, "pushMode": "" }),
    ] {
        let v = ts.refused(PERFORM, body.clone(), "app_required");
        assert_eq!(
            v["msg"], "app is required: name the client asking for the sync",
            "{body}"
        );
    }
    // An empty body is `{}`: no app either.
    let r = ts.post_raw(PERFORM, Some(&ts.admin), None, "");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_envelope_error(&r.json(), "app_required");
    assert_eq!(ts.job_count(), 0, "no job was created");
}

#[test]
fn push_only_is_force_push_and_an_explicit_push_mode_wins() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let cases = [
        (
            json!({ "app": "old-client", "pushOnly": true }),
            "force_push",
        ),
        (json!({ "app": "old-client", "pushOnly": false }), "sync"),
        (
            json!({ "app": "old-client", "pushOnly": true, "pushMode": "force-pull" }),
            "force_pull",
        ),
        (
            json!({ "app": "old-client", "pushOnly": false, "pushMode": "force-push" }),
            "force_push",
        ),
    ];
    for (body, job_type) in cases {
        let id = ts.perform_sync(body.clone());
        let job = ts.wait_job(id);
        assert_eq!(job["job_type"], job_type, "{body}: {job:#}");
        assert_eq!(job["status"], "succeeded", "{body}: {job:#}");
        assert_eq!(job["trigger_type"], "api");
    }
}

#[test]
fn a_new_cloud_name_switches_the_folder_and_uploads_everything_to_it() {
    let ts = TestServer::with_docs();
    for i in 0..5 {
        ts.write("docs", &format!("f{i}.txt"), format!("file {i}").as_bytes());
    }
    let first = ts.sync("docs");
    assert_eq!(first["stats"]["files_uploaded"], 5);
    // Same repository again: nothing to upload.
    let again = ts.sync("docs");
    assert_eq!(again["stats"]["files_uploaded"], 0, "{again:#}");

    let id = ts.perform_sync(json!({ "app": "my-client-app-123", "cloudName": "fresh" }));
    // The switch is visible at once, before the sync ends.
    let info = ts.call(INFO, json!({}));
    assert_eq!(info["cloudName"], "fresh", "{info:#}");
    assert_eq!(info["folders"][0]["cloudName"], "fresh", "{info:#}");
    let job = ts.wait_job(id);
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["metadata"]["cloud_name"], "fresh", "{job:#}");
    assert_eq!(
        job["stats"]["files_uploaded"], 5,
        "everything goes to the new repository: {job:#}"
    );
    let folders = ts.call("/api/folder/listFolders", json!({}));
    assert_eq!(folders[0]["cloudName"], "fresh");
    assert!(
        ts.remote.join("fresh").is_dir(),
        "{:?}",
        files_under(&ts.remote)
    );
    // The snapshots listed are now the new repository's: one, with the five files.
    let snaps = ts.call("/api/history/listSnapshots", json!({ "folder": "docs" }));
    assert_eq!(snaps.as_array().unwrap().len(), 1, "{snaps:#}");
    assert_eq!(snaps[0]["files"], 5);

    // The same name again changes nothing.
    let same = ts.perform_sync(json!({ "app": "x", "cloudName": "fresh" }));
    assert_eq!(ts.wait_job(same)["stats"]["files_uploaded"], 0);
}

#[test]
fn an_invalid_cloud_name_is_refused_and_changes_nothing() {
    let ts = TestServer::with_docs();
    for bad in [".hidden", "a/b", "x".repeat(65).as_str(), "sp ace"] {
        ts.refused(
            PERFORM,
            json!({ "app": "x", "cloudName": bad }),
            "invalid_request",
        );
    }
    assert_eq!(ts.call(INFO, json!({}))["cloudName"], "main");
    assert_eq!(ts.job_count(), 0);
}

#[test]
fn an_invalid_push_mode_is_a_bad_request() {
    let ts = TestServer::with_docs();
    for body in [
        json!({ "app": "x", "pushMode": "sideways" }),
        json!({ "app": "x", "pushMode": "force_push" }),
        json!({ "app": "x", "pushMode": 1 }),
        json!({ "app": "x", "force": "yes" }),
        json!({ "app": 123 }),
    ] {
        let r = ts.post(PERFORM, Some(&ts.admin), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_envelope_error(&r.json(), "invalid_request");
    }
    assert_eq!(ts.job_count(), 0);
}

#[test]
fn a_sync_in_progress_refuses_another_with_the_seed_message() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let gate = Gate::new(&ts.engine, "docs");
    let first = ts.perform_sync(json!({ "app": "one" }));
    gate.wait_held();

    for body in [
        json!({ "app": "two" }),
        json!({ "app": "two", "pushMode": "force-push" }),
        json!({ "app": "two", "folder": "docs" }),
    ] {
        let v = ts.refused(PERFORM, body, "sync_in_progress");
        assert_eq!(v["msg"], "Sync is in progress, please try again later");
    }
    assert_eq!(ts.job_count(), 1, "the refused requests made no job");
    gate.open();
    assert_eq!(ts.wait_job(first)["status"], "succeeded");
    // Free again.
    ts.sync("docs");
}

#[test]
fn a_cloud_name_change_is_refused_while_the_folder_syncs() {
    let ts = TestServer::with_docs();
    let gate = Gate::new(&ts.engine, "docs");
    let first = ts.perform_sync(json!({ "app": "one" }));
    gate.wait_held();
    ts.refused(
        PERFORM,
        json!({ "app": "two", "cloudName": "elsewhere" }),
        "sync_in_progress",
    );
    gate.open();
    ts.wait_job(first);
    assert_eq!(
        ts.call(INFO, json!({}))["cloudName"],
        "main",
        "a refused request must not switch the repository"
    );
}

#[test]
fn two_perform_syncs_at_once_start_exactly_one() {
    let ts = Arc::new(TestServer::with_docs());
    ts.write("docs", "a.txt", b"alpha");
    // The winner's sync is held at its start, so it is surely still running when the
    // loser is answered, however fast the two requests are served.
    let gate = Gate::new(&ts.engine, "docs");
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let ts = ts.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let body = json!({ "app": format!("client-{i}") });
                let req = ts
                    .http
                    .post(ts.url(PERFORM))
                    .header("Authorization", format!("Token {}", ts.admin))
                    .json(&body);
                barrier.wait();
                ts.send(req).json()
            })
        })
        .collect();
    let answers: Vec<Value> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let ok: Vec<&Value> = answers.iter().filter(|v| v["code"] == 0).collect();
    let refused: Vec<&Value> = answers.iter().filter(|v| v["code"] == -1).collect();
    assert_eq!(ok.len(), 1, "{answers:#?}");
    assert_eq!(refused.len(), 1, "{answers:#?}");
    assert_envelope_error(refused[0], "sync_in_progress");
    assert_eq!(
        refused[0]["msg"],
        "Sync is in progress, please try again later"
    );
    let id = ok[0]["data"]["jobIds"][0].as_i64().unwrap();
    assert_eq!(gate.wait_held(), id);
    assert_eq!(ts.job_count(), 1);
    gate.open();
    assert_eq!(ts.wait_job(id)["status"], "succeeded");
}

#[test]
fn two_perform_syncs_at_once_on_a_big_folder_start_exactly_one() {
    // The same race without holding anything: a folder big enough that the first sync is
    // still scanning when the second request arrives.
    let ts = Arc::new(TestServer::with_docs());
    let root = ts.folder_path("docs");
    for d in 0..30 {
        std::fs::create_dir_all(root.join(format!("d{d}"))).unwrap();
    }
    for i in 0..3000 {
        std::fs::write(root.join(format!("d{}/f{i}.txt", i % 30)), format!("{i}")).unwrap();
    }
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|i| {
            let ts = ts.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let req = ts
                    .http
                    .post(ts.url(PERFORM))
                    .header("Authorization", format!("Token {}", ts.admin))
                    .json(&json!({ "app": format!("client-{i}") }));
                barrier.wait();
                ts.send(req).json()
            })
        })
        .collect();
    let answers: Vec<Value> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let codes: Vec<i64> = answers
        .iter()
        .map(|v| v["code"].as_i64().unwrap())
        .collect();
    assert!(
        codes.contains(&0) && codes.contains(&-1),
        "one starts, one is refused: {answers:#?}"
    );
    let winner = answers.iter().find(|v| v["code"] == 0).unwrap();
    let id = winner["data"]["jobIds"][0].as_i64().unwrap();
    let job = ts.wait_job(id);
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["stats"]["files_uploaded"], 3000);
    assert_eq!(ts.job_count(), 1);
}

#[test]
fn the_boot_sync_refuses_perform_sync_until_it_ends() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let gate = Gate::new(&ts.engine, "docs");
    let boot = ts.engine.start_boot_sync().expect("boot sync");
    assert_eq!(boot.len(), 1);
    assert_eq!(gate.wait_held(), boot[0]);

    let v = ts.refused(
        PERFORM,
        json!({ "app": "my-client-app-123" }),
        "boot_sync_in_progress",
    );
    assert_eq!(v["msg"], "Boot sync is in progress, please try again later");
    // Honest: the boot sync was indeed still running when that answer came.
    let job = ts.job(boot[0]);
    assert_eq!(job["status"], "running", "{job:#}");
    assert_eq!(job["trigger_type"], "boot");
    // getSyncInfo says it syncs; POST /api/sync/jobs is refused with 409.
    assert_eq!(ts.call(INFO, json!({}))["syncing"], true);
    let r = ts.post("/api/sync/jobs", Some(&ts.admin), &json!({}));
    assert_eq!(r.status, 409, "{}", r.text());
    common::assert_rest_error(&r.json(), "boot_sync_in_progress");
    assert_eq!(ts.job_count(), 1);

    gate.open();
    assert_eq!(ts.wait_job(boot[0])["status"], "succeeded");
    // The boot flag drops just after the job's end is recorded.
    ts.wait_until("the boot sync is over", || {
        ts.call(INFO, json!({}))["syncing"] == false
    });
    let id = ts.perform_sync(json!({ "app": "my-client-app-123" }));
    assert_eq!(ts.wait_job(id)["status"], "succeeded");
}

#[test]
fn perform_sync_errors_name_their_cause() {
    let ts = TestServer::new();
    ts.refused(PERFORM, json!({ "app": "x" }), "no_folders");
    ts.add_folder("docs");
    ts.refused(
        PERFORM,
        json!({ "app": "x", "folder": "nope" }),
        "unknown_folder",
    );
    // cloudName with several folders needs the folder named.
    ts.add_folder("more");
    let v = ts.refused(
        PERFORM,
        json!({ "app": "x", "cloudName": "other" }),
        "invalid_request",
    );
    assert!(v["msg"].as_str().unwrap().contains("cloudName"), "{v:#}");
    assert_eq!(ts.job_count(), 0);
    // Disabled folders are skipped when none is named.
    let mut s = ts.engine.folder("docs").unwrap().settings();
    s.enabled = false;
    ts.engine.update_folder_settings("docs", &s).unwrap();
    ts.engine.update_folder_settings("more", &s).unwrap();
    ts.refused(PERFORM, json!({ "app": "x" }), "no_folders");
}

#[test]
fn perform_sync_without_a_folder_syncs_every_enabled_folder() {
    let ts = TestServer::with_docs();
    ts.add_folder("more");
    ts.add_folder("off");
    let mut s = ts.engine.folder("off").unwrap().settings();
    s.enabled = false;
    ts.engine.update_folder_settings("off", &s).unwrap();
    let data = ts.call(PERFORM, json!({ "app": "x" }));
    let ids = data["jobIds"].as_array().unwrap();
    assert_eq!(ids.len(), 2, "{data:#}");
    let mut folders: Vec<String> = ids
        .iter()
        .map(|id| {
            ts.wait_job(id.as_i64().unwrap())["folder"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    folders.sort();
    assert_eq!(folders, ["docs", "more"]);
}

// getSyncInfo (seed 001).

fn assert_idle_progress(p: &Value) {
    assert_eq!(
        *p,
        json!({ "current": 0, "total": 0, "info": "Idle", "msg": "", "percent": 0.0 })
    );
}

#[test]
fn get_sync_info_takes_an_empty_object_or_no_body() {
    let ts = TestServer::with_docs();
    let answers = [
        ts.post(INFO, Some(&ts.admin), &json!({})),
        ts.post_raw(INFO, Some(&ts.admin), None, ""),
        ts.post_raw(INFO, Some(&ts.admin), Some("application/json"), ""),
        ts.post_raw(INFO, Some(&ts.reader), Some("application/json"), "{}"),
    ];
    for r in &answers {
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(keys(&v), ["code", "data", "msg"]);
        assert_eq!(v["code"], 0);
        assert_eq!(v["msg"], "");
        let d = &v["data"];
        assert_eq!(
            keys(d),
            [
                "cloudName",
                "enabled",
                "folders",
                "progress",
                "providerName",
                "syncing"
            ]
        );
        assert_eq!(d["providerName"], "Local");
        assert_eq!(d["cloudName"], "main");
        assert_eq!(d["enabled"], true);
        assert_eq!(d["syncing"], false);
        assert_idle_progress(&d["progress"]);
        let f = &d["folders"][0];
        assert_eq!(d["folders"].as_array().unwrap().len(), 1);
        assert_eq!(f["name"], "docs");
        assert_eq!(f["providerName"], "Local");
        assert_eq!(f["syncing"], false);
        assert_eq!(f["lastJob"], Value::Null);
        assert_eq!(f["lastSyncAt"], Value::Null);
        assert_idle_progress(&f["progress"]);
    }
    // The same answer each time.
    let first = answers[0].json();
    for r in &answers[1..] {
        assert_eq!(r.json(), first);
    }
}

#[test]
fn get_sync_info_without_folders_and_with_only_disabled_ones() {
    let ts = TestServer::new();
    let d = ts.call(INFO, json!({}));
    assert_eq!(d["providerName"], "Local");
    assert_eq!(d["cloudName"], "main");
    assert_eq!(d["enabled"], false);
    assert_eq!(d["syncing"], false);
    assert_eq!(d["folders"], json!([]));
    ts.add_folder("docs");
    let mut s = ts.engine.folder("docs").unwrap().settings();
    s.enabled = false;
    ts.engine.update_folder_settings("docs", &s).unwrap();
    let d = ts.call(INFO, json!({}));
    assert_eq!(d["enabled"], false, "{d:#}");
    assert_eq!(d["folders"][0]["enabled"], false);
}

#[test]
fn get_sync_info_says_syncing_while_a_sync_runs() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let gate = Gate::new(&ts.engine, "docs");
    let id = ts.perform_sync(json!({ "app": "x" }));
    gate.wait_held();
    for token in [&ts.admin, &ts.reader] {
        let d = ts.call_as(token, INFO, json!({}));
        assert_eq!(d["syncing"], true, "{d:#}");
        assert_eq!(d["folders"][0]["syncing"], true, "{d:#}");
        let p = &d["progress"];
        assert_eq!(keys(p), ["current", "info", "msg", "percent", "total"]);
        assert!(p["info"].as_str().is_some_and(|i| i != "Idle"), "{p:#}");
        assert!(
            p["percent"]
                .as_f64()
                .is_some_and(|x| (0.0..=100.0).contains(&x)),
            "{p:#}"
        );
        assert_eq!(d["progress"], d["folders"][0]["progress"]);
    }
    gate.open();
    let job = ts.wait_job(id);
    ts.wait_until("getSyncInfo says idle", || {
        ts.call(INFO, json!({}))["syncing"] == false
    });
    let d = ts.call(INFO, json!({}));
    assert_idle_progress(&d["progress"]);
    assert_eq!(
        d["folders"][0]["lastJob"], job,
        "lastJob is the job's record"
    );
    assert!(
        common::is_timestamp(&d["folders"][0]["lastSyncAt"]),
        "{d:#}"
    );
}

#[test]
fn get_sync_info_reports_a_sync_of_another_process() {
    // Another process syncing holds the folder's lock file.
    let ts = TestServer::with_docs();
    let other = syncdesk_engine::jobs::FolderLock::try_take(&ts.state.join("locks"), "docs")
        .expect("take the folder's lock");
    let d = ts.call(INFO, json!({}));
    assert_eq!(d["syncing"], true, "{d:#}");
    assert_eq!(d["folders"][0]["syncing"], true, "{d:#}");
    let v = ts.refused(PERFORM, json!({ "app": "x" }), "sync_in_progress");
    assert_eq!(v["msg"], "Sync is in progress, please try again later");
    drop(other);
    assert_eq!(ts.call(INFO, json!({}))["syncing"], false);
}
