//! The SQLite backend against the store conformance suite, plus what only SQLite has to prove:
//! the database itself refuses to rewrite history, and a reopened file continues the chain.

use std::sync::Arc;

use vigil_store::{conformance::dataset, AnnotationStore, JournalStore, Store};
use vigil_store_sqlite::{system_clock, SqliteStore};

async fn make() -> (Arc<dyn Store>, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("vigil.db"), system_clock()).unwrap();
    (Arc::new(store), dir)
}

vigil_store::conformance_tests!(make);

#[tokio::test]
async fn the_database_refuses_update_and_delete_on_events() {
    let (store, dir) = make().await;
    store.append(dataset(3, 9)).await.unwrap();
    let conn = rusqlite::Connection::open(dir.path().join("vigil.db")).unwrap();
    let body_of = |seq: i64| -> Vec<u8> {
        conn.query_row("SELECT body FROM events WHERE seq = ?", [seq], |r| r.get(0))
            .unwrap()
    };
    let before = body_of(2);
    let update = conn
        .execute(
            "UPDATE events SET body = (SELECT body FROM events WHERE seq = 3) WHERE seq = 2",
            [],
        )
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = conn
        .execute("DELETE FROM events WHERE seq = 3", [])
        .unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    let replace = conn
        .execute(
            "INSERT OR REPLACE INTO events SELECT 2, e.id, e.received_at, f.body, e.hash, e.salt \
             FROM events e, events f WHERE e.seq = 2 AND f.seq = 3",
            [],
        )
        .unwrap_err();
    assert!(replace.to_string().contains("append-only"), "{replace}");
    assert_eq!(body_of(2), before);
    // Ids are unique, and found through their index, not a scan.
    let again = conn
        .execute(
            "INSERT INTO events SELECT 4, id, received_at, body, hash, salt FROM events WHERE seq = 2",
            [],
        )
        .unwrap_err();
    assert!(again.to_string().contains("append-only"), "{again}");
    let plan: String = conn
        .query_row(
            "EXPLAIN QUERY PLAN SELECT seq FROM events WHERE id = ?1",
            [vec![0u8; 16]],
            |r| r.get(3),
        )
        .unwrap();
    assert!(plan.contains("INDEX sqlite_autoindex_events"), "{plan}");
    let dictionary = conn
        .execute(
            "INSERT INTO dictionaries (dict, at_seq, created_at) VALUES (x'00', 3, 0)",
            [],
        )
        .map(|_| conn.execute("DELETE FROM dictionaries", []));
    assert!(
        matches!(&dictionary, Ok(Err(e)) if e.to_string().contains("append-only")),
        "{dictionary:?}"
    );
    assert_eq!(store.head().await.unwrap().unwrap().0, 3);
}

#[tokio::test]
async fn a_reopened_store_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nested/folder/vigil.db");
    let first = SqliteStore::open(&path, system_clock()).unwrap();
    first.append(dataset(5, 10)).await.unwrap();
    drop(first);
    let again = SqliteStore::open(&path, system_clock()).unwrap();
    let appended = again.append(dataset(2, 11)).await.unwrap();
    assert_eq!(appended[0].seq, 6);
    let mut v = vigil_core::chain::Verifier::default();
    for e in again.scan(1, 100).await.unwrap() {
        v.check(&e).unwrap();
    }
    assert_eq!(v.verified(), 7);
}

async fn search_all(store: &SqliteStore, q: &str) -> Vec<u64> {
    let page = store
        .search(&vigil_store::Search::new(q.parse().unwrap(), 1000))
        .await
        .unwrap();
    page.events.iter().map(|e| e.seq).collect()
}

