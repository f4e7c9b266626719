//! Rows → entries.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Row};
use vigil_core::{Actor, EntryView, Event, StoredEvent, Target};

use crate::body::{self, Codec, Damaged, Unpacker};

/// The columns read to rebuild an entry, in the order [`Reader`] expects.
pub const COLUMNS: &str = "seq, id, received_at, body, hash, salt";

/// µs since the epoch.
pub fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

/// Back from µs since the epoch.
pub fn from_micros(m: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(m).unwrap_or_default()
}

fn damaged(e: Damaged) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Blob, Box::new(e))
}

/// Reads entries from rows selected with [`COLUMNS`]: unpacks their bodies (loading a
/// dictionary from `conn` when one is new to this process).
pub struct Reader<'c> {
    conn: &'c Connection,
    codec: &'c Codec,
    unpacker: Unpacker,
}

impl<'c> Reader<'c> {
    pub fn new(conn: &'c Connection, codec: &'c Codec) -> Self {
        Reader {
            conn,
            codec,
            unpacker: Unpacker::default(),
        }
    }

    /// A view of the entry in `row`, borrowing the row and this reader's buffer.
    pub fn view<'r>(&'r mut self, row: &'r Row<'_>) -> rusqlite::Result<EntryView<'r>> {
        let seq = row.get::<_, i64>(0)? as u64;
        let id: [u8; 16] = row.get(1)?;
        let received_at: i64 = row.get(2)?;
        let stored = row.get_ref(3)?.as_blob()?;
        let hash = row.get_ref(4)?.as_blob()?;
        let salt = row.get_ref(5)?.as_blob_or_null()?;
        let raw = self
            .codec
            .unpack(self.conn, &mut self.unpacker, seq, stored)
            .map_err(damaged)?;
        let mut view = body::fields(seq, raw)
            .and_then(|f| f.view(seq, uuid::Uuid::from_bytes(id), received_at, hash))
            .map_err(damaged)?;
        view.salt = salt;
        Ok(view)
    }

    /// The entry in `row`.
    pub fn stored(&mut self, row: &Row<'_>) -> rusqlite::Result<StoredEvent> {
        let view = self.view(row)?;
        stored_event(&view).map_err(damaged)
    }
}

/// An owned entry from a view: the enums and JSON fields parsed (an actor kind or an address
/// that no longer parses is left out, as before).
pub fn stored_event(v: &EntryView<'_>) -> Result<StoredEvent, Damaged> {
    let damaged = |what: &str, why: String| Damaged {
        seq: v.seq,
        why: format!("{what}: {why}"),
    };
    let parsed = |what: &str, s: &str| damaged(what, format!("unexpected value {s:?}"));
    Ok(StoredEvent {
        seq: v.seq,
        received_at: from_micros(v.received_at),
        hash: hex::encode(v.hash),
        salt: match v.salt {
            None => None,
            Some(salt) => Some(salt.try_into().map_err(|_| Damaged {
                seq: v.seq,
                why: format!("salt: {} bytes, not 16", salt.len()),
            })?),
        },
        event: Event {
            id: v.id,
            occurred_at: from_micros(v.occurred_at),
            actor: Actor {
                id: v.actor_id.to_owned(),
                name: v.actor_name.map(str::to_owned),
                role: v.actor_role.map(str::to_owned),
                kind: v.actor_kind.and_then(|k| k.parse().ok()),
            },
            on_behalf_of: v
                .on_behalf_of
                .map(|(kind, id, name)| vigil_core::Principal {
                    kind: kind.map(str::to_owned),
                    id: id.to_owned(),
                    name: name.map(str::to_owned),
                }),
            action: v.action.to_owned(),
            kind: v.kind.parse().map_err(|_| parsed("kind", v.kind))?,
            section: v.section.to_owned(),
            severity: v
                .severity
                .parse()
                .map_err(|_| parsed("severity", v.severity))?,
            outcome: v
                .outcome
                .parse()
                .map_err(|_| parsed("outcome", v.outcome))?,
            target: v.target.map(|(kind, id, name)| Target {
                kind: kind.to_owned(),
                id: id.to_owned(),
                name: name.map(str::to_owned),
            }),
            changes: json(v.seq, "changes", v.changes)?,
            ip: v.ip.and_then(|s| s.parse().ok()),
            user_agent: v.user_agent.map(str::to_owned),
            session_id: v.session_id.map(str::to_owned),
            request_id: v.request_id.map(str::to_owned),
            correlation_id: v.correlation_id.map(str::to_owned),
            reason: v.reason.map(str::to_owned),
            details: json::<vigil_core::json::Plain>(v.seq, "details", v.details)?
                .map(|vigil_core::json::Plain(d)| match d {
                    serde_json::Value::Object(m) => Ok(m),
                    _ => Err(Damaged {
                        seq: v.seq,
                        why: "details: not an object".into(),
                    }),
                })
                .transpose()?,
            source_seq: v.source_seq,
            stream: v.stream.map(str::to_owned),
            sender: v.sender.map(str::to_owned),
        },
    })
}

fn json<T: serde::de::DeserializeOwned>(
    seq: u64,
    what: &str,
    text: Option<&str>,
) -> Result<Option<T>, Damaged> {
    text.map(|t| {
        serde_json::from_str(t).map_err(|e| Damaged {
            seq,
            why: format!("{what}: {e}"),
        })
    })
    .transpose()
}
