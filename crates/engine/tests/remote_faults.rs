//! Syncs through a fault-injecting proxy in front of the S3 test server: retried failures end
//! well and are reported as `syncRetry`; a server that loses an upload or truncates a download
//! is caught, reported, and never corrupts anything.

mod common;

use std::sync::{Arc, Mutex};

use common::{Device, World};
use syncdesk_engine::model::{Event, JobStatus, PerformSyncRequest};
use syncdesk_testkit::backend::TestRemote;
use syncdesk_testkit::{Fault, FaultProxy, servers, unique};

/// A world whose devices reach the S3 test server through `proxy`.
fn world_behind(proxy: &FaultProxy) -> World {
    let s3 = &servers().s3;
    World::with_remote(TestRemote {
        url: format!(
            "s3://{}/{}?endpoint={}&region={}&access_key_id={}&timeout=2",
            s3.bucket,
            unique("faults"),
            proxy.url(),
            s3.region,
            s3.access_key_id
        ),
        secret: Some(s3.secret.clone()),
    })
}

/// The `syncRetry` messages the device's engine publishes.
fn retries(
    d: &Device,
) -> (
    Arc<Mutex<Vec<String>>>,
    syncdesk_engine::events::Subscription,
) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    let sub = d.engine.events().subscribe(move |e| {
        if let Event::SyncRetry(ev) = e {
            sink.lock().unwrap().push(ev.msg.clone());
        }
    });
    (seen, sub)
}

#[test]
fn server_errors_and_resets_are_retried_and_reported() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let w = world_behind(&proxy);
    let a = w.device("a");
    a.write("notes.txt", b"first version");
    let (seen, _sub) = retries(&a);
    proxy.inject(Fault::status(503).retry_after("1").method("PUT").times(2));
    proxy.inject(Fault::status(500).method("GET").times(1));
    let job = a.sync();
    assert!(job.stats.retries >= 3, "{:?}", job.stats);
    let msgs = seen.lock().unwrap().clone();
    assert!(msgs.len() >= 3, "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("503")), "{msgs:?}");
    assert_eq!(proxy.pending_faults(), 0, "every fault was hit");

    let b = w.device("b");
    b.sync();
    assert_eq!(b.read("notes.txt").unwrap(), b"first version");
}

#[test]
fn a_lost_upload_fails_the_sync_clearly_and_the_next_sync_repairs_it() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let w = world_behind(&proxy);
    let a = w.device("a");
    a.write("report.txt", b"numbers that matter");
    // The first PUT is the repository's config; the pack comes next.
    a.sync();
    a.write("report.txt", b"numbers that matter, revised");
    proxy.inject(Fault::swallow_put().times(1));
    let job = a
        .sync_with(PerformSyncRequest::default())
        .expect("the job runs");
    assert_eq!(job.status, JobStatus::Failed);
    let msg = job.error_message.unwrap_or_default();
    assert!(msg.contains("does not hold it"), "{msg}");
    assert_eq!(
        a.read("report.txt").unwrap(),
        b"numbers that matter, revised"
    );

    a.sync();
    let b = w.device("b");
    b.sync();
    assert_eq!(
        b.read("report.txt").unwrap(),
        b"numbers that matter, revised"
    );
    let report = a.engine.check("docs").unwrap();
    assert!(report.ok(), "{:?}", report.errors);
}

#[test]
fn a_truncated_download_is_retried_and_never_written() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let w = world_behind(&proxy);
    let a = w.device("a");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    a.write("big.bin", &content);
    a.sync();
    let b = w.device("b");
    proxy.inject(Fault::truncate().method("GET").times(2));
    let job = b.sync();
    assert!(job.stats.retries >= 2, "{:?}", job.stats);
    assert_eq!(b.read("big.bin").unwrap(), content);
}

#[test]
fn a_server_that_keeps_failing_ends_the_sync_with_a_clear_error() {
    let proxy = FaultProxy::start(&servers().s3.endpoint);
    let w = world_behind(&proxy);
    let a = w.device("a");
    a.write("x.txt", b"x");
    proxy.inject(Fault::status(503).forever());
    let job = a
        .sync_with(PerformSyncRequest::default())
        .expect("the job runs");
    assert_eq!(job.status, JobStatus::Failed);
    let msg = job.error_message.unwrap_or_default();
    assert!(msg.contains("503"), "{msg}");
    proxy.clear();
    a.sync();
}
