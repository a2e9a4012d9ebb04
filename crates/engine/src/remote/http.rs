//! The HTTP client under the S3 and WebDAV remotes, plugged into OpenDAL as its transport, so
//! that every request it makes (data, listings, MKCOL, …) gets the same treatment:
//!
//! - a timeout: a request fails when no bytes move for `timeoutSecs`;
//! - retries with backoff of timeouts, connection failures, resets, truncated bodies, 5xx,
//!   408, 423 and 429, honouring `Retry-After`; OpenDAL's own retry layer is not used, so
//!   this is the one place requests are repeated;
//! - at most `concurrency` requests in flight;
//! - upload and download bandwidth limits;
//! - a private certificate authority, or no certificate checks when asked.
//!
//! Response bodies are read completely before OpenDAL sees them (objects are at most a few
//! tens of MiB), which is what lets a truncated body be retried like any other failure.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_ENCODING, CONTENT_LENGTH, RETRY_AFTER};
use http::{Method, Request, Response, StatusCode};
use opendal::{Buffer, HttpBody, HttpTransport};
use percent_encoding::percent_decode_str;
use tokio::sync::Semaphore;

use super::RemoteError;
use super::failure::{Failure, Label, Trouble, classify, excerpt, opendal_handles};
use super::http_setup::HttpSetup;
use super::retry::{
    RetryNotice, RetryObserver, RetryPolicy, human, parse_retry_after, unit_random,
};
use super::throttle::{SLICE, TokenBucket};

/// What the client is set up with; one per opened remote.
pub(crate) struct ClientConfig {
    pub timeout: Duration,
    pub concurrency: u32,
    pub upload_limit: Option<u64>,
    pub download_limit: Option<u64>,
    pub ca_cert: Option<String>,
    pub accept_invalid_certs: bool,
    /// The percent-decoded URL path of the remote's root (`/bucket/prefix/`), so messages name
    /// keys the way the user sees them.
    pub root_path: String,
    /// What to check when the server refuses the credentials.
    pub credentials: &'static str,
    pub policy: RetryPolicy,
    pub on_retry: Option<RetryObserver>,
}

/// The transport handed to OpenDAL. Cheap to clone; clones share limits.
#[derive(Clone)]
pub(crate) struct Fetcher {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    slots: Semaphore,
    up: Option<TokenBucket>,
    down: Option<TokenBucket>,
    timeout: Duration,
    root_path: String,
    credentials: &'static str,
    policy: RetryPolicy,
    on_retry: Option<RetryObserver>,
}

impl Fetcher {
    pub fn new(config: ClientConfig) -> Result<Fetcher, RemoteError> {
        let invalid = |reason: String| RemoteError::Invalid {
            remote: config.root_path.clone(),
            reason,
        };
        // Retries happen in one place, `fetch` below.
        let client = HttpSetup {
            timeout: config.timeout,
            ca_cert: config.ca_cert.as_deref(),
            accept_invalid_certs: config.accept_invalid_certs,
        }
        .build(|b| b.pool_idle_timeout(Duration::from_secs(30)).build())
        .map_err(invalid)?;
        Ok(Fetcher {
            inner: Arc::new(Inner {
                client,
                slots: Semaphore::new(config.concurrency.max(1) as usize),
                up: config.upload_limit.map(TokenBucket::new),
                down: config.download_limit.map(TokenBucket::new),
                timeout: config.timeout,
                root_path: config.root_path,
                credentials: config.credentials,
                policy: config.policy,
                on_retry: config.on_retry,
            }),
        })
    }
}

