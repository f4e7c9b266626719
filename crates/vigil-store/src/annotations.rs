//! What investigators add: the marks catalog, annotations, incidents with their pinned entries
//! and notes. Every record but the catalog is append-only and written together with the journal
//! entry that tells of it, in one transaction; records carry an id the client chose, so that a
//! retried write (the console's outbox after a lost answer) is recognised and stores nothing: a
//! replay (same id, same content) stores neither, the same id with other content is a
//! `Conflict`. The trait is [`AnnotationStore`].

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;
use vigil_core::{Annotation, Event, IncidentRef};

use crate::{Incident, IncidentNote, IncidentStatus, Mark, Pin, StoreError};

/// The annotations part of a store.
#[async_trait]
pub trait AnnotationStore: Send + Sync + 'static {
    /// The marks catalog, in the order marks were added.
    async fn marks(&self) -> Result<Vec<Mark>, StoreError>;

    /// Changes the marks catalog.
    async fn change_mark(&self, change: MarkChange, journal: Event) -> Result<(), StoreError>;

    /// Stores an annotation: `NotFound` for an unknown entry, `Invalid` with field `marks` for a
    /// mark not in the catalog, with field `supersedes` for a `supersedes` that is not an
    /// annotation of the same entry.
    async fn annotate(
        &self,
        annotation: NewAnnotation,
        journal: Event,
    ) -> Result<(Annotation, Written), StoreError>;

    /// An entry's annotations, oldest first; `NotFound` for an unknown entry.
    async fn annotations(&self, entry: uuid::Uuid) -> Result<Vec<Annotation>, StoreError>;

    /// Every annotation in the order of the journal entries that record them, those recorded
    /// after journal seq `after`, at most `limit` (for `vigil verify`).
    async fn annotations_after(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<Annotation>, StoreError>;

    /// The annotations and incidents of these entries (by seq; entries with none left out).
    async fn entry_annotations(
        &self,
        seqs: Vec<u64>,
    ) -> Result<std::collections::HashMap<u64, EntryAnnotations>, StoreError>;

    /// Opens an incident (the store gives it the next number).
    async fn open_incident(
        &self,
        incident: NewIncident,
        journal: Event,
    ) -> Result<(Incident, Written), StoreError>;

    /// Every incident, newest first.
    async fn incidents(&self) -> Result<Vec<Incident>, StoreError>;

    /// One incident; `NotFound` if there is none.
    async fn incident(&self, key: IncidentKey) -> Result<Incident, StoreError>;

    /// The notes of an incident, oldest first.
    async fn incident_notes(&self, incident: uuid::Uuid) -> Result<Vec<IncidentNote>, StoreError>;

    /// The entries pinned to an incident, in order of pinning.
    async fn pins(&self, incident: uuid::Uuid) -> Result<Vec<Pin>, StoreError>;

    /// Pins an entry to an incident; `NotFound` for an unknown incident or entry. Pinning an
    /// entry already pinned there is a replay of that pin.
    async fn pin(&self, pin: NewPin, journal: Event) -> Result<(Pin, Written), StoreError>;

    /// Writes a note on an incident (closing or reopening it if it says so).
    async fn add_incident_note(
        &self,
        note: NewIncidentNote,
        journal: Event,
    ) -> Result<(IncidentNote, Written), StoreError>;
}

/// The marks every new store starts with.
pub fn default_marks() -> Vec<Mark> {
    let m = |key: &str, fr: &str, en: &str, colour: &str| Mark {
        key: key.into(),
        label_fr: fr.into(),
        label_en: en.into(),
        colour: colour.into(),
    };
    vec![
        m(
            "player-request",
            "sur demande du joueur",
            "at the player's request",
            "#2f7dd1",
        ),
        m("reviewed", "vérifié", "reviewed", "#2e9e5b"),
        m("suspicious", "suspect", "suspicious", "#d9822b"),
        m(
            "false-positive",
            "faux positif",
            "false positive",
            "#7a7f87",
        ),
        m("escalated", "escaladé", "escalated", "#c23b3b"),
    ]
}

/// A change to the marks catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarkChange {
    /// A new mark; `Conflict` if the key is taken.
    Add(Mark),
    /// New labels or colour for a mark; `NotFound` if there is none by that key.
    Update(Mark),
    /// Removes a mark; `NotFound` if there is none, `Conflict` if an annotation uses it.
    Remove(String),
}

/// An annotation to store. The store checks that the entry exists, that the marks are in the
/// catalog and that `supersedes` names an annotation of the same entry.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAnnotation {
    /// The client's id.
    pub id: Uuid,
    /// The annotated entry.
    pub entry: Uuid,
    /// Who writes it.
    pub author: String,
    /// When they wrote it.
    pub written_at: DateTime<Utc>,
    /// A comment (not blank).
    pub comment: Option<String>,
    /// Mark keys, each once.
    pub marks: Vec<String>,
    /// The annotation it corrects.
    pub supersedes: Option<Uuid>,
}

/// An incident to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    /// The client's id.
    pub id: Uuid,
    /// Its title (not blank).
    pub title: String,
    /// What it is about.
    pub description: Option<String>,
    /// Who opens it.
    pub author: String,
    /// When they wrote it.
    pub written_at: DateTime<Utc>,
}

/// A note to write on an incident; it may close or reopen it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncidentNote {
    /// The client's id.
    pub id: Uuid,
    /// The incident.
    pub incident: Uuid,
    /// Who writes it.
    pub author: String,
    /// When they wrote it.
    pub written_at: DateTime<Utc>,
    /// The text.
    pub text: Option<String>,
    /// The status it sets.
    pub status: Option<IncidentStatus>,
}

/// An entry to pin to an incident.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPin {
    /// The client's id.
    pub id: Uuid,
    /// The incident.
    pub incident: Uuid,
    /// The entry.
    pub entry: Uuid,
    /// Who pins it.
    pub author: String,
    /// When they did.
    pub written_at: DateTime<Utc>,
}

/// Which incident: by id or by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentKey {
    /// Its id.
    Id(Uuid),
    /// Its number.
    Number(u64),
}

impl std::str::FromStr for IncidentKey {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(n) = s.parse::<u64>() {
            return Ok(IncidentKey::Number(n));
        }
        Uuid::parse_str(s)
            .map(IncidentKey::Id)
            .map_err(|_| format!("{s:?} is neither an incident number nor an incident id"))
    }
}

impl std::fmt::Display for IncidentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IncidentKey::Id(id) => write!(f, "{id}"),
            IncidentKey::Number(n) => write!(f, "{n}"),
        }
    }
}

/// An entry's annotations (oldest first) and incidents.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EntryAnnotations {
    /// Its annotations.
    pub annotations: Vec<Annotation>,
    /// The incidents it is pinned to.
    pub incidents: Vec<IncidentRef>,
}

/// Whether a write stored something new or found the same record already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Stored now.
    Created,
    /// Already stored with the same content (a retry): nothing was written.
    Replayed,
}
