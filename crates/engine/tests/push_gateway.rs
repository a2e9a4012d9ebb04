//! Gateway egress against a small in-test gateway that records every request: encodings,
//! deletions, empty directories, the push state across restarts, 429 and 5xx handling, the
//! client-side limiter, force-push and force-pull. Run under `scripts/keyring-session.sh`
//! (the gateway token is kept in the OS keyring).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use syncdesk_engine::model::{
    EventName, JobStatus, NewFolder, PerformSyncRequest, PushMode, RepositorySettings, SyncJob,
};
use syncdesk_engine::ratelimit::{Limiter, Rule, parse_rules};
use syncdesk_engine::remote::ProbeStepName;
use syncdesk_engine::secrets::Secret;
use syncdesk_engine::{Engine, EngineError};

const TOKEN: &str = "tok-123";

// The gateway.

#[derive(Debug, Clone)]
struct Seen {
    endpoint: String,
    at: Instant,
    status: u16,
    multipart: bool,
    fields: BTreeMap<String, String>,
    /// The multipart `file` part.
    file: Option<Vec<u8>>,
}

impl Seen {
    fn path(&self) -> &str {
        self.fields.get("path").map_or("", String::as_str)
    }

    fn flag(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|v| v == "true")
    }
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, Vec<u8>>,
    dirs: BTreeSet<String>,
    log: Vec<Seen>,
    /// Answers forced on the next sync requests, in order: status, Retry-After.
    script: VecDeque<(u16, Option<&'static str>)>,
    /// Paths always refused with 400.
    refuse: BTreeSet<String>,
    always_503: bool,
    /// Rules enforced like the ingress does (429 + Retry-After).
    limits: Vec<Rule>,
    limiter: Limiter,
    /// Offers `/list` and `/file` (a Syncdesk gateway).
    listing: bool,
}

#[derive(Clone)]
struct Gateway {
    port: u16,
    state: Arc<Mutex<State>>,
}

impl Gateway {
    fn start(listing: bool) -> Gateway {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            listing,
            ..Default::default()
        }));
        let gw = Gateway { port, state };
        let server = gw.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let server = server.clone();
                std::thread::spawn(move || server.serve(conn));
            }
        });
        gw
    }

    fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    fn url(&self, options: &str) -> String {
        format!("gateway+http://127.0.0.1:{}{options}", self.port)
    }

    /// Requests to `/service/gateway/sync`, answered or not.
    fn syncs(&self) -> Vec<Seen> {
        self.with(|s| {
            s.log
                .iter()
                .filter(|r| r.endpoint == "/service/gateway/sync")
                .cloned()
                .collect()
        })
    }

    fn clear_log(&self) {
        self.with(|s| s.log.clear());
    }

    fn serve(&self, conn: TcpStream) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut writer = conn;
        while let Some((path, headers, body)) = read_request(&mut reader) {
            let (status, extra, out) = self.handle(&path, &headers, &body);
            let mut head = format!(
                "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: {}\r\n",
                out.len(),
                if path == "/service/gateway/file" && status == 200 {
                    "application/octet-stream"
                } else {
                    "application/json"
                }
            );
            for (k, v) in extra {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&out).is_err() {
                return;
            }
        }
    }

    fn handle(
        &self,
        endpoint: &str,
        headers: &BTreeMap<String, String>,
        body: &[u8],
    ) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        let ctype = headers.get("content-type").cloned().unwrap_or_default();
        let (fields, file, multipart) = if let Some(b) = ctype.split("boundary=").nth(1) {
            let (f, file) = parse_multipart(body, b.trim_matches('"'));
            (f, file, true)
        } else {
            let f = url::form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            (f, None, false)
        };
        let mut s = self.state.lock().unwrap();
        let mut seen = Seen {
            endpoint: endpoint.to_owned(),
            at: Instant::now(),
            status: 200,
            multipart,
            fields: fields.clone(),
            file: file.clone(),
        };
        let error = |status: u16, code: &str, msg: &str| {
            (
                status,
                Vec::new(),
                format!(r#"{{"code":"{code}","message":"{msg}"}}"#).into_bytes(),
            )
        };
        let answer = if fields.get("fb_token").map(String::as_str) != Some(TOKEN) {
            error(401, "unauthorized", "unknown token")
        } else {
            match endpoint {
                "/service/gateway/sync" => s.sync(&fields, file),
                "/service/gateway/list" if s.listing => {
                    let mut files = Vec::new();
                    for d in &s.dirs {
                        files.push(serde_json::json!({"path": d, "dir": true}));
                    }
                    for (p, c) in &s.files {
                        files.push(serde_json::json!({
                            "path": p, "size": c.len(),
                            "hash": blake3::hash(c).to_hex().to_string(),
                        }));
                    }
                    (
                        200,
                        Vec::new(),
                        serde_json::to_vec(&serde_json::json!({ "files": files })).unwrap(),
                    )
                }
                "/service/gateway/file" if s.listing => {
                    match s.files.get(fields.get("path").map_or("", String::as_str)) {
                        Some(c) => (200, Vec::new(), c.clone()),
                        None => error(404, "not_found", "no such file"),
                    }
                }
                _ => error(404, "not_found", "no such endpoint"),
            }
        };
        seen.status = answer.0;
        s.log.push(seen);
        answer
    }
}

