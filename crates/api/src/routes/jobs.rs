//! Seed 004: `POST /api/sync/jobs`, `GET /api/sync/jobs`, `GET /api/sync/jobs/{id}`, and a
//! job's log.

use std::collections::HashSet;
use std::str::FromStr;

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use syncdesk_engine::model::{
    JobFilter, JobId, JobLogLine, MAX_PAGE_SIZE, PerformSyncRequest, SyncJob, SyncJobPage,
    TriggerType,
};

use super::blocking;
use crate::ApiState;
use crate::body::JsonBody;
use crate::reply::Failure;

type Reply<T> = Result<Json<T>, Failure>;

/// `CreateSyncJobRequest`: the whole body is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreateSyncJob {
    /// A folder's name; every enabled folder when absent.
    source: Option<String>,
}

/// Starts a sync and answers at once with its job (the first, when several folders sync).
pub async fn create(
    State(st): State<ApiState>,
    JsonBody(body): JsonBody<CreateSyncJob>,
) -> Reply<SyncJob> {
    let request = PerformSyncRequest {
        app: "api".into(),
        folder: body.source.filter(|s| !s.is_empty()),
        trigger: Some(TriggerType::Api),
        ..Default::default()
    };
    blocking(&st, move |e| {
        let started = e.perform_sync(&request)?;
        // perform_sync names at least one job, or fails with NoFolders.
        let first = started.job_ids.first().copied().unwrap_or_default();
        e.job(first)?
            .ok_or_else(|| syncdesk_engine::EngineError::Internal(format!("job {first} vanished")))
    })
    .await
    .map(Json)
}

pub async fn list(
    State(st): State<ApiState>,
    Query(query): Query<Vec<(String, String)>>,
) -> Reply<SyncJobPage> {
    let filter = filter(&query)?;
    blocking(&st, move |e| e.jobs(&filter)).await.map(Json)
}

pub async fn get(State(st): State<ApiState>, Path(id): Path<String>) -> Reply<SyncJob> {
    let id = job_id(&id)?;
    match blocking(&st, move |e| e.job(id)).await? {
        Some(job) => Ok(Json(job)),
        None => Err(Failure::not_found(format!("no job with id {id}"))),
    }
}

pub async fn log(State(st): State<ApiState>, Path(id): Path<String>) -> Reply<Vec<JobLogLine>> {
    let id = job_id(&id)?;
    blocking(&st, move |e| e.job_detail(id).map(|d| d.log))
        .await
        .map(Json)
}

fn job_id(s: &str) -> Result<JobId, Failure> {
    s.parse()
        .map_err(|_| Failure::bad_request(format!("{s:?} is not a job id (a whole number)")))
}

/// The query of `GET /api/sync/jobs`, strictly: a typo is an error, not an ignored filter.
fn filter(query: &[(String, String)]) -> Result<JobFilter, Failure> {
    let mut f = JobFilter::default();
    let mut seen = HashSet::new();
    for (key, value) in query {
        if !seen.insert(key) {
            return Err(Failure::bad_request(format!("{key} is given twice")));
        }
        let bad = |why: String| Failure::bad_request(format!("{key}={value:?}: {why}"));
        match key.as_str() {
            "page" => f.page = number(value, 1, u32::MAX).map_err(bad)?,
            "page_size" => f.page_size = number(value, 1, MAX_PAGE_SIZE).map_err(bad)?,
            "status" => f.status = Some(FromStr::from_str(value).map_err(bad)?),
            "job_type" => f.job_type = Some(FromStr::from_str(value).map_err(bad)?),
            "trigger_type" => f.trigger_type = Some(FromStr::from_str(value).map_err(bad)?),
            "folder" => f.folder = Some(value.clone()),
            _ => {
                return Err(Failure::bad_request(format!(
                    "unknown parameter {key:?}; known: page, page_size, status, folder, job_type, trigger_type"
                )));
            }
        }
    }
    Ok(f)
}

fn number(value: &str, min: u32, max: u32) -> Result<u32, String> {
    match value.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!("expected a whole number from {min} to {max}")),
    }
}
