//! How much CPU background sync costs while nothing changes: a folder of N files (default
//! 10,000), synced once, then watched and scheduled for S seconds (default 60) of idleness.
//!
//!     cargo run --release -p syncdesk-engine --example idle_watch -- 10000 60
//!
//! Prints the process's CPU time (all threads, from /proc/self/stat) spent while idle.

mod common;

use std::time::{Duration, Instant};

fn main() -> Result<(), common::Error> {
    let mut args = std::env::args().skip(1);
    let files: usize = args.next().map_or(Ok(10_000), |a| a.parse())?;
    let secs: u64 = args.next().map_or(Ok(60), |a| a.parse())?;

    let dir = tempfile::tempdir()?;
    let engine = common::synced_folder(dir.path(), files, "idle_watch")?;

    let t = Instant::now();
    let background = engine.start_background();
    println!(
        "{files} files watched (set up in {:?}); idle for {secs} s",
        t.elapsed()
    );
    let before = cpu_ticks()?;
    std::thread::sleep(Duration::from_secs(secs));
    let used = cpu_ticks()? - before;
    drop(background);
    let jobs = engine.jobs(&Default::default())?.meta.total;
    // Linux's USER_HZ is 100 on every mainstream configuration.
    println!(
        "CPU while idle: {} ms over {secs} s ({:.3}% of one core); jobs run: {jobs}",
        used * 10,
        used as f64 / secs as f64
    );
    Ok(())
}

/// utime + stime of this process, in clock ticks.
fn cpu_ticks() -> Result<u64, Box<dyn std::error::Error>> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start at field 3.
    let rest = stat.rsplit_once(')').ok_or("odd /proc/self/stat")?.1;
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || fields.next().ok_or("odd /proc/self/stat");
    Ok(next()?.parse::<u64>()? + next()?.parse::<u64>()?)
}
