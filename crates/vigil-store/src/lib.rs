//! The storage contract of the Vigil audit store: the [`Store`] trait that every backend
//! (SQLite, PostgreSQL) implements, the types it speaks, and (feature `conformance`) the suite
//! that every backend must pass, so that they behave the same.
//!
//! The journal is append-only: a store appends events atomically per batch, assigns `seq`,
//! `received_at` and the chain `hash`, reports re-sent ids as duplicates, and answers searches,
//! timelines and facets for a [`vigil_core::Query`].
#![forbid(unsafe_code)]

pub mod alerts;
pub mod notes;
mod types;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use alerts::{AlertItem, AlertItemKind, AlertMatch, Attempt, DeliveryFilter, DIGEST_KEPT};
pub use notes::{
    default_marks, EntryNotes, IncidentKey, MarkChange, NewAnnotation, NewIncident,
    NewIncidentNote, NewPin, Written,
};
pub use types::*;
/// The records a store keeps that travel on the wire as they are: the API's types.
pub use vigil_api::{
    Appended, Bucket, BucketPlan, Delivery, DeliveryCounts, DeliveryKind, DeliveryStatus,
    FacetField, FacetValue, Facets, Incident, IncidentNote, IncidentStatus, Mark, Order, Pin,
    Timeline, UserSummary,
};

use async_trait::async_trait;
use vigil_core::{Annotation, Event, StoredEvent};

