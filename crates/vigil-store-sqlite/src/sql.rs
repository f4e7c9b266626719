//! Rows → events.

use chrono::{DateTime, Utc};
use rusqlite::Row;
use vigil_core::{Actor, Event, StoredEvent, Target};

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

/// A view of the entry in a row selected with [`COLUMNS`], borrowing its text.
pub fn entry_view<'a>(row: &'a Row<'_>) -> rusqlite::Result<vigil_core::EntryView<'a>> {
    let maybe = |i: usize| -> rusqlite::Result<Option<&'a str>> {
        row.get_ref(i)?.as_str_or_null().map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
        })
    };
    let text = |i: usize| -> rusqlite::Result<&'a str> {
        maybe(i)?.ok_or_else(|| {
            let name = COLUMNS.split(',').nth(i).unwrap_or_default().trim();
            rusqlite::Error::InvalidColumnType(i, name.to_owned(), rusqlite::types::Type::Null)
        })
    };
    let id: [u8; 16] = row.get(1)?;
    let target = match maybe(13)? {
        Some(kind) => Some((kind, text(14)?, maybe(15)?)),
        None => None,
    };
    Ok(vigil_core::EntryView {
        seq: row.get::<_, i64>(0)? as u64,
        received_at: row.get(3)?,
        hash: row.get_ref(23)?.as_blob()?,
        id: uuid::Uuid::from_bytes(id),
        occurred_at: row.get(2)?,
        actor_id: text(4)?,
        actor_name: maybe(5)?,
        actor_role: maybe(6)?,
        actor_kind: maybe(7)?,
        action: text(8)?,
        kind: text(9)?,
        section: text(10)?,
        severity: text(11)?,
        outcome: text(12)?,
        target,
        changes: maybe(16)?,
        ip: maybe(17)?,
        user_agent: maybe(18)?,
        session_id: maybe(19)?,
        request_id: maybe(20)?,
        reason: maybe(21)?,
        details: maybe(22)?,
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
