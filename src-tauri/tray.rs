//! The tray icon: one icon per state, and a menu to sync, pause, open or quit.

use syncdesk_engine::model::{AppState, JobStatus, PerformSyncRequest, SyncInfo, TriggerType};
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIcon, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager, Runtime};

use crate::app::AppContext;
use crate::window;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayState {
    Idle,
    Syncing,
    Error,
    Paused,
}

/// The state the tray shows: syncing wins, then paused, then an error of any folder's last job.
pub fn state_of(info: &SyncInfo, app: &AppState) -> TrayState {
    if info.syncing {
        TrayState::Syncing
    } else if app.paused {
        TrayState::Paused
    } else if info.folders.iter().any(|f| {
        f.enabled
            && f.last_job
                .as_ref()
                .is_some_and(|j| j.status == JobStatus::Failed)
    }) {
        TrayState::Error
    } else {
        TrayState::Idle
    }
}

fn icon(state: TrayState) -> &'static [u8] {
    match state {
        TrayState::Idle => include_bytes!("../icons/tray-idle.png"),
        TrayState::Syncing => include_bytes!("../icons/tray-syncing.png"),
        TrayState::Error => include_bytes!("../icons/tray-error.png"),
        TrayState::Paused => include_bytes!("../icons/tray-paused.png"),
    }
}

/// Menu texts in the app's language.
struct Texts {
    sync_now: &'static str,
    pause: &'static str,
    resume: &'static str,
    open: &'static str,
    quit: &'static str,
    idle: &'static str,
    syncing: &'static str,
    error: &'static str,
    paused: &'static str,
}

fn texts(app: &AppState) -> Texts {
    let chinese = match app.language.as_deref() {
        Some(lang) => lang.starts_with("zh"),
        None => std::env::var("LANG").is_ok_and(|l| l.starts_with("zh")),
    };
    if chinese {
        Texts {
            sync_now: "立即同步",
            pause: "暂停同步",
            resume: "继续同步",
            open: "打开 Syncdesk",
            quit: "退出",
            idle: "已同步",
            syncing: "正在同步…",
            error: "同步出错",
            paused: "已暂停",
        }
    } else {
        Texts {
            sync_now: "Sync now",
            pause: "Pause syncing",
            resume: "Resume syncing",
            open: "Open Syncdesk",
            quit: "Quit",
            idle: "Up to date",
            syncing: "Syncing…",
            error: "Sync failed",
            paused: "Paused",
        }
    }
}

/// What the tray keeps to update later.
pub struct Tray<R: Runtime> {
    icon: TrayIcon<R>,
    status: MenuItem<R>,
    pause: MenuItem<R>,
    sync_now: MenuItem<R>,
    open: MenuItem<R>,
    quit: MenuItem<R>,
}

pub fn create<R: Runtime>(app: &AppHandle<R>) -> anyhow::Result<()> {
    let t = texts(&AppState::default());
    let status = MenuItem::with_id(app, "status", t.idle, false, None::<&str>)?;
    let sync_now = MenuItem::with_id(app, "sync_now", t.sync_now, true, None::<&str>)?;
    let pause = MenuItem::with_id(app, "pause", t.pause, true, None::<&str>)?;
    let open = MenuItem::with_id(app, "open", t.open, true, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", t.quit, true, None::<&str>)?;
    let menu = Menu::with_items(
        app,
        &[
            &status,
            &PredefinedMenuItem::separator(app)?,
            &sync_now,
            &pause,
            &open,
            &PredefinedMenuItem::separator(app)?,
            &quit,
        ],
    )?;
    let icon = TrayIconBuilder::with_id("main")
        .icon(Image::from_bytes(icon(TrayState::Idle))?)
        .tooltip("Syncdesk")
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(on_menu)
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                window::show(tray.app_handle());
            }
        })
        .build(app)?;
    app.manage(Tray {
        icon,
        status,
        pause,
        sync_now,
        open,
        quit,
    });
    refresh(app);
    Ok(())
}

fn on_menu<R: Runtime>(app: &AppHandle<R>, event: MenuEvent) {
    let Some(ctx) = app.try_state::<AppContext>() else {
        return;
    };
    let engine = ctx.engine.clone();
    match event.id().as_ref() {
        "sync_now" => {
            let req = PerformSyncRequest {
                app: "syncdesk-tray".into(),
                trigger: Some(TriggerType::Tray),
                ..Default::default()
            };
            if let Err(e) = engine.perform_sync(&req) {
                tracing::info!("tray sync not started: {e}");
            }
        }
        "pause" => {
            let paused = engine.app_state().map(|s| s.paused).unwrap_or(false);
            if let Err(e) = engine.set_paused(!paused) {
                tracing::warn!("cannot change pause: {e}");
            }
        }
        "open" => window::show(app),
        "quit" => app.exit(0),
        _ => {}
    }
}

/// Brings icon, status line and labels up to date with the engine.
pub fn refresh<R: Runtime>(app: &AppHandle<R>) {
    let (Some(ctx), Some(tray)) = (app.try_state::<AppContext>(), app.try_state::<Tray<R>>())
    else {
        return;
    };
    let (Ok(info), Ok(state)) = (ctx.engine.get_sync_info(), ctx.engine.app_state()) else {
        return;
    };
    let now = state_of(&info, &state);
    let t = texts(&state);
    let status = match now {
        TrayState::Idle => t.idle,
        TrayState::Syncing => t.syncing,
        TrayState::Error => t.error,
        TrayState::Paused => t.paused,
    };
    let updates = [
        Image::from_bytes(icon(now)).and_then(|i| tray.icon.set_icon(Some(i))),
        tray.icon.set_tooltip(Some(format!("Syncdesk — {status}"))),
        tray.status.set_text(status),
        tray.pause
            .set_text(if state.paused { t.resume } else { t.pause }),
        tray.sync_now.set_text(t.sync_now),
        tray.open.set_text(t.open),
        tray.quit.set_text(t.quit),
    ];
    for e in updates.into_iter().filter_map(Result::err) {
        tracing::debug!("tray update failed: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syncdesk_engine::model::Progress;

    fn info(syncing: bool) -> SyncInfo {
        SyncInfo {
            provider_name: "Local".into(),
            cloud_name: "main".into(),
            enabled: true,
            syncing,
            progress: Progress::default(),
            folders: Vec::new(),
        }
    }

    #[test]
    fn syncing_shows_over_paused_and_paused_over_idle() {
        let paused = AppState {
            paused: true,
            ..AppState::default()
        };
        assert_eq!(state_of(&info(true), &paused), TrayState::Syncing);
        assert_eq!(state_of(&info(false), &paused), TrayState::Paused);
        assert_eq!(
            state_of(&info(false), &AppState::default()),
            TrayState::Idle
        );
    }
}
