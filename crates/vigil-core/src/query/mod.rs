//! The query language: one text form for the API's `q=`, the console's filter bar, saved searches,
//! alert rules and role scopes.
//!
//! ```
//! use vigil_core::query::Query;
//! let q: Query = r#"actor:alice section:finance,bonuses action:bonus.* -outcome:denied "manual bonus""#
//!     .parse()
//!     .unwrap();
//! assert_eq!(q.to_string(), r#"actor:alice section:finance,bonuses action:bonus.* -outcome:denied "manual bonus""#);
//! let err = "actor:alice colour:red".parse::<Query>().unwrap_err();
//! assert_eq!(err.column, 13);
//! ```
//!
//! Grammar: terms separated by spaces, all of which must hold. A term is `qualifier:v1,v2` (any of
//! the values), a bare word or a "quoted phrase" (full-text), optionally preceded by `-` (not).
//! `after:` is inclusive, `before:` exclusive, `on:` a whole day; dates and times without an offset
//! are read in the caller's time zone (UTC on the API).

mod describe;
mod eval;
mod parse;
mod print;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};
use ipnet::IpNet;

use crate::event::{Kind, Outcome, Severity};

pub use eval::{day_start, net_contains, Bounds};
pub use print::{quote, quote_if_needed};

/// A parsed query: every clause must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Query {
    /// The clauses, in the order written.
    pub clauses: Vec<Clause>,
}

/// One term, possibly negated.
#[derive(Debug, Clone, PartialEq)]
pub struct Clause {
    /// Written with a leading `-`.
    pub negated: bool,
    /// What it tests.
    pub term: Term,
}

/// What a clause tests. Lists are ORs.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// `actor:` the actor's id, or the id of the account the actor acted as.
    Actor(Vec<String>),
    /// `behalf:` acted as this account (`on_behalf_of.id`): only impersonated actions.
    Behalf(Vec<String>),
    /// `request:` the request id.
    Request(Vec<String>),
    /// `correlation:` the correlation id (one business action).
    Correlation(Vec<String>),
    /// `section:`
    Section(Vec<String>),
    /// `sender:` the ingest key that sent it (`vigil` for the store's own entries).
    Sender(Vec<String>),
    /// `kind:`
    Kind(Vec<Kind>),
    /// `action:` exact or prefix (`bonus.*`).
    Action(Vec<ActionPattern>),
    /// `severity:`
    Severity(Vec<Severity>),
    /// `outcome:`
    Outcome(Vec<Outcome>),
    /// `target:` `type/id`, `type/*` or `id`.
    Target(Vec<TargetPattern>),
    /// `ip:` an address or a CIDR range.
    Ip(Vec<IpNet>),
    /// `after:` at or after this time.
    After(TimeBound),
    /// `before:` strictly before this time.
    Before(TimeBound),
    /// `on:` during one of these days.
    On(Vec<NaiveDate>),
    /// `mark:` annotated with one of these marks.
    Mark(Vec<String>),
    /// `has:` the entry has one of these.
    Has(Vec<Has>),
    /// `incident:` pinned to one of these incidents (by number or id).
    Incident(Vec<String>),
    /// Any of these queries holds: the union of a user's role scopes. Not written in the text
    /// language (printed as `(…) OR (…)` for people to read); the server adds it to a caller's
    /// query, which can then only narrow it.
    Any(Vec<Query>),
    /// A bare word or a quoted phrase: full-text.
    Text {
        /// The words, as written.
        text: String,
        /// Written in quotes.
        quoted: bool,
        /// Matched as a reader without the unmask right sees the entry: words that only its
        /// personal fields hold (the target's name, a listed `changes.email`, …) do not count.
        /// Never written in the text language; the server sets it on such a reader's terms
        /// (see [`crate::rights::Grants::as_seen`]).
        as_masked: bool,
    },
}

/// An `action:` value.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionPattern {
    /// Exactly this action.
    Exact(String),
    /// Any action that starts with this (written with a trailing `*`).
    Prefix(String),
}

/// A `target:` value.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetPattern {
    /// `player/12345`
    Exact {
        /// Target type.
        kind: String,
        /// Target id.
        id: String,
    },
    /// `player/*`: any target of this type.
    Type(String),
    /// `12345`: this id, whatever its type.
    Id(String),
}

/// A time in `after:` or `before:`.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeBound {
    /// A day, from its start in the caller's zone.
    Date(NaiveDate),
    /// A wall-clock time in the caller's zone.
    Local(NaiveDateTime),
    /// A time with an explicit offset.
    Exact(DateTime<FixedOffset>),
}

/// What `has:` can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Has {
    /// At least one annotation with a comment.
    Comment,
    /// At least one mark.
    Mark,
    /// Before/after values.
    Changes,
    /// A reason.
    Reason,
    /// A target.
    Target,
    /// An IP address.
    Ip,
    /// Details.
    Details,
    /// An `on_behalf_of`: the actor acted as another account.
    Behalf,
}

