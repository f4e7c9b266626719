//! The live tail (`/v1/stream`) and dates read in the caller's zone (`tz=`).

use std::time::Duration;

use chrono::FixedOffset;
use futures::StreamExt;
use serde_json::json;
use vigil_client::{ClientError, SearchOptions, Tailed};

use crate::support::{event_json, Start, TestServer};

fn at(id: u32, occurred_at: &str, section: &str) -> serde_json::Value {
    let mut e = event_json(id);
    e["occurred_at"] = json!(occurred_at);
    e["section"] = json!(section);
    e
}

#[tokio::test]
async fn dates_without_offset_are_read_in_the_callers_zone() {
    let s = TestServer::start().await;
    // 23:30 UTC on the 19th is already the 20th in Paris (+01:00).
    s.ingester
        .ingest(&[
            at(1, "2026-11-19T23:30:00Z", "finance"),
            at(2, "2026-11-20T12:00:00Z", "finance"),
        ])
        .await
        .unwrap();
    let paris = s.reader.with_tz(FixedOffset::east_opt(3600).unwrap());
    let utc_day = s
        .reader
        .search(&SearchOptions::query("on:2026-11-20"))
        .await
        .unwrap();
    let paris_day = paris
        .search(&SearchOptions::query("on:2026-11-20"))
        .await
        .unwrap();
    assert_eq!(
        utc_day.events.len(),
        1,
        "in UTC the 23:30 entry is on the 19th"
    );
    assert_eq!(
        paris_day.events.len(),
        2,
        "in Paris both entries are on the 20th"
    );
    let t = paris
        .timeline("after:2026-11-20T00:00 section:finance", Some(10))
        .await
        .unwrap();
    assert_eq!(t.buckets.iter().map(|b| b.count).sum::<u64>(), 2);
    let f = paris
        .facets("before:2026-11-20T00:45", "section", None)
        .await
        .unwrap();
    assert_eq!(
        f.values[0].count, 1,
        "only the 23:30 UTC entry is before 00:45 Paris"
    );

    let bad = s
        .raw(reqwest::Method::GET, "/v1/events?tz=Mars/Olympus")
        .bearer_auth(token(&s).await)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_parameter");
    assert!(body["error"]["message"].as_str().unwrap().contains("tz"));
}

/// The next entry of a tail (after its `ready`), within seconds; `None` when the tail ended.
async fn next_entry(
    tail: &mut (impl futures::Stream<Item = Result<Tailed, ClientError>> + Unpin),
) -> Option<vigil_core::StoredEvent> {
    loop {
        let item = tokio::time::timeout(Duration::from_secs(5), tail.next())
            .await
            .expect("the tail answers within seconds")?;
        match item.unwrap() {
            Tailed::Ready { .. } => continue,
            Tailed::Entry(e) => return Some(e.entry),
        }
    }
}

async fn token(s: &TestServer) -> String {
    s.anonymous
        .login("alice", crate::support::PASSWORD)
        .await
        .unwrap()
        .token
}

#[tokio::test]
async fn the_live_tail_sends_new_matching_entries_in_order() {
    let s = TestServer::start().await;
    s.ingester
        .ingest(&[at(1, "2026-11-20T10:00:00Z", "finance")])
        .await
        .unwrap();
    let mut tail = Box::pin(s.reader.stream("section:finance", None).await.unwrap());
    // Only what arrives after the tail starts, and only what matches.
    let batch: Vec<_> = (2..8)
        .map(|n| {
            at(
                n,
                "2026-11-20T11:00:00Z",
                if n % 2 == 0 { "finance" } else { "bonuses" },
            )
        })
        .collect();
    let answer = s.ingester.ingest(&batch).await.unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(next_entry(&mut tail).await.expect("the stream is open"));
    }
    let expected: Vec<u64> = answer.results.iter().step_by(2).map(|r| r.seq).collect();
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), expected);
    assert!(got.iter().all(|e| e.event.section == "finance"));

    // Resuming after the first one sends the other two again, and nothing before.
    let mut resumed = Box::pin(
        s.reader
            .stream("section:finance", Some(expected[0]))
            .await
            .unwrap(),
    );
    let ready = tokio::time::timeout(Duration::from_secs(5), resumed.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        ready,
        Tailed::Ready { after: expected[0] },
        "ready names where it starts"
    );
    for seq in &expected[1..] {
        assert_eq!(next_entry(&mut resumed).await.unwrap().seq, *seq);
    }
}

