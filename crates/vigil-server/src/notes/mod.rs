//! What investigators add to the journal: annotations, incidents (with pinned entries and
//! notes) and the marks catalog. Here the requests are checked and each write is given the
//! journal entry that tells of it; the store writes both together. Used by the HTTP handlers
//! and by `vigil marks …`.

pub mod cli;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;
pub use vigil_api::{AnnotationRequest, IncidentRequest, MarkRequest, NoteRequest, PinRequest};
use vigil_core::annotation::{self, MAX_MARKS, MAX_TITLE_CHARS};
use vigil_core::{Actor, Annotated, Annotation, Kind, StoredEvent};
use vigil_store::{
    Incident, IncidentKey, IncidentNote, IncidentStatus, Mark, MarkChange, NewAnnotation,
    NewIncident, NewIncidentNote, NewPin, Pin, StoreError, Written,
};

use crate::error::ApiError;
use crate::journal::{self, staff};
use crate::state::AppState;

/// How far in the future a client's `written_at` may be (clocks drift).
const CLOCK_SKEW: i64 = 5;

/// Reads a JSON body into `T`, or a 400 with `code` that says what is wrong.
pub fn body<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    code: &'static str,
) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("the body is not valid JSON: {e}")
            }
            _ => format!("the body: {e}"),
        };
        ApiError::bad_request(code, message)
    })
}

/// A client's time, kept to the microsecond (as stored, so that a retry compares equal), and
/// not in the future.
fn written_at(state: &AppState, t: Option<DateTime<Utc>>) -> Result<DateTime<Utc>, ApiError> {
    let now = state.now();
    let Some(t) = t else { return Ok(now) };
    let t = DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t);
    if t > now + Duration::minutes(CLOCK_SKEW) {
        return Err(ApiError::bad_request(
            "bad_written_at",
            format!(
                "written_at {} is in the future (the store's time is {})",
                vigil_core::event::micros::format(&t),
                vigil_core::event::micros::format(&now)
            ),
        )
        .at_field("written_at"));
    }
    Ok(t)
}

fn text(
    field: &str,
    value: Option<String>,
    code: &'static str,
) -> Result<Option<String>, ApiError> {
    annotation::clean_comment(value)
        .map_err(|m| ApiError::bad_request(code, format!("{field}: {m}")).at_field(field))
}

/// The marks asked for, each once, all in the catalog.
async fn known_marks(state: &AppState, marks: Vec<String>) -> Result<Vec<String>, ApiError> {
    let mut wanted: Vec<String> = Vec::new();
    for m in marks {
        if !wanted.contains(&m) {
            wanted.push(m);
        }
    }
    if wanted.len() > MAX_MARKS {
        return Err(ApiError::bad_request(
            "too_many_marks",
            format!(
                "{} marks is over the limit of {MAX_MARKS} per annotation",
                wanted.len()
            ),
        )
        .at_field("marks"));
    }
    if wanted.is_empty() {
        return Ok(wanted);
    }
    let catalog: Vec<String> = state
        .store
        .marks()
        .await?
        .into_iter()
        .map(|m| m.key)
        .collect();
    if let Some(bad) = wanted.iter().find(|m| !catalog.contains(m)) {
        return Err(ApiError::bad_request(
            "unknown_mark",
            format!(
                "unknown mark {bad:?}; the marks are: {}",
                catalog.join(", ")
            ),
        )
        .at_field("marks"));
    }
    Ok(wanted)
}

fn describe(e: &StoredEvent) -> String {
    format!("{} by {}", e.event.action, e.event.actor.id)
}

/// The status of a write: 201 when stored now, 200 for a replay.
pub fn status_of(w: Written) -> axum::http::StatusCode {
    match w {
        Written::Created => axum::http::StatusCode::CREATED,
        Written::Replayed => axum::http::StatusCode::OK,
    }
}

/// Tells live tails about entries this process appended through a record.
fn appended(state: &AppState, seq: u64) {
    state.appended.send_if_modified(|s| {
        let newer = seq > *s;
        *s = (*s).max(seq);
        newer
    });
}

