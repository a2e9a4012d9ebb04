//! `gateway token create | list | revoke` and `gateway settings`: the file gateway other
//! machines push to. Its tokens live in the OS keyring; `create` shows one once.

use anyhow::{Context, Result};
use syncdesk_engine::gateway::GatewaySettings;
use syncdesk_engine::ratelimit::{self, Rule};

use super::Ctx;
use crate::args::{GatewayCommand, GatewaySettingsArgs, GatewayTokenCommand};
use crate::exit::Exit;
use crate::output::{self, Table};

pub fn run(ctx: &Ctx, command: GatewayCommand) -> Result<Exit> {
    match command {
        GatewayCommand::Token(c) => token(ctx, c),
        GatewayCommand::Settings(args) => settings(ctx, &args),
    }
}

fn token(ctx: &Ctx, command: GatewayTokenCommand) -> Result<Exit> {
    match command {
        GatewayTokenCommand::Create {
            folder,
            account,
            name,
        } => {
            let created = ctx
                .engine
                .create_gateway_token(&folder, &account, name.as_deref())?;
            if ctx.json {
                output::json(&created)?;
            } else {
                // The token alone on stdout, so `TOKEN=$(syncdesk-cli gateway token create …)`
                // works.
                eprintln!(
                    "created the gateway token {:?} (account {:?}, folder {:?}); it is shown only now:",
                    created.token.name, created.token.account, created.token.folder
                );
                output::print(&format!("{}\n", created.secret))?;
            }
        }
        GatewayTokenCommand::List => {
            let tokens = ctx.engine.gateway_tokens()?;
            if ctx.json {
                output::json(&tokens)?;
            } else if tokens.is_empty() {
                output::print(
                    "no gateway tokens; `syncdesk-cli gateway token create --folder F --account A` makes one\n",
                )?;
            } else {
                let mut table = Table::new(&["NAME", "ACCOUNT", "FOLDER", "CREATED"]);
                for t in tokens {
                    table.row(vec![t.name, t.account, t.folder, t.created_at]);
                }
                output::print(&table.render())?;
            }
        }
        GatewayTokenCommand::Revoke { name } => {
            ctx.engine.revoke_gateway_token(&name)?;
            if ctx.json {
                output::json(&serde_json::json!({ "revoked": name }))?;
            } else {
                output::print(&format!("revoked {name:?}\n"))?;
            }
        }
    }
    Ok(Exit::Ok)
}

fn settings(ctx: &Ctx, args: &GatewaySettingsArgs) -> Result<Exit> {
    let mut s = ctx.engine.gateway_settings()?;
    if changes(&mut s, args)? {
        ctx.engine.set_gateway_settings(&s)?;
        s = ctx.engine.gateway_settings()?;
    }
    if ctx.json {
        output::json(&s)?;
    } else {
        output::print(&describe(&s))?;
    }
    Ok(Exit::Ok)
}

/// Applies the options given; false when there were none (the command only shows).
fn changes(s: &mut GatewaySettings, args: &GatewaySettingsArgs) -> Result<bool> {
    let mut changed = false;
    if let Some(folder) = &args.folder {
        s.folder = Some(folder.clone());
        changed = true;
    }
    if let Some(on) = args.sync_by_3rd {
        s.sync_by_3rd = on.into();
        changed = true;
    }
    if let Some(on) = args.sync_by_3rd_public {
        s.sync_by_3rd_public = on.into();
        changed = true;
    }
    for (given, field, flag) in [
        (
            &args.account_limits,
            &mut s.account_limits,
            "--account-limits",
        ),
        (
            &args.public_account_limits,
            &mut s.public_account_limits,
            "--public-account-limits",
        ),
        (
            &args.public_ip_limits,
            &mut s.public_ip_limits,
            "--public-ip-limits",
        ),
        (&args.site_limits, &mut s.site_limits, "--site-limits"),
    ] {
        if let Some(text) = given {
            *field = rules(text).with_context(|| format!("{flag} {text:?}"))?;
            changed = true;
        }
    }
    if let Some(max) = args.max_file_size {
        s.max_file_size = max;
        changed = true;
    }
    Ok(changed)
}

fn rules(text: &str) -> Result<Vec<Rule>> {
    ratelimit::parse_rules(text).map_err(anyhow::Error::msg)
}

fn describe(s: &GatewaySettings) -> String {
    let on = |b: bool| if b { "on" } else { "off" };
    format!(
        "folder                 {}\n\
         sync_by_3rd            {}\n\
         sync_by_3rd_public     {}\n\
         account limits         {}\n\
         public account limits  {}\n\
         public IP limits       {}\n\
         site limits            {}\n\
         max file size          {} bytes\n",
        s.folder
            .as_deref()
            .unwrap_or("(none: sync_3rd and sessions are refused)"),
        on(s.sync_by_3rd),
        on(s.sync_by_3rd_public),
        ratelimit::format_rules(&s.account_limits),
        ratelimit::format_rules(&s.public_account_limits),
        ratelimit::format_rules(&s.public_ip_limits),
        ratelimit::format_rules(&s.site_limits),
        s.max_file_size,
    )
}
