//! Syncdesk's desktop app: a thin Tauri shell around the engine — commands, the event
//! bridge, the tray and the window. All sync behaviour lives in `syncdesk-engine`.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod api_server;
mod app;
mod bridge;
mod commands;
mod first_run;
mod logging;
#[cfg(test)]
mod tests;
mod tray;
mod window;

use tauri::Manager;
use tauri_plugin_autostart::MacosLauncher;

fn main() {
    let result = tauri::Builder::default()
        // First: a second launch only brings the running app's window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            window::show(app)
        }))
        .plugin(tauri_plugin_autostart::init(
            MacosLauncher::LaunchAgent,
            None,
        ))
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(commands::handler())
        .on_window_event(window::on_event)
        .setup(|app| {
            if let Ok(dir) = app.path().app_log_dir()
                && let Err(e) = logging::init(&dir)
            {
                eprintln!("logging to {} is off: {e:#}", dir.display());
            }
            app::setup(app).map_err(|e| {
                tracing::error!("start-up failed: {e:#}");
                e.into()
            })
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("Syncdesk could not start: {e:#}");
        std::process::exit(1);
    }
}
