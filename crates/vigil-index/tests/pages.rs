//! Pages from the index agree with a plain sort of every match, in both orders, through every
//! cursor, over many segments, entries at the same instant, entries stored out of time order,
//! and documents written again (an annotated entry is deleted and added anew).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use vigil_core::{AnnotationSummary, Query, StoredEvent};
use vigil_index::{Journal, SearchIndex};
use vigil_store::{Cursor, Order, StoreError};

/// A journal in memory whose visible end the test moves.
struct Memory {
    entries: Vec<StoredEvent>,
    visible: AtomicU64,
    /// How far `read` goes (a slow journal: the index cannot get further).
    readable: AtomicU64,
    /// Seqs whose documents must be written again when the entry at the key is indexed.
    touches: Mutex<HashMap<u64, Vec<u64>>>,
}

impl Journal for Memory {
    fn read(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let end = self
            .visible
            .load(Ordering::Acquire)
            .min(self.readable.load(Ordering::Acquire)) as usize;
        let from = (from.max(1) - 1) as usize;
        Ok(self.entries[from.min(end)..end]
            .iter()
            .take(limit)
            .cloned()
            .collect())
    }

    fn head(&self) -> Result<u64, StoreError> {
        Ok(self.visible.load(Ordering::Acquire))
    }

    fn summaries(&self, seqs: &[u64]) -> Result<HashMap<u64, AnnotationSummary>, StoreError> {
        let touched = self.touches.lock().unwrap();
        let marked: std::collections::HashSet<u64> = touched.values().flatten().copied().collect();
        Ok(seqs
            .iter()
            .filter(|s| marked.contains(s))
            .map(|s| {
                (
                    *s,
                    AnnotationSummary {
                        marks: vec!["reviewed".into()],
                        ..AnnotationSummary::default()
                    },
                )
            })
            .collect())
    }

    fn touched(&self, from: u64, to: u64, before: u64) -> Result<Vec<StoredEvent>, StoreError> {
        let touches = self.touches.lock().unwrap();
        Ok((from..=to)
            .filter_map(|s| touches.get(&s))
            .flatten()
            .filter(|s| **s < before)
            .map(|s| self.entries[*s as usize - 1].clone())
            .collect())
    }
}

/// 24,000 demo entries (or `n`) over 40 days; every seventh shares the instant of the one before, and
/// every 500th was stored out of order (a backfill, a month older than its neighbours).
fn journal() -> Memory {
    journal_of(24_000)
}

fn journal_of(n: usize) -> Memory {
    let until = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let mut events = vigil_demo::Demo::new(3, until, 40, n).take(n);
    for i in 1..events.len() {
        if i % 7 == 0 {
            events[i].occurred_at = events[i - 1].occurred_at;
        }
        if i % 500 == 0 {
            events[i].occurred_at -= chrono::Duration::days(30);
        }
    }
    let entries = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| StoredEvent {
            salt: None,
            seq: i as u64 + 1,
            received_at: until,
            hash: format!("{:064x}", i + 1),
            event,
        })
        .collect();
    Memory {
        entries,
        visible: AtomicU64::new(0),
        readable: AtomicU64::new(u64::MAX),
        touches: Mutex::new(HashMap::new()),
    }
}

fn wait_until_indexed(index: &SearchIndex, seq: u64) {
    let started = Instant::now();
    while index.indexed() < seq {
        // Generous: the other tests of this file search at full speed on the same two cores.
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the index did not reach {seq}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Every page of `q` in `order`, `limit` at a time, through the cursors.
fn page_through(
    index: &SearchIndex,
    all: &Memory,
    q: &Query,
    order: Order,
    limit: usize,
) -> Vec<u64> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let mut page = index
            .search(
                q,
                &chrono::FixedOffset::east_opt(0).unwrap(),
                cursor,
                order,
                limit + 1,
            )
            .unwrap();
        let more = page.len() > limit;
        page.truncate(limit);
        let Some(&last) = page.last() else {
            return out;
        };
        out.extend(&page);
        if !more {
            return out;
        }
        let e = &all.entries[last as usize - 1];
        cursor = Some(Cursor {
            occurred_at: e.event.occurred_at.timestamp_micros(),
            seq: e.seq,
        });
    }
}

/// The seqs are the same, or where they first differ.
fn same(got: &[u64], want: &[u64], what: &str) {
    if let Some(i) = (0..got.len().max(want.len())).find(|i| got.get(*i) != want.get(*i)) {
        panic!(
            "{what}: {} entries, {} wanted; first difference at {i}: {:?} instead of {:?}",
            got.len(),
            want.len(),
            got.get(i),
            want.get(i)
        );
    }
}

