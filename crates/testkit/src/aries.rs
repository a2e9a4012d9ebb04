//! A contract server for the Aries sync API (seed 002), for tests and for trying the Aries
//! connector by hand (`aries-server`, see `src/bin/aries-server.rs`).
//!
//! - `GET /aries/api/v1/sync` only (other methods 405), with `Authorization: Bearer <token>`
//!   (401 otherwise) and a JSON body `{"data": [...]}`;
//! - the body is checked against the seed's parameter table: 400
//!   `{"code":"InvalidParameter","message":"参数无效: <every problem>"}`, each problem naming
//!   the server (`data[1] (web-2): compute.cpu_core_count must be …`);
//! - a volume's `image_ref` outside the configured images: 404
//!   `{"code":"ImageNotFound","message":"镜像不存在: <ref>[, <ref>…]"}`;
//! - a server named `fail-…`: 500 `{"code":"SyncFailed","message":"同步失败: <names>"}`;
//! - the header `X-Fail: internal`: 500 `{"code":"InternalError","message":"内部错误"}`;
//! - otherwise 200 `{"success":true}`, and the batch is recorded as accepted.
//!
//! In-process, [`AriesServer::inject`] makes the next requests get a given answer (to test
//! how a client maps answers the contract's rules never produce for a valid batch, or
//! transient failures).
//!
//! `GET /_test/requests` answers `{"count": N, "requests": [...], "accepted": [...]}`: every
//! request received on the API (not the `/_test/` ones), so a test can prove that nothing was
//! sent, and the bodies of the accepted batches.
//!
//! Plain threads and blocking sockets: one thread per connection, one request per connection
//! (`Connection: close`), which every HTTP client copes with.

use std::collections::BTreeSet;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The route the seed defines.
pub const SYNC_PATH: &str = "/aries/api/v1/sync";
/// Where a test reads what the server received.
pub const REQUESTS_PATH: &str = "/_test/requests";

/// Largest request body accepted.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// A connection that sends nothing for this long is closed.
const IDLE: Duration = Duration::from_secs(30);

/// What the server accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AriesConfig {
    /// The bearer token requests must carry.
    pub token: String,
    /// The images that exist; any other `image_ref` is ImageNotFound.
    pub images: Vec<String>,
}

/// One request the API received, and what it was answered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// It carried the right bearer token.
    pub authorized: bool,
    pub content_type: Option<String>,
    /// The body: its JSON when it is JSON, else its text (lossy UTF-8).
    pub body: Value,
    pub status: u16,
    /// The `code` of an error answer.
    pub code: Option<String>,
}

#[derive(Default)]
struct Log {
    requests: Vec<RecordedRequest>,
    accepted: Vec<Value>,
    /// Answers given instead of the API's own, with how many requests each is left for.
    injected: Vec<(u16, Value, u32)>,
}

struct Shared {
    config: AriesConfig,
    log: Mutex<Log>,
}

impl Shared {
    fn log(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running contract server; stops when dropped.
pub struct AriesServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl AriesServer {
    /// Listens on `listen` (`127.0.0.1:0` for any free port) and serves in the background.
    pub fn start(listen: &str, config: AriesConfig) -> io::Result<AriesServer> {
        let listener = TcpListener::bind(listen)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            log: Mutex::new(Log::default()),
        });
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let (shared, stop) = (shared.clone(), stop.clone());
            std::thread::Builder::new()
                .name("aries-accept".into())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        let shared = shared.clone();
                        let _ = std::thread::Builder::new()
                            .name("aries-conn".into())
                            .spawn(move || serve(conn, &shared));
                    }
                })?
        };
        Ok(AriesServer {
            addr,
            shared,
            stop,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:<port>`: the base URL (the API is under `/aries/api/v1/`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The remote URL of a Syncdesk folder pushing here: `aries+http://127.0.0.1:<port>`.
    pub fn remote_url(&self) -> String {
        format!("aries+{}", self.url())
    }

    /// Every request the API received, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.log().requests.len()
    }

    /// Answers the next `times` requests to the sync route (after the route, method and
    /// token checks) with `status` and the JSON `body`, instead of checking the batch.
    /// Injected answers queue up: the oldest is used first.
    pub fn inject(&self, status: u16, body: Value, times: u32) {
        self.shared.log().injected.push((status, body, times));
    }

    /// The bodies of the batches answered `{"success": true}`, oldest first.
    pub fn accepted(&self) -> Vec<Value> {
        self.shared.log().accepted.clone()
    }
}

