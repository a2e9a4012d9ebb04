//! `GET /ws`: the engine's events as `{event, payload}` text frames (docs/api.md, "WebSocket").

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, WsAuth, keys};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

#[test]
fn the_token_comes_in_the_header_or_the_query() {
    let ts = TestServer::with_docs();
    for auth in [
        WsAuth::Header(&ts.admin),
        WsAuth::Query(&ts.admin),
        WsAuth::Header(&ts.reader),
        WsAuth::Query(&ts.reader),
    ] {
        let mut ws = ts
            .ws_with(auth, None)
            .unwrap_or_else(|r| panic!("{auth:?}: HTTP {} {}", r.status, r.text()));
        assert_eq!(ws.response.status(), 101);
        ws.sync_with(&ts);
    }
    for auth in [
        WsAuth::None,
        WsAuth::Query("nope"),
        WsAuth::Query(""),
        WsAuth::Header("nope"),
    ] {
        match ts.ws_with(auth, None) {
            Err(r) => {
                assert_eq!(r.status, 401, "{auth:?}: {}", r.text());
                assert_eq!(r.header("www-authenticate").as_deref(), Some("Token"));
                common::assert_rest_error(&r.json(), "unauthorized");
            }
            Ok(_) => panic!("{auth:?} opened a WebSocket"),
        }
    }
}

/// The events of one job, read until its folder is reported idle with the job as `lastJob`.
fn events_of_job(ws: &mut common::Ws, id: i64) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        let e = ws.next_event();
        let p = &e["payload"];
        let mine = match e["event"].as_str().unwrap() {
            "jobChanged" => p["id"] == id,
            "folderChanged" => p["name"] == "docs",
            name if name.starts_with("sync") => p["jobId"] == id,
            _ => false,
        };
        if !mine {
            continue;
        }
        let done =
            e["event"] == "folderChanged" && p["lastJob"]["id"] == id && p["syncing"] == false;
        out.push(e);
        if done {
            return out;
        }
    }
}

