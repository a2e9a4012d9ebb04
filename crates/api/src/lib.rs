//! Syncdesk's local HTTP API (docs/api.md, docs/openapi.yaml): the seed endpoints, the
//! desktop commands over HTTP, events over a WebSocket at `/ws`, and the web UI at `/`.
//! A thin adapter: every endpoint is one engine call, made on a blocking thread.
//!
//! `syncdesk-cli serve` and the desktop app (when the user turns it on) both run a [`Server`].

mod auth;
mod body;
mod host;
mod reply;
mod routes;
mod serve;
mod ui;
mod ws;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use syncdesk_engine::Engine;
use tokio::sync::watch;

pub use body::BODY_LIMIT;
pub use routes::gateway::{
    STALL_TIMEOUT as GATEWAY_STALL_TIMEOUT, TEXT_LIMIT as GATEWAY_TEXT_LIMIT,
};
pub use serve::{Server, ServerError};
pub use ui::{AssetLookup, UiSource, default_ui_dir};

use reply::{Failure, Style};
use routes::{commands, gateway, jobs, sync};

/// Where the API is served and how.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Host names besides the listen address the server answers to (`--allow-host`).
    pub allow_hosts: Vec<String>,
    /// The web UI to serve at `/`.
    pub ui: UiSource,
    /// The repository of folders added with `repository: null`.
    pub default_remote: PathBuf,
}

/// A request that takes longer than this answers 408. Syncs are never requests: they run
/// in the background and report over `/ws`.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    engine: Arc<Engine>,
    tokens: Arc<auth::Tokens>,
    hosts: Arc<host::HostPolicy>,
    default_remote: Arc<PathBuf>,
    /// Turns true when the server stops; WebSockets close on it.
    shutdown: watch::Receiver<bool>,
}

/// The whole application: routes, auth, the Host check, limits and per-request tracing.
pub fn router(
    engine: Arc<Engine>,
    config: &ServerConfig,
    shutdown: watch::Receiver<bool>,
) -> Router {
    let state = ApiState {
        tokens: Arc::new(auth::Tokens::new(engine.clone())),
        engine,
        hosts: Arc::new(host::HostPolicy::new(config.listen, &config.allow_hosts)),
        default_remote: Arc::new(config.default_remote.clone()),
        shutdown,
    };
    let api = Router::new()
        .route("/api/sync/performSync", post(sync::perform_sync))
        .route("/api/sync/getSyncInfo", post(sync::get_sync_info))
        .route("/api/sync/previewSync", post(sync::preview_sync))
        .route("/api/sync/jobs", get(jobs::list).post(jobs::create))
        .route("/api/sync/jobs/{id}", get(jobs::get))
        .route("/api/sync/jobs/{id}/log", get(jobs::log))
        .route("/api/folder/listFolders", post(commands::list_folders))
        .route("/api/folder/addFolder", post(commands::add_folder))
        .route("/api/folder/removeFolder", post(commands::remove_folder))
        .route(
            "/api/folder/updateFolderSettings",
            post(commands::update_folder_settings),
        )
        .route(
            "/api/folder/readIgnoreFile",
            post(commands::read_ignore_file),
        )
        .route(
            "/api/folder/writeIgnoreFile",
            post(commands::write_ignore_file),
        )
        .route(
            "/api/folder/setFolderRepository",
            post(commands::set_folder_repository),
        )
        .route(
            "/api/folder/setRemoteSecret",
            post(commands::set_remote_secret),
        )
        .route("/api/folder/setPassphrase", post(commands::set_passphrase))
        .route(
            "/api/folder/changePassphrase",
            post(commands::change_passphrase),
        )
        .route(
            "/api/folder/testFolderRemote",
            post(commands::test_folder_remote),
        )
        .route("/api/remote/parseRemote", post(commands::parse_remote))
        .route("/api/remote/remoteUrl", post(commands::remote_url))
        .route("/api/remote/testRemote", post(commands::test_remote))
        .route("/api/history/listSnapshots", post(commands::list_snapshots))
        .route(
            "/api/history/listSnapshotFiles",
            post(commands::list_snapshot_files),
        )
        .route(
            "/api/history/restoreSnapshot",
            post(commands::restore_snapshot),
        )
        .route("/api/history/listTrash", post(commands::list_trash))
        .route("/api/history/restoreTrash", post(commands::restore_trash))
        .route("/api/app/getAppState", post(commands::get_app_state))
        .route("/api/app/setPaused", post(commands::set_paused))
        .route("/api/app/setLanguage", post(commands::set_language))
        .route("/api", any(unknown_endpoint))
        .route("/api/", any(unknown_endpoint))
        .route("/api/{*rest}", any(unknown_endpoint))
        .method_not_allowed_fallback(|| async {
            Failure::http(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this endpoint takes another method; docs/api.md lists them",
            )
        })
        .layer(middleware::from_fn(time_limit));
    // The gateway (seed 003) authenticates in its handlers, and streams bodies of any size
    // with a stall timeout instead of `time_limit`.
    let gateway = Router::new()
        .route("/service/gateway/sync", post(gateway::sync))
        .route("/service/gateway/sync_3rd", post(gateway::sync_3rd))
        .route("/service/gateway/list", post(gateway::list))
        .route("/service/gateway/file", post(gateway::file))
        .route("/service/gateway/{*rest}", any(unknown_gateway_endpoint))
        .method_not_allowed_fallback(|| async {
            Failure::http(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the gateway takes POST only",
            )
        });
    Router::new()
        .merge(api)
        .merge(gateway)
        .route("/ws", get(ws::upgrade))
        .merge(ui::routes(&config.ui))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            auth::authenticate,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            host::check_host,
        ))
        .layer(middleware::from_fn(respond))
        .with_state(state)
}

async fn unknown_gateway_endpoint() -> Failure {
    Failure::not_found("no such gateway endpoint: sync, sync_3rd, list and file exist")
}

async fn unknown_endpoint() -> Failure {
    Failure::not_found("no such endpoint; docs/api.md lists them")
}

/// No framing (clickjacking a Sync button), no MIME sniffing, no referrer, and a CSP that
/// lets the UI talk only to this server.
fn secure_headers(headers: &mut axum::http::HeaderMap) {
    use axum::http::{HeaderValue, header};
    const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
        img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; \
        base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

async fn time_limit(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => Failure::http(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!("the request took over {} s", REQUEST_TIMEOUT.as_secs()),
        )
        .into_response(),
    }
}

/// The outermost layer: a span per request (method and path, never the query, which may
/// hold a token), failures written in the path's style, and one log line per answer.
async fn respond(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", method = %req.method(), path = %path, token = tracing::field::Empty);
    let started = Instant::now();
    let res = tracing::Instrument::instrument(next.run(req), span.clone()).await;
    let mut res = reply::render(Style::of(&path), res);
    secure_headers(res.headers_mut());
    let status = res.status();
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    span.in_scope(|| {
        if status.is_server_error() {
            tracing::warn!(status = status.as_u16(), ms, "answered");
        } else {
            tracing::debug!(status = status.as_u16(), ms, "answered");
        }
    });
    res
}