#[tokio::test]
async fn a_missing_or_broken_index_is_rebuilt_from_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    store.append(dataset(40, 12)).await.unwrap();
    let before = search_all(&store, "section:finance").await;
    assert!(!before.is_empty());
    let index_dir = store.index_dir();
    drop(store);

    std::fs::remove_dir_all(&index_dir).unwrap();
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    assert_eq!(
        search_all(&store, "section:finance").await,
        before,
        "rebuilt after deletion"
    );
    drop(store);

    std::fs::write(index_dir.join("meta.json"), b"{ not json").unwrap();
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    assert_eq!(
        search_all(&store, "section:finance").await,
        before,
        "rebuilt after corruption"
    );
    drop(store);

    // Another journal of the same length: the index must not answer for it.
    std::fs::remove_file(&path).unwrap();
    let other = SqliteStore::open_journal(&path, system_clock()).unwrap();
    other.append(dataset(40, 99)).await.unwrap();
    drop(other);
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    let mut want: Vec<_> = store
        .scan(1, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event.section == "finance")
        .collect();
    want.sort_by_key(|e| std::cmp::Reverse((e.event.occurred_at, e.seq)));
    let want: Vec<u64> = want.iter().map(|e| e.seq).collect();
    assert_eq!(
        search_all(&store, "section:finance").await,
        want,
        "rebuilt for the other journal"
    );
    drop(store);

    // A journal restored from an older backup: the index is ahead and must not answer for it.
    std::fs::remove_file(&path).unwrap();
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    assert!(
        search_all(&store, "").await.is_empty(),
        "an index ahead of the journal is rebuilt"
    );
    store.append(dataset(3, 13)).await.unwrap();
    assert_eq!(search_all(&store, "").await.len(), 3);
}

#[tokio::test]
async fn appends_from_another_process_are_indexed_and_chained() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let server = SqliteStore::open(&path, system_clock()).unwrap();
    server.append(dataset(5, 14)).await.unwrap();
    // What `vigil demo` or another writer does beside a running server.
    let other = SqliteStore::open_journal(&path, system_clock()).unwrap();
    let appended = other.append(dataset(7, 15)).await.unwrap();
    assert_eq!(
        appended[0].seq, 6,
        "the other writer continues the chain, it does not fork it"
    );
    server.append(dataset(2, 16)).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while search_all(&server, "").await.len() < 14 {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never picked up the other writer's events"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut v = vigil_core::chain::Verifier::default();
    for e in server.scan(1, 100).await.unwrap() {
        v.check(&e).unwrap();
    }
    assert_eq!(v.verified(), 14);
    let refused = other
        .search(&vigil_store::Search::new(vigil_core::Query::all(), 5))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, vigil_store::StoreError::Unavailable(_)),
        "{refused:?}"
    );
}

fn note_about(action: &str) -> vigil_core::Event {
    vigil_store::conformance::event(serde_json::json!({
        "occurred_at": "2026-11-30T12:00:00Z", "actor": {"id": "alice"},
        "action": action, "kind": "create", "section": "vigil",
    }))
}

#[tokio::test]
async fn annotations_survive_an_index_rebuild_and_cannot_be_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    store.append(dataset(50, 21)).await.unwrap();
    let all = store.scan(1, 100).await.unwrap();
    let annotate = |seq: usize, mark: &str, comment: &str| vigil_store::NewAnnotation {
        id: uuid::Uuid::now_v7(),
        entry: all[seq].event.id,
        author: "alice".into(),
        written_at: chrono::Utc::now(),
        comment: Some(comment.into()),
        marks: vec![mark.into()],
        supersedes: None,
    };
    store
        .annotate(
            annotate(3, "suspicious", "chargeback review 4411"),
            note_about("annotation.create"),
        )
        .await
        .unwrap();
    store
        .annotate(
            annotate(40, "reviewed", "vu"),
            note_about("annotation.create"),
        )
        .await
        .unwrap();
    assert_eq!(
        search_all(&store, "mark:suspicious").await,
        vec![all[3].seq]
    );
    drop(store);
    // Without its index, the store rebuilds it from the journal, annotations included.
    std::fs::remove_dir_all(dir.path().join("vigil.db.index")).unwrap();
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    assert_eq!(
        search_all(&store, "mark:suspicious").await,
        vec![all[3].seq]
    );
    assert_eq!(search_all(&store, "mark:reviewed").await, vec![all[40].seq]);
    assert_eq!(
        search_all(&store, "\"review 4411\" has:mark").await,
        vec![all[3].seq]
    );
    let conn = rusqlite::Connection::open(&path).unwrap();
    for sql in [
        "UPDATE annotations SET comment = 'rewritten'",
        "DELETE FROM annotations",
    ] {
        let err = conn.execute(sql, []).unwrap_err();
        assert!(err.to_string().contains("append-only"), "{sql}: {err}");
    }
    assert_eq!(
        store.annotations(all[3].event.id).await.unwrap()[0]
            .comment
            .as_deref(),
        Some("chargeback review 4411")
    );
}

