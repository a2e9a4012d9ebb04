//! Seed 004: `POST /api/sync/jobs`, `GET /api/sync/jobs`, `GET /api/sync/jobs/{id}` and a
//! job's log, in the REST style (`SyncJob`, `SyncJobPage`, `ErrorResponse`).

mod common;

use std::sync::{Arc, Barrier};

use common::{Gate, TestServer, assert_job_shape, assert_rest_error, keys};
use serde_json::{Value, json};
use syncdesk_engine::model::{PerformSyncRequest, PushMode, TriggerType};

const JOBS: &str = "/api/sync/jobs";

fn create(ts: &TestServer, content_type: Option<&str>, body: &str) -> Value {
    let r = ts.post_raw(JOBS, Some(&ts.admin), content_type, body.to_owned());
    assert_eq!(r.status, 200, "{body:?}: {}", r.text());
    r.json()
}

#[test]
fn post_with_no_body_an_empty_object_or_a_source_starts_an_api_job() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let bodies: [(Option<&str>, &str); 4] = [
        (None, ""),
        (Some("application/json"), ""),
        (Some("application/json"), "{}"),
        (Some("application/json"), r#"{"source": "docs"}"#),
    ];
    let mut ids = Vec::new();
    for (ct, body) in bodies {
        let job = create(&ts, ct, body);
        assert_job_shape(&job);
        assert_eq!(job["job_type"], "sync", "{job:#}");
        assert_eq!(job["trigger_type"], "api", "{job:#}");
        assert_eq!(job["folder"], "docs", "{job:#}");
        assert_eq!(job["error_message"], Value::Null, "{job:#}");
        assert!(!ids.contains(&job["id"]), "a new job each time");
        ids.push(job["id"].clone());
        let done = ts.wait_job(job["id"].as_i64().unwrap());
        assert_eq!(done["status"], "succeeded", "{done:#}");
        assert_job_shape(&done);
        assert_eq!(done["created_at"], job["created_at"]);
        assert!(common::is_timestamp(&done["started_at"]), "{done:#}");
        assert!(done["updated_at"].as_str() >= job["updated_at"].as_str());
    }
    // The first one uploaded the file.
    assert_eq!(
        ts.job(ids[0].as_i64().unwrap())["stats"]["files_uploaded"],
        1
    );
}

#[test]
fn post_answers_while_the_sync_still_runs() {
    let ts = TestServer::with_docs();
    let gate = Gate::new(&ts.engine, "docs");
    let job = create(&ts, None, "");
    // docs/api.md: "the job is `pending` or already `running`".
    assert!(
        job["status"] == "pending" || job["status"] == "running",
        "{job:#}"
    );
    assert_eq!(gate.wait_held(), job["id"].as_i64().unwrap());
    assert_eq!(ts.job(job["id"].as_i64().unwrap())["status"], "running");
    gate.open();
}

