//! Tokens and roles (docs/api.md, "Security" and "Two styles of response"): 401 without a
//! valid token, 403 for a read-only token's mutations, revocation and creation while the
//! server runs.

mod common;

use common::{TestServer, WsAuth, assert_envelope_error, assert_rest_error};
use serde_json::{Value, json};
use syncdesk_engine::Engine;
use syncdesk_engine::model::{ApiRole, NewFolder, RepositorySettings};
use syncdesk_engine::secrets::Secret;

/// A request in each style: an envelope endpoint and a REST one.
fn envelope_and_rest(ts: &TestServer, auth: Option<&str>) -> (common::Resp, common::Resp) {
    let mut e = ts
        .http
        .post(ts.url("/api/sync/getSyncInfo"))
        .json(&json!({}));
    let mut r = ts.http.get(ts.url("/api/sync/jobs"));
    if let Some(a) = auth {
        e = e.header("Authorization", a);
        r = r.header("Authorization", a);
    }
    (ts.send(e), ts.send(r))
}

fn assert_unauthorized(e: &common::Resp, r: &common::Resp, what: &str) {
    for resp in [e, r] {
        assert_eq!(resp.status, 401, "{what}: {}", resp.text());
        assert_eq!(
            resp.header("www-authenticate").as_deref(),
            Some("Token"),
            "{what}"
        );
    }
    assert_envelope_error(&e.json(), "unauthorized");
    assert_rest_error(&r.json(), "unauthorized");
}

#[test]
fn no_token_is_a_401_in_both_styles() {
    let ts = TestServer::with_docs();
    let (e, r) = envelope_and_rest(&ts, None);
    assert_unauthorized(&e, &r, "no header");

    // Every endpoint, mutations too, and unknown paths under /api/.
    for path in [
        "/api/sync/performSync",
        "/api/folder/listFolders",
        "/api/folder/removeFolder",
        "/api/app/setPaused",
        "/api/nope",
    ] {
        let r = ts.post(
            path,
            None,
            &json!({ "app": "x", "name": "docs", "paused": true }),
        );
        assert_eq!(r.status, 401, "{path}: {}", r.text());
        assert_envelope_error(&r.json(), "unauthorized");
    }
    for (method, path) in [("POST", "/api/sync/jobs"), ("GET", "/api/sync/jobs/1")] {
        let req = ts.http.request(method.parse().unwrap(), ts.url(path));
        let r = ts.send(req);
        assert_eq!(r.status, 401, "{path}");
        assert_rest_error(&r.json(), "unauthorized");
    }
    assert_eq!(ts.engine.folders().unwrap().len(), 1);
    assert!(!ts.engine.app_state().unwrap().paused);
    assert_eq!(ts.job_count(), 0);
}

#[test]
fn malformed_unknown_and_misplaced_tokens_are_401() {
    let ts = TestServer::with_docs();
    let admin = ts.admin.clone();
    let cases = [
        format!("Bearer {admin}"),
        format!("Basic {admin}"),
        admin.clone(),
        "Token".to_owned(),
        "Token ".to_owned(),
        String::new(),
        "garbage".to_owned(),
        "Token nope".to_owned(),
        format!("Token sdt_{}", "0".repeat(64)),
        format!("Token {}", &admin[..admin.len() - 1]),
        format!("Token {admin}x"),
        format!("Token {admin} {admin}"),
    ];
    for auth in &cases {
        let (e, r) = envelope_and_rest(&ts, Some(auth));
        assert_unauthorized(&e, &r, auth);
        let r = ts.send(
            ts.http
                .post(ts.url("/api/sync/performSync"))
                .header("Authorization", auth)
                .json(&json!({ "app": "x" })),
        );
        assert_eq!(r.status, 401, "{auth}");
    }
    // `?token=` is for the WebSocket only.
    let r = ts.get(&format!("/api/sync/jobs?token={admin}"), None);
    assert_eq!(r.status, 401, "{}", r.text());
    let r = ts.post(
        &format!("/api/sync/getSyncInfo?token={admin}"),
        None,
        &json!({}),
    );
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(ts.job_count(), 0, "no refused request started a sync");

    // The scheme is case-insensitive (RFC 9110), the token is not.
    let (e, r) = envelope_and_rest(&ts, Some(&format!("token {admin}")));
    assert_eq!((e.status, r.status), (200, 200));
    let (e, r) = envelope_and_rest(&ts, Some(&format!("Token {}", admin.to_uppercase())));
    assert_unauthorized(&e, &r, "upper-case token");
}

/// A folder with history, a trash item and an encrypted sibling, for the role tests.
struct World {
    ts: TestServer,
    job: i64,
    snapshot: String,
    batch: String,
}

