//! The commands through Tauri's IPC on the mock runtime: what the webview sends and receives.

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, mock_context, noop_assets, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindowBuilder};

use crate::support::{console, Start, Store, PASSWORD, USER};

fn app(dir: &std::path::Path) -> tauri::App<tauri::test::MockRuntime> {
    let app = vigil_console::builder(mock_builder())
        .build(mock_context(noop_assets()))
        .unwrap();
    app.manage(console(dir));
    app
}

fn invoke(
    window: &tauri::WebviewWindow<tauri::test::MockRuntime>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

#[test]
fn the_webview_gets_answers_and_code_message_errors() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let store = runtime.block_on(Store::start());
    runtime.block_on(store.demo(200));
    let dir = tempfile::tempdir().unwrap();
    let app = app(dir.path());
    let w = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();

    let status = invoke(&w, "session_status", json!({})).unwrap();
    assert_eq!(status["state"], "signed_out");

    let err = invoke(
        &w,
        "sign_in",
        json!({"server": store.url, "user": USER, "password": "nope nope nope"}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "bad_credentials");
    assert!(err["message"].as_str().unwrap().len() > 5);

    let ok = invoke(
        &w,
        "sign_in",
        json!({"server": store.url, "user": USER, "password": PASSWORD}),
    )
    .unwrap();
    assert_eq!(ok["state"], "signed_in");
    assert_eq!(ok["user"]["name"], USER);

    let page = invoke(&w, "search", json!({"q": "section:bonuses", "limit": 5})).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 5);
    let cursor = page["next_cursor"].as_str().unwrap();
    let next = invoke(
        &w,
        "search",
        json!({"q": "section:bonuses", "limit": 5, "cursor": cursor}),
    )
    .unwrap();
    assert_ne!(next["events"][0]["id"], page["events"][0]["id"]);

    let err = invoke(&w, "search", json!({"q": "section:bonuses colour:red"})).unwrap_err();
    assert_eq!(err["code"], "bad_query");
    assert_eq!(err["column"], 17);

    let parsed = invoke(
        &w,
        "parse_query",
        json!({"q": "-actor:k.morel \"manual bonus\""}),
    )
    .unwrap();
    assert_eq!(
        parsed,
        json!({"clauses": [
            {"key": "actor", "negated": true, "values": ["k.morel"], "quoted": false},
            {"key": "text", "negated": false, "values": ["manual bonus"], "quoted": true}
        ]})
    );
    let text = invoke(&w, "print_query", json!({"clauses": parsed["clauses"]})).unwrap();
    assert_eq!(text, "-actor:k.morel \"manual bonus\"");

    let id = page["events"][0]["id"].as_str().unwrap();
    let mut entry = invoke(&w, "event", json!({"id": id})).unwrap();
    // The same entry, numbered as the copy the detail checks (search rows have no number).
    assert!(entry["copy"].is_u64(), "{entry}");
    assert!(page["events"][0].get("copy").is_none());
    entry.as_object_mut().unwrap().remove("copy");
    assert_eq!(entry, page["events"][0]);
    let t = invoke(
        &w,
        "timeline",
        json!({"q": "-section:vigil", "buckets": 10}),
    )
    .unwrap();
    let total: u64 = t["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["count"].as_u64().unwrap())
        .sum();
    // The 200 demo entries; the journal's own (the user, the key, the wrong password above, the
    // sign-in, the searches) are in section vigil.
    assert_eq!(total, 200);
    let failed = invoke(&w, "search", json!({"q": "section:vigil outcome:failure"})).unwrap();
    assert_eq!(failed["events"][0]["action"], "auth.login");
    assert_eq!(failed["events"][0]["outcome"], "failure");
    assert_eq!(failed["events"][0]["actor"]["id"], USER);

    // Values reach the webview with their exact JSON text beside them.
    let raw = r#"{"id": "0195f8a2-1111-7000-8000-00000000e1ac", "occurred_at": "2026-11-20T03:12:08.000123Z",
        "actor": {"id": "k.morel"}, "action": "player.balance.adjust", "kind": "change", "section": "finance",
        "changes": [{"field": "balance", "before": 100.10, "after": 12345678901234567890},
                    {"field": "limits", "before": {"daily": 1.50, "vip": false}, "after": "=SUM(A1) \"שלום\" 🎰"}],
        "details": {"z": 2.50, "a": [0.10, null]}}"#;
    runtime
        .block_on(store.ingester.ingest_raw(raw.as_bytes().to_vec()))
        .unwrap();
    let entry = invoke(
        &w,
        "event",
        json!({"id": "0195f8a2-1111-7000-8000-00000000e1ac"}),
    )
    .unwrap();
    assert_eq!(
        entry["exact"]["changes"][0],
        json!({"before": "100.10", "after": "12345678901234567890"})
    );
    assert_eq!(
        entry["exact"]["changes"][1]["before"],
        r#"{"daily":1.50,"vip":false}"#
    );
    assert_eq!(
        entry["exact"]["changes"][1]["after"],
        r#""=SUM(A1) \"שלום\" 🎰""#
    );
    assert_eq!(
        entry["exact"]["details"],
        "{\n  \"z\": 2.50,\n  \"a\": [\n    0.10,\n    null\n  ]\n}"
    );

    // Annotations, marks and incidents, with the arguments the webview sends.
    let marks = invoke(&w, "marks", json!({})).unwrap();
    assert_eq!(
        marks[2],
        json!({"key": "suspicious", "label_fr": "suspect", "label_en": "suspicious", "colour": "#d9822b"})
    );
    let err = invoke(
        &w,
        "annotate",
        json!({"id": id, "comment": "  ", "marks": []}),
    )
    .unwrap_err();
    assert_eq!(
        err,
        json!({"code": "invalid", "message": "Write a comment or choose at least one mark."})
    );
    let err = invoke(&w, "annotate", json!({"id": id, "marks": ["fraud"]})).unwrap_err();
    assert_eq!(err["code"], "invalid");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("the marks are: player-request, reviewed"),
        "{err}"
    );
    let done = invoke(
        &w,
        "annotate",
        json!({"id": id, "comment": "vu ✅", "marks": ["reviewed"]}),
    )
    .unwrap();
    assert_eq!(done["annotation"]["pending"], false, "sent at once: {done}");
    assert_eq!(done["outbox"]["waiting"], 0);
    let fix = invoke(
        &w,
        "annotate",
        json!({"id": id, "marks": ["suspicious"], "supersedes": done["annotation"]["id"]}),
    )
    .unwrap();
    assert_eq!(fix["annotation"]["supersedes"], done["annotation"]["id"]);
    let entry = invoke(&w, "event", json!({"id": id})).unwrap();
    let thread = entry["annotations"].as_array().unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!(
        (thread[0]["comment"].as_str(), thread[0]["author"].as_str()),
        (Some("vu ✅"), Some(USER))
    );
    assert!(thread[0]["received_at"].is_string());
    // The facets come from the search index: what follows reads it once it holds the marks
    // (how fast it follows is the benchmarks' business).
    runtime.block_on(store.indexed());
    let facets = invoke(&w, "facets", json!({"q": "", "field": "mark"})).unwrap();
    assert_eq!(
        facets["values"],
        json!([{"value": "suspicious", "count": 1}])
    );
    let opened = invoke(
        &w,
        "open_incident",
        json!({"title": "Chargebacks", "description": null}),
    )
    .unwrap();
    assert_eq!(opened["incident"]["number"], 1);
    let incident = opened["incident"]["id"].as_str().unwrap();
    invoke(&w, "pin_entry", json!({"incident": incident, "entry": id})).unwrap();
    invoke(
        &w,
        "incident_note",
        json!({"incident": incident, "text": null, "status": "closed"}),
    )
    .unwrap();
    let detail = invoke(&w, "incident", json!({"id": incident})).unwrap();
    assert_eq!(
        (
            detail["incident"]["status"].as_str(),
            detail["pins"].as_array().unwrap().len()
        ),
        (Some("closed"), 1)
    );
    let pinned = invoke(&w, "search", json!({"q": "incident:1"})).unwrap();
    assert_eq!(pinned["events"][0]["id"], id);
    assert_eq!(pinned["events"][0]["incidents"][0]["number"], 1);
    let err = invoke(
        &w,
        "incident_note",
        json!({"incident": incident, "status": "archived"}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid");
    let outbox = invoke(&w, "outbox", json!({})).unwrap();
    assert_eq!(
        (outbox["online"].as_bool(), outbox["waiting"].as_u64()),
        (Some(true), Some(0))
    );
    let err = invoke(&w, "outbox_discard", json!({"n": 99})).unwrap_err();
    assert_eq!(err["code"], "invalid");

    let saved = invoke(
        &w,
        "save_search",
        json!({"name": "Bonuses", "q": "section:bonuses"}),
    )
    .unwrap();
    assert_eq!(saved, json!([{"name": "Bonuses", "q": "section:bonuses"}]));

    let out = invoke(&w, "sign_out", json!({})).unwrap();
    assert_eq!(out["state"], "signed_out");
    let err = invoke(&w, "facets", json!({"q": "", "field": "actor"})).unwrap_err();
    assert_eq!(err["code"], "signed_out");
    drop(store);
}
