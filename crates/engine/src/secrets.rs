//! Credentials in the OS keyring, and nowhere else: remote secrets (S3 secret keys, WebDAV
//! passwords) and repository passphrases. SQLite, config files, logs and events only ever hold
//! the fact that a secret exists.
//!
//! Linux uses the Secret Service (GNOME Keyring, KWallet) unless `SYNCDESK_KEYRING=kernel`
//! picks the kernel keyring (headless machines without a Secret Service); macOS and Windows use
//! their native stores. There is no fallback to a file: a missing or locked keyring is an error
//! that says what to do.
//!
//! Keyring calls can block (D-Bus round trips, an unlock prompt): callers on a UI thread run
//! them elsewhere.

use std::fmt;

use keyring::{Entry, Error as KeyringError};
use serde::Deserialize;
use ts_rs::TS;

/// The keyring service all of Syncdesk's entries are filed under.
const SERVICE: &str = "syncdesk";

/// Which secret of a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    /// The S3 secret access key or the WebDAV password of the folder's remote.
    Remote,
    /// The passphrase of the folder's encrypted repository.
    Passphrase,
    /// A token of the local HTTP API (keyed by the token's name instead of a folder's).
    ApiToken,
    /// A token of the file gateway (keyed by the token's name, like [`SecretKind::ApiToken`]).
    GatewayToken,
}

impl SecretKind {
    fn as_str(self) -> &'static str {
        match self {
            SecretKind::Remote => "remote",
            SecretKind::Passphrase => "passphrase",
            SecretKind::ApiToken => "api-token",
            SecretKind::GatewayToken => "gateway-token",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error(
        "no OS keyring is available ({0}). Syncdesk keeps credentials only in the OS keyring: start GNOME Keyring or KWallet in your session, or on a machine without a desktop session set SYNCDESK_KEYRING=kernel"
    )]
    Unavailable(String),
    #[error(
        "the OS keyring is locked or refused access ({0}); unlock it (log in again or open your keyring manager) and retry"
    )]
    Locked(String),
    #[error("the OS keyring could not store the {what}: {reason}")]
    Rejected { what: &'static str, reason: String },
}

/// A secret value: never printed by `Debug`, never serialized (it can be received, not sent).
// A newtype struct: JSON gives it as a plain string.
#[derive(Clone, PartialEq, Eq, Deserialize, TS)]
#[ts(export, type = "string")]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where credentials are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Native,
    #[cfg(target_os = "linux")]
    Kernel,
}

/// The keyring of one Syncdesk installation. `scope` (the device id) keeps two installations
/// of one user — or two test runs — from reading each other's entries.
#[derive(Debug, Clone)]
pub struct Keyring {
    scope: String,
    backend: Backend,
}

impl Keyring {
    pub fn new(scope: &str) -> Result<Keyring, SecretError> {
        let backend = match std::env::var("SYNCDESK_KEYRING").as_deref() {
            Err(_) | Ok("") | Ok("native") => Backend::Native,
            #[cfg(target_os = "linux")]
            Ok("kernel") => Backend::Kernel,
            Ok(other) => {
                return Err(SecretError::Unavailable(format!(
                    "SYNCDESK_KEYRING={other:?} is not a keyring this build knows (use native or kernel)"
                )));
            }
        };
        Ok(Keyring {
            scope: scope.to_owned(),
            backend,
        })
    }

    fn entry(&self, folder: &str, kind: SecretKind) -> Result<Entry, SecretError> {
        let user = format!("{}/{}/{}", self.scope, folder, kind.as_str());
        let entry = match self.backend {
            Backend::Native => Entry::new(SERVICE, &user),
            #[cfg(target_os = "linux")]
            Backend::Kernel => {
                keyring::keyutils::KeyutilsCredential::new_with_target(None, SERVICE, &user)
                    .map(|c| Entry::new_with_credential(Box::new(c)))
            }
        };
        entry.map_err(|e| map_error(e, kind))
    }

    /// The secret, or `None` when none is stored.
    pub fn get(&self, folder: &str, kind: SecretKind) -> Result<Option<Secret>, SecretError> {
        match self.entry(folder, kind)?.get_password() {
            Ok(s) => Ok(Some(Secret(s))),
            Err(KeyringError::NoEntry) => Ok(None),
            Err(e) => Err(map_error(e, kind)),
        }
    }

