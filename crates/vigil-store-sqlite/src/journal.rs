//! The journal: appends through the writer, entries read from the journal itself, searches,
//! timelines and facets answered by the search index.

use std::sync::Mutex;

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension};
use tokio::sync::oneshot;
use vigil_core::checkpoint::Checkpoint;
use vigil_core::merkle::Hash;
use vigil_core::{Event, StoredEvent};
use vigil_index::{Journal, SearchIndex};
use vigil_store::{
    Appended, Cursor, FacetRequest, Facets, JournalStore, Page, Search, StoreError, Timeline,
    TimelineRequest,
};

use crate::{annotations, db, sql, tree, writer, SqliteStore};

#[async_trait]
impl JournalStore for SqliteStore {
    async fn append(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::append(events, reply), answer, true)
            .await
    }

    async fn append_trace(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.send(writer::Job::append(events, reply), answer, false)
            .await
    }

    async fn event(&self, id: uuid::Uuid) -> Result<StoredEvent, StoreError> {
        let codec = self.inner.codec.clone();
        self.read(move |conn| {
            let mut reader = sql::Reader::new(conn, &codec);
            conn.prepare_cached(&format!("SELECT {} FROM events WHERE id = ?", sql::COLUMNS))
                .map_err(db)?
                .query_row([id.as_bytes().as_slice()], |r| reader.stored(r))
                .optional()
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound(format!("event {id}")))
        })
        .await
    }

    async fn search(&self, search: &Search) -> Result<Page, StoreError> {
        let search = search.clone();
        let codec = self.inner.codec.clone();
        let (page, freshness) = self
            .answer_from_index(move |index, conn| {
                let limit = search.limit.max(1);
                let seqs = index.search(
                    &search.query,
                    &search.tz,
                    search.cursor,
                    search.order,
                    limit + 1,
                )?;
                let mut events = by_seqs(conn, &codec, &seqs)?;
                let next = next_cursor(&mut events, limit);
                Ok(Page {
                    events,
                    next,
                    freshness: None,
                })
            })
            .await?;
        Ok(Page {
            freshness: Some(freshness),
            ..page
        })
    }

    async fn keys(
        &self,
        query: &vigil_core::Query,
        tz: chrono::FixedOffset,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let index = self.index_current().await?;
        let query = query.clone();
        blocking(move || index.keys(&query, &tz, from, to)).await
    }

    async fn entries(&self, seqs: Vec<u64>) -> Result<Vec<StoredEvent>, StoreError> {
        let codec = self.inner.codec.clone();
        self.read_with(true, move |conn| {
            by_seqs(conn, &codec, &seqs).map_err(asked_for_missing)
        })
        .await
    }

    async fn visit(
        &self,
        seqs: Vec<u64>,
        visit: std::sync::Arc<Mutex<dyn vigil_store::Visit>>,
    ) -> Result<(), StoreError> {
        let codec = self.inner.codec.clone();
        self.read_with(true, move |conn| {
            let mut visit = visit
                .lock()
                .map_err(|_| StoreError::backend(std::io::Error::other("a visit panicked")))?;
            visit_seqs(conn, &codec, &seqs, &mut *visit).map_err(asked_for_missing)
        })
        .await
    }

    async fn timeline(&self, request: &TimelineRequest) -> Result<Timeline, StoreError> {
        let request = request.clone();
        let (timeline, freshness) = self
            .answer_from_index(move |index, _| index.timeline(&request))
            .await?;
        Ok(Timeline {
            freshness: Some(freshness),
            ..timeline
        })
    }

    async fn facets(&self, request: &FacetRequest) -> Result<Facets, StoreError> {
        let request = request.clone();
        let (facets, freshness) = self
            .answer_from_index(move |index, _| index.facets(&request))
            .await?;
        Ok(Facets {
            freshness: Some(freshness),
            ..facets
        })
    }

    async fn scan(&self, from_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let codec = self.inner.codec.clone();
        self.read_with(true, move |conn| scan_sync(conn, &codec, from_seq, limit))
            .await
    }

    fn indexed(&self) -> Option<u64> {
        self.inner.index.as_ref().map(|i| i.indexed())
    }

    async fn head(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.read(|conn| {
            conn.query_row(
                "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        hex::encode(r.get::<_, Vec<u8>>(1)?),
                    ))
                },
            )
            .optional()
            .map_err(db)
        })
        .await
    }

    async fn tree_root(&self, size: u64) -> Result<Hash, StoreError> {
        self.read(move |conn| tree::root(conn, size)).await
    }

    async fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.read(move |conn| tree::inclusion(conn, seq, size))
            .await
    }

    async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
        self.read(move |conn| tree::consistency(conn, from, to))
            .await
    }

    async fn batch_proof(
        &self,
        seqs: Vec<std::ops::Range<u64>>,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError> {
        let leaves = self
            .read(move |conn| tree::batch_leaves(conn, &seqs, size))
            .await?;
        // The root's two children on two connections (two cores): a scattered selection's proof
        // hashes most of the journal's leaves below the kept subtrees (read without the memory
        // map, like an export's rows).
        match vigil_core::merkle::batch_halves(&leaves, size) {
            None => {
                self.read_with(true, move |conn| {
                    tree::batch_within(conn, &leaves, 0, size, size)
                })
                .await
            }
            Some((mid, left, right)) => {
                let (left, right) = tokio::join!(
                    self.read_with(true, move |conn| {
                        tree::batch_within(conn, &left, 0, mid, size)
                    }),
                    self.read_with(true, move |conn| {
                        tree::batch_within(conn, &right, mid, size, size)
                    }),
                );
                let mut nodes = left?;
                nodes.extend(right?);
                Ok(nodes)
            }
        }
    }

    async fn tree_frontier(&self, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.read(move |conn| tree::frontier(conn, size)).await
    }

    async fn chain_hashes(&self, from: u64, limit: usize) -> Result<Vec<Hash>, StoreError> {
        // A stretch of the journal read once (the signer's start reads all of it): without the
        // memory map, so that its pages do not count in the server's memory.
        self.read_with(true, move |conn| tree::chain_hashes(conn, from, limit))
            .await
    }

    async fn tree_nodes(&self, which: Vec<(u64, u32)>) -> Result<Vec<Option<Hash>>, StoreError> {
        self.read(move |conn| tree::nodes(conn, &which)).await
    }

    async fn add_checkpoint(
        &self,
        checkpoint: Checkpoint,
        publish_to: Vec<String>,
    ) -> Result<(), StoreError> {
        self.write_beside(move |conn| tree::add_checkpoint(conn, &checkpoint, &publish_to))
            .await
    }

    async fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<Checkpoint>, StoreError> {
        self.read(move |conn| tree::checkpoints(conn, after, limit))
            .await
    }

    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError> {
        self.read(tree::latest_checkpoint).await
    }
}

