//! Every remote backend against real servers: the same conformance suite on a local
//! directory, S3 (moto) and each WebDAV server (rclone, Apache, nginx), then credentials,
//! unreachable servers and injected faults (through the fault proxy).
//!
//! Needs the test servers: `scripts/servers.sh start`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use syncdesk_engine::remote::{
    self, OpenOptions, ProbeStepName, Remote, RemoteError, RemoteSpec, RetryNotice,
};
use syncdesk_testkit::{Fault, FaultProxy, WebdavServer, servers, unique};

// --- opening remotes ----------------------------------------------------------------------------

/// An S3 remote on the test bucket under a fresh prefix, at `endpoint` (the server or a proxy).
fn s3_at(
    endpoint: &str,
    options: &str,
    on_retry: Option<remote::RetryObserver>,
) -> Arc<dyn Remote> {
    let s3 = &servers().s3;
    let url = format!(
        "s3://{}/{}?endpoint={endpoint}&region={}&access_key_id={}{options}",
        s3.bucket,
        unique("remotes"),
        s3.region,
        s3.access_key_id
    );
    let spec = RemoteSpec::parse(&url).unwrap();
    remote::open_spec(
        &spec,
        &OpenOptions {
            secret: Some(s3.secret.clone()),
            on_retry,
        },
    )
    .unwrap()
}

fn webdav_server(name: &str) -> &'static WebdavServer {
    servers().webdav_named(name)
}

/// A WebDAV remote in a fresh collection under `base` (a server's root URL, or a proxy's).
fn webdav_at(
    w: &WebdavServer,
    base: &str,
    password: &str,
    on_retry: Option<remote::RetryObserver>,
) -> Arc<dyn Remote> {
    let url = format!(
        "webdav+{}/{}?user={}",
        base.trim_end_matches('/'),
        unique("remotes"),
        w.user
    );
    remote::open_spec(
        &RemoteSpec::parse(&url).unwrap(),
        &OpenOptions {
            secret: Some(password.to_owned()),
            on_retry,
        },
    )
    .unwrap()
}

/// A WebDAV remote in a fresh collection of the server `name`.
fn webdav(name: &str, password: &str) -> Arc<dyn Remote> {
    let w = webdav_server(name);
    webdav_at(w, &w.url, password, None)
}

/// Records every retry notice.
fn recorder() -> (remote::RetryObserver, Arc<Mutex<Vec<RetryNotice>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (
        Arc::new(move |n: &RetryNotice| sink.lock().unwrap().push(n.clone())),
        seen,
    )
}

// --- the conformance suite ----------------------------------------------------------------------

/// Bytes that differ all along, so a range or a truncation shows.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 8) as u8)
        .collect()
}

fn keys(r: &dyn Remote, prefix: &str) -> Vec<String> {
    r.list(prefix).unwrap().into_iter().map(|o| o.key).collect()
}

