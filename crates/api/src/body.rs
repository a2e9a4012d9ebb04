//! JSON request bodies: `application/json` only, at most [`BODY_LIMIT`] bytes, and an empty
//! body reads as `{}` (getSyncInfo and `POST /api/sync/jobs` take none).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::reply::Failure;

/// The largest request body: far above any real request (a long ignore file), far below
/// what could hurt.
pub const BODY_LIMIT: usize = 1024 * 1024;

pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Failure;

    async fn from_request(req: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let too_large = || {
            Failure::http(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the request body is over {BODY_LIMIT} bytes"),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
            return Err(too_large());
        }
        let json_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
        let body = axum::body::to_bytes(req.into_body(), BODY_LIMIT)
            .await
            .map_err(|_| too_large())?;
        if body.iter().all(u8::is_ascii_whitespace) {
            return parse(&Bytes::from_static(b"{}")).map(JsonBody);
        }
        if !json_type {
            return Err(Failure::http(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON, with Content-Type: application/json",
            ));
        }
        parse(&body).map(JsonBody)
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Failure> {
    serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(format!("the request body is not valid: {e}")))
}
