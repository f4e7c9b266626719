//! The journal on the wire: ingest answers, pages of entries, timelines, facets, health, and
//! the parameters of searches, timelines, facets, live tails and exports.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use vigil_core::Annotated;

/// The header of an export's answer that names the journal entry recording it (its details
/// hold the export's About once the body is complete).
pub const EXPORT_ENTRY_HEADER: &str = "vigil-export-entry";
/// The header of an export's answer that says how many entries matched when it started.
pub const EXPORT_ROWS_HEADER: &str = "vigil-export-rows";

/// The outcome of one appended event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Appended {
    /// The event's id (chosen by the server when the sender gave none).
    pub id: uuid::Uuid,
    /// Its position in the journal.
    pub seq: u64,
    /// Its chain hash.
    pub hash: String,
    /// It was already stored; nothing was written.
    pub duplicate: bool,
}

/// The answer to an ingest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestAnswer {
    /// Events newly stored.
    pub accepted: usize,
    /// Events already stored (same id, same content): not stored again.
    pub duplicates: usize,
    /// One per event sent, in order.
    pub results: Vec<Appended>,
}

/// A page of entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    /// Entries in the requested order, with their annotations and incidents.
    pub events: Vec<Annotated>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
    /// How far the search index that answered was behind the journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

/// How far the search index that made an answer was behind the journal when it answered:
/// entries stored after `indexed` are not in the answer yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Freshness {
    /// The last seq the answer covers.
    pub indexed: u64,
    /// The journal's last seq when the answer was made.
    pub journal: u64,
    /// Entries stored but not in the answer: `journal - indexed`.
    pub behind_entries: u64,
    /// How long ago the oldest of them was stored, in milliseconds (0 when none).
    pub behind_ms: u64,
    /// The index is being built from the journal (it was missing, stale or far behind); until
    /// it is done, answers cover only the entries up to `indexed`.
    pub rebuilding: bool,
}

/// In which order a search returns entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Newest first by occurred_at, then seq.
    #[default]
    Newest,
    /// Oldest first.
    Oldest,
}

impl Order {
    /// The name used on the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Order::Newest => "newest",
            Order::Oldest => "oldest",
        }
    }
}

/// A histogram of matching entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timeline {
    /// Start of the first bucket.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub from: DateTime<Utc>,
    /// End of the last bucket (exclusive).
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub to: DateTime<Utc>,
    /// Width of each bucket.
    pub interval_seconds: i64,
    /// The buckets, oldest first, including empty ones.
    pub buckets: Vec<Bucket>,
    /// How far the search index that answered was behind the journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

/// One bucket of a timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Bucket {
    /// Its start.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub start: DateTime<Utc>,
    /// Matching entries in it.
    pub count: u64,
    /// Of which critical.
    pub critical: u64,
}

/// Readable bucket widths, in seconds.
const INTERVALS: &[i64] = &[
    1,
    5,
    15,
    30,
    60,
    300,
    900,
    1800,
    3600,
    3 * 3600,
    6 * 3600,
    12 * 3600,
    86_400,
    7 * 86_400,
    30 * 86_400,
    365 * 86_400,
];

/// How a timeline's buckets are cut: aligned start, width and number of buckets covering
/// `[from, to)`. Every store and the console's offline timeline cut them this way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BucketPlan {
    /// Start of the first bucket, µs since the epoch.
    pub start: i64,
    /// Width in seconds.
    pub interval_seconds: i64,
    /// Number of buckets.
    pub count: usize,
}

impl BucketPlan {
    /// The smallest readable width that covers `[from, to)` in at most `buckets` buckets, with
    /// buckets aligned on multiples of the width in `tz` (days start at local midnight).
    pub fn new(from: i64, to: i64, buckets: u32, tz: FixedOffset) -> Self {
        let buckets = i64::from(buckets.clamp(1, 1000));
        let span = (to - from).max(1);
        let interval_seconds = INTERVALS
            .iter()
            .copied()
            .find(|w| w * 1_000_000 * buckets >= span)
            .unwrap_or_else(|| (span / buckets / 1_000_000 + 1).max(1));
        let width = interval_seconds * 1_000_000;
        // Weeks start on Monday (the epoch was a Thursday: Monday 1970-01-05 is 4 days later).
        let week_start = if interval_seconds == 7 * 86_400 {
            4 * 86_400_000_000
        } else {
            0
        };
        let shift = i64::from(tz.local_minus_utc()) * 1_000_000 - week_start;
        let start = (from + shift).div_euclid(width) * width - shift;
        let count = ((to - start + width - 1) / width).max(1) as usize;
        BucketPlan {
            start,
            interval_seconds,
            count,
        }
    }