fn world() -> World {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"alpha");
    ts.call(
        "/api/folder/writeIgnoreFile",
        json!({ "folder": "docs", "text": "*.tmp\n" }),
    );
    let job = ts.sync("docs")["id"].as_i64().unwrap();
    // A local change undone by a force-pull: the local version goes to the trash.
    ts.write("docs", "a.txt", b"local edit");
    let pull = ts.perform_sync(json!({ "app": "x", "pushMode": "force-pull" }));
    assert_eq!(ts.wait_job(pull)["status"], "succeeded");
    let snapshot = ts.call("/api/history/listSnapshots", json!({ "folder": "docs" }))[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let trash = ts.call("/api/history/listTrash", json!({ "folder": "docs" }));
    let batch = trash[0]["batch"].as_str().expect("a trash item").to_owned();
    let crypt = ts.dir.path().join("crypt");
    ts.engine
        .add_folder_with(&NewFolder {
            name: "crypt".into(),
            path: crypt,
            repository: RepositorySettings {
                remote: ts.remote.to_str().unwrap().to_owned(),
                cloud_name: Some("crypt".into()),
                passphrase: Some(Secret::new("old passphrase")),
                ..Default::default()
            },
        })
        .expect("an encrypted folder");
    World {
        ts,
        job,
        snapshot,
        batch,
    }
}