impl State {
    fn sync(
        &mut self,
        fields: &BTreeMap<String, String>,
        file: Option<Vec<u8>>,
    ) -> (u16, Vec<(&'static str, String)>, Vec<u8>) {
        let ok = |action: &str| {
            (
                200,
                Vec::new(),
                format!(r#"{{"action":"{action}"}}"#).into_bytes(),
            )
        };
        if let Some((status, retry_after)) = self.script.pop_front() {
            let extra = retry_after
                .map(|r| vec![("Retry-After", r.to_owned())])
                .unwrap_or_default();
            return (
                status,
                extra,
                br#"{"code":"scripted","message":"scripted"}"#.to_vec(),
            );
        }
        if self.always_503 {
            return (503, Vec::new(), b"down for maintenance".to_vec());
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        if let Err(wait) = self.limiter.check("acct", &self.limits, now) {
            let secs = wait.div_ceil(1000).to_string();
            return (
                429,
                vec![("Retry-After", secs)],
                br#"{"code":"rate_limited","message":"slow down"}"#.to_vec(),
            );
        }
        self.limiter.record("acct", now);
        let path = fields.get("path").cloned().unwrap_or_default();
        if self.refuse.contains(&path) {
            return (
                400,
                Vec::new(),
                br#"{"code":"bad_request","message":"this path is refused"}"#.to_vec(),
            );
        }
        let flag = |k: &str| fields.get(k).is_some_and(|v| v == "true");
        if flag("is_deleted") {
            let below = format!("{path}/");
            self.files
                .retain(|p, _| *p != path && !p.starts_with(&below));
            self.dirs.retain(|p| *p != path && !p.starts_with(&below));
            return ok("deleted");
        }
        // Parents appear with what is written below them.
        let mut parent = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            self.dirs.insert(parent.clone());
        }
        if flag("is_dir") {
            self.dirs.insert(path);
            return ok("directory");
        }
        let content = file
            .or_else(|| fields.get("raw_content").map(|c| c.clone().into_bytes()))
            .unwrap_or_default();
        self.files.insert(path, content);
        ok("written")
    }
}

fn read_request(
    r: &mut BufReader<TcpStream>,
) -> Option<(String, BTreeMap<String, String>, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let path = line.split_whitespace().nth(1)?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let mut body = Vec::new();
    if let Some(n) = headers.get("content-length") {
        body.resize(n.parse().ok()?, 0);
        r.read_exact(&mut body).ok()?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).ok()?;
            let n = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk).ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    Some((path, headers, body))
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn parse_multipart(body: &[u8], boundary: &str) -> (BTreeMap<String, String>, Option<Vec<u8>>) {
    let delim = format!("--{boundary}").into_bytes();
    let mut fields = BTreeMap::new();
    let mut file = None;
    let mut at = find(body, &delim, 0).unwrap() + delim.len();
    while body[at..].starts_with(b"\r\n") {
        let head_end = find(body, b"\r\n\r\n", at).unwrap();
        let head = String::from_utf8_lossy(&body[at + 2..head_end]).into_owned();
        let start = head_end + 4;
        let next = find(body, &[b"\r\n", &delim[..]].concat(), start).unwrap();
        let content = body[start..next].to_vec();
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_owned();
        if name == "file" {
            file = Some(content);
        } else {
            fields.insert(name, String::from_utf8(content).unwrap());
        }
        at = next + 2 + delim.len();
    }
    (fields, file)
}

// The pushing side.

struct Device {
    _dir: tempfile::TempDir,
    state: PathBuf,
    root: PathBuf,
    engine: Arc<Engine>,
    events: Arc<Mutex<Vec<(EventName, String, String)>>>,
    _sub: syncdesk_engine::events::Subscription,
}

impl Device {
    fn new(gw: &Gateway, options: &str) -> Device {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let root = dir.path().join("folder");
        fs::create_dir_all(&root).unwrap();
        let engine = Engine::open(&state).unwrap();
        engine
            .add_folder_with(&NewFolder {
                name: "docs".into(),
                path: root.clone(),
                repository: RepositorySettings {
                    remote: gw.url(options),
                    secret: Some(Secret::new(TOKEN)),
                    ..Default::default()
                },
            })
            .unwrap();
        let root = root.canonicalize().unwrap();
        let (events, sub) = watch(&engine);
        Device {
            _dir: dir,
            state,
            root,
            engine,
            events,
            _sub: sub,
        }
    }

    /// The same state directory opened again, as after a restart.
    fn reopen(&mut self) {
        self.engine = Engine::open(&self.state).unwrap();
        let (events, sub) = watch(&self.engine);
        self.events = events;
        self._sub = sub;
    }

    fn write(&self, rel: &str, content: &[u8]) {
        let p = self.root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    fn push_with(&self, mode: PushMode) -> Result<SyncJob, EngineError> {
        let ids = self.engine.create_jobs(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("docs".into()),
            push_mode: mode,
            confirm: true,
            ..Default::default()
        })?;
        self.engine.run_job(ids[0])
    }

    fn push(&self) -> SyncJob {
        let job = self.push_with(PushMode::TwoWay).unwrap();
        assert_eq!(
            job.status,
            JobStatus::Succeeded,
            "push failed: {:?}",
            job.error_message
        );
        job
    }

    fn log(&self, job: &SyncJob) -> Vec<String> {
        self.engine
            .job_log(job.id)
            .unwrap()
            .into_iter()
            .map(|l| l.msg)
            .collect()
    }

    fn saw(&self, name: EventName, text: &str) -> bool {
        self.events
            .lock()
            .unwrap()
            .iter()
            .any(|(n, info, msg)| *n == name && (info.contains(text) || msg.contains(text)))
    }
}

type Events = Arc<Mutex<Vec<(EventName, String, String)>>>;

fn watch(engine: &Arc<Engine>) -> (Events, syncdesk_engine::events::Subscription) {
    let events: Events = Arc::default();
    let sink = events.clone();
    let sub = engine.events().subscribe(move |e| {
        if let Some(e) = e.as_sync() {
            sink.lock()
                .unwrap()
                .push((e.name, e.info.clone(), e.msg.clone()));
        }
    });
    (events, sub)
}

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if rel == ".syncdesk" {
                continue;
            }
            if p.is_dir() {
                out.insert(format!("{rel}/"), Vec::new());
                walk(root, &p, out);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn paths(reqs: &[Seen]) -> Vec<String> {
    reqs.iter().map(|r| r.path().to_owned()).collect()
}

/// The paths of consecutive groups of requests of these sizes, each group sorted (requests
/// of one wave run concurrently, in any order).
fn waves(reqs: &[Seen], sizes: &[usize]) -> Vec<Vec<String>> {
    assert_eq!(reqs.len(), sizes.iter().sum::<usize>(), "{:?}", paths(reqs));
    let mut out = Vec::new();
    let mut at = 0;
    for &n in sizes {
        let mut group = paths(&reqs[at..at + n]);
        group.sort();
        out.push(group);
        at += n;
    }
    out
}

// The tests.

#[test]
fn text_binary_and_large_files_dirs_and_deletions_are_mirrored() {
    let gw = Gateway::start(false);
    let mut dev = Device::new(&gw, "");
    dev.write("a.txt", "héllo\r\nwörld\n".as_bytes());
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    dev.write("bin.dat", &binary);
    let large = "x".repeat(300 * 1024);
    dev.write("big.txt", large.as_bytes());
    dev.write("d/x.txt", b"in d");
    dev.write("skip.log", b"ignored");
    dev.write(".syncignore", b"*.log\n");
    dev.write("empty.txt", b"");
    fs::create_dir_all(dev.root.join("e/f")).unwrap();

    let job = dev.push();
    let reqs = gw.syncs();
    assert!(reqs.iter().all(|r| r.status == 200));
    for r in &reqs {
        assert_eq!(r.fields.get("fb_token").map(String::as_str), Some(TOKEN));
        assert!(r.flag("push_to_cloud"), "push_to_cloud defaults to true");
    }
    let by_path: BTreeMap<&str, &Seen> = reqs.iter().map(|r| (r.path(), r)).collect();
    assert_eq!(
        by_path.keys().copied().collect::<Vec<_>>(),
        vec![
            ".syncignore",
            "a.txt",
            "big.txt",
            "bin.dat",
            "d/x.txt",
            "e/f",
            "empty.txt"
        ],
        "one request per file and empty directory, nothing ignored"
    );
    let text = by_path["a.txt"];
    assert!(!text.multipart);
    assert_eq!(text.fields["raw_content"], "héllo\r\nwörld\n");
    assert!(!by_path["empty.txt"].multipart);
    assert_eq!(by_path["empty.txt"].fields["raw_content"], "");
    assert!(by_path["bin.dat"].multipart, "binary goes as multipart");
    assert_eq!(by_path["bin.dat"].file.as_deref(), Some(&binary[..]));
    assert!(
        by_path["big.txt"].multipart,
        "text over 256 KiB goes as multipart"
    );
    assert_eq!(by_path["big.txt"].file.as_deref(), Some(large.as_bytes()));
    assert!(by_path["e/f"].flag("is_dir"));
    // Directories first.
    assert_eq!(reqs[0].path(), "e/f");
    assert_eq!(job.stats.files_uploaded, 6);
    assert_eq!(
        job.stats.bytes_uploaded,
        (binary.len() + large.len() + "héllo\r\nwörld\n".len() + 4 + 6) as u64
    );
    assert_eq!(job.stats.files_scanned, 6);
    gw.with(|s| {
        assert_eq!(s.files["bin.dat"], binary);
        assert!(s.dirs.contains("e/f"));
    });

    // Nothing changed: nothing sent, even after a restart.
    gw.clear_log();
    dev.push();
    dev.reopen();
    dev.push();
    assert!(gw.syncs().is_empty(), "{:?}", paths(&gw.syncs()));

    // A change, removals (children before parents) and a directory that became empty.
    dev.write("bin.dat", b"\x00changed");
    fs::remove_file(dev.root.join("a.txt")).unwrap();
    fs::remove_dir_all(dev.root.join("d")).unwrap();
    fs::remove_dir_all(dev.root.join("e/f")).unwrap();
    let job = dev.push();
    let reqs = gw.syncs();
    assert_eq!(
        waves(&reqs, &[1, 2, 2]),
        vec![vec!["bin.dat"], vec!["d/x.txt", "e/f"], vec!["a.txt", "d"]],
        "changes, then removals deepest first"
    );
    for r in &reqs[1..] {
        assert!(r.flag("is_deleted"), "{}", r.path());
    }
    assert_eq!(job.stats.files_deleted, 2);
    assert_eq!(job.stats.files_uploaded, 1);
    gw.with(|s| {
        assert_eq!(
            s.files.keys().cloned().collect::<Vec<_>>(),
            vec![".syncignore", "big.txt", "bin.dat", "empty.txt"]
        );
        assert_eq!(s.dirs.iter().cloned().collect::<Vec<_>>(), vec!["e"]);
    });
}

#[test]
fn push_to_cloud_false_is_sent() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "?push_to_cloud=false");
    dev.write("a.txt", b"a");
    dev.push();
    let reqs = gw.syncs();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].fields["push_to_cloud"], "false");
}

