//! The conformance suite: what every backend must do, checked the same way on each, part by
//! part like the store itself ([`journal`], [`accounts`], [`annotations`], [`alerts`]).
//!
//! A backend's integration tests call [`conformance_tests!`](crate::conformance_tests) with an
//! async constructor returning `(Arc<S>, guard)` for a store `S` of all four parts; a backend
//! that has only some parts so far calls the macro of each
//! ([`journal_conformance_tests!`](crate::journal_conformance_tests), …). Each check becomes one
//! test. Searches, timelines and facets are checked against [`vigil_core::Query::matches`] over
//! the same data, so a backend agrees with the language's reference semantics.

pub mod accounts;
pub mod alerts;
pub mod annotations;
pub mod journal;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;
use uuid::Uuid;
use vigil_core::validate::event_from_json;
use vigil_core::{Event, Query, StoredEvent};

use crate::{utc, Cursor, JournalStore, Order, Search};

/// Expands to one `#[tokio::test]` per conformance check of every part, each on a fresh store
/// from `$make`.
#[macro_export]
macro_rules! conformance_tests {
    ($make:path) => {
        $crate::journal_conformance_tests!($make);
        $crate::account_conformance_tests!($make);
        $crate::annotation_conformance_tests!($make);
        $crate::alert_conformance_tests!($make);
    };
    (@each $make:path; $part:ident; $($name:ident),+) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let (store, _guard) = $make().await;
            $crate::conformance::$part::$name(store).await;
        }
    )+};
}

/// The checks of the journal part ([`JournalStore`]).
#[macro_export]
macro_rules! journal_conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make; journal;
            appends_with_gap_free_seq_and_a_valid_chain, duplicates_are_reported_not_stored,
            a_conflicting_id_stores_nothing_of_its_batch, values_come_back_byte_exact, unknown_ids_are_not_found,
            search_agrees_with_the_query_language, keys_and_entries_agree_with_search, timeline_counts_every_match_once,
            facets_count_like_the_query_language, pages_are_stable_under_concurrent_appends,
            concurrent_appends_lose_and_duplicate_nothing, the_tree_follows_the_journal_and_checkpoints_are_kept);
    };
}

/// The checks of the accounts part ([`AccountStore`](crate::AccountStore), with the journal).
#[macro_export]
macro_rules! account_conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make; accounts;
            accounts_sessions_and_keys, roles_and_users_change_with_their_journal_entry);
    };
}

/// The checks of the annotations part ([`AnnotationStore`](crate::AnnotationStore), with the
/// journal).
#[macro_export]
macro_rules! annotation_conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make; annotations;
            annotations_are_searched_like_the_query_language, annotations_are_written_once_with_their_journal_entry);
    };
}

/// The checks of the alerting part ([`AlertStore`](crate::AlertStore), with the journal).
#[macro_export]
macro_rules! alert_conformance_tests {
    ($make:path) => {
        $crate::conformance_tests!(@each $make; alerts;
            alert_channels_and_rules_by_name, alert_outbox_schedules_claims_and_finishes,
            alert_digests_are_bounded_and_channels_share_claims);
    };
}

/// A small deterministic generator (no dependency, stable across versions).
pub(crate) struct Lcg(u64);

impl Lcg {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next() as usize % items.len()]
    }
}

pub(crate) fn base_time() -> DateTime<Utc> {
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
            // Impersonation, business actions, requests and numbering (schema 10), on some.
            if i % 7 == 3 {
                v["on_behalf_of"] = json!({"type": "player", "id": format!("{}", i % 5), "name": "Zoë Borg"});
            } else if i % 11 == 4 {
                v["on_behalf_of"] = json!({"id": "m.dupont"});
            }
            if i % 5 == 1 {
                v["correlation_id"] = json!(format!("wd-{}", i % 4));
                v["request_id"] = json!(format!("req-{}", i % 6));
            }
            if i % 3 == 2 {
                v["source_seq"] = json!(i);
                if i % 2 == 0 {
                    v["stream"] = json!("night 🌙");
                }
            }
            let mut e = event(v);
            // Most entries came through a key; some from before senders were recorded.
            if i % 5 != 0 {
                e.sender = Some(r.pick(&["backoffice", "payments", "clé \"ünï\" 🎰"]).to_string());
            }
            e
        })
        .collect()
}

/// Appends in batches of `size`.
pub(crate) async fn load<S: JournalStore + ?Sized>(
    store: &S,
    events: &[Event],
    size: usize,
) -> Vec<StoredEvent> {
    for chunk in events.chunks(size) {
        store.append(chunk.to_vec()).await.expect("append");
    }
    all_in_seq_order(store).await
}

pub(crate) async fn all_in_seq_order<S: JournalStore + ?Sized>(store: &S) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    loop {
        let batch = store.scan(out.len() as u64 + 1, 1000).await.expect("scan");
        if batch.is_empty() {
            return out;
        }
        out.extend(batch);
    }
}

pub(crate) fn newest_first(events: &mut [StoredEvent]) {
    events.sort_by_key(|e| std::cmp::Reverse((e.event.occurred_at, e.seq)));
}

/// An entry of section `vigil` with this action.
pub(crate) fn vigil_event(action: &str) -> Event {
    event(json!({
        "occurred_at": base_time().to_rfc3339(), "actor": {"id": "root", "kind": "staff"},
        "action": action, "kind": "rights", "section": "vigil",
    }))
}

pub(crate) async fn journal_ids<S: JournalStore + ?Sized>(store: &S) -> Vec<Uuid> {
    all_in_seq_order(store)
        .await
        .into_iter()
        .map(|e| e.event.id)
        .collect()
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
    "sender:backoffice",
    "sender:payments,\"clé \\\"ünï\\\" 🎰\" section:finance",
    "-sender:backoffice",
    "backoffice",
    "actor:m.dupont has:behalf",
    "actor:3",
    "behalf:3,m.dupont",
    "-has:behalf section:finance",
    "has:behalf",
    "borg",
    "correlation:wd-1",
    "correlation:wd-1,wd-2 -request:req-1",
    "request:req-3",
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

pub(crate) fn scoped(scopes: &[&str], text: &str) -> Query {
    let mut scope = vigil_core::rights::Scope::Nothing;
    for s in scopes {
        scope.add(&s.parse().unwrap());
    }
    scope.narrow(text.parse().unwrap())
}

pub(crate) fn ids(events: &[StoredEvent]) -> Vec<u64> {
    events.iter().map(|e| e.seq).collect()
}

pub(crate) async fn page_through<S: JournalStore + ?Sized>(
    store: &S,
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
