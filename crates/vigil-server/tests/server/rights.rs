//! Roles and rights: the authorization matrix (every endpoint of the OpenAPI document × every
//! built-in role, a scoped custom role and tokens that must not work), reads that return exactly
//! the rows in scope, masking in API answers and every export format, and the journal of the
//! journal with the right actor.

use std::collections::BTreeSet;

use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use vigil_client::{Client, ExportOptions, SearchOptions, Tailed};

use crate::support::{event_json, Start, TestServer, PASSWORD};

const SECRET_IP: &str = "203.0.113.77";
const SECRET_NAME: &str = "Алиса «Ω» O'Brien 🎰";
const SECRET_EMAIL: &str = "alice.player@example.com";

/// What an endpoint needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Need {
    Public,
    Session,
    Ingest,
    Right(&'static str),
    /// Read over the whole journal (not fiona, whose scope is finance), or accounts.
    WholeJournal,
}

/// One row of the matrix: the request and what a caller allowed to make it gets.
struct Row {
    method: Method,
    /// The path as the OpenAPI document writes it.
    template: &'static str,
    /// The path requested.
    path: String,
    body: Option<Value>,
    need: Need,
    ok: u16,
}

/// Who calls.
struct Caller {
    name: &'static str,
    token: Option<String>,
    /// The rights of a valid session (`None` for tokens that must not work and for keys).
    rights: Option<&'static [&'static str]>,
    kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Nobody,
    BadSession,
    Key,
    RevokedKey,
    User,
}

struct World {
    s: TestServer,
    finance: Vec<String>,
    others: Vec<String>,
}

