//! `remote test`, and turning remote flags into the engine's repository settings.

use anyhow::{Context, Result, bail};
use syncdesk_engine::model::RepositorySettings;
use syncdesk_engine::remote::{ProbeReport, RemoteKind, RemoteSpec};
use syncdesk_engine::secrets::Secret;

use super::Ctx;
use crate::args::{RemoteCommand, RemoteTestArgs, RepositoryArgs};
use crate::exit::Exit;
use crate::output;
use crate::secret_input::SecretInput;

pub fn run(ctx: &Ctx, command: RemoteCommand) -> Result<Exit> {
    match command {
        RemoteCommand::Test(args) => test(ctx, &args),
    }
}

fn test(ctx: &Ctx, args: &RemoteTestArgs) -> Result<Exit> {
    let report = match (&args.folder, &args.remote) {
        (Some(folder), _) => ctx.engine.test_folder_remote(folder)?,
        (None, Some(remote)) => {
            let mut input = SecretInput::default();
            let (spec, secret) = remote_with_secret(
                remote,
                args.access_key_id.as_deref(),
                args.user.as_deref(),
                SecretFlags {
                    secret: args.secret_stdin,
                    password: args.password_stdin,
                    token: args.token_stdin,
                },
                &mut input,
            )?;
            ctx.engine.test_remote(&spec.to_url(), secret.as_ref())?
        }
        (None, None) => bail!("name a --folder or a --remote to test"),
    };
    if ctx.json {
        output::json(&report)?;
    } else {
        output::print(&describe(&report))?;
    }
    Ok(Exit::Ok)
}

fn describe(report: &ProbeReport) -> String {
    let mut out = String::from("connection OK:\n");
    for step in &report.steps {
        out.push_str(&format!("  {:<28} {} ms\n", step.step.describe(), step.ms));
    }
    out
}

/// The engine's settings from the flags, reading the secrets the remote needs.
pub fn repository_settings(
    args: &RepositoryArgs,
    input: &mut SecretInput,
) -> Result<RepositorySettings> {
    let (spec, secret) = remote_with_secret(
        &args.remote,
        args.access_key_id.as_deref(),
        args.user.as_deref(),
        SecretFlags {
            secret: args.secret_stdin,
            password: args.password_stdin,
            token: args.token_stdin,
        },
        input,
    )?;
    let passphrase = if args.passphrase_stdin {
        Some(input.stdin_line("passphrase")?)
    } else if args.encrypt {
        Some(input.new_passphrase(false, "--passphrase-stdin")?)
    } else {
        None
    };
    Ok(RepositorySettings {
        remote: spec.to_url(),
        cloud_name: args.cloud_name.clone(),
        secret,
        passphrase,
    })
}

fn remote_with_secret(
    remote: &str,
    access_key_id: Option<&str>,
    user: Option<&str>,
    stdin: SecretFlags,
    input: &mut SecretInput,
) -> Result<(RemoteSpec, Option<Secret>)> {
    let mut spec = RemoteSpec::parse(&absolute_local(remote)?)?;
    if let Some(id) = access_key_id {
        if spec.kind != RemoteKind::S3 {
            bail!("--access-key-id is for S3 remotes");
        }
        spec.access_key_id = Some(id.to_owned());
    }
    if let Some(u) = user {
        if spec.kind != RemoteKind::Webdav {
            bail!("--user is for WebDAV remotes");
        }
        spec.user = Some(u.to_owned());
    }
    if !spec.needs_secret() {
        if stdin.secret || stdin.password || stdin.token {
            bail!("this remote takes no secret (no --access-key-id or --user)");
        }
        return Ok((spec, None));
    }
    let secret = match spec.kind {
        RemoteKind::S3 => input.read("S3 secret access key", stdin.secret, "--secret-stdin")?,
        RemoteKind::Webdav => input.read("WebDAV password", stdin.password, "--password-stdin")?,
        RemoteKind::Gateway => input.read("gateway token", stdin.token, "--token-stdin")?,
        RemoteKind::Aries => input.read("Aries token", stdin.token, "--token-stdin")?,
        RemoteKind::Local => bail!("a local remote takes no secret"),
    };
    Ok((spec, Some(secret)))
}

/// Which secrets come from stdin instead of a prompt.
#[derive(Clone, Copy, Default)]
pub struct SecretFlags {
    pub secret: bool,
    pub password: bool,
    pub token: bool,
}

/// People type relative paths for a local remote; the engine stores absolute ones.
fn absolute_local(remote: &str) -> Result<String> {
    if remote.contains("://") || remote.is_empty() {
        return Ok(remote.to_owned());
    }
    let abs = std::path::absolute(remote).with_context(|| format!("cannot use {remote}"))?;
    Ok(abs.to_string_lossy().into_owned())
}