/// A small write sent while a large batch is being appended does not wait for it: the batch
/// makes way (its savepoint is rolled back), the small write is committed first, and the batch
/// is then stored whole, its seqs contiguous, the chain unbroken.
#[tokio::test]
async fn a_small_write_goes_ahead_of_a_batch_being_appended() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("vigil.db"), system_clock()).unwrap());
    let batch = dataset(20_000, 12);
    let bulk = {
        let store = store.clone();
        tokio::spawn(async move { store.append(batch).await.unwrap() })
    };
    // Let the writer start on the batch, then send one entry.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let small = store.append_trace(dataset(1, 13)).await.unwrap();
    let appended = bulk.await.unwrap();
    assert_eq!(small[0].seq, 1, "the small write went first");
    let seqs: Vec<u64> = appended.iter().map(|a| a.seq).collect();
    assert_eq!(
        seqs,
        (2..=20_001).collect::<Vec<_>>(),
        "the batch is whole and in one piece"
    );
    assert!(appended.iter().all(|a| !a.duplicate));
    let mut v = vigil_core::chain::Verifier::default();
    let mut from = 1;
    loop {
        let entries = store.scan(from, 5_000).await.unwrap();
        let Some(last) = entries.last() else { break };
        from = last.seq + 1;
        for e in &entries {
            v.check(e).unwrap();
        }
    }
    assert_eq!(v.verified(), 20_001);
}

/// A batch sent while small writes keep coming from many senders (interrupting it, going
/// before it) is stored whole, in one piece, and every small write too: nothing lost, nothing
/// twice. (That a batch is left behind small jobs at most once is the writer's unit test.)
#[tokio::test]
async fn batches_are_stored_while_small_writes_keep_coming() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("vigil.db"), system_clock()).unwrap());
    let stop = Arc::new(AtomicBool::new(false));
    let seed = Arc::new(AtomicU64::new(1_000));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (store, stop, seed) = (store.clone(), stop.clone(), seed.clone());
            tokio::spawn(async move {
                let mut written = 0;
                while !stop.load(Ordering::Acquire) {
                    let one = dataset(1, seed.fetch_add(1, Ordering::AcqRel));
                    store.append_trace(one).await.unwrap();
                    written += 1;
                }
                written
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    // A liveness bound, not a timing.
    let batch = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        store.append(dataset(5_000, 14)),
    )
    .await
    .expect("the batch was stored while small writes kept coming")
    .unwrap();
    stop.store(true, Ordering::Release);
    let mut small = 0;
    for w in writers {
        small += w.await.unwrap();
    }
    assert!(small > 0);
    let seqs: Vec<u64> = batch.iter().map(|a| a.seq).collect();
    assert!(
        seqs.windows(2).all(|w| w[1] == w[0] + 1),
        "the batch is in one piece"
    );
    let head = store.head().await.unwrap().unwrap().0;
    assert_eq!(head, 5_000 + small as u64);
}

fn verified(entries: &[vigil_core::StoredEvent]) -> u64 {
    let mut v = vigil_core::chain::Verifier::default();
    for e in entries {
        v.check(e).unwrap();
    }
    v.verified()
}

async fn everything(store: &SqliteStore) -> Vec<vigil_core::StoredEvent> {
    let mut out = Vec::new();
    loop {
        let more = store.scan(out.len() as u64 + 1, 5000).await.unwrap();
        if more.is_empty() {
            return out;
        }
        out.extend(more);
    }
}

