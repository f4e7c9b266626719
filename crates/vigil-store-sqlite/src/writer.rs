//! The single writer: one thread owns the write connection and commits whatever batches are
//! waiting in one transaction (group commit), so concurrent senders share one fsync instead of
//! queueing behind each other. Each batch is a savepoint: one failing batch is rolled back alone.
//!
//! Small jobs (the trace of a search, an annotation, an account change) do not queue behind bulk
//! ingest: they are taken before any waiting batch, and one that arrives while a batch is being
//! appended (and more than a quarter of it is left) interrupts it: the batch's savepoint is
//! rolled back, the small jobs are committed, and the batch is appended again. A batch is
//! interrupted at most once and left for a later group at most once, so ingest cannot starve
//! behind a stream of small writes; a read's trace usually waits for a few dozen entries, at
//! worst for one batch.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};

use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use tokio::sync::oneshot;
use vigil_core::chain;
use vigil_core::{Event, StoredEvent};
use vigil_store::{Appended, StoreError};

use crate::body::{self, Codec, Packer};
use crate::sql::{self, micros};

/// A clock, passed in so that tests control time.
pub type Clock = std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// What a job leaves for its sender, told once the group is committed.
pub(crate) type Output = Box<dyn std::any::Any + Send>;

/// What a job does inside the group's transaction: it may append to the chain and write other
/// tables, all or nothing (it runs in a savepoint of its own).
pub(crate) type Work =
    Box<dyn FnOnce(&Connection, &mut Chain) -> Result<Output, StoreError> + Send>;

/// One job (a batch to append, or a record and the journal entry about it) and where to send
/// its outcome.
pub(crate) struct Job {
    /// About how many events it appends (groups are kept under [`MAX_GROUP_EVENTS`]).
    pub size: usize,
    pub work: Task,
    pub reply: oneshot::Sender<Result<Output, StoreError>>,
    /// A batch left for a later group once because small jobs went first: it is not left
    /// again, so ingest cannot starve behind a stream of small writes.
    pub deferred: bool,
}

/// What a job does.
pub(crate) enum Task {
    /// Any work, run once.
    Work(Work),
    /// A batch to append; `interruptible` until it has been interrupted once.
    Append {
        events: Vec<Event>,
        interruptible: bool,
    },
}

impl Job {
    /// Appends a batch.
    pub fn append(events: Vec<Event>, reply: oneshot::Sender<Result<Output, StoreError>>) -> Job {
        Job {
            size: events.len(),
            work: Task::Append {
                events,
                interruptible: true,
            },
            reply,
            deferred: false,
        }
    }

    fn small(&self) -> bool {
        self.size <= SMALL_JOB
    }

    /// Whether it is a batch that a small job interrupted already.
    fn was_interrupted(&self) -> bool {
        matches!(
            self.work,
            Task::Append {
                interruptible: false,
                ..
            }
        )
    }
}

/// The sending end of the writer: jobs, and a flag raised when a small job is sent, so that a
/// batch being appended makes way for it.
#[derive(Clone)]
pub(crate) struct Sender {
    jobs: mpsc::Sender<Job>,
    small_waiting: Arc<AtomicBool>,
}

impl Sender {
    /// Sends a job; false if the writer has stopped.
    pub fn send(&self, job: Job) -> bool {
        let small = job.small();
        let sent = self.jobs.send(job).is_ok();
        if sent && small {
            self.small_waiting.store(true, Ordering::Release);
        }
        sent
    }
}

/// The end of the chain inside a job, and the time the group is received at.
pub(crate) struct Chain {
    head: Head,
    now: i64,
    codec: Arc<Codec>,
}

impl Chain {
    /// Appends events (ids already stored come back as duplicates).
    pub fn append(
        &mut self,
        conn: &Connection,
        events: &[Event],
    ) -> Result<Vec<Appended>, StoreError> {
        append_batch(conn, &mut self.head, events, self.now, None, &self.codec).map_err(|e| match e
        {
            Interrupt::Failed(e) => e,
            Interrupt::MakeWay => unreachable!("only the writer's own batches make way"),
        })
    }

    /// When the group is received, µs since the epoch.
    pub fn now(&self) -> i64 {
        self.now
    }
}

