//! Completeness: senders that number their events and the gaps the store reports, impersonated
//! actions, and the events of one request or one business action, through the API.

use crate::support::{event_json, Start, TestServer};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use vigil_client::{ClientError, SearchOptions};
use vigil_server::service::senders;

fn numbered(n: u64, stream: Option<&str>) -> Value {
    let mut e = event_json(n as u32);
    e["source_seq"] = json!(n);
    if let Some(s) = stream {
        e["stream"] = json!(s);
    }
    e
}

async fn send(s: &TestServer, events: &[Value]) {
    s.ingester.ingest(events).await.unwrap();
}

/// The stream `stream` of sender `backoffice`, as GET /v1/senders reports it.
async fn stream(s: &TestServer, stream: Option<&str>) -> vigil_api::StreamReport {
    let all = s.reader.senders().await.unwrap();
    let sender = all
        .iter()
        .find(|x| x.name == "backoffice")
        .expect("backoffice is listed");
    sender
        .streams
        .iter()
        .find(|t| t.stream.as_deref() == stream)
        .unwrap_or_else(|| panic!("stream {stream:?} in {sender:?}"))
        .clone()
}

/// Tells the journal what is due now (as the server's watch does every few seconds), and
/// counts the `sender.gap` and `sender.gap.filled` entries it holds.
async fn gap_entries(s: &TestServer) -> (usize, usize) {
    senders::tell(&s.state).await.unwrap();
    (
        told(s, "sender.gap").await.len(),
        told(s, "sender.gap.filled").await.len(),
    )
}

/// Watches the senders' silences now (as the server does every few seconds), and counts the
/// `sender.silent` and `sender.resumed` entries.
async fn silence_entries(s: &TestServer) -> (usize, usize) {
    senders::watch_silences(&s.state).await.unwrap();
    (
        told(s, "sender.silent").await.len(),
        told(s, "sender.resumed").await.len(),
    )
}

fn ranges(t: &vigil_api::StreamReport) -> Vec<(u64, u64)> {
    t.gaps.iter().map(|g| (g.first, g.last)).collect()
}

/// The entries of the journal with this action, as (reason, details).
async fn told(s: &TestServer, action: &str) -> Vec<(String, Value)> {
    s.journal()
        .await
        .into_iter()
        .filter(|e| e.event.action == action)
        .map(|e| {
            (
                e.event.reason.clone().unwrap_or_default(),
                Value::Object(e.event.details.clone().unwrap_or_default()),
            )
        })
        .collect()
}

