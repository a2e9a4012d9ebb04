//! `pause | resume`: the app-wide pause the desktop app's tray and settings also change.

use anyhow::Result;

use super::Ctx;
use crate::exit::Exit;
use crate::output;

pub fn set_paused(ctx: &Ctx, paused: bool) -> Result<Exit> {
    let state = ctx.engine.set_paused(paused)?;
    if ctx.json {
        output::json(&state)?;
    } else if paused {
        output::print(
            "paused: no background syncs (schedule, watcher) until `syncdesk-cli resume`; \
             `sync` still works\n",
        )?;
    } else {
        output::print("resumed: folders sync in the background again\n")?;
    }
    Ok(Exit::Ok)
}
