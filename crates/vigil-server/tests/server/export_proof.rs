//! Exports that prove themselves: NDJSON and JSON files from `GET /v1/export` carry the proof of
//! their rows, and `vigil verify --export` (the command a user runs, without the store) accepts
//! them untouched and names what was changed in each tampered copy; CSV and XLSX files are
//! checked against the NDJSON or JSON export of the same query.

use std::path::{Path, PathBuf};
use std::process::Command;

use reqwest::Method;
use serde_json::{json, Value};

use crate::support::{Start, TestServer, PASSWORD};

async fn token_of(s: &TestServer, name: &str) -> String {
    s.anonymous.login(name, PASSWORD).await.unwrap().token
}

/// An export as the API sends it, saved under `dir/name`.
async fn export(s: &TestServer, token: &str, query: &str, dir: &Path, name: &str) -> PathBuf {
    let format = name.rsplit('.').next().unwrap();
    let answer = s
        .raw(Method::GET, "/v1/export")
        .query(&[("q", query), ("format", format), ("bom", "true")])
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    let path = dir.join(name);
    std::fs::write(&path, answer.bytes().await.unwrap()).unwrap();
    path
}

/// `vigil verify --export FILE --key KEY [more]`: whether it passed, and what it said.
fn verify(file: &Path, key: &Path, more: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .arg("verify")
        .arg("--export")
        .arg(file)
        .arg("--key")
        .arg(key)
        .args(more)
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// A change to a file's lines.
type Change = Box<dyn FnOnce(&mut Vec<String>)>;

/// A copy of `file` with `change` made to its lines.
fn tampered(file: &Path, name: &str, change: impl FnOnce(&mut Vec<String>)) -> PathBuf {
    let text = std::fs::read_to_string(file).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    change(&mut lines);
    let out = file.with_file_name(name);
    std::fs::write(&out, lines.join("\n") + "\n").unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_prove_themselves_and_every_change_to_them_is_caught() {
    let s = TestServer::start().await;
    let alice = token_of(&s, "alice").await;
    s.demo(900).await;
    s.indexed().await;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("store.pem");
    let (status, answer) = {
        let r = s
            .raw(Method::GET, "/v1/integrity/key")
            .bearer_auth(&alice)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    assert_eq!(status, 200);
    std::fs::write(&key, answer["pem"].as_str().unwrap()).unwrap();

    // No checkpoint is due yet (the server's clock stands still): the export asks for one
    // that holds its entries, and the signer signs it at once.
    let q = "section:finance";
    let ndjson = export(&s, &alice, q, dir.path(), "finance.ndjson").await;
    let json_file = export(&s, &alice, q, dir.path(), "finance.json").await;
    let csv = export(&s, &alice, q, dir.path(), "finance.csv").await;
    let xlsx = export(&s, &alice, q, dir.path(), "finance.xlsx").await;
    let everything = export(&s, &alice, "", dir.path(), "all.ndjson").await;
    let journal = s.journal().await;
    let finance: Vec<u64> = journal
        .iter()
        .filter(|e| e.event.section == "finance")
        .map(|e| e.seq)
        .collect();
    assert!(finance.len() > 50, "{}", finance.len());

    // The NDJSON file: the rows, then one line with the proof; the JSON file: `proof` after
    // `about`, which names the checkpoint.
    let text = std::fs::read_to_string(&ndjson).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), finance.len() + 1);
    let proof: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    assert_eq!(proof["proof"]["version"], "vigil export proof v1");
    let size = proof["proof"]["checkpoint"]["size"].as_u64().unwrap();
    assert!(size >= *finance.last().unwrap());
    let whole: Value = serde_json::from_slice(&std::fs::read(&json_file).unwrap()).unwrap();
    assert_eq!(whole["events"].as_array().unwrap().len(), finance.len());
    assert!(whole["about"]["checkpoint"].as_u64().unwrap() >= size);
    assert!(whole["proof"]["nodes"].is_array());

    for file in [&ndjson, &json_file, &everything] {
        let (ok, said) = verify(file, &key, &[]);
        assert!(ok, "{}: {said}", file.display());
        assert!(
            said.contains("ok: every row is an entry of the journal"),
            "{said}"
        );
    }
    let (_, said) = verify(&ndjson, &key, &[]);
    assert!(said.contains(&format!("{} rows", finance.len())), "{said}");
    // Every entry: the rows are the whole tree but its newest few; a handful of hashes.
    let all = std::fs::read_to_string(&everything).unwrap();
    let all_proof: Value = serde_json::from_str(all.lines().last().unwrap()).unwrap();
    assert!(all_proof["proof"]["nodes"].as_array().unwrap().len() <= 12);
    // CSV and XLSX, against the NDJSON or JSON export of the same query.
    for (file, against) in [(&csv, &json_file), (&xlsx, &ndjson), (&csv, &ndjson)] {
        let against = against.to_str().unwrap();
        let (ok, said) = verify(file, &key, &["--against", against]);
        assert!(ok, "{}: {said}", file.display());
        assert!(said.contains("rows: the same as in"), "{said}");
    }
    let (ok, said) = verify(&csv, &key, &[]);
    assert!(
        !ok && said.contains("give the NDJSON or JSON export"),
        "{said}"
    );
    let (ok, said) = verify(&csv, &key, &["--against", everything.to_str().unwrap()]);
    assert!(
        !ok && said.contains("differs from the proved rows"),
        "{said}"
    );
    let (ok, said) = verify(&xlsx, &key, &["--against", everything.to_str().unwrap()]);
    assert!(!ok && said.contains("Entries sheet differs"), "{said}");

    // Each change to the NDJSON file is caught, and named.
    let rows = finance.len();
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "a byte of a row",
            Box::new(|l: &mut Vec<String>| l[3] = l[3].replacen("\"finance\"", "\"financf\"", 1)),
            "row 4 (entry",
        ),
        (
            "a row removed",
            Box::new(|l: &mut Vec<String>| {
                l.remove(5);
            }),
            "",
        ),
        (
            "a row twice",
            Box::new(|l: &mut Vec<String>| {
                let again = l[2].clone();
                l.insert(3, again);
            }),
            "in the file twice",
        ),
        (
            "two rows swapped",
            Box::new(|l: &mut Vec<String>| l.swap(1, 2)),
            "out of the file's order",
        ),
        (
            "a hash of the proof",
            Box::new(move |l: &mut Vec<String>| {
                let mut p: Value = serde_json::from_str(&l[rows]).unwrap();
                let node = p["proof"]["nodes"][0].as_str().unwrap().to_owned();
                let flipped = if node.starts_with('0') { "1" } else { "0" };
                p["proof"]["nodes"][0] = json!(format!("{flipped}{}", &node[1..]));
                l[rows] = p.to_string();
            }),
            "not entries of the journal under the checkpoint",
        ),
        (
            "the checkpoint's size",
            Box::new(move |l: &mut Vec<String>| {
                let mut p: Value = serde_json::from_str(&l[rows]).unwrap();
                let size = p["proof"]["checkpoint"]["size"].as_u64().unwrap();
                p["proof"]["checkpoint"]["size"] = json!(size + 1);
                l[rows] = p.to_string();
            }),
            "signature",
        ),
        (
            "the proof removed",
            Box::new(|l: &mut Vec<String>| {
                l.pop();
            }),
            "carries no proof",
        ),
        (
            "a member added to a row",
            Box::new(|l: &mut Vec<String>| {
                l[2] = l[2].replacen("{", "{\"approved_by\":\"CFO\",", 1)
            }),
            "row 3 (entry",
        ),
        (
            "a time written with an offset",
            Box::new(|l: &mut Vec<String>| {
                let mut v: Value = serde_json::from_str(&l[1]).unwrap();
                let t = chrono::DateTime::parse_from_rfc3339(v["occurred_at"].as_str().unwrap())
                    .unwrap()
                    .with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
                let text = v["occurred_at"].as_str().unwrap().to_owned();
                let _ = v.take();
                l[1] = l[1].replace(
                    &text,
                    &t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
                );
            }),
            "not as Vigil wrote it",
        ),
        (
            "a row with seq 0",
            Box::new(|l: &mut Vec<String>| {
                let mut v: Value = serde_json::from_str(&l[0]).unwrap();
                v["seq"] = json!(0);
                l[0] = v.to_string();
            }),
            "seq 0",
        ),
        (
            "a line added after the proof",
            Box::new(|l: &mut Vec<String>| {
                let first = l[0].clone();
                l.push(first);
            }),
            "goes on after its proof",
        ),
    ];
    for (what, change, named) in cases {
        let copy = tampered(&ndjson, "tampered.ndjson", change);
        let (ok, said) = verify(&copy, &key, &[]);
        assert!(!ok, "{what}: passed: {said}");
        assert!(said.contains(named), "{what}: {said}");
        assert!(
            said.contains("the export does not verify"),
            "{what}: {said}"
        );
    }
    // A row changed and its hash made again from the hash before it (the SHA-256 chain holds
    // for the row alone): the tree does not.
    {
        let text = std::fs::read_to_string(&ndjson).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        let mut row: vigil_core::StoredEvent = serde_json::from_str(&lines[0]).unwrap();
        let prev = journal
            .iter()
            .find(|e| e.seq == row.seq - 1)
            .map(|e| vigil_core::chain::decode(&e.hash).unwrap())
            .unwrap();
        row.event.reason = Some("nothing to see".into());
        row.hash = hex::encode(vigil_core::chain::link(
            &prev,
            &row.event,
            row.seq,
            &row.received_at,
        ));
        let mut v = serde_json::to_value(&row).unwrap();
        let original: Value = serde_json::from_str(&lines[0]).unwrap();
        v["marks"] = original["marks"].clone();
        v["comments"] = original["comments"].clone();
        lines[0] = v.to_string();
        let copy = dir.path().join("rehashed.ndjson");
        std::fs::write(&copy, lines.join("\n") + "\n").unwrap();
        let (ok, said) = verify(&copy, &key, &[]);
        assert!(!ok, "{said}");
        assert!(
            said.contains("not entries of the journal under the checkpoint"),
            "{said}"
        );
    }
    // The About beside the file (as the console saves it: the details of the export's journal
    // entry): rows and digest must be the rows'.
    let sidecar = dir.path().join("finance.ndjson.about.json");
    let recorded = journal
        .iter()
        .find(|e| {
            e.event.action == "journal.export"
                && e.event
                    .details
                    .as_ref()
                    .is_some_and(|d| d["format"] == "ndjson" && d["query"] == q)
        })
        .and_then(|e| e.event.details.clone())
        .unwrap();
    assert_eq!(recorded["checkpoint"], json!(size));
    let mut fixed = Value::Object(recorded);
    std::fs::write(&sidecar, fixed.to_string()).unwrap();
    let (ok, said) = verify(&ndjson, &key, &[]);
    assert!(ok, "{said}");
    fixed["rows"] = json!(rows as u64 + 1);
    std::fs::write(&sidecar, fixed.to_string()).unwrap();
    let (ok, said) = verify(&ndjson, &key, &[]);
    assert!(!ok && said.contains("the About says"), "{said}");
    std::fs::remove_file(&sidecar).unwrap();
    // A JSON file with a row changed; a file cut short.
    let changed = tampered(&json_file, "changed.json", |l| {
        l[2] = l[2].replacen("\"success\"", "\"failure\"", 1)
    });
    let (ok, said) = verify(&changed, &key, &[]);
    assert!(!ok && said.contains("row 2 (entry"), "{said}");
    // Rows of another selection after the About and proof: most JSON readers take the last
    // `events`.
    let text = std::fs::read_to_string(&json_file).unwrap();
    let forged = dir.path().join("forged.json");
    std::fs::write(
        &forged,
        format!(
            "{},\n\"events\":[]}}\n",
            text.trim_end().trim_end_matches('}')
        ),
    )
    .unwrap();
    let (ok, said) = verify(&forged, &key, &[]);
    assert!(!ok && said.contains("do not read"), "{said}");
    // Oldest first, with no About beside it: the rows' own order.
    let oldest = s
        .raw(Method::GET, "/v1/export")
        .query(&[("q", q), ("format", "ndjson"), ("order", "oldest")])
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let oldest_file = dir.path().join("oldest.ndjson");
    std::fs::write(&oldest_file, oldest.bytes().await.unwrap()).unwrap();
    let (ok, said) = verify(&oldest_file, &key, &[]);
    assert!(ok, "{said}");
    // The key is what the file is checked against: it must be given.
    let out = Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(["verify", "--export"])
        .arg(&ndjson)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--key"));
    let bytes = std::fs::read(&json_file).unwrap();
    let cut = dir.path().join("cut.json");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (ok, said) = verify(&cut, &key, &[]);
    assert!(!ok, "{said}");
    // Another key (a store that is not this one, or a checkpoint re-signed).
    let (other, _) = vigil_core::checkpoint::SigningKey::generate().unwrap();
    let other_pem = dir.path().join("other.pem");
    std::fs::write(&other_pem, other.public().to_pem()).unwrap();
    let (ok, said) = verify(&ndjson, &other_pem, &[]);
    assert!(!ok && said.contains("not a key given"), "{said}");
    // A CSV file changed by one byte.
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut records: Vec<&str> = text.split("\r\n").collect();
    let seventh = records[7].replacen("finance", "financf", 1);
    records[7] = &seventh;
    let csv_changed = dir.path().join("changed.csv");
    std::fs::write(&csv_changed, records.join("\r\n")).unwrap();
    let (ok, said) = verify(&csv_changed, &key, &["--against", ndjson.to_str().unwrap()]);
    assert!(!ok && said.contains("(line 8)"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_masked_exporter_gets_no_proof_and_a_reader_may_ask_for_none() {
    let s = TestServer::start().await;
    let alice = token_of(&s, "alice").await;
    s.demo(200).await;
    s.indexed().await;
    let made = s
        .raw(Method::POST, "/v1/roles")
        .bearer_auth(&alice)
        .json(&json!({"name": "masked-exporter", "rights": ["read", "export"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(made.status().as_u16(), 201);
    s.add_user("mia", &["masked-exporter"]).await;
    let mia = token_of(&s, "mia").await;
    let dir = tempfile::tempdir().unwrap();
    let file = export(&s, &mia, "", dir.path(), "masked.json").await;
    let whole: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(whole.get("proof").is_none());
    assert!(whole["about"]["checkpoint"].is_null());
    let why = whole["about"]["no_proof"].as_str().unwrap();
    assert!(why.contains("reads some entries masked"), "{why}");
    let key = dir.path().join("store.pem");
    let r = s
        .raw(Method::GET, "/v1/integrity/key")
        .bearer_auth(&mia)
        .send()
        .await
        .unwrap();
    let answer: Value = r.json().await.unwrap();
    std::fs::write(&key, answer["pem"].as_str().unwrap()).unwrap();
    let (ok, said) = verify(&file, &key, &[]);
    assert!(
        !ok && said.contains("carries no proof: none: the exporter reads"),
        "{said}"
    );

    // proof=false: the rows alone, one line each, as before proofs.
    let answer = s
        .raw(Method::GET, "/v1/export")
        .query(&[("format", "ndjson"), ("proof", "false")])
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    let rows: u64 = answer.headers()["vigil-export-rows"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let body = answer.text().await.unwrap();
    assert_eq!(body.lines().count() as u64, rows);
    assert!(!body.contains("{\"proof\":"));
    let bad = s
        .raw(Method::GET, "/v1/export")
        .query(&[("format", "ndjson"), ("proof", "maybe")])
        .bearer_auth(&alice)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}
