//! Alert channels and rules, the evaluation cursor, and the outbox of deliveries.

use async_trait::async_trait;
use vigil_core::Event;
use vigil_store::{AlertItemChange, AlertStore};

use crate::SqliteStore;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row, Transaction, TransactionBehavior};
use vigil_store::{
    AlertItem, AlertItemKind, AlertMatch, Attempt, Delivery, DeliveryCounts, DeliveryFilter,
    DeliveryKind, DeliveryStatus, QueuedDelivery, StoreError, DIGEST_KEPT, QUEUED_PER_RECORD,
};

use crate::sql::{from_micros, micros};

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn table(kind: AlertItemKind) -> &'static str {
    match kind {
        AlertItemKind::Channel => "alert_channels",
        AlertItemKind::Rule => "alert_rules",
    }
}

pub fn items(conn: &Connection, kind: AlertItemKind) -> Result<Vec<AlertItem>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT name, spec, created_at, created_by FROM {} ORDER BY name",
            table(kind)
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(AlertItem {
                name: r.get(0)?,
                spec: r.get(1)?,
                created_at: from_micros(r.get(2)?),
                created_by: r.get(3)?,
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn add_item(
    conn: &Connection,
    kind: AlertItemKind,
    item: &AlertItem,
) -> Result<(), StoreError> {
    conn.execute(
        &format!(
            "INSERT INTO {} (name, spec, created_at, created_by) VALUES (?, ?, ?, ?)",
            table(kind)
        ),
        params![
            item.name,
            item.spec,
            micros(&item.created_at),
            item.created_by
        ],
    )
    .map(drop)
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict {
            message: format!("{} {:?} already exists", kind.as_str(), item.name),
            index: None,
        },
        _ => db(e),
    })
}

pub fn remove_item(conn: &Connection, kind: AlertItemKind, name: &str) -> Result<(), StoreError> {
    let n = conn
        .execute(
            &format!("DELETE FROM {} WHERE name = ?", table(kind)),
            [name],
        )
        .map_err(db)?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("{} {name:?}", kind.as_str())));
    }
    Ok(())
}

pub fn cursor(conn: &Connection) -> Result<Option<u64>, StoreError> {
    conn.query_row(
        "SELECT value FROM alert_state WHERE key = 'evaluated_seq'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map(|v| v.map(|v| v as u64))
    .map_err(db)
}

const DELIVERY_COLUMNS: &str = "id, rule, channel, kind, seqs, status, attempts, due_at, next_at, \
    last_error, created_at, sent_at, matches, journal_seq";

fn delivery(r: &Row<'_>) -> rusqlite::Result<Delivery> {
    let bad = |i: usize, e: String| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, e.into())
    };
    let kind: String = r.get(3)?;
    let seqs: String = r.get(4)?;
    let status: String = r.get(5)?;
    Ok(Delivery {
        id: r.get::<_, i64>(0)? as u64,
        rule: r.get(1)?,
        channel: r.get(2)?,
        kind: match kind.as_str() {
            "event" => DeliveryKind::Event,
            "digest" => DeliveryKind::Digest,
            "test" => DeliveryKind::Test,
            "checkpoint" => DeliveryKind::Checkpoint,
            other => return Err(bad(3, format!("unknown delivery kind {other:?}"))),
        },
        seqs: serde_json::from_str(&seqs).map_err(|e| bad(4, e.to_string()))?,
        status: status.parse().map_err(|e| bad(5, e))?,
        attempts: r.get::<_, i64>(6)? as u32,
        due_at: from_micros(r.get(7)?),
        next_at: from_micros(r.get(8)?),
        last_error: r.get(9)?,
        created_at: from_micros(r.get(10)?),
        sent_at: r.get::<_, Option<i64>>(11)?.map(from_micros),
        matches: r.get::<_, i64>(12)? as u64,
        journal_seq: r.get::<_, i64>(13)? as u64,
    })
}