    /// The bucket index of a time, if it falls inside.
    pub fn index(&self, micros: i64) -> Option<usize> {
        let i = (micros - self.start).div_euclid(self.interval_seconds * 1_000_000);
        (0..self.count as i64).contains(&i).then_some(i as usize)
    }

    /// Builds the timeline from per-bucket counts.
    pub fn timeline(&self, counts: &[(u64, u64)]) -> Timeline {
        let width = self.interval_seconds * 1_000_000;
        let at = |m: i64| DateTime::from_timestamp_micros(m).unwrap_or_default();
        Timeline {
            from: at(self.start),
            to: at(self.start + width * self.count as i64),
            interval_seconds: self.interval_seconds,
            buckets: counts
                .iter()
                .enumerate()
                .map(|(i, (count, critical))| Bucket {
                    start: at(self.start + width * i as i64),
                    count: *count,
                    critical: *critical,
                })
                .collect(),
            freshness: None,
        }
    }
}

/// A field that facets can count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FacetField {
    /// The actor's id.
    Actor,
    /// The section.
    Section,
    /// The kind.
    Kind,
    /// The action.
    Action,
    /// The target's type.
    TargetType,
    /// The severity.
    Severity,
    /// The outcome.
    Outcome,
    /// The marks of the entries' annotations.
    Mark,
}

impl FacetField {
    /// Every field.
    pub const ALL: &'static [FacetField] = &[
        FacetField::Actor,
        FacetField::Section,
        FacetField::Kind,
        FacetField::Action,
        FacetField::TargetType,
        FacetField::Severity,
        FacetField::Outcome,
        FacetField::Mark,
    ];

    /// The name used on the API.
    pub fn as_str(self) -> &'static str {
        match self {
            FacetField::Actor => "actor",
            FacetField::Section => "section",
            FacetField::Kind => "kind",
            FacetField::Action => "action",
            FacetField::TargetType => "target_type",
            FacetField::Severity => "severity",
            FacetField::Outcome => "outcome",
            FacetField::Mark => "mark",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    /// The names, comma-separated, for messages.
    pub fn choices() -> String {
        Self::ALL
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The value of this field in an event (for in-memory counting).
    pub fn value_of(self, e: &vigil_core::Event) -> Option<String> {
        Some(match self {
            FacetField::Actor => e.actor.id.clone(),
            FacetField::Section => e.section.clone(),
            FacetField::Kind => e.kind.as_str().into(),
            FacetField::Action => e.action.clone(),
            FacetField::TargetType => return e.target.as_ref().map(|t| t.kind.clone()),
            FacetField::Severity => e.severity.as_str().into(),
            FacetField::Outcome => e.outcome.as_str().into(),
            // Marks come from annotations, not from the event.
            FacetField::Mark => return None,
        })
    }
}

/// Top values of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    /// The field.
    pub field: FacetField,
    /// Values, most frequent first (ties by value).
    pub values: Vec<FacetValue>,
    /// How far the search index that answered was behind the journal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freshness: Option<Freshness>,
}

/// One value and how many entries have it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FacetValue {
    /// The value.
    pub value: String,
    /// How many matching entries have it.
    pub count: u64,
}

/// The store is up and its database answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Entries in the journal (only to a caller with a valid token or ingest key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<u64>,
    /// Entries the search index holds (it follows the journal; equal when caught up; only to
    /// a caller with a valid token or ingest key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub indexed: Option<u64>,
    /// The server's version (only to a caller with a valid token or ingest key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The formats of an export, as the API names them (the parameter is read as text, so that an
/// unknown one gets a message listing these).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// Comma-separated values (RFC 4180), UTF-8.
    Csv,
    /// An Excel workbook, with an About sheet.
    Xlsx,
    /// One JSON document with an `about` object and the entries.
    Json,
    /// One entry per line.
    Ndjson,
}

/// Parameters of a search (`GET /v1/events`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SearchParams {
    /// The query, in the query language (empty: everything).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, max_length = 4096))]
    pub q: Option<String>,
    /// Page size, 1 to 1000 (default 50).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = usize, minimum = 1, maximum = 1000))]
    pub limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String))]
    pub cursor: Option<String>,
    /// `newest` (default) or `oldest` first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Order, inline))]
    pub order: Option<Order>,
    /// The UTC offset (`+01:00`, `-05:30`, `Z`) in which dates without an offset are read
    /// (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, pattern = r"^\s*([Zz]|[Uu][Tt][Cc]|[+-][0-9]{2}:?[0-9]{2})?\s*$"))]
    pub tz: Option<String>,
}

