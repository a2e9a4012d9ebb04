//! The web UI (`ui/dist`) at `/`: the desktop app's views, over HTTP and the WebSocket.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::http::{StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use tower_http::services::{ServeDir, ServeFile};

/// A file of the UI by its path (`index.html`, `assets/…`): its bytes and MIME type.
pub type AssetLookup = dyn Fn(&str) -> Option<(Vec<u8>, String)> + Send + Sync;

/// Where the web UI comes from.
#[derive(Clone, Default)]
pub enum UiSource {
    /// A built `ui/dist` on disk.
    Dir(PathBuf),
    /// Files compiled into the program (the desktop app's own UI).
    Embedded(Arc<AssetLookup>),
    /// No UI: `/` says how to build one.
    #[default]
    None,
}

impl std::fmt::Debug for UiSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UiSource::Dir(dir) => write!(f, "Dir({})", dir.display()),
            UiSource::Embedded(_) => f.write_str("Embedded"),
            UiSource::None => f.write_str("None"),
        }
    }
}

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

/// Serves the UI, with `index.html` for any path that is not a file (the UI routes itself).
pub fn routes<S: Clone + Send + Sync + 'static>(source: &UiSource) -> Router<S> {
    match source {
        UiSource::Dir(dir) => Router::new()
            .fallback_service(ServeDir::new(dir).fallback(ServeFile::new(dir.join("index.html")))),
        UiSource::Embedded(lookup) => {
            let lookup = lookup.clone();
            Router::new().fallback(move |uri: Uri| {
                let lookup = lookup.clone();
                async move { embedded(lookup.as_ref(), uri.path()) }
            })
        }
        UiSource::None => Router::new().fallback(|| async {
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

fn embedded(lookup: &AssetLookup, path: &str) -> Response {
    let path = path.trim_start_matches('/');
    let found = match path {
        "" => None,
        path => lookup(path),
    };
    match found.or_else(|| lookup("index.html")) {
        Some((bytes, mime)) => ([(header::CONTENT_TYPE, mime)], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}