#[test]
fn post_without_source_syncs_every_enabled_folder_and_answers_the_first() {
    let ts = TestServer::with_docs();
    ts.add_folder("more");
    ts.add_folder("off");
    let mut s = ts.engine.folder("off").unwrap().settings();
    s.enabled = false;
    ts.engine.update_folder_settings("off", &s).unwrap();
    let job = create(&ts, None, "");
    assert_eq!(job["folder"], "docs", "the first folder's job: {job:#}");
    // The others are listed with the trigger `api`.
    let page = ts.jobs("trigger_type=api");
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{page:#}");
    assert!(items.iter().any(|j| j["id"] == job["id"]));
    let mut folders: Vec<String> = items
        .iter()
        .map(|j| {
            let done = ts.wait_job(j["id"].as_i64().unwrap());
            assert_eq!(done["status"], "succeeded", "{done:#}");
            done["folder"].as_str().unwrap().to_owned()
        })
        .collect();
    folders.sort();
    assert_eq!(folders, ["docs", "more"]);
}

#[test]
fn post_with_the_seed_example_source_is_a_400_error_response() {
    let ts = TestServer::with_docs();
    let r = ts.post_raw(
        JOBS,
        Some(&ts.admin),
        Some("application/json"),
        "{\n  \"source\": \"moesekai\"\n}",
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({
            "code": "unknown_folder",
            "message": "no folder named \"moesekai\"; `folder list` shows the folders"
        })
    );
    for (body, code) in [
        (json!({ "source": 5 }), "invalid_request"),
        (json!({ "sauce": "docs" }), "invalid_request"),
        (json!("docs"), "invalid_request"),
        (json!(null), "invalid_request"),
    ] {
        let r = ts.post(JOBS, Some(&ts.admin), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_rest_error(&r.json(), code);
    }
    assert_eq!(ts.job_count(), 0);
}

#[test]
fn a_json_array_is_not_a_create_request() {
    let ts = TestServer::with_docs();
    for body in [json!([]), json!(["docs"])] {
        let r = ts.post(JOBS, Some(&ts.admin), &body);
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_rest_error(&r.json(), "invalid_request");
    }
    assert_eq!(ts.job_count(), 0);
}

#[test]
fn post_without_folders_is_a_400() {
    let ts = TestServer::new();
    let r = ts.post(JOBS, Some(&ts.admin), &json!({}));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_rest_error(&r.json(), "no_folders");
}

#[test]
fn post_while_the_folder_syncs_is_a_409() {
    let ts = TestServer::with_docs();
    let gate = Gate::new(&ts.engine, "docs");
    let first = create(&ts, None, "");
    gate.wait_held();
    for body in [json!({}), json!({ "source": "docs" })] {
        let r = ts.post(JOBS, Some(&ts.admin), &body);
        assert_eq!(r.status, 409, "{}", r.text());
        assert_eq!(
            r.json(),
            json!({
                "code": "sync_in_progress",
                "message": "Sync is in progress, please try again later"
            })
        );
    }
    // performSync, started over the other style, is refused the same way.
    ts.refused(
        "/api/sync/performSync",
        json!({ "app": "x" }),
        "sync_in_progress",
    );
    assert_eq!(ts.job_count(), 1);
    gate.open();
    ts.wait_job(first["id"].as_i64().unwrap());
}

#[test]
fn two_posts_at_once_give_one_200_and_one_409() {
    let ts = Arc::new(TestServer::with_docs());
    let gate = Gate::new(&ts.engine, "docs");
    let barrier = Arc::new(Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let ts = ts.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let req = ts
                    .http
                    .post(ts.url(JOBS))
                    .header("Authorization", format!("Token {}", ts.admin))
                    .json(&json!({ "source": "docs" }));
                barrier.wait();
                ts.send(req)
            })
        })
        .collect();
    let mut answers: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    answers.sort_by_key(|r| r.status);
    assert_eq!(
        answers.iter().map(|r| r.status).collect::<Vec<_>>(),
        [200, 409],
        "{answers:?}"
    );
    assert_rest_error(&answers[1].json(), "sync_in_progress");
    let job = answers[0].json();
    assert_job_shape(&job);
    assert_eq!(gate.wait_held(), job["id"].as_i64().unwrap());
    assert_eq!(ts.job_count(), 1);
    gate.open();
}

/// A varied history, oldest first:
/// 1 docs sync manual succeeded · 2 docs force_push api succeeded ·
/// 3 more force_pull manual succeeded · 4 more sync manual failed ·
/// 5 docs sync boot pending.
fn history(ts: &TestServer) -> Vec<i64> {
    ts.add_folder("more");
    ts.write("docs", "a.txt", b"a");
    let create = |folder: &str, mode: PushMode, trigger: TriggerType| -> i64 {
        let ids = ts
            .engine
            .create_jobs(&PerformSyncRequest {
                app: "test".into(),
                folder: Some(folder.into()),
                push_mode: mode,
                confirm: true,
                trigger: Some(trigger),
                ..Default::default()
            })
            .unwrap();
        ids[0]
    };
    let j1 = create("docs", PushMode::TwoWay, TriggerType::Manual);
    ts.engine.run_job(j1).unwrap();
    let j2 = ts.perform_sync(json!({ "app": "x", "folder": "docs", "pushMode": "force-push" }));
    ts.wait_job(j2);
    let j3 = create("more", PushMode::ForcePull, TriggerType::Manual);
    ts.engine.run_job(j3).unwrap();
    // Another process holds the folder when the job is run: it fails.
    let j4 = create("more", PushMode::TwoWay, TriggerType::Manual);
    let lock =
        syncdesk_engine::jobs::FolderLock::try_take(&ts.state.join("locks"), "more").expect("lock");
    ts.engine.run_job(j4).unwrap();
    drop(lock);
    let j5 = ts
        .engine
        .create_jobs(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("docs".into()),
            trigger: Some(TriggerType::Boot),
            ..Default::default()
        })
        .unwrap()[0];
    let ids = vec![j1, j2, j3, j4, j5];
    let statuses: Vec<Value> = ids.iter().map(|id| ts.job(*id)["status"].clone()).collect();
    assert_eq!(
        statuses,
        json!(["succeeded", "succeeded", "succeeded", "failed", "pending"])
            .as_array()
            .unwrap()
            .clone()
    );
    ids
}

