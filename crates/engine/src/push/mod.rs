//! Push remotes: a folder mirrored to a service by requests instead of synced through a
//! repository. Only this device writes there; what the service is known to hold is kept in
//! the `push_state` table, so each sync sends only what changed since the last one.
//!
//! - `gateway`: a Syncdesk or FarBox-style gateway (seed 003), one request per change;
//! - `aries`: an Aries endpoint (seed 002), the folder's server definitions as one batch.
//!
//! `jobs::execute` sends a folder here when its remote parses to a push kind
//! ([`crate::remote::RemoteKind::is_push`]); the repository code never sees these remotes.
//! Their "Test connection" is [`probe`].

pub mod aries;
pub mod gateway;
mod probe;

pub use probe::probe;

use crate::events::Reporter;
use crate::model::{Folder, JobId};
use crate::remote::{RemoteKind, RemoteSpec};
use crate::secrets::Secret;
use crate::store::Store;
use crate::sync::{SyncOptions, SyncOutcome};

/// What a push needs: the folder, its parsed remote and the remote's token.
pub struct PushContext<'a> {
    pub store: &'a Store,
    pub folder: &'a Folder,
    /// Kind [`RemoteKind::Gateway`] or [`RemoteKind::Aries`].
    pub spec: &'a RemoteSpec,
    /// The folder's `SecretKind::Remote` from the OS keyring: the gateway's `fb_token`, or
    /// the Aries bearer token.
    pub secret: &'a Secret,
    /// Progress, log and retry events of the job.
    pub reporter: &'a Reporter,
    pub job_id: JobId,
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Gateway(#[from] gateway::GatewayPushError),
    #[error(transparent)]
    Aries(#[from] aries::AriesError),
    #[error("{0} is not a push remote (gateway or Aries)")]
    NotPush(String),
}

impl PushError {
    /// A stable code for programs, like `EngineError::code`.
    pub fn code(&self) -> &'static str {
        match self {
            PushError::Gateway(e) => e.code(),
            PushError::Aries(e) => e.code(),
            PushError::NotPush(_) => "invalid_request",
        }
    }
}

/// Pushes the folder to its remote, the way its kind does it.
pub fn run(ctx: &PushContext<'_>, opts: &SyncOptions) -> Result<SyncOutcome, PushError> {
    match ctx.spec.kind {
        RemoteKind::Gateway => Ok(gateway::run(ctx, opts)?),
        RemoteKind::Aries => Ok(aries::run(ctx, opts)?),
        RemoteKind::Local | RemoteKind::S3 | RemoteKind::Webdav => {
            Err(PushError::NotPush(ctx.spec.describe()))
        }
    }
}
