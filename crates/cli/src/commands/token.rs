//! `token create | list | revoke`: the local HTTP API's tokens (the tokens themselves live in
//! the OS keyring; `create` shows one once).

use anyhow::Result;

use super::Ctx;
use crate::args::TokenCommand;
use crate::exit::Exit;
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, command: TokenCommand) -> Result<Exit> {
    match command {
        TokenCommand::Create { role, name } => {
            let created = ctx.engine.create_api_token(name.as_deref(), role.into())?;
            if ctx.json {
                output::json(&created)?;
            } else {
                // The token alone on stdout, so `TOKEN=$(syncdesk-cli token create …)` works.
                eprintln!(
                    "created the {} token {:?}; it is shown only now:",
                    created.token.role.as_str(),
                    created.token.name
                );
                output::print(&format!("{}\n", created.secret))?;
            }
        }
        TokenCommand::List => {
            let tokens = ctx.engine.api_tokens()?;
            if ctx.json {
                output::json(&tokens)?;
            } else if tokens.is_empty() {
                output::print("no tokens; `syncdesk-cli token create --role admin` makes one\n")?;
            } else {
                let mut table = Table::new(&["NAME", "ROLE", "CREATED"]);
                for t in tokens {
                    table.row(vec![t.name, t.role.as_str().to_owned(), t.created_at]);
                }
                output::print(&table.render())?;
            }
        }
        TokenCommand::Revoke { name } => {
            ctx.engine.revoke_api_token(&name)?;
            if ctx.json {
                output::json(&serde_json::json!({ "revoked": name }))?;
            } else {
                output::print(&format!("revoked {name:?}\n"))?;
            }
        }
    }
    Ok(Exit::Ok)
}
