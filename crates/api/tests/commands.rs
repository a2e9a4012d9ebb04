//! The desktop commands over HTTP (docs/api.md, the second table of "Endpoints"): each route
//! at least once with a real effect, and its errors in the envelope with their codes.

mod common;

use std::fs;

use common::{Gate, TestServer, assert_envelope_error, keys};
use serde_json::{Value, json};

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|x| x["name"].as_str().expect("a name").to_owned())
        .collect()
}

#[test]
fn add_folder_with_no_repository_uses_the_default_remote() {
    let ts = TestServer::with_docs();
    let path = ts.dir.path().join("photos");
    let f = ts.call(
        "/api/folder/addFolder",
        json!({ "name": "photos", "path": path, "repository": null }),
    );
    assert_eq!(
        keys(&f),
        [
            "cloudName",
            "enabled",
            "encrypted",
            "intervalSecs",
            "name",
            "path",
            "remote",
            "syncMode",
            "watch"
        ]
    );
    assert_eq!(f["name"], "photos");
    assert_eq!(f["cloudName"], "photos", "under the folder's name");
    assert_eq!(
        f["remote"],
        ts.default_remote.display().to_string(),
        "the server's default repository"
    );
    assert_eq!(f["enabled"], true);
    assert_eq!(f["syncMode"], "automatic");
    assert_eq!(f["intervalSecs"], 300);
    assert_eq!(f["watch"], true);
    assert_eq!(f["encrypted"], false);
    assert!(path.is_dir(), "the folder's directory is created");
    assert_eq!(
        f["path"],
        path.canonicalize().unwrap().display().to_string()
    );
    let listed = ts.call("/api/folder/listFolders", json!({}));
    assert_eq!(names(&listed), ["docs", "photos"]);
    assert_eq!(listed[1], f);

    // It syncs into the default remote.
    ts.write("photos", "cat.jpg", b"meow");
    let job = ts.sync("photos");
    assert_eq!(job["stats"]["files_uploaded"], 1);
    assert!(ts.default_remote.join("photos").is_dir());

    // A second one sits next to it.
    let g = ts.call(
        "/api/folder/addFolder",
        json!({ "name": "music", "path": ts.dir.path().join("music"), "repository": null }),
    );
    assert_eq!(g["remote"], f["remote"]);
    assert_eq!(g["cloudName"], "music");

    // With a repository of its own.
    let own = ts.dir.path().join("own-remote");
    let h = ts.call(
        "/api/folder/addFolder",
        json!({
            "name": "notes",
            "path": ts.dir.path().join("notes"),
            "repository": { "remote": own, "cloudName": "n1" },
        }),
    );
    assert_eq!(h["remote"], own.display().to_string());
    assert_eq!(h["cloudName"], "n1");
}

#[test]
fn add_folder_refuses_what_cannot_work() {
    let ts = TestServer::with_docs();
    let docs = ts.folder_path("docs");
    let cases = [
        // Taken name.
        json!({ "name": "docs", "path": ts.dir.path().join("x"), "repository": null }),
        // Bad names.
        json!({ "name": "a/b", "path": ts.dir.path().join("x"), "repository": null }),
        json!({ "name": "", "path": ts.dir.path().join("x"), "repository": null }),
        // Not absolute.
        json!({ "name": "rel", "path": "relative/dir", "repository": null }),
        // Inside another folder.
        json!({ "name": "inner", "path": docs.join("inner"), "repository": null }),
        // The remote inside the folder.
        json!({ "name": "loop", "path": ts.dir.path().join("loop"),
                "repository": { "remote": ts.dir.path().join("loop/remote") } }),
        // Same remote and cloud name as docs.
        json!({ "name": "twin", "path": ts.dir.path().join("twin"),
                "repository": { "remote": ts.remote, "cloudName": "main" } }),
        // Not a remote.
        json!({ "name": "ftp", "path": ts.dir.path().join("ftp"),
                "repository": { "remote": "ftp://example.com/x" } }),
        // A bad cloud name.
        json!({ "name": "bad", "path": ts.dir.path().join("bad"),
                "repository": { "remote": ts.remote, "cloudName": ".x" } }),
    ];
    for body in cases {
        ts.refused("/api/folder/addFolder", body, "invalid_request");
    }
    // An S3 remote with a key id but no secret: credentials are missing.
    ts.refused(
        "/api/folder/addFolder",
        json!({ "name": "s3", "path": ts.dir.path().join("s3"),
                "repository": { "remote": "s3://b?endpoint=http://127.0.0.1:9&access_key_id=AK" } }),
        "credentials",
    );
    assert_eq!(
        names(&ts.call("/api/folder/listFolders", json!({}))),
        ["docs"]
    );
}

