//! The embedded default backend of the Vigil audit store: one SQLite file in WAL mode.
//!
//! - Appends go to one writer thread that commits waiting batches together (group commit) with
//!   `synchronous = FULL`, so an `Ok` means the events are on disk.
//! - Reads run on a small pool of connections on tokio's blocking threads.
//! - Triggers refuse UPDATE and DELETE on the journal; a contentless FTS5 index serves full-text.
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
mod schema;
mod sql;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tokio::sync::oneshot;
use vigil_core::{Event, StoredEvent};
use vigil_store::{
    Appended, BucketPlan, Cursor, FacetRequest, FacetValue, Facets, IngestKey, NewKey, NewSession,
    NewUser, Order, Page, Search, Session, Store, StoreError, Timeline, TimelineRequest, User,
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
    writer: Mutex<mpsc::Sender<writer::Job>>,
    readers: Mutex<Vec<Connection>>,
}

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

impl SqliteStore {
    /// Opens (creating if needed, with its folder) the store at `path`.
    pub fn open(path: &Path, clock: Clock) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let conn = open_connection(path).map_err(db)?;
        schema::migrate(&conn)
            .map_err(db)?
            .map_err(StoreError::Invalid)?;
        let writer = writer::spawn(conn, clock)?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
            }),
        })
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
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().expect("pool lock").pop();
            let conn = match pooled {
                Some(c) => c,
                None => open_connection(&inner.path).map_err(db)?,
            };
            let out = f(&conn);
            let mut pool = inner.readers.lock().expect("pool lock");
            if pool.len() < 8 {
                pool.push(conn);
            }
            out
        })
        .await
        .map_err(StoreError::backend)?
    }
}

fn search_sync(conn: &Connection, s: &Search) -> Result<Page, StoreError> {
    let mut w = sql::compile(&s.query, &s.tz);
    let (dir, cmp) = match s.order {
        Order::Newest => ("DESC", "<"),
        Order::Oldest => ("ASC", ">"),
    };
    if let Some(c) = s.cursor {
        w.and(
            &format!("(occurred_at, seq) {cmp} (?, ?)"),
            [c.occurred_at.into(), (c.seq as i64).into()],
        );
    }
    let limit = s.limit.max(1);
    let text = format!(
        "SELECT {} FROM events WHERE {} ORDER BY occurred_at {dir}, seq {dir} LIMIT {}",
        sql::COLUMNS,
        w.sql,
        limit + 1
    );
    let mut stmt = conn.prepare_cached(&text).map_err(db)?;
    let mut events = stmt
        .query_map(rusqlite::params_from_iter(w.params), sql::stored_event)
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let next = if events.len() > limit {
        events.truncate(limit);
        events.last().map(Cursor::after)
    } else {
        None
    };
    Ok(Page { events, next })
}

fn timeline_sync(conn: &Connection, r: &TimelineRequest) -> Result<Timeline, StoreError> {
    let w = sql::compile(&r.query, &r.tz);
    let bounds = r.query.bounds(&r.tz);
    let (mut from, mut to) = (
        bounds.from.map(|t| sql::micros(&t)),
        bounds.to.map(|t| sql::micros(&t)),
    );
    if from.is_none() || to.is_none() {
        let (lo, hi): (Option<i64>, Option<i64>) = conn
            .query_row(
                &format!(
                    "SELECT min(occurred_at), max(occurred_at) FROM events WHERE {}",
                    w.sql
                ),
                rusqlite::params_from_iter(w.params.iter()),
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(db)?;
        let now = sql::micros(&chrono::Utc::now());
        from = from.or(lo).or(Some(to.unwrap_or(now) - 86_400_000_000));
        to = to
            .or(hi.map(|h| h + 1))
            .or(Some(now.max(from.unwrap_or(now) + 1)));
    }
    let (from, to) = (
        from.expect("set above"),
        to.expect("set above").max(from.expect("set above") + 1),
    );
    let plan = BucketPlan::new(from, to, r.buckets, r.tz);
    let width = plan.interval_seconds * 1_000_000;
    let end = plan.start + width * plan.count as i64;
    let text = format!(
        "SELECT (occurred_at - ?) / ?, count(*), sum(severity = 'critical') FROM events \
         WHERE {} AND occurred_at >= ? AND occurred_at < ? GROUP BY 1",
        w.sql
    );
    let mut params = vec![plan.start.into(), width.into()];
    params.extend(w.params);
    params.extend([from.max(plan.start).into(), end.min(to).into()]);
    let mut counts = vec![(0u64, 0u64); plan.count];
    let mut stmt = conn.prepare_cached(&text).map_err(db)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(params), |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get::<_, i64>(2)?,
            ))
        })
        .map_err(db)?;
    for row in rows {
        let (i, n, c) = row.map_err(db)?;
        if let Some(slot) = counts.get_mut(i as usize) {
            *slot = (n as u64, c as u64);
        }
    }
    Ok(plan.timeline(&counts))
}

