//! How the engine reaches a folder's repository: its remote, opened with the credentials from
//! the OS keyring, and the passphrase of an encrypted repository. Also the user's operations on
//! those credentials: test a connection, store a secret, set or change a passphrase.

use std::sync::Arc;

use crate::engine::{Engine, EngineError};
use crate::events::Reporter;
use crate::model::Folder;
use crate::push;
use crate::remote::{self, OpenOptions, ProbeReport, Remote, RemoteSpec, RetryNotice};
use crate::repo::{Repo, RepoError};
use crate::secrets::{Secret, SecretKind};

/// An opened remote and what it takes to open the folder's repository on it.
pub struct RepoAccess {
    pub remote: Arc<dyn Remote>,
    pub cloud_name: String,
    pub passphrase: Option<Secret>,
}

impl RepoAccess {
    pub fn open_repo(&self) -> Result<Repo, RepoError> {
        Repo::open(
            self.remote.clone(),
            &self.cloud_name,
            self.passphrase.as_ref().map(Secret::expose),
        )
    }
}

/// Retries reported as `syncRetry` events of the job.
pub(crate) fn retry_reporter(reporter: &Arc<Reporter>) -> remote::RetryObserver {
    let reporter = reporter.clone();
    Arc::new(move |n: &RetryNotice| reporter.retry(&n.reason))
}

impl Engine {
    /// Opens the folder's remote with its credentials from the keyring.
    pub(crate) fn access(
        &self,
        folder: &Folder,
        on_retry: Option<remote::RetryObserver>,
    ) -> Result<RepoAccess, EngineError> {
        let spec = RemoteSpec::parse(&folder.remote)?;
        let secret = if spec.needs_secret() {
            Some(
                self.keyring()?
                    .get(&folder.name, SecretKind::Remote)?
                    .ok_or_else(|| {
                        EngineError::Credentials(format!(
                            "the {} secret of folder {:?} is not in the OS keyring; enter it in Settings or run `syncdesk-cli folder set-secret {}`",
                            spec.provider_name(),
                            folder.name,
                            folder.name
                        ))
                    })?,
            )
        } else {
            None
        };
        let passphrase = if folder.encrypted {
            Some(
                self.keyring()?
                    .get(&folder.name, SecretKind::Passphrase)?
                    .ok_or_else(|| {
                        EngineError::Credentials(format!(
                            "the passphrase of the encrypted folder {:?} is not in the OS keyring; enter it in Settings or run `syncdesk-cli folder set-passphrase {}`",
                            folder.name, folder.name
                        ))
                    })?,
            )
        } else {
            None
        };
        let remote = remote::open_spec(
            &spec,
            &OpenOptions {
                secret: secret.map(|s| s.expose().to_owned()),
                on_retry,
            },
        )?;
        Ok(RepoAccess {
            remote,
            cloud_name: folder.cloud_name.clone(),
            passphrase,
        })
    }

    pub(crate) fn open_repo(&self, folder: &Folder) -> Result<Repo, EngineError> {
        Ok(self.access(folder, None)?.open_repo()?)
    }

    /// "Test connection": reaches the remote, checks the credentials, and writes, reads and
    /// deletes a probe object (a push remote: one request that changes nothing, see
    /// [`push::probe`]). For a remote not saved yet.
    pub fn test_remote(
        &self,
        remote: &str,
        secret: Option<&Secret>,
    ) -> Result<ProbeReport, EngineError> {
        let spec = RemoteSpec::parse(remote)?;
        if spec.kind.is_push() {
            return push::probe(&spec, secret, None);
        }
        let r = remote::open_spec(
            &spec,
            &OpenOptions {
                secret: secret.map(|s| s.expose().to_owned()),
                on_retry: None,
            },
        )?;
        Ok(remote::probe(r.as_ref())?)
    }

