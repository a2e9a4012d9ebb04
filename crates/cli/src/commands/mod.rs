//! One module per group of commands. Each prints its result (one JSON document with
//! `--json`, text otherwise) and returns the exit code; errors go back to `main`.

mod app_state;
mod daemon;
mod folder;
mod gateway;
mod history;
mod ignore;
mod info;
mod jobs;
mod remote;
mod serve;
mod summary;
mod sync;
mod token;
mod trash;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use syncdesk_engine::Engine;

use crate::args::Command;
use crate::exit::Exit;

/// What every command needs.
pub struct Ctx {
    pub engine: Arc<Engine>,
    /// Absolute, so detached children find the same state.
    pub state_dir: PathBuf,
    pub json: bool,
}

pub fn run(ctx: &Ctx, command: Command) -> Result<Exit> {
    match command {
        Command::Folder(c) => folder::run(ctx, c),
        Command::Remote(c) => remote::run(ctx, c),
        Command::Sync(args) => sync::run(ctx, &args),
        Command::Info => info::run(ctx),
        Command::Jobs(c) => jobs::run(ctx, c),
        Command::Snapshots(a) => history::snapshots(ctx, &a.folder),
        Command::Files(a) => history::files(ctx, &a),
        Command::Restore(a) => history::restore(ctx, &a),
        Command::Check(a) => history::check(ctx, &a.folder),
        Command::Trash(c) => trash::run(ctx, c),
        Command::Ignore(c) => ignore::run(ctx, c),
        Command::Pause => app_state::set_paused(ctx, true),
        Command::Resume => app_state::set_paused(ctx, false),
        Command::Daemon => daemon::run(ctx),
        Command::Serve(args) => serve::run(ctx, &args),
        Command::Token(c) => token::run(ctx, c),
        Command::Gateway(c) => gateway::run(ctx, c),
        Command::RunJob { id } => sync::run_job(ctx, id),
    }
}