#[test]
fn a_read_only_token_reads_everything() {
    let w = world();
    let ts = &w.ts;
    let t = ts.reader.as_str();
    for path in [
        "/api/sync/jobs".to_owned(),
        "/api/sync/jobs?status=succeeded&page_size=1".to_owned(),
        format!("/api/sync/jobs/{}", w.job),
        format!("/api/sync/jobs/{}/log", w.job),
    ] {
        let r = ts.get(&path, Some(t));
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let snapshot = w.snapshot.as_str();
    let reads = [
        ("/api/sync/getSyncInfo", json!({})),
        ("/api/sync/previewSync", json!({ "app": "x" })),
        ("/api/folder/listFolders", json!({})),
        ("/api/folder/readIgnoreFile", json!({ "folder": "docs" })),
        ("/api/remote/parseRemote", json!({ "remote": "/srv/sync" })),
        (
            "/api/remote/remoteUrl",
            json!({ "spec": { "kind": "local", "path": "/srv/sync" } }),
        ),
        ("/api/history/listSnapshots", json!({ "folder": "docs" })),
        (
            "/api/history/listSnapshotFiles",
            json!({ "folder": "docs", "snapshot": snapshot, "path": "" }),
        ),
        ("/api/history/listTrash", json!({ "folder": "docs" })),
        ("/api/app/getAppState", json!({})),
    ];
    for (path, body) in reads {
        let admin = ts.call(path, body.clone());
        let reader = ts.call_as(t, path, body);
        if path != "/api/sync/previewSync" {
            assert_eq!(admin, reader, "{path}: the same answer for both roles");
        }
    }
    assert!(ts.ws_with(WsAuth::Header(t), None).is_ok());
    assert!(ts.ws_with(WsAuth::Query(t), None).is_ok());
}

/// Everything a client can see, to check a refused request changed nothing.
fn snapshot_of_state(ts: &TestServer) -> Value {
    let docs = ts.folder_path("docs");
    json!({
        "folders": ts.call("/api/folder/listFolders", json!({})),
        "info": ts.call("/api/sync/getSyncInfo", json!({})),
        "jobs": ts.jobs("page_size=200"),
        "ignore": ts.call("/api/folder/readIgnoreFile", json!({ "folder": "docs" })),
        "trash": ts.call("/api/history/listTrash", json!({ "folder": "docs" })),
        "app": ts.call("/api/app/getAppState", json!({})),
        "files": common::files_under(&docs),
        "everything": common::files_under(ts.dir.path()),
    })
}

#[test]
fn a_read_only_token_changes_nothing() {
    let w = world();
    let ts = &w.ts;
    let before = snapshot_of_state(ts);
    let restore_to = ts.dir.path().join("restored");
    let other_remote = ts.dir.path().join("other-remote");
    let new_folder = ts.dir.path().join("new-folder");
    let mutations = [
        ("/api/sync/performSync", json!({ "app": "x" })),
        (
            "/api/sync/performSync",
            json!({ "app": "x", "cloudName": "elsewhere", "folder": "docs" }),
        ),
        (
            "/api/folder/addFolder",
            json!({ "name": "new", "path": new_folder, "repository": null }),
        ),
        ("/api/folder/removeFolder", json!({ "name": "docs" })),
        (
            "/api/folder/updateFolderSettings",
            json!({ "name": "docs", "settings": {
                "enabled": false, "syncMode": "manual", "intervalSecs": 60, "watch": false } }),
        ),
        (
            "/api/folder/writeIgnoreFile",
            json!({ "folder": "docs", "text": "*\n" }),
        ),
        (
            "/api/folder/setFolderRepository",
            json!({ "name": "docs", "repository": { "remote": other_remote } }),
        ),
        (
            "/api/folder/setRemoteSecret",
            json!({ "folder": "docs", "secret": "s" }),
        ),
        (
            "/api/folder/setPassphrase",
            json!({ "folder": "crypt", "passphrase": "new passphrase" }),
        ),
        (
            "/api/folder/changePassphrase",
            json!({ "folder": "crypt", "old": "old passphrase", "new": "new passphrase" }),
        ),
        ("/api/folder/testFolderRemote", json!({ "folder": "docs" })),
        (
            "/api/remote/testRemote",
            json!({ "remote": other_remote, "secret": null }),
        ),
        (
            "/api/history/restoreSnapshot",
            json!({ "folder": "docs", "snapshot": w.snapshot, "path": "a.txt", "to": restore_to }),
        ),
        (
            "/api/history/restoreTrash",
            json!({ "folder": "docs", "batch": w.batch, "path": "a.txt", "to": restore_to }),
        ),
        ("/api/app/setPaused", json!({ "paused": true })),
        ("/api/app/setLanguage", json!({ "language": "zh-CN" })),
    ];
    for (path, body) in mutations {
        let r = ts.post(path, Some(&ts.reader), &body);
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert_envelope_error(&r.json(), "forbidden");
    }
    for body in [json!({}), json!({ "source": "docs" })] {
        let r = ts.post("/api/sync/jobs", Some(&ts.reader), &body);
        assert_eq!(r.status, 403, "{}", r.text());
        assert_rest_error(&r.json(), "forbidden");
    }
    assert_eq!(
        snapshot_of_state(ts),
        before,
        "a refused request changed something"
    );
    assert!(!restore_to.exists());
    assert!(!other_remote.exists(), "testRemote did not run");
    // The passphrase is still the old one.
    ts.engine
        .set_passphrase("crypt", &Secret::new("old passphrase"))
        .expect("the old passphrase still opens the repository");
}

#[test]
fn a_revoked_token_is_refused_on_the_very_next_request() {
    let ts = TestServer::with_docs();
    let temp = ts
        .engine
        .create_api_token(Some("temp"), ApiRole::Admin)
        .unwrap()
        .secret;
    let auth = format!("Token {temp}");
    let (e, r) = envelope_and_rest(&ts, Some(&auth));
    assert_eq!((e.status, r.status), (200, 200));

    // `syncdesk-cli token revoke temp` in another process: another engine on the same state.
    let cli = Engine::open(&ts.state).unwrap();
    cli.revoke_api_token("temp").unwrap();
    let (e, r) = envelope_and_rest(&ts, Some(&auth));
    assert_unauthorized(&e, &r, "revoked");
    match ts.ws_with(WsAuth::Query(&temp), None) {
        Err(resp) => assert_eq!(resp.status, 401),
        Ok(_) => panic!("a revoked token opened a WebSocket"),
    }
    // The others still work.
    let (e, r) = envelope_and_rest(&ts, Some(&format!("Token {}", ts.admin)));
    assert_eq!((e.status, r.status), (200, 200));

    // Revoked by the server's own engine, read-only this time.
    let ro = ts
        .engine
        .create_api_token(Some("ro"), ApiRole::ReadOnly)
        .unwrap()
        .secret;
    let (e, _) = envelope_and_rest(&ts, Some(&format!("Token {ro}")));
    assert_eq!(e.status, 200);
    ts.engine.revoke_api_token("ro").unwrap();
    let (e, r) = envelope_and_rest(&ts, Some(&format!("Token {ro}")));
    assert_unauthorized(&e, &r, "revoked read-only");
}

#[test]
fn a_token_created_while_the_server_runs_works_at_once() {
    let ts = TestServer::with_docs();
    let cli = Engine::open(&ts.state).unwrap();
    let admin = cli
        .create_api_token(Some("late-admin"), ApiRole::Admin)
        .unwrap()
        .secret;
    let reader = cli
        .create_api_token(None, ApiRole::ReadOnly)
        .unwrap()
        .secret;
    assert!(admin.starts_with("sdt_") && admin.len() == 68, "{admin}");
    let data = ts.call_as(&admin, "/api/app/setPaused", json!({ "paused": true }));
    assert_eq!(data["paused"], true);
    let r = ts.post(
        "/api/app/setPaused",
        Some(&reader),
        &json!({ "paused": false }),
    );
    assert_eq!(r.status, 403);
    let data = ts.call_as(&reader, "/api/app/getAppState", json!({}));
    assert_eq!(data["paused"], true);
}

#[test]
fn a_token_name_revoked_and_created_again_takes_only_the_new_secret() {
    let ts = TestServer::with_docs();
    let old = ts
        .engine
        .create_api_token(Some("laptop"), ApiRole::Admin)
        .unwrap()
        .secret;
    let (e, _) = envelope_and_rest(&ts, Some(&format!("Token {old}")));
    assert_eq!(e.status, 200, "the server has now seen the token");
    // `token revoke laptop` then `token create --name laptop`, with no request in between.
    let cli = Engine::open(&ts.state).unwrap();
    cli.revoke_api_token("laptop").unwrap();
    let new = cli
        .create_api_token(Some("laptop"), ApiRole::ReadOnly)
        .unwrap()
        .secret;
    let (e, r) = envelope_and_rest(&ts, Some(&format!("Token {old}")));
    assert_unauthorized(&e, &r, "the revoked secret");
    let (e, r) = envelope_and_rest(&ts, Some(&format!("Token {new}")));
    assert_eq!(
        (e.status, r.status),
        (200, 200),
        "the new secret: {}",
        e.text()
    );
}