fn ids_of(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|j| j["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn the_list_is_a_page_newest_first() {
    let ts = TestServer::with_docs();
    let ids = history(&ts);
    let page = ts.jobs("");
    assert_eq!(keys(&page), ["items", "meta"]);
    assert_eq!(
        page["meta"],
        json!({ "page": 1, "page_size": 20, "total": 5, "total_pages": 1 })
    );
    let mut newest_first = ids.clone();
    newest_first.reverse();
    assert_eq!(ids_of(&page), newest_first);
    let items = page["items"].as_array().unwrap();
    for (item, id) in items.iter().zip(&newest_first) {
        assert_job_shape(item);
        assert_eq!(*item, ts.job(*id), "the listed record is the record");
    }
    for pair in items.windows(2) {
        assert!(pair[0]["created_at"].as_str() >= pair[1]["created_at"].as_str());
    }
    // The read-only token lists the same.
    let r = ts.get(JOBS, Some(&ts.reader));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), page);
}

#[test]
fn pagination_edges() {
    let ts = TestServer::with_docs();
    let ids = history(&ts);
    let all: Vec<i64> = ids.iter().rev().copied().collect();

    let mut walked = Vec::new();
    for p in 1..=3 {
        let page = ts.jobs(&format!("page={p}&page_size=2"));
        assert_eq!(
            page["meta"],
            json!({ "page": p, "page_size": 2, "total": 5, "total_pages": 3 })
        );
        walked.extend(ids_of(&page));
    }
    assert_eq!(walked, all, "the pages cover every job once, in order");

    let past = ts.jobs("page=4&page_size=2");
    assert_eq!(past["items"], json!([]));
    assert_eq!(
        past["meta"],
        json!({ "page": 4, "page_size": 2, "total": 5, "total_pages": 3 })
    );
    let far = ts.jobs("page=4000000000");
    assert_eq!(far["items"], json!([]));
    assert_eq!(far["meta"]["total"], 5);

    let one = ts.jobs("page_size=1");
    assert_eq!(ids_of(&one), [all[0]]);
    assert_eq!(one["meta"]["total_pages"], 5);
    let big = ts.jobs("page_size=200");
    assert_eq!(ids_of(&big), all);
    assert_eq!(big["meta"]["page_size"], 200);
    assert_eq!(big["meta"]["total_pages"], 1);

    // Nothing at all: an empty first page.
    let none = ts.jobs("folder=nothing-here");
    assert_eq!(
        none,
        json!({ "items": [], "meta": { "page": 1, "page_size": 20, "total": 0, "total_pages": 0 } })
    );
}

#[test]
fn invalid_list_queries_are_400_error_responses() {
    let ts = TestServer::with_docs();
    for q in [
        "page_size=201",
        "page_size=0",
        "page_size=-1",
        "page_size=abc",
        "page=0",
        "page=abc",
        "page=-1",
        "page=1.5",
        "page=",
        "status=done",
        "status=",
        "status=Succeeded",
        "job_type=push",
        "job_type=force-push",
        "trigger_type=cron",
        "pagesize=10",
        "limit=10",
        "folder=docs&typo=1",
        "page=1&page=2",
        "status=failed&status=succeeded",
        "folder=docs&folder=more",
    ] {
        let r = ts.get(&format!("{JOBS}?{q}"), Some(&ts.admin));
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_rest_error(&r.json(), "invalid_request");
    }
}

