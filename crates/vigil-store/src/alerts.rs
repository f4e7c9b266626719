//! What a store keeps for alerting: the channels and rules managed through the API and CLI (as
//! JSON specs the server validates), the evaluation cursor, and the durable outbox of deliveries.
//! The trait is [`AlertStore`].
//!
//! The outbox's rules, which every backend keeps the same way:
//! - [`Store::record_matches`](AlertStore::record_matches) turns the matches of a stretch of the
//!   journal into deliveries and moves the cursor past that stretch in one transaction, so a
//!   crash either records both or neither (and the stretch is evaluated again).
//! - A rule with a window sends at most one message per window per channel: the first match
//!   goes at once, later ones join one digest due when the window ends.
//! - [`Store::claim_deliveries`](AlertStore::claim_deliveries) marks deliveries as being sent;
//!   [`Store::finish_delivery`](AlertStore::finish_delivery) records what the channel said. A
//!   delivery is `sent` only after the channel accepted it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vigil_core::Event;

use crate::{Delivery, DeliveryCounts, DeliveryStatus, StoreError};

/// The alerting part of a store.
#[async_trait]
pub trait AlertStore: Send + Sync + 'static {
    /// The channels or rules stored through the API and CLI, by name.
    async fn alert_items(&self, kind: AlertItemKind) -> Result<Vec<AlertItem>, StoreError>;

    /// Stores or removes a channel or rule, with `journal` (the entry that tells of it), in one
    /// transaction: `Conflict` if a name to add is taken, `NotFound` if there is none to remove.
    async fn change_alert_item(
        &self,
        change: AlertItemChange,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// The last seq the alert rules were evaluated on; `None` before the first evaluation.
    async fn alert_cursor(&self) -> Result<Option<u64>, StoreError>;

    /// Records the matches of the entries up to `through` as deliveries (scheduled from `now`)
    /// and moves the cursor to `through`, in one transaction. When there are matches, the same
    /// transaction appends `record` to the journal (once per [`QUEUED_PER_RECORD`] matches, each
    /// after the first with an id of its own), its details `through` and `deliveries`: for each
    /// match, the delivery it made or `joined` (see [`QueuedDelivery`]); each delivery it made
    /// names that entry as its `journal_seq`.
    async fn record_matches(
        &self,
        through: u64,
        matches: Vec<AlertMatch>,
        now: DateTime<Utc>,
        record: Event,
    ) -> Result<(), StoreError>;

    /// Records a test message to `channel`, already claimed for sending.
    async fn start_test_delivery(
        &self,
        channel: &str,
        now: DateTime<Utc>,
    ) -> Result<Delivery, StoreError>;

    /// Claims up to `limit` pending deliveries due at `now`, oldest due first, and no more than
    /// leaves `per_channel` claimed for one channel (so a slow channel cannot hold up the
    /// others): each counts one more attempt and is not claimed again until finished or
    /// released.
    async fn claim_deliveries(
        &self,
        now: DateTime<Utc>,
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
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// One delivery; `NotFound` if there is none by that id.
    async fn delivery(&self, id: u64) -> Result<Delivery, StoreError>;

    /// Deliveries, newest first.
    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError>;

    /// How many deliveries are in each status.
    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError>;

    /// Puts a failed delivery back in the outbox, due at `now` (its `due_at` too, so that
    /// giving up counts from then), with `journal` (the entry that tells of it), in one
    /// transaction; `NotFound` if there is none by that id, `Conflict` if it is not failed or
    /// is a test message.
    async fn retry_delivery(
        &self,
        id: u64,
        now: DateTime<Utc>,
        journal: Event,
    ) -> Result<Delivery, StoreError>;
}

/// How many of a digest's entries are kept by seq: the first in full and ten listed; the rest
/// are counted.
pub const DIGEST_KEPT: usize = 11;

/// The most matches one journal entry of [`AlertStore::record_matches`] records.
pub const QUEUED_PER_RECORD: usize = 500;

/// The action of the journal entries that record what the alert rules queued.
pub const QUEUED_ACTION: &str = "alert.delivery.queue";

/// One match as the journal records it (an element of the `deliveries` of a
/// [`QUEUED_ACTION`] entry's details): the delivery it made, or the digest it joined.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct QueuedDelivery {
    /// The delivery's id.
    pub delivery: u64,
    /// The rule that matched.
    pub rule: String,
    /// The channel it goes to.
    pub channel: String,
    /// `event` or `digest`.
    pub kind: String,
    /// The entry matched.
    pub entry: u64,
    /// Whether it joined a digest made earlier (rather than make the delivery).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub joined: bool,
}

/// Channels or rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertItemKind {
    /// Where messages go.
    Channel,
    /// What to send, and to which channels.
    Rule,
}

impl AlertItemKind {
    /// `channel` or `rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertItemKind::Channel => "channel",
            AlertItemKind::Rule => "rule",
        }
    }
}

/// A channel or rule as stored: its name and its spec (JSON the server validates).
#[derive(Debug, Clone, PartialEq)]
pub struct AlertItem {
    /// Unique among items of its kind.
    pub name: String,
    /// The spec, as JSON text.
    pub spec: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Who created it.
    pub created_by: String,
}

/// A change to the stored channels or rules.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertItemChange {
    /// A new channel or rule; `Conflict` if the name is taken.
    Add(AlertItemKind, AlertItem),
    /// Removes a channel or rule by name; `NotFound` if there is none.
    Remove(AlertItemKind, String),
}

/// One rule matched one entry, for one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertMatch {
    /// The rule's name.
    pub rule: String,
    /// The channel's name.
    pub channel: String,
    /// The journal entry.
    pub seq: u64,
    /// `None`: a message per match. `Some(w)`: at most one message per `w`.
    pub window: Option<chrono::Duration>,
}

/// What became of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Attempt {
    /// The channel accepted the message at this time.
    Sent(DateTime<Utc>),
    /// It failed; try again at `retry_at`, or give up if `None`.
    Failed {
        /// What went wrong (no secrets in it).
        error: String,
        /// When to try again.
        retry_at: Option<DateTime<Utc>>,
    },
}

/// Which deliveries to list, newest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeliveryFilter {
    /// Only these.
    pub status: Option<DeliveryStatus>,
    /// Only this rule's.
    pub rule: Option<String>,
    /// Only this channel's.
    pub channel: Option<String>,
    /// Only ids below this (paging).
    pub before_id: Option<u64>,
    /// At most this many.
    pub limit: usize,
}
