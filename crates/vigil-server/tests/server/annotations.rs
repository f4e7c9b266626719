//! Annotations, incidents and the marks catalog through the HTTP API of a real server.

use reqwest::Method;
use serde_json::{json, Value};
use vigil_client::Client;

use crate::support::{event_json, Start, TestServer, PASSWORD};

/// A server with six finance entries and bob, an investigator, signed in.
async fn with_entries() -> (TestServer, Vec<String>, Client) {
    let s = TestServer::start().await;
    let events: Vec<Value> = (1..=6).map(event_json).collect();
    let ids = events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    s.ingester.ingest(&events).await.unwrap();
    s.add_user("bob", &["investigator"]).await;
    let token = s.anonymous.login("bob", PASSWORD).await.unwrap().token;
    let bob = s.anonymous.with_token(&token);
    (s, ids, bob)
}

async fn post(client: &Client, path: &str, body: Value) -> (bool, Value) {
    client
        .record::<Value>(path, &body)
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"))
}

/// A raw POST with bob's or alice's token: the status and the JSON answer.
async fn raw(
    s: &TestServer,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let mut r = s
        .raw(method, path)
        .header("content-type", "application/json")
        .body(body.to_owned());
    if let Some(t) = token {
        r = r.bearer_auth(t);
    }
    let answer = r.send().await.unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn seqs_of(client: &Client, q: &str) -> Vec<String> {
    let page = client
        .search(&vigil_client::SearchOptions::query(q))
        .await
        .unwrap();
    page.events
        .iter()
        .map(|e| e.entry.event.id.to_string())
        .collect()
}

async fn token_of(s: &TestServer, name: &str) -> String {
    s.anonymous.login(name, PASSWORD).await.unwrap().token
}

const TRICKY: &str = "« sur demande » — chargeback review #4411 ✅👍🏽\nligne 2 \"quoted\" 'single' =HYPERLINK(\"x\") مرحبا بالعالم";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_annotation_is_searchable_and_journaled_under_the_chain() {
    let (s, ids, bob) = with_entries().await;
    let before = s.count().await;
    let (created, a) = post(
        &bob,
        &format!("v1/events/{}/annotations", ids[2]),
        json!({"comment": TRICKY, "marks": ["suspicious", "player-request", "suspicious"]}),
    )
    .await;
    assert!(created, "201 for a new annotation");
    assert_eq!(a["author"], "bob", "the author comes from the token");
    assert_eq!(a["comment"], TRICKY, "byte-exact");
    assert_eq!(
        a["marks"],
        json!(["suspicious", "player-request"]),
        "each mark once, in order"
    );
    assert_eq!(a["entry"], ids[2]);
    // The entry carries its thread, in the entry itself and in the list.
    let entry = bob.event(ids[2].parse().unwrap()).await.unwrap();
    assert_eq!(entry.annotations.len(), 1);
    assert_eq!(entry.annotations[0].comment.as_deref(), Some(TRICKY));
    let (status, list) = raw(
        &s,
        Some(&token_of(&s, "bob").await),
        Method::GET,
        &format!("/v1/events/{}/annotations", ids[2]),
        "",
    )
    .await;
    assert_eq!(
        (status, list["annotations"][0]["id"].clone()),
        (200, a["id"].clone())
    );
    // Searches see it.
    assert_eq!(seqs_of(&bob, "mark:suspicious").await, vec![ids[2].clone()]);
    assert_eq!(seqs_of(&bob, "has:comment").await, vec![ids[2].clone()]);
    assert_eq!(
        seqs_of(&bob, "section:finance mark:player-request,escalated").await,
        vec![ids[2].clone()]
    );
    let unmarked = seqs_of(&bob, "section:finance -has:mark").await;
    assert_eq!(unmarked.len(), 5);
    assert!(!unmarked.contains(&ids[2]));
    // Full text over the comment: the entry, and the journal's record of the annotation.
    let found = seqs_of(&bob, "\"chargeback review 4411\"").await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(found.contains(&ids[2]));
    assert_eq!(
        seqs_of(&bob, "\"chargeback review 4411\" section:finance").await,
        vec![ids[2].clone()]
    );
    let facets = bob.facets("", "mark", None).await.unwrap();
    let values: Vec<(String, u64)> = facets
        .values
        .into_iter()
        .map(|v| (v.value, v.count))
        .collect();
    assert_eq!(
        values,
        vec![("player-request".into(), 1), ("suspicious".into(), 1)]
    );
    // The journal journals itself: one entry, bob as actor, under the chain.
    assert_eq!(s.count().await, before + 1);
    let journal = s.state.store.scan(1, 1000).await.unwrap();
    let last = journal
        .iter()
        .rfind(|e| e.event.action.starts_with("annotation."))
        .unwrap();
    assert_eq!(
        (
            last.event.section.as_str(),
            last.event.action.as_str(),
            last.event.actor.id.as_str()
        ),
        ("vigil", "annotation.create", "bob")
    );
    assert_eq!(last.event.target.as_ref().unwrap().id, ids[2]);
    assert_eq!(last.event.details.as_ref().unwrap()["comment"], TRICKY);
    assert_eq!(a["journal_seq"], last.seq);
    let mut chain = vigil_core::chain::Verifier::default();
    for e in &journal {
        chain.check(e).expect("the chain verifies");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retrying_the_same_annotation_five_times_stores_one() {
    let (s, ids, bob) = with_entries().await;
    let before = s.count().await;
    let id = uuid::Uuid::now_v7();
    let body = json!({"id": id, "comment": "vu avec le joueur", "marks": ["reviewed"],
                      "written_at": "2026-11-26T08:00:00.123456789+01:00"});
    let mut answers = Vec::new();
    let sent = chrono::Utc::now();
    for _ in 0..5 {
        answers.push(
            post(
                &bob,
                &format!("v1/events/{}/annotations", ids[0]),
                body.clone(),
            )
            .await,
        );
    }
    assert!(answers[0].0, "the first is stored (201)");
    assert!(
        answers[1..].iter().all(|(created, _)| !created),
        "the retries are replays (200)"
    );
    assert!(
        answers.iter().all(|(_, a)| *a == answers[0].1),
        "each answer is the stored annotation"
    );
    let entry = bob.event(ids[0].parse().unwrap()).await.unwrap();
    assert_eq!(entry.annotations.len(), 1);
    let actions: Vec<_> = s
        .journal()
        .await
        .into_iter()
        .filter(|e| e.seq > s.setup)
        .map(|e| e.event.action)
        .collect();
    assert_eq!(
        s.count().await,
        before + 1,
        "one journal entry: {actions:?}"
    );
    // Both times: when it was written (the client's, kept to the microsecond) and received.
    assert_eq!(answers[0].1["written_at"], "2026-11-26T07:00:00.123456Z");
    let received: chrono::DateTime<chrono::Utc> = answers[0].1["received_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        received >= sent - chrono::Duration::milliseconds(1) && received <= chrono::Utc::now(),
        "received when sent: {received}"
    );
    // A retry that lets written_at default (to another "now") is still a retry.
    let plain = json!({"id": uuid::Uuid::now_v7(), "marks": ["escalated"]});
    let path = format!("v1/events/{}/annotations", ids[1]);
    assert!(post(&bob, &path, plain.clone()).await.0);
    s.advance(chrono::Duration::seconds(30));
    let (created, again) = post(&bob, &path, plain.clone()).await;
    assert!(!created, "a replay: {again}");
    assert_eq!(s.count().await, before + 2);
    // So is one with the same marks in another order.
    let two = uuid::Uuid::now_v7();
    assert!(
        post(
            &bob,
            &path,
            json!({"id": two, "marks": ["reviewed", "suspicious"]})
        )
        .await
        .0
    );
    assert!(
        !post(
            &bob,
            &path,
            json!({"id": two, "marks": ["suspicious", "reviewed"]})
        )
        .await
        .0
    );
    assert_eq!(s.count().await, before + 3);
    // The same id with other content is a conflict, and stores nothing.
    let mut other = body.clone();
    other["comment"] = json!("changed my mind");
    let (status, err) = raw(
        &s,
        Some(&token_of(&s, "bob").await),
        Method::POST,
        &format!("/v1/events/{}/annotations", ids[0]),
        &other.to_string(),
    )
    .await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("conflict"))
    );
    assert_eq!(s.count().await, before + 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_annotations_get_a_precise_4xx_and_store_nothing() {
    let (s, ids, bob) = with_entries().await;
    let token = token_of(&s, "bob").await;
    let existing = post(
        &bob,
        &format!("v1/events/{}/annotations", ids[1]),
        json!({"marks": ["reviewed"]}),
    )
    .await
    .1;
    let before = s.count().await;
    let path = |id: &str| format!("/v1/events/{id}/annotations");
    let future = (s.state.now() + chrono::Duration::hours(1)).to_rfc3339();
    let cases: Vec<(String, String, u16, &str, &str)> = vec![
        (path(&uuid::Uuid::now_v7().to_string()), json!({"comment": "x"}).to_string(), 404, "not_found", "not found"),
        (path("not-a-uuid"), json!({"comment": "x"}).to_string(), 400, "bad_parameter", "not a UUID"),
        (path("not-a-uuid"), "[]".into(), 400, "bad_parameter", "not a UUID"),
        (path(&ids[0]), json!({}).to_string(), 400, "empty_annotation", "a comment or at least one mark"),
        (path(&ids[0]), json!({"comment": " \n\t ", "marks": []}).to_string(), 400, "empty_annotation", "a comment or at least one mark"),
        (path(&ids[0]), json!({"comment": "é".repeat(10_001)}).to_string(), 400, "comment_too_long", "10001 characters, over the limit of 10000"),
        (path(&ids[0]), json!({"marks": ["suspicious", "fraud"]}).to_string(), 400, "unknown_mark", "unknown mark \"fraud\"; the marks are: player-request, reviewed, suspicious, false-positive, escalated"),
        (path(&ids[0]), "{\"comment\": ".into(), 400, "invalid_annotation", "not valid JSON"),
        (path(&ids[0]), json!({"comment": "x", "author": "mallory"}).to_string(), 400, "invalid_annotation", "unknown field `author`"),
        (path(&ids[0]), json!({"comment": "x", "written_at": future}).to_string(), 400, "bad_written_at", "in the future"),
        (path(&ids[0]), json!({"comment": "x", "supersedes": existing["id"]}).to_string(), 400, "bad_supersedes", "about another entry"),
        (path(&ids[0]), json!({"comment": "x", "supersedes": uuid::Uuid::now_v7()}).to_string(), 400, "bad_supersedes", "there is no annotation"),
        (path(&ids[0]), json!({"comment": "x", "marks": "suspicious"}).to_string(), 400, "invalid_annotation", "invalid type"),
    ];
    for (p, body, status, code, message) in cases {
        let (got, err) = raw(&s, Some(&token), Method::POST, &p, &body).await;
        assert_eq!(got, status, "{p} {body:.80}: {err}");
        assert_eq!(err["error"]["code"], code, "{body:.80}: {err}");
        let text = err["error"]["message"].as_str().unwrap();
        assert!(text.contains(message), "{body:.80}: {text}");
    }
    let (status, _) = raw(
        &s,
        None,
        Method::POST,
        &path(&ids[0]),
        &json!({"comment": "x"}).to_string(),
    )
    .await;
    assert_eq!(status, 401);
    let (status, _) = raw(
        &s,
        Some(&s.key),
        Method::POST,
        &path(&ids[0]),
        &json!({"comment": "x"}).to_string(),
    )
    .await;
    assert_eq!(status, 403, "an ingest key cannot annotate");
    s.add_user("vera", &["viewer"]).await;
    let before = before + 1; // vera's creation
    let viewer = token_of(&s, "vera").await;
    for (p, body) in [
        (path(&ids[0]), json!({"comment": "x"})),
        ("/v1/incidents".to_owned(), json!({"title": "x"})),
    ] {
        let (status, err) = raw(&s, Some(&viewer), Method::POST, &p, &body.to_string()).await;
        assert_eq!(status, 403, "a viewer reads but does not write: {err}");
        assert!(err["error"]["message"].as_str().unwrap().contains(
            "annotating needs the annotate right, which none of \"vera\"'s roles (viewer) grants"
        ));
    }
    assert_eq!(s.count().await, before, "nothing was journaled");
    assert!(bob
        .event(ids[0].parse().unwrap())
        .await
        .unwrap()
        .annotations
        .is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correction_supersedes_and_the_thread_keeps_both() {
    let (_s, ids, bob) = with_entries().await;
    let path = format!("v1/events/{}/annotations", ids[4]);
    let (_, first) = post(
        &bob,
        &path,
        json!({"comment": "montant anormal", "marks": ["suspicious"]}),
    )
    .await;
    assert_eq!(seqs_of(&bob, "mark:suspicious").await, vec![ids[4].clone()]);
    let (_, fix) = post(&bob, &path, json!({"comment": "accord du manager, ticket 88", "marks": ["false-positive"], "supersedes": first["id"]})).await;
    assert_eq!(fix["supersedes"], first["id"]);
    assert!(
        seqs_of(&bob, "mark:suspicious").await.is_empty(),
        "the corrected mark no longer counts"
    );
    assert_eq!(
        seqs_of(&bob, "mark:false-positive").await,
        vec![ids[4].clone()]
    );
    assert!(seqs_of(&bob, "anormal section:finance").await.is_empty());
    let entry = bob.event(ids[4].parse().unwrap()).await.unwrap();
    let thread: Vec<_> = entry
        .annotations
        .iter()
        .map(|a| a.comment.clone().unwrap())
        .collect();
    assert_eq!(
        thread,
        ["montant anormal", "accord du manager, ticket 88"],
        "newest last, nothing edited"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incidents_gather_entries_with_notes_and_export_like_a_search() {
    let (s, ids, bob) = with_entries().await;
    let token = token_of(&s, "bob").await;
    let (created, incident) = post(
        &bob,
        "v1/incidents",
        json!({"title": "Bonus ring — joueurs 1 à 4", "description": "Cash-out pattern"}),
    )
    .await;
    assert!(created);
    assert_eq!(
        (incident["number"].as_u64(), incident["status"].as_str()),
        (Some(1), Some("open"))
    );
    for id in [&ids[1], &ids[3]] {
        let (created, pin) = post(&bob, "v1/incidents/1/entries", json!({"entry": id})).await;
        assert!(created);
        assert_eq!(pin["author"], "bob");
    }
    let (again, _) = post(
        &bob,
        &format!("v1/incidents/{}/entries", incident["id"].as_str().unwrap()),
        json!({"entry": ids[1]}),
    )
    .await;
    assert!(!again, "an entry is pinned once");
    let mut found = seqs_of(&bob, "incident:1").await;
    found.sort();
    let mut want = vec![ids[1].clone(), ids[3].clone()];
    want.sort();
    assert_eq!(found, want);
    assert_eq!(
        seqs_of(
            &bob,
            &format!("incident:{}", incident["id"].as_str().unwrap())
        )
        .await
        .len(),
        2
    );
    let entry = bob.event(ids[1].parse().unwrap()).await.unwrap();
    assert_eq!(entry.incidents[0].number, 1);
    let (_, note) = post(
        &bob,
        "v1/incidents/1/notes",
        json!({"text": "Escalated to compliance", "status": "closed"}),
    )
    .await;
    assert_eq!(note["status"], "closed");
    let detail = bob.incident("1").await.unwrap();
    assert_eq!(detail.incident.status, vigil_store::IncidentStatus::Closed);
    assert_eq!(
        (
            detail.pins.len(),
            detail.notes.len(),
            detail.incident.entries
        ),
        (2, 1, 2)
    );
    assert_eq!(bob.incidents().await.unwrap().len(), 1);
    // An incident exports like a search (for those who may export: alice, an admin; bob, an
    // investigator, may not).
    let csv = s
        .raw(Method::GET, "/v1/export?q=incident:1&format=csv")
        .bearer_auth(token_of(&s, "alice").await)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(rows.records().count(), 2, "{csv}");
    // Bad requests.
    for (path, body, status, code) in [
        (
            "/v1/incidents",
            json!({"title": "  "}).to_string(),
            400,
            "invalid_incident",
        ),
        (
            "/v1/incidents",
            json!({"title": "x".repeat(201)}).to_string(),
            400,
            "invalid_incident",
        ),
        (
            "/v1/incidents/2/entries",
            json!({"entry": ids[0]}).to_string(),
            404,
            "not_found",
        ),
        (
            "/v1/incidents/one/entries",
            json!({"entry": ids[0]}).to_string(),
            400,
            "bad_parameter",
        ),
        (
            "/v1/incidents/1/entries",
            json!({"entry": uuid::Uuid::now_v7()}).to_string(),
            404,
            "not_found",
        ),
        (
            "/v1/incidents/1/notes",
            json!({}).to_string(),
            400,
            "empty_note",
        ),
        (
            "/v1/incidents/1/notes",
            json!({"status": "archived"}).to_string(),
            400,
            "invalid_note",
        ),
    ] {
        let (got, err) = raw(&s, Some(&token), Method::POST, path, &body).await;
        assert_eq!(
            (got, err["error"]["code"].as_str().unwrap_or("")),
            (status, code),
            "{path} {body}: {err}"
        );
    }
    let journal = s.state.store.scan(1, 1000).await.unwrap();
    let actions: Vec<&str> = journal
        .iter()
        .filter(|e| e.event.section == "vigil" && e.event.actor.id == "bob")
        .map(|e| e.event.action.as_str())
        .filter(|a| a.starts_with("incident."))
        .collect();
    assert_eq!(
        actions,
        [
            "incident.create",
            "incident.pin",
            "incident.pin",
            "incident.close",
        ]
    );
    assert!(journal
        .iter()
        .any(|e| e.event.action == "journal.export" && e.event.actor.id == "alice"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_manage_the_marks_catalog_and_each_change_is_journaled() {
    let (s, ids, bob) = with_entries().await;
    let marks = bob.marks().await.unwrap();
    let labels: Vec<(&str, &str, &str)> = marks
        .iter()
        .map(|m| (m.key.as_str(), m.label_fr.as_str(), m.label_en.as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            (
                "player-request",
                "sur demande du joueur",
                "at the player's request"
            ),
            ("reviewed", "vérifié", "reviewed"),
            ("suspicious", "suspect", "suspicious"),
            ("false-positive", "faux positif", "false positive"),
            ("escalated", "escaladé", "escalated"),
        ]
    );
    let admin = token_of(&s, "alice").await;
    let investigator = token_of(&s, "bob").await;
    let kyc = json!({"key": "kyc-check", "label_fr": "contrôle KYC", "label_en": "KYC check", "colour": "#1A2B3C"}).to_string();
    let (status, _) = raw(&s, Some(&investigator), Method::POST, "/v1/marks", &kyc).await;
    assert_eq!(status, 403, "only admins change the catalog");
    let (status, created) = raw(&s, Some(&admin), Method::POST, "/v1/marks", &kyc).await;
    assert_eq!((status, created["colour"].as_str()), (201, Some("#1a2b3c")));
    for (body, code) in [
        (kyc.clone(), 409),
        (
            json!({"key": "Bad Key", "label_fr": "a", "label_en": "b", "colour": "#000000"})
                .to_string(),
            400,
        ),
        (
            json!({"key": "ok", "label_fr": "a", "label_en": "b", "colour": "red"}).to_string(),
            400,
        ),
        (
            json!({"key": "ok", "label_en": "b", "colour": "#000000"}).to_string(),
            400,
        ),
    ] {
        assert_eq!(
            raw(&s, Some(&admin), Method::POST, "/v1/marks", &body)
                .await
                .0,
            code,
            "{body}"
        );
    }
    let (status, changed) = raw(
        &s,
        Some(&admin),
        Method::PUT,
        "/v1/marks/kyc-check",
        &json!({"label_en": "KYC verified"}).to_string(),
    )
    .await;
    assert_eq!(
        (
            status,
            changed["label_en"].as_str(),
            changed["label_fr"].as_str()
        ),
        (200, Some("KYC verified"), Some("contrôle KYC"))
    );
    post(
        &bob,
        &format!("v1/events/{}/annotations", ids[0]),
        json!({"marks": ["kyc-check"]}),
    )
    .await;
    let (status, err) = raw(&s, Some(&admin), Method::DELETE, "/v1/marks/kyc-check", "").await;
    assert_eq!(status, 409, "{err}");
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("used by 1 annotation"));
    assert_eq!(
        raw(&s, Some(&admin), Method::DELETE, "/v1/marks/escalated", "")
            .await
            .0,
        204
    );
    assert_eq!(
        raw(&s, Some(&admin), Method::DELETE, "/v1/marks/escalated", "")
            .await
            .0,
        404
    );
    let keys: Vec<String> = bob
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
            "kyc-check"
        ]
    );
    let journal = s.state.store.scan(1, 1000).await.unwrap();
    let by_alice: Vec<&str> = journal
        .iter()
        .filter(|e| e.event.section == "vigil" && e.event.actor.id == "alice")
        .filter(|e| e.event.action.starts_with("mark."))
        .map(|e| e.event.action.as_str())
        .collect();
    assert_eq!(by_alice, ["mark.create", "mark.update", "mark.delete"]);
}
