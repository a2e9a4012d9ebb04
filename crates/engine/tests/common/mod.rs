//! Test devices: each one a state dir and a folder, all syncing through one remote: a local
//! directory, or the server `SYNCDESK_TEST_BACKEND` names (see syncdesk_testkit::backend).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use syncdesk_engine::model::{
    JobStatus, NewFolder, PerformSyncRequest, PushMode, RepositorySettings, SyncJob,
};
use syncdesk_engine::remote::{self, OpenOptions, RemoteSpec};
use syncdesk_engine::repo::Repo;
use syncdesk_engine::secrets::Secret;
use syncdesk_engine::{Engine, EngineError};
use syncdesk_testkit::backend::{self, TestRemote};
use tempfile::TempDir;

pub struct World {
    pub dir: TempDir,
    /// The local remote's directory (tests that inspect or damage it use only this backend).
    pub remote: PathBuf,
    /// The remote every device syncs through.
    pub test_remote: TestRemote,
}

impl World {
    pub fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let remote = dir.path().join("remote");
        fs::create_dir_all(&remote).unwrap();
        let test_remote = backend::fresh_remote(&remote);
        World {
            dir,
            remote,
            test_remote,
        }
    }

    /// A world syncing through this remote, whatever SYNCDESK_TEST_BACKEND says.
    pub fn with_remote(test_remote: TestRemote) -> World {
        World {
            test_remote,
            ..World::new()
        }
    }

    /// The repository `main` on the world's remote.
    pub fn repo(&self) -> Repo {
        let spec = RemoteSpec::parse(&self.test_remote.url).unwrap();
        let opts = OpenOptions {
            secret: self.test_remote.secret.clone(),
            on_retry: None,
        };
        Repo::open(remote::open_spec(&spec, &opts).unwrap(), "main", None).unwrap()
    }

    pub fn device(&self, name: &str) -> Device {
        let state = self.dir.path().join(format!("state-{name}"));
        let root = self.dir.path().join(format!("folder-{name}"));
        let engine = Engine::open(&state).unwrap();
        engine
            .add_folder_with(&NewFolder {
                name: "docs".into(),
                path: root.clone(),
                repository: RepositorySettings {
                    remote: self.test_remote.url.clone(),
                    secret: self.test_remote.secret.as_deref().map(Secret::new),
                    ..Default::default()
                },
            })
            .unwrap();
        Device {
            engine,
            root: root.canonicalize().unwrap(),
            state,
        }
    }
}

pub struct Device {
    pub engine: Arc<Engine>,
    pub root: PathBuf,
    pub state: PathBuf,
}

impl Device {
    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn write(&self, rel: &str, content: &[u8]) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> Option<Vec<u8>> {
        fs::read(self.path(rel)).ok()
    }

    pub fn remove(&self, rel: &str) {
        let p = self.path(rel);
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    }

    pub fn sync_with(&self, req: PerformSyncRequest) -> Result<SyncJob, EngineError> {
        let ids = self.engine.create_jobs(&PerformSyncRequest {
            app: "test".into(),
            folder: Some("docs".into()),
            ..req
        })?;
        assert_eq!(ids.len(), 1);
        self.engine.run_job(ids[0])
    }

    /// A two-way sync that must succeed.
    pub fn sync(&self) -> SyncJob {
        let job = self.sync_with(PerformSyncRequest::default()).unwrap();
        assert_eq!(
            job.status,
            JobStatus::Succeeded,
            "sync failed: {:?}",
            job.error_message
        );
        job
    }

    pub fn sync_mode(&self, mode: PushMode) -> SyncJob {
        let job = self
            .sync_with(PerformSyncRequest {
                push_mode: mode,
                confirm: true,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(job.status, JobStatus::Succeeded, "{:?}", job.error_message);
        job
    }

    /// Every file and symlink under the folder (not `.syncdesk/`), with its content.
    pub fn tree(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        walk(&self.root, &self.root, &mut out);
        out
    }

    /// Files in the folder's trash, with content.
    pub fn trash(&self) -> Vec<Vec<u8>> {
        let mut out = BTreeMap::new();
        let t = self.root.join(".syncdesk/trash");
        if t.exists() {
            walk_all(&t, &mut out);
        }
        out.into_values().collect()
    }
}

fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
        if rel == ".syncdesk" {
            continue;
        }
        let ft = e.file_type().unwrap();
        if ft.is_symlink() {
            let t = fs::read_link(&p).unwrap();
            out.insert(
                format!("{rel} -> link"),
                t.to_string_lossy().as_bytes().to_vec(),
            );
        } else if ft.is_dir() {
            out.insert(format!("{rel}/"), Vec::new());
            walk(root, &p, out);
        } else {
            out.insert(rel, fs::read(&p).unwrap());
        }
    }
}

fn walk_all(dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
    for e in fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            walk_all(&p, out);
        } else if e.file_type().unwrap().is_file() {
            out.insert(p.to_string_lossy().into_owned(), fs::read(&p).unwrap());
        }
    }
}

/// Names of conflict copies in a tree.
pub fn conflict_copies(tree: &BTreeMap<String, Vec<u8>>) -> Vec<String> {
    tree.keys()
        .filter(|k| k.contains(".sync-conflict-"))
        .cloned()
        .collect()
}

/// Collects the jobs an engine finishes, to wait on them without sleeping.
pub struct Finished {
    rx: std::sync::mpsc::Receiver<SyncJob>,
    _sub: syncdesk_engine::events::Subscription,
}

/// How long a test waits for something that should happen within a second or two.
pub const PATIENCE: std::time::Duration = std::time::Duration::from_secs(15);

impl Finished {
    /// Subscribe before causing the jobs, so none is missed.
    pub fn on(engine: &Engine) -> Finished {
        let (tx, rx) = std::sync::mpsc::channel();
        let sub = engine.events().subscribe(move |e| {
            if let syncdesk_engine::model::Event::JobChanged(job) = e
                && job.status.is_final()
            {
                let _ = tx.send(job.clone());
            }
        });
        Finished { rx, _sub: sub }
    }

    /// The next finished job matching `pred` (others are skipped); panics after PATIENCE.
    pub fn next(&self, what: &str, pred: impl Fn(&SyncJob) -> bool) -> SyncJob {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(job) if pred(&job) => return job,
                Ok(_) => {}
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }
}

/// Every job of `folder` in the engine's history, oldest first.
pub fn jobs_of(engine: &Engine, folder: &str) -> Vec<SyncJob> {
    let page = engine
        .jobs(&syncdesk_engine::model::JobFilter {
            folder: Some(folder.into()),
            page_size: 200,
            ..Default::default()
        })
        .unwrap();
    let mut jobs = page.items;
    jobs.reverse();
    jobs
}
