//! The command layer through Tauri's IPC, as the UI reaches it: a mock app with the real
//! handler, the real capability (tauri.conf.json) and a real engine in a temporary state
//! directory. Arguments are the JSON bodies the UI sends (camelCase names, see
//! ui/src/lib/client/tauri.ts); answers and errors are checked as the UI reads them.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use syncdesk_engine::Engine;
use syncdesk_engine::model::{JobStatus, JobType, TriggerType};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use crate::app::AppContext;
use crate::commands;

/// One app over one engine, with the UI's window to call from.
struct Desktop {
    dir: tempfile::TempDir,
    engine: Arc<Engine>,
    default_remote: PathBuf,
    window: WebviewWindow<MockRuntime>,
    // Dropped last: the window belongs to it.
    _app: App<MockRuntime>,
}

impl Desktop {
    fn new() -> Desktop {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&dir.path().join("state")).unwrap();
        let default_remote = dir.path().join("app-data").join("remote");
        let app = mock_builder()
            .invoke_handler(commands::handler())
            // The real context: its capability must grant every command the UI calls.
            .build(tauri::generate_context!())
            .unwrap();
        // The app's embedded UI, as app::setup hands it to the local API.
        let assets = app.asset_resolver();
        let ui = syncdesk_api::UiSource::Embedded(Arc::new(move |path: &str| {
            assets.get(path.to_owned()).map(|a| (a.bytes, a.mime_type))
        }));
        app.manage(AppContext::new(engine.clone(), default_remote.clone(), ui));
        // Config windows are only made when the app runs; the capability names this label.
        let window = WebviewWindowBuilder::new(&app, "main", WebviewUrl::default())
            .build()
            .unwrap();
        Desktop {
            dir,
            engine,
            default_remote,
            window,
            _app: app,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Invokes `cmd` as the UI does; `Err` is what the UI's promise rejects with.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        let request = InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The app's own origin on Linux and macOS, which the capability covers.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        };
        get_ipc_response(&self.window, request).map(|body| body.deserialize::<Value>().unwrap())
    }

    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args)
            .unwrap_or_else(|e| panic!("{cmd} was rejected: {e}"))
    }

    fn err(&self, cmd: &str, args: Value) -> Value {
        match self.call(cmd, args) {
            Ok(v) => panic!("{cmd} answered {v} where an error was expected"),
            Err(e) => e,
        }
    }

    /// `add_folder` as the folder form sends it (no remote: the app's default one).
    fn add(&self, name: &str) -> PathBuf {
        let path = self.path(name);
        self.ok(
            "add_folder",
            json!({ "name": name, "path": path, "repository": null }),
        );
        path.canonicalize().unwrap()
    }

    /// `perform_sync` as the Overview's sync button sends it; waits for the job's end.
    fn sync(&self, folder: &str, push_mode: &str, confirm: bool) -> Value {
        let started = self.ok(
            "perform_sync",
            json!({ "request": request(folder, push_mode, confirm) }),
        );
        let ids = started["jobIds"].as_array().unwrap();
        assert_eq!(ids.len(), 1, "{started}");
        let job = self.engine.wait_job(ids[0].as_i64().unwrap()).unwrap();
        assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
        self.ok("get_job", json!({ "id": job.id }))
    }
}

/// A `PerformSyncRequest` exactly as the UI builds it.
fn request(folder: &str, push_mode: &str, confirm: bool) -> Value {
    json!({
        "app": "syncdesk-ui",
        "force": false,
        "pushMode": push_mode,
        "pushOnly": false,
        "cloudName": null,
        "folder": folder,
        "confirm": confirm,
    })
}

/// A `JobFilter` as the History view builds it.
fn filter(status: Option<&str>, folder: Option<&str>, page: u32, page_size: u32) -> Value {
    json!({
        "status": status,
        "folder": folder,
        "job_type": null,
        "trigger_type": null,
        "page": page,
        "page_size": page_size,
    })
}

