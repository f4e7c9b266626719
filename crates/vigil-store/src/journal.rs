//! The journal: appending events under the hash chain, and reading them back (one entry, pages
//! of a search, time slices for exports, timelines, facets, scans in seq order).

use async_trait::async_trait;
use base64::Engine;
use chrono::FixedOffset;
use vigil_core::checkpoint::Checkpoint;
use vigil_core::merkle::Hash;
use vigil_core::{EntryView, Event, Query, StoredEvent};

use crate::{Appended, FacetField, Facets, Order, StoreError, Timeline};

/// What [`JournalStore::visit`] hands entries to.
pub trait Visit: Send {
    /// The entry at place `pos` of the seqs asked for.
    fn entry(&mut self, pos: usize, entry: &EntryView<'_>) -> Result<(), StoreError>;
}

/// The journal part of a store. The journal is append-only: a store appends events atomically
/// per batch, assigns `seq`, `received_at` and the chain `hash`, reports re-sent ids as
/// duplicates, and answers searches, timelines and facets for a [`vigil_core::Query`].
#[async_trait]
pub trait JournalStore: Send + Sync + 'static {
    /// Appends a batch atomically, durably (on disk when this returns `Ok`). Ids already stored
    /// with the same content come back as duplicates; an id stored with other content is a
    /// [`StoreError::Conflict`] and nothing of the batch is stored.
    async fn append(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError>;

    /// Appends entries that record reading (a search, an opened entry): durable and chained
    /// like any other, but searches need not wait for the index to hold them, so a search does
    /// not wait for the trace of the one before.
    async fn append_trace(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        self.append(events).await
    }

    /// One entry by id.
    async fn event(&self, id: uuid::Uuid) -> Result<StoredEvent, StoreError>;

    /// A page of matching entries in the requested order, with a cursor for the next page.
    async fn search(&self, search: &Search) -> Result<Page, StoreError>;

    /// The `(occurred_at µs, seq)` of every matching entry whose occurred_at is in
    /// `[from, to)`, in no particular order. Exports read a large result with it, slice by
    /// slice, and fetch the entries with [`JournalStore::entries`].
    async fn keys(
        &self,
        query: &Query,
        tz: FixedOffset,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// Whole entries for these seqs, in this order; `NotFound` if one is not stored.
    async fn entries(&self, seqs: Vec<u64>) -> Result<Vec<StoredEvent>, StoreError>;

    /// Hands the entries for these seqs to `visit` as borrowed views, each with its place in
    /// `seqs` (in any order: a backend visits them as it reads them), on a blocking thread;
    /// `NotFound` if one is not stored. An export encodes its pages this way, without decoding
    /// entries. The default reads them with [`JournalStore::entries`].
    async fn visit(
        &self,
        seqs: Vec<u64>,
        visit: std::sync::Arc<std::sync::Mutex<dyn Visit>>,
    ) -> Result<(), StoreError> {
        let entries = self.entries(seqs).await?;
        tokio::task::spawn_blocking(move || {
            let mut visit = visit
                .lock()
                .map_err(|_| StoreError::backend(std::io::Error::other("a visit panicked")))?;
            for (pos, e) in entries.iter().enumerate() {
                let parts = e.view_parts();
                visit.entry(pos, &e.view(&parts))?;
            }
            Ok(())
        })
        .await
        .map_err(StoreError::backend)?
    }

    /// Counts of matching entries per time bucket.
    async fn timeline(&self, request: &TimelineRequest) -> Result<Timeline, StoreError>;

    /// The most frequent values of a field among matching entries.
    async fn facets(&self, request: &FacetRequest) -> Result<Facets, StoreError>;

    /// Entries in seq order starting at `from_seq`, at most `limit` (for verification).
    async fn scan(&self, from_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The last seq the search index answers for, for backends that keep one (`None` if the
    /// backend has none or this process opened the journal alone).
    fn indexed(&self) -> Option<u64> {
        None
    }

    /// The last entry's seq and hash, if any.
    async fn head(&self) -> Result<Option<(u64, String)>, StoreError>;

    /// The Merkle root (see [`vigil_core::merkle`]) of the first `size` entries; `size` beyond
    /// the journal's end is [`StoreError::Invalid`].
    async fn tree_root(&self, size: u64) -> Result<Hash, StoreError>;

    /// The inclusion proof of entry `seq` in the tree of the first `size` entries.
    async fn inclusion_proof(&self, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError>;

    /// The proof that the tree of the first `from` entries is a prefix of the tree of `to`.
    async fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, StoreError>;

    /// The batch proof ([`vigil_core::merkle::batch_proof`]) that the entries in `seqs`
    /// (sorted, disjoint ranges of seqs, each non-empty) are in the tree of the first `size`
    /// entries: what an export carries for its rows.
    async fn batch_proof(
        &self,
        seqs: Vec<std::ops::Range<u64>>,
        size: u64,
    ) -> Result<Vec<Hash>, StoreError>;

    /// The roots of the whole subtrees on the right edge of the tree of `size` entries,
    /// largest first (what [`vigil_core::merkle::Frontier::from_edge`] continues from).
    async fn tree_frontier(&self, size: u64) -> Result<Vec<Hash>, StoreError>;

    /// The chain hashes of the entries from seq `from`, at most `limit`, in seq order.
    async fn chain_hashes(&self, from: u64, limit: usize) -> Result<Vec<Hash>, StoreError>;

    /// The kept hashes of these whole subtrees `(first leaf, level)` of 256 leaves and up,
    /// `None` for one not kept (for `vigil verify`).
    async fn tree_nodes(&self, which: Vec<(u64, u32)>) -> Result<Vec<Option<Hash>>, StoreError>;

    /// Keeps a signed checkpoint and, in the same transaction, a pending delivery of it (kind
    /// `checkpoint`, `seqs` its size) to each channel of `publish_to`; one of the same size
    /// already kept is a [`StoreError::Conflict`] (and nothing is queued). Checkpoints are
    /// append-only.
    async fn add_checkpoint(
        &self,
        checkpoint: Checkpoint,
        publish_to: Vec<String>,
    ) -> Result<(), StoreError>;

    /// Kept checkpoints of more than `after` entries, smallest first, at most `limit`.
    async fn checkpoints(&self, after: u64, limit: usize) -> Result<Vec<Checkpoint>, StoreError>;

    /// The newest kept checkpoint.
    async fn latest_checkpoint(&self) -> Result<Option<Checkpoint>, StoreError>;
}

/// Where a page ends: the (occurred_at, seq) of its last entry, encoded opaquely for the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Microseconds since the epoch.
    pub occurred_at: i64,
    /// The entry's seq.
    pub seq: u64,
}

impl Cursor {
    /// The cursor after this entry.
    pub fn after(e: &StoredEvent) -> Self {
        Cursor {
            occurred_at: e.event.occurred_at.timestamp_micros(),
            seq: e.seq,
        }
    }

    /// The opaque text form.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(format!("v1:{}:{}", self.occurred_at, self.seq))
    }

    /// Reads the opaque text form back.
    pub fn decode(s: &str) -> Result<Self, StoreError> {
        let bad = || {
            StoreError::invalid(
                "cursor",
                format!("cursor {s:?} is not one this server gave out"),
            )
        };
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = text.strip_prefix("v1:").ok_or_else(bad)?.splitn(2, ':');
        let occurred_at = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let seq = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        Ok(Cursor { occurred_at, seq })
    }
}

/// A search request.
#[derive(Debug, Clone)]
pub struct Search {
    /// What to find.
    pub query: Query,
    /// The zone in which dates without an offset are read.
    pub tz: FixedOffset,
    /// At most this many entries.
    pub limit: usize,
    /// Continue after this entry.
    pub cursor: Option<Cursor>,
    /// The order.
    pub order: Order,
}

impl Search {
    /// The first page, newest first, in UTC.
    pub fn new(query: Query, limit: usize) -> Self {
        Search {
            query,
            tz: utc(),
            limit,
            cursor: None,
            order: Order::Newest,
        }
    }
}

/// The UTC offset, for callers without a zone.
pub fn utc() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero is a valid offset")
}

/// A page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The entries.
    pub events: Vec<StoredEvent>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<Cursor>,
    /// How far the index that answered was behind the journal (backends with an index).
    pub freshness: Option<crate::Freshness>,
}

/// A histogram request.
#[derive(Debug, Clone)]
pub struct TimelineRequest {
    /// What to count.
    pub query: Query,
    /// The zone for dates without an offset.
    pub tz: FixedOffset,
    /// About how many buckets the caller wants (the width is rounded to a readable interval).
    pub buckets: u32,
}

/// A facets request.
#[derive(Debug, Clone)]
pub struct FacetRequest {
    /// Which entries.
    pub query: Query,
    /// The zone for dates without an offset.
    pub tz: FixedOffset,
    /// Which field.
    pub field: FacetField,
    /// At most this many values.
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            occurred_at: -5,
            seq: 42,
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        assert!(Cursor::decode("bm9wZQ").is_err());
        assert!(Cursor::decode("!!").is_err());
    }
}
