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
    let update = conn
        .execute("UPDATE events SET reason = 'rewritten' WHERE seq = 2", [])
        .unwrap_err();
    assert!(update.to_string().contains("append-only"), "{update}");
    let delete = conn
        .execute("DELETE FROM events WHERE seq = 3", [])
        .unwrap_err();
    assert!(delete.to_string().contains("append-only"), "{delete}");
    let replace = conn
        .execute(
            "INSERT OR REPLACE INTO events SELECT seq, id, occurred_at, received_at, actor_id, actor_name, actor_role, \
             actor_kind, action, kind, section, severity, outcome, target_type, target_id, target_name, changes, ip, \
             user_agent, session_id, request_id, 'rewritten', details, hash FROM events WHERE seq = 2",
            [],
        )
        .unwrap_err();
    assert!(replace.to_string().contains("append-only"), "{replace}");
    let reason: Option<String> = conn
        .query_row("SELECT reason FROM events WHERE seq = 2", [], |r| r.get(0))
        .unwrap();
    assert_ne!(reason.as_deref(), Some("rewritten"));
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
