//! How answers look. The seed endpoints come in two styles (docs/api.md, "Two styles of
//! response"): the `{code, msg, data}` envelope of performSync and getSyncInfo, which the
//! desktop commands share, and the REST style of the jobs endpoints with `ErrorResponse`.
//! Handlers return a [`Failure`] without knowing the style; [`render`] writes it in the style
//! of the path it answers.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use syncdesk_engine::EngineError;
use syncdesk_engine::model::ApiError;

/// Why a request failed.
#[derive(Debug, Clone)]
pub enum Failure {
    /// The engine refused (an unknown folder, a sync in progress, …). The envelope answers
    /// these with HTTP 200 and `code: -1`, as the seed does; REST picks a status by code.
    Engine(ApiError),
    /// The request itself is wrong or not allowed: the status is the same in both styles.
    Http {
        status: StatusCode,
        code: &'static str,
        message: String,
    },
}

impl Failure {
    pub fn http(status: StatusCode, code: &'static str, message: impl Into<String>) -> Failure {
        Failure::Http {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Failure {
        Failure::http(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Failure {
        Failure::http(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn internal(message: impl Into<String>) -> Failure {
        Failure::http(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }

    fn parts(&self) -> (&str, &str) {
        match self {
            Failure::Engine(e) => (&e.code, &e.message),
            Failure::Http { code, message, .. } => (code, message),
        }
    }
}

impl From<EngineError> for Failure {
    fn from(e: EngineError) -> Self {
        Failure::Engine(ApiError::from(&e))
    }
}

impl IntoResponse for Failure {
    // The body is written by `render`, which knows the style; this only carries the failure.
    fn into_response(self) -> Response {
        let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        res.extensions_mut().insert(self);
        res
    }
}

/// A successful envelope answer: `{"code": 0, "msg": "", "data": …}`.
pub struct Envelope<T>(pub T);

impl<T: Serialize> IntoResponse for Envelope<T> {
    fn into_response(self) -> Response {
        Json(json!({ "code": 0, "msg": "", "data": self.0 })).into_response()
    }
}

/// The answer style of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Envelope,
    Rest,
}

impl Style {
    pub fn of(path: &str) -> Style {
        if path == "/api/sync/jobs"
            || path.starts_with("/api/sync/jobs/")
            || path == "/ws"
            || path.starts_with("/service/")
        {
            Style::Rest
        } else {
            Style::Envelope
        }
    }
}

/// Writes the body of a failed response in `style`; other responses pass unchanged.
pub fn render(style: Style, mut res: Response) -> Response {
    let Some(failure) = res.extensions_mut().remove::<Failure>() else {
        return res;
    };
    let (code, message) = failure.parts();
    let status = match (&failure, style) {
        (Failure::Http { status, .. }, _) => *status,
        (Failure::Engine(_), Style::Envelope) => StatusCode::OK,
        (Failure::Engine(e), Style::Rest) => rest_status(&e.code),
    };
    let body = match style {
        Style::Envelope => json!({ "code": -1, "msg": message, "data": null, "error": code }),
        Style::Rest => json!({ "code": code, "message": message }),
    };
    let mut out = (status, Json(body)).into_response();
    // Headers the failure came with (such as `Allow` on a 405) stay.
    for (name, value) in res.headers() {
        if name != http::header::CONTENT_TYPE && name != http::header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        // The rest of an oversized body is not read: the connection cannot carry on.
        out.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    if status == StatusCode::UNAUTHORIZED {
        out.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            http::HeaderValue::from_static("Token"),
        );
    }
    out
}

/// The status of an engine refusal in the REST style (seed 004: 400, 404, 409).
fn rest_status(code: &str) -> StatusCode {
    match code {
        "sync_in_progress" | "boot_sync_in_progress" => StatusCode::CONFLICT,
        "not_found" => StatusCode::NOT_FOUND,
        "unknown_folder" | "invalid_request" | "app_required" | "no_folders" | "credentials"
        | "passphrase" => StatusCode::BAD_REQUEST,
        "unreachable" => StatusCode::BAD_GATEWAY,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