impl SqliteStore {
    /// Makes an answer from the search index (waiting for it as searches do), on a reading
    /// connection, with how far the index was behind the journal. The journal's end is read
    /// first, before a search's own record is sent; what the index holds is read before the
    /// answer, so the freshness never claims more than the answer holds.
    async fn answer_from_index<T: Send + 'static>(
        &self,
        answer: impl FnOnce(&SearchIndex, &Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<(T, vigil_store::Freshness), StoreError> {
        let journal = self.journal_head();
        let store = self.clone();
        let index = self.index_current().await?;
        self.read(move |conn| {
            let (indexed, rebuilding) = (index.indexed(), index.rebuilding());
            let out = answer(&index, conn)?;
            let fresh = freshness(conn, store.now_micros(), indexed, journal, rebuilding)?;
            Ok((out, fresh))
        })
        .await
    }
}

/// How far an answer made from the index up to `indexed` is behind a journal ending at
/// `journal`: entries, and the age of the oldest entry missing.
fn freshness(
    conn: &Connection,
    now: i64,
    indexed: u64,
    journal: u64,
    rebuilding: bool,
) -> Result<vigil_store::Freshness, StoreError> {
    // The journal's end was read before waiting for the index, which may have indexed entries
    // appended meanwhile (the search's own record among them).
    let journal = journal.max(indexed);
    let behind_entries = journal - indexed;
    let behind_ms = match behind_entries {
        0 => 0,
        _ => conn
            .prepare_cached("SELECT received_at FROM events WHERE seq = ?")
            .map_err(db)?
            .query_row([indexed as i64 + 1], |r| r.get::<_, i64>(0))
            .optional()
            .map_err(db)?
            .map_or(0, |stored| {
                (now.saturating_sub(stored).max(0) / 1000) as u64
            }),
    };
    Ok(vigil_store::Freshness {
        indexed,
        journal,
        behind_entries,
        behind_ms,
        rebuilding,
    })
}

/// The journal as the search index reads it, on a connection of its own.
pub(crate) struct JournalReader {
    pub(crate) conn: Mutex<Connection>,
    pub(crate) codec: std::sync::Arc<crate::body::Codec>,
}

impl Journal for JournalReader {
    fn read(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn.lock().expect("journal reader lock");
        scan_sync(&conn, &self.codec, from, limit)
    }

