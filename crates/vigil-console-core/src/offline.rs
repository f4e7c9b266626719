//! Answers from the entries the console holds, for when the store cannot be reached: which of
//! them match a query (by the same query language, over what their annotations amount to), and
//! their timeline and facets, cut and counted the way the store cuts and counts them.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};
use vigil_api::{BucketPlan, FacetField, FacetValue, Facets, Order, Timeline};
use vigil_core::{AnnotationSummary, Query, Severity, StoredEvent};

/// An entry the console holds, with what a query sees of its annotations (waiting ones
/// included).
pub trait Held {
    /// The entry.
    fn stored(&self) -> &StoredEvent;
    /// What its annotations and incidents amount to.
    fn summary(&self) -> &AnnotationSummary;
}

impl Held for (StoredEvent, AnnotationSummary) {
    fn stored(&self) -> &StoredEvent {
        &self.0
    }
    fn summary(&self) -> &AnnotationSummary {
        &self.1
    }
}

/// The entries that match `query` (dates without an offset read in `tz`), by `occurred_at`
/// then `seq`, newest or oldest first.
pub fn matching<T: Held>(
    entries: impl IntoIterator<Item = T>,
    query: &Query,
    tz: &FixedOffset,
    order: Order,
) -> Vec<T> {
    let mut hits: Vec<T> = entries
        .into_iter()
        .filter(|e| query.matches_annotated(&e.stored().event, e.summary(), tz))
        .collect();
    hits.sort_by_key(|e| (e.stored().event.occurred_at, e.stored().seq));
    if order == Order::Newest {
        hits.reverse();
    }
    hits
}

/// The histogram of `hits` (the matches, oldest first), its range from the query's
/// `after:`/`before:`/`on:` or else from the matches (the last day before `now` when there are
/// none): its bucket counts add up to the matches.
pub fn timeline<T: Held>(
    hits: &[T],
    query: &Query,
    tz: FixedOffset,
    buckets: u32,
    now: DateTime<Utc>,
) -> Timeline {
    let bounds = query.bounds(&tz);
    let micros = |e: &T| e.stored().event.occurred_at.timestamp_micros();
    let from = bounds
        .from
        .map(|t| t.timestamp_micros())
        .or(hits.first().map(micros))
        .unwrap_or_else(|| now.timestamp_micros() - 86_400_000_000);
    let to = bounds
        .to
        .map(|t| t.timestamp_micros())
        .or(hits.last().map(|e| micros(e) + 1))
        .unwrap_or_else(|| now.timestamp_micros());
    let plan = BucketPlan::new(from, to.max(from + 1), buckets, tz);
    let mut counts = vec![(0u64, 0u64); plan.count];
    for e in hits {
        if let Some(i) = plan.index(micros(e)) {
            counts[i].0 += 1;
            if e.stored().event.severity == Severity::Critical {
                counts[i].1 += 1;
            }
        }
    }
    plan.timeline(&counts)
}

/// The `limit` most frequent values of `field` among `hits`, most frequent first, ties by value;
/// a mark counts once per entry that has it.
pub fn facets<T: Held>(hits: &[T], field: FacetField, limit: usize) -> Facets {
    let mut counts: HashMap<String, u64> = HashMap::new();
    for e in hits {
        let values: Vec<String> = match field {
            FacetField::Mark => e.summary().marks.clone(),
            f => f.value_of(&e.stored().event).into_iter().collect(),
        };
        for v in values {
            *counts.entry(v).or_default() += 1;
        }
    }
    let mut values: Vec<FacetValue> = counts
        .into_iter()
        .map(|(value, count)| FacetValue { value, count })
        .collect();
    values.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    values.truncate(limit.max(1));
    Facets {
        field,
        values,
        freshness: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        seq: u64,
        at: &str,
        section: &str,
        severity: &str,
        marks: &[&str],
    ) -> (StoredEvent, AnnotationSummary) {
        let stored: StoredEvent = serde_json::from_value(serde_json::json!({
            "seq": seq, "received_at": at, "hash": "00",
            "id": uuid::Uuid::now_v7(), "occurred_at": at,
            "actor": {"id": "k.morel"}, "action": "bonus.grant", "kind": "change",
            "section": section, "severity": severity, "outcome": "success",
        }))
        .unwrap();
        let summary = AnnotationSummary {
            marks: marks.iter().map(|m| m.to_string()).collect(),
            ..Default::default()
        };
        (stored, summary)
    }

    #[test]
    fn matches_follow_the_query_language_and_its_annotations_and_come_in_order() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let held = vec![
            entry(
                1,
                "2026-11-20T08:00:00Z",
                "bonuses",
                "critical",
                &["suspicious"],
            ),
            entry(2, "2026-11-20T09:00:00Z", "finance", "info", &[]),
            entry(3, "2026-11-20T07:00:00Z", "bonuses", "info", &["reviewed"]),
        ];
        let q: Query = "section:bonuses".parse().unwrap();
        let newest: Vec<u64> = matching(held.clone(), &q, &utc, Order::Newest)
            .iter()
            .map(|e| e.0.seq)
            .collect();
        assert_eq!(newest, [1, 3]);
        let q: Query = "mark:suspicious".parse().unwrap();
        assert_eq!(matching(held.clone(), &q, &utc, Order::Oldest).len(), 1);

        let all = matching(held, &Query::default(), &utc, Order::Oldest);
        let t = timeline(&all, &Query::default(), utc, 60, Utc::now());
        assert_eq!(t.buckets.iter().map(|b| b.count).sum::<u64>(), 3);
        assert_eq!(t.buckets.iter().map(|b| b.critical).sum::<u64>(), 1);
        let f = facets(&all, FacetField::Section, 10);
        assert_eq!(
            f.values,
            [
                FacetValue {
                    value: "bonuses".into(),
                    count: 2
                },
                FacetValue {
                    value: "finance".into(),
                    count: 1
                }
            ]
        );
        assert_eq!(facets(&all, FacetField::Mark, 10).values.len(), 2);
    }
}
