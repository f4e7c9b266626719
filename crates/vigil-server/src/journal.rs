//! The journal's entries about Vigil itself (section `vigil`): exports, annotations, incidents,
//! marks, alert changes. The person acting is the actor; they go under the same hash chain as
//! every other entry.

use chrono::{DateTime, Utc};
use serde_json::Value;
use vigil_core::{Actor, ActorKind, Event, Kind, Outcome, Severity, Target};

/// The section of Vigil's own entries.
pub const SECTION: &str = "vigil";

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

/// A target of a Vigil entry.
pub fn target(kind: &str, id: impl Into<String>, name: Option<String>) -> Target {
    Target {
        kind: kind.into(),
        id: id.into(),
        name,
    }
}

/// A successful action in section `vigil`, at `at`, by `by`, on `target`; `details` if it is
/// a JSON object.
pub fn entry(
    at: DateTime<Utc>,
    by: &Actor,
    action: &str,
    kind: Kind,
    target: Target,
    details: Value,
) -> Event {
    Event {
        id: uuid::Uuid::now_v7(),
        occurred_at: at,
        actor: by.clone(),
        action: action.into(),
        kind,
        section: SECTION.into(),
        severity: Severity::Info,
        outcome: Outcome::Success,
        target: Some(target),
        changes: None,
        ip: None,
        user_agent: None,
        session_id: None,
        request_id: None,
        reason: None,
        details: match details {
            Value::Object(map) => Some(map),
            _ => None,
        },
    }
}
