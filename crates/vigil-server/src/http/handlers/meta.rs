//! Health.

use axum::extract::State;
use axum::Json;
use vigil_api::Health;

use crate::http::error::ApiError;
use crate::service::journal;
use crate::state::AppState;

/// Whether the store is up and its database answers.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), (status = 500)))]
pub async fn healthz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(journal::health(&state).await?))
}