#[tokio::test]
async fn gaps_open_close_out_of_order_and_are_journaled_once_past_the_grace() {
    let s = TestServer::start().await;
    // 1, 2, 3, then 7: 4–6 missing. A second stream counts on its own.
    send(&s, &[1, 2, 3, 7].map(|n| numbered(n, None))).await;
    send(
        &s,
        &[numbered(10, Some("node-2")), numbered(12, Some("node-2"))],
    )
    .await;
    let t = stream(&s, None).await;
    assert_eq!((t.low, t.high, t.events, t.missing), (1, 7, 4, 3));
    assert_eq!(ranges(&t), [(4, 6)]);
    assert_eq!(ranges(&stream(&s, Some("node-2")).await), [(11, 11)]);

    // A re-sent event (same id) is a duplicate; the same number under another id a repeat.
    let again = numbered(2, None);
    send(&s, std::slice::from_ref(&again)).await;
    send(&s, std::slice::from_ref(&again)).await;
    let t = stream(&s, None).await;
    assert_eq!((t.repeats, t.last_repeat, t.events), (1, Some(2), 5));

    // 5 arrives late: the gap splits in two.
    send(&s, &[numbered(5, None)]).await;
    assert_eq!(ranges(&stream(&s, None).await), [(4, 4), (6, 6)]);

    // Nothing is journaled within the grace period (numbers of concurrent requests arrive out
    // of order); past it, each open gap once, the oldest first. (The server's own watch runs
    // beside these calls: what counts is what the journal holds.)
    assert_eq!(gap_entries(&s).await, (0, 0));
    s.advance(chrono::Duration::seconds(61));
    assert_eq!(gap_entries(&s).await, (3, 0));
    assert_eq!(gap_entries(&s).await, (3, 0));
    let gaps = told(&s, "sender.gap").await;
    let reasons: Vec<&str> = gaps.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "backoffice: event 4 never arrived",
            "backoffice: event 6 never arrived",
            "backoffice, stream \"node-2\": event 11 never arrived",
        ]
    );
    assert_eq!(gaps[2].1["stream"], "node-2");
    assert_eq!(
        (gaps[2].1["first"].as_u64(), gaps[2].1["missing"].as_u64()),
        (Some(11), Some(1))
    );
    let t = stream(&s, None).await;
    assert!(t.gaps.iter().all(|g| g.reported_in.is_some()), "{t:?}");

    // Searchable: by action, by sender as target.
    let page = s
        .reader
        .search(&SearchOptions {
            q: "action:sender.gap target:sender/backoffice".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.events.len(), 3);
    assert!(page.events.iter().all(|e| e.entry.event.section == "vigil"));

    // 4 arrives: its gap closes, and the journal says so; 6 and 11 stay open.
    send(&s, &[numbered(4, None)]).await;
    assert_eq!(gap_entries(&s).await, (3, 1));
    let filled = told(&s, "sender.gap.filled").await;
    assert_eq!(filled.len(), 1);
    assert_eq!(filled[0].0, "backoffice: event 4 arrived late, all of them");
    assert_eq!(ranges(&stream(&s, None).await), [(6, 6)]);
    assert_eq!(gap_entries(&s).await, (3, 1));

    // A reported gap filled in part stays reported once; filled whole, it is told once.
    send(&s, &[numbered(20, Some("c")), numbered(30, Some("c"))]).await;
    s.advance(chrono::Duration::seconds(61));
    assert_eq!(gap_entries(&s).await, (4, 1));
    send(&s, &[numbered(25, Some("c"))]).await;
    assert_eq!(ranges(&stream(&s, Some("c")).await), [(21, 24), (26, 29)]);
    s.advance(chrono::Duration::seconds(61));
    assert_eq!(gap_entries(&s).await, (4, 1));
    let rest: Vec<Value> = (21..30)
        .filter(|n| *n != 25)
        .map(|n| numbered(n, Some("c")))
        .collect();
    send(&s, &rest).await;
    assert_eq!(gap_entries(&s).await, (4, 2));
    let filled = told(&s, "sender.gap.filled").await;
    assert_eq!(
        filled[1].0,
        "backoffice, stream \"c\": events 21–29 arrived late, all of them"
    );
    let c = stream(&s, Some("c")).await;
    assert_eq!((c.missing, c.events, c.repeats), (0, 11, 0));

    // Numbers below the first one received open a gap too (a sender's first batches raced).
    send(&s, &[numbered(100, Some("d")), numbered(97, Some("d"))]).await;
    assert_eq!(ranges(&stream(&s, Some("d")).await), [(98, 99)]);

    // The sender's totals.
    let all = s.reader.senders().await.unwrap();
    let b = all.iter().find(|x| x.name == "backoffice").unwrap();
    assert_eq!(b.events, 4 + 2 + 1 + 1 + 1 + 2 + 1 + 8 + 2);
    // A few minutes after they came: the rate counts nearly all of them.
    assert!(b.per_hour > 0 && b.per_hour <= b.events, "{b:?}");
    s.advance(chrono::Duration::hours(2));
    let all = s.reader.senders().await.unwrap();
    let b = all.iter().find(|x| x.name == "backoffice").unwrap();
    assert_eq!(b.per_hour, 0, "nothing came in the last hour");
    // The store's own entries are listed under `vigil`.
    assert!(all
        .iter()
        .any(|x| x.name == "vigil" && x.streams.is_empty()));
}

