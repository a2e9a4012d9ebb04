//! The real test servers (scripts/servers.sh start), reached through the fault proxy.

mod common;

use common::Client;
use syncdesk_testkit::{Fault, FaultProxy, servers, unique};

/// `http://127.0.0.1:<port>/dav/` -> `/dav/`
fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/')
        .map_or("/".to_string(), |i| rest[i..].to_string())
}

#[test]
fn every_webdav_server_works_through_the_proxy() {
    let servers = servers();
    assert_eq!(servers.webdav.len(), 3);
    for dav in &servers.webdav {
        let proxy = FaultProxy::start(&dav.url);
        let auth = format!("Authorization: {}", dav.basic_auth());
        let base = path_of(&dav.url);
        let dir = format!("{base}{}/", unique("testkit"));
        let file = format!("{dir}file.txt");
        let mut client = Client::connect(proxy.addr());
        let host = format!("Host: {}", proxy.addr());
        let h = [host.as_str(), auth.as_str()];

        let resp = client.request("MKCOL", &dir, &h, b"").unwrap();
        assert_eq!(resp.status, 201, "{} MKCOL: {}", dav.name, resp.text());

        proxy.inject(Fault::status(503).retry_after("1").method("PUT"));
        let resp = client.request("PUT", &file, &h, b"hello").unwrap();
        assert_eq!(resp.status, 503);
        let resp = client.request("PUT", &file, &h, b"hello").unwrap();
        assert!(
            matches!(resp.status, 200 | 201 | 204),
            "{} PUT: {} {}",
            dav.name,
            resp.status,
            resp.text()
        );

        let depth = [host.as_str(), auth.as_str(), "Depth: 1"];
        let resp = client.request("PROPFIND", &dir, &depth, b"").unwrap();
        assert_eq!(resp.status, 207, "{} PROPFIND", dav.name);
        assert!(resp.text().contains("file.txt"), "{}", resp.text());

        let resp = client.request("GET", &file, &h, b"").unwrap();
        assert_eq!(resp.text(), "hello", "{} GET", dav.name);

        let resp = client.request("DELETE", &dir, &h, b"").unwrap();
        assert!(
            matches!(resp.status, 200 | 204),
            "{} DELETE: {}",
            dav.name,
            resp.status
        );
        assert_eq!(client.request("GET", &file, &h, b"").unwrap().status, 404);

        let by_method = proxy.requests_by_method();
        assert_eq!(by_method["PUT"], 2, "{}", dav.name);
        assert_eq!(proxy.forwarded(), proxy.requests() - 1);
    }
}

#[test]
fn s3_objects_go_through_the_proxy() {
    let s3 = &servers().s3;
    let proxy = FaultProxy::start(&s3.endpoint);
    let key = format!("/{}/{}/a.bin", s3.bucket, unique("testkit"));
    let host = format!("Host: {}", proxy.addr());
    // moto does not verify signatures, but an unsigned request is anonymous (403 on a GET):
    // a well-formed Authorization header with any signature will do.
    let auth = format!(
        "Authorization: AWS4-HMAC-SHA256 Credential={}/20260101/{}/s3/aws4_request, \
         SignedHeaders=host;x-amz-date, Signature=00",
        s3.access_key_id, s3.region
    );
    let h = [host.as_str(), auth.as_str(), "X-Amz-Date: 20260101T000000Z"];
    let body = common::pattern(10_000);
    let mut put = h.to_vec();
    put.push("Content-Type: application/octet-stream");
    let mut client = Client::connect(proxy.addr());
    let resp = client.request("PUT", &key, &put, &body).unwrap();
    assert_eq!(resp.status, 200, "PUT: {}", resp.text());

    let mut client = Client::connect(proxy.addr());
    let resp = client.request("GET", &key, &h, b"").unwrap();
    assert_eq!(resp.status, 200, "GET: {}", resp.text());
    assert!(resp.body == body, "GET returned other bytes");

    proxy.inject(Fault::truncate());
    let mut client = Client::connect(proxy.addr());
    let resp = client.request("GET", &key, &h, b"").unwrap();
    assert_eq!(resp.content_length(), Some(10_000));
    assert!(
        resp.body == body[..5_000],
        "a truncated GET returns the first half"
    );

    let mut client = Client::connect(proxy.addr());
    let resp = client.request("DELETE", &key, &h, b"").unwrap();
    assert_eq!(resp.status, 204);
    assert_eq!(proxy.requests(), 4);
}
