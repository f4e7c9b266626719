//! The embedded default backend of the Vigil audit store: one SQLite file in WAL mode.
//!
//! - Appends go to one writer thread that commits waiting batches together (group commit) with
//!   `synchronous = FULL`, so an `Ok` means the events are on disk. Every change that the journal
//!   records (accounts, annotations, the alert setup) runs in the writer's transaction with the
//!   entry that tells of it.
//! - Reads run on a small pool of connections on tokio's blocking threads; so do the alert
//!   outbox's own writes (claims, attempts, the rules' cursor), which append nothing.
//!
//! The store's four parts are one file each: [`journal`](crate::journal) (with the index's view of
//! the journal), `accounts`, `annotations` and `alerts`; each holds its SQL and its trait's impl.
//! - Triggers refuse UPDATE and DELETE on the journal.
//! - Searches, timelines and facets go to the search index ([`vigil_index`]) in the folder
//!   `<database>.index`, derived from the journal and rebuilt from it when missing or behind;
//!   whole entries are always read from the journal.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vigil_store::StoreError> {
//! use vigil_store::JournalStore;
//! let store = vigil_store_sqlite::SqliteStore::open("vigil-data/vigil.db".as_ref(), vigil_store_sqlite::system_clock())?;
//! let head = store.head().await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod accounts;
mod alerts;
mod annotations;
mod body;
mod convert;
pub mod journal;
mod schema;
mod senders;
mod sql;
mod tree;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;
use vigil_index::SearchIndex;
use vigil_store::StoreError;

use crate::journal::JournalReader;

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
    writer: Mutex<Option<writer::Sender>>,
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
    /// The store's clock (how old the entries the index lacks are).
    clock: Clock,
    /// The dictionaries the journal's bodies are compressed with.
    codec: Arc<body::Codec>,
    /// Opened to read and nothing else ([`SqliteStore::open_read_only`]).
    read_only: bool,
    /// Read as an immutable file (a read-only medium: see [`open_to_check`]).
    immutable: bool,
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

pub(crate) fn db(e: rusqlite::Error) -> StoreError {
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
    // 8 KiB pages for a new file (an existing one keeps its own): entries of about 140 bytes
    // leave half the slack at the end of each page that 4 KiB pages do.
    conn.pragma_update(None, "page_size", 8192)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: every commit fsyncs the WAL, so an acknowledged write survives a power cut.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "cache_size", -65_536)?;
    conn.pragma_update(None, "mmap_size", 1i64 << 30)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// A connection that can only read (SQLite refuses any write on it), for a journal opened with
/// [`SqliteStore::open_read_only`]. Without the memory map: the file is read once. `immutable`:
/// as a file nothing writes, on a read-only medium (SQLite then needs no `-shm` beside it).
fn open_read_only_connection(path: &Path, immutable: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = if immutable {
        Connection::open_with_flags(immutable_uri(path), flags | OpenFlags::SQLITE_OPEN_URI)?
    } else {
        Connection::open_with_flags(path, flags)?
    };
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", true)?;
    conn.pragma_update(None, "cache_size", -8_192)?;
    conn.pragma_update(None, "mmap_size", 0)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    Ok(conn)
}

/// `file:PATH?immutable=1`, the path percent-encoded where a URI needs it.
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt as _;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

/// Opens a journal to be checked: as usual, or, when SQLite cannot make the `-shm` file beside
/// it (a read-only medium, a write-protected copy) and no write-ahead log is left there, as an
/// immutable file. Whether it was opened so.
fn open_to_check(path: &Path) -> Result<(Connection, bool), StoreError> {
    let usual = open_read_only_connection(path, false).and_then(|c| {
        c.query_row("PRAGMA user_version", [], |_| Ok(()))
            .map(|()| c)
    });
    let refused = match usual {
        Ok(conn) => return Ok((conn, false)),
        Err(e) => e,
    };
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let wal_holds = std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0);
    if wal_holds {
        return Err(StoreError::Invalid {
            message: format!(
                "{} cannot be opened to be read ({refused}), and its write-ahead log {} holds \
                 entries not yet in the file: copy the database and its -wal file to a folder \
                 that can be written and check the copy",
                path.display(),
                wal.display()
            ),
            field: None,
        });
    }
    let conn = open_read_only_connection(path, true).map_err(db)?;
    conn.query_row("PRAGMA user_version", [], |_| Ok(()))
        .map_err(|e| StoreError::Invalid {
            message: format!(
                "{} cannot be opened to be read: {refused}; {e}",
                path.display()
            ),
            field: None,
        })?;
    Ok((conn, true))
}