/// Most events committed in one transaction (more once a group holds a larger job). A small
/// job waits for the commit of the group in hand, so a group is about one full ingest batch
/// (a few milliseconds of appending); many small batches still share one fsync. (With groups
/// of 20,000, a search's trace waited 17 ms at the median under full-speed ingest; 12 ms now.)
const MAX_GROUP_EVENTS: usize = 1_000;
/// Jobs of at most this many events are small: they go ahead of bulk batches.
const SMALL_JOB: usize = 16;

/// The end of the chain as the writer knows it.
#[derive(Debug, Clone, Copy)]
struct Head {
    seq: u64,
    hash: [u8; 32],
    received_at: i64,
}

/// Told the new last seq after every commit that stored something.
pub(crate) type OnCommit = Box<dyn Fn(u64) + Send>;

/// The last seq in the journal (0 when empty).
pub(crate) fn head_seq(conn: &Connection) -> rusqlite::Result<u64> {
    read_head(conn).map(|h| h.seq)
}

/// Starts the writer thread; it stops when every sender is dropped.
pub(crate) fn spawn(
    conn: Connection,
    clock: Clock,
    on_commit: OnCommit,
    codec: Arc<Codec>,
) -> Result<(Sender, std::thread::JoinHandle<()>), StoreError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let small_waiting = Arc::new(AtomicBool::new(false));
    let inbox = Inbox {
        rx,
        small_waiting: small_waiting.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("vigil-sqlite-writer".into())
        .spawn(move || run(conn, inbox, clock, on_commit, codec))
        .map_err(StoreError::backend)?;
    Ok((
        Sender {
            jobs: tx,
            small_waiting,
        },
        thread,
    ))
}

/// The receiving end.
struct Inbox {
    rx: mpsc::Receiver<Job>,
    small_waiting: Arc<AtomicBool>,
}

fn read_head(conn: &Connection) -> rusqlite::Result<Head> {
    let row = conn
        .query_row(
            "SELECT seq, hash, received_at FROM events ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            },
        )
        .optional()?;
    Ok(match row {
        None => Head {
            seq: 0,
            hash: chain::GENESIS,
            received_at: i64::MIN,
        },
        Some((seq, hash, received_at)) => Head {
            seq: seq as u64,
            // A damaged head must stop the writer, never restart the chain from zero.
            hash: hash.try_into().map_err(|h: Vec<u8>| {
                rusqlite::Error::FromSqlConversionFailure(
                    1,
                    rusqlite::types::Type::Blob,
                    format!(
                        "the hash of entry {seq} is {} bytes, not 32: run vigil verify",
                        h.len()
                    )
                    .into(),
                )
            })?,
            received_at,
        },
    })
}

/// Jobs received and not yet written, small ones apart.
#[derive(Default)]
struct Waiting {
    small: VecDeque<Job>,
    bulk: VecDeque<Job>,
}

impl Waiting {
    fn put(&mut self, job: Job) {
        if job.small() {
            self.small.push_back(job);
        } else {
            self.bulk.push_back(job);
        }
    }

    /// Takes every job already sent, without waiting. The flag is lowered first: a small job
    /// sent after this raises it again.
    fn drain(&mut self, inbox: &Inbox) {
        inbox.small_waiting.store(false, Ordering::Release);
        while let Ok(job) = inbox.rx.try_recv() {
            self.put(job);
        }
    }

    fn is_empty(&self) -> bool {
        self.small.is_empty() && self.bulk.is_empty()
    }
}

fn run(mut conn: Connection, inbox: Inbox, clock: Clock, on_commit: OnCommit, codec: Arc<Codec>) {
    let mut waiting = Waiting::default();
    let mut trainer = Trainer::default();
    loop {
        if waiting.is_empty() {
            match inbox.rx.recv() {
                Ok(job) => waiting.put(job),
                Err(_) => return,
            }
        }
        trainer.store_trained(&conn, &codec, &clock);
        let (done, head) = write_group(&mut conn, &mut waiting, &inbox, &clock, &codec);
        if let Some(seq) = head {
            on_commit(seq);
            trainer.start_if_due(&conn, &codec, seq);
        }
        for (reply, result) in done {
            // A sender that gave up (client disconnected) is not our problem: its events are stored.
            let _ = reply.send(result);
        }
    }
}

type Reply = oneshot::Sender<Result<Output, StoreError>>;
/// The jobs a group wrote (or failed), with their outcomes.
type Done = Vec<(Reply, Result<Output, StoreError>)>;

