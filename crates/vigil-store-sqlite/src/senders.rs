//! Senders (schema version 10): what each sender sent, by hour, and each of its numberings
//! (`source_seq` per stream) with the ranges of numbers that never arrived. Recorded by the
//! writer in the transaction that appends the entries, so that it always agrees with the
//! journal; a gap is journaled when it has stayed open past a grace period, and again when it
//! is filled.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use vigil_core::Event;
use vigil_store::{
    Gap, GapEvent, GapNews, SenderActivity, SenderReport, SenderStore, Silence, StoreError,
    StreamReport,
};

use crate::sql::{from_micros, micros};
use crate::writer::Chain;
use crate::SqliteStore;

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

/// µs in an hour.
const HOUR: i64 = 3_600_000_000;
/// At most how many gaps of a stream a report lists.
const LISTED_GAPS: usize = 1000;
/// At most how many streams of a sender a report lists (those with gaps first).
const LISTED_STREAMS: usize = 100;

/// Records the entries just appended (`new`: each event with its seq), in the writer's
/// transaction.
pub(crate) fn record(conn: &Connection, new: &[(&Event, u64)], now: i64) -> rusqlite::Result<()> {
    // Per sender: how many, and the newest seq.
    let mut per_sender: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (e, seq) in new {
        if let Some(sender) = e.sender.as_deref() {
            let s = per_sender.entry(sender).or_default();
            s.0 += 1;
            s.1 = s.1.max(*seq);
        }
    }
    if per_sender.is_empty() {
        return Ok(());
    }
    let mut sender = conn.prepare_cached(
        "INSERT INTO senders (name, first_at, last_at, last_entry, events) VALUES (?1, ?2, ?2, ?3, ?4)
         ON CONFLICT (name) DO UPDATE SET last_at = ?2, last_entry = max(last_entry, ?3),
             events = events + ?4",
    )?;
    let mut hour = conn.prepare_cached(
        "INSERT INTO sender_hours (sender, hour, events) VALUES (?1, ?2, ?3)
         ON CONFLICT (sender, hour) DO UPDATE SET events = events + ?3",
    )?;
    for (name, (count, last)) in &per_sender {
        sender.execute(params![name, now, *last as i64, *count as i64])?;
        hour.execute(params![name, now.div_euclid(HOUR), *count as i64])?;
    }
    // The numberings, in the order the entries were appended.
    let mut streams: HashMap<(&str, &str), Option<Stream>> = HashMap::new();
    for (e, _) in new {
        let (Some(sender), Some(n)) = (e.sender.as_deref(), e.source_seq) else {
            continue;
        };
        let key = (sender, e.stream.as_deref().unwrap_or(""));
        let state = match streams.get_mut(&key) {
            Some(s) => s,
            None => {
                let loaded = Stream::load(conn, key)?;
                streams.entry(key).or_insert(loaded)
            }
        };
        match state {
            None => {
                *state = Some(Stream {
                    low: n,
                    high: n,
                    events: 1,
                    repeats: 0,
                    last_repeat: None,
                })
            }
            Some(s) => {
                s.events += 1;
                if n > s.high {
                    if n > s.high + 1 {
                        open_gap(conn, key, s.high + 1, n - 1, now, None)?;
                    }
                    s.high = n;
                } else if n < s.low {
                    if n + 1 < s.low {
                        open_gap(conn, key, n + 1, s.low - 1, now, None)?;
                    }
                    s.low = n;
                } else if !fill(conn, key, n)? {
                    s.repeats += 1;
                    s.last_repeat = Some(n);
                }
            }
        }
    }
    let mut save = conn.prepare_cached(
        "INSERT OR REPLACE INTO sender_streams (sender, stream, low, high, events, repeats, last_repeat)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?;
    for ((sender, stream), s) in streams {
        let Some(s) = s else { continue };
        save.execute(params![
            sender,
            stream,
            s.low as i64,
            s.high as i64,
            s.events as i64,
            s.repeats as i64,
            s.last_repeat.map(|n| n as i64),
        ])?;
    }
    Ok(())
}

/// A numbering's state.
struct Stream {
    low: u64,
    high: u64,
    events: u64,
    repeats: u64,
    last_repeat: Option<u64>,
}

impl Stream {
    fn load(conn: &Connection, (sender, stream): (&str, &str)) -> rusqlite::Result<Option<Stream>> {
        conn.prepare_cached(
            "SELECT low, high, events, repeats, last_repeat FROM sender_streams
             WHERE sender = ? AND stream = ?",
        )?
        .query_row(params![sender, stream], |r| {
            Ok(Stream {
                low: r.get::<_, i64>(0)? as u64,
                high: r.get::<_, i64>(1)? as u64,
                events: r.get::<_, i64>(2)? as u64,
                repeats: r.get::<_, i64>(3)? as u64,
                last_repeat: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
            })
        })
        .optional()
    }
}

fn open_gap(
    conn: &Connection,
    (sender, stream): (&str, &str),
    first: u64,
    last: u64,
    opened_at: i64,
    reported_in: Option<i64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sender_gaps (sender, stream, first, last, opened_at, reported_in)
         VALUES (?, ?, ?, ?, ?, ?)",
    )?
    .execute(params![
        sender,
        stream,
        first as i64,
        last as i64,
        opened_at,
        reported_in
    ])?;
    Ok(())
}

