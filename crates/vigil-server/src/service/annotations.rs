//! What investigators add to the journal: annotations, incidents (with pinned entries and
//! notes) and the marks catalog. Requests are checked here, within the caller's scopes, and each
//! write is given the journal entry that tells of it; the store writes both together. A write
//! sent again with the same id and content stores nothing ([`Written::Replayed`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;
use vigil_api::{
    AnnotationList, AnnotationRequest, IncidentDetail, IncidentList, IncidentRequest, MarkList,
    MarkRequest, NoteRequest, PinRequest,
};
use vigil_core::annotation::{self, MAX_MARKS, MAX_TITLE_CHARS};
use vigil_core::{Annotation, Kind, StoredEvent};
use vigil_store::{
    Incident, IncidentKey, IncidentNote, IncidentStatus, Mark, MarkChange, NewAnnotation,
    NewIncident, NewIncidentNote, NewPin, Pin, StoreError, Written,
};

use super::caller::{Annotator, Caller, CanRead, MarksAdmin};
use super::search::{entry_id, readable};
use super::{Fault, OwnEntry, Refusal};
use crate::state::AppState;

/// How far in the future a client's `written_at` may be (clocks drift).
const CLOCK_SKEW: i64 = 5;

/// Why an annotation, an incident, a pin, a note or a change to the marks was refused.
#[derive(Debug, thiserror::Error)]
pub enum AnnotationError {
    /// Neither a comment nor a mark.
    #[error("an annotation needs a comment or at least one mark")]
    EmptyAnnotation,
    /// The comment is blank or too long.
    #[error("comment: {0}")]
    BadComment(String),
    /// More marks than an annotation may carry.
    #[error("{0} marks is over the limit of {MAX_MARKS} per annotation")]
    TooManyMarks(usize),
    /// A mark that is not in the catalog.
    #[error("{0}")]
    UnknownMark(String),
    /// A `supersedes` that is not an annotation of the same entry.
    #[error("{0}")]
    BadSupersedes(String),
    /// A `written_at` in the future.
    #[error("{0}")]
    BadWrittenAt(String),
    /// A bad incident title or description.
    #[error("{field}: {message}")]
    InvalidIncident {
        /// `title` or `description`.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// Neither a text nor a status.
    #[error("a note needs a text or a status (open, closed)")]
    EmptyNote,
    /// A bad note text.
    #[error("text: {0}")]
    InvalidNote(String),
    /// A bad mark key, label or colour.
    #[error("{field}: {message}")]
    InvalidMark {
        /// The field.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An entry id or incident key that is not one.
    #[error("{0}")]
    BadParameter(String),
    /// An entry the caller may read but not annotate.
    #[error("{0}")]
    NotAnnotatable(String),
    /// No mark by that key.
    #[error("mark {0:?} not found")]
    NoSuchMark(String),
    /// No such entry or incident (or none the caller may read), a conflict with what is
    /// stored, or a failure.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for AnnotationError {
    fn fault(&self) -> Fault {
        match self {
            AnnotationError::NotAnnotatable(_) => Fault::Forbidden,
            AnnotationError::NoSuchMark(_) => Fault::NotFound,
            AnnotationError::Store(e) => e.fault(),
            _ => Fault::Invalid,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AnnotationError::EmptyAnnotation => "empty_annotation",
            AnnotationError::BadComment(_) => "comment_too_long",
            AnnotationError::TooManyMarks(_) => "too_many_marks",
            AnnotationError::UnknownMark(_) => "unknown_mark",
            AnnotationError::BadSupersedes(_) => "bad_supersedes",
            AnnotationError::BadWrittenAt(_) => "bad_written_at",
            AnnotationError::InvalidIncident { .. } => "invalid_incident",
            AnnotationError::EmptyNote => "empty_note",
            AnnotationError::InvalidNote(_) => "invalid_note",
            AnnotationError::InvalidMark { .. } => "invalid_mark",
            AnnotationError::BadParameter(_) => "bad_parameter",
            AnnotationError::NotAnnotatable(_) => "forbidden",
            AnnotationError::NoSuchMark(_) => "not_found",
            AnnotationError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AnnotationError::BadComment(_) => Some("comment"),
            AnnotationError::TooManyMarks(_) | AnnotationError::UnknownMark(_) => Some("marks"),
            AnnotationError::BadSupersedes(_) => Some("supersedes"),
            AnnotationError::BadWrittenAt(_) => Some("written_at"),
            AnnotationError::InvalidIncident { field, .. }
            | AnnotationError::InvalidMark { field, .. } => Some(field),
            AnnotationError::InvalidNote(_) => Some("text"),
            AnnotationError::Store(e) => e.field(),
            _ => None,
        }
    }
}

/// A client's time, kept to the microsecond (as stored, so that a retry compares equal), and
/// not in the future.
fn written_at(
    state: &AppState,
    t: Option<DateTime<Utc>>,
) -> Result<DateTime<Utc>, AnnotationError> {
    let now = state.now();
    let Some(t) = t else { return Ok(now) };
    let t = DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap_or(t);
    if t > now + Duration::minutes(CLOCK_SKEW) {
        return Err(AnnotationError::BadWrittenAt(format!(
            "written_at {} is in the future (the store's time is {})",
            vigil_core::event::micros::format(&t),
            vigil_core::event::micros::format(&now)
        )));
    }
    Ok(t)
}

/// The marks asked for, each once, all in the catalog.
async fn known_marks(state: &AppState, marks: Vec<String>) -> Result<Vec<String>, AnnotationError> {
    let mut wanted: Vec<String> = Vec::new();
    for m in marks {
        if !wanted.contains(&m) {
            wanted.push(m);
        }
    }
    if wanted.len() > MAX_MARKS {
        return Err(AnnotationError::TooManyMarks(wanted.len()));
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
        return Err(AnnotationError::UnknownMark(format!(
            "unknown mark {bad:?}; the marks are: {}",
            catalog.join(", ")
        )));
    }
    Ok(wanted)
}

fn describe(e: &StoredEvent) -> String {
    format!("{} by {}", e.event.action, e.event.actor.id)
}

/// The entry, if the caller may annotate it: `NotFound` outside their read scope (as for an
/// entry that does not exist), `NotAnnotatable` when they may read it but not annotate it.
async fn annotatable(
    state: &AppState,
    caller: &Caller,
    entry: Uuid,
) -> Result<StoredEvent, AnnotationError> {
    Ok(annotatable_with_summary(state, caller, entry).await?.entry)
}

/// [`annotatable`], with what the entry's annotations amount to.
async fn annotatable_with_summary(
    state: &AppState,
    caller: &Caller,
    entry: Uuid,
) -> Result<vigil_core::Annotated, AnnotationError> {
    let e = readable(state, caller, entry).await?;
    if !caller
        .grants
        .annotate
        .contains(&e.entry.event, &e.summary())
    {
        return Err(AnnotationError::NotAnnotatable(format!(
            "annotating this entry needs the annotate right within its scope (section {:?}), \
             which none of {:?}'s roles grants",
            e.entry.event.section, caller.name
        )));
    }
    Ok(e)
}

/// Refuses to supersede someone else's annotation without the review right on the entry.
/// (Whether `supersedes` names an annotation of this entry at all is the store's check.)
async fn may_supersede(
    state: &AppState,
    author: &Caller,
    e: &vigil_core::Annotated,
    supersedes: Option<Uuid>,
) -> Result<(), AnnotationError> {
    let Some(old) = supersedes else {
        return Ok(());
    };
    let thread = state.store.annotations(e.entry.event.id).await?;
    let Some(old) = thread.iter().find(|a| a.id == old) else {
        return Ok(());
    };
    if old.author == author.name || author.grants.review.contains(&e.entry.event, &e.summary()) {
        return Ok(());
    }
    Err(AnnotationError::NotAnnotatable(format!(
        "correcting an annotation by {:?} needs the review right within the entry's scope \
         (section {:?}), which none of {:?}'s roles grants; an author may correct their own",
        old.author, e.entry.event.section, author.name
    )))
}

/// Tells the live tails of an entry a write appended.
fn announce(state: &AppState, written: Written, journal_seq: u64) {
    if written == Written::Created {
        state.announce(journal_seq);
    }
}

/// Annotates an entry as the caller: a comment and/or marks.
pub async fn annotate(
    state: &AppState,
    author: &Annotator,
    entry: Uuid,
    r: AnnotationRequest,
) -> Result<(Annotation, Written), AnnotationError> {
    let annotated = annotatable_with_summary(state, author, entry).await?;
    may_supersede(state, author, &annotated, r.supersedes).await?;
    let annotated = annotated.entry;
    let comment = annotation::clean_comment(r.comment).map_err(AnnotationError::BadComment)?;
    let marks = known_marks(state, r.marks.unwrap_or_default()).await?;
    if comment.is_none() && marks.is_empty() {
        return Err(AnnotationError::EmptyAnnotation);
    }
    let new = NewAnnotation {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        entry,
        author: author.name.clone(),
        written_at: written_at(state, r.written_at)?,
        comment,
        marks,
        supersedes: r.supersedes,
    };
    let journal = OwnEntry::by_staff(state.now(), &author.name, "annotation.create", Kind::Create)
        .on("entry", entry.to_string(), Some(describe(&annotated)))
        .details(json!({
            "annotation": new.id,
            "comment": new.comment,
            "marks": new.marks,
            "supersedes": new.supersedes,
            "written_at": vigil_core::event::micros::format(&new.written_at),
        }))
        .build();
    let (stored, written) = state
        .store
        .annotate(new, journal)
        .await
        .map_err(|e| match e {
            StoreError::Invalid {
                message,
                field: Some("supersedes"),
            } => AnnotationError::BadSupersedes(message),
            StoreError::Invalid {
                message,
                field: Some("marks"),
            } => AnnotationError::UnknownMark(message),
            other => other.into(),
        })?;
    announce(state, written, stored.journal_seq);
    Ok((stored, written))
}

/// An entry's annotations, oldest first.
pub async fn annotations(
    state: &AppState,
    reader: &CanRead,
    entry: &str,
) -> Result<AnnotationList, AnnotationError> {
    let id = entry_id(entry).map_err(AnnotationError::BadParameter)?;
    readable(state, reader, id).await?;
    Ok(AnnotationList {
        annotations: state.store.annotations(id).await?,
    })
}

/// The marks annotations may use, in the catalog's order.
pub async fn marks(state: &AppState, _reader: &CanRead) -> Result<MarkList, AnnotationError> {
    Ok(MarkList {
        marks: state.store.marks().await?,
    })
}

/// An incident by number or id as written in a path, if it is within the caller's read scope
/// (else `NotFound`, as for an incident that does not exist) and, to write to it, within their
/// annotate scope (else `NotAnnotatable`).
async fn find_incident(
    state: &AppState,
    caller: &Caller,
    key: &str,
    access: Access,
) -> Result<Incident, AnnotationError> {
    let key: IncidentKey = key.parse().map_err(AnnotationError::BadParameter)?;
    let incident = state.store.incident(key).await?;
    if !in_scope(state, caller, &incident, Access::Read).await? {
        return Err(StoreError::NotFound(format!("incident {key}")).into());
    }
    if access == Access::Write && !in_scope(state, caller, &incident, Access::Write).await? {
        return Err(AnnotationError::NotAnnotatable(format!(
            "writing to incident {} needs the annotate right on every entry pinned to it, \
             which none of {:?}'s roles grants",
            incident.number, caller.name
        )));
    }
    Ok(incident)
}

/// What is done with an incident: read it, or write to it (notes, status, pins).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Access {
    Read,
    Write,
}

/// Whether an incident is within the caller's scope for `access`: one who may read (annotate)
/// every entry reaches every incident; a scoped one those whose pinned entries are all within
/// their read (annotate) scope, and an incident without pins only if they wrote it. Its title
/// and notes speak of its entries, so an incident that holds an entry outside the scope is
/// outside it too.
async fn in_scope(
    state: &AppState,
    caller: &Caller,
    incident: &Incident,
    access: Access,
) -> Result<bool, StoreError> {
    let scope = match access {
        Access::Read => &caller.grants.read,
        Access::Write => &caller.grants.annotate,
    };
    if scope.is_all() && (access == Access::Read || caller.grants.read.is_all()) {
        return Ok(true);
    }
    let pins = state.store.pins(incident.id).await?;
    if pins.is_empty() {
        return Ok(incident.author == caller.name);
    }
    for p in pins {
        let entry = match readable(state, caller, p.entry).await {
            Ok(entry) => entry,
            Err(StoreError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if !scope.contains(&entry.entry.event, &entry.summary()) {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Leaves out, of entries about to be answered, the incidents outside the reader's scope: an
/// entry the reader may read can be pinned to an incident that also holds entries they may not,
/// whose number and title would speak of those.
pub async fn hide_incidents_outside(
    state: &AppState,
    reader: &Caller,
    entries: &mut [vigil_core::Annotated],
) -> Result<(), StoreError> {
    if reader.grants.read.is_all() {
        return Ok(());
    }
    let mut within = std::collections::HashMap::new();
    for e in entries.iter() {
        for r in &e.incidents {
            if within.contains_key(&r.id) {
                continue;
            }
            let incident = state.store.incident(IncidentKey::Id(r.id)).await?;
            within.insert(
                r.id,
                in_scope(state, reader, &incident, Access::Read).await?,
            );
        }
    }
    for e in entries {
        e.incidents
            .retain(|r| within.get(&r.id).copied().unwrap_or(false));
    }
    Ok(())
}

/// Every incident within the reader's scope, newest first.
pub async fn incidents(
    state: &AppState,
    reader: &CanRead,
) -> Result<IncidentList, AnnotationError> {
    let mut incidents = Vec::new();
    for incident in state.store.incidents().await? {
        if in_scope(state, reader, &incident, Access::Read).await? {
            incidents.push(incident);
        }
    }
    Ok(IncidentList { incidents })
}

/// One incident by number or id, with its notes and the pins of the entries the reader may
/// read.
pub async fn incident(
    state: &AppState,
    reader: &CanRead,
    key: &str,
) -> Result<IncidentDetail, AnnotationError> {
    let incident = find_incident(state, reader, key, Access::Read).await?;
    let notes = state.store.incident_notes(incident.id).await?;
    let mut pins = state.store.pins(incident.id).await?;
    if !reader.grants.read.is_all() {
        let mut kept = Vec::with_capacity(pins.len());
        for p in pins {
            if readable(state, reader, p.entry).await.is_ok() {
                kept.push(p);
            }
        }
        pins = kept;
    }
    Ok(IncidentDetail {
        incident,
        notes,
        pins,
    })
}

/// Opens an incident as the caller (the store gives it the next number).
pub async fn open_incident(
    state: &AppState,
    author: &Annotator,
    r: IncidentRequest,
) -> Result<(Incident, Written), AnnotationError> {
    let invalid = |field, message: String| AnnotationError::InvalidIncident { field, message };
    let title = r.title.map(|t| t.trim().to_owned()).unwrap_or_default();
    if title.is_empty() {
        return Err(invalid("title", "required".into()));
    }
    let n = title.chars().count();
    if n > MAX_TITLE_CHARS {
        return Err(invalid(
            "title",
            format!("{n} characters is over the limit of {MAX_TITLE_CHARS}"),
        ));
    }
    let description =
        annotation::clean_comment(r.description).map_err(|m| invalid("description", m))?;
    let new = NewIncident {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        title,
        description,
        author: author.name.clone(),
        written_at: written_at(state, r.written_at)?,
    };
    let journal = OwnEntry::by_staff(state.now(), &author.name, "incident.create", Kind::Create)
        .on("incident", new.id.to_string(), Some(new.title.clone()))
        .details(json!({"description": new.description}))
        .build();
    let (incident, written) = state.store.open_incident(new, journal).await?;
    announce(state, written, incident.journal_seq);
    Ok((incident, written))
}

/// Pins an entry to an incident (by number or id) as the caller.
pub async fn pin(
    state: &AppState,
    author: &Annotator,
    incident: &str,
    r: PinRequest,
) -> Result<(Pin, Written), AnnotationError> {
    let incident = find_incident(state, author, incident, Access::Write).await?;
    let entry = annotatable(state, author, r.entry).await?;
    let new = NewPin {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        incident: incident.id,
        entry: r.entry,
        author: author.name.clone(),
        written_at: written_at(state, r.written_at)?,
    };
    let journal = OwnEntry::by_staff(state.now(), &author.name, "incident.pin", Kind::Change)
        .on("entry", r.entry.to_string(), Some(describe(&entry)))
        .details(json!({"incident": incident.id, "number": incident.number, "pin": new.id}))
        .build();
    let (pin, written) = state.store.pin(new, journal).await?;
    announce(state, written, pin.journal_seq);
    Ok((pin, written))
}

/// Writes a note on an incident (by number or id) as the caller; a status closes or reopens
/// it.
pub async fn note(
    state: &AppState,
    author: &Annotator,
    incident: &str,
    r: NoteRequest,
) -> Result<(IncidentNote, Written), AnnotationError> {
    let incident = find_incident(state, author, incident, Access::Write).await?;
    let text = annotation::clean_comment(r.text).map_err(AnnotationError::InvalidNote)?;
    if text.is_none() && r.status.is_none() {
        return Err(AnnotationError::EmptyNote);
    }
    let new = NewIncidentNote {
        id: r.id.unwrap_or_else(Uuid::now_v7),
        incident: incident.id,
        author: author.name.clone(),
        written_at: written_at(state, r.written_at)?,
        text,
        status: r.status,
    };
    let action = match r.status {
        Some(IncidentStatus::Closed) => "incident.close",
        Some(IncidentStatus::Open) => "incident.reopen",
        None => "incident.note",
    };
    let journal = OwnEntry::by_staff(state.now(), &author.name, action, Kind::Change)
        .on(
            "incident",
            incident.id.to_string(),
            Some(incident.title.clone()),
        )
        .details(json!({"note": new.id, "text": new.text, "status": new.status}))
        .build();
    let (note, written) = state.store.add_incident_note(new, journal).await?;
    announce(state, written, note.journal_seq);
    Ok((note, written))
}

fn label(field: &'static str, value: Option<String>) -> Result<Option<String>, AnnotationError> {
    match value.map(|v| v.trim().to_owned()) {
        Some(v) if v.is_empty() || v.chars().count() > 60 => Err(AnnotationError::InvalidMark {
            field,
            message: "1 to 60 characters".into(),
        }),
        other => Ok(other),
    }
}

fn colour(value: &str) -> Result<(), AnnotationError> {
    annotation::check_colour(value).map_err(|message| AnnotationError::InvalidMark {
        field: "colour",
        message,
    })
}

/// Adds a mark to the catalog.
pub async fn add_mark(
    state: &AppState,
    admin: &MarksAdmin,
    r: MarkRequest,
) -> Result<Mark, AnnotationError> {
    let key = r.key.unwrap_or_default();
    annotation::check_mark_key(&key).map_err(|message| AnnotationError::InvalidMark {
        field: "key",
        message,
    })?;
    let required = |field: &'static str, v: Option<String>| {
        label(field, v)?.ok_or(AnnotationError::InvalidMark {
            field,
            message: "required".into(),
        })
    };
    let wanted = r.colour.unwrap_or_default();
    colour(&wanted)?;
    let mark = Mark {
        label_fr: required("label_fr", r.label_fr)?,
        label_en: required("label_en", r.label_en)?,
        key,
        colour: wanted.to_lowercase(),
    };
    change_mark(
        state,
        admin,
        "mark.create",
        Kind::Create,
        MarkChange::Add(mark.clone()),
    )
    .await?;
    Ok(mark)
}

/// Changes a mark's labels or colour (its key stays).
pub async fn update_mark(
    state: &AppState,
    admin: &MarksAdmin,
    key: &str,
    r: MarkRequest,
) -> Result<Mark, AnnotationError> {
    if r.key.as_deref().is_some_and(|k| k != key) {
        return Err(AnnotationError::InvalidMark {
            field: "key",
            message: "a mark's key cannot change (add a new mark instead)".into(),
        });
    }
    let current = state
        .store
        .marks()
        .await?
        .into_iter()
        .find(|m| m.key == key)
        .ok_or_else(|| AnnotationError::NoSuchMark(key.to_owned()))?;
    if let Some(c) = &r.colour {
        colour(c)?;
    }
    let mark = Mark {
        key: key.to_owned(),
        label_fr: label("label_fr", r.label_fr)?.unwrap_or(current.label_fr),
        label_en: label("label_en", r.label_en)?.unwrap_or(current.label_en),
        colour: r.colour.map(|c| c.to_lowercase()).unwrap_or(current.colour),
    };
    change_mark(
        state,
        admin,
        "mark.update",
        Kind::Change,
        MarkChange::Update(mark.clone()),
    )
    .await?;
    Ok(mark)
}

/// Removes a mark no annotation uses.
pub async fn remove_mark(
    state: &AppState,
    admin: &MarksAdmin,
    key: &str,
) -> Result<(), AnnotationError> {
    let change = MarkChange::Remove(key.to_owned());
    change_mark(state, admin, "mark.delete", Kind::Delete, change).await
}

async fn change_mark(
    state: &AppState,
    admin: &MarksAdmin,
    action: &str,
    kind: Kind,
    change: MarkChange,
) -> Result<(), AnnotationError> {
    let (key, details) = match &change {
        MarkChange::Add(m) | MarkChange::Update(m) => (m.key.clone(), json!(m)),
        MarkChange::Remove(k) => (k.clone(), json!({})),
    };
    let journal = OwnEntry::by_staff(state.now(), &admin.name, action, kind)
        .on("mark", key, None)
        .details(details)
        .build();
    state.store.change_mark(change, journal).await?;
    state.wake().await;
    Ok(())
}
