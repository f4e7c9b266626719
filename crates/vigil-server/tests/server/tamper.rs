//! The adversarial suite of `vigil verify`: real journals with signed checkpoints, tampered on
//! copies of their SQLite files directly (the append-only triggers dropped, as an intruder with
//! the file would), each tampering caught with the right thing named; untouched copies always
//! verify.

use std::path::{Path, PathBuf};
use std::process::Command;

use rusqlite::{params, Connection};
use vigil_core::checkpoint::{PublicKey, SigningKey};
use vigil_server::config::ServerConfig;
use vigil_server::service::integrity::{self, Verification};
use vigil_store::conformance::dataset;
use vigil_testkit::intrude;

/// A small deterministic generator for the tamperings.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    /// In `lo..=hi`.
    fn within(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// A journal on disk with signed checkpoints.
struct Journal {
    _dir: tempfile::TempDir,
    db: PathBuf,
    public: PublicKey,
    size: u64,
    checkpoints: Vec<u64>,
}

/// Appends `n` entries in batches of varying size, signing a checkpoint after some of them; the
/// newest entries are sometimes left after the last checkpoint.
async fn journal(n: usize, seed: u64) -> Journal {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = ServerConfig {
        database: db.clone(),
        ..ServerConfig::default()
    };
    let key = integrity::signer_for(&config).unwrap();
    let state = vigil_server::open_journal(&config).unwrap();
    let mut signer = integrity::Signer::start(&state, key.clone()).await.unwrap();
    let mut alerts = alerting(&state).await;
    let mut dice = Dice(seed);
    let events = dataset(n, seed);
    let mut at = 0;
    let mut checkpoints = Vec::new();
    while at < n {
        let take = (dice.within(1, 300) as usize).min(n - at);
        state
            .store
            .append(events[at..at + take].to_vec())
            .await
            .unwrap();
        at += take;
        if !dice.next().is_multiple_of(3) || at == n && checkpoints.is_empty() {
            if let Some(cp) = signer.sign_if(&state, |_, _| true).await.unwrap() {
                checkpoints.push(cp.size);
            }
        }
    }
    investigate(&state, &mut dice).await;
    // The rules' matches queued in the outbox, and recorded in the journal.
    vigil_server::alerts::engine::evaluate(&state, &mut alerts)
        .await
        .unwrap();
    let size = state.store.head().await.unwrap().unwrap().0;
    if let Some(cp) = signer.sign_if(&state, |_, _| true).await.unwrap() {
        checkpoints.push(cp.size);
    }
    drop(state);
    // Everything in the main file, so that a copy of it is the whole journal.
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    Journal {
        _dir: dir,
        db,
        public: *key.public(),
        size,
        checkpoints,
    }
}

/// A channel and two rules, one sending each match, one a digest per window, through the
/// service as `vigil alerts` adds them; the evaluator's cursor set at the journal's start.
async fn alerting(state: &vigil_server::AppState) -> Option<vigil_server::alerts::engine::Cursor> {
    use vigil_server::service::alerts;
    use vigil_server::service::caller::{AlertsAdmin, Capability};
    let admin = AlertsAdmin::check(vigil_server::service::caller::Caller::operator("ops")).unwrap();
    let spec = serde_json::from_value(serde_json::json!({
        "type": "webhook", "url": "http://127.0.0.1:9/hook", "secret": "s3cret-s3cret-s3cret"
    }))
    .unwrap();
    alerts::add_channel(state, &admin, "siem", spec)
        .await
        .unwrap();
    for (name, q, window) in [
        (
            "finance-critical",
            "severity:critical section:finance",
            None,
        ),
        ("denied-digest", "outcome:denied", Some(30)),
    ] {
        let rule = vigil_api::NewRule {
            name: name.into(),
            q: q.into(),
            channels: vec!["siem".into()],
            window_minutes: window,
        };
        alerts::add_rule(state, &admin, rule).await.unwrap();
    }
    let mut cursor = None;
    vigil_server::alerts::engine::evaluate(state, &mut cursor)
        .await
        .unwrap();
    cursor
}

/// Annotations, incidents, pins and notes on the journal's entries, through the service as an
/// investigator's requests are.
async fn investigate(state: &vigil_server::AppState, dice: &mut Dice) {
    use vigil_api::{AnnotationRequest, IncidentRequest, IncidentStatus, NoteRequest, PinRequest};
    use vigil_server::service::annotations as notes;
    use vigil_server::service::caller::{Annotator, Caller, Capability};
    let by = Annotator::check(Caller::operator("inès")).unwrap();
    let head = state.store.head().await.unwrap().unwrap().0;
    let entry = |seq: u64| async move { state.store.entries(vec![seq]).await.unwrap()[0].event.id };
    for i in 0..6 {
        let on = entry(dice.within(1, head)).await;
        let r = AnnotationRequest {
            comment: Some(format!("« vu » n°{i} — =SUM(A1) مرحبا 👍🏽\n\"quoted\"")),
            marks: (i % 2 == 0).then(|| vec!["player-request".to_owned()]),
            ..Default::default()
        };
        notes::annotate(state, &by, on, r).await.unwrap();
    }
    for n in 0..2 {
        let (incident, _) = notes::open_incident(
            state,
            &by,
            IncidentRequest {
                title: Some(format!("Bonus abuse #{n}")),
                description: Some("Manual bonuses at night".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let key = incident.number.to_string();
        for _ in 0..2 {
            let r = PinRequest {
                id: None,
                entry: entry(dice.within(1, head)).await,
                written_at: None,
            };
            notes::pin(state, &by, &key, r).await.unwrap();
        }
        let r = NoteRequest {
            text: Some("Seen with compliance".into()),
            status: Some(IncidentStatus::Closed),
            ..Default::default()
        };
        notes::note(state, &by, &key, r).await.unwrap();
    }
}

/// A copy of the journal's file to tamper with.
fn copy(j: &Journal, to: &Path) -> PathBuf {
    let path = to.join("copy.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::copy(&j.db, &path).unwrap();
    path
}

async fn verify(db: &Path, key: &PublicKey) -> Verification {
    let config = ServerConfig {
        database: db.to_owned(),
        ..ServerConfig::default()
    };
    let state = vigil_server::open_journal_read_only(&config).unwrap();
    integrity::verify(&state, vec![*key], Vec::new(), None)
        .await
        .unwrap()
}

fn blob(conn: &Connection, column: &str, seq: u64) -> Vec<u8> {
    conn.query_row(
        &format!("SELECT {column} FROM events WHERE seq = ?"),
        [seq as i64],
        |r| r.get(0),
    )
    .unwrap()
}

const KINDS: u64 = 26;

/// A row of an annotation table chosen by the dice, as (its id, what names it, journal seq).
fn pick(conn: &Connection, sql: &str, dice: &mut Dice) -> (Vec<u8>, String, u64) {
    let rows: Vec<(Vec<u8>, String, i64)> = conn
        .prepare(sql)
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (id, name, seq) = rows[dice.within(0, rows.len() as u64 - 1) as usize].clone();
    (id, name, seq as u64)
}

/// A delivery the rules queued, chosen by the dice: its id, rule and recording entry.
fn delivery(conn: &Connection, dice: &mut Dice) -> (i64, String, u64) {
    let rows: Vec<(i64, String, i64)> = conn
        .prepare("SELECT id, rule, journal_seq FROM alert_deliveries WHERE journal_seq > 0")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let (id, rule, seq) = rows[dice.within(0, rows.len() as u64 - 1) as usize].clone();
    (id, rule, seq as u64)
}

fn uuid(bytes: &[u8]) -> uuid::Uuid {
    uuid::Uuid::from_slice(bytes).unwrap()
}

/// Applies tampering `kind` and says what `vigil verify` must name first.
async fn tamper(j: &Journal, db: &Path, kind: u64, dice: &mut Dice) -> (String, String) {
    let conn = intrude(db);
    let n = j.size;
    let last_cp = *j.checkpoints.last().unwrap();
    let cp_at_or_after = |seq: u64| *j.checkpoints.iter().find(|&&c| c >= seq).unwrap();
    let cp = j.checkpoints[dice.within(0, j.checkpoints.len() as u64 - 1) as usize];
    match kind {
        0 => {
            let (k, other) = (dice.within(1, n), dice.within(1, n));
            let other = if other == k { k % n + 1 } else { other };
            let body = blob(&conn, "body", other);
            conn.execute(
                "UPDATE events SET body = ? WHERE seq = ?",
                params![body, k as i64],
            )
            .unwrap();
            (
                format!("body of {k} replaced by {other}'s"),
                format!("entry {k} (id"),
            )
        }
        1 => {
            let k = dice.within(1, n);
            conn.execute(
                "UPDATE events SET received_at = received_at + 1 WHERE seq = ?",
                [k as i64],
            )
            .unwrap();
            (
                format!("received_at of {k} moved 1 µs"),
                format!("entry {k} (id"),
            )
        }
        2 => {
            let k = dice.within(1, n);
            let id = uuid::Uuid::new_v4();
            conn.execute(
                "UPDATE events SET id = ? WHERE seq = ?",
                params![id.as_bytes().as_slice(), k as i64],
            )
            .unwrap();
            (format!("id of {k} changed"), format!("entry {k} (id {id}"))
        }
        3 => {
            let k = dice.within(1, n);
            let mut hash = blob(&conn, "hash", k);
            hash[dice.within(0, 31) as usize] ^= 1 << dice.within(0, 7);
            conn.execute(
                "UPDATE events SET hash = ? WHERE seq = ?",
                params![hash, k as i64],
            )
            .unwrap();
            (format!("hash of {k} changed"), format!("entry {k} (id"))
        }
        4 => {
            let k = dice.within(1, n - 1);
            conn.execute("DELETE FROM events WHERE seq = ?", [k as i64])
                .unwrap();
            (
                format!("entry {k} deleted"),
                format!("entries {k}–{k} missing"),
            )
        }
        5 => {
            let k = dice.within(1, n - 1);
            let other = dice.within(k + 1, n);
            let row = |seq: u64| -> (Vec<u8>, i64, Vec<u8>, Vec<u8>) {
                conn.query_row(
                    "SELECT id, received_at, body, hash FROM events WHERE seq = ?",
                    [seq as i64],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                )
                .unwrap()
            };
            let (a, b) = (row(k), row(other));
            conn.execute(
                "UPDATE events SET id = randomblob(16) WHERE seq = ?",
                [k as i64],
            )
            .unwrap();
            for (seq, r) in [(other, &a), (k, &b)] {
                conn.execute(
                    "UPDATE events SET id = ?, received_at = ?, body = ?, hash = ? WHERE seq = ?",
                    params![r.0, r.1, r.2, r.3, seq as i64],
                )
                .unwrap();
            }
            (
                format!("entries {k} and {other} swapped"),
                format!("entry {k} (id"),
            )
        }
        6 => {
            let keep = dice.within(0, last_cp - 1);
            conn.execute("DELETE FROM events WHERE seq > ?", [keep as i64])
                .unwrap();
            let cp = cp_at_or_after(keep + 1);
            (
                format!("cut after {keep}"),
                format!("entries {}–{cp} missing after checkpoint at {cp}", keep + 1),
            )
        }
        7 => {
            // Rewrite from entry k on and recompute every hash after it, without the key.
            let k = dice.within(1, last_cp);
            let other = if k == n { 1 } else { dice.within(k + 1, n) };
            let body = blob(&conn, "body", other);
            conn.execute(
                "UPDATE events SET body = ? WHERE seq = ?",
                params![body, k as i64],
            )
            .unwrap();
            drop(conn);
            let config = ServerConfig {
                database: db.to_owned(),
                ..ServerConfig::default()
            };
            let state = vigil_server::open_journal(&config).unwrap();
            let entries = state.store.scan(1, n as usize).await.unwrap();
            drop(state);
            let conn = intrude(db);
            let mut prev = vigil_core::chain::GENESIS;
            for e in &entries {
                let h = vigil_core::chain::link_stored(
                    &prev,
                    &e.event,
                    e.seq,
                    &e.received_at,
                    e.salt.as_ref(),
                );
                if e.seq >= k {
                    conn.execute(
                        "UPDATE events SET hash = ? WHERE seq = ?",
                        params![h.as_slice(), e.seq as i64],
                    )
                    .unwrap();
                }
                prev = h;
            }
            let cp = cp_at_or_after(k);
            (
                format!("entry {k} rewritten and the chain recomputed"),
                format!("checkpoint at size {cp} (signed"),
            )
        }
        8 | 9 => {
            let (other, _) = SigningKey::generate().unwrap();
            let (root, at): (Vec<u8>, i64) = conn
                .query_row(
                    "SELECT root, signed_at FROM checkpoints WHERE size = ?",
                    [cp as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .unwrap();
            let signed_at = chrono::DateTime::from_timestamp_micros(at).unwrap();
            let forged = other.sign(cp, root.try_into().unwrap(), signed_at);
            let key_id = if kind == 8 {
                forged.key_id.clone()
            } else {
                j.public.id()
            };
            conn.execute(
                "UPDATE checkpoints SET key_id = ?, signature = ? WHERE size = ?",
                params![key_id, forged.signature, cp as i64],
            )
            .unwrap();
            if kind == 8 {
                (
                    format!("checkpoint {cp} re-signed with another key"),
                    format!("checkpoint at size {cp} names key {}", forged.key_id),
                )
            } else {
                (
                    format!("checkpoint {cp} re-signed with another key under the store's id"),
                    format!("checkpoint at size {cp}: bad signature"),
                )
            }
        }
        10 => {
            let mut root: Vec<u8> = conn
                .query_row(
                    "SELECT root FROM checkpoints WHERE size = ?",
                    [cp as i64],
                    |r| r.get(0),
                )
                .unwrap();
            root[dice.within(0, 31) as usize] ^= 1 << dice.within(0, 7);
            conn.execute(
                "UPDATE checkpoints SET root = ? WHERE size = ?",
                params![root, cp as i64],
            )
            .unwrap();
            (
                format!("root of checkpoint {cp} changed"),
                format!("checkpoint at size {cp}: bad signature"),
            )
        }
        11 => {
            let row: Option<(i64, Vec<u8>)> = conn
                .query_row(
                    "SELECT id, hash FROM merkle_nodes ORDER BY id LIMIT 1 OFFSET ?",
                    [dice.within(0, n / 256 - 1) as i64],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok();
            let (id, mut hash) = row.unwrap();
            hash[0] ^= 0x80;
            conn.execute(
                "UPDATE merkle_nodes SET hash = ? WHERE id = ?",
                params![hash, id],
            )
            .unwrap();
            (
                "a kept Merkle node changed".into(),
                "kept Merkle tree is damaged over entries".into(),
            )
        }
        12 => {
            // The first subtree of 256 (the newest would be made again when the file is opened).
            conn.execute(
                "DELETE FROM merkle_nodes WHERE id = (SELECT min(id) FROM merkle_nodes)",
                [],
            )
            .unwrap();
            (
                "a kept Merkle node deleted".into(),
                "kept Merkle tree lacks entries".into(),
            )
        }
        13 => {
            conn.execute(
                "UPDATE checkpoints SET signed_at = signed_at - 1000000 WHERE size = ?",
                [cp as i64],
            )
            .unwrap();
            (
                format!("checkpoint {cp} back-dated"),
                format!("checkpoint at size {cp}: bad signature"),
            )
        }
        15..=17 => {
            let (id, _, seq) = pick(
                &conn,
                "SELECT a.id, '', a.journal_seq FROM annotations a",
                dice,
            );
            let (what, changed) = match kind {
                15 => {
                    conn.execute(
                        "UPDATE annotations SET comment = 'nothing to see' WHERE id = ?",
                        [&id],
                    )
                    .unwrap();
                    ("comment changed", "comment changed since journal entry")
                }
                16 => {
                    conn.execute("DELETE FROM annotations WHERE id = ?", [&id])
                        .unwrap();
                    let named = format!(
                        "journal entry {seq} records annotation.create {}, which the store no longer holds",
                        uuid(&id)
                    );
                    return (format!("annotation {} deleted", uuid(&id)), named);
                }
                _ => {
                    conn.execute(
                        "UPDATE annotations SET entry_seq = entry_seq % ? + 1 WHERE id = ?",
                        params![n as i64, id],
                    )
                    .unwrap();
                    (
                        "moved to another entry",
                        "entry or incident changed since journal entry",
                    )
                }
            };
            (
                format!("annotation {}: {what}", uuid(&id)),
                format!("annotation {} on entry", uuid(&id)) + "|" + changed,
            )
        }
        18 => {
            let (id, number, _) = pick(
                &conn,
                "SELECT id, CAST(number AS TEXT), journal_seq FROM incidents",
                dice,
            );
            conn.execute("UPDATE incidents SET title = 'Nothing' WHERE id = ?", [&id])
                .unwrap();
            (
                format!("incident {number} retitled"),
                format!(
                    "incident {number} ({}): title changed since journal entry",
                    uuid(&id)
                ),
            )
        }
        19 => {
            let (id, _, seq) = pick(&conn, "SELECT id, '', journal_seq FROM incident_pins", dice);
            conn.execute("DELETE FROM incident_pins WHERE id = ?", [&id])
                .unwrap();
            (
                format!("pin {} removed", uuid(&id)),
                format!(
                    "journal entry {seq} records incident.pin {}, which the store no longer holds",
                    uuid(&id)
                ),
            )
        }
        20 => {
            let (id, _, seq) = pick(
                &conn,
                "SELECT id, '', journal_seq FROM incident_notes",
                dice,
            );
            conn.execute(
                "UPDATE incident_notes SET status = 'open' WHERE id = ?",
                [&id],
            )
            .unwrap();
            (
                format!("note {} reopened its incident", uuid(&id)),
                format!("note {} on incident", uuid(&id))
                    + "|"
                    + &format!("kind, status changed since journal entry {seq} recorded it"),
            )
        }
        21 => {
            let (id, rule, seq) = delivery(&conn, dice);
            conn.execute("DELETE FROM alert_deliveries WHERE id = ?", [id])
                .unwrap();
            (
                format!("delivery {id} removed from the outbox"),
                format!(
                    "journal entry {seq} records delivery {id} (rule {rule:?} to channel \"siem\""
                ) + "|which the alert outbox no longer holds",
            )
        }
        22 => {
            let (id, rule, seq) = delivery(&conn, dice);
            conn.execute(
                "UPDATE alert_deliveries SET seqs = json_array(json_extract(seqs, '$[0]') % ? + 1) \
                 WHERE id = ?",
                params![n as i64, id],
            )
            .unwrap();
            (
                format!("delivery {id} made to tell of another entry"),
                format!("delivery {id} (rule {rule:?} to channel \"siem\"): ")
                    + "|"
                    + &format!("the entries it tells of changed since journal entry {seq}"),
            )
        }
        23 => {
            conn.execute(
                "INSERT INTO alert_deliveries (rule, channel, kind, seqs, matches, status, \
                 attempts, sending, due_at, next_at, created_at) \
                 VALUES ('finance-critical', 'siem', 'event', '[1]', 1, 'pending', 0, 0, 1, 1, 1)",
                [],
            )
            .unwrap();
            let id = conn.last_insert_rowid();
            (
                format!("delivery {id} planted in the outbox"),
                format!(
                    "delivery {id} (rule \"finance-critical\" to channel \"siem\") has no journal entry \
                     recording it"
                ),
            )
        }
        24 | 25 => {
            // A sealed entry's salt changed, or taken away (as if it were written before
            // entries were sealed): its hash no longer follows from it.
            let k = dice.within(1, n);
            let what = if kind == 24 {
                let mut salt = blob(&conn, "salt", k);
                salt[dice.within(0, 15) as usize] ^= 1 << dice.within(0, 7);
                conn.execute(
                    "UPDATE events SET salt = ? WHERE seq = ?",
                    params![salt, k as i64],
                )
                .unwrap();
                "changed"
            } else {
                conn.execute("UPDATE events SET salt = NULL WHERE seq = ?", [k as i64])
                    .unwrap();
                "removed"
            };
            (format!("entry {k}'s salt {what}"), format!("entry {k}|"))
        }
        _ => {
            let k = dice.within(1, n);
            let mut body = blob(&conn, "body", k);
            let at = dice.within(0, body.len() as u64 - 1) as usize;
            body[at] ^= 1 << dice.within(0, 7);
            conn.execute(
                "UPDATE events SET body = ? WHERE seq = ?",
                params![body, k as i64],
            )
            .unwrap();
            (
                format!("one bit of entry {k}'s stored body flipped"),
                format!("entry {k}|"),
            )
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_seeded_tampering_is_caught_and_named_and_untouched_copies_verify() {
    let work = tempfile::tempdir().unwrap();
    let (mut caught, mut clean) = (0, 0);
    // 10 journals of 600 to 1,500 entries, 26 kinds of tampering on each: 260 tamperings,
    // each on a fresh copy that first verifies untouched.
    for base in 0..10u64 {
        let mut dice = Dice(0x5eed + base);
        let n = dice.within(600, 1500) as usize;
        let j = journal(n, 1000 + base).await;
        assert!(!j.checkpoints.is_empty());
        for kind in 0..KINDS {
            let db = copy(&j, work.path());
            let found = verify(&db, &j.public).await;
            assert!(found.ok, "journal {base}, untouched: {:?}", found.problems);
            assert_eq!(found.entries, j.size);
            assert_eq!(found.checkpoints_verified, j.checkpoints.len());
            clean += 1;
            let (what, named) = tamper(&j, &db, kind, &mut dice).await;
            let found = verify(&db, &j.public).await;
            assert!(!found.ok, "journal {base}: {what} went unnoticed");
            // "entry K|": entry K named, whether its content no longer matches or its stored
            // form cannot be read.
            let first = &found.problems[0];
            let named_first = match named.split_once('|') {
                Some((entry, "")) => {
                    first.starts_with(&format!("{entry} (id"))
                        || first.starts_with(&format!("{entry}:"))
                }
                // Both parts, in this order.
                Some((a, b)) => first.find(a).is_some_and(|at| first[at..].contains(b)),
                None => first.contains(&named),
            };
            assert!(
                named_first,
                "journal {base}: {what}: expected {named:?} first, found {:?}",
                found.problems
            );
            caught += 1;
        }
    }
    assert_eq!((caught, clean), (260, 260));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_verify_exits_1_naming_the_fault_and_checks_the_key_it_is_given() {
    let j = journal(700, 77).await;
    let last = *j.checkpoints.last().unwrap();
    let key_file = j.db.with_file_name("public.pem");
    std::fs::write(&key_file, j.public.to_pem()).unwrap();
    let run = |db: &Path, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["verify", "--database", db.to_str().unwrap()])
            .args(extra)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (code, out, _) = run(&j.db, &["--key", key_file.to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("verified {} entries", j.size)),
        "{out}"
    );
    assert!(
        out.contains(&format!("signed by key {}", j.public.id())),
        "{out}"
    );
    // Without --key: the public part of the signing key beside the database.
    assert_eq!(run(&j.db, &[]).0, Some(0));

    // Another key: every checkpoint is named.
    let (other, _) = SigningKey::generate().unwrap();
    let (code, out, err) = run(&j.db, &["--key", &other.public().to_base64()]);
    assert_eq!(code, Some(1));
    assert!(out.contains("names key"), "{out}");
    assert!(
        err.starts_with("vigil: the journal does not verify: checkpoint at size"),
        "{err}"
    );
    let (code, _, err) = run(&j.db, &["--key", "not a key"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("--key"), "{err}");

    // A checkpoint kept elsewhere catches what the store's own cannot: here an intruder who
    // rewrote an entry, recomputed every hash and removed the checkpoints and the kept tree.
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args([
            "integrity",
            "checkpoint",
            "--json",
            "--database",
            j.db.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let kept_elsewhere = j.db.with_file_name("checkpoint.json");
    std::fs::write(&kept_elsewhere, &out.stdout).unwrap();
    let work = tempfile::tempdir().unwrap();
    let db = copy(&j, work.path());
    std::fs::copy(
        j.db.with_file_name("vigil.db.signing-key"),
        work.path().join("copy.db.signing-key"),
    )
    .unwrap();
    tamper(&j, &db, 7, &mut Dice(3)).await;
    // A thorough intruder removes the kept subtrees too, and has them made again from the
    // rewritten hashes by opening the file as a server does (`vigil verify` itself changes
    // nothing: it would name the missing subtrees).
    intrude(&db)
        .execute_batch("DELETE FROM checkpoints; DELETE FROM merkle_nodes;")
        .unwrap();
    let (code, out, _) = run(&db, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the store's kept Merkle tree lacks entries 1–256"),
        "{out}"
    );
    drop(
        vigil_server::open_journal(&ServerConfig {
            database: db.clone(),
            ..ServerConfig::default()
        })
        .unwrap(),
    );
    let (code, out, _) = run(&db, &[]);
    assert_eq!(
        code,
        Some(0),
        "what nobody kept elsewhere cannot be checked: {out}"
    );
    let (code, out, _) = run(&db, &["--checkpoint", kept_elsewhere.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(
        out.contains(&format!("given checkpoint at size {last} (signed")),
        "{out}"
    );
    std::fs::write(&kept_elsewhere, "{}").unwrap();
    let (code, _, err) = run(&db, &["--checkpoint", kept_elsewhere.to_str().unwrap()]);
    assert_eq!(code, Some(1));
    assert!(err.contains("is not a checkpoint's JSON"), "{err}");

    // A journal cut below its last checkpoint, as JSON for machines.
    let keep = last - 5;
    let conn = intrude(&j.db);
    conn.execute("DELETE FROM events WHERE seq > ?", [keep as i64])
        .unwrap();
    drop(conn);
    let (code, out, _) = run(&j.db, &["--json"]);
    assert_eq!(code, Some(1));
    let found: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(found["ok"], false);
    assert_eq!(found["entries"], keep);
    let problem = found["problems"][0].as_str().unwrap();
    assert!(
        problem.starts_with(&format!(
            "entries {}–{last} missing after checkpoint at {last}",
            keep + 1
        )),
        "{found}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_signer_signs_the_journal_not_what_was_planted_beside_it() {
    use vigil_core::merkle;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("vigil.db");
    let config = ServerConfig {
        database: db.clone(),
        ..ServerConfig::default()
    };
    let key = integrity::signer_for(&config).unwrap();
    let state = vigil_server::open_journal(&config).unwrap();
    let events = dataset(900, 5);
    state.store.append(events[..300].to_vec()).await.unwrap();
    let mut signer = integrity::Signer::start(&state, key.clone()).await.unwrap();
    let first = signer.sign_if(&state, |_, _| true).await.unwrap().unwrap();
    assert_eq!(first.size, 300);

    // An intruder without the key plants a checkpoint far beyond the journal, one at the next
    // size, and the hash of the subtree of entries 513–768 before those entries exist.
    let conn = intrude(&db);
    conn.execute(
        "INSERT INTO checkpoints VALUES (?, ?, 0, ?, ?)",
        params![1i64 << 40, vec![0u8; 32], key.public().id(), vec![0u8; 64]],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO merkle_nodes (id, hash) VALUES (?, ?)",
        params![(8i64 << 48) | 2, vec![7u8; 32]],
    )
    .unwrap();
    drop(conn);

    // A signer started now passes over the planted checkpoint and goes on from the real one;
    // what it signs is the journal's tree, whatever the kept nodes say.
    state.store.append(events[300..900].to_vec()).await.unwrap();
    let mut signer = integrity::Signer::start(&state, key.clone()).await.unwrap();
    let cp = signer.sign_if(&state, |_, _| true).await.unwrap().unwrap();
    assert_eq!(cp.size, 900);
    let mut leaves = Vec::new();
    for h in state.store.chain_hashes(1, 1000).await.unwrap() {
        leaves.push(merkle::leaf(&h));
    }
    assert_eq!(cp.root, merkle::root_of(&leaves), "the journal's root");
    assert_ne!(
        state.store.tree_root(900).await.unwrap(),
        cp.root,
        "the kept tree was planted"
    );
    let found = integrity::verify(&state, vec![*key.public()], Vec::new(), None)
        .await
        .unwrap();
    assert!(!found.ok);
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.contains("kept Merkle tree is damaged over entries 513–768")),
        "{:?}",
        found.problems
    );
    assert!(
        found
            .problems
            .iter()
            .any(|p| p.contains(&format!("checkpoint at size {}: bad signature", 1u64 << 40))),
        "{:?}",
        found.problems
    );

    // The journal rewritten under a checkpoint this key signed: the signer stops.
    let conn = intrude(&db);
    let hash5 = blob(&conn, "hash", 5);
    conn.execute("UPDATE events SET hash = zeroblob(32) WHERE seq = 5", [])
        .unwrap();
    drop(conn);
    match integrity::Signer::start(&state, key.clone()).await {
        Err(integrity::SignerError::Forked(size)) => assert_eq!(size, 900),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a signer started over a rewritten journal"),
    }
    // Cut below a checkpoint this key signed (or an older copy put back): it stops too, rather
    // than sign another history at sizes it already signed.
    let conn = intrude(&db);
    conn.execute(
        "UPDATE events SET hash = ? WHERE seq = 5",
        [hash5.as_slice()],
    )
    .unwrap();
    conn.execute("DELETE FROM events WHERE seq > 850", [])
        .unwrap();
    drop(conn);
    match integrity::Signer::start(&state, key.clone()).await {
        Err(integrity::SignerError::Cut { size, head }) => assert_eq!((size, head), (900, 850)),
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a signer started over a cut journal"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_signed_under_two_keys_verifies_with_both() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServerConfig {
        database: dir.path().join("vigil.db"),
        ..ServerConfig::default()
    };
    let state = vigil_server::open_journal(&config).unwrap();
    let events = dataset(40, 8);
    let (old, _) = SigningKey::generate().unwrap();
    let (new, _) = SigningKey::generate().unwrap();
    let (old, new) = (std::sync::Arc::new(old), std::sync::Arc::new(new));
    state.store.append(events[..20].to_vec()).await.unwrap();
    let mut signer = integrity::Signer::start(&state, old.clone()).await.unwrap();
    signer.sign_if(&state, |_, _| true).await.unwrap().unwrap();
    // The key is replaced: the new one signs on, from the journal itself.
    state.store.append(events[20..].to_vec()).await.unwrap();
    let mut signer = integrity::Signer::start(&state, new.clone()).await.unwrap();
    signer.sign_if(&state, |_, _| true).await.unwrap().unwrap();

    let found = integrity::verify(&state, vec![*new.public()], Vec::new(), None)
        .await
        .unwrap();
    assert!(!found.ok);
    assert!(
        found.problems[0].contains(&format!("names key {}", old.public().id())),
        "{:?}",
        found.problems
    );
    let found = integrity::verify(&state, vec![*new.public(), *old.public()], Vec::new(), None)
        .await
        .unwrap();
    assert!(found.ok, "{:?}", found.problems);
    assert_eq!(found.checkpoints_verified, 2);
}

/// `vigil verify` reads the search index beside the journal (without taking it) and names an
/// index built from another journal, or holding entries the journal lacks.
#[test]
fn vigil_verify_checks_that_the_search_index_holds_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let vigil = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let ok = |args: &[&str]| {
        let (code, said) = vigil(args);
        assert_eq!(code, Some(0), "{args:?}: {said}");
    };
    for (db, seed) in [("a.db", "1"), ("b.db", "2")] {
        ok(&["demo", "--database", db, "--events", "400", "--seed", seed]);
    }
    std::fs::copy(dir.path().join("a.db"), dir.path().join("prefix.db")).unwrap();
    // `vigil export` builds the index; the second one indexes the first one's own entry too.
    for db in ["a.db", "a.db", "b.db"] {
        ok(&[
            "export",
            "--database",
            db,
            "--format",
            "csv",
            "--out",
            "x.csv",
        ]);
    }
    let (code, said) = vigil(&["verify", "--database", "a.db"]);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("verified 402 entries"), "{said}");

    let put_index = |from: &str, to: &str| {
        let target = dir.path().join(format!("{to}.index"));
        let _ = std::fs::remove_dir_all(&target);
        std::fs::create_dir_all(&target).unwrap();
        for f in std::fs::read_dir(dir.path().join(format!("{from}.index"))).unwrap() {
            let f = f.unwrap();
            std::fs::copy(f.path(), target.join(f.file_name())).unwrap();
        }
    };
    // The index of a longer journal beside an older copy of it.
    put_index("a.db", "prefix.db");
    let (code, said) = vigil(&["verify", "--database", "prefix.db"]);
    assert_eq!(code, Some(1), "{said}");
    // The second export's own entry (402) is in a.db's index when the index followed the
    // journal before that process ended, which is a matter of timing.
    assert!(
        said.contains("the search index holds entries 401–401 that the journal lacks")
            || said.contains("the search index holds entries 401–402 that the journal lacks"),
        "{said}"
    );
    assert!(said.contains("delete its index folder"), "{said}");
    // The index of another journal.
    put_index("b.db", "a.db");
    let (code, said) = vigil(&["verify", "--database", "a.db", "--json"]);
    assert_eq!(code, Some(1), "{said}");
    assert!(
        said.contains("the search index files entry 1 under another time than the journal's"),
        "{said}"
    );
    assert!(
        said.contains("and 399 more such") || said.contains("more such"),
        "{said}"
    );
}

/// An intruder who removes an entry and the kept tree with it: the journal still opens, and
/// `vigil verify` names the missing entry rather than failing to open it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_missing_an_entry_and_its_tree_still_opens_for_verify_to_name_it() {
    let j = journal(700, 5).await;
    let work = tempfile::tempdir().unwrap();
    let db = copy(&j, work.path());
    intrude(&db)
        .execute_batch("DELETE FROM events WHERE seq = 300; DELETE FROM merkle_nodes;")
        .unwrap();
    let found = verify(&db, &j.public).await;
    assert!(!found.ok);
    assert!(
        found.problems[0].starts_with("entries 300–300 missing: entry 301 follows entry 299"),
        "{:?}",
        found.problems
    );
}

/// `vigil verify` reads the file it checks and never changes it: the SHA-256 of the database
/// (and of the write-ahead log a server left beside it) is the same after as before, also where
/// opening it as a server does would write (a kept tree behind the journal, a log not yet folded
/// into the file, an older schema).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vigil_verify_never_changes_the_file_it_checks() {
    use sha2::{Digest, Sha256};
    let j = journal(700, 11).await;
    let work = tempfile::tempdir().unwrap();
    let digest = |p: &Path| hex::encode(Sha256::digest(std::fs::read(p).unwrap()));
    let verify_cli = |db: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(["verify", "--database", db.to_str().unwrap()])
            .arg(format!("--key={}", j.public.to_base64()))
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };

    // A clean journal: verified, unchanged.
    let db = copy(&j, work.path());
    let before = digest(&db);
    let (code, out, err) = verify_cli(&db);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("verified {} entries", j.size)),
        "{out}"
    );
    assert_eq!(digest(&db), before, "verify changed the file it checked");

    // The newest kept subtree removed: a read-write open would make it again; verify names it
    // and leaves the file as it found it.
    intrude(&db)
        .execute_batch("DELETE FROM merkle_nodes WHERE id = (SELECT max(id) FROM merkle_nodes)")
        .unwrap();
    let before = digest(&db);
    let (code, out, _) = verify_cli(&db);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("the store's kept Merkle tree lacks entries"),
        "{out}"
    );
    assert_eq!(digest(&db), before, "verify made the kept tree again");

    // A process that holds the journal open with entries still in its write-ahead log: they
    // are read (and verified) from the log, and neither the file nor the log changes.
    let db = copy(&j, work.path());
    let holder = vigil_server::open_journal(&ServerConfig {
        database: db.clone(),
        ..ServerConfig::default()
    })
    .unwrap();
    holder.store.append(dataset(5, 999)).await.unwrap();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    assert!(
        std::fs::metadata(&wal).unwrap().len() > 0,
        "the new entries are in the log"
    );
    let (file, log) = (digest(&db), digest(&wal));
    let (code, out, err) = verify_cli(&db);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!("verified {} entries", j.size + 5)),
        "{out}"
    );
    assert_eq!(
        (digest(&db), digest(&wal)),
        (file, log),
        "verify folded the log into the file or wrote to it"
    );
    drop(holder);

    // A journal of an older schema: refused with what to do, not upgraded.
    let db = copy(&j, work.path());
    intrude(&db)
        .execute_batch("PRAGMA user_version = 9")
        .unwrap();
    let before = digest(&db);
    let (code, _, err) = verify_cli(&db);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("schema version 9") && err.contains("upgrade a copy"),
        "{err}"
    );
    assert_eq!(
        digest(&db),
        before,
        "verify upgraded the journal it checked"
    );

    // Not a journal at all.
    let other = work.path().join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let (code, _, err) = verify_cli(&other);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("is not a Vigil journal"), "{err}");
}

/// A journal handed over on read-only media (a write-protected mount, as evidence often is):
/// `vigil verify` and `vigil integrity checkpoint` read it, though SQLite cannot make its
/// `-shm` file there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_journal_on_a_read_only_mount_is_verified() {
    let j = journal(600, 12).await;
    let work = tempfile::tempdir().unwrap();
    let (src, ro) = (work.path().join("src"), work.path().join("ro"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    let db = copy(&j, &src);
    let mount = |args: &[&str]| Command::new("mount").args(args).status();
    let bound = mount(&["--bind", src.to_str().unwrap(), ro.to_str().unwrap()])
        .is_ok_and(|s| s.success())
        && mount(&["-o", "remount,bind,ro", ro.to_str().unwrap()]).is_ok_and(|s| s.success());
    if !bound {
        let _ = Command::new("umount").arg(&ro).status();
        eprintln!(
            "skipped: a read-only bind mount needs root (CI runs as root and runs this test)"
        );
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(ro.clone());
    let on_ro = ro.join(db.file_name().unwrap());
    assert!(
        std::fs::write(ro.join("probe"), b"x").is_err(),
        "the mount is read-only"
    );
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
            .args(args)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
        )
    };
    let key = format!("--key={}", j.public.to_base64());
    let (code, out) = run(&["verify", "--database", on_ro.to_str().unwrap(), &key]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("verified {} entries", j.size)),
        "{out}"
    );
    let (code, out) = run(&[
        "integrity",
        "checkpoint",
        "--database",
        on_ro.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("size {}", j.checkpoints.last().unwrap())),
        "{out}"
    );
    // A write-ahead log left beside it (a crash image: the file and its log, no -shm) that
    // SQLite cannot read without making its -shm: refused with what to do, rather than checked
    // without the entries the log holds.
    drop(_unmount);
    let holder = vigil_server::open_journal(&ServerConfig {
        database: db.clone(),
        ..ServerConfig::default()
    })
    .unwrap();
    holder.store.append(dataset(3, 5)).await.unwrap();
    let crash = src.join("crash.db");
    std::fs::copy(&db, &crash).unwrap();
    std::fs::copy(
        format!("{}-wal", db.display()),
        format!("{}-wal", crash.display()),
    )
    .unwrap();
    drop(holder);
    assert!(
        std::fs::metadata(format!("{}-wal", crash.display()))
            .unwrap()
            .len()
            > 0
    );
    assert!(
        mount(&["--bind", src.to_str().unwrap(), ro.to_str().unwrap()])
            .unwrap()
            .success()
    );
    assert!(mount(&["-o", "remount,bind,ro", ro.to_str().unwrap()])
        .unwrap()
        .success());
    let _unmount = Unmount(ro.clone());
    let (code, out) = run(&[
        "verify",
        "--database",
        ro.join("crash.db").to_str().unwrap(),
        &key,
    ]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("write-ahead log") && out.contains("check the copy"),
        "{out}"
    );
}

/// The search index's folder removed while the store runs: the index is built again from the
/// journal, follows it again, and then answers for every entry, those stored before the removal
/// and after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_index_removed_while_the_store_runs_is_built_again_from_the_journal() {
    use vigil_client::SearchOptions;
    let s = crate::support::TestServer::builder()
        .user("alice", &["auditor"])
        .start()
        .await;
    let before = s.demo(300).await;
    let dir = PathBuf::from(format!("{}.index", s.database.display()));
    assert!(dir.join("meta.json").is_file(), "the index is in {dir:?}");
    // A merge may add a file while the folder is removed: again until it is gone.
    for _ in 0..50 {
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => break,
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    assert!(!dir.exists(), "the index's folder is removed");

    let mut after = vigil_demo::events(5, 99, chrono::Utc::now(), 1);
    for e in &mut after {
        e.action = "index.wiped.after".into();
    }
    s.ingester.ingest(&after).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let page = s
            .reader
            .search(&SearchOptions {
                limit: Some(50),
                ..SearchOptions::query("action:index.wiped.after")
            })
            .await
            .unwrap();
        let fresh = page.freshness.as_ref().unwrap();
        if page.events.len() == after.len() && !fresh.rebuilding {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the index did not come back to the journal: {} of {} found, {fresh:?}",
            page.events.len(),
            after.len()
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(dir.join("meta.json").is_file(), "the folder is made again");
    // What was stored before the removal is found again: one of its actors' entries, and the
    // whole journal up to where the index answers for, counted.
    let actor = &before[0].actor.id;
    let mine = before.iter().filter(|e| &e.actor.id == actor).count();
    let page = s
        .reader
        .search(&SearchOptions {
            limit: Some(500),
            ..SearchOptions::query(&format!("actor:{actor} -section:vigil"))
        })
        .await
        .unwrap();
    assert_eq!(page.events.len(), mine, "{actor}'s entries from before");
    let timeline = s.reader.timeline("", Some(50)).await.unwrap();
    let counted: u64 = timeline.buckets.iter().map(|b| b.count).sum();
    let fresh = timeline.freshness.unwrap();
    // The answer holds at least what it says it does (the reader may already see the next
    // commit, of the searches' own traces), and no more than the journal.
    assert!(
        fresh.indexed <= counted && counted <= fresh.journal,
        "{counted} counted, {fresh:?}"
    );
}
