//! What every HTTP client of a remote starts from, so that `timeout`, `ca_cert` and
//! `insecure` mean the same to the S3/WebDAV transport (`http`) and the push clients
//! (gateway, Aries): a connect timeout, our user agent, no retries inside reqwest (each
//! client retries in one place of its own), a private certificate authority, and no
//! certificate checks when asked. Each client adds its own settings before building.

use std::path::Path;
use std::time::Duration;

use reqwest::ClientBuilder;

use super::RemoteSpec;
use super::failure::chain;

pub(crate) struct HttpSetup<'a> {
    /// How long connecting may take.
    pub timeout: Duration,
    /// A PEM file of the authority that signed the server's certificate.
    pub ca_cert: Option<&'a str>,
    /// No certificate checks at all (the caller warns about it, in its own words).
    pub accept_invalid_certs: bool,
}

impl<'a> HttpSetup<'a> {
    /// The remote's own options.
    pub fn of(spec: &'a RemoteSpec) -> HttpSetup<'a> {
        HttpSetup {
            timeout: Duration::from_secs(spec.timeout_secs().into()),
            ca_cert: spec.ca_cert.as_deref(),
            accept_invalid_certs: spec.accept_invalid_certs,
        }
    }

    /// Builds the client: `finish` adds the client's own settings and builds it (an async or,
    /// through `From`, a blocking client). Errors are reasons, for the caller's error.
    pub fn build<C>(
        &self,
        finish: impl FnOnce(ClientBuilder) -> reqwest::Result<C>,
    ) -> Result<C, String> {
        let mut builder = ClientBuilder::new()
            .connect_timeout(self.timeout)
            .user_agent(concat!("syncdesk/", env!("CARGO_PKG_VERSION")))
            .retry(reqwest::retry::never());
        if let Some(path) = self.ca_cert {
            builder = builder.tls_certs_merge(load_ca(Path::new(path))?);
        }
        if self.accept_invalid_certs {
            builder = builder.danger_accept_invalid_certs(true);
        }
        finish(builder).map_err(|e| format!("cannot set up the HTTP client: {}", chain(&e)))
    }
}

fn load_ca(path: &Path) -> Result<Vec<reqwest::Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the CA certificate file {}: {e}",
            path.display()
        )
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        format!(
            "the CA certificate file {} is not a PEM certificate: {e}",
            path.display()
        )
    })?;
    if certs.is_empty() {
        return Err(format!(
            "the CA certificate file {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(ca_cert: Option<&str>) -> HttpSetup<'_> {
        HttpSetup {
            timeout: Duration::from_secs(5),
            ca_cert,
            accept_invalid_certs: false,
        }
    }

    #[test]
    fn async_and_blocking_clients_build() {
        assert!(setup(None).build(|b| b.build()).is_ok());
        let blocking = setup(None).build(|b| reqwest::blocking::ClientBuilder::from(b).build());
        assert!(blocking.is_ok());
    }

    #[test]
    fn a_ca_file_that_is_not_pem_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let path = empty.display().to_string();
        let err = setup(Some(&path)).build(|b| b.build()).err().unwrap();
        assert!(err.contains("holds no PEM certificate"), "{err}");
    }
}
