//! Shared by the benchmark examples: a folder of many small files, synced once.

use std::sync::Arc;

use syncdesk_engine::Engine;
use syncdesk_engine::model::{JobStatus, PerformSyncRequest};

pub type Error = Box<dyn std::error::Error>;

/// An engine in `dir` with a folder `docs` of `files` files in 100 directories, already
/// synced to a local remote.
pub fn synced_folder(dir: &std::path::Path, files: usize, app: &str) -> Result<Arc<Engine>, Error> {
    let root = dir.join("folder");
    for i in 0..files {
        let sub = root.join(format!("d{:03}", i % 100));
        std::fs::create_dir_all(&sub)?;
        std::fs::write(sub.join(format!("f{i}.txt")), format!("file {i}\n"))?;
    }
    let engine = Engine::open(&dir.join("state"))?;
    let remote = dir.join("remote");
    engine.add_folder("docs", &root, &remote.to_string_lossy(), None)?;
    let started = engine.perform_sync(&PerformSyncRequest {
        app: app.into(),
        ..Default::default()
    })?;
    let job = engine.wait_job(started.job_ids[0])?;
    if job.status != JobStatus::Succeeded {
        return Err(format!("first sync: {:?}", job.error_message).into());
    }
    Ok(engine)
}
