//! The fault proxy against a small hyper upstream, observed with a raw client.

mod common;

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::time::{Duration, Instant};

use common::{Client, Upstream, fnv, pattern, request_bytes};
use syncdesk_testkit::{Fault, FaultKind, FaultProxy, Servers};

fn setup() -> (Upstream, FaultProxy) {
    let upstream = Upstream::start();
    let proxy = FaultProxy::start(&upstream.url());
    (upstream, proxy)
}

#[test]
fn pass_through_keeps_host_all_headers_and_the_body() {
    let (upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    let body = pattern(100_000);
    let resp = client
        .request(
            "PUT",
            "/some/key?x=1",
            &[
                "Host: bucket.s3.test:4566",
                "X-Amz-Date: 20260101T000000Z",
                "Authorization: AWS4-HMAC-SHA256 Credential=k/x, Signature=abc",
                "X-Custom-Header: Mixed Case Value",
            ],
            &body,
        )
        .unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(
        resp.text(),
        format!("len={} hash={}", body.len(), fnv(&body))
    );

    let seen = upstream.seen();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!((s.method.as_str(), s.path.as_str()), ("PUT", "/some/key"));
    assert_eq!(s.header("host"), Some("bucket.s3.test:4566"));
    assert_eq!(s.header("x-amz-date"), Some("20260101T000000Z"));
    assert_eq!(
        s.header("authorization"),
        Some("AWS4-HMAC-SHA256 Credential=k/x, Signature=abc")
    );
    assert_eq!(s.header("x-custom-header"), Some("Mixed Case Value"));
    assert_eq!(s.body_len, body.len() as u64);
    assert_eq!(proxy.requests(), 1);
    assert_eq!(proxy.forwarded(), 1);
}

#[test]
fn keep_alive_uses_one_upstream_connection_per_client_connection() {
    let (upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    for i in 0..5 {
        let resp = client.request("GET", &format!("/r{i}"), &[], b"").unwrap();
        assert_eq!(resp.status, 200);
        assert_eq!(resp.text(), format!("GET /r{i}"));
    }
    let resp = client.request("PUT", "/up", &[], b"hello").unwrap();
    assert_eq!(resp.status, 201);
    let resp = client.request("GET", "/bytes/1000", &[], b"").unwrap();
    assert_eq!(resp.body, pattern(1000));
    assert_eq!(upstream.connections(), 1);
    assert_eq!(proxy.requests(), 7);

    // A second client connection gets its own upstream connection.
    let mut other = Client::connect(proxy.addr());
    assert_eq!(other.request("GET", "/x", &[], b"").unwrap().status, 200);
    assert_eq!(upstream.connections(), 2);
}

#[test]
fn connection_close_is_honoured() {
    let (_upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    let resp = client
        .request("GET", "/bye", &["Connection: close"], b"")
        .unwrap();
    assert_eq!(resp.status, 200);
    assert!(
        client.at_eof().unwrap(),
        "the proxy should close after Connection: close"
    );
}

#[test]
fn chunked_bodies_pass_through_both_ways() {
    let (upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    // A chunked request body, with a chunk extension and a trailer.
    let raw = b"PUT /chunky HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n";
    client.send(raw).unwrap();
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.text(), format!("len=11 hash={}", fnv(b"hello world")));

    // A chunked response, on the same connection.
    let resp = client.request("GET", "/chunked/300000", &[], b"").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("transfer-encoding"), Some("chunked"));
    assert_eq!(resp.body, pattern(300_000));
    assert_eq!(upstream.connections(), 1);
}

#[test]
fn large_bodies_stream_both_ways() {
    const LEN: usize = 48 << 20;
    let (upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    let body = pattern(LEN);
    let resp = client.request("PUT", "/big", &[], &body).unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.text(), format!("len={LEN} hash={}", fnv(&body)));
    let resp = client
        .request("GET", &format!("/bytes/{LEN}"), &[], b"")
        .unwrap();
    assert_eq!(resp.content_length(), Some(LEN));
    assert!(resp.body == body, "downloaded body differs");
    assert_eq!(upstream.seen()[0].body_len, LEN as u64);
}

#[test]
fn expect_100_continue_is_relayed_from_the_upstream() {
    let (upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    client
        .send(b"PUT /wait HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        .unwrap();
    // The body is only sent once the upstream's 100 Continue came through the proxy.
    let (status, _) = client.read_head().unwrap();
    assert_eq!(status, 100);
    client.send(b"body").unwrap();
    let resp = client.read_response(false).unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(resp.text(), format!("len=4 hash={}", fnv(b"body")));
    assert_eq!(upstream.seen().len(), 1);
}

#[test]
fn status_fault_answers_with_retry_after_the_given_number_of_times() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::status(503).retry_after("2").times(2));
    let mut client = Client::connect(proxy.addr());
    for _ in 0..2 {
        // The request body is read and dropped; the connection stays usable.
        let resp = client.request("PUT", "/k", &[], b"data").unwrap();
        assert_eq!(resp.status, 503);
        assert_eq!(resp.header("retry-after"), Some("2"));
    }
    assert_eq!(proxy.pending_faults(), 0);
    let resp = client.request("PUT", "/k", &[], b"data").unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(upstream.seen().len(), 1);
    assert_eq!(proxy.requests(), 3);
    assert_eq!(proxy.forwarded(), 1);
}

#[test]
fn status_fault_without_retry_after_and_on_head() {
    let (_upstream, proxy) = setup();
    proxy.inject(Fault::status(429).times(2));
    let mut client = Client::connect(proxy.addr());
    let resp = client.request("HEAD", "/h", &[], b"").unwrap();
    assert_eq!(resp.status, 429);
    assert!(resp.body.is_empty());
    let resp = client.request("GET", "/g", &[], b"").unwrap();
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), None);
}

