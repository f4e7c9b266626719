//! Moves a journal of schema version 5 or older (one column per field) to bodies, once, when a
//! newer vigil opens it: in one transaction (all or nothing), then the file is compacted.
//!
//! The hashes are copied as they are: they are over the canonical encoding of the fields, which
//! the bodies give back unchanged, so `vigil verify` passes after the move exactly when it passed
//! before.

use chrono::DateTime;
use rusqlite::{Connection, Row};
use vigil_core::{Actor, Event, StoredEvent, Target};

use crate::body::{self, Codec, Packer};

/// The columns of the old table.
const OLD_COLUMNS: &str = "seq, id, occurred_at, received_at, actor_id, actor_name, actor_role, actor_kind, action, \
    kind, section, severity, outcome, target_type, target_id, target_name, changes, ip, user_agent, session_id, \
    request_id, reason, details, hash";

/// Entries between two lines in the log.
const TELL_EVERY: u64 = 1_000_000;

pub(crate) fn to_bodies(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let moved = (|| {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        match move_entries(conn) {
            Ok(n) => conn.execute_batch("COMMIT").map(|()| n),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    let moved = moved?;
    tracing::info!(
        entries = moved,
        "journal moved to compressed bodies; compacting the file"
    );
    conn.execute_batch("VACUUM")?;
    Ok(())
}

fn move_entries(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute_batch(
        "CREATE TABLE events_v6 (
            seq          INTEGER PRIMARY KEY,
            id           BLOB    NOT NULL,
            received_at  INTEGER NOT NULL,
            body         BLOB    NOT NULL,
            hash         BLOB    NOT NULL
        );",
    )?;
    let codec = Codec::default();
    let total: i64 = conn.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    let head: i64 = conn.query_row("SELECT ifnull(max(seq), 0) FROM events", [], |r| r.get(0))?;
    tracing::info!(
        entries = total,
        "moving the journal to compressed bodies (schema version 6), once"
    );
    if codec.due(head as u64) {
        let mut stmt = conn.prepare(&format!(
            "SELECT {OLD_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?"
        ))?;
        let mut rows = stmt.query([body::TRAINING_SAMPLES as i64])?;
        let mut samples = Vec::new();
        while let Some(row) = rows.next()? {
            let mut raw = Vec::new();
            body::encode(&old_entry(row)?.event, &mut raw);
            samples.push(raw);
        }
        if let Some(dict) = body::train(&samples) {
            let now = chrono::Utc::now().timestamp_micros();
            let id = body::store(conn, &dict, head as u64, now)?;
            codec.install(id, dict, head as u64);
        }
    }
    let mut read = conn.prepare(&format!("SELECT {OLD_COLUMNS} FROM events ORDER BY seq"))?;
    let mut write = conn.prepare(
        "INSERT INTO events_v6 (seq, id, received_at, body, hash) VALUES (?, ?, ?, ?, ?)",
    )?;
    let (mut packer, mut stored) = (Packer::default(), Vec::new());
    let mut rows = read.query([])?;
    let mut moved = 0u64;
    while let Some(row) = rows.next()? {
        let e = old_entry(row)?;
        let hash: Vec<u8> = row.get(23)?;
        codec.pack(&mut packer, &e.event, &mut stored);
        write.execute(rusqlite::params![
            e.seq as i64,
            e.event.id.as_bytes().as_slice(),
            e.received_at.timestamp_micros(),
            stored,
            hash,
        ])?;
        moved += 1;
        if moved.is_multiple_of(TELL_EVERY) {
            tracing::info!(moved, of = total, "moving the journal to compressed bodies");
        }
    }
    drop(rows);
    conn.execute_batch("DROP TABLE events; ALTER TABLE events_v6 RENAME TO events;")?;
    Ok(moved)
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
        let seq = row.get::<_, i64>(0).unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Text,
            format!("journal entry seq {seq}: unexpected value {s:?}; run vigil verify").into(),
        )
    })
}

fn from_micros(m: i64) -> DateTime<chrono::Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or_default()
}

/// An entry as the old table held it (the reading of schema version 5, unchanged).
fn old_entry(row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let id: [u8; 16] = row.get(1)?;
    let target_type: Option<String> = row.get(13)?;
    let actor_kind: Option<String> = row.get(7)?;
    let ip: Option<String> = row.get(17)?;
    Ok(StoredEvent {
        seq: row.get::<_, i64>(0)? as u64,
        received_at: from_micros(row.get(3)?),
        hash: String::new(),
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
