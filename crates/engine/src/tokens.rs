//! Tokens of the local HTTP API. A token is a random 256-bit value shown once when it is
//! created and kept in the OS keyring under its name; the state database holds only the
//! name, the role and the date, so `token list` never needs (or shows) a secret.

use std::net::SocketAddr;

use crate::clock;
use crate::engine::{Engine, EngineError};
use crate::model::{ApiRole, ApiToken, AppState, CreatedToken};
use crate::random;
use crate::secrets::{Secret, SecretKind};

/// Every token starts with this, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "sdt_";

impl Engine {
    /// Creates a token and returns it: the only time its secret is shown. Without a name it
    /// is called `token-N`, N the first number free.
    pub fn create_api_token(
        &self,
        name: Option<&str>,
        role: ApiRole,
    ) -> Result<CreatedToken, EngineError> {
        let name = match name {
            Some(name) => {
                validate_token_name(name)?;
                name.to_owned()
            }
            None => self.free_token_name()?,
        };
        let raw = random::bytes::<32>()
            .map_err(|e| EngineError::Internal(format!("cannot make a token: {e}")))?;
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(raw));
        // To the microsecond: a server tells a token from one revoked just before under the
        // same name by its date.
        let token = ApiToken {
            name,
            role,
            created_at: clock::now_micros(),
        };
        // The row first: it claims the name, so two processes cannot both store a secret
        // under it. A keyring failure takes the row back.
        if !self.store().insert_api_token(&token)? {
            return Err(EngineError::InvalidRequest(format!(
                "a token named {:?} exists; revoke it first or pick another name",
                token.name
            )));
        }
        let keyring = self.keyring();
        if let Err(e) = keyring.and_then(|k| {
            k.set(
                &token.name,
                SecretKind::ApiToken,
                &Secret::new(secret.clone()),
            )
        }) {
            self.store().delete_api_token(&token.name)?;
            return Err(e.into());
        }
        tracing::info!(name = %token.name, role = token.role.as_str(), "API token created");
        Ok(CreatedToken { token, secret })
    }

    pub fn api_tokens(&self) -> Result<Vec<ApiToken>, EngineError> {
        Ok(self.store().api_tokens()?)
    }

    /// A token's record, `None` once it is revoked: cheap, no keyring call.
    pub fn api_token(&self, name: &str) -> Result<Option<ApiToken>, EngineError> {
        Ok(self.store().api_token(name)?)
    }

    /// The secret of a token, from the OS keyring (`None` if the keyring lost it).
    pub fn api_token_secret(&self, name: &str) -> Result<Option<Secret>, EngineError> {
        Ok(self.keyring()?.get(name, SecretKind::ApiToken)?)
    }

    /// Revokes a token: a server sharing this state directory refuses it from its next
    /// request on.
    pub fn revoke_api_token(&self, name: &str) -> Result<(), EngineError> {
        if self.store().api_token(name)?.is_none() {
            return Err(EngineError::NotFound(format!(
                "no API token named {name:?}; `token list` shows them"
            )));
        }
        // The row goes first: without it the token is refused even if the keyring fails.
        self.store().delete_api_token(name)?;
        self.keyring()?.delete(name, SecretKind::ApiToken)?;
        tracing::info!(name, "API token revoked");
        Ok(())
    }

    /// Turns the desktop app's API server on or off, and where it listens (this machine only).
    pub fn set_api_server(&self, enabled: bool, listen: &str) -> Result<AppState, EngineError> {
        let addr: SocketAddr = listen.trim().parse().map_err(|_| {
            EngineError::InvalidRequest(format!(
                "{listen:?} is not an address and port, such as 127.0.0.1:6806"
            ))
        })?;
        if !addr.ip().is_loopback() {
            return Err(EngineError::InvalidRequest(format!(
                "the app serves the API on this machine only (127.0.0.1 or [::1]), not {addr}; \
                 use `syncdesk-cli serve --listen {addr} --allow-remote` to serve other machines"
            )));
        }
        self.change_app_state(|s| {
            s.api_enabled = enabled;
            s.api_listen = addr.to_string();
        })
    }

    fn free_token_name(&self) -> Result<String, EngineError> {
        let taken: Vec<String> = self.api_tokens()?.into_iter().map(|t| t.name).collect();
        Ok((1..)
            .map(|n| format!("token-{n}"))
            .find(|n| !taken.contains(n))
            // An unbounded range always yields a name not among finitely many.
            .unwrap_or_default())
    }
}

fn validate_token_name(name: &str) -> Result<(), EngineError> {
    if crate::repo::is_plain_name(name) {
        Ok(())
    } else {
        Err(EngineError::InvalidRequest(format!(
            "invalid token name {name:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}
