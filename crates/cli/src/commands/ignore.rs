//! `ignore show | set`: a folder's top-level `.syncignore`, as the desktop app edits it.

use std::io::{IsTerminal, Read};

use anyhow::{Context, Result};
use serde_json::json;

use super::Ctx;
use crate::args::IgnoreCommand;
use crate::exit::Exit;
use crate::output;

pub fn run(ctx: &Ctx, command: IgnoreCommand) -> Result<Exit> {
    match command {
        IgnoreCommand::Show(a) => {
            let text = ctx.engine.ignore_rules(&a.folder)?;
            if ctx.json {
                output::json(&json!({ "folder": a.folder, "text": text }))?;
            } else if text.is_empty() {
                // Nothing on stdout, so `ignore show > rules` saves exactly the rules.
                eprintln!("{} has no ignore rules", a.folder);
            } else {
                output::print(&text)?;
            }
        }
        IgnoreCommand::Set { folder, file } => {
            let text = match &file {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the rules from {}", path.display()))?,
                None => {
                    let mut stdin = std::io::stdin();
                    if stdin.is_terminal() {
                        eprintln!("type the rules, then Ctrl-D:");
                    }
                    let mut text = String::new();
                    stdin
                        .read_to_string(&mut text)
                        .context("cannot read the rules from stdin")?;
                    text
                }
            };
            ctx.engine.set_ignore_rules(&folder, &text)?;
            if ctx.json {
                output::json(&json!({ "folder": folder, "text": text }))?;
            } else if text.is_empty() {
                output::print(&format!(
                    "removed the ignore rules of {folder}; the next sync applies it\n"
                ))?;
            } else {
                let rules = text
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                    .count();
                output::print(&format!(
                    "{folder}: {}; the next sync applies them\n",
                    output::count(rules as u64, "rule", "rules")
                ))?;
            }
        }
    }
    Ok(Exit::Ok)
}