fn insert(
    conn: &Connection,
    m: &AlertMatch,
    kind: DeliveryKind,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> rusqlite::Result<QueuedDelivery> {
    conn.prepare_cached(
        "INSERT INTO alert_deliveries (rule, channel, kind, seqs, matches, status, attempts, \
         sending, due_at, next_at, created_at) VALUES (?, ?, ?, ?, 1, 'pending', 0, 0, ?, ?, ?)",
    )?
    .execute(params![
        m.rule,
        m.channel,
        kind.as_str(),
        format!("[{}]", m.seq),
        micros(&due),
        micros(&due),
        micros(&now)
    ])?;
    Ok(QueuedDelivery {
        delivery: conn.last_insert_rowid() as u64,
        rule: m.rule.clone(),
        channel: m.channel.clone(),
        kind: kind.as_str().to_owned(),
        entry: m.seq,
        joined: false,
    })
}

/// Schedules one match: at once without a window; with one, into the digest that has not gone
/// out yet, or a new digest due when the last message's window ends, or at once if that window
/// is over. Returns what the journal records of it.
fn schedule(
    conn: &Connection,
    m: &AlertMatch,
    now: DateTime<Utc>,
) -> rusqlite::Result<QueuedDelivery> {
    let Some(window) = m.window else {
        return insert(conn, m, DeliveryKind::Event, now, now);
    };
    let last: Option<(i64, String, String, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT id, kind, status, attempts, sending, due_at FROM alert_deliveries \
             WHERE rule = ? AND channel = ? AND kind IN ('event', 'digest') \
             ORDER BY due_at DESC, id DESC LIMIT 1",
        )?
        .query_row(params![m.rule, m.channel], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?;
    let Some((id, kind, status, attempts, sending, due)) = last else {
        return insert(conn, m, DeliveryKind::Event, now, now);
    };
    let due = from_micros(due);
    let waiting = kind == "digest" && status == "pending" && attempts == 0 && sending == 0;
    if waiting {
        conn.prepare_cached(
            "UPDATE alert_deliveries SET matches = matches + 1, seqs = CASE \
             WHEN json_array_length(seqs) < ? THEN json_insert(seqs, '$[#]', ?) ELSE seqs END \
             WHERE id = ?",
        )?
        .execute(params![DIGEST_KEPT as i64, m.seq as i64, id])?;
        return Ok(QueuedDelivery {
            delivery: id as u64,
            rule: m.rule.clone(),
            channel: m.channel.clone(),
            kind: DeliveryKind::Digest.as_str().to_owned(),
            entry: m.seq,
            joined: true,
        });
    }
    let window_end = due + window;
    if window_end > now {
        insert(conn, m, DeliveryKind::Digest, window_end, now)
    } else {
        insert(conn, m, DeliveryKind::Event, now, now)
    }
}

fn save_cursor(conn: &Connection, through: u64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO alert_state (key, value) VALUES ('evaluated_seq', ?) \
         ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
    )
    .map_err(db)?
    .execute([through as i64])
    .map(drop)
    .map_err(db)
}

/// Moves the cursor when nothing matched (nothing for the journal to record).
pub fn advance_cursor(conn: &Connection, through: u64) -> Result<(), StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(db)?;
    save_cursor(&tx, through)?;
    tx.commit().map_err(db)
}

/// Records matches as deliveries, and in the journal, inside the writer's transaction.
fn record_matches(
    conn: &Connection,
    chain: &mut crate::writer::Chain,
    through: u64,
    matches: &[AlertMatch],
    now: DateTime<Utc>,
    record: Event,
) -> Result<(), StoreError> {
    let mut queued = Vec::with_capacity(matches.len());
    for m in matches {
        queued.push(schedule(conn, m, now).map_err(db)?);
    }
    for (i, part) in queued.chunks(QUEUED_PER_RECORD).enumerate() {
        let mut entry = record.clone();
        if i > 0 {
            entry.id = uuid::Uuid::now_v7();
        }
        let details = entry.details.get_or_insert_with(Default::default);
        details.insert("through".into(), through.into());
        details.insert(
            "deliveries".into(),
            serde_json::to_value(part).expect("records serialize"),
        );
        let appended = chain.append(conn, &[entry])?;
        let Some(seq) = appended.first().filter(|a| !a.duplicate).map(|a| a.seq) else {
            return Err(StoreError::Conflict {
                message: "the entry recording queued deliveries has an id already in the journal"
                    .into(),
                index: None,
            });
        };
        let mut set = conn
            .prepare_cached("UPDATE alert_deliveries SET journal_seq = ? WHERE id = ?")
            .map_err(db)?;
        for q in part.iter().filter(|q| !q.joined) {
            set.execute(params![seq as i64, q.delivery as i64])
                .map_err(db)?;
        }
    }
    save_cursor(conn, through)
}

