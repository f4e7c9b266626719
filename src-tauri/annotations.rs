//! Annotations and incidents in the console: what the UI shows of them, stored or still waiting
//! in the outbox ([`crate::outbox`]), and the commands that write them. Everything the user
//! writes goes to the outbox first (durably), then to the store; while the store cannot be
//! reached the console answers from its cache and keeps what is written.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;
use vigil_api::{Incident, IncidentNote, Mark, Pin};
use vigil_client::ClientError;
use vigil_core::annotation::{self, MAX_MARKS, MAX_TITLE_CHARS};
use vigil_core::event::micros;
use vigil_core::{Annotated, Annotation, AnnotationSummary};

use crate::console::Console;
use crate::error::UiError;
use crate::local::{Item, NewItem};
use crate::outbox::Outbox;

fn time(t: &DateTime<Utc>) -> String {
    micros::format(t)
}

fn from_micros(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or_default()
}

/// An annotation as the UI shows it: received by the store, or still in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnnotationView {
    /// Its id.
    pub id: Uuid,
    /// The entry.
    pub entry: Uuid,
    /// Who wrote it.
    pub author: String,
    /// When it was written.
    pub written_at: String,
    /// When the store received it; `None` while it waits in the outbox.
    pub received_at: Option<String>,
    /// The comment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Mark keys.
    pub marks: Vec<String>,
    /// The annotation it corrects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supersedes: Option<Uuid>,
    /// Its journal entry's seq, once received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal_seq: Option<u64>,
    /// Still in the outbox.
    pub pending: bool,
}

impl From<&Annotation> for AnnotationView {
    fn from(a: &Annotation) -> Self {
        AnnotationView {
            id: a.id,
            entry: a.entry,
            author: a.author.clone(),
            written_at: time(&a.written_at),
            received_at: Some(time(&a.received_at)),
            comment: a.comment.clone(),
            marks: a.marks.clone(),
            supersedes: a.supersedes,
            journal_seq: Some(a.journal_seq),
            pending: false,
        }
    }
}

/// The fields of an outbox body.
fn field<T: serde::de::DeserializeOwned>(body: &Value, name: &str) -> Option<T> {
    body.get(name)
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
}

/// A waiting annotation as the UI shows it.
fn pending_annotation(item: &Item) -> Option<AnnotationView> {
    Some(AnnotationView {
        id: field(&item.body, "id")?,
        entry: item.subject.parse().ok()?,
        author: item.user.clone(),
        written_at: time(&from_micros(item.written_at)),
        received_at: None,
        comment: field(&item.body, "comment"),
        marks: field(&item.body, "marks").unwrap_or_default(),
        supersedes: field(&item.body, "supersedes"),
        journal_seq: None,
        pending: true,
    })
}

/// What a query sees of an entry, counting annotations still in the outbox (so that a mark set
/// offline finds the entry offline too).
pub(crate) fn summary_with_pending(a: &Annotated, pending: &[AnnotationView]) -> AnnotationSummary {
    let mut all = a.annotations.clone();
    for (i, p) in pending.iter().enumerate() {
        all.push(Annotation {
            id: p.id,
            entry: p.entry,
            author: p.author.clone(),
            written_at: a.entry.received_at,
            received_at: a.entry.received_at,
            comment: p.comment.clone(),
            marks: p.marks.clone(),
            supersedes: p.supersedes,
            journal_seq: u64::MAX - 1_000_000 + i as u64,
        });
    }
    AnnotationSummary::of(&all, &a.incidents)
}

/// An incident as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentView {
    /// Its id.
    pub id: Uuid,
    /// Its number, once the store has it.
    pub number: Option<u64>,
    /// Its title.
    pub title: String,
    /// What it is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who opened it.
    pub author: String,
    /// When.
    pub written_at: String,
    /// When the store received it.
    pub received_at: Option<String>,
    /// `open` or `closed`.
    pub status: String,
    /// Pinned entries.
    pub entries: u64,
    /// Still in the outbox.
    pub pending: bool,
}

