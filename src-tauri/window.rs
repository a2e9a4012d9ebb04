//! The main window: closing hides it (syncing goes on in the background); reopening shows it.

use tauri::{AppHandle, Manager, Runtime, Window, WindowEvent};

pub const MAIN: &str = "main";

/// Shows and focuses the main window.
pub fn show<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(MAIN) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
    }
}

pub fn on_event<R: Runtime>(window: &Window<R>, event: &WindowEvent) {
    if let WindowEvent::CloseRequested { api, .. } = event
        && window.label() == MAIN
    {
        // The tray's Quit ends the app; the window's close button only hides it.
        api.prevent_close();
        let _ = window.hide();
    }
}