#[test]
fn update_folder_settings() {
    let ts = TestServer::with_docs();
    let settings = json!({
        "enabled": false, "syncMode": "completely_manual", "intervalSecs": 3600, "watch": false
    });
    let f = ts.call(
        "/api/folder/updateFolderSettings",
        json!({ "name": "docs", "settings": settings }),
    );
    assert_eq!(f["enabled"], false);
    assert_eq!(f["syncMode"], "completely_manual");
    assert_eq!(f["intervalSecs"], 3600);
    assert_eq!(f["watch"], false);
    assert_eq!(ts.call("/api/folder/listFolders", json!({}))[0], f);
    let info = ts.call("/api/sync/getSyncInfo", json!({}));
    assert_eq!(info["enabled"], false, "a disabled folder");
    // A disabled folder is not synced by "all folders".
    ts.refused("/api/sync/performSync", json!({ "app": "x" }), "no_folders");

    for interval in [0, 9, 86_401] {
        ts.refused(
            "/api/folder/updateFolderSettings",
            json!({ "name": "docs", "settings": {
                "enabled": true, "syncMode": "automatic", "intervalSecs": interval, "watch": true } }),
            "invalid_request",
        );
    }
    assert_eq!(
        ts.call("/api/folder/listFolders", json!({}))[0],
        f,
        "unchanged"
    );
    ts.refused(
        "/api/folder/updateFolderSettings",
        json!({ "name": "nope", "settings": settings }),
        "unknown_folder",
    );
}

#[test]
fn the_ignore_file_round_trips_and_the_next_sync_follows_it() {
    let ts = TestServer::with_docs();
    assert_eq!(
        ts.call("/api/folder/readIgnoreFile", json!({ "folder": "docs" })),
        ""
    );
    let rules = "*.tmp\nbuild/\n";
    let data = ts.call(
        "/api/folder/writeIgnoreFile",
        json!({ "folder": "docs", "text": rules }),
    );
    assert_eq!(data, Value::Null);
    assert_eq!(
        ts.call_as(
            &ts.reader,
            "/api/folder/readIgnoreFile",
            json!({ "folder": "docs" })
        ),
        rules
    );
    let docs = ts.folder_path("docs");
    assert_eq!(fs::read_to_string(docs.join(".syncignore")).unwrap(), rules);

    ts.write("docs", "a.txt", b"a");
    ts.write("docs", "scratch.tmp", b"t");
    ts.write("docs", "build/out.bin", b"o");
    let job = ts.sync("docs");
    assert_eq!(
        job["stats"]["files_uploaded"], 2,
        "a.txt and .syncignore: {job:#}"
    );
    let snap = ts.call("/api/history/listSnapshots", json!({ "folder": "docs" }))[0]["id"].clone();
    let files = ts.call(
        "/api/history/listSnapshotFiles",
        json!({ "folder": "docs", "snapshot": snap, "path": "" }),
    );
    assert_eq!(names(&files), [".syncignore", "a.txt"]);

    // A rule that does not parse is refused; the file is unchanged.
    ts.refused(
        "/api/folder/writeIgnoreFile",
        json!({ "folder": "docs", "text": "ok.txt\n[z-a]\n" }),
        "invalid_request",
    );
    assert_eq!(fs::read_to_string(docs.join(".syncignore")).unwrap(), rules);
    // Empty text removes it.
    ts.call(
        "/api/folder/writeIgnoreFile",
        json!({ "folder": "docs", "text": "" }),
    );
    assert!(!docs.join(".syncignore").exists());
    assert_eq!(
        ts.call("/api/folder/readIgnoreFile", json!({ "folder": "docs" })),
        ""
    );
    ts.refused(
        "/api/folder/readIgnoreFile",
        json!({ "folder": "nope" }),
        "unknown_folder",
    );
    ts.refused(
        "/api/folder/writeIgnoreFile",
        json!({ "folder": "nope", "text": "x" }),
        "unknown_folder",
    );
}