impl Drop for AriesServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the acceptor, which then sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

/// A request as read from the socket.
struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// An answer: status, extra headers, JSON body.
struct Answer {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: Value,
}

impl Answer {
    fn json(status: u16, body: Value) -> Answer {
        Answer {
            status,
            headers: Vec::new(),
            body,
        }
    }

    fn error(status: u16, code: &str, message: String) -> Answer {
        Answer::json(status, json!({ "code": code, "message": message }))
    }
}

fn serve(conn: TcpStream, shared: &Shared) {
    let _ = conn.set_read_timeout(Some(IDLE));
    let _ = conn.set_write_timeout(Some(IDLE));
    let Ok(mut writer) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(conn);
    let answer = match read_request(&mut reader, &mut writer) {
        Ok(Some(req)) => handle(&req, shared),
        Ok(None) => return,
        Err(e) => Answer::error(400, "BadRequest", format!("malformed HTTP request: {e}")),
    };
    let _ = write_answer(&mut writer, &answer);
    let _ = writer.shutdown(Shutdown::Both);
}

fn handle(req: &Request, shared: &Shared) -> Answer {
    if req.path == REQUESTS_PATH && req.method == "GET" {
        let log = shared.log();
        return Answer::json(
            200,
            json!({
                "count": log.requests.len(),
                "requests": log.requests,
                "accepted": log.accepted,
            }),
        );
    }
    let authorized = req
        .header("authorization")
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == shared.config.token
        });
    let parsed: Option<Value> = serde_json::from_slice(&req.body).ok();
    let mut log = shared.log();
    let mut answer = api(req, authorized, parsed.as_ref(), &shared.config);
    if req.path == SYNC_PATH
        && !matches!(answer.status, 401 | 404 | 405)
        && let Some(slot) = log.injected.iter_mut().find(|(_, _, n)| *n > 0)
    {
        slot.2 -= 1;
        answer = Answer::json(slot.0, slot.1.clone());
        log.injected.retain(|(_, _, n)| *n > 0);
    }
    if answer.status == 200
        && let Some(body) = &parsed
    {
        log.accepted.push(body.clone());
    }
    log.requests.push(RecordedRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        authorized,
        content_type: req.header("content-type").map(str::to_owned),
        body: parsed.unwrap_or_else(|| Value::String(String::from_utf8_lossy(&req.body).into())),
        status: answer.status,
        code: answer.body["code"].as_str().map(str::to_owned),
    });
    answer
}

