//! A Syncdesk API server in the test's process: a temporary state directory, an engine, a
//! Tokio runtime serving `syncdesk_api::Server` on 127.0.0.1:0, an admin and a read-only
//! token (in the OS keyring: run under `scripts/keyring-session.sh`), and blocking clients
//! for HTTP and the WebSocket.
//!
//! Every HTTP answer goes through [`TestServer::send`], which checks what must hold for all
//! of them (docs/api.md, "Security"): no `Access-Control-*` header ("No CORS"), and the
//! browser hardening headers.

#![allow(dead_code)] // Each test file uses its own subset.

use std::fs;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::blocking::{Body, Client, RequestBuilder};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use syncdesk_api::{Server, ServerConfig};
use syncdesk_engine::Engine;
use syncdesk_engine::events::Subscription;
use syncdesk_engine::model::{ApiRole, Event, JobId, JobStatus};
use tempfile::TempDir;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response as WsResponse;
use tokio_tungstenite::tungstenite::{self, Message, WebSocket};

/// How long a test waits for something that should happen promptly before it fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The first seed 000 request body, verbatim.
pub const SEED_000_FIRST: &str = r#"{
    "app": "my-client-app-123",
    "force": false,
    "pushMode": ""
}"#;

/// The second seed 000 request body, verbatim.
pub const SEED_000_SECOND: &str = r#"{
    "app": "my-client-app-123",
    "pushMode": "force-push"
}"#;

pub struct TestServer {
    pub dir: TempDir,
    pub state: PathBuf,
    /// The local remote folders added by [`TestServer::add_folder`] sync through.
    pub remote: PathBuf,
    /// The server's `default_remote` (folders added with `repository: null`).
    pub default_remote: PathBuf,
    pub engine: Arc<Engine>,
    pub addr: SocketAddr,
    /// An admin token and a read-only one.
    pub admin: String,
    pub reader: String,
    pub http: Client,
    server: Option<Server>,
    rt: Option<tokio::runtime::Runtime>,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} answered a body that is not JSON ({e}): {:?}",
                self.status,
                self.text()
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header").to_owned())
    }
}

