//! The Aries connector end to end: an engine with a folder of server files whose remote is the
//! contract server (syncdesk_testkit::aries), jobs run as a user runs them.
//!
//! The folder's token lives in the OS keyring: run under `scripts/keyring-session.sh`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{Value, json};
use syncdesk_engine::Engine;
use syncdesk_engine::model::{
    JobStatus, LogLevel, NewFolder, PerformSyncRequest, PushMode, RepositorySettings, SyncJob,
};
use syncdesk_engine::remote::ProbeStepName;
use syncdesk_engine::secrets::Secret;
use syncdesk_testkit::aries::{AriesConfig, AriesServer};
use tempfile::TempDir;

const TOKEN: &str = "aries-test-token";

struct Setup {
    _dir: TempDir,
    engine: Arc<Engine>,
    root: PathBuf,
    server: AriesServer,
}

fn server() -> AriesServer {
    AriesServer::start(
        "127.0.0.1:0",
        AriesConfig {
            token: TOKEN.into(),
            images: vec!["img-a".into(), "img-b".into()],
        },
    )
    .unwrap()
}

/// An engine with the folder `servers` pushing to a fresh contract server.
fn setup() -> Setup {
    setup_with(TOKEN, "")
}

fn setup_with(token: &str, base: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let server = server();
    let root = dir.path().join("servers");
    fs::create_dir_all(&root).unwrap();
    let engine = Engine::open(&dir.path().join("state")).unwrap();
    engine
        .add_folder_with(&NewFolder {
            name: "servers".into(),
            path: root.clone(),
            repository: RepositorySettings {
                remote: format!("{}{base}", server.remote_url()),
                secret: Some(Secret::new(token)),
                ..Default::default()
            },
        })
        .unwrap();
    Setup {
        _dir: dir,
        engine,
        root: root.canonicalize().unwrap(),
        server,
    }
}

fn definition(name: &str, image: &str) -> Value {
    json!({
        "name": name,
        "compute": {"cpu_core_count": 2, "memory_size": 4096},
        "storage": {"volumes": [{"name": "system-disk", "size": 40, "type": 0, "image_ref": image}]}
    })
}