#[test]
fn a_429_waits_for_retry_after_and_a_5xx_is_retried() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "?concurrency=1");
    dev.write("a.txt", b"a");
    gw.with(|s| {
        s.script.push_back((429, Some("1")));
        s.script.push_back((503, None));
    });
    let job = dev.push();
    let reqs = gw.syncs();
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        vec![429, 503, 200]
    );
    assert!(
        reqs[1].at - reqs[0].at >= Duration::from_millis(950),
        "the second request came {:?} after the 429",
        reqs[1].at - reqs[0].at
    );
    assert_eq!(job.stats.retries, 2);
    assert!(dev.saw(EventName::SyncRetry, "HTTP 429"));
    assert!(dev.saw(EventName::SyncRetry, "HTTP 503"));
    assert!(dev.saw(EventName::SyncProgress, "rate-limited, resuming at"));
    assert!(
        dev.log(&job)
            .iter()
            .any(|l| l.contains("rate-limited, resuming at"))
    );
    gw.with(|s| assert_eq!(s.files["a.txt"], b"a"));
}

#[test]
fn a_refused_file_fails_alone_and_is_tried_again_next_time() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "");
    for name in ["a.txt", "bad.txt", "c.txt"] {
        dev.write(name, name.as_bytes());
    }
    gw.with(|s| {
        s.refuse.insert("bad.txt".into());
    });
    let job = dev.push_with(PushMode::TwoWay).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = job.error_message.clone().unwrap();
    assert!(
        msg.starts_with("1 of 3 requests failed: bad.txt: HTTP 400"),
        "{msg}"
    );
    assert!(msg.contains("this path is refused"), "{msg}");
    assert!(
        dev.log(&job)
            .iter()
            .any(|l| l.contains("bad.txt") && l.contains("this path is refused"))
    );
    gw.with(|s| {
        assert_eq!(
            s.files.keys().cloned().collect::<Vec<_>>(),
            vec!["a.txt", "c.txt"]
        );
        s.refuse.clear();
    });
    gw.clear_log();
    dev.push();
    assert_eq!(paths(&gw.syncs()), vec!["bad.txt"]);
}

