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

use crate::DeliveryStatus;

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