#[tokio::test]
async fn the_live_tail_sees_appends_from_another_process() {
    let s = TestServer::start().await;
    let mut tail = Box::pin(s.reader.stream("", None).await.unwrap());
    // Append through a second handle on the same file, as `vigil demo` beside a server does.
    let other = vigil_server::open_journal(&s.state.config).unwrap();
    let event = vigil_core::validate::event_from_json(
        &at(9, "2026-11-20T10:00:00Z", "finance"),
        uuid::Uuid::now_v7,
    )
    .unwrap();
    let appended = other.store.append(vec![event]).await.unwrap();
    let e = next_entry(&mut tail)
        .await
        .expect("polled within a few seconds");
    assert_eq!(e.seq, appended[0].seq);
}

#[tokio::test]
async fn the_live_tail_refuses_bad_queries_and_anonymous_callers() {
    let s = TestServer::start().await;
    match s.reader.stream("severity:", None).await {
        Err(ClientError::Api {
            status,
            code,
            column,
            ..
        }) => {
            assert_eq!((status, code.as_str()), (400, "bad_query"));
            assert!(column.is_some());
        }
        Err(other) => panic!("expected a bad query, got {other:?}"),
        Ok(_) => panic!("expected a bad query, got a stream"),
    }
    match s.anonymous.stream("", None).await {
        Err(e) => assert_eq!(e.status(), Some(401)),
        Ok(_) => panic!("an anonymous tail must be refused"),
    }
}

/// A `Last-Event-ID` that is no seq, or one past the largest seq the journal can hold, is
/// refused; the largest is a tail that starts after everything there can be.
#[tokio::test]
async fn the_live_tail_refuses_a_last_event_id_that_is_no_seq() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    for bad in ["abc", "-1", "9223372036854775808", "18446744073709551615"] {
        let answer = s
            .raw(reqwest::Method::GET, "/v1/stream")
            .bearer_auth(&token)
            .header("Last-Event-ID", bad)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "Last-Event-ID: {bad}");
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(
            body["error"]["code"], "bad_parameter",
            "Last-Event-ID: {bad}"
        );
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Last-Event-ID: expected a seq"));
    }
    let mut tail = Box::pin(s.reader.stream("", Some(i64::MAX as u64)).await.unwrap());
    let ready = tokio::time::timeout(Duration::from_secs(5), tail.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(
        ready,
        Tailed::Ready {
            after: i64::MAX as u64
        }
    );
}

#[tokio::test]
async fn a_tail_ends_when_its_session_is_revoked_or_expires() {
    let s = TestServer::start().await;
    let mut tail = Box::pin(s.reader.stream("", None).await.unwrap());
    assert!(matches!(
        tail.next().await,
        Some(Ok(Tailed::Ready { after })) if after == s.setup
    ));
    s.reader.logout().await.unwrap();
    let end = tokio::time::timeout(Duration::from_secs(5), tail.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "the revoked session's tail ends: {end:?}"
    );

    let fresh = s.anonymous.with_token(&token(&s).await);
    let mut tail = Box::pin(fresh.stream("", None).await.unwrap());
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), tail.next())
            .await
            .unwrap(),
        Some(Ok(Tailed::Ready { .. }))
    ));
    s.advance(chrono::Duration::hours(13));
    let end = tokio::time::timeout(Duration::from_secs(5), tail.next()).await;
    assert!(
        matches!(end, Ok(None)),
        "the expired session's tail ends: {end:?}"
    );
}

#[tokio::test]
async fn shutting_down_ends_open_tails() {
    let s = TestServer::start().await;
    let mut tail = Box::pin(s.reader.stream("", None).await.unwrap());
    assert!(matches!(
        tokio::time::timeout(Duration::from_secs(5), tail.next())
            .await
            .unwrap(),
        Some(Ok(Tailed::Ready { .. }))
    ));
    let finished = s.stop_and_wait();
    tokio::time::timeout(Duration::from_secs(5), finished)
        .await
        .expect("the server stops although a tail was open");
    let end = tokio::time::timeout(Duration::from_secs(5), tail.next()).await;
    assert!(matches!(end, Ok(None) | Ok(Some(Err(_)))), "{end:?}");
}