fn conformance(r: &dyn Remote) {
    let what = r.describe();
    // A fresh remote: nothing anywhere, and listing what does not exist is no error.
    assert!(keys(r, "").is_empty(), "{what}");
    assert!(keys(r, "main/").is_empty(), "{what}");
    assert!(keys(r, "no/such/prefix/").is_empty(), "{what}");

    let pack = pattern(300 * 1024, 7);
    r.put("main/heads/dev1", b"head one").unwrap();
    r.put("main/packs/ab/ab01", &pack).unwrap();
    r.put("main/packs/cd/cd02", b"small").unwrap();
    r.put("main/snapshots/s1", b"").unwrap();
    r.put("other/x", b"x").unwrap();

    assert_eq!(r.get("main/heads/dev1").unwrap(), b"head one", "{what}");
    assert_eq!(r.get("main/packs/ab/ab01").unwrap(), pack, "{what}");
    assert_eq!(r.get("main/snapshots/s1").unwrap(), b"", "{what}");
    assert_eq!(
        r.get_range("main/packs/ab/ab01", 1000, 5000).unwrap(),
        &pack[1000..6000],
        "{what}"
    );
    assert_eq!(
        r.get_range("main/packs/ab/ab01", pack.len() as u64 - 10, 100)
            .unwrap(),
        &pack[pack.len() - 10..],
        "{what}: a range past the end stops at the end"
    );
    assert_eq!(r.get_range("main/packs/cd/cd02", 0, 0).unwrap(), b"");

    // Listing is recursive, sorted, with sizes, and a prefix may end mid-name.
    let listed = r.list("main/").unwrap();
    let names: Vec<_> = listed.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(
        names,
        [
            "main/heads/dev1",
            "main/packs/ab/ab01",
            "main/packs/cd/cd02",
            "main/snapshots/s1"
        ],
        "{what}"
    );
    assert_eq!(listed[1].size, pack.len() as u64, "{what}");
    assert_eq!(
        keys(r, "main/packs/"),
        ["main/packs/ab/ab01", "main/packs/cd/cd02"]
    );
    assert_eq!(keys(r, "main/packs/a"), ["main/packs/ab/ab01"], "{what}");
    assert_eq!(keys(r, "main/heads/dev"), ["main/heads/dev1"], "{what}");
    assert_eq!(keys(r, "").len(), 5, "{what}");
    assert!(keys(r, "main/packs/ef/").is_empty(), "{what}");

    // stat: present, absent, and a "directory" is not an object.
    let info = r
        .stat("main/packs/cd/cd02")
        .unwrap()
        .expect("stat of an object");
    assert_eq!((info.key.as_str(), info.size), ("main/packs/cd/cd02", 5));
    assert_eq!(r.stat("main/packs/cd/missing").unwrap(), None, "{what}");
    assert_eq!(r.stat("main/packs").unwrap(), None, "{what}");

    // A head is overwritten in place.
    r.put("main/heads/dev1", b"head two, longer").unwrap();
    assert_eq!(r.get("main/heads/dev1").unwrap(), b"head two, longer");
    r.put("main/heads/dev1", b"3").unwrap();
    assert_eq!(r.get("main/heads/dev1").unwrap(), b"3", "{what}");

    // Missing objects.
    let err = r.get("main/heads/nobody").unwrap_err();
    assert!(err.is_not_found(), "{what}: {err}");
    assert!(
        r.get_range("main/heads/nobody", 0, 10)
            .unwrap_err()
            .is_not_found()
    );
    r.delete("main/heads/nobody").unwrap();

    // Delete.
    r.delete("main/packs/cd/cd02").unwrap();
    assert_eq!(r.stat("main/packs/cd/cd02").unwrap(), None);
    assert!(r.get("main/packs/cd/cd02").unwrap_err().is_not_found());
    assert_eq!(keys(r, "main/packs/"), ["main/packs/ab/ab01"], "{what}");

    let report = remote::probe(r).unwrap();
    assert_eq!(report.steps.len(), 5, "{what}");
    assert_eq!(report.steps[0].step, ProbeStepName::List);
    assert!(
        keys(r, ".syncdesk-probe/").is_empty(),
        "{what}: the probe cleans up"
    );

    for k in keys(r, "") {
        r.delete(&k).unwrap();
    }
    assert!(keys(r, "").is_empty(), "{what}");
}

#[test]
fn local_conformance() {
    let dir = tempfile::tempdir().unwrap();
    let r = remote::open(dir.path().to_str().unwrap()).unwrap();
    conformance(r.as_ref());
}

#[test]
fn s3_conformance() {
    conformance(s3_at(&servers().s3.endpoint, "", None).as_ref());
}

#[test]
fn webdav_rclone_conformance() {
    conformance(webdav("rclone", &webdav_server("rclone").password).as_ref());
}

#[test]
fn webdav_apache_conformance() {
    conformance(webdav("apache", &webdav_server("apache").password).as_ref());
}

#[test]
fn webdav_nginx_conformance() {
    conformance(webdav("nginx", &webdav_server("nginx").password).as_ref());
}

// --- credentials and reachability ---------------------------------------------------------------

