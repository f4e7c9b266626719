//! Alerting on the wire: channels and rules as answers show them, new rules, and the outbox's
//! deliveries.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::time::optional_micros;

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
    /// A signed checkpoint, published as it is signed (`[integrity] publish`); its `seqs`
    /// holds the checkpoint's size.
    Checkpoint,
}

impl DeliveryKind {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Event => "event",
            DeliveryKind::Digest => "digest",
            DeliveryKind::Test => "test",
            DeliveryKind::Checkpoint => "checkpoint",
        }
    }
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
    /// The journal entries it tells of, oldest first: for a digest, the first few of them
    /// (the store keeps a bounded number; `matches` counts them all).
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
    /// The journal entry that recorded the rule's match that made it (`alert.delivery.queue`);
    /// 0 for a test message, a checkpoint's, or one queued before the journal recorded them.
    #[serde(default)]
    pub journal_seq: u64,
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

/// A page of deliveries and the outbox's counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryList {
    /// Newest first.
    pub deliveries: Vec<Delivery>,
    /// Pass as `before` for the next page; null on the last page.
    pub next_before: Option<u64>,
    /// Every delivery by status.
    pub counts: DeliveryCounts,
}

/// Which deliveries to list (`GET /v1/alerts/deliveries`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct DeliveryParams {
    /// `pending`, `sent` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = DeliveryStatus, inline))]
    pub status: Option<String>,
    /// Only this rule's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String))]
    pub rule: Option<String>,
    /// Only this channel's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String))]
    pub channel: Option<String>,
    /// Only ids below this (the previous page's `next_before`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = u64, maximum = 9223372036854775807_u64))]
    pub before: Option<u64>,
    /// 1 to 500 [default: 50].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = usize, minimum = 1, maximum = 500))]
    pub limit: Option<usize>,
}

/// Where a channel or rule was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `vigil.toml`: changed by editing the file and restarting.
    Config,
    /// The API or CLI: stored in the journal's database.
    Api,
    /// Built in (the default rule).
    Builtin,
}

/// A channel as answers show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelView {
    /// Its name.
    pub name: String,
    /// `email`, `telegram`, `slack` or `webhook`, and its settings; secrets show where they
    /// come from (`{"env": …}`, `{"file": …}`) or `(set)`, never their value.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    #[serde(deserialize_with = "vigil_core::json::value")]
    pub spec: serde_json::Value,
    /// `config` (vigil.toml) or `api`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: Source,
}

/// A rule as answers show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// Its name.
    pub name: String,
    /// The query.
    pub q: String,
    /// The channels it sends to (every channel when it names none).
    pub channels: Vec<String>,
    /// At most one message per this many minutes per channel (absent: one per match).
    pub window_minutes: Option<u32>,
    /// `builtin`, `config` or `api`.
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub source: Source,
}

/// The channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChannelList {
    /// By name.
    pub channels: Vec<ChannelView>,
}

/// The rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RuleList {
    /// The built-in rule (if on), then the others by name.
    pub rules: Vec<RuleView>,
}

/// A new rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRule {
    /// 1 to 64 of a-z, 0-9, '.', '_', '-'.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z0-9][a-z0-9._-]{0,63}$"))]
    pub name: String,
    /// The query, e.g. `action:withdrawal.cancel`.
    pub q: String,
    /// Channel names; none: every channel.
    #[serde(default)]
    pub channels: Vec<String>,
    /// At most one message per this many minutes (1 to 1440) per channel, with a digest of the
    /// rest; absent: one message per match.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 1440))]
    pub window_minutes: Option<u32>,
}