#[test]
fn a_gateway_that_keeps_failing_is_given_up_on_naming_the_file() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "?concurrency=1");
    dev.write("only.txt", b"x");
    gw.with(|s| s.always_503 = true);
    let job = dev.push_with(PushMode::TwoWay).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = job.error_message.unwrap();
    assert!(msg.starts_with("only.txt: HTTP 503"), "{msg}");
    assert!(msg.contains("after 6 attempts"), "{msg}");
    assert_eq!(gw.syncs().len(), 6);
    assert_eq!(job.stats.retries, 5);

    // Once the gateway is back, the next sync delivers it.
    gw.with(|s| s.always_503 = false);
    dev.push();
    gw.with(|s| assert_eq!(s.files["only.txt"], b"x"));
}

#[test]
fn a_refused_token_stops_the_push_and_says_what_to_do() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "");
    dev.write("a.txt", b"a");
    dev.engine
        .set_remote_secret("docs", &Secret::new("wrong"))
        .unwrap();
    let job = dev.push_with(PushMode::TwoWay).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    let msg = job.error_message.unwrap();
    assert!(msg.contains("refused the token (HTTP 401"), "{msg}");
    assert!(msg.contains("syncdesk-cli folder set-secret docs"), "{msg}");
    assert!(!msg.contains("wrong"), "the token is never shown: {msg}");
}