#[tokio::test]
async fn numbering_and_correlation_refuse_bad_input_precisely_and_store_nothing() {
    let s = TestServer::start().await;
    let before = s.journal().await.len();
    let cases = [
        (
            "source_seq",
            json!(-1),
            "events[1].source_seq: -1 must be 0 or more",
        ),
        (
            "source_seq",
            json!(2.5),
            "events[1].source_seq: 2.5 must be a whole number (no fraction or exponent)",
        ),
        (
            "source_seq",
            json!("7"),
            "events[1].source_seq: expected a whole number, got a string",
        ),
        (
            "source_seq",
            json!(u64::MAX),
            "events[1].source_seq: 18446744073709551615 is over the largest source_seq",
        ),
        (
            "correlation_id",
            json!("w".repeat(257)),
            "events[1].correlation_id: longer than 256 characters",
        ),
        (
            "on_behalf_of",
            json!({"id": ""}),
            "events[1].on_behalf_of.id: must not be empty",
        ),
        (
            "on_behalf_of",
            json!({"id": "1", "role": "x"}),
            "events[1].on_behalf_of.role: unknown field",
        ),
        (
            "stream",
            json!("night"),
            "events[1].stream: names the numbering of source_seq",
        ),
    ];
    for (field, value, want) in cases {
        let mut batch = vec![numbered(1, None), event_json(2)];
        batch[1][field] = value;
        match s.ingester.ingest(&batch).await {
            Err(ClientError::Api {
                status, message, ..
            }) => {
                assert_eq!(status, 400, "{field}: {message}");
                assert!(
                    message.starts_with(want),
                    "{field}: {message:?}, want {want:?}"
                );
            }
            other => panic!("{field}: expected a 400, got {other:?}"),
        }
    }
    assert_eq!(
        s.journal().await.len(),
        before,
        "nothing of a refused batch is stored"
    );
    assert!(
        s.reader
            .senders()
            .await
            .unwrap()
            .iter()
            .all(|x| x.name != "backoffice"),
        "a refused batch counts for nothing"
    );
}

#[tokio::test]
async fn only_readers_of_the_whole_journal_and_account_admins_see_the_senders() {
    let s = TestServer::start().await;
    send(&s, &[numbered(1, None), numbered(3, None)]).await;
    s.add_user("vera", &["viewer"]).await;
    s.add_user("kim", &["auditor"]).await;
    // A reader limited to one section.
    let r = s
        .reader
        .add_role(&vigil_api::NewRoleRequest {
            name: "bonus-reader".into(),
            rights: vec!["read".into()],
            scope: "section:bonuses".into(),
        })
        .await;
    r.unwrap();
    s.add_user("bo", &["bonus-reader"]).await;
    for (who, allowed) in [("vera", true), ("kim", true), ("bo", false)] {
        let got = s.sign_in(who).await.senders().await;
        match (allowed, got) {
            (true, Ok(list)) => assert!(list.iter().any(|x| x.name == "backoffice")),
            (
                false,
                Err(ClientError::Api {
                    status, message, ..
                }),
            ) => {
                assert_eq!(status, 403);
                assert!(message.contains("the whole journal"), "{message}");
            }
            (_, other) => panic!("{who}: {other:?}"),
        }
    }
    let with_key = s
        .raw(Method::GET, "/v1/senders")
        .bearer_auth(&s.key)
        .send()
        .await
        .unwrap();
    assert_eq!(with_key.status(), StatusCode::FORBIDDEN);
    let anonymous = s.raw(Method::GET, "/v1/senders").send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
}

