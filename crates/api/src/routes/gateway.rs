//! Seed 003, ingress: `POST /service/gateway/sync` and `/sync_3rd` write into a synced folder;
//! `/list` and `/file` (Syncdesk extensions) let a peer read it back. docs/gateway.md.
//!
//! These routes take no API token from the middleware: the caller is a gateway token in the
//! `fb_token` field, or `Authorization: Token <admin API token>`, which stands for the site
//! owner's logged-in session. They are outside the 30 s request timeout and the 1 MiB body
//! limit of the API: bodies are read with a stall timeout instead, and the `file` part is
//! copied to disk as it arrives (see [`read`]).
//!
//! Order of work, the same for every body type: read the fields up to the `file` part (or the
//! end), authenticate, count the call against the rate limits, stream the file, check the
//! fields, apply. So a refused caller never gets a byte written, and every authenticated call
//! counts, as the seed counts calls.

mod fields;
mod read;

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use syncdesk_engine::Engine;
use syncdesk_engine::gateway::{
    Content, GatewayCaller, GatewayChange, GatewayError, GatewaySettings, Staging,
};
use syncdesk_engine::model::ApiRole;
use syncdesk_engine::ratelimit::Rule;
use tokio::io::AsyncReadExt;

use self::fields::{Form, Plan, Source, bad_request};
use self::read::{GatewayBody, Part};
use crate::ApiState;
use crate::auth;
use crate::reply::Failure;

pub use self::read::{STALL_TIMEOUT, TEXT_LIMIT};

/// The four endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Sync,
    Third,
    List,
    File,
}

pub async fn sync(State(st): State<ApiState>, req: Request) -> Response {
    handle(st, req, Endpoint::Sync).await
}

pub async fn sync_3rd(State(st): State<ApiState>, req: Request) -> Response {
    handle(st, req, Endpoint::Third).await
}

pub async fn list(State(st): State<ApiState>, req: Request) -> Response {
    handle(st, req, Endpoint::List).await
}

pub async fn file(State(st): State<ApiState>, req: Request) -> Response {
    handle(st, req, Endpoint::File).await
}

/// A failure, and for 429 how long to wait.
struct Refusal {
    failure: Failure,
    retry_after: Option<u64>,
}

impl From<Failure> for Refusal {
    fn from(failure: Failure) -> Self {
        Refusal {
            failure,
            retry_after: None,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut res = self.failure.into_response();
        if let Some(secs) = self.retry_after {
            // `render` keeps the headers a failure comes with.
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs.max(1)));
        }
        res
    }
}

