//! The listener: HTTP/1.1 with a deadline for request headers (a client that trickles them
//! holds nothing for long), WebSocket upgrades, and a graceful stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use syncdesk_engine::Engine;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::Service;

use crate::ServerConfig;

/// A client must send its request headers within this.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Requests still running when the server stops get this long to finish.
const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "cannot listen on {addr}: {source} (is another Syncdesk serving there? pick another port)"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running server; [`Server::stop`] ends it. Dropping it stops it too (the accept loop
/// and the WebSockets see the sender go), without waiting.
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds `config.listen` and serves on the current Tokio runtime (a multi-thread one: a
    /// known token is checked in place with `block_in_place`).
    pub async fn start(engine: Arc<Engine>, config: ServerConfig) -> Result<Server, ServerError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| ServerError::Bind {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
        // With port 0 the real port is known only now; the Host check needs it.
        let config = ServerConfig {
            listen: addr,
            ..config
        };
        let (stop, stopped) = watch::channel(false);
        let app = crate::router(engine, &config, stopped.clone());
        let task = tokio::spawn(accept(listener, app, stopped));
        tracing::info!(%addr, "serving the API");
        Ok(Server { addr, stop, task })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes WebSockets, lets running requests finish (a few seconds at
    /// most), then returns.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The most a connection buffers of what the client sends.
const READ_BUFFER: usize = 64 << 10;

async fn accept(listener: TcpListener, app: axum::Router, mut stopped: watch::Receiver<bool>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        // hyper grows a connection's read buffer up to 400 KiB for a fast sender; with a
        // hundred uploads at once that is most of the server's memory. 64 KiB keeps loopback
        // uploads fast and memory flat (headers still fit: they are capped far lower).
        .max_buf_size(READ_BUFFER);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!("accepting a connection failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut req = req.map(axum::body::Body::new);
                // The TCP peer, for per-IP limits (never X-Forwarded-For: anyone can send it).
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                // A Router is cheap to clone; each call gets its own.
                app.clone().call(req)
            });
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(STOP_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still running after {} s; stopping anyway",
            STOP_GRACE.as_secs()
        );
    }
}
