//! The event: one staff action in the back office, as the sender describes it and as the store
//! keeps it (with `seq`, `received_at` and `hash`).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Serde helpers for timestamps: RFC 3339 in UTC with exactly six fractional digits.
pub mod micros {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    /// Formats a timestamp as `2026-11-26T22:59:16.123456Z`.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// Serializes with [`format`].
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Accepts any RFC 3339 time and converts it to UTC.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(serde::de::Error::custom)
    }
}

/// Declares a closed, lowercase string enum with `as_str`, `ALL`, `FromStr` and serde.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire form.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The accepted values, for error messages: `a, b, c`.
            pub fn choices() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl FromStr for $name {
            type Err = ();
            fn from_str(s: &str) -> Result<Self, ()> {
                match s { $($text => Ok($name::$variant),)+ _ => Err(()) }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum! {
    /// The five families of the journal.
    Kind {
        /// A data change.
        Change => "change",
        /// Something created.
        Create => "create",
        /// Something deleted.
        Delete => "delete",
        /// Roles and rights.
        Rights => "rights",
        /// Exports and data access.
        Access => "access",
    }
}

string_enum! {
    /// How much an entry matters.
    #[derive(Default)]
    Severity {
        /// Routine.
        #[default]
        Info => "info",
        /// Worth a look.
        Warning => "warning",
        /// Money or rights at stake.
        Critical => "critical",
    }
}

string_enum! {
    /// What became of the action.
    #[derive(Default)]
    Outcome {
        /// It happened.
        #[default]
        Success => "success",
        /// It was tried and failed.
        Failure => "failure",
        /// It was refused (a denied API access attempt is an event too).
        Denied => "denied",
    }
}

string_enum! {
    /// Who acted: a person, a system job or an API client.
    ActorKind {
        /// A member of staff.
        Staff => "staff",
        /// A scheduled job or the platform itself.
        System => "system",
        /// An API client.
        Api => "api",
    }
}

/// Who did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Actor {
    /// Stable identifier in the back office (login or staff id).
    pub id: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The actor's role in the back office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Person, system or API client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ActorKind>,
}

/// What was acted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Target {
    /// The kind of thing: `player`, `bonus`, `transaction`, `staff`, `setting`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Its identifier.
    pub id: String,
    /// Its display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Whose account an action was taken in, when it was not the actor's own: the player a support
/// agent acted as, the merchant account an admin worked inside.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Principal {
    /// What kind of account: `player`, `merchant`, `staff`, …
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its identifier.
    pub id: String,
    /// Its display name (masked like the target's name for readers without `unmask`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One field's value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Change {
    /// The field's name.
    pub field: String,
    /// Any JSON value (null when the field did not exist).
    #[serde(deserialize_with = "crate::json::value")]
    pub before: Value,
    /// Any JSON value (null when the field was removed).
    #[serde(deserialize_with = "crate::json::value")]
    pub after: Value,
}

/// A staff action as the back office sends it (docs/event-model.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    /// Chosen by the sender; a re-sent id is a duplicate.
    pub id: Uuid,
    /// When it happened, in UTC with microseconds.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub occurred_at: DateTime<Utc>,
    /// Who did it.
    pub actor: Actor,
    /// The account the actor acted as (impersonation): the actor is who really did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<Principal>,
    /// Lowercase dotted verb: `player.balance.adjust`.
    pub action: String,
    /// The family of the action.
    pub kind: Kind,
    /// Where in the back office: `finance`, `bonuses`, …
    pub section: String,
    /// How much it matters.
    pub severity: Severity,
    /// What became of it.
    pub outcome: Outcome,
    /// What was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Before and after values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<Vec<Change>>,
    /// The staff member's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ip: Option<IpAddr>,
    /// The browser or client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// For correlation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// For correlation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The business action this event belongs to, across requests (a withdrawal's approval,
    /// checks and payout).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
    /// The back office's own justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Any JSON object.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::json::object"
    )]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub details: Option<Map<String, Value>>,
    /// The sender's own number for this event, counting up from any value in its `stream`:
    /// the store reports the numbers that never arrived (GET /v1/senders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_seq: Option<u64>,
    /// Which of the sender's numberings `source_seq` belongs to (a sender that starts counting
    /// again names a new stream); absent: the sender's one numbering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Who handed it to the store, set by the store and never by the sender: the name of the
    /// ingest key that sent it, `vigil` for the entries the store writes about itself,
    /// `vigil-demo` for `vigil demo`'s data. Absent on entries written before senders were
    /// recorded. Under the hash chain like every other field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