#[test]
fn a_wrong_webdav_password_is_an_auth_error() {
    for w in &servers().webdav {
        let (observer, seen) = recorder();
        let r = webdav_at(w, &w.url, "not-the-password", Some(observer));
        let err = r.list("").unwrap_err();
        assert!(
            matches!(
                err,
                RemoteError::Auth {
                    status: 401 | 403,
                    ..
                }
            ),
            "{}: {err:?}",
            w.name
        );
        assert!(
            err.to_string().contains("user name and the password"),
            "{err}"
        );
        let err = r.put("a/b", b"x").unwrap_err();
        assert!(
            matches!(err, RemoteError::Auth { .. }),
            "{}: {err:?}",
            w.name
        );
        let err = remote::probe(r.as_ref()).unwrap_err();
        assert!(matches!(err.cause(), RemoteError::Auth { .. }), "{err:?}");
        assert!(
            err.to_string()
                .contains("reach the server, check the credentials"),
            "{err}"
        );
        assert!(!format!("{err} {err:?}").contains("not-the-password"));
        assert!(seen.lock().unwrap().is_empty(), "a refusal is not retried");
    }
}

#[test]
fn an_unreachable_server_fails_quickly_after_retries() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let (observer, seen) = recorder();
    let r = s3_at(
        &format!("http://127.0.0.1:{port}"),
        "&timeout=1",
        Some(observer),
    );
    let start = Instant::now();
    let err = r.get("main/heads/x").unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{:?}",
        start.elapsed()
    );
    match &err {
        RemoteError::Unreachable { host, attempts, .. } => {
            assert_eq!(host, &format!("127.0.0.1:{port}"));
            assert_eq!(*attempts, 6);
        }
        other => panic!("expected Unreachable, got {other:?}"),
    }
    assert!(err.to_string().contains("cannot reach 127.0.0.1"), "{err}");
    let attempts: Vec<u32> = seen.lock().unwrap().iter().map(|n| n.attempt).collect();
    assert_eq!(attempts, [1, 2, 3, 4, 5]);
}

#[test]
fn bandwidth_limits_slow_transfers_down() {
    // 200 KiB/s each way; a full bucket lets one second's worth through at once.
    let r = s3_at(
        &servers().s3.endpoint,
        "&upload_limit=204800&download_limit=204800",
        None,
    );
    let data = pattern(600 * 1024, 3);
    let start = Instant::now();
    r.put("big", &data).unwrap();
    let up = start.elapsed();
    assert!(up >= Duration::from_millis(1500), "upload took {up:?}");
    let start = Instant::now();
    assert_eq!(r.get("big").unwrap(), data);
    let down = start.elapsed();
    assert!(
        down >= Duration::from_millis(1500),
        "download took {down:?}"
    );
    r.delete("big").unwrap();
}

// --- injected faults ----------------------------------------------------------------------------

/// The attempt numbers of the retries seen so far.
fn attempts(seen: &Mutex<Vec<RetryNotice>>) -> Vec<u32> {
    seen.lock().unwrap().iter().map(|n| n.attempt).collect()
}

#[test]
fn a_503_with_retry_after_is_retried_and_reported() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let (observer, seen) = recorder();
    let r = s3_at(&proxy.url(), "", Some(observer));
    proxy.inject(Fault::status(503).retry_after("1").times(2));
    let start = Instant::now();
    r.put("main/packs/ab/x", b"data").unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(2),
        "Retry-After: 1, twice"
    );
    assert_eq!(proxy.pending_faults(), 0);
    {
        let notices = seen.lock().unwrap();
        assert_eq!(notices.len(), 2);
        for (i, n) in notices.iter().enumerate() {
            assert_eq!(n.attempt, i as u32 + 1);
            assert_eq!(n.max_attempts, 6);
            assert_eq!(n.delay, Duration::from_secs(1));
            assert!(
                n.reason
                    .starts_with("HTTP 503 on PUT main/packs/ab/x, retrying in 1.0 s"),
                "{}",
                n.reason
            );
        }
        assert!(
            notices[1].reason.ends_with("(attempt 3 of 6)"),
            "{}",
            notices[1].reason
        );
    }
    assert_eq!(r.get("main/packs/ab/x").unwrap(), b"data");
    // Retry-After as an HTTP date in the past: retried at once.
    proxy.inject(Fault::status(429).retry_after("Sun, 06 Nov 1994 08:49:37 GMT"));
    assert_eq!(r.get("main/packs/ab/x").unwrap(), b"data");
    assert_eq!(seen.lock().unwrap()[2].delay, Duration::ZERO);
    r.delete("main/packs/ab/x").unwrap();
}

