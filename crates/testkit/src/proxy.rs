//! A fault-injecting HTTP/1.1 reverse proxy.
//!
//! Each client connection is paired with its own upstream connection (opened on the first
//! forwarded request, kept while both sides keep their connections alive), so the upstream sees
//! the client's own keep-alive pattern. Requests and responses pass through byte for byte: the
//! request head as received (Host and every other header unchanged, in their order and case),
//! bodies streamed in both directions, interim `100 Continue` responses relayed.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::runtime::Runtime;

use crate::http1::{
    CopyError, Framing, Reader, RequestHead, ResponseHead, parse_request, parse_response,
};

/// What the proxy does to a request instead of forwarding it faithfully.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// Answers this status (with `Retry-After` when given) without forwarding the request.
    Status {
        code: u16,
        retry_after: Option<String>,
    },
    /// Closes the connection without answering, with a TCP RST (SO_LINGER 0).
    Reset,
    /// Accepts the request, sends nothing for `secs` seconds, then closes the connection. The
    /// request is not forwarded.
    Stall { secs: u64 },
    /// Forwards the request, then sends the response head with the full `Content-Length` (a
    /// chunked or close-delimited response gets the length of its whole body) but only the
    /// first half of the body, and closes the connection.
    Truncate,
    /// Answers `201 Created` to a PUT without forwarding it (a server that lies about a write).
    /// Reads the request body (after a `100 Continue` when the client asks for one). Applies to
    /// PUT requests only, whatever the fault's method filter.
    SwallowPut,
}

/// A fault to inject, with the requests it applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub kind: FaultKind,
    /// Only requests with this method (compared case-insensitively); any method when `None`.
    pub method: Option<String>,
    /// How many matching requests it applies to; [`Fault::FOREVER`] never runs out. A fault
    /// injected with 0 never applies.
    pub times: u32,
}

impl Fault {
    /// `times` value of a fault that applies to every matching request until
    /// [`FaultProxy::clear`].
    pub const FOREVER: u32 = u32::MAX;

    /// A fault of this kind, for the next request of any method.
    pub fn new(kind: FaultKind) -> Fault {
        Fault {
            kind,
            method: None,
            times: 1,
        }
    }

    /// Answer `code` without forwarding.
    pub fn status(code: u16) -> Fault {
        Fault::new(FaultKind::Status {
            code,
            retry_after: None,
        })
    }

    /// Close the connection with a TCP reset, without answering.
    pub fn reset() -> Fault {
        Fault::new(FaultKind::Reset)
    }

    /// Send nothing for `secs` seconds, then close.
    pub fn stall(secs: u64) -> Fault {
        Fault::new(FaultKind::Stall { secs })
    }

    /// Forward, then send only half of the response body.
    pub fn truncate() -> Fault {
        Fault::new(FaultKind::Truncate)
    }

    /// Acknowledge a PUT without forwarding it.
    pub fn swallow_put() -> Fault {
        Fault::new(FaultKind::SwallowPut)
    }

    /// Adds a `Retry-After` header (seconds or an HTTP date) to a status fault.
    ///
    /// # Panics
    /// When the fault is not a [`FaultKind::Status`].
    pub fn retry_after(mut self, value: &str) -> Fault {
        match &mut self.kind {
            FaultKind::Status { retry_after, .. } => *retry_after = Some(value.to_string()),
            other => panic!("Fault::retry_after applies to FaultKind::Status only, not {other:?}"),
        }
        self
    }

    /// Applies only to requests with this method.
    pub fn method(mut self, method: &str) -> Fault {
        self.method = Some(method.to_string());
        self
    }

    /// Applies to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Fault {
        self.times = n;
        self
    }

    /// Applies to every matching request until [`FaultProxy::clear`].
    pub fn forever(self) -> Fault {
        self.times(Fault::FOREVER)
    }

    fn matches(&self, method: &str) -> bool {
        if self.times == 0 {
            return false;
        }
        if self.kind == FaultKind::SwallowPut && !method.eq_ignore_ascii_case("PUT") {
            return false;
        }
        self.method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
    }
}

/// Request counts of a proxy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// Requests received (faulted or not).
    pub total: u64,
    /// Requests forwarded upstream.
    pub forwarded: u64,
    /// Requests received, by method.
    pub by_method: BTreeMap<String, u64>,
}