#[test]
fn a_sync_started_over_http_streams_its_events_in_order() {
    let ts = TestServer::with_docs();
    for i in 0..20 {
        ts.write("docs", &format!("f{i}.txt"), format!("file {i}").as_bytes());
    }
    let mut ws = ts.ws();
    ws.sync_with(&ts);
    let id = ts.perform_sync(json!({ "app": "my-client-app-123" }));
    let events = events_of_job(&mut ws, id);
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();

    let pos = |pred: &dyn Fn(&Value) -> bool| events.iter().position(pred);
    let job_status = |status: &'static str| {
        move |e: &Value| e["event"] == "jobChanged" && e["payload"]["status"] == status
    };
    let created = pos(&job_status("pending")).expect("jobChanged (created)");
    let started = pos(&job_status("running")).expect("jobChanged (started)");
    let begin = pos(&|e| e["event"] == "syncBegin").expect("syncBegin");
    let first_progress = pos(&|e| e["event"] == "syncProgress").expect("syncProgress");
    let end = pos(&|e| e["event"] == "syncEnd").expect("syncEnd");
    let finished = pos(&job_status("succeeded")).expect("jobChanged (finished)");
    let idle = events.len() - 1;
    assert_eq!(created, 0, "{names:?}");
    assert!(created < started && started < begin, "{names:?}");
    assert!(begin < first_progress && first_progress < end, "{names:?}");
    assert!(end < finished && finished < idle, "{names:?}");
    assert_eq!(
        names.iter().filter(|n| **n == "syncBegin").count(),
        1,
        "{names:?}"
    );
    assert_eq!(names.iter().filter(|n| **n == "syncEnd").count(), 1);
    assert!(!names.contains(&"syncFail"), "{names:?}");
    // Progress only between begin and end.
    for (i, n) in names.iter().enumerate() {
        if *n == "syncProgress" {
            assert!(begin < i && i < end, "{names:?}");
        }
    }

    // The sync events' payload, as docs/api.md shows it.
    for e in &events[begin..=end] {
        let p = &e["payload"];
        assert_eq!(
            keys(p),
            [
                "at",
                "bytes",
                "bytesTotal",
                "current",
                "folder",
                "info",
                "jobId",
                "msg",
                "name",
                "percent",
                "phase",
                "status",
                "total"
            ],
            "{e:#}"
        );
        assert_eq!(p["name"], e["event"]);
        assert_eq!(p["jobId"], id);
        assert_eq!(p["folder"], "docs");
        assert!(common::is_timestamp(&p["at"]), "{p:#}");
        let percent = p["percent"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&percent), "{p:#}");
        assert!(p["current"].as_u64() <= p["total"].as_u64().max(p["current"].as_u64()));
    }
    let phases: Vec<&str> = events[begin..=end]
        .iter()
        .map(|e| e["payload"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(events[end]["payload"]["phase"], "done", "{phases:?}");
    assert_eq!(events[end]["payload"]["status"], "succeeded");
    assert!(phases.contains(&"uploading"), "{phases:?}");

    // jobChanged carries the job record; the last one is the final record.
    let final_job = ts.job(id);
    assert_eq!(events[finished]["payload"], final_job);
    assert_eq!(events[created]["payload"]["trigger_type"], "api");
    assert_eq!(
        events[created]["payload"]["metadata"]["app"],
        "my-client-app-123"
    );
    // folderChanged: syncing while it runs, then idle with lastJob = the job.
    let syncing = events
        .iter()
        .find(|e| e["event"] == "folderChanged" && e["payload"]["syncing"] == true)
        .expect("folderChanged (syncing)");
    assert_eq!(syncing["payload"]["name"], "docs");
    assert_eq!(events[idle]["payload"]["lastJob"], final_job);
    assert_eq!(events[idle]["payload"]["progress"]["info"], "Idle");
}

#[test]
fn a_failed_sync_sends_sync_fail_then_sync_end() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"a");
    let mut ws = ts.ws();
    ws.sync_with(&ts);
    // Make the repository unreadable: its directory is replaced by a file.
    std::fs::remove_dir_all(&ts.remote).unwrap();
    std::fs::write(&ts.remote, b"not a directory").unwrap();
    let id = ts.perform_sync(json!({ "app": "x" }));
    let events = events_of_job(&mut ws, id);
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    let fail = names
        .iter()
        .position(|n| *n == "syncFail")
        .expect("syncFail");
    let end = names.iter().position(|n| *n == "syncEnd").expect("syncEnd");
    assert!(fail < end, "{names:?}");
    assert_eq!(events[fail]["payload"]["status"], "failed");
    assert_eq!(events[end]["payload"]["status"], "failed");
    assert!(
        events[fail]["payload"]["msg"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "syncFail says why: {:#}",
        events[fail]
    );
    let job = ts.job(id);
    assert_eq!(job["status"], "failed");
    assert!(job["error_message"].is_string());
}

