//! "Test connection" of a push remote: one request that shows the server answers and takes
//! the token, and changes nothing there. The push clients' own HTTP clients make it, so the
//! remote's `timeout`, `ca_cert` and `insecure` apply exactly as they do to a push.
//!
//! - gateway: the listing (`POST /service/gateway/list`), which reads only. A gateway without
//!   one (404/405: not a Syncdesk gateway) is reported reachable but push-only;
//! - Aries: the sync route with a batch the seed rejects (see [`aries`]).
//!
//! Errors read like other remotes' tests: unreachable and TLS failures are the same
//! [`RemoteError`]s under the step that failed; a refused token is a credentials error.

use std::time::{Duration, Instant};

use bytes::Bytes;

use super::aries::AriesError;
use super::aries::client::{Answer, Client as AriesClient};
use super::gateway::client::{Client as GatewayClient, Failed, LIST_PATH, Listed};
use crate::engine::EngineError;
use crate::remote::{
    ProbeReport, ProbeStep, ProbeStepName, RemoteError, RemoteKind, RemoteSpec, RetryPolicy,
    unit_random,
};
use crate::secrets::Secret;

/// Attempts in all for the gateway's request, and the waits between them: like a push's, so
/// a server restarting is not reported down, but bounded so the answer comes within seconds.
/// (The Aries client retries the same way on its own.)
const POLICY: RetryPolicy = RetryPolicy {
    max_attempts: 4,
    base: Duration::from_millis(500),
    cap: Duration::from_secs(8),
    max_retry_after: Duration::from_secs(10),
};

/// Tests a gateway or Aries remote with its token; `folder` names the saved folder it
/// belongs to, for the advice when the token is refused.
pub fn probe(
    spec: &RemoteSpec,
    token: Option<&Secret>,
    folder: Option<&str>,
) -> Result<ProbeReport, EngineError> {
    let token = token.filter(|t| !t.expose().is_empty()).ok_or_else(|| {
        EngineError::Credentials(format!(
            "testing this {} remote needs its token ({}); enter it and test again",
            spec.provider_name(),
            token_name(spec.kind)
        ))
    })?;
    let start = Instant::now();
    let steps = match spec.kind {
        RemoteKind::Gateway => gateway(spec, token, folder)?,
        RemoteKind::Aries => aries(spec, token, folder)?,
        RemoteKind::Local | RemoteKind::S3 | RemoteKind::Webdav => {
            return Err(EngineError::InvalidRequest(format!(
                "{} is not a push remote (gateway or Aries)",
                spec.describe()
            )));
        }
    };
    Ok(ProbeReport {
        remote: spec.describe(),
        provider_name: spec.provider_name().into(),
        steps,
        total_ms: millis(start),
    })
}

/// `POST {base}/service/gateway/list` with the token: a listing means reached and token
/// accepted; 404/405 means reached, but the gateway lists nothing, so it cannot be pulled
/// from and the token is only checked by the first push (sending anything else would write).
fn gateway(
    spec: &RemoteSpec,
    token: &Secret,
    folder: Option<&str>,
) -> Result<Vec<ProbeStep>, EngineError> {
    let client = GatewayClient::new(spec, token).map_err(|reason| invalid(spec, reason))?;
    let host = client.host().to_owned();
    let start = Instant::now();
    let (listing, attempts) = gateway_list(&client);
    let ms = millis(start);
    let reach = |source: RemoteError| step_failed(ProbeStepName::Reach, source);
    match listing {
        // Both follow from the one answer: the time is the request's.
        Ok(Some(_)) => Ok(vec![
            step(ProbeStepName::Reach, ms),
            step(ProbeStepName::Authenticate, 0),
        ]),
        Ok(None) => Ok(vec![
            step(ProbeStepName::Reach, ms),
            step(ProbeStepName::PushOnly, 0),
        ]),
        Err(Failed::Unauthorized(message)) => {
            Err(token_refused(spec, folder, &host, 401, &message))
        }
        Err(Failed::Refused {
            status: 403,
            message,
        }) => Err(token_refused(spec, folder, &host, 403, &message)),
        // A 200 that is not a listing: something else answers at this address.
        Err(Failed::Refused {
            status: 200,
            message,
        }) => Err(invalid(
            spec,
            format!("{message}; check the address (and its base path) of the gateway"),
        )),
        Err(Failed::Refused { status, message }) => Err(reach(RemoteError::Http {
            status,
            op: "POST".into(),
            key: LIST_PATH.into(),
            body: message,
            attempts,
        })),
        Err(Failed::RateLimited(_)) => Err(reach(RemoteError::Http {
            status: 429,
            op: "POST".into(),
            key: LIST_PATH.into(),
            body: "the gateway's rate limit is reached; test again later".into(),
            attempts,
        })),
        // Connection failures, timeouts and 5xx, after the retries.
        Err(Failed::Transient(reason)) => Err(reach(RemoteError::Unreachable {
            host,
            reason,
            attempts,
        })),
        Err(Failed::Tls(reason)) => Err(reach(RemoteError::Tls { host, reason })),
        Err(Failed::Local(why)) => Err(invalid(spec, why)),
        Err(Failed::Vanished) => Err(invalid(spec, "the request could not be made".into())),
    }
}