/// Writes a group of jobs in one transaction: small jobs first, then batches while the group is
/// under its size and no small job has arrived (one that arrives interrupts the batch in hand,
/// joins the group and ends it). Returns each written job's reply and outcome and, if anything
/// was stored, the new last seq. The head is read inside the transaction (under SQLite's write
/// lock), so another process appending to the same file cannot fork the chain.
fn write_group(
    conn: &mut Connection,
    waiting: &mut Waiting,
    inbox: &Inbox,
    clock: &Clock,
    codec: &Arc<Codec>,
) -> (Done, Option<u64>) {
    waiting.drain(inbox);
    let fail_all = |e: rusqlite::Error, waiting: &mut Waiting| {
        tracing::error!(error = %e, "journal write failed");
        // What this group would have held: the small jobs, else the first batch.
        let jobs: Vec<Job> = match waiting.small.is_empty() {
            false => waiting.small.drain(..).collect(),
            true => waiting.bulk.pop_front().into_iter().collect(),
        };
        let done = jobs
            .into_iter()
            .map(|j| {
                let failed = StoreError::backend(CommitFailed(e.to_string()));
                (j.reply, Err(failed))
            })
            .collect();
        (done, None)
    };
    let mut tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_all(e, waiting),
    };
    let mut head = match read_head(&tx) {
        Ok(h) => h,
        Err(e) => return fail_all(e, waiting),
    };
    let first = head.seq;
    // received_at never goes backwards, even if the wall clock does.
    let now = micros(&clock()).max(head.received_at);
    let mut done: Done = Vec::new();
    let (mut events, mut small_taken) = (0, false);
    loop {
        waiting.drain(inbox);
        let job = match waiting.small.pop_front() {
            Some(job) => {
                small_taken = true;
                job
            }
            None if events >= MAX_GROUP_EVENTS => break,
            // After small jobs, a batch waits for the next group (the small ones are committed
            // without waiting for it), but only once: one already left, or already interrupted,
            // joins this group.
            None if small_taken => match waiting.bulk.front_mut() {
                Some(job) if job.deferred || job.was_interrupted() => {
                    waiting.bulk.pop_front().expect("a front job")
                }
                Some(job) => {
                    job.deferred = true;
                    break;
                }
                None => break,
            },
            None => match waiting.bulk.pop_front() {
                Some(job) => job,
                None => break,
            },
        };
        let Job {
            size,
            work,
            reply,
            deferred,
        } = job;
        // A savepoint per job: dropped without commit, it rolls back that job alone.
        let sp = match tx.savepoint() {
            Ok(sp) => sp,
            Err(e) => {
                done.push((reply, Err(StoreError::backend(e))));
                continue;
            }
        };
        let outcome = match work {
            Task::Work(work) => {
                let mut chain = Chain {
                    head,
                    now,
                    codec: codec.clone(),
                };
                work(&sp, &mut chain).map(|out| (out, chain.head))
            }
            Task::Append {
                events: batch,
                interruptible,
            } => {
                let mut end = head;
                let flag = interruptible.then_some(&*inbox.small_waiting);
                match append_batch(&sp, &mut end, &batch, now, flag, codec) {
                    Ok(out) => Ok((Box::new(out) as Output, end)),
                    Err(Interrupt::Failed(e)) => Err(e),
                    Err(Interrupt::MakeWay) => {
                        // Rolled back (the savepoint is dropped); appended again after the
                        // small jobs, and not interrupted again.
                        drop(sp);
                        waiting.bulk.push_front(Job {
                            size,
                            work: Task::Append {
                                events: batch,
                                interruptible: false,
                            },
                            reply,
                            deferred,
                        });
                        continue;
                    }
                }
            }
        };
        events += size;
        match outcome.and_then(|out| sp.commit().map(|()| out).map_err(StoreError::backend)) {
            Ok((output, end)) => {
                head = end;
                done.push((reply, Ok(output)));
            }
            Err(e) => done.push((reply, Err(e))),
        }
    }
    // The tree's subtrees that this group's entries complete, in the same transaction.
    let tree = match head.seq > first {
        true => crate::tree::extend(&tx, first, head.seq),
        false => Ok(()),
    };
    if let Err(e) = tree.and_then(|()| tx.commit()) {
        tracing::error!(error = %e, "journal write failed");
        let done = done
            .into_iter()
            .map(|(reply, _)| {
                let failed = StoreError::backend(CommitFailed(e.to_string()));
                (reply, Err(failed))
            })
            .collect();
        return (done, None);
    }
    (done, (head.seq != first).then_some(head.seq))
}

