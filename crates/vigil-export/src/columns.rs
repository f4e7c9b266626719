//! The columns of the CSV and XLSX exports and each row's cells.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use crate::{ExportError, Row};

/// The CSV header, one column per field. The XLSX sheet has the same columns, except that
/// `occurred_at` is a date-time cell there, followed by `occurred_at_exact` with the microseconds.
pub const HEADERS: &[&str] = &[
    "occurred_at",
    "seq",
    "id",
    "actor_id",
    "actor_name",
    "actor_role",
    "actor_kind",
    "action",
    "kind",
    "section",
    "severity",
    "outcome",
    "target_type",
    "target_id",
    "target_name",
    "ip",
    "reason",
    "changes",
    "details",
    "marks",
    "comments",
    "user_agent",
    "session_id",
    "request_id",
    "received_at",
    "hash",
    // Last: files read by column position before senders were recorded read on unchanged.
    "sender",
    // Then the fields of schema 10, after every column files had before them.
    "on_behalf_of_type",
    "on_behalf_of_id",
    "on_behalf_of_name",
    "correlation_id",
    "source_seq",
    "stream",
];

/// Index of `occurred_at` in [`HEADERS`].
pub(crate) const OCCURRED_AT: usize = 0;

/// One cell of a row.
pub(crate) enum Cell<'a> {
    /// No value.
    Empty,
    /// A count or a seq.
    Number(u64),
    /// Text, written as it is (neutralized against formulas by the writer).
    Text(Cow<'a, str>),
    /// A time: a date-time cell in XLSX, RFC 3339 text with microseconds in CSV.
    Time(DateTime<Utc>),
}

fn text(s: &str) -> Cell<'_> {
    Cell::Text(Cow::Borrowed(s))
}

fn maybe(s: Option<&str>) -> Cell<'_> {
    s.map_or(Cell::Empty, text)
}

fn owned<'a>(s: String) -> Cell<'a> {
    Cell::Text(Cow::Owned(s))
}

/// The cells of a row, in [`HEADERS`] order.
pub(crate) fn cells<'a>(row: &Row<'a>) -> Result<[Cell<'a>; 33], ExportError> {
    let s = row.entry;
    let e = &s.event;
    let target = e.target.as_ref();
    let behalf = e.on_behalf_of.as_ref();
    Ok([
        Cell::Time(e.occurred_at),
        Cell::Number(s.seq),
        owned(e.id.to_string()),
        text(&e.actor.id),
        maybe(e.actor.name.as_deref()),
        maybe(e.actor.role.as_deref()),
        maybe(e.actor.kind.map(|k| k.as_str())),
        text(&e.action),
        text(e.kind.as_str()),
        text(&e.section),
        text(e.severity.as_str()),
        text(e.outcome.as_str()),
        maybe(target.map(|t| t.kind.as_str())),
        maybe(target.map(|t| t.id.as_str())),
        maybe(target.and_then(|t| t.name.as_deref())),
        e.ip.map_or(Cell::Empty, |ip| owned(ip.to_string())),
        maybe(e.reason.as_deref()),
        match &e.changes {
            Some(c) => owned(serde_json::to_string(c)?),
            None => Cell::Empty,
        },
        match &e.details {
            Some(d) => owned(serde_json::to_string(d)?),
            None => Cell::Empty,
        },
        if row.marks.is_empty() {
            Cell::Empty
        } else {
            owned(row.marks.join(", "))
        },
        Cell::Number(row.comments),
        maybe(e.user_agent.as_deref()),
        maybe(e.session_id.as_deref()),
        maybe(e.request_id.as_deref()),
        owned(vigil_core::event::micros::format(&s.received_at)),
        text(&s.hash),
        maybe(e.sender.as_deref()),
        maybe(behalf.and_then(|p| p.kind.as_deref())),
        maybe(behalf.map(|p| p.id.as_str())),
        maybe(behalf.and_then(|p| p.name.as_deref())),
        maybe(e.correlation_id.as_deref()),
        // As text: a spreadsheet keeps only 15 digits of a number.
        e.source_seq.map_or(Cell::Empty, |n| owned(n.to_string())),
        maybe(e.stream.as_deref()),
    ])
}
