//! The types the [`crate::Store`] trait speaks.

use base64::Engine;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use vigil_core::{Query, StoredEvent};

/// What went wrong in a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such entry, user, session or key.
    #[error("{0} not found")]
    NotFound(String),
    /// The request contradicts what is stored (a taken name, an id stored with other content).
    #[error("{message}")]
    Conflict {
        /// What conflicts.
        message: String,
        /// The position in the batch, for appends.
        index: Option<usize>,
    },
    /// The request is malformed (a bad cursor).
    #[error("{0}")]
    Invalid(String),
    /// Temporarily unable to answer (the search index is being rebuilt); try again shortly.
    #[error("{0}")]
    Unavailable(String),
    /// The backend failed; not the caller's fault.
    #[error("storage failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps a backend error.
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }
}

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

/// Where a page ends: the (occurred_at, seq) of its last entry, encoded opaquely for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    /// The entry's seq.
    pub seq: u64,
}

impl Cursor {
    /// The cursor after this entry.
    pub fn after(e: &StoredEvent) -> Self {
        Cursor {
            occurred_at: e.event.occurred_at.timestamp_micros(),
            seq: e.seq,
        }
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("v1:{}:{}", self.occurred_at, self.seq))
    }

    /// Reads the opaque text form back.
    pub fn decode(s: &str) -> Result<Self, StoreError> {
        let bad = || StoreError::Invalid(format!("cursor {s:?} is not one this server gave out"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.strip_prefix("v1:").ok_or_else(bad)?.splitn(2, ':');
        let occurred_at = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let seq = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        Ok(Cursor { occurred_at, seq })
    }
}

/// A search request.
#[derive(Debug, Clone)]
pub struct Search {
    /// What to find.
    pub query: Query,
    /// The zone in which dates without an offset are read.
    pub tz: FixedOffset,
    /// At most this many entries.
    pub limit: usize,
    /// Continue after this entry.
    pub cursor: Option<Cursor>,
    /// The order.
    pub order: Order,
}

impl Search {
    /// The first page, newest first, in UTC.
    pub fn new(query: Query, limit: usize) -> Self {
        Search {
            query,
            tz: utc(),
            limit,
            cursor: None,
            order: Order::Newest,
        }
    }
}

/// The UTC offset, for callers without a zone.
pub fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero is a valid offset")
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The entries.
    pub events: Vec<StoredEvent>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<Cursor>,
}

/// A histogram request.
#[derive(Debug, Clone)]
pub struct TimelineRequest {
    /// What to count.
    pub query: Query,
    /// The zone for dates without an offset.
    pub tz: FixedOffset,
    /// About how many buckets the caller wants (the width is rounded to a readable interval).
    pub buckets: u32,
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

/// The plan of a timeline: aligned start, width and number of buckets covering `[from, to)`.
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

/// A facets request.
#[derive(Debug, Clone)]
pub struct FacetRequest {
    /// Which entries.
    pub query: Query,
    /// The zone for dates without an offset.
    pub tz: FixedOffset,
    /// Which field.
    pub field: FacetField,
    /// At most this many values.
    pub limit: usize,
}

/// Top values of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Facets {
    /// The field.
    pub field: FacetField,
    /// Values, most frequent first (ties by value).
    pub values: Vec<FacetValue>,
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

/// A user to create. `Debug` does not show the password hash.
#[derive(Clone)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored user. `Debug` does not show the password hash.
#[derive(Clone, PartialEq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
}

/// A session to record.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Whose.
    pub user: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// Until when.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An ingest key to record.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Its name (the sending system).
    pub name: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored ingest key.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestKey {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A custom role as stored (the built-in ones are not stored: see `vigil_core::rights`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleRecord {
    /// Its name.
    pub name: String,
    /// The names of its rights.
    pub rights: Vec<String>,
    /// Its scope, in the query language (empty: every entry).
    pub scope: String,
    /// When it was created.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
}

/// A user as the admin screens list them (no password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// When the user was created.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// Sessions that have not ended.
    pub live_sessions: u64,
    /// When a sign-in lock ends, if one holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub locked_until: Option<DateTime<Utc>>,
}

/// A change to users, roles or ingest keys; the store checks that the roles it names exist
/// (built in or stored).
#[derive(Debug, Clone)]
pub enum AccountChange {
    /// A new user: `Conflict` if the name is taken, `Invalid` for an unknown role.
    AddUser(NewUser),
    /// A user's roles: `NotFound` for an unknown user, `Invalid` for an unknown role.
    SetRoles {
        /// Whose.
        name: String,
        /// The roles from now on.
        roles: Vec<String>,
    },
    /// A new custom role: `Conflict` if the name is taken (built-in names included).
    AddRole(RoleRecord),
    /// Removes a custom role: `NotFound` if there is none, `Conflict` while a user has it.
    RemoveRole(String),
    /// A new ingest key: `Conflict` if the name is taken.
    AddKey(NewKey),
}

/// When repeated failed sign-ins lock a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// This many failures…
    pub failures: u32,
    /// …within this long lock the name…
    pub window: chrono::Duration,
    /// …for this long.
    pub lock_for: chrono::Duration,
}

/// What a failed sign-in led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures within the policy's window, this one included.
    pub failures: u32,
    /// The name is locked until then (set by this failure when `locked_now`).
    pub locked_until: Option<DateTime<Utc>>,
    /// This failure locked the name.
    pub locked_now: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_password_hashes() {
        let u = User {
            name: "alice".into(),
            password_hash: "$argon2id$secret".into(),
            roles: vec![],
        };
        assert!(!format!("{u:?}").contains("secret"));
        let login = crate::api::Login {
            name: "alice".into(),
            password: "hunter2hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            occurred_at: -5,
            seq: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("bm9wZQ").is_err());
        assert!(Cursor::decode("!!").is_err());
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
}
