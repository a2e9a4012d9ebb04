//! A contract server for the Aries sync API (seed 002), to try the Aries connector against.
//!
//!   aries-server [--listen 127.0.0.1:0] --token TOKEN [--images img-a,img-b]
//!
//! Prints its base URL (`http://127.0.0.1:<port>`) on the first line of standard output (a
//! Syncdesk folder's remote is then `aries+<that URL>`, its secret the token), logs each
//! request on standard error, and runs until SIGINT or SIGTERM. What it answers is described
//! in `syncdesk_testkit::aries`; `GET /_test/requests` shows what it received.

use std::io::Write;
use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use syncdesk_testkit::aries::{AriesConfig, AriesServer};
use syncdesk_testkit::flags;

const USAGE: &str = "usage: aries-server [--listen HOST:PORT] --token TOKEN [--images ID,ID,...]";

struct Args {
    listen: String,
    config: AriesConfig,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut token = None;
    let mut images = Vec::new();
    for (name, value) in flags::pairs(std::env::args().skip(1), USAGE)? {
        match name.as_str() {
            "--listen" => listen = value,
            "--token" => token = Some(value),
            "--images" => {
                images = value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }
            _ => return Err(format!("unknown argument {name}\n{USAGE}")),
        }
    }
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| format!("--token is required\n{USAGE}"))?;
    Ok(Args {
        listen,
        config: AriesConfig { token, images },
    })
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let images = args.config.images.join(", ");
    let server = match AriesServer::start(&args.listen, args.config) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("aries-server: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let (stop_tx, stop_rx) = mpsc::channel();
    if let Err(e) = ctrlc::set_handler(move || {
        let _ = stop_tx.send(());
    }) {
        eprintln!("aries-server: cannot handle SIGINT/SIGTERM: {e}");
        return ExitCode::FAILURE;
    }
    println!("{}", server.url());
    let _ = std::io::stdout().flush();
    eprintln!(
        "aries-server: {}{} (images: {})",
        server.url(),
        syncdesk_testkit::aries::SYNC_PATH,
        if images.is_empty() { "none" } else { &images }
    );
    // Logs what arrives, polling the record (the server itself knows nothing of stderr).
    let mut seen = 0;
    loop {
        let stopped = !matches!(
            stop_rx.recv_timeout(Duration::from_millis(200)),
            Err(mpsc::RecvTimeoutError::Timeout)
        );
        let requests = server.requests();
        for r in requests.iter().skip(seen) {
            let code = r.code.as_deref().unwrap_or("success");
            eprintln!(
                "aries-server: {} {} -> {} {code}",
                r.method, r.path, r.status
            );
        }
        seen = requests.len();
        if stopped {
            break;
        }
    }
    ExitCode::SUCCESS
}
