//! Gateway tokens (seed 003's `fb_token`): `sdg_` + 64 hex, each bound to an account and a
//! folder. Like the API's tokens, the secret is shown once and kept in the OS keyring under
//! the token's name; the database holds the name, folder, account and date.
//!
//! Checking one must not cost a keyring round trip per request: the digests of the known
//! tokens are kept in memory, reloaded from the keyring on a miss (at most once a second),
//! and the row is read on every hit, so a token revoked by another process is refused at once.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{CreatedGatewayToken, GatewayCaller, GatewayError, GatewayToken, OWNER_ACCOUNT};
use crate::clock;
use crate::engine::{Engine, EngineError};
use crate::events::lock;
use crate::random;
use crate::secrets::{Secret, SecretKind};
use crate::store::GatewayTokenRow;

/// Every gateway token starts with this.
pub const TOKEN_PREFIX: &str = "sdg_";
/// Hex digits after the prefix.
const TOKEN_HEX: usize = 64;
/// At most one keyring reload per this long, however many unknown tokens arrive.
const RELOAD_EVERY: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
struct Cached {
    digest: [u8; 32],
    name: String,
    /// Tells the token from a later one of the same name.
    created_at: String,
}

#[derive(Debug, Default)]
struct Known {
    entries: Vec<Cached>,
    last_reload: Option<Instant>,
}

/// The digests of the tokens this process knows.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    known: Mutex<Known>,
    /// Held while reloading, so concurrent misses share one reload.
    reloading: Mutex<()>,
}

impl TokenCache {
    /// The entry whose digest is `digest`. Every entry is compared, each in constant time.
    fn find(&self, digest: &[u8; 32]) -> Option<Cached> {
        let known = lock(&self.known);
        let mut found = None;
        for e in &known.entries {
            if constant_time_eq(&e.digest, digest) {
                found = Some(e.clone());
            }
        }
        found
    }

    fn insert(&self, entry: Cached) {
        let mut known = lock(&self.known);
        known.entries.retain(|e| e.name != entry.name);
        known.entries.push(entry);
    }

    fn forget(&self, name: &str) {
        lock(&self.known).entries.retain(|e| e.name != name);
    }
}

fn constant_time_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

fn digest(token: &str) -> [u8; 32] {
    *blake3::hash(token.as_bytes()).as_bytes()
}

fn looks_like_token(token: &str) -> bool {
    token.len() == TOKEN_PREFIX.len() + TOKEN_HEX
        && token.starts_with(TOKEN_PREFIX)
        && token[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit())
}

fn unauthorized() -> GatewayError {
    GatewayError::Unauthorized(
        "unknown or revoked gateway token; ask the site owner for a token (`syncdesk-cli gateway token create`)"
            .into(),
    )
}

impl From<GatewayTokenRow> for GatewayToken {
    fn from(r: GatewayTokenRow) -> Self {
        GatewayToken {
            name: r.name,
            folder: r.folder,
            account: r.account,
            created_at: r.created_at,
        }
    }
}

impl Engine {
    /// Creates a token writing into `folder` as `account`, and returns it: the only time its
    /// secret is shown. Without a name it is called `gw-N`, N the first number free.
    pub fn create_gateway_token(
        &self,
        folder: &str,
        account: &str,
        name: Option<&str>,
    ) -> Result<CreatedGatewayToken, EngineError> {
        self.store().folder(folder)?;
        validate_account(account)?;
        let name = match name {
            Some(n) => {
                if !crate::repo::is_plain_name(n) {
                    return Err(EngineError::InvalidRequest(format!(
                        "invalid token name {n:?}: use 1 to 64 letters, digits, '.', '_' or '-'"
                    )));
                }
                n.to_owned()
            }
            None => self.free_gateway_token_name()?,
        };
        let raw = random::bytes::<32>()
            .map_err(|e| EngineError::Internal(format!("cannot make a token: {e}")))?;
        let secret = format!("{TOKEN_PREFIX}{}", hex::encode(raw));
        let row = GatewayTokenRow {
            name,
            folder: folder.to_owned(),
            account: account.to_owned(),
            // To the microsecond: a token is told from one revoked just before under the
            // same name by its date.
            created_at: clock::now_micros(),
        };
        // The row first: it claims the name. A keyring failure takes it back.
        if !self.store().insert_gateway_token(&row)? {
            return Err(EngineError::InvalidRequest(format!(
                "a gateway token named {:?} exists; revoke it first or pick another name",
                row.name
            )));
        }
        let stored = self.keyring().and_then(|k| {
            k.set(
                &row.name,
                SecretKind::GatewayToken,
                &Secret::new(secret.clone()),
            )
        });
        if let Err(e) = stored {
            self.store().delete_gateway_token(&row.name)?;
            return Err(e.into());
        }
        self.gateway.tokens.insert(Cached {
            digest: digest(&secret),
            name: row.name.clone(),
            created_at: row.created_at.clone(),
        });
        tracing::info!(name = %row.name, folder, account, "gateway token created");
        Ok(CreatedGatewayToken {
            token: row.into(),
            secret,
        })
    }

    pub fn gateway_tokens(&self) -> Result<Vec<GatewayToken>, EngineError> {
        Ok(self
            .store()
            .gateway_tokens()?
            .into_iter()
            .map(GatewayToken::from)
            .collect())
    }

