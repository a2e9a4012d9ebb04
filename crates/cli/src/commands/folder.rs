//! `folder add | list | remove | set | set-remote | set-secret | set-passphrase |
//! change-passphrase`.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use syncdesk_engine::model::{Folder, NewFolder, SyncMode};

use super::{Ctx, remote};
use crate::args::{FolderCommand, FolderSetArgs, RepositoryArgs};
use crate::exit::Exit;
use crate::output::{self, Table};
use crate::secret_input::SecretInput;

pub fn run(ctx: &Ctx, command: FolderCommand) -> Result<Exit> {
    match command {
        FolderCommand::Add {
            name,
            path,
            repository,
        } => add(ctx, &name, &path, &repository),
        FolderCommand::SetRemote { name, repository } => {
            ctx.engine.folder(&name)?;
            let settings = remote::repository_settings(&repository, &mut SecretInput::default())?;
            let folder = ctx.engine.set_folder_repository(&name, &settings)?;
            report_repository(ctx, &folder, "now syncs")
        }
        FolderCommand::SetSecret { name, stdin } => {
            let secret = SecretInput::default().read("secret", stdin, "--stdin")?;
            ctx.engine.set_remote_secret(&name, &secret)?;
            done(ctx, &name, "secret stored in the OS keyring")
        }
        FolderCommand::SetPassphrase { name, stdin } => {
            let p = SecretInput::default().read("passphrase", stdin, "--stdin")?;
            ctx.engine.set_passphrase(&name, &p)?;
            done(
                ctx,
                &name,
                "passphrase checked and stored in the OS keyring",
            )
        }
        FolderCommand::ChangePassphrase { name, stdin } => {
            ctx.engine.folder(&name)?;
            let mut input = SecretInput::default();
            let old = input.read("current passphrase", stdin, "--stdin")?;
            let new = input.new_passphrase(stdin, "--stdin")?;
            ctx.engine.change_passphrase(&name, &old, &new)?;
            done(
                ctx,
                &name,
                "passphrase changed; other devices need the new one (folder set-passphrase)",
            )
        }
        FolderCommand::List => list(ctx),
        FolderCommand::Set(args) => set(ctx, &args),
        FolderCommand::Remove { name } => {
            // Looked up first: the engine takes a lock file named after `name` before checking
            // it, and an unknown name such as `../x` would leave a file outside the state dir.
            ctx.engine.folder(&name)?;
            ctx.engine.remove_folder(&name)?;
            if ctx.json {
                output::json(&json!({ "removed": name }))?;
            } else {
                output::print(&format!(
                    "removed folder {name}; its files and its repository are untouched\n"
                ))?;
            }
            Ok(Exit::Ok)
        }
    }
}

fn add(ctx: &Ctx, name: &str, path: &Path, repository: &RepositoryArgs) -> Result<Exit> {
    // The engine stores absolute paths; people type relative ones.
    let path =
        std::path::absolute(path).with_context(|| format!("cannot use {}", path.display()))?;
    let settings = remote::repository_settings(repository, &mut SecretInput::default())?;
    let folder = ctx.engine.add_folder_with(&NewFolder {
        name: name.to_owned(),
        path,
        repository: settings,
    })?;
    report_repository(ctx, &folder, "added, syncing")
}

fn report_repository(ctx: &Ctx, folder: &Folder, what: &str) -> Result<Exit> {
    if ctx.json {
        output::json(folder)?;
    } else {
        output::print(&format!(
            "folder {} ({}) {what} with {} as {}{}\n",
            folder.name,
            folder.path.display(),
            folder.remote,
            folder.cloud_name,
            if folder.encrypted { " (encrypted)" } else { "" }
        ))?;
    }
    Ok(Exit::Ok)
}

fn done(ctx: &Ctx, name: &str, what: &str) -> Result<Exit> {
    if ctx.json {
        output::json(&json!({ "folder": name, "ok": true }))?;
    } else {
        output::print(&format!("{name}: {what}\n"))?;
    }
    Ok(Exit::Ok)
}

fn list(ctx: &Ctx) -> Result<Exit> {
    let folders = ctx.engine.folders()?;
    if ctx.json {
        output::json(&folders)?;
    } else if folders.is_empty() {
        output::print("no folders; add one with `syncdesk-cli folder add`\n")?;
    } else {
        output::print(&table(&folders))?;
    }
    Ok(Exit::Ok)
}

/// Changes only the settings named on the command line; the others stay as they are.
fn set(ctx: &Ctx, args: &FolderSetArgs) -> Result<Exit> {
    let mut settings = ctx.engine.folder(&args.name)?.settings();
    if let Some(mode) = args.mode {
        settings.sync_mode = mode.into();
    }
    if let Some(secs) = args.interval {
        settings.interval_secs = secs;
    }
    if let Some(watch) = args.watch {
        settings.watch = watch.into();
    }
    if let Some(enabled) = args.enabled {
        settings.enabled = enabled.into();
    }
    let folder = ctx.engine.update_folder_settings(&args.name, &settings)?;
    if ctx.json {
        output::json(&folder)?;
    } else {
        output::print(&format!("{}: {}\n", folder.name, describe(&folder)))?;
    }
    Ok(Exit::Ok)
}

/// When the folder syncs, in a few words.
fn describe(f: &Folder) -> String {
    if !f.enabled {
        return "disabled: it does not sync, not even with a plain `sync`".into();
    }
    match f.sync_mode {
        SyncMode::Automatic => format!(
            "syncs by itself every {}{}",
            interval(f.interval_secs),
            if f.watch {
                " and soon after its files change"
            } else {
                " (changes are not watched)"
            }
        ),
        SyncMode::Manual => "syncs only when asked".into(),
        SyncMode::CompletelyManual => {
            "syncs only when asked, with a force-push or force-pull".into()
        }
    }
}

/// `300` → `5m`, `90` → `90s`, `7200` → `2h`.
fn interval(secs: u32) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

fn mode_name(mode: SyncMode) -> &'static str {
    match mode {
        SyncMode::Automatic => "automatic",
        SyncMode::Manual => "manual",
        SyncMode::CompletelyManual => "completely-manual",
    }
}

fn table(folders: &[Folder]) -> String {
    let mut t = Table::new(&[
        "NAME",
        "PATH",
        "REMOTE",
        "REPOSITORY",
        "ENABLED",
        "MODE",
        ">INTERVAL",
        "WATCH",
    ]);
    let yes_no = |b: bool| if b { "yes" } else { "no" }.to_owned();
    for f in folders {
        t.row(vec![
            f.name.clone(),
            f.path.display().to_string(),
            f.remote.clone(),
            f.cloud_name.clone(),
            yes_no(f.enabled),
            mode_name(f.sync_mode).into(),
            interval(f.interval_secs),
            yes_no(f.watch),
        ]);
    }
    t.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_read_in_the_largest_whole_unit() {
        assert_eq!(interval(300), "5m");
        assert_eq!(interval(90), "90s");
        assert_eq!(interval(7200), "2h");
        assert_eq!(interval(86_400), "24h");
    }
}
