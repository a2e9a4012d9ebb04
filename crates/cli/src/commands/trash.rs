//! `trash list | restore`.

use anyhow::Result;
use serde_json::json;

use super::Ctx;
use crate::args::TrashCommand;
use crate::exit::Exit;
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, command: TrashCommand) -> Result<Exit> {
    match command {
        TrashCommand::List(a) => {
            let items = ctx.engine.trash(&a.folder)?;
            if ctx.json {
                output::json(&items)?;
            } else if items.is_empty() {
                output::print("the trash is empty\n")?;
            } else {
                let mut t = Table::new(&["BATCH", ">SIZE", "PATH"]);
                for i in &items {
                    t.row(vec![i.batch.clone(), output::bytes(i.size), i.path.clone()]);
                }
                output::print(&t.render())?;
            }
        }
        TrashCommand::Restore {
            folder,
            batch,
            path,
        } => {
            let to = ctx
                .engine
                .restore_from_trash(&folder, &batch, &path, None)?;
            if ctx.json {
                output::json(&json!({ "restored": to }))?;
            } else {
                output::print(&format!("restored {}\n", to.display()))?;
            }
        }
    }
    Ok(Exit::Ok)
}
