//! One request to a gateway, one attempt: build it, send it, sort the answer. Retries,
//! waits and rate limiting are the caller's (`send.rs`).
//!
//! - text files (valid UTF-8 without NUL, at most [`TEXT_LIMIT`]) go as
//!   `application/x-www-form-urlencoded` with `raw_content`;
//! - other files as `multipart/form-data` with the content in `file`, streamed from disk;
//! - directories with `is_dir=true`, removals with `is_deleted=true`;
//! - every request carries `fb_token`, `path` and `push_to_cloud`.
//!
//! Timeouts: connecting may take `timeout`; on Linux a connection whose sent data stays
//! unacknowledged for `timeout` is dropped (TCP user timeout); and a whole request may take
//! `timeout` plus the time to move its bytes at [`SLOWEST_RATE`].

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::blocking::{Client as Http, ClientBuilder, RequestBuilder, Response, multipart};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;

use super::plan::Op;
use crate::relpath;
use crate::remote::{HttpSetup, RemoteSpec, Trouble, chain, classify, excerpt, parse_retry_after};
use crate::secrets::Secret;

/// Larger files, and files that are not UTF-8 text, go as multipart uploads.
pub const TEXT_LIMIT: u64 = 256 * 1024;
/// The slowest transfer a request is given time for (bytes per second), on top of `timeout`.
pub const SLOWEST_RATE: u64 = 64 * 1024;

pub const SYNC_PATH: &str = "/service/gateway/sync";
pub const LIST_PATH: &str = "/service/gateway/list";
pub const FILE_PATH: &str = "/service/gateway/file";

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failed {
    /// HTTP 429: wait (as long as the server says, if it does), then ask again.
    RateLimited(Option<Duration>),
    /// Worth another attempt: 5xx, 408, a connection that failed, broke or stalled.
    Transient(String),
    /// HTTP 401: the token was refused; no request will succeed.
    Unauthorized(String),
    /// The secure connection failed; no request will succeed until the options change.
    Tls(String),
    /// The gateway refused this request for good (another 4xx, 501, 507): only this path fails.
    Refused { status: u16, message: String },
    /// The local file cannot be read.
    Local(String),
    /// The local file is gone since the scan; the next sync deletes it on the gateway.
    Vanished,
}

/// What an acknowledged request sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    /// A file: the BLAKE3 of the bytes sent (the file may have changed since the scan).
    pub hash: Option<[u8; 32]>,
    pub bytes: u64,
    /// Sent as multipart (binary or large).
    pub multipart: bool,
}

/// One entry of `/service/gateway/list`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Listed {
    pub path: String,
    #[serde(default)]
    pub size: u64,
    #[serde(default)]
    pub hash: Option<String>,
    #[serde(default)]
    pub dir: bool,
}

#[derive(Deserialize)]
struct Listing {
    files: Vec<Listed>,
}

pub struct Client {
    http: Http,
    /// `http(s)://host[:port][/base]`.
    base: String,
    host: String,
    token: Secret,
    push_to_cloud: bool,
    timeout: Duration,
}

