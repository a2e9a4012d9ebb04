//! Seeds 000 and 001: `performSync`, `getSyncInfo`; and `previewSync`, their dry run.

use axum::extract::State;
use syncdesk_engine::model::{
    PerformSyncRequest, PerformSyncStarted, SyncInfo, SyncPreview, TriggerType,
};

use super::blocking;
use crate::ApiState;
use crate::body::JsonBody;
use crate::reply::{Envelope, Failure};

type Reply<T> = Result<Envelope<T>, Failure>;

pub async fn perform_sync(
    State(st): State<ApiState>,
    JsonBody(request): JsonBody<PerformSyncRequest>,
) -> Reply<PerformSyncStarted> {
    let request = PerformSyncRequest {
        trigger: Some(TriggerType::Api),
        ..request
    };
    blocking(&st, move |e| e.perform_sync(&request))
        .await
        .map(Envelope)
}

pub async fn get_sync_info(
    State(st): State<ApiState>,
    JsonBody(_): JsonBody<serde::de::IgnoredAny>,
) -> Reply<SyncInfo> {
    blocking(&st, |e| e.get_sync_info()).await.map(Envelope)
}

pub async fn preview_sync(
    State(st): State<ApiState>,
    JsonBody(request): JsonBody<PerformSyncRequest>,
) -> Reply<Vec<SyncPreview>> {
    blocking(&st, move |e| e.preview(&request))
        .await
        .map(Envelope)
}