/// What a storage backend can do. Implementations are cheap to share (`Arc<dyn Store>`).
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Appends a batch atomically, durably (on disk when this returns `Ok`). Ids already stored
    /// with the same content come back as duplicates; an id stored with other content is a
    /// [`StoreError::Conflict`] and nothing of the batch is stored.
    async fn append(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError>;

    /// Appends entries that record reading (a search, an opened entry): durable and chained
    /// like any other, but searches need not wait for the index to hold them, so a search does
    /// not wait for the trace of the one before.
    async fn append_trace(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        self.append(events).await
    }

    /// One entry by id.
    async fn event(&self, id: uuid::Uuid) -> Result<StoredEvent, StoreError>;

    /// A page of matching entries in the requested order, with a cursor for the next page.
    async fn search(&self, search: &Search) -> Result<Page, StoreError>;

    /// The `(occurred_at µs, seq)` of every matching entry whose occurred_at is in
    /// `[from, to)`, in no particular order. Exports read a large result with it, slice by
    /// slice, and fetch the entries with [`Store::entries`].
    async fn keys(
        &self,
        query: &vigil_core::Query,
        tz: chrono::FixedOffset,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// Whole entries for these seqs, in this order; `NotFound` if one is not stored.
    async fn entries(&self, seqs: Vec<u64>) -> Result<Vec<StoredEvent>, StoreError>;

    /// Counts of matching entries per time bucket.
    async fn timeline(&self, request: &TimelineRequest) -> Result<Timeline, StoreError>;

    /// The most frequent values of a field among matching entries.
    async fn facets(&self, request: &FacetRequest) -> Result<Facets, StoreError>;

    /// Entries in seq order starting at `from_seq`, at most `limit` (for verification).
    async fn scan(&self, from_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The last seq the search index answers for, for backends that keep one (`None` if the
    /// backend has none or this process opened the journal alone).
    fn indexed(&self) -> Option<u64> {
        None
    }

    /// The last entry's seq and hash, if any.
    async fn head(&self) -> Result<Option<(u64, String)>, StoreError>;

    /// Creates a user; `Conflict` if the name is taken.
    async fn add_user(&self, user: &NewUser) -> Result<(), StoreError>;

    /// How many users exist (the first start tells how to create the first admin).
    async fn count_users(&self) -> Result<u64, StoreError>;

    /// A user by name.
    async fn user(&self, name: &str) -> Result<User, StoreError>;

    /// Records a session token (by its hash).
    async fn add_session(&self, session: &NewSession) -> Result<(), StoreError>;

    /// A session by token hash, with its user.
    async fn session(&self, token_hash: &[u8]) -> Result<Session, StoreError>;

    /// Revokes a session (signing out), with `journal`, in one transaction.
    async fn revoke_session(
        &self,
        token_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// Changes users, roles or ingest keys, with `journal` (the entry that tells of it), in
    /// one transaction.
    async fn change_accounts(
        &self,
        change: AccountChange,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// Every user, by name.
    async fn users(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<UserSummary>, StoreError>;

    /// Every custom role, by name.
    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError>;

    /// Creates an ingest key (by its hash); `Conflict` if the name is taken.
    async fn add_key(&self, key: &NewKey) -> Result<(), StoreError>;

    /// An ingest key by hash.
    async fn key(&self, key_hash: &[u8]) -> Result<IngestKey, StoreError>;

    /// Every ingest key, by name.
    async fn ingest_keys(&self) -> Result<Vec<IngestKey>, StoreError>;

    /// Revokes an ingest key, with `journal` (the entry that tells of it), in one transaction;
    /// `NotFound` if there is none by that name, `Conflict` if it is already revoked.
    async fn revoke_key(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// Revokes every live session of a user, with `journal`, in one transaction: how many;
    /// `NotFound` if there is no such user.
    async fn revoke_user_sessions(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<u64, StoreError>;

    /// Records a failed sign-in for `name` with its journal entry; when `policy` says so, locks
    /// the name and appends `lockout` too, all in one transaction.
    async fn sign_in_failed(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        policy: LockoutPolicy,
        journal: Event,
        lockout: Event,
    ) -> Result<Lockout, StoreError>;

    /// When the name's lock ends, if one holds at `at`.
    async fn locked_until(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError>;

    /// A good password for `name`: if a lock holds at `at` (set by failures checked at the same
    /// time), when it ends, and nothing changes; else its failures are forgotten, `session` is
    /// recorded and `journal` appended, in one transaction, and `None`.
    async fn sign_in_succeeded(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        session: NewSession,
        journal: Event,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError>;

    /// Lifts a name's lock and forgets its failures, appending `journal` if a lock held, in
    /// one transaction: whether one held.
    async fn unlock_sign_in(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<bool, StoreError>;

    // Alerting: see [`alerts`] for the outbox's rules.

    /// The channels or rules stored through the API and CLI, by name.
    async fn alert_items(&self, kind: AlertItemKind) -> Result<Vec<AlertItem>, StoreError>;

    /// Stores a channel or rule; `Conflict` if the name is taken.
    async fn add_alert_item(&self, kind: AlertItemKind, item: &AlertItem)
        -> Result<(), StoreError>;

    /// Removes a channel or rule; `NotFound` if there is none by that name.
    async fn remove_alert_item(&self, kind: AlertItemKind, name: &str) -> Result<(), StoreError>;

    /// The last seq the alert rules were evaluated on; `None` before the first evaluation.
    async fn alert_cursor(&self) -> Result<Option<u64>, StoreError>;

    /// Records the matches of the entries up to `through` as deliveries (scheduled from `now`)
    /// and moves the cursor to `through`, in one transaction.
    async fn record_matches(
        &self,
        through: u64,
        matches: Vec<AlertMatch>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError>;

    /// Records a test message to `channel`, already claimed for sending.
    async fn start_test_delivery(
        &self,
        channel: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, StoreError>;

    /// Claims up to `limit` pending deliveries due at `now`, oldest due first, and no more than
    /// leaves `per_channel` claimed for one channel (so a slow channel cannot hold up the
    /// others): each counts one more attempt and is not claimed again until finished or
    /// released.
    async fn claim_deliveries(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
        per_channel: usize,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// Records what became of a claimed delivery's attempt.
    async fn finish_delivery(&self, id: u64, attempt: Attempt) -> Result<(), StoreError>;

    /// Makes claimed deliveries claimable again (a process that claimed them stopped before
    /// finishing), except test messages, which fail (they are sent while someone waits, never
    /// later): how many were released.
    async fn release_deliveries(&self) -> Result<u64, StoreError>;

    /// When the soonest pending, unclaimed delivery is due, among channels with fewer than
    /// `per_channel` claimed (the others' wait for their claims to finish, not for a time).
    async fn next_delivery_due(
        &self,
        per_channel: usize,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError>;

    /// Deliveries, newest first.
    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError>;

    /// How many deliveries are in each status.
    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError>;

    // What investigators add: see [`notes`]. Each write stores its record and `journal` (the
    // entry that tells of it) in one transaction; a replay (same id, same content) stores
    // neither, the same id with other content is a `Conflict`.

    /// The marks catalog, in the order marks were added.
    async fn marks(&self) -> Result<Vec<Mark>, StoreError>;

    /// Changes the marks catalog.
    async fn change_mark(&self, change: MarkChange, journal: Event) -> Result<(), StoreError>;

    /// Stores an annotation: `NotFound` for an unknown entry, `Invalid` for a mark not in the
    /// catalog or a `supersedes` that is not an annotation of the same entry.
    async fn annotate(
        &self,
        annotation: NewAnnotation,
        journal: Event,
    ) -> Result<(Annotation, Written), StoreError>;

    /// An entry's annotations, oldest first; `NotFound` for an unknown entry.
    async fn annotations(&self, entry: uuid::Uuid) -> Result<Vec<Annotation>, StoreError>;

    /// The annotations and incidents of these entries (by seq; entries with none left out).
    async fn entry_notes(
        &self,
        seqs: Vec<u64>,
    ) -> Result<std::collections::HashMap<u64, EntryNotes>, StoreError>;

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

    /// Puts a failed delivery back in the outbox, due at `now` (its `due_at` too, so that
    /// giving up counts from then); `NotFound` if there is none by that id, `Conflict` if it is
    /// not failed or is a test message.
    async fn retry_delivery(
        &self,
        id: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, StoreError>;
}
