//! The conformance suite: what every backend must do, checked the same way on each.
//!
//! A backend's integration tests call [`conformance_tests!`](crate::conformance_tests) with an
//! async constructor returning `(Arc<dyn Store>, guard)`; each check below becomes one test.
//! Searches, timelines and facets are checked against [`vigil_core::Query::matches`] over the
//! same data, so a backend agrees with the language's reference semantics.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;
use vigil_core::chain::Verifier;
use vigil_core::validate::event_from_json;
use vigil_core::{Event, Query, Severity, StoredEvent};

use crate::{
    utc, Cursor, EntryNotes, FacetField, FacetRequest, IncidentKey, IncidentStatus, Mark,
    MarkChange, NewAnnotation, NewIncident, NewIncidentNote, NewKey, NewPin, NewSession, NewUser,
    Order, RoleRecord, Search, Store, StoreError, TimelineRequest, Written,
};

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh store from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make;
            appends_with_gap_free_seq_and_a_valid_chain, duplicates_are_reported_not_stored,
            a_conflicting_id_stores_nothing_of_its_batch, values_come_back_byte_exact, unknown_ids_are_not_found,
            search_agrees_with_the_query_language, keys_and_entries_agree_with_search, timeline_counts_every_match_once, facets_count_like_the_query_language,
            pages_are_stable_under_concurrent_appends, concurrent_appends_lose_and_duplicate_nothing, accounts_sessions_and_keys,
            roles_and_users_change_with_their_journal_entry,
            alert_channels_and_rules_by_name, alert_outbox_schedules_claims_and_finishes,
            alert_digests_are_bounded_and_channels_share_claims,
            annotations_are_searched_like_the_query_language, annotations_are_written_once_with_their_journal_entry);
    };
    (@each $make:path; $($name:ident),+) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (store, _guard) = $make().await;
            $crate::conformance::$name(store).await;
        }
    )+};
}

/// A small deterministic generator (no dependency, stable across versions).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap()
}

/// One event from JSON, panicking with the reason if the fixture itself is wrong.
pub fn event(v: serde_json::Value) -> Event {
    event_from_json(&v, Uuid::now_v7).unwrap_or_else(|e| panic!("fixture is invalid: {e}"))
}

/// `n` varied events over November 2026: every qualifier has hits and misses.
pub fn dataset(n: usize, seed: u64) -> Vec<Event> {
    let mut r = Lcg(seed);
    let actors = [
        "m.dupont",
        "j.smith",
        "a.benali",
        "batch-bot",
        "s.cohen",
        "l.martin",
    ];
    let sections = ["finance", "bonuses", "players", "staff", "settings"];
    let actions = [
        ("player.balance.adjust", "change"),
        ("bonus.create", "create"),
        ("bonus.cancel", "delete"),
        ("withdrawal.cancel", "change"),
        ("role.grant", "rights"),
        ("report.export", "access"),
        ("player.view", "access"),
    ];
    let reasons = [
        "Remboursé à la demande du joueur",
        "chargeback review #4411",
        "manual bonus for VIP",
        "גישה נדחתה",
        "طلب اللاعب",
        "=HYPERLINK(\"http://x\")",
        "line one\nline two",
        "🎰 jackpot fix",
    ];
    let ips = [
        "203.0.113.7",
        "203.0.113.200",
        "198.51.100.1",
        "10.1.2.3",
        "2001:db8::1",
        "2001:db8:1::5",
    ];
    (0..n)
        .map(|i| {
            let (action, kind) = *r.pick(&actions);
            let mut v = json!({
                "occurred_at": (base_time() + Duration::seconds((r.next() % (29 * 86_400)) as i64)
                    + Duration::microseconds((r.next() % 1_000_000) as i64)).to_rfc3339(),
                "actor": {"id": r.pick(&actors), "name": "Staff Member"},
                "action": action, "kind": kind, "section": r.pick(&sections),
                "severity": r.pick(&["info", "info", "warning", "critical"]),
                "outcome": r.pick(&["success", "success", "success", "failure", "denied"]),
            });
            if i % 3 != 0 {
                v["target"] = json!({"type": r.pick(&["player", "bonus", "staff"]), "id": format!("{}", r.next() % 20)});
            }
            if i % 4 != 0 {
                v["ip"] = json!(r.pick(&ips));
            }
            if i % 2 == 0 {
                v["reason"] = json!(r.pick(&reasons));
            }
            if kind == "change" {
                v["changes"] = json!([{"field": "balance", "before": r.next() % 1000, "after": r.next() % 1000}]);
            }
            event(v)
        })
        .collect()
}

/// Appends in batches of `size`.
async fn load(store: &dyn Store, events: &[Event], size: usize) -> Vec<StoredEvent> {
    for chunk in events.chunks(size) {
        store.append(chunk.to_vec()).await.expect("append");
    }
    all_in_seq_order(store).await
}

