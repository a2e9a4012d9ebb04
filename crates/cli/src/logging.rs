//! Logging: a daily file under `<state-dir>/logs/`, and stderr with `-v`.

use std::path::Path;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::prelude::*;

const FILTER_ENV: &str = "SYNCDESK_LOG";
/// Daily files beyond this many are deleted.
const KEEP_FILES: usize = 14;

/// Flushes the file log when dropped: keep it alive until the process ends.
pub struct LogGuard {
    _file: Option<WorkerGuard>,
}

pub fn init(state_dir: &Path, verbose: bool) -> LogGuard {
    // Checked once so a bad filter is reported once; its value is never echoed.
    let filter_ok =
        std::env::var_os(FILTER_ENV).is_none() || EnvFilter::try_from_env(FILTER_ENV).is_ok();
    if !filter_ok {
        eprintln!("warning: {FILTER_ENV} is not a valid log filter; using `info`");
    }
    let filter = || EnvFilter::try_from_env(FILTER_ENV).unwrap_or_else(|_| EnvFilter::new("info"));

    let dir = state_dir.join("logs");
    // Created first: the appender prunes old files before creating the directory and
    // complains on stderr when it is missing.
    let appender = std::fs::create_dir_all(&dir)
        .map_err(|e| e.to_string())
        .and_then(|()| {
            RollingFileAppender::builder()
                .rotation(Rotation::DAILY)
                .filename_prefix("syncdesk-cli.log")
                .max_log_files(KEEP_FILES)
                .build(&dir)
                .map_err(|e| e.to_string())
        });
    let (file_layer, guard) = match appender {
        Ok(appender) => {
            let (writer, guard) = tracing_appender::non_blocking(appender);
            let layer = tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(writer)
                .with_filter(filter());
            (Some(layer), Some(guard))
        }
        Err(e) => {
            // The command itself may still work (or will report the real problem).
            eprintln!("warning: cannot write the log file: {e}");
            (None, None)
        }
    };
    let stderr_layer = verbose.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter())
    });
    // Fails only if a subscriber is already set, which nothing else in this binary does.
    let _ = tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init();
    LogGuard { _file: guard }
}