impl Setup {
    fn write(&self, rel: &str, content: &str) {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    fn write_server(&self, rel: &str, value: &Value) {
        self.write(rel, &serde_json::to_string_pretty(value).unwrap());
    }

    fn run(&self, req: PerformSyncRequest) -> SyncJob {
        let ids = self
            .engine
            .create_jobs(&PerformSyncRequest {
                app: "test".into(),
                folder: Some("servers".into()),
                ..req
            })
            .unwrap();
        assert_eq!(ids.len(), 1);
        self.engine.run_job(ids[0]).unwrap()
    }

    fn sync(&self) -> SyncJob {
        self.run(PerformSyncRequest::default())
    }

    fn log(&self, job: &SyncJob) -> Vec<(LogLevel, String)> {
        self.engine
            .job_log(job.id)
            .unwrap()
            .into_iter()
            .map(|l| (l.level, l.msg))
            .collect()
    }
}

fn error(job: &SyncJob) -> &str {
    job.error_message.as_deref().unwrap_or_default()
}

fn read_json(root: &Path, rel: &str) -> Value {
    serde_json::from_slice(&fs::read(root.join(rel)).unwrap()).unwrap()
}

#[test]
fn a_valid_folder_is_sent_as_one_batch_and_only_when_it_changed() {
    let s = setup();
    s.write_server("web/web-1.json", &definition("web-1", "img-a"));
    s.write_server("db.json", &definition("db", "img-b"));
    s.write("README.md", "not a server");
    s.write(".syncignore", "drafts/\n");
    s.write_server("drafts/draft.json", &definition("draft", "img-x"));

    let job = s.sync();
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert_eq!(job.stats.files_uploaded, 2);
    let requests = s.server.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!((r.method.as_str(), r.status), ("GET", 200));
    assert!(r.authorized);
    assert_eq!(r.content_type.as_deref(), Some("application/json"));
    // Exactly the files' content, in path order; the ignored draft is not sent.
    assert_eq!(
        s.server.accepted(),
        [json!({"data": [read_json(&s.root, "db.json"), read_json(&s.root, "web/web-1.json")]})]
    );
    let log = s.log(&job);
    assert!(
        log.iter()
            .any(|(_, m)| m == "web-1 (web/web-1.json): synced"),
        "{log:?}"
    );

    // Nothing changed: nothing is sent.
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert_eq!(s.server.request_count(), 1);
    assert!(
        s.log(&job).iter().any(|(_, m)| m.contains("unchanged")),
        "{:?}",
        s.log(&job)
    );
    assert_eq!(job.metadata.get("sent").map(String::as_str), Some("false"));

    // A file that is not a server file changes nothing either.
    s.write("README.md", "still not a server");
    s.sync();
    assert_eq!(s.server.request_count(), 1);

    // An edit is sent, the whole batch again.
    let mut db = definition("db", "img-b");
    db["compute"]["memory_size"] = json!(8192);
    s.write_server("db.json", &db);
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert_eq!(s.server.request_count(), 2);
    assert_eq!(s.server.accepted()[1]["data"][0], db);

    // Forced: sent even though nothing changed.
    let job = s.run(PerformSyncRequest {
        push_mode: PushMode::ForcePush,
        ..Default::default()
    });
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    let job = s.run(PerformSyncRequest {
        force: true,
        ..Default::default()
    });
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert_eq!(s.server.request_count(), 4);
}

#[test]
fn invalid_files_fail_the_job_before_anything_is_sent() {
    let s = setup();
    s.write_server("a-ok.json", &definition("web-1", "img-a"));
    let mut bad = definition("web-2", "img-a");
    bad["compute"]["cpu_core_count"] = json!(0);
    bad["storage"]["volumes"][0]["size"] = json!("40");
    s.write_server("b-bad.json", &bad);
    s.write("c-broken.json", "{\"name\": \"web-3\",");
    s.write_server("sub/d-dup.json", &definition("web-1", "img-b"));

    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = error(&job);
    assert!(
        msg.starts_with("4 problem(s) in 3 of 4 server file(s); nothing was sent"),
        "{msg}"
    );
    for want in [
        "b-bad.json: $.compute.cpu_core_count: must be an integer greater than 0, found 0",
        "b-bad.json: $.storage.volumes[0].size: must be a number of GB greater than 0, found the string \"40\"",
        "c-broken.json: not valid JSON",
        "sub/d-dup.json: $.name: the server name \"web-1\" is also used by a-ok.json",
    ] {
        assert!(msg.contains(want), "missing {want:?} in {msg}");
    }
    // Each problem is also a line of the job's log.
    let errors = s
        .log(&job)
        .into_iter()
        .filter(|(level, _)| *level == LogLevel::Error)
        .count();
    assert_eq!(errors, 4);
    assert_eq!(s.server.request_count(), 0, "{:?}", s.server.requests());
}

#[test]
fn image_not_found_is_shown_for_the_servers_using_the_image() {
    let s = setup();
    s.write_server("1.json", &definition("web-1", "img-x"));
    s.write_server("2.json", &definition("web-2", "img-a"));
    s.write_server("3.json", &definition("db", "img-x"));

    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        error(&job),
        "2 of 3 servers failed: web-1: ImageNotFound: 镜像不存在: img-x; db: ImageNotFound: 镜像不存在: img-x"
    );
    let m = &job.metadata;
    assert_eq!(m["server:web-1"], "ImageNotFound: 镜像不存在: img-x");
    assert_eq!(m["server:db"], "ImageNotFound: 镜像不存在: img-x");
    assert!(!m.contains_key("server:web-2"));
    assert_eq!(m["servers_failed"], "2");
    let log = s.log(&job);
    assert!(log.contains(&(
        LogLevel::Error,
        "web-1 (1.json): ImageNotFound: 镜像不存在: img-x".into()
    )));
    assert!(
        log.iter()
            .any(|(l, m)| *l == LogLevel::Warn && m.starts_with("web-2 (2.json): not confirmed")),
        "{log:?}"
    );
    // Not acknowledged: the same batch goes again next time.
    s.sync();
    assert_eq!(s.server.request_count(), 2);
}

