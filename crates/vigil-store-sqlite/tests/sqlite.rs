//! The SQLite backend against the store conformance suite, plus what only SQLite has to prove:
//! the database itself refuses to rewrite history, and a reopened file continues the chain.

use std::sync::Arc;

use vigil_store::{conformance::dataset, Store};
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