/// Takes `n` out of the gap that holds it; false if no gap does (it arrived before).
fn fill(conn: &Connection, key: (&str, &str), n: u64) -> rusqlite::Result<bool> {
    let (sender, stream) = key;
    let gap = conn
        .prepare_cached(
            "SELECT first, last, opened_at, reported_in FROM sender_gaps
             WHERE sender = ? AND stream = ? AND first <= ? ORDER BY first DESC LIMIT 1",
        )?
        .query_row(params![sender, stream, n as i64], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as u64,
                r.get::<_, i64>(2)?,
                r.get::<_, Option<i64>>(3)?,
            ))
        })
        .optional()?;
    let Some((first, last, opened_at, reported_in)) = gap.filter(|g| g.1 >= n) else {
        return Ok(false);
    };
    conn.prepare_cached("DELETE FROM sender_gaps WHERE sender = ? AND stream = ? AND first = ?")?
        .execute(params![sender, stream, first as i64])?;
    if first < n {
        open_gap(conn, key, first, n - 1, opened_at, reported_in)?;
    }
    if n < last {
        open_gap(conn, key, n + 1, last, opened_at, reported_in)?;
    }
    Ok(true)
}

fn senders(conn: &Connection, now: i64) -> Result<Vec<SenderReport>, StoreError> {
    let mut out: Vec<SenderReport> = conn
        .prepare_cached(
            "SELECT name, first_at, last_at, last_entry, events,
                 (SELECT coalesce(sum(events), 0) FROM sender_hours
                  WHERE sender = name AND hour = ?1),
                 (SELECT coalesce(sum(events), 0) FROM sender_hours
                  WHERE sender = name AND hour = ?2),
                 silent_in
             FROM senders ORDER BY name",
        )
        .map_err(db)?
        .query_map(
            params![now.div_euclid(HOUR) - 1, now.div_euclid(HOUR)],
            |r| {
                // A sliding hour from two clock hours: this one's count, and the previous
                // one's in proportion to the part of it still within the hour.
                let (before, this): (i64, i64) = (r.get(5)?, r.get(6)?);
                let within = 1.0 - now.rem_euclid(HOUR) as f64 / HOUR as f64;
                let per_hour = this as f64 + before as f64 * within;
                Ok(SenderReport {
                    name: r.get(0)?,
                    first_at: from_micros(r.get(1)?),
                    last_at: from_micros(r.get(2)?),
                    last_entry: r.get::<_, i64>(3)? as u64,
                    events: r.get::<_, i64>(4)? as u64,
                    per_hour: per_hour.round() as u64,
                    silent_in: r.get::<_, Option<i64>>(7)?.map(|n| n as u64),
                    more_streams: 0,
                    streams: Vec::new(),
                })
            },
        )
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    // The streams listed: those with gaps first, then the others by name, at most
    // LISTED_STREAMS (a sender may open a stream per batch).
    let mut with_gaps = conn
        .prepare_cached("SELECT DISTINCT stream FROM sender_gaps WHERE sender = ? LIMIT ?")
        .map_err(db)?;
    let mut by_name = conn
        .prepare_cached(
            "SELECT stream FROM sender_streams WHERE sender = ? ORDER BY stream LIMIT ?",
        )
        .map_err(db)?;
    let mut count = conn
        .prepare_cached("SELECT count(*) FROM sender_streams WHERE sender = ?")
        .map_err(db)?;
    let mut one = conn
        .prepare_cached(
            "SELECT low, high, events, repeats, last_repeat,
                 (SELECT coalesce(sum(last - first + 1), 0) FROM sender_gaps g
                  WHERE g.sender = s.sender AND g.stream = s.stream)
             FROM sender_streams s WHERE sender = ? AND stream = ?",
        )
        .map_err(db)?;
    let mut gaps = conn
        .prepare_cached(
            "SELECT first, last, opened_at, reported_in FROM sender_gaps
             WHERE sender = ? AND stream = ? ORDER BY first LIMIT ?",
        )
        .map_err(db)?;
    let names = |stmt: &mut rusqlite::CachedStatement<'_>, sender: &str| {
        stmt.query_map(params![sender, LISTED_STREAMS as i64], |r| {
            r.get::<_, String>(0)
        })?
        .collect::<rusqlite::Result<Vec<String>>>()
    };
    for s in &mut out {
        let mut listed = names(&mut with_gaps, &s.name).map_err(db)?;
        listed.sort();
        let mut others = names(&mut by_name, &s.name).map_err(db)?.into_iter();
        while listed.len() < LISTED_STREAMS {
            match others.next() {
                Some(n) if !listed.contains(&n) => listed.push(n),
                Some(_) => {}
                None => break,
            }
        }
        let total: i64 = count.query_row([&s.name], |r| r.get(0)).map_err(db)?;
        s.more_streams = (total as u64).saturating_sub(listed.len() as u64);
        for key in listed {
            let mut report = one
                .query_row(params![&s.name, &key], |r| {
                    Ok(StreamReport {
                        stream: (!key.is_empty()).then(|| key.clone()),
                        low: r.get::<_, i64>(0)? as u64,
                        high: r.get::<_, i64>(1)? as u64,
                        events: r.get::<_, i64>(2)? as u64,
                        repeats: r.get::<_, i64>(3)? as u64,
                        last_repeat: r.get::<_, Option<i64>>(4)?.map(|n| n as u64),
                        missing: r.get::<_, i64>(5)? as u64,
                        gaps: Vec::new(),
                    })
                })
                .map_err(db)?;
            report.gaps = gaps
                .query_map(params![&s.name, key, LISTED_GAPS as i64], |r| {
                    Ok(Gap {
                        first: r.get::<_, i64>(0)? as u64,
                        last: r.get::<_, i64>(1)? as u64,
                        opened_at: from_micros(r.get(2)?),
                        reported_in: r.get::<_, Option<i64>>(3)?.map(|n| n as u64),
                    })
                })
                .map_err(db)?
                .collect::<Result<_, _>>()
                .map_err(db)?;
            s.streams.push(report);
        }
    }
    Ok(out)
}