#[test]
fn a_reset_connection_is_retried() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let (observer, seen) = recorder();
    let r = s3_at(&proxy.url(), "", Some(observer));
    r.put("k", b"value").unwrap();
    proxy.inject(Fault::reset().times(2));
    assert_eq!(r.get("k").unwrap(), b"value");
    assert_eq!(attempts(&seen), [1, 2]);
    let reason = seen.lock().unwrap()[0].reason.clone();
    assert!(
        reason.contains("lost") && reason.contains("on GET k"),
        "{reason}"
    );
    proxy.inject(Fault::reset().method("PUT"));
    r.put("k", b"again").unwrap();
    assert_eq!(r.get("k").unwrap(), b"again");
    r.delete("k").unwrap();
}

#[test]
fn a_stalled_request_times_out_and_is_retried() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let (observer, seen) = recorder();
    let r = s3_at(&proxy.url(), "&timeout=1", Some(observer));
    r.put("k", b"value").unwrap();
    proxy.inject(Fault::stall(10));
    let start = Instant::now();
    assert_eq!(r.get("k").unwrap(), b"value");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(attempts(&seen), [1]);
    let reason = seen.lock().unwrap()[0].reason.clone();
    assert!(reason.contains("no response"), "{reason}");
    r.delete("k").unwrap();
}

#[test]
fn a_truncated_body_is_retried_and_never_returned() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let (observer, seen) = recorder();
    let r = s3_at(&proxy.url(), "", Some(observer));
    let data = pattern(200 * 1024, 9);
    r.put("pack", &data).unwrap();

    proxy.inject(Fault::truncate().times(2));
    assert_eq!(r.get("pack").unwrap(), data);
    assert_eq!(attempts(&seen), [1, 2]);
    assert!(seen.lock().unwrap()[0].reason.contains("truncated"));

    proxy.inject(Fault::truncate().method("GET").forever());
    let err = r.get("pack").unwrap_err();
    match &err {
        RemoteError::Truncated {
            expected,
            got,
            attempts,
            ..
        } => {
            assert_eq!(*expected, data.len() as u64);
            assert!(got < expected);
            assert_eq!(*attempts, 6);
        }
        other => panic!("expected Truncated, got {other:?}"),
    }
    assert!(err.to_string().contains("cut short"), "{err}");
    assert!(r.get_range("pack", 10, 1000).is_err());
    proxy.clear();
    r.delete("pack").unwrap();
}