#[test]
fn the_client_limiter_keeps_under_the_gateway_limits_across_restarts() {
    let gw = Gateway::start(false);
    gw.with(|s| s.limits = parse_rules("3/2s").unwrap());
    let mut dev = Device::new(&gw, "?limits=3/2s");
    for i in 0..7 {
        dev.write(&format!("f{i}.txt"), format!("{i}").as_bytes());
    }
    let job = dev.push();
    let reqs = gw.syncs();
    assert_eq!(reqs.len(), 7);
    assert!(
        reqs.iter().all(|r| r.status == 200),
        "the gateway answered {:?}",
        reqs.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        dev.log(&job)
            .iter()
            .any(|l| l.contains("rate-limited, resuming at"))
    );
    assert!(dev.saw(EventName::SyncProgress, "rate-limited, resuming at"));

    // A restart keeps counting: pushing again at once still draws no 429.
    dev.reopen();
    gw.clear_log();
    for i in 7..10 {
        dev.write(&format!("f{i}.txt"), format!("{i}").as_bytes());
    }
    dev.push();
    let reqs = gw.syncs();
    assert_eq!(reqs.len(), 3);
    assert!(reqs.iter().all(|r| r.status == 200));
}

#[test]
fn force_push_sends_everything_and_removes_what_the_gateway_lists() {
    let gw = Gateway::start(true);
    gw.with(|s| {
        s.files.insert("stray.txt".into(), b"old".to_vec());
        s.files.insert("sd/s.txt".into(), b"old".to_vec());
        s.dirs.insert("sd".into());
    });
    let dev = Device::new(&gw, "");
    dev.write("a.txt", b"a");
    dev.push();
    gw.clear_log();

    // A plain push leaves what it did not push; force-push sends all and removes the rest.
    let job = dev.push_with(PushMode::ForcePush).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    let reqs = gw.syncs();
    assert_eq!(
        waves(&reqs, &[1, 1, 2]),
        vec![vec!["a.txt"], vec!["sd/s.txt"], vec!["sd", "stray.txt"]]
    );
    gw.with(|s| {
        assert_eq!(s.files.keys().cloned().collect::<Vec<_>>(), vec!["a.txt"]);
        assert!(s.dirs.is_empty());
    });
}