    pub fn set(&self, folder: &str, kind: SecretKind, value: &Secret) -> Result<(), SecretError> {
        if value.0.is_empty() {
            return Err(SecretError::Rejected {
                what: what(kind),
                reason: "it is empty".into(),
            });
        }
        self.entry(folder, kind)?
            .set_password(&value.0)
            .map_err(|e| map_error(e, kind))
    }

    /// Removes the secret; removing one that is not there is fine.
    pub fn delete(&self, folder: &str, kind: SecretKind) -> Result<(), SecretError> {
        match self.entry(folder, kind)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(map_error(e, kind)),
        }
    }

    /// Removes every secret of a folder.
    pub fn forget_folder(&self, folder: &str) -> Result<(), SecretError> {
        self.delete(folder, SecretKind::Remote)?;
        self.delete(folder, SecretKind::Passphrase)
    }
}

fn what(kind: SecretKind) -> &'static str {
    match kind {
        SecretKind::Remote => "remote's secret",
        SecretKind::Passphrase => "encryption passphrase",
        SecretKind::ApiToken => "API token",
        SecretKind::GatewayToken => "gateway token",
    }
}

// Platform errors describe the keyring, never the secret, so they are safe to show.
fn map_error(e: KeyringError, kind: SecretKind) -> SecretError {
    match e {
        KeyringError::PlatformFailure(inner) => SecretError::Unavailable(inner.to_string()),
        KeyringError::NoStorageAccess(inner) => {
            let text = inner.to_string();
            // The Secret Service answers "no such object/service" when no daemon runs.
            if text.contains("ServiceUnknown")
                || text.contains("not provided by any .service files")
                || text.contains("was not provided")
            {
                SecretError::Unavailable(text)
            } else {
                SecretError::Locked(text)
            }
        }
        KeyringError::TooLong(attr, limit) => SecretError::Rejected {
            what: what(kind),
            reason: format!("{attr} is longer than the keyring allows ({limit})"),
        },
        KeyringError::Invalid(attr, reason) => SecretError::Rejected {
            what: what(kind),
            reason: format!("{attr}: {reason}"),
        },
        KeyringError::BadEncoding(_) => SecretError::Rejected {
            what: what(kind),
            reason: "the stored value is not text".into(),
        },
        other => SecretError::Rejected {
            what: what(kind),
            reason: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show_in_debug_output() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert!(!format!("{:?}", Some(s)).contains("hunter2"));
    }

    /// The real keyring: run under scripts/keyring-session.sh (the test script does).
    #[test]
    fn secrets_round_trip_through_the_os_keyring() {
        let scope = format!(
            "test-{}-{}",
            std::process::id(),
            crate::random::u64().unwrap()
        );
        let k = Keyring::new(&scope).unwrap();
        assert_eq!(k.get("docs", SecretKind::Remote).unwrap(), None);
        k.set("docs", SecretKind::Remote, &Secret::new("s3cr3t"))
            .unwrap();
        k.set("docs", SecretKind::Passphrase, &Secret::new("pass phrase"))
            .unwrap();
        assert_eq!(
            k.get("docs", SecretKind::Remote).unwrap().unwrap().expose(),
            "s3cr3t"
        );
        // Another installation's scope does not see it.
        let other = Keyring::new(&format!("{scope}-other")).unwrap();
        assert_eq!(other.get("docs", SecretKind::Remote).unwrap(), None);
        k.set("docs", SecretKind::Remote, &Secret::new("rotated"))
            .unwrap();
        assert_eq!(
            k.get("docs", SecretKind::Remote).unwrap().unwrap().expose(),
            "rotated"
        );
        assert!(k.set("docs", SecretKind::Remote, &Secret::new("")).is_err());
        k.forget_folder("docs").unwrap();
        assert_eq!(k.get("docs", SecretKind::Remote).unwrap(), None);
        assert_eq!(k.get("docs", SecretKind::Passphrase).unwrap(), None);
        k.delete("docs", SecretKind::Remote).unwrap();
    }
}
