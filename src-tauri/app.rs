//! The app's shared state and start-up: engine, first run, event bridge, tray, background sync.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use syncdesk_engine::Engine;
use syncdesk_engine::background::Background;
use tauri::{App, Manager, Runtime};

use syncdesk_api::UiSource;

use crate::api_server::ApiServer;
use crate::{bridge, first_run, tray};

/// Managed by Tauri; what every command and the tray reach.
pub struct AppContext {
    pub engine: Arc<Engine>,
    /// Where folders added without a remote keep their repository.
    pub default_remote: PathBuf,
    /// Scheduler and watcher; dropped (stopped) when the app exits.
    pub background: Mutex<Option<Background>>,
    /// The local HTTP API, when the user turned it on.
    pub api: ApiServer,
}

impl AppContext {
    /// The context of an engine that is open already, with background sync not started
    /// (`setup` starts it once the tray and the bridge are in place).
    pub fn new(engine: Arc<Engine>, default_remote: PathBuf, ui: UiSource) -> AppContext {
        AppContext {
            engine,
            default_remote,
            background: Mutex::new(None),
            api: ApiServer::new(ui),
        }
    }
}

/// Where the engine keeps its state: `SYNCDESK_STATE_DIR`, else the OS convention shared with
/// `syncdesk-cli`.
pub fn state_dir() -> anyhow::Result<PathBuf> {
    match std::env::var_os("SYNCDESK_STATE_DIR") {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => syncdesk_engine::default_state_dir().context("cannot find a state directory"),
    }
}

pub fn setup<R: Runtime>(app: &mut App<R>) -> anyhow::Result<()> {
    let engine = Engine::open(&state_dir()?).context("cannot open Syncdesk's state")?;
    let default_remote = app
        .path()
        .app_data_dir()
        .context("cannot find the app's data directory")?
        .join("remote");
    first_run::ensure_sample_folder(&engine, &default_remote)?;
    let assets = app.asset_resolver();
    let ui = UiSource::Embedded(Arc::new(move |path: &str| {
        assets
            .get(path.to_owned())
            .map(|asset| (asset.bytes, asset.mime_type))
    }));
    app.manage(AppContext::new(engine.clone(), default_remote.clone(), ui));
    tray::create(app.handle())?;
    bridge::start(app.handle(), &engine);
    engine.start_boot_sync()?;
    let background = engine.start_background();
    let state = engine.app_state()?;
    if state.api_enabled {
        let handle = app.handle().clone();
        tauri::async_runtime::spawn(async move {
            let ctx = handle.state::<AppContext>();
            if let Err(e) = ctx
                .api
                .apply(&ctx.engine, &ctx.default_remote, &state)
                .await
            {
                tracing::error!("the local API is not served: {}", e.message);
            }
        });
    }
    if let Some(ctx) = app.try_state::<AppContext>() {
        *ctx.background.lock().unwrap_or_else(|p| p.into_inner()) = Some(background);
    }
    Ok(())
}