/// A connection for reading much of the journal once: without a memory map (the pages would
/// all count in the process's memory) and with a 2 MiB cache, enough for the tree's inner pages
/// (each leaf is read once; the OS keeps the file cached). A pooled connection keeps its cache:
/// 8 MiB each made an export's memory grow by 30 MB over the first few exports.
fn open_bulk_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = open_connection(path)?;
    conn.pragma_update(None, "mmap_size", 0)?;
    conn.pragma_update(None, "cache_size", -2_048)?;
    Ok(conn)
}

/// `vigil.db` → `vigil.db.index`.
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
        Self::open_with(path, clock, Some(Vec::new()))
    }

    /// [`Self::open`], for a server that masks these personal fields (besides the IP and the
    /// target's name) for readers without the unmask right: the index keeps their words apart,
    /// so that such readers' searches do not match them. An index built for other fields is
    /// built again.
    pub fn open_masking(
        path: &Path,
        clock: Clock,
        personal_fields: Vec<String>,
    ) -> Result<Self, StoreError> {
        Self::open_with(path, clock, Some(personal_fields))
    }

    /// Opens the journal alone, without the search index: for command-line verbs that append or
    /// verify while a server may be running on the same file. Searches answer `Unavailable`.
    pub fn open_journal(path: &Path, clock: Clock) -> Result<Self, StoreError> {
        Self::open_with(path, clock, None)
    }

    /// Opens the journal to read it and nothing else, for `vigil verify`: the file is opened
    /// read-only (SQLite refuses any write), nothing is migrated or brought up to date (the kept
    /// Merkle tree is not caught up, a write-ahead log is not checkpointed into the file), and
    /// no writer runs, so that checking a journal never changes the file checked: its SHA-256 is
    /// the same after as before. A journal of another schema version than this vigil's is
    /// refused with what to do, since reading it would need the upgrade `vigil serve` makes.
    pub fn open_read_only(path: &Path, clock: Clock) -> Result<Self, StoreError> {
        if !path.is_file() {
            return Err(StoreError::NotFound(format!(
                "no journal at {}",
                path.display()
            )));
        }
        let (conn, immutable) = open_to_check(path)?;
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(db)?;
        if version != schema::VERSION {
            let message = match version {
                0 => format!("{} is not a Vigil journal", path.display()),
                v if v > schema::VERSION => format!(
                    "the journal has schema version {v}, newer than this vigil understands ({}): \
                     verify it with the vigil that wrote it",
                    schema::VERSION
                ),
                v => format!(
                    "the journal has schema version {v}, and this vigil reads version {}: it is \
                     checked as it is, never changed, so verify it with the vigil that wrote it, \
                     or upgrade a copy (start `vigil serve --database COPY` once) and verify the copy",
                    schema::VERSION
                ),
            };
            return Err(StoreError::Invalid {
                message,
                field: None,
            });
        }
        // Only the last seq: its hash and time are the check's business (a damaged last entry
        // is named by it, not a reason not to open).
        let head_seq = conn
            .query_row("SELECT coalesce(max(seq), 0) FROM events", [], |r| {
                r.get::<_, i64>(0)
            })
            .map_err(db)?
            .max(0) as u64;
        let codec = Arc::new(body::Codec::load(&conn).map_err(db)?);
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer: Mutex::new(None),
                writer_thread: Mutex::new(None),
                readers: Mutex::new(vec![conn]),
                bulk_readers: Mutex::new(Vec::new()),
                index: None,
                head: Arc::new(AtomicU64::new(head_seq)),
                awaited: AtomicU64::new(head_seq),
                clock,
                codec,
                read_only: true,
                immutable,
            }),
        })
    }

    /// With an index (masking these personal fields) or without.
    fn open_with(
        path: &Path,
        clock: Clock,
        index_masking: Option<Vec<String>>,
    ) -> Result<Self, StoreError> {
        let with_index = index_masking.is_some();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(StoreError::backend)?;
        }
        let conn = open_connection(path).map_err(db)?;
        schema::migrate(&conn, with_index)
            .map_err(db)?
            .map_err(|message| StoreError::Invalid {
                message,
                field: None,
            })?;
        let head_seq = writer::head_seq(&conn).map_err(db)?;
        let codec = Arc::new(body::Codec::load(&conn).map_err(db)?);
        let index = match index_masking {
            Some(personal_fields) => {
                // The index reads the whole journal when it is built: without the memory map.
                let journal = JournalReader {
                    conn: Mutex::new(open_bulk_connection(path).map_err(db)?),
                    codec: codec.clone(),
                };
                Some(Arc::new(SearchIndex::open_with(
                    &index_dir(path),
                    Arc::new(journal),
                    head_seq,
                    vigil_index::IndexOptions {
                        personal_fields,
                        ..Default::default()
                    },
                )?))
            }
            None => None,
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
        let (writer, writer_thread) = writer::spawn(conn, clock.clone(), on_commit, codec.clone())?;
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
                clock,
                codec,
                read_only: false,
                immutable: false,
            }),
        })
    }

    /// Waits until the search index holds everything committed before this call.
    pub(crate) async fn index_current(&self) -> Result<Arc<SearchIndex>, StoreError> {
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

    /// Now by the store's clock, µs.
    pub(crate) fn now_micros(&self) -> i64 {
        (self.inner.clock)().timestamp_micros()
    }

    /// The journal's last seq as far as this process knows: its own commits, and what the
    /// index has seen other processes append.
    pub(crate) fn journal_head(&self) -> u64 {
        let own = self.inner.head.load(Ordering::Acquire);
        self.inner
            .index
            .as_ref()
            .map_or(own, |i| own.max(i.journal_head()))
    }

    /// The ids of the keys the kept checkpoints are signed with (read at once, without the
    /// runtime: for the server's start).
    pub fn checkpoint_keys(&self) -> Result<Vec<String>, StoreError> {
        let conn = open_connection(&self.inner.path).map_err(db)?;
        let mut stmt = conn
            .prepare("SELECT DISTINCT key_id FROM checkpoints ORDER BY key_id")
            .map_err(db)?;
        let ids = stmt.query_map([], |r| r.get(0)).map_err(db)?;
        ids.collect::<rusqlite::Result<_>>().map_err(db)
    }

    /// The search index's folder: the database file's name with `.index`.
    pub fn index_dir(&self) -> PathBuf {
        index_dir(&self.inner.path)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f`, which reads, on a pooled connection on a blocking thread.
    pub(crate) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.read_with(false, f).await
    }

    /// Runs `f`, which writes what the journal does not record (the alert outbox's claims and
    /// attempts, the rules' cursor), on a pooled connection beside the journal's writer: SQLite
    /// orders its transaction with the writer's, and it never waits behind an ingest batch.
    pub(crate) async fn write_beside<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.read_with(false, f).await
    }

    /// Like [`Self::read`], from the pool of connections for bulk reads when `bulk`.
    pub(crate) async fn read_with<T: Send + 'static>(
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
                None if inner.read_only => {
                    open_read_only_connection(&inner.path, inner.immutable).map_err(db)?
                }
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

impl SqliteStore {
    /// Gives a job to the writer and waits for its outcome, of type `T`.
    /// Hands a job to the writer and waits for it to be durable; unless it is a trace of
    /// reading (`awaited` false), searches from now on wait for the index to hold it.
    pub(crate) async fn send<T: 'static>(
        &self,
        job: writer::Job,
        answer: oneshot::Receiver<Result<writer::Output, StoreError>>,
        awaited: bool,
    ) -> Result<T, StoreError> {
        let sent = match self.inner.writer.lock().expect("writer lock").as_ref() {
            Some(writer) => writer.send(job),
            None => false,
        };
        if !sent && self.inner.read_only {
            return Err(StoreError::backend(ReadOnly));
        }
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
    pub(crate) async fn write<T: Send + 'static>(
        &self,
        size: usize,
        work: impl FnOnce(&Connection, &mut writer::Chain) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job = writer::Job {
            size,
            work: writer::Task::Work(Box::new(move |conn, chain| {
                Ok(Box::new(work(conn, chain)?) as writer::Output)
            })),
            reply,
            deferred: false,
        };
        self.send(job, answer, true).await
    }
}

/// The writer thread stopped (it only does if the process is shutting down or it panicked).
#[derive(Debug, thiserror::Error)]
#[error("the journal writer has stopped")]
struct WriterGone;

/// A write asked of a journal opened read-only.
#[derive(Debug, thiserror::Error)]
#[error("the journal was opened to be checked, read-only: nothing can be written to it")]
struct ReadOnly;