    fn head(&self) -> Result<u64, StoreError> {
        writer::head_seq(&self.conn.lock().expect("journal reader lock")).map_err(db)
    }

    fn summaries(
        &self,
        seqs: &[u64],
    ) -> Result<std::collections::HashMap<u64, vigil_core::AnnotationSummary>, StoreError> {
        annotations::summaries(&self.conn.lock().expect("journal reader lock"), seqs)
    }

    fn touched(&self, from: u64, to: u64, before: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.conn.lock().expect("journal reader lock");
        let seqs = annotations::touched(&conn, from, to, before)?;
        by_seqs(&conn, &self.codec, &seqs)
    }
}

fn scan_sync(
    conn: &Connection,
    codec: &crate::body::Codec,
    from: u64,
    limit: usize,
) -> Result<Vec<StoredEvent>, StoreError> {
    // Seqs are SQLite integers: none lies past i64::MAX.
    let Ok(from) = i64::try_from(from) else {
        return Ok(Vec::new());
    };
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
            sql::COLUMNS
        ))
        .map_err(db)?;
    let mut reader = sql::Reader::new(conn, codec);
    let rows = stmt
        .query_map([from, limit as i64], |r| reader.stored(r))
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// Whole entries for a list of seqs, in the list's order.
///
/// Seqs close together (a page of a broad search, an export) are read as one range and only the
/// wanted rows decoded, which is several times faster than looking each one up; scattered seqs
/// are looked up one by one.
fn by_seqs(
    conn: &Connection,
    codec: &crate::body::Codec,
    seqs: &[u64],
) -> Result<Vec<StoredEvent>, StoreError> {
    let (Some(&lo), Some(&hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
    let mut reader = sql::Reader::new(conn, codec);
    let mut found: std::collections::HashMap<u64, StoredEvent> =
        std::collections::HashMap::with_capacity(seqs.len());
    if hi - lo < seqs.len() as u64 * 4 {
        let wanted: std::collections::HashSet<u64> = seqs.iter().copied().collect();
        let mut stmt = conn
            .prepare_cached(&format!(
                "SELECT {} FROM events WHERE seq BETWEEN ? AND ?",
                sql::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([lo as i64, hi as i64]).map_err(db)?;
        while let Some(row) = rows.next().map_err(db)? {
            let seq = row.get::<_, i64>(0).map_err(db)? as u64;
            if wanted.contains(&seq) {
                found.insert(seq, reader.stored(row).map_err(db)?);
            }
        }
    } else {
        let text = format!(
            "SELECT {} FROM events WHERE seq IN ({})",
            sql::COLUMNS,
            seqs.iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let mut stmt = conn.prepare(&text).map_err(db)?;
        let rows = stmt.query_map([], |r| reader.stored(r)).map_err(db)?;
        for row in rows {
            let e = row.map_err(db)?;
            found.insert(e.seq, e);
        }
    }
    let mut out: Vec<StoredEvent> = Vec::with_capacity(seqs.len());
    for s in seqs {
        let entry = match found.remove(s) {
            Some(e) => e,
            // Asked twice: the copy already taken.
            None => out
                .iter()
                .find(|e| e.seq == *s)
                .cloned()
                .ok_or_else(|| StoreError::backend(IndexAhead(*s)))?,
        };
        out.push(entry);
    }
    Ok(out)
}

/// Hands the entries for `seqs` to `visit` as views of their rows, in seq order, or newest first
/// when `seqs` are (so that a page of a newest-first export arrives in its own order), each with
/// its place in `seqs`: one range read when the seqs are close together, else a lookup of each.
fn visit_seqs(
    conn: &Connection,
    codec: &crate::body::Codec,
    seqs: &[u64],
    visit: &mut dyn vigil_store::Visit,
) -> Result<(), StoreError> {
    let mut wanted: Vec<(u64, usize)> = seqs.iter().copied().zip(0..).collect();
    wanted.sort_unstable();
    let (Some(&(lo, _)), Some(&(hi, _))) = (wanted.first(), wanted.last()) else {
        return Ok(());
    };
    let newest_first = seqs.first() > seqs.last();
    if newest_first {
        wanted.reverse();
    }
    let order = if newest_first { "DESC" } else { "ASC" };
    // Whether the row read is past `s` in the order of reading.
    let past = |s: u64, seq: u64| if newest_first { s > seq } else { s < seq };
    let dense = hi - lo < seqs.len() as u64 * 4;
    let (mut cached, mut listed);
    let stmt: &mut rusqlite::Statement<'_> = if dense {
        cached = conn
            .prepare_cached(&format!(
                "SELECT {} FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq {order}",
                sql::COLUMNS
            ))
            .map_err(db)?;
        &mut cached
    } else {
        let list = wanted
            .iter()
            .map(|(s, _)| s.to_string())
            .collect::<Vec<_>>()
            .join(",");
        listed = conn
            .prepare(&format!(
                "SELECT {} FROM events WHERE seq IN ({list}) ORDER BY seq {order}",
                sql::COLUMNS
            ))
            .map_err(db)?;
        &mut listed
    };
    let mut rows = if dense {
        stmt.query([lo as i64, hi as i64])
    } else {
        stmt.query([])
    }
    .map_err(db)?;
    let mut reader = sql::Reader::new(conn, codec);
    let mut next = 0;
    while let Some(row) = rows.next().map_err(db)? {
        let seq = row.get::<_, i64>(0).map_err(db)? as u64;
        if let Some(&(missing, _)) = wanted.get(next).filter(|(s, _)| past(*s, seq)) {
            return Err(StoreError::backend(IndexAhead(missing)));
        }
        if wanted.get(next).is_some_and(|(s, _)| *s == seq) {
            let view = reader.view(row).map_err(db)?;
            while wanted.get(next).is_some_and(|(s, _)| *s == seq) {
                visit.entry(wanted[next].1, &view)?;
                next += 1;
            }
        }
    }
    match wanted.get(next) {
        Some(&(missing, _)) => Err(StoreError::backend(IndexAhead(missing))),
        None => Ok(()),
    }
}

/// An entry asked for by seq that the journal does not have is `NotFound` for the caller.
fn asked_for_missing(e: StoreError) -> StoreError {
    match e {
        StoreError::Backend(b) if b.is::<IndexAhead>() => StoreError::NotFound(b.to_string()),
        other => other,
    }
}

/// The index named an entry the journal does not have (it should have been rebuilt).
#[derive(Debug, thiserror::Error)]
#[error("the search index names entry seq {0}, which the journal does not have")]
struct IndexAhead(u64);

fn next_cursor(events: &mut Vec<StoredEvent>, limit: usize) -> Option<Cursor> {
    if events.len() > limit {
        events.truncate(limit);
        events.last().map(Cursor::after)
    } else {
        None
    }
}

/// Runs `f` on a blocking thread.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(StoreError::backend)?
}
