//! The embedded default backend of the Vigil audit store: one SQLite file in WAL mode.
//!
//! - Appends go to one writer thread that commits waiting batches together (group commit) with
//!   `synchronous = FULL`, so an `Ok` means the events are on disk.
//! - Reads run on a small pool of connections on tokio's blocking threads.
//! - Triggers refuse UPDATE and DELETE on the journal.
//! - Searches, timelines and facets go to the search index ([`vigil_index`]) in the folder
//!   `<database>.index`, derived from the journal and rebuilt from it when missing or behind;
//!   whole entries are always read from the journal.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vigil_store::StoreError> {
//! use vigil_store::Store;
//! let store = vigil_store_sqlite::SqliteStore::open("vigil-data/vigil.db".as_ref(), vigil_store_sqlite::system_clock())?;
//! let head = store.head().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod accounts;
mod alerts;
mod notes;
mod schema;
mod sql;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;
use vigil_core::Annotation;
use vigil_core::{Event, StoredEvent};
use vigil_index::{Journal, SearchIndex};
use vigil_store::{
    AccountChange, AlertItem, AlertItemKind, AlertMatch, Appended, Attempt, Cursor, Delivery,
    DeliveryCounts, DeliveryFilter, EntryNotes, FacetRequest, Facets, Incident, IncidentKey,
    IncidentNote, IngestKey, Lockout, LockoutPolicy, Mark, MarkChange, NewAnnotation, NewIncident,
    NewIncidentNote, NewKey, NewPin, NewSession, NewUser, Page, Pin, RoleRecord, Search, Session,
    Store, StoreError, Timeline, TimelineRequest, User, UserSummary, Written,
};

pub use writer::Clock;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(chrono::Utc::now)
}

/// The SQLite store. Cloning shares it.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Option<mpsc::Sender<writer::Job>>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    readers: Mutex<Vec<Connection>>,
    /// Connections for bulk reads (exports): no memory map and a small cache, so reading the
    /// whole journal does not map it all into the process.
    bulk_readers: Mutex<Vec<Connection>>,
    /// `None` when opened for the journal alone (CLI verbs beside a running server).
    index: Option<Arc<SearchIndex>>,
    /// The last committed seq, as the writer last reported it.
    head: Arc<AtomicU64>,
    /// The last seq a search must see (the index waits for it): everything acknowledged but
    /// the traces of reading, so that a search does not wait for the previous search's trace.
    awaited: AtomicU64,
}

/// The journal as the search index reads it, on a connection of its own.
struct JournalReader(Mutex<Connection>);

impl Journal for JournalReader {
    fn read(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        scan_sync(&self.0.lock().expect("journal reader lock"), from, limit)
    }

    fn head(&self) -> Result<u64, StoreError> {
        writer::head_seq(&self.0.lock().expect("journal reader lock")).map_err(db)
    }

    fn notes(
        &self,
        seqs: &[u64],
    ) -> Result<std::collections::HashMap<u64, vigil_core::Notes>, StoreError> {
        notes::notes(&self.0.lock().expect("journal reader lock"), seqs)
    }

    fn touched(&self, from: u64, to: u64, before: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let conn = self.0.lock().expect("journal reader lock");
        let seqs = notes::touched(&conn, from, to, before)?;
        by_seqs(&conn, &seqs)
    }
}

impl Drop for Inner {
    /// Stops the writer (it finishes what it was given) and waits for it, then the search index.
    fn drop(&mut self) {
        drop(self.writer.lock().expect("writer lock").take());
        if let Some(thread) = self.writer_thread.lock().expect("writer lock").take() {
            let _ = thread.join();
        }
    }
}

fn scan_sync(conn: &Connection, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
            sql::COLUMNS
        ))
        .map_err(db)?;
    let rows = stmt
        .query_map([from as i64, limit as i64], sql::stored_event)
        .map_err(db)?;
    rows.collect::<Result<Vec<_>, _>>().map_err(db)
}