#[test]
fn reset_fault_resets_the_connection() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::reset());
    let mut client = Client::connect(proxy.addr());
    client
        .send(&request_bytes("GET", "/never", &[], b""))
        .unwrap();
    let mut buf = [0u8; 16];
    let err = client.stream.read(&mut buf).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
    assert!(upstream.seen().is_empty());

    // The next connection is served normally.
    let mut client = Client::connect(proxy.addr());
    assert_eq!(client.request("GET", "/ok", &[], b"").unwrap().status, 200);
    assert_eq!(proxy.requests(), 2);
}

#[test]
fn reset_fault_on_a_put_with_a_body() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::reset().method("PUT"));
    let mut client = Client::connect(proxy.addr());
    // Not a PUT: served, on the connection the PUT then comes on.
    assert_eq!(client.request("GET", "/a", &[], b"").unwrap().status, 200);
    let err = client
        .request("PUT", "/k", &[], &pattern(200_000))
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
        ),
        "{err}"
    );
    let mut client = Client::connect(proxy.addr());
    assert_eq!(client.request("PUT", "/k", &[], b"v").unwrap().status, 201);
    let methods: Vec<String> = upstream.seen().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["GET", "PUT"]);
}

#[test]
fn stall_fault_sends_nothing_then_closes() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::stall(1));
    let mut client = Client::connect(proxy.addr());
    let start = Instant::now();
    client
        .send(&request_bytes("GET", "/slow", &[], b""))
        .unwrap();
    // A client with a short timeout gives up: nothing arrives.
    client
        .stream
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut buf = [0u8; 16];
    let err = client.stream.read(&mut buf).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
        ),
        "{err}"
    );
    // Waiting on: still nothing, and the connection is closed once the stall is over.
    client
        .stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(client.stream.read(&mut buf).unwrap(), 0);
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert!(
        upstream.seen().is_empty(),
        "a stalled request is not forwarded"
    );
    assert_eq!(proxy.requests(), 1);
}

#[test]
fn truncate_fault_sends_half_the_body_under_the_full_length() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::truncate());
    let mut client = Client::connect(proxy.addr());
    let resp = client.request("GET", "/bytes/10000", &[], b"").unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.content_length(), Some(10_000));
    assert_eq!(resp.body, pattern(5_000));
    assert!(client.at_eof().unwrap());
    assert_eq!(upstream.seen().len(), 1, "a truncated request is forwarded");

    // A chunked response gets the length of its whole body, and half of it.
    proxy.inject(Fault::truncate());
    let mut client = Client::connect(proxy.addr());
    let resp = client.request("GET", "/chunked/3001", &[], b"").unwrap();
    assert_eq!(resp.header("transfer-encoding"), None);
    assert_eq!(resp.content_length(), Some(3001));
    assert_eq!(resp.body, pattern(1500));
    assert!(client.at_eof().unwrap());
}

