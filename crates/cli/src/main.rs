//! `syncdesk-cli`: the Syncdesk engine from a terminal or a script.

mod args;
mod commands;
mod exit;
mod logging;
mod output;
mod progress;
mod secret_input;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use clap::Parser;
use serde_json::{Value, json};
use syncdesk_engine::{Engine, default_state_dir};

use args::Cli;
use exit::Exit;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let json = cli.json;
    let state_dir = match state_dir(cli.state_dir.clone()) {
        Ok(dir) => dir,
        Err(e) => return report(&e, json).into(),
    };
    // Kept until the end of main so the file log is flushed.
    let _log = logging::init(&state_dir, cli.verbose);
    let code = match run(cli, state_dir) {
        Ok(code) => code,
        Err(e) => report(&e, json),
    };
    tracing::debug!(code = code as u8, "exit");
    code.into()
}

fn run(cli: Cli, state_dir: PathBuf) -> Result<Exit> {
    let engine = Engine::open(&state_dir)
        .with_context(|| format!("cannot open the state in {}", state_dir.display()))?;
    let ctx = commands::Ctx {
        engine,
        state_dir,
        json: cli.json,
    };
    commands::run(&ctx, cli.command)
}

/// The state directory, absolute so detached children and logs agree on it.
fn state_dir(given: Option<PathBuf>) -> Result<PathBuf> {
    let dir = given.or_else(default_state_dir).ok_or_else(|| {
        anyhow!("cannot tell where to keep state on this system; pass --state-dir")
    })?;
    std::path::absolute(&dir)
        .with_context(|| format!("cannot use the state directory {}", dir.display()))
}

/// Prints an error (`{"error": ...}` on stdout with --json, stderr otherwise).
fn report(err: &anyhow::Error, json: bool) -> Exit {
    let code = exit::exit_of(err);
    let message = format!("{err:#}");
    tracing::error!(code = code as u8, "{message}");
    if json {
        let mut doc = serde_json::Map::new();
        doc.insert("error".into(), Value::String(message));
        if let Some(details) = exit::details_of(err) {
            doc.extend(details.clone());
        }
        // If stdout is gone too there is nobody left to tell.
        let _ = output::json(&doc);
    } else {
        eprintln!("error: {message}");
    }
    code
}

/// clap's own handling (help, version, usage errors with exit 2), except that a usage
/// error under --json is still reported as one JSON document.
fn usage_error(e: clap::Error) -> ExitCode {
    let wants_json = std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json");
    if !(wants_json && e.use_stderr()) {
        e.exit();
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let message = first.strip_prefix("error: ").unwrap_or(first);
    let _ = output::json(&json!({ "error": message }));
    Exit::Usage.into()
}
