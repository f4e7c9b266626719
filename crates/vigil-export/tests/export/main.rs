//! Every format written and read back by an independent reader: the csv crate, serde_json, and
//! Python's openpyxl for XLSX. Values must come back identical and no cell may be a formula.

mod pages;
mod support;

use std::collections::HashMap;

use proptest::prelude::*;
use serde_json::Value;
use vigil_core::StoredEvent;
use vigil_export::cell::{is_dangerous, restore};
use vigil_export::{About, Context, Exporter, Format, Row, HEADERS, NO_ACTIVITY};

use support::{csv_cells, entries, nasty_texts, xlsx_dump};

fn context() -> Context {
    context_for("section:finance -outcome:denied")
}

fn context_for(q: &str) -> Context {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T09:15:00.123456Z")
        .unwrap()
        .to_utc();
    Context::new(q, "ana.auditor", at).in_zone(chrono::FixedOffset::east_opt(3600).unwrap())
}

fn export(format: Format, rows: &[StoredEvent], marks: &[Vec<String>]) -> (Vec<u8>, About) {
    let mut context = context();
    context.bom = format == Format::Csv;
    let mut ex = Exporter::new(format, Vec::new(), context).unwrap();
    for (i, e) in rows.iter().enumerate() {
        let m = marks.get(i).map(Vec::as_slice).unwrap_or(&[]);
        ex.write(&Row {
            entry: e,
            marks: m,
            comments: i as u64 % 3,
        })
        .unwrap();
    }
    ex.finish().unwrap()
}

/// The value a CSV or XLSX cell must hold for this column of this entry.
fn expected(e: &StoredEvent, marks: &[String], comments: u64, column: &str) -> String {
    let json = serde_json::to_value(e).unwrap();
    let get = |path: &[&str]| -> String {
        let mut v = &json;
        for p in path {
            v = &v[*p];
        }
        match v {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        }
    };
    match column {
        "actor_id" => get(&["actor", "id"]),
        "actor_name" => get(&["actor", "name"]),
        "actor_role" => get(&["actor", "role"]),
        "actor_kind" => get(&["actor", "kind"]),
        "target_type" => get(&["target", "type"]),
        "target_id" => get(&["target", "id"]),
        "target_name" => get(&["target", "name"]),
        "on_behalf_of_type" => get(&["on_behalf_of", "type"]),
        "on_behalf_of_id" => get(&["on_behalf_of", "id"]),
        "on_behalf_of_name" => get(&["on_behalf_of", "name"]),
        "changes" if e.event.changes.is_some() => {
            serde_json::to_string(e.event.changes.as_ref().unwrap()).unwrap()
        }
        "details" if e.event.details.is_some() => {
            serde_json::to_string(e.event.details.as_ref().unwrap()).unwrap()
        }
        "marks" => marks.join(", "),
        "comments" => comments.to_string(),
        other => get(&[other]),
    }
}

#[test]
fn csv_reads_back_identical_with_no_live_formula() {
    let rows = entries();
    let marks: Vec<Vec<String>> = (0..rows.len())
        .map(|i| {
            if i % 2 == 0 {
                vec!["suspect".into(), "=cmd".into()]
            } else {
                vec![]
            }
        })
        .collect();
    let (bytes, about) = export(Format::Csv, &rows, &marks);
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "BOM for Excel");
    assert!(
        bytes.windows(2).filter(|w| w == b"\r\n").count() > rows.len(),
        "RFC 4180 line ends"
    );
    let table = csv_cells(&bytes);
    assert_eq!(table[0], HEADERS);
    assert_eq!(table.len(), rows.len() + 1);
    for (i, (e, cells)) in rows.iter().zip(&table[1..]).enumerate() {
        for (column, cell) in HEADERS.iter().zip(cells) {
            assert!(
                !is_dangerous(cell),
                "row {i} {column}: {cell:?} is a live formula"
            );
            let want = expected(e, &marks[i], i as u64 % 3, column);
            assert_eq!(restore(cell), want, "row {i} column {column}");
        }
    }
    assert_eq!(about.rows, rows.len() as u64);
    assert_eq!(
        about.file_sha256.as_deref(),
        Some(support::sha256_hex(&bytes).as_str()),
        "the sidecar's file digest is sha256sum of the file"
    );
}

