//! The journal's entries about Vigil itself (section `vigil`): sign-ins, searches, exports,
//! annotations, incidents, marks, accounts, alert changes, the store's start and stop. Every
//! one is built here, by [`OwnEntry`]; the person acting is the actor, and they go under the
//! same hash chain as every other entry.

use chrono::{DateTime, Utc};
use serde_json::Value;
use vigil_core::{Actor, ActorKind, Change, Event, Kind, Outcome, Severity, Target};

/// The section of Vigil's own entries.
pub const SECTION: &str = "vigil";

/// The sender of Vigil's own entries (an ingest key's name may not start with `vigil`).
pub const SENDER: &str = "vigil";

/// The sender of `vigil demo`'s entries.
pub const DEMO_SENDER: &str = "vigil-demo";

/// The actions of Vigil's entries that record someone signing in or out or reading (rather than
/// changing anything): what a count of changes leaves out.
pub const READING: [&str; 4] = ["auth.login", "auth.logout", "journal.search", "entry.open"];

/// A staff member acting in Vigil (a signed-in user, or `--by` on the command line).
pub fn staff(name: &str) -> Actor {
    Actor {
        id: name.to_owned(),
        name: None,
        role: None,
        kind: Some(ActorKind::Staff),
    }
}

/// The store itself, as the actor of its start and stop.
pub fn system() -> Actor {
    Actor {
        id: "vigil".into(),
        name: None,
        role: None,
        kind: Some(ActorKind::System),
    }
}

/// An entry of Vigil's own, built step by step: by default a success of severity info, with
/// no target and no details.
///
/// ```
/// use vigil_server::service::OwnEntry;
/// let at = chrono::Utc::now();
/// let e = OwnEntry::by_staff(at, "alice", "user.create", vigil_core::Kind::Rights)
///     .on("user", "bob", None)
///     .details(serde_json::json!({"roles": ["viewer"]}))
///     .build();
/// assert_eq!((e.section.as_str(), e.actor.id.as_str()), ("vigil", "alice"));
/// assert_eq!(e.target.unwrap().id, "bob");
/// ```
#[derive(Debug, Clone)]
pub struct OwnEntry(Event);

impl OwnEntry {
    /// `action` of `kind`, by `by`, at `at`.
    pub fn new(at: DateTime<Utc>, by: &Actor, action: &str, kind: Kind) -> Self {
        OwnEntry(Event {
            id: uuid::Uuid::now_v7(),
            occurred_at: at,
            actor: by.clone(),
            on_behalf_of: None,
            action: action.into(),
            kind,
            section: SECTION.into(),
            severity: Severity::Info,
            outcome: Outcome::Success,
            target: None,
            changes: None,
            ip: None,
            user_agent: None,
            session_id: None,
            request_id: None,
            correlation_id: None,
            reason: None,
            details: None,
            source_seq: None,
            stream: None,
            sender: Some(SENDER.into()),
        })
    }

    /// `action` of `kind` by the staff member `name`, at `at`.
    pub fn by_staff(at: DateTime<Utc>, name: &str, action: &str, kind: Kind) -> Self {
        Self::new(at, &staff(name), action, kind)
    }

    /// With the address and user agent the request came from.
    pub fn from_client(mut self, client: &super::caller::ClientInfo) -> Self {
        self.0.ip = client.ip;
        self.0.user_agent = client.user_agent.clone();
        self
    }

    /// On this target.
    pub fn on(mut self, kind: &str, id: impl Into<String>, name: Option<String>) -> Self {
        self.0.target = Some(Target {
            kind: kind.into(),
            id: id.into(),
            name,
        });
        self
    }

    /// With these details, if they are a JSON object.
    pub fn details(mut self, details: Value) -> Self {
        self.0.details = match details {
            Value::Object(map) => Some(map),
            _ => None,
        };
        self
    }

    /// With these changes (before and after).
    pub fn changes(mut self, changes: Vec<Change>) -> Self {
        self.0.changes = Some(changes);
        self
    }

    /// With this outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.0.outcome = outcome;
        self
    }

    /// With this severity.
    pub fn severity(mut self, severity: Severity) -> Self {
        self.0.severity = severity;
        self
    }

    /// With this id (one announced before the entry is written, as an export's).
    pub fn id(mut self, id: uuid::Uuid) -> Self {
        self.0.id = id;
        self
    }

    /// The entry.
    pub fn build(self) -> Event {
        self.0
    }
}