impl Inner {
    fn label(&self, method: &Method, uri: &http::Uri) -> Label {
        let path = percent_decode_str(uri.path()).decode_utf8_lossy();
        let root = self.root_path.trim_end_matches('/');
        let rel = if root.starts_with(path.trim_end_matches('/')) {
            // The root itself, or above it (an S3 listing names the bucket, then the prefix
            // in its query).
            String::new()
        } else {
            path.strip_prefix(&format!("{root}/"))
                .unwrap_or(&path)
                .trim_start_matches('/')
                .to_owned()
        };
        let key = if rel.is_empty() {
            // An S3 listing names its prefix in the query.
            uri.query()
                .and_then(|q| q.split('&').find_map(|p| p.strip_prefix("prefix=")))
                .map(|p| format!("{}*", percent_decode_str(p).decode_utf8_lossy()))
                .unwrap_or_else(|| "/".into())
        } else {
            rel
        };
        Label {
            method: method.to_string(),
            host: uri.authority().map(|a| a.to_string()).unwrap_or_default(),
            key,
        }
    }
}

/// When bytes last moved for a request; a request is stalled when none moved for the timeout.
/// Time spent waiting on our own bandwidth limit does not count.
#[derive(Clone)]
struct Progress(Arc<Mutex<(Instant, bool)>>);

impl Progress {
    fn new() -> Progress {
        Progress(Arc::new(Mutex::new((Instant::now(), false))))
    }

    fn moved(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = (Instant::now(), false);
    }

    fn throttled(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1 = true;
    }

    /// When the request counts as stalled, if bytes stay still.
    fn deadline(&self, timeout: Duration) -> Option<Instant> {
        let (last, throttled) = *self.0.lock().unwrap_or_else(|e| e.into_inner());
        (!throttled).then_some(last + timeout)
    }
}

/// Runs `fut` until it finishes or `progress` shows no movement for `timeout`.
async fn unless_stalled<F: Future>(
    fut: F,
    progress: &Progress,
    timeout: Duration,
) -> Option<F::Output> {
    tokio::pin!(fut);
    loop {
        let wake = progress
            .deadline(timeout)
            .unwrap_or_else(|| Instant::now() + timeout);
        tokio::select! {
            out = &mut fut => return Some(out),
            _ = tokio::time::sleep_until(wake.into()) => {
                if progress.deadline(timeout).is_some_and(|d| d <= Instant::now()) {
                    return None;
                }
            }
        }
    }
}