thread_local! {
    /// The writer's zstd context and body buffer, kept from batch to batch.
    static PACKER: std::cell::RefCell<(Packer, Vec<u8>)> = Default::default();
}

/// Trains the dictionaries bodies are compressed with, on a thread of its own (a few seconds),
/// when the journal reaches the sizes [`Codec::due`] names. The writer stores what it trained
/// in a transaction of its own before any body uses it.
#[derive(Default)]
struct Trainer {
    running: bool,
    /// After a training that found nothing to learn, the head to try again at.
    retry_at: u64,
    /// The head the running training started at.
    started_at: u64,
    done: Option<mpsc::Receiver<(Option<Vec<u8>>, u64)>>,
}

impl Trainer {
    fn start_if_due(&mut self, conn: &Connection, codec: &Arc<Codec>, head: u64) {
        if self.running || head < self.retry_at || !codec.due(head) {
            return;
        }
        let Some(path) = conn
            .path()
            .filter(|p| !p.is_empty())
            .map(std::path::PathBuf::from)
        else {
            return;
        };
        let (tx, rx) = mpsc::channel();
        let codec = codec.clone();
        let started = std::thread::Builder::new()
            .name("vigil-dictionary".into())
            .spawn(move || {
                // Background work: it must not slow ingest or searches down.
                vigil_alloc::background_thread(10);
                let started = std::time::Instant::now();
                let trained = crate::open_connection(&path)
                    .and_then(|c| body::samples(&c, &codec, head))
                    .map_err(|e| tracing::warn!(error = %e, "could not read entries to train a dictionary"))
                    .ok()
                    .and_then(|samples| body::train(&samples));
                tracing::debug!(head, took_ms = started.elapsed().as_millis() as u64, "dictionary trained");
                let _ = tx.send((trained, head));
            });
        if started.is_ok() {
            self.running = true;
            self.started_at = head;
            self.done = Some(rx);
        }
    }

    fn store_trained(&mut self, conn: &Connection, codec: &Codec, clock: &Clock) {
        let (trained, head) = match self.done.as_ref().map(|rx| rx.try_recv()) {
            None | Some(Err(mpsc::TryRecvError::Empty)) => return,
            Some(Ok(done)) => done,
            // The training thread died (it panicked): try again 10,000 entries later.
            Some(Err(mpsc::TryRecvError::Disconnected)) => (None, self.started_at),
        };
        (self.running, self.done) = (false, None);
        let Some(dict) = trained else {
            self.retry_at = head + 10_000;
            return;
        };
        let stored = conn.unchecked_transaction().and_then(|tx| {
            let id = body::store(&tx, &dict, head, micros(&clock()))?;
            tx.commit().map(|()| id)
        });
        match stored {
            Ok(id) => {
                tracing::info!(
                    dictionary = id,
                    trained_at = head,
                    bytes = dict.len(),
                    "new dictionary for the journal's bodies"
                );
                codec.install(id, dict, head);
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not store a trained dictionary");
                self.retry_at = head + 10_000;
            }
        }
    }
}

/// Why an append stopped.
enum Interrupt {
    /// A small job is waiting: the batch makes way (its savepoint is rolled back).
    MakeWay,
    Failed(StoreError),
}

impl From<StoreError> for Interrupt {
    fn from(e: StoreError) -> Self {
        Interrupt::Failed(e)
    }
}

/// Entries appended between two looks at the small-job flag.
const LOOK_EVERY: usize = 32;

/// The commit of a group failed: nothing in it is stored.
#[derive(Debug, thiserror::Error)]
#[error("commit failed, nothing stored: {0}")]
struct CommitFailed(String);