impl From<&Incident> for IncidentView {
    fn from(i: &Incident) -> Self {
        IncidentView {
            id: i.id,
            number: Some(i.number),
            title: i.title.clone(),
            description: i.description.clone(),
            author: i.author.clone(),
            written_at: time(&i.written_at),
            received_at: Some(time(&i.received_at)),
            status: i.status.as_str().into(),
            entries: i.entries,
            pending: false,
        }
    }
}

fn pending_incident(item: &Item) -> Option<IncidentView> {
    Some(IncidentView {
        id: field(&item.body, "id")?,
        number: None,
        title: field(&item.body, "title")?,
        description: field(&item.body, "description"),
        author: item.user.clone(),
        written_at: time(&from_micros(item.written_at)),
        received_at: None,
        status: "open".into(),
        entries: 0,
        pending: true,
    })
}

/// A note on an incident as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteView {
    /// Its id.
    pub id: Uuid,
    /// The incident.
    pub incident: Uuid,
    /// Who wrote it.
    pub author: String,
    /// When.
    pub written_at: String,
    /// When the store received it.
    pub received_at: Option<String>,
    /// The text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The status it set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Still in the outbox.
    pub pending: bool,
}

impl From<&IncidentNote> for NoteView {
    fn from(n: &IncidentNote) -> Self {
        NoteView {
            id: n.id,
            incident: n.incident,
            author: n.author.clone(),
            written_at: time(&n.written_at),
            received_at: Some(time(&n.received_at)),
            text: n.text.clone(),
            status: n.status.map(|s| s.as_str().into()),
            pending: false,
        }
    }
}

/// An entry pinned to an incident as the UI shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PinView {
    /// Its id.
    pub id: Uuid,
    /// The incident.
    pub incident: Uuid,
    /// The entry.
    pub entry: Uuid,
    /// Who pinned it.
    pub author: String,
    /// When.
    pub written_at: String,
    /// When the store received it.
    pub received_at: Option<String>,
    /// Still in the outbox.
    pub pending: bool,
}

impl From<&Pin> for PinView {
    fn from(p: &Pin) -> Self {
        PinView {
            id: p.id,
            incident: p.incident,
            entry: p.entry,
            author: p.author.clone(),
            written_at: time(&p.written_at),
            received_at: Some(time(&p.received_at)),
            pending: false,
        }
    }
}

/// An incident with its notes and pins.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetailView {
    /// The incident.
    pub incident: IncidentView,
    /// Notes, oldest first (waiting ones last).
    pub notes: Vec<NoteView>,
    /// Pins, in order (waiting ones last).
    pub pins: Vec<PinView>,
}

/// The answer of `annotate`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnnotateAnswer {
    /// The annotation (pending until the store has it).
    pub annotation: AnnotationView,
    /// The outbox after trying to send it.
    pub outbox: Outbox,
}

/// The answer of `open_incident`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Opened {
    /// The incident (pending until the store has it).
    pub incident: IncidentView,
    /// The outbox after trying to send it.
    pub outbox: Outbox,
}

/// The answer of `pin_entry` and `incident_note`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Queued {
    /// The outbox after trying to send it.
    pub outbox: Outbox,
}

impl Console {
    /// The signed-in user's waiting annotations for `server`, by entry id.
    pub(crate) fn pending_annotations(&self, server: &str) -> HashMap<String, Vec<AnnotationView>> {
        let mut out: HashMap<String, Vec<AnnotationView>> = HashMap::new();
        for item in self.my_items(server).unwrap_or_default() {
            if item.kind == "annotation" {
                if let Some(a) = pending_annotation(&item) {
                    out.entry(item.subject.clone()).or_default().push(a);
                }
            }
        }
        out
    }

