//! The local HTTP API inside the desktop app: served while the user has it on in Settings
//! (`AppState.apiEnabled`), on `AppState.apiListen` (a loopback address).

use std::sync::Arc;

use syncdesk_api::{Server, ServerConfig, UiSource};
use syncdesk_engine::Engine;
use syncdesk_engine::model::{ApiError, AppState};
use tokio::sync::Mutex;

pub struct ApiServer {
    /// The running server, if any.
    running: Mutex<Option<Server>>,
    /// The app's own UI, compiled in: browsers get the same views as the window.
    ui: UiSource,
}

impl ApiServer {
    pub fn new(ui: UiSource) -> ApiServer {
        ApiServer {
            running: Mutex::new(None),
            ui,
        }
    }

    /// Serves (or stops serving) as `state` says; a server on another address is replaced.
    pub async fn apply(
        &self,
        engine: &Arc<Engine>,
        default_remote: &std::path::Path,
        state: &AppState,
    ) -> Result<(), ApiError> {
        let mut running = self.running.lock().await;
        let wanted = state
            .api_enabled
            .then(|| state.api_listen.parse())
            .transpose()
            .map_err(|_| ApiError {
                code: "invalid_request".into(),
                message: format!("{:?} is not an address and port", state.api_listen),
            })?;
        if running.as_ref().map(Server::local_addr) == wanted {
            return Ok(());
        }
        if let Some(server) = running.take() {
            server.stop().await;
        }
        let Some(listen) = wanted else {
            return Ok(());
        };
        let config = ServerConfig {
            listen,
            allow_hosts: Vec::new(),
            ui: self.ui.clone(),
            default_remote: default_remote.to_owned(),
        };
        let server = Server::start(engine.clone(), config)
            .await
            .map_err(|e| ApiError {
                code: "unreachable".into(),
                message: e.to_string(),
            })?;
        *running = Some(server);
        Ok(())
    }
}