/// The listing, trying again after transient failures; also the attempts made.
fn gateway_list(client: &GatewayClient) -> (Result<Option<Vec<Listed>>, Failed>, u32) {
    let mut attempt = 1;
    loop {
        let result = client.list();
        let retry_after = match &result {
            Err(Failed::Transient(_)) => None,
            Err(Failed::RateLimited(after)) => *after,
            _ => return (result, attempt),
        };
        if attempt >= POLICY.max_attempts {
            return (result, attempt);
        }
        std::thread::sleep(POLICY.delay(attempt, retry_after, unit_random()));
        attempt += 1;
    }
}

/// `GET {base}/aries/api/v1/sync` with the bearer token and the body `{}`.
///
/// Why `{}`: the seed has no read-only route, and a valid batch would be a sync: even
/// `{"data": []}` could make a real endpoint apply "no servers" to what it manages. `{}` has
/// no `data`, so an endpoint that follows the seed answers 400 InvalidParameter and changes
/// nothing, after it checked the token (401/403 otherwise). So any answer of the API past the
/// token check (a seed error below 500, or even a success) means reached and token accepted.
fn aries(
    spec: &RemoteSpec,
    token: &Secret,
    folder: Option<&str>,
) -> Result<Vec<ProbeStep>, EngineError> {
    let client = AriesClient::new(spec).map_err(|e| match e {
        AriesError::Setup { reason, .. } => invalid(spec, reason),
        other => invalid(spec, other.to_string()),
    })?;
    let url = client.url().to_owned();
    let reach = |source: RemoteError| step_failed(ProbeStepName::Reach, source);
    let start = Instant::now();
    let answer = client.send(&Bytes::from_static(b"{}"), token.expose(), &|m| {
        tracing::info!("connection test: {m}")
    });
    let ms = millis(start);
    match answer {
        Ok(Answer::Refused { status, .. }) if status < 500 => {}
        Ok(Answer::Accepted | Answer::NotSuccessful(_)) => {}
        Ok(Answer::Refused {
            status,
            code,
            message,
            ..
        }) => {
            return Err(reach(RemoteError::Http {
                status,
                op: "GET".into(),
                key: url,
                body: format!("{code}: {message}"),
                attempts: 1,
            }));
        }
        Err(AriesError::Auth { status, message }) => {
            return Err(token_refused(
                spec,
                folder,
                &format!("at {url}"),
                status,
                &message,
            ));
        }
        Err(AriesError::Http { status: 404, .. }) => {
            return Err(invalid(
                spec,
                format!(
                    "no Aries API at this address (HTTP 404 to GET {url}); check the URL and its base path"
                ),
            ));
        }
        Err(AriesError::UnexpectedAnswer { status, body }) => {
            return Err(invalid(
                spec,
                format!(
                    "no Aries API at this address: GET {url} answered HTTP {status} without the seed's JSON ({body}); check the URL and its base path"
                ),
            ));
        }
        Err(AriesError::Http {
            status,
            url,
            body,
            attempts,
        }) => {
            return Err(reach(RemoteError::Http {
                status,
                op: "GET".into(),
                key: url,
                body,
                attempts,
            }));
        }
        Err(AriesError::Unreachable {
            host,
            reason,
            attempts,
        }) => {
            return Err(reach(RemoteError::Unreachable {
                host,
                reason,
                attempts,
            }));
        }
        Err(AriesError::Tls { host, reason }) => {
            return Err(reach(RemoteError::Tls { host, reason }));
        }
        Err(other) => return Err(invalid(spec, other.to_string())),
    }
    Ok(vec![
        step(ProbeStepName::Reach, ms),
        step(ProbeStepName::Authenticate, 0),
    ])
}

fn token_name(kind: RemoteKind) -> &'static str {
    match kind {
        RemoteKind::Gateway => "the gateway token, fb_token",
        _ => "the bearer token",
    }
}

/// A refused token, with what to do about it.
fn token_refused(
    spec: &RemoteSpec,
    folder: Option<&str>,
    server: &str,
    status: u16,
    message: &str,
) -> EngineError {
    let who = match spec.kind {
        RemoteKind::Gateway => "gateway",
        _ => "Aries endpoint",
    };
    let said = if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    };
    let fix = match folder {
        Some(f) => format!(
            "enter the folder's current token in Settings or run `syncdesk-cli folder set-secret {f}`"
        ),
        None => format!("check {}", token_name(spec.kind)),
    };
    EngineError::Credentials(format!(
        "connection test failed: the {who} {server} refused the token (HTTP {status}{said}); {fix}"
    ))
}

fn invalid(spec: &RemoteSpec, reason: String) -> EngineError {
    EngineError::Remote(RemoteError::Invalid {
        remote: spec.to_url(),
        reason,
    })
}

fn step_failed(step: ProbeStepName, source: RemoteError) -> EngineError {
    EngineError::Remote(RemoteError::Probe {
        step: step.describe(),
        source: Box::new(source),
    })
}

fn step(step: ProbeStepName, ms: u64) -> ProbeStep {
    ProbeStep { step, ms }
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis().try_into().unwrap_or(u64::MAX)
}