fn append_batch(
    conn: &Connection,
    head: &mut Head,
    events: &[Event],
    now: i64,
    make_way: Option<&AtomicBool>,
    codec: &Codec,
) -> Result<Vec<Appended>, Interrupt> {
    let db = StoreError::backend;
    let mut find = conn
        .prepare_cached(&format!("SELECT {} FROM events WHERE id = ?", sql::COLUMNS))
        .map_err(db)?;
    let mut insert = conn
        .prepare_cached(
            "INSERT INTO events (seq, id, received_at, body, hash, salt) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .map_err(db)?;
    let mut reader = sql::Reader::new(conn, codec);
    let received_at = sql::from_micros(now);
    let mut out = Vec::with_capacity(events.len());
    let mut new: Vec<(&Event, u64)> = Vec::with_capacity(events.len());
    // The batch's salts, drawn at once.
    let mut salts = vec![0u8; 16 * events.len()];
    vigil_core::seal::fill_random(&mut salts);
    for (i, e) in events.iter().enumerate() {
        // Not in the last quarter: finishing costs less than appending it all again.
        if i % LOOK_EVERY == LOOK_EVERY - 1
            && events.len() - i > events.len() / 4
            && make_way.is_some_and(|small| small.load(Ordering::Acquire))
        {
            return Err(Interrupt::MakeWay);
        }
        let existing: Option<StoredEvent> = find
            .query_row([e.id.as_bytes().as_slice()], |r| reader.stored(r))
            .optional()
            .map_err(db)?;
        if let Some(stored) = existing {
            if !stored.event.same_as_sent(e) {
                return Err(Interrupt::Failed(StoreError::Conflict {
                    message: format!(
                        "events[{i}].id: {} is already stored (seq {}) with different content",
                        e.id, stored.seq
                    ),
                    index: Some(i),
                }));
            }
            out.push(Appended {
                id: e.id,
                seq: stored.seq,
                hash: stored.hash,
                duplicate: true,
            });
            continue;
        }
        let seq = head.seq + 1;
        // Sealed: the parts a reader may see masked enter the hash as salted commitments.
        let salt: vigil_core::seal::Salt = salts[16 * i..16 * (i + 1)]
            .try_into()
            .expect("16 bytes a salt");
        let commitments = vigil_core::seal::Commitments::from_salt(e, &salt);
        let hash = chain::link_sealed(&head.hash, e, seq, &received_at, &commitments);
        PACKER
            .with_borrow_mut(|(packer, stored)| {
                codec.pack(packer, e, stored);
                insert.execute(params![
                    seq as i64,
                    e.id.as_bytes().as_slice(),
                    now,
                    stored.as_slice(),
                    hash.as_slice(),
                    salt.as_slice(),
                ])
            })
            .map_err(db)?;
        *head = Head {
            seq,
            hash,
            received_at: now,
        };
        new.push((e, seq));
        out.push(Appended {
            id: e.id,
            seq,
            hash: hex::encode(hash),
            duplicate: false,
        });
    }
    // What each sender sent, and the numbers of theirs that never arrived, with the entries.
    crate::senders::record(conn, &new, now).map_err(db)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::conformance::dataset;

    fn head_after(conn: &Connection) -> u64 {
        head_seq(conn).unwrap()
    }

    /// Small jobs arriving before every group: the batch is left for one group, then stored in
    /// the next one, after that group's small jobs (before, it waited as long as they came).
    #[test]
    fn a_batch_is_left_behind_small_jobs_at_most_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::open_connection(&dir.path().join("vigil.db")).unwrap();
        crate::schema::migrate(&conn, false).unwrap().unwrap();
        let (tx, rx) = mpsc::channel();
        let small_waiting = Arc::new(AtomicBool::new(false));
        let inbox = Inbox {
            rx,
            small_waiting: small_waiting.clone(),
        };
        let sender = Sender {
            jobs: tx,
            small_waiting,
        };
        let clock: Clock = Arc::new(chrono::Utc::now);
        let codec = Arc::new(Codec::default());
        let mut waiting = Waiting::default();
        let (reply, _batch) = oneshot::channel();
        waiting.put(Job::append(dataset(100, 1), reply));
        let mut heads = Vec::new();
        let mut replies = Vec::new();
        for round in 0..3 {
            let (reply, answer) = oneshot::channel();
            replies.push(answer);
            assert!(sender.send(Job::append(dataset(1, 100 + round), reply)));
            let (done, _) = write_group(&mut conn, &mut waiting, &inbox, &clock, &codec);
            assert!(done.iter().all(|(_, r)| r.is_ok()));
            heads.push(head_after(&conn));
        }
        // Group 1: the small job alone. Group 2: the next small job, then the batch.
        // Group 3: the last small job.
        assert_eq!(heads, vec![1, 102, 103]);
        assert!(waiting.is_empty());
    }
}