impl From<GatewayError> for Refusal {
    fn from(e: GatewayError) -> Self {
        let e = match e {
            GatewayError::Engine(inner) => return Failure::from(inner).into(),
            other => other,
        };
        let status = match &e {
            GatewayError::BadPath(_) | GatewayError::BadRequest(_) => StatusCode::BAD_REQUEST,
            GatewayError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            GatewayError::Forbidden(_) | GatewayError::Disabled(_) => StatusCode::FORBIDDEN,
            GatewayError::NotFound(_) => StatusCode::NOT_FOUND,
            GatewayError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            GatewayError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            GatewayError::DiskFull(_) => StatusCode::INSUFFICIENT_STORAGE,
            GatewayError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            GatewayError::Engine(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retry_after = match &e {
            GatewayError::RateLimited { retry_after_secs } => Some(*retry_after_secs),
            _ => None,
        };
        Refusal {
            failure: Failure::http(status, e.code(), e.to_string()),
            retry_after,
        }
    }
}

async fn handle(st: ApiState, req: Request, endpoint: Endpoint) -> Response {
    let (parts, body) = req.into_parts();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let mut body = GatewayBody::new(body);
    match serve(&st, &parts.headers, peer, &mut body, endpoint).await {
        Ok(res) => res,
        Err(refusal) => {
            // Refused while the client may still be sending: read the rest (bounded) so it
            // sees the answer.
            body.drain().await;
            refusal.into_response()
        }
    }
}

async fn serve(
    st: &ApiState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    body: &mut GatewayBody,
    endpoint: Endpoint,
) -> Result<Response, Refusal> {
    let settings = engine(st, |e| Ok(e.gateway_settings()?)).await?;
    if endpoint == Endpoint::Third && !settings.sync_by_3rd {
        return Err(Failure::http(
            StatusCode::FORBIDDEN,
            "disabled",
            "this site takes no public uploads: sync_by_3rd is off in its gateway settings",
        )
        .into());
    }
    let session = match auth::header_caller(st, headers).await? {
        Some(caller) if caller.role != ApiRole::Admin => {
            return Err(Failure::http(
                StatusCode::FORBIDDEN,
                "forbidden",
                format!(
                    "the API token {:?} is read-only; the gateway takes an admin token \
                     (the site owner's session) or fb_token",
                    caller.token
                ),
            )
            .into());
        }
        Some(_) => true,
        None => false,
    };
    let ctx = Context {
        st,
        settings: &settings,
        session,
        peer,
        endpoint,
    };
    body.open(headers, settings.max_file_size).await?;
    let mut form = Form::default();
    let mut who: Option<Who> = None;
    let mut staged: Option<Staging> = None;
    while let Some(part) = body.next().await? {
        match part {
            Part::Text(name, value) => {
                if name == "fb_token" && who.is_some() {
                    return Err(bad_request(
                        "fb_token must come before the file part: the file is written as \
                         it arrives, once the caller is known",
                    )
                    .into());
                }
                form.add(&name, value)?;
            }
            // The read-only endpoints take no file: an unknown field to them.
            Part::File { .. } if matches!(endpoint, Endpoint::List | Endpoint::File) => {}
            Part::File { filename } => {
                form.add_file()?;
                let caller = match &who {
                    Some(w) => w,
                    None => who.insert(ctx.settle(form.fb_token.as_deref()).await?),
                };
                let folder = caller.caller.folder.clone();
                let staging = engine(st, move |e| e.gateway_staging(&folder)).await?;
                let size = stream_to(body, &staging, settings.max_file_size).await?;
                if size == 0 && filename.as_deref() == Some("") {
                    // A browser form with no file chosen: as if the part were absent.
                    form.file = false;
                } else {
                    staged = Some(staging);
                }
            }
        }
    }
    let who = match who {
        Some(w) => w,
        None => ctx.settle(form.fb_token.as_deref()).await?,
    };
    match endpoint {
        Endpoint::Sync => ctx.apply_basic(who, form, staged).await,
        Endpoint::Third => ctx.apply_third(who, form, staged).await,
        Endpoint::List => {
            let folder = who.caller.folder;
            let files = engine(st, move |e| e.gateway_list(&folder)).await?;
            Ok(Json(json!({ "files": files })).into_response())
        }
        Endpoint::File => {
            let path = form.required_path()?.to_owned();
            let folder = who.caller.folder;
            let (file, size) = engine(st, move |e| e.gateway_open(&folder, &path)).await?;
            Ok(download(file, size))
        }
    }
}

/// Copies the `file` part into the staging file: its size.
async fn stream_to(body: &mut GatewayBody, staging: &Staging, max: u64) -> Result<u64, Failure> {
    let handle = staging
        .file()
        .try_clone()
        .map_err(|e| Failure::internal(format!("cannot open the staging file: {e}")))?;
    let mut file = tokio::fs::File::from_std(handle);
    body.copy_file(&mut file, max).await
}

/// The caller, once known.
struct Who {
    caller: GatewayCaller,
    /// By a gateway token or the session (not anonymous).
    logged_in: bool,
}

/// What every step of a request needs.
struct Context<'a> {
    st: &'a ApiState,
    settings: &'a GatewaySettings,
    session: bool,
    peer: Option<IpAddr>,
    endpoint: Endpoint,
}

impl Context<'_> {
    /// Who is calling (401 when nobody acceptable), counted against the rate limits (429).
    async fn settle(&self, fb_token: Option<&str>) -> Result<Who, Refusal> {
        if self.session && fb_token.is_some() {
            return Err(
                bad_request("send either fb_token or an Authorization header, not both").into(),
            );
        }
        let known = if self.session {
            Some(engine(self.st, |e| e.gateway_owner()).await?)
        } else if let Some(token) = fb_token {
            let token = token.to_owned();
            Some(engine(self.st, move |e| e.gateway_caller(&token)).await?)
        } else {
            None
        };
        let who = if self.endpoint == Endpoint::Third {
            // Public uploads always go to the site's folder, whoever the token's is.
            let Some(folder) = self.settings.folder.clone() else {
                return Err(Failure::http(
                    StatusCode::FORBIDDEN,
                    "disabled",
                    "this site has no gateway folder set, so it takes no uploads",
                )
                .into());
            };
            match known {
                Some(c) => Who {
                    caller: GatewayCaller {
                        account: c.account,
                        folder,
                        session: c.session,
                    },
                    logged_in: true,
                },
                None if self.settings.sync_by_3rd_public => Who {
                    caller: GatewayCaller {
                        account: None,
                        folder,
                        session: false,
                    },
                    logged_in: false,
                },
                None => {
                    return Err(unauthorized(
                        "anonymous uploads are off on this site (sync_by_3rd_public): send \
                         fb_token",
                    )
                    .into());
                }
            }
        } else {
            let Some(caller) = known else {
                return Err(unauthorized(
                    "send fb_token (a gateway token) or Authorization: Token <admin API token>",
                )
                .into());
            };
            Who {
                caller,
                logged_in: true,
            }
        };
        let keys = self.limit_keys(&who)?;
        if !keys.is_empty() {
            engine(self.st, move |e| e.gateway_admit(&keys)).await?;
        }
        Ok(who)
    }

