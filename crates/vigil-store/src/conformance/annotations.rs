//! The annotations part: annotations, marks and incidents written once with their journal
//! entry, and searched like the query language over what they amount to.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;

use vigil_core::chain::Verifier;

use super::*;
use crate::{
    utc, AnnotationStore, EntryAnnotations, FacetField, FacetRequest, IncidentKey, IncidentStatus,
    Mark, MarkChange, NewAnnotation, NewIncident, NewIncidentNote, NewPin, StoreError,
    TimelineRequest, Written,
};
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
/// pins exactly as the query language does over [`vigil_core::AnnotationSummary`], including
/// for entries annotated long after they were indexed.
pub async fn annotations_are_searched_like_the_query_language<
    S: JournalStore + AnnotationStore + ?Sized,
>(
    store: Arc<S>,
) {
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
        .entry_annotations(all.iter().map(|e| e.seq).collect())
        .await
        .unwrap();
    let empty = EntryAnnotations::default();
    let noted = |e: &StoredEvent| {
        let n = notes.get(&e.seq).unwrap_or(&empty);
        vigil_core::AnnotationSummary::of(&n.annotations, &n.incidents)
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
            .filter(|e| q.matches_annotated(&e.event, &noted(e), &Utc))
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
pub async fn annotations_are_written_once_with_their_journal_entry<
    S: JournalStore + AnnotationStore + ?Sized,
>(
    store: Arc<S>,
) {
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
        Err(StoreError::Invalid {
            message,
            field: Some("marks"),
        }) => {
            assert!(
                message.contains("\"nope\"") && message.contains("suspicious"),
                "{message}"
            )
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
        Err(StoreError::Invalid {
            field: Some("supersedes"),
            ..
        })
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
        .entry_annotations(vec![data[2].seq, data[3].seq])
        .await
        .unwrap();
    assert_eq!(notes[&data[2].seq].incidents, vec![i.to_ref()]);
    let first = first.unwrap();
    assert_eq!(notes[&data[3].seq].annotations, vec![first.clone()]);
    // Every annotation, in the order of the journal entries that record them.
    let all = store.annotations_after(0, 100).await.unwrap();
    assert!(all.contains(&first));
    assert!(all.windows(2).all(|w| w[0].journal_seq < w[1].journal_seq));
    let after = store
        .annotations_after(first.journal_seq, 100)
        .await
        .unwrap();
    assert!(after.iter().all(|a| a.journal_seq > first.journal_seq));
    assert_eq!(store.annotations_after(0, 1).await.unwrap().len(), 1);
    assert!(store
        .annotations_after(u64::MAX, 10)
        .await
        .unwrap()
        .is_empty());
}
