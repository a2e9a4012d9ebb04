//! JSON request bodies: `application/json` only, at most [`BODY_LIMIT`] bytes, and an empty
//! body reads as `{}` (getSyncInfo and `POST /api/sync/jobs` take none).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use futures::StreamExt;
use serde::de::DeserializeOwned;

use crate::reply::Failure;

/// The largest request body: far above any real request (a long ignore file), far below
/// what could hurt.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub struct JsonBody<T>(pub T);

/// An over-limit body is still read (and dropped) up to this much before the 413 goes out:
/// closing on unread data makes the kernel reset the connection, and the client would never
/// see the 413. Beyond this the client gets a reset; nobody sends that much by mistake.
const DRAIN_LIMIT: usize = 16 * BODY_LIMIT;

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let body = read_limited(req.into_body()).await?;
        let start = body.iter().position(|b| !b.is_ascii_whitespace());
        let Some(start) = start else {
            return parse(b"{}").map(JsonBody);
        };
        if !json_type {
            return Err(Failure::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        // serde would fill a struct from an array too (`["docs"]` as `{name: "docs"}`).
        if body[start] != b'{' {
            return Err(Failure::bad_request(
                "the request body must be a JSON object",
            ));
        }
        parse(&body).map(JsonBody)
    }
}

/// The body, or a 413 once it passes [`BODY_LIMIT`] (after draining it, see [`DRAIN_LIMIT`]).
async fn read_limited(body: Body) -> Result<Bytes, Failure> {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| Failure::bad_request(format!("cannot read the body: {e}")))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= BODY_LIMIT {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > BODY_LIMIT {
        return Err(Failure::http(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the request body is over {BODY_LIMIT} bytes"),
        ));
    }
    Ok(Bytes::from(kept))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(format!("the request body is not valid: {e}")))
}