impl Counts {
    /// `{"total": N, "forwarded": N, "by_method": {"GET": N, ...}}`
    pub fn to_json(&self) -> String {
        serde_json::json!({
            "total": self.total,
            "forwarded": self.forwarded,
            "by_method": self.by_method,
        })
        .to_string()
    }
}

struct Shared {
    /// host:port of the upstream.
    upstream: String,
    faults: Mutex<VecDeque<Fault>>,
    total: AtomicU64,
    forwarded: AtomicU64,
    by_method: Mutex<BTreeMap<String, u64>>,
}

/// Locks a mutex; a panic elsewhere while holding it leaves plain data that is still usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    fn count(&self, method: &str) {
        self.total.fetch_add(1, Ordering::SeqCst);
        *lock(&self.by_method).entry(method.to_string()).or_insert(0) += 1;
    }

    /// Takes one use of the first queued fault that matches `method`.
    fn take_fault(&self, method: &str) -> Option<FaultKind> {
        let mut faults = lock(&self.faults);
        let i = faults.iter().position(|f| f.matches(method))?;
        let fault = &mut faults[i];
        let kind = fault.kind.clone();
        if fault.times != Fault::FOREVER {
            fault.times -= 1;
            if fault.times == 0 {
                faults.remove(i);
            }
        }
        Some(kind)
    }

    fn counts(&self) -> Counts {
        Counts {
            total: self.total.load(Ordering::SeqCst),
            forwarded: self.forwarded.load(Ordering::SeqCst),
            by_method: lock(&self.by_method).clone(),
        }
    }
}

/// A real HTTP/1.1 reverse proxy on a loopback port in front of one upstream, which forwards
/// faithfully except for the [`Fault`]s injected into it. It runs on its own tokio runtime, so
/// it is used from ordinary synchronous tests; dropping it stops it and closes its connections.
///
/// ```no_run
/// use syncdesk_testkit::{Fault, FaultProxy};
/// let proxy = FaultProxy::start("http://127.0.0.1:9000");
/// proxy.inject(Fault::status(503).retry_after("1").times(2));
/// proxy.inject(Fault::reset().method("PUT"));
/// // point the client at proxy.url() ...
/// assert_eq!(proxy.requests(), 0);
/// ```
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("url", &self.url())
            .field("upstream", &self.shared.upstream)
            .finish()
    }
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:<free port>` in front of `upstream` (`http://host:port`;
    /// a path in it is ignored: request paths are forwarded as they come).
    ///
    /// # Panics
    /// When the upstream URL is not plain `http://host[:port]` or no port can be bound.
    pub fn start(upstream: &str) -> FaultProxy {
        FaultProxy::bind("127.0.0.1:0", upstream)
            .unwrap_or_else(|e| panic!("cannot start a fault proxy in front of {upstream}: {e}"))
    }

    /// Starts a proxy listening on `listen` (`host:port`, port 0 for a free one).
    pub fn bind(listen: &str, upstream: &str) -> io::Result<FaultProxy> {
        let upstream = upstream_authority(upstream)?;
        let listen_addr = listen.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("no address for {listen}"),
            )
        })?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("faultproxy")
            .enable_all()
            .build()?;
        let listener = {
            let _context = runtime.enter();
            let socket = if listen_addr.is_ipv4() {
                TcpSocket::new_v4()?
            } else {
                TcpSocket::new_v6()?
            };
            socket.set_reuseaddr(true)?;
            socket.bind(listen_addr)?;
            socket.listen(1024)?
        };
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            upstream,
            faults: Mutex::new(VecDeque::new()),
            total: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            by_method: Mutex::new(BTreeMap::new()),
        });
        runtime.spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(FaultProxy {
            shared,
            addr,
            runtime: Some(runtime),
        })
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `url` with its scheme and authority replaced by the proxy's, e.g. a WebDAV server's
    /// `http://127.0.0.1:8080/dav/` becomes `http://127.0.0.1:<proxy port>/dav/`.
    pub fn proxied(&self, url: &str) -> String {
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let path = rest.find('/').map_or("/", |i| &rest[i..]);
        format!("{}{}", self.url(), path)
    }

    /// Queues a fault; it applies to the next request(s) it matches, in the order queued.
    pub fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            lock(&self.shared.faults).push_back(fault);
        }
    }

    /// Drops every queued fault.
    pub fn clear(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Faults still queued (those not yet used up).
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.faults).len()
    }

    /// Requests received, faulted or not.
    pub fn requests(&self) -> u64 {
        self.shared.total.load(Ordering::SeqCst)
    }

    /// Requests received, by method.
    pub fn requests_by_method(&self) -> BTreeMap<String, u64> {
        lock(&self.shared.by_method).clone()
    }

    /// Requests forwarded upstream (a response head came back for them).
    pub fn forwarded(&self) -> u64 {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// All the counters at once.
    pub fn counts(&self) -> Counts {
        self.shared.counts()
    }

    /// Sets every counter back to zero (e.g. to count one phase of a benchmark).
    pub fn reset_counts(&self) {
        let mut by_method = lock(&self.shared.by_method);
        self.shared.total.store(0, Ordering::SeqCst);
        self.shared.forwarded.store(0, Ordering::SeqCst);
        by_method.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            // Unlike dropping it, allowed inside an async context too.
            runtime.shutdown_background();
        }
    }
}

