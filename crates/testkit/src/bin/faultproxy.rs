//! A counting HTTP/1.1 reverse proxy (no faults): put it between a client and a server to count
//! the requests the client makes.
//!
//!   faultproxy --upstream http://127.0.0.1:9000 [--listen 127.0.0.1:0]
//!              [--count-file PATH] [--interval-ms 1000]
//!
//! Prints `listening http://127.0.0.1:<port>` on its first line of standard output. On SIGINT or
//! SIGTERM it prints the counts as one line of JSON,
//! `{"total":N,"forwarded":N,"by_method":{"GET":N,...}}`, and exits; with `--count-file` it
//! also keeps that JSON in the file, rewritten (atomically) every interval and at exit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use syncdesk_testkit::{Counts, FaultProxy, flags};

const USAGE: &str = "usage: faultproxy --upstream URL [--listen HOST:PORT] [--count-file PATH] \
                     [--interval-ms MS]";

struct Args {
    upstream: String,
    listen: String,
    count_file: Option<PathBuf>,
    interval: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut upstream = None;
    let mut listen = "127.0.0.1:0".to_string();
    let mut count_file = None;
    let mut interval = Duration::from_secs(1);
    for (name, value) in flags::pairs(std::env::args().skip(1), USAGE)? {
        match name.as_str() {
            "--upstream" => upstream = Some(value),
            "--listen" => listen = value,
            "--count-file" => count_file = Some(PathBuf::from(value)),
            "--interval-ms" => {
                let ms: u64 = value
                    .parse()
                    .map_err(|_| format!("--interval-ms: not a number: {value}"))?;
                interval = Duration::from_millis(ms.max(10));
            }
            _ => return Err(format!("unknown argument {name}\n{USAGE}")),
        }
    }
    Ok(Args {
        upstream: upstream.ok_or_else(|| format!("--upstream is required\n{USAGE}"))?,
        listen,
        count_file,
        interval,
    })
}

fn write_counts(path: &Path, counts: &Counts) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, format!("{}\n", counts.to_json()))?;
    std::fs::rename(&tmp, path)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let proxy = match FaultProxy::bind(&args.listen, &args.upstream) {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!(
                "faultproxy: cannot listen on {} for {}: {e}",
                args.listen, args.upstream
            );
            return ExitCode::FAILURE;
        }
    };
    let (stop_tx, stop_rx) = mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    }) {
        eprintln!("faultproxy: cannot handle SIGINT/SIGTERM: {e}");
        return ExitCode::FAILURE;
    }
    println!("listening {}", proxy.url());
    let _ = std::io::stdout().flush();
    eprintln!("faultproxy: {} -> {}", proxy.url(), args.upstream);

    loop {
        match stop_rx.recv_timeout(args.interval) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(path) = &args.count_file
                    && let Err(e) = write_counts(path, &proxy.counts())
                {
                    eprintln!("faultproxy: cannot write {}: {e}", path.display());
                }
            }
        }
    }
    let counts = proxy.counts();
    if let Some(path) = &args.count_file
        && let Err(e) = write_counts(path, &counts)
    {
        eprintln!("faultproxy: cannot write {}: {e}", path.display());
    }
    println!("{}", counts.to_json());
    let _ = std::io::stdout().flush();
    ExitCode::SUCCESS
}
