//! Desktop benchmarks behind scripts/bench/desktop-bench.sh; prints markdown table rows.
//!
//!     cargo run --release -p syncdesk-engine --example desktop_bench -- jobs 100000 50
//!     cargo run --release -p syncdesk-engine --example desktop_bench -- watch 10000 10
//!
//! `jobs N RUNS`: N finished jobs in the state database, then the engine call behind the
//! `list_jobs` command (`Engine::jobs`), RUNS times per filter, on a freshly opened engine
//! (the first, cold call counts). `watch N RUNS`: a watched automatic folder of N files with
//! production timings; one file is modified RUNS times, each time measuring until the watch
//! job that uploads it has succeeded (as the UI sees it: the job's `jobChanged` event).

mod common;

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use syncdesk_engine::Engine;
use syncdesk_engine::model::{
    Event, JobFilter, JobStatus, JobType, SyncJob, SyncJobStats, TriggerType,
};

use common::Error;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize, default: usize| -> Result<usize, Error> {
        Ok(args.get(i).map_or(Ok(default), |a| a.parse())?)
    };
    match args.first().map(String::as_str) {
        Some("jobs") => jobs(number(1, 100_000)?, number(2, 50)?),
        Some("watch") => watch(number(1, 10_000)?, number(2, 10)?),
        _ => Err("usage: desktop_bench jobs [N] [RUNS] | watch [FILES] [RUNS]".into()),
    }
}

const FOLDERS: [&str; 4] = ["docs", "photos", "work", "music"];

fn jobs(n: usize, runs: usize) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("state");
    let t = Instant::now();
    {
        let engine = Engine::open(&state)?;
        let store = engine.store();
        for i in 0..n {
            // Like a long-lived install: mostly scheduled and watch syncs that succeeded,
            // one in 50 failed, a few needing confirmation, across four folders.
            let trigger = [
                TriggerType::Schedule,
                TriggerType::Watch,
                TriggerType::Manual,
            ][i % 3];
            let mut meta = BTreeMap::new();
            meta.insert("app".to_owned(), "syncdesk".to_owned());
            meta.insert("mode".to_owned(), String::new());
            let job = store.create_job(FOLDERS[i % 4], JobType::Sync, trigger, &meta)?;
            let (status, error) = match i % 100 {
                0 | 50 => (JobStatus::Failed, Some("remote unreachable")),
                7 => (JobStatus::NeedsConfirmation, Some("would delete 12 files")),
                _ => (JobStatus::Succeeded, None),
            };
            let stats = SyncJobStats {
                files_scanned: 10_000,
                files_uploaded: (i % 7) as u64,
                bytes_uploaded: (i % 7) as u64 * 4096,
                duration_ms: 120,
                ..Default::default()
            };
            store.finish_job(job.id, status, error, &stats, &meta)?;
        }
    }
    eprintln!("{n} jobs written in {:.1?}", t.elapsed());

    let engine = Engine::open(&state)?;
    let page = |status: Option<JobStatus>, folder: Option<&str>| JobFilter {
        status,
        folder: folder.map(str::to_owned),
        // The History view's page size.
        page_size: 20,
        ..JobFilter::default()
    };
    let cases = [
        ("first page", page(None, None)),
        ("status = failed", page(Some(JobStatus::Failed), None)),
        ("folder = docs", page(None, Some("docs"))),
        (
            "status = failed, folder = docs",
            page(Some(JobStatus::Failed), Some("docs")),
        ),
    ];
    for (name, filter) in cases {
        let mut times = Vec::with_capacity(runs);
        let mut total = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let result = engine.jobs(&filter)?;
            times.push(t.elapsed());
            total = result.meta.total;
            if result.items.is_empty() {
                return Err(format!("{name}: an empty page").into());
            }
        }
        row(
            &format!("(a) list_jobs, {name} ({total} of {n} jobs match), {runs} runs"),
            &mut times,
            Judge::P99,
            Duration::from_millis(100),
            "< 100 ms",
        );
    }
    Ok(())
}

fn watch(files: usize, runs: usize) -> Result<(), Error> {
    let dir = tempfile::tempdir()?;
    let root = dir.path().join("folder");
    let engine = common::synced_folder(dir.path(), files, "desktop_bench")?;

    let (tx, rx) = mpsc::channel::<SyncJob>();
    let _subscription = engine.events().subscribe(move |e| {
        if let Event::JobChanged(job) = e
            && job.status.is_final()
        {
            let _ = tx.send(job.clone());
        }
    });
    // Production timings (1 s debounce, 5 min interval), as the desktop app runs them.
    let _background = engine.start_background_with(Default::default())?;
    let mut times = Vec::with_capacity(runs);
    for run in 0..runs {
        let path = root
            .join(format!("d{:03}", run % 100))
            .join(format!("f{run}.txt"));
        let t = Instant::now();
        std::fs::write(&path, format!("file {run}, edited in run {run}\n"))?;
        loop {
            let left = Duration::from_secs(60).saturating_sub(t.elapsed());
            let job = rx
                .recv_timeout(left)
                .map_err(|_| format!("run {run}: no watch job within 60 s"))?;
            // Skips a job started before this edit that found nothing new.
            if job.trigger_type == TriggerType::Watch && job.stats.files_uploaded > 0 {
                if job.status != JobStatus::Succeeded {
                    return Err(format!("run {run}: {:?}", job.error_message).into());
                }
                times.push(t.elapsed());
                break;
            }
        }
    }
    row(
        &format!("(b) watch: edit → watch job succeeded, {files} files, {runs} runs"),
        &mut times,
        Judge::Median,
        Duration::from_secs(3),
        "< 3 s",
    );
    Ok(())
}

/// Which statistic a target applies to.
#[derive(Clone, Copy)]
enum Judge {
    Median,
    P99,
}

/// One markdown row: median and p99 (nearest rank), the target and whether it was met.
fn row(name: &str, times: &mut [Duration], judge: Judge, target: Duration, target_text: &str) {
    times.sort();
    let rank = |p: f64| times[((p * times.len() as f64).ceil() as usize).clamp(1, times.len()) - 1];
    let (median, p99) = (rank(0.5), rank(0.99));
    let (judged, what) = match judge {
        Judge::Median => (median, "median"),
        Judge::P99 => (p99, "p99"),
    };
    println!(
        "| {name} | {} | {} | {what} {target_text} | {} |",
        human(median),
        human(p99),
        if judged < target { "met" } else { "MISSED" }
    );
}

fn human(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.2} ms", d.as_secs_f64() * 1000.0)
    } else {
        format!("{:.2} s", d.as_secs_f64())
    }
}