async fn all_in_seq_order(store: &dyn Store) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    loop {
        let batch = store.scan(out.len() as u64 + 1, 1000).await.expect("scan");
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

fn newest_first(events: &mut [StoredEvent]) {
    events.sort_by_key(|e| std::cmp::Reverse((e.event.occurred_at, e.seq)));
}

/// Seq is 1..=n, the chain verifies and head is the last entry.
pub async fn appends_with_gap_free_seq_and_a_valid_chain(store: Arc<dyn Store>) {
    assert_eq!(store.head().await.unwrap(), None, "a new store is empty");
    let data = dataset(25, 1);
    let first = store.append(data[..10].to_vec()).await.unwrap();
    assert_eq!(
        first.iter().map(|a| a.seq).collect::<Vec<_>>(),
        (1..=10).collect::<Vec<_>>()
    );
    assert!(first.iter().all(|a| !a.duplicate && a.hash.len() == 64));
    store.append(data[10..].to_vec()).await.unwrap();
    let all = all_in_seq_order(&*store).await;
    assert_eq!(all.len(), 25);
    let mut v = Verifier::default();
    for e in &all {
        v.check(e)
            .unwrap_or_else(|err| panic!("chain broken: {err}"));
    }
    assert_eq!(store.head().await.unwrap(), Some((25, v.head())));
    assert_eq!(all[3].event, data[3], "scan returns the events as sent");
}

/// A re-sent id is a duplicate with the original seq and hash, within and across batches.
pub async fn duplicates_are_reported_not_stored(store: Arc<dyn Store>) {
    let data = dataset(3, 2);
    let first = store.append(data.clone()).await.unwrap();
    let again = store
        .append(vec![
            data[1].clone(),
            dataset(1, 3)[0].clone(),
            data[1].clone(),
        ])
        .await
        .unwrap();
    assert!(again[0].duplicate && again[0].seq == first[1].seq && again[0].hash == first[1].hash);
    assert!(!again[1].duplicate && again[1].seq == 4);
    assert!(
        again[2].duplicate && again[2].seq == first[1].seq,
        "a repeat inside one batch is a duplicate too"
    );
    assert_eq!(
        store.head().await.unwrap().unwrap().0,
        4,
        "nothing was stored twice"
    );
}

/// An id already stored with different content is a conflict, and the batch stores nothing.
pub async fn a_conflicting_id_stores_nothing_of_its_batch(store: Arc<dyn Store>) {
    let data = dataset(2, 4);
    store.append(vec![data[0].clone()]).await.unwrap();
    let mut changed = data[0].clone();
    changed.reason = Some("something else".into());
    let err = store
        .append(vec![data[1].clone(), changed])
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { index: Some(1), .. }),
        "{err:?}"
    );
    assert!(
        matches!(store.event(data[1].id).await, Err(StoreError::NotFound(_))),
        "batch is atomic"
    );
    assert_eq!(store.head().await.unwrap().unwrap().0, 1);
    let next = store.append(vec![data[1].clone()]).await.unwrap();
    assert_eq!(next[0].seq, 2, "a refused batch leaves no gap in seq");
}

/// Strings and JSON values come back exactly as sent.
pub async fn values_come_back_byte_exact(store: Arc<dyn Store>) {
    let tricky = [
        "Remboursé « à la demande » du joueur",
        "مرحبا بالعالم",
        "שלום עולם",
        "🎰💸👩🏽‍💼",
        "quote \" and 'single'",
        "line1\nline2\r\nline3\ttab",
        "=SUM(A1:A9)",
        "+1",
        "-1",
        "@cmd",
        "\u{0}nul",
        "\u{202e}override",
    ];
    let text: serde_json::Value = serde_json::from_str(
        r#"{"amount": 100.10, "big": 123456789012345678901234567890, "tiny": 1e-7, "z": {"b": 1, "a": [true, null]}}"#,
    )
    .unwrap();
    let mut sent = Vec::new();
    for (i, s) in tricky.iter().enumerate() {
        sent.push(event(json!({
            "occurred_at": "2026-11-26T14:03:07.123456+05:30", "actor": {"id": s, "name": s, "role": s},
            "action": "player.note", "kind": "change", "section": "players",
            "target": {"type": "player", "id": format!("{i}{s}"), "name": s}, "reason": s, "user_agent": s,
            "session_id": s, "request_id": s, "changes": [{"field": s, "before": s, "after": text}], "details": text,
        })));
    }
    store.append(sent.clone()).await.unwrap();
    for e in &sent {
        let back = store.event(e.id).await.unwrap();
        assert_eq!(back.event, *e);
        assert_eq!(
            serde_json::to_string(&back.event).unwrap(),
            serde_json::to_string(e).unwrap()
        );
    }
    let back = store.event(sent[0].id).await.unwrap();
    let json = serde_json::to_string(&back.event.details).unwrap();
    assert_eq!(
        json,
        r#"{"amount":100.10,"big":123456789012345678901234567890,"tiny":1e-7,"z":{"b":1,"a":[true,null]}}"#
    );
    assert_eq!(
        vigil_core::event::micros::format(&back.event.occurred_at),
        "2026-11-26T08:33:07.123456Z"
    );
}

