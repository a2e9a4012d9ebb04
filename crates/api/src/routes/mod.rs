//! The endpoints, grouped as docs/api.md lists them.

pub mod commands;
pub mod gateway;
pub mod jobs;
pub mod sync;

use std::sync::Arc;

use syncdesk_engine::{Engine, EngineError};

use crate::ApiState;
use crate::reply::Failure;

/// Runs an engine call on a blocking thread (SQLite, files, the remote).
pub async fn blocking<T, F>(st: &ApiState, f: F) -> Result<T, Failure>
where
    T: Send + 'static,
    F: FnOnce(&Arc<Engine>) -> Result<T, EngineError> + Send + 'static,
{
    let engine = st.engine.clone();
    match tokio::task::spawn_blocking(move || f(&engine)).await {
        Ok(result) => result.map_err(Failure::from),
        Err(e) => Err(Failure::internal(format!(
            "the operation stopped unexpectedly: {e}"
        ))),
    }
}
