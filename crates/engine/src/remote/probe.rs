//! "Test connection": proves a remote works end to end before a folder relies on it.

use std::time::Instant;

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Remote, RemoteError};

/// Where probe objects go, under the remote's root; nothing else uses this prefix.
pub const PROBE_PREFIX: &str = ".syncdesk-probe/";

/// What a successful probe did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct ProbeReport {
    /// The remote, for people.
    pub remote: String,
    pub provider_name: String,
    pub steps: Vec<ProbeStep>,
    #[ts(type = "number")]
    pub total_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct ProbeStep {
    pub step: ProbeStepName,
    #[ts(type = "number")]
    pub ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub enum ProbeStepName {
    /// Reach the server and have the credentials accepted (a listing).
    List,
    /// Write a small random object.
    Write,
    /// Read it back and compare.
    Read,
    Delete,
    /// Check that it is gone.
    ConfirmDeleted,
    /// Push remotes (gateway, Aries), whose test is one request that changes nothing: the
    /// server answered.
    Reach,
    /// The answer shows the credentials were accepted.
    Authenticate,
    /// A note, not a check: the server offers no listing (a gateway that is not a Syncdesk
    /// one), so it can be pushed to but not pulled from, and the token is checked by the
    /// first push.
    PushOnly,
}

impl ProbeStepName {
    pub fn describe(self) -> &'static str {
        match self {
            ProbeStepName::List => "list (reach the server, check the credentials)",
            ProbeStepName::Write => "write a test object",
            ProbeStepName::Read => "read the test object back",
            ProbeStepName::Delete => "delete the test object",
            ProbeStepName::ConfirmDeleted => "check the test object is gone",
            ProbeStepName::Reach => "reach the server",
            ProbeStepName::Authenticate => "check the credentials",
            ProbeStepName::PushOnly => {
                "push only: no listing, so no force-pull; the first push checks the token"
            }
        }
    }
}

/// Lists, writes a random object under [`PROBE_PREFIX`], reads it back, deletes it and checks
/// it is gone. The error names the step that failed.
pub fn probe(remote: &dyn Remote) -> Result<ProbeReport, RemoteError> {
    let start = Instant::now();
    let mut steps = Vec::new();
    let nonce = crate::random::bytes::<8>().map_err(|e| failed(ProbeStepName::Write, io(e)))?;
    let key = format!("{PROBE_PREFIX}{}", hex::encode(nonce));
    let data = crate::random::bytes::<48>().map_err(|e| failed(ProbeStepName::Write, io(e)))?;

    timed(&mut steps, ProbeStepName::List, || {
        remote.list(PROBE_PREFIX).map(|_| ())
    })?;
    timed(&mut steps, ProbeStepName::Write, || remote.put(&key, &data))?;
    let read = timed(&mut steps, ProbeStepName::Read, || {
        let back = match remote.get(&key) {
            Err(e) if e.is_not_found() => {
                return Err(RemoteError::Backend {
                    op: "get",
                    key: key.clone(),
                    message: "the server accepted the test object but does not have it".into(),
                });
            }
            other => other?,
        };
        if back != data {
            return Err(RemoteError::Backend {
                op: "get",
                key: key.clone(),
                message: format!(
                    "the test object read back differs from what was written ({} bytes written, {} read): something between us and the server alters data",
                    data.len(),
                    back.len()
                ),
            });
        }
        Ok(())
    });
    if let Err(e) = read {
        // Best effort: do not leave the test object behind.
        let _ = remote.delete(&key);
        return Err(e);
    }
    timed(&mut steps, ProbeStepName::Delete, || remote.delete(&key))?;
    timed(&mut steps, ProbeStepName::ConfirmDeleted, || {
        match remote.stat(&key)? {
            None => Ok(()),
            Some(_) => Err(RemoteError::Backend {
                op: "delete",
                key: key.clone(),
                message: "the test object is still there after it was deleted".into(),
            }),
        }
    })?;
    Ok(ProbeReport {
        remote: remote.describe(),
        provider_name: remote.provider_name().into(),
        steps,
        total_ms: millis(start),
    })
}

fn timed<T>(
    steps: &mut Vec<ProbeStep>,
    step: ProbeStepName,
    f: impl FnOnce() -> Result<T, RemoteError>,
) -> Result<T, RemoteError> {
    let start = Instant::now();
    let out = f().map_err(|e| failed(step, e))?;
    steps.push(ProbeStep {
        step,
        ms: millis(start),
    });
    Ok(out)
}

fn failed(step: ProbeStepName, e: RemoteError) -> RemoteError {
    RemoteError::Probe {
        step: step.describe(),
        source: Box::new(e),
    }
}

fn io(e: std::io::Error) -> RemoteError {
    RemoteError::Io {
        op: "probe",
        key: PROBE_PREFIX.into(),
        source: e,
    }
}

fn millis(since: Instant) -> u64 {
    since.elapsed().as_millis().try_into().unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::{LocalRemote, ObjectInfo};

    #[test]
    fn probes_a_local_remote_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let r = LocalRemote::new(dir.path().to_path_buf()).unwrap();
        let report = probe(&r).unwrap();
        let names: Vec<_> = report.steps.iter().map(|s| s.step).collect();
        assert_eq!(
            names,
            [
                ProbeStepName::List,
                ProbeStepName::Write,
                ProbeStepName::Read,
                ProbeStepName::Delete,
                ProbeStepName::ConfirmDeleted
            ]
        );
        assert_eq!(report.provider_name, "Local");
        assert!(r.list("").unwrap().is_empty());
        let json = serde_json::to_value(&report).unwrap();
        assert!(json["steps"][4]["step"] == "confirmDeleted", "{json}");
        assert!(json.get("totalMs").is_some());
    }

    /// Accepts writes and forgets them, like a broken proxy.
    struct Forgetful;

    impl Remote for Forgetful {
        fn put(&self, _: &str, _: &[u8]) -> Result<(), RemoteError> {
            Ok(())
        }
        fn get(&self, key: &str) -> Result<Vec<u8>, RemoteError> {
            Err(RemoteError::NotFound { key: key.into() })
        }
        fn get_range(&self, key: &str, _: u64, _: u64) -> Result<Vec<u8>, RemoteError> {
            self.get(key)
        }
        fn list(&self, _: &str) -> Result<Vec<ObjectInfo>, RemoteError> {
            Ok(Vec::new())
        }
        fn delete(&self, _: &str) -> Result<(), RemoteError> {
            Ok(())
        }
        fn stat(&self, _: &str) -> Result<Option<ObjectInfo>, RemoteError> {
            Ok(None)
        }
        fn describe(&self) -> String {
            "forgetful".into()
        }
        fn provider_name(&self) -> &'static str {
            "Local"
        }
    }

    #[test]
    fn the_error_names_the_failed_step() {
        let err = probe(&Forgetful).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("read the test object back"), "{text}");
        assert!(text.contains("does not have it"), "{text}");
        assert!(matches!(err.cause(), RemoteError::Backend { .. }));
    }
}
