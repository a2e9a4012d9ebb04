//! `jobs list | show | wait`.

use anyhow::Result;
use serde::Serialize;
use syncdesk_engine::model::{JobFilter, JobLogLine, LogLevel, SyncJob, SyncJobPage};

use super::{Ctx, summary};
use crate::args::{JobsCommand, JobsListArgs};
use crate::exit::{Exit, Failure};
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, command: JobsCommand) -> Result<Exit> {
    match command {
        JobsCommand::List(args) => list(ctx, &args),
        JobsCommand::Show { id } => show(ctx, id, false),
        JobsCommand::Wait { id } => show(ctx, id, true),
    }
}

fn list(ctx: &Ctx, args: &JobsListArgs) -> Result<Exit> {
    let filter = JobFilter {
        status: args.status.map(Into::into),
        folder: args.folder.clone(),
        job_type: args.job_type.map(Into::into),
        trigger_type: args.trigger.map(Into::into),
        page: args.page,
        page_size: args.page_size,
    };
    let page = ctx.engine.jobs(&filter)?;
    if ctx.json {
        output::json(&page)?;
    } else {
        output::print(&table(&page))?;
    }
    Ok(Exit::Ok)
}

fn table(page: &SyncJobPage) -> String {
    if page.items.is_empty() {
        return if page.meta.total == 0 {
            "no jobs\n".into()
        } else {
            format!(
                "no jobs on page {} ({} pages)\n",
                page.meta.page, page.meta.total_pages
            )
        };
    }
    let mut t = Table::new(&[
        ">ID",
        "FOLDER",
        "TYPE",
        "TRIGGER",
        "STATUS",
        "CREATED",
        ">DURATION",
        ">UP",
        ">DOWN",
        ">DEL",
        ">CONFL",
    ]);
    for j in &page.items {
        t.row(vec![
            j.id.to_string(),
            j.folder.clone(),
            j.job_type.to_string(),
            j.trigger_type.to_string(),
            j.status.to_string(),
            j.created_at.clone(),
            output::duration_ms(j.stats.duration_ms),
            j.stats.files_uploaded.to_string(),
            j.stats.files_downloaded.to_string(),
            j.stats.files_deleted.to_string(),
            j.stats.conflicts.to_string(),
        ]);
    }
    let mut out = t.render();
    out.push_str(&format!(
        "page {} of {} ({})\n",
        page.meta.page,
        page.meta.total_pages,
        output::count(page.meta.total, "job", "jobs")
    ));
    out
}

/// A job record with its log, as `jobs show --json` prints it.
#[derive(Serialize)]
struct JobWithLog {
    #[serde(flatten)]
    job: SyncJob,
    log: Vec<JobLogLine>,
}

/// Shows a job; with `wait`, once it has ended, exiting according to its status.
fn show(ctx: &Ctx, id: i64, wait: bool) -> Result<Exit> {
    let Some(mut job) = ctx.engine.job(id)? else {
        return Err(Failure::new(
            Exit::Error,
            format!("no job with id {id}; `jobs list` shows the jobs"),
        )
        .into());
    };
    if wait {
        job = ctx.engine.wait_job(id)?;
    }
    let log = ctx.engine.job_log(id)?;
    let exit = if wait {
        summary::exit_for(std::slice::from_ref(&job))
    } else {
        Exit::Ok
    };
    if ctx.json {
        output::json(&JobWithLog { job, log })?;
    } else {
        output::print(&describe(&job, &log))?;
    }
    Ok(exit)
}

fn describe(job: &SyncJob, log: &[JobLogLine]) -> String {
    let s = &job.stats;
    let mut out = format!("job {} ({})\n", job.id, job.folder);
    let fields = [
        ("type", job.job_type.to_string()),
        ("trigger", job.trigger_type.to_string()),
        ("status", job.status.to_string()),
        ("created", job.created_at.clone()),
        ("started", output::or_dash(job.started_at.as_deref())),
        ("ended", output::or_dash(job.ended_at.as_deref())),
        ("error", output::or_dash(job.error_message.as_deref())),
        (
            "stats",
            format!(
                "{} scanned, {}; {}; {} retries; {}",
                s.files_scanned,
                summary::counts(s),
                summary::traffic(s),
                s.retries,
                output::duration_ms(s.duration_ms)
            ),
        ),
    ];
    for (name, value) in fields {
        out.push_str(&format!("  {:<9}{value}\n", format!("{name}:")));
    }
    if !job.metadata.is_empty() {
        out.push_str("  metadata:\n");
        for (k, v) in &job.metadata {
            // Multi-line values (conflict copies) stay readable indented.
            out.push_str(&format!("    {k} = {}\n", v.replace('\n', "\n      ")));
        }
    }
    if log.is_empty() {
        out.push_str("log: empty\n");
    } else {
        out.push_str("log:\n");
        for line in log {
            let level = match line.level {
                LogLevel::Info => "info",
                LogLevel::Warn => "warn",
                LogLevel::Error => "error",
            };
            out.push_str(&format!("  {} {level:<5} {}\n", line.at, line.msg));
        }
    }
    out
}
