//! Who sends to the store and whether everything they numbered arrived (`GET /v1/senders`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One sender: an ingest key's name (`vigil` for the store's own entries, `vigil-demo` for
/// `vigil demo`'s), with what it sent and the numbers that never arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SenderReport {
    /// The sender's name.
    pub name: String,
    /// When its first entry was received (since schema 10).
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub first_at: DateTime<Utc>,
    /// When its newest entry was received.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_at: DateTime<Utc>,
    /// The journal seq of its newest entry.
    pub last_entry: u64,
    /// Entries received from it.
    pub events: u64,
    /// Entries per hour lately: those received this clock hour, plus the previous hour's in
    /// proportion to the part of it within the last 60 minutes.
    pub per_hour: u64,
    /// While it is reported silent: the journal entry that said so (`sender.silent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silent_in: Option<u64>,
    /// Its numberings (events sent with `source_seq`), by stream: at most 100, those with
    /// gaps first, then by name.
    pub streams: Vec<StreamReport>,
    /// How many more streams it has than are listed.
    #[serde(default)]
    pub more_streams: u64,
}

/// One numbering of a sender: the `source_seq` of its events in one `stream`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StreamReport {
    /// The stream's name; absent for the sender's one numbering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// The lowest number received.
    pub low: u64,
    /// The highest number received.
    pub high: u64,
    /// Events received with a number of this stream.
    pub events: u64,
    /// Numbers received again under another event id (a sender that counted again without
    /// naming a new stream, or sent two events under one number). A re-sent event (same id) is
    /// a duplicate, not a repeat.
    pub repeats: u64,
    /// The last number received again, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_repeat: Option<u64>,
    /// How many numbers between `low` and `high` never arrived.
    pub missing: u64,
    /// The ranges of numbers that never arrived, oldest first (at most 1,000).
    pub gaps: Vec<Gap>,
}

/// A range of numbers that never arrived.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Gap {
    /// The first missing number.
    pub first: u64,
    /// The last missing number.
    pub last: u64,
    /// When the store first saw it (a number after it arrived).
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub opened_at: DateTime<Utc>,
    /// The journal entry that reported it, once it stayed open past the grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_in: Option<u64>,
}