/// The API itself, in the order a real endpoint would check.
fn api(req: &Request, authorized: bool, body: Option<&Value>, config: &AriesConfig) -> Answer {
    if req.path != SYNC_PATH {
        return Answer::error(404, "NotFound", format!("no such route: {}", req.path));
    }
    if req.method != "GET" {
        let mut a = Answer::error(
            405,
            "MethodNotAllowed",
            format!(
                "{} is not allowed here: the sync route takes GET",
                req.method
            ),
        );
        a.headers.push(("Allow", "GET".into()));
        return a;
    }
    if !authorized {
        let mut a = Answer::error(
            401,
            "Unauthorized",
            "未认证: a valid `Authorization: Bearer <token>` header is required".into(),
        );
        a.headers.push(("WWW-Authenticate", "Bearer".into()));
        return a;
    }
    if req
        .header("x-fail")
        .is_some_and(|v| v.eq_ignore_ascii_case("internal"))
    {
        return Answer::error(500, "InternalError", "内部错误".into());
    }
    let json_type = req.header("content-type").is_some_and(|t| {
        t.split(';')
            .next()
            .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
    });
    if !json_type {
        return invalid("the body must be JSON (Content-Type: application/json)".into());
    }
    let Some(body) = body else {
        return invalid("the body is not valid JSON".into());
    };
    let problems = check_batch(body);
    if !problems.is_empty() {
        return invalid(problems.join("; "));
    }
    let servers = body["data"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    let mut missing = BTreeSet::new();
    for server in servers {
        for volume in server["storage"]["volumes"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            if let Some(r) = volume["image_ref"].as_str()
                && !config.images.iter().any(|i| i == r)
            {
                missing.insert(r.to_owned());
            }
        }
    }
    if !missing.is_empty() {
        let refs: Vec<String> = missing.into_iter().collect();
        return Answer::error(
            404,
            "ImageNotFound",
            format!("镜像不存在: {}", refs.join(", ")),
        );
    }
    let failing: Vec<&str> = servers
        .iter()
        .filter_map(|s| s["name"].as_str())
        .filter(|n| n.starts_with("fail-"))
        .collect();
    if !failing.is_empty() {
        return Answer::error(
            500,
            "SyncFailed",
            format!("同步失败: {}", failing.join(", ")),
        );
    }
    Answer::json(200, json!({ "success": true }))
}

fn invalid(detail: String) -> Answer {
    Answer::error(400, "InvalidParameter", format!("参数无效: {detail}"))
}

/// Every way the body breaks the seed's parameter table (required fields, types, positive
/// sizes, unique names), each naming the server it is in.
pub fn check_batch(body: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let Some(obj) = body.as_object() else {
        return vec!["the body must be a JSON object with a `data` array".into()];
    };
    let Some(data) = obj.get("data") else {
        return vec!["data is required".into()];
    };
    let Some(servers) = data.as_array() else {
        return vec!["data must be an array".into()];
    };
    let mut names = BTreeSet::new();
    for (i, server) in servers.iter().enumerate() {
        let label = match server["name"].as_str() {
            Some(n) => format!("data[{i}] ({n})"),
            None => format!("data[{i}]"),
        };
        let mut problem = |what: String| out.push(format!("{label}: {what}"));
        let Some(s) = server.as_object() else {
            problem("must be an object".into());
            continue;
        };
        match s.get("name") {
            Some(Value::String(n)) if !n.trim().is_empty() => {
                if !names.insert(n.clone()) {
                    problem(format!("name {n:?} is used by another server"));
                }
            }
            Some(_) => problem("name must be a non-empty string".into()),
            None => problem("name is required".into()),
        }
        if let Some(c) = object(s, "compute", &mut problem) {
            positive_integer(c, "compute.cpu_core_count", "cpu_core_count", &mut problem);
            positive_integer(c, "compute.memory_size", "memory_size", &mut problem);
        }
        let Some(storage) = object(s, "storage", &mut problem) else {
            continue;
        };
        let volumes = match storage.get("volumes") {
            Some(Value::Array(v)) => v,
            Some(_) => {
                problem("storage.volumes must be an array".into());
                continue;
            }
            None => {
                problem("storage.volumes is required".into());
                continue;
            }
        };
        let mut volume_names = BTreeSet::new();
        for (j, volume) in volumes.iter().enumerate() {
            let at = format!("storage.volumes[{j}]");
            let Some(v) = volume.as_object() else {
                problem(format!("{at} must be an object"));
                continue;
            };
            match v.get("name") {
                Some(Value::String(n)) if !n.trim().is_empty() => {
                    if !volume_names.insert(n.clone()) {
                        problem(format!(
                            "{at}.name {n:?} is used by another volume of the server"
                        ));
                    }
                }
                Some(_) => problem(format!("{at}.name must be a non-empty string")),
                None => problem(format!("{at}.name is required")),
            }
            match v.get("size").map(|s| s.as_f64()) {
                Some(Some(size)) if size > 0.0 => {}
                Some(_) => problem(format!("{at}.size must be a number greater than 0")),
                None => problem(format!("{at}.size is required")),
            }
            match v.get("type") {
                Some(t) if t.is_i64() || t.is_u64() => {}
                Some(_) => problem(format!("{at}.type must be an integer")),
                None => problem(format!("{at}.type is required")),
            }
            match v.get("image_ref") {
                None => {}
                Some(Value::String(r)) if !r.trim().is_empty() => {}
                Some(_) => problem(format!("{at}.image_ref must be a non-empty string")),
            }
        }
    }
    out
}

fn object<'v>(
    obj: &'v Map<String, Value>,
    field: &str,
    problem: &mut impl FnMut(String),
) -> Option<&'v Map<String, Value>> {
    match obj.get(field) {
        Some(Value::Object(o)) => Some(o),
        Some(_) => {
            problem(format!("{field} must be an object"));
            None
        }
        None => {
            problem(format!("{field} is required"));
            None
        }
    }
}

fn positive_integer(
    obj: &Map<String, Value>,
    label: &str,
    field: &str,
    problem: &mut impl FnMut(String),
) {
    match obj.get(field) {
        Some(v) if v.is_u64() && v.as_u64() != Some(0) => {}
        Some(_) => problem(format!("{label} must be an integer greater than 0")),
        None => problem(format!("{label} is required")),
    }
}

