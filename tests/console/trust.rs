//! The console verifies what it shows: the key pinned at the first sign-in, every newer
//! checkpoint checked as an extension of the one seen, entries checked from their content,
//! and the alarms of a store that changed its key, rewrote or cut its history, or shows an
//! entry otherwise than it recorded.

use std::path::Path;
use std::time::Duration;

use vigil_console::Console;

use crate::support::{console, Store, PASSWORD, USER};

/// Moves the store's clock past the signer's minute and waits for a checkpoint of the whole
/// journal.
async fn signed(store: &Store) -> u64 {
    let head = store.count().await;
    store.advance(chrono::Duration::seconds(61));
    for _ in 0..200 {
        if let Ok(cp) = store.reader.checkpoint().await {
            if cp.size >= head {
                return cp.size;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no checkpoint of {head} entries within 10 s");
}

/// A store with the auditor, on `addr`, its journal at `db` and its key at `key` (else beside
/// the journal).
async fn store_at(addr: &str, db: &Path, key: Option<&Path>) -> Store {
    let key = key.map(Path::to_owned);
    Store::builder()
        .user(USER, &["auditor"])
        .listen(addr)
        .database(db)
        .configure(move |c| c.integrity.signing_key = key)
        .start()
        .await
}

async fn signed_in(dir: &Path, url: &str) -> Console {
    let c = console(dir);
    c.sign_in(url, USER, PASSWORD, false).await.unwrap();
    c
}

/// Signs the same console in again (the store behind the address changed: the old token is
/// not its).
async fn again(c: &Console, url: &str) {
    c.sign_in(url, USER, PASSWORD, false).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_pins_the_key_and_verifies_entries_and_searches() {
    let store = Store::builder()
        .user(USER, &["auditor"])
        .user("vera", &["viewer"])
        .start()
        .await;
    store.demo(300).await;
    let size = signed(&store).await;
    let dir = tempfile::tempdir().unwrap();
    let c = signed_in(dir.path(), &store.url).await;

    let trust = c.trust().await.unwrap();
    assert_eq!(trust.state, "verified", "{trust:?}");
    let key = store.reader.integrity_key().await.unwrap();
    assert_eq!(trust.key_id.as_deref(), Some(key.key_id.as_str()));
    let seen = trust.checkpoint.unwrap();
    assert!(seen.size >= size);
    // Pinned on disk, beside the settings, for the next launch.
    let kept = std::fs::read_to_string(dir.path().join("console.json")).unwrap();
    assert!(kept.contains(&key.public_key), "{kept}");

    // An entry opened is checked from its content.
    let page = c
        .search("section:finance", None, Some(5), None)
        .await
        .unwrap();
    let id = page.events[0].stored.event.id.to_string();
    let shown = c.event(&id).await.unwrap();
    assert!(shown.copy.is_some(), "a copy from the store has a number");
    let check = c.verify_entry(&id, shown.copy).await.unwrap();
    assert_eq!(check.state, "verified", "{check:?}");
    assert!(check.checkpoint.unwrap().size >= seen.size);
    // One newer than the newest checkpoint is said to be pending, not verified.
    let late = vigil_demo::events(1, 99, chrono::Utc::now(), 1);
    store.ingester.ingest(&late).await.unwrap();
    store.indexed().await;
    let late_id = late[0].id.to_string();
    let late_copy = c.event(&late_id).await.unwrap().copy;
    let check = c.verify_entry(&late_id, late_copy).await.unwrap();
    assert_eq!(check.state, "pending", "{check:?}");
    assert!(check.message.unwrap().contains("Not yet covered"));

    // A whole search: every entry read and checked, the newer ones counted apart.
    let report = c.verify_search("").await.unwrap();
    assert_eq!(report.state, "verified", "{report:?}");
    assert_eq!(report.failed, 0);
    assert!(report.pending >= 1);
    assert_eq!(report.verified + report.pending, report.entries);
    assert!(report.verified >= 300, "{report:?}");
    assert!(
        report.message.contains("verified against the checkpoint"),
        "{}",
        report.message
    );
    let finance = c.verify_search("section:finance").await.unwrap();
    assert_eq!(finance.state, "verified");
    assert!(finance.entries > 0 && finance.entries < report.entries);
    let none = c.verify_search("actor:nobody-at-all").await.unwrap();
    assert_eq!(none.state, "empty", "{none:?}");
    // A check is of the copy on screen: one of another entry, or none (a cached copy), is not
    // checked.
    let other = page.events[1].stored.event.id.to_string();
    let check = c.verify_entry(&other, shown.copy).await.unwrap();
    assert_eq!(check.state, "unverified", "{check:?}");
    assert!(check.message.unwrap().contains("open the entry again"));
    let check = c.verify_entry(&id, None).await.unwrap();
    assert_eq!(check.state, "unverified");
    assert!(check.message.unwrap().contains("cache"));
    // A query that does not parse is refused, as the search refuses it.
    assert_eq!(
        c.verify_search("after:").await.unwrap_err().code,
        "bad_query"
    );

    // A reader who sees some fields masked verifies what she is shown, masked: the journal is
    // sealed from its first entry, and the proofs carry the commitments of what she does not
    // see.
    let other = tempfile::tempdir().unwrap();
    let v = console(other.path());
    v.sign_in(&store.url, "vera", PASSWORD, false)
        .await
        .unwrap();
    let trust = v.trust().await.unwrap();
    assert_eq!(trust.state, "verified", "{trust:?}");
    let opened = v.event(&id).await.unwrap();
    assert!(!opened.masked.is_empty(), "she sees it masked");
    let check = v.verify_entry(&id, opened.copy).await.unwrap();
    assert_eq!(check.state, "verified", "{check:?}");
    let report = v.verify_search("section:finance").await.unwrap();
    assert_eq!(report.state, "verified", "{report:?}");
    assert!(report.verified > 0 && report.failed == 0, "{report:?}");

    // A journal begun before entries were sealed (its first entry unsealed, as an upgraded
    // one): the store shows her no checkpoint, and the console says why.
    let database = store.database.clone();
    let stopped = store.stop().await;
    vigil_testkit::intrude(&database)
        .execute("UPDATE events SET salt = NULL WHERE seq = 1", [])
        .unwrap();
    let store = stopped.start().await;
    let fresh = tempfile::tempdir().unwrap();
    let v = console(fresh.path());
    v.sign_in(&store.url, "vera", PASSWORD, false)
        .await
        .unwrap();
    let trust = v.trust().await.unwrap();
    assert_eq!(trust.state, "unverified");
    let message = trust.message.unwrap();
    assert!(
        message.contains("unmask") && message.contains("before entries were sealed"),
        "{message}"
    );
    let copy = v.event(&id).await.unwrap().copy;
    let check = v.verify_entry(&id, copy).await.unwrap();
    assert_eq!(check.state, "unverified", "{check:?}");
    let report = v.verify_search("").await.unwrap();
    assert_eq!(report.state, "unverified");
    assert_eq!(report.verified, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_changed_in_the_database_fails_its_check() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let store = store_at("127.0.0.1:0", &db, None).await;
    store.demo(200).await;
    signed(&store).await;
    let cdir = tempfile::tempdir().unwrap();
    let c = signed_in(cdir.path(), &store.url).await;
    assert_eq!(c.trust().await.unwrap().state, "verified");
    let victim = store
        .journal()
        .await
        .into_iter()
        .rev()
        .find(|e| e.event.section == "finance")
        .unwrap();
    let donor = store
        .journal()
        .await
        .into_iter()
        .find(|e| e.event.section == "finance" && e.seq != victim.seq)
        .unwrap();

    // Someone with the database file gives the entry another one's content (its hash kept).
    let stopped = store.stop().await;
    {
        let conn = vigil_testkit::intrude(&db);
        conn.execute(
            "UPDATE events SET body = (SELECT body FROM events WHERE seq = ?1) WHERE seq = ?2",
            [donor.seq as i64, victim.seq as i64],
        )
        .unwrap();
    }
    let store = stopped.start().await;
    again(&c, &store.url).await;
    // The store's checkpoints are as before: the history the console saw still stands...
    assert_eq!(c.trust().await.unwrap().state, "verified");
    // ...but the entry it now shows is not the one it signed.
    let victim_id = victim.event.id.to_string();
    let copy = c.event(&victim_id).await.unwrap().copy;
    let check = c.verify_entry(&victim_id, copy).await.unwrap();
    assert_eq!(check.state, "failed", "{check:?}");
    let report = c.verify_search("section:finance").await.unwrap();
    assert_eq!(report.state, "failed", "{report:?}");
    assert_eq!(report.failed, 1, "{report:?}");
    assert_eq!(report.failures[0].seq, victim.seq);
    assert!(report.verified > 0);
    assert!(report.message.contains("1 of"), "{}", report.message);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_key_or_a_rewritten_or_cut_history_is_an_alarm() {
    let dir = tempfile::tempdir().unwrap();
    let (db, key) = (dir.path().join("a.db"), dir.path().join("a.key"));
    let a = store_at("127.0.0.1:0", &db, Some(&key)).await;
    let addr = a.url.trim_start_matches("http://").to_owned();
    a.demo(150).await;
    let seen = signed(&a).await;
    let cdir = tempfile::tempdir().unwrap();
    let c = signed_in(cdir.path(), &a.url).await;
    let first = c.trust().await.unwrap();
    assert_eq!(first.state, "verified");
    a.stop().await;

    // Another history, signed with the same key, answers at the same address: longer than
    // what the console saw, but not its extension.
    let forked_db = dir.path().join("b.db");
    let b = store_at(&addr, &forked_db, Some(&key)).await;
    b.demo(400).await;
    let forked = signed(&b).await;
    assert!(forked > seen);
    again(&c, &b.url).await;
    let trust = c.trust().await.unwrap();
    assert_eq!(trust.state, "history_changed", "{trust:?}");
    assert_eq!(
        trust.previous.as_ref().unwrap().size,
        first.checkpoint.as_ref().unwrap().size
    );
    assert!(
        trust.message.as_ref().unwrap().contains("does not extend"),
        "{trust:?}"
    );
    // Nothing is verified against it meanwhile.
    let any = b.journal().await[10].event.id.to_string();
    let copy = c.event(&any).await.unwrap().copy;
    assert_eq!(c.verify_entry(&any, copy).await.unwrap().state, "alarm");
    assert_eq!(c.verify_search("").await.unwrap().state, "unverified");
    // The alarm holds across launches until the user takes the new history on purpose.
    drop(c);
    let c = signed_in(cdir.path(), &b.url).await;
    assert_eq!(c.trust().await.unwrap().state, "history_changed");
    let taken = c.trust_new_history().await.unwrap();
    assert_eq!(taken.state, "verified", "{taken:?}");
    b.stop().await;

    // A shorter history with the same key: entries it showed were cut.
    let cut_db = dir.path().join("c.db");
    let short = store_at(&addr, &cut_db, Some(&key)).await;
    short.demo(20).await;
    signed(&short).await;
    again(&c, &short.url).await;
    let trust = c.trust().await.unwrap();
    assert_eq!(trust.state, "history_changed", "{trust:?}");
    assert!(trust.message.unwrap().contains("fewer than"));
    short.stop().await;

    // Another key: a full alarm until the user trusts the key they checked.
    let other_db = dir.path().join("d.db");
    let other_key = dir.path().join("d.key");
    let d = store_at(&addr, &other_db, Some(&other_key)).await;
    d.demo(30).await;
    signed(&d).await;
    again(&c, &d.url).await;
    let trust = c.trust().await.unwrap();
    assert_eq!(trust.state, "key_changed", "{trust:?}");
    let offered = trust.offered_key_id.clone().unwrap();
    assert_eq!(trust.key_id, first.key_id);
    assert_ne!(Some(&offered), trust.key_id.as_ref());
    assert!(trust.message.unwrap().contains(&offered));
    let e = c.trust_new_key("0000000000000000").await.unwrap_err();
    assert_eq!(e.code, "invalid");
    // The new key is trusted; its history is not the one seen: that is the next alarm.
    let trust = c.trust_new_key(&offered).await.unwrap();
    assert_eq!(trust.state, "history_changed", "{trust:?}");
    let trust = c.trust_new_history().await.unwrap();
    assert_eq!(trust.state, "verified", "{trust:?}");
    assert_eq!(trust.key_id.as_deref(), Some(offered.as_str()));
}
