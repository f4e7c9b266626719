//! The search index of the Vigil audit store: a tantivy index derived from the journal that
//! answers searches (newest or oldest first, keyset cursors), timelines and facets at speed.
//!
//! The journal stays the only source of truth. The index lives in a folder of its own, records
//! in each commit the last journal seq it holds, follows the journal on a thread of its own, and
//! is rebuilt from the journal when it is missing, unreadable, of another schema, or ahead of the
//! journal (a restored backup). A reader that must see what was just appended waits with
//! [`SearchIndex::wait_for`].
//!
//! Entries are found by seq: callers read whole entries from the journal.
#![forbid(unsafe_code)]

mod collect;
mod query;
mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use chrono::FixedOffset;
use std::collections::HashMap;
use tantivy::query::Weight;
use tantivy::{
    DocId, DocSet, Index, IndexReader, IndexSettings, IndexSortByField, IndexWriter, ReloadPolicy,
    SegmentReader, TantivyDocument, TERMINATED,
};

use vigil_core::{AnnotationSummary, Query, StoredEvent};
use vigil_store::{
    BucketPlan, Cursor, FacetRequest, FacetValue, Facets, Order, StoreError, Timeline,
    TimelineRequest,
};

use schema::Fields;

/// Where the index reads the journal from (a backend's own connection).
pub trait Journal: Send + Sync + 'static {
    /// Entries with `seq >= from`, in seq order, at most `limit`.
    fn read(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;

    /// The last seq in the journal (another process may have appended).
    fn head(&self) -> Result<u64, StoreError>;

    /// What the annotations and incidents of these entries add to them (entries with none
    /// may be left out).
    fn summaries(&self, seqs: &[u64]) -> Result<HashMap<u64, AnnotationSummary>, StoreError>;

    /// The entries before `before` whose annotations or incident pins were journaled at seqs
    /// in `[from, to]`: their documents must be written again.
    fn touched(&self, from: u64, to: u64, before: u64) -> Result<Vec<StoredEvent>, StoreError>;
}

/// Written with every commit: the format, the personal fields whose words it keeps apart (an
/// index built for other ones is built again), the last seq indexed and that entry's chain hash
/// (so an index is never reused for another journal that happens to be as long).
fn payload_prefix(personal: &[String]) -> String {
    format!(
        "vigil-index/6 personal={} seq=",
        serde_json::to_string(personal).expect("a list of strings")
    )
}

/// How an index is opened.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    /// The personal fields masked for readers without the unmask right, besides the IP and
    /// the target's name (`changes.email`, `details.player_name`, …): their words are kept
    /// apart so that such readers' searches do not match them (see
    /// [`vigil_core::rights::hidden_words`]).
    pub personal_fields: Vec<String>,
    /// How many steps below normal priority the follower and tantivy's threads run (Linux
    /// nice; 0: normal, for tests that run beside CPU-heavy tests in the same process).
    pub nice: i32,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            personal_fields: Vec::new(),
            nice: BACKGROUND_NICE,
        }
    }
}
/// Entries read from the journal at a time.
const READ_BATCH: usize = 2_000;
/// Commits are at least this far apart, so heavy ingest makes fewer, larger segments.
const MIN_COMMIT_INTERVAL: Duration = Duration::from_millis(100);
/// Commits are at least this far apart even while readers wait for one.
const MIN_COMMIT_FOR_READERS: Duration = Duration::from_millis(25);
/// While following close behind sustained ingest, commit this often.
const NEAR_COMMIT_INTERVAL: Duration = Duration::from_millis(250);
/// More entries than this behind the journal is "far behind" (a rebuild).
const FAR_BEHIND: u64 = 100_000;
/// How long a reader waits to see everything committed before it asked.
const FRESH_WAIT: Duration = Duration::from_secs(1);
/// More entries than this behind, a reader does not wait: the index is following peak ingest.
const FRESH_LAG: u64 = 10_000;
/// Not caught up with the journal for this long, the index is following sustained ingest: a
/// reader does not wait for the next commit (it would wait behind the ingest's entries).
const SUSTAINED: Duration = Duration::from_secs(1);
/// While catching up from far behind, commit (and show progress) this often.
const CATCH_UP_COMMIT_INTERVAL: Duration = Duration::from_secs(3);
/// How often the follower looks at the journal by itself (appends from another process).
const POLL: Duration = Duration::from_secs(1);
/// Idle polls that give freed memory back to the system once this many entries were indexed
/// since the last time (merges may still be freeing theirs at the first poll).
const TRIMS_WHEN_IDLE: u32 = 3;
const TRIM_AFTER: u64 = 10_000;
/// How long opening waits for another holder of the index (a store being closed) to let go.
const LOCK_WAIT: Duration = Duration::from_secs(3);
/// How long a reader waits for the index before answering "try again".
const WAIT: Duration = Duration::from_secs(10);

/// How many steps below normal priority the follower and tantivy's threads run (Linux nice):
/// at 10 they get about a tenth of a busy machine, and all of an idle one.
const BACKGROUND_NICE: i32 = 10;

/// The follower thread ended before it made the index writer.
#[derive(Debug, thiserror::Error)]
#[error("the search index's follower thread stopped while starting")]
struct FollowerDied;