/// Average stored body of the entries in `seqs`, and how many name a dictionary.
fn bodies(path: &std::path::Path, seqs: std::ops::RangeInclusive<i64>) -> (f64, i64) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(
        "SELECT avg(length(body)), sum(substr(body, 1, 1) <> x'00') FROM events WHERE seq BETWEEN ? AND ?",
        [*seqs.start(), *seqs.end()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

/// Past 2,000 entries the store trains a dictionary on the journal and compresses new bodies
/// with it; every entry still reads back as it went in and the chain verifies, also after a
/// reopen (the dictionary comes from the file).
#[tokio::test]
async fn bodies_are_compressed_with_a_dictionary_trained_on_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    let first = dataset(3_000, 31);
    for chunk in first.chunks(1000) {
        store.append(chunk.to_vec()).await.unwrap();
    }
    // Trained on a thread of its own; stored by the writer before the next write.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let mut more = dataset(4_000, 32).into_iter();
    let mut sent = Vec::new();
    let count = |p: &std::path::Path| -> i64 {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row("SELECT count(*) FROM dictionaries", [], |r| r.get(0))
            .unwrap()
    };
    while count(&path) == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no dictionary was trained"
        );
        let e = more.next().unwrap();
        sent.push(e.clone());
        store.append(vec![e]).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let rest: Vec<_> = more.collect();
    store.append(rest.clone()).await.unwrap();
    sent.extend(rest);
    let head = store.head().await.unwrap().unwrap().0 as i64;
    let (raw, compressed) = bodies(&path, 1..=1000);
    assert_eq!(compressed, 0, "no dictionary yet for the first entries");
    let (small, compressed) = bodies(&path, head - 999..=head);
    assert_eq!(compressed, 1000, "the newest entries name the dictionary");
    assert!(small * 2.0 < raw, "compressed {small} bytes against {raw}");

    drop(store);
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    let all = everything(&store).await;
    let want: Vec<_> = first.iter().chain(&sent).cloned().collect();
    assert_eq!(all.len(), want.len());
    for (got, want) in all.iter().zip(&want) {
        assert_eq!(&got.event, want, "seq {}", got.seq);
    }
    assert_eq!(verified(&all), want.len() as u64);
    // Searches and exports read the same bodies.
    assert_eq!(
        store
            .entries(vec![head as u64, 1, 2_500])
            .await
            .unwrap()
            .iter()
            .map(|e| e.event.clone())
            .collect::<Vec<_>>(),
        vec![
            want[head as usize - 1].clone(),
            want[0].clone(),
            want[2_499].clone()
        ]
    );
    drop(store);

    // A damaged dictionary (the file changed outside vigil): the entries that need it are named
    // as damaged, the others still read, nothing crashes.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch("DROP TRIGGER dictionaries_no_update")
        .unwrap();
    let mut garbage = vec![0x37, 0xa4, 0x30, 0xec]; // a dictionary's magic number, then nothing sane
    garbage.extend([0u8; 300]);
    conn.execute("UPDATE dictionaries SET dict = ?", [garbage])
        .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    assert_eq!(
        store.scan(1, 10).await.unwrap().len(),
        10,
        "raw bodies still read"
    );
    let damaged = store.entries(vec![head as u64]).await.unwrap_err();
    assert!(damaged.to_string().contains("damaged"), "{damaged}");
}

/// The journal's table as vigil wrote it up to schema version 5: one column per field.
const V5_EVENTS: &str = "CREATE TABLE events (
    seq INTEGER PRIMARY KEY, id BLOB NOT NULL UNIQUE, occurred_at INTEGER NOT NULL,
    received_at INTEGER NOT NULL, actor_id TEXT NOT NULL, actor_name TEXT, actor_role TEXT,
    actor_kind TEXT, action TEXT NOT NULL, kind TEXT NOT NULL, section TEXT NOT NULL,
    severity TEXT NOT NULL, outcome TEXT NOT NULL, target_type TEXT, target_id TEXT,
    target_name TEXT, changes TEXT, ip TEXT, user_agent TEXT, session_id TEXT, request_id TEXT,
    reason TEXT, details TEXT, hash BLOB NOT NULL);
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be updated'); END;
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be deleted'); END;";

/// The annotations table as schema version 3 to 5 made it.
const V5_ANNOTATIONS: &str = "CREATE TABLE annotations (
    id BLOB PRIMARY KEY, entry_seq INTEGER NOT NULL REFERENCES events(seq), author TEXT NOT NULL,
    written_at INTEGER NOT NULL, received_at INTEGER NOT NULL, comment TEXT, marks TEXT NOT NULL,
    supersedes BLOB, journal_seq INTEGER NOT NULL);";