/// `event(id)` of an unknown id is `NotFound`.
pub async fn unknown_ids_are_not_found(store: Arc<dyn Store>) {
    assert!(matches!(
        store.event(Uuid::now_v7()).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Queries that exercise every qualifier, negation, OR, phrases and times.
pub const QUERIES: &[&str] = &[
    "",
    "actor:m.dupont",
    "actor:m.dupont,j.smith section:finance",
    "-actor:batch-bot",
    "section:bonuses kind:create",
    "kind:rights",
    "action:bonus.*",
    "action:player.balance.adjust",
    "-action:player.*",
    "severity:critical",
    "severity:critical after:2026-11-10",
    "outcome:denied",
    "target:player/7",
    "target:player/*",
    "target:7",
    "-target:bonus/*",
    "ip:203.0.113.0/24",
    "ip:2001:db8::/48",
    "ip:10.1.2.3",
    "-ip:203.0.113.7",
    "after:2026-11-05 before:2026-11-12T12:00",
    "on:2026-11-15",
    "before:2026-11-03T10:00:00+02:00",
    "rembourse",
    "REMBOURSÉ section:finance",
    "\"la demande\"",
    "\"demande la\"",
    "chargeback 4411",
    "-vip",
    "jackpot",
    "hyperlink",
    "balance",
    "has:changes",
    "-has:target",
    "has:ip,reason",
    "mark:suspicious",
    "-has:comment",
    "m.dupont",
    "actor:j.smith section:finance,bonuses severity:warning,critical -outcome:success",
];

/// Role scopes (unions of queries) that a caller's query is narrowed to, with that query.
const SCOPED: &[(&[&str], &str)] = &[
    (&["section:finance"], ""),
    (
        &["section:finance", "section:bonuses severity:critical"],
        "",
    ),
    (&["section:finance", "actor:j.smith"], "-outcome:success"),
    (
        &["ip:203.0.113.0/24", "has:reason -section:players"],
        "rembourse",
    ),
    (&[], ""),
];

fn scoped(scopes: &[&str], text: &str) -> Query {
    let mut scope = vigil_core::rights::Scope::Nothing;
    for s in scopes {
        scope.add(&s.parse().unwrap());
    }
    scope.narrow(text.parse().unwrap())
}

/// Every query returns exactly the entries the reference evaluation picks, in order, across pages.
pub async fn search_agrees_with_the_query_language(store: Arc<dyn Store>) {
    let all = load(&*store, &dataset(400, 5), 97).await;
    let queries = QUERIES
        .iter()
        .map(|t| t.parse::<Query>().unwrap())
        .chain(SCOPED.iter().map(|(scopes, t)| scoped(scopes, t)));
    for q in queries {
        let text = q.to_string();
        let mut want: Vec<_> = all
            .iter()
            .filter(|e| q.matches(&e.event, &Utc))
            .cloned()
            .collect();
        newest_first(&mut want);
        let got = page_through(&*store, &q, Order::Newest, 7).await;
        assert_eq!(ids(&got), ids(&want), "query {text:?}");
        want.reverse();
        let got = page_through(&*store, &q, Order::Oldest, 50).await;
        assert_eq!(ids(&got), ids(&want), "query {text:?} oldest first");
    }
    let first = store.search(&Search::new(Query::all(), 5)).await.unwrap();
    assert_eq!(first.events.len(), 5);
    assert_eq!(
        first.events[0],
        store.event(first.events[0].event.id).await.unwrap(),
        "search returns whole entries"
    );
}

/// `keys` names exactly the matches within its time slice, and `entries` returns them whole, in
/// the order asked.
pub async fn keys_and_entries_agree_with_search(store: Arc<dyn Store>) {
    let all = load(&*store, &dataset(300, 8), 100).await;
    for text in [
        "",
        "section:finance",
        "-kind:change rembourse",
        "after:2026-11-05",
    ] {
        let q: Query = text.parse().unwrap();
        let want: Vec<&StoredEvent> = all.iter().filter(|e| q.matches(&e.event, &Utc)).collect();
        let (from, to) = (
            (base_time() + Duration::days(3)).timestamp_micros(),
            (base_time() + Duration::days(9)).timestamp_micros(),
        );
        let mut got = store.keys(&q, utc(), from, to).await.unwrap();
        got.sort();
        let mut sliced: Vec<(i64, u64)> = want
            .iter()
            .map(|e| (e.event.occurred_at.timestamp_micros(), e.seq))
            .filter(|(t, _)| (from..to).contains(t))
            .collect();
        sliced.sort();
        assert_eq!(got, sliced, "keys of {text:?} in a slice");
        let everything = store.keys(&q, utc(), i64::MIN, i64::MAX).await.unwrap();
        assert_eq!(everything.len(), want.len(), "keys of {text:?}");
    }
    let seqs = vec![all[7].seq, all[2].seq, all[250].seq];
    let got = store.entries(seqs.clone()).await.unwrap();
    assert_eq!(ids(&got), seqs, "in the order asked");
    assert_eq!(got[0], all[7]);
    // Close together, out of order, one asked twice.
    let seqs = vec![all[9].seq, all[7].seq, all[8].seq, all[8].seq];
    let got = store.entries(seqs.clone()).await.unwrap();
    assert_eq!(ids(&got), seqs, "in the order asked, repeats included");
    assert_eq!(got[3], all[8]);
    assert!(matches!(
        store.entries(vec![all[0].seq, 999_999]).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.entries(Vec::new()).await.unwrap().is_empty());
}

fn ids(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

async fn page_through(
    store: &dyn Store,
    q: &Query,
    order: Order,
    limit: usize,
) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .search(&Search {
                query: q.clone(),
                tz: utc(),
                limit,
                cursor,
                order,
            })
            .await
            .unwrap_or_else(|e| panic!("{q}: {e}"));
        assert!(page.events.len() <= limit);
        out.extend(page.events);
        match page.next {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Bucket counts add up to the matches, each in the bucket its time falls in.
pub async fn timeline_counts_every_match_once(store: Arc<dyn Store>) {
    let all = load(&*store, &dataset(300, 6), 300).await;
    for text in [
        "",
        "severity:critical",
        "section:finance after:2026-11-10 before:2026-11-20",
        "rembourse",
        "on:2026-11-03",
    ] {
        let q: Query = text.parse().unwrap();
        let t = store
            .timeline(&TimelineRequest {
                query: q.clone(),
                tz: utc(),
                buckets: 40,
            })
            .await
            .unwrap();
        let matching: Vec<_> = all.iter().filter(|e| q.matches(&e.event, &Utc)).collect();
        assert!(t.buckets.len() <= 41, "{text}: {} buckets", t.buckets.len());
        assert_eq!(
            t.buckets.iter().map(|b| b.count).sum::<u64>(),
            matching.len() as u64,
            "{text}"
        );
        let critical = matching
            .iter()
            .filter(|e| e.event.severity == Severity::Critical)
            .count();
        assert_eq!(
            t.buckets.iter().map(|b| b.critical).sum::<u64>(),
            critical as u64,
            "{text}"
        );
        for e in matching {
            let i = t
                .buckets
                .iter()
                .rposition(|b| b.start <= e.event.occurred_at)
                .expect("inside the range");
            assert!(
                t.buckets[i].count > 0,
                "{text}: {} falls in an empty bucket",
                e.seq
            );
        }
    }
    let q: Query = "after:2026-11-10 before:2026-11-12".parse().unwrap();
    let t = store
        .timeline(&TimelineRequest {
            query: q,
            tz: utc(),
            buckets: 48,
        })
        .await
        .unwrap();
    assert_eq!(
        (t.interval_seconds, t.buckets.len()),
        (3600, 48),
        "the range comes from the query"
    );
}

/// Facet counts equal the reference counts, most frequent first.
pub async fn facets_count_like_the_query_language(store: Arc<dyn Store>) {
    let all = load(&*store, &dataset(300, 7), 300).await;
    for text in [
        "",
        "section:finance",
        "-actor:batch-bot severity:critical",
        "rembourse",
    ] {
        let q: Query = text.parse().unwrap();
        for field in FacetField::ALL {
            let got = store
                .facets(&FacetRequest {
                    query: q.clone(),
                    tz: utc(),
                    field: *field,
                    limit: 4,
                })
                .await
                .unwrap();
            let mut counts = BTreeMap::<String, u64>::new();
            for e in all.iter().filter(|e| q.matches(&e.event, &Utc)) {
                if let Some(v) = field.value_of(&e.event) {
                    *counts.entry(v).or_default() += 1;
                }
            }
            let mut want: Vec<_> = counts.into_iter().collect();
            want.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            want.truncate(4);
            let got: Vec<_> = got.values.into_iter().map(|v| (v.value, v.count)).collect();
            assert_eq!(got, want, "{text:?} by {field:?}");
        }
    }
}

/// Appends between pages neither repeat nor skip entries that were there at the first page.
pub async fn pages_are_stable_under_concurrent_appends(store: Arc<dyn Store>) {
    let before = load(&*store, &dataset(120, 8), 120).await;
    let q = Query::all();
    let mut seen = Vec::new();
    let mut cursor: Option<Cursor> = None;
    let mut round = 0;
    loop {
        let page = store
            .search(&Search {
                cursor,
                ..Search::new(q.clone(), 25)
            })
            .await
            .unwrap();
        seen.extend(page.events.iter().map(|e| e.seq));
        round += 1;
        store.append(dataset(10, 100 + round)).await.unwrap();
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "no entry twice");
    for e in &before {
        assert!(unique.contains(&e.seq), "entry {} was skipped", e.seq);
    }
}

/// Many writers at once: every event stored once, seq gap-free, chain valid.
pub async fn concurrent_appends_lose_and_duplicate_nothing(store: Arc<dyn Store>) {
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let data = dataset(500, 1000 + t);
                for chunk in data.chunks(20) {
                    store.append(chunk.to_vec()).await.expect("append");
                }
                data.into_iter().map(|e| e.id).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut sent = HashSet::new();
    for t in futures::future::join_all(tasks).await {
        sent.extend(t.unwrap());
    }
    let all = all_in_seq_order(&*store).await;
    assert_eq!(all.len(), 4000);
    assert_eq!(all.iter().map(|e| e.event.id).collect::<HashSet<_>>(), sent);
    let mut v = Verifier::default();
    for e in &all {
        v.check(e).unwrap_or_else(|err| panic!("{err}"));
    }
}

/// An entry of section `vigil` with this action.
fn vigil_event(action: &str) -> Event {
    event(json!({
        "occurred_at": base_time().to_rfc3339(), "actor": {"id": "root", "kind": "staff"},
        "action": action, "kind": "rights", "section": "vigil",
    }))
}

async fn journal_ids(store: &dyn Store) -> Vec<Uuid> {
    all_in_seq_order(store)
        .await
        .into_iter()
        .map(|e| e.event.id)
        .collect()
}

/// Custom roles and users' roles: refused changes store nothing, not even their journal entry.
pub async fn roles_and_users_change_with_their_journal_entry(store: Arc<dyn Store>) {
    use crate::AccountChange::*;
    let now = base_time();
    let role = RoleRecord {
        name: "finance-auditor".into(),
        rights: vec!["read".into(), "export".into()],
        scope: "section:finance".into(),
        created_at: now,
    };
    let user = |name: &str, roles: &[&str]| NewUser {
        name: name.into(),
        password_hash: "$argon2id$x".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        created_at: now,
    };
    let mut written = Vec::new();
    let mut change = async |c: crate::AccountChange| {
        let e = vigil_event("role.change");
        let r = store.change_accounts(c, e.clone()).await;
        if r.is_ok() {
            written.push(e.id);
        }
        r
    };
    assert!(matches!(
        change(AddUser(user("bob", &["finance-auditor"]))).await,
        Err(StoreError::Invalid(m)) if m.contains("\"finance-auditor\" does not exist")
    ));
    change(AddRole(role.clone())).await.unwrap();
    assert!(matches!(
        change(AddRole(role.clone())).await,
        Err(StoreError::Conflict { .. })
    ));
    let admin = RoleRecord {
        name: "admin".into(),
        ..role.clone()
    };
    assert!(matches!(
        change(AddRole(admin)).await,
        Err(StoreError::Conflict { .. })
    ));
    change(AddUser(user("bob", &["finance-auditor", "viewer"])))
        .await
        .unwrap();
    assert!(matches!(
        change(AddUser(user("carol", &[]))).await,
        Err(StoreError::Invalid(_))
    ));
    assert!(matches!(
        change(RemoveRole("finance-auditor".into())).await,
        Err(StoreError::Conflict { message, .. }) if message.contains("held by bob")
    ));
    assert!(matches!(
        change(SetRoles {
            name: "nobody".into(),
            roles: vec!["viewer".into()]
        })
        .await,
        Err(StoreError::NotFound(_))
    ));
    change(SetRoles {
        name: "bob".into(),
        roles: vec!["viewer".into()],
    })
    .await
    .unwrap();
    assert_eq!(store.user("bob").await.unwrap().roles, ["viewer"]);
    assert_eq!(store.roles().await.unwrap(), [role]);
    change(RemoveRole("finance-auditor".into())).await.unwrap();
    assert!(matches!(
        change(RemoveRole("finance-auditor".into())).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(store.roles().await.unwrap().is_empty());
    change(AddKey(NewKey {
        name: "crm".into(),
        key_hash: vec![9; 32],
        created_at: now,
    }))
    .await
    .unwrap();
    let users = store.users(now).await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!((users[0].name.as_str(), users[0].live_sessions), ("bob", 0));
    assert_eq!(
        journal_ids(&*store).await,
        written,
        "one entry per change made, none per refusal"
    );
}

/// Users, sessions and ingest keys.
pub async fn accounts_sessions_and_keys(store: Arc<dyn Store>) {
    let now = base_time();
    let user = NewUser {
        name: "alice".into(),
        password_hash: "$argon2id$x".into(),
        roles: vec!["admin".into()],
        created_at: now,
    };
    assert_eq!(store.count_users().await.unwrap(), 0);
    store.add_user(&user).await.unwrap();
    assert_eq!(store.count_users().await.unwrap(), 1);
    assert!(matches!(
        store.add_user(&user).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.user("alice").await.unwrap().roles, ["admin"]);
    assert!(matches!(
        store.user("bob").await,
        Err(StoreError::NotFound(_))
    ));

    let session = NewSession {
        token_hash: vec![1; 32],
        user: "alice".into(),
        created_at: now,
        expires_at: now + Duration::hours(1),
    };
    store.add_session(&session).await.unwrap();
    let s = store.session(&[1; 32]).await.unwrap();
    assert_eq!(
        (s.user.name.as_str(), s.expires_at, s.revoked_at),
        ("alice", now + Duration::hours(1), None)
    );
    let signed_out = vigil_event("auth.logout");
    store
        .revoke_session(&[1; 32], now, signed_out.clone())
        .await
        .unwrap();
    assert_eq!(
        journal_ids(&*store).await,
        [signed_out.id],
        "sign-out is journaled"
    );
    assert_eq!(store.session(&[1; 32]).await.unwrap().revoked_at, Some(now));
    assert!(matches!(
        store.session(&[2; 32]).await,
        Err(StoreError::NotFound(_))
    ));

    let key = NewKey {
        name: "backoffice".into(),
        key_hash: vec![3; 32],
        created_at: now,
    };
    store.add_key(&key).await.unwrap();
    assert!(matches!(
        store.add_key(&key).await,
        Err(StoreError::Conflict { .. })
    ));
    assert_eq!(store.key(&[3; 32]).await.unwrap().name, "backoffice");
    assert!(matches!(
        store.key(&[4; 32]).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Channels and rules are kept by name, per kind, byte-exact.
pub async fn alert_channels_and_rules_by_name(store: Arc<dyn Store>) {
    use crate::{AlertItem, AlertItemKind};
    let now = base_time();
    let item = |name: &str| AlertItem {
        name: name.into(),
        spec: format!(r#"{{"type":"slack","name":"{name}","émoji":"🔔"}}"#),
        created_at: now,
        created_by: "alice".into(),
    };
    for kind in [AlertItemKind::Channel, AlertItemKind::Rule] {
        assert!(store.alert_items(kind).await.unwrap().is_empty());
        store.add_alert_item(kind, &item("b")).await.unwrap();
        store.add_alert_item(kind, &item("a")).await.unwrap();
        assert!(matches!(
            store.add_alert_item(kind, &item("a")).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(
            store.alert_items(kind).await.unwrap(),
            [item("a"), item("b")]
        );
        store.remove_alert_item(kind, "a").await.unwrap();
        assert!(matches!(
            store.remove_alert_item(kind, "a").await,
            Err(StoreError::NotFound(_))
        ));
    }
    // Channels and rules are separate: each kind kept its own "b".
    assert_eq!(
        store.alert_items(AlertItemKind::Channel).await.unwrap(),
        [item("b")]
    );
}

/// The outbox: immediate and windowed scheduling, claims, retries, release, test messages.
pub async fn alert_outbox_schedules_claims_and_finishes(store: Arc<dyn Store>) {
    use crate::{AlertMatch, Attempt, DeliveryFilter, DeliveryKind, DeliveryStatus};
    let now = base_time();
    let window = Duration::minutes(10);
    let hit = |rule: &str, seq: u64| AlertMatch {
        rule: rule.into(),
        channel: "ops".into(),
        seq,
        window: (rule == "throttled").then_some(window),
    };
    assert_eq!(store.alert_cursor().await.unwrap(), None);
    store.record_matches(4, vec![], now).await.unwrap();
    assert_eq!(store.alert_cursor().await.unwrap(), Some(4));

    // Two matches of an immediate rule, three of a throttled one in the same stretch.
    let batch = vec![
        hit("each", 5),
        hit("throttled", 5),
        hit("each", 6),
        hit("throttled", 6),
        hit("throttled", 7),
    ];
    store.record_matches(7, batch, now).await.unwrap();
    assert_eq!(store.alert_cursor().await.unwrap(), Some(7));
    // The cursor never goes back.
    store.record_matches(6, vec![], now).await.unwrap();
    assert_eq!(store.alert_cursor().await.unwrap(), Some(7));

    let claimed = store.claim_deliveries(now, 10, 10).await.unwrap();
    let shape: Vec<_> = claimed
        .iter()
        .map(|d| (d.rule.as_str(), d.kind, d.seqs.clone(), d.attempts))
        .collect();
    assert_eq!(
        shape,
        [
            ("each", DeliveryKind::Event, vec![5], 1),
            ("throttled", DeliveryKind::Event, vec![5], 1),
            ("each", DeliveryKind::Event, vec![6], 1),
        ],
        "the throttled rule's later matches wait for the end of its window"
    );
    assert!(
        store
            .claim_deliveries(now, 10, 10)
            .await
            .unwrap()
            .is_empty(),
        "claimed deliveries are not claimed twice"
    );
    let (a, b, c) = (claimed[0].id, claimed[1].id, claimed[2].id);
    store
        .finish_delivery(a, Attempt::Sent(now + Duration::seconds(1)))
        .await
        .unwrap();
    let retry_at = now + Duration::seconds(30);
    store
        .finish_delivery(
            b,
            Attempt::Failed {
                error: "429: retry after 30".into(),
                retry_at: Some(retry_at),
            },
        )
        .await
        .unwrap();
    store
        .finish_delivery(
            c,
            Attempt::Failed {
                error: "gave up".into(),
                retry_at: None,
            },
        )
        .await
        .unwrap();
    assert!(matches!(
        store.finish_delivery(a, Attempt::Sent(now)).await,
        Err(StoreError::NotFound(_))
    ));
    let counts = store.delivery_counts().await.unwrap();
    assert_eq!((counts.pending, counts.sent, counts.failed), (2, 1, 1));
    assert_eq!(store.next_delivery_due(10).await.unwrap(), Some(retry_at));

    // A match later in the window joins the waiting digest.
    store
        .record_matches(8, vec![hit("throttled", 8)], now + Duration::minutes(1))
        .await
        .unwrap();
    let at_window_end = store.claim_deliveries(now + window, 10, 10).await.unwrap();
    let shape: Vec<_> = at_window_end
        .iter()
        .map(|d| (d.id, d.kind, d.seqs.clone(), d.due_at))
        .collect();
    assert_eq!(
        shape,
        [
            (b, DeliveryKind::Event, vec![5], now),
            (
                at_window_end[1].id,
                DeliveryKind::Digest,
                vec![6, 7, 8],
                now + window
            ),
        ]
    );
    assert_eq!(at_window_end[0].attempts, 2);
    assert_eq!(at_window_end[1].matches, 3);
    assert_eq!(
        at_window_end[0].last_error.as_deref(),
        Some("429: retry after 30")
    );

    // The digest is being sent: a new match opens the next window's digest.
    store
        .record_matches(
            9,
            vec![hit("throttled", 9)],
            now + window + Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(
        store.next_delivery_due(10).await.unwrap(),
        Some(now + window * 2)
    );

    // A process that stopped while sending: its claims are released.
    assert_eq!(store.release_deliveries().await.unwrap(), 2);
    assert_eq!(
        store
            .claim_deliveries(now + window, 10, 10)
            .await
            .unwrap()
            .len(),
        2
    );

    // Failed deliveries can be put back, due now (giving up counts from then); others cannot.
    let retried = store.retry_delivery(c, now + window).await.unwrap();
    assert_eq!(
        (retried.status, retried.next_at, retried.due_at),
        (DeliveryStatus::Pending, now + window, now + window)
    );
    assert!(matches!(
        store.retry_delivery(a, now).await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store.retry_delivery(999_999, now).await,
        Err(StoreError::NotFound(_))
    ));

    // A test message starts claimed, so the dispatcher leaves it to whoever sends it.
    let test = store.start_test_delivery("ops", now).await.unwrap();
    assert_eq!((test.kind, test.attempts), (DeliveryKind::Test, 1));
    store
        .finish_delivery(test.id, Attempt::Sent(now))
        .await
        .unwrap();

    let sent = store
        .deliveries(&DeliveryFilter {
            status: Some(DeliveryStatus::Sent),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        sent.iter().map(|d| d.id).collect::<Vec<_>>(),
        [test.id, a],
        "newest first"
    );
    assert_eq!(sent[1].sent_at, Some(now + Duration::seconds(1)));
    // A test message a stopped process was sending fails; it is not sent later, nor retried.
    let stuck = store.start_test_delivery("ops", now).await.unwrap();
    store.release_deliveries().await.unwrap();
    let failed = store
        .deliveries(&DeliveryFilter {
            status: Some(DeliveryStatus::Failed),
            channel: Some("ops".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(failed[0].id, stuck.id);
    assert!(matches!(
        store.retry_delivery(stuck.id, now).await,
        Err(StoreError::Conflict { .. })
    ));

    let page = store
        .deliveries(&DeliveryFilter {
            rule: Some("throttled".into()),
            before_id: Some(test.id),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    assert!(page.iter().all(|d| d.rule == "throttled" && d.id < test.id));
}

/// A digest keeps the first entries and counts the rest; a digest that is due but not yet
/// claimed still takes matches; one slow channel cannot take every claim.
pub async fn alert_digests_are_bounded_and_channels_share_claims(store: Arc<dyn Store>) {
    use crate::{AlertMatch, DIGEST_KEPT};
    let now = base_time();
    let window = Duration::minutes(5);
    let hit = |channel: &str, seq: u64, window: Option<Duration>| AlertMatch {
        rule: "r".into(),
        channel: channel.into(),
        seq,
        window,
    };
    store.record_matches(0, vec![], now).await.unwrap();
    let flood: Vec<_> = (1..=40).map(|seq| hit("ops", seq, Some(window))).collect();
    store.record_matches(40, flood, now).await.unwrap();
    // Due, not claimed yet: a late match still joins it.
    store
        .record_matches(41, vec![hit("ops", 41, Some(window))], now + window)
        .await
        .unwrap();
    let claimed = store.claim_deliveries(now + window, 10, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "the first match at once, then one digest");
    assert_eq!((claimed[0].seqs.clone(), claimed[0].matches), (vec![1], 1));
    let digest = &claimed[1];
    assert_eq!(digest.matches, 40);
    assert_eq!(digest.seqs, (2..2 + DIGEST_KEPT as u64).collect::<Vec<_>>());

    // A slow channel with many due, a healthy one with two: claims leave room for both.
    let slow: Vec<_> = (100..120)
        .map(|seq| hit("slow", seq, None))
        .chain([hit("fast", 200, None), hit("fast", 201, None)])
        .collect();
    store.record_matches(201, slow, now).await.unwrap();
    let first = store.claim_deliveries(now, 64, 4).await.unwrap();
    let count = |ds: &[crate::Delivery], c: &str| ds.iter().filter(|d| d.channel == c).count();
    assert_eq!((count(&first, "slow"), count(&first, "fast")), (4, 2));
    assert!(
        store.claim_deliveries(now, 64, 4).await.unwrap().is_empty(),
        "the slow channel already has 4 claimed"
    );
    assert_eq!(
        store.next_delivery_due(4).await.unwrap(),
        None,
        "what waits for claims to finish is not due at a time"
    );
    assert_eq!(store.next_delivery_due(5).await.unwrap(), Some(now));
}

/// A journal entry about a record, as the server writes one.
fn about(action: &str, by: &str) -> Event {
    event(json!({
        "occurred_at": "2026-11-30T12:00:00Z", "actor": {"id": by, "kind": "staff"},
        "action": action, "kind": "create", "section": "vigil",
    }))
}

fn new_annotation(
    entry: &StoredEvent,
    by: &str,
    comment: Option<&str>,
    marks: &[&str],
) -> NewAnnotation {
    NewAnnotation {
        id: Uuid::now_v7(),
        entry: entry.event.id,
        author: by.into(),
        written_at: base_time() + Duration::days(20),
        comment: comment.map(str::to_owned),
        marks: marks.iter().map(|m| m.to_string()).collect(),
        supersedes: None,
    }
}

/// Searches, facets and timelines see annotations (marks, comments, corrections) and incident
/// pins exactly as the query language does over [`vigil_core::Notes`], including for entries
/// annotated long after they were indexed.
pub async fn annotations_are_searched_like_the_query_language(store: Arc<dyn Store>) {
    let data = load(&*store, &dataset(300, 11), 100).await;
    // Let the index hold the entries before they are annotated, so annotating re-indexes them.
    page_through(&*store, &Query::all(), Order::Newest, 500).await;
    let mut r = Lcg(3);
    let comments = [
        "Chargeback review #4411",
        "vu avec le joueur",
        "Remboursé, voir ticket",
    ];
    let marks = ["suspicious", "reviewed", "false-positive", "player-request"];
    let mut superseded = Vec::new();
    let (incident, _) = store
        .open_incident(
            NewIncident {
                id: Uuid::now_v7(),
                title: "Bonus abuse ring".into(),
                description: None,
                author: "alice".into(),
                written_at: base_time(),
            },
            about("incident.create", "alice"),
        )
        .await
        .unwrap();
    assert_eq!(incident.number, 1);
    for (i, e) in data.iter().enumerate().filter(|(i, _)| i % 7 == 0) {
        let comment = (i % 2 == 0).then(|| *r.pick(&comments));
        let mark = *r.pick(&marks);
        let a = new_annotation(e, "alice", comment, &[mark]);
        let (stored, written) = store
            .annotate(a.clone(), about("annotation.create", "alice"))
            .await
            .unwrap();
        assert_eq!(written, Written::Created);
        assert_eq!(
            (stored.comment.as_deref(), stored.marks.clone()),
            (comment, vec![mark.to_string()])
        );
        if i % 3 == 0 {
            // A correction: the first annotation no longer counts.
            let fix = NewAnnotation {
                supersedes: Some(a.id),
                ..new_annotation(e, "bob", None, &["reviewed"])
            };
            store
                .annotate(fix, about("annotation.create", "bob"))
                .await
                .unwrap();
            superseded.push(e.seq);
        }
        if i % 5 == 0 {
            store
                .pin(
                    NewPin {
                        id: Uuid::now_v7(),
                        incident: incident.id,
                        entry: e.event.id,
                        author: "alice".into(),
                        written_at: base_time(),
                    },
                    about("incident.pin", "alice"),
                )
                .await
                .unwrap();
        }
    }
    assert!(!superseded.is_empty());
    let all = all_in_seq_order(&*store).await;
    let notes = store
        .entry_notes(all.iter().map(|e| e.seq).collect())
        .await
        .unwrap();
    let empty = EntryNotes::default();
    let noted = |e: &StoredEvent| {
        let n = notes.get(&e.seq).unwrap_or(&empty);
        vigil_core::Notes::of(&n.annotations, &n.incidents)
    };
    for text in [
        "mark:suspicious",
        "mark:reviewed,false-positive",
        "-has:mark",
        "has:comment",
        "has:comment section:finance",
        "chargeback",
        "\"review 4411\"",
        "\"4411 vu\"",
        "joueur -has:comment",
        "incident:1",
        &format!("incident:{}", incident.id),
        "-incident:1 mark:reviewed",
    ] {
        let q: Query = text.parse().unwrap();
        let mut want: Vec<_> = all
            .iter()
            .filter(|e| q.matches_noted(&e.event, &noted(e), &Utc))
            .cloned()
            .collect();
        newest_first(&mut want);
        let got = page_through(&*store, &q, Order::Newest, 9).await;
        assert_eq!(ids(&got), ids(&want), "query {text:?}");
        let timeline = store
            .timeline(&TimelineRequest {
                query: q.clone(),
                tz: utc(),
                buckets: 10,
            })
            .await
            .unwrap();
        let counted: u64 = timeline.buckets.iter().map(|b| b.count).sum();
        assert_eq!(counted, want.len() as u64, "timeline of {text:?}");
    }
    let facets = store
        .facets(&FacetRequest {
            query: Query::all(),
            tz: utc(),
            field: FacetField::Mark,
            limit: 10,
        })
        .await
        .unwrap();
    let mut counts = BTreeMap::<String, u64>::new();
    for e in &all {
        for m in noted(e).marks {
            *counts.entry(m).or_default() += 1;
        }
    }
    let got: BTreeMap<String, u64> = facets
        .values
        .into_iter()
        .map(|v| (v.value, v.count))
        .collect();
    assert_eq!(got, counts, "mark facet");
    let e = &data[superseded[0] as usize - 1];
    let thread = store.annotations(e.event.id).await.unwrap();
    assert_eq!(
        thread.len(),
        2,
        "a correction keeps what it corrects in the thread"
    );
    assert_eq!(thread[1].supersedes, Some(thread[0].id));
}

/// An annotation is stored once per id however often it is sent, with the journal entry that
/// tells of it, under the chain; bad ones store nothing.
pub async fn annotations_are_written_once_with_their_journal_entry(store: Arc<dyn Store>) {
    let data = load(&*store, &dataset(10, 12), 10).await;
    let head = data.len() as u64;
    let text = "« Geste commercial » — ok 👍\n=SUM(A1) \"quoted\" مرحبا";
    let a = new_annotation(
        &data[3],
        "alice",
        Some(text),
        &["player-request", "reviewed"],
    );
    let mut first = None;
    for attempt in 0..5 {
        let (stored, written) = store
            .annotate(a.clone(), about("annotation.create", "alice"))
            .await
            .unwrap();
        assert_eq!(
            written,
            if attempt == 0 {
                Written::Created
            } else {
                Written::Replayed
            }
        );
        assert_eq!(stored.comment.as_deref(), Some(text), "byte-exact");
        assert_eq!(stored.journal_seq, head + 1);
        assert_eq!(*first.get_or_insert(stored.clone()), stored);
    }
    assert_eq!(store.annotations(data[3].event.id).await.unwrap().len(), 1);
    assert_eq!(
        store.head().await.unwrap().unwrap().0,
        head + 1,
        "one journal entry"
    );
    let journal = store.scan(head + 1, 1).await.unwrap();
    assert_eq!(journal[0].event.action, "annotation.create");
    // The same id with other content is refused.
    let other = NewAnnotation {
        comment: Some("changed".into()),
        ..a.clone()
    };
    assert!(matches!(
        store
            .annotate(other, about("annotation.create", "alice"))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    // Bad ones store nothing.
    let unknown_mark = new_annotation(&data[1], "alice", None, &["nope"]);
    match store
        .annotate(unknown_mark, about("annotation.create", "alice"))
        .await
    {
        Err(StoreError::Invalid(m)) => {
            assert!(m.contains("\"nope\"") && m.contains("suspicious"), "{m}")
        }
        other => panic!("{other:?}"),
    }
    let mut missing = new_annotation(&data[1], "alice", Some("x"), &[]);
    missing.entry = Uuid::now_v7();
    assert!(matches!(
        store
            .annotate(missing, about("annotation.create", "alice"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    let wrong_fix = NewAnnotation {
        supersedes: Some(a.id),
        ..new_annotation(&data[1], "alice", Some("x"), &[])
    };
    assert!(matches!(
        store
            .annotate(wrong_fix, about("annotation.create", "alice"))
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.head().await.unwrap().unwrap().0,
        head + 1,
        "nothing written"
    );
    let all = all_in_seq_order(&*store).await;
    let mut v = Verifier::default();
    for e in &all {
        v.check(e).expect("the chain verifies");
    }
    // The catalog.
    let keys: Vec<String> = store
        .marks()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys,
        [
            "player-request",
            "reviewed",
            "suspicious",
            "false-positive",
            "escalated"
        ]
    );
    assert!(matches!(
        store
            .change_mark(
                MarkChange::Remove("reviewed".into()),
                about("mark.delete", "root")
            )
            .await,
        Err(StoreError::Conflict { .. })
    ));
    store
        .change_mark(
            MarkChange::Remove("escalated".into()),
            about("mark.delete", "root"),
        )
        .await
        .unwrap();
    store
        .change_mark(
            MarkChange::Add(Mark {
                key: "kyc".into(),
                label_fr: "KYC".into(),
                label_en: "KYC".into(),
                colour: "#123456".into(),
            }),
            about("mark.create", "root"),
        )
        .await
        .unwrap();
    let keys: Vec<String> = store
        .marks()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys,
        [
            "player-request",
            "reviewed",
            "suspicious",
            "false-positive",
            "kyc"
        ]
    );
    assert_eq!(store.head().await.unwrap().unwrap().0, head + 3);
    // Incidents: numbered, pinned once per entry, closed by a note.
    let new = NewIncident {
        id: Uuid::now_v7(),
        title: "Ring".into(),
        description: Some("d".into()),
        author: "alice".into(),
        written_at: base_time(),
    };
    let (i, w) = store
        .open_incident(new.clone(), about("incident.create", "alice"))
        .await
        .unwrap();
    assert_eq!(
        (i.number, w, i.status),
        (1, Written::Created, IncidentStatus::Open)
    );
    assert_eq!(
        store
            .open_incident(new, about("incident.create", "alice"))
            .await
            .unwrap()
            .1,
        Written::Replayed
    );
    let pin = |id| NewPin {
        id,
        incident: i.id,
        entry: data[2].event.id,
        author: "alice".into(),
        written_at: base_time(),
    };
    let (p, w) = store
        .pin(pin(Uuid::now_v7()), about("incident.pin", "alice"))
        .await
        .unwrap();
    assert_eq!(w, Written::Created);
    let (again, w) = store
        .pin(pin(Uuid::now_v7()), about("incident.pin", "alice"))
        .await
        .unwrap();
    assert_eq!(
        (again.id, w),
        (p.id, Written::Replayed),
        "an entry is pinned once"
    );
    let note = NewIncidentNote {
        id: Uuid::now_v7(),
        incident: i.id,
        author: "bob".into(),
        written_at: base_time(),
        text: Some("done".into()),
        status: Some(IncidentStatus::Closed),
    };
    store
        .add_incident_note(note, about("incident.note", "bob"))
        .await
        .unwrap();
    let i = store.incident(IncidentKey::Number(1)).await.unwrap();
    assert_eq!((i.status, i.entries), (IncidentStatus::Closed, 1));
    assert_eq!(store.pins(i.id).await.unwrap().len(), 1);
    assert_eq!(
        store.incident_notes(i.id).await.unwrap()[0].text.as_deref(),
        Some("done")
    );
    assert!(matches!(
        store.incident(IncidentKey::Number(2)).await,
        Err(StoreError::NotFound(_))
    ));
    let notes = store
        .entry_notes(vec![data[2].seq, data[3].seq])
        .await
        .unwrap();
    assert_eq!(notes[&data[2].seq].incidents, vec![i.to_ref()]);
    assert_eq!(notes[&data[3].seq].annotations, vec![first.unwrap()]);
}
