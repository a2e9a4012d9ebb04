//! `GET /ws`: every engine event as a text frame `{"event": <name>, "payload": …}`, the
//! same as the desktop app receives over Tauri.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::response::{IntoResponse, Response};
use syncdesk_engine::events::Subscription;
use tokio::sync::mpsc;

use crate::ApiState;
use crate::reply::Failure;

/// Events a client may fall behind by before it is dropped (close code 1013): losing
/// events silently would leave its view wrong without it knowing.
pub const BACKLOG: usize = 4096;

pub async fn upgrade(
    State(st): State<ApiState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(e) => return Failure::bad_request(format!("/ws is a WebSocket: {e}")).into_response(),
    };
    // Subscribed before the handshake answer: a client that starts a sync as soon as it is
    // connected gets every event of it.
    let events = Events::subscribe(&st);
    ws.on_upgrade(move |socket| stream(socket, st, events))
}

/// The engine events for one client, serialized, with a flag set when it fell too far behind.
struct Events {
    rx: mpsc::Receiver<String>,
    behind: Arc<AtomicBool>,
    _subscription: Subscription,
}

impl Events {
    fn subscribe(st: &ApiState) -> Events {
        let (tx, rx) = mpsc::channel::<String>(BACKLOG);
        let behind = Arc::new(AtomicBool::new(false));
        let flag = behind.clone();
        // Runs on the thread that publishes: serializing is all it does, it never waits.
        let subscription = st.engine.events().subscribe(move |event| {
            if flag.load(Ordering::Relaxed) {
                return;
            }
            match serde_json::to_string(event) {
                Ok(text) => {
                    if tx.try_send(text).is_err() {
                        flag.store(true, Ordering::Relaxed);
                    }
                }
                Err(e) => tracing::error!("cannot serialize the {} event: {e}", event.name()),
            }
        });
        Events {
            rx,
            behind,
            _subscription: subscription,
        }
    }
}

async fn stream(mut socket: WebSocket, st: ApiState, mut events: Events) {
    let mut shutdown = st.shutdown.clone();
    loop {
        tokio::select! {
            next = events.rx.recv() => {
                let Some(text) = next else { break };
                if socket.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
                if events.behind.load(Ordering::Relaxed) && events.rx.is_empty() {
                    tracing::warn!("a WebSocket client fell {BACKLOG} events behind; closing it");
                    close(&mut socket, close_code::AGAIN, "too far behind: reconnect and reload").await;
                    break;
                }
            }
            incoming = socket.recv() => match incoming {
                // Pings are answered by the library; anything else the client says is ignored.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
            _ = shutdown.changed() => {
                close(&mut socket, close_code::AWAY, "the server is stopping").await;
                break;
            }
        }
    }
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