#[test]
fn every_filter_and_their_combinations() {
    let ts = TestServer::with_docs();
    let ids = history(&ts);
    let [j1, j2, j3, j4, j5] = ids[..] else {
        unreachable!()
    };
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("status=succeeded", vec![j3, j2, j1]),
        ("status=failed", vec![j4]),
        ("status=pending", vec![j5]),
        ("status=running", vec![]),
        ("status=needs_confirmation", vec![]),
        ("folder=docs", vec![j5, j2, j1]),
        ("folder=more", vec![j4, j3]),
        ("folder=nope", vec![]),
        ("job_type=sync", vec![j5, j4, j1]),
        ("job_type=force_push", vec![j2]),
        ("job_type=force_pull", vec![j3]),
        ("trigger_type=manual", vec![j4, j3, j1]),
        ("trigger_type=api", vec![j2]),
        ("trigger_type=boot", vec![j5]),
        ("trigger_type=schedule", vec![]),
        ("folder=docs&status=succeeded", vec![j2, j1]),
        ("folder=more&job_type=sync", vec![j4]),
        ("status=succeeded&trigger_type=manual", vec![j3, j1]),
        ("job_type=sync&trigger_type=manual&folder=docs", vec![j1]),
        (
            "job_type=sync&trigger_type=manual&folder=docs&status=failed",
            vec![],
        ),
        ("status=succeeded&page_size=1&page=2", vec![j2]),
    ];
    for (q, want) in cases {
        let page = ts.jobs(q);
        assert_eq!(ids_of(&page), want, "{q}");
        if !q.contains("page") {
            assert_eq!(page["meta"]["total"], want.len(), "{q}");
        }
    }
    let page = ts.jobs("status=succeeded&page_size=1&page=2");
    assert_eq!(page["meta"]["total"], 3);
    assert_eq!(page["meta"]["total_pages"], 3);
    // Each item matches its filter, not just the count.
    for item in ts.jobs("folder=more&status=failed")["items"]
        .as_array()
        .unwrap()
    {
        assert_eq!(item["folder"], "more");
        assert_eq!(item["status"], "failed");
        assert!(
            item["error_message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "a failed job says why: {item:#}"
        );
    }
}

#[test]
fn get_one_job() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    let job = ts.sync("docs");
    let id = job["id"].as_i64().unwrap();
    let r = ts.get(&format!("{JOBS}/{id}"), Some(&ts.reader));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), job);
    assert_job_shape(&job);
    assert_eq!(ts.jobs("")["items"][0], job);

    let r = ts.get(&format!("{JOBS}/999999"), Some(&ts.admin));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({ "code": "not_found", "message": "no job with id 999999" })
    );
    for (path, status, code) in [
        ("abc", 400, "invalid_request"),
        ("latest", 400, "invalid_request"),
        ("1.0", 400, "invalid_request"),
        ("99999999999999999999999", 400, "invalid_request"),
        ("0", 404, "not_found"),
        ("-1", 404, "not_found"),
    ] {
        let r = ts.get(&format!("{JOBS}/{path}"), Some(&ts.admin));
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_rest_error(&r.json(), code);
    }
}

#[test]
fn a_jobs_log() {
    let ts = TestServer::with_docs();
    // Two names that differ only by case: the sync keeps both and logs a warning.
    ts.write("docs", "Readme.txt", b"1");
    ts.write("docs", "README.txt", b"2");
    let job = ts.sync("docs");
    let id = job["id"].as_i64().unwrap();
    let r = ts.get(&format!("{JOBS}/{id}/log"), Some(&ts.reader));
    assert_eq!(r.status, 200, "{}", r.text());
    let log = r.json();
    let lines = log.as_array().expect("an array of lines");
    let clash = lines
        .iter()
        .find(|l| {
            l["msg"]
                .as_str()
                .unwrap_or_default()
                .contains("differ only by case")
        })
        .unwrap_or_else(|| panic!("no clash warning in {log:#}"));
    assert_eq!(keys(clash), ["at", "level", "msg"]);
    assert_eq!(clash["level"], "warn");
    assert!(common::is_timestamp(&clash["at"]), "{clash:#}");

    // A job without log lines: an empty list.
    let plain = TestServer::with_docs();
    plain.write("docs", "a.txt", b"a");
    let pj = plain.sync("docs");
    let r = plain.get(&format!("{JOBS}/{}/log", pj["id"]), Some(&plain.admin));
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!([]));

    for (path, status, code) in [
        ("999999/log", 404, "not_found"),
        ("abc/log", 400, "invalid_request"),
    ] {
        let r = ts.get(&format!("{JOBS}/{path}"), Some(&ts.admin));
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert_rest_error(&r.json(), code);
    }
}

#[test]
fn the_mass_deletion_guard_gives_a_needs_confirmation_job_that_says_why() {
    let ts = TestServer::with_docs();
    for i in 0..12 {
        ts.write("docs", &format!("f{i}.txt"), b"x");
    }
    ts.sync("docs");
    for i in 0..11 {
        std::fs::remove_file(ts.folder_path("docs").join(format!("f{i}.txt"))).unwrap();
    }
    let id = ts.perform_sync(json!({ "app": "x" }));
    let job = ts.wait_job(id);
    assert_eq!(job["status"], "needs_confirmation", "{job:#}");
    assert!(
        job["error_message"]
            .as_str()
            .is_some_and(|m| m.contains("confirm")),
        "{job:#}"
    );
    assert_eq!(ids_of(&ts.jobs("status=needs_confirmation")), [id]);
    let log = ts.get(&format!("{JOBS}/{id}/log"), Some(&ts.admin)).json();
    assert!(
        log.as_array().unwrap().iter().any(|l| l["level"] == "warn"),
        "{log:#}"
    );
    // Confirmed, it goes ahead.
    let id = ts.perform_sync(json!({ "app": "x", "confirm": true }));
    let job = ts.wait_job(id);
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["stats"]["files_deleted"], 11, "{job:#}");
}
