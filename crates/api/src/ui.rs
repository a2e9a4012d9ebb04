//! The web UI (`ui/dist`) at `/`: the desktop app's views, over HTTP and the WebSocket.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use tower_http::services::{ServeDir, ServeFile};

/// Where the built UI is: `$SYNCDESK_UI_DIR`, else `share/syncdesk/ui` next to the binary's
/// directory (an installed layout), else the source tree's `ui/dist` (a development build).
pub fn default_ui_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("SYNCDESK_UI_DIR").map(PathBuf::from),
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.parent()?.join("share/syncdesk/ui"))),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ui/dist")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("index.html").is_file())
}

/// Serves `dir`, with `index.html` for any path that is not a file (the UI routes itself).
pub fn routes<S: Clone + Send + Sync + 'static>(dir: Option<&Path>) -> Router<S> {
    match dir {
        Some(dir) => Router::new()
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        None => Router::new().fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Html(
                    "<h1>Syncdesk</h1><p>The web UI is not built. Run <code>npm ci && npm run \
                     build</code> in <code>ui/</code>, or point SYNCDESK_UI_DIR at a built UI. \
                     The API at <code>/api/</code> works without it.</p>",
                ),
            )
                .into_response()
        }),
    }
}
