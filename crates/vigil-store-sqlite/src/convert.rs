//! Moves a journal of schema version 5 or older (one column per field) to bodies, once, when a
//! newer `vigil serve` opens it: in one transaction with the rest of the schema (all or
//! nothing), then the file is compacted.
//!
//! Each field's stored text is copied as it is (no parsing), so a row that was changed outside
//! Vigil keeps exactly what it held, and `vigil verify` names it after the move as before. The
//! hashes are copied too: they are over the canonical encoding of the fields, which the bodies
//! give back unchanged.

use rusqlite::Connection;

use crate::body::{self, Codec, Packer};

/// The columns of the old table: seq, id, occurred_at, received_at, the text fields in
/// [`body::FIELD_NAMES`]'s order, hash.
const OLD_COLUMNS: &str = "seq, id, occurred_at, received_at, actor_id, actor_name, actor_role, actor_kind, action, \
    kind, section, severity, outcome, target_type, target_id, target_name, changes, ip, user_agent, session_id, \
    request_id, reason, details, hash";

/// Entries between two lines in the log.
const TELL_EVERY: u64 = 1_000_000;

/// Moves the entries, then runs `finish` (the rest of the schema and its version) in the same
/// transaction. Foreign keys are off meanwhile (the annotations' references to the journal's seq
/// stay valid: the seqs do not change).
pub(crate) fn to_bodies(
    conn: &Connection,
    finish: impl FnOnce(&Connection) -> rusqlite::Result<()>,
) -> rusqlite::Result<()> {
    conn.pragma_update(None, "foreign_keys", "OFF")?;
    let moved = (|| {
        conn.execute_batch("BEGIN IMMEDIATE")?;
        // Another process may have moved it while this one waited for the lock.
        let moved = match crate::schema::has_columns(conn) {
            Ok(true) => move_entries(conn),
            Ok(false) => Ok(0),
            Err(e) => Err(e),
        };
        match moved.and_then(|n| finish(conn).map(|()| n)) {
            Ok(n) => conn.execute_batch("COMMIT").map(|()| n),
            Err(e) => {
                let _ = conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    })();
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if moved? == 0 {
        return Ok(());
    }
    // Compacting gives the freed pages back to the disk; the journal is complete without it.
    // Its copy goes to a temporary file, not memory (temp_store is MEMORY otherwise).
    tracing::info!("journal moved to compressed bodies; compacting the file");
    let compacted = conn
        .pragma_update(None, "temp_store", "FILE")
        .and_then(|()| conn.execute_batch("VACUUM"))
        .and_then(|()| conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())));
    if let Err(e) = compacted {
        tracing::warn!(error = %e, "the moved journal could not be compacted (it is complete; VACUUM it later)");
    }
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(())
}

fn move_entries(conn: &Connection) -> rusqlite::Result<u64> {
    conn.execute_batch(crate::schema::DICTIONARIES)?;
    conn.execute_batch(
        "CREATE TABLE events_v6 (
            seq          INTEGER PRIMARY KEY,
            id           BLOB    NOT NULL UNIQUE,
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
    let mut raw = Vec::new();
    if codec.due(head as u64) {
        let mut stmt = conn.prepare(&format!(
            "SELECT {OLD_COLUMNS} FROM events ORDER BY seq DESC LIMIT ?"
        ))?;
        let mut rows = stmt.query([body::TRAINING_SAMPLES as i64])?;
        let mut samples = body::Samples::default();
        while let Some(row) = rows.next()? {
            old_raw(row, &mut raw)?;
            if !samples.take(&raw) {
                break;
            }
        }
        if let Some(dict) = body::train(&samples.into_inner()) {
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
        old_raw(row, &mut raw)?;
        codec.pack_raw(&mut packer, &raw, &mut stored);
        write.execute(rusqlite::params![
            rusqlite::types::Value::from(row.get_ref(0)?),
            rusqlite::types::Value::from(row.get_ref(1)?),
            rusqlite::types::Value::from(row.get_ref(3)?),
            stored,
            rusqlite::types::Value::from(row.get_ref(23)?),
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

/// The raw form of an old row: its time and its fields' text as stored.
fn old_raw(row: &rusqlite::Row<'_>, out: &mut Vec<u8>) -> rusqlite::Result<()> {
    let occurred_at: i64 = row.get(2).map_err(|e| {
        let seq = row.get::<_, i64>(0).unwrap_or_default();
        rusqlite::Error::FromSqlConversionFailure(
            2,
            rusqlite::types::Type::Integer,
            format!(
                "journal entry seq {seq}: occurred_at is not a time ({e}); the file was changed \
                 outside vigil: run `vigil verify` of the previous version on it"
            )
            .into(),
        )
    })?;
    let mut text: [Option<&str>; body::FIELDS] = [None; body::FIELDS];
    // The old columns had no sender nor anything after it: those fields stay absent.
    for (i, slot) in text.iter_mut().take(body::SENDER).enumerate() {
        *slot = row.get_ref(4 + i)?.as_str_or_null()?;
    }
    body::encode_fields(occurred_at, &text, out);
    Ok(())
}
