//! `daemon`: the desktop app's background sync without the app. A boot sync of every
//! automatic folder, then the scheduler and the watcher, until Ctrl-C or SIGTERM. Stopping
//! lets the jobs already started end; a second Ctrl-C stops at once.

use std::collections::BTreeSet;
use std::sync::mpsc;

use anyhow::{Context, Result};
use serde_json::json;
use syncdesk_engine::BackgroundOptions;
use syncdesk_engine::model::{Event, JobId, JobStatus, SyncJob};

use super::{Ctx, summary};
use crate::exit::{Exit, Failure};
use crate::output;

enum Msg {
    /// Ctrl-C, SIGTERM or SIGHUP.
    Signal,
    /// A job of this process was created, started or ended.
    Job(Box<SyncJob>),
    /// The scheduler has stopped: every job it started was announced before this.
    Stopped,
}

pub fn run(ctx: &Ctx) -> Result<Exit> {
    let (tx, rx) = mpsc::channel();
    let signal = tx.clone();
    // The handler runs on ctrlc's own thread, which the signal only wakes: it may do anything.
    ctrlc::set_handler(move || {
        let _ = signal.send(Msg::Signal);
    })
    .context("cannot handle Ctrl-C and SIGTERM")?;
    let jobs = tx.clone();
    // Before anything starts, so no job is missed.
    let _subscription = ctx.engine.events().subscribe(move |e| {
        if let Event::JobChanged(job) = e {
            let _ = jobs.send(Msg::Job(Box::new(job.clone())));
        }
    });

    let boot = ctx.engine.start_boot_sync()?;
    let mut background = Some(
        ctx.engine
            .start_background_with(BackgroundOptions::default())?,
    );
    say(ctx, &started(ctx, &boot)?)?;

    // Jobs created or running, and those that ended, in the order they ended.
    let mut open = BTreeSet::new();
    let mut ended = Vec::new();
    let mut stopping = false;
    // Never disconnected: this function holds a sender.
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Job(job) if job.status.is_final() => {
                open.remove(&job.id);
                ended.push(job.id);
                say(ctx, &line(&job))?;
                if stopping && open.is_empty() {
                    break;
                }
            }
            Msg::Job(job) => {
                open.insert(job.id);
            }
            Msg::Signal if background.is_some() => {
                // Joins the scheduler's thread: no job starts after this.
                background = None;
                let _ = tx.send(Msg::Stopped);
            }
            Msg::Stopped => {
                stopping = true;
                if open.is_empty() {
                    break;
                }
                say(
                    ctx,
                    &format!(
                        "stopping once {} {} ended; Ctrl-C again to stop at once\n",
                        output::count(open.len() as u64, "job", "jobs"),
                        if open.len() == 1 { "has" } else { "have" }
                    ),
                )?;
            }
            Msg::Signal => {
                return Err(Failure::new(
                    Exit::Error,
                    format!(
                        "stopped while {} still ran; they are recorded as interrupted",
                        ids(&open)
                    ),
                )
                .into());
            }
        }
    }
    if ctx.json {
        output::json(&json!({ "jobIds": ended }))?;
    } else {
        output::print(&format!(
            "stopped; {} ran\n",
            output::count(ended.len() as u64, "job", "jobs")
        ))?;
    }
    Ok(Exit::Ok)
}

/// What runs in the background now.
fn started(ctx: &Ctx, boot: &[JobId]) -> Result<String> {
    let folders = ctx.engine.folders()?;
    if ctx.engine.app_state()?.paused {
        return Ok(
            "daemon started, paused: nothing syncs in the background until \
                   `syncdesk-cli resume`; Ctrl-C stops\n"
                .into(),
        );
    }
    let automatic = folders.iter().filter(|f| f.syncs_in_background()).count();
    let watched = folders
        .iter()
        .filter(|f| f.syncs_in_background() && f.watch)
        .count();
    let boot = if boot.is_empty() {
        String::new()
    } else {
        format!("; boot sync: {}", ids(boot))
    };
    Ok(format!(
        "daemon started: {automatic} of {} in the background ({watched} watched){boot}; \
         Ctrl-C stops\n",
        output::count(folders.len() as u64, "folder syncs", "folders sync"),
    ))
}

/// One line per finished job, with the reason when it did not succeed.
fn line(job: &SyncJob) -> String {
    let mut out = format!(
        "{}: {} sync {} (job {}): {}, {} in {}\n",
        job.folder,
        job.trigger_type,
        job.status,
        job.id,
        summary::counts(&job.stats),
        summary::traffic(&job.stats),
        output::duration_ms(job.stats.duration_ms)
    );
    let why = job.error_message.as_deref().unwrap_or_default();
    match job.status {
        JobStatus::NeedsConfirmation => out.push_str(&format!(
            "  {why}\n  background syncs of {0} wait until `syncdesk-cli sync --folder {0} --yes`\n",
            job.folder
        )),
        JobStatus::Failed | JobStatus::Cancelled if !why.is_empty() => {
            out.push_str(&format!("  error: {why}\n"));
        }
        _ => {}
    }
    out
}

/// `job 3` or `jobs 3, 4`.
fn ids<'a>(ids: impl IntoIterator<Item = &'a JobId>) -> String {
    let ids: Vec<String> = ids.into_iter().map(JobId::to_string).collect();
    format!(
        "{} {}",
        if ids.len() == 1 { "job" } else { "jobs" },
        ids.join(", ")
    )
}

/// Progress for people: stdout, or stderr when stdout is kept for the JSON document.
fn say(ctx: &Ctx, text: &str) -> Result<()> {
    if ctx.json {
        eprint!("{text}");
        Ok(())
    } else {
        output::print(text)
    }
}
