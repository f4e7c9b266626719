//! Health.

use axum::extract::State;
use axum::Json;
use vigil_api::Health;

use crate::http::error::ApiError;
use crate::service::journal;
use crate::state::AppState;

/// Whether the store is up and its database answers. To a caller with a valid session token
/// or ingest key, also how many entries the journal and the search index hold and the
/// version; to anyone else, only that it is up.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, body = Health), (status = 500)))]
pub async fn healthz(
    State(state): State<AppState>,
    request: axum::extract::Request,
) -> Result<Json<Health>, ApiError> {
    let (parts, _) = request.into_parts();
    let known = crate::http::extract::known(&state, &parts).await;
    Ok(Json(journal::health(&state, known).await?))
}