impl TestServer {
    /// A server with no folders.
    pub fn new() -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let state = dir.path().join("state");
        let remote = dir.path().join("remote");
        let default_remote = dir.path().join("default-remote");
        fs::create_dir_all(&remote).expect("mkdir remote");
        let engine = Engine::open(&state).expect("open the engine");
        let admin = engine
            .create_api_token(Some("admin"), ApiRole::Admin)
            .expect("create the admin token (is the test under scripts/keyring-session.sh?)")
            .secret;
        let reader = engine
            .create_api_token(Some("reader"), ApiRole::ReadOnly)
            .expect("create the read-only token")
            .secret;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a Tokio runtime");
        let config = ServerConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            allow_hosts: vec![],
            ui: syncdesk_api::UiSource::None,
            default_remote: default_remote.clone(),
        };
        let server = rt
            .block_on(Server::start(engine.clone(), config))
            .expect("start the server");
        let addr = server.local_addr();
        let http = Client::builder()
            .no_proxy()
            .timeout(PATIENCE)
            .build()
            .expect("an HTTP client");
        TestServer {
            dir,
            state,
            remote,
            default_remote,
            engine,
            addr,
            admin,
            reader,
            http,
            server: Some(server),
            rt: Some(rt),
        }
    }

    /// A server with one folder, `docs`, syncing to `self.remote` as `main`.
    pub fn with_docs() -> TestServer {
        let ts = TestServer::new();
        ts.add_folder("docs");
        ts
    }

    /// Adds a folder through the engine (test setup, not under test): `<tmp>/<name>`, synced
    /// to the repository `main` (the first folder) or `<name>` on the local remote.
    pub fn add_folder(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        let cloud = if self.engine.folders().expect("folders").is_empty() {
            None
        } else {
            Some(name)
        };
        let f = self
            .engine
            .add_folder(name, &path, self.remote.to_str().expect("utf-8"), cloud)
            .expect("add a folder");
        f.path
    }

    /// The directory of a folder.
    pub fn folder_path(&self, name: &str) -> PathBuf {
        self.engine.folder(name).expect("a folder").path
    }

    pub fn write(&self, folder: &str, rel: &str, content: &[u8]) {
        let p = self.folder_path(folder).join(rel);
        fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        fs::write(p, content).expect("write");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Sends a request and checks the headers every answer must have (or lack).
    pub fn send(&self, req: RequestBuilder) -> Resp {
        self.try_send(req).expect("the server answers")
    }

    /// [`TestServer::send`], or the transport error (no answer).
    pub fn try_send(&self, req: RequestBuilder) -> Result<Resp, reqwest::Error> {
        let res = req.send()?;
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let body = res.bytes()?.to_vec();
        let resp = Resp {
            status,
            headers,
            body,
        };
        check_no_cors(&resp);
        Ok(resp)
    }

    fn with_token(&self, req: RequestBuilder, token: Option<&str>) -> RequestBuilder {
        match token {
            Some(t) => req.header("Authorization", format!("Token {t}")),
            None => req,
        }
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let req = self
            .with_token(self.http.post(self.url(path)), token)
            .json(body);
        self.send(req)
    }

    /// `POST path` with these bytes and this content type.
    pub fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
    ) -> Resp {
        let mut req = self.with_token(self.http.post(self.url(path)), token);
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        self.send(req.body(body))
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.with_token(self.http.get(self.url(path)), token))
    }

    /// An envelope endpoint called with the admin token that must succeed: its `data`.
    pub fn call(&self, path: &str, body: Value) -> Value {
        self.call_as(&self.admin, path, body)
    }

    pub fn call_as(&self, token: &str, path: &str, body: Value) -> Value {
        let r = self.post(path, Some(token), &body);
        let v = r.json();
        assert_eq!(r.status, 200, "{path} {body}: {v:#}");
        assert_eq!(v["code"], 0, "{path} {body}: {v:#}");
        assert_eq!(v["msg"], "", "{path}: {v:#}");
        v["data"].clone()
    }

    /// An envelope endpoint that must refuse with HTTP 200, `code: -1` and this `error`: the
    /// whole answer.
    pub fn refused(&self, path: &str, body: Value, error: &str) -> Value {
        let r = self.post(path, Some(&self.admin), &body);
        let v = r.json();
        assert_eq!(r.status, 200, "{path} {body}: {v:#}");
        assert_envelope_error(&v, error);
        v
    }

    /// `performSync` with the admin token that must start exactly one job: its id.
    pub fn perform_sync(&self, body: Value) -> JobId {
        let data = self.call("/api/sync/performSync", body);
        let ids = data["jobIds"].as_array().expect("jobIds");
        assert_eq!(ids.len(), 1, "{data:#}");
        ids[0].as_i64().expect("a job id")
    }

    /// A sync of `folder` through `performSync` that must succeed: its job record.
    pub fn sync(&self, folder: &str) -> Value {
        let id = self.perform_sync(json!({ "app": "test", "folder": folder }));
        let job = self.wait_job(id);
        assert_eq!(job["status"], "succeeded", "{job:#}");
        job
    }

    /// `GET /api/sync/jobs/{id}`.
    pub fn job(&self, id: JobId) -> Value {
        let r = self.get(&format!("/api/sync/jobs/{id}"), Some(&self.admin));
        assert_eq!(r.status, 200, "{}", r.text());
        r.json()
    }

    /// Polls the job until it reaches a final status: its record.
    pub fn wait_job(&self, id: JobId) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let job = self.job(id);
            let status: JobStatus = job["status"]
                .as_str()
                .expect("a status")
                .parse()
                .expect("a known status");
            if status.is_final() {
                return job;
            }
            assert!(Instant::now() < deadline, "job {id} did not end: {job:#}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Polls until `f` holds, failing the test after [`PATIENCE`].
    pub fn wait_until(&self, what: &str, mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + PATIENCE;
        while !f() {
            assert!(Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `GET /api/sync/jobs` with this query (admin): the page.
    pub fn jobs(&self, query: &str) -> Value {
        let r = self.get(&format!("/api/sync/jobs?{query}"), Some(&self.admin));
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        r.json()
    }

    /// How many job records exist.
    pub fn job_count(&self) -> u64 {
        self.jobs("")["meta"]["total"].as_u64().expect("a total")
    }

    /// Connects to `/ws` with the admin token in the header.
    pub fn ws(&self) -> Ws {
        self.ws_with(WsAuth::Header(&self.admin), None)
            .expect("the WebSocket opens")
    }

    /// Connects to `/ws`: the WebSocket, or the HTTP answer refusing it.
    pub fn ws_with(&self, auth: WsAuth<'_>, origin: Option<&str>) -> Result<Ws, Box<Resp>> {
        let url = match auth {
            WsAuth::Query(t) => format!("ws://{}/ws?token={t}", self.addr),
            _ => format!("ws://{}/ws", self.addr),
        };
        let mut req = url.into_client_request().expect("a WebSocket request");
        if let WsAuth::Header(t) = auth {
            req.headers_mut().insert(
                "Authorization",
                HeaderValue::from_str(&format!("Token {t}")).expect("a header"),
            );
        }
        if let Some(o) = origin {
            req.headers_mut()
                .insert("Origin", HeaderValue::from_str(o).expect("a header"));
        }
        let stream = TcpStream::connect(self.addr).expect("connect");
        stream
            .set_read_timeout(Some(PATIENCE))
            .expect("a read timeout");
        match tungstenite::client::client(req, stream) {
            Ok((socket, response)) => {
                // Short reads from now on: `next_message` polls against its own deadline.
                socket
                    .get_ref()
                    .set_read_timeout(Some(Duration::from_millis(50)))
                    .expect("a read timeout");
                check_no_cors_headers(response.headers());
                Ok(Ws {
                    socket,
                    response,
                    seen: Vec::new(),
                })
            }
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(res))) => {
                let (parts, body) = res.into_parts();
                let resp = Resp {
                    status: parts.status.as_u16(),
                    headers: parts.headers,
                    body: body.unwrap_or_default(),
                };
                check_no_cors(&resp);
                Err(Box::new(resp))
            }
            Err(e) => panic!("WebSocket handshake: {e}"),
        }
    }

    /// Sends raw bytes on a new connection and reads the answer to the end (the request
    /// should say `Connection: close`): its status line and the whole text.
    pub fn raw(&self, request: &[u8]) -> (u16, String) {
        let mut s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(PATIENCE)).expect("a read timeout");
        s.write_all(request).expect("write the request");
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no HTTP status in {text:?}"));
        let head = text
            .split("\r\n\r\n")
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        assert!(
            !head.contains("\naccess-control-"),
            "a CORS header was sent: {head}"
        );
        assert!(head.contains("\nx-frame-options: deny"), "{head}");
        (status, text)
    }

    /// Jobs of this process that are still running, by their records.
    fn running_jobs(&self) -> u64 {
        let filter = syncdesk_engine::model::JobFilter {
            status: Some(JobStatus::Running),
            ..Default::default()
        };
        self.engine.jobs(&filter).map(|p| p.meta.total).unwrap_or(0)
    }

    /// Stops the server (WebSockets get a close frame).
    pub fn stop_server(&mut self) {
        if let (Some(server), Some(rt)) = (self.server.take(), self.rt.as_ref()) {
            rt.block_on(server.stop());
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Let the syncs a test started end before their directories go.
        let deadline = Instant::now() + PATIENCE;
        while self.running_jobs() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.stop_server();
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

fn check_no_cors(resp: &Resp) {
    check_no_cors_headers(&resp.headers);
}

/// No CORS header, and the hardening headers: on every answer.
fn check_no_cors_headers(headers: &HeaderMap) {
    for name in headers.keys() {
        assert!(
            !name.as_str().starts_with("access-control-"),
            "the server sent a CORS header: {name}: {:?}",
            headers.get(name)
        );
    }
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let csp = get("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'self'"),
        "Content-Security-Policy: {csp:?} in {headers:?}"
    );
    assert_eq!(get("x-frame-options"), Some("DENY"), "{headers:?}");
    assert_eq!(
        get("x-content-type-options"),
        Some("nosniff"),
        "{headers:?}"
    );
    assert_eq!(get("referrer-policy"), Some("no-referrer"), "{headers:?}");
}

/// `{code: -1, msg: <sentence>, data: null, error: <code>}`, and nothing else.
pub fn assert_envelope_error(v: &Value, error: &str) {
    assert_eq!(v["code"], -1, "{v:#}");
    assert_eq!(v["data"], Value::Null, "{v:#}");
    assert!(
        v.get("data").is_some(),
        "data must be present (null): {v:#}"
    );
    assert_eq!(v["error"], error, "{v:#}");
    let msg = v["msg"].as_str().expect("msg is a string");
    assert!(!msg.is_empty(), "{v:#}");
    assert_eq!(keys(v), ["code", "data", "error", "msg"], "{v:#}");
}

/// `{code: <code>, message: <sentence>}`, and nothing else.
pub fn assert_rest_error(v: &Value, code: &str) {
    assert_eq!(v["code"], code, "{v:#}");
    assert!(
        v["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{v:#}"
    );
    assert_eq!(keys(v), ["code", "message"], "{v:#}");
}

/// The keys of a JSON object, sorted.
pub fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v:#}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

/// `2019-08-24T14:15:22.123Z`: RFC 3339, UTC, milliseconds.
pub fn is_timestamp(v: &Value) -> bool {
    let Some(s) = v.as_str() else { return false };
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| r.into_iter().all(|i| b[i].is_ascii_digit());
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

/// Checks a job record has every field of seed 004's `SyncJob` (plus `folder` and `stats`),
/// with the right types.
pub fn assert_job_shape(job: &Value) {
    assert_eq!(
        keys(job),
        [
            "created_at",
            "ended_at",
            "error_message",
            "folder",
            "id",
            "job_type",
            "metadata",
            "started_at",
            "stats",
            "status",
            "trigger_type",
            "updated_at"
        ],
        "{job:#}"
    );
    assert!(job["id"].as_i64().is_some_and(|id| id > 0), "{job:#}");
    for (field, values) in [
        ("job_type", &["sync", "force_push", "force_pull"][..]),
        (
            "trigger_type",
            &[
                "manual", "tray", "schedule", "watch", "boot", "api", "gateway",
            ][..],
        ),
        (
            "status",
            &[
                "pending",
                "running",
                "succeeded",
                "failed",
                "cancelled",
                "needs_confirmation",
            ][..],
        ),
    ] {
        let v = job[field].as_str().unwrap_or_default();
        assert!(values.contains(&v), "{field} = {:?}: {job:#}", job[field]);
    }
    assert!(is_timestamp(&job["created_at"]), "{job:#}");
    assert!(is_timestamp(&job["updated_at"]), "{job:#}");
    for f in ["started_at", "ended_at"] {
        assert!(
            job[f].is_null() || is_timestamp(&job[f]),
            "{f}: {:?}",
            job[f]
        );
    }
    assert!(
        job["error_message"].is_null() || job["error_message"].is_string(),
        "{job:#}"
    );
    let metadata = job["metadata"].as_object().expect("metadata is an object");
    for (k, v) in metadata {
        assert!(v.is_string(), "metadata values are strings: {k} = {v}");
    }
    assert_eq!(
        keys(&job["stats"]),
        [
            "bytes_downloaded",
            "bytes_uploaded",
            "conflicts",
            "duration_ms",
            "files_deleted",
            "files_downloaded",
            "files_scanned",
            "files_uploaded",
            "retries"
        ],
        "{job:#}"
    );
    for (k, v) in job["stats"].as_object().expect("stats") {
        assert!(v.is_u64(), "stats.{k} = {v}");
    }
    let status: JobStatus = job["status"]
        .as_str()
        .expect("status")
        .parse()
        .expect("status");
    if status.is_final() {
        assert!(is_timestamp(&job["ended_at"]), "{job:#}");
    } else {
        assert!(job["ended_at"].is_null(), "{job:#}");
    }
}

/// How a WebSocket client authenticates.
#[derive(Debug, Clone, Copy)]
pub enum WsAuth<'a> {
    None,
    Header(&'a str),
    Query(&'a str),
}

/// A WebSocket client reading events `{event, payload}`.
pub struct Ws {
    pub socket: WebSocket<TcpStream>,
    pub response: WsResponse,
    /// Every event read so far, in order.
    pub seen: Vec<Value>,
}

impl Ws {
    /// The next message, or `None` once `deadline` has passed.
    pub fn next_message(&mut self, deadline: Instant) -> Option<Message> {
        loop {
            match self.socket.read() {
                Ok(m) => return Some(m),
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= deadline {
                        return None;
                    }
                }
                Err(e) => panic!("WebSocket: {e}"),
            }
        }
    }

    /// The next event (text frame), within [`PATIENCE`].
    pub fn next_event(&mut self) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.next_message(deadline) {
                Some(Message::Text(t)) => {
                    let v: Value = serde_json::from_str(&t).expect("an event is JSON");
                    assert_eq!(keys(&v), ["event", "payload"], "{v:#}");
                    self.seen.push(v.clone());
                    return v;
                }
                Some(Message::Ping(_) | Message::Pong(_)) => {}
                Some(other) => panic!("unexpected WebSocket message: {other:?}"),
                None => panic!(
                    "no event within {PATIENCE:?}; seen so far: {:#}",
                    Value::from(self.seen.clone())
                ),
            }
        }
    }

    /// Reads events until one satisfies `f`: that one.
    pub fn until(&mut self, what: &str, mut f: impl FnMut(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            assert!(Instant::now() < deadline, "no event where {what}");
            let e = self.next_event();
            if f(&e) {
                return e;
            }
        }
    }

    /// Makes sure the server has subscribed this socket to the engine's events: changes
    /// the app state and waits for that change to arrive.
    pub fn sync_with(&mut self, ts: &TestServer) {
        let before = ts.engine.app_state().expect("app state");
        let lang = if before.language.as_deref() == Some("en") {
            "zh-CN"
        } else {
            "en"
        };
        let deadline = Instant::now() + PATIENCE;
        // The subscription starts after the handshake answer: until it does, events are lost.
        loop {
            ts.engine
                .set_language(Some(lang))
                .expect("set the language");
            let got = self.next_message(Instant::now() + Duration::from_millis(300));
            ts.engine
                .set_language(before.language.as_deref())
                .expect("set the language back");
            if let Some(Message::Text(t)) = got {
                let v: Value = serde_json::from_str(&t).expect("JSON");
                if v["event"] == "appStateChanged" {
                    // Its echo when the language went back.
                    self.until("the language is back", |e| {
                        e["event"] == "appStateChanged"
                            && e["payload"]["language"] == json!(before.language)
                    });
                    self.seen.clear();
                    return;
                }
            }
            assert!(Instant::now() < deadline, "the WebSocket never got events");
        }
    }
}

/// Holds every sync of a folder at its `syncBegin` until opened (or dropped): a real,
/// running sync (record `running`, folder lock held), paused at a known point, so tests can
/// observe the API while it runs without racing it. Works because the engine calls its event
/// subscribers on the sync's own thread.
pub struct Gate {
    inner: Arc<GateInner>,
    _sub: Subscription,
}

struct GateInner {
    state: Mutex<GateState>,
    cv: Condvar,
}

#[derive(Default)]
struct GateState {
    open: bool,
    held: Vec<JobId>,
}

impl GateInner {
    fn lock(&self) -> MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Gate {
    pub fn new(engine: &Arc<Engine>, folder: &str) -> Gate {
        let inner = Arc::new(GateInner {
            state: Mutex::new(GateState::default()),
            cv: Condvar::new(),
        });
        let gate = inner.clone();
        let folder = folder.to_owned();
        let sub = engine.events().subscribe(move |e| {
            let Event::SyncBegin(e) = e else { return };
            if e.folder != folder {
                return;
            }
            let mut s = gate.lock();
            s.held.push(e.job_id);
            gate.cv.notify_all();
            // Never forever: a test that forgets the gate fails on its own, it does not hang.
            let deadline = Instant::now() + PATIENCE * 2;
            while !s.open && Instant::now() < deadline {
                s = gate
                    .cv
                    .wait_timeout(s, Duration::from_millis(100))
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
        });
        Gate { inner, _sub: sub }
    }

    /// Waits until a sync is held: its job id.
    pub fn wait_held(&self) -> JobId {
        let deadline = Instant::now() + PATIENCE;
        let mut s = self.inner.lock();
        while s.held.is_empty() {
            assert!(Instant::now() < deadline, "no sync reached the gate");
            s = self
                .inner
                .cv
                .wait_timeout(s, Duration::from_millis(50))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        s.held[0]
    }

    /// Jobs held so far.
    pub fn held(&self) -> Vec<JobId> {
        self.inner.lock().held.clone()
    }

    pub fn open(&self) {
        self.inner.lock().open = true;
        self.inner.cv.notify_all();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.open();
    }
}

/// Every file under `root` (recursively), relative, sorted; `.syncdesk/` excluded.
pub fn files_under(root: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .into_owned();
            if rel == ".syncdesk" {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}
