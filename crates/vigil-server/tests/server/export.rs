//! `GET /v1/export` against a real server: every format read back, the export's own journal
//! entry, bad requests, and a client that goes away.

use std::path::PathBuf;

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vigil_client::{Client, ExportOptions};
use vigil_core::StoredEvent;

use crate::support::{event_json, Start, TestServer};

/// Texts that must come out exactly.
const HARD: &[&str] = &[
    "=HYPERLINK(\"http://evil.example\",\"x\")",
    "+33 6 12 34 56 78",
    "-1 bonus",
    "@admin",
    "مرحبا — سحب ملغى",
    "emoji 🎰💸",
    "two\nlines, \"quoted\"",
    "Crème brûlée",
];

async fn seed(s: &TestServer) -> Vec<String> {
    let mut batch = Vec::new();
    for (i, text) in HARD.iter().enumerate() {
        let mut e = event_json(i as u32);
        e["reason"] = json!(text);
        // Parsed from text, so the numbers keep the digits as written.
        e["changes"] = serde_json::from_str(
            r#"[{"field": "balance", "before": 100.10, "after": 12345678901234567890}]"#,
        )
        .unwrap();
        if i % 3 == 0 {
            e["severity"] = json!("critical");
        }
        batch.push(e);
    }
    for i in 0..5 {
        let mut e = event_json(100 + i);
        e["section"] = json!("bonuses");
        batch.push(e);
    }
    s.ingester.ingest(&batch).await.unwrap();
    HARD.iter().map(|t| t.to_string()).collect()
}

pub(crate) async fn download(
    client: &Client,
    q: &str,
    format: &str,
) -> (Vec<u8>, vigil_client::Download) {
    let mut d = client
        .export(&ExportOptions {
            q: q.into(),
            format: format.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let mut bytes = Vec::new();
    while let Some(chunk) = d.chunk().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    (bytes, d)
}

/// Ingests `n` entries, each with a `reason` of `reason_chars` characters (exports larger
/// than the buffers between server and client), in batches of 500.
pub(crate) async fn ingest_bulky(s: &TestServer, n: u32, reason_chars: usize) {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            let mut e = event_json(i);
            e["reason"] = json!("x".repeat(reason_chars));
            e
        })
        .collect();
    for batch in events.chunks(500) {
        s.ingester.ingest(batch).await.unwrap();
    }
}

/// Every entry matching `q`, newest first, through the search API.
async fn searched(client: &Client, q: &str) -> Vec<StoredEvent> {
    searched_in(client, q, vigil_store::Order::Newest).await
}

