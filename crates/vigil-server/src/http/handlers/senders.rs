//! The senders: who sends, how much, and the numbers of theirs that never arrived.

use axum::extract::State;
use axum::Json;
use vigil_api::SenderReport;

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::service::caller::SendersReader;
use crate::service::senders;
use crate::state::AppState;

/// Every sender (ingest key, `vigil`, `vigil-demo`) with what it sent, its rate over the last
/// hour, and for each of its numberings (`source_seq` per `stream`) the numbers that never
/// arrived. For readers of the whole journal and account admins.
#[utoipa::path(get, path = "/v1/senders", tag = "senders",
    responses((status = 200, body = [SenderReport]), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_senders(
    State(state): State<AppState>,
    reader: SendersReader,
) -> Result<Json<Vec<SenderReport>>, ApiError> {
    Ok(Json(senders::list(&state, &reader).await?))
}
