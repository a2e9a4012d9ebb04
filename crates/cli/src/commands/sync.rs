//! `sync` (waiting, dry run, force modes with confirmation, detached) and the hidden
//! `run-job` a detached sync starts.

use std::io::{BufRead, IsTerminal};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use serde_json::json;
use syncdesk_engine::model::{JobId, PerformSyncRequest, PushMode, SyncPreview, TriggerType};

use super::{Ctx, summary};
use crate::args::SyncArgs;
use crate::exit::{Exit, Failure};
use crate::output;
use crate::progress::Tracker;

pub fn run(ctx: &Ctx, args: &SyncArgs) -> Result<Exit> {
    if args.push_only {
        eprintln!("warning: --push-only is deprecated; use --push-mode force-push");
    }
    let req = PerformSyncRequest {
        app: args.app.clone(),
        force: args.force,
        push_mode: args.push_mode.map(Into::into).unwrap_or_default(),
        push_only: args.push_only,
        cloud_name: args.cloud_name.clone().filter(|c| !c.is_empty()),
        folder: args.folder.clone(),
        confirm: args.yes,
        trigger: Some(TriggerType::Manual),
    };
    let forced = req.mode() != PushMode::TwoWay;
    if args.dry_run || forced {
        refuse_preview_of_other_repo(ctx, &req)?;
    }
    if args.dry_run {
        let previews = ctx.engine.preview(&req)?;
        if ctx.json {
            output::json(&previews)?;
        } else {
            output::print(&summary::previews(&previews))?;
        }
        return Ok(Exit::Ok);
    }
    if forced {
        confirm_force(ctx, &req, args.yes)?;
    }
    if args.detach {
        detach(ctx, &req)
    } else {
        wait(ctx, &req)
    }
}

/// `Engine::preview` reads the folder's current repository even when the request names
/// another one, so a preview for `--cloud-name` would show the wrong changes.
fn refuse_preview_of_other_repo(ctx: &Ctx, req: &PerformSyncRequest) -> Result<()> {
    let Some(cloud) = req.cloud_name.as_deref() else {
        return Ok(());
    };
    let folder = match &req.folder {
        Some(name) => ctx.engine.folder(name)?,
        None => {
            let mut enabled: Vec<_> = ctx
                .engine
                .folders()?
                .into_iter()
                .filter(|f| f.enabled)
                .collect();
            match enabled.pop() {
                Some(f) if enabled.is_empty() => f,
                _ => {
                    return Err(Failure::new(
                        Exit::Error,
                        "--cloud-name applies to one folder: name the folder with --folder",
                    )
                    .into());
                }
            }
        }
    };
    if folder.cloud_name == cloud {
        return Ok(());
    }
    Err(Failure::new(
        Exit::Error,
        format!(
            "cannot preview against another repository ({cloud:?}; the folder {:?} uses {:?}): \
             --dry-run and force modes need the folder switched first with a two-way \
             `sync --folder {} --cloud-name {cloud}`",
            folder.name, folder.cloud_name, folder.name
        ),
    )
    .into())
}

/// Force modes overwrite one side: show what changes, then go ahead only with `--yes` or a
/// "yes" typed on the terminal.
fn confirm_force(ctx: &Ctx, req: &PerformSyncRequest, yes: bool) -> Result<()> {
    let previews = ctx.engine.preview(req)?;
    let text = summary::previews(&previews);
    let mode = summary::mode_name(req.mode());
    // With --json stdout holds only the final document, so the preview goes to stderr.
    let show = |text: &str| -> Result<()> {
        if ctx.json {
            eprint!("{text}");
            Ok(())
        } else {
            output::print(text)
        }
    };
    // Nothing would change: there is nothing to confirm.
    if yes || previews.iter().all(SyncPreview::is_empty) {
        if !ctx.json {
            output::print(&text)?;
        }
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        // With --json the preview travels in the error document instead.
        if !ctx.json {
            output::print(&text)?;
        }
        return Err(Failure::new(
            Exit::NeedsConfirmation,
            format!(
                "{mode} needs confirmation and stdin is not a terminal; nothing was changed. \
                 Re-run with --yes to go ahead"
            ),
        )
        .with("preview", serde_json::to_value(&previews)?)
        .into());
    }
    show(&text)?;
    let consequence = match req.mode() {
        PushMode::ForcePull => {
            "this folder becomes a copy of the remote (replaced files go to the trash)"
        }
        _ => "the remote becomes a copy of this folder (older versions stay in history)",
    };
    eprint!("{mode}: {consequence}.\nType yes to continue: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() == "yes" {
        Ok(())
    } else {
        Err(Failure::new(
            Exit::NeedsConfirmation,
            "not confirmed; nothing was changed",
        )
        .into())
    }
}

/// Runs the jobs in this process and waits for them, with progress bars on a terminal.
fn wait(ctx: &Ctx, req: &PerformSyncRequest) -> Result<Exit> {
    let tracker = std::io::stderr()
        .is_terminal()
        .then(|| Tracker::start(ctx.engine.events()));
    let started = ctx.engine.perform_sync(req)?;
    let mut jobs = Vec::with_capacity(started.job_ids.len());
    for id in &started.job_ids {
        jobs.push(ctx.engine.wait_job(*id)?);
    }
    drop(tracker);
    finish(ctx, &jobs, &jobs)
}

/// Prints the final records (`value`) or their summary, and picks the exit code.
fn finish<T: serde::Serialize + ?Sized>(
    ctx: &Ctx,
    value: &T,
    jobs: &[syncdesk_engine::model::SyncJob],
) -> Result<Exit> {
    if ctx.json {
        output::json(value)?;
    } else {
        output::print(&summary::jobs(jobs))?;
    }
    Ok(summary::exit_for(jobs))
}

/// Creates the jobs, starts a `run-job` child per job and returns.
fn detach(ctx: &Ctx, req: &PerformSyncRequest) -> Result<Exit> {
    let ids = ctx.engine.create_jobs(req)?;
    let exe = std::env::current_exe().context("cannot find this program to start the sync")?;
    for id in &ids {
        let mut cmd = Command::new(&exe);
        cmd.arg("--state-dir")
            .arg(&ctx.state_dir)
            .arg("run-job")
            .arg(id.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        #[cfg(unix)]
        {
            // Its own process group: Ctrl-C in this terminal must not stop the sync.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start the background sync of job {id}"))?;
        tracing::info!(job = id, pid = child.id(), "started a background sync");
    }
    if ctx.json {
        output::json(&json!({ "jobIds": ids }))?;
    } else {
        let mut text = String::new();
        for id in &ids {
            let folder = ctx.engine.job(*id)?.map(|j| j.folder).unwrap_or_default();
            text.push_str(&format!("started job {id} ({folder}) in the background\n"));
        }
        text.push_str("follow with `syncdesk-cli jobs show <id>`\n");
        output::print(&text)?;
    }
    Ok(Exit::Ok)
}

/// Runs one pending job in this process (what a detached sync starts).
pub fn run_job(ctx: &Ctx, id: JobId) -> Result<Exit> {
    let tracker = std::io::stderr()
        .is_terminal()
        .then(|| Tracker::start(ctx.engine.events()));
    let job = ctx.engine.run_job(id)?;
    drop(tracker);
    finish(ctx, &job, std::slice::from_ref(&job))
}
