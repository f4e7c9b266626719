//! The types the [`crate::Store`] trait speaks.

use base64::Engine;
use chrono::{DateTime, FixedOffset, Utc};
use vigil_core::{Query, StoredEvent};

use crate::{FacetField, Order};

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
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRecord {
    /// Its name.
    pub name: String,
    /// The names of its rights.
    pub rights: Vec<String>,
    /// Its scope, in the query language (empty: every entry).
    pub scope: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
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
}