/// `host:port` of a plain-HTTP upstream URL (or of a bare `host:port`).
fn upstream_authority(upstream: &str) -> io::Result<String> {
    let bad = |why: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("upstream {upstream:?}: {why}"),
        )
    };
    let rest = match upstream.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") => rest,
        Some((scheme, _)) => {
            return Err(bad(&format!("scheme {scheme} is not supported, only http")));
        }
        None => upstream,
    };
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("expected http://host[:port]"));
    }
    let has_port = match authority.rfind(']') {
        Some(end) => authority[end..].contains(':'),
        None => authority.contains(':'),
    };
    Ok(if has_port {
        authority.to_string()
    } else {
        format!("{authority}:80")
    })
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(serve_client(Arc::clone(&shared), stream));
            }
            Err(e) => {
                // Out of file descriptors and the like: wait for connections to close.
                eprintln!("faultproxy: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Whether the connection to the client can take another request after this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    Open,
    Close,
}

async fn serve_client(shared: Arc<Shared>, client: TcpStream) {
    // Best effort: only latency depends on it.
    let _ = client.set_nodelay(true);
    let (rd, mut wr) = client.into_split();
    let mut rd = Reader::new(rd);
    let mut upstream: Option<Upstream> = None;
    loop {
        let head = match rd.read_head(parse_request, |h| h.raw.len()).await {
            Ok(Some(head)) => head,
            Ok(None) => return,
            Err(e) => {
                if e.kind() == io::ErrorKind::InvalidData {
                    let body = format!("faultproxy: {e}\n");
                    let _ = write_simple(&mut wr, 400, None, &body, true, false).await;
                }
                return;
            }
        };
        shared.count(&head.method);
        let keep = match shared.take_fault(&head.method) {
            None => forward(&shared, &head, &mut rd, &mut wr, &mut upstream, false).await,
            Some(FaultKind::Truncate) => {
                forward(&shared, &head, &mut rd, &mut wr, &mut upstream, true).await
            }
            Some(FaultKind::Status { code, retry_after }) => {
                answer_status(&head, &mut rd, &mut wr, code, retry_after.as_deref()).await
            }
            Some(FaultKind::SwallowPut) => swallow(&head, &mut rd, &mut wr).await,
            Some(FaultKind::Stall { secs }) => {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                Keep::Close
            }
            Some(FaultKind::Reset) => {
                reset(rd.inner, wr);
                return;
            }
        };
        if keep == Keep::Close {
            // Dropping the write half sends FIN after whatever was written.
            return;
        }
    }
}

/// Closes the client connection with a TCP RST rather than a FIN.
fn reset(rd: OwnedReadHalf, wr: OwnedWriteHalf) {
    // Reuniting also stops the write half from sending a FIN when it is dropped.
    if let Ok(stream) = rd.reunite(wr) {
        // With a zero linger time, close() sends RST and discards unsent data.
        let _ = stream.set_zero_linger();
        drop(stream);
    }
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        409 => "Conflict",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        423 => "Locked",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        507 => "Insufficient Storage",
        _ => "Injected Fault",
    }
}