fn facets_sync(conn: &Connection, r: &FacetRequest) -> Result<Facets, StoreError> {
    use vigil_store::FacetField as F;
    let col = match r.field {
        F::Actor => "actor_id",
        F::Section => "section",
        F::Kind => "kind",
        F::Action => "action",
        F::TargetType => "target_type",
        F::Severity => "severity",
        F::Outcome => "outcome",
    };
    let w = sql::compile(&r.query, &r.tz);
    let text = format!(
        "SELECT {col}, count(*) AS n FROM events WHERE {} AND {col} IS NOT NULL GROUP BY {col} ORDER BY n DESC, {col} LIMIT {}",
        w.sql,
        r.limit.max(1)
    );
    let mut stmt = conn.prepare_cached(&text).map_err(db)?;
    let values = stmt
        .query_map(rusqlite::params_from_iter(w.params), |row| {
            Ok(FacetValue {
                value: row.get(0)?,
                count: row.get::<_, i64>(1)? as u64,
            })
        })
        .map_err(db)?
        .collect::<Result<_, _>>()
        .map_err(db)?;
    Ok(Facets {
        field: r.field,
        values,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn append(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        self.inner
            .writer
            .lock()
            .expect("writer lock")
            .send(writer::Job { events, reply })
            .map_err(|_| StoreError::backend(WriterGone))?;
        answer.await.map_err(|_| StoreError::backend(WriterGone))?
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
        let search = search.clone();
        self.read(move |conn| search_sync(conn, &search)).await
    }

    async fn timeline(&self, request: &TimelineRequest) -> Result<Timeline, StoreError> {
        let request = request.clone();
        self.read(move |conn| timeline_sync(conn, &request)).await
    }

    async fn facets(&self, request: &FacetRequest) -> Result<Facets, StoreError> {
        let request = request.clone();
        self.read(move |conn| facets_sync(conn, &request)).await
    }

    async fn scan(&self, from_seq: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {} FROM events WHERE seq >= ? ORDER BY seq LIMIT ?",
                    sql::COLUMNS
                ))
                .map_err(db)?;
            let rows = stmt
                .query_map([from_seq as i64, limit as i64], sql::stored_event)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db);
            rows
        })
        .await
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
    ) -> Result<(), StoreError> {
        let hash = token_hash.to_vec();
        self.read(move |conn| accounts::revoke_session(conn, &hash, at))
            .await
    }

    async fn add_key(&self, key: &NewKey) -> Result<(), StoreError> {
        let key = key.clone();
        self.read(move |conn| accounts::add_key(conn, &key)).await
    }

    async fn key(&self, key_hash: &[u8]) -> Result<IngestKey, StoreError> {
        let hash = key_hash.to_vec();
        self.read(move |conn| accounts::key(conn, &hash)).await
    }
}

/// The writer thread stopped (it only does if the process is shutting down or it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the journal writer has stopped")]
struct WriterGone;