#[test]
fn sync_failed_is_retried_then_shown_for_the_server_it_names() {
    let s = setup();
    s.write_server("a.json", &definition("fail-db", "img-a"));
    s.write_server("b.json", &definition("web", "img-a"));

    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        error(&job),
        "1 of 2 servers failed: fail-db: SyncFailed: 同步失败: fail-db"
    );
    assert_eq!(
        job.metadata["server:fail-db"],
        "SyncFailed: 同步失败: fail-db"
    );
    // A 500 may be transient: asked again a bounded number of times.
    assert_eq!(s.server.request_count(), 4);
    assert_eq!(job.stats.retries, 3);
}

#[test]
fn internal_error_and_invalid_parameter_are_mapped_per_server() {
    let s = setup();
    s.write_server("a.json", &definition("web-1", "img-a"));
    s.write_server("b.json", &definition("web-2", "img-a"));

    // An error that names no server is every server's.
    s.server.inject(
        500,
        json!({"code": "InternalError", "message": "内部错误"}),
        4,
    );
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        error(&job),
        "2 of 2 servers failed: web-1: InternalError: 内部错误; web-2: InternalError: 内部错误"
    );

    // The endpoint's own check named one server in its message.
    s.server.inject(
        400,
        json!({"code": "InvalidParameter", "message": "参数无效: data[1] (web-2): storage.volumes[0].type is not supported"}),
        1,
    );
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        job.metadata["server:web-2"],
        "InvalidParameter: 参数无效: data[1] (web-2): storage.volumes[0].type is not supported"
    );
    assert!(!job.metadata.contains_key("server:web-1"));

    // A `servers` list in the answer wins over the message.
    s.server.inject(
        500,
        json!({"code": "SyncFailed", "message": "web-2 is fine", "servers": ["web-1"]}),
        4,
    );
    let job = s.sync();
    assert!(
        error(&job).starts_with("1 of 2 servers failed: web-1: SyncFailed"),
        "{}",
        error(&job)
    );

    // Nothing was acknowledged so far: the next sync sends the batch and it is accepted.
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert_eq!(s.server.accepted().len(), 1);
}

#[test]
fn a_busy_endpoint_is_asked_again() {
    let s = setup();
    s.write_server("a.json", &definition("web-1", "img-a"));
    s.server
        .inject(503, json!({"code": "InternalError", "message": "busy"}), 2);
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert_eq!(job.stats.retries, 2);
    assert_eq!(s.server.request_count(), 3);
    assert_eq!(s.server.accepted().len(), 1);
}

#[test]
fn a_wrong_token_is_a_clear_auth_error() {
    let s = setup_with("wrong-token", "");
    s.write_server("a.json", &definition("web-1", "img-a"));
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = error(&job);
    assert!(
        msg.starts_with("the Aries endpoint refused the token (HTTP 401"),
        "{msg}"
    );
    assert!(msg.contains("folder set-secret"), "{msg}");
    assert!(!msg.contains("wrong-token"), "the token leaked: {msg}");
    // Not retried, nothing accepted.
    assert_eq!(s.server.request_count(), 1);
    assert!(!s.server.requests()[0].authorized);
    assert!(s.server.accepted().is_empty());
}

#[test]
fn a_wrong_base_url_says_to_check_the_url() {
    let s = setup_with(TOKEN, "/nowhere");
    s.write_server("a.json", &definition("web-1", "img-a"));
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = error(&job);
    assert!(msg.contains("HTTP 404"), "{msg}");
    assert!(msg.contains("check the remote's URL"), "{msg}");
    assert!(!job.metadata.keys().any(|k| k.starts_with("server:")));
}

