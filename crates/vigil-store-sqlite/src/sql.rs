//! Query → SQL, and rows → events.

use std::net::IpAddr;

use chrono::{DateTime, Duration, FixedOffset, Utc};
use rusqlite::types::Value as SqlValue;
use rusqlite::Row;
use vigil_core::query::{day_start, ActionPattern, Has, Query, TargetPattern, Term};
use vigil_core::{Actor, Event, StoredEvent, Target};

/// A WHERE condition and its parameters.
#[derive(Debug, Default)]
pub struct Where {
    /// SQL text, `1` when everything matches.
    pub sql: String,
    /// Positional parameters, in order.
    pub params: Vec<SqlValue>,
}

impl Where {
    fn push(&mut self, cond: String) {
        if !self.sql.is_empty() {
            self.sql.push_str(" AND ");
        }
        self.sql.push_str(&cond);
    }

    /// Adds a condition with its parameters.
    pub fn and(&mut self, cond: &str, params: impl IntoIterator<Item = SqlValue>) {
        self.push(format!("({cond})"));
        self.params.extend(params);
    }
}

/// The columns read to rebuild a [`StoredEvent`], in the order [`stored_event`] expects.
pub const COLUMNS: &str = "seq, id, occurred_at, received_at, actor_id, actor_name, actor_role, actor_kind, action, \
    kind, section, severity, outcome, target_type, target_id, target_name, changes, ip, user_agent, session_id, \
    request_id, reason, details, hash";

/// µs since the epoch.
pub fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Back from µs since the epoch.
pub fn from_micros(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or_default()
}

/// 16 bytes that order addresses so that a CIDR range is a BETWEEN (IPv4 as IPv4-mapped IPv6).
pub fn ip_key(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn placeholders(n: usize) -> String {
    vec!["?"; n].join(",")
}

fn texts<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<SqlValue> {
    values
        .into_iter()
        .map(|s| SqlValue::Text(s.to_owned()))
        .collect()
}

/// The FTS5 query for one text term: its folded words as a phrase.
pub fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", vigil_core::text::tokens(text).join(" "))
}

/// Compiles a query to a WHERE condition over `events`.
pub fn compile(q: &Query, tz: &FixedOffset) -> Where {
    let mut w = Where::default();
    let mut positive_text = Vec::new();
    for c in &q.clauses {
        if let (Term::Text { text, .. }, false) = (&c.term, c.negated) {
            positive_text.push(fts_phrase(text));
            continue;
        }
        let (cond, params) = term(&c.term, tz);
        if c.negated {
            w.push(format!("NOT IFNULL(({cond}), 0)"));
        } else {
            w.push(format!("({cond})"));
        }
        w.params.extend(params);
    }
    if !positive_text.is_empty() {
        w.and(
            "seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)",
            [SqlValue::Text(positive_text.join(" AND "))],
        );
    }
    if w.sql.is_empty() {
        w.sql.push('1');
    }
    w
}