/// More due gaps than this in one stream are told in one entry (a sender that skips every
/// other number makes one entry per pass, not one per gap).
const TOLD_ONE_BY_ONE: i64 = 10;
/// At most this many entries about one sender's gaps per pass (a sender opening gaps in many
/// streams is told of over several passes, and cannot flood the journal or hold back the news
/// of other senders).
const PER_SENDER: usize = 10;

/// The gap of `stream` whose first number is the greatest at or below `n`: since gaps never
/// overlap, the only one that can hold `n`.
const GAP_AT: &str = "SELECT first, last FROM sender_gaps WHERE sender = ?1 AND stream = ?2
     AND first <= ?3 ORDER BY first DESC LIMIT 1";

fn gap_news(conn: &Connection, open_before: i64, limit: usize) -> Result<Vec<GapNews>, StoreError> {
    let stream = |s: String| (!s.is_empty()).then_some(s);
    let before = from_micros(open_before);
    // Per stream, its gaps due to be told.
    let due: Vec<(String, String, i64, i64, i64, i64, i64)> = conn
        .prepare_cached(
            "SELECT sender, stream, c, f, l, o, m FROM (
                 SELECT sender, stream, count(*) AS c, min(first) AS f, max(last) AS l,
                     min(opened_at) AS o, sum(last - first + 1) AS m,
                     row_number() OVER (PARTITION BY sender ORDER BY min(opened_at), stream) AS k
                 FROM sender_gaps WHERE reported_in IS NULL AND opened_at < ?
                 GROUP BY sender, stream)
             WHERE k <= 10 ORDER BY o, sender, stream LIMIT ?",
        )
        .map_err(db)?
        .query_map(params![open_before, limit as i64], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    let mut news: Vec<GapNews> = Vec::new();
    let mut per_sender: HashMap<String, usize> = HashMap::new();
    let mut each = conn
        .prepare_cached(
            "SELECT first, last, opened_at FROM sender_gaps
             WHERE sender = ? AND stream = ? AND reported_in IS NULL AND opened_at < ?
             ORDER BY first",
        )
        .map_err(db)?;
    for (sender, name, count, first, last, since, missing) in due {
        if news.len() >= limit {
            break;
        }
        let told = per_sender.entry(sender.clone()).or_default();
        if *told >= PER_SENDER {
            continue;
        }
        if count > TOLD_ONE_BY_ONE {
            *told += 1;
            news.push(GapNews {
                sender,
                stream: stream(name),
                first: first as u64,
                last: last as u64,
                gaps: count as u64,
                missing: missing as u64,
                what: GapEvent::Open {
                    since: from_micros(since),
                    before,
                },
            });
            continue;
        }
        let gaps: Vec<(i64, i64, i64)> = each
            .query_map(params![&sender, &name, open_before], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        for (first, last, since) in gaps {
            let told = per_sender.entry(sender.clone()).or_default();
            if *told >= PER_SENDER {
                break;
            }
            *told += 1;
            news.push(GapNews {
                sender: sender.clone(),
                stream: stream(name.clone()),
                first: first as u64,
                last: last as u64,
                gaps: 1,
                missing: (last - first + 1) as u64,
                what: GapEvent::Open {
                    since: from_micros(since),
                    before,
                },
            });
        }
    }
    let left = limit.saturating_sub(news.len());
    if left > 0 {
        let filled = conn
            .prepare_cached(
                // No gap holds any number of the report's range: the gap with the greatest
                // first number at or below its last ends before its first.
                "SELECT journal_seq, sender, stream, first, last, gaps, missing FROM (
                     SELECT r.*, row_number() OVER (PARTITION BY sender ORDER BY journal_seq) AS k
                     FROM sender_gap_reports r
                     WHERE filled_in IS NULL AND coalesce((SELECT g.last FROM sender_gaps g
                         WHERE g.sender = r.sender AND g.stream = r.stream AND g.first <= r.last
                         ORDER BY g.first DESC LIMIT 1), -1) < r.first)
                 WHERE k <= 10 ORDER BY journal_seq LIMIT ?",
            )
            .map_err(db)?
            .query_map([left as i64], |r| {
                Ok(GapNews {
                    sender: r.get(1)?,
                    stream: stream(r.get(2)?),
                    first: r.get::<_, i64>(3)? as u64,
                    last: r.get::<_, i64>(4)? as u64,
                    gaps: r.get::<_, i64>(5)? as u64,
                    missing: r.get::<_, i64>(6)? as u64,
                    what: GapEvent::Filled {
                        reported_in: r.get::<_, i64>(0)? as u64,
                    },
                })
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        news.extend(filled);
    }
    Ok(news)
}

/// Whether the news is still true, read in the writer's transaction.
fn still_true(conn: &Connection, n: &GapNews) -> rusqlite::Result<bool> {
    let stream = n.stream.as_deref().unwrap_or("");
    match n.what {
        GapEvent::Open { before, .. } => conn
            .prepare_cached(
                "SELECT 1 FROM sender_gaps WHERE sender = ? AND stream = ? AND first >= ?
                 AND last <= ? AND reported_in IS NULL AND opened_at < ?",
            )?
            .exists(params![
                &n.sender,
                stream,
                n.first as i64,
                n.last as i64,
                micros(&before)
            ]),
        GapEvent::Filled { reported_in } => {
            let open = conn
                .prepare_cached(
                    "SELECT 1 FROM sender_gap_reports WHERE journal_seq = ? AND filled_in IS NULL",
                )?
                .exists([reported_in as i64])?;
            let holes = conn
                .prepare_cached(GAP_AT)?
                .query_row(params![&n.sender, stream, n.last as i64], |r| {
                    r.get::<_, i64>(1)
                })
                .optional()?
                .is_some_and(|last| last >= n.first as i64);
            Ok(open && !holes)
        }
    }
}

fn journal_gap_news(
    conn: &Connection,
    chain: &mut Chain,
    news: Vec<(GapNews, Event)>,
) -> Result<u64, StoreError> {
    let mut told = 0;
    for (n, entry) in news {
        if !still_true(conn, &n).map_err(db)? {
            continue;
        }
        let seq = chain.append(conn, std::slice::from_ref(&entry))?[0].seq as i64;
        let stream = n.stream.as_deref().unwrap_or("");
        match n.what {
            GapEvent::Open { before, .. } => {
                // Every gap the entry tells of (one, or all of a stream's that were due).
                conn.prepare_cached(
                    "UPDATE sender_gaps SET reported_in = ? WHERE sender = ? AND stream = ?
                     AND first >= ? AND last <= ? AND reported_in IS NULL AND opened_at < ?",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        seq,
                        &n.sender,
                        stream,
                        n.first as i64,
                        n.last as i64,
                        micros(&before)
                    ])
                })
                .map_err(db)?;
                conn.prepare_cached(
                    "INSERT INTO sender_gap_reports
                         (journal_seq, sender, stream, first, last, gaps, missing)
                     VALUES (?, ?, ?, ?, ?, ?, ?)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        seq,
                        &n.sender,
                        stream,
                        n.first as i64,
                        n.last as i64,
                        n.gaps as i64,
                        n.missing as i64
                    ])
                })
                .map_err(db)?;
            }
            GapEvent::Filled { reported_in } => {
                conn.prepare_cached(
                    "UPDATE sender_gap_reports SET filled_in = ? WHERE journal_seq = ?",
                )
                .and_then(|mut s| s.execute(params![seq, reported_in as i64]))
                .map_err(db)?;
            }
        }
        told += 1;
    }
    Ok(told)
}

