//! How a request failed, and what that means: retry it, hand the answer to OpenDAL, or give
//! up with an error that tells the user what to do.

use std::error::Error as StdError;
use std::time::Duration;

use http::StatusCode;

use super::RemoteError;
use super::retry::human;

/// How much of an error response's body is kept for the error message.
const EXCERPT: usize = 300;

/// A request failure after retries, carried through OpenDAL to the remote's error mapping
/// (see `dal.rs`), which turns it into a [`RemoteError`].
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum Failure {
    #[error("HTTP {status} on {method} {key}")]
    Status {
        status: u16,
        method: String,
        key: String,
        body: String,
        attempts: u32,
        credentials: &'static str,
    },
    #[error("cannot reach {host}: {reason}")]
    Unreachable {
        host: String,
        reason: String,
        attempts: u32,
    },
    #[error("TLS with {host} failed: {reason}")]
    Tls { host: String, reason: String },
    #[error("truncated response to {method} {key}")]
    Truncated {
        method: String,
        key: String,
        expected: u64,
        got: u64,
        attempts: u32,
    },
    /// A request that could not be made at all (not worth repeating).
    #[error("{method} {key}: {reason}")]
    Broken {
        method: String,
        key: String,
        reason: String,
    },
}

impl From<Failure> for RemoteError {
    fn from(f: Failure) -> RemoteError {
        match f {
            Failure::Status {
                status: status @ (401 | 403),
                credentials,
                ..
            } => RemoteError::Auth {
                status,
                what: credentials,
            },
            Failure::Status {
                status,
                method,
                key,
                body,
                attempts,
                ..
            } => RemoteError::Http {
                status,
                op: method,
                key,
                body,
                attempts,
            },
            Failure::Unreachable {
                host,
                reason,
                attempts,
            } => RemoteError::Unreachable {
                host,
                reason,
                attempts,
            },
            Failure::Tls { host, reason } => RemoteError::Tls { host, reason },
            Failure::Broken {
                method,
                key,
                reason,
            } => RemoteError::Backend {
                op: "request",
                key: format!("{method} {key}"),
                message: reason,
            },
            Failure::Truncated {
                method,
                key,
                expected,
                got,
                attempts,
            } => RemoteError::Truncated {
                op: method,
                key,
                expected,
                got,
                attempts,
            },
        }
    }
}

/// Why one attempt failed.
pub(crate) enum Trouble {
    Status {
        status: StatusCode,
        retry_after: Option<Duration>,
        body: String,
    },
    /// No bytes moved for the timeout.
    Stalled,
    Connect(String),
    /// The connection broke mid-request.
    Reset(String),
    Tls(String),
    Truncated {
        expected: u64,
        got: u64,
    },
    /// A request we could not even build: a bug, not worth repeating.
    Broken(String),
}