impl Client {
    pub fn new(spec: &RemoteSpec, token: &Secret) -> Result<Client, String> {
        let base = spec.url.clone().unwrap_or_default();
        let host = url::Url::parse(&base)
            .ok()
            .and_then(|u| {
                u.host_str().map(|h| {
                    format!(
                        "{h}{}",
                        u.port().map(|p| format!(":{p}")).unwrap_or_default()
                    )
                })
            })
            .unwrap_or_else(|| base.clone());
        let timeout = Duration::from_secs(spec.timeout_secs().into());
        // Retries happen in one place, `send.rs`.
        let http = HttpSetup::of(spec).build(|b| {
            let builder = ClientBuilder::from(b)
                // Per request instead, sized to what it moves.
                .timeout(None)
                .pool_idle_timeout(Duration::from_secs(30));
            #[cfg(target_os = "linux")]
            let builder = builder.tcp_user_timeout(timeout);
            builder.build()
        })?;
        if spec.accept_invalid_certs {
            tracing::warn!(
                "certificate checks are off for {}: anyone between us and the gateway can read and change what is pushed",
                spec.describe()
            );
        }
        Ok(Client {
            http,
            base,
            host,
            token: token.clone(),
            push_to_cloud: spec.push_to_cloud(),
            timeout,
        })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    fn post(&self, endpoint: &str, bytes: u64) -> RequestBuilder {
        self.http
            .post(format!("{}{endpoint}", self.base))
            .timeout(self.timeout + Duration::from_secs(bytes / SLOWEST_RATE))
    }

    /// The fields every sync request carries.
    fn common(&self, path: &str) -> Vec<(&'static str, String)> {
        vec![
            ("fb_token", self.token.expose().to_owned()),
            ("path", path.to_owned()),
            ("push_to_cloud", self.push_to_cloud.to_string()),
        ]
    }

    /// Sends one request of a push; `root` is the folder, for reading files.
    pub fn send(&self, root: &Path, op: &Op) -> Result<Sent, Failed> {
        let path = path_str(op.path())?;
        let mut fields = self.common(path);
        let request = match op {
            Op::MakeDir { .. } => {
                fields.push(("is_dir", "true".into()));
                Prepared::Form(fields, None)
            }
            Op::Delete { .. } => {
                fields.push(("is_deleted", "true".into()));
                Prepared::Form(fields, None)
            }
            Op::Put { .. } => prepare_file(&relpath::to_path(root, op.path()), fields)?,
        };
        match request {
            Prepared::Form(fields, content) => {
                let sent = content.as_ref().map(|c| Sent {
                    hash: Some(*blake3::hash(c.as_bytes()).as_bytes()),
                    bytes: c.len() as u64,
                    multipart: false,
                });
                let mut body = url::form_urlencoded::Serializer::new(String::new());
                for (k, v) in &fields {
                    body.append_pair(k, v);
                }
                if let Some(c) = &content {
                    body.append_pair("raw_content", c);
                }
                let body = body.finish();
                let resp = self
                    .post(SYNC_PATH, body.len() as u64)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .map_err(|e| transport(&e))?;
                self.answer(resp)?;
                Ok(sent.unwrap_or(Sent {
                    hash: None,
                    bytes: 0,
                    multipart: false,
                }))
            }
            Prepared::Multipart(fields, file, len, name) => {
                let hashing = HashingReader::new(file.take(len));
                let progress = hashing.progress.clone();
                let mut form = multipart::Form::new();
                for (k, v) in fields {
                    form = form.text(k, v);
                }
                let part = multipart::Part::reader_with_length(hashing, len)
                    .file_name(name)
                    .mime_str("application/octet-stream")
                    .map_err(|e| Failed::Local(format!("cannot build the upload: {e}")))?;
                form = form.part("file", part);
                let resp = self
                    .post(SYNC_PATH, len)
                    .multipart(form)
                    .send()
                    .map_err(|e| transport(&e))?;
                self.answer(resp)?;
                let (hash, read) = lock_progress(&progress);
                if read != len {
                    // The file shrank while it was sent: the body was cut short.
                    return Err(Failed::Transient(format!(
                        "the file changed while it was sent ({read} of {len} bytes)"
                    )));
                }
                Ok(Sent {
                    hash: Some(hash),
                    bytes: len,
                    multipart: true,
                })
            }
        }
    }

    /// Sorts an answer: 2xx is an acknowledgement, the rest a failure.
    fn answer(&self, resp: Response) -> Result<Response, Failed> {
        let status = resp.status();
        if status.is_success() {
            return Ok(resp);
        }
        let retry_after = resp
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let message = error_message(resp);
        Err(match status.as_u16() {
            429 => Failed::RateLimited(retry_after),
            401 => Failed::Unauthorized(message),
            408 => Failed::Transient(format!("HTTP 408 {message}")),
            501 | 505 | 507 => Failed::Refused {
                status: status.as_u16(),
                message,
            },
            s if status.is_server_error() => Failed::Transient(if message.is_empty() {
                format!("HTTP {s}")
            } else {
                format!("HTTP {s}: {message}")
            }),
            s => Failed::Refused { status: s, message },
        })
    }

    /// `/service/gateway/list`: every file and directory the gateway holds; `None` when the
    /// gateway does not offer listing (404 or 405: not a Syncdesk gateway).
    pub fn list(&self) -> Result<Option<Vec<Listed>>, Failed> {
        let fields = [("fb_token", self.token.expose())];
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let resp = self
            .post(LIST_PATH, 0)
            // A listing of a large folder takes a while to build and send.
            .timeout(self.timeout * 10)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .map_err(|e| transport(&e))?;
        if matches!(
            resp.status(),
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            return Ok(None);
        }
        let resp = self.answer(resp)?;
        let bytes = resp.bytes().map_err(|e| transport(&e))?;
        let listing: Listing = serde_json::from_slice(&bytes).map_err(|e| Failed::Refused {
            status: 200,
            message: format!("the gateway's listing is not what a Syncdesk gateway sends: {e}"),
        })?;
        Ok(Some(listing.files))
    }

    /// `/service/gateway/file`: the content of `path`, written to `to` as it arrives;
    /// returns its BLAKE3 and length.
    pub fn fetch(&self, path: &str, size: u64, to: &mut File) -> Result<([u8; 32], u64), Failed> {
        let mut fields = url::form_urlencoded::Serializer::new(String::new());
        fields.append_pair("fb_token", self.token.expose());
        fields.append_pair("path", path);
        let mut resp = self
            .post(FILE_PATH, size)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(fields.finish())
            .send()
            .map_err(|e| transport(&e))?;
        if resp.status() == StatusCode::NOT_FOUND {
            return Err(Failed::Refused {
                status: 404,
                message: "the gateway no longer holds it".into(),
            });
        }
        resp = self.answer(resp)?;
        let expected = resp.content_length();
        let mut out = HashingWriter {
            inner: to,
            hasher: blake3::Hasher::new(),
            written: 0,
        };
        match resp.copy_to(&mut out) {
            Ok(_) => {}
            Err(e) if e.is_body() || e.is_decode() || e.is_timeout() => {
                return Err(Failed::Transient(format!(
                    "the download broke off: {}",
                    chain(&e)
                )));
            }
            Err(e) => return Err(Failed::Local(format!("cannot write it: {}", chain(&e)))),
        }
        if let Some(n) = expected
            && out.written < n
        {
            return Err(Failed::Transient(format!(
                "the download was cut short ({} of {n} bytes)",
                out.written
            )));
        }
        Ok((*out.hasher.finalize().as_bytes(), out.written))
    }
}

enum Prepared {
    /// Fields, and the text content if any.
    Form(Vec<(&'static str, String)>, Option<String>),
    /// Fields, the open file, its length, its name.
    Multipart(Vec<(&'static str, String)>, File, u64, String),
}

/// Reads a small text file whole; opens anything else for streaming.
fn prepare_file(abs: &Path, fields: Vec<(&'static str, String)>) -> Result<Prepared, Failed> {
    let mut file = match File::open(abs) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Failed::Vanished),
        Err(e) => return Err(Failed::Local(format!("cannot read it: {e}"))),
    };
    let local = |e: io::Error| Failed::Local(format!("cannot read it: {e}"));
    let len = file.metadata().map_err(local)?.len();
    if len <= TEXT_LIMIT {
        let mut buf = Vec::with_capacity(len as usize);
        // One byte more than the limit tells a file that grew past it.
        (&mut file)
            .take(TEXT_LIMIT + 1)
            .read_to_end(&mut buf)
            .map_err(local)?;
        if buf.len() as u64 <= TEXT_LIMIT
            && !buf.contains(&0)
            && let Ok(text) = String::from_utf8(buf)
        {
            return Ok(Prepared::Form(fields, Some(text)));
        }
        file = File::open(abs).map_err(local)?;
    }
    let len = file.metadata().map_err(local)?.len();
    let name = abs
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "file".into());
    Ok(Prepared::Multipart(fields, file, len, name))
}

/// A path as the gateway takes it: UTF-8 (others are never planned; see `gateway.rs`).
fn path_str(p: &[u8]) -> Result<&str, Failed> {
    std::str::from_utf8(p).map_err(|_| Failed::Refused {
        status: 0,
        message: "the name is not UTF-8, which the gateway cannot take".into(),
    })
}

fn transport(e: &reqwest::Error) -> Failed {
    match classify(e) {
        Trouble::Tls(why) => Failed::Tls(why),
        Trouble::Broken(why) => Failed::Local(format!("cannot build the request: {why}")),
        Trouble::Connect(why) | Trouble::Reset(why) => Failed::Transient(if e.is_timeout() {
            format!("no answer in time ({why})")
        } else {
            why
        }),
        other => Failed::Transient(other.describe("the gateway", Duration::ZERO)),
    }
}

/// The message of an error answer: the API's `{"code","message"}`, or the body's start.
fn error_message(resp: Response) -> String {
    let bytes = resp.bytes().unwrap_or_default();
    #[derive(Deserialize)]
    struct ApiError {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    match serde_json::from_slice::<ApiError>(&bytes) {
        Ok(e) if !e.message.is_empty() && !e.code.is_empty() => {
            format!("{}: {}", e.code, e.message)
        }
        Ok(e) if !e.message.is_empty() => e.message,
        _ => excerpt(&bytes),
    }
}

/// The BLAKE3 and count of the bytes read so far.
type Progress = Arc<Mutex<(blake3::Hasher, u64)>>;

fn lock_progress(p: &Progress) -> ([u8; 32], u64) {
    let g = p.lock().unwrap_or_else(|e| e.into_inner());
    (*g.0.finalize().as_bytes(), g.1)
}

/// Hashes what the upload reads, so the state records what was really sent.
struct HashingReader<R> {
    inner: R,
    progress: Progress,
}

impl<R> HashingReader<R> {
    fn new(inner: R) -> Self {
        HashingReader {
            inner,
            progress: Arc::new(Mutex::new((blake3::Hasher::new(), 0))),
        }
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut g = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        g.0.update(&buf[..n]);
        g.1 += n as u64;
        Ok(n)
    }
}

struct HashingWriter<'f> {
    inner: &'f mut File,
    hasher: blake3::Hasher,
    written: u64,
}

impl Write for HashingWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