impl Event {
    /// Whether two events hold the same fields as sent, whoever sent them: a re-sent id with
    /// these is a duplicate, even through another key (a sender that rotated its key retries
    /// with the new one); the entry keeps its first sender.
    pub fn same_as_sent(&self, other: &Event) -> bool {
        let Event {
            id,
            occurred_at,
            actor,
            on_behalf_of,
            action,
            kind,
            section,
            severity,
            outcome,
            target,
            changes,
            ip,
            user_agent,
            session_id,
            request_id,
            correlation_id,
            reason,
            details,
            source_seq,
            stream,
            sender: _,
        } = self;
        *id == other.id
            && *occurred_at == other.occurred_at
            && *actor == other.actor
            && *on_behalf_of == other.on_behalf_of
            && *action == other.action
            && *kind == other.kind
            && *section == other.section
            && *severity == other.severity
            && *outcome == other.outcome
            && *target == other.target
            && *changes == other.changes
            && *ip == other.ip
            && *user_agent == other.user_agent
            && *session_id == other.session_id
            && *request_id == other.request_id
            && *correlation_id == other.correlation_id
            && *reason == other.reason
            && *details == other.details
            && *source_seq == other.source_seq
            && *stream == other.stream
    }
}

/// An event as the store keeps it: the sender's fields plus order of receipt and chain hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredEvent {
    /// Gap-free order of receipt, from 1.
    pub seq: u64,
    /// When the store wrote it.
    #[serde(with = "micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub received_at: DateTime<Utc>,
    /// SHA-256 (hex) of the previous hash and this entry's canonical encoding.
    pub hash: String,
    /// The event itself.
    #[serde(flatten)]
    pub event: Event,
    /// The salt of a sealed entry ([`crate::seal`]); `None` for an entry written before
    /// entries were sealed. Read from JSON (32 hex digits) but never written with the entry:
    /// whoever gives it to a reader does so on purpose (it would let a reader of masked parts
    /// test guesses of them).
    #[serde(default, skip_serializing, deserialize_with = "salt_hex")]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub salt: Option<crate::seal::Salt>,
}

fn salt_hex<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<crate::seal::Salt>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    text.map(|t| {
        crate::seal::decode_salt(&t)
            .ok_or_else(|| serde::de::Error::custom("salt: not 32 hex digits"))
    })
    .transpose()
}