impl Trouble {
    pub fn retryable(&self) -> bool {
        match self {
            Trouble::Status { status, .. } => retryable_status(*status),
            Trouble::Stalled | Trouble::Connect(_) | Trouble::Reset(_) => true,
            Trouble::Truncated { .. } => true,
            Trouble::Tls(_) | Trouble::Broken(_) => false,
        }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Trouble::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    pub fn describe(&self, host: &str, timeout: Duration) -> String {
        match self {
            Trouble::Status { status, .. } => format!("HTTP {}", status.as_u16()),
            Trouble::Stalled => format!("no response from {host} for {}", human(timeout)),
            Trouble::Connect(why) => format!("cannot connect to {host} ({why})"),
            Trouble::Reset(why) => format!("connection to {host} lost ({why})"),
            Trouble::Tls(why) => format!("TLS failed ({why})"),
            Trouble::Truncated { expected, got } => {
                format!("truncated response ({got} of {expected} bytes)")
            }
            Trouble::Broken(why) => why.clone(),
        }
    }

    pub fn into_failure(
        self,
        req: &Label,
        timeout: Duration,
        credentials: &'static str,
        attempts: u32,
    ) -> Failure {
        match self {
            Trouble::Status { status, body, .. } => Failure::Status {
                status: status.as_u16(),
                method: req.method.clone(),
                key: req.key.clone(),
                body,
                attempts,
                credentials,
            },
            Trouble::Stalled => Failure::Unreachable {
                host: req.host.clone(),
                reason: format!(
                    "no response for {} to {} {}",
                    human(timeout),
                    req.method,
                    req.key
                ),
                attempts,
            },
            Trouble::Connect(reason) => Failure::Unreachable {
                host: req.host.clone(),
                reason,
                attempts,
            },
            Trouble::Reset(why) => Failure::Unreachable {
                host: req.host.clone(),
                reason: format!(
                    "the connection broke during {} {} ({why})",
                    req.method, req.key
                ),
                attempts,
            },
            Trouble::Tls(reason) => Failure::Tls {
                host: req.host.clone(),
                reason,
            },
            Trouble::Truncated { expected, got } => Failure::Truncated {
                method: req.method.clone(),
                key: req.key.clone(),
                expected,
                got,
                attempts,
            },
            Trouble::Broken(reason) => Failure::Broken {
                method: req.method.clone(),
                key: req.key.clone(),
                reason,
            },
        }
    }
}

/// Statuses worth asking again: the server is busy, restarting or rate limiting.
pub fn retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 408 | 423 | 429)
        || (status.is_server_error()
            && !matches!(
                status,
                StatusCode::NOT_IMPLEMENTED | StatusCode::HTTP_VERSION_NOT_SUPPORTED
            ))
}

/// Statuses OpenDAL interprets itself (a missing object, MKCOL on an existing collection,
/// preconditions, an empty range). Other client errors become a [`Failure`] here, where the
/// status and the body are still at hand for the message.
pub fn opendal_handles(status: StatusCode) -> bool {
    status.is_success()
        || status.is_redirection()
        || matches!(status.as_u16(), 404 | 405 | 409 | 412 | 416)
}

/// How a request is named in messages.
pub(crate) struct Label {
    pub method: String,
    pub host: String,
    pub key: String,
}

/// The start of an error body, on one line, for a message.
pub fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line,
    }
}

/// Sorts a transport error into what we do about it. Only the error's causes are read: its
/// own message carries the URL, whose key could contain any word.
pub fn classify(e: &reqwest::Error) -> Trouble {
    let causes = e.source().map(chain).unwrap_or_else(|| "no details".into());
    let lower = causes.to_ascii_lowercase();
    if ["certificate", "tls", "ssl", "handshake", "corrupt message"]
        .iter()
        .any(|w| lower.contains(w))
    {
        Trouble::Tls(causes)
    } else if e.is_builder() {
        Trouble::Broken(causes)
    } else if e.is_timeout() || e.is_connect() {
        Trouble::Connect(root_cause(e))
    } else {
        Trouble::Reset(root_cause(e))
    }
}

/// Every message in an error's source chain, for classification and for people.
pub fn chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.contains(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}

/// The innermost message ("Connection refused (os error 111)").
fn root_cause(e: &(dyn StdError + 'static)) -> String {
    let mut cur: &(dyn StdError + 'static) = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in [500, 502, 503, 504, 408, 423, 429] {
            assert!(retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        for s in [400, 401, 403, 404, 501, 505] {
            assert!(!retryable_status(StatusCode::from_u16(s).unwrap()), "{s}");
        }
        assert!(opendal_handles(StatusCode::NOT_FOUND));
        assert!(opendal_handles(StatusCode::MULTI_STATUS));
        assert!(!opendal_handles(StatusCode::FORBIDDEN));
        assert!(!opendal_handles(StatusCode::SERVICE_UNAVAILABLE));
    }

    #[test]
    fn excerpts_are_short_single_lines() {
        assert_eq!(
            excerpt(b"<Error>\n  <Code>X</Code>\n</Error>"),
            "<Error> <Code>X</Code> </Error>"
        );
        let long = "é".repeat(1000);
        let e = excerpt(long.as_bytes());
        assert_eq!(e.chars().count(), EXCERPT + 1);
    }
}