/// A journal written by an older vigil (one column per field) is moved to bodies when it is
/// opened: the same entries, the same hashes (the chain verifies), a dictionary trained on it,
/// annotations still attached, a smaller file, and the index built from the moved journal.
#[tokio::test]
async fn a_journal_of_schema_version_5_is_moved_to_bodies_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vigil.db");
    // Version 5 recorded no senders.
    let events: Vec<_> = dataset(12_000, 41)
        .into_iter()
        .map(|mut e| {
            // Fields a journal of schema 5 had no column for.
            e.sender = None;
            e.on_behalf_of = None;
            e.correlation_id = None;
            e.source_seq = None;
            e.stream = None;
            e
        })
        .collect();
    let mut old = Vec::new();
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(V5_EVENTS).unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        let mut prev = vigil_core::chain::GENESIS;
        let received = chrono::DateTime::from_timestamp_micros(1_790_000_000_123_456).unwrap();
        for (i, e) in events.iter().enumerate() {
            let seq = i as u64 + 1;
            let hash = vigil_core::chain::link(&prev, e, seq, &received);
            prev = hash;
            let t = e.target.as_ref();
            tx.execute(
                "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rusqlite::params![
                    seq as i64,
                    e.id.as_bytes().as_slice(),
                    e.occurred_at.timestamp_micros(),
                    received.timestamp_micros(),
                    e.actor.id,
                    e.actor.name,
                    e.actor.role,
                    e.actor.kind.map(|k| k.as_str()),
                    e.action,
                    e.kind.as_str(),
                    e.section,
                    e.severity.as_str(),
                    e.outcome.as_str(),
                    t.map(|t| &t.kind),
                    t.map(|t| &t.id),
                    t.and_then(|t| t.name.as_ref()),
                    e.changes
                        .as_ref()
                        .map(|c| serde_json::to_string(c).unwrap()),
                    e.ip.map(|ip| ip.to_string()),
                    e.user_agent,
                    e.session_id,
                    e.request_id,
                    e.reason,
                    e.details
                        .as_ref()
                        .map(|d| serde_json::to_string(d).unwrap()),
                    hash.as_slice(),
                ],
            )
            .unwrap();
            old.push(hex::encode(hash));
        }
        // An annotation of that version, on entry 8.
        tx.execute_batch(V5_ANNOTATIONS).unwrap();
        tx.execute(
            "INSERT INTO annotations VALUES (?, 8, 'alice', 1, 1, 'avant', '[]', NULL, 12000)",
            [uuid::Uuid::now_v7().as_bytes().as_slice()],
        )
        .unwrap();
        tx.commit().unwrap();
        conn.pragma_update(None, "user_version", 5).unwrap();
    }
    let size_before = std::fs::metadata(&path).unwrap().len();

    // The CLI verbs (which run beside a server, perhaps an older one) do not move it.
    let refused = SqliteStore::open_journal(&path, system_clock())
        .err()
        .unwrap();
    assert!(
        refused
            .to_string()
            .contains("start `vigil serve` on it first"),
        "{refused}"
    );
    let version: i64 = rusqlite::Connection::open(&path)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5, "left as it was");

    let store = SqliteStore::open(&path, system_clock()).unwrap();
    let all = everything(&store).await;
    assert_eq!(all.len(), events.len());
    for ((got, want), hash) in all.iter().zip(&events).zip(&old) {
        assert_eq!(&got.event, want, "seq {}", got.seq);
        assert_eq!(&got.hash, hash, "seq {}: the hash is kept", got.seq);
    }
    assert_eq!(verified(&all), 12_000);
    // An annotation on a moved entry: the journal's seq still anchors it.
    let note = vigil_store::NewAnnotation {
        id: uuid::Uuid::now_v7(),
        entry: events[7].id,
        author: "alice".into(),
        written_at: chrono::Utc::now(),
        comment: Some("vu après la migration".into()),
        marks: vec![],
        supersedes: None,
    };
    store
        .annotate(note, note_about("annotation.create"))
        .await
        .unwrap();
    let comments: Vec<_> = store
        .annotations(events[7].id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.comment.unwrap_or_default())
        .collect();
    assert_eq!(comments, ["avant", "vu après la migration"]);
    // The index is built from the moved journal (in the background: wait for it).
    let head = store.head().await.unwrap().unwrap().0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while store.indexed().unwrap_or(0) < head {
        assert!(
            std::time::Instant::now() < deadline,
            "the index never caught up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let section = &events[0].section;
    let mut want: Vec<_> = all.iter().filter(|e| &e.event.section == section).collect();
    want.sort_by_key(|e| std::cmp::Reverse((e.event.occurred_at, e.seq)));
    let want: Vec<u64> = want.iter().take(1000).map(|e| e.seq).collect();
    assert_eq!(
        search_all(&store, &format!("section:{section}")).await,
        want
    );
    // The Merkle tree is built over the moved journal.
    let leaves: Vec<_> = store_hashes(&store).await;
    assert_eq!(
        store.tree_root(head).await.unwrap(),
        vigil_core::merkle::root_of(&leaves)
    );
    drop(store);

    let conn = rusqlite::Connection::open(&path).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 12, "moved to bodies and up to the newest schema");
    let dictionaries: i64 = conn
        .query_row("SELECT count(*) FROM dictionaries", [], |r| r.get(0))
        .unwrap();
    assert_eq!(dictionaries, 1, "trained on the moved journal");
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
    let update = conn
        .execute("UPDATE events SET hash = x'00' WHERE seq = 2", [])
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    drop(conn);
    let size_after = std::fs::metadata(&path).unwrap().len();
    assert!(
        size_after * 5 < size_before * 4,
        "the file went from {size_before} to {size_after} bytes"
    );
}