fn by_id(conn: &Connection, id: u64) -> Result<Delivery, StoreError> {
    conn.prepare_cached(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE id = ?"
    ))
    .map_err(db)?
    .query_row([id as i64], delivery)
    .optional()
    .map_err(db)?
    .ok_or_else(|| StoreError::NotFound(format!("delivery {id}")))
}

pub fn start_test(
    conn: &Connection,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<Delivery, StoreError> {
    conn.execute(
        "INSERT INTO alert_deliveries (rule, channel, kind, seqs, matches, status, attempts, \
         sending, due_at, next_at, created_at) VALUES ('', ?, 'test', '[]', 0, 'pending', 1, 1, ?, ?, ?)",
        params![channel, micros(&now), micros(&now), micros(&now)],
    )
    .map_err(db)?;
    by_id(conn, conn.last_insert_rowid() as u64)
}

pub fn claim(
    conn: &Connection,
    now: DateTime<Utc>,
    limit: usize,
    per_channel: usize,
) -> Result<Vec<Delivery>, StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(db)?;
    // Per channel, the oldest due first, as many as leave at most `per_channel` claimed.
    let mut due: Vec<Delivery> = tx
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM ( \
               SELECT d.*, row_number() OVER (PARTITION BY channel ORDER BY next_at, id) AS rn, \
                 (SELECT count(*) FROM alert_deliveries s \
                  WHERE s.sending = 1 AND s.channel = d.channel) AS busy \
               FROM alert_deliveries d \
               WHERE status = 'pending' AND sending = 0 AND next_at <= ?1) \
             WHERE rn + busy <= ?2 ORDER BY next_at, id LIMIT ?3"
        ))
        .map_err(db)?
        .query_map(
            params![micros(&now), per_channel as i64, limit as i64],
            delivery,
        )
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    for d in &mut due {
        tx.prepare_cached(
            "UPDATE alert_deliveries SET sending = 1, attempts = attempts + 1 WHERE id = ?",
        )
        .map_err(db)?
        .execute([d.id as i64])
        .map_err(db)?;
        d.attempts += 1;
    }
    tx.commit().map_err(db)?;
    Ok(due)
}

pub fn finish(conn: &Connection, id: u64, attempt: &Attempt) -> Result<(), StoreError> {
    let n = match attempt {
        Attempt::Sent(at) => conn.execute(
            "UPDATE alert_deliveries SET status = 'sent', sending = 0, sent_at = ? \
             WHERE id = ? AND status = 'pending'",
            params![micros(at), id as i64],
        ),
        Attempt::Failed {
            error,
            retry_at: Some(at),
        } => conn.execute(
            "UPDATE alert_deliveries SET sending = 0, last_error = ?, next_at = ? \
             WHERE id = ? AND status = 'pending'",
            params![error, micros(at), id as i64],
        ),
        Attempt::Failed {
            error,
            retry_at: None,
        } => conn.execute(
            "UPDATE alert_deliveries SET status = 'failed', sending = 0, last_error = ? \
             WHERE id = ? AND status = 'pending'",
            params![error, id as i64],
        ),
    }
    .map_err(db)?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("pending delivery {id}")));
    }
    Ok(())
}

pub fn release(conn: &Connection) -> Result<u64, StoreError> {
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(db)?;
    tx.execute(
        "UPDATE alert_deliveries SET status = 'failed', sending = 0, \
         last_error = 'the server stopped before the test message was sent' \
         WHERE sending = 1 AND kind = 'test'",
        [],
    )
    .map_err(db)?;
    let n = tx
        .execute(
            "UPDATE alert_deliveries SET sending = 0 WHERE sending = 1",
            [],
        )
        .map_err(db)?;
    tx.commit().map_err(db)?;
    Ok(n as u64)
}

pub fn next_due(
    conn: &Connection,
    per_channel: usize,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    conn.prepare_cached(
        "SELECT min(next_at) FROM alert_deliveries d \
         WHERE status = 'pending' AND sending = 0 AND (SELECT count(*) FROM alert_deliveries s \
           WHERE s.sending = 1 AND s.channel = d.channel) < ?",
    )
    .map_err(db)?
    .query_row([per_channel as i64], |r| r.get::<_, Option<i64>>(0))
    .map(|v| v.map(from_micros))
    .map_err(db)
}

