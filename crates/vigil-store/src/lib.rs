//! The storage contract of the Vigil audit store: the traits every backend (SQLite, PostgreSQL)
//! implements, the types they speak, and (feature `conformance`) the suite every backend must
//! pass, so that they behave the same.
//!
//! A store comes in five parts, which a backend implements one by one and the conformance suite
//! checks one by one:
//!
//! | part | trait | what it keeps |
//! |---|---|---|
//! | [`journal`] | [`JournalStore`] | the append-only journal under its hash chain, and every way of reading it |
//! | [`accounts`] | [`AccountStore`] | users, custom roles, sessions, ingest keys, sign-in locks |
//! | [`annotations`] | [`AnnotationStore`] | annotations, the marks catalog, incidents with their notes and pins |
//! | [`alerts`] | [`AlertStore`] | stored channels and rules, the rules' cursor, the outbox of deliveries |
//! | [`senders`] | [`SenderStore`] | who sends, how much, and the numbers of theirs that never arrived |
//!
//! [`Store`] is all five, what the server holds (`Arc<dyn Store>`). Every change to accounts,
//! annotations or the alert setup takes the journal entry that tells of it and writes both in
//! one transaction: a change is never made without its record, nor recorded without being made.
#![forbid(unsafe_code)]

pub mod accounts;
pub mod alerts;
pub mod annotations;
mod error;
pub mod journal;
pub mod senders;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use accounts::{
    AccountChange, AccountStore, IngestKey, Lockout, LockoutPolicy, NewKey, NewSession, NewUser,
    RoleRecord, Session, User,
};
pub use alerts::{
    AlertItem, AlertItemChange, AlertItemKind, AlertMatch, AlertStore, Attempt, DeliveryFilter,
    QueuedDelivery, DIGEST_KEPT, QUEUED_ACTION, QUEUED_PER_RECORD,
};
pub use annotations::{
    default_marks, AnnotationStore, EntryAnnotations, IncidentKey, MarkChange, NewAnnotation,
    NewIncident, NewIncidentNote, NewPin, Written,
};
pub use error::StoreError;
pub use journal::{utc, Cursor, FacetRequest, JournalStore, Page, Search, TimelineRequest, Visit};
pub use senders::{GapEvent, GapNews, SenderActivity, SenderStore, Silence};
/// The records a store keeps that travel on the wire as they are: the API's types.
pub use vigil_api::{
    Appended, Bucket, BucketPlan, Delivery, DeliveryCounts, DeliveryKind, DeliveryStatus,
    FacetField, FacetValue, Facets, Freshness, Gap, Incident, IncidentNote, IncidentStatus, Mark,
    Order, Pin, SenderReport, StreamReport, Timeline, UserSummary,
};

/// A whole store: the journal, accounts, annotations and alerting. Implemented by every type
/// that implements the four parts; shared as `Arc<dyn Store>`.
pub trait Store: JournalStore + AccountStore + AnnotationStore + AlertStore + SenderStore {}

impl<T: JournalStore + AccountStore + AnnotationStore + AlertStore + SenderStore> Store for T {}