#[test]
fn set_folder_repository_moves_the_folder_to_another_repository() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"a");
    ts.write("docs", "b.txt", b"b");
    ts.sync("docs");
    let other = ts.dir.path().join("other-remote");
    let f = ts.call(
        "/api/folder/setFolderRepository",
        json!({ "name": "docs", "repository": { "remote": other, "cloudName": "moved" } }),
    );
    assert_eq!(f["remote"], other.display().to_string());
    assert_eq!(f["cloudName"], "moved");
    assert_eq!(ts.call("/api/folder/listFolders", json!({}))[0], f);
    let job = ts.sync("docs");
    assert_eq!(
        job["stats"]["files_uploaded"], 2,
        "everything, again: {job:#}"
    );
    assert!(other.join("moved").is_dir());

    ts.refused(
        "/api/folder/setFolderRepository",
        json!({ "name": "nope", "repository": { "remote": other } }),
        "unknown_folder",
    );
    ts.refused(
        "/api/folder/setFolderRepository",
        json!({ "name": "docs", "repository": { "remote": "ftp://x/y" } }),
        "invalid_request",
    );
    // Not while it syncs.
    let gate = Gate::new(&ts.engine, "docs");
    let id = ts.perform_sync(json!({ "app": "x" }));
    gate.wait_held();
    ts.refused(
        "/api/folder/setFolderRepository",
        json!({ "name": "docs", "repository": { "remote": ts.remote } }),
        "sync_in_progress",
    );
    gate.open();
    ts.wait_job(id);
    assert_eq!(
        ts.call("/api/folder/listFolders", json!({}))[0]["cloudName"],
        "moved"
    );
}

#[test]
fn passphrase_commands_on_an_encrypted_folder() {
    let ts = TestServer::with_docs();
    ts.refused(
        "/api/folder/setRemoteSecret",
        json!({ "folder": "docs", "secret": "s" }),
        "invalid_request",
    );
    ts.refused(
        "/api/folder/setPassphrase",
        json!({ "folder": "docs", "passphrase": "p" }),
        "invalid_request",
    );
    ts.refused(
        "/api/folder/changePassphrase",
        json!({ "folder": "docs", "old": "a", "new": "b" }),
        "invalid_request",
    );
    for (path, body) in [
        (
            "/api/folder/setRemoteSecret",
            json!({ "folder": "nope", "secret": "s" }),
        ),
        (
            "/api/folder/setPassphrase",
            json!({ "folder": "nope", "passphrase": "p" }),
        ),
        (
            "/api/folder/changePassphrase",
            json!({ "folder": "nope", "old": "a", "new": "b" }),
        ),
    ] {
        ts.refused(path, body, "unknown_folder");
    }

    let f = ts.call(
        "/api/folder/addFolder",
        json!({
            "name": "crypt",
            "path": ts.dir.path().join("crypt"),
            "repository": { "remote": ts.remote, "cloudName": "crypt", "passphrase": "first" },
        }),
    );
    assert_eq!(f["encrypted"], true);
    ts.write("crypt", "a.txt", b"a");
    ts.sync("crypt");
    // The passphrase as stored again (after a change elsewhere): checked first.
    ts.refused(
        "/api/folder/setPassphrase",
        json!({ "folder": "crypt", "passphrase": "wrong" }),
        "passphrase",
    );
    assert_eq!(
        ts.call(
            "/api/folder/setPassphrase",
            json!({ "folder": "crypt", "passphrase": "first" })
        ),
        Value::Null
    );
    assert_eq!(
        ts.call(
            "/api/folder/changePassphrase",
            json!({ "folder": "crypt", "old": "first", "new": "second" })
        ),
        Value::Null
    );
    ts.refused(
        "/api/folder/setPassphrase",
        json!({ "folder": "crypt", "passphrase": "first" }),
        "passphrase",
    );
    ts.refused(
        "/api/folder/changePassphrase",
        json!({ "folder": "crypt", "old": "second", "new": "" }),
        "invalid_request",
    );
    // Syncs go on with the new one (kept in the keyring).
    ts.write("crypt", "b.txt", b"b");
    let job = ts.sync("crypt");
    assert_eq!(job["stats"]["files_uploaded"], 1);
}