fn term(t: &Term, tz: &FixedOffset) -> (String, Vec<SqlValue>) {
    let any_of =
        |col: &str, vals: Vec<SqlValue>| (format!("{col} IN ({})", placeholders(vals.len())), vals);
    let or = |parts: Vec<(String, Vec<SqlValue>)>| {
        let sql = parts
            .iter()
            .map(|(s, _)| format!("({s})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        (sql, parts.into_iter().flat_map(|(_, p)| p).collect())
    };
    let range = |from: DateTime<Utc>, to: DateTime<Utc>| {
        (
            "occurred_at >= ? AND occurred_at < ?".to_owned(),
            vec![
                SqlValue::Integer(micros(&from)),
                SqlValue::Integer(micros(&to)),
            ],
        )
    };
    match t {
        Term::Actor(v) => any_of("actor_id", texts(v.iter().map(String::as_str))),
        Term::Section(v) => any_of("section", texts(v.iter().map(String::as_str))),
        Term::Kind(v) => any_of("kind", texts(v.iter().map(|k| k.as_str()))),
        Term::Severity(v) => any_of("severity", texts(v.iter().map(|k| k.as_str()))),
        Term::Outcome(v) => any_of("outcome", texts(v.iter().map(|k| k.as_str()))),
        Term::Action(v) => or(v
            .iter()
            .map(|p| match p {
                ActionPattern::Exact(a) => ("action = ?".into(), texts([a.as_str()])),
                ActionPattern::Prefix(a) => (
                    "action >= ? AND action < ?".into(),
                    vec![
                        SqlValue::Text(a.clone()),
                        SqlValue::Text(format!("{a}{}", char::MAX)),
                    ],
                ),
            })
            .collect()),
        Term::Target(v) => or(v
            .iter()
            .map(|p| match p {
                TargetPattern::Exact { kind, id } => (
                    "target_type = ? AND target_id = ?".into(),
                    texts([kind.as_str(), id.as_str()]),
                ),
                TargetPattern::Type(kind) => ("target_type = ?".into(), texts([kind.as_str()])),
                TargetPattern::Id(id) => ("target_id = ?".into(), texts([id.as_str()])),
            })
            .collect()),
        Term::Ip(nets) => or(nets
            .iter()
            .map(|n| {
                let (lo, hi) = (ip_key(n.network()), ip_key(n.broadcast()));
                (
                    "ip_key BETWEEN ? AND ?".into(),
                    vec![SqlValue::Blob(lo), SqlValue::Blob(hi)],
                )
            })
            .collect()),
        Term::After(b) => (
            "occurred_at >= ?".into(),
            vec![SqlValue::Integer(micros(&b.instant(tz)))],
        ),
        Term::Before(b) => (
            "occurred_at < ?".into(),
            vec![SqlValue::Integer(micros(&b.instant(tz)))],
        ),
        Term::On(days) => or(days
            .iter()
            .map(|d| range(day_start(tz, *d), day_start(tz, *d + Duration::days(1))))
            .collect()),
        Term::Mark(_) => ("0".into(), vec![]),
        Term::Has(v) => or(v
            .iter()
            .map(|h| {
                let sql = match h {
                    Has::Comment | Has::Mark => "0",
                    Has::Changes => "changes IS NOT NULL AND changes <> '[]'",
                    Has::Reason => "reason IS NOT NULL",
                    Has::Target => "target_type IS NOT NULL",
                    Has::Ip => "ip IS NOT NULL",
                    Has::Details => "details IS NOT NULL",
                };
                (sql.to_owned(), vec![])
            })
            .collect()),
        Term::Text { text, .. } => (
            "seq IN (SELECT rowid FROM events_fts WHERE events_fts MATCH ?)".into(),
            vec![SqlValue::Text(fts_phrase(text))],
        ),
    }
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &Row<'_>,
    i: usize,
) -> rusqlite::Result<Option<T>> {
    let text: Option<String> = row.get(i)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    })
    .transpose()
}

fn parsed<T: std::str::FromStr>(row: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let s: String = row.get(i)?;
    s.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("unexpected value {s:?}").into(),
        )
    })
}

/// Rebuilds a stored event from a row selected with [`COLUMNS`].
pub fn stored_event(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let id: [u8; 16] = row.get(1)?;
    let hash: Vec<u8> = row.get(23)?;
    let target_type: Option<String> = row.get(13)?;
    let actor_kind: Option<String> = row.get(7)?;
    let ip: Option<String> = row.get(17)?;
    Ok(StoredEvent {
        seq: row.get::<_, i64>(0)? as u64,
        received_at: from_micros(row.get(3)?),
        hash: hex::encode(hash),
        event: Event {
            id: uuid::Uuid::from_bytes(id),
            occurred_at: from_micros(row.get(2)?),
            actor: Actor {
                id: row.get(4)?,
                name: row.get(5)?,
                role: row.get(6)?,
                kind: actor_kind.and_then(|k| k.parse().ok()),
            },
            action: row.get(8)?,
            kind: parsed(row, 9)?,
            section: row.get(10)?,
            severity: parsed(row, 11)?,
            outcome: parsed(row, 12)?,
            target: match target_type {
                Some(kind) => Some(Target {
                    kind,
                    id: row.get(14)?,
                    name: row.get(15)?,
                }),
                None => None,
            },
            changes: json_column(row, 16)?,
            ip: ip.and_then(|s| s.parse().ok()),
            user_agent: row.get(18)?,
            session_id: row.get(19)?,
            request_id: row.get(20)?,
            reason: row.get(21)?,
            details: json_column(row, 22)?,
        },
    })
}