#[test]
fn force_pull_is_refused_and_an_empty_folder_sends_nothing() {
    let s = setup();
    let job = s.sync();
    assert_eq!(job.status, JobStatus::Succeeded, "{}", error(&job));
    assert!(
        s.log(&job)
            .iter()
            .any(|(_, m)| m.contains("no server files")),
        "{:?}",
        s.log(&job)
    );

    s.write_server("a.json", &definition("web-1", "img-a"));
    let job = s.run(PerformSyncRequest {
        push_mode: PushMode::ForcePull,
        confirm: true,
        ..Default::default()
    });
    assert_eq!(job.status, JobStatus::Failed);
    assert!(
        error(&job).starts_with("an Aries endpoint cannot be pulled from"),
        "{}",
        error(&job)
    );
    assert_eq!(s.server.request_count(), 0);
}

#[test]
fn preview_lists_what_would_be_sent_without_sending() {
    let s = setup();
    s.write_server("a.json", &definition("web-1", "img-a"));
    let previews = s
        .engine
        .preview(&PerformSyncRequest {
            folder: Some("servers".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(previews[0].upload, ["a.json"]);
    assert_eq!(s.server.request_count(), 0);
}

// "Test connection".

fn steps(report: &syncdesk_engine::remote::ProbeReport) -> Vec<ProbeStepName> {
    report.steps.iter().map(|s| s.step).collect()
}

#[test]
fn the_connection_test_checks_the_token_and_syncs_nothing() {
    let s = setup();
    s.write_server("a.json", &definition("web-1", "img-a"));
    let report = s.engine.test_folder_remote("servers").unwrap();
    assert_eq!(
        steps(&report),
        [ProbeStepName::Reach, ProbeStepName::Authenticate]
    );
    assert_eq!(report.provider_name, "Aries");
    let report = s
        .engine
        .test_remote(&s.server.remote_url(), Some(&Secret::new(TOKEN)))
        .unwrap();
    assert_eq!(
        steps(&report),
        [ProbeStepName::Reach, ProbeStepName::Authenticate]
    );
    // Each test was one request the endpoint refused as invalid: no batch, nothing synced.
    let requests = s.server.requests();
    assert_eq!(requests.len(), 2);
    for r in &requests {
        assert_eq!((r.method.as_str(), r.status), ("GET", 400));
        assert!(r.authorized);
        assert_eq!(r.code.as_deref(), Some("InvalidParameter"));
        assert_eq!(r.body, json!({}));
    }
    assert!(s.server.accepted().is_empty());
}

#[test]
fn a_wrong_token_fails_the_connection_test_with_an_auth_error() {
    let s = setup_with("wrong-token", "");
    let err = s.engine.test_folder_remote("servers").unwrap_err();
    assert_eq!(err.code(), "credentials");
    let msg = err.to_string();
    assert!(
        msg.contains("the Aries endpoint at http://127.0.0.1:")
            && msg.contains("refused the token (HTTP 401"),
        "{msg}"
    );
    assert!(msg.contains("folder set-secret servers"), "{msg}");
    assert!(!msg.contains("wrong-token"), "the token leaked: {msg}");
    let err = s
        .engine
        .test_remote(&s.server.remote_url(), Some(&Secret::new("wrong-token")))
        .unwrap_err();
    assert_eq!(err.code(), "credentials");
    assert!(err.to_string().contains("check the bearer token"), "{err}");
    // Not retried, nothing accepted.
    assert_eq!(s.server.request_count(), 2);
    assert!(s.server.requests().iter().all(|r| !r.authorized));
    assert!(s.server.accepted().is_empty());
}

#[test]
fn the_connection_test_of_a_wrong_address_says_there_is_no_aries_api() {
    let s = setup_with(TOKEN, "/nowhere");
    let err = s.engine.test_folder_remote("servers").unwrap_err();
    assert_eq!(err.code(), "invalid_request");
    assert!(
        err.to_string().contains("no Aries API at this address"),
        "{err}"
    );
    assert!(s.server.accepted().is_empty());

    // Nothing listening: the same error as other remotes.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let err = s
        .engine
        .test_remote(
            &format!("aries+http://127.0.0.1:{port}"),
            Some(&Secret::new(TOKEN)),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unreachable");
    assert!(
        err.to_string()
            .starts_with("connection test failed at step \"reach the server\": cannot reach"),
        "{err}"
    );
}