fn text(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_folder_added_without_a_remote_syncs_to_the_default_one() {
    let d = Desktop::new();
    assert_eq!(d.ok("list_folders", json!({})), json!([]));
    assert_eq!(
        d.err(
            "perform_sync",
            json!({ "request": request("docs", "", false) })
        )["code"],
        "unknown_folder"
    );

    let path = d.path("docs");
    let folder = d.ok(
        "add_folder",
        json!({ "name": "docs", "path": path, "repository": null }),
    );
    let expected = json!({
        "name": "docs",
        "path": path.canonicalize().unwrap(),
        "remote": d.default_remote,
        // On the shared default repository each folder is stored under its own name.
        "cloudName": "docs",
        "enabled": true,
        "syncMode": "automatic",
        "intervalSecs": 300,
        "watch": true,
        "encrypted": false,
    });
    assert_eq!(folder, expected);
    assert!(d.default_remote.is_dir(), "the default remote is created");
    assert_eq!(d.ok("list_folders", json!({})), json!([expected]));

    std::fs::write(path.join("a.txt"), "hello").unwrap();
    let started = d.ok(
        "perform_sync",
        json!({ "request": request("docs", "", false) }),
    );
    assert_eq!(started["info"], "Preparing to sync", "{started}");
    assert_eq!(started["percent"], 0.0);
    let id = started["jobIds"][0].as_i64().unwrap();
    let job = d.engine.wait_job(id).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);

    let detail = d.ok("get_job", json!({ "id": id }));
    assert_eq!(detail["job"]["id"], id);
    assert_eq!(detail["job"]["status"], "succeeded");
    assert_eq!(
        detail["job"]["trigger_type"], "manual",
        "the shell marks UI syncs manual"
    );
    assert_eq!(detail["job"]["metadata"]["app"], "syncdesk-ui");
    assert_eq!(detail["job"]["stats"]["files_uploaded"], 1);
    assert!(detail["log"].is_array(), "{detail}");

    let info = d.ok("get_sync_info", json!({}));
    assert_eq!(info["providerName"], "Local");
    assert_eq!(info["cloudName"], "docs");
    assert_eq!(info["enabled"], true);
    assert_eq!(info["syncing"], false);
    assert_eq!(info["progress"]["info"], "Idle");
    let f = &info["folders"][0];
    assert_eq!(f["name"], "docs");
    assert_eq!(f["remote"], json!(d.default_remote));
    assert_eq!(f["syncMode"], "automatic");
    assert_eq!(f["syncing"], false);
    assert_eq!(f["lastJob"]["id"], id);
    assert!(f["lastSyncAt"].is_string(), "{info}");
    assert_eq!(info["folders"].as_array().unwrap().len(), 1);
}