    /// The rate-limit keys of a call (seed 003, "限制"): none for list and file.
    fn limit_keys(&self, who: &Who) -> Result<Vec<(String, Vec<Rule>)>, Failure> {
        let s = self.settings;
        let account = who.caller.account.as_deref().unwrap_or_default();
        Ok(match self.endpoint {
            Endpoint::Sync => vec![(format!("account:{account}"), s.account_limits.clone())],
            Endpoint::Third if who.logged_in => vec![
                (
                    format!("3rd-account:{account}"),
                    s.public_account_limits.clone(),
                ),
                ("3rd-site".to_owned(), s.site_limits.clone()),
            ],
            Endpoint::Third => {
                let Some(ip) = self.peer else {
                    return Err(Failure::internal(
                        "the client's address is unknown, so an anonymous upload cannot be \
                         rate-limited",
                    ));
                };
                vec![
                    (ip_key(ip), s.public_ip_limits.clone()),
                    ("3rd-site".to_owned(), s.site_limits.clone()),
                ]
            }
            Endpoint::List | Endpoint::File => Vec::new(),
        })
    }

    async fn apply_basic(
        &self,
        who: Who,
        form: Form,
        staged: Option<Staging>,
    ) -> Result<Response, Refusal> {
        let plan = form.basic_plan()?;
        let path = form.required_path()?.to_owned();
        let (content, is_deleted, is_dir) = match plan {
            // The engine removes whatever is at the path, so is_dir adds nothing to a delete.
            Plan::Delete => (Content::Empty, true, false),
            Plan::Directory => (Content::Empty, false, true),
            Plan::Write(source) => (self.content(&form, source, staged)?, false, false),
        };
        let change = GatewayChange {
            path,
            content,
            is_deleted,
            is_dir,
            // The seed: false by default with a token, always true for the logged-in owner.
            push_to_cloud: who.caller.session || form.push_to_cloud.unwrap_or(false),
        };
        self.apply(who.caller, change).await
    }

