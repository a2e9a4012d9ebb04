//! Who is asking: `Authorization: Token <token>` (or `?token=` on `/ws`, which browsers
//! cannot give headers), checked against the tokens in the OS keyring, and what their role
//! lets them do.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use syncdesk_engine::model::ApiRole;
use syncdesk_engine::{Engine, EngineError};

use crate::ApiState;
use crate::reply::Failure;

/// The requests a read-only token may make: every GET, and these POSTs, which change
/// nothing. Everything else needs an admin token.
const READ_POSTS: &[&str] = &[
    "/api/sync/getSyncInfo",
    "/api/sync/previewSync",
    "/api/folder/listFolders",
    "/api/folder/readIgnoreFile",
    "/api/remote/parseRemote",
    "/api/remote/remoteUrl",
    "/api/history/listSnapshots",
    "/api/history/listSnapshotFiles",
    "/api/history/listTrash",
    "/api/app/getAppState",
];

fn needs_admin(method: &Method, path: &str) -> bool {
    !(method == Method::GET || method == Method::HEAD || READ_POSTS.contains(&path))
}

/// The caller of a request, once authenticated.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: String,
    pub role: ApiRole,
}

/// Token hashes by name, loaded from the keyring when an unknown token shows up. The
/// database decides whether a name is still valid on every request, so a token revoked by
/// another process is refused at once — and one revoked and created again under the same name
/// (another date) is a different token.
pub struct Tokens {
    engine: Arc<Engine>,
    cache: Mutex<HashMap<String, Cached>>,
}

struct Cached {
    created_at: String,
    /// `None` when the keyring had no secret for it.
    hash: Option<blake3::Hash>,
}

impl Tokens {
    pub fn new(engine: Arc<Engine>) -> Tokens {
        Tokens {
            engine,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// A token seen before: one SQLite lookup by primary key, no keyring. `None` means "not
    /// known here": [`Tokens::check`] then reloads.
    fn check_known(&self, hash: &blake3::Hash) -> Result<Option<Caller>, EngineError> {
        let Some((name, created_at)) = self.find(hash) else {
            return Ok(None);
        };
        match self.engine.api_token(&name)? {
            Some(token) if token.created_at == created_at => Ok(Some(Caller {
                token: token.name,
                role: token.role,
            })),
            // Revoked, or replaced by a new token of that name.
            _ => {
                self.lock().remove(&name);
                Ok(None)
            }
        }
    }

    /// Reads the tokens again (the keyring for new ones), then checks. Blocking.
    fn check(&self, hash: &blake3::Hash) -> Result<Option<Caller>, EngineError> {
        self.reload()?;
        self.check_known(hash)
    }

    fn find(&self, hash: &blake3::Hash) -> Option<(String, String)> {
        // blake3::Hash compares in constant time.
        self.lock()
            .iter()
            .find(|(_, c)| c.hash.as_ref() == Some(hash))
            .map(|(name, c)| (name.clone(), c.created_at.clone()))
    }

    /// Reads the secrets of tokens not seen before; forgets revoked and replaced ones.
    fn reload(&self) -> Result<(), EngineError> {
        let tokens = self.engine.api_tokens()?;
        let fresh: Vec<_> = {
            let mut cache = self.lock();
            cache.retain(|name, c| {
                tokens
                    .iter()
                    .any(|t| &t.name == name && t.created_at == c.created_at)
            });
            tokens
                .into_iter()
                .filter(|t| !cache.contains_key(&t.name))
                .collect()
        };
        for token in fresh {
            let secret = self.engine.api_token_secret(&token.name)?;
            let cached = Cached {
                created_at: token.created_at,
                hash: secret.map(|s| blake3::hash(s.expose().as_bytes())),
            };
            self.lock().insert(token.name, cached);
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Cached>> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Middleware for `/api/…` and `/ws`: a valid token, with the role the request needs.
/// Other paths pass: the web UI, and the gateway (`/service/gateway/…`), whose handlers
/// authenticate themselves (a gateway token in the body, or [`header_caller`]).
pub async fn authenticate(State(st): State<ApiState>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if !(path.starts_with("/api/") || path == "/ws") {
        return next.run(req).await;
    }
    let Some(presented) = presented_token(&req) else {
        return unauthorized("send an API token: Authorization: Token <token>").into_response();
    };
    let caller = match check(&st, presented).await {
        Ok(caller) => caller,
        Err(failure) => return failure.into_response(),
    };
    if caller.role != ApiRole::Admin && needs_admin(req.method(), req.uri().path()) {
        return Failure::http(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "the token {:?} is read-only; this request needs an admin token",
                caller.token
            ),
        )
        .into_response();
    }
    tracing::Span::current().record("token", caller.token.as_str());
    req.extensions_mut().insert(caller);
    next.run(req).await
}

/// The caller named by an `Authorization: Token <token>` header, checked: `None` without
/// the header, 401 for a header that is malformed or names no valid token.
pub async fn header_caller(st: &ApiState, headers: &HeaderMap) -> Result<Option<Caller>, Failure> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let Some(presented) = token_of(value) else {
        return Err(unauthorized(
            "the Authorization header must be \"Token <API token>\"",
        ));
    };
    let caller = check(st, presented).await?;
    tracing::Span::current().record("token", caller.token.as_str());
    Ok(Some(caller))
}

/// Checks a presented token against the known ones (the keyring for an unknown one).
async fn check(st: &ApiState, presented: String) -> Result<Caller, Failure> {
    let hash = blake3::hash(presented.as_bytes());
    // The common case, a token seen before, costs one indexed read: done in place rather
    // than on another thread. Only an unknown token goes to the keyring.
    let known = tokio::task::block_in_place(|| st.tokens.check_known(&hash));
    let checked = match known {
        Ok(None) => {
            let tokens = st.tokens.clone();
            tokio::task::spawn_blocking(move || tokens.check(&hash))
                .await
                .unwrap_or_else(|e| {
                    Err(EngineError::Internal(format!(
                        "cannot check the token: {e}"
                    )))
                })
        }
        other => other,
    };
    match checked {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(unauthorized(
            "this API token is not valid (unknown or revoked)",
        )),
        Err(e) => Err(Failure::from(e)),
    }
}

fn unauthorized(message: &str) -> Failure {
    Failure::http(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The token of `Token <token>` (the scheme in any case).
fn token_of(value: &HeaderValue) -> Option<String> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("token")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

fn presented_token(req: &Request) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        return token_of(value);
    }
    if req.uri().path() == "/ws" {
        return req.uri().query().and_then(|q| {
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .find(|(k, _)| *k == "token")
                .map(|(_, v)| v.to_owned())
        });
    }
    None
}
