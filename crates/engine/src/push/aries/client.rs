//! The one request of a push: `GET {base}/aries/api/v1/sync` with the JSON batch as its body
//! (the seed's method, body and all), `Authorization: Bearer <token>`.
//!
//! Connection failures, timeouts, 408, 429 and 5xx are tried again with backoff a bounded
//! number of times (`Retry-After` honoured): a sync of the same definitions can be repeated
//! safely. The answer is then sorted into what the push reports: accepted, refused for some
//! servers (the seed's error codes), or a failure of the whole push.

use std::sync::LazyLock;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use serde::Deserialize;

use super::AriesError;
use crate::remote::{
    HttpSetup, RemoteSpec, RetryPolicy, Trouble, classify, excerpt, human, parse_retry_after,
    unit_random,
};

/// The route the seed defines, under the remote's base URL.
pub const SYNC_PATH: &str = "/aries/api/v1/sync";

/// The error codes of the seed: an answer with one of them is about servers of the batch.
pub const SEED_CODES: &[&str] = &[
    "InvalidParameter",
    "ImageNotFound",
    "InternalError",
    "SyncFailed",
];

/// Attempts in all, and the waits between them; a push is one small request, so it gives up
/// sooner than a repository transfer would.
const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    base: Duration::from_millis(500),
    cap: Duration::from_secs(8),
    max_retry_after: Duration::from_secs(60),
};

/// How much of an answer is read: the seed's answers are a few hundred bytes.
const MAX_ANSWER: usize = 256 * 1024;

static RUNTIME: LazyLock<Result<tokio::runtime::Runtime, String>> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .thread_name("syncdesk-aries")
        .build()
        .map_err(|e| e.to_string())
});

/// What the endpoint made of the batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// `200 {"success": true}`.
    Accepted,
    /// `200` with `success` not true: the quoted answer.
    NotSuccessful(String),
    /// One of the seed's error codes.
    Refused {
        status: u16,
        code: String,
        message: String,
        /// Server names, when the endpoint lists them (`servers`).
        servers: Option<Vec<String>>,
    },
}

/// The seed's error body, and the optional list of servers concerned.
#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    servers: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct SuccessBody {
    success: Option<bool>,
}

pub struct Client {
    http: reqwest::Client,
    runtime: tokio::runtime::Handle,
    /// The full URL of the sync route.
    url: String,
    /// `host:port`, for messages.
    host: String,
    timeout: Duration,
}

/// Why one attempt failed.
enum Again {
    /// A status worth asking again, with its answer.
    Status {
        status: u16,
        retry_after: Option<Duration>,
        body: Bytes,
    },
    /// No connection, no answer in time, or the connection broke.
    Transport(String),
}

impl Client {
    pub fn new(spec: &RemoteSpec) -> Result<Client, AriesError> {
        let base = spec
            .url
            .as_deref()
            .filter(|u| !u.is_empty())
            .ok_or(AriesError::NoUrl)?;
        let setup = |reason: String| AriesError::Setup {
            url: base.to_owned(),
            reason,
        };
        let parsed = url::Url::parse(base).map_err(|e| setup(format!("not a URL: {e}")))?;
        let host = match (parsed.host_str(), parsed.port_or_known_default()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err(setup("the URL has no host".into())),
        };
        let timeout = Duration::from_secs(spec.timeout_secs().into());
        // Retries happen in one place, `send` below.
        let http = HttpSetup::of(spec)
            .build(|b| b.read_timeout(timeout).build())
            .map_err(setup)?;
        if spec.accept_invalid_certs {
            tracing::warn!(
                "certificate checks are off for the Aries endpoint {base}: anyone between us and it can read the token and change the answers"
            );
        }
        let runtime = RUNTIME
            .as_ref()
            .map_err(|e| setup(format!("cannot start the network I/O thread: {e}")))?
            .handle()
            .clone();
        Ok(Client {
            http,
            runtime,
            url: format!("{}{SYNC_PATH}", base.trim_end_matches('/')),
            host,
            timeout,
        })
    }