    /// Revokes a token: refused from the next request on, in every process.
    pub fn revoke_gateway_token(&self, name: &str) -> Result<(), EngineError> {
        // The row goes first: without it the token is refused even if the keyring fails.
        if !self.store().delete_gateway_token(name)? {
            return Err(EngineError::NotFound(format!(
                "no gateway token named {name:?}; `gateway token list` shows them"
            )));
        }
        self.gateway.tokens.forget(name);
        self.keyring()?.delete(name, SecretKind::GatewayToken)?;
        tracing::info!(name, "gateway token revoked");
        Ok(())
    }

    /// Who a `fb_token` is: its account and folder. `Unauthorized` if unknown or revoked.
    pub fn gateway_caller(&self, fb_token: &str) -> Result<GatewayCaller, GatewayError> {
        if !looks_like_token(fb_token) {
            return Err(unauthorized());
        }
        let digest = digest(fb_token);
        if let Some(hit) = self.gateway.tokens.find(&digest) {
            if let Some(caller) = self.current_caller(&hit)? {
                return Ok(caller);
            }
            self.gateway.tokens.forget(&hit.name);
        }
        // Created by another process, or since the last reload.
        self.reload_gateway_tokens()?;
        match self.gateway.tokens.find(&digest) {
            Some(hit) => self.current_caller(&hit)?.ok_or_else(unauthorized),
            None => Err(unauthorized()),
        }
    }

    /// The site owner's logged-in session: the settings' folder, account `owner`.
    pub fn gateway_owner(&self) -> Result<GatewayCaller, GatewayError> {
        let Some(folder) = self.gateway_settings()?.folder else {
            return Err(GatewayError::Disabled(
                "the gateway has no folder: choose one in the gateway settings (`syncdesk-cli gateway settings --folder NAME`)"
                    .into(),
            ));
        };
        Ok(GatewayCaller {
            account: Some(OWNER_ACCOUNT.to_owned()),
            folder,
            session: true,
        })
    }

    /// The caller a cached token stands for, if its row is still the one cached.
    fn current_caller(&self, hit: &Cached) -> Result<Option<GatewayCaller>, GatewayError> {
        Ok(self
            .store()
            .gateway_token(&hit.name)?
            .filter(|row| row.created_at == hit.created_at)
            .map(|row| GatewayCaller {
                account: Some(row.account),
                folder: row.folder,
                session: false,
            }))
    }

    /// Reads every token's digest from the keyring again, unless that was done within the
    /// last second (unknown tokens must not turn into a keyring call each).
    fn reload_gateway_tokens(&self) -> Result<(), GatewayError> {
        let cache = &self.gateway.tokens;
        let _one_at_a_time = lock(&cache.reloading);
        {
            let mut known = lock(&cache.known);
            if known
                .last_reload
                .is_some_and(|t| t.elapsed() < RELOAD_EVERY)
            {
                return Ok(());
            }
            // Counted even if the reload fails: a broken keyring is not asked more often.
            known.last_reload = Some(Instant::now());
        }
        let rows = self.store().gateway_tokens()?;
        let keyring = self.keyring()?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            if let Some(secret) = keyring.get(&row.name, SecretKind::GatewayToken)? {
                entries.push(Cached {
                    digest: digest(secret.expose()),
                    name: row.name,
                    created_at: row.created_at,
                });
            }
        }
        lock(&cache.known).entries = entries;
        Ok(())
    }

    fn free_gateway_token_name(&self) -> Result<String, EngineError> {
        let taken: Vec<String> = self
            .store()
            .gateway_tokens()?
            .into_iter()
            .map(|t| t.name)
            .collect();
        Ok((1..)
            .map(|n| format!("gw-{n}"))
            .find(|n| !taken.contains(n))
            // An unbounded range always yields a name not among finitely many.
            .unwrap_or_default())
    }
}

fn validate_account(account: &str) -> Result<(), EngineError> {
    let ok = !account.is_empty()
        && account.len() <= 128
        && account.trim() == account
        && !account.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(EngineError::InvalidRequest(format!(
            "invalid account {account:?}: use 1 to 128 characters, without control characters or surrounding spaces"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape_is_checked_before_anything_else() {
        let good = format!("{TOKEN_PREFIX}{}", "ab".repeat(32));
        assert!(looks_like_token(&good));
        assert!(!looks_like_token(&good[..good.len() - 1]));
        assert!(!looks_like_token(&format!("sdt_{}", "ab".repeat(32))));
        assert!(!looks_like_token(&format!(
            "{TOKEN_PREFIX}{}",
            "zz".repeat(32)
        )));
        assert!(!looks_like_token(""));
    }

    #[test]
    fn every_entry_is_compared_and_the_match_found() {
        let cache = TokenCache::default();
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            cache.insert(Cached {
                digest: digest(&format!("t{i}")),
                name: (*name).into(),
                created_at: "x".into(),
            });
        }
        assert_eq!(cache.find(&digest("t1")).unwrap().name, "b");
        assert!(cache.find(&digest("t9")).is_none());
        cache.forget("b");
        assert!(cache.find(&digest("t1")).is_none());
        assert!(constant_time_eq(&[7; 32], &[7; 32]));
        let mut other = [7; 32];
        other[31] = 8;
        assert!(!constant_time_eq(&[7; 32], &other));
    }

    #[test]
    fn accounts_are_checked() {
        assert!(validate_account("alice").is_ok());
        assert!(validate_account("bob@example.com").is_ok());
        for bad in ["", " alice", "a\nb", &"x".repeat(129)] {
            assert!(validate_account(bad).is_err(), "{bad:?}");
        }
    }
}