fn index_error(e: tantivy::TantivyError) -> StoreError {
    StoreError::backend(e)
}

/// What the indexer thread is asked to reach.
struct Target {
    head: u64,
    stop: bool,
}

struct Shared {
    target: Mutex<Target>,
    wake: Condvar,
    /// Set while the index is built from far behind (opened missing, stale or long unused);
    /// cleared once it first reaches the journal's head. Only then do readers wait or get 503.
    rebuilding: std::sync::atomic::AtomicBool,
    /// Readers waiting for the next commit: the follower commits as soon as it holds what they
    /// wait for (`needed`, the largest seq one of them waits for).
    waiting: std::sync::atomic::AtomicUsize,
    needed: std::sync::atomic::AtomicU64,
    /// A head the journal had, and when: once the index has not reached it for longer than
    /// [`SUSTAINED`], the index is following sustained ingest. Moved on whenever the index is
    /// found to have reached it.
    mark: Mutex<(Instant, u64)>,
}

impl Shared {
    fn readers_waiting(&self) -> bool {
        self.waiting.load(std::sync::atomic::Ordering::Acquire) > 0
    }

    /// Whether a commit at `indexed` would let a waiting reader go.
    fn readers_satisfied_at(&self, indexed: u64) -> bool {
        self.readers_waiting() && indexed >= self.needed.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// A reader waiting for the next commit, counted while it waits (also if its future is dropped).
struct Waiting<'a>(&'a Shared);

impl<'a> Waiting<'a> {
    fn new(shared: &'a Shared, seq: u64) -> Self {
        shared
            .needed
            .fetch_max(seq, std::sync::atomic::Ordering::AcqRel);
        shared
            .waiting
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        // Wake the follower if it sleeps between commits.
        shared.wake.notify_one();
        Waiting(shared)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0
            .waiting
            .fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// The index and its follower thread. Dropping it stops the thread.
pub struct SearchIndex {
    fields: Fields,
    /// Replaced by the follower when it builds the index anew (its folder was removed or
    /// damaged while the store ran).
    reader: Arc<std::sync::RwLock<IndexReader>>,
    indexed: tokio::sync::watch::Receiver<u64>,
    shared: Arc<Shared>,
    dir: PathBuf,
    follower: Option<std::thread::JoinHandle<()>>,
    /// Held while this index is open; released (after the follower stops) when it is dropped.
    _lock: std::fs::File,
}

/// Takes the lock file beside the index (`<dir>.lock`) for the life of this process's index,
/// waiting a little if a store being closed in this process still holds it; a second live
/// process gets a clear error. Nothing in the folder is touched before the lock is held.
fn lock(dir: &Path) -> Result<std::fs::File, StoreError> {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".lock");
    let path = dir.with_file_name(name);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(StoreError::backend)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(StoreError::backend)?;
    let started = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Unavailable(format!(
                    "the search index {} is in use by another vigil process",
                    dir.display()
                )))
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(StoreError::backend(e)),
        }
    }
}

impl SearchIndex {
    /// Opens (or creates, or rebuilds) the index in `dir` and starts following `journal`,
    /// whose last seq is `head`.
    pub fn open(dir: &Path, journal: Arc<dyn Journal>, head: u64) -> Result<Self, StoreError> {
        Self::open_with(dir, journal, head, IndexOptions::default())
    }