fn assert_probe(report: &Value) {
    assert_eq!(keys(report), ["providerName", "remote", "steps", "totalMs"]);
    assert_eq!(report["providerName"], "Local");
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["list", "write", "read", "delete", "confirmDeleted"]);
    assert!(report["totalMs"].is_u64());
}

#[test]
fn test_remote_and_test_folder_remote_probe_a_local_directory() {
    let ts = TestServer::with_docs();
    let probe = ts.dir.path().join("probe");
    fs::create_dir_all(&probe).unwrap();
    let report = ts.call(
        "/api/remote/testRemote",
        json!({ "remote": probe, "secret": null }),
    );
    assert_probe(&report);
    assert!(
        common::files_under(&probe).is_empty(),
        "the probe cleans up: {:?}",
        common::files_under(&probe)
    );
    let report = ts.call("/api/folder/testFolderRemote", json!({ "folder": "docs" }));
    assert_probe(&report);

    ts.refused(
        "/api/folder/testFolderRemote",
        json!({ "folder": "nope" }),
        "unknown_folder",
    );
    ts.refused(
        "/api/remote/testRemote",
        json!({ "remote": "ftp://x/y", "secret": null }),
        "invalid_request",
    );
    // A local remote that cannot be a directory fails, and says so.
    let file = ts.dir.path().join("a-file");
    fs::write(&file, b"x").unwrap();
    let r = ts.post(
        "/api/remote/testRemote",
        Some(&ts.admin),
        &json!({ "remote": file, "secret": null }),
    );
    assert_eq!(r.status, 200);
    let v = r.json();
    assert_eq!(v["code"], -1, "{v:#}");
    assert_eq!(v["data"], Value::Null);
}