/// Writes a complete response made by the proxy itself.
async fn write_simple(
    wr: &mut OwnedWriteHalf,
    code: u16,
    retry_after: Option<&str>,
    body: &str,
    close: bool,
    head_only: bool,
) -> io::Result<()> {
    let mut msg = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n",
        reason_phrase(code),
        body.len()
    );
    if let Some(value) = retry_after {
        msg.push_str(&format!("Retry-After: {value}\r\n"));
    }
    if close {
        msg.push_str("Connection: close\r\n");
    }
    msg.push_str("\r\n");
    if !head_only {
        msg.push_str(body);
    }
    wr.write_all(msg.as_bytes()).await
}

/// Discards a request body. Ok(false) when the client is to be answered and then disconnected
/// instead (it waits for `100 Continue` before sending a body the proxy will not ask for).
async fn drain_request_body(
    head: &RequestHead,
    rd: &mut Reader<OwnedReadHalf>,
) -> Result<bool, CopyError> {
    if head.body == Framing::None {
        return Ok(true);
    }
    if head.expect_continue {
        return Ok(false);
    }
    rd.copy_body(&mut tokio::io::sink(), head.body).await?;
    Ok(true)
}

async fn answer_status(
    head: &RequestHead,
    rd: &mut Reader<OwnedReadHalf>,
    wr: &mut OwnedWriteHalf,
    code: u16,
    retry_after: Option<&str>,
) -> Keep {
    let keep = match drain_request_body(head, rd).await {
        Ok(drained) => drained && !head.close,
        Err(_) => return Keep::Close,
    };
    let body = format!("faultproxy: injected HTTP {code}\n");
    let head_only = head.method.eq_ignore_ascii_case("HEAD");
    match write_simple(wr, code, retry_after, &body, !keep, head_only).await {
        Ok(()) if keep => Keep::Open,
        _ => Keep::Close,
    }
}

async fn swallow(
    head: &RequestHead,
    rd: &mut Reader<OwnedReadHalf>,
    wr: &mut OwnedWriteHalf,
) -> Keep {
    if head.expect_continue
        && head.body != Framing::None
        && wr
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .await
            .is_err()
    {
        return Keep::Close;
    }
    if rd
        .copy_body(&mut tokio::io::sink(), head.body)
        .await
        .is_err()
    {
        return Keep::Close;
    }
    let mut msg = String::from("HTTP/1.1 201 Created\r\nContent-Length: 0\r\n");
    if head.close {
        msg.push_str("Connection: close\r\n");
    }
    msg.push_str("\r\n");
    match wr.write_all(msg.as_bytes()).await {
        Ok(()) if !head.close => Keep::Open,
        _ => Keep::Close,
    }
}

/// One connection to the upstream.
struct Upstream {
    rd: Reader<OwnedReadHalf>,
    wr: OwnedWriteHalf,
}

impl Upstream {
    async fn connect(authority: &str) -> io::Result<Upstream> {
        let stream = TcpStream::connect(authority).await?;
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        Ok(Upstream {
            rd: Reader::new(rd),
            wr,
        })
    }

