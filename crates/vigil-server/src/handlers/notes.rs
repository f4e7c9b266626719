//! Annotations, incidents and the marks catalog over HTTP. Writes answer 201 when stored and
//! 200 when the same id was already stored with the same content (a retry stores nothing).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{
    AnnotationList, AnnotationRequest, IncidentDetail, IncidentList, IncidentNote, IncidentRequest,
    Mark, MarkList, MarkRequest, NoteRequest, Pin, PinRequest,
};
use vigil_core::Annotation;
use vigil_store::Incident;

use crate::auth::{Annotator, CanRead, MarksAdmin};
use crate::error::{ApiError, ErrorEnvelope};
use crate::notes;
use crate::state::AppState;

fn entry_id(id: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(id)
        .map_err(|_| ApiError::bad_request("bad_parameter", format!("{id:?} is not a UUID")))
}

/// 404 for an entry outside the reader's scope (as for one that does not exist), 403 for one
/// they may read but not annotate.
async fn may_annotate(
    state: &AppState,
    reader: &crate::auth::Reader,
    entry: uuid::Uuid,
) -> Result<(), ApiError> {
    let e = crate::handlers::events::readable(state, reader, entry).await?;
    if !reader.grants.annotate.contains(&e.entry.event, &e.notes()) {
        return Err(ApiError::forbidden(format!(
            "annotating this entry needs the annotate right within its scope (section {:?}), \
             which none of {:?}'s roles grants",
            e.entry.event.section, reader.user.name
        )));
    }
    Ok(())
}

