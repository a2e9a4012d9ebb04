//! Test support for Syncdesk: the loopback test servers and a fault-injecting HTTP proxy.
//!
//! - [`servers()`]: the S3 (moto) and WebDAV (rclone, Apache, nginx) servers started by
//!   `scripts/servers.sh start`, read from the `servers.json` it writes.
//! - [`FaultProxy`]: an HTTP/1.1 reverse proxy in front of any of them that can answer an error
//!   status, reset or stall a connection, cut a response body short or swallow a PUT, and counts
//!   the requests it sees.
//! - [`aries::AriesServer`]: a contract server for the Aries sync API (seed 002), also run as
//!   the `aries-server` binary.
//! - [`flags::pairs`]: the command-line flags of the binaries.
//! - [`unique()`]: names that do not collide between tests, runs and processes.
//!
//! Everything here is synchronous and usable from ordinary `#[test]` functions.

pub mod aries;
pub mod backend;
pub mod flags;
mod http1;
mod proxy;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

pub use proxy::{Counts, Fault, FaultKind, FaultProxy};

/// The S3 server (moto): any credentials are accepted; these are the ones to use. moto verifies
/// no signature, but an unsigned request counts as anonymous (403 on reading an object), so
/// sign requests as usual. Use path-style addressing and give clients this configuration
/// explicitly rather than letting them read `AWS_*` variables from the environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Server {
    /// `http://127.0.0.1:<port>` (`<endpoint>/<bucket>/<key>`).
    pub endpoint: String,
    pub region: String,
    /// A bucket that exists: `syncdesk-test`.
    pub bucket: String,
    pub access_key_id: String,
    pub secret: String,
}

/// One WebDAV server, with basic auth.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebdavServer {
    /// `rclone`, `apache` or `nginx`.
    pub name: String,
    /// The root collection, ending in `/` (`http://127.0.0.1:<port>/` for rclone,
    /// `http://127.0.0.1:<port>/dav/` for Apache and nginx).
    pub url: String,
    pub user: String,
    pub password: String,
}

impl WebdavServer {
    /// The value of an `Authorization` header for this server: `Basic <base64 user:password>`.
    pub fn basic_auth(&self) -> String {
        format!(
            "Basic {}",
            base64(format!("{}:{}", self.user, self.password).as_bytes())
        )
    }
}

/// The running test servers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Servers {
    pub s3: S3Server,
    pub webdav: Vec<WebdavServer>,
}

/// The message every "servers are not there" panic starts with.
pub const NOT_RUNNING: &str =
    "test servers are not running: start them with scripts/servers.sh start";

impl Servers {
    /// The WebDAV server called `name` (`rclone`, `apache`, `nginx`).
    ///
    /// # Panics
    /// When there is none of that name.
    pub fn webdav_named(&self, name: &str) -> &WebdavServer {
        self.webdav
            .iter()
            .find(|w| w.name == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.webdav.iter().map(|w| w.name.as_str()).collect();
                panic!("no WebDAV test server named {name:?} (there are: {names:?})")
            })
    }

    /// Reads a `servers.json` and checks that every server in it answers (S3: the bucket
    /// exists; WebDAV: an authenticated PROPFIND of the root gets 207).
    pub fn load(path: &Path) -> Result<Servers, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let servers: Servers = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a valid servers file: {e}", path.display()))?;
        servers.check()?;
        Ok(servers)
    }

    /// Checks that every server answers as it should.
    pub fn check(&self) -> Result<(), String> {
        let s3 = &self.s3;
        // moto checks no signature, but takes an unsigned request for an anonymous one.
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={}/20260101/{}/s3/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=00",
            s3.access_key_id, s3.region
        );
        let headers = [
            ("Authorization", auth.as_str()),
            ("X-Amz-Date", "20260101T000000Z"),
        ];
        let status = http_status(&s3.endpoint, "HEAD", &format!("/{}", s3.bucket), &headers)
            .map_err(|e| format!("S3 server at {}: {e}", s3.endpoint))?;
        if status != 200 {
            return Err(format!(
                "S3 server at {} answers HTTP {status} for bucket {} (expected 200)",
                s3.endpoint, s3.bucket
            ));
        }
        for w in &self.webdav {
            let auth = w.basic_auth();
            let path = url_path(&w.url);
            let status = http_status(
                &w.url,
                "PROPFIND",
                path,
                &[("Authorization", &auth), ("Depth", "0")],
            )
            .map_err(|e| format!("WebDAV server {} at {}: {e}", w.name, w.url))?;
            if status != 207 {
                return Err(format!(
                    "WebDAV server {} at {} answers HTTP {status} to PROPFIND (expected 207)",
                    w.name, w.url
                ));
            }
        }
        Ok(())
    }
}