impl Has {
    /// Every value.
    pub const ALL: &'static [Has] = &[
        Has::Comment,
        Has::Mark,
        Has::Changes,
        Has::Reason,
        Has::Target,
        Has::Ip,
        Has::Details,
        Has::Behalf,
    ];

    /// The written form.
    pub fn as_str(self) -> &'static str {
        match self {
            Has::Comment => "comment",
            Has::Mark => "mark",
            Has::Changes => "changes",
            Has::Reason => "reason",
            Has::Target => "target",
            Has::Ip => "ip",
            Has::Details => "details",
            Has::Behalf => "behalf",
        }
    }
}

/// A query that does not parse, with the 1-based column (in characters) where it goes wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct QueryError {
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl FromStr for Query {
    type Err = QueryError;
    fn from_str(s: &str) -> Result<Self, QueryError> {
        parse::parse(s)
    }
}

impl fmt::Display for Query {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        print::write_query(self, f)
    }
}

impl TimeBound {
    /// The instant this bound stands for, reading dates and wall-clock times in `tz`.
    pub fn instant<Tz: TimeZone>(&self, tz: &Tz) -> DateTime<Utc> {
        match self {
            TimeBound::Date(d) => local_start(tz, d.and_hms_opt(0, 0, 0).expect("midnight exists")),
            TimeBound::Local(t) => local_start(tz, *t),
            TimeBound::Exact(t) => t.with_timezone(&Utc),
        }
    }
}

/// The first instant at or after a wall-clock time (times skipped by a DST change move forward).
pub(crate) fn local_start<Tz: TimeZone>(tz: &Tz, t: NaiveDateTime) -> DateTime<Utc> {
    let mut probe = t;
    for _ in 0..48 {
        if let Some(dt) = tz.from_local_datetime(&probe).earliest() {
            return dt.with_timezone(&Utc);
        }
        probe += chrono::Duration::minutes(30);
    }
    Utc.from_utc_datetime(&t)
}

impl Query {
    /// The empty query, which matches everything.
    pub fn all() -> Self {
        Query::default()
    }

    /// Both queries at once (a scope and a search, say).
    pub fn and(mut self, other: Query) -> Query {
        self.clauses.extend(other.clauses);
        self
    }

    /// The same query with its dates and wall-clock times read in UTC, whatever zone it is
    /// later evaluated in: `after:`/`before:` become exact instants, and `on:` days become
    /// UTC day ranges. A role's scope is read this way, so that a reader's `tz` cannot move it.
    pub fn in_utc(&self) -> Query {
        let exact = |b: &TimeBound| TimeBound::Exact(b.instant(&Utc).fixed_offset());
        self.map_terms(&|term| match term {
            Term::After(b) => Some(Term::After(exact(b))),
            Term::Before(b) => Some(Term::Before(exact(b))),
            Term::On(days) => Some(Term::Any(
                days.iter()
                    .map(|d| {
                        let end = d.succ_opt().unwrap_or(*d);
                        let bound = |t: fn(TimeBound) -> Term, d: NaiveDate| Clause {
                            negated: false,
                            term: t(exact(&TimeBound::Date(d))),
                        };
                        Query {
                            clauses: vec![bound(Term::After, *d), bound(Term::Before, end)],
                        }
                    })
                    .collect(),
            )),
            _ => None,
        })
    }

    /// Whether a full-text term is to be matched as a reader of masked entries sees the entry
    /// (see [`Term::Text`]'s `as_masked`), here or inside a `Term::Any`.
    pub fn reads_masked(&self) -> bool {
        self.clauses.iter().any(|c| match &c.term {
            Term::Text { as_masked, .. } => *as_masked,
            Term::Any(queries) => queries.iter().any(Query::reads_masked),
            _ => false,
        })
    }

    /// Whether what an entry's annotations and incidents add can change whether it matches:
    /// `mark:`, `incident:`, `has:comment`, `has:mark`, and full text (which searches
    /// comments too). An evaluation without them is then wrong for annotated entries (a scope
    /// `-mark:confidential` would let a marked entry through).
    pub fn uses_annotations(&self) -> bool {
        self.clauses.iter().any(|c| match &c.term {
            Term::Mark(_) | Term::Incident(_) | Term::Text { .. } => true,
            Term::Has(v) => v.iter().any(|h| matches!(h, Has::Comment | Has::Mark)),
            Term::Any(queries) => queries.iter().any(Query::uses_annotations),
            _ => false,
        })
    }

    /// The same query with each term `f` gives a replacement for replaced (negation kept), the
    /// queries inside `Any` walked the same way.
    pub fn map_terms(&self, f: &impl Fn(&Term) -> Option<Term>) -> Query {
        let clauses = self
            .clauses
            .iter()
            .map(|c| Clause {
                negated: c.negated,
                term: f(&c.term).unwrap_or_else(|| match &c.term {
                    Term::Any(queries) => {
                        Term::Any(queries.iter().map(|q| q.map_terms(f)).collect())
                    }
                    other => other.clone(),
                }),
            })
            .collect();
        Query { clauses }
    }
}
