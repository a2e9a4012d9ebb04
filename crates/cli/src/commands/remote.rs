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
                args.secret_stdin,
                args.password_stdin,
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
        args.secret_stdin,
        args.password_stdin,
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
    secret_stdin: bool,
    password_stdin: bool,
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
    let secret = if !spec.needs_secret() {
        if secret_stdin || password_stdin {
            bail!("this remote takes no secret (no --access-key-id or --user)");
        }
        None
    } else if spec.kind == RemoteKind::S3 {
        Some(input.read("S3 secret access key", secret_stdin, "--secret-stdin")?)
    } else {
        Some(input.read("WebDAV password", password_stdin, "--password-stdin")?)
    };
    Ok((spec, secret))
}

/// People type relative paths for a local remote; the engine stores absolute ones.
fn absolute_local(remote: &str) -> Result<String> {
    if remote.contains("://") || remote.is_empty() {
        return Ok(remote.to_owned());
    }
    let abs = std::path::absolute(remote).with_context(|| format!("cannot use {remote}"))?;
    Ok(abs.to_string_lossy().into_owned())
}