#[test]
fn folder_and_app_state_changes_arrive() {
    let ts = TestServer::with_docs();
    let mut ws = ts.ws_with(WsAuth::Query(&ts.reader), None).unwrap();
    ws.sync_with(&ts);

    let state = ts.call("/api/app/setPaused", json!({ "paused": true }));
    let e = ws.until("appStateChanged", |e| e["event"] == "appStateChanged");
    assert_eq!(e["payload"], state);
    assert_eq!(e["payload"]["paused"], true);
    // No change, no event: the next one is the resume.
    ts.call("/api/app/setPaused", json!({ "paused": true }));
    ts.call("/api/app/setPaused", json!({ "paused": false }));
    let e = ws.next_event();
    assert_eq!(e["event"], "appStateChanged");
    assert_eq!(e["payload"]["paused"], false);
    let e = {
        ts.call("/api/app/setLanguage", json!({ "language": "zh-CN" }));
        ws.next_event()
    };
    assert_eq!(e["event"], "appStateChanged");
    assert_eq!(e["payload"]["language"], "zh-CN");

    let folder = ts.call(
        "/api/folder/addFolder",
        json!({ "name": "photos", "path": ts.dir.path().join("photos"), "repository": null }),
    );
    let e = ws.next_event();
    assert_eq!(e["event"], "folderChanged");
    assert_eq!(e["payload"]["name"], "photos");
    assert_eq!(e["payload"]["path"], folder["path"]);
    assert_eq!(e["payload"]["syncing"], false);

    ts.call(
        "/api/folder/updateFolderSettings",
        json!({ "name": "photos", "settings": {
            "enabled": true, "syncMode": "manual", "intervalSecs": 600, "watch": false } }),
    );
    let e = ws.next_event();
    assert_eq!(e["event"], "folderChanged");
    assert_eq!(e["payload"]["syncMode"], "manual");
    assert_eq!(e["payload"]["intervalSecs"], 600);

    ts.call("/api/folder/removeFolder", json!({ "name": "photos" }));
    let e = ws.next_event();
    assert_eq!(e, json!({ "event": "folderRemoved", "payload": "photos" }));
}

#[test]
fn every_client_gets_every_event() {
    let ts = TestServer::with_docs();
    let mut a = ts.ws();
    let mut b = ts.ws_with(WsAuth::Query(&ts.reader), None).unwrap();
    a.sync_with(&ts);
    b.sync_with(&ts);
    let id = ts.perform_sync(json!({ "app": "x" }));
    let ea = events_of_job(&mut a, id);
    let eb = events_of_job(&mut b, id);
    assert_eq!(ea, eb);
}

#[test]
fn pings_are_answered_and_client_messages_ignored() {
    let ts = TestServer::with_docs();
    let mut ws = ts.ws();
    ws.socket
        .send(Message::Text(
            r#"{"event":"setPaused","payload":true}"#.into(),
        ))
        .unwrap();
    ws.socket
        .send(Message::Ping(b"are you there".to_vec().into()))
        .unwrap();
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        match ws.next_message(deadline) {
            Some(Message::Pong(p)) => {
                assert_eq!(&p[..], b"are you there");
                break;
            }
            Some(Message::Text(_)) => {}
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    assert!(
        !ts.engine.app_state().unwrap().paused,
        "client messages do nothing"
    );
    // Still open and delivering.
    ws.sync_with(&ts);
}

#[test]
fn stopping_the_server_closes_websockets_with_going_away() {
    let mut ts = TestServer::with_docs();
    let mut ws = ts.ws();
    ws.sync_with(&ts);
    ts.stop_server();
    let deadline = Instant::now() + common::PATIENCE;
    loop {
        match ws.next_message(deadline) {
            Some(Message::Close(frame)) => {
                let frame = frame.expect("a close frame with a code");
                assert_eq!(frame.code, CloseCode::Away, "{frame:?}");
                break;
            }
            Some(Message::Text(_) | Message::Ping(_) | Message::Pong(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
    // And the port no longer answers.
    let gone = std::net::TcpStream::connect_timeout(&ts.addr, Duration::from_secs(1));
    assert!(gone.is_err(), "the server still accepts connections");
}

#[test]
fn every_event_after_the_handshake_is_delivered() {
    let ts = TestServer::with_docs();
    let mut lost = 0;
    for i in 0..20 {
        let mut ws = ts.ws();
        // A change right after the handshake, as a client that connects and then acts.
        ts.engine.set_paused(i % 2 == 0).unwrap();
        match ws.next_message(Instant::now() + Duration::from_secs(1)) {
            Some(Message::Text(t)) => assert!(t.contains("appStateChanged"), "{t}"),
            _ => lost += 1,
        }
    }
    assert_eq!(lost, 0, "{lost} of 20 connections missed the first event");
}