fn sender_activity(conn: &Connection) -> Result<Vec<SenderActivity>, StoreError> {
    conn.prepare_cached(
        "SELECT name, last_at, last_entry, silent_in, silent_last FROM senders ORDER BY name",
    )
    .map_err(db)?
    .query_map([], |r| {
        let silent_in: Option<i64> = r.get(3)?;
        let silent_last: Option<i64> = r.get(4)?;
        Ok(SenderActivity {
            name: r.get(0)?,
            last_at: from_micros(r.get(1)?),
            last_entry: r.get::<_, i64>(2)? as u64,
            silent: silent_in
                .zip(silent_last)
                .map(|(i, l)| (i as u64, l as u64)),
        })
    })
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

fn sender_hours(conn: &Connection, from_hour: i64) -> Result<Vec<(String, i64, u64)>, StoreError> {
    conn.prepare_cached(
        "SELECT sender, hour, events FROM sender_hours WHERE hour >= ? ORDER BY sender, hour",
    )
    .map_err(db)?
    .query_map([from_hour], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
    })
    .map_err(db)?
    .collect::<Result<_, _>>()
    .map_err(db)
}

fn journal_silence(
    conn: &Connection,
    chain: &mut Chain,
    sender: &str,
    news: Silence,
    entry: Event,
) -> Result<bool, StoreError> {
    let (last_entry, silent_in, silent_last): (i64, Option<i64>, Option<i64>) = match conn
        .prepare_cached("SELECT last_entry, silent_in, silent_last FROM senders WHERE name = ?")
        .map_err(db)?
        .query_row([sender], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()
        .map_err(db)?
    {
        Some(row) => row,
        None => return Ok(false),
    };
    let holds = match news {
        Silence::Silent { last_entry: seen } => silent_in.is_none() && last_entry == seen as i64,
        Silence::Resumed => silent_in.is_some() && silent_last.is_some_and(|l| last_entry > l),
    };
    if !holds {
        return Ok(false);
    }
    // The entry itself is the store's (sender `vigil`): it does not count as the sender's.
    let seq = chain.append(conn, std::slice::from_ref(&entry))?[0].seq as i64;
    let (silent_in, silent_last) = match news {
        Silence::Silent { .. } => (Some(seq), Some(last_entry)),
        Silence::Resumed => (None, None),
    };
    conn.prepare_cached("UPDATE senders SET silent_in = ?, silent_last = ? WHERE name = ?")
        .and_then(|mut s| s.execute(params![silent_in, silent_last, sender]))
        .map_err(db)?;
    Ok(true)
}

#[async_trait]
impl SenderStore for SqliteStore {
    async fn sender_activity(&self) -> Result<Vec<SenderActivity>, StoreError> {
        self.read(sender_activity).await
    }

    async fn sender_hours(&self, from_hour: i64) -> Result<Vec<(String, i64, u64)>, StoreError> {
        self.read(move |conn| sender_hours(conn, from_hour)).await
    }

    async fn journal_silence(
        &self,
        sender: String,
        news: Silence,
        entry: Event,
    ) -> Result<bool, StoreError> {
        self.write(1, move |conn, chain| {
            journal_silence(conn, chain, &sender, news, entry)
        })
        .await
    }

    async fn senders(&self, now: DateTime<Utc>) -> Result<Vec<SenderReport>, StoreError> {
        let now = micros(&now);
        self.read(move |conn| senders(conn, now)).await
    }

    async fn gap_news(
        &self,
        open_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<GapNews>, StoreError> {
        let open_before = micros(&open_before);
        self.read(move |conn| gap_news(conn, open_before, limit))
            .await
    }

    async fn journal_gap_news(&self, news: Vec<(GapNews, Event)>) -> Result<u64, StoreError> {
        let size = news.len();
        self.write(size, move |conn, chain| journal_gap_news(conn, chain, news))
            .await
    }
}