    /// [`Self::open`] with options.
    pub fn open_with(
        dir: &Path,
        journal: Arc<dyn Journal>,
        head: u64,
        options: IndexOptions,
    ) -> Result<Self, StoreError> {
        let IndexOptions {
            personal_fields,
            nice,
        } = options;
        let prefix = payload_prefix(&personal_fields);
        let lock = lock(dir)?;
        let (mut index, fields, indexed) = open_or_create(dir, journal.as_ref(), head, &prefix)?;
        index.set_multithread_executor(2).map_err(index_error)?;
        let reader = Arc::new(std::sync::RwLock::new(new_reader(&index)?));
        let (tx, rx) = tokio::sync::watch::channel(indexed);
        let shared = Arc::new(Shared {
            target: Mutex::new(Target { head, stop: false }),
            wake: Condvar::new(),
            rebuilding: std::sync::atomic::AtomicBool::new(indexed + FAR_BEHIND < head),
            waiting: std::sync::atomic::AtomicUsize::new(0),
            needed: std::sync::atomic::AtomicU64::new(0),
            mark: Mutex::new((Instant::now(), head)),
        });
        let (started_tx, started) = std::sync::mpsc::sync_channel(1);
        let (reader_for_follower, shared_for_follower) = (reader.clone(), shared.clone());
        let dir_for_follower = dir.to_owned();
        let follower = std::thread::Builder::new()
            .name("vigil-index".into())
            .spawn(move || {
                // Following the journal is background work: under load it yields the cores to
                // ingest and to searches, and catches up when they pause. The writer is made
                // here so that its indexing and merging threads inherit the priority.
                if nice > 0 {
                    vigil_alloc::background_thread(nice);
                }
                let writer = match new_writer(&index) {
                    Ok(w) => w,
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                let _ = started_tx.send(Ok(()));
                Follower {
                    writer: Some(writer),
                    fields,
                    personal: personal_fields,
                    prefix,
                    journal,
                    reader: reader_for_follower,
                    shared: shared_for_follower,
                    dir: dir_for_follower,
                    indexed: tx,
                }
                .run()
            })
            .map_err(StoreError::backend)?;
        let made = started
            .recv()
            .unwrap_or_else(|_| Err(StoreError::backend(FollowerDied)));
        if let Err(e) = made {
            // The thread has ended or is ending: let it drop what it holds before the lock goes.
            let _ = follower.join();
            return Err(e);
        }
        Ok(SearchIndex {
            fields,
            reader,
            indexed: rx,
            shared,
            dir: dir.to_owned(),
            follower: Some(follower),
            _lock: lock,
        })
    }

    /// A searcher over the last commit the follower reloaded.
    fn searcher(&self) -> tantivy::Searcher {
        self.reader
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .searcher()
    }

    /// The folder of the index.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the index has not reached, for longer than [`SUSTAINED`], a head the journal
    /// had then: it is following sustained ingest, and a reader should not wait for it.
    fn behind_for_long(&self) -> bool {
        let indexed = self.indexed();
        let mut mark = self.shared.mark.lock().expect("index mark lock");
        if indexed >= mark.1 {
            *mark = (Instant::now(), self.journal_head());
            return false;
        }
        mark.0.elapsed() > SUSTAINED
    }

    /// Tells the follower that the journal now ends at `head`.
    pub fn advance(&self, head: u64) {
        let mut t = self.shared.target.lock().expect("index target lock");
        if head > t.head {
            t.head = head;
            self.shared.wake.notify_one();
        }
    }

    /// The last seq the index answers for.
    pub fn indexed(&self) -> u64 {
        *self.indexed.borrow()
    }

    /// The journal's last seq as the index knows it (told by this process's writer, or seen
    /// by polling the journal for other processes' appends).
    pub fn journal_head(&self) -> u64 {
        self.shared.target.lock().expect("index target lock").head
    }

    /// Whether the index is being built from far behind (until it first reaches the head).
    pub fn rebuilding(&self) -> bool {
        self.shared
            .rebuilding
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits, if it is worth it, until the index holds every entry up to `seq`:
    ///
    /// - a few entries behind (normal operation): waits up to [`FRESH_WAIT`] for them, so a
    ///   search sees what was acknowledged before it was asked; the follower commits as soon as
    ///   it has them rather than at its usual interval;
    /// - further behind, or behind since more than [`SUSTAINED`] (following sustained ingest):
    ///   answers at once from the index's last commit rather than make every reader wait;
    /// - while the index is rebuilt and more than [`FAR_BEHIND`] behind: waits up to [`WAIT`]
    ///   for it to come close, then answers `Unavailable`, saying how far it got.
    pub async fn wait_for(&self, seq: u64) -> Result<(), StoreError> {
        let mut rx = self.indexed.clone();
        let lag = seq.saturating_sub(self.indexed());
        let rebuilding = self
            .shared
            .rebuilding
            .load(std::sync::atomic::Ordering::Acquire);
        if lag == 0 {
            return Ok(());
        }
        let sustained = self.behind_for_long();
        if lag <= FRESH_LAG && !sustained {
            let _waiting = Waiting::new(&self.shared, seq);
            let _ = tokio::time::timeout(FRESH_WAIT, rx.wait_for(|indexed| *indexed >= seq)).await;
            return Ok(());
        }
        if !rebuilding || lag <= FAR_BEHIND {
            return Ok(());
        }
        let close =
            tokio::time::timeout(WAIT, rx.wait_for(|indexed| *indexed + FAR_BEHIND >= seq)).await;
        if matches!(close, Ok(Ok(_))) {
            return Ok(());
        }
        Err(StoreError::Unavailable(format!(
            "the search index is being rebuilt from the journal ({} of {seq} entries indexed); try again shortly",
            self.indexed()
        )))
    }

    fn compile(
        &self,
        searcher: &tantivy::Searcher,
        q: &Query,
        tz: &FixedOffset,
    ) -> Box<dyn tantivy::query::Query> {
        query::compile(
            &query::Compiler {
                fields: &self.fields,
                tz,
                searcher,
            },
            q,
        )
    }

    /// The seqs of the first `limit` matches after `cursor`, in `order`.
    ///
    /// Every segment keeps its documents sorted by occurred_at, newest first. So the query's
    /// time bounds and the cursor are a range of documents (found by binary search on the time
    /// column), and within it the first page newest first is the first `limit` matches in
    /// document order: the search stops there, however many entries match. Oldest first reads
    /// the range from its end, in chunks that grow fourfold, until a chunk holds the page. The
    /// cost is the page and what the query skips to reach it in each segment, not an ordering of
    /// every match (a query with fewer matches than a page still visits all of them, and an
    /// address range over more than 128 addresses first gathers its documents per segment).
    pub fn search(
        &self,
        q: &Query,
        tz: &FixedOffset,
        cursor: Option<Cursor>,
        order: Order,
        limit: usize,
    ) -> Result<Vec<u64>, StoreError> {
        let limit = limit.max(1);
        let searcher = self.searcher();
        // The occurred_at range [from, to) the page lies in: the query's own bounds, narrowed by
        // the cursor (entries at the cursor's instant are told apart by seq below).
        let bounds = q.bounds(tz);
        let mut from = bounds.from.map_or(i64::MIN, |t| t.timestamp_micros());
        let mut to = bounds.to.map_or(i64::MAX, |t| t.timestamp_micros());
        match (cursor, order) {
            (Some(c), Order::Newest) => to = to.min(c.occurred_at.saturating_add(1)),
            (Some(c), Order::Oldest) => from = from.max(c.occurred_at),
            (None, _) => {}
        }
        if from >= to {
            return Ok(Vec::new());
        }
        let compiled = query::compile_within_bounds(
            &query::Compiler {
                fields: &self.fields,
                tz,
                searcher: &searcher,
            },
            q,
        );
        let page = Page {
            cursor: cursor.map(|c| (c.occurred_at, c.seq)),
            order,
            limit,
            from,
            to,
        };
        // Segments are read in parallel (the index's executor), each stopping at its page.
        let found = searcher.search(&*compiled, &page).map_err(index_error)?;
        Ok(found.into_iter().map(|(_, seq)| seq).collect())
    }

    /// Counts of matches (and critical ones) per time bucket. The range comes from the query's
    /// own time clauses, else from the matches (the last day when nothing matches).
    pub fn timeline(&self, r: &TimelineRequest) -> Result<Timeline, StoreError> {
        let searcher = self.searcher();
        let compiled = self.compile(&searcher, &r.query, &r.tz);
        let bounds = r.query.bounds(&r.tz);
        let (from, to) = (
            bounds.from.map(|t| t.timestamp_micros()),
            bounds.to.map(|t| t.timestamp_micros()),
        );
        let (from, to) = match (from, to) {
            (Some(from), Some(to)) => (from, to),
            _ => {
                const DAY: i64 = 86_400_000_000;
                let found = searcher
                    .search(&compiled, &collect::TimeBounds)
                    .map_err(index_error)?;
                let (lo, hi) = found.map_or_else(
                    || {
                        let end = to.unwrap_or_else(|| chrono::Utc::now().timestamp_micros());
                        (end - DAY, end)
                    },
                    |(lo, hi)| (lo, hi + 1),
                );
                (from.unwrap_or(lo), to.unwrap_or(hi))
            }
        };
        let plan = BucketPlan::new(from, to.max(from + 1), r.buckets, r.tz);
        let collector = collect::Buckets {
            start: plan.start,
            width: plan.interval_seconds * 1_000_000,
            count: plan.count,
        };
        let counts = searcher
            .search(&compiled, &collector)
            .map_err(index_error)?;
        Ok(plan.timeline(&counts))
    }

    /// The (occurred_at µs, seq) of every match with occurred_at in `[from, to)`, in no order:
    /// one pass over the matches, for reading a large result (an export) slice by slice.
    pub fn keys(
        &self,
        q: &Query,
        tz: &FixedOffset,
        from: i64,
        to: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let searcher = self.searcher();
        searcher
            .search(&self.compile(&searcher, q, tz), &collect::Keys { from, to })
            .map_err(index_error)
    }

    /// The most frequent values of a field among matches, ties by value.
    pub fn facets(&self, r: &FacetRequest) -> Result<Facets, StoreError> {
        let collector = collect::Counts {
            field: r.field.as_str(),
        };
        let searcher = self.searcher();
        let counts = searcher
            .search(&self.compile(&searcher, &r.query, &r.tz), &collector)
            .map_err(index_error)?;
        let mut values: Vec<FacetValue> = counts
            .into_iter()
            .map(|(value, count)| FacetValue { value, count })
            .collect();
        values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        values.truncate(r.limit.max(1));
        Ok(Facets {
            field: r.field,
            values,
            freshness: None,
        })
    }
}

impl Drop for SearchIndex {
    /// Stops the follower and waits for it, so the index is free to open again once this returns.
    fn drop(&mut self) {
        self.shared.target.lock().expect("index target lock").stop = true;
        self.shared.wake.notify_one();
        if let Some(follower) = self.follower.take() {
            let _ = follower.join();
        }
    }
}

/// One page being looked for, segment by segment.
struct Page {
    /// (occurred_at, seq) the page starts after, in its order.
    cursor: Option<(i64, u64)>,
    order: Order,
    limit: usize,
    /// The occurred_at range `[from, to)` the page lies in.
    from: i64,
    to: i64,
}

impl tantivy::collector::Collector for Page {
    type Fruit = Vec<(i64, u64)>;
    type Child = PageSegment;

    /// Only for a caller that feeds every match (tantivy's default way of collecting);
    /// [`Page::collect_segment`] stops at the page instead.
    fn for_segment(
        &self,
        _: tantivy::SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<PageSegment> {
        let fast = segment.fast_fields();
        Ok(PageSegment {
            time: fast.i64(schema::TIME)?.first_or_default_col(0),
            seq: fast.u64(schema::SEQ)?.first_or_default_col(0),
            page: Page { ..*self },
            found: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(i64, u64)>>) -> tantivy::Result<Vec<(i64, u64)>> {
        let mut found = fruits.concat();
        self.cut(&mut found);
        Ok(found)
    }

    fn collect_segment(
        &self,
        weight: &dyn Weight,
        _: u32,
        segment: &SegmentReader,
    ) -> tantivy::Result<Vec<(i64, u64)>> {
        let mut found = Vec::new();
        self.collect(weight, segment, self.from, self.to, &mut found)?;
        Ok(found)
    }
}

/// Every match of a segment, for [`Page::for_segment`].
struct PageSegment {
    time: Arc<dyn tantivy::columnar::ColumnValues<i64>>,
    seq: Arc<dyn tantivy::columnar::ColumnValues<u64>>,
    page: Page,
    found: Vec<(i64, u64)>,
}

impl tantivy::collector::SegmentCollector for PageSegment {
    type Fruit = Vec<(i64, u64)>;

    fn collect(&mut self, doc: DocId, _: tantivy::Score) {
        let key = (self.time.get_val(doc), self.seq.get_val(doc));
        if (self.page.from..self.page.to).contains(&key.0) && self.page.after_cursor(key) {
            self.found.push(key);
        }
    }

    fn harvest(mut self) -> Vec<(i64, u64)> {
        self.page.cut(&mut self.found);
        self.found
    }
}

impl Page {
    /// Sorts in the page's order and keeps the page.
    fn cut(&self, found: &mut Vec<(i64, u64)>) {
        match self.order {
            Order::Newest => found.sort_unstable_by(|a, b| b.cmp(a)),
            Order::Oldest => found.sort_unstable(),
        }
        found.truncate(self.limit);
    }

    /// Whether an entry comes after the cursor.
    fn after_cursor(&self, key: (i64, u64)) -> bool {
        match (self.cursor, self.order) {
            (None, _) => true,
            (Some(c), Order::Newest) => key < c,
            (Some(c), Order::Oldest) => key > c,
        }
    }

    /// Adds to `found` the (occurred_at, seq) of this segment's matches with occurred_at in
    /// `[from, to)` that can be on the page: the first `limit` in the page's order, and every
    /// other match at the last one's instant (ties are ordered by seq, which the index is not
    /// sorted by).
    fn collect(
        &self,
        weight: &dyn Weight,
        segment: &SegmentReader,
        from: i64,
        to: i64,
        found: &mut Vec<(i64, u64)>,
    ) -> tantivy::Result<()> {
        let fast = segment.fast_fields();
        let time = fast.i64(schema::TIME)?.first_or_default_col(0);
        let seq = fast.u64(schema::SEQ)?.first_or_default_col(0);
        // Newest first: documents [start, end) are those with from <= occurred_at < to.
        let start = first_doc(segment.max_doc(), |d| time.get_val(d) < to);
        let end = first_doc(segment.max_doc(), |d| time.get_val(d) < from);
        if start >= end {
            return Ok(());
        }
        // Visits the matches in [lo, hi) in document order until `visit` says stop.
        let scan = |lo: DocId, hi: DocId, visit: &mut dyn FnMut((i64, u64)) -> bool| {
            let mut scorer = weight.scorer(segment, 1.0)?;
            let mut doc = scorer.doc();
            if doc < lo {
                doc = scorer.seek(lo);
            }
            while doc < hi && doc != TERMINATED {
                if !segment.is_deleted(doc) {
                    let key = (time.get_val(doc), seq.get_val(doc));
                    if self.after_cursor(key) && !visit(key) {
                        break;
                    }
                }
                doc = scorer.advance();
            }
            tantivy::Result::Ok(())
        };
        match self.order {
            Order::Newest => {
                let mut taken = 0;
                let mut last: Option<i64> = None;
                scan(start, end, &mut |key| {
                    if last.is_some_and(|t| key.0 < t) {
                        return false;
                    }
                    found.push(key);
                    taken += 1;
                    if taken == self.limit {
                        last = Some(key.0);
                    }
                    true
                })
            }
            Order::Oldest => {
                let mut hi = end;
                let mut chunk: DocId = 4096;
                let ours = found.len();
                loop {
                    let lo = hi.saturating_sub(chunk).max(start);
                    scan(lo, hi, &mut |key| {
                        found.push(key);
                        true
                    })?;
                    if lo == start {
                        return Ok(());
                    }
                    // Documents before `lo` are at least as new as the one just before it:
                    // matches older than that one are ahead of all of them.
                    let edge = time.get_val(lo - 1);
                    if found[ours..].iter().filter(|k| k.0 < edge).count() >= self.limit {
                        return Ok(());
                    }
                    hi = lo;
                    chunk = chunk.saturating_mul(4);
                }
            }
        }
    }
}

/// The first document in `[0, max_doc)` for which `past` holds, `past` being false then true
/// along the documents (a column sorted newest first).
fn first_doc(max_doc: DocId, past: impl Fn(DocId) -> bool) -> DocId {
    let (mut lo, mut hi) = (0, max_doc);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if past(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// The follower's writer, if it has one (every turn of its loop makes one first).
fn writer_of(
    writer: &mut Option<IndexWriter<TantivyDocument>>,
) -> Result<&mut IndexWriter<TantivyDocument>, StoreError> {
    writer
        .as_mut()
        .ok_or_else(|| StoreError::backend(std::io::Error::other("no index writer")))
}

/// The index's writer: indexing on up to two threads, 48 MB of buffer each.
fn new_writer(index: &Index) -> Result<IndexWriter<TantivyDocument>, StoreError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 2);
    index
        .writer_with_num_threads(threads, threads * 48_000_000)
        .map_err(index_error)
}

/// A reader that sees a commit once the follower reloads it.
fn new_reader(index: &Index) -> Result<IndexReader, StoreError> {
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(index_error)
}

/// Opens the index in `dir` if it is usable for a journal ending at `head`, else starts anew.
fn open_or_create(
    dir: &Path,
    journal: &dyn Journal,
    head: u64,
    prefix: &str,
) -> Result<(Index, Fields, u64), StoreError> {
    let (schema, fields) = schema::build();
    if dir.exists() {
        match usable(dir, &schema, journal, head, prefix) {
            Ok(Some((index, indexed))) => return Ok((index, fields, indexed)),
            Ok(None) => {
                tracing::warn!(dir = %dir.display(), "search index does not match the journal; rebuilding it")
            }
            Err(e) => {
                tracing::warn!(dir = %dir.display(), error = %e, "search index unreadable; rebuilding it")
            }
        }
    }
    Ok((create_anew(dir)?, fields, 0))
}

/// An empty index in `dir`, whatever the folder held before.
fn create_anew(dir: &Path) -> Result<Index, StoreError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(StoreError::backend)?;
    }
    std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
    Index::builder()
        .schema(schema::build().0)
        .settings(settings())
        .create_in_dir(dir)
        .map_err(index_error)
}

/// Every segment sorts its documents by occurred_at, newest first: a time range is a range of
/// documents, and a first page newest first is the first matches in document order.
fn settings() -> IndexSettings {
    IndexSettings {
        sort_by_field: Some(IndexSortByField {
            field: schema::TIME.to_owned(),
            order: tantivy::Order::Desc,
        }),
        ..IndexSettings::default()
    }
}

/// The index and its last seq, if it has our schema, a readable payload, one document per seq,
/// is not ahead of the journal, and its last entry's hash is the journal's at that seq.
fn usable(
    dir: &Path,
    schema: &tantivy::schema::Schema,
    journal: &dyn Journal,
    head: u64,
    prefix: &str,
) -> Result<Option<(Index, u64)>, StoreError> {
    let index = Index::open_in_dir(dir).map_err(index_error)?;
    let entries =
        |s: &tantivy::schema::Schema| s.fields().map(|(_, e)| e.clone()).collect::<Vec<_>>();
    if entries(&index.schema()) != entries(schema)
        || index.settings().sort_by_field != settings().sort_by_field
    {
        return Ok(None);
    }
    let meta = index.load_metas().map_err(index_error)?;
    let docs: u64 = meta.segments.iter().map(|s| u64::from(s.num_docs())).sum();
    let payload = meta.payload.as_deref().and_then(|p| p.strip_prefix(prefix));
    let (seq, hash) = match payload.and_then(|p| p.split_once(" hash=")) {
        Some((seq, hash)) => match seq.parse::<u64>() {
            Ok(seq) => (seq, hash.to_owned()),
            Err(_) => return Ok(None),
        },
        None if meta.segments.is_empty() => return Ok(Some((index, 0))),
        None => return Ok(None),
    };
    if seq > head || seq != docs {
        return Ok(None);
    }
    let same_journal = journal
        .read(seq, 1)?
        .first()
        .is_some_and(|e| e.seq == seq && e.hash == hash);
    Ok(same_journal.then_some((index, seq)))
}

/// What the follower does next.
enum Work {
    Stop,
    Poll,
    CatchUp,
}

/// The thread that follows the journal.
struct Follower {
    /// `None` between a writer that cannot be used again and the one that replaces it.
    writer: Option<IndexWriter<TantivyDocument>>,
    fields: Fields,
    /// The personal fields whose words are kept apart.
    personal: Vec<String>,
    /// The start of every commit's payload.
    prefix: String,
    journal: Arc<dyn Journal>,
    reader: Arc<std::sync::RwLock<IndexReader>>,
    shared: Arc<Shared>,
    indexed: tokio::sync::watch::Sender<u64>,
    /// The index's folder (made again if it is removed or damaged while the store runs).
    dir: PathBuf,
}

impl Follower {
    fn run(mut self) {
        let mut last_commit = Instant::now() - MIN_COMMIT_INTERVAL;
        // Indexing a burst leaves tens of megabytes freed but resident in the allocator (100 MB
        // after a million entries): once idle, hand them back. Only when idle: giving memory
        // back holds the allocator's locks, which would stall ingest and searches.
        let (mut trims, mut since_trim) = (0, 0);
        loop {
            match self.wait_for_work() {
                Work::Stop => return,
                Work::Poll => {
                    // Appends from another process are not announced: look for them (without
                    // holding the lock the writer announces through).
                    match self.journal.head() {
                        Ok(head) => {
                            let mut t = self.shared.target.lock().expect("index target lock");
                            t.head = t.head.max(head);
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "search index could not read the journal head")
                        }
                    }
                    if self.head() <= *self.indexed.borrow() {
                        if trims > 0 {
                            trims -= 1;
                            since_trim = 0;
                            vigil_alloc::release_free_memory();
                        }
                        continue;
                    }
                }
                Work::CatchUp => {}
            }
            // Commits are spaced out (fewer, larger segments); less so while a reader waits.
            let spacing = match self.shared.readers_waiting() {
                true => MIN_COMMIT_FOR_READERS,
                false => MIN_COMMIT_INTERVAL,
            };
            let since = last_commit.elapsed();
            if since < spacing {
                std::thread::sleep(spacing - since);
            }
            if self.writer.is_none() {
                let made = match self.folder_broken() {
                    true => self.rebuild(),
                    false => self.reopen(),
                };
                if let Err(e) = made {
                    tracing::error!(error = %e, "the search index's writer could not be made again; retrying");
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            }
            let from = *self.indexed.borrow();
            let caught_up = self.catch_up(&mut last_commit);
            let to = *self.indexed.borrow();
            since_trim += to.saturating_sub(from);
            if since_trim >= TRIM_AFTER {
                trims = TRIMS_WHEN_IDLE;
            }
            if let Err(e) = caught_up {
                tracing::error!(error = %e, "search index could not follow the journal; retrying");
                // Forget what was added since the last commit: the retry adds it again.
                let rolled_back = self.writer.as_mut().map(|w| w.rollback());
                if let Some(Err(e)) = &rolled_back {
                    tracing::error!(error = %e, "search index rollback failed");
                }
                // A writer whose rollback failed cannot be used again (it gave up its lock),
                // nor one whose folder is gone: the next turn makes another.
                if matches!(rolled_back, Some(Err(_))) || self.folder_broken() {
                    self.drop_writer();
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }

    fn head(&self) -> u64 {
        self.shared.target.lock().expect("index target lock").head
    }

    /// Whether the index's folder no longer holds an index: its list of segments is gone or is
    /// not JSON (removed or garbled while this process had it open). A list that cannot be read
    /// for another reason (no file handle left) says nothing: the index is not thrown away.
    fn folder_broken(&self) -> bool {
        match std::fs::read(self.dir.join("meta.json")) {
            Err(e) => e.kind() == std::io::ErrorKind::NotFound,
            Ok(text) => serde_json::from_slice::<serde_json::Value>(&text).is_err(),
        }
    }

    /// Lets the writer go, once its threads have ended (so that none writes into a folder
    /// made again after).
    fn drop_writer(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.wait_merging_threads();
        }
    }

    /// A new writer on the index as its last commit left it (after one whose rollback failed).
    fn reopen(&mut self) -> Result<(), StoreError> {
        let mut index = Index::open_in_dir(&self.dir).map_err(index_error)?;
        index.set_multithread_executor(2).map_err(index_error)?;
        self.writer = Some(new_writer(&index)?);
        Ok(())
    }

    /// Builds the index anew in its folder and from the start of the journal, as at a start
    /// that finds it missing: searches answer from the new index (saying how far behind it
    /// is, and waiting or answering `Unavailable` while it is far behind) and it follows the
    /// journal again. Searches under way finish on the old files, which stay mapped.
    fn rebuild(&mut self) -> Result<(), StoreError> {
        tracing::error!(
            dir = %self.dir.display(),
            "the search index's folder was removed or damaged while the store ran; building it again from the journal"
        );
        self.shared
            .rebuilding
            .store(true, std::sync::atomic::Ordering::Release);
        // Answers say how far the new index got from now on, before any is made from it.
        self.indexed.send_replace(0);
        self.drop_writer();
        let mut index = create_anew(&self.dir)?;
        index.set_multithread_executor(2).map_err(index_error)?;
        let writer = new_writer(&index)?;
        let reader = new_reader(&index)?;
        self.writer = Some(writer);
        *self
            .reader
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = reader;
        Ok(())
    }

    /// Sleeps until the journal is ahead of the index, a poll is due or the index is closing.
    fn wait_for_work(&self) -> Work {
        let t = self.shared.target.lock().expect("index target lock");
        if t.stop {
            return Work::Stop;
        }
        if t.head > *self.indexed.borrow() {
            return Work::CatchUp;
        }
        let (t, _) = self
            .shared
            .wake
            .wait_timeout(t, POLL)
            .expect("index target lock");
        match (t.stop, t.head > *self.indexed.borrow()) {
            (true, _) => Work::Stop,
            (false, true) => Work::CatchUp,
            (false, false) => Work::Poll,
        }
    }

    fn stopping(&self) -> bool {
        self.shared.target.lock().expect("index target lock").stop
    }

    fn catch_up(&mut self, last_commit: &mut Instant) -> Result<(), StoreError> {
        let mut indexed = *self.indexed.borrow();
        let mut last_hash = String::new();
        let mut pending = false;
        while indexed < self.head() && !self.stopping() {
            let batch = self.journal.read(indexed + 1, READ_BATCH)?;
            let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
                break;
            };
            last_hash = last.hash.clone();
            let seqs: Vec<u64> = batch.iter().map(|e| e.seq).collect();
            let summaries = self.journal.summaries(&seqs)?;
            let none = AnnotationSummary::default();
            for e in &batch {
                let n = summaries.get(&e.seq).unwrap_or(&none);
                writer_of(&mut self.writer)?
                    .add_document(schema::document(&self.fields, e, n, &self.personal))
                    .map_err(index_error)?;
            }
            // Entries annotated (or pinned) by entries of this batch: written again, whole.
            let touched = self.journal.touched(first.seq, last.seq, first.seq)?;
            if !touched.is_empty() {
                let seqs: Vec<u64> = touched.iter().map(|e| e.seq).collect();
                let summaries = self.journal.summaries(&seqs)?;
                for e in &touched {
                    writer_of(&mut self.writer)?
                        .delete_term(tantivy::Term::from_field_u64(self.fields.seq, e.seq));
                    let n = summaries.get(&e.seq).unwrap_or(&none);
                    writer_of(&mut self.writer)?
                        .add_document(schema::document(&self.fields, e, n, &self.personal))
                        .map_err(index_error)?;
                }
            }
            indexed = last.seq;
            pending = true;
            // Following ingest, commit often so readers see recent entries; rebuilding, commit
            // rarely so the index is built in fewer, larger segments.
            let interval = match self
                .shared
                .rebuilding
                .load(std::sync::atomic::Ordering::Acquire)
            {
                true => CATCH_UP_COMMIT_INTERVAL,
                false => NEAR_COMMIT_INTERVAL,
            };
            let for_readers = self.shared.readers_satisfied_at(indexed)
                && last_commit.elapsed() >= MIN_COMMIT_FOR_READERS;
            if last_commit.elapsed() > interval || for_readers {
                self.commit(indexed, &last_hash)?;
                *last_commit = Instant::now();
                pending = false;
            }
        }
        if pending {
            self.commit(indexed, &last_hash)?;
            *last_commit = Instant::now();
        }
        Ok(())
    }

    fn commit(&mut self, seq: u64, hash: &str) -> Result<(), StoreError> {
        let mut prepared = writer_of(&mut self.writer)?
            .prepare_commit()
            .map_err(index_error)?;
        prepared.set_payload(&format!("{}{seq} hash={hash}", self.prefix));
        prepared.commit().map_err(index_error)?;
        // Readers see the commit once the reader is reloaded; only then are waiting readers
        // woken. A failed reload does not undo the commit: a retry must start after `seq`.
        let reloaded = self
            .reader
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .reload();
        if let Err(e) = reloaded {
            tracing::error!(error = %e, "search index reload failed; readers see the previous commit");
        }
        if seq >= self.head() {
            self.shared
                .rebuilding
                .store(false, std::sync::atomic::Ordering::Release);
        }
        self.indexed.send_replace(seq);
        Ok(())
    }
}

/// What an index folder holds, read without taking it (`vigil verify`, beside a running
/// server): the last seq its last commit says it holds and that entry's hash, and the time each
/// live document files its entry under.
#[derive(Debug, Clone, Default)]
pub struct Census {
    /// The last seq of the last commit (0 for an empty index).
    pub indexed: u64,
    /// The chain hash the last commit recorded for that entry.
    pub hash: Option<String>,
    /// For seq `s`, `times[s - 1]`: the time (µs) the index files it under, `None` if it has no
    /// document; seqs up to `indexed`.
    pub times: Vec<Option<i64>>,
    /// Seqs with a document beyond `indexed` (none in an index Vigil wrote).
    pub beyond: Vec<u64>,
    /// Seqs with more than one live document.
    pub twice: Vec<u64>,
}

/// Reads the census of the index in `dir`; `None` when there is no index there.
pub fn census(dir: &Path) -> Result<Option<Census>, StoreError> {
    if !dir.join("meta.json").is_file() {
        return Ok(None);
    }
    let index = Index::open_in_dir(dir).map_err(index_error)?;
    let meta = index.load_metas().map_err(index_error)?;
    let (indexed, hash) = match meta
        .payload
        .as_deref()
        .and_then(|p| p.rsplit_once(" hash="))
    {
        Some((left, hash)) => {
            let digits = left.len() - left.bytes().rev().take_while(u8::is_ascii_digit).count();
            let seq = left[digits..].parse::<u64>().map_err(|_| {
                StoreError::backend(std::io::Error::other(format!(
                    "the search index's last commit does not say which entry it holds up to: {left:?}"
                )))
            })?;
            (seq, Some(hash.to_owned()))
        }
        None => (0, None),
    };
    let reader: IndexReader = index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
        .map_err(index_error)?;
    let searcher = reader.searcher();
    // One document per seq up to `indexed` in an index Vigil wrote: room for no more than the
    // documents there are (a garbled payload's huge `indexed` must not size the table).
    let documents: u64 = searcher
        .segment_readers()
        .iter()
        .map(|s| u64::from(s.max_doc()))
        .sum();
    let mut census = Census {
        indexed,
        hash,
        times: vec![None; indexed.min(documents) as usize],
        ..Census::default()
    };
    for segment in searcher.segment_readers() {
        let fast = segment.fast_fields();
        let time = fast
            .i64(schema::TIME)
            .map_err(index_error)?
            .first_or_default_col(0);
        let seq = fast
            .u64(schema::SEQ)
            .map_err(index_error)?
            .first_or_default_col(0);
        for doc in 0..segment.max_doc() {
            if segment.is_deleted(doc) {
                continue;
            }
            let s = seq.get_val(doc);
            match s
                .checked_sub(1)
                .and_then(|i| census.times.get_mut(i as usize))
            {
                Some(slot @ None) => *slot = Some(time.get_val(doc)),
                Some(Some(_)) => census.twice.push(s),
                None => census.beyond.push(s),
            }
        }
    }
    census.beyond.sort_unstable();
    census.twice.sort_unstable();
    Ok(Some(census))
}