    /// The marks catalog (kept for offline use).
    pub async fn marks(&self) -> Result<Vec<Mark>, UiError> {
        let (client, server) = self.client_and_server()?;
        match self.reach(client.marks().await).await? {
            Some(marks) => {
                self.local.keep(&server, "marks", &marks)?;
                Ok(marks)
            }
            None => Ok(self.local.kept(&server, "marks")?.unwrap_or_default()),
        }
    }

    /// Queues an annotation of entry `id` and tries to send it.
    pub async fn annotate(
        &self,
        id: &str,
        comment: Option<String>,
        marks: Option<Vec<String>>,
        supersedes: Option<String>,
    ) -> Result<AnnotateAnswer, UiError> {
        let (_, server) = self.client_and_server()?;
        let user = self.user_name().unwrap_or_default();
        let entry = Uuid::parse_str(id.trim())
            .map_err(|_| UiError::invalid(format!("{id:?} is not an entry id")))?;
        let comment = annotation::clean_comment(comment).map_err(UiError::invalid)?;
        let mut wanted: Vec<String> = Vec::new();
        for m in marks.unwrap_or_default() {
            if !wanted.contains(&m) {
                wanted.push(m);
            }
        }
        if comment.is_none() && wanted.is_empty() {
            return Err(UiError::invalid(
                "Write a comment or choose at least one mark.",
            ));
        }
        if wanted.len() > MAX_MARKS {
            return Err(UiError::invalid(format!(
                "At most {MAX_MARKS} marks on one annotation."
            )));
        }
        if let Some(catalog) = self.local.kept::<Vec<Mark>>(&server, "marks")? {
            if let Some(bad) = wanted
                .iter()
                .find(|m| !catalog.iter().any(|c| &c.key == *m))
            {
                let keys: Vec<&str> = catalog.iter().map(|c| c.key.as_str()).collect();
                return Err(UiError::invalid(format!(
                    "Unknown mark {bad:?}; the marks are: {}",
                    keys.join(", ")
                )));
            }
        }
        let supersedes = match supersedes.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(
                Uuid::parse_str(s)
                    .map_err(|_| UiError::invalid(format!("{s:?} is not an annotation id")))?,
            ),
        };
        let now = Utc::now();
        let written_at = DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now);
        let annotation_id = Uuid::now_v7();
        let body = json!({
            "id": annotation_id,
            "comment": comment,
            "marks": wanted,
            "supersedes": supersedes,
            "written_at": time(&written_at),
        });
        let about = match self.local.entry(&server, &entry.to_string())? {
            Some(a) => format!("{} by {}", a.entry.event.action, a.entry.event.actor.id),
            None => format!("entry {entry}"),
        };
        let summary = match (&comment, wanted.is_empty()) {
            (Some(_), true) => format!("Comment on {about}"),
            (None, false) => format!("Marks {} on {about}", wanted.join(", ")),
            _ => format!("Comment and marks {} on {about}", wanted.join(", ")),
        };
        let path = format!("v1/events/{entry}/annotations");
        let n = self.local.queue(
            &server,
            NewItem {
                user: &user,
                kind: "annotation",
                subject: &entry.to_string(),
                path: &path,
                body: &body,
                summary: &summary,
                written_at: written_at.timestamp_micros(),
            },
        )?;
        let item = Item {
            n,
            user: user.clone(),
            kind: "annotation".into(),
            subject: entry.to_string(),
            path,
            body,
            summary,
            written_at: written_at.timestamp_micros(),
            state: "waiting".into(),
            error: None,
        };
        let mut view = pending_annotation(&item).expect("built above");
        let outbox = self.flush_now().await?;
        if !outbox.items.iter().any(|i| i.n == n) {
            view.pending = false;
        }
        Ok(AnnotateAnswer {
            annotation: view,
            outbox,
        })
    }

    /// The incidents: ones waiting in the outbox first, then the store's (or the cached) list.
    pub async fn incidents(&self) -> Result<Vec<IncidentView>, UiError> {
        let (client, server) = self.client_and_server()?;
        let stored: Vec<Incident> = match self.reach(client.incidents().await).await? {
            Some(list) => {
                self.local.keep(&server, "incidents", &list)?;
                list
            }
            None => self.local.kept(&server, "incidents")?.unwrap_or_default(),
        };
        let mut out: Vec<IncidentView> = self
            .my_items(&server)?
            .iter()
            .filter(|i| i.kind == "incident")
            .filter_map(pending_incident)
            .filter(|p| !stored.iter().any(|s| s.id == p.id))
            .rev()
            .collect();
        out.extend(stored.iter().map(IncidentView::from));
        Ok(out)
    }

    /// One incident with its notes and pins (waiting ones included).
    pub async fn incident(&self, id: &str) -> Result<IncidentDetailView, UiError> {
        let (client, server) = self.client_and_server()?;
        let id = Uuid::parse_str(id.trim())
            .map_err(|_| UiError::invalid(format!("{id:?} is not an incident id")))?;
        let name = format!("incident:{id}");
        let fetched = match client.incident(&id.to_string()).await {
            Err(ClientError::Api { status: 404, .. }) => {
                self.mark_online(true);
                None
            }
            other => self.reach(other).await?,
        };
        let stored: Option<vigil_api::IncidentDetail> = match fetched {
            Some(d) => {
                self.local.keep(&server, &name, &d)?;
                Some(d)
            }
            None => self.local.kept(&server, &name)?,
        };
        let items = self.my_items(&server)?;
        let mut detail = match stored {
            Some(d) => IncidentDetailView {
                incident: IncidentView::from(&d.incident),
                notes: d.notes.iter().map(NoteView::from).collect(),
                pins: d.pins.iter().map(PinView::from).collect(),
            },
            None => {
                let pending = items
                    .iter()
                    .filter(|i| i.kind == "incident" && i.subject == id.to_string())
                    .find_map(pending_incident)
                    .ok_or_else(|| UiError::new("not_found", format!("incident {id} not found")))?;
                IncidentDetailView {
                    incident: pending,
                    notes: Vec::new(),
                    pins: Vec::new(),
                }
            }
        };
        for item in items.iter().filter(|i| i.subject == id.to_string()) {
            match item.kind.as_str() {
                "note" => {
                    let status: Option<String> = field(&item.body, "status");
                    if let Some(s) = &status {
                        detail.incident.status = s.clone();
                    }
                    detail.notes.push(NoteView {
                        id: field(&item.body, "id").unwrap_or_default(),
                        incident: id,
                        author: item.user.clone(),
                        written_at: time(&from_micros(item.written_at)),
                        received_at: None,
                        text: field(&item.body, "text"),
                        status,
                        pending: true,
                    });
                }
                "pin" => detail.pins.push(PinView {
                    id: field(&item.body, "id").unwrap_or_default(),
                    incident: id,
                    entry: field(&item.body, "entry").unwrap_or_default(),
                    author: item.user.clone(),
                    written_at: time(&from_micros(item.written_at)),
                    received_at: None,
                    pending: true,
                }),
                _ => {}
            }
        }
        Ok(detail)
    }

    /// Opens an incident (queued, then sent).
    pub async fn open_incident(
        &self,
        title: &str,
        description: Option<String>,
    ) -> Result<Opened, UiError> {
        let (_, server) = self.client_and_server()?;
        let user = self.user_name().unwrap_or_default();
        let title = title.trim();
        if title.is_empty() {
            return Err(UiError::invalid("Give the incident a title."));
        }
        if title.chars().count() > MAX_TITLE_CHARS {
            return Err(UiError::invalid(format!(
                "The title is over {MAX_TITLE_CHARS} characters."
            )));
        }
        let description = annotation::clean_comment(description).map_err(UiError::invalid)?;
        let now = written_now();
        let id = Uuid::now_v7();
        let body =
            json!({"id": id, "title": title, "description": description, "written_at": time(&now)});
        let n = self.local.queue(
            &server,
            NewItem {
                user: &user,
                kind: "incident",
                subject: &id.to_string(),
                path: "v1/incidents",
                body: &body,
                summary: &format!("Incident “{title}”"),
                written_at: now.timestamp_micros(),
            },
        )?;
        let outbox = self.flush_now().await?;
        let sent = !outbox.items.iter().any(|i| i.n == n);
        let incident = match sent {
            true => self
                .incident(&id.to_string())
                .await
                .map(|d| d.incident)
                .ok(),
            false => None,
        };
        let incident = incident.unwrap_or(IncidentView {
            id,
            number: None,
            title: title.into(),
            description,
            author: user,
            written_at: time(&now),
            received_at: None,
            status: "open".into(),
            entries: 0,
            pending: true,
        });
        Ok(Opened { incident, outbox })
    }

    /// Pins an entry to an incident (queued, then sent).
    pub async fn pin_entry(&self, incident: &str, entry: &str) -> Result<Queued, UiError> {
        let (_, server) = self.client_and_server()?;
        let user = self.user_name().unwrap_or_default();
        let incident = Uuid::parse_str(incident.trim())
            .map_err(|_| UiError::invalid(format!("{incident:?} is not an incident id")))?;
        let entry = Uuid::parse_str(entry.trim())
            .map_err(|_| UiError::invalid(format!("{entry:?} is not an entry id")))?;
        let now = written_now();
        let body = json!({"id": Uuid::now_v7(), "entry": entry, "written_at": time(&now)});
        let about = match self.local.entry(&server, &entry.to_string())? {
            Some(a) => format!("{} by {}", a.entry.event.action, a.entry.event.actor.id),
            None => format!("entry {entry}"),
        };
        self.local.queue(
            &server,
            NewItem {
                user: &user,
                kind: "pin",
                subject: &incident.to_string(),
                path: &format!("v1/incidents/{incident}/entries"),
                body: &body,
                summary: &format!("Pin {about} to an incident"),
                written_at: now.timestamp_micros(),
            },
        )?;
        Ok(Queued {
            outbox: self.flush_now().await?,
        })
    }

    /// Writes a note on an incident, closing or reopening it if `status` says so.
    pub async fn incident_note(
        &self,
        incident: &str,
        text: Option<String>,
        status: Option<String>,
    ) -> Result<Queued, UiError> {
        let (_, server) = self.client_and_server()?;
        let user = self.user_name().unwrap_or_default();
        let incident = Uuid::parse_str(incident.trim())
            .map_err(|_| UiError::invalid(format!("{incident:?} is not an incident id")))?;
        let text = annotation::clean_comment(text).map_err(UiError::invalid)?;
        let status = match status.as_deref() {
            None | Some("") => None,
            Some(s @ ("open" | "closed")) => Some(s.to_owned()),
            Some(s) => return Err(UiError::invalid(format!("status {s:?}: open or closed"))),
        };
        if text.is_none() && status.is_none() {
            return Err(UiError::invalid(
                "Write a note, or close or reopen the incident.",
            ));
        }
        let now = written_now();
        let body =
            json!({"id": Uuid::now_v7(), "text": text, "status": status, "written_at": time(&now)});
        let summary = match status.as_deref() {
            Some("closed") => "Close an incident",
            Some(_) => "Reopen an incident",
            None => "Note on an incident",
        };
        self.local.queue(
            &server,
            NewItem {
                user: &user,
                kind: "note",
                subject: &incident.to_string(),
                path: &format!("v1/incidents/{incident}/notes"),
                body: &body,
                summary,
                written_at: now.timestamp_micros(),
            },
        )?;
        Ok(Queued {
            outbox: self.flush_now().await?,
        })
    }
}

/// Now, to the microsecond (as the store keeps times).
fn written_now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}