#[test]
fn swallow_put_answers_without_forwarding() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::swallow_put());
    let mut client = Client::connect(proxy.addr());
    // Not a PUT: not swallowed, and the fault stays queued.
    assert_eq!(
        client.request("GET", "/before", &[], b"").unwrap().status,
        200
    );
    assert_eq!(proxy.pending_faults(), 1);
    let resp = client.request("PUT", "/lost", &[], b"important").unwrap();
    assert_eq!(resp.status, 201);
    assert_eq!(
        client.request("GET", "/after", &[], b"").unwrap().status,
        200
    );
    let paths: Vec<String> = upstream.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, ["/before", "/after"]);
    assert_eq!(proxy.forwarded(), 2);
    assert_eq!(proxy.requests(), 3);
}

#[test]
fn swallow_put_sends_100_continue_when_asked() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::swallow_put());
    let mut client = Client::connect(proxy.addr());
    client
        .send(b"PUT /lost HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        .unwrap();
    assert_eq!(client.read_head().unwrap().0, 100);
    client.send(b"abc").unwrap();
    assert_eq!(client.read_response(false).unwrap().status, 201);
    assert!(upstream.seen().is_empty());
}

#[test]
fn method_filter_picks_the_requests() {
    let (upstream, proxy) = setup();
    proxy.inject(Fault::status(500).method("PUT"));
    let mut client = Client::connect(proxy.addr());
    assert_eq!(client.request("GET", "/a", &[], b"").unwrap().status, 200);
    assert_eq!(
        client.request("DELETE", "/a", &[], b"").unwrap().status,
        200
    );
    assert_eq!(client.request("PUT", "/a", &[], b"x").unwrap().status, 500);
    assert_eq!(client.request("PUT", "/a", &[], b"x").unwrap().status, 201);
    let methods: Vec<String> = upstream.seen().into_iter().map(|s| s.method).collect();
    assert_eq!(methods, ["GET", "DELETE", "PUT"]);
}

#[test]
fn faults_apply_in_order_and_clear_drops_them() {
    let (_upstream, proxy) = setup();
    proxy.inject(Fault::status(503).times(2));
    proxy.inject(Fault::status(404));
    proxy.inject(Fault::new(FaultKind::Status {
        code: 507,
        retry_after: None,
    }));
    let mut client = Client::connect(proxy.addr());
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(client.request("GET", "/", &[], b"").unwrap().status);
    }
    assert_eq!(statuses, [503, 503, 404]);
    assert_eq!(proxy.pending_faults(), 1);
    proxy.clear();
    assert_eq!(proxy.pending_faults(), 0);
    assert_eq!(client.request("GET", "/", &[], b"").unwrap().status, 200);

    proxy.inject(Fault::status(502).forever());
    for _ in 0..4 {
        assert_eq!(client.request("GET", "/", &[], b"").unwrap().status, 502);
    }
    assert_eq!(proxy.pending_faults(), 1);
    proxy.inject(Fault::status(500).times(0));
    assert_eq!(
        proxy.pending_faults(),
        1,
        "a fault for 0 requests is not queued"
    );
}

#[test]
fn counters_count_every_request_by_method() {
    let (_upstream, proxy) = setup();
    proxy.inject(Fault::status(503).method("DELETE"));
    let mut client = Client::connect(proxy.addr());
    for (method, n) in [("GET", 3), ("PUT", 2), ("DELETE", 2), ("PROPFIND", 1)] {
        for _ in 0..n {
            client.request(method, "/c", &[], b"").unwrap();
        }
    }
    let want: BTreeMap<String, u64> = [("DELETE", 2), ("GET", 3), ("PROPFIND", 1), ("PUT", 2)]
        .into_iter()
        .map(|(m, n)| (m.to_string(), n))
        .collect();
    assert_eq!(proxy.requests_by_method(), want);
    assert_eq!(proxy.requests(), 8);
    assert_eq!(proxy.forwarded(), 7);
    let counts = proxy.counts();
    assert_eq!(counts.total, 8);
    let json: serde_json::Value = serde_json::from_str(&counts.to_json()).unwrap();
    assert_eq!(json["by_method"]["GET"], 3);

    proxy.reset_counts();
    assert_eq!(proxy.requests(), 0);
    assert!(proxy.requests_by_method().is_empty());
}