pub(crate) fn xlsx_dump(bytes: &[u8]) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let python = std::env::var_os("VIGIL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".tools/py/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup",
        python.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.xlsx");
    std::fs::write(&file, bytes).unwrap();
    let out = std::process::Command::new(python)
        .arg(root.join("crates/vigil-export/tests/export/xlsx_dump.py"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn every_format_carries_the_matching_entries_exactly_and_the_export_is_journaled() {
    let s = TestServer::start().await;
    let texts = seed(&s).await;
    let q = "section:finance";
    let expected = searched(&s.reader, q).await;
    assert_eq!(expected.len(), texts.len());

    // NDJSON: the entries as the API gives them, in the same order, and the digest.
    let (nd, d) = download(&s.reader, q, "ndjson").await;
    assert_eq!(d.rows, expected.len() as u64, "rows to expect, in a header");
    assert!(d.filename.as_deref().unwrap().ends_with(".ndjson"));
    // The rows, then the proof of them as the last line.
    let rows_end = nd[..nd.len() - 1]
        .iter()
        .rposition(|b| *b == b'\n')
        .unwrap()
        + 1;
    let proof: serde_json::Value = serde_json::from_slice(&nd[rows_end..]).unwrap();
    assert_eq!(proof["proof"]["version"], "vigil export proof v1");
    let mut lines: Vec<StoredEvent> = nd[..rows_end]
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect();
    // Each row carries its entry's salt (with it the row is checked from its content), which
    // the API gives only with proofs and the feed.
    for row in &mut lines {
        assert!(row.salt.take().is_some(), "entry {} has no salt", row.seq);
    }
    assert_eq!(lines, expected);
    let text = String::from_utf8(nd.clone()).unwrap();
    assert!(text.contains("\"before\":100.10"), "exact number text");
    assert!(text.contains("12345678901234567890"));
    // The journal entry of the export holds its About, written before the body ended.
    let entry = s.reader.event(d.entry).await.unwrap();
    assert_eq!(entry.entry.event.section, "vigil");
    assert_eq!(entry.entry.event.action, "journal.export");
    assert_eq!(entry.entry.event.actor.id, "alice");
    assert_eq!(entry.entry.event.outcome, vigil_core::Outcome::Success);
    let about = entry.entry.event.details.unwrap();
    assert_eq!(about["rows"], expected.len());
    assert_eq!(about["format"], "ndjson");
    assert_eq!(about["query"], q);
    assert_eq!(about["generated_by"], "alice");
    assert_eq!(
        about["sha256"],
        hex::encode(Sha256::digest(&nd[..rows_end]))
    );
    assert_eq!(about["file_sha256"], hex::encode(Sha256::digest(&nd)));
    assert_eq!(about["checkpoint"], proof["proof"]["checkpoint"]["size"]);
    assert_eq!(about["journal_entry"], d.entry.to_string());

    // CSV: same rows, values exact once the formula guard is removed, none a formula.
    let (csv_bytes, d) = download(&s.reader, q, "csv").await;
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let headers = reader.headers().unwrap().clone();
    let reason = headers.iter().position(|h| h == "reason").unwrap();
    let id = headers.iter().position(|h| h == "id").unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), expected.len());
    for (row, e) in rows.iter().zip(&expected) {
        assert_eq!(row[id], e.event.id.to_string());
        assert_eq!(
            vigil_export::cell::restore(&row[reason]),
            e.event.reason.as_deref().unwrap()
        );
        for cell in row.iter() {
            assert!(!vigil_export::cell::is_dangerous(cell), "{cell:?}");
        }
    }
    let csv_about = s
        .reader
        .event(d.entry)
        .await
        .unwrap()
        .entry
        .event
        .details
        .unwrap();
    assert_eq!(
        csv_about["sha256"], about["sha256"],
        "one digest for the same rows"
    );
    assert_eq!(
        csv_about["file_sha256"],
        hex::encode(Sha256::digest(&csv_bytes))
    );

    // JSON: one document with its About.
    let (json_bytes, d) = download(&s.reader, q, "json").await;
    let doc: Value = serde_json::from_slice(&json_bytes).unwrap();
    let mut events: Vec<StoredEvent> = serde_json::from_value(doc["events"].clone()).unwrap();
    for row in &mut events {
        assert!(row.salt.take().is_some(), "entry {} has no salt", row.seq);
    }
    assert_eq!(events, expected);
    assert_eq!(doc["about"]["journal_entry"], d.entry.to_string());
    assert_eq!(doc["about"]["rows"], expected.len());

    // XLSX, read by openpyxl: the rows, and the About sheet naming the journal entry.
    let (xlsx, d) = download(&s.reader, q, "xlsx").await;
    let dump = xlsx_dump(&xlsx);
    let table = dump["sheets"][0]["rows"].as_array().unwrap();
    assert_eq!(table.len(), expected.len() + 1);
    let header: Vec<&str> = table[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["v"].as_str().unwrap())
        .collect();
    let reason = header.iter().position(|h| *h == "reason").unwrap();
    for (row, e) in table[1..].iter().zip(&expected) {
        assert_eq!(row[reason]["v"], e.event.reason.as_deref().unwrap());
        assert_ne!(row[reason]["t"], "f");
    }
    let about_sheet = dump["sheets"][1]["rows"].as_array().unwrap();
    assert!(about_sheet
        .iter()
        .any(|r| r[0]["v"] == "Journal entry of this export" && r[1]["v"] == d.entry.to_string()));

    // Four exports, four entries in the journal, and the chain still verifies.
    let exports = searched(&s.reader, "section:vigil action:journal.export").await;
    assert_eq!(exports.len(), 4);
    vigil_server::service::journal::verify(&s.state)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_export_that_matches_nothing_says_no_activity() {
    let s = TestServer::start().await;
    seed(&s).await;
    let (csv_bytes, d) = download(&s.reader, "section:nowhere", "csv").await;
    assert_eq!(d.rows, 0);
    let text = String::from_utf8(csv_bytes).unwrap();
    assert_eq!(text.lines().count(), 1, "the header alone: {text}");
    let about = s
        .reader
        .event(d.entry)
        .await
        .unwrap()
        .entry
        .event
        .details
        .unwrap();
    assert_eq!(about["summary"], "No activity");
    assert_eq!(about["rows"], 0);
    let (json_bytes, _) = download(&s.reader, "section:nowhere", "json").await;
    let doc: Value = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(doc["events"], json!([]));
    assert_eq!(doc["about"]["summary"], "No activity");
}

#[tokio::test]
async fn bad_export_requests_are_refused_precisely_and_record_nothing() {
    let s = TestServer::start().await;
    seed(&s).await;
    let t = token(&s).await;
    let before = s.count().await;
    let err = |o: ExportOptions, client: Client| async move {
        client.export(&o).await.map(|_| ()).unwrap_err()
    };
    let opts = |q: &str, format: &str| ExportOptions {
        q: q.into(),
        format: format.into(),
        ..Default::default()
    };
    let e = err(opts("", ""), s.reader.clone()).await;
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("csv, xlsx, json, ndjson"), "{e}");
    let e = err(opts("", "pdf"), s.reader.clone()).await;
    assert_eq!(e.status(), Some(400));
    assert!(e.to_string().contains("\"pdf\""), "{e}");
    let e = err(opts("actor:", "csv"), s.reader.clone()).await;
    assert_eq!(e.code(), Some("bad_query"));
    let e = err(opts("", "csv"), s.anonymous.clone()).await;
    assert_eq!(e.status(), Some(401));
    let e = err(opts("", "csv"), s.ingester.clone()).await;
    assert_eq!(e.status(), Some(403));
    let bad_tz = s
        .raw(reqwest::Method::GET, "/v1/export?format=csv&tz=Mars")
        .bearer_auth(&t)
        .send()
        .await
        .unwrap();
    assert_eq!(bad_tz.status(), 400);
    assert_eq!(
        s.count().await,
        before,
        "no export entry for a refused request"
    );
}

async fn token(s: &TestServer) -> String {
    s.anonymous
        .login("alice", crate::support::PASSWORD)
        .await
        .unwrap()
        .token
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_a_failed_export_in_the_journal() {
    let s = TestServer::start().await;
    // Enough entries that the export cannot fit in the buffers between server and client.
    ingest_bulky(&s, 12_000, 400).await;
    let mut d = s
        .reader
        .export(&ExportOptions {
            q: "-section:vigil".into(),
            format: "ndjson".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(d.rows, 12_000);
    d.chunk().await.unwrap().unwrap();
    let entry = d.entry;
    drop(d);
    let mut recorded = None;
    for _ in 0..100 {
        match s.reader.event(entry).await {
            Ok(e) => {
                recorded = Some(e);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    let recorded = recorded.expect("the failed export is journaled");
    assert_eq!(recorded.entry.event.outcome, vigil_core::Outcome::Failure);
    let details = recorded.entry.event.details.unwrap();
    assert!(
        details["error"]
            .as_str()
            .unwrap()
            .contains("closed the connection"),
        "{details:?}"
    );
}

/// Every entry matching `q` in `order`, through the search API.
async fn searched_in(client: &Client, q: &str, order: vigil_store::Order) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = client
            .search(&vigil_client::SearchOptions {
                q: q.into(),
                limit: Some(100),
                cursor,
                order: Some(order),
            })
            .await
            .unwrap();
        out.extend(page.events.into_iter().map(|a| a.entry));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

#[tokio::test]
async fn read_in_many_slices_an_export_is_the_search_as_it_was_when_it_began() {
    use vigil_server::service::exports::{index_caught_up, Export};
    use vigil_server::service::own_entry::staff;
    use vigil_store::Order;
    let s = TestServer::start().await;
    // 400 entries over four weeks; a quarter share one instant (ties broken by seq).
    let batch: Vec<Value> = (0..400u32)
        .map(|i| {
            let mut e = event_json(i);
            if i % 4 == 0 {
                e["occurred_at"] = json!("2026-11-05T10:00:00.000001Z");
            }
            e
        })
        .collect();
    for chunk in batch.chunks(100) {
        s.ingester.ingest(chunk).await.unwrap();
    }
    let store = s.state.store.clone();
    index_caught_up(store.as_ref(), std::time::Duration::from_secs(10))
        .await
        .unwrap();
    for order in [Order::Newest, Order::Oldest] {
        let q = "section:finance -actor:staff2";
        let export_as = |format| Export {
            scope: None,
            mask: None,
            withhold_hashes: false,
            prove: None,
            query_text: q.into(),
            query: q.parse().unwrap(),
            tz: vigil_store::utc(),
            order,
            format,
            bom: false,
            by: staff("alice"),
            at: chrono::Utc::now(),
            entry: uuid::Uuid::now_v7(),
        };
        let export = export_as(vigil_export::Format::Ndjson);
        let plan = export.plan_with(store.as_ref(), 7).await.unwrap();
        assert!(plan.slices.len() > 10, "{} slices", plan.slices.len());
        let want = searched_in(&s.reader, q, order).await;
        // Stored after the plan: left out, wherever its time falls.
        let mut late = event_json(3);
        late["occurred_at"] = json!("2026-11-05T10:00:00.000001Z");
        s.ingester.ingest(&[late]).await.unwrap();
        index_caught_up(store.as_ref(), std::time::Duration::from_secs(10))
            .await
            .unwrap();
        let stopping = tokio::sync::watch::channel(vigil_server::service::exports::Halt::Go).1;
        let (bytes, about) = export
            .run(&plan, store.clone(), Vec::new(), stopping, |_| {})
            .await
            .unwrap();
        let got: Vec<u64> = bytes
            .split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice::<StoredEvent>(l).unwrap().seq)
            .collect();
        let want: Vec<u64> = want.iter().map(|e| e.seq).collect();
        assert_eq!(got, want, "{order:?}: the search's rows, in its order");
        assert_eq!(about.rows, plan.total);
        assert_eq!(about.journal_seq, Some(plan.head));

        // XLSX pages number their rows: across dozens of slices and pages, each row in its
        // place, as openpyxl reads the sheet.
        let stopping = tokio::sync::watch::channel(vigil_server::service::exports::Halt::Go).1;
        let (xlsx, xlsx_about) = export_as(vigil_export::Format::Xlsx)
            .run(&plan, store.clone(), Vec::new(), stopping, |_| {})
            .await
            .unwrap();
        assert_eq!(xlsx_about.sha256, about.sha256, "the same rows");
        let dump = xlsx_dump(&xlsx);
        let table = dump["sheets"][0]["rows"].as_array().unwrap();
        let seq = table[0]
            .as_array()
            .unwrap()
            .iter()
            .position(|c| c["v"] == "seq")
            .unwrap();
        let sheet: Vec<u64> = table[1..]
            .iter()
            .map(|r| r[seq]["v"].as_u64().unwrap())
            .collect();
        assert_eq!(sheet, want, "{order:?}: the sheet's rows");
        assert_eq!(
            dump["sheets"][0]["filter"],
            format!("A1:AH{}", want.len() + 1)
        );
    }
}
