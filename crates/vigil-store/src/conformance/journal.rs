//! The journal part: appends under the chain, duplicates and conflicts, values byte-exact,
//! and every way of reading (search, keys and entries, timeline, facets) against the query
//! language's reference evaluation.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use chrono::{Duration, Utc};
use serde_json::json;
use uuid::Uuid;
use vigil_core::chain::Verifier;
use vigil_core::{Query, Severity, StoredEvent};

use super::*;
use crate::{utc, FacetField, FacetRequest, StoreError, TimelineRequest};
/// Seq is 1..=n, the chain verifies and head is the last entry.
pub async fn appends_with_gap_free_seq_and_a_valid_chain<S: JournalStore + ?Sized>(store: Arc<S>) {
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
    for past_the_head in [26, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
        assert!(
            store.scan(past_the_head, 10).await.unwrap().is_empty(),
            "nothing lies at or after seq {past_the_head}"
        );
    }
}

/// A re-sent id is a duplicate with the original seq and hash, within and across batches.
pub async fn duplicates_are_reported_not_stored<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn a_conflicting_id_stores_nothing_of_its_batch<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn values_come_back_byte_exact<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn unknown_ids_are_not_found<S: JournalStore + ?Sized>(store: Arc<S>) {
    assert!(matches!(
        store.event(Uuid::now_v7()).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Every query returns exactly the entries the reference evaluation picks, in order, across pages.
pub async fn search_agrees_with_the_query_language<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn keys_and_entries_agree_with_search<S: JournalStore + ?Sized>(store: Arc<S>) {
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

    // `visit` hands over the same entries, each with its place, whatever order they are read in:
    // close together and scattered, out of order, one asked twice.
    for seqs in [
        vec![all[9].seq, all[7].seq, all[8].seq, all[8].seq],
        vec![all[250].seq, all[2].seq, all[7].seq],
        all.iter().rev().map(|e| e.seq).collect(),
    ] {
        let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
        store.visit(seqs.clone(), seen.clone()).await.unwrap();
        let mut seen = std::mem::take(&mut seen.lock().unwrap().0);
        seen.sort();
        let want: Vec<(usize, String)> = seqs
            .iter()
            .enumerate()
            .map(|(pos, seq)| {
                let e = all.iter().find(|e| e.seq == *seq).unwrap();
                (pos, format!("{:?}", e.view(&e.view_parts())))
            })
            .collect();
        assert_eq!(seen, want, "visit of {} entries", seqs.len());
    }
    let seen = Arc::new(std::sync::Mutex::new(Seen::default()));
    assert!(matches!(
        store.visit(vec![all[0].seq, 999_999], seen).await,
        Err(StoreError::NotFound(_))
    ));
}

/// What a visit was handed: each entry's place and its view, as text.
#[derive(Default)]
struct Seen(Vec<(usize, String)>);

impl crate::Visit for Seen {
    fn entry(&mut self, pos: usize, entry: &vigil_core::EntryView<'_>) -> Result<(), StoreError> {
        self.0.push((pos, format!("{entry:?}")));
        Ok(())
    }
}

/// Bucket counts add up to the matches, each in the bucket its time falls in.
pub async fn timeline_counts_every_match_once<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn facets_count_like_the_query_language<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn pages_are_stable_under_concurrent_appends<S: JournalStore + ?Sized>(store: Arc<S>) {
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
pub async fn concurrent_appends_lose_and_duplicate_nothing<S: JournalStore + ?Sized>(
    store: Arc<S>,
) {
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

/// The Merkle tree follows the journal in batches of every size (across the 256-entry subtrees a
/// backend keeps): roots agree with the tree computed from the chain hashes, proofs verify,
/// sizes beyond the journal are refused, checkpoints are kept once per size.
#[allow(clippy::single_range_in_vec_init)] // a batch proof of one run of entries is meant
pub async fn the_tree_follows_the_journal_and_checkpoints_are_kept<S: JournalStore + ?Sized>(
    store: Arc<S>,
) {
    use vigil_core::merkle;
    assert_eq!(store.tree_root(0).await.unwrap(), merkle::empty_root());
    let data = dataset(700, 9);
    // Batches that end inside, on and across the edges of 256-leaf subtrees.
    let mut at = 0;
    for n in [1, 254, 1, 1, 300, 143] {
        store.append(data[at..at + n].to_vec()).await.unwrap();
        at += n;
    }
    assert_eq!(at, 700);
    let leaves: Vec<merkle::Hash> = all_in_seq_order(&*store)
        .await
        .iter()
        .map(|e| {
            let mut h = [0u8; 32];
            hex::decode_to_slice(&e.hash, &mut h).unwrap();
            merkle::leaf(&h)
        })
        .collect();
    for size in [1u64, 2, 255, 256, 257, 511, 512, 513, 700] {
        let root = merkle::root_of(&leaves[..size as usize]);
        assert_eq!(store.tree_root(size).await.unwrap(), root, "root of {size}");
        for seq in [1, size / 2 + 1, size] {
            let proof = store.inclusion_proof(seq, size).await.unwrap();
            merkle::verify_inclusion(&leaves[seq as usize - 1], seq - 1, size, &proof, &root)
                .unwrap_or_else(|e| panic!("entry {seq} in the tree of {size}: {e}"));
        }
        for from in [1u64, 255, 256, 300] {
            if from <= size {
                let proof = store.consistency_proof(from, size).await.unwrap();
                let old = merkle::root_of(&leaves[..from as usize]);
                merkle::verify_consistency(from, size, &old, &root, &proof)
                    .unwrap_or_else(|e| panic!("from {from} to {size}: {e}"));
            }
        }
    }
    // Batch proofs (an export's): every entry, runs across kept subtrees, scattered entries,
    // the right edge of a tree that is not whole.
    for (size, seqs) in [
        (700u64, vec![1..701]),
        (700, vec![1..2, 256..258, 600..700]),
        (513, vec![3..4, 200..450, 513..514]),
        (
            700,
            (1..700).step_by(7).map(|s| s..s + 1).collect::<Vec<_>>(),
        ),
        (257, vec![257..258]),
    ] {
        let root = merkle::root_of(&leaves[..size as usize]);
        let proof = store.batch_proof(seqs.clone(), size).await.unwrap();
        let given: Vec<(u64, merkle::Hash)> = seqs
            .iter()
            .flat_map(|r| r.clone())
            .map(|seq| (seq - 1, leaves[seq as usize - 1]))
            .collect();
        merkle::verify_batch(&given, size, &proof, &root)
            .unwrap_or_else(|e| panic!("{seqs:?} in the tree of {size}: {e}"));
    }
    for refused in [
        store.batch_proof(vec![1..2], 701).await,
        store.batch_proof(vec![0..2], 10).await,
        store.batch_proof(vec![5..12], 10).await,
        store.batch_proof(vec![5..6, 3..4], 10).await,
        store.batch_proof(vec![5..5], 10).await,
    ] {
        assert!(
            matches!(refused, Err(StoreError::Invalid { .. })),
            "{refused:?}"
        );
    }
    // The right edge of a tree, continued with the next chain hashes, gives the bigger root.
    let hashes = store.chain_hashes(301, 1000).await.unwrap();
    assert_eq!(hashes.len(), 400);
    assert_eq!(merkle::leaf(&hashes[0]), leaves[300]);
    let mut f = merkle::Frontier::from_edge(300, store.tree_frontier(300).await.unwrap()).unwrap();
    for h in &hashes {
        f.push(merkle::leaf(h), |_, _, _| {});
    }
    assert_eq!(f.root(), merkle::root_of(&leaves));
    assert!(store.chain_hashes(701, 10).await.unwrap().is_empty());
    assert!(store.chain_hashes(u64::MAX, 10).await.unwrap().is_empty());
    assert!(matches!(
        store.tree_frontier(701).await,
        Err(StoreError::Invalid { .. })
    ));
    let kept = store
        .tree_nodes(vec![(0, 8), (256, 8), (0, 9), (512, 8)])
        .await
        .unwrap();
    assert_eq!(kept[0], Some(merkle::root_of(&leaves[..256])));
    assert_eq!(kept[1], Some(merkle::root_of(&leaves[256..512])));
    assert_eq!(kept[2], Some(merkle::root_of(&leaves[..512])));
    assert_eq!(
        kept[3], None,
        "the subtree of entries 513 to 768 is not whole yet"
    );
    for refused in [
        store.tree_root(701).await.map(|_| ()),
        store.inclusion_proof(0, 10).await.map(|_| ()),
        store.inclusion_proof(11, 10).await.map(|_| ()),
        store.inclusion_proof(1, 701).await.map(|_| ()),
        store.consistency_proof(0, 10).await.map(|_| ()),
        store.consistency_proof(11, 10).await.map(|_| ()),
        store.consistency_proof(1, u64::MAX).await.map(|_| ()),
    ] {
        assert!(
            matches!(refused, Err(StoreError::Invalid { .. })),
            "{refused:?}"
        );
    }

    assert_eq!(store.latest_checkpoint().await.unwrap(), None);
    let (key, _) = vigil_core::checkpoint::SigningKey::generate().unwrap();
    let at = Utc::now();
    for size in [256u64, 700, 512] {
        let cp = key.sign(size, store.tree_root(size).await.unwrap(), at);
        store.add_checkpoint(cp, Vec::new()).await.unwrap();
    }
    let again = key.sign(700, [0; 32], at);
    assert!(matches!(
        store.add_checkpoint(again, vec!["archive".into()]).await,
        Err(StoreError::Conflict { .. })
    ));
    let kept = store.checkpoints(0, 10).await.unwrap();
    assert_eq!(
        kept.iter().map(|c| c.size).collect::<Vec<_>>(),
        [256, 512, 700]
    );
    for cp in &kept {
        key.public().verify(cp).unwrap();
    }
    assert_eq!(store.checkpoints(256, 1).await.unwrap()[0].size, 512);
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.size, 700);
    assert_eq!(latest.root, merkle::root_of(&leaves));
}