#[test]
fn pages_agree_with_a_sort_of_every_match() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(journal());
    let index = SearchIndex::open(&dir.path().join("index"), journal.clone(), 0).unwrap();
    // Appended in steps, so that the index holds many segments; some steps annotate entries
    // indexed before (their documents are deleted and written anew).
    for step in 1..=12u64 {
        let head = step * 2_000;
        if step % 3 == 0 {
            journal
                .touches
                .lock()
                .unwrap()
                .insert(head, (1..head).step_by(97).collect());
        }
        journal.visible.store(head, Ordering::Release);
        index.advance(head);
        wait_until_indexed(&index, head);
    }
    assert!(
        std::fs::read_dir(dir.path().join("index")).unwrap().count() > 10,
        "the test needs several segments"
    );
    for text in [
        "",
        "section:finance",
        "action:bonus.*",
        "ip:198.51.100.0/24",
        "-section:finance kind:change",
        "mark:reviewed",
        "after:2026-11-01",
        "before:2026-10-25 severity:info",
        "after:2026-10-20 before:2026-11-02 -outcome:success",
        "on:2026-11-03,2026-10-12",
        "ip:192.0.2.66",
        "actor:nobody-at-all",
    ] {
        let q: Query = text.parse().unwrap();
        let mut want: Vec<(i64, u64)> = journal
            .entries
            .iter()
            .filter(|e| {
                let marked = text == "mark:reviewed";
                if marked {
                    return journal
                        .touches
                        .lock()
                        .unwrap()
                        .values()
                        .flatten()
                        .any(|s| *s == e.seq);
                }
                q.matches(&e.event, &Utc)
            })
            .map(|e| (e.event.occurred_at.timestamp_micros(), e.seq))
            .collect();
        want.sort_unstable_by(|a, b| b.cmp(a));
        let newest: Vec<u64> = want.iter().map(|k| k.1).collect();
        let oldest: Vec<u64> = newest.iter().rev().copied().collect();
        for limit in [1, 7, 50, 1000] {
            if limit == 1 && newest.len() > 300 {
                continue;
            }
            same(
                &page_through(&index, &journal, &q, Order::Newest, limit),
                &newest,
                &format!("{text:?} newest first, {limit} a page"),
            );
            same(
                &page_through(&index, &journal, &q, Order::Oldest, limit),
                &oldest,
                &format!("{text:?} oldest first, {limit} a page"),
            );
        }
    }
}

/// An index opened far behind its journal says it is rebuilding, how far it got and where the
/// journal ends; searches while it is more than 100,000 behind are refused with the progress,
/// and once it reaches the head it is no longer rebuilding.
#[test]
fn an_index_built_from_far_behind_says_how_far_it_got() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(journal_of(130_000));
    journal.visible.store(130_000, Ordering::Release);
    journal.readable.store(20_000, Ordering::Release);
    // At normal priority: the other tests of this file search at full speed meanwhile, and a
    // background index would get little of the cores while they do.
    let index = SearchIndex::open_with(
        &dir.path().join("index"),
        journal.clone(),
        130_000,
        vigil_index::IndexOptions {
            nice: 0,
            ..Default::default()
        },
    )
    .unwrap();
    wait_until_indexed(&index, 20_000);
    assert_eq!(
        (index.indexed(), index.journal_head(), index.rebuilding()),
        (20_000, 130_000, true)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let refused = runtime.block_on(index.wait_for(130_000)).unwrap_err();
    assert_eq!(
        refused.to_string(),
        "the search index is being rebuilt from the journal (20000 of 130000 entries indexed); try again shortly"
    );
    // Within 100,000 of the head: answered from what is indexed, still rebuilding.
    journal.readable.store(40_000, Ordering::Release);
    index.advance(130_000);
    wait_until_indexed(&index, 40_000);
    runtime.block_on(index.wait_for(130_000)).unwrap();
    assert!(index.rebuilding());
    journal.readable.store(u64::MAX, Ordering::Release);
    index.advance(130_000);
    wait_until_indexed(&index, 130_000);
    assert_eq!(
        (index.indexed(), index.journal_head(), index.rebuilding()),
        (130_000, 130_000, false)
    );
}

/// A reader asking right after an append waits (up to a second) for the index to hold it; one
/// asking while the index has been behind for more than a second without catching up (it is
/// following sustained ingest) answers at once from the last commit, and waits again once the
/// index has caught up.
#[test]
fn readers_wait_for_a_fresh_append_but_not_behind_sustained_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(journal_of(3_000));
    journal.visible.store(1_000, Ordering::Release);
    let index = SearchIndex::open(&dir.path().join("index"), journal.clone(), 1_000).unwrap();
    wait_until_indexed(&index, 1_000);
    // Appended, but the index cannot read it yet: it stays behind.
    journal.readable.store(1_000, Ordering::Release);
    journal.visible.store(2_000, Ordering::Release);
    index.advance(2_000);
    // On a paused clock, how long (in the runtime's time) a reader of seq 2,000 waits.
    let waited = || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap();
        runtime.block_on(async {
            let started = tokio::time::Instant::now();
            index.wait_for(2_000).await.unwrap();
            started.elapsed()
        })
    };
    assert!(
        waited() >= Duration::from_secs(1),
        "a fresh append is waited for"
    );
    std::thread::sleep(Duration::from_millis(1_200));
    assert_eq!(
        waited(),
        Duration::ZERO,
        "behind for over a second: no wait"
    );
    assert_eq!(index.indexed(), 1_000);
    // Caught up, then a new append (not readable yet): readers wait for it again.
    journal.readable.store(2_000, Ordering::Release);
    wait_until_indexed(&index, 2_000);
    journal.visible.store(3_000, Ordering::Release);
    index.advance(3_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    let waited = runtime.block_on(async {
        let started = tokio::time::Instant::now();
        index.wait_for(3_000).await.unwrap();
        started.elapsed()
    });
    assert!(
        waited >= Duration::from_secs(1),
        "caught up, then appended: waited for"
    );
}