#[test]
fn json_and_ndjson_read_back_identical_and_share_one_digest() {
    let rows = entries();
    let (nd, nd_about) = export(Format::Ndjson, &rows, &[]);
    let lines: Vec<&[u8]> = nd
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), rows.len());
    for (e, line) in rows.iter().zip(&lines) {
        let back: StoredEvent = serde_json::from_slice(line).unwrap();
        assert_eq!(&back, e);
        // Exact number text and key order survive.
        let text = std::str::from_utf8(line).unwrap();
        let source = serde_json::to_string(e).unwrap();
        assert!(text.starts_with(&source[..source.len() - 1]), "{text}");
    }
    assert_eq!(nd_about.sha256, support::sha256_hex(&nd));
    let text = String::from_utf8(nd.clone()).unwrap();
    assert!(
        text.contains(r#""before":100.10,"after":12345678901234567890"#),
        "exact digits"
    );

    let (json, json_about) = export(Format::Json, &rows, &[]);
    let doc: Value = serde_json::from_slice(&json).unwrap();
    let events = doc["events"].as_array().unwrap();
    assert_eq!(events.len(), rows.len());
    for (e, v) in rows.iter().zip(events) {
        assert_eq!(
            &serde_json::from_value::<StoredEvent>(v.clone()).unwrap(),
            e
        );
        assert_eq!(v["marks"], serde_json::json!([]));
    }
    let about: About = serde_json::from_value(doc["about"].clone()).unwrap();
    assert_eq!(
        json_about.file_sha256.as_deref(),
        Some(support::sha256_hex(&json).as_str()),
        "the returned About knows the file's digest"
    );
    assert_eq!(about.file_sha256, None, "a file cannot hold its own digest");
    assert_eq!(
        About {
            file_sha256: None,
            ..json_about.clone()
        },
        about
    );
    assert_eq!(
        about.sha256, nd_about.sha256,
        "one digest for the same rows"
    );
    assert_eq!(about.rows, rows.len() as u64);
    assert_eq!(about.time_zone, "+01:00");
    assert_eq!(about.generated_by, "ana.auditor");
    assert_eq!(
        about.filters,
        ["section is finance", "outcome is not denied"]
    );
}

