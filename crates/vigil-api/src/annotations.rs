//! What investigators add on the wire: annotations (the records themselves are
//! [`vigil_core::Annotation`]), the marks catalog, and incidents with their notes and pins.
//! Requests carry an optional client-chosen `id`: sending the same id again stores nothing new.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use vigil_core::event::micros;
use vigil_core::{Annotation, IncidentRef};

/// A mark of the catalog.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Mark {
    /// What queries use: `mark:suspicious`.
    pub key: String,
    /// The French label: « suspect ».
    pub label_fr: String,
    /// The English label: "suspicious".
    pub label_en: String,
    /// `#rrggbb`.
    pub colour: String,
}

/// Open or closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    /// Being investigated.
    Open,
    /// Done.
    Closed,
}

impl IncidentStatus {
    /// The written form.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Open => "open",
            IncidentStatus::Closed => "closed",
        }
    }

    /// Reads the written form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "open" => Some(IncidentStatus::Open),
            "closed" => Some(IncidentStatus::Closed),
            _ => None,
        }
    }
}

/// An incident as the store keeps it, with its current status and how many entries it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Incident {
    /// Its id.
    pub id: Uuid,
    /// Its number, in order of receipt: `incident:12`.
    pub number: u64,
    /// Its title.
    pub title: String,
    /// What it is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who opened it.
    pub author: String,
    /// When they wrote it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub written_at: DateTime<Utc>,
    /// When the store received it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: DateTime<Utc>,
    /// Open or closed: the last status a note set.
    pub status: IncidentStatus,
    /// Entries pinned to it.
    pub entries: u64,
    /// The journal entry that records its opening.
    pub journal_seq: u64,
}

impl Incident {
    /// How an entry names it.
    pub fn to_ref(&self) -> IncidentRef {
        IncidentRef {
            id: self.id,
            number: self.number,
            title: self.title.clone(),
        }
    }
}

/// A note on an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentNote {
    /// Its id.
    pub id: Uuid,
    /// The incident.
    pub incident: Uuid,
    /// Who wrote it.
    pub author: String,
    /// When they wrote it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub written_at: DateTime<Utc>,
    /// When the store received it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: DateTime<Utc>,
    /// The text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The status it set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IncidentStatus>,
    /// The journal entry that records it.
    pub journal_seq: u64,
}

/// An entry pinned to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Pin {
    /// Its id.
    pub id: Uuid,
    /// The incident.
    pub incident: Uuid,
    /// The entry.
    pub entry: Uuid,
    /// Who pinned it.
    pub author: String,
    /// When they did.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub written_at: DateTime<Utc>,
    /// When the store received it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: DateTime<Utc>,
    /// The journal entry that records it.
    pub journal_seq: u64,
}

/// What a client sends to annotate an entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AnnotationRequest {
    /// The client's id: sending the same id again stores nothing new (default: a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The comment (at most 10,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub comment: Option<String>,
    /// Mark keys from the catalog (`GET /v1/marks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_items = 16))]
    pub marks: Option<Vec<String>>,
    /// The annotation of the same entry that this one corrects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
    /// When it was written, RFC 3339 (default: now); an offline client sends its own time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub written_at: Option<DateTime<Utc>>,
}

/// What a client sends to open an incident.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IncidentRequest {
    /// The client's id (default: a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The title (required, at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 200))]
    pub title: Option<String>,
    /// What it is about (at most 10,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub description: Option<String>,
    /// When it was written (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub written_at: Option<DateTime<Utc>>,
}

/// What a client sends to pin an entry to an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PinRequest {
    /// The client's id (default: a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The entry's id.
    pub entry: Uuid,
    /// When it was pinned (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub written_at: Option<DateTime<Utc>>,
}

/// What a client sends to write a note on an incident (and close or reopen it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// The client's id (default: a new one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Uuid>,
    /// The note (at most 10,000 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(max_length = 10000))]
    pub text: Option<String>,
    /// `open` or `closed`, to change the incident's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<IncidentStatus>,
    /// When it was written (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub written_at: Option<DateTime<Utc>>,
}

/// A mark's labels and colour, all optional when changing one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkRequest {
    /// The key (when adding): `a-z`, `0-9`, `-`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9-]{0,39}$"))]
    pub key: Option<String>,
    /// The French label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 60))]
    pub label_fr: Option<String>,
    /// The English label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 60))]
    pub label_en: Option<String>,
    /// `#rrggbb`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(pattern = "^#[0-9a-fA-F]{6}$"))]
    pub colour: Option<String>,
}

/// An entry's annotations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AnnotationList {
    /// Oldest first.
    pub annotations: Vec<Annotation>,
}

/// The marks catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkList {
    /// In the catalog's order.
    pub marks: Vec<Mark>,
}

/// The incidents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<Incident>,
}

/// An incident with its notes and pinned entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IncidentDetail {
    /// The incident.
    pub incident: Incident,
    /// Its notes, oldest first.
    pub notes: Vec<IncidentNote>,
    /// Its entries, in order of pinning (search `incident:N` for the entries themselves).
    pub pins: Vec<Pin>,
}