#[test]
fn history_restore_and_trash_through_the_commands() {
    let d = Desktop::new();
    let root = d.add("docs");
    std::fs::write(root.join("a.txt"), "v1").unwrap();
    d.sync("docs", "", false);

    let snapshots = d.ok("list_snapshots", json!({ "folder": "docs" }));
    let snapshots = snapshots.as_array().unwrap();
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    let snapshot = snapshots[0]["id"].as_str().unwrap();
    assert_eq!(snapshots[0]["files"], 1);
    let files = d.ok(
        "list_snapshot_files",
        json!({ "folder": "docs", "snapshot": snapshot, "path": "" }),
    );
    assert_eq!(files[0]["name"], "a.txt", "{files}");
    assert_eq!(files[0]["kind"], "file");
    assert_eq!(files[0]["size"], 2);
    assert_eq!(
        d.err(
            "list_snapshot_files",
            json!({ "folder": "docs", "snapshot": "0000000000", "path": "" })
        )["code"],
        "not_found"
    );

    let to = d.path("restored");
    let report = d.ok(
        "restore_snapshot",
        json!({ "folder": "docs", "snapshot": snapshot, "path": "a.txt", "to": to }),
    );
    assert_eq!(report["files"], 1, "{report}");
    assert_eq!(report["bytes"], 2);
    assert_eq!(text(&to.join("a.txt")), "v1");

    // A local edit, then "make this folder a copy of the remote": previewed, then run.
    std::fs::write(root.join("a.txt"), "local edit").unwrap();
    let preview = d.ok(
        "preview_sync",
        json!({ "request": request("docs", "force-pull", false) }),
    );
    assert_eq!(
        preview,
        json!([{
            "folder": "docs",
            "mode": "force-pull",
            "upload": [],
            "download": [],
            "replace": ["a.txt"],
            "deleteLocal": [],
            "deleteRemote": [],
            "conflicts": [],
        }])
    );
    assert_eq!(
        text(&root.join("a.txt")),
        "local edit",
        "a preview changes nothing"
    );
    let job = d.sync("docs", "force-pull", true);
    assert_eq!(job["job"]["job_type"], "force_pull");
    assert_eq!(text(&root.join("a.txt")), "v1");

    let trash = d.ok("list_trash", json!({ "folder": "docs" }));
    let items = trash.as_array().unwrap();
    assert_eq!(items.len(), 1, "{trash}");
    assert_eq!(items[0]["path"], "a.txt");
    assert_eq!(items[0]["size"], 10);
    let batch = items[0]["batch"].as_str().unwrap();
    let args = json!({ "folder": "docs", "batch": batch, "path": "a.txt" });
    let refused = d.err("restore_trash", args.clone());
    assert_eq!(
        refused["code"], "invalid_request",
        "it never overwrites: {refused}"
    );
    assert_eq!(text(&root.join("a.txt")), "v1");

    std::fs::remove_file(root.join("a.txt")).unwrap();
    let restored = d.ok("restore_trash", args);
    assert_eq!(restored, json!(root.join("a.txt")));
    assert_eq!(text(&root.join("a.txt")), "local edit");
    assert_eq!(d.ok("list_trash", json!({ "folder": "docs" })), json!([]));
}

#[test]
fn the_job_list_pages_and_filters_and_unknown_jobs_are_not_found() {
    let d = Desktop::new();
    let store = d.engine.store();
    // 25 jobs: docs and art alternate; every third one succeeded.
    let mut ids = Vec::new();
    for i in 0..25 {
        let folder = if i % 2 == 0 { "docs" } else { "art" };
        let job = store
            .create_job(
                folder,
                JobType::Sync,
                TriggerType::Schedule,
                &Default::default(),
            )
            .unwrap();
        if i % 3 == 0 {
            store
                .finish_job(
                    job.id,
                    JobStatus::Succeeded,
                    None,
                    &job.stats,
                    &job.metadata,
                )
                .unwrap();
        }
        ids.push((job.id, folder, i % 3 == 0));
    }
    let newest_first: Vec<i64> = ids.iter().rev().map(|j| j.0).collect();
    let ids_of = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|j| j["id"].as_i64().unwrap())
            .collect()
    };

    let first = d.ok("list_jobs", json!({ "filter": filter(None, None, 1, 10) }));
    assert_eq!(ids_of(&first), newest_first[..10]);
    assert_eq!(
        first["meta"],
        json!({ "page": 1, "page_size": 10, "total": 25, "total_pages": 3 })
    );
    let last = d.ok("list_jobs", json!({ "filter": filter(None, None, 3, 10) }));
    assert_eq!(ids_of(&last), newest_first[20..]);
    let past = d.ok("list_jobs", json!({ "filter": filter(None, None, 4, 10) }));
    assert_eq!(past["items"], json!([]));

    let wanted: Vec<i64> = ids
        .iter()
        .rev()
        .filter(|(_, folder, done)| *folder == "docs" && *done)
        .map(|j| j.0)
        .collect();
    let page = d.ok(
        "list_jobs",
        json!({ "filter": filter(Some("succeeded"), Some("docs"), 1, 20) }),
    );
    assert_eq!(ids_of(&page), wanted);
    assert_eq!(page["meta"]["total"], wanted.len());
    assert!(
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|j| j["status"] == "succeeded" && j["folder"] == "docs")
    );

    assert_eq!(
        d.err("get_job", json!({ "id": 999_999 })),
        json!({ "code": "not_found", "message": "no job with id 999999" })
    );
    let bad = d.call(
        "list_jobs",
        json!({ "filter": filter(Some("sideways"), None, 1, 20) }),
    );
    assert!(bad.is_err(), "an unknown status is refused: {bad:?}");
}

