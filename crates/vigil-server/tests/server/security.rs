//! Attacks from the security issue, each made through the API as the attacker would make it.

use std::collections::BTreeSet;

use serde_json::json;
use vigil_client::{Client, ExportOptions, SearchOptions};

use crate::support::{event_json, Start, TestServer, PASSWORD};

/// Everything a reader can learn of the entries of `q`, read with this client's `tz`: a
/// search's ids, the timeline's and facets' counts, and an NDJSON export's ids.
async fn everything(reader: &Client, q: &str) -> (BTreeSet<String>, u64, u64, BTreeSet<String>) {
    let page = reader
        .search(&SearchOptions {
            q: q.into(),
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    let searched = page
        .events
        .iter()
        .map(|a| a.entry.event.id.to_string())
        .collect();
    let timeline = reader.timeline(q, Some(50)).await.unwrap();
    let counted = timeline.buckets.iter().map(|b| b.count).sum();
    let facets = reader.facets(q, "section", None).await.unwrap();
    let faceted = facets.values.iter().map(|v| v.count).sum();
    let mut download = reader
        .export(&ExportOptions {
            q: q.into(),
            format: "ndjson".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = download.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    let exported = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| {
            serde_json::from_slice::<serde_json::Value>(l).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    (searched, counted, faceted, exported)
}

#[tokio::test]
async fn a_readers_time_zone_does_not_move_a_dated_scope() {
    // Item 6: a role's scope `after:2026-11-05 -on:2026-11-10` is read in UTC. Read with
    // tz=+23:59 it used to start a day early, and with -23:59 to leave out the wrong day.
    let s = TestServer::start().await;
    let alice = s
        .anonymous
        .with_token(&s.anonymous.login("alice", PASSWORD).await.unwrap().token);
    alice
        .add_role(&vigil_api::accounts::NewRoleRequest {
            name: "recent".into(),
            rights: vec!["read".into(), "export".into()],
            scope: "after:2026-11-05 -on:2026-11-10".into(),
        })
        .await
        .unwrap();
    alice
        .add_user(&vigil_api::accounts::NewUserRequest {
            name: "rita".into(),
            password: PASSWORD.into(),
            roles: vec!["recent".into()],
        })
        .await
        .unwrap();
    let mut events = Vec::new();
    let mut inside = BTreeSet::new();
    for (n, at, within) in [
        (1, "2026-11-04T12:00:00Z", false),
        (2, "2026-11-04T23:59:59.999999Z", false),
        (3, "2026-11-05T00:00:00Z", true),
        (4, "2026-11-09T23:30:00Z", true),
        (5, "2026-11-10T06:00:00Z", false),
        (6, "2026-11-10T23:59:59Z", false),
        (7, "2026-11-11T00:30:00Z", true),
    ] {
        let mut e = event_json(n);
        e["occurred_at"] = json!(at);
        if within {
            inside.insert(e["id"].as_str().unwrap().to_owned());
        }
        events.push(e);
    }
    s.ingester.ingest(&events).await.unwrap();
    let rita = s
        .anonymous
        .with_token(&s.anonymous.login("rita", PASSWORD).await.unwrap().token);
    for tz in ["+00:00", "+23:59", "-23:59", "+14:00", "-12:00"] {
        let offset: chrono::FixedOffset = tz.parse().unwrap();
        let reader = rita.with_tz(offset);
        let (searched, counted, faceted, exported) =
            everything(&reader, "section:finance action:player.*").await;
        assert_eq!(searched, inside, "tz {tz}: the search");
        assert_eq!(counted, inside.len() as u64, "tz {tz}: the timeline");
        assert_eq!(faceted, inside.len() as u64, "tz {tz}: the facets");
        assert_eq!(exported, inside, "tz {tz}: the export");
        for e in &events {
            let id: uuid::Uuid = e["id"].as_str().unwrap().parse().unwrap();
            let opened = reader.event(id).await;
            assert_eq!(
                opened.is_ok(),
                inside.contains(&id.to_string()),
                "tz {tz}: opening {}",
                e["occurred_at"]
            );
        }
    }
    // The reader's own dates are still read in their zone: `on:2026-11-05` at +14:00 is
    // 2026-11-04T10:00Z to 2026-11-05T10:00Z, of which the scope leaves one entry.
    let (searched, ..) = everything(
        &rita.with_tz("+14:00".parse().unwrap()),
        "on:2026-11-05 section:finance",
    )
    .await;
    assert_eq!(searched.len(), 1, "{searched:?}");
}

#[tokio::test]
async fn query_text_in_the_journal_is_masked_for_readers_without_unmask() {
    // Item 13: alice's searches, exports and alert rules are journaled with their query text;
    // a viewer reading the journal of the journal must not learn the address or the name
    // typed in them. An auditor (unmask) still reads them as written.
    let s = TestServer::start().await;
    let login = |name: &'static str| {
        let anonymous = s.anonymous.clone();
        async move { anonymous.with_token(&anonymous.login(name, PASSWORD).await.unwrap().token) }
    };
    let token = s.anonymous.login("alice", PASSWORD).await.unwrap().token;
    let alice = s.anonymous.with_token(&token);
    for (name, role) in [("vera", "viewer"), ("audrey", "auditor")] {
        alice
            .add_user(&vigil_api::accounts::NewUserRequest {
                name: name.into(),
                password: PASSWORD.into(),
                roles: vec![role.into()],
            })
            .await
            .unwrap();
    }
    s.ingester.ingest(&[event_json(1)]).await.unwrap();
    let q = r#"ip:203.0.113.7 "Elodie Martin" section:finance -ip:2001:db8::1"#;
    alice
        .search(&SearchOptions {
            q: q.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut export = alice
        .export(&ExportOptions {
            q: q.into(),
            format: "csv".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    while export.chunk().await.unwrap().is_some() {}
    let created = s
        .raw(reqwest::Method::POST, "/v1/alerts/rules")
        .bearer_auth(&token)
        .json(&json!({"name": "elodie", "q": q}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().await.unwrap()
    );
    alice
        .add_role(&vigil_api::accounts::NewRoleRequest {
            name: "elodie-watch".into(),
            rights: vec!["read".into()],
            scope: r#"section:finance "Elodie Martin""#.into(),
        })
        .await
        .unwrap();

    let journal_of = |reader: Client| async move {
        reader
            .search(&SearchOptions {
                q: "section:vigil actor:alice".into(),
                limit: Some(100),
                ..Default::default()
            })
            .await
            .unwrap()
            .events
    };
    let seen = journal_of(login("vera").await).await;
    let details: Vec<String> = seen
        .iter()
        .filter_map(|a| {
            a.entry
                .event
                .details
                .as_ref()
                .map(|d| serde_json::to_string(d).unwrap())
        })
        .collect();
    let with_query: Vec<&String> = details
        .iter()
        .filter(|d| d.contains("section:finance"))
        .collect();
    assert_eq!(
        with_query.len(),
        4,
        "a search, an export, a rule, a role: {details:#?}"
    );
    for d in &details {
        for secret in ["203.0.113.7", "Elodie", "Martin", "2001:db8::1"] {
            assert!(!d.contains(secret), "{secret} in {d}");
        }
    }
    let search = seen
        .iter()
        .find(|a| {
            a.entry.event.action == "journal.search"
                && a.entry.event.details.as_ref().unwrap()["q"]
                    .as_str()
                    .unwrap()
                    .contains("finance")
        })
        .unwrap();
    assert_eq!(
        search.entry.event.details.as_ref().unwrap()["q"],
        r#"ip:203.0.113.0/24 "[masked]" section:finance -ip:"2001:db8::/48""#
    );
    assert!(
        search.masked.contains(&"details.q".to_owned()),
        "{:?}",
        search.masked
    );

    let clear = journal_of(login("audrey").await).await;
    let clear_q: Vec<&str> = clear
        .iter()
        .filter_map(|a| a.entry.event.details.as_ref()?.get("q")?.as_str())
        .collect();
    assert!(
        clear_q
            .iter()
            .any(|q| q.contains("ip:203.0.113.7") && q.contains("\"Elodie Martin\"")),
        "the auditor reads the query as written: {clear_q:?}"
    );
}

/// A JSON request with a token: the status and the answer.
async fn call(
    s: &TestServer,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let answer = s
        .raw(method, path)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    (
        status,
        answer.json().await.unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn only_the_author_or_a_reviewer_supersedes_an_annotation() {
    // Item 8: an investigator used to be able to turn a colleague's comment on their own
    // activity into nothing by superseding it.
    let s = TestServer::start().await;
    let alice = s
        .anonymous
        .with_token(&s.anonymous.login("alice", PASSWORD).await.unwrap().token);
    for (name, role) in [
        ("ivan", "investigator"),
        ("ines", "investigator"),
        ("audrey", "auditor"),
    ] {
        alice
            .add_user(&vigil_api::accounts::NewUserRequest {
                name: name.into(),
                password: PASSWORD.into(),
                roles: vec![role.into()],
            })
            .await
            .unwrap();
    }
    let e = event_json(1);
    s.ingester.ingest(std::slice::from_ref(&e)).await.unwrap();
    let path = format!("/v1/events/{}/annotations", e["id"].as_str().unwrap());
    let token = |name: &'static str| {
        let anonymous = s.anonymous.clone();
        async move { anonymous.login(name, PASSWORD).await.unwrap().token }
    };
    let (ivan, ines, audrey) = (
        token("ivan").await,
        token("ines").await,
        token("audrey").await,
    );
    let (status, first) = call(
        &s,
        &ivan,
        reqwest::Method::POST,
        &path,
        json!({"comment": "ines approved her own bonus", "marks": ["suspicious"]}),
    )
    .await;
    assert_eq!(status, 201, "{first}");
    let first = first["id"].clone();

    let (status, refused) = call(
        &s,
        &ines,
        reqwest::Method::POST,
        &path,
        json!({"comment": "nothing to see", "supersedes": first}),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden");
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("review") && message.contains("\"ivan\""),
        "{message}"
    );
    let (_, thread) = call(&s, &ivan, reqwest::Method::GET, &path, json!({})).await;
    assert_eq!(
        thread["annotations"].as_array().unwrap().len(),
        1,
        "nothing written"
    );

    // The author corrects their own; an auditor (review) corrects anyone's.
    let (status, own) = call(
        &s,
        &ivan,
        reqwest::Method::POST,
        &path,
        json!({"comment": "ines approved her own bonus of 500", "marks": ["suspicious"], "supersedes": first}),
    )
    .await;
    assert_eq!(status, 201, "{own}");
    let (status, reviewed) = call(
        &s,
        &audrey,
        reqwest::Method::POST,
        &path,
        json!({"comment": "confirmed with the payments team", "supersedes": own["id"]}),
    )
    .await;
    assert_eq!(status, 201, "{reviewed}");
    let (_, thread) = call(&s, &ivan, reqwest::Method::GET, &path, json!({})).await;
    assert_eq!(thread["annotations"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn sign_in_takes_only_a_json_body() {
    // Item 7: a web page can post a form or plain text to any address without the browser
    // asking first; sign-in took such a body, so any page could try passwords or lock
    // accounts out.
    let s = TestServer::start().await;
    let body = format!(r#"{{"name": "alice", "password": "{PASSWORD}"}}"#);
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
    ] {
        let mut r = s
            .raw(reqwest::Method::POST, "/v1/auth/login")
            .body(body.clone());
        if let Some(ct) = content_type {
            r = r.header("content-type", ct);
        }
        let answer = r.send().await.unwrap();
        assert_eq!(answer.status().as_u16(), 415, "{content_type:?}");
        let error: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["code"], "unsupported_media_type");
    }
    let signed_in = s
        .raw(reqwest::Method::POST, "/v1/auth/login")
        .header("content-type", "application/json; charset=utf-8")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status().as_u16(), 200);
    // The refused attempts were never sign-ins: one success, no failure, no lockout.
    let logins: Vec<String> = s
        .journal()
        .await
        .iter()
        .filter(|e| e.seq > s.setup && e.event.action.starts_with("auth."))
        .map(|e| format!("{} {}", e.event.action, e.event.outcome.as_str()))
        .collect();
    assert_eq!(logins, ["auth.login success"]);
}

#[tokio::test]
async fn an_ingest_key_cannot_write_the_journal_of_the_journal() {
    // Item 4: any key could write section `vigil` or actor `vigil`: a forged sign-in, export
    // or store start, indistinguishable from the store's own.
    let s = TestServer::start().await;
    let before = s.journal().await.len();
    let mut forged_login = event_json(1);
    forged_login["section"] = json!("vigil");
    forged_login["action"] = json!("auth.login");
    let mut forged_start = event_json(2);
    forged_start["actor"] = json!({"id": "Vigil"});
    forged_start["action"] = json!("vigil.start");
    for (body, field, index) in [
        (
            json!([event_json(3), forged_login.clone()]),
            "section",
            Some(1),
        ),
        (forged_login.clone(), "section", None),
        (json!([forged_start.clone()]), "actor.id", Some(0)),
    ] {
        let answer = s
            .raw(reqwest::Method::POST, "/v1/events")
            .bearer_auth(&s.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 400);
        let error: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(error["error"]["field"], field, "{error}");
        assert_eq!(error["error"]["index"], json!(index), "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("vigil"),
            "{error}"
        );
    }
    assert_eq!(
        s.journal().await.len(),
        before,
        "nothing of a refused batch is stored"
    );
}
