//! Build script of the desktop app: embeds tauri.conf.json and generates one permission per
//! app command, so the window's capability can grant exactly the commands the UI uses.

/// The app's commands (see src-tauri/commands.rs and docs/desktop-contract.md).
const COMMANDS: &[&str] = &[
    "perform_sync",
    "get_sync_info",
    "preview_sync",
    "list_folders",
    "add_folder",
    "parse_remote",
    "remote_url",
    "test_remote",
    "test_folder_remote",
    "set_folder_repository",
    "set_remote_secret",
    "set_passphrase",
    "change_passphrase",
    "remove_folder",
    "update_folder_settings",
    "read_ignore_file",
    "write_ignore_file",
    "list_jobs",
    "get_job",
    "list_snapshots",
    "list_snapshot_files",
    "restore_snapshot",
    "list_trash",
    "restore_trash",
    "get_app_state",
    "set_paused",
    "set_autostart",
    "set_language",
    "set_api_server",
    "list_api_tokens",
    "create_api_token",
    "revoke_api_token",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    // A build script reports failure by panicking; cargo shows the message.
    if let Err(e) = tauri_build::try_build(attributes) {
        panic!("tauri build step failed: {e:#}");
    }
}