    /// The full URL requests go to.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Sends the batch, trying again after transient failures (`on_retry` hears of each).
    pub fn send(
        &self,
        body: &Bytes,
        token: &str,
        on_retry: &dyn Fn(&str),
    ) -> Result<Answer, AriesError> {
        let max = POLICY.max_attempts;
        let mut attempt = 1;
        loop {
            let trouble = match self.attempt(body, token)? {
                Ok((status, answer)) => return self.sort(status, &answer, attempt),
                Err(t) => t,
            };
            let retry_after = match &trouble {
                Again::Status { retry_after, .. } => *retry_after,
                Again::Transport(_) => None,
            };
            if attempt >= max {
                return match trouble {
                    Again::Status { status, body, .. } => self.sort(status, &body, attempt),
                    Again::Transport(reason) => Err(AriesError::Unreachable {
                        host: self.host.clone(),
                        reason,
                        attempts: attempt,
                    }),
                };
            }
            let delay = POLICY.delay(attempt, retry_after, unit_random());
            let why = match &trouble {
                Again::Status { status, .. } => format!("HTTP {status}"),
                Again::Transport(reason) => reason.clone(),
            };
            on_retry(&format!(
                "{why} from the Aries endpoint {}, retrying in {} (attempt {} of {max})",
                self.host,
                human(delay),
                attempt + 1
            ));
            std::thread::sleep(delay);
            attempt += 1;
        }
    }

    /// One request. Outer error: give up now; inner: worth another attempt.
    fn attempt(
        &self,
        body: &Bytes,
        token: &str,
    ) -> Result<Result<(u16, Bytes), Again>, AriesError> {
        let request = self
            .http
            .get(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(body.clone());
        let (tx, rx) = mpsc::sync_channel(1);
        self.runtime.spawn(async move {
            let result = async {
                let mut resp = request.send().await?;
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, SystemTime::now()));
                let mut data = Vec::new();
                while let Some(chunk) = resp.chunk().await? {
                    let room = MAX_ANSWER.saturating_sub(data.len());
                    data.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if room <= chunk.len() {
                        break;
                    }
                }
                Ok::<_, reqwest::Error>((status, retry_after, Bytes::from(data)))
            }
            .await;
            // The caller only goes away with its thread; nothing to do then.
            let _ = tx.send(result);
        });
        let result = rx.recv().map_err(|_| AriesError::Setup {
            url: self.url.clone(),
            reason: "the network I/O task stopped before answering".into(),
        })?;
        match result {
            Ok((status, retry_after, body)) if retryable(status) => Ok(Err(Again::Status {
                status,
                retry_after,
                body,
            })),
            Ok((status, _, body)) => Ok(Ok((status, body))),
            Err(e) => match classify(&e) {
                Trouble::Tls(reason) => Err(AriesError::Tls {
                    host: self.host.clone(),
                    reason,
                }),
                Trouble::Broken(reason) => Err(AriesError::Setup {
                    url: self.url.clone(),
                    reason,
                }),
                t => Ok(Err(Again::Transport(t.describe(&self.host, self.timeout)))),
            },
        }
    }

    /// What a final answer means for the push.
    fn sort(&self, status: u16, body: &[u8], attempts: u32) -> Result<Answer, AriesError> {
        if (200..300).contains(&status) {
            return match serde_json::from_slice::<SuccessBody>(body) {
                Ok(SuccessBody {
                    success: Some(true),
                }) => Ok(Answer::Accepted),
                Ok(SuccessBody {
                    success: Some(false),
                }) => Ok(Answer::NotSuccessful(excerpt(body))),
                _ => Err(AriesError::UnexpectedAnswer {
                    status,
                    body: excerpt(body),
                }),
            };
        }
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok();
        if matches!(status, 401 | 403) {
            return Err(AriesError::Auth {
                status,
                message: parsed.map(|b| b.message).unwrap_or_else(|| excerpt(body)),
            });
        }
        match parsed {
            Some(b) if SEED_CODES.contains(&b.code.as_str()) => Ok(Answer::Refused {
                status,
                code: b.code,
                message: b.message,
                servers: b.servers,
            }),
            _ => Err(AriesError::Http {
                status,
                url: self.url.clone(),
                body: excerpt(body),
                attempts,
            }),
        }
    }
}