    async fn apply_third(
        &self,
        who: Who,
        form: Form,
        staged: Option<Staging>,
    ) -> Result<Response, Refusal> {
        let source = form.third_party_source()?;
        let folder = who.caller.folder.clone();
        let path = match form.path.clone() {
            Some(path) => {
                if !who.logged_in {
                    return Err(bad_request(
                        "path needs a logged-in caller (fb_token): an anonymous upload gets \
                         a new path under share/",
                    )
                    .into());
                }
                let (f, p) = (folder.clone(), path.clone());
                let owner = engine(self.st, move |e| e.gateway_owner_of(&f, &p)).await?;
                if owner.is_none() || owner != who.caller.account {
                    return Err(Failure::http(
                        StatusCode::FORBIDDEN,
                        "forbidden",
                        format!(
                            "you may only replace files you uploaded yourself, and {path:?} \
                             is not one of them"
                        ),
                    )
                    .into());
                }
                path
            }
            None => {
                let (dir, ext) = (form.folder_3rd.clone(), form.ext_3rd.clone());
                engine(self.st, move |e| {
                    e.gateway_3rd_path(&folder, dir.as_deref(), ext.as_deref())
                })
                .await?
            }
        };
        let change = GatewayChange {
            path,
            content: self.content(&form, source, staged)?,
            is_deleted: false,
            is_dir: false,
            push_to_cloud: true,
        };
        self.apply(who.caller, change).await
    }

    fn content(
        &self,
        form: &Form,
        source: Source,
        staged: Option<Staging>,
    ) -> Result<Content, Failure> {
        match form.inline_content(source, self.settings.max_file_size)? {
            Some(bytes) => Ok(Content::Bytes(bytes)),
            None => staged
                .map(Content::Staged)
                .ok_or_else(|| Failure::internal("the file part was not staged")),
        }
    }

    async fn apply(
        &self,
        caller: GatewayCaller,
        change: GatewayChange,
    ) -> Result<Response, Refusal> {
        let outcome = engine(self.st, move |e| e.gateway_apply(&caller, change)).await?;
        Ok(Json(outcome).into_response())
    }
}

fn unauthorized(message: &str) -> Failure {
    Failure::http(StatusCode::UNAUTHORIZED, "unauthorized", message)
}

/// The rate-limit key of an anonymous caller: its IPv4 address, or its IPv6 /64 (one
/// machine usually holds a whole /64, and could otherwise take a fresh address per call).
fn ip_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("3rd-ip:{v4}"),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("3rd-ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// A file's bytes, streamed as they are read.
fn download(file: std::fs::File, size: u64) -> Response {
    const CHUNK: usize = 64 * 1024;
    let reader = tokio::fs::File::from_std(file).take(size);
    let stream = futures::stream::unfold(Some(reader), |reader| async move {
        let mut reader = reader?;
        let mut buf = vec![0u8; CHUNK];
        match reader.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), Some(reader)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    let mut res = Body::from_stream(stream).into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    res
}

/// Runs an engine call on a blocking thread.
async fn engine<T, F>(st: &ApiState, f: F) -> Result<T, Refusal>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, GatewayError> + Send + 'static,
{
    let engine = st.engine.clone();
    match tokio::task::spawn_blocking(move || f(&engine)).await {
        Ok(result) => result.map_err(Refusal::from),
        Err(e) => Err(Failure::internal(format!("the operation stopped unexpectedly: {e}")).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anonymous_callers_are_counted_by_ipv4_or_ipv6_64() {
        assert_eq!(ip_key("127.0.0.7".parse().unwrap()), "3rd-ip:127.0.0.7");
        assert_eq!(
            ip_key("::ffff:10.1.2.3".parse().unwrap()),
            "3rd-ip:10.1.2.3"
        );
        assert_eq!(
            ip_key("2001:db8:1:2:3:4:5:6".parse().unwrap()),
            "3rd-ip:2001:db8:1:2::/64"
        );
        assert_eq!(
            ip_key("2001:db8:1:2:ffff::1".parse().unwrap()),
            ip_key("2001:db8:1:2::9".parse().unwrap())
        );
    }
}