#[test]
fn parse_remote_and_remote_url_round_trip() {
    let ts = TestServer::new();
    for url in [
        "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1&access_key_id=AKID",
        "webdav+https://dav.example.com/remote.php/dav?user=alice",
        "/srv/sync",
    ] {
        let spec = ts.call("/api/remote/parseRemote", json!({ "remote": url }));
        let back = ts.call_as(&ts.reader, "/api/remote/remoteUrl", json!({ "spec": spec }));
        let again = ts.call("/api/remote/parseRemote", json!({ "remote": back }));
        assert_eq!(again, spec, "{url} -> {back}");
    }
    let s3 = ts.call(
        "/api/remote/parseRemote",
        json!({ "remote": "s3://bucket/some/prefix?endpoint=http://127.0.0.1:9000&access_key_id=AKID" }),
    );
    assert_eq!(s3["kind"], "s3");
    assert_eq!(s3["bucket"], "bucket");
    assert_eq!(s3["prefix"], "some/prefix");
    assert_eq!(s3["endpoint"], "http://127.0.0.1:9000");
    assert_eq!(s3["accessKeyId"], "AKID");
    let dav = ts.call(
        "/api/remote/parseRemote",
        json!({ "remote": "webdav+https://dav.example.com/dav?user=alice" }),
    );
    assert_eq!(dav["kind"], "webdav");
    assert_eq!(dav["user"], "alice");
    let local = ts.call("/api/remote/parseRemote", json!({ "remote": "/srv/sync" }));
    assert_eq!(local["kind"], "local");
    assert_eq!(local["path"], "/srv/sync");
    // A spec built by a form.
    let url = ts.call(
        "/api/remote/remoteUrl",
        json!({ "spec": { "kind": "webdav", "url": "https://dav.example.com/x", "user": "bob" } }),
    );
    assert!(
        url.as_str().unwrap().starts_with("webdav+https://"),
        "{url}"
    );
    assert!(url.as_str().unwrap().contains("user=bob"), "{url}");

    for bad in ["ftp://x/y", "relative/dir", "s3://"] {
        ts.refused(
            "/api/remote/parseRemote",
            json!({ "remote": bad }),
            "invalid_request",
        );
    }
    let r = ts.post(
        "/api/remote/remoteUrl",
        Some(&ts.admin),
        &json!({ "spec": { "kind": "ftp" } }),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert_envelope_error(&r.json(), "invalid_request");
}

#[test]
fn snapshots_their_files_and_restoring_one() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"first");
    ts.write("docs", "sub/b.txt", b"bee");
    ts.sync("docs");
    ts.write("docs", "a.txt", b"second version");
    ts.sync("docs");

    let snaps = ts.call_as(
        &ts.reader,
        "/api/history/listSnapshots",
        json!({ "folder": "docs" }),
    );
    let snaps = snaps.as_array().unwrap();
    assert_eq!(snaps.len(), 2, "{snaps:#?}");
    for s in snaps {
        assert_eq!(
            keys(s),
            [
                "bytes",
                "createdAt",
                "device",
                "files",
                "headOf",
                "id",
                "parents"
            ]
        );
        assert_eq!(s["device"], ts.engine.device().id.as_str());
        assert_eq!(s["files"], 2);
    }
    let (newest, oldest) = (&snaps[0], &snaps[1]);
    assert!(newest["createdAt"].as_str() >= oldest["createdAt"].as_str());
    assert_eq!(newest["parents"], json!([oldest["id"]]));
    assert_eq!(newest["headOf"], json!([ts.engine.device().id]));
    assert_eq!(oldest["headOf"], json!([]));
    let old_id = oldest["id"].as_str().unwrap();

    let root = ts.call(
        "/api/history/listSnapshotFiles",
        json!({ "folder": "docs", "snapshot": old_id, "path": "" }),
    );
    assert_eq!(names(&root), ["a.txt", "sub"]);
    assert_eq!(root[0]["kind"], "file");
    assert_eq!(root[0]["size"], 5);
    assert_eq!(root[1]["kind"], "dir");
    assert_eq!(
        keys(&root[0]),
        ["device", "kind", "mtimeNs", "name", "size"]
    );
    // By path, and by a unique prefix of the id.
    let sub = ts.call(
        "/api/history/listSnapshotFiles",
        json!({ "folder": "docs", "snapshot": &old_id[..8], "path": "sub" }),
    );
    assert_eq!(names(&sub), ["b.txt"]);

    let to = ts.dir.path().join("restored");
    let report = ts.call(
        "/api/history/restoreSnapshot",
        json!({ "folder": "docs", "snapshot": old_id, "path": "a.txt", "to": to }),
    );
    assert_eq!(keys(&report), ["bytes", "files", "target"]);
    assert_eq!(report["files"], 1);
    assert_eq!(report["bytes"], 5);
    assert_eq!(fs::read(to.join("a.txt")).unwrap(), b"first");
    assert_eq!(
        fs::read(ts.folder_path("docs").join("a.txt")).unwrap(),
        b"second version",
        "the folder is untouched"
    );
    // Never overwrites.
    ts.refused(
        "/api/history/restoreSnapshot",
        json!({ "folder": "docs", "snapshot": old_id, "path": "a.txt", "to": to }),
        "invalid_request",
    );
    assert_eq!(fs::read(to.join("a.txt")).unwrap(), b"first");
    // The whole snapshot into an empty directory.
    let all = ts.dir.path().join("all");
    let report = ts.call(
        "/api/history/restoreSnapshot",
        json!({ "folder": "docs", "snapshot": old_id, "path": "", "to": all }),
    );
    assert_eq!(report["files"], 2);
    assert_eq!(common::files_under(&all), ["a.txt", "sub/b.txt"]);

    let files = |snapshot: &str, path: &str| json!({ "folder": "docs", "snapshot": snapshot, "path": path });
    for (body, code) in [
        (files(old_id, "a.txt"), "invalid_request"),
        (files(old_id, "nope"), "not_found"),
        (files(old_id, "../x"), "invalid_request"),
        (files("abc", ""), "invalid_request"),
        (files("ffffffffffff", ""), "not_found"),
    ] {
        ts.refused("/api/history/listSnapshotFiles", body, code);
    }
    ts.refused(
        "/api/history/restoreSnapshot",
        json!({ "folder": "docs", "snapshot": old_id, "path": "nope", "to": ts.dir.path().join("n") }),
        "not_found",
    );
    for path in ["/api/history/listSnapshots", "/api/history/listTrash"] {
        ts.refused(path, json!({ "folder": "nope" }), "unknown_folder");
    }
    ts.refused(
        "/api/history/listSnapshotFiles",
        json!({ "folder": "nope", "snapshot": old_id, "path": "" }),
        "unknown_folder",
    );
}

