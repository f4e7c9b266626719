//! The alerting part: stored channels and rules, and the outbox's scheduling, claims and
//! retries.

use std::sync::Arc;

use chrono::Duration;

use super::*;
use crate::{AlertStore, StoreError};

/// What the evaluator passes as the journal's record of queued deliveries.
fn queued_record() -> Event {
    vigil_event(crate::QUEUED_ACTION)
}

/// Channels and rules are kept by name, per kind, byte-exact.
pub async fn alert_channels_and_rules_by_name<S: JournalStore + AlertStore + ?Sized>(
    store: Arc<S>,
) {
    use crate::{AlertItem, AlertItemChange::*, AlertItemKind};
    let now = base_time();
    let mut written = Vec::new();
    let mut change = async |c: crate::AlertItemChange| {
        let e = vigil_event("alert.change");
        let r = store.change_alert_item(c, e.clone()).await;
        if r.is_ok() {
            written.push(e.id);
        }
        r
    };
    let item = |name: &str| AlertItem {
        name: name.into(),
        spec: format!(r#"{{"type":"slack","name":"{name}","émoji":"🔔"}}"#),
        created_at: now,
        created_by: "alice".into(),
    };
    for kind in [AlertItemKind::Channel, AlertItemKind::Rule] {
        assert!(store.alert_items(kind).await.unwrap().is_empty());
        change(Add(kind, item("b"))).await.unwrap();
        change(Add(kind, item("a"))).await.unwrap();
        assert!(matches!(
            change(Add(kind, item("a"))).await,
            Err(StoreError::Conflict { .. })
        ));
        assert_eq!(
            store.alert_items(kind).await.unwrap(),
            [item("a"), item("b")]
        );
        change(Remove(kind, "a".into())).await.unwrap();
        assert!(matches!(
            change(Remove(kind, "a".into())).await,
            Err(StoreError::NotFound(_))
        ));
    }
    assert_eq!(
        journal_ids(&*store).await,
        written,
        "one entry per change made, none per refusal"
    );
    // Channels and rules are separate: each kind kept its own "b".
    assert_eq!(
        store.alert_items(AlertItemKind::Channel).await.unwrap(),
        [item("b")]
    );
}

/// The outbox: immediate and windowed scheduling, claims, retries, release, test messages.
pub async fn alert_outbox_schedules_claims_and_finishes<S: JournalStore + AlertStore + ?Sized>(
    store: Arc<S>,
) {
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
    store
        .record_matches(4, vec![], now, queued_record())
        .await
        .unwrap();
    assert_eq!(store.alert_cursor().await.unwrap(), Some(4));

    // Two matches of an immediate rule, three of a throttled one in the same stretch.
    let batch = vec![
        hit("each", 5),
        hit("throttled", 5),
        hit("each", 6),
        hit("throttled", 6),
        hit("throttled", 7),
    ];
    let before = all_in_seq_order(&*store).await.len();
    store
        .record_matches(7, batch, now, queued_record())
        .await
        .unwrap();
    assert_eq!(store.alert_cursor().await.unwrap(), Some(7));
    // The journal records what was queued, in the same transaction: one entry, each match in
    // it, and each delivery names it.
    let journal = all_in_seq_order(&*store).await;
    assert_eq!(
        journal.len(),
        before + 1,
        "one entry records the stretch's matches"
    );
    let record = journal.last().unwrap();
    assert_eq!(record.event.action, crate::QUEUED_ACTION);
    let details = record.event.details.clone().unwrap();
    assert_eq!(details["through"], json!(7));
    let queued: Vec<crate::QueuedDelivery> =
        serde_json::from_value(details["deliveries"].clone()).unwrap();
    let told: Vec<_> = queued
        .iter()
        .map(|q| (q.rule.as_str(), q.kind.as_str(), q.entry, q.joined))
        .collect();
    assert_eq!(
        told,
        [
            ("each", "event", 5, false),
            ("throttled", "event", 5, false),
            ("each", "event", 6, false),
            ("throttled", "digest", 6, false),
            ("throttled", "digest", 7, true),
        ]
    );
    assert_eq!(
        queued[3].delivery, queued[4].delivery,
        "7 joined 6's digest"
    );
    for q in &queued {
        let d = store.delivery(q.delivery).await.unwrap();
        assert_eq!(
            (d.rule.as_str(), d.journal_seq),
            (q.rule.as_str(), record.seq)
        );
    }
    // The cursor never goes back; a stretch without a match records nothing.
    store
        .record_matches(6, vec![], now, queued_record())
        .await
        .unwrap();
    assert_eq!(store.alert_cursor().await.unwrap(), Some(7));
    assert_eq!(all_in_seq_order(&*store).await.len(), before + 1);

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
        .record_matches(
            8,
            vec![hit("throttled", 8)],
            now + Duration::minutes(1),
            queued_record(),
        )
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
            queued_record(),
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
    let before = journal_ids(&*store).await;
    assert_eq!(
        store.delivery(c).await.unwrap().status,
        DeliveryStatus::Failed
    );
    let put_back = vigil_event("alert.delivery.retry");
    let retried = store
        .retry_delivery(c, now + window, put_back.clone())
        .await
        .unwrap();
    assert_eq!(
        (retried.status, retried.next_at, retried.due_at),
        (DeliveryStatus::Pending, now + window, now + window)
    );
    assert_eq!(store.delivery(c).await.unwrap(), retried);
    assert!(matches!(
        store
            .retry_delivery(a, now, vigil_event("alert.delivery.retry"))
            .await,
        Err(StoreError::Conflict { .. })
    ));
    assert!(matches!(
        store
            .retry_delivery(999_999, now, vigil_event("alert.delivery.retry"))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.delivery(999_999).await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(
        journal_ids(&*store).await,
        [before, vec![put_back.id]].concat(),
        "the retry is journaled with it, the refusals are not"
    );

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
        store
            .retry_delivery(stuck.id, now, vigil_event("alert.delivery.retry"))
            .await,
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
pub async fn alert_digests_are_bounded_and_channels_share_claims<
    S: JournalStore + AlertStore + ?Sized,
>(
    store: Arc<S>,
) {
    use crate::{AlertMatch, DIGEST_KEPT};
    let now = base_time();
    let window = Duration::minutes(5);
    let hit = |channel: &str, seq: u64, window: Option<Duration>| AlertMatch {
        rule: "r".into(),
        channel: channel.into(),
        seq,
        window,
    };
    store
        .record_matches(0, vec![], now, queued_record())
        .await
        .unwrap();
    let flood: Vec<_> = (1..=40).map(|seq| hit("ops", seq, Some(window))).collect();
    store
        .record_matches(40, flood, now, queued_record())
        .await
        .unwrap();
    // Due, not claimed yet: a late match still joins it.
    store
        .record_matches(
            41,
            vec![hit("ops", 41, Some(window))],
            now + window,
            queued_record(),
        )
        .await
        .unwrap();
    let claimed = store.claim_deliveries(now + window, 10, 10).await.unwrap();
    assert_eq!(claimed.len(), 2, "the first match at once, then one digest");
    assert_eq!((claimed[0].seqs.clone(), claimed[0].matches), (vec![1], 1));
    let digest = &claimed[1];
    assert_eq!(digest.matches, 40);
    assert_eq!(digest.seqs, (2..2 + DIGEST_KEPT as u64).collect::<Vec<_>>());
    // 40 matches and then one: two records, the late match joining the digest the first made.
    let records: Vec<_> = all_in_seq_order(&*store)
        .await
        .into_iter()
        .filter(|e| e.event.action == crate::QUEUED_ACTION)
        .collect();
    assert_eq!(records.len(), 2);
    let late: Vec<crate::QueuedDelivery> =
        serde_json::from_value(records[1].event.details.as_ref().unwrap()["deliveries"].clone())
            .unwrap();
    assert_eq!((late[0].delivery, late[0].joined), (digest.id, true));
    assert_eq!(
        digest.journal_seq, records[0].seq,
        "made by the first record"
    );

    // A slow channel with many due, a healthy one with two: claims leave room for both.
    let slow: Vec<_> = (100..120)
        .map(|seq| hit("slow", seq, None))
        .chain([hit("fast", 200, None), hit("fast", 201, None)])
        .collect();
    store
        .record_matches(201, slow, now, queued_record())
        .await
        .unwrap();
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

    // More matches than one record holds: several records, each with an id of its own, each
    // delivery naming the one that lists it.
    let many: Vec<_> = (1000..1000 + 2 * crate::QUEUED_PER_RECORD as u64 + 1)
        .map(|seq| hit("bulk", seq, None))
        .collect();
    store
        .record_matches(5000, many, now, queued_record())
        .await
        .unwrap();
    let records: Vec<_> = all_in_seq_order(&*store)
        .await
        .into_iter()
        .filter(|e| e.event.action == crate::QUEUED_ACTION)
        .skip(3)
        .collect();
    assert_eq!(records.len(), 3);
    let ids: std::collections::HashSet<_> = records.iter().map(|r| r.event.id).collect();
    assert_eq!(ids.len(), 3);
    let mut listed = 0;
    for r in &records {
        let queued: Vec<crate::QueuedDelivery> =
            serde_json::from_value(r.event.details.as_ref().unwrap()["deliveries"].clone())
                .unwrap();
        listed += queued.len();
        for q in [&queued[0], queued.last().unwrap()] {
            assert_eq!(store.delivery(q.delivery).await.unwrap().journal_seq, r.seq);
        }
    }
    assert_eq!(listed, 2 * crate::QUEUED_PER_RECORD + 1);
}