#[test]
fn force_push_without_a_listing_removes_what_was_pushed_before() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "");
    dev.write("a.txt", b"a");
    dev.write("b.txt", b"b");
    dev.push();
    fs::remove_file(dev.root.join("b.txt")).unwrap();
    gw.clear_log();
    let job = dev.push_with(PushMode::ForcePush).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    assert_eq!(paths(&gw.syncs()), vec!["a.txt", "b.txt"]);
    assert!(
        dev.log(&job)
            .iter()
            .any(|l| l.contains("does not offer a listing"))
    );
}

#[test]
fn force_pull_makes_the_folder_what_the_gateway_holds() {
    let gw = Gateway::start(true);
    gw.with(|s| {
        s.files.insert("same.txt".into(), b"same".to_vec());
        s.files.insert("changed.txt".into(), b"theirs".to_vec());
        s.files.insert("new/deep.bin".into(), vec![0, 1, 2]);
        s.dirs.insert("new".into());
        s.dirs.insert("emptydir".into());
    });
    let dev = Device::new(&gw, "");
    dev.write("same.txt", b"same");
    dev.write("changed.txt", b"mine");
    dev.write("extra.txt", b"extra");
    dev.write("skip.log", b"ignored stays");
    dev.write(".syncignore", b"*.log\n.syncignore\n");

    let preview = dev
        .engine
        .preview(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("docs".into()),
            push_mode: PushMode::ForcePull,
            ..Default::default()
        })
        .unwrap();
    assert_eq!(preview[0].download, vec!["new/deep.bin"]);
    assert_eq!(preview[0].replace, vec!["changed.txt"]);
    assert_eq!(preview[0].delete_local, vec!["extra.txt"]);
    assert_eq!(
        tree(&dev.root)["changed.txt"],
        b"mine",
        "a preview changes nothing"
    );

    let job = dev.push_with(PushMode::ForcePull).unwrap();
    assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
    let t = tree(&dev.root);
    assert_eq!(
        t.keys().cloned().collect::<Vec<_>>(),
        vec![
            ".syncignore",
            "changed.txt",
            "emptydir/",
            "new/",
            "new/deep.bin",
            "same.txt",
            "skip.log"
        ]
    );
    assert_eq!(t["changed.txt"], b"theirs");
    assert_eq!(t["new/deep.bin"], vec![0, 1, 2]);
    assert_eq!(job.stats.files_downloaded, 2);
    assert_eq!(job.stats.files_deleted, 1);
    // Replaced and removed files are in the trash.
    let trash = tree(&dev.root.join(".syncdesk/trash"));
    let kept: BTreeSet<&[u8]> = trash.values().map(Vec::as_slice).collect();
    assert!(
        kept.contains(&b"mine"[..]) && kept.contains(&b"extra"[..]),
        "{trash:?}"
    );

    // The push state matches: the next push sends nothing.
    gw.clear_log();
    dev.push();
    assert!(gw.syncs().is_empty(), "{:?}", paths(&gw.syncs()));
}