/// Annotates an entry (by its id) as `author`.
pub async fn annotate(
    state: &AppState,
    author: &str,
    entry: Uuid,
    r: AnnotationRequest,
) -> Result<(Annotation, Written), ApiError> {
    let comment = text("comment", r.comment, "comment_too_long")?;
    let marks = known_marks(state, r.marks.unwrap_or_default()).await?;
    if comment.is_none() && marks.is_empty() {
        return Err(ApiError::bad_request(
            "empty_annotation",
            "an annotation needs a comment or at least one mark",
        ));
    }
    let written_at = written_at(state, r.written_at)?;
    let annotated = state.store.event(entry).await?;
    let new = NewAnnotation {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        entry,
        author: author.to_owned(),
        written_at,
        comment,
        marks,
        supersedes: r.supersedes,
    };
    let journal = journal::entry(
        state.now(),
        &staff(author),
        "annotation.create",
        Kind::Create,
        journal::target("entry", entry.to_string(), Some(describe(&annotated))),
        json!({
            "annotation": new.id,
            "comment": new.comment,
            "marks": new.marks,
            "supersedes": new.supersedes,
            "written_at": vigil_core::event::micros::format(&new.written_at),
        }),
    );
    let (stored, written) = state
        .store
        .annotate(new, journal)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(m) if m.starts_with("supersedes") => {
                ApiError::bad_request("bad_supersedes", m).at_field("supersedes")
            }
            StoreError::Invalid(m) => ApiError::bad_request("unknown_mark", m).at_field("marks"),
            other => other.into(),
        })?;
    if written == Written::Created {
        appended(state, stored.journal_seq);
    }
    Ok((stored, written))
}

/// Entries with their annotations and incidents.
pub async fn annotated(
    state: &AppState,
    entries: Vec<StoredEvent>,
) -> Result<Vec<Annotated>, ApiError> {
    let mut notes = state
        .store
        .entry_annotations(entries.iter().map(|e| e.seq).collect())
        .await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let n = notes.remove(&e.seq).unwrap_or_default();
            Annotated {
                entry: e,
                annotations: n.annotations,
                incidents: n.incidents,
                masked: Vec::new(),
            }
        })
        .collect())
}

/// An incident by number or id as written in a path.
pub async fn find_incident(state: &AppState, key: &str) -> Result<Incident, ApiError> {
    let key: IncidentKey = key
        .parse()
        .map_err(|m: String| ApiError::bad_request("bad_parameter", m))?;
    Ok(state.store.incident(key).await?)
}

/// Opens an incident as `author`.
pub async fn open_incident(
    state: &AppState,
    author: &str,
    r: IncidentRequest,
) -> Result<(Incident, Written), ApiError> {
    let title = r.title.map(|t| t.trim().to_owned()).unwrap_or_default();
    if title.is_empty() {
        return Err(ApiError::bad_request("invalid_incident", "title: required").at_field("title"));
    }
    let n = title.chars().count();
    if n > MAX_TITLE_CHARS {
        return Err(ApiError::bad_request(
            "invalid_incident",
            format!("title: {n} characters is over the limit of {MAX_TITLE_CHARS}"),
        )
        .at_field("title"));
    }
    let description = text("description", r.description, "invalid_incident")?;
    let new = NewIncident {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        title,
        description,
        author: author.to_owned(),
        written_at: written_at(state, r.written_at)?,
    };
    let journal = journal::entry(
        state.now(),
        &staff(author),
        "incident.create",
        Kind::Create,
        journal::target("incident", new.id.to_string(), Some(new.title.clone())),
        json!({"description": new.description}),
    );
    let (incident, written) = state.store.open_incident(new, journal).await?;
    if written == Written::Created {
        appended(state, incident.journal_seq);
    }
    Ok((incident, written))
}

/// Pins an entry to an incident as `author`.
pub async fn pin(
    state: &AppState,
    author: &str,
    incident: &Incident,
    r: PinRequest,
) -> Result<(Pin, Written), ApiError> {
    let entry = state.store.event(r.entry).await?;
    let new = NewPin {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        incident: incident.id,
        entry: r.entry,
        author: author.to_owned(),
        written_at: written_at(state, r.written_at)?,
    };
    let journal = journal::entry(
        state.now(),
        &staff(author),
        "incident.pin",
        Kind::Change,
        journal::target("entry", r.entry.to_string(), Some(describe(&entry))),
        json!({"incident": incident.id, "number": incident.number, "pin": new.id}),
    );
    let (pin, written) = state.store.pin(new, journal).await?;
    if written == Written::Created {
        appended(state, pin.journal_seq);
    }
    Ok((pin, written))
}