impl HttpTransport for Fetcher {
    async fn fetch(&self, req: Request<Buffer>) -> opendal::Result<Response<HttpBody>> {
        let inner = &self.inner;
        let (parts, body) = req.into_parts();
        // One contiguous copy, shared (not copied) by every attempt.
        let body = body.to_bytes();
        let label = inner.label(&parts.method, &parts.uri);
        let max = inner.policy.max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let outcome = {
                let _slot = inner
                    .slots
                    .acquire()
                    .await
                    // Only a closed semaphore fails, and this one is never closed.
                    .map_err(|_| {
                        opendal::Error::new(
                            opendal::ErrorKind::Unexpected,
                            "the remote's request slots were closed",
                        )
                    })?;
                inner.attempt(&parts, &body).await
            };
            let trouble = match outcome {
                Ok(resp) => return Ok(resp),
                Err(t) => t,
            };
            if !trouble.retryable() || attempt >= max {
                let failure =
                    trouble.into_failure(&label, inner.timeout, inner.credentials, attempt);
                let kind = match &failure {
                    Failure::Status {
                        status: 401 | 403, ..
                    } => opendal::ErrorKind::PermissionDenied,
                    Failure::Status { status: 429, .. } => opendal::ErrorKind::RateLimited,
                    _ => opendal::ErrorKind::Unexpected,
                };
                return Err(opendal::Error::new(kind, failure.to_string()).set_source(failure));
            }
            let delay = inner
                .policy
                .delay(attempt, trouble.retry_after(), unit_random());
            let notice = RetryNotice {
                attempt,
                max_attempts: max,
                delay,
                reason: format!(
                    "{} on {} {}, retrying in {} (attempt {} of {max})",
                    trouble.describe(&label.host, inner.timeout),
                    label.method,
                    label.key,
                    human(delay),
                    attempt + 1,
                ),
            };
            tracing::warn!(target: "syncdesk::remote", "{}", notice.reason);
            if let Some(observe) = &inner.on_retry {
                observe(&notice);
            }
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

impl Inner {
    async fn attempt(
        self: &Arc<Self>,
        parts: &http::request::Parts,
        body: &Bytes,
    ) -> Result<Response<HttpBody>, Trouble> {
        let progress = Progress::new();
        let mut rb = self
            .client
            .request(parts.method.clone(), parts.uri.to_string())
            .headers(parts.headers.clone());
        if !body.is_empty() {
            if !parts.headers.contains_key(CONTENT_LENGTH) {
                // A streamed body would otherwise go out chunked, which S3 refuses.
                rb = rb.header(CONTENT_LENGTH, body.len());
            }
            rb = rb.body(reqwest::Body::wrap_stream(
                self.upload(body.clone(), progress.clone()),
            ));
        }
        let resp = match unless_stalled(rb.send(), &progress, self.timeout).await {
            None => return Err(Trouble::Stalled),
            Some(Err(e)) => return Err(classify(&e)),
            Some(Ok(resp)) => resp,
        };
        progress.moved();
        let mut status = resp.status();
        if parts.method.as_str() == "MKCOL"
            && status == StatusCode::FORBIDDEN
            && self.is_collection(parts).await
        {
            // Two clients creating the same collection at once: Apache's mod_dav_fs answers
            // the loser 403 ("File exists"). The collection is there, which is all MKCOL is
            // asked for; 405 is how OpenDAL hears "already exists".
            status = StatusCode::METHOD_NOT_ALLOWED;
        }
        if !opendal_handles(status) {
            let retry_after = resp
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, SystemTime::now()));
            // The body only explains the error; a failure to read it does not matter.
            let body = self
                .read_body(resp, &progress, None)
                .await
                .map(|b| excerpt(&b))
                .unwrap_or_default();
            return Err(Trouble::Status {
                status,
                retry_after,
                body,
            });
        }
        let expected = if parts.method == Method::HEAD
            || resp.headers().contains_key(CONTENT_ENCODING)
            || status == StatusCode::NO_CONTENT
            || status == StatusCode::NOT_MODIFIED
        {
            None
        } else {
            resp.content_length()
        };
        let mut head = Response::builder()
            .status(status)
            .version(resp.version())
            // OpenDAL's own transport records the request URI this way; keep the convention.
            .extension(parts.uri.clone());
        if let Some(headers) = head.headers_mut() {
            headers.extend(resp.headers().iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let data = self.read_body(resp, &progress, expected).await?;
        if let Some(expected) = expected
            && (data.len() as u64) < expected
        {
            return Err(Trouble::Truncated {
                expected,
                got: data.len() as u64,
            });
        }
        let size = (parts.method != Method::HEAD).then_some(data.len() as u64);
        let chunks: Vec<opendal::Result<Buffer>> = if data.is_empty() {
            Vec::new()
        } else {
            vec![Ok(Buffer::from(data))]
        };
        head.body(HttpBody::new(futures::stream::iter(chunks), size))
            .map_err(|e| Trouble::Broken(format!("cannot pass on the response: {e}")))
    }

    /// Whether `parts.uri` names an existing collection, asked with `PROPFIND` (depth 0).
    /// Any failure counts as "no": the caller then reports its own status.
    async fn is_collection(&self, parts: &http::request::Parts) -> bool {
        let Ok(propfind) = Method::from_bytes(b"PROPFIND") else {
            return false;
        };
        let resp = self
            .client
            .request(propfind, parts.uri.to_string())
            .headers(parts.headers.clone())
            .header("Depth", "0")
            .timeout(self.timeout)
            .send()
            .await;
        match resp {
            Ok(resp) if resp.status() == StatusCode::MULTI_STATUS => resp
                .text()
                .await
                .is_ok_and(|body| body.contains("collection")),
            _ => false,
        }
    }

    /// The request body in slices, each after the upload limit allows it.
    fn upload(
        self: &Arc<Self>,
        body: Bytes,
        progress: Progress,
    ) -> impl futures::Stream<Item = Result<Bytes, Infallible>> + Send + 'static {
        let inner = self.clone();
        futures::stream::unfold(0usize, move |offset| {
            let inner = inner.clone();
            let body = body.clone();
            let progress = progress.clone();
            async move {
                if offset >= body.len() {
                    return None;
                }
                let end = (offset + SLICE).min(body.len());
                if let Some(up) = &inner.up {
                    progress.throttled();
                    up.take(end - offset).await;
                }
                progress.moved();
                Some((Ok(body.slice(offset..end)), end))
            }
        })
    }

    /// The whole response body, within the timeout between chunks and the download limit.
    /// A connection that breaks before `expected` bytes arrived is a truncated body.
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        progress: &Progress,
        expected: Option<u64>,
    ) -> Result<Bytes, Trouble> {
        let mut data = BytesMut::with_capacity(
            resp.content_length().unwrap_or(0).min(64 * 1024 * 1024) as usize,
        );
        loop {
            match unless_stalled(resp.chunk(), progress, self.timeout).await {
                None => return Err(Trouble::Stalled),
                Some(Err(e)) => {
                    return Err(match (classify(&e), expected) {
                        (Trouble::Tls(why), _) => Trouble::Tls(why),
                        (_, Some(expected)) if (data.len() as u64) < expected => {
                            Trouble::Truncated {
                                expected,
                                got: data.len() as u64,
                            }
                        }
                        (Trouble::Connect(why), _) => Trouble::Reset(why),
                        (other, _) => other,
                    });
                }
                Some(Ok(None)) => return Ok(data.freeze()),
                Some(Ok(Some(chunk))) => {
                    progress.moved();
                    if let Some(down) = &self.down {
                        progress.throttled();
                        down.take(chunk.len()).await;
                        progress.moved();
                    }
                    data.extend_from_slice(&chunk);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner(root: &str) -> Arc<Inner> {
        Fetcher::new(ClientConfig {
            timeout: Duration::from_secs(5),
            concurrency: 2,
            upload_limit: None,
            download_limit: None,
            ca_cert: None,
            accept_invalid_certs: false,
            root_path: root.into(),
            credentials: "the user name and the password",
            policy: RetryPolicy::default(),
            on_retry: None,
        })
        .unwrap()
        .inner
    }

    #[test]
    fn labels_name_keys_relative_to_the_root() {
        let i = inner("/bucket/pre fix/");
        let uri: http::Uri = "http://h:9000/bucket/pre%20fix/main/heads/a"
            .parse()
            .unwrap();
        let l = i.label(&Method::PUT, &uri);
        assert_eq!(
            (l.method.as_str(), l.host.as_str(), l.key.as_str()),
            ("PUT", "h:9000", "main/heads/a")
        );
        let uri: http::Uri = "http://h:9000/bucket?list-type=2&prefix=pre%20fix%2Fmain%2F"
            .parse()
            .unwrap();
        assert_eq!(i.label(&Method::GET, &uri).key, "pre fix/main/*");
        let uri: http::Uri = "http://h:9000/bucket/pre%20fix/".parse().unwrap();
        assert_eq!(i.label(&Method::GET, &uri).key, "/");
    }

    #[test]
    fn a_missing_ca_file_is_reported() {
        let err = Fetcher::new(ClientConfig {
            ca_cert: Some("/nonexistent/ca.pem".into()),
            ..config_for_test()
        })
        .err()
        .unwrap();
        assert!(
            err.to_string()
                .contains("cannot read the CA certificate file /nonexistent/ca.pem")
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("ca.pem");
        std::fs::write(&bad, "not a certificate").unwrap();
        let err = Fetcher::new(ClientConfig {
            ca_cert: Some(bad.display().to_string()),
            ..config_for_test()
        })
        .err()
        .unwrap();
        assert!(err.to_string().contains("PEM certificate"), "{err}");
    }

    fn config_for_test() -> ClientConfig {
        ClientConfig {
            timeout: Duration::from_secs(5),
            concurrency: 2,
            upload_limit: None,
            download_limit: None,
            ca_cert: None,
            accept_invalid_certs: false,
            root_path: "/".into(),
            credentials: "the user name and the password",
            policy: RetryPolicy::default(),
            on_retry: None,
        }
    }
}