/// Support staff acting as a player, an admin inside a merchant account: found by `actor:`
/// under either id, by `behalf:` and `has:behalf` only when impersonated; in facets, exports
/// and alert rules; the account's name masked like a target's.
#[tokio::test]
async fn impersonated_actions_are_found_by_every_path() {
    let s = TestServer::start().await;
    let mut acted = event_json(1);
    acted["actor"] =
        json!({"id": "s.vella", "name": "Sam Vella", "role": "support", "kind": "staff"});
    acted["on_behalf_of"] = json!({"type": "player", "id": "12345", "name": "Zoë \"ז\" Borg"});
    acted["reason"] = json!("=HYPERLINK(\"x\") player asked on chat");
    let mut merchant = event_json(2);
    merchant["actor"] = json!({"id": "root-admin"});
    merchant["on_behalf_of"] = json!({"id": "m-77"});
    let mut own = event_json(3);
    own["actor"] = json!({"id": "12345", "kind": "api"});
    let plain = event_json(4);
    send(
        &s,
        &[acted.clone(), merchant.clone(), own.clone(), plain.clone()],
    )
    .await;
    s.indexed().await;
    let ids = |page: &vigil_api::EventsPage| {
        let mut v: Vec<String> = page
            .events
            .iter()
            .map(|e| e.entry.event.id.to_string())
            .collect();
        v.sort();
        v
    };
    let want = |events: &[&Value]| {
        let mut v: Vec<String> = events
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        v.sort();
        v
    };
    let search = |q: &str| {
        let q = q.to_owned();
        let reader = s.reader.clone();
        async move {
            reader
                .search(&SearchOptions {
                    q: format!("{q} -section:vigil"),
                    ..Default::default()
                })
                .await
                .unwrap()
        }
    };
    assert_eq!(ids(&search("actor:12345").await), want(&[&acted, &own]));
    assert_eq!(ids(&search("actor:s.vella").await), want(&[&acted]));
    assert_eq!(ids(&search("behalf:12345").await), want(&[&acted]));
    assert_eq!(ids(&search("has:behalf").await), want(&[&acted, &merchant]));
    assert_eq!(ids(&search("-has:behalf").await), want(&[&own, &plain]));
    assert_eq!(
        ids(&search("behalf:m-77,12345").await),
        want(&[&acted, &merchant])
    );
    // The detail comes back byte-exact.
    let got = s
        .reader
        .event(acted["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    let p = got.entry.event.on_behalf_of.as_ref().unwrap();
    assert_eq!(
        (p.kind.as_deref(), p.id.as_str(), p.name.as_deref()),
        (Some("player"), "12345", Some("Zoë \"ז\" Borg"))
    );
    // The name is found by words for who may see it.
    assert_eq!(ids(&search("borg").await), want(&[&acted]));

    // Facets over the impersonated actions: who acts as others.
    let f = s.reader.facets("has:behalf", "actor", None).await.unwrap();
    let mut actors: Vec<(String, u64)> = f
        .values
        .iter()
        .map(|v| (v.value.clone(), v.count))
        .collect();
    actors.sort();
    assert_eq!(
        actors,
        [("root-admin".to_owned(), 1), ("s.vella".to_owned(), 1)]
    );

    // A masked reader sees the account's id, not its name, and cannot find it by the name.
    s.add_user("vera", &["viewer"]).await;
    let vera = s.sign_in("vera").await;
    let seen = vera
        .event(acted["id"].as_str().unwrap().parse().unwrap())
        .await
        .unwrap();
    let p = seen.entry.event.on_behalf_of.as_ref().unwrap();
    assert_eq!(
        (p.id.as_str(), p.name.as_deref()),
        ("12345", Some("[masked]"))
    );
    assert!(
        seen.masked.contains(&"on_behalf_of.name".to_owned()),
        "{:?}",
        seen.masked
    );
    let by_name = vera
        .search(&SearchOptions {
            q: "borg".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(by_name.events.is_empty());

    // Exports: its own columns in CSV, the object in NDJSON, byte-exact.
    let text = String::from_utf8(
        crate::export::download(&s.reader, "has:behalf", "csv")
            .await
            .0,
    )
    .unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let headers = rows.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    let vella = records
        .iter()
        .find(|r| &r[col("actor_id")] == "s.vella")
        .unwrap();
    assert_eq!(&vella[col("on_behalf_of_type")], "player");
    assert_eq!(&vella[col("on_behalf_of_id")], "12345");
    assert_eq!(&vella[col("on_behalf_of_name")], "Zoë \"ז\" Borg");
    let ndjson = crate::export::download(&s.reader, "behalf:12345", "ndjson")
        .await
        .0;
    let first: Value =
        serde_json::from_slice(ndjson.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(first["on_behalf_of"], acted["on_behalf_of"]);
    assert_eq!(first["reason"], acted["reason"]);
}

/// The events of one request and one business action come together by `request:` and
/// `correlation:`, and an alert rule matches impersonated balance changes.
#[tokio::test]
async fn one_request_and_one_action_come_together() {
    let s = TestServer::start().await;
    let step = |n: u32, action: &str, request: &str| {
        let mut e = event_json(n);
        e["action"] = json!(action);
        e["request_id"] = json!(request);
        e["correlation_id"] = json!("wd-2026-000417");
        e
    };
    let flow = vec![
        step(1, "withdrawal.request", "req-a"),
        step(2, "kyc.check", "req-b"),
        step(3, "limits.override", "req-b"),
        step(4, "withdrawal.approve", "req-c"),
        step(5, "payout.send", "req-d"),
    ];
    let mut other = event_json(6);
    other["request_id"] = json!("req-b-2");
    other["correlation_id"] = json!("wd-2026-000418");
    let mut batch = flow.clone();
    batch.push(other);
    send(&s, &batch).await;
    s.indexed().await;
    let count = |q: &str| {
        let q = q.to_owned();
        let reader = s.reader.clone();
        async move {
            reader
                .search(&SearchOptions {
                    q,
                    ..Default::default()
                })
                .await
                .unwrap()
                .events
                .len()
        }
    };
    assert_eq!(count("correlation:wd-2026-000417").await, 5);
    assert_eq!(count("request:req-b").await, 2);
    assert_eq!(count("correlation:wd-2026-000417 -request:req-b").await, 3);
    assert_eq!(count("correlation:wd-2026-000418,wd-2026-000417").await, 6);
    let t = s
        .reader
        .timeline("correlation:wd-2026-000417", Some(10))
        .await
        .unwrap();
    assert_eq!(t.buckets.iter().map(|b| b.count).sum::<u64>(), 5);
}

/// An alert rule for "any impersonated balance change": only such entries reach the channel,
/// and the message says whose account was used.
#[tokio::test]
async fn an_alert_rule_matches_impersonated_balance_changes() {
    let slack = crate::fakes::Fake::slack().await;
    let mut config = crate::alerts::alerts(vec![("ops", crate::alerts::slack(&slack))]);
    config.default_rule = false;
    config.rules.insert(
        "impersonated-money".into(),
        vigil_server::alerts::model::RuleSpec {
            q: "has:behalf action:player.balance.*".into(),
            channels: vec![],
            window_minutes: None,
        },
    );
    let s = TestServer::start_with(move |c| c.alerts = config).await;
    let mut acted = event_json(1);
    acted["actor"] = json!({"id": "s.vella", "role": "support"});
    acted["on_behalf_of"] = json!({"type": "player", "id": "12345", "name": "Zoë"});
    acted["correlation_id"] = json!("wd-1");
    let mut viewed = event_json(2);
    viewed["action"] = json!("player.view");
    viewed["kind"] = json!("access");
    viewed["on_behalf_of"] = json!({"type": "player", "id": "12345"});
    send(&s, &[event_json(3), acted.clone(), viewed]).await;
    let got = slack.wait_for(1, std::time::Duration::from_secs(20)).await;
    let text = got[0].json().to_string();
    assert!(text.contains("Acting as"), "{text}");
    assert!(text.contains("player 12345 (Zoë)"), "{text}");
    assert!(text.contains("wd-1"), "{text}");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        slack.got().len(),
        1,
        "only the impersonated balance change matched"
    );
}

/// Moves the server's clock on to the next 10:00 UTC, so that a test's minutes stay within
/// one clock hour (forward: the store's receipt times never go back).
fn at_ten(s: &TestServer) {
    let now = *s.now.lock().unwrap();
    let mut ten = now.date_naive().and_hms_opt(10, 0, 0).unwrap().and_utc();
    if ten <= now {
        ten += chrono::Duration::days(1);
    }
    *s.now.lock().unwrap() = ten;
}

/// `n` events through the ingest key of `client`.
async fn burst(client: &vigil_client::Client, n: u32) {
    let batch: Vec<Value> = (0..n).map(event_json).collect();
    client.ingest(&batch).await.unwrap();
}

#[tokio::test]
async fn a_regular_sender_that_falls_silent_is_reported_once_then_when_it_sends_again() {
    let slack = crate::fakes::Fake::slack().await;
    let alerts = crate::alerts::alerts(vec![("ops", crate::alerts::slack(&slack))]);
    // The store receives entries at the test's time: a week of history in a moment.
    let s = TestServer::builder()
        .user("alice", &["admin"])
        .store_clock()
        .configure(move |c| {
            c.alerts = alerts;
            c.senders.quiet.insert("payments".into(), 5);
            c.senders.quiet.insert("imports".into(), 0);
        })
        .start()
        .await;
    at_ten(&s);
    let payments = s
        .anonymous
        .with_token(&vigil_testkit::create_key(&s.state, "payments").await);
    let imports = s
        .anonymous
        .with_token(&vigil_testkit::create_key(&s.state, "imports").await);
    let sporadic = s
        .anonymous
        .with_token(&vigil_testkit::create_key(&s.state, "sporadic").await);
    // A week of backoffice at 10:00, 120 an hour; sporadic once; imports every day too.
    for day in 0..7 {
        burst(&s.ingester, 120).await;
        burst(&imports, 50).await;
        if day == 0 {
            burst(&sporadic, 10).await;
        }
        s.advance(chrono::Duration::days(1));
    }
    // Today, 10:00: all send, then nothing.
    burst(&s.ingester, 10).await;
    burst(&payments, 1).await;
    assert_eq!(silence_entries(&s).await, (0, 0));
    // Quiet for 6 minutes: payments passed its own limit of 5; backoffice (usually 2 a
    // minute) not yet its 15.
    s.advance(chrono::Duration::minutes(6));
    assert_eq!(silence_entries(&s).await, (1, 0));
    s.advance(chrono::Duration::minutes(10));
    assert_eq!(silence_entries(&s).await, (2, 0));
    assert_eq!(silence_entries(&s).await, (2, 0), "told once");
    let silent = told(&s, "sender.silent").await;
    let reasons: Vec<&str> = silent.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "payments has sent nothing for 6 minutes, its limit is 5 minutes",
            "backoffice has sent nothing for 16 minutes, usually 2 events/min at this hour",
        ]
    );
    assert_eq!(silent[1].1["usual_per_hour"], 120);
    // Never regular (sporadic) or never to be watched (imports): no report.
    assert!(!reasons
        .iter()
        .any(|r| r.starts_with("sporadic") || r.starts_with("imports")));
    let all = s.sign_in("alice").await.senders().await.unwrap();
    let b = all.iter().find(|x| x.name == "backoffice").unwrap();
    assert!(b.silent_in.is_some());

    // The built-in rule "senders" tells the channel.
    let got = slack.wait_for(1, std::time::Duration::from_secs(20)).await;
    assert!(
        got[0].json().to_string().contains("has sent nothing for"),
        "{:?}",
        got[0].json()
    );

    // Back two hours later, at an hour it is not regular at: reported once, and the report is
    // over.
    s.advance(chrono::Duration::hours(2));
    burst(&s.ingester, 1).await;
    assert_eq!(silence_entries(&s).await, (2, 1));
    assert_eq!(silence_entries(&s).await, (2, 1));
    let resumed = told(&s, "sender.resumed").await;
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].0, "backoffice sends again");
    let all = s.sign_in("alice").await.senders().await.unwrap();
    assert!(all
        .iter()
        .find(|x| x.name == "backoffice")
        .unwrap()
        .silent_in
        .is_none());
    // The silences and returns on a timeline.
    let t = s
        .sign_in("alice")
        .await
        .timeline("action:sender.silent,sender.resumed", Some(10))
        .await
        .unwrap();
    assert_eq!(t.buckets.iter().map(|b| b.count).sum::<u64>(), 3);
}