/// A stored entry borrowed from a backend's row, for readers that only write it out again (an
/// export): nothing is decoded or allocated. Text fields are as stored; `changes` and `details`
/// are their stored JSON text, which is what serializing [`Event::changes`] and
/// [`Event::details`] gives; the enums are their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EntryView<'a> {
    /// Order of receipt.
    pub seq: u64,
    /// When the store wrote it, µs since the epoch.
    pub received_at: i64,
    /// The chain hash, 32 bytes.
    pub hash: &'a [u8],
    /// The salt of a sealed entry, 16 bytes.
    pub salt: Option<&'a [u8]>,
    /// The sender's id.
    pub id: Uuid,
    /// When it happened, µs since the epoch.
    pub occurred_at: i64,
    /// `actor.id`.
    pub actor_id: &'a str,
    /// `actor.name`.
    pub actor_name: Option<&'a str>,
    /// `actor.role`.
    pub actor_role: Option<&'a str>,
    /// `actor.kind`.
    pub actor_kind: Option<&'a str>,
    /// `on_behalf_of.type`, `on_behalf_of.id` and `on_behalf_of.name`.
    pub on_behalf_of: Option<(Option<&'a str>, &'a str, Option<&'a str>)>,
    /// The action.
    pub action: &'a str,
    /// The kind's name.
    pub kind: &'a str,
    /// The section.
    pub section: &'a str,
    /// The severity's name.
    pub severity: &'a str,
    /// The outcome's name.
    pub outcome: &'a str,
    /// `target.type`, `target.id` and `target.name` (a target has a type and an id).
    pub target: Option<(&'a str, &'a str, Option<&'a str>)>,
    /// `changes` as JSON text.
    pub changes: Option<&'a str>,
    /// The address as text.
    pub ip: Option<&'a str>,
    /// The user agent.
    pub user_agent: Option<&'a str>,
    /// The session id.
    pub session_id: Option<&'a str>,
    /// The request id.
    pub request_id: Option<&'a str>,
    /// The correlation id.
    pub correlation_id: Option<&'a str>,
    /// The reason.
    pub reason: Option<&'a str>,
    /// `details` as JSON text.
    pub details: Option<&'a str>,
    /// The sender's number for it.
    pub source_seq: Option<u64>,
    /// The sender's numbering it belongs to.
    pub stream: Option<&'a str>,
    /// Who handed it to the store.
    pub sender: Option<&'a str>,
}

/// What an owned entry lends to an [`EntryView`]: its hash as bytes and its JSON fields as text.
#[derive(Debug, Clone)]
pub struct ViewParts {
    hash: Vec<u8>,
    changes: Option<String>,
    ip: Option<String>,
    details: Option<String>,
}

impl StoredEvent {
    /// The parts a view of this entry borrows besides the entry itself.
    pub fn view_parts(&self) -> ViewParts {
        ViewParts {
            hash: hex::decode(&self.hash).unwrap_or_default(),
            changes: self
                .event
                .changes
                .as_ref()
                .map(|c| serde_json::to_string(c).expect("JSON serializes")),
            ip: self.event.ip.map(|ip| ip.to_string()),
            details: self
                .event
                .details
                .as_ref()
                .map(|d| serde_json::to_string(d).expect("JSON serializes")),
        }
    }

    /// This entry as a view, borrowing `parts` (from [`StoredEvent::view_parts`]).
    pub fn view<'a>(&'a self, parts: &'a ViewParts) -> EntryView<'a> {
        let e = &self.event;
        EntryView {
            seq: self.seq,
            received_at: self.received_at.timestamp_micros(),
            hash: &parts.hash,
            salt: self.salt.as_ref().map(|s| s.as_slice()),
            id: e.id,
            occurred_at: e.occurred_at.timestamp_micros(),
            actor_id: &e.actor.id,
            actor_name: e.actor.name.as_deref(),
            actor_role: e.actor.role.as_deref(),
            actor_kind: e.actor.kind.map(|k| k.as_str()),
            on_behalf_of: e
                .on_behalf_of
                .as_ref()
                .map(|p| (p.kind.as_deref(), p.id.as_str(), p.name.as_deref())),
            action: &e.action,
            kind: e.kind.as_str(),
            section: &e.section,
            severity: e.severity.as_str(),
            outcome: e.outcome.as_str(),
            target: e
                .target
                .as_ref()
                .map(|t| (t.kind.as_str(), t.id.as_str(), t.name.as_deref())),
            changes: parts.changes.as_deref(),
            ip: parts.ip.as_deref(),
            user_agent: e.user_agent.as_deref(),
            session_id: e.session_id.as_deref(),
            request_id: e.request_id.as_deref(),
            correlation_id: e.correlation_id.as_deref(),
            reason: e.reason.as_deref(),
            details: parts.details.as_deref(),
            source_seq: e.source_seq,
            stream: e.stream.as_deref(),
            sender: e.sender.as_deref(),
        }
    }
}
