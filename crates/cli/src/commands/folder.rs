//! `folder add | list | remove`.

use std::path::Path;

use anyhow::{Context, Result};
use serde_json::json;
use syncdesk_engine::model::Folder;

use super::Ctx;
use crate::args::FolderCommand;
use crate::exit::Exit;
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, command: FolderCommand) -> Result<Exit> {
    match command {
        FolderCommand::Add {
            name,
            path,
            remote,
            cloud_name,
        } => add(ctx, &name, &path, &remote, cloud_name.as_deref()),
        FolderCommand::List => list(ctx),
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

fn add(ctx: &Ctx, name: &str, path: &Path, remote: &str, cloud_name: Option<&str>) -> Result<Exit> {
    // The engine stores absolute paths; people type relative ones.
    let path =
        std::path::absolute(path).with_context(|| format!("cannot use {}", path.display()))?;
    let remote = if remote.contains("://") || remote.is_empty() {
        remote.to_owned()
    } else {
        let abs = std::path::absolute(remote).with_context(|| format!("cannot use {remote}"))?;
        abs.to_string_lossy().into_owned()
    };
    let folder = ctx.engine.add_folder(name, &path, &remote, cloud_name)?;
    if ctx.json {
        output::json(&folder)?;
    } else {
        output::print(&format!(
            "added folder {} ({}) syncing with {} as {}\n",
            folder.name,
            folder.path.display(),
            folder.remote,
            folder.cloud_name
        ))?;
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

fn table(folders: &[Folder]) -> String {
    let mut t = Table::new(&["NAME", "PATH", "REMOTE", "REPOSITORY", "ENABLED"]);
    for f in folders {
        t.row(vec![
            f.name.clone(),
            f.path.display().to_string(),
            f.remote.clone(),
            f.cloud_name.clone(),
            if f.enabled { "yes" } else { "no" }.into(),
        ]);
    }
    t.render()
}