/// Annotates an entry: a comment and/or marks, as the signed-in user.
#[utoipa::path(post, path = "/v1/events/{id}/annotations", tag = "annotations",
    params(("id" = String, Path, description = "The entry's UUID")),
    request_body = AnnotationRequest,
    responses(
        (status = 201, description = "Stored, with its journal entry", body = Annotation),
        (status = 200, description = "This id was already stored with the same content: nothing new", body = Annotation),
        (status = 400, description = "Empty, comment too long, unknown mark, bad supersedes or written_at", body = ErrorEnvelope),
        (status = 401, body = ErrorEnvelope), (status = 403, description = "Not allowed to annotate (viewer, ingest key)", body = ErrorEnvelope),
        (status = 404, description = "No such entry", body = ErrorEnvelope),
        (status = 409, description = "This id is stored with other content", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn annotate(
    State(state): State<AppState>,
    reader: Annotator,
    Path(id): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Annotation>), ApiError> {
    let entry = entry_id(&id)?;
    let request: AnnotationRequest = notes::body(&body, "invalid_annotation")?;
    may_annotate(&state, &reader, entry).await?;
    let (a, written) = notes::annotate(&state, &reader.user.name, entry, request).await?;
    Ok((notes::status_of(written), Json(a)))
}

/// An entry's annotations, oldest first.
#[utoipa::path(get, path = "/v1/events/{id}/annotations", tag = "annotations",
    params(("id" = String, Path, description = "The entry's UUID")),
    responses((status = 200, body = AnnotationList), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn annotations(
    State(state): State<AppState>,
    reader: CanRead,
    Path(id): Path<String>,
) -> Result<Json<AnnotationList>, ApiError> {
    let id = entry_id(&id)?;
    crate::handlers::events::readable(&state, &reader, id).await?;
    let annotations = state.store.annotations(id).await?;
    Ok(Json(AnnotationList { annotations }))
}

/// The marks annotations may use.
#[utoipa::path(get, path = "/v1/marks", tag = "annotations",
    responses((status = 200, body = MarkList), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_marks(
    State(state): State<AppState>,
    _reader: CanRead,
) -> Result<Json<MarkList>, ApiError> {
    Ok(Json(MarkList {
        marks: state.store.marks().await?,
    }))
}

/// Adds a mark (admins): `{"key", "label_fr", "label_en", "colour"}`.
#[utoipa::path(post, path = "/v1/marks", tag = "annotations", request_body = MarkRequest,
    responses((status = 201, body = Mark), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 409, description = "The key is taken", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_mark(
    State(state): State<AppState>,
    reader: MarksAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Mark>), ApiError> {
    let request: MarkRequest = notes::body(&body, "invalid_mark")?;
    let by = crate::journal::staff(&reader.user.name);
    Ok((
        StatusCode::CREATED,
        Json(notes::add_mark(&state, &by, request).await?),
    ))
}

/// Changes a mark's labels or colour (admins).
#[utoipa::path(put, path = "/v1/marks/{key}", tag = "annotations", request_body = MarkRequest,
    params(("key" = String, Path, description = "The mark's key")),
    responses((status = 200, body = Mark), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn update_mark(
    State(state): State<AppState>,
    reader: MarksAdmin,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Mark>, ApiError> {
    let request: MarkRequest = notes::body(&body, "invalid_mark")?;
    let by = crate::journal::staff(&reader.user.name);
    Ok(Json(notes::update_mark(&state, &by, &key, request).await?))
}

/// Removes a mark no annotation uses (admins).
#[utoipa::path(delete, path = "/v1/marks/{key}", tag = "annotations",
    params(("key" = String, Path, description = "The mark's key")),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "Annotations use it", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn remove_mark(
    State(state): State<AppState>,
    reader: MarksAdmin,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let by = crate::journal::staff(&reader.user.name);
    notes::remove_mark(&state, &by, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every incident, newest first.
#[utoipa::path(get, path = "/v1/incidents", tag = "incidents",
    responses((status = 200, body = IncidentList), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_incidents(
    State(state): State<AppState>,
    _reader: CanRead,
) -> Result<Json<IncidentList>, ApiError> {
    Ok(Json(IncidentList {
        incidents: state.store.incidents().await?,
    }))
}

/// Opens an incident: `{"id"?, "title", "description"?, "written_at"?}`.
#[utoipa::path(post, path = "/v1/incidents", tag = "incidents", request_body = IncidentRequest,
    responses((status = 201, body = Incident), (status = 200, description = "Already stored (a retry)", body = Incident),
              (status = 400, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn open_incident(
    State(state): State<AppState>,
    reader: Annotator,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Incident>), ApiError> {
    let request: IncidentRequest = notes::body(&body, "invalid_incident")?;
    let (i, written) = notes::open_incident(&state, &reader.user.name, request).await?;
    Ok((notes::status_of(written), Json(i)))
}

/// One incident by number or id, with its notes and pinned entries.
#[utoipa::path(get, path = "/v1/incidents/{key}", tag = "incidents",
    params(("key" = String, Path, description = "The incident's number or id")),
    responses((status = 200, body = IncidentDetail), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn get_incident(
    State(state): State<AppState>,
    reader: CanRead,
    Path(key): Path<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let incident = notes::find_incident(&state, &key).await?;
    let notes = state.store.incident_notes(incident.id).await?;
    let mut pins = state.store.pins(incident.id).await?;
    if !reader.grants.read.is_all() {
        // Only the pins of entries this reader may read.
        let mut kept = Vec::with_capacity(pins.len());
        for p in pins {
            if crate::handlers::events::readable(&state, &reader, p.entry)
                .await
                .is_ok()
            {
                kept.push(p);
            }
        }
        pins = kept;
    }
    Ok(Json(IncidentDetail {
        incident,
        notes,
        pins,
    }))
}

/// Pins an entry to an incident: `{"id"?, "entry", "written_at"?}`.
#[utoipa::path(post, path = "/v1/incidents/{key}/entries", tag = "incidents", request_body = PinRequest,
    params(("key" = String, Path, description = "The incident's number or id")),
    responses((status = 201, body = Pin), (status = 200, description = "Already pinned", body = Pin),
              (status = 400, body = ErrorEnvelope), (status = 404, description = "No such incident or entry", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn pin(
    State(state): State<AppState>,
    reader: Annotator,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<Pin>), ApiError> {
    let request: PinRequest = notes::body(&body, "invalid_pin")?;
    let incident = notes::find_incident(&state, &key).await?;
    may_annotate(&state, &reader, request.entry).await?;
    let (p, written) = notes::pin(&state, &reader.user.name, &incident, request).await?;
    Ok((notes::status_of(written), Json(p)))
}

/// Writes a note on an incident; `"status": "closed"` closes it, `"open"` reopens it.
#[utoipa::path(post, path = "/v1/incidents/{key}/notes", tag = "incidents", request_body = NoteRequest,
    params(("key" = String, Path, description = "The incident's number or id")),
    responses((status = 201, body = IncidentNote), (status = 200, description = "Already stored", body = IncidentNote),
              (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_note(
    State(state): State<AppState>,
    reader: Annotator,
    Path(key): Path<String>,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<IncidentNote>), ApiError> {
    let request: NoteRequest = notes::body(&body, "invalid_note")?;
    let incident = notes::find_incident(&state, &key).await?;
    let (n, written) = notes::note(&state, &reader.user.name, &incident, request).await?;
    Ok((notes::status_of(written), Json(n)))
}