#[test]
fn xlsx_reads_back_identical_in_openpyxl_with_no_formula() {
    let rows = entries();
    let (bytes, about) = export(Format::Xlsx, &rows, &[]);
    let dump = xlsx_dump(&bytes);
    let sheets = dump["sheets"].as_array().unwrap();
    assert_eq!(sheets[0]["name"], "Entries");
    assert_eq!(sheets[1]["name"], "About");
    let entries = &sheets[0];
    assert_eq!(entries["freeze"], "A2", "header row frozen");
    let table = entries["rows"].as_array().unwrap();
    assert_eq!(table.len(), rows.len() + 1);
    // 34 columns (HEADERS and occurred_at_exact): A to AH.
    assert_eq!(HEADERS.len() + 1, 34);
    assert_eq!(
        entries["filter"],
        format!("A1:AH{}", rows.len() + 1),
        "filter over the header and every row"
    );
    let header: Vec<&str> = table[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["v"].as_str().unwrap())
        .collect();
    assert_eq!(header[0], "occurred_at");
    assert_eq!(header[1], "occurred_at_exact");
    assert_eq!(&header[2..], &HEADERS[1..]);
    for (i, (e, cells)) in rows.iter().zip(&table[1..]).enumerate() {
        let cells = cells.as_array().unwrap();
        let by_name: HashMap<&str, &Value> = header.iter().copied().zip(cells).collect();
        // A real date-time cell in UTC to the millisecond (Excel's resolution); the exact value
        // with its microseconds beside it.
        let when = by_name["occurred_at"];
        assert_eq!(when["t"], "d", "row {i}: a date cell");
        let shown = chrono::NaiveDateTime::parse_from_str(
            when["v"].as_str().unwrap(),
            "%Y-%m-%dT%H:%M:%S%.f",
        )
        .unwrap();
        let off = (shown - e.event.occurred_at.naive_utc())
            .num_microseconds()
            .unwrap();
        assert!(
            off.abs() < 1000,
            "row {i}: date cell {shown} is {off} µs off"
        );
        assert_eq!(
            by_name["occurred_at_exact"]["v"],
            vigil_core::event::micros::format(&e.event.occurred_at)
        );
        for column in &HEADERS[1..] {
            let cell = by_name[column];
            let want = expected(e, &[], i as u64 % 3, column);
            let got = match &cell["v"] {
                Value::Null => String::new(),
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                other => panic!("row {i} {column}: unexpected {other}"),
            };
            assert_eq!(got, want, "row {i} column {column}");
            assert_ne!(cell["t"], "f", "row {i} {column}: a formula");
            if is_dangerous(&want) {
                assert_eq!(
                    cell["q"], true,
                    "row {i} {column}: {want:?} without quote prefix"
                );
            }
        }
        let critical = e.event.severity == vigil_core::Severity::Critical;
        let fill = &by_name["action"]["fill"];
        assert_eq!(
            !fill.is_null(),
            critical,
            "row {i}: critical rows stand out"
        );
    }
    let about_rows = sheets[1]["rows"].as_array().unwrap();
    let lines: HashMap<String, String> = about_rows
        .iter()
        .map(|r| {
            (
                r[0]["v"].as_str().unwrap().to_owned(),
                r[1]["v"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(lines["Rows"], rows.len().to_string());
    assert_eq!(lines["Query"], "section:finance -outcome:denied");
    assert_eq!(lines["Generated by"], "ana.auditor");
    assert_eq!(lines["Time zone of the query"], "+01:00");
    assert_eq!(lines["SHA-256 of the rows (NDJSON form)"], about.sha256);
    assert_eq!(
        lines["Filters"],
        "section is finance\noutcome is not denied"
    );
}

#[test]
fn the_about_sheet_never_holds_a_live_formula_either() {
    let mut ex = Exporter::new(Format::Xlsx, Vec::new(), context_for("-outcome:success")).unwrap();
    ex.write(&Row::new(&entries()[0])).unwrap();
    let (bytes, _) = ex.finish().unwrap();
    let dump = xlsx_dump(&bytes);
    let about = dump["sheets"][1]["rows"].as_array().unwrap();
    let line = |label: &str| {
        about
            .iter()
            .find(|r| r[0]["v"] == label)
            .unwrap_or_else(|| panic!("no {label} line"))[1]
            .clone()
    };
    let query = line("Query");
    assert_eq!(query["v"], "-outcome:success", "the value as written");
    assert_eq!(query["q"], true, "with the quote prefix");
    assert_eq!(
        line("Time zone of the query")["q"],
        true,
        "+01:00 starts like a formula"
    );
    for r in about {
        assert_ne!(r[1]["t"], "f");
    }
}

#[test]
fn an_empty_export_is_a_valid_file_that_says_no_activity() {
    for &format in Format::ALL {
        let (bytes, about) = export(format, &[], &[]);
        assert_eq!(about.rows, 0, "{format}");
        assert_eq!(about.summary, NO_ACTIVITY, "{format}");
        match format {
            Format::Csv => assert_eq!(csv_cells(&bytes), vec![HEADERS.to_vec()]),
            Format::Ndjson => assert!(bytes.is_empty()),
            Format::Json => {
                let doc: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(doc["events"], serde_json::json!([]));
                assert_eq!(doc["about"]["summary"], NO_ACTIVITY);
            }
            Format::Xlsx => {
                let dump = xlsx_dump(&bytes);
                assert_eq!(dump["sheets"][0]["rows"].as_array().unwrap().len(), 1);
                let about = dump["sheets"][1]["rows"].as_array().unwrap();
                assert!(about
                    .iter()
                    .any(|r| r[0]["v"] == "Summary" && r[1]["v"] == NO_ACTIVITY));
            }
        }
    }
}

#[test]
fn generated_texts_never_become_formulas_in_xlsx() {
    // One workbook with many generated texts (one openpyxl run), each checked back.
    let texts = nasty_texts(400);
    let rows: Vec<StoredEvent> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| support::entry_with_reason(i as u64 + 1, t))
        .collect();
    let (bytes, _) = export(Format::Xlsx, &rows, &[]);
    let dump = xlsx_dump(&bytes);
    let table = dump["sheets"][0]["rows"].as_array().unwrap();
    let header: Vec<&str> = table[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["v"].as_str().unwrap())
        .collect();
    let reason = header.iter().position(|h| *h == "reason").unwrap();
    for (t, row) in texts.iter().zip(&table[1..]) {
        let cell = &row[reason];
        assert_eq!(cell["v"].as_str().unwrap_or_default(), t.as_str());
        if t.is_empty() {
            continue; // Excel has no empty text cells: the cell is blank
        }
        assert_eq!(cell["t"], "s");
        assert_eq!(cell["q"], is_dangerous(t), "{t:?}");
    }
}

proptest! {
    #[test]
    fn csv_cells_restore_exactly_and_are_never_formulas(reason in "\\PC{0,40}|[=+\\-@\t\r'\"\n,].{0,20}") {
        let rows = [support::entry_with_reason(1, &reason)];
        let (bytes, _) = export(Format::Csv, &rows, &[]);
        let table = csv_cells(&bytes);
        let col = HEADERS.iter().position(|h| *h == "reason").unwrap();
        let cell = &table[1][col];
        prop_assert!(!is_dangerous(cell));
        prop_assert_eq!(restore(cell), reason.as_str());
    }
}

/// A workbook checked against the rows it should hold: any part added, changed or given twice
/// is named, however the Entries sheet reads.
#[test]
fn a_workbook_is_the_proved_rows_only_if_every_part_is_as_vigil_writes_it() {
    use std::io::{Read, Write};
    let rows = entries();
    let dir = tempfile::tempdir().unwrap();
    let (ndjson, _) = export(Format::Ndjson, &rows, &[]);
    let proved = dir.path().join("rows.ndjson");
    std::fs::write(&proved, ndjson).unwrap();
    let (xlsx, _) = export(Format::Xlsx, &rows, &[]);
    let file = dir.path().join("rows.xlsx");
    std::fs::write(&file, &xlsx).unwrap();
    assert_eq!(
        vigil_export::proof::same_rows(&file, Format::Xlsx, &proved).unwrap(),
        rows.len() as u64
    );

    // The same workbook written again with one part changed, or one more.
    let rewrite = |change: &dyn Fn(&str, Vec<u8>) -> Vec<u8>, extra: Option<&str>| {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(&xlsx)).unwrap();
        let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..zip.len() {
            let mut part = zip.by_index(i).unwrap();
            let name = part.name().unwrap().into_owned();
            let mut bytes = Vec::new();
            part.read_to_end(&mut bytes).unwrap();
            let bytes = change(&name, bytes);
            out.start_file(name.as_str(), zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(&bytes).unwrap();
        }
        if let Some(name) = extra {
            out.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            out.write_all(b"<worksheet/>").unwrap();
        }
        let bytes = out.finish().unwrap().into_inner();
        std::fs::write(&file, bytes).unwrap();
        vigil_export::proof::same_rows(&file, Format::Xlsx, &proved).unwrap_err()
    };
    // Unchanged parts, written again: still the rows.
    let same = |_: &str, b: Vec<u8>| b;
    std::fs::write(&file, &xlsx).unwrap();
    let err = rewrite(&same, Some("xl/worksheets/sheet3.xml"));
    assert!(err.contains("parts are not those Vigil writes"), "{err}");
    let err = rewrite(
        &|name, b| {
            if name == "xl/styles.xml" {
                String::from_utf8(b)
                    .unwrap()
                    .replace("numFmtId=\"", "numFmtId=\"1")
                    .into_bytes()
            } else {
                b
            }
        },
        None,
    );
    assert!(
        err.contains("xl/styles.xml is not as Vigil writes it"),
        "{err}"
    );
    let err = rewrite(
        &|name, b| {
            if name == "xl/worksheets/sheet1.xml" {
                String::from_utf8(b)
                    .unwrap()
                    .replacen("finance", "financf", 1)
                    .into_bytes()
            } else {
                b
            }
        },
        None,
    );
    assert!(err.contains("Entries sheet differs"), "{err}");
    // A part that uncompresses to far more than the file: refused before it is all read (the
    // About sheet is read whole; the others are compared as they come and differ first).
    let err = rewrite(
        &|name, b| {
            if name == "xl/worksheets/sheet2.xml" {
                vec![b' '; 200 << 20]
            } else {
                b
            }
        },
        None,
    );
    assert!(err.contains("far more than any Vigil writes"), "{err}");
    let err = rewrite(
        &|name, b| {
            if name == "docProps/app.xml" {
                vec![b' '; 200 << 20]
            } else {
                b
            }
        },
        None,
    );
    assert!(
        err.contains("docProps/app.xml is not as Vigil writes it"),
        "{err}"
    );
}
