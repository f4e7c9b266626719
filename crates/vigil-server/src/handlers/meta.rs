//! Health.

use axum::extract::State;
use axum::Json;
use vigil_api::Health;

use crate::error::ApiError;
use crate::state::AppState;

/// Whether the store is up and its database answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), (status = 500)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let events = state.store.head().await?.map_or(0, |(seq, _)| seq);
    Ok(Json(Health {
        status: "ok".into(),
        indexed: state.store.indexed(),
        events,
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}