#[test]
fn force_pull_from_a_gateway_without_listing_is_refused() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "");
    dev.write("a.txt", b"a");
    let job = dev.push_with(PushMode::ForcePull).unwrap();
    assert_eq!(job.status, JobStatus::Failed);
    assert_eq!(
        job.error_message.as_deref(),
        Some(
            "this gateway cannot be pulled from: it does not offer listing (only Syncdesk gateways do)"
        )
    );
    assert_eq!(tree(&dev.root)["a.txt"], b"a", "nothing local changed");
}

#[test]
fn a_dry_run_previews_without_sending() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "");
    dev.write("a.txt", b"a");
    fs::create_dir_all(dev.root.join("e")).unwrap();
    let preview = dev
        .engine
        .preview(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("docs".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(preview[0].upload, vec!["e/", "a.txt"]);
    assert!(gw.syncs().is_empty());
    let info = dev.engine.get_sync_info().unwrap();
    assert_eq!(info.provider_name, "Gateway");
}

#[test]
fn gateway_folders_take_a_token_and_no_encryption() {
    let gw = Gateway::start(false);
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("state")).unwrap();
    let add = |secret: Option<&str>, passphrase: Option<&str>| {
        engine.add_folder_with(&NewFolder {
            name: "docs".into(),
            path: dir.path().join("folder"),
            repository: RepositorySettings {
                remote: gw.url(""),
                secret: secret.map(Secret::new),
                passphrase: passphrase.map(Secret::new),
                ..Default::default()
            },
        })
    };
    let err = add(None, None).unwrap_err();
    assert_eq!(err.code(), "credentials");
    assert!(err.to_string().contains("fb_token"), "{err}");
    let err = add(Some(TOKEN), Some("pass")).unwrap_err();
    assert!(err.to_string().contains("cannot be encrypted"), "{err}");
    add(Some(TOKEN), None).unwrap();
    // It holds no repository: history is refused with a clear reason.
    let err = engine.snapshots("docs").unwrap_err();
    assert!(err.to_string().contains("push target"), "{err}");
}

// "Test connection".