    /// Whether an idle connection is still open (the upstream may have closed it meanwhile).
    fn is_alive(&self) -> bool {
        if self.rd.has_buffered() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.rd.inner.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// How relaying a response failed.
enum RelayError {
    /// The upstream closed or failed before sending anything.
    NoResponse(String),
    /// The upstream failed before anything was sent to the client.
    BeforeClient(String),
    /// Something failed after part of the response went to the client.
    Broken,
}

/// Forwards one request and relays its response. `truncate`: see [`FaultKind::Truncate`].
async fn forward(
    shared: &Shared,
    head: &RequestHead,
    crd: &mut Reader<OwnedReadHalf>,
    cwr: &mut OwnedWriteHalf,
    upstream: &mut Option<Upstream>,
    truncate: bool,
) -> Keep {
    let mut retried = false;
    loop {
        let (mut conn, reused) = match upstream.take() {
            Some(conn) if conn.is_alive() => (conn, true),
            _ => match Upstream::connect(&shared.upstream).await {
                Ok(conn) => (conn, false),
                Err(e) => {
                    let body = format!("faultproxy: cannot connect to {}: {e}\n", shared.upstream);
                    let head_only = head.method.eq_ignore_ascii_case("HEAD");
                    let _ = write_simple(cwr, 502, None, &body, true, head_only).await;
                    return Keep::Close;
                }
            },
        };
        // A kept-alive connection the upstream closed just as it was reused: a request without
        // a body can safely go again on a new one.
        let may_retry = reused && !retried && head.body == Framing::None;
        match exchange(shared, head, crd, cwr, &mut conn, truncate).await {
            Ok(Keep::Open) => {
                *upstream = Some(conn);
                return Keep::Open;
            }
            Ok(Keep::Close) | Err(RelayError::Broken) => return Keep::Close,
            Err(RelayError::NoResponse(_)) if may_retry => {
                retried = true;
                continue;
            }
            Err(RelayError::NoResponse(why) | RelayError::BeforeClient(why)) => {
                let body = format!("faultproxy: upstream {}: {why}\n", shared.upstream);
                let head_only = head.method.eq_ignore_ascii_case("HEAD");
                let _ = write_simple(cwr, 502, None, &body, true, head_only).await;
                return Keep::Close;
            }
        }
    }
}

async fn exchange(
    shared: &Shared,
    head: &RequestHead,
    crd: &mut Reader<OwnedReadHalf>,
    cwr: &mut OwnedWriteHalf,
    conn: &mut Upstream,
    truncate: bool,
) -> Result<Keep, RelayError> {
    if let Err(e) = conn.wr.write_all(&head.raw).await {
        return Err(RelayError::NoResponse(format!("sending the request: {e}")));
    }
    // The request body goes up while the response comes down: the upstream may answer
    // `100 Continue` first, or answer early without reading the body.
    let body = crd.copy_body(&mut conn.wr, head.body);
    let response = relay_response(shared, &head.method, &mut conn.rd, cwr, truncate);
    tokio::pin!(body);
    tokio::pin!(response);
    let mut body_done: Option<Result<(), CopyError>> = None;
    let relayed = loop {
        tokio::select! {
            // The body first: without a body it is done at once, and the response (which may
            // already be there) must not be taken for an early one.
            biased;
            r = &mut body, if body_done.is_none() => {
                if let Err(CopyError::Read(_)) = r {
                    // The client went away in the middle of its body: so does the upstream.
                    return Err(RelayError::Broken);
                }
                body_done = Some(r);
            }
            r = &mut response => break r,
        }
    };
    let keep = relayed?;
    // A body the upstream did not read leaves both connections out of step.
    let body_complete = head.body == Framing::None || matches!(body_done, Some(Ok(())));
    Ok(if keep == Keep::Open && body_complete && !head.close {
        Keep::Open
    } else {
        Keep::Close
    })
}

async fn relay_response(
    shared: &Shared,
    method: &str,
    up: &mut Reader<OwnedReadHalf>,
    cwr: &mut OwnedWriteHalf,
    truncate: bool,
) -> Result<Keep, RelayError> {
    let mut sent_interim = false;
    loop {
        let head = match up.read_head(parse_response, |h| h.raw.len()).await {
            Ok(Some(head)) => head,
            Ok(None) if !sent_interim => {
                return Err(RelayError::NoResponse("closed the connection".into()));
            }
            Err(e) if !sent_interim => return Err(RelayError::BeforeClient(e.to_string())),
            Ok(None) | Err(_) => return Err(RelayError::Broken),
        };
        if (100..200).contains(&head.status) && head.status != 101 {
            cwr.write_all(&head.raw)
                .await
                .map_err(|_| RelayError::Broken)?;
            sent_interim = true;
            continue;
        }
        shared.forwarded.fetch_add(1, Ordering::SeqCst);
        let framing = head.framing(method);
        if truncate {
            return truncate_response(&head, framing, up, cwr)
                .await
                .map(|()| Keep::Close);
        }
        cwr.write_all(&head.raw)
            .await
            .map_err(|_| RelayError::Broken)?;
        up.copy_body(cwr, framing)
            .await
            .map_err(|_| RelayError::Broken)?;
        let reusable = !head.close && framing != Framing::UntilClose && head.status != 101;
        return Ok(if reusable { Keep::Open } else { Keep::Close });
    }
}

/// Sends the response head with the length of the whole body, and half of the body.
async fn truncate_response(
    head: &ResponseHead,
    framing: Framing,
    up: &mut Reader<OwnedReadHalf>,
    cwr: &mut OwnedWriteHalf,
) -> Result<(), RelayError> {
    match framing {
        Framing::None => cwr
            .write_all(&head.raw)
            .await
            .map_err(|_| RelayError::Broken),
        Framing::Length(n) => {
            cwr.write_all(&head.raw)
                .await
                .map_err(|_| RelayError::Broken)?;
            up.copy_exact(cwr, n / 2)
                .await
                .map_err(|_| RelayError::Broken)
        }
        Framing::Chunked | Framing::UntilClose => {
            // No length to announce yet: read the whole body first (a fault path, not the
            // pass-through one).
            let mut body = Vec::new();
            let read = if framing == Framing::Chunked {
                up.copy_chunked(&mut body, true).await
            } else {
                up.copy_to_eof(&mut body).await
            };
            read.map_err(|e| RelayError::BeforeClient(e.to_string()))?;
            let mut raw = format!(
                "HTTP/1.{} {} {}\r\n",
                head.minor_version, head.status, head.reason
            )
            .into_bytes();
            for (name, value) in &head.headers {
                if name.eq_ignore_ascii_case("transfer-encoding")
                    || name.eq_ignore_ascii_case("content-length")
                {
                    continue;
                }
                raw.extend_from_slice(name.as_bytes());
                raw.extend_from_slice(b": ");
                raw.extend_from_slice(value);
                raw.extend_from_slice(b"\r\n");
            }
            raw.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            raw.extend_from_slice(&body[..body.len() / 2]);
            cwr.write_all(&raw).await.map_err(|_| RelayError::Broken)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_authority_forms() {
        assert_eq!(
            upstream_authority("http://127.0.0.1:9000").unwrap(),
            "127.0.0.1:9000"
        );
        assert_eq!(
            upstream_authority("http://127.0.0.1:9000/dav/").unwrap(),
            "127.0.0.1:9000"
        );
        assert_eq!(upstream_authority("localhost").unwrap(), "localhost:80");
        assert_eq!(upstream_authority("http://[::1]").unwrap(), "[::1]:80");
        assert_eq!(upstream_authority("http://[::1]:81").unwrap(), "[::1]:81");
        assert!(upstream_authority("https://127.0.0.1:9000").is_err());
        assert!(upstream_authority("http://").is_err());
    }

    #[test]
    fn fault_matching_and_use() {
        let shared = Shared {
            upstream: String::new(),
            faults: Mutex::new(VecDeque::new()),
            total: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            by_method: Mutex::new(BTreeMap::new()),
        };
        lock(&shared.faults).push_back(Fault::swallow_put());
        lock(&shared.faults).push_back(Fault::status(500).method("get").times(2));
        assert_eq!(
            shared.take_fault("GET"),
            Some(FaultKind::Status {
                code: 500,
                retry_after: None
            })
        );
        assert_eq!(shared.take_fault("PUT"), Some(FaultKind::SwallowPut));
        assert_eq!(shared.take_fault("PUT"), None);
        assert!(shared.take_fault("GET").is_some());
        assert_eq!(shared.take_fault("GET"), None);
        lock(&shared.faults).push_back(Fault::reset().forever());
        for _ in 0..5 {
            assert_eq!(shared.take_fault("DELETE"), Some(FaultKind::Reset));
        }
    }

    #[test]
    fn proxied_urls() {
        let proxy = FaultProxy::start("http://127.0.0.1:9");
        let base = proxy.url();
        assert_eq!(
            proxy.proxied("http://127.0.0.1:8080/dav/"),
            format!("{base}/dav/")
        );
        assert_eq!(proxy.proxied("http://127.0.0.1:8080"), format!("{base}/"));
    }

    #[test]
    #[should_panic(expected = "FaultKind::Status only")]
    fn retry_after_needs_a_status() {
        let _ = Fault::reset().retry_after("1");
    }
}