#[test]
fn a_force_pull_puts_the_replaced_file_in_the_trash_and_it_comes_back() {
    let ts = TestServer::with_docs();
    assert_eq!(
        ts.call("/api/history/listTrash", json!({ "folder": "docs" })),
        json!([])
    );
    ts.write("docs", "f.txt", b"v1");
    ts.sync("docs");
    ts.write("docs", "f.txt", b"local v2");
    let id = ts.perform_sync(json!({ "app": "x", "pushMode": "force-pull" }));
    let job = ts.wait_job(id);
    assert_eq!(job["status"], "succeeded", "{job:#}");
    assert_eq!(job["job_type"], "force_pull");
    let f = ts.folder_path("docs").join("f.txt");
    assert_eq!(fs::read(&f).unwrap(), b"v1");

    let trash = ts.call_as(
        &ts.reader,
        "/api/history/listTrash",
        json!({ "folder": "docs" }),
    );
    let items = trash.as_array().unwrap();
    assert_eq!(items.len(), 1, "{trash:#}");
    assert_eq!(keys(&items[0]), ["batch", "path", "size"]);
    assert_eq!(items[0]["path"], "f.txt");
    assert_eq!(items[0]["size"], 8);
    let batch = items[0]["batch"].as_str().unwrap().to_owned();

    // Back into its place: refused while the folder has a file there.
    ts.refused(
        "/api/history/restoreTrash",
        json!({ "folder": "docs", "batch": batch, "path": "f.txt" }),
        "invalid_request",
    );
    // Elsewhere.
    let to = ts.dir.path().join("rescued");
    fs::create_dir_all(&to).unwrap();
    let at = ts.call(
        "/api/history/restoreTrash",
        json!({ "folder": "docs", "batch": batch, "path": "f.txt", "to": to }),
    );
    assert_eq!(at, to.join("f.txt").display().to_string());
    assert_eq!(fs::read(to.join("f.txt")).unwrap(), b"local v2");
    assert_eq!(
        ts.call("/api/history/listTrash", json!({ "folder": "docs" })),
        json!([])
    );
    ts.refused(
        "/api/history/restoreTrash",
        json!({ "folder": "docs", "batch": batch, "path": "f.txt", "to": to }),
        "not_found",
    );

    // Once more, restored in place after the pulled file is moved away.
    ts.write("docs", "f.txt", b"local v3");
    let id = ts.perform_sync(json!({ "app": "x", "pushMode": "force-pull" }));
    ts.wait_job(id);
    let item = ts.call("/api/history/listTrash", json!({ "folder": "docs" }))[0].clone();
    fs::remove_file(&f).unwrap();
    let at = ts.call(
        "/api/history/restoreTrash",
        json!({ "folder": "docs", "batch": item["batch"], "path": "f.txt" }),
    );
    assert_eq!(at, f.display().to_string());
    assert_eq!(fs::read(&f).unwrap(), b"local v3");

    for (body, code) in [
        (
            json!({ "folder": "docs", "batch": "nope", "path": "f.txt" }),
            "not_found",
        ),
        (
            json!({ "folder": "docs", "batch": "../x", "path": "f.txt" }),
            "invalid_request",
        ),
        (
            json!({ "folder": "docs", "batch": item["batch"], "path": "../../etc/passwd" }),
            "invalid_request",
        ),
        (
            json!({ "folder": "nope", "batch": "b", "path": "f.txt" }),
            "unknown_folder",
        ),
    ] {
        ts.refused("/api/history/restoreTrash", body, code);
    }
}