pub fn list(conn: &Connection, f: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM alert_deliveries \
             WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR rule = ?2) \
             AND (?3 IS NULL OR channel = ?3) AND (?4 IS NULL OR id < ?4) \
             ORDER BY id DESC LIMIT ?5"
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map(
            params![
                f.status.map(DeliveryStatus::as_str),
                f.rule,
                f.channel,
                f.before_id.map(|i| i as i64),
                f.limit as i64
            ],
            delivery,
        )
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn counts(conn: &Connection) -> Result<DeliveryCounts, StoreError> {
    let mut c = DeliveryCounts::default();
    let mut stmt = conn
        .prepare_cached("SELECT status, count(*) FROM alert_deliveries GROUP BY status")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map_err(db)?;
    for row in rows {
        match row.map_err(db)? {
            (s, n) if s == "pending" => c.pending = n,
            (s, n) if s == "sent" => c.sent = n,
            (_, n) => c.failed += n,
        }
    }
    Ok(c)
}

pub fn retry(conn: &Connection, id: u64, now: DateTime<Utc>) -> Result<Delivery, StoreError> {
    let d = by_id(conn, id)?;
    if d.kind == DeliveryKind::Test {
        return Err(StoreError::Conflict {
            message: format!("delivery {id} is a test message: send a new one instead"),
            index: None,
        });
    }
    if d.status != DeliveryStatus::Failed {
        return Err(StoreError::Conflict {
            message: format!("delivery {id} is {}, not failed", d.status.as_str()),
            index: None,
        });
    }
    conn.execute(
        "UPDATE alert_deliveries SET status = 'pending', next_at = ?1, due_at = ?1 \
         WHERE id = ?2 AND status = 'failed'",
        params![micros(&now), id as i64],
    )
    .map_err(db)?;
    by_id(conn, id)
}

#[async_trait]
impl AlertStore for SqliteStore {
    async fn alert_items(&self, kind: AlertItemKind) -> Result<Vec<AlertItem>, StoreError> {
        self.read(move |conn| items(conn, kind)).await
    }

    async fn alert_cursor(&self) -> Result<Option<u64>, StoreError> {
        self.read(cursor).await
    }

    async fn record_matches(
        &self,
        through: u64,
        matches: Vec<AlertMatch>,
        now: chrono::DateTime<chrono::Utc>,
        record: Event,
    ) -> Result<(), StoreError> {
        if matches.is_empty() {
            return self
                .write_beside(move |conn| advance_cursor(conn, through))
                .await;
        }
        // The deliveries, the journal's record of them and the cursor, all or nothing.
        self.write(matches.len(), move |conn, chain| {
            record_matches(conn, chain, through, &matches, now, record)
        })
        .await
    }

    async fn start_test_delivery(
        &self,
        channel: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, StoreError> {
        let channel = channel.to_owned();
        self.write_beside(move |conn| start_test(conn, &channel, now))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
        per_channel: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.write_beside(move |conn| claim(conn, now, limit, per_channel))
            .await
    }

    async fn finish_delivery(&self, id: u64, attempt: Attempt) -> Result<(), StoreError> {
        self.write_beside(move |conn| finish(conn, id, &attempt))
            .await
    }

    async fn release_deliveries(&self) -> Result<u64, StoreError> {
        self.write_beside(release).await
    }

    async fn next_delivery_due(
        &self,
        per_channel: usize,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.read(move |conn| next_due(conn, per_channel)).await
    }

    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| list(conn, &filter)).await
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        self.read(counts).await
    }

    async fn retry_delivery(
        &self,
        id: u64,
        now: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<Delivery, StoreError> {
        self.write(1, move |conn, chain| {
            let d = retry(conn, id, now)?;
            chain.append(conn, &[journal])?;
            Ok(d)
        })
        .await
    }

    async fn delivery(&self, id: u64) -> Result<Delivery, StoreError> {
        self.read(move |conn| by_id(conn, id)).await
    }

    async fn change_alert_item(
        &self,
        change: AlertItemChange,
        journal: Event,
    ) -> Result<(), StoreError> {
        self.write(1, move |conn, chain| {
            match &change {
                AlertItemChange::Add(kind, item) => add_item(conn, *kind, item)?,
                AlertItemChange::Remove(kind, name) => remove_item(conn, *kind, name)?,
            }
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }
}