/// Whole entries for a list of seqs, in the list's order.
///
/// Seqs close together (a page of a broad search, an export) are read as one range and only the
/// wanted rows decoded, which is several times faster than looking each one up; scattered seqs
/// are looked up one by one.
fn by_seqs(conn: &Connection, seqs: &[u64]) -> Result<Vec<StoredEvent>, StoreError> {
    let (Some(&lo), Some(&hi)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(Vec::new());
    };
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
                found.insert(seq, sql::stored_event(row).map_err(db)?);
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
        let rows = stmt.query_map([], sql::stored_event).map_err(db)?;
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

/// The index named an entry the journal does not have (it should have been rebuilt).
#[derive(Debug, thiserror::Error)]
#[error("the search index names entry seq {0}, which the journal does not have")]
struct IndexAhead(u64);

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit fsyncs the WAL, so an acknowledged write survives a power cut.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// `vigil.db` → `vigil.db.index`.
/// A connection for reading much of the journal once: without a memory map (the pages would
/// all count in the process's memory) and with an 8 MiB cache.
fn open_bulk_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_connection(path)?;
    conn.pragma_update(None, "mmap_size", 0)?;
    conn.pragma_update(None, "cache_size", -8_192)?;
    Ok(conn)
}

fn index_dir(path: &Path) -> PathBuf {
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".index");
    path.with_file_name(name)
}

impl SqliteStore {
    /// Opens (creating if needed, with its folder) the store at `path`, with its search index in
    /// `<path>.index` (built or caught up from the journal in the background).
    pub fn open(path: &Path, clock: Clock) -> Result<Self, StoreError> {
        Self::open_with(path, clock, true)
    }

    /// Opens the journal alone, without the search index: for command-line verbs that append or
    /// verify while a server may be running on the same file. Searches answer `Unavailable`.
    pub fn open_journal(path: &Path, clock: Clock) -> Result<Self, StoreError> {
        Self::open_with(path, clock, false)
    }

    fn open_with(path: &Path, clock: Clock, with_index: bool) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let conn = open_connection(path).map_err(db)?;
        schema::migrate(&conn)
            .map_err(db)?
            .map_err(StoreError::Invalid)?;
        let head_seq = writer::head_seq(&conn).map_err(db)?;
        let index = match with_index {
            true => {
                let journal = JournalReader(Mutex::new(open_connection(path).map_err(db)?));
                Some(Arc::new(SearchIndex::open(
                    &index_dir(path),
                    Arc::new(journal),
                    head_seq,
                )?))
            }
            false => None,
        };
        let head = Arc::new(AtomicU64::new(head_seq));
        let on_commit = {
            let (index, head) = (index.clone(), head.clone());
            Box::new(move |seq: u64| {
                head.store(seq, Ordering::Release);
                if let Some(index) = &index {
                    index.advance(seq);
                }
            })
        };
        let (writer, writer_thread) = writer::spawn(conn, clock, on_commit)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(Some(writer)),
                writer_thread: Mutex::new(Some(writer_thread)),
                readers: Mutex::new(Vec::new()),
                bulk_readers: Mutex::new(Vec::new()),
                index,
                head,
                awaited: AtomicU64::new(head_seq),
            }),
        })
    }

    /// Waits until the search index holds everything committed before this call.
    async fn index_current(&self) -> Result<Arc<SearchIndex>, StoreError> {
        let index = self.inner.index.clone().ok_or_else(|| {
            StoreError::Unavailable(
                "this process opened the journal without its search index".into(),
            )
        })?;
        index
            .wait_for(self.inner.awaited.load(Ordering::Acquire))
            .await?;
        Ok(index)
    }

    /// The search index's folder: the database file's name with `.index`.
    pub fn index_dir(&self) -> PathBuf {
        index_dir(&self.inner.path)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on a pooled connection on a blocking thread.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.read_with(false, f).await
    }

    /// Like [`Self::read`], from the pool of connections for bulk reads when `bulk`.
    async fn read_with<T: Send + 'static>(
        &self,
        bulk: bool,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pool = if bulk {
                &inner.bulk_readers
            } else {
                &inner.readers
            };
            let pooled = pool.lock().expect("pool lock").pop();
            let conn = match pooled {
                Some(c) => c,
                None if bulk => open_bulk_connection(&inner.path).map_err(db)?,
                None => open_connection(&inner.path).map_err(db)?,
            };
            let out = f(&conn);
            let mut pool = pool.lock().expect("pool lock");
            if pool.len() < 8 {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(StoreError::backend)?
    }
}