#[test]
fn app_state_pause_and_language() {
    let ts = TestServer::new();
    let s = ts.call_as(&ts.reader, "/api/app/getAppState", json!({}));
    assert_eq!(
        keys(&s),
        ["apiEnabled", "apiListen", "autostart", "language", "paused"]
    );
    assert_eq!(s["paused"], false);
    assert_eq!(s["language"], Value::Null);

    let s = ts.call("/api/app/setPaused", json!({ "paused": true }));
    assert_eq!(s["paused"], true);
    assert_eq!(ts.call("/api/app/getAppState", json!({})), s);
    assert!(ts.engine.app_state().unwrap().paused, "stored");
    for lang in [json!("zh-CN"), json!("en"), Value::Null] {
        let s = ts.call("/api/app/setLanguage", json!({ "language": lang }));
        assert_eq!(s["language"], lang);
        assert_eq!(s["paused"], true, "the rest is kept");
    }
    ts.call("/api/app/setLanguage", json!({ "language": "en" }));
    for bad in ["fr", "", "EN", "zh_CN"] {
        ts.refused(
            "/api/app/setLanguage",
            json!({ "language": bad }),
            "invalid_request",
        );
    }
    let s = ts.call("/api/app/getAppState", json!({}));
    assert_eq!(s["language"], "en");
    let s = ts.call("/api/app/setPaused", json!({ "paused": false }));
    assert_eq!(s["paused"], false);
    // Syncs asked for over the API run while paused.
    ts.call("/api/app/setPaused", json!({ "paused": true }));
    ts.add_folder("docs");
    ts.sync("docs");
}

#[test]
fn remove_folder() {
    let ts = TestServer::with_docs();
    ts.add_folder("more");
    ts.write("more", "keep.txt", b"k");
    ts.sync("more");
    // Not while it syncs.
    let gate = Gate::new(&ts.engine, "more");
    let id = ts.perform_sync(json!({ "app": "x", "folder": "more" }));
    gate.wait_held();
    ts.refused(
        "/api/folder/removeFolder",
        json!({ "name": "more" }),
        "sync_in_progress",
    );
    gate.open();
    ts.wait_job(id);
    assert_eq!(
        ts.call("/api/folder/removeFolder", json!({ "name": "more" })),
        Value::Null
    );
    assert_eq!(
        names(&ts.call("/api/folder/listFolders", json!({}))),
        ["docs"]
    );
    let info = ts.call("/api/sync/getSyncInfo", json!({}));
    assert_eq!(info["folders"].as_array().unwrap().len(), 1);
    // Its files stay; its jobs stay in the history.
    assert!(ts.dir.path().join("more/keep.txt").is_file());
    assert_eq!(ts.jobs("folder=more")["meta"]["total"], 2);
    ts.refused(
        "/api/folder/removeFolder",
        json!({ "name": "more" }),
        "unknown_folder",
    );
    ts.refused(
        "/api/sync/performSync",
        json!({ "app": "x", "folder": "more" }),
        "unknown_folder",
    );
}

#[test]
fn preview_sync_says_what_would_happen_and_does_nothing() {
    let ts = TestServer::with_docs();
    ts.write("docs", "a.txt", b"a");
    ts.write("docs", "sub/b.txt", b"b");
    let previews = ts.call_as(&ts.reader, "/api/sync/previewSync", json!({ "app": "x" }));
    let p = &previews[0];
    assert_eq!(previews.as_array().unwrap().len(), 1);
    assert_eq!(
        keys(p),
        [
            "conflicts",
            "deleteLocal",
            "deleteRemote",
            "download",
            "folder",
            "mode",
            "replace",
            "upload"
        ]
    );
    assert_eq!(p["folder"], "docs");
    assert_eq!(p["mode"], "");
    let mut up: Vec<&str> = p["upload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap())
        .collect();
    up.sort();
    assert_eq!(up, ["a.txt", "sub/b.txt"]);
    assert_eq!(ts.job_count(), 0, "no job");
    assert_eq!(
        ts.call("/api/history/listSnapshots", json!({ "folder": "docs" })),
        json!([]),
        "nothing uploaded"
    );
    let p = ts.call(
        "/api/sync/previewSync",
        json!({ "app": "x", "folder": "docs", "pushMode": "force-pull" }),
    );
    assert_eq!(p[0]["mode"], "force-pull");
    ts.refused(
        "/api/sync/previewSync",
        json!({ "app": "x", "folder": "nope" }),
        "unknown_folder",
    );
}
