//! The search index's threads run below normal priority. In a file of its own: it reads the
//! priority of every thread of the process, so no other index may be open meanwhile.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use vigil_core::{AnnotationSummary, StoredEvent};
use vigil_index::{Journal, SearchIndex};
use vigil_store::StoreError;

/// A journal of demo entries in memory.
struct Memory(Vec<StoredEvent>);

impl Journal for Memory {
    fn read(&self, from: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError> {
        let from = (from.max(1) - 1) as usize;
        Ok(self.0.iter().skip(from).take(limit).cloned().collect())
    }

    fn head(&self) -> Result<u64, StoreError> {
        Ok(self.0.len() as u64)
    }

    fn summaries(&self, _: &[u64]) -> Result<HashMap<u64, AnnotationSummary>, StoreError> {
        Ok(HashMap::new())
    }

    fn touched(&self, _: u64, _: u64, _: u64) -> Result<Vec<StoredEvent>, StoreError> {
        Ok(Vec::new())
    }
}

fn journal_of(n: usize) -> Memory {
    let until = Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap();
    let events = vigil_demo::Demo::new(3, until, 40, n).take(n);
    Memory(
        events
            .into_iter()
            .enumerate()
            .map(|(i, event)| StoredEvent {
                salt: None,
                seq: i as u64 + 1,
                received_at: until,
                hash: format!("{:064x}", i + 1),
                event,
            })
            .collect(),
    )
}

/// Each thread of this process with this name prefix, and its nice value.
#[cfg(target_os = "linux")]
fn nice_of_threads(prefix: &str) -> Vec<(String, i32)> {
    let mut found = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        let (open, close) = (stat.find('(').unwrap(), stat.rfind(')').unwrap());
        let name = &stat[open + 1..close];
        if name.starts_with(prefix) {
            let nice = stat[close + 2..]
                .split(' ')
                .nth(16)
                .unwrap()
                .parse()
                .unwrap();
            found.push((name.to_owned(), nice));
        }
    }
    found
}

/// The follower and tantivy's indexing and merging threads run below normal priority, so that
/// on a busy machine ingest and searches get the cores first; the caller's thread is unchanged.
#[test]
#[cfg(target_os = "linux")]
fn following_the_journal_runs_below_normal_priority() {
    let own = nice_of_threads("")
        .into_iter()
        .map(|(_, n)| n)
        .min()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = Arc::new(journal_of(3_000));
    let index = SearchIndex::open(&dir.path().join("index"), journal, 3_000).unwrap();
    let started = Instant::now();
    while index.indexed() < 3_000 {
        assert!(started.elapsed() < Duration::from_secs(60), "not indexed");
        std::thread::sleep(Duration::from_millis(20));
    }
    let background: Vec<_> = ["vigil-index", "merge_thread", "thrd-tantivy"]
        .iter()
        .flat_map(|p| nice_of_threads(p))
        .collect();
    assert!(
        background.iter().any(|(n, _)| n == "vigil-index"),
        "{background:?}"
    );
    assert!(
        background
            .iter()
            .any(|(n, _)| n.starts_with("merge_thread")),
        "{background:?}"
    );
    for (name, nice) in &background {
        assert_eq!(*nice, (own + 10).min(19), "{name}");
    }
    assert_eq!(
        nice_of_threads("")
            .into_iter()
            .map(|(_, n)| n)
            .min()
            .unwrap(),
        own
    );
}