/// A port nothing listens on (it was free a moment ago).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn steps(report: &syncdesk_engine::remote::ProbeReport) -> Vec<ProbeStepName> {
    report.steps.iter().map(|s| s.step).collect()
}

#[test]
fn the_connection_test_lists_with_the_token_and_writes_nothing() {
    let gw = Gateway::start(true);
    let dev = Device::new(&gw, "");
    dev.write("a.txt", b"not pushed by a test");
    let report = dev.engine.test_folder_remote("docs").unwrap();
    assert_eq!(
        steps(&report),
        [ProbeStepName::Reach, ProbeStepName::Authenticate]
    );
    assert_eq!(report.provider_name, "Gateway");
    let seen = gw.with(|s| s.log.clone());
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].endpoint, "/service/gateway/list");
    assert_eq!(
        seen[0].fields.get("fb_token").map(String::as_str),
        Some(TOKEN)
    );
    assert!(gw.syncs().is_empty());
    assert!(gw.with(|s| s.files.is_empty() && s.dirs.is_empty()));

    // The same for a remote not saved yet.
    let report = dev
        .engine
        .test_remote(&gw.url(""), Some(&Secret::new(TOKEN)))
        .unwrap();
    assert_eq!(
        steps(&report),
        [ProbeStepName::Reach, ProbeStepName::Authenticate]
    );
    assert!(gw.syncs().is_empty());
}

#[test]
fn a_gateway_without_listing_tests_ok_as_push_only() {
    let gw = Gateway::start(false);
    let dev = Device::new(&gw, "");
    let report = dev.engine.test_folder_remote("docs").unwrap();
    assert_eq!(
        steps(&report),
        [ProbeStepName::Reach, ProbeStepName::PushOnly]
    );
    assert!(ProbeStepName::PushOnly.describe().contains("no force-pull"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["steps"][1]["step"], "pushOnly", "{json}");
    assert!(gw.syncs().is_empty());
    assert!(gw.with(|s| s.files.is_empty() && s.dirs.is_empty()));
}

#[test]
fn a_refused_token_fails_the_connection_test_saying_what_to_do() {
    let gw = Gateway::start(true);
    let dev = Device::new(&gw, "");
    let err = dev
        .engine
        .test_remote(&gw.url(""), Some(&Secret::new("wrong-token")))
        .unwrap_err();
    assert_eq!(err.code(), "credentials");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "the gateway 127.0.0.1:{} refused the token (HTTP 401: unauthorized: unknown token)",
            gw.port
        )),
        "{msg}"
    );
    assert!(msg.contains("fb_token"), "{msg}");
    assert!(!msg.contains("wrong-token"), "the token leaked: {msg}");

    dev.engine
        .set_remote_secret("docs", &Secret::new("wrong-token"))
        .unwrap();
    let err = dev.engine.test_folder_remote("docs").unwrap_err();
    assert_eq!(err.code(), "credentials");
    assert!(
        err.to_string()
            .contains("syncdesk-cli folder set-secret docs"),
        "{err}"
    );
    // No token at all: said before anything is sent.
    let err = dev.engine.test_remote(&gw.url(""), None).unwrap_err();
    assert_eq!(err.code(), "credentials");
    assert_eq!(gw.with(|s| s.log.len()), 2);
    assert!(gw.syncs().is_empty());
}

#[test]
fn an_unreachable_gateway_fails_the_connection_test_like_other_remotes() {
    let dir = tempfile::tempdir().unwrap();
    let engine = Engine::open(&dir.path().join("state")).unwrap();
    let port = free_port();
    let err = engine
        .test_remote(
            &format!("gateway+http://127.0.0.1:{port}"),
            Some(&Secret::new(TOKEN)),
        )
        .unwrap_err();
    assert_eq!(err.code(), "unreachable");
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "connection test failed at step \"reach the server\": cannot reach 127.0.0.1:"
        ),
        "{msg}"
    );
    assert!(msg.contains("tried 4 times"), "{msg}");
}