fn invalid_data(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Reads one request. Ok(None) when the client closed without sending one.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> io::Result<Option<Request>> {
    let mut head = Vec::new();
    loop {
        let before = head.len();
        reader.read_until(b'\n', &mut head)?;
        if head.len() == before {
            if head.is_empty() {
                return Ok(None);
            }
            return Err(invalid_data("connection closed inside the request head"));
        }
        if head.ends_with(b"\r\n\r\n") || head.ends_with(b"\n\n") {
            break;
        }
        if head.len() > MAX_HEAD {
            return Err(invalid_data("request head too large"));
        }
    }
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    match parsed.parse(&head) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(invalid_data("incomplete request head")),
        Err(e) => return Err(invalid_data(format!("bad request head: {e}"))),
    }
    let target = parsed.path.unwrap_or("/");
    let path = target.split(['?', '#']).next().unwrap_or("/").to_owned();
    let mut req = Request {
        method: parsed.method.unwrap_or_default().to_owned(),
        path,
        headers: parsed
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: Vec::new(),
    };
    if req
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let chunked = req
        .header("transfer-encoding")
        .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        req.body = read_chunked(reader)?;
    } else if let Some(len) = req.header("content-length") {
        let len: usize = len
            .trim()
            .parse()
            .map_err(|_| invalid_data("invalid Content-Length"))?;
        if len > MAX_BODY {
            return Err(invalid_data("request body too large"));
        }
        req.body = vec![0; len];
        reader.read_exact(&mut req.body)?;
    }
    Ok(Some(req))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| invalid_data(format!("bad chunk size {size:?}")))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
                    return Ok(body);
                }
            }
        }
        if body.len() + size > MAX_BODY {
            return Err(invalid_data("request body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        line.clear();
        reader.read_line(&mut line)?;
    }
}

fn write_answer(w: &mut TcpStream, a: &Answer) -> io::Result<()> {
    let body = a.body.to_string();
    let reason = match a.status {
        200 => "OK",
        400 => "Bad Request",
        503 => "Service Unavailable",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        500 => "Internal Server Error",
        _ => "Status",
    };
    let mut head = format!(
        "HTTP/1.1 {} {reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        a.status,
        body.len()
    );
    for (name, value) in &a.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    w.write_all(head.as_bytes())?;
    w.write_all(body.as_bytes())?;
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str, image: &str) -> Value {
        json!({
            "name": name,
            "compute": {"cpu_core_count": 2, "memory_size": 4096},
            "storage": {"volumes": [{"name": "system-disk", "size": 40, "type": 0, "image_ref": image}]}
        })
    }

    /// A request over a real socket: (status, JSON answer).
    fn call(
        s: &AriesServer,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> (u16, Value) {
        let mut conn = TcpStream::connect(s.addr).unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (n, v) in headers {
            req.push_str(&format!("{n}: {v}\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        conn.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        conn.read_to_string(&mut out).unwrap();
        let status = out[9..12].parse().unwrap();
        let json = out.split_once("\r\n\r\n").unwrap().1;
        (status, serde_json::from_str(json).unwrap())
    }

    fn start() -> AriesServer {
        AriesServer::start(
            "127.0.0.1:0",
            AriesConfig {
                token: "T".into(),
                images: vec!["img-a".into(), "img-b".into()],
            },
        )
        .unwrap()
    }

    const AUTH: (&str, &str) = ("Authorization", "Bearer T");
    const JSON: (&str, &str) = ("Content-Type", "application/json");

    #[test]
    fn answers_per_the_seed() {
        let s = start();
        let ok = json!({"data": [server("web-1", "img-a"), server("web-2", "img-b")]}).to_string();
        assert_eq!(
            call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &ok),
            (200, json!({"success": true}))
        );
        assert_eq!(
            s.accepted(),
            vec![serde_json::from_str::<Value>(&ok).unwrap()]
        );

        let (status, body) = call(&s, "POST", SYNC_PATH, &[AUTH, JSON], &ok);
        assert_eq!(
            (status, body["code"].as_str()),
            (405, Some("MethodNotAllowed"))
        );
        let (status, _) = call(
            &s,
            "GET",
            SYNC_PATH,
            &[("Authorization", "Bearer x"), JSON],
            &ok,
        );
        assert_eq!(status, 401);
        let (status, _) = call(&s, "GET", SYNC_PATH, &[JSON], &ok);
        assert_eq!(status, 401);
        let (status, body) = call(
            &s,
            "GET",
            SYNC_PATH,
            &[AUTH, JSON, ("X-Fail", "internal")],
            &ok,
        );
        assert_eq!(
            (status, body),
            (500, json!({"code": "InternalError", "message": "内部错误"}))
        );

        let missing = json!({"data": [server("web-1", "img-x"), server("web-2", "img-a"), server("web-3", "img-y")]});
        let (status, body) = call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &missing.to_string());
        assert_eq!(
            (status, body),
            (
                404,
                json!({"code": "ImageNotFound", "message": "镜像不存在: img-x, img-y"})
            )
        );
        let failing = json!({"data": [server("fail-db", "img-a"), server("web", "img-a")]});
        let (status, body) = call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &failing.to_string());
        assert_eq!(
            (status, body),
            (
                500,
                json!({"code": "SyncFailed", "message": "同步失败: fail-db"})
            )
        );

        let (status, body) = call(&s, "GET", SYNC_PATH, &[AUTH], &ok);
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("InvalidParameter"))
        );
        let (status, _) = call(&s, "GET", "/other", &[AUTH, JSON], &ok);
        assert_eq!(status, 404);

        // Every API request is recorded; the test route is not.
        let (status, log) = call(&s, "GET", REQUESTS_PATH, &[], "");
        assert_eq!(status, 200);
        assert_eq!(log["count"], 9);
        assert_eq!(s.request_count(), 9);
        assert_eq!(log["requests"][2]["authorized"], false);
        assert_eq!(log["requests"][6]["code"], "SyncFailed");
        assert_eq!(log["accepted"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn invalid_parameters_name_the_server() {
        let s = start();
        let mut bad = server("web-2", "img-a");
        bad["compute"]["cpu_core_count"] = json!(0);
        bad["storage"]["volumes"][0]["size"] = json!("40");
        let body = json!({"data": [server("web-1", "img-a"), bad, server("web-1", "img-a")]});
        let (status, answer) = call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &body.to_string());
        assert_eq!(status, 400);
        assert_eq!(
            answer["message"],
            "参数无效: data[1] (web-2): compute.cpu_core_count must be an integer greater than 0; \
             data[1] (web-2): storage.volumes[0].size must be a number greater than 0; \
             data[2] (web-1): name \"web-1\" is used by another server"
        );
        let (status, answer) = call(&s, "GET", SYNC_PATH, &[AUTH, JSON], "{\"data\": 1}");
        assert_eq!(
            (status, answer["message"].as_str()),
            (400, Some("参数无效: data must be an array"))
        );
        assert!(s.accepted().is_empty());
    }

    #[test]
    fn injected_answers_come_first_then_run_out() {
        let s = start();
        s.inject(503, json!({"code": "InternalError", "message": "busy"}), 2);
        let ok = json!({"data": [server("web-1", "img-a")]}).to_string();
        assert_eq!(call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &ok).0, 503);
        // The token is still checked first.
        assert_eq!(call(&s, "GET", SYNC_PATH, &[JSON], &ok).0, 401);
        assert_eq!(call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &ok).0, 503);
        assert_eq!(call(&s, "GET", SYNC_PATH, &[AUTH, JSON], &ok).0, 200);
        assert_eq!(s.accepted().len(), 1);
    }

    #[test]
    fn check_batch_follows_the_parameter_table() {
        assert!(check_batch(&json!({"data": []})).is_empty());
        let v = json!({"data": [{"name": "a", "compute": {"cpu_core_count": 1, "memory_size": 1},
            "storage": {"volumes": [{"name": "d", "size": 0.5, "type": 3}]}}]});
        assert!(check_batch(&v).is_empty());
        let v = json!({"data": [{"name": "a", "compute": {"cpu_core_count": 1.5, "memory_size": -1},
            "storage": {"volumes": [{"name": "d", "size": 1, "type": "0", "image_ref": 3}, {"name": "d", "size": 1, "type": 0}]}}]});
        assert_eq!(
            check_batch(&v),
            [
                "data[0] (a): compute.cpu_core_count must be an integer greater than 0",
                "data[0] (a): compute.memory_size must be an integer greater than 0",
                "data[0] (a): storage.volumes[0].type must be an integer",
                "data[0] (a): storage.volumes[0].image_ref must be a non-empty string",
                "data[0] (a): storage.volumes[1].name \"d\" is used by another volume of the server",
            ]
        );
        assert_eq!(
            check_batch(&json!([])),
            ["the body must be a JSON object with a `data` array"]
        );
        assert_eq!(check_batch(&json!({})), ["data is required"]);
    }
}