fn next_cursor(events: &mut Vec<StoredEvent>, limit: usize) -> Option<Cursor> {
    if events.len() > limit {
        events.truncate(limit);
        events.last().map(Cursor::after)
    } else {
        None
    }
}

#[async_trait]
impl Store for SqliteStore {
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
        self.read(move |conn| {
            conn.prepare_cached(&format!("SELECT {} FROM events WHERE id = ?", sql::COLUMNS))
                .map_err(db)?
                .query_row([id.as_bytes().as_slice()], sql::stored_event)
                .optional()
                .map_err(db)?
                .ok_or_else(|| StoreError::NotFound(format!("event {id}")))
        })
        .await
    }

    async fn search(&self, search: &Search) -> Result<Page, StoreError> {
        let index = self.index_current().await?;
        let search = search.clone();
        self.read(move |conn| {
            let limit = search.limit.max(1);
            let seqs = index.search(
                &search.query,
                &search.tz,
                search.cursor,
                search.order,
                limit + 1,
            )?;
            let mut events = by_seqs(conn, &seqs)?;
            let next = next_cursor(&mut events, limit);
            Ok(Page { events, next })
        })
        .await
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
        self.read_with(true, move |conn| {
            by_seqs(conn, &seqs).map_err(|e| match e {
                StoreError::Backend(b) if b.is::<IndexAhead>() => {
                    StoreError::NotFound(b.to_string())
                }
                other => other,
            })
        })
        .await
    }

    async fn timeline(&self, request: &TimelineRequest) -> Result<Timeline, StoreError> {
        let index = self.index_current().await?;
        let request = request.clone();
        blocking(move || index.timeline(&request)).await
    }

    async fn facets(&self, request: &FacetRequest) -> Result<Facets, StoreError> {
        let index = self.index_current().await?;
        let request = request.clone();
        blocking(move || index.facets(&request)).await
    }

    async fn scan(&self, from_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |conn| scan_sync(conn, from_seq, limit))
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

    async fn add_user(&self, user: &NewUser) -> Result<(), StoreError> {
        let user = user.clone();
        self.read(move |conn| accounts::add_user(conn, &user)).await
    }

    async fn count_users(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(db)
        })
        .await
    }

    async fn user(&self, name: &str) -> Result<User, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| accounts::user(conn, &name)).await
    }

    async fn add_session(&self, session: &NewSession) -> Result<(), StoreError> {
        let session = session.clone();
        self.read(move |conn| accounts::add_session(conn, &session))
            .await
    }

    async fn session(&self, token_hash: &[u8]) -> Result<Session, StoreError> {
        let hash = token_hash.to_vec();
        self.read(move |conn| accounts::session(conn, &hash)).await
    }

    async fn revoke_session(
        &self,
        token_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<(), StoreError> {
        let hash = token_hash.to_vec();
        self.write(1, move |conn, chain| {
            accounts::revoke_session(conn, &hash, at)?;
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }

    async fn change_accounts(
        &self,
        change: AccountChange,
        journal: Event,
    ) -> Result<(), StoreError> {
        self.write(1, move |conn, chain| {
            accounts::change(conn, &change)?;
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }

    async fn users(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<UserSummary>, StoreError> {
        self.read(move |conn| accounts::users(conn, at)).await
    }

    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError> {
        self.read(accounts::stored_roles).await
    }

    async fn add_key(&self, key: &NewKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.read(move |conn| accounts::add_key(conn, &key)).await
    }

    async fn key(&self, key_hash: &[u8]) -> Result<IngestKey, StoreError> {
        let hash = key_hash.to_vec();
        self.read(move |conn| accounts::key(conn, &hash)).await
    }

    async fn ingest_keys(&self) -> Result<Vec<IngestKey>, StoreError> {
        self.read(accounts::keys).await
    }

    async fn revoke_key(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(1, move |conn, chain| {
            accounts::revoke_key(conn, &name, at)?;
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }

    async fn revoke_user_sessions(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<u64, StoreError> {
        let name = name.to_owned();
        self.write(1, move |conn, chain| {
            let n = accounts::revoke_user_sessions(conn, &name, at)?;
            let mut journal = journal;
            journal
                .details
                .get_or_insert_with(Default::default)
                .insert("sessions".into(), n.into());
            chain.append(conn, &[journal])?;
            Ok(n)
        })
        .await
    }

    async fn sign_in_failed(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        policy: LockoutPolicy,
        journal: Event,
        lockout: Event,
    ) -> Result<Lockout, StoreError> {
        let name = name.to_owned();
        self.write(2, move |conn, chain| {
            let l = accounts::sign_in_failed(conn, &name, at, policy)?;
            let mut entries = vec![journal];
            if l.locked_now {
                entries.push(lockout);
            }
            chain.append(conn, &entries)?;
            Ok(l)
        })
        .await
    }

    async fn locked_until(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| accounts::locked_until(conn, &name, at))
            .await
    }

    async fn sign_in_succeeded(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        session: NewSession,
        journal: Event,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let name = name.to_owned();
        // In the writer, so that it is ordered with the failures recorded meanwhile.
        self.write(1, move |conn, chain| {
            if let Some(until) = accounts::locked_until(conn, &name, at)? {
                return Ok(Some(until));
            }
            accounts::clear_sign_in_failures(conn, &name, at)?;
            accounts::add_session(conn, &session)?;
            chain.append(conn, &[journal])?;
            Ok(None)
        })
        .await
    }

    async fn unlock_sign_in(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.write(1, move |conn, chain| {
            let held = accounts::clear_sign_in_failures(conn, &name, at)?;
            if held {
                chain.append(conn, &[journal])?;
            }
            Ok(held)
        })
        .await
    }

    async fn alert_items(&self, kind: AlertItemKind) -> Result<Vec<AlertItem>, StoreError> {
        self.read(move |conn| alerts::items(conn, kind)).await
    }

    async fn add_alert_item(
        &self,
        kind: AlertItemKind,
        item: &AlertItem,
    ) -> Result<(), StoreError> {
        let item = item.clone();
        self.read(move |conn| alerts::add_item(conn, kind, &item))
            .await
    }

    async fn remove_alert_item(&self, kind: AlertItemKind, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.read(move |conn| alerts::remove_item(conn, kind, &name))
            .await
    }

    async fn alert_cursor(&self) -> Result<Option<u64>, StoreError> {
        self.read(alerts::cursor).await
    }

    async fn record_matches(
        &self,
        through: u64,
        matches: Vec<AlertMatch>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.read(move |conn| alerts::record_matches(conn, through, &matches, now))
            .await
    }

    async fn start_test_delivery(
        &self,
        channel: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, StoreError> {
        let channel = channel.to_owned();
        self.read(move |conn| alerts::start_test(conn, &channel, now))
            .await
    }

    async fn claim_deliveries(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
        per_channel: usize,
    ) -> Result<Vec<Delivery>, StoreError> {
        self.read(move |conn| alerts::claim(conn, now, limit, per_channel))
            .await
    }

    async fn finish_delivery(&self, id: u64, attempt: Attempt) -> Result<(), StoreError> {
        self.read(move |conn| alerts::finish(conn, id, &attempt))
            .await
    }

    async fn release_deliveries(&self) -> Result<u64, StoreError> {
        self.read(alerts::release).await
    }

    async fn next_delivery_due(
        &self,
        per_channel: usize,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        self.read(move |conn| alerts::next_due(conn, per_channel))
            .await
    }

    async fn deliveries(&self, filter: &DeliveryFilter) -> Result<Vec<Delivery>, StoreError> {
        let filter = filter.clone();
        self.read(move |conn| alerts::list(conn, &filter)).await
    }

    async fn delivery_counts(&self) -> Result<DeliveryCounts, StoreError> {
        self.read(alerts::counts).await
    }

    async fn retry_delivery(
        &self,
        id: u64,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Delivery, StoreError> {
        self.read(move |conn| alerts::retry(conn, id, now)).await
    }

    async fn marks(&self) -> Result<Vec<Mark>, StoreError> {
        self.read(notes::marks).await
    }

    async fn change_mark(&self, change: MarkChange, journal: Event) -> Result<(), StoreError> {
        self.write(1, move |conn, chain| {
            notes::change_mark(conn, chain, &change, journal)
        })
        .await
    }

    async fn annotate(
        &self,
        annotation: NewAnnotation,
        journal: Event,
    ) -> Result<(Annotation, Written), StoreError> {
        self.write(1, move |conn, chain| {
            notes::annotate(conn, chain, &annotation, journal)
        })
        .await
    }

    async fn annotations(&self, entry: uuid::Uuid) -> Result<Vec<Annotation>, StoreError> {
        self.read(move |conn| notes::annotations(conn, entry)).await
    }

    async fn entry_notes(
        &self,
        seqs: Vec<u64>,
    ) -> Result<std::collections::HashMap<u64, EntryNotes>, StoreError> {
        self.read(move |conn| notes::entry_notes(conn, &seqs)).await
    }

    async fn open_incident(
        &self,
        incident: NewIncident,
        journal: Event,
    ) -> Result<(Incident, Written), StoreError> {
        self.write(1, move |conn, chain| {
            notes::open_incident(conn, chain, &incident, journal)
        })
        .await
    }

    async fn incidents(&self) -> Result<Vec<Incident>, StoreError> {
        self.read(notes::incidents).await
    }

    async fn incident(&self, key: IncidentKey) -> Result<Incident, StoreError> {
        self.read(move |conn| notes::incident(conn, key)).await
    }

    async fn incident_notes(&self, incident: uuid::Uuid) -> Result<Vec<IncidentNote>, StoreError> {
        self.read(move |conn| notes::incident_notes(conn, incident))
            .await
    }

    async fn pins(&self, incident: uuid::Uuid) -> Result<Vec<Pin>, StoreError> {
        self.read(move |conn| notes::pins(conn, incident)).await
    }

    async fn pin(&self, pin: NewPin, journal: Event) -> Result<(Pin, Written), StoreError> {
        self.write(1, move |conn, chain| notes::pin(conn, chain, &pin, journal))
            .await
    }

    async fn add_incident_note(
        &self,
        note: NewIncidentNote,
        journal: Event,
    ) -> Result<(IncidentNote, Written), StoreError> {
        self.write(1, move |conn, chain| {
            notes::add_incident_note(conn, chain, &note, journal)
        })
        .await
    }
}

impl SqliteStore {
    /// Gives a job to the writer and waits for its outcome, of type `T`.
    /// Hands a job to the writer and waits for it to be durable; unless it is a trace of
    /// reading (`awaited` false), searches from now on wait for the index to hold it.
    async fn send<T: 'static>(
        &self,
        job: writer::Job,
        answer: oneshot::Receiver<Result<writer::Output, StoreError>>,
        awaited: bool,
    ) -> Result<T, StoreError> {
        let sent = match self.inner.writer.lock().expect("writer lock").as_ref() {
            Some(writer) => writer.send(job).is_ok(),
            None => false,
        };
        if !sent {
            return Err(StoreError::backend(WriterGone));
        }
        let output = answer
            .await
            .map_err(|_| StoreError::backend(WriterGone))??;
        if awaited {
            // The head now holds this job's commit (and perhaps later ones).
            let head = self.inner.head.load(Ordering::Acquire);
            self.inner.awaited.fetch_max(head, Ordering::AcqRel);
        }
        Ok(*output
            .downcast::<T>()
            .expect("a job's output has the type its sender expects"))
    }

    /// Runs `work` in the writer's transaction (it may append to the chain), durably.
    async fn write<T: Send + 'static>(
        &self,
        size: usize,
        work: impl FnOnce(&Connection, &mut writer::Chain) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = writer::Job {
            size,
            work: Box::new(move |conn, chain| Ok(Box::new(work(conn, chain)?) as writer::Output)),
            reply,
        };
        self.send(job, answer, true).await
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

/// The writer thread stopped (it only does if the process is shutting down or it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the journal writer has stopped")]
struct WriterGone;
