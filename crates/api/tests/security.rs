//! docs/api.md "Security": the Host check, no CORS, body limits and types, strict bodies,
//! WebSocket origins, and no secret in any answer. (Every answer of every test is also
//! checked for `Access-Control-*` headers by `TestServer::send`.)

mod common;

use common::{TestServer, WsAuth, assert_envelope_error, assert_rest_error};
use reqwest::blocking::Body;
use serde_json::{Value, json};
use syncdesk_api::BODY_LIMIT;
use syncdesk_engine::model::Folder;
use syncdesk_engine::secrets::{Keyring, SecretKind};

#[test]
fn the_host_must_name_the_server() {
    let ts = TestServer::with_docs();
    let port = ts.addr.port();
    let with_host = |host: &str, path: &str| {
        ts.send(
            ts.http
                .get(ts.url(path))
                .header("Host", host)
                .header("Authorization", format!("Token {}", ts.admin)),
        )
    };
    for host in [
        format!("evil.example:{port}"),
        format!("localhost.evil.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        "evil.example".to_owned(),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        format!("10.0.0.1:{port}"),
        format!("192.168.1.10:{port}"),
        "127.0.0.1".to_owned(),
        "localhost".to_owned(),
    ] {
        let r = with_host(&host, "/api/sync/jobs");
        assert_eq!(r.status, 403, "{host}: {}", r.text());
        assert_rest_error(&r.json(), "forbidden");
        // The envelope style, and paths outside the API (the web UI) too.
        let r = ts.send(
            ts.http
                .post(ts.url("/api/sync/getSyncInfo"))
                .header("Host", &host)
                .header("Authorization", format!("Token {}", ts.admin))
                .json(&json!({})),
        );
        assert_eq!(r.status, 403, "{host}");
        assert_envelope_error(&r.json(), "forbidden");
        assert_eq!(with_host(&host, "/").status, 403, "{host}");
        assert_eq!(with_host(&host, "/index.html").status, 403, "{host}");
    }
    for host in [
        format!("localhost:{port}"),
        format!("LocalHost:{port}"),
        format!("127.0.0.1:{port}"),
        format!("[::1]:{port}"),
        // Any loopback IP, when it listens on loopback.
        format!("127.0.0.2:{port}"),
        format!("127.1.2.3:{port}"),
    ] {
        let r = with_host(&host, "/api/sync/jobs");
        assert_eq!(r.status, 200, "{host}: {}", r.text());
    }
    // No Host at all (HTTP/1.0).
    let (status, _) = ts.raw(
        format!(
            "GET /api/sync/jobs HTTP/1.0\r\nAuthorization: Token {}\r\n\r\n",
            ts.admin
        )
        .as_bytes(),
    );
    assert_eq!(status, 403);
}

#[test]
fn no_cors_headers_even_when_asked() {
    let ts = TestServer::with_docs();
    let evil = "http://evil.example";
    // Preflights, with and without a token.
    for path in ["/api/sync/performSync", "/api/sync/jobs", "/ws", "/"] {
        for token in [None, Some(ts.admin.as_str())] {
            let mut req = ts
                .http
                .request(reqwest::Method::OPTIONS, ts.url(path))
                .header("Origin", evil)
                .header("Access-Control-Request-Method", "POST")
                .header(
                    "Access-Control-Request-Headers",
                    "authorization, content-type",
                );
            if let Some(t) = token {
                req = req.header("Authorization", format!("Token {t}"));
            }
            let r = ts.send(req);
            assert!(
                r.status >= 400,
                "{path}: a preflight is not allowed: {}",
                r.status
            );
        }
    }
    // Ordinary requests from another origin: answered, but without CORS headers (checked in
    // `send`), so a browser keeps the answer from the page.
    let r = ts.send(
        ts.http
            .post(ts.url("/api/sync/getSyncInfo"))
            .header("Origin", evil)
            .header("Authorization", format!("Token {}", ts.admin))
            .json(&json!({})),
    );
    assert_eq!(r.status, 200);
    let r = ts.send(ts.http.get(ts.url("/api/sync/jobs")).header("Origin", evil));
    assert_eq!(r.status, 401);
    let r = ts.send(ts.http.get(ts.url("/")).header("Origin", evil));
    assert!(r.header("access-control-allow-origin").is_none());
}

#[test]
fn bodies_over_one_mib_are_413_in_both_styles() {
    let ts = TestServer::with_docs();
    // Exactly the limit is fine: a valid request padded with spaces.
    let exact = |prefix: &str| {
        let mut b = prefix.as_bytes().to_vec();
        b.resize(BODY_LIMIT, b' ');
        b
    };
    assert_eq!(BODY_LIMIT, 1024 * 1024);
    let r = ts.post_raw(
        "/api/sync/getSyncInfo",
        Some(&ts.admin),
        Some("application/json"),
        exact("{}"),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = ts.post_raw(
        "/api/app/setLanguage",
        Some(&ts.admin),
        Some("application/json"),
        exact(r#"{"language": "en"}"#),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let over = |prefix: &str| {
        let mut b = exact(prefix);
        b.push(b' ');
        b
    };
    let envelope = |path: &str, body: &dyn Fn() -> Body| {
        let r = too_large(&ts, path, body);
        assert_envelope_error(&r.json(), "too_large");
    };
    let rest = |body: &dyn Fn() -> Body| {
        let r = too_large(&ts, "/api/sync/jobs", body);
        assert_rest_error(&r.json(), "too_large");
    };
    // With a Content-Length, and without (chunked).
    for path in ["/api/sync/performSync", "/api/folder/writeIgnoreFile"] {
        envelope(path, &|| over(r#"{"app": "x"}"#).into());
        envelope(path, &|| chunked(over(r#"{"app": "x"}"#)));
    }
    rest(&|| over("{}").into());
    rest(&|| chunked(over("{}")));

    // A big ignore file is a real request: one of 2 MiB is refused, nothing written.
    let text = "x\n".repeat(BODY_LIMIT);
    let body = serde_json::to_vec(&json!({ "folder": "docs", "text": text })).unwrap();
    envelope("/api/folder/writeIgnoreFile", &|| body.clone().into());
    assert_eq!(
        ts.call("/api/folder/readIgnoreFile", json!({ "folder": "docs" })),
        ""
    );
    assert_eq!(ts.job_count(), 0);
}

/// A streamed body: no Content-Length, sent chunked.
fn chunked(bytes: Vec<u8>) -> Body {
    Body::new(std::io::Cursor::new(bytes))
}

/// Sends an over-limit body; it must get its 413 (the server drains the body, then closes).
fn too_large(ts: &TestServer, path: &str, body: &dyn Fn() -> Body) -> common::Resp {
    let req = oversized(ts, path).body(body());
    let r = ts.try_send(req).expect("an answer, not a cut connection");
    assert_eq!(r.status, 413, "{path}: {}", r.text());
    r
}

/// A request to `path` with an admin token and a JSON body of just over the limit.
fn oversized(ts: &TestServer, path: &str) -> reqwest::blocking::RequestBuilder {
    let mut big = br#"{"app": "x"}"#.to_vec();
    big.resize(BODY_LIMIT + 1, b' ');
    ts.http
        .post(ts.url(path))
        .header("Authorization", format!("Token {}", ts.admin))
        .header("Content-Type", "application/json")
        .body(big)
}

#[test]
fn the_connection_after_a_413_is_not_reused() {
    let ts = TestServer::with_docs();
    let mut failed = 0;
    for _ in 0..20 {
        let req = oversized(&ts, "/api/sync/performSync");
        if let Ok(r) = ts.try_send(req) {
            assert_eq!(r.status, 413);
        }
        // The same client, as any keep-alive client would.
        let next = ts
            .http
            .post(ts.url("/api/app/getAppState"))
            .header("Authorization", format!("Token {}", ts.admin))
            .json(&json!({}));
        if ts.try_send(next).is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 0, "{failed} of 20 requests after a 413 failed");
}

#[test]
fn an_over_limit_body_always_gets_its_413() {
    let ts = TestServer::with_docs();
    let mut cut = 0;
    for _ in 0..100 {
        let req = oversized(&ts, "/api/sync/performSync");
        match ts.try_send(req) {
            Ok(r) => assert_eq!(r.status, 413),
            Err(_) => cut += 1,
        }
    }
    assert_eq!(cut, 0, "{cut} of 100 clients got no answer");
}

#[test]
fn a_body_that_is_not_json_is_415() {
    let ts = TestServer::with_docs();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        Some("application/jsonx"),
    ] {
        let r = ts.post_raw(
            "/api/sync/performSync",
            Some(&ts.admin),
            ct,
            r#"{"app": "x"}"#,
        );
        assert_eq!(r.status, 415, "{ct:?}: {}", r.text());
        assert_envelope_error(&r.json(), "unsupported_media_type");
        let r = ts.post_raw("/api/sync/jobs", Some(&ts.admin), ct, "{}");
        assert_eq!(r.status, 415, "{ct:?}: {}", r.text());
        assert_rest_error(&r.json(), "unsupported_media_type");
    }
    assert_eq!(ts.job_count(), 0);
    // Parameters and case do not matter.
    for ct in ["application/json; charset=utf-8", "Application/JSON"] {
        let r = ts.post_raw("/api/app/getAppState", Some(&ts.admin), Some(ct), "{}");
        assert_eq!(r.status, 200, "{ct}: {}", r.text());
    }
}

#[test]
fn malformed_json_and_unknown_fields_are_400() {
    let ts = TestServer::with_docs();
    for body in [
        "{",
        r#"{"app": }"#,
        r#"{"app": "x",}"#,
        "app=x",
        "\u{feff}{}",
        r#"{"app": "x"} {"app": "y"}"#,
    ] {
        let r = ts.post_raw(
            "/api/sync/performSync",
            Some(&ts.admin),
            Some("application/json"),
            body,
        );
        assert_eq!(r.status, 400, "{body:?}: {}", r.text());
        assert_envelope_error(&r.json(), "invalid_request");
        let r = ts.post_raw(
            "/api/sync/jobs",
            Some(&ts.admin),
            Some("application/json"),
            body,
        );
        assert_eq!(r.status, 400, "{body:?}: {}", r.text());
        assert_rest_error(&r.json(), "invalid_request");
    }
    // Commands take their arguments and nothing else: a typo is an error, not ignored.
    let cases = [
        (
            "/api/app/setPaused",
            json!({ "paused": true, "pause": false }),
        ),
        ("/api/app/setPaused", json!({ "Paused": true })),
        ("/api/app/setPaused", json!({ "paused": "yes" })),
        ("/api/app/setPaused", json!({})),
        ("/api/app/getAppState", json!({ "verbose": true })),
        ("/api/folder/listFolders", json!({ "all": true })),
        ("/api/folder/removeFolder", json!({ "folder": "docs" })),
        (
            "/api/folder/removeFolder",
            json!({ "name": "docs", "force": true }),
        ),
        ("/api/folder/readIgnoreFile", json!({ "name": "docs" })),
        (
            "/api/folder/writeIgnoreFile",
            json!({ "folder": "docs", "text": "*.tmp", "append": true }),
        ),
        (
            "/api/folder/updateFolderSettings",
            json!({ "name": "docs", "settings": { "enabled": false } }),
        ),
        (
            "/api/folder/updateFolderSettings",
            json!({ "name": "docs", "settings": {
                "enabled": true, "syncMode": "sometimes", "intervalSecs": 60, "watch": true } }),
        ),
        (
            "/api/app/setLanguage",
            json!({ "language": "en", "region": "US" }),
        ),
    ];
    for (path, body) in cases {
        let r = ts.post(path, Some(&ts.admin), &body);
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
        assert_envelope_error(&r.json(), "invalid_request");
    }
    // Nothing was changed by any of them.
    let app = ts.call("/api/app/getAppState", json!({}));
    assert_eq!(app["paused"], false);
    assert_eq!(app["language"], Value::Null);
    assert_eq!(ts.engine.folders().unwrap().len(), 1);
    assert_eq!(
        ts.call("/api/folder/readIgnoreFile", json!({ "folder": "docs" })),
        ""
    );
    assert!(ts.engine.folder("docs").unwrap().enabled);
    assert_eq!(ts.job_count(), 0);
}

#[test]
fn a_json_array_is_not_a_command_body() {
    let ts = TestServer::with_docs();
    for (path, body) in [
        ("/api/folder/removeFolder", json!(["docs"])),
        ("/api/app/setPaused", json!([true])),
    ] {
        let r = ts.post(path, Some(&ts.admin), &body);
        assert_eq!(r.status, 400, "{path} {body}: {}", r.text());
    }
    assert_eq!(ts.engine.folders().unwrap().len(), 1);
    assert!(!ts.engine.app_state().unwrap().paused);
}

#[test]
fn unknown_api_paths_are_404_and_wrong_methods_are_refused() {
    let ts = TestServer::with_docs();
    for path in [
        "/api/nope",
        "/api/sync/performsync",
        "/api/sync/performSync/x",
        "/api/folder/list_folders",
        "/api/app/setAutostart",
        "/api/sync",
    ] {
        let r = ts.post(path, Some(&ts.admin), &json!({}));
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_envelope_error(&r.json(), "not_found");
    }
    for path in ["/api/sync/jobs/1/logs", "/api/sync/jobs/1/log/x"] {
        let r = ts.get(path, Some(&ts.admin));
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_rest_error(&r.json(), "not_found");
    }
    // Another method: 405 in the path's style, with `Allow`; the endpoint does not run.
    let r = ts.get("/api/sync/performSync", Some(&ts.admin));
    assert_eq!(r.status, 405, "{}", r.text());
    assert_envelope_error(&r.json(), "method_not_allowed");
    assert!(
        r.header("allow").unwrap_or_default().contains("POST"),
        "{r:?}"
    );
    for method in [
        reqwest::Method::DELETE,
        reqwest::Method::PUT,
        reqwest::Method::PATCH,
    ] {
        let r = ts.send(
            ts.http
                .request(method.clone(), ts.url("/api/sync/jobs"))
                .header("Authorization", format!("Token {}", ts.admin)),
        );
        assert_eq!(r.status, 405, "{method}: {}", r.text());
        assert_rest_error(&r.json(), "method_not_allowed");
        let allow = r.header("allow").unwrap_or_default();
        assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    }
    let r = ts.post("/api/sync/jobs/1", Some(&ts.admin), &json!({}));
    assert_eq!(r.status, 405, "{}", r.text());
    assert_rest_error(&r.json(), "method_not_allowed");
    assert_eq!(ts.job_count(), 0);
    // /ws without the upgrade: a 400 in the REST style.
    let r = ts.get("/ws", Some(&ts.admin));
    assert_eq!(r.status, 400, "{}", r.text());
    assert_rest_error(&r.json(), "invalid_request");
}

#[test]
fn the_api_root_is_an_unknown_api_path() {
    let ts = TestServer::with_docs();
    let r = ts.post("/api/", Some(&ts.admin), &json!({}));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_envelope_error(&r.json(), "not_found");
    let r = ts.get("/api/", Some(&ts.admin));
    assert_eq!(r.status, 404, "{}", r.text());
    assert_envelope_error(&r.json(), "not_found");
}

#[test]
fn a_websocket_from_another_origin_is_refused() {
    let ts = TestServer::with_docs();
    let own = format!("http://{}", ts.addr);
    let local = format!("http://localhost:{}", ts.addr.port());
    for origin in [
        "http://evil.example",
        &format!("http://evil.example:{}", ts.addr.port()),
        "null",
        "file://",
        &format!("http://{}.evil.example", ts.addr.ip()),
    ] {
        for auth in [WsAuth::Header(&ts.admin), WsAuth::Query(&ts.admin)] {
            match ts.ws_with(auth, Some(origin)) {
                Err(r) => {
                    assert_eq!(r.status, 403, "{origin}: {}", r.text());
                    assert_rest_error(&r.json(), "forbidden");
                }
                Ok(_) => panic!("a WebSocket from {origin} was accepted"),
            }
        }
    }
    for origin in [own.as_str(), local.as_str()] {
        assert!(
            ts.ws_with(WsAuth::Query(&ts.admin), Some(origin)).is_ok(),
            "{origin}"
        );
    }
    // Without an Origin (not a browser) it is the token that counts.
    assert!(ts.ws_with(WsAuth::Query(&ts.admin), None).is_ok());
}

/// Every answer a client can get about folders, jobs and events.
fn everything_visible(ts: &TestServer, ws: &mut common::Ws) -> String {
    let mut out = String::new();
    for path in [
        "/api/folder/listFolders",
        "/api/sync/getSyncInfo",
        "/api/app/getAppState",
    ] {
        let r = ts.post(path, Some(&ts.admin), &json!({}));
        out.push_str(&r.text());
    }
    out.push_str(
        &ts.get("/api/sync/jobs?page_size=200", Some(&ts.admin))
            .text(),
    );
    // The events seen so far, after one more to make sure they are all in.
    ts.call("/api/app/setPaused", json!({ "paused": true }));
    ws.until("paused", |e| e["event"] == "appStateChanged");
    ts.call("/api/app/setPaused", json!({ "paused": false }));
    ws.until("resumed", |e| e["event"] == "appStateChanged");
    for e in &ws.seen {
        out.push_str(&e.to_string());
    }
    out
}

#[test]
fn secrets_go_in_and_never_come_out() {
    let ts = TestServer::new();
    let mut ws = ts.ws();
    ws.sync_with(&ts);
    let s3_secret = "S3-SECRET-wJalrXUtnFEMI-K7MDENG";
    let dav_secret = "DAV-PASSWORD-correct-horse";
    let rotated = "S3-SECRET-ROTATED-bPxRfiCY";
    let passphrase = "PASSPHRASE-tr0ub4dor";
    let new_passphrase = "PASSPHRASE-NEW-hunter2";
    let secrets = [s3_secret, dav_secret, rotated, passphrase, new_passphrase];
    let check = |text: &str, what: &str| {
        for s in secrets {
            assert!(!text.contains(s), "{what} shows a secret: {text}");
        }
    };

    // Folders with credentials: S3 and WebDAV (no server needed to add them).
    let mut answers = Vec::new();
    for (name, remote, secret) in [
        (
            "s3",
            "s3://bucket/prefix?endpoint=http://127.0.0.1:9&access_key_id=AKIDEXAMPLE",
            s3_secret,
        ),
        (
            "dav",
            "webdav+http://127.0.0.1:9/dav?user=alice",
            dav_secret,
        ),
    ] {
        let r = ts.post(
            "/api/folder/addFolder",
            Some(&ts.admin),
            &json!({
                "name": name,
                "path": ts.dir.path().join(name),
                "repository": { "remote": remote, "secret": secret },
            }),
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["code"], 0, "{v:#}");
        answers.push(r.text());
    }
    // They went to the OS keyring.
    let keyring = Keyring::new(&ts.engine.device().id).unwrap();
    let stored = |folder: &str| {
        keyring
            .get(folder, SecretKind::Remote)
            .unwrap()
            .map(|s| s.expose().to_owned())
    };
    assert_eq!(stored("s3").as_deref(), Some(s3_secret));
    assert_eq!(stored("dav").as_deref(), Some(dav_secret));
    // Rotate the S3 secret.
    let r = ts.post(
        "/api/folder/setRemoteSecret",
        Some(&ts.admin),
        &json!({ "folder": "s3", "secret": rotated }),
    );
    assert_eq!(r.json()["code"], 0, "{}", r.text());
    assert_eq!(r.json()["data"], Value::Null);
    answers.push(r.text());
    assert_eq!(
        stored("s3").as_deref(),
        Some(rotated),
        "setRemoteSecret stored it"
    );
    // A secret in the remote URL itself is refused, without repeating it.
    let r = ts.post(
        "/api/folder/addFolder",
        Some(&ts.admin),
        &json!({
            "name": "leak",
            "path": ts.dir.path().join("leak"),
            "repository": {
                "remote": format!("s3://bucket?access_key_id=AK&secret_access_key={s3_secret}")
            },
        }),
    );
    assert_envelope_error(&r.json(), "invalid_request");
    answers.push(r.text());
    let r = ts.post(
        "/api/remote/parseRemote",
        Some(&ts.admin),
        &json!({ "remote": format!("webdav+http://alice:{dav_secret}@127.0.0.1:9/") }),
    );
    assert_envelope_error(&r.json(), "invalid_request");
    answers.push(r.text());

    // An encrypted folder on a local remote, its passphrase changed.
    let r = ts.post(
        "/api/folder/addFolder",
        Some(&ts.admin),
        &json!({
            "name": "crypt",
            "path": ts.dir.path().join("crypt"),
            "repository": { "remote": ts.remote, "passphrase": passphrase },
        }),
    );
    let v = r.json();
    assert_eq!(v["code"], 0, "{v:#}");
    assert_eq!(v["data"]["encrypted"], true);
    answers.push(r.text());
    ts.write("crypt", "secret-notes.txt", b"hello");
    let job = ts.sync("crypt");
    let wrong = ts.post(
        "/api/folder/setPassphrase",
        Some(&ts.admin),
        &json!({ "folder": "crypt", "passphrase": new_passphrase }),
    );
    assert_envelope_error(&wrong.json(), "passphrase");
    answers.push(wrong.text());
    let r = ts.post(
        "/api/folder/changePassphrase",
        Some(&ts.admin),
        &json!({ "folder": "crypt", "old": passphrase, "new": new_passphrase }),
    );
    assert_eq!(r.json()["code"], 0, "{}", r.text());
    answers.push(r.text());
    let r = ts.post(
        "/api/folder/changePassphrase",
        Some(&ts.admin),
        &json!({ "folder": "crypt", "old": passphrase, "new": "x" }),
    );
    assert_envelope_error(&r.json(), "passphrase");
    answers.push(r.text());
    // Nor does the repository on disk or the state directory hold a passphrase in clear.
    for root in [ts.remote.clone(), ts.state.clone()] {
        for f in common::files_under(&root) {
            let bytes = std::fs::read(root.join(&f)).unwrap();
            check(&String::from_utf8_lossy(&bytes), &f);
        }
    }

    for a in &answers {
        check(a, "an answer");
    }
    check(
        &everything_visible(&ts, &mut ws),
        "listFolders/getSyncInfo/jobs/events",
    );
    check(&job.to_string(), "the job");
    // The folders say what they are without their secrets.
    let folders: Vec<Folder> =
        serde_json::from_value(ts.call("/api/folder/listFolders", json!({}))).unwrap();
    assert_eq!(folders.len(), 3, "{folders:?}");
    assert!(folders.iter().any(|f| f.name == "crypt" && f.encrypted));
    let s3 = folders.iter().find(|f| f.name == "s3").unwrap();
    assert!(
        s3.remote.contains("access_key_id=AKIDEXAMPLE"),
        "{}",
        s3.remote
    );
}