/// Statuses worth asking again: the endpoint is busy, restarting or rate limiting.
fn retryable(status: u16) -> bool {
    matches!(status, 408 | 429) || ((500..600).contains(&status) && !matches!(status, 501 | 505))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        let mut spec: RemoteSpec = serde_json::from_str(r#"{"kind":"aries"}"#).unwrap();
        spec.url = Some("http://127.0.0.1:9/base/".into());
        Client::new(&spec).unwrap()
    }

    #[test]
    fn the_route_is_under_the_base() {
        let c = client();
        assert_eq!(c.url(), "http://127.0.0.1:9/base/aries/api/v1/sync");
        assert_eq!(c.host, "127.0.0.1:9");
    }

    #[test]
    fn answers_are_sorted() {
        let c = client();
        assert_eq!(
            c.sort(200, br#"{"success":true}"#, 1).unwrap(),
            Answer::Accepted
        );
        assert!(matches!(
            c.sort(200, br#"{"success":false}"#, 1).unwrap(),
            Answer::NotSuccessful(_)
        ));
        assert!(matches!(
            c.sort(200, b"<html>", 1),
            Err(AriesError::UnexpectedAnswer { status: 200, .. })
        ));
        assert_eq!(
            c.sort(
                404,
                r#"{"code":"ImageNotFound","message":"镜像不存在: img-x"}"#.as_bytes(),
                1
            )
            .unwrap(),
            Answer::Refused {
                status: 404,
                code: "ImageNotFound".into(),
                message: "镜像不存在: img-x".into(),
                servers: None
            }
        );
        match c
            .sort(
                500,
                br#"{"code":"SyncFailed","message":"m","servers":["a"]}"#,
                4,
            )
            .unwrap()
        {
            Answer::Refused { servers, .. } => assert_eq!(servers, Some(vec!["a".to_string()])),
            other => panic!("{other:?}"),
        }
        // A 404 without the seed's code: the URL is wrong, not an image.
        let e = c.sort(404, b"Not Found", 1).unwrap_err();
        assert!(e.to_string().contains("HTTP 404"), "{e}");
        assert!(e.to_string().contains("check the remote's URL"), "{e}");
        let e = c
            .sort(401, br#"{"code":"Unauthorized","message":"bad token"}"#, 1)
            .unwrap_err();
        assert!(matches!(e, AriesError::Auth { status: 401, .. }), "{e}");
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504] {
            assert!(retryable(s), "{s}");
        }
        for s in [200, 400, 401, 404, 405, 501, 505] {
            assert!(!retryable(s), "{s}");
        }
    }

    #[test]
    fn an_unreachable_endpoint_is_retried_then_reported() {
        // A port that was free a moment ago: nothing listens there.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let mut spec: RemoteSpec = serde_json::from_str(r#"{"kind":"aries"}"#).unwrap();
        spec.url = Some(format!("http://127.0.0.1:{port}"));
        let c = Client::new(&spec).unwrap();
        let retries = std::sync::Mutex::new(Vec::new());
        let e = c
            .send(&Bytes::from_static(b"{}"), "t", &|m| {
                retries.lock().unwrap().push(m.to_owned())
            })
            .unwrap_err();
        assert!(
            matches!(e, AriesError::Unreachable { attempts: 4, .. }),
            "{e}"
        );
        let retries = retries.into_inner().unwrap();
        assert_eq!(retries.len(), 3);
        assert!(retries[0].contains("attempt 2 of 4"), "{}", retries[0]);
    }
}
