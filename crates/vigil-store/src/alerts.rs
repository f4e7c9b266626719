//! What a store keeps for alerting: the channels and rules managed through the API and CLI (as
//! JSON specs the server validates), the evaluation cursor, and the durable outbox of deliveries.
//!
//! The outbox's rules, which every backend keeps the same way:
//! - [`Store::record_matches`](crate::Store::record_matches) turns the matches of a stretch of the
//!   journal into deliveries and moves the cursor past that stretch in one transaction, so a
//!   crash either records both or neither (and the stretch is evaluated again).
//! - A rule with a window sends at most one message per window per channel: the first match
//!   goes at once, later ones join one digest due when the window ends.
//! - [`Store::claim_deliveries`](crate::Store::claim_deliveries) marks deliveries as being sent;
//!   [`Store::finish_delivery`](crate::Store::finish_delivery) records what the channel said. A
//!   delivery is `sent` only after the channel accepted it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How many of a digest's entries are kept by seq: the first in full and ten listed; the rest
/// are counted.
pub const DIGEST_KEPT: usize = 11;

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

/// What a delivery carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryKind {
    /// One entry.
    Event,
    /// The entries a throttled rule matched during one window.
    Digest,
    /// A test message asked for by a person.
    Test,
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    /// Not sent yet: due, waiting for its window, or waiting to be tried again.
    Pending,
    /// The channel accepted it.
    Sent,
    /// Given up on; `last_error` says why.
    Failed,
}

impl DeliveryStatus {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Sent => "sent",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl std::str::FromStr for DeliveryStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "pending" => Ok(DeliveryStatus::Pending),
            "sent" => Ok(DeliveryStatus::Sent),
            "failed" => Ok(DeliveryStatus::Failed),
            other => Err(format!(
                "unknown delivery status {other:?}: expected pending, sent or failed"
            )),
        }
    }
}

impl DeliveryKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Event => "event",
            DeliveryKind::Digest => "digest",
            DeliveryKind::Test => "test",
        }
    }
}

/// One message to one channel, and what became of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    /// Increasing.
    pub id: u64,
    /// The rule (empty for a test message).
    pub rule: String,
    /// The channel.
    pub channel: String,
    /// What it carries.
    pub kind: DeliveryKind,
    /// The journal entries it tells of, oldest first: for a digest, the first
    /// [`DIGEST_KEPT`] of them.
    pub seqs: Vec<u64>,
    /// How many entries it tells of (a digest may have more than it keeps).
    pub matches: u64,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// How many times sending was tried.
    pub attempts: u32,
    /// When it was first due (for a digest: the end of its window), or put back by hand.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub due_at: DateTime<Utc>,
    /// When it is tried next, while pending.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub next_at: DateTime<Utc>,
    /// What the channel said last time it refused or failed.
    pub last_error: Option<String>,
    /// When it was recorded.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// When the channel accepted it.
    #[serde(default, with = "optional_micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub sent_at: Option<DateTime<Utc>>,
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

/// Counts of deliveries by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryCounts {
    /// Not sent yet.
    pub pending: u64,
    /// Accepted by their channel.
    pub sent: u64,
    /// Given up on.
    pub failed: u64,
}

mod optional_micros {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&vigil_core::event::micros::format(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|s| {
                DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(serde::de::Error::custom)
            })
            .transpose()
    }
}