#[tokio::test]
async fn a_revoked_key_still_in_use_is_journaled_at_most_once_a_quarter_hour() {
    let s = TestServer::start().await;
    let old = vigil_testkit::create_key(&s.state, "old-crm").await;
    let login: Value = s
        .raw(Method::POST, "/v1/auth/login")
        .json(&json!({"name": "alice", "password": crate::support::PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let revoked = s
        .raw(Method::POST, "/v1/keys/old-crm/revoke")
        .bearer_auth(login["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
    let with_old = s.anonymous.with_token(&old);
    for _ in 0..3 {
        match with_old.ingest(&[event_json(1)]).await {
            Err(ClientError::Api {
                status, message, ..
            }) => {
                assert_eq!(status, 401);
                assert!(message.contains("was revoked"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    let used = told(&s, "sender.revoked_key").await;
    assert_eq!(used.len(), 1);
    assert_eq!(
        used[0].0,
        "ingest key \"old-crm\" was revoked but is still being used"
    );
    s.advance(chrono::Duration::minutes(16));
    assert!(with_old.ingest(&[event_json(2)]).await.is_err());
    assert_eq!(told(&s, "sender.revoked_key").await.len(), 2);
    // An unknown key names no sender: nothing is journaled for it.
    let stranger = s
        .anonymous
        .with_token("vik_0000000000000000000000000000000000000000000");
    assert!(stranger.ingest(&[event_json(3)]).await.is_err());
    assert_eq!(told(&s, "sender.revoked_key").await.len(), 2);
}

/// A sender that skips every other number opens a gap per event: the journal tells of a
/// stream's many due gaps in one entry, and of their filling in one more.
#[tokio::test]
async fn many_gaps_of_one_stream_are_told_in_one_entry() {
    let s = TestServer::start().await;
    let odd: Vec<Value> = (0..31).map(|i| numbered(2 * i + 1, Some("odd"))).collect();
    send(&s, &odd).await;
    let t = stream(&s, Some("odd")).await;
    assert_eq!((t.gaps.len(), t.missing), (30, 30));
    s.advance(chrono::Duration::seconds(61));
    assert_eq!(gap_entries(&s).await, (1, 0));
    let told_of = told(&s, "sender.gap").await;
    assert_eq!(
        told_of[0].0,
        "backoffice, stream \"odd\": 30 events in 30 gaps between 2 and 60 never arrived"
    );
    assert_eq!(
        (
            told_of[0].1["gaps"].as_u64(),
            told_of[0].1["missing"].as_u64()
        ),
        (Some(30), Some(30))
    );
    let t = stream(&s, Some("odd")).await;
    assert!(t.gaps.iter().all(|g| g.reported_in.is_some()));
    // Half of them arrive: nothing to tell; all of them: one entry.
    let even: Vec<Value> = (1..=30).map(|i| numbered(2 * i, Some("odd"))).collect();
    send(&s, &even[..15]).await;
    assert_eq!(gap_entries(&s).await, (1, 0));
    send(&s, &even[15..]).await;
    assert_eq!(gap_entries(&s).await, (1, 1));
    assert_eq!(
        told(&s, "sender.gap.filled").await[0].0,
        "backoffice, stream \"odd\": 30 events in 30 gaps between 2 and 60 arrived late, all of them"
    );
}

/// A sender with many streams: the report lists 100, those with gaps first, and counts the
/// rest.
#[tokio::test]
async fn a_sender_with_many_streams_is_listed_in_part_gaps_first() {
    let s = TestServer::start().await;
    let many: Vec<Value> = (0..105)
        .map(|i| numbered(1, Some(&format!("s{i:03}"))))
        .collect();
    send(&s, &many).await;
    send(&s, &[numbered(1, Some("zz")), numbered(5, Some("zz"))]).await;
    let all = s.reader.senders().await.unwrap();
    let b = all.iter().find(|x| x.name == "backoffice").unwrap();
    assert_eq!((b.streams.len(), b.more_streams), (100, 6));
    assert_eq!(b.streams[0].stream.as_deref(), Some("zz"));
    assert_eq!(ranges(&b.streams[0]), [(2, 4)]);
    assert_eq!(b.streams[1].stream.as_deref(), Some("s000"));
}
