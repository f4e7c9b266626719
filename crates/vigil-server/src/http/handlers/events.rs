//! The journal: ingest, search, one entry, timeline, facets.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use vigil_api::{
    EventsPage, FacetParams, Facets, IngestAnswer, SearchParams, Timeline, TimelineParams,
};
use vigil_core::validate::MAX_BATCH_BYTES;
use vigil_core::Annotated;

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_content_type, Params, PathParam};
use crate::service::caller::{CanRead, Ingester};
use crate::service::{journal, search as read};
use crate::state::AppState;

/// Appends one event or an array of events, atomically and durably.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(content = Object, description = "One event, or an array of at most 1000 events (8 MiB)", content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (fsynced); some may be duplicates", body = IngestAnswer),
        (status = 200, description = "Every event was a duplicate; nothing new stored", body = IngestAnswer),
        (status = 400, description = "Malformed JSON or an invalid event (named by index and field)", body = ErrorEnvelope),
        (status = 401, description = "No or unknown ingest key", body = ErrorEnvelope),
        (status = 409, description = "An id is already stored with different content", body = ErrorEnvelope),
        (status = 413, description = "Over a size limit (named)", body = ErrorEnvelope),
        (status = 415, description = "The body is not sent as application/json", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    sender: Ingester,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IngestAnswer>), ApiError> {
    json_content_type(&headers, true, "send events as application/json")?;
    let bytes = axum::body::to_bytes(body, MAX_BATCH_BYTES).await.map_err(|e| {
        let over_limit = e.into_inner().downcast_ref::<http_body_util::LengthLimitError>().is_some();
        if over_limit {
            ApiError::too_large(format!("the request body is over the limit of {MAX_BATCH_BYTES} bytes (8 MiB) per batch"))
        } else {
            ApiError::bad_request("bad_request", "the request body could not be read to its end")
        }
    })?;
    let answer = journal::ingest(&state, &sender, bytes).await?;
    let status = if answer.accepted > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(answer)))
}

/// Searches the journal: newest first by `occurred_at` then `seq`, paged by keyset cursor.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(SearchParams),
    responses((status = 200, body = EventsPage), (status = 400, description = "Bad query (with column), cursor or parameter", body = ErrorEnvelope),
              (status = 503, description = "The search index is being rebuilt; `Retry-After` says when to ask again", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<SearchParams>,
) -> Result<Json<EventsPage>, ApiError> {
    Ok(Json(read::search(&state, &reader, p).await?))
}

/// One entry by id, with its annotations and incidents.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = uuid::Uuid, Path, description = "The event's UUID")),
    responses((status = 200, body = Annotated), (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
              (status = 404, description = "No such entry, or none the caller may read", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn get_event(
    State(state): State<AppState>,
    reader: CanRead,
    PathParam(id): PathParam<String>,
) -> Result<Json<Annotated>, ApiError> {
    Ok(Json(read::entry(&state, &reader, &id).await?))
}

/// Counts of matching entries (and critical ones) per time bucket.
#[utoipa::path(get, path = "/v1/timeline", tag = "events", params(TimelineParams),
    responses((status = 200, body = Timeline), (status = 400, description = "Bad query (with column) or parameter", body = ErrorEnvelope),
              (status = 503, description = "The search index is being rebuilt; `Retry-After` says when to ask again", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn timeline(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    Ok(Json(read::timeline(&state, &reader, p).await?))
}

/// The most frequent values of a field among matching entries.
#[utoipa::path(get, path = "/v1/facets", tag = "events", params(FacetParams),
    responses((status = 200, body = Facets), (status = 400, description = "Bad query (with column) or parameter", body = ErrorEnvelope),
              (status = 503, description = "The search index is being rebuilt; `Retry-After` says when to ask again", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn facets(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<FacetParams>,
) -> Result<Json<Facets>, ApiError> {
    Ok(Json(read::facets(&state, &reader, p).await?))
}