#[test]
fn folder_settings_and_the_ignore_file() {
    let d = Desktop::new();
    let root = d.add("docs");
    let settings =
        json!({ "enabled": false, "syncMode": "manual", "intervalSecs": 60, "watch": false });
    let folder = d.ok(
        "update_folder_settings",
        json!({ "name": "docs", "settings": settings }),
    );
    assert_eq!(folder["syncMode"], "manual");
    assert_eq!(folder["intervalSecs"], 60);
    assert_eq!(folder["enabled"], false);
    assert_eq!(folder["watch"], false);
    assert_eq!(d.ok("list_folders", json!({}))[0], folder);

    let too_often =
        json!({ "enabled": true, "syncMode": "automatic", "intervalSecs": 5, "watch": true });
    let err = d.err(
        "update_folder_settings",
        json!({ "name": "docs", "settings": too_often }),
    );
    assert_eq!(err["code"], "invalid_request", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("between 10 seconds"),
        "{err}"
    );
    assert_eq!(
        d.ok("list_folders", json!({}))[0],
        folder,
        "nothing changed"
    );
    assert_eq!(
        d.err(
            "update_folder_settings",
            json!({ "name": "nope", "settings": settings })
        )["code"],
        "unknown_folder"
    );

    assert_eq!(d.ok("read_ignore_file", json!({ "folder": "docs" })), "");
    assert_eq!(
        d.ok(
            "write_ignore_file",
            json!({ "folder": "docs", "text": "*.log\nbuild/\n" })
        ),
        Value::Null
    );
    assert_eq!(text(&root.join(".syncignore")), "*.log\nbuild/\n");
    assert_eq!(
        d.ok("read_ignore_file", json!({ "folder": "docs" })),
        "*.log\nbuild/\n"
    );
    let err = d.err(
        "write_ignore_file",
        json!({ "folder": "docs", "text": "ok\n[z-a]\n" }),
    );
    assert_eq!(err["code"], "invalid_request", "{err}");
    assert!(err["message"].as_str().unwrap().contains("line 2"), "{err}");
    assert_eq!(
        d.ok("read_ignore_file", json!({ "folder": "docs" })),
        "*.log\nbuild/\n",
        "a refused file leaves the old one"
    );
    assert_eq!(
        d.err("read_ignore_file", json!({ "folder": "nope" }))["code"],
        "unknown_folder"
    );
}

/// The status code of `GET path` on a local server, or `None` when nothing listens.
fn http_status(addr: &str, path: &str, token: &str) -> Option<u16> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Token {token}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split(' ').nth(1)?.parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn the_local_api_serves_while_on_and_tokens_are_managed_from_settings() {
    let d = Desktop::new();
    let addr = format!("127.0.0.1:{}", free_port());
    let created = d.ok(
        "create_api_token",
        json!({ "name": "scripts", "role": "read-only" }),
    );
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("sdt_"), "{created}");
    assert_eq!(
        d.ok("list_api_tokens", json!({}))[0],
        created["token"],
        "listed without the secret"
    );
    assert!(
        !d.ok("list_api_tokens", json!({}))
            .to_string()
            .contains(&secret)
    );

    let on = d.ok("set_api_server", json!({ "enabled": true, "listen": addr }));
    assert_eq!(
        (on["apiEnabled"].clone(), on["apiListen"].clone()),
        (json!(true), json!(addr))
    );
    assert_eq!(http_status(&addr, "/api/sync/jobs", &secret), Some(200));
    assert_eq!(http_status(&addr, "/api/sync/jobs", "sdt_wrong"), Some(401));
    assert_eq!(
        http_status(&addr, "/", ""),
        Some(200),
        "the app's own UI, for browsers"
    );

    d.ok("revoke_api_token", json!({ "name": "scripts" }));
    assert_eq!(http_status(&addr, "/api/sync/jobs", &secret), Some(401));
    assert_eq!(
        d.err("revoke_api_token", json!({ "name": "scripts" }))["code"],
        "not_found"
    );

    let off = d.ok(
        "set_api_server",
        json!({ "enabled": false, "listen": addr }),
    );
    assert_eq!(off["apiEnabled"], false);
    assert_eq!(
        http_status(&addr, "/api/sync/jobs", &secret),
        None,
        "stopped"
    );
    assert_eq!(
        d.err(
            "set_api_server",
            json!({ "enabled": true, "listen": "0.0.0.0:6806" })
        )["code"],
        "invalid_request",
        "the app serves this machine only"
    );

    // A port in use: refused, and the setting stays off.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy = taken.local_addr().unwrap().to_string();
    let e = d.err("set_api_server", json!({ "enabled": true, "listen": busy }));
    assert!(
        e["message"].as_str().unwrap().contains("cannot listen"),
        "{e}"
    );
    assert!(!d.engine.app_state().unwrap().api_enabled);
}

