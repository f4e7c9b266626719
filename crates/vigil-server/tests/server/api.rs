//! The HTTP API against a real server on 127.0.0.1:0 with a temporary SQLite file.

use crate::support::{event_json, Start, TestServer, PASSWORD};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use vigil_client::{Client, ClientError, SearchOptions};

fn api_error(r: Result<impl std::fmt::Debug, ClientError>) -> (u16, String, String) {
    match r {
        Err(ClientError::Api {
            status,
            code,
            message,
            ..
        }) => (status, code, message),
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn sign_in_read_and_sign_out() {
    let s = TestServer::start().await;
    let me = s.reader.me().await.unwrap();
    assert_eq!(
        (me.name.as_str(), me.roles.as_slice()),
        ("alice", ["admin".to_string()].as_slice())
    );

    let (status, code, message) = api_error(s.anonymous.login("alice", "wrong password!").await);
    assert_eq!((status, code.as_str()), (401, "unauthorized"));
    assert_eq!(message, "wrong user name or password");
    let (status, _, message2) = api_error(s.anonymous.login("nobody", PASSWORD).await);
    assert_eq!(
        (status, message2),
        (401, message),
        "an unknown user is not told apart from a wrong password"
    );

    let (status, _, message) = api_error(s.anonymous.me().await);
    assert_eq!(status, 401);
    assert!(
        message.contains("missing Authorization header"),
        "{message}"
    );
    let (status, _, message) = api_error(s.anonymous.with_token("vgl_nope").me().await);
    assert_eq!(
        (status, message.as_str()),
        (401, "unknown token: sign in again")
    );
    let (status, _, message) = api_error(s.ingester.search(&SearchOptions::default()).await);
    assert_eq!(status, 403, "{message}");
    let (status, _, message) = api_error(s.reader.ingest(&event_json(1)).await);
    assert_eq!(status, 403, "{message}");
    assert!(message.contains("ingest key"), "{message}");

    let raw = s
        .raw(Method::GET, "/v1/me")
        .header("authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(raw.headers()["www-authenticate"], "Bearer realm=\"vigil\"");

    s.reader.logout().await.unwrap();
    let (status, _, message) = api_error(s.reader.me().await);
    assert_eq!(status, 401);
    assert!(message.starts_with("token was revoked"), "{message}");
}

#[tokio::test]
async fn tokens_expire() {
    let s = TestServer::start().await;
    s.advance(chrono::Duration::hours(11));
    s.reader.me().await.unwrap();
    s.advance(chrono::Duration::hours(1));
    let (status, _, message) = api_error(s.reader.me().await);
    assert_eq!(status, 401);
    assert!(message.starts_with("token expired at"), "{message}");
}

#[tokio::test]
async fn ingest_answers_seq_hash_and_duplicates() {
    let s = TestServer::start().await;
    let batch = json!([event_json(1), event_json(2)]);
    let (status, first) = s
        .ingester
        .ingest_raw(serde_json::to_vec(&batch).unwrap())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!((first.accepted, first.duplicates), (2, 0));
    assert_eq!(
        first.results.iter().map(|r| r.seq).collect::<Vec<_>>(),
        [s.setup + 1, s.setup + 2]
    );
    assert!(first.results.iter().all(|r| r.hash.len() == 64));

    let (status, again) = s
        .ingester
        .ingest_raw(serde_json::to_vec(&batch).unwrap())
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK, "nothing new was stored");
    assert_eq!((again.accepted, again.duplicates), (0, 2));
    assert_eq!(
        again.results,
        first
            .results
            .iter()
            .map(|r| vigil_store::Appended {
                duplicate: true,
                ..r.clone()
            })
            .collect::<Vec<_>>()
    );

    let mut changed = batch[1].clone();
    changed["reason"] = json!("edited");
    let (status, code, message) =
        api_error(s.ingester.ingest(&json!([event_json(3), changed])).await);
    assert_eq!((status, code.as_str()), (409, "conflict"));
    assert!(
        message.starts_with("events[1].id:") && message.contains("different content"),
        "{message}"
    );
    assert_eq!(s.count().await, 2, "the conflicting batch stored nothing");

    let no_id = json!({"occurred_at": "2026-11-26T10:00:00Z", "actor": {"id": "a"}, "action": "x.y", "kind": "change", "section": "finance"});
    let one = s.ingester.ingest(&no_id).await.unwrap();
    assert_eq!(
        one.results[0].id.get_version_num(),
        7,
        "the server picks a UUIDv7 when none is sent"
    );
}

/// Each bad input gets its status, code and a message naming the problem, and stores nothing.
#[tokio::test]
async fn bad_input_is_refused_precisely_and_stores_nothing() {
    let s = TestServer::start().await;
    let with = |i: usize, key: &str, value: Value| {
        let mut batch: Vec<Value> = (0..5).map(event_json).collect();
        if value.is_null() {
            batch[i].as_object_mut().unwrap().remove(key);
        } else {
            batch[i][key] = value;
        }
        serde_json::to_vec(&batch).unwrap()
    };
    let huge_reason = json!("x".repeat(70 * 1024));
    let cases: Vec<(&str, Vec<u8>, u16, &str, &str)> = vec![
        (
            "malformed JSON",
            b"[{\"occurred_at\": ".to_vec(),
            400,
            "malformed_json",
            "the body is not valid JSON: EOF while parsing",
        ),
        (
            "trailing garbage",
            b"{} x".to_vec(),
            400,
            "malformed_json",
            "trailing characters",
        ),
        (
            "lone surrogate",
            br#"{"reason": "\ud800"}"#.to_vec(),
            400,
            "malformed_json",
            "hex escape at line 1 column 19",
        ),
        (
            "invalid UTF-8",
            b"{\"reason\": \"\xff\xfe\"}".to_vec(),
            400,
            "malformed_json",
            "invalid unicode code point",
        ),
        (
            "not an object",
            b"42".to_vec(),
            400,
            "invalid_event",
            "the body must be an event object or an array",
        ),
        (
            "empty batch",
            b"[]".to_vec(),
            400,
            "invalid_event",
            "the batch is empty",
        ),
        (
            "missing actor.id",
            with(3, "actor", json!({"name": "x"})),
            400,
            "invalid_event",
            "events[3].actor.id: required",
        ),
        (
            "missing action",
            with(2, "action", Value::Null),
            400,
            "invalid_event",
            "events[2].action: required",
        ),
        (
            "wrong type",
            with(1, "kind", json!(5)),
            400,
            "invalid_event",
            "events[1].kind: expected a string, got a number",
        ),
        (
            "unknown kind",
            with(0, "kind", json!("edit")),
            400,
            "invalid_event",
            "events[0].kind: \"edit\" is not one of",
        ),
        (
            "bad timestamp",
            with(4, "occurred_at", json!("yesterday")),
            400,
            "invalid_event",
            "events[4].occurred_at: \"yesterday\" is not an RFC 3339",
        ),
        (
            "no offset",
            with(4, "occurred_at", json!("2026-11-26T10:00:00")),
            400,
            "invalid_event",
            "events[4].occurred_at:",
        ),
        (
            "bad id",
            with(0, "id", json!("12")),
            400,
            "invalid_event",
            "events[0].id: \"12\" is not a UUID",
        ),
        (
            "bad ip",
            with(0, "ip", json!("1.2.3")),
            400,
            "invalid_event",
            "events[0].ip:",
        ),
        (
            "unknown field",
            with(0, "colour", json!("red")),
            400,
            "invalid_event",
            "events[0].colour: unknown field",
        ),
        (
            "oversize event",
            with(2, "reason", huge_reason),
            413,
            "too_large",
            "events[2].event: ",
        ),
        (
            "too many events",
            serde_json::to_vec(&(0..1001).map(event_json).collect::<Vec<_>>()).unwrap(),
            413,
            "too_large",
            "1001 events is over the limit of 1000",
        ),
        (
            "oversize body",
            vec![b' '; 9 * 1024 * 1024],
            413,
            "too_large",
            "over the limit of 8388608 bytes",
        ),
    ];
    for (name, body, status, code, message) in cases {
        let r = s.ingester.ingest_raw(body).await;
        let (got_status, got_code, got_message) = api_error(r);
        assert_eq!(
            (got_status, got_code.as_str()),
            (status, code),
            "{name}: {got_message}"
        );
        assert!(
            got_message.contains(message),
            "{name}: {got_message:?} should contain {message:?}"
        );
    }
    let r = s
        .raw(Method::POST, "/v1/events")
        .bearer_auth(&s.key)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(
        s.count().await,
        0,
        "no bad batch stored anything, not even its valid events"
    );
    let Err(ClientError::Api { index, field, .. }) =
        s.ingester.ingest_raw(with(3, "actor", json!({}))).await
    else {
        panic!()
    };
    assert_eq!((index, field.as_deref()), (Some(3), Some("actor.id")));
}

#[tokio::test]
async fn reads_refuse_bad_parameters_with_the_reason() {
    let s = TestServer::start().await;
    let e = s
        .reader
        .search(&SearchOptions::query("actor:alice colour:red"))
        .await;
    let Err(ClientError::Api {
        status,
        code,
        column,
        message,
        ..
    }) = e
    else {
        panic!("{e:?}")
    };
    assert_eq!(
        (status, code.as_str(), column),
        (400, "bad_query", Some(13))
    );
    assert!(
        message.starts_with("q: column 13: unknown qualifier 'colour:'"),
        "{message}"
    );

    let cases = [
        (
            "/v1/events?limit=0",
            400,
            "limit: 0 is out of range 1 to 1000",
        ),
        ("/v1/events?limit=many", 400, "limit"),
        ("/v1/events?cursor=garbage", 400, "cursor"),
        ("/v1/events?order=sideways", 400, "order"),
        (
            "/v1/facets?field=colour",
            400,
            "field: \"colour\" is not one of: actor, section",
        ),
        ("/v1/facets", 400, "field: required"),
        (
            "/v1/timeline?buckets=5000",
            400,
            "buckets: 5000 is out of range",
        ),
        ("/v1/events/not-a-uuid", 400, "is not a UUID"),
        (
            "/v1/events/0195f8a2-0000-7000-8000-000000000000",
            404,
            "not found",
        ),
        ("/v1/nothing", 404, "no such endpoint"),
        (
            "/v1/timeline?q=before:2026-13-01",
            400,
            "q: column 8: '2026-13-01' is not a date",
        ),
        (
            "/v1/facets?field=actor&q=%22unclosed",
            400,
            "q: column 1: unclosed '\"'",
        ),
    ];
    let long = format!("/v1/events?q={}", "a".repeat(5000));
    let cases: Vec<(&str, u16, &str)> = cases
        .into_iter()
        .chain([(
            long.as_str(),
            400,
            "q: 5000 characters is over the limit of 4096",
        )])
        .collect();
    for (path, status, message) in cases {
        let token = s.anonymous.login("alice", PASSWORD).await.unwrap().token;
        let r = s
            .raw(Method::GET, path)
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body: Value = r.json().await.unwrap();
        let got = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            got.contains(message),
            "{path}: {got:?} should contain {message:?}"
        );
    }
}