/// The running test servers, read once per process from `$SYNCDESK_TEST_SERVERS`, else from
/// `<target dir>/test-servers/servers.json` (`$CARGO_TARGET_DIR` or `<workspace>/target`), and
/// checked to answer.
///
/// # Panics
/// With "test servers are not running: start them with scripts/servers.sh start" and the
/// reason, when the file is missing or a server does not answer.
pub fn servers() -> &'static Servers {
    static SERVERS: OnceLock<Servers> = OnceLock::new();
    SERVERS.get_or_init(|| {
        let path = servers_file().unwrap_or_else(|e| panic!("{NOT_RUNNING} ({e})"));
        Servers::load(&path).unwrap_or_else(|e| panic!("{NOT_RUNNING} ({e})"))
    })
}

/// Where [`servers()`] looks for `servers.json`.
pub fn servers_file() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("SYNCDESK_TEST_SERVERS").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let root = workspace_root()?;
    let target = match std::env::var_os("CARGO_TARGET_DIR").filter(|p| !p.is_empty()) {
        Some(dir) => root.join(dir),
        None => root.join("target"),
    };
    Ok(target.join("test-servers").join("servers.json"))
}

/// The workspace root: the nearest directory holding `Cargo.lock`, from the running test's
/// `CARGO_MANIFEST_DIR` (or this crate's, as it was built).
fn workspace_root() -> Result<PathBuf, String> {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| {
            format!(
                "no Cargo.lock in {} or above it; set SYNCDESK_TEST_SERVERS to the servers.json",
                start.display()
            )
        })
}

/// A name unique per call and per process, made of `tag`, the process id, a counter and a random
/// part: `<tag>-<pid>-<n>-<8 hex digits>`. Safe in object keys and URL paths when `tag` is.
pub fn unique(tag: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(n);
    hasher.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    let random = hasher.finish() as u32;
    format!("{tag}-{}-{n}-{random:08x}", std::process::id())
}

/// The path of a URL (`/` when it has none).
fn url_path(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or("/", |i| &rest[i..])
}

/// Sends one request to the host of `url` and returns the response status.
fn http_status(url: &str, method: &str, path: &str, headers: &[(&str, &str)]) -> io::Result<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let addr = authority.to_socket_addrs()?.next().ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("no address for {authority}"),
        )
    })?;
    let timeout = Duration::from_secs(5);
    let mut stream = TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("Content-Length: 0\r\n\r\n");
    stream.write_all(request.as_bytes())?;
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = String::from_utf8_lossy(&head);
    line.strip_prefix("HTTP/1.")
        .and_then(|l| l.get(2..5))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "not an HTTP response: {:?}",
                    line.lines().next().unwrap_or("")
                ),
            )
        })
}

/// Standard base64 with padding (for a basic auth header).
fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(input.as_bytes()), want);
        }
    }

    #[test]
    fn unique_names_differ() {
        let a = unique("t");
        let b = unique("t");
        assert_ne!(a, b);
        assert!(a.starts_with(&format!("t-{}-", std::process::id())));
    }

    #[test]
    fn url_paths() {
        assert_eq!(url_path("http://h:1/dav/"), "/dav/");
        assert_eq!(url_path("http://h:1"), "/");
    }
}
