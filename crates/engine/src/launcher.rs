//! Where sync threads come from: one thread the engine starts when it opens, so a sync never
//! inherits the attributes of the thread that asked for it. A server may run its request
//! threads at a lower CPU priority (Linux threads inherit their creator's); the syncs those
//! requests start must not.

use std::sync::Mutex;
use std::sync::mpsc::{self, Sender};

use crate::engine::EngineError;
use crate::events::lock;

type Job = Box<dyn FnOnce() + Send>;
type Request = (String, Job, Sender<Result<(), String>>);

pub struct Launcher {
    tx: Mutex<Sender<Request>>,
}

impl Launcher {
    pub fn start() -> Result<Launcher, EngineError> {
        let (tx, rx) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("launcher".into())
            // Ends when the engine (the only sender) goes.
            .spawn(move || {
                for (name, job, reply) in rx {
                    let started = std::thread::Builder::new()
                        .name(name)
                        .spawn(job)
                        .map(drop)
                        .map_err(|e| e.to_string());
                    let _ = reply.send(started);
                }
            })
            .map_err(|e| EngineError::Internal(format!("cannot start the sync launcher: {e}")))?;
        Ok(Launcher { tx: Mutex::new(tx) })
    }

    /// Runs `job` on a new thread named `name`.
    pub fn spawn(
        &self,
        name: String,
        job: impl FnOnce() + Send + 'static,
    ) -> Result<(), EngineError> {
        let (reply, started) = mpsc::channel();
        let unavailable = |e: String| EngineError::Internal(format!("cannot start the sync: {e}"));
        lock(&self.tx)
            .send((name, Box::new(job), reply))
            .map_err(|e| unavailable(e.to_string()))?;
        started
            .recv()
            .map_err(|e| unavailable(e.to_string()))?
            .map_err(unavailable)
    }
}