    /// "Test connection" of a folder's saved remote and credentials.
    pub fn test_folder_remote(&self, folder: &str) -> Result<ProbeReport, EngineError> {
        let f = self.store().folder(folder)?;
        let spec = RemoteSpec::parse(&f.remote)?;
        if spec.kind.is_push() {
            let token = self.push_secret(&f, &spec)?;
            return push::probe(&spec, Some(&token), Some(&f.name));
        }
        let access = self.access(&f, None)?;
        Ok(remote::probe(access.remote.as_ref())?)
    }

    /// Replaces the secret of a folder's remote (a rotated key, a new password).
    pub fn set_remote_secret(&self, folder: &str, secret: &Secret) -> Result<(), EngineError> {
        let f = self.store().folder(folder)?;
        if !RemoteSpec::parse(&f.remote)?.needs_secret() {
            return Err(EngineError::InvalidRequest(format!(
                "the remote of folder {folder:?} has no access key id or user, so it takes no secret"
            )));
        }
        self.keyring()?.set(folder, SecretKind::Remote, secret)?;
        Ok(())
    }

    /// Stores the passphrase of an encrypted folder after checking it against the repository
    /// (for a passphrase changed on another device). A wrong one is refused and not stored.
    pub fn set_passphrase(&self, folder: &str, passphrase: &Secret) -> Result<(), EngineError> {
        let f = self.store().folder(folder)?;
        if !f.encrypted {
            return Err(EngineError::InvalidRequest(format!(
                "folder {folder:?} is not encrypted"
            )));
        }
        let mut access = self.access_without_passphrase(&f)?;
        access.passphrase = Some(passphrase.clone());
        access.open_repo()?;
        self.keyring()?
            .set(folder, SecretKind::Passphrase, passphrase)?;
        Ok(())
    }

    /// Changes the passphrase of an encrypted folder's repository for every device: the
    /// master key is re-wrapped, no data is rewritten. Other devices need the new one.
    pub fn change_passphrase(
        &self,
        folder: &str,
        old: &Secret,
        new: &Secret,
    ) -> Result<(), EngineError> {
        let f = self.store().folder(folder)?;
        if !f.encrypted {
            return Err(EngineError::InvalidRequest(format!(
                "folder {folder:?} is not encrypted"
            )));
        }
        if new.expose().is_empty() {
            return Err(EngineError::InvalidRequest(
                "the new passphrase is empty".into(),
            ));
        }
        let mut access = self.access_without_passphrase(&f)?;
        access.passphrase = Some(old.clone());
        let repo = access.open_repo()?;
        repo.change_passphrase(old.expose(), new.expose())?;
        self.keyring()?.set(folder, SecretKind::Passphrase, new)?;
        Ok(())
    }

    fn access_without_passphrase(&self, f: &Folder) -> Result<RepoAccess, EngineError> {
        let plain = Folder {
            encrypted: false,
            ..f.clone()
        };
        self.access(&plain, None)
    }

    /// Checks a new folder's or new repository's settings against the remote: with a
    /// passphrase the repository is opened (created when new), so a wrong passphrase or a
    /// plain/encrypted mismatch is reported before anything is saved.
    pub(crate) fn verify_repository(
        &self,
        remote: &str,
        cloud_name: &str,
        secret: Option<&Secret>,
        passphrase: Option<&Secret>,
    ) -> Result<(), EngineError> {
        let spec = RemoteSpec::parse(remote)?;
        if spec.needs_secret() && secret.is_none() {
            return Err(EngineError::Credentials(format!(
                "this {} remote needs its secret ({}); give it when adding the folder",
                spec.provider_name(),
                if spec.kind == remote::RemoteKind::S3 {
                    "the secret access key"
                } else {
                    "the password"
                }
            )));
        }
        let Some(passphrase) = passphrase else {
            return Ok(());
        };
        let r = remote::open_spec(
            &spec,
            &OpenOptions {
                secret: secret.map(|s| s.expose().to_owned()),
                on_retry: None,
            },
        )?;
        RepoAccess {
            remote: r,
            cloud_name: cloud_name.to_owned(),
            passphrase: Some(passphrase.clone()),
        }
        .open_repo()?;
        Ok(())
    }
}