#[test]
fn failures_past_the_last_attempt_give_a_clear_error() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let (observer, seen) = recorder();
    let r = s3_at(&proxy.url(), "", Some(observer));
    r.put("k", b"v").unwrap();

    // Five failures in a row: the sixth and last attempt gets through.
    proxy.inject(Fault::status(500).times(5));
    assert_eq!(r.get("k").unwrap(), b"v");
    assert_eq!(attempts(&seen), [1, 2, 3, 4, 5]);

    seen.lock().unwrap().clear();
    let before = proxy.requests();
    proxy.inject(Fault::status(500).forever());
    let err = r.get("k").unwrap_err();
    assert_eq!(proxy.requests() - before, 6);
    assert_eq!(attempts(&seen), [1, 2, 3, 4, 5]);
    assert!(
        matches!(
            err,
            RemoteError::Http {
                status: 500,
                attempts: 6,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("GET k failed with HTTP 500 after 6 attempts"),
        "{err}"
    );
    proxy.clear();
    r.delete("k").unwrap();
}

#[test]
fn a_client_error_is_not_retried() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let (observer, seen) = recorder();
    let r = s3_at(&proxy.url(), "", Some(observer));
    proxy.inject(Fault::status(400));
    let err = r.put("k", b"v").unwrap_err();
    assert!(
        matches!(
            err,
            RemoteError::Http {
                status: 400,
                attempts: 1,
                ..
            }
        ),
        "{err:?}"
    );
    proxy.inject(Fault::status(403));
    let err = r.get("k").unwrap_err();
    assert!(
        matches!(err, RemoteError::Auth { status: 403, .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("access key id and the secret"),
        "{err}"
    );
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn the_probe_catches_a_server_that_loses_writes() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let r = s3_at(&proxy.url(), "", None);
    proxy.inject(Fault::swallow_put());
    let err = remote::probe(r.as_ref()).unwrap_err();
    assert!(
        err.to_string().contains("read the test object back"),
        "{err}"
    );
    assert!(err.to_string().contains("does not have it"), "{err}");
}

#[test]
fn webdav_requests_are_retried_too() {
    let w = webdav_server("nginx");
    let proxy = FaultProxy::start(&w.url);
    let (observer, seen) = recorder();
    let r = webdav_at(w, &proxy.proxied(&w.url), &w.password, Some(observer));
    // Every kind of request a put makes (PROPFIND, MKCOL, PUT) fails once.
    proxy.inject(Fault::status(503).method("PROPFIND"));
    proxy.inject(Fault::status(502).method("MKCOL"));
    proxy.inject(Fault::reset().method("PUT"));
    r.put("a/b/c", b"nested").unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
    proxy.inject(Fault::truncate().method("GET"));
    assert_eq!(r.get("a/b/c").unwrap(), b"nested");
    proxy.inject(Fault::status(503).method("PROPFIND").times(2));
    assert_eq!(keys(r.as_ref(), "a/"), ["a/b/c"]);
    assert_eq!(seen.lock().unwrap().len(), 6);
    r.delete("a/b/c").unwrap();
}

// --- TLS ----------------------------------------------------------------------------------------

/// An HTTPS server (`openssl s_server -www`: it answers any GET with a status page) whose
/// certificate comes from a private authority.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    ca: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let out = std::process::Command::new("openssl")
                .args(args)
                .current_dir(dir.path())
                .output()
                .expect("the TLS tests need the openssl command");
            assert!(out.status.success(), "openssl {args:?}: {out:?}");
        };
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let mut args = vec![
            "req",
            "-x509",
            "-days",
            "2",
            "-subj",
            "/CN=Syncdesk test CA",
        ];
        args.extend(ec);
        args.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign",
        ]);
        openssl(&args);
        let mut args = vec!["req", "-new", "-subj", "/CN=127.0.0.1"];
        args.extend(ec);
        args.extend(["-keyout", "leaf.key", "-out", "leaf.csr"]);
        openssl(&args);
        std::fs::write(
            dir.path().join("ext"),
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            "leaf.pem",
            "-extfile",
            "ext",
        ]);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = std::process::Command::new("openssl")
            .args([
                "s_server", "-quiet", "-www", "-cert", "leaf.pem", "-key", "leaf.key",
            ])
            .arg("-accept")
            .arg(format!("127.0.0.1:{port}"))
            .current_dir(dir.path())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "openssl s_server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsServer {
            child,
            port,
            ca: dir.path().join("ca.pem"),
            _dir: dir,
        }
    }

    fn remote(&self, options: &str, on_retry: Option<remote::RetryObserver>) -> Arc<dyn Remote> {
        let url = format!(
            "s3://b?endpoint=https://127.0.0.1:{}&access_key_id=k&timeout=5{options}",
            self.port
        );
        remote::open_spec(
            &RemoteSpec::parse(&url).unwrap(),
            &OpenOptions {
                secret: Some("s".into()),
                on_retry,
            },
        )
        .unwrap()
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_private_certificate_authority_is_trusted_only_when_configured() {
    let server = TlsServer::start();

    let (observer, seen) = recorder();
    let err = server.remote("", Some(observer)).get("x").unwrap_err();
    assert!(matches!(err, RemoteError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("(ca_cert)"), "{err}");
    assert!(
        seen.lock().unwrap().is_empty(),
        "a certificate problem is not retried"
    );

    // s_server's status page has no Content-Length, which S3 reads insist on: getting that
    // far proves the TLS handshake succeeded.
    let past_tls = |r: Result<Vec<u8>, RemoteError>| match r {
        Err(RemoteError::Backend { message, .. }) => message.contains("content length"),
        _ => false,
    };
    let with_ca = format!("&ca_cert={}", server.ca.display());
    let r = server.remote(&with_ca, None).get("x");
    assert!(past_tls(r), "with the CA certificate");
    let r = server.remote("&insecure=true", None).get("x");
    assert!(past_tls(r), "without certificate checks");
}