#[tokio::test]
async fn search_timeline_and_facets_over_http() {
    let s = TestServer::start().await;
    let events: Vec<Value> = (0..60).map(event_json).collect();
    s.ingester.ingest(&events).await.unwrap();
    let mut seen = Vec::new();
    let mut options = SearchOptions {
        q: "actor:staff1 target:player/*".into(),
        limit: Some(7),
        ..Default::default()
    };
    loop {
        let page = s.reader.search(&options).await.unwrap();
        seen.extend(page.events.iter().map(|e| e.entry.event.clone()));
        match page.next_cursor {
            Some(c) => options.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 20);
    assert!(
        seen.windows(2)
            .all(|w| w[0].occurred_at >= w[1].occurred_at),
        "newest first"
    );
    assert!(seen.iter().all(|e| e.actor.id == "staff1"));

    let t = s.reader.timeline("actor:staff1", Some(30)).await.unwrap();
    assert_eq!(t.buckets.iter().map(|b| b.count).sum::<u64>(), 20);
    let f = s.reader.facets("", "actor", Some(2)).await.unwrap();
    assert_eq!(f.values.len(), 2);
    assert_eq!(f.values.iter().map(|v| v.count).sum::<u64>(), 40);

    let one = s.reader.event(seen[0].id).await.unwrap();
    assert_eq!(one.entry.event, seen[0]);
}

/// Searches, timelines and facets say how far the index that answered was behind the journal;
/// a search's own record is not counted against it.
#[tokio::test]
async fn answers_say_how_far_the_index_is_behind() {
    let s = TestServer::start().await;
    let events: Vec<Value> = (0..60).map(event_json).collect();
    s.ingester.ingest(&events).await.unwrap();
    let started = std::time::Instant::now();
    let head = loop {
        let h = s.reader.health().await.unwrap();
        if h.indexed.is_some() && h.indexed == h.events {
            break h.events.unwrap();
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "the index did not catch up"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let current = vigil_api::Freshness {
        indexed: head,
        journal: head,
        behind_entries: 0,
        behind_ms: 0,
        rebuilding: false,
    };
    let t = s.reader.timeline("", Some(10)).await.unwrap();
    assert_eq!(t.freshness, Some(current));
    let f = s.reader.facets("", "actor", None).await.unwrap();
    assert_eq!(f.freshness, Some(current));
    let page = s.reader.search(&SearchOptions::query("")).await.unwrap();
    assert_eq!(page.freshness, Some(current));
    // The JSON names them as the API documents.
    let raw: Value = s
        .raw(Method::GET, "/v1/timeline?q=actor:staff1")
        .bearer_auth(s.anonymous.login("alice", PASSWORD).await.unwrap().token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let fresh = &raw["freshness"];
    for key in [
        "indexed",
        "journal",
        "behind_entries",
        "behind_ms",
        "rebuilding",
    ] {
        assert!(!fresh[key].is_null(), "freshness.{key} in {raw}");
    }
    assert!(fresh["journal"].as_u64().unwrap() >= head);
}

/// Strings and numbers sent as JSON text come back identical through the API.
#[tokio::test]
async fn values_come_back_byte_exact_over_http() {
    let s = TestServer::start().await;
    let reason = "« Remboursé » 🎰 مرحبا שלום \"quoted\" \n=SUM(A1) +1 -1 @x \t\r";
    let body = format!(
        r#"{{"id": "0195f8a2-1111-7000-8000-000000000001", "occurred_at": "2026-11-26T14:03:07.123456+01:00",
            "actor": {{"id": "é.ü", "name": {reason:?}}}, "action": "player.note", "kind": "change", "section": "players",
            "reason": {reason:?}, "changes": [{{"field": "balance", "before": 100.10, "after": 1234567890123456789012}}],
            "details": {{"z": 1, "a": {{"nested": [1.50, "x"]}}}}}}"#
    );
    s.ingester.ingest_raw(body.into_bytes()).await.unwrap();
    let raw = s
        .raw(
            Method::GET,
            "/v1/events/0195f8a2-1111-7000-8000-000000000001",
        )
        .bearer_auth(s.anonymous.login("alice", PASSWORD).await.unwrap().token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let v: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["reason"], reason);
    assert_eq!(v["actor"]["name"], reason);
    assert_eq!(v["occurred_at"], "2026-11-26T13:03:07.123456Z");
    assert!(
        raw.contains(r#""before":100.10,"after":1234567890123456789012"#),
        "{raw}"
    );
    assert!(
        raw.contains(r#""details":{"z":1,"a":{"nested":[1.50,"x"]}}"#),
        "{raw}"
    );
}

#[tokio::test]
async fn concurrent_senders_lose_and_duplicate_nothing() {
    let s = TestServer::start().await;
    let senders: Vec<_> = (0..8)
        .map(|t| {
            let client = s.ingester.clone();
            tokio::spawn(async move {
                for b in 0..10 {
                    let batch: Vec<Value> =
                        (0..50).map(|i| event_json(t * 1000 + b * 50 + i)).collect();
                    client.ingest(&batch).await.unwrap();
                }
            })
        })
        .collect();
    for t in senders {
        t.await.unwrap();
    }
    assert_eq!(s.count().await, 4000);
    let report = vigil_server::service::journal::verify(&s.state)
        .await
        .unwrap();
    let report_head = format!("verified {} entries", 4000 + s.setup);
    assert!(report.starts_with(&report_head), "{report}");
}

#[tokio::test]
async fn health_and_openapi() {
    let s = TestServer::start().await;
    let h = s.reader.health().await.unwrap();
    // The setup's entries: alice's creation, the key's, her sign-in.
    assert_eq!((h.status.as_str(), h.events), ("ok", Some(s.setup)));
    assert!(h.indexed.is_some_and(|i| i <= s.setup), "{:?}", h.indexed);
    assert_eq!(h.version.as_deref(), Some(env!("CARGO_PKG_VERSION")));
    // A stranger learns only that the store is up; so does one with a made-up token.
    let r = s
        .raw(reqwest::Method::GET, "/healthz")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let r = s
        .raw(reqwest::Method::GET, "/healthz")
        .bearer_auth("vgl_not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let with_key = s.ingester.health().await.unwrap();
    assert_eq!(
        with_key.events,
        Some(s.setup),
        "a sender with a key sees the counts"
    );
    let doc = openapi_doc(&s).await;
    for path in [
        "/v1/events",
        "/v1/events/{id}",
        "/v1/timeline",
        "/v1/facets",
        "/v1/auth/login",
        "/v1/auth/logout",
        "/v1/me",
        "/healthz",
    ] {
        assert!(
            doc["paths"][path].is_object(),
            "{path} is missing from the OpenAPI document"
        );
    }
    assert!(
        doc["paths"]["/v1/events"]["post"].is_object()
            && doc["paths"]["/v1/events"]["get"].is_object()
    );
    assert!(doc["components"]["schemas"]["StoredEvent"].is_object());
    let client = Client::new(&s.url).unwrap();
    assert!(client.health().await.is_ok());
}

/// `GET /openapi.json`, as any client reads it.
async fn openapi_doc(s: &TestServer) -> Value {
    s.raw(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Every `$ref` of the document, with where it stands.
fn refs<'a>(v: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("$ref", Value::String(r)) => out.push((at.clone(), r)),
                    _ => refs(v, format!("{at}/{k}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// What generated clients and schemathesis need of the document: every reference resolves,
/// every parameter says where it goes (a path's in the path, the others in the query string)
/// and whether it is required, and every operation that takes a token documents its refusals.
#[tokio::test]
async fn the_openapi_document_is_whole_and_consistent() {
    let s = TestServer::start().await;
    let doc = openapi_doc(&s).await;
    assert_eq!(doc, serde_json::to_value(vigil_server::openapi()).unwrap());
    let mut all = Vec::new();
    refs(&doc, String::new(), &mut all);
    assert!(!all.is_empty());
    for (at, r) in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("{at}: {r} is not a schema reference"));
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "{at}: {r} is not defined"
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let what = format!("{} {path}", method.to_uppercase());
            for p in op["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let templated = path.contains(&format!("{{{name}}}"));
                match p["in"].as_str() {
                    Some("path") => {
                        assert!(templated, "{what}: {name} is not in the path");
                        assert_eq!(p["required"], true, "{what}: path parameter {name}");
                    }
                    Some("query") => assert!(!templated, "{what}: {name} is in the path"),
                    other => panic!("{what}: {name} is in {other:?}"),
                }
                assert!(p["schema"].is_object(), "{what}: {name} has no schema: {p}");
            }
            let responses = op["responses"].as_object().unwrap();
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                for status in ["401", "403"] {
                    assert!(
                        responses.contains_key(status),
                        "{what} does not document {status}"
                    );
                }
            }
            let takes_input = op["parameters"].as_array().is_some_and(|p| !p.is_empty())
                || op["requestBody"].is_object();
            if takes_input {
                assert!(
                    responses.contains_key("400"),
                    "{what} takes input but documents no 400"
                );
            }
        }
    }
    let limit = doc["paths"]["/v1/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .unwrap();
    assert_eq!(
        (
            &limit["in"],
            &limit["schema"]["minimum"],
            &limit["schema"]["maximum"]
        ),
        (&json!("query"), &json!(1), &json!(1000))
    );
}

/// What schemathesis found the document promised and the server did not keep: a body that is a
/// JSON array (which serde reads as a struct's fields) and numbers past what the document
/// allows are refused, with the same JSON error as any other, and change nothing.
#[tokio::test]
async fn bodies_must_be_objects_and_numbers_within_their_bounds() {
    let s = TestServer::start().await;
    let token = s.anonymous.login("alice", PASSWORD).await.unwrap().token;
    let send = |method: Method, path: &str, body: &str| {
        s.raw(method, path)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
    };
    let before = s.count().await;
    for (method, path, code) in [
        (Method::PUT, "/v1/marks/suspicious", "invalid_mark"),
        (Method::POST, "/v1/incidents", "invalid_incident"),
        (Method::POST, "/v1/roles", "bad_request"),
        (Method::POST, "/v1/alerts/rules", "invalid"),
    ] {
        let r = send(method.clone(), path, "[]").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{method} {path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], code, "{method} {path}: {body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("a JSON object"),
            "{method} {path}: {body}"
        );
    }
    let r = s
        .raw(Method::POST, "/v1/auth/login")
        .header("content-type", "application/json")
        .body(r#"["alice", "correct horse battery"]"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "credentials as an array"
    );
    for path in [
        "/v1/alerts/deliveries?before=9223372036854775808",
        "/v1/alerts/deliveries?before=x",
        "/v1/alerts/deliveries/x/retry",
    ] {
        let method = if path.ends_with("retry") {
            Method::POST
        } else {
            Method::GET
        };
        let r = send(method, path, "{}").await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_parameter", "{path}: {body}");
    }
    assert_eq!(s.count().await, before, "nothing was written");
}