async fn api(s: &TestServer, token: &str, method: Method, path: &str, body: Value) -> (u16, Value) {
    let r = s
        .raw(method, path)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn login(s: &TestServer, name: &str) -> String {
    s.anonymous.login(name, PASSWORD).await.unwrap().token
}

/// alice (admin) creates a scoped custom role and one user per role; the journal holds
/// finance, bonuses and players entries with personal data.
async fn world() -> World {
    let s = TestServer::start().await;
    let alice = login(&s, "alice").await;
    let (status, role) = api(
        &s,
        &alice,
        Method::POST,
        "/v1/roles",
        json!({"name": "finance-auditor", "rights": ["read", "annotate", "export"], "scope": "section:finance"}),
    )
    .await;
    assert_eq!(status, 201, "{role}");
    assert_eq!(role["scope"], "section:finance");
    for (name, role) in [
        ("audrey", "auditor"),
        ("ivan", "investigator"),
        ("vera", "viewer"),
        ("fiona", "finance-auditor"),
    ] {
        let (status, user) = api(
            &s,
            &alice,
            Method::POST,
            "/v1/users",
            json!({"name": name, "password": PASSWORD, "roles": [role]}),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        assert_eq!(user["roles"], json!([role]));
    }
    let mut events = Vec::new();
    for (n, section) in [
        (1, "finance"),
        (2, "finance"),
        (3, "finance"),
        (4, "bonuses"),
        (5, "bonuses"),
        (6, "players"),
        (7, "players"),
    ] {
        let mut e = event_json(n);
        e["section"] = json!(section);
        e["ip"] = json!(if n % 2 == 0 {
            "2001:db8:abcd:12::7"
        } else {
            SECRET_IP
        });
        e["target"] = json!({"type": "player", "id": format!("p{n}"), "name": SECRET_NAME});
        e["changes"] = json!([{"field": "email", "before": SECRET_EMAIL, "after": "new@example.com"},
                              {"field": "status", "before": "active", "after": "=blocked"}]);
        events.push(e);
    }
    s.ingester.ingest(&events).await.unwrap();
    let id = |e: &Value| e["id"].as_str().unwrap().to_owned();
    let finance: Vec<String> = events
        .iter()
        .filter(|e| e["section"] == "finance")
        .map(id)
        .collect();
    let others = events
        .iter()
        .filter(|e| e["section"] != "finance")
        .map(id)
        .collect();
    let (status, incident) = api(
        &s,
        &alice,
        Method::POST,
        "/v1/incidents",
        json!({"title": "Matrix"}),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    // A finance entry pinned: the incident is within fiona's scope (finance).
    let (status, pin) = api(
        &s,
        &alice,
        Method::POST,
        "/v1/incidents/1/entries",
        json!({"entry": finance[0]}),
    )
    .await;
    assert_eq!(status, 201, "{pin}");
    World { s, finance, others }
}

fn rows(w: &World) -> Vec<Row> {
    let fin = &w.finance[0];
    let other = &w.others[0];
    let row = |method: Method,
               template: &'static str,
               path: String,
               body: Option<Value>,
               need: Need,
               ok: u16| Row {
        method,
        template,
        path,
        body,
        need,
        ok,
    };
    use Need::*;
    let read = Right("read");
    let annotate = Right("annotate");
    let (marks, alerts, accounts) = (Right("marks"), Right("alerts"), Right("accounts"));
    // Writes carry an empty body: a caller allowed to make them gets the body's 400 (or the
    // 404 of a name that does not exist), so the matrix changes nothing it depends on.
    vec![
        row(
            Method::POST,
            "/v1/events",
            "/v1/events".into(),
            Some(json!({})),
            Ingest,
            400,
        ),
        row(
            Method::GET,
            "/v1/events",
            "/v1/events?q=-section:vigil".into(),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/events/{id}",
            format!("/v1/events/{fin}"),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/events/{id}",
            format!("/v1/events/{other}"),
            None,
            read,
            200,
        ),
        row(
            Method::POST,
            "/v1/events/{id}/annotations",
            format!("/v1/events/{fin}/annotations"),
            Some(json!({})),
            annotate,
            400,
        ),
        row(
            Method::POST,
            "/v1/events/{id}/annotations",
            format!("/v1/events/{other}/annotations"),
            Some(json!({})),
            annotate,
            400,
        ),
        row(
            Method::GET,
            "/v1/events/{id}/annotations",
            format!("/v1/events/{fin}/annotations"),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/events/{id}/annotations",
            format!("/v1/events/{other}/annotations"),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/marks",
            "/v1/marks".into(),
            None,
            read,
            200,
        ),
        row(
            Method::POST,
            "/v1/marks",
            "/v1/marks".into(),
            Some(json!({})),
            marks,
            400,
        ),
        row(
            Method::PUT,
            "/v1/marks/{key}",
            "/v1/marks/ghost".into(),
            Some(json!({})),
            marks,
            404,
        ),
        row(
            Method::DELETE,
            "/v1/marks/{key}",
            "/v1/marks/ghost".into(),
            None,
            marks,
            404,
        ),
        row(
            Method::GET,
            "/v1/incidents",
            "/v1/incidents".into(),
            None,
            read,
            200,
        ),
        row(
            Method::POST,
            "/v1/incidents",
            "/v1/incidents".into(),
            Some(json!({})),
            annotate,
            400,
        ),
        row(
            Method::GET,
            "/v1/incidents/{key}",
            "/v1/incidents/1".into(),
            None,
            read,
            200,
        ),
        row(
            Method::POST,
            "/v1/incidents/{key}/entries",
            "/v1/incidents/1/entries".into(),
            Some(json!({})),
            annotate,
            400,
        ),
        row(
            Method::POST,
            "/v1/incidents/{key}/notes",
            "/v1/incidents/1/notes".into(),
            Some(json!({})),
            annotate,
            400,
        ),
        row(
            Method::GET,
            "/v1/timeline",
            "/v1/timeline".into(),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/facets",
            "/v1/facets?field=section".into(),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/integrity/key",
            "/v1/integrity/key".into(),
            None,
            read,
            200,
        ),
        // Checkpoints and proofs: for any reader of a journal sealed from its first entry, as
        // this one is (what they see masked enters them as salted commitments).
        row(
            Method::GET,
            "/v1/integrity/checkpoint",
            "/v1/integrity/checkpoint".into(),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/integrity/proof/inclusion",
            "/v1/integrity/proof/inclusion?seq=1&size=2".into(),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/integrity/proof/consistency",
            "/v1/integrity/proof/consistency?from=1&to=2".into(),
            None,
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/integrity/checkpoints",
            "/v1/integrity/checkpoints?limit=5".into(),
            None,
            read,
            200,
        ),
        row(
            Method::POST,
            "/v1/integrity/proof/entries",
            "/v1/integrity/proof/entries".into(),
            Some(json!({"seqs": [1, 2], "size": 2})),
            read,
            200,
        ),
        row(
            Method::GET,
            "/v1/feed",
            "/v1/feed?limit=5".into(),
            None,
            Right("export"),
            200,
        ),
        row(
            Method::GET,
            "/v1/export",
            "/v1/export?format=ndjson&q=-section:vigil".into(),
            None,
            Right("export"),
            200,
        ),
        row(
            Method::GET,
            "/v1/stream",
            "/v1/stream".into(),
            None,
            read,
            200,
        ),
        row(
            Method::POST,
            "/v1/auth/login",
            "/v1/auth/login".into(),
            Some(json!({})),
            Public,
            400,
        ),
        row(Method::GET, "/v1/me", "/v1/me".into(), None, Session, 200),
        // Without the two passwords: any session gets as far as the body (400).
        row(
            Method::PUT,
            "/v1/me/password",
            "/v1/me/password".into(),
            Some(json!({})),
            Session,
            400,
        ),
        row(
            Method::GET,
            "/v1/alerts/channels",
            "/v1/alerts/channels".into(),
            None,
            alerts,
            200,
        ),
        row(
            Method::POST,
            "/v1/alerts/channels",
            "/v1/alerts/channels".into(),
            Some(json!({})),
            alerts,
            400,
        ),
        row(
            Method::DELETE,
            "/v1/alerts/channels/{name}",
            "/v1/alerts/channels/ghost".into(),
            None,
            alerts,
            404,
        ),
        row(
            Method::POST,
            "/v1/alerts/channels/{name}/test",
            "/v1/alerts/channels/ghost/test".into(),
            None,
            alerts,
            404,
        ),
        row(
            Method::GET,
            "/v1/alerts/rules",
            "/v1/alerts/rules".into(),
            None,
            alerts,
            200,
        ),
        row(
            Method::POST,
            "/v1/alerts/rules",
            "/v1/alerts/rules".into(),
            Some(json!({})),
            alerts,
            400,
        ),
        row(
            Method::DELETE,
            "/v1/alerts/rules/{name}",
            "/v1/alerts/rules/ghost".into(),
            None,
            alerts,
            404,
        ),
        row(
            Method::GET,
            "/v1/alerts/deliveries",
            "/v1/alerts/deliveries".into(),
            None,
            alerts,
            200,
        ),
        row(
            Method::POST,
            "/v1/alerts/deliveries/{id}/retry",
            "/v1/alerts/deliveries/999/retry".into(),
            None,
            alerts,
            404,
        ),
        row(
            Method::GET,
            "/v1/users",
            "/v1/users".into(),
            None,
            accounts,
            200,
        ),
        row(
            Method::POST,
            "/v1/users",
            "/v1/users".into(),
            Some(json!({})),
            accounts,
            400,
        ),
        row(
            Method::PUT,
            "/v1/users/{name}/roles",
            "/v1/users/ghost/roles".into(),
            Some(json!({"roles": ["viewer"]})),
            accounts,
            404,
        ),
        row(
            Method::POST,
            "/v1/users/{name}/revoke",
            "/v1/users/ghost/revoke".into(),
            None,
            accounts,
            404,
        ),
        row(
            Method::POST,
            "/v1/users/{name}/disable",
            "/v1/users/ghost/disable".into(),
            None,
            accounts,
            404,
        ),
        row(
            Method::POST,
            "/v1/users/{name}/enable",
            "/v1/users/ghost/enable".into(),
            None,
            accounts,
            404,
        ),
        row(
            Method::POST,
            "/v1/users/{name}/unlock",
            "/v1/users/ghost/unlock".into(),
            None,
            accounts,
            200,
        ),
        row(
            Method::GET,
            "/v1/roles",
            "/v1/roles".into(),
            None,
            accounts,
            200,
        ),
        row(
            Method::POST,
            "/v1/roles",
            "/v1/roles".into(),
            Some(json!({})),
            accounts,
            400,
        ),
        row(
            Method::DELETE,
            "/v1/roles/{name}",
            "/v1/roles/ghost".into(),
            None,
            accounts,
            404,
        ),
        row(
            Method::GET,
            "/v1/keys",
            "/v1/keys".into(),
            None,
            accounts,
            200,
        ),
        row(
            Method::POST,
            "/v1/keys",
            "/v1/keys".into(),
            Some(json!({})),
            accounts,
            400,
        ),
        row(
            Method::POST,
            "/v1/keys/{name}/revoke",
            "/v1/keys/ghost/revoke".into(),
            None,
            accounts,
            404,
        ),
        row(
            Method::GET,
            "/v1/senders",
            "/v1/senders".into(),
            None,
            WholeJournal,
            200,
        ),
        row(
            Method::GET,
            "/healthz",
            "/healthz".into(),
            None,
            Public,
            200,
        ),
        // Last: it ends the session it is sent with.
        row(
            Method::POST,
            "/v1/auth/logout",
            "/v1/auth/logout".into(),
            None,
            Session,
            204,
        ),
    ]
}

/// What `caller` must get for `row`.
fn expected(row: &Row, caller: &Caller, finance: &[String]) -> u16 {
    // The proofs name entries 1 and 2: Vigil's own (the role made first), outside a finance
    // scope.
    let proves_own = row.path.starts_with("/v1/integrity/proof/inclusion")
        || row.path == "/v1/integrity/proof/entries";
    let in_scope = !proves_own
        && (!row.path.starts_with("/v1/events/")
            || finance.iter().any(|f| row.path.contains(f.as_str())));
    match (row.need, caller.kind) {
        (Need::Public, _) => row.ok,
        (_, Kind::Nobody) => 401,
        (Need::Ingest, Kind::Key) => row.ok,
        (Need::Ingest, Kind::RevokedKey) => 401,
        // A user token, valid or not, is refused by the ingest endpoint as the wrong kind.
        (Need::Ingest, _) => 403,
        (_, Kind::Key | Kind::RevokedKey) => 403,
        (_, Kind::BadSession) => 401,
        (Need::Session, Kind::User) => row.ok,
        (Need::WholeJournal, Kind::User) => {
            let rights = caller.rights.unwrap();
            let reads_all = rights.contains(&"read") && caller.name != "fiona";
            if reads_all || rights.contains(&"accounts") {
                row.ok
            } else {
                403
            }
        }
        (Need::Right(right), Kind::User) => {
            let rights = caller.rights.unwrap();
            if !rights.contains(&right) {
                403
            } else if caller.name == "fiona" && !in_scope {
                // Outside her scope an entry does not exist for her.
                404
            } else {
                row.ok
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_endpoint_answers_each_caller_as_its_rights_say() {
    let w = world().await;
    let s = &w.s;
    let alice = login(s, "alice").await;
    // An expired session (its token is real) and a revoked one.
    let expired = vigil_server::service::credentials::new_secret(
        vigil_server::service::credentials::TOKEN_PREFIX,
    );
    let signed_in_then = s.state.now() - chrono::Duration::hours(13);
    let lock = s
        .state
        .store
        .sign_in_succeeded(
            "alice",
            signed_in_then,
            vigil_store::NewSession {
                token_hash: vigil_server::service::credentials::secret_hash(&expired),
                user: "alice".into(),
                created_at: signed_in_then,
                expires_at: s.state.now() - chrono::Duration::hours(1),
            },
            vigil_server::service::OwnEntry::by_staff(
                signed_in_then,
                "alice",
                "auth.login",
                vigil_core::Kind::Access,
            )
            .on("user", "alice", None)
            .build(),
        )
        .await
        .unwrap();
    assert_eq!(lock, None);
    let revoked = login(s, "alice").await;
    assert_eq!(
        api(s, &revoked, Method::POST, "/v1/auth/logout", json!({}))
            .await
            .0,
        204
    );
    let (status, key) = api(
        s,
        &alice,
        Method::POST,
        "/v1/keys",
        json!({"name": "old-crm"}),
    )
    .await;
    assert_eq!(status, 201, "{key}");
    let old_key = key["key"].as_str().unwrap().to_owned();
    assert_eq!(
        api(
            s,
            &alice,
            Method::POST,
            "/v1/keys/old-crm/revoke",
            json!({})
        )
        .await
        .0,
        204
    );

    const ADMIN: &[&str] = &[
        "read", "unmask", "annotate", "review", "export", "alerts", "marks", "accounts",
    ];
    let mut callers = vec![
        Caller {
            name: "nobody",
            token: None,
            rights: None,
            kind: Kind::Nobody,
        },
        Caller {
            name: "expired",
            token: Some(expired),
            rights: None,
            kind: Kind::BadSession,
        },
        Caller {
            name: "revoked",
            token: Some(revoked),
            rights: None,
            kind: Kind::BadSession,
        },
        Caller {
            name: "ingest key",
            token: Some(s.key.clone()),
            rights: None,
            kind: Kind::Key,
        },
        Caller {
            name: "revoked key",
            token: Some(old_key),
            rights: None,
            kind: Kind::RevokedKey,
        },
    ];
    for (name, rights) in [
        ("alice", ADMIN),
        (
            "audrey",
            &["read", "unmask", "annotate", "review", "export"][..],
        ),
        ("ivan", &["read", "unmask", "annotate"][..]),
        ("vera", &["read"][..]),
        ("fiona", &["read", "annotate", "export"][..]),
    ] {
        callers.push(Caller {
            name,
            token: Some(login(s, name).await),
            rights: Some(rights),
            kind: Kind::User,
        });
    }
    // /v1/me says what each role allows.
    for c in callers.iter().filter(|c| c.kind == Kind::User) {
        let (_, me) = api(
            s,
            c.token.as_deref().unwrap(),
            Method::GET,
            "/v1/me",
            json!({}),
        )
        .await;
        assert_eq!(me["rights"], json!(c.rights.unwrap()), "{}", c.name);
    }

    // The first checkpoint, signed within a second of the start.
    let mut signed = false;
    for _ in 0..100 {
        let (status, _) = api(
            s,
            &alice,
            Method::GET,
            "/v1/integrity/checkpoint",
            json!({}),
        )
        .await;
        if status == 200 {
            signed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(signed, "no checkpoint signed");

    // The matrix covers every operation of the OpenAPI document.
    let rows = rows(&w);
    let doc: Value = s
        .raw(Method::GET, "/openapi.json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.to_uppercase(), path.clone()));
        }
    }
    let covered: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r.method.to_string(), r.template.to_owned()))
        .collect();
    assert_eq!(
        covered, documented,
        "the matrix tests every documented operation"
    );

    let mut failures = Vec::new();
    let mut checked = 0;
    for row in &rows {
        for c in &callers {
            let mut request = s.raw(row.method.clone(), &row.path);
            if let Some(t) = &c.token {
                request = request.bearer_auth(t);
            }
            if let Some(b) = &row.body {
                request = request.json(b);
            }
            let response = request.send().await.unwrap();
            let got = response.status().as_u16();
            let want = expected(row, c, &w.finance);
            let streamed = row.template == "/v1/stream" || row.template == "/v1/export";
            let body = if streamed && got == 200 {
                String::new() // a tail never ends; an export is read elsewhere
            } else {
                response.text().await.unwrap_or_default()
            };
            checked += 1;
            if got != want {
                failures.push(format!(
                    "{} {} as {}: {got}, want {want} {body}",
                    row.method, row.path, c.name
                ));
            } else if want == 403 {
                // A refusal says why.
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let message = v["error"]["message"].as_str().unwrap_or("");
                if message.is_empty() {
                    failures.push(format!(
                        "{} {} as {}: a 403 without a reason",
                        row.method, row.path, c.name
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{checked} checks, {} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked, rows.len() * callers.len());
}

fn ids(events: &[vigil_core::Annotated]) -> BTreeSet<String> {
    events
        .iter()
        .map(|e| e.entry.event.id.to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reads_return_exactly_the_rows_in_scope_everywhere() {
    let w = world().await;
    let s = &w.s;
    let all: BTreeSet<String> = w.finance.iter().chain(&w.others).cloned().collect();
    let finance: BTreeSet<String> = w.finance.iter().cloned().collect();
    for (name, want) in [("alice", &all), ("vera", &all), ("fiona", &finance)] {
        let c = s.anonymous.with_token(&login(s, name).await);
        let page = c
            .search(&SearchOptions {
                limit: Some(1000),
                ..SearchOptions::query("-section:vigil")
            })
            .await
            .unwrap();
        assert_eq!(&ids(&page.events), want, "search as {name}");
        // A query can only narrow the scope.
        let page = c
            .search(&SearchOptions::query("section:bonuses"))
            .await
            .unwrap();
        assert_eq!(
            page.events.is_empty(),
            name == "fiona",
            "section:bonuses as {name}"
        );
        let t = c.timeline("-section:vigil", Some(10)).await.unwrap();
        assert_eq!(
            t.buckets.iter().map(|b| b.count).sum::<u64>(),
            want.len() as u64,
            "timeline as {name}"
        );
        let f = c.facets("", "section", None).await.unwrap();
        let sections: BTreeSet<String> = f.values.iter().map(|v| v.value.clone()).collect();
        if name == "fiona" {
            assert_eq!(
                sections,
                BTreeSet::from(["finance".to_owned()]),
                "facets as fiona"
            );
        } else {
            assert!(
                sections.contains("bonuses") && sections.contains("vigil"),
                "facets as {name}: {sections:?}"
            );
        }
        for id in &all {
            let got = c.event(id.parse().unwrap()).await;
            match want.contains(id) {
                true => assert_eq!(got.unwrap().entry.event.id.to_string(), *id),
                false => {
                    let outside = got.unwrap_err();
                    assert_eq!(outside.status(), Some(404), "{id} outside {name}'s scope");
                    // Word for word what an id that does not exist gets.
                    let ghost = uuid::Uuid::now_v7();
                    let missing = c.event(ghost).await.unwrap_err();
                    assert_eq!(
                        outside.to_string().replace(id.as_str(), "ID"),
                        missing.to_string().replace(&ghost.to_string(), "ID")
                    );
                }
            }
        }
        if name != "vera" {
            let (bytes, d) = crate::export::download(&c, "-section:vigil", "ndjson").await;
            let exported: BTreeSet<String> = String::from_utf8(bytes)
                .unwrap()
                .lines()
                // The last line is the proof of the rows.
                .filter(|l| !l.starts_with("{\"proof\":"))
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["id"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect();
            assert_eq!(&exported, want, "export as {name}");
            assert_eq!(d.rows, want.len() as u64);
        }
    }
    // An incident lists only the pins its reader may read.
    // An incident is within a scope when every entry pinned to it is: incident 1 holds a
    // finance entry (fiona sees it), incident 2 a finance and a players entry (she does not:
    // its title and notes speak of both), incident 3 nothing yet (its author alone sees it).
    let alice = login(s, "alice").await;
    for (title, pins) in [
        ("Mixed", vec![&w.finance[1], &w.others[0]]),
        ("Empty", vec![]),
    ] {
        let (status, _) = api(
            s,
            &alice,
            Method::POST,
            "/v1/incidents",
            json!({"title": title}),
        )
        .await;
        assert_eq!(status, 201);
        for id in pins {
            let (status, _) = api(
                s,
                &alice,
                Method::POST,
                &format!(
                    "/v1/incidents/{}/entries",
                    if title == "Mixed" { 2 } else { 3 }
                ),
                json!({"entry": id}),
            )
            .await;
            assert_eq!(status, 201);
        }
    }
    let fiona = login(s, "fiona").await;
    let (_, incident) = api(s, &fiona, Method::GET, "/v1/incidents/1", json!({})).await;
    let pinned: Vec<&str> = incident["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["entry"].as_str().unwrap())
        .collect();
    assert_eq!(pinned, [w.finance[0].as_str()]);
    let (_, list) = api(s, &fiona, Method::GET, "/v1/incidents", json!({})).await;
    let numbers: Vec<u64> = list["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["number"].as_u64().unwrap())
        .collect();
    assert_eq!(
        numbers,
        [1],
        "fiona lists only the incident within her scope"
    );
    let (_, all) = api(s, &alice, Method::GET, "/v1/incidents", json!({})).await;
    assert_eq!(
        all["incidents"].as_array().unwrap().len(),
        3,
        "alice lists all"
    );
    for n in [2, 3] {
        let (status, answer) = api(
            s,
            &fiona,
            Method::GET,
            &format!("/v1/incidents/{n}"),
            json!({}),
        )
        .await;
        assert_eq!(status, 404, "incident {n}: {answer}");
        assert_eq!(
            answer["error"]["message"],
            format!("incident {n} not found"),
            "as for one that does not exist"
        );
        let (status, _) = api(
            s,
            &fiona,
            Method::POST,
            &format!("/v1/incidents/{n}/notes"),
            json!({"status": "closed"}),
        )
        .await;
        assert_eq!(status, 404, "fiona cannot close incident {n}");
        let (status, _) = api(
            s,
            &fiona,
            Method::POST,
            &format!("/v1/incidents/{n}/entries"),
            json!({"entry": w.finance[2]}),
        )
        .await;
        assert_eq!(status, 404, "nor pin to it");
    }
    let (_, mixed) = api(s, &alice, Method::GET, "/v1/incidents/2", json!({})).await;
    assert_eq!(mixed["incident"]["status"], "open", "still open");
    // Nor do her answers name it: finance[1], pinned to incident 2 only, shows no incident in
    // a search or when opened; finance[0] shows incident 1.
    let incidents_of = |e: &Value| -> Vec<u64> {
        e["incidents"]
            .as_array()
            .map(|a| a.iter().map(|i| i["number"].as_u64().unwrap()).collect())
            .unwrap_or_default()
    };
    let (_, page) = api(
        s,
        &fiona,
        Method::GET,
        "/v1/events?q=section:finance&limit=50",
        json!({}),
    )
    .await;
    let by_id = |id: &str| {
        page["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(incidents_of(&by_id(&w.finance[0])), [1]);
    assert!(
        incidents_of(&by_id(&w.finance[1])).is_empty(),
        "{}",
        by_id(&w.finance[1])
    );
    let (_, opened) = api(
        s,
        &fiona,
        Method::GET,
        &format!("/v1/events/{}", w.finance[1]),
        json!({}),
    )
    .await;
    assert!(incidents_of(&opened).is_empty(), "{opened}");
    let (_, opened) = api(
        s,
        &alice,
        Method::GET,
        &format!("/v1/events/{}", w.finance[1]),
        json!({}),
    )
    .await;
    assert_eq!(incidents_of(&opened), [2], "alice sees it");

    // Writing needs the annotate right on every pinned entry: nora reads everything but
    // annotates finance only; she may read incident 2, not close it or pin to it.
    let (status, _) = api(
        s,
        &alice,
        Method::POST,
        "/v1/roles",
        json!({"name": "finance-annotator", "rights": ["annotate"], "scope": "section:finance"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        s,
        &alice,
        Method::POST,
        "/v1/users",
        json!({"name": "nora", "password": PASSWORD, "roles": ["viewer", "finance-annotator"]}),
    )
    .await;
    assert_eq!(status, 201);
    let nora = login(s, "nora").await;
    let (status, _) = api(s, &nora, Method::GET, "/v1/incidents/2", json!({})).await;
    assert_eq!(status, 200);
    let (status, refused) = api(
        s,
        &nora,
        Method::POST,
        "/v1/incidents/2/notes",
        json!({"status": "closed"}),
    )
    .await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("annotate right on every entry"),
        "{refused}"
    );
    let (status, _) = api(
        s,
        &nora,
        Method::POST,
        "/v1/incidents/1/notes",
        json!({"text": "checked"}),
    )
    .await;
    assert_eq!(status, 201, "incident 1 holds only finance entries");
    let (_, mixed) = api(s, &alice, Method::GET, "/v1/incidents/2", json!({})).await;
    assert_eq!(mixed["incident"]["status"], "open", "still open");
    // Fiona may annotate in her scope only.
    let (status, _) = api(
        s,
        &fiona,
        Method::POST,
        &format!("/v1/events/{}/annotations", w.finance[1]),
        json!({"comment": "vu"}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        s,
        &fiona,
        Method::POST,
        &format!("/v1/events/{}/annotations", w.others[1]),
        json!({"comment": "vu"}),
    )
    .await;
    assert_eq!(status, 404);

    // The live tail carries only what is in scope.
    let fiona_client = s.anonymous.with_token(&fiona);
    let mut tail = Box::pin(fiona_client.stream("", None).await.unwrap());
    assert!(matches!(tail.next().await, Some(Ok(Tailed::Ready { .. }))));
    let mut bonus = event_json(40);
    bonus["section"] = json!("bonuses");
    let fin = event_json(41);
    s.ingester.ingest(&[bonus, fin.clone()]).await.unwrap();
    match tail.next().await {
        Some(Ok(Tailed::Entry(e))) => {
            assert_eq!(e.entry.event.id.to_string(), fin["id"].as_str().unwrap())
        }
        other => panic!("expected the finance entry, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn personal_data_is_masked_in_answers_and_every_export_format() {
    let w = world().await;
    let s = &w.s;
    let vera = s.anonymous.with_token(&login(s, "vera").await);
    let audrey = s.anonymous.with_token(&login(s, "audrey").await);
    let id = w.finance[0].parse().unwrap();
    let masked = vera.event(id).await.unwrap();
    let e = &masked.entry.event;
    assert_eq!(e.ip.unwrap().to_string(), "203.0.113.0");
    assert_eq!(e.target.as_ref().unwrap().name.as_deref(), Some("[masked]"));
    let changes = e.changes.as_ref().unwrap();
    assert_eq!(
        (changes[0].before.clone(), changes[0].after.clone()),
        (json!("[masked]"), json!("[masked]"))
    );
    assert_eq!(
        changes[1].after, "=blocked",
        "fields not listed as personal stay"
    );
    assert_eq!(masked.masked, ["ip", "target.name", "changes.email"]);
    let v6 = vera.event(w.finance[1].parse().unwrap()).await.unwrap();
    assert_eq!(v6.entry.event.ip.unwrap().to_string(), "2001:db8:abcd::");
    // The auditor sees everything, byte-exact.
    let clear = audrey.event(id).await.unwrap();
    assert_eq!(clear.entry.event.ip.unwrap().to_string(), SECRET_IP);
    assert_eq!(
        clear.entry.event.target.as_ref().unwrap().name.as_deref(),
        Some(SECRET_NAME)
    );
    assert!(clear.masked.is_empty());
    // Search answers are masked too, and a masked reader cannot find an address by trying.
    let page = vera
        .search(&SearchOptions::query("-section:vigil"))
        .await
        .unwrap();
    assert!(page
        .events
        .iter()
        .all(|e| e.masked.contains(&"ip".to_owned())));
    let text = serde_json::to_string(&page).unwrap();
    assert!(!text.contains(SECRET_IP) && !text.contains(SECRET_EMAIL) && !text.contains("Алиса"));
    let err = vera
        .search(&SearchOptions::query(&format!("ip:{SECRET_IP}")))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.to_string().contains("needs the unmask right"), "{err}");
    // A live tail asking the same is refused the same, whatever else is wrong beside it.
    let probe = s
        .raw(Method::GET, &format!("/v1/stream?q=ip:{SECRET_IP}"))
        .bearer_auth(login(s, "vera").await)
        .header("Last-Event-ID", "not a seq")
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 403);
    let body: serde_json::Value = probe.json().await.unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("needs the unmask right"));
    assert_eq!(
        vera.search(&SearchOptions::query("ip:203.0.113.0/24"))
            .await
            .unwrap()
            .events
            .len(),
        4
    );
    // The live tail masks as well.
    let mut tail = Box::pin(vera.stream("", None).await.unwrap());
    assert!(matches!(tail.next().await, Some(Ok(Tailed::Ready { .. }))));
    let mut e = event_json(50);
    e["ip"] = json!(SECRET_IP);
    s.ingester.ingest(&[e]).await.unwrap();
    match tail.next().await {
        Some(Ok(Tailed::Entry(e))) => {
            assert_eq!(e.entry.event.ip.unwrap().to_string(), "203.0.113.0");
            assert_eq!(e.masked, ["ip"]);
        }
        other => panic!("expected an entry, got {other:?}"),
    }

    // Someone who may export but not unmask: every format holds masked values only.
    let alice = login(s, "alice").await;
    let (status, _) = api(
        s,
        &alice,
        Method::POST,
        "/v1/roles",
        json!({"name": "masked-export", "rights": ["read", "export"]}),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = api(
        s,
        &alice,
        Method::POST,
        "/v1/users",
        json!({"name": "max", "password": PASSWORD, "roles": ["masked-export"]}),
    )
    .await;
    assert_eq!(status, 201);
    let max_token = login(s, "max").await;
    let max = s.anonymous.with_token(&max_token);
    // An export asking for the address is refused as a search is, whatever else is wrong.
    let probe = s
        .raw(
            Method::GET,
            &format!("/v1/export?format=csv&q=ip:{SECRET_IP}&tz=Mars/Olympus"),
        )
        .bearer_auth(&max_token)
        .send()
        .await
        .unwrap();
    assert_eq!(probe.status(), 403);
    for format in ["csv", "xlsx", "json", "ndjson"] {
        let (bytes, d) = crate::export::download(&max, "section:finance", format).await;
        assert_eq!(d.rows, 4, "{format}");
        let text = if format == "xlsx" {
            crate::export::xlsx_dump(&bytes).to_string()
        } else {
            String::from_utf8(bytes).unwrap()
        };
        for secret in [SECRET_IP, SECRET_EMAIL, "Алиса"] {
            assert!(!text.contains(secret), "{format} holds {secret}");
        }
        assert!(
            text.contains("[masked]") && text.contains("203.0.113.0"),
            "{format}: {text}"
        );
        // The About says so (inside XLSX and JSON; in the journal entry for the others).
        if matches!(format, "xlsx" | "json") {
            assert!(
                text.contains("masked for max"),
                "{format}: the About says what is masked"
            );
        }
    }
    // Unmasked for those who may see it.
    let (bytes, _) = crate::export::download(&audrey, "section:finance", "csv").await;
    assert!(String::from_utf8(bytes).unwrap().contains(SECRET_EMAIL));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_journal_records_who_read_signed_in_and_changed_accounts() {
    let w = world().await;
    let s = &w.s;
    let vera = login(s, "vera").await;
    let (status, _) = s
        .anonymous
        .login("vera", "wrong password!")
        .await
        .map(|_| (200, ()))
        .unwrap_or_else(|e| (e.status().unwrap(), ()));
    assert_eq!(status, 401);
    let v = s.anonymous.with_token(&vera);
    v.search(&SearchOptions::query("section:finance «Ω»"))
        .await
        .unwrap();
    // Further pages of the same search are not journaled again.
    let first = v
        .search(&SearchOptions {
            limit: Some(1),
            ..SearchOptions::query("-section:vigil")
        })
        .await
        .unwrap();
    v.search(&SearchOptions {
        limit: Some(1),
        cursor: first.next_cursor.clone(),
        ..SearchOptions::query("-section:vigil")
    })
    .await
    .unwrap();
    v.event(w.finance[0].parse().unwrap()).await.unwrap(); // finance is sensitive
    v.event(w.others[0].parse().unwrap()).await.unwrap(); // bonuses is not
    v.logout().await.unwrap();
    let alice = login(s, "alice").await;
    api(
        s,
        &alice,
        Method::PUT,
        "/v1/users/vera/roles",
        json!({"roles": ["viewer", "finance-auditor"]}),
    )
    .await;
    api(
        s,
        &alice,
        Method::POST,
        "/v1/roles",
        json!({"name": "tmp", "rights": ["read"], "scope": "section:players"}),
    )
    .await;
    api(s, &alice, Method::DELETE, "/v1/roles/tmp", json!({})).await;
    api(s, &alice, Method::POST, "/v1/users/vera/revoke", json!({})).await;
    let journal = s.journal().await;
    let of = |actor: &str| -> Vec<(String, String)> {
        journal
            .iter()
            .filter(|e| e.event.section == "vigil" && e.event.actor.id == actor)
            .map(|e| (e.event.action.clone(), e.event.outcome.as_str().to_owned()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, o)| (a.to_string(), o.to_string()))
            .collect()
    };
    assert_eq!(
        of("vera"),
        pairs(&[
            ("auth.login", "success"),
            ("auth.login", "failure"),
            ("journal.search", "success"),
            ("journal.search", "success"),
            ("entry.open", "success"),
            ("auth.logout", "success"),
        ])
    );
    let searches: Vec<&Value> = journal
        .iter()
        .filter(|e| e.event.action == "journal.search" && e.event.actor.id == "vera")
        .map(|e| &e.event.details.as_ref().unwrap()["q"])
        .collect();
    assert_eq!(
        searches,
        [&json!("section:finance «Ω»"), &json!("-section:vigil")]
    );
    let opened = journal
        .iter()
        .find(|e| e.event.action == "entry.open")
        .unwrap();
    assert_eq!(opened.event.target.as_ref().unwrap().id, w.finance[0]);
    let by_alice: Vec<(String, String)> = of("alice")
        .into_iter()
        .filter(|(a, _)| a != "auth.login")
        .collect();
    assert_eq!(
        by_alice,
        pairs(&[
            ("role.create", "success"),
            ("user.create", "success"),
            ("user.create", "success"),
            ("user.create", "success"),
            ("user.create", "success"),
            ("incident.create", "success"),
            ("incident.pin", "success"),
            ("user.roles", "success"),
            ("role.create", "success"),
            ("role.delete", "success"),
            ("user.revoke", "success"),
        ])
    );
    let roles = journal
        .iter()
        .find(|e| e.event.action == "user.roles")
        .unwrap();
    let change = &roles.event.changes.as_ref().unwrap()[0];
    assert_eq!(
        (change.before.clone(), change.after.clone()),
        (json!(["viewer"]), json!(["viewer", "finance-auditor"]))
    );
    // All of it under the same chain.
    let report = vigil_server::service::journal::verify(&s.state)
        .await
        .unwrap();
    assert!(
        report.starts_with(&format!("verified {} entries", journal.len())),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_account_requests_get_a_precise_4xx_and_change_nothing() {
    let w = world().await;
    let s = &w.s;
    let alice = login(s, "alice").await;
    let before = s.count().await;
    let cases = [
        (
            Method::POST,
            "/v1/users",
            json!({"name": "bob", "password": "short", "roles": ["viewer"]}),
            400,
            "at least 10 characters",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"name": "bob", "password": PASSWORD, "roles": ["boss"]}),
            400,
            "role \"boss\" does not exist",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"name": "b o b", "password": PASSWORD, "roles": ["viewer"]}),
            400,
            "must be 1 to 64",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"name": "vera", "password": PASSWORD, "roles": ["viewer"]}),
            409,
            "already exists",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"name": "bob", "password": PASSWORD, "roles": []}),
            400,
            "at least one role",
        ),
        (
            Method::POST,
            "/v1/roles",
            json!({"name": "x", "rights": ["fly"]}),
            400,
            "\"fly\" is not a right",
        ),
        (
            Method::POST,
            "/v1/roles",
            json!({"name": "x", "rights": ["read"], "scope": "colour:red"}),
            400,
            "scope: column 1",
        ),
        (
            Method::POST,
            "/v1/roles",
            json!({"name": "Admin!", "rights": ["fly"], "scope": "("}),
            400,
            "scope: column 1",
        ),
        (
            Method::POST,
            "/v1/roles",
            json!({"name": "Admin!", "rights": ["read"]}),
            400,
            "role name",
        ),
        (
            Method::POST,
            "/v1/roles",
            json!({"name": "admin", "rights": ["read"]}),
            409,
            "built-in role",
        ),
        (
            Method::POST,
            "/v1/roles",
            json!({"name": "finance-auditor", "rights": ["read"]}),
            409,
            "already exists",
        ),
        (
            Method::DELETE,
            "/v1/roles/finance-auditor",
            json!({}),
            409,
            "held by fiona",
        ),
        (
            Method::DELETE,
            "/v1/roles/viewer",
            json!({}),
            400,
            "built-in role",
        ),
        (
            Method::PUT,
            "/v1/users/vera/roles",
            json!({"roles": ["nope"]}),
            400,
            "does not exist",
        ),
        (
            Method::POST,
            "/v1/keys",
            json!({"name": "backoffice"}),
            409,
            "already exists",
        ),
        (
            Method::PUT,
            "/v1/users/alice/roles",
            json!({"roles": ["viewer"]}),
            409,
            "\"alice\" is the last user who may manage users, roles and keys",
        ),
        (
            Method::PUT,
            "/v1/users/alice/roles",
            json!({"roles": []}),
            409,
            "\"alice\" is the last user who may manage users, roles and keys",
        ),
        (
            Method::PUT,
            "/v1/users/vera/roles",
            json!({"roles": []}),
            400,
            "at least one role",
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"name": "dup", "password": PASSWORD, "roles": ["viewer", "viewer", "fly"]}),
            400,
            "role \"fly\" does not exist",
        ),
    ];
    for (method, path, body, status, why) in cases {
        let (got, answer) = api(s, &alice, method.clone(), path, body.clone()).await;
        assert_eq!(got, status, "{method} {path} {body}: {answer}");
        let message = answer["error"]["message"].as_str().unwrap_or("");
        assert!(
            message.contains(why),
            "{method} {path} {body}: {message:?} should say {why:?}"
        );
    }
    assert_eq!(s.count().await, before, "refused changes journal nothing");
    // No roles is invalid input; a role that does not exist is named as such.
    for (roles, code) in [(json!([]), "invalid"), (json!(["nope"]), "unknown_role")] {
        let (_, answer) = api(
            s,
            &alice,
            Method::PUT,
            "/v1/users/vera/roles",
            json!({ "roles": roles }),
        )
        .await;
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert_eq!(answer["error"]["field"], "roles", "{answer}");
    }
    // A role taken away applies to the next request of a live session.
    let fiona = s.anonymous.with_token(&login(s, "fiona").await);
    assert!(fiona.search(&SearchOptions::query("")).await.is_ok());
    let (status, _) = api(
        s,
        &alice,
        Method::PUT,
        "/v1/users/fiona/roles",
        json!({"roles": ["viewer"]}),
    )
    .await;
    assert_eq!(status, 200);
    let err = fiona
        .export(&ExportOptions {
            format: "csv".into(),
            ..Default::default()
        })
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(
        err.to_string().contains(
            "exporting needs the export right, which none of \"fiona\"'s roles (viewer) grants"
        ),
        "{err}"
    );
    // Roles given twice count once; once someone else may manage accounts, alice may step down.
    let (status, user) = api(
        s,
        &alice,
        Method::PUT,
        "/v1/users/audrey/roles",
        json!({"roles": ["admin", "auditor", "admin"]}),
    )
    .await;
    assert_eq!(
        (status, &user["roles"]),
        (200, &json!(["admin", "auditor"]))
    );
    let (status, user) = api(
        s,
        &alice,
        Method::PUT,
        "/v1/users/alice/roles",
        json!({"roles": ["viewer"]}),
    )
    .await;
    assert_eq!((status, &user["roles"]), (200, &json!(["viewer"])));
    let (status, _) = api(s, &alice, Method::GET, "/v1/users", json!({})).await;
    assert_eq!(status, 403, "alice's next request has her new role");
    let _: &Client = &fiona;
}
