//! The service layer: every operation the API and the command line offer is one function here,
//! whichever way it is asked. Handlers (`crate::http`) and CLI verbs (`crate::cli`) only turn
//! what they were given into these functions' arguments and their answers into HTTP or text.
//!
//! - Each function that reads or changes what a caller's rights govern takes the caller's
//!   capability ([`caller`]): holding one proves the right was checked, so no such operation
//!   can be reached without its check. The few that take none belong to no caller: the
//!   store's start and stop, health, `vigil verify` and demo data on the command line
//!   ([`journal`]), and signing in itself ([`sessions`]).
//! - Each area answers with its own error enum ([`SearchError`], [`AccountError`], …). Every
//!   one is a [`Refusal`]: what kind of fault it is ([`Fault`]), a stable code, and where in the
//!   input it lies. `crate::http::error` turns a fault into a status in one place; the CLI prints
//!   the message. No status is ever derived from a message's text.
//! - A change to what the store holds (an account, a session, an annotation, an alert channel
//!   or rule, a delivery retried) and the journal entry that records it are one transaction:
//!   the service builds the entry ([`OwnEntry`]) and the store writes both together. Two
//!   writes are journaled after the fact instead, because something outside the store happens
//!   between them: a test message (sent, then recorded as a delivery, then journaled) and an
//!   export (written, then journaled with how it ended). Reads that are journaled (searches,
//!   sensitive entries opened) append their entry before answering.
//!
//! | area | what it does |
//! |---|---|
//! | [`journal`] | ingest, verify, demo data, the store's start and stop |
//! | [`search`] | searches, one entry, timelines, facets, live tails (each read journaled) |
//! | [`sessions`] | sign-in with lockout, sign-out, who is asking |
//! | [`accounts`] | users, roles, ingest keys |
//! | [`annotations`] | annotations, the marks catalog, incidents |
//! | [`alerts`] | alert channels, rules, test messages, the outbox |
//! | [`exports`] | exports, recorded in the journal |
//! | [`senders`] | who sends, how much, and the numbers of theirs that never arrived |

pub mod accounts;
pub mod alerts;
pub mod annotations;
pub mod caller;
pub mod credentials;
pub mod exports;
pub mod feed;
pub mod integrity;
pub mod journal;
pub mod own_entry;
pub mod running;
pub mod search;
pub mod senders;
pub mod sessions;

pub use accounts::AccountError;
pub use alerts::AlertError;
pub use annotations::AnnotationError;
pub use caller::{
    AccountsAdmin, AlertsAdmin, Annotator, Caller, CanRead, Capability, Denied, Exporter, Ingester,
    MarksAdmin,
};
pub use exports::ExportError;
pub use journal::JournalError;
pub use own_entry::OwnEntry;
pub use search::SearchError;
pub use sessions::SessionError;

use vigil_store::StoreError;

/// What kind of refusal an error is, whatever the way in: the HTTP adapter gives each its
/// status, the command line its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The caller's input is wrong (400).
    Invalid,
    /// The input is over a size limit (413).
    TooLarge,
    /// No valid session or key (401).
    Unauthenticated,
    /// A right is missing, or the credential is of the wrong kind (403).
    Forbidden,
    /// No such thing, or none the caller may see (404).
    NotFound,
    /// It contradicts what is stored (409).
    Conflict,
    /// Signing in is locked for a while (429).
    Locked,
    /// The caller has as much running as they may; try again shortly (429, `Retry-After`).
    Busy,
    /// Not now; try again shortly (503).
    Unavailable,
    /// Another system refused or could not be reached: an alert channel (502).
    Upstream,
    /// Vigil failed; not the caller's fault (500).
    Internal,
}

/// A refusal the API and the command line can show: its kind, a stable code clients may
/// branch on, and where in the input it lies. The message is the error's `Display`.
pub trait Refusal: std::error::Error + Send + Sync + 'static {
    /// What kind of fault.
    fn fault(&self) -> Fault;
    /// The stable code: `invalid_event`, `bad_query`, `unknown_role`, …
    fn code(&self) -> &'static str;
    /// The field of the input at fault.
    fn field(&self) -> Option<&str> {
        None
    }
    /// The position in a batch.
    fn index(&self) -> Option<usize> {
        None
    }
    /// The 1-based column of a query.
    fn column(&self) -> Option<usize> {
        None
    }
}

impl Refusal for StoreError {
    fn fault(&self) -> Fault {
        match self {
            StoreError::NotFound(_) => Fault::NotFound,
            StoreError::Conflict { .. } => Fault::Conflict,
            StoreError::Invalid { .. } => Fault::Invalid,
            StoreError::Unavailable(_) => Fault::Unavailable,
            StoreError::Backend(_) => Fault::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound(_) => "not_found",
            StoreError::Conflict { .. } => "conflict",
            StoreError::Invalid { .. } => "invalid",
            StoreError::Unavailable(_) => "unavailable",
            StoreError::Backend(_) => "internal",
        }
    }

    fn index(&self) -> Option<usize> {
        match self {
            StoreError::Conflict { index, .. } => *index,
            _ => None,
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            StoreError::Invalid { field, .. } => *field,
            _ => None,
        }
    }
}

/// A query's text, checked: at most [`MAX_QUERY_CHARS`] characters, and parsed.
pub fn parse_query(q: Option<&str>) -> Result<vigil_core::Query, BadQuery> {
    let text = q.unwrap_or("");
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(BadQuery {
            message: format!("q: {chars} characters is over the limit of {MAX_QUERY_CHARS}"),
            column: None,
        });
    }
    text.parse().map_err(|e: vigil_core::QueryError| BadQuery {
        column: Some(e.column),
        message: format!("q: {e}"),
    })
}

/// Longest accepted query text, in characters.
pub const MAX_QUERY_CHARS: usize = 4096;

/// A query that is too long or does not parse (the message starts with `q: `).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct BadQuery {
    /// What is wrong.
    pub message: String,
    /// Where, for a syntax error.
    pub column: Option<usize>,
}

/// Reads a `tz`: a UTC offset such as `+01:00`, `-05:30`, `+0530`, `Z` or `UTC` (none: UTC).
pub fn parse_tz(tz: Option<&str>) -> Result<chrono::FixedOffset, String> {
    let Some(text) = tz.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(vigil_store::utc());
    };
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Ok(vigil_store::utc());
    }
    text.parse::<chrono::FixedOffset>()
        .map_err(|_| format!("tz: {text:?} is not a UTC offset such as +01:00, -05:30 or Z"))
}

/// `value` (or `default`) if it is within `1..=max`, else a message naming the parameter.
pub fn bounded(
    name: &str,
    value: Option<usize>,
    default: usize,
    max: usize,
) -> Result<usize, String> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        n => Err(format!("{name}: {n} is out of range 1 to {max}")),
    }
}

/// An error and its causes on one line, as the command line and the journal show them.
pub fn one_line(e: &anyhow::Error) -> String {
    e.chain()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}