/// Writes a note on an incident as `author`.
pub async fn note(
    state: &AppState,
    author: &str,
    incident: &Incident,
    r: NoteRequest,
) -> Result<(IncidentNote, Written), ApiError> {
    let text = text("text", r.text, "invalid_note")?;
    if text.is_none() && r.status.is_none() {
        return Err(ApiError::bad_request(
            "empty_note",
            "a note needs a text or a status (open, closed)",
        ));
    }
    let new = NewIncidentNote {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        incident: incident.id,
        author: author.to_owned(),
        written_at: written_at(state, r.written_at)?,
        text,
        status: r.status,
    };
    let action = match r.status {
        Some(IncidentStatus::Closed) => "incident.close",
        Some(IncidentStatus::Open) => "incident.reopen",
        None => "incident.note",
    };
    let journal = journal::entry(
        state.now(),
        &staff(author),
        action,
        Kind::Change,
        journal::target(
            "incident",
            incident.id.to_string(),
            Some(incident.title.clone()),
        ),
        json!({"note": new.id, "text": new.text, "status": new.status}),
    );
    let (note, written) = state.store.add_incident_note(new, journal).await?;
    if written == Written::Created {
        appended(state, note.journal_seq);
    }
    Ok((note, written))
}

fn label(field: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() || v.chars().count() > 60 => Err(ApiError::bad_request(
            "invalid_mark",
            format!("{field}: 1 to 60 characters"),
        )
        .at_field(field)),
        other => Ok(other),
    }
}

/// Adds a mark to the catalog.
pub async fn add_mark(state: &AppState, by: &Actor, r: MarkRequest) -> Result<Mark, ApiError> {
    let key = r.key.unwrap_or_default();
    annotation::check_mark_key(&key)
        .map_err(|m| ApiError::bad_request("invalid_mark", format!("key: {m}")).at_field("key"))?;
    let required = |field: &str, v: Option<String>| {
        label(field, v)?.ok_or_else(|| {
            ApiError::bad_request("invalid_mark", format!("{field}: required")).at_field(field)
        })
    };
    let colour = r.colour.unwrap_or_default();
    annotation::check_colour(&colour).map_err(|m| {
        ApiError::bad_request("invalid_mark", format!("colour: {m}")).at_field("colour")
    })?;
    let mark = Mark {
        label_fr: required("label_fr", r.label_fr)?,
        label_en: required("label_en", r.label_en)?,
        key,
        colour: colour.to_lowercase(),
    };
    change_mark(
        state,
        by,
        "mark.create",
        Kind::Create,
        MarkChange::Add(mark.clone()),
    )
    .await?;
    Ok(mark)
}

/// Changes a mark's labels or colour.
pub async fn update_mark(
    state: &AppState,
    by: &Actor,
    key: &str,
    r: MarkRequest,
) -> Result<Mark, ApiError> {
    if r.key.as_deref().is_some_and(|k| k != key) {
        return Err(ApiError::bad_request(
            "invalid_mark",
            "key: a mark's key cannot change (add a new mark instead)",
        )
        .at_field("key"));
    }
    let current = state
        .store
        .marks()
        .await?
        .into_iter()
        .find(|m| m.key == key)
        .ok_or_else(|| ApiError::not_found(format!("mark {key:?} not found")))?;
    if let Some(c) = &r.colour {
        annotation::check_colour(c).map_err(|m| {
            ApiError::bad_request("invalid_mark", format!("colour: {m}")).at_field("colour")
        })?;
    }
    let mark = Mark {
        key: key.to_owned(),
        label_fr: label("label_fr", r.label_fr)?.unwrap_or(current.label_fr),
        label_en: label("label_en", r.label_en)?.unwrap_or(current.label_en),
        colour: r.colour.map(|c| c.to_lowercase()).unwrap_or(current.colour),
    };
    change_mark(
        state,
        by,
        "mark.update",
        Kind::Change,
        MarkChange::Update(mark.clone()),
    )
    .await?;
    Ok(mark)
}

/// Removes a mark no annotation uses.
pub async fn remove_mark(state: &AppState, by: &Actor, key: &str) -> Result<(), ApiError> {
    change_mark(
        state,
        by,
        "mark.delete",
        Kind::Delete,
        MarkChange::Remove(key.to_owned()),
    )
    .await
}

async fn change_mark(
    state: &AppState,
    by: &Actor,
    action: &str,
    kind: Kind,
    change: MarkChange,
) -> Result<(), ApiError> {
    let (key, details) = match &change {
        MarkChange::Add(m) | MarkChange::Update(m) => (m.key.clone(), json!(m)),
        MarkChange::Remove(k) => (k.clone(), json!({})),
    };
    let journal = journal::entry(
        state.now(),
        by,
        action,
        kind,
        journal::target("mark", key, None),
        details,
    );
    state.store.change_mark(change, journal).await?;
    if let Ok(Some((seq, _))) = state.store.head().await {
        appended(state, seq);
    }
    Ok(())
}