#[test]
fn pausing_and_the_app_state() {
    let d = Desktop::new();
    let fresh = json!({
        "paused": false, "autostart": false, "language": null,
        "apiEnabled": false, "apiListen": "127.0.0.1:6806",
    });
    assert_eq!(d.ok("get_app_state", json!({})), fresh);
    let paused = json!({
        "paused": true, "autostart": false, "language": null,
        "apiEnabled": false, "apiListen": "127.0.0.1:6806",
    });
    assert_eq!(d.ok("set_paused", json!({ "paused": true })), paused);
    assert_eq!(d.ok("get_app_state", json!({})), paused);
    assert!(d.engine.app_state().unwrap().paused, "the engine is paused");

    let chinese = d.ok("set_language", json!({ "language": "zh-CN" }));
    assert_eq!(chinese["language"], "zh-CN");
    assert_eq!(
        d.err("set_language", json!({ "language": "fr" }))["code"],
        "invalid_request"
    );
    assert_eq!(
        d.ok("set_language", json!({ "language": null }))["language"],
        Value::Null
    );
    assert_eq!(d.ok("set_paused", json!({ "paused": false })), fresh);
}

#[test]
fn a_sync_in_progress_elsewhere_is_refused_with_code_and_message() {
    let d = Desktop::new();
    assert_eq!(
        d.err("perform_sync", json!({ "request": request_all() })),
        json!({
            "code": "no_folders",
            "message": "no enabled folders to sync; add one with `folder add`",
        })
    );
    d.add("docs");
    // Another process (the CLI) syncing the folder holds its lock file.
    let locks = d.path("state").join("locks");
    std::fs::create_dir_all(&locks).unwrap();
    let lock = File::create(locks.join("docs.lock")).unwrap();
    lock.lock().unwrap();

    assert_eq!(
        d.err(
            "perform_sync",
            json!({ "request": request("docs", "", false) })
        ),
        json!({
            "code": "sync_in_progress",
            "message": "Sync is in progress, please try again later",
        })
    );
    let info = d.ok("get_sync_info", json!({}));
    assert_eq!(info["syncing"], true, "{info}");
    assert_eq!(info["folders"][0]["syncing"], true);
    assert_eq!(
        info["folders"][0]["progress"]["info"],
        "Syncing in another Syncdesk process"
    );
    assert_eq!(
        d.err("remove_folder", json!({ "name": "docs" }))["code"],
        "sync_in_progress"
    );
    let jobs = d.ok("list_jobs", json!({ "filter": filter(None, None, 1, 20) }));
    assert_eq!(jobs["meta"]["total"], 0, "a refused sync records no job");

    drop(lock);
    d.sync("docs", "", false);
    assert_eq!(
        d.ok("remove_folder", json!({ "name": "docs" })),
        Value::Null
    );
    assert_eq!(d.ok("list_folders", json!({})), json!([]));
}

/// A request for every enabled folder (the tray's "Sync now" shape, from the UI).
fn request_all() -> Value {
    let mut r = request("", "", false);
    r["folder"] = Value::Null;
    r
}