#[test]
fn many_concurrent_connections() {
    let (upstream, proxy) = setup();
    let addr = proxy.addr();
    let threads: Vec<_> = (0..32)
        .map(|t| {
            std::thread::spawn(move || {
                let mut client = Client::connect(addr);
                for i in 0..10 {
                    let body = format!("thread {t} request {i}");
                    let resp = client.request("PUT", "/p", &[], body.as_bytes()).unwrap();
                    assert_eq!(resp.status, 201);
                    assert_eq!(
                        resp.text(),
                        format!("len={} hash={}", body.len(), fnv(body.as_bytes()))
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(proxy.requests(), 320);
    assert_eq!(upstream.seen().len(), 320);
    assert_eq!(upstream.connections(), 32);
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let (_upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    let mut batch = Vec::new();
    for i in 0..3 {
        batch.extend(request_bytes("GET", &format!("/p{i}"), &[], b""));
    }
    client.send(&batch).unwrap();
    for i in 0..3 {
        assert_eq!(
            client.read_response(false).unwrap().text(),
            format!("GET /p{i}")
        );
    }
}

#[test]
fn an_unreachable_upstream_gives_502() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let proxy = FaultProxy::start(&format!("http://127.0.0.1:{port}"));
    let mut client = Client::connect(proxy.addr());
    let resp = client.request("GET", "/", &[], b"").unwrap();
    assert_eq!(resp.status, 502);
    assert!(resp.text().contains("cannot connect"), "{}", resp.text());
}

#[test]
fn a_malformed_request_gets_400() {
    let (upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    client.send(b"NOT HTTP AT ALL\r\n\r\n").unwrap();
    assert_eq!(client.read_response(false).unwrap().status, 400);
    assert!(upstream.seen().is_empty());
}

#[test]
fn servers_file_is_read_and_checked() {
    let upstream = Upstream::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("servers.json");
    let url = upstream.url();
    let doc = serde_json::json!({
        "version": 1,
        "s3": {"endpoint": url, "region": "us-east-1", "bucket": "b",
               "access_key_id": "k", "secret": "s", "pid": 1},
        "webdav": [{"name": "fake", "url": format!("{url}/dav/"), "user": "u", "password": "p"}],
    });
    std::fs::write(&path, doc.to_string()).unwrap();
    let servers = Servers::load(&path).unwrap();
    assert_eq!(servers.s3.bucket, "b");
    assert_eq!(servers.webdav_named("fake").user, "u");
    let seen = upstream.seen();
    assert_eq!(seen[0].method, "HEAD");
    assert_eq!(seen[1].method, "PROPFIND");
    assert_eq!(seen[1].path, "/dav/");
    assert_eq!(seen[1].header("authorization"), Some("Basic dTpw"));

    // A server that does not answer is reported by name.
    drop(upstream);
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead_url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let doc = doc.to_string().replace(&url, &dead_url);
    std::fs::write(&path, doc).unwrap();
    let err = Servers::load(&path).unwrap_err();
    assert!(err.contains("S3 server at"), "{err}");

    let err = Servers::load(&dir.path().join("missing.json")).unwrap_err();
    assert!(err.contains("cannot read"), "{err}");
}

#[test]
fn the_proxy_can_be_dropped_with_connections_open() {
    let (_upstream, proxy) = setup();
    let mut client = Client::connect(proxy.addr());
    assert_eq!(client.request("GET", "/", &[], b"").unwrap().status, 200);
    drop(proxy);
    // The runtime is gone, and with it the connection.
    let mut buf = [0u8; 1];
    let _ = client
        .stream
        .write_all(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert!(matches!(client.stream.read(&mut buf), Ok(0) | Err(_)));
}