/// Parameters of a timeline (`GET /v1/timeline`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TimelineParams {
    /// The query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, max_length = 4096))]
    pub q: Option<String>,
    /// About how many buckets, 1 to 1000 (default 60); the width is rounded to a readable interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = usize, minimum = 1, maximum = 1000))]
    pub buckets: Option<usize>,
    /// The UTC offset in which dates are read and days and weeks are cut (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, pattern = r"^\s*([Zz]|[Uu][Tt][Cc]|[+-][0-9]{2}:?[0-9]{2})?\s*$"))]
    pub tz: Option<String>,
}

/// Parameters of facets (`GET /v1/facets`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct FacetParams {
    /// The query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, max_length = 4096))]
    pub q: Option<String>,
    /// actor, section, kind, action, target_type, severity, outcome or mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = FacetField, inline, required = true))]
    pub field: Option<String>,
    /// At most this many values, 1 to 100 (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = usize, minimum = 1, maximum = 100))]
    pub limit: Option<usize>,
    /// The UTC offset in which dates without an offset are read (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, pattern = r"^\s*([Zz]|[Uu][Tt][Cc]|[+-][0-9]{2}:?[0-9]{2})?\s*$"))]
    pub tz: Option<String>,
}

/// Parameters of a live tail (`GET /v1/stream`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct StreamParams {
    /// The query new entries must match (empty: every new entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, max_length = 4096))]
    pub q: Option<String>,
    /// The UTC offset in which dates without an offset are read (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, pattern = r"^\s*([Zz]|[Uu][Tt][Cc]|[+-][0-9]{2}:?[0-9]{2})?\s*$"))]
    pub tz: Option<String>,
}

/// Parameters of an export (`GET /v1/export`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportParams {
    /// The query (empty: every entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, max_length = 4096))]
    pub q: Option<String>,
    /// `csv`, `xlsx`, `json` or `ndjson`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = ExportFormat, inline, required = true))]
    pub format: Option<String>,
    /// The UTC offset in which dates without an offset are read (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = String, pattern = r"^\s*([Zz]|[Uu][Tt][Cc]|[+-][0-9]{2}:?[0-9]{2})?\s*$"))]
    pub tz: Option<String>,
    /// `newest` (default) or `oldest` first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = Order, inline))]
    pub order: Option<Order>,
    /// CSV only: start with a UTF-8 byte-order mark, so Excel reads accents right (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = bool))]
    pub bom: Option<bool>,
    /// NDJSON and JSON: end the file with the proof of its rows (default true; false for a
    /// reader that takes every line of an NDJSON file for an entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", param(value_type = bool))]
    pub proof: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> FixedOffset {
        FixedOffset::east_opt(0).unwrap()
    }

    #[test]
    fn buckets_are_readable_and_cover_the_range() {
        let day = 86_400_000_000i64;
        let p = BucketPlan::new(0, 30 * day, 60, utc());
        assert_eq!(p.interval_seconds, 43_200);
        assert_eq!(p.count, 60);
        let paris = FixedOffset::east_opt(3600).unwrap();
        let p = BucketPlan::new(day + 7_200_000_000, 3 * day, 10, paris);
        assert_eq!(p.interval_seconds, 21_600);
        assert_eq!(
            (p.start + 3_600_000_000) % (21_600 * 1_000_000),
            0,
            "aligned on local time"
        );
        assert_eq!(p.index(p.start), Some(0));
        assert_eq!(p.index(p.start - 1), None);
        let weeks = BucketPlan::new(0, 400 * day, 60, utc());
        assert_eq!(weeks.interval_seconds, 7 * 86_400);
        let monday = chrono::DateTime::from_timestamp_micros(weeks.start).unwrap();
        assert_eq!(
            chrono::Datelike::weekday(&monday),
            chrono::Weekday::Mon,
            "weeks start on Monday"
        );
    }

    #[test]
    fn parameters_leave_out_what_is_not_given() {
        let p = SearchParams {
            q: Some("section:finance".into()),
            order: Some(Order::Oldest),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&p).unwrap(),
            serde_json::json!({"q": "section:finance", "order": "oldest"})
        );
    }
}
