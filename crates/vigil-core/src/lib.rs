//! Vigil's core: the event model and its validation, the query language, full-text folding and
//! the hash chain. No IO: the store, the server, the console and the exports all build on it.
//!
//! ```
//! use vigil_core::{query::Query, validate::event_from_json};
//! let event = event_from_json(&serde_json::json!({
//!     "occurred_at": "2026-11-26T14:03:07.123456+01:00",
//!     "actor": {"id": "m.dupont"}, "action": "bonus.create", "kind": "create", "section": "bonuses",
//!     "reason": "Geste commercial, à la demande du joueur"
//! }), uuid::Uuid::now_v7).unwrap();
//! let q: Query = "section:bonuses demande".parse().unwrap();
//! assert!(q.matches(&event, &chrono::Utc));
//! ```
#![forbid(unsafe_code)]

pub mod annotation;
pub mod chain;
pub mod checkpoint;
pub mod event;
pub mod json;
pub mod merkle;
pub mod query;
pub mod rights;
pub mod seal;
pub mod text;
pub mod validate;

pub use annotation::{Annotated, Annotation, AnnotationSummary, IncidentRef};
pub use event::{
    Actor, ActorKind, Change, EntryView, Event, Kind, Outcome, Principal, Severity, StoredEvent,
    Target, ViewParts,
};
pub use query::{Query, QueryError};