/// The leaf hashes of every entry, from the chain hashes the store gives.
async fn store_hashes(store: &SqliteStore) -> Vec<vigil_core::merkle::Hash> {
    let mut out = Vec::new();
    loop {
        let batch = store.scan(out.len() as u64 + 1, 5000).await.unwrap();
        if batch.is_empty() {
            return out;
        }
        for e in batch {
            let mut h = [0u8; 32];
            hex::decode_to_slice(&e.hash, &mut h).unwrap();
            out.push(vigil_core::merkle::leaf(&h));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_from_before_the_tree_gets_it_when_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v8.db");
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    for chunk in dataset(1100, 4).chunks(300) {
        store.append(chunk.to_vec()).await.unwrap();
    }
    drop(store);
    // As schema version 8 left it: no tree.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TRIGGER merkle_nodes_no_delete; DELETE FROM merkle_nodes; PRAGMA user_version = 8;",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path, system_clock()).unwrap();
    let leaves = store_hashes(&store).await;
    assert_eq!(leaves.len(), 1100);
    let kept = store
        .tree_nodes(vec![
            (0, 8),
            (256, 8),
            (512, 8),
            (768, 8),
            (0, 9),
            (512, 9),
            (0, 10),
            (1024, 8),
        ])
        .await
        .unwrap();
    use vigil_core::merkle::root_of;
    assert_eq!(
        kept,
        [
            Some(root_of(&leaves[..256])),
            Some(root_of(&leaves[256..512])),
            Some(root_of(&leaves[512..768])),
            Some(root_of(&leaves[768..1024])),
            Some(root_of(&leaves[..512])),
            Some(root_of(&leaves[512..1024])),
            Some(root_of(&leaves[..1024])),
            None,
        ]
    );
    assert_eq!(store.tree_root(1100).await.unwrap(), root_of(&leaves));
    // The tree table is append-only again.
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let refused = conn.execute("DELETE FROM merkle_nodes", []).unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    conn.execute(
        "INSERT INTO checkpoints VALUES (5, x'00', 0, 'k', x'00')",
        [],
    )
    .unwrap();
    let refused = conn
        .execute("UPDATE checkpoints SET size = 6", [])
        .unwrap_err();
    assert!(refused.to_string().contains("append-only"), "{refused}");
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 12);
}

/// A journal of schema version 10 keeps its deliveries when opened: they are marked as queued
/// before the journal recorded them (journal_seq 0); new ones name their record.
#[tokio::test]
async fn deliveries_from_before_schema_11_are_kept_and_marked_unrecorded() {
    use vigil_store::{AlertMatch, AlertStore};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v10.db");
    let store = SqliteStore::open(&path, system_clock()).unwrap();
    store.append(dataset(3, 5)).await.unwrap();
    drop(store);
    // As schema version 10 left it: a delivery, and no column for its record.
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "ALTER TABLE alert_deliveries DROP COLUMN journal_seq; \
         INSERT INTO alert_deliveries (rule, channel, kind, seqs, matches, status, attempts, \
           sending, due_at, next_at, created_at) \
           VALUES ('old', 'ops', 'event', '[2]', 1, 'pending', 0, 0, 1, 1, 1); \
         PRAGMA user_version = 10;",
    )
    .unwrap();
    drop(conn);

    let store = SqliteStore::open(&path, system_clock()).unwrap();
    let old = store.delivery(1).await.unwrap();
    assert_eq!(
        (old.rule.as_str(), old.seqs.clone(), old.journal_seq),
        ("old", vec![2], 0)
    );
    let mut record = dataset(1, 77).remove(0);
    record.section = "vigil".into();
    record.action = vigil_store::QUEUED_ACTION.into();
    store
        .record_matches(
            3,
            vec![AlertMatch {
                rule: "new".into(),
                channel: "ops".into(),
                seq: 3,
                window: None,
            }],
            chrono::Utc::now(),
            record,
        )
        .await
        .unwrap();
    let new = store.delivery(2).await.unwrap();
    assert_eq!((new.rule.as_str(), new.journal_seq), ("new", 4));
    assert_eq!(
        store.scan(4, 1).await.unwrap()[0].event.action,
        "alert.delivery.queue"
    );
}
