//! Annotations, incidents and the marks catalog over HTTP. Writes answer 201 when stored and
//! 200 when the same id was already stored with the same content (a retry stores nothing).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{
    AnnotationList, AnnotationRequest, IncidentDetail, IncidentList, IncidentNote, IncidentRequest,
    Mark, MarkList, MarkRequest, NoteRequest, Pin, PinRequest,
};
use vigil_core::Annotation;
use vigil_store::{Incident, Written};

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_body, PathParam};
use crate::service::annotations::{self, AnnotationError};
use crate::service::caller::{Annotator, CanRead, MarksAdmin};
use crate::service::search;
use crate::state::AppState;

/// The status of a write: 201 when stored now, 200 for a replay.
fn status_of(w: Written) -> StatusCode {
    match w {
        Written::Created => StatusCode::CREATED,
        Written::Replayed => StatusCode::OK,
    }
}

/// Annotates an entry: a comment and/or marks, as the signed-in user.
#[utoipa::path(post, path = "/v1/events/{id}/annotations", tag = "annotations",
    params(("id" = uuid::Uuid, Path, description = "The entry's UUID")),
    request_body = AnnotationRequest,
    responses(
        (status = 201, description = "Stored, with its journal entry", body = Annotation),
        (status = 200, description = "This id was already stored with the same content: nothing new", body = Annotation),
        (status = 400, description = "Empty, comment too long, unknown mark, bad supersedes or written_at", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, description = "Not allowed to annotate (viewer, ingest key)", body = ErrorEnvelope),
        (status = 404, description = "No such entry, or none the caller may read", body = ErrorEnvelope),
        (status = 409, description = "This id is stored with other content", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn annotate(
    State(state): State<AppState>,
    author: Annotator,
    PathParam(id): PathParam<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Annotation>), ApiError> {
    // The entry's id is checked before the body, as the path comes before it.
    let entry = search::entry_id(&id).map_err(AnnotationError::BadParameter)?;
    let request: AnnotationRequest = json_body(&body, "invalid_annotation")?;
    let (a, written) = annotations::annotate(&state, &author, entry, request).await?;
    Ok((status_of(written), Json(a)))
}

/// An entry's annotations, oldest first.
#[utoipa::path(get, path = "/v1/events/{id}/annotations", tag = "annotations",
    params(("id" = uuid::Uuid, Path, description = "The entry's UUID")),
    responses((status = 200, body = AnnotationList), (status = 400, description = "The id is not a UUID", body = ErrorEnvelope),
              (status = 404, description = "No such entry, or none the caller may read", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn annotations(
    State(state): State<AppState>,
    reader: CanRead,
    PathParam(id): PathParam<String>,
) -> Result<Json<AnnotationList>, ApiError> {
    Ok(Json(annotations::annotations(&state, &reader, &id).await?))
}

/// The marks annotations may use.
#[utoipa::path(get, path = "/v1/marks", tag = "annotations",
    responses((status = 200, body = MarkList), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_marks(
    State(state): State<AppState>,
    reader: CanRead,
) -> Result<Json<MarkList>, ApiError> {
    Ok(Json(annotations::marks(&state, &reader).await?))
}

/// Adds a mark (admins): `{"key", "label_fr", "label_en", "colour"}`.
#[utoipa::path(post, path = "/v1/marks", tag = "annotations", request_body = MarkRequest,
    responses((status = 201, body = Mark), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 409, description = "The key is taken", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_mark(
    State(state): State<AppState>,
    admin: MarksAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Mark>), ApiError> {
    let request: MarkRequest = json_body(&body, "invalid_mark")?;
    let mark = annotations::add_mark(&state, &admin, request).await?;
    Ok((StatusCode::CREATED, Json(mark)))
}

/// Changes a mark's labels or colour (admins).
#[utoipa::path(put, path = "/v1/marks/{key}", tag = "annotations", request_body = MarkRequest,
    params(("key" = String, Path, description = "The mark's key")),
    responses((status = 200, body = Mark), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn update_mark(
    State(state): State<AppState>,
    admin: MarksAdmin,
    PathParam(key): PathParam<String>,
    body: axum::body::Bytes,
) -> Result<Json<Mark>, ApiError> {
    let request: MarkRequest = json_body(&body, "invalid_mark")?;
    Ok(Json(
        annotations::update_mark(&state, &admin, &key, request).await?,
    ))
}

/// Removes a mark no annotation uses (admins).
#[utoipa::path(delete, path = "/v1/marks/{key}", tag = "annotations",
    params(("key" = String, Path, description = "The mark's key")),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "Annotations use it", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn remove_mark(
    State(state): State<AppState>,
    admin: MarksAdmin,
    PathParam(key): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    annotations::remove_mark(&state, &admin, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every incident, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents",
    responses((status = 200, body = IncidentList), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_incidents(
    State(state): State<AppState>,
    reader: CanRead,
) -> Result<Json<IncidentList>, ApiError> {
    Ok(Json(annotations::incidents(&state, &reader).await?))
}

/// Opens an incident: `{"id"?, "title", "description"?, "written_at"?}`.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", request_body = IncidentRequest,
    responses((status = 201, body = Incident), (status = 200, description = "Already stored (a retry)", body = Incident),
              (status = 400, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn open_incident(
    State(state): State<AppState>,
    author: Annotator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let request: IncidentRequest = json_body(&body, "invalid_incident")?;
    let (i, written) = annotations::open_incident(&state, &author, request).await?;
    Ok((status_of(written), Json(i)))
}

/// One incident by number or id, with its notes and pinned entries.
#[utoipa::path(get, path = "/v1/incidents/{key}", tag = "incidents",
    params(("key" = String, Path, description = "The incident's number or id", pattern = "^([0-9]{1,19}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")),
    responses((status = 200, body = IncidentDetail), (status = 400, description = "Neither a number nor an id", body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn get_incident(
    State(state): State<AppState>,
    reader: CanRead,
    PathParam(key): PathParam<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    Ok(Json(annotations::incident(&state, &reader, &key).await?))
}

/// Pins an entry to an incident: `{"id"?, "entry", "written_at"?}`.
#[utoipa::path(post, path = "/v1/incidents/{key}/entries", tag = "incidents", request_body = PinRequest,
    params(("key" = String, Path, description = "The incident's number or id", pattern = "^([0-9]{1,19}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")),
    responses((status = 201, body = Pin), (status = 200, description = "Already pinned", body = Pin),
              (status = 400, body = ErrorEnvelope), (status = 404, description = "No such incident or entry", body = ErrorEnvelope),
              (status = 409, description = "This id is stored with other content", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn pin(
    State(state): State<AppState>,
    author: Annotator,
    PathParam(key): PathParam<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Pin>), ApiError> {
    let request: PinRequest = json_body(&body, "invalid_pin")?;
    let (p, written) = annotations::pin(&state, &author, &key, request).await?;
    Ok((status_of(written), Json(p)))
}

/// Writes a note on an incident; `"status": "closed"` closes it, `"open"` reopens it.
#[utoipa::path(post, path = "/v1/incidents/{key}/notes", tag = "incidents", request_body = NoteRequest,
    params(("key" = String, Path, description = "The incident's number or id", pattern = "^([0-9]{1,19}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")),
    responses((status = 201, body = IncidentNote), (status = 200, description = "Already stored", body = IncidentNote),
              (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "This id is stored with other content", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_note(
    State(state): State<AppState>,
    author: Annotator,
    PathParam(key): PathParam<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<IncidentNote>), ApiError> {
    let request: NoteRequest = json_body(&body, "invalid_note")?;
    let (n, written) = annotations::note(&state, &author, &key, request).await?;
    Ok((status_of(written), Json(n)))
}
