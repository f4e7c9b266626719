//! Pages encoded ahead (from borrowed entries, on other threads) write the same bytes as rows
//! written one by one: the same file, the same rows' digest, the same file digest.

use proptest::prelude::*;
use vigil_core::StoredEvent;
use vigil_export::{Context, EncodedPage, Exporter, Format, PageEncoder, Row};

use crate::support::{entries, entry_with_reason, nasty_texts};

fn context(format: Format) -> Context {
    let at = chrono::DateTime::parse_from_rfc3339("2026-11-27T09:15:00.123456Z")
        .unwrap()
        .to_utc();
    let mut c = Context::new("section:finance", "ana.auditor", at);
    c.bom = format == Format::Csv;
    c
}

fn by_rows(format: Format, rows: &[StoredEvent]) -> (Vec<u8>, String) {
    let mut ex = Exporter::new(format, Vec::new(), context(format)).unwrap();
    for e in rows {
        ex.write(&Row::new(e)).unwrap();
    }
    let (bytes, about) = ex.finish().unwrap();
    (bytes, serde_json::to_string(&about).unwrap())
}

/// Pages of `size` rows; within every other page the rows are pushed last first, so that the
/// encoder puts them back in their places; each page reuses the buffers of the one before.
fn by_pages(format: Format, rows: &[StoredEvent], size: usize) -> (Vec<u8>, String) {
    let mut ex = Exporter::new(format, Vec::new(), context(format)).unwrap();
    let mut spare = EncodedPage::default();
    for (n, chunk) in rows.chunks(size).enumerate() {
        let mut enc = PageEncoder::reusing(format, spare)
            .unwrap()
            .after((n * size) as u64);
        let mut order: Vec<usize> = (0..chunk.len()).collect();
        if n % 2 == 0 {
            order.reverse();
        }
        for pos in order {
            let e = &chunk[pos];
            let parts = e.view_parts();
            enc.push(pos, &e.view(&parts)).unwrap();
        }
        let page: EncodedPage = enc.finish();
        assert_eq!(page.rows(), chunk.len());
        ex.write_page(&page).unwrap();
        spare = page;
    }
    let (bytes, about) = ex.finish().unwrap();
    (bytes, serde_json::to_string(&about).unwrap())
}

fn hostile() -> Vec<StoredEvent> {
    let mut rows = entries();
    let mut seq = rows.len() as u64;
    for text in nasty_texts(200).into_iter().chain([
        "\u{1}\u{7f}\u{2028}\u{2029}\u{feff}".to_owned(),
        "\\\"".into(),
    ]) {
        seq += 1;
        rows.push(entry_with_reason(seq, &text));
    }
    rows
}

/// The parts of a workbook, unzipped by another reader (which checks each part's CRC-32).
fn parts(xlsx: &[u8]) -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

#[test]
fn pages_write_the_same_workbook_as_rows() {
    // Enough rows for the sheet to be deflated in several chunks (of a megabyte) on several
    // threads; the chunks are cut in other places by rows and by pages, so the archives'
    // bytes differ but every part is the same.
    let mut rows = hostile();
    let long = "détails « longs » 😀 ".repeat(40);
    for i in 0..2_500 {
        let seq = rows.len() as u64 + 1;
        rows.push(entry_with_reason(seq, &format!("{i} {long}")));
    }
    let (expected, about) = by_rows(Format::Xlsx, &rows);
    let expected = parts(&expected);
    let sheet = &expected
        .iter()
        .find(|p| p.0 == "xl/worksheets/sheet1.xml")
        .unwrap()
        .1;
    assert!(sheet.len() > 3 << 20, "a sheet of {} bytes", sheet.len());
    for size in [1, 7, 1024] {
        let (bytes, about_pages) = by_pages(Format::Xlsx, &rows, size);
        let got = parts(&bytes);
        assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.0, e.0);
            assert!(g.1 == e.1, "xlsx in pages of {size}: {} differs", g.0);
        }
        assert_eq!(about_pages, about, "xlsx: the About (digests, rows)");
    }
}

#[test]
fn a_page_of_very_large_entries_is_deflated_in_chunks_and_reads_back_whole() {
    // 300 entries of 30 KiB: one page of 9 MB of XML, cut into chunks for the deflater.
    let rows: Vec<StoredEvent> = (0..300u64)
        .map(|i| entry_with_reason(i + 1, &format!("{i} {}", "ç<&>_x0041 ".repeat(2_800))))
        .collect();
    let (expected, about) = by_rows(Format::Xlsx, &rows);
    let expected = parts(&expected);
    for size in [1024, 7] {
        let (bytes, about_pages) = by_pages(Format::Xlsx, &rows, size);
        assert!(parts(&bytes) == expected, "pages of {size}");
        assert_eq!(about_pages, about);
    }
}

#[test]
fn an_xlsx_page_out_of_place_is_refused() {
    let rows = entries();
    let mut ex = Exporter::new(Format::Xlsx, Vec::new(), context(Format::Xlsx)).unwrap();
    let mut enc = PageEncoder::new(Format::Xlsx).unwrap().after(5);
    let parts = rows[0].view_parts();
    enc.push(0, &rows[0].view(&parts)).unwrap();
    let err = ex.write_page(&enc.finish()).unwrap_err().to_string();
    assert!(err.contains("follow entry 5 came after entry 0"), "{err}");
}

#[test]
fn pages_write_the_same_bytes_as_rows_in_the_text_formats() {
    let rows = hostile();
    for format in [Format::Csv, Format::Json, Format::Ndjson] {
        let (expected, about) = by_rows(format, &rows);
        for size in [1, 7, 1000] {
            let (bytes, about_pages) = by_pages(format, &rows, size);
            assert!(
                bytes == expected,
                "{format} in pages of {size} differs:\n{}\n---\n{}",
                String::from_utf8_lossy(&bytes[..bytes.len().min(2000)]),
                String::from_utf8_lossy(&expected[..expected.len().min(2000)])
            );
            assert_eq!(about_pages, about, "{format}: the About (digests, rows)");
        }
    }
    assert!(Format::ALL.iter().all(|f| PageEncoder::supports(*f)));
}

#[test]
fn an_empty_export_in_pages_is_the_empty_export() {
    for format in [Format::Csv, Format::Json, Format::Ndjson, Format::Xlsx] {
        let (expected, about) = by_rows(format, &[]);
        let mut ex = Exporter::new(format, Vec::new(), context(format)).unwrap();
        ex.write_page(&PageEncoder::new(format).unwrap().finish())
            .unwrap();
        let (bytes, about_pages) = ex.finish().unwrap();
        assert_eq!(bytes, expected);
        assert_eq!(serde_json::to_string(&about_pages).unwrap(), about);
    }
}

proptest! {
    #[test]
    fn any_time_is_written_as_the_api_writes_it(micros in -62_135_596_800_000_000i64..253_402_300_799_999_999i64) {
        let mut e = entry_with_reason(1, "x");
        e.event.occurred_at = chrono::DateTime::from_timestamp_micros(micros).unwrap();
        e.received_at = e.event.occurred_at;
        let (bytes, _) = by_rows(Format::Ndjson, std::slice::from_ref(&e));
        let (pages, _) = by_pages(Format::Ndjson, std::slice::from_ref(&e), 1);
        prop_assert_eq!(String::from_utf8(pages).unwrap(), String::from_utf8(bytes).unwrap());
    }
}

#[test]
fn a_row_the_store_could_not_have_written_stops_the_export() {
    let e = entry_with_reason(1, "x");
    let parts = e.view_parts();
    let good = e.view(&parts);
    let injected = r#"{},"marks":["x"]"#;
    for (bad, why) in [
        (
            vigil_core::EntryView {
                details: Some(injected),
                ..good
            },
            "details",
        ),
        (
            vigil_core::EntryView {
                changes: Some("[1,"),
                ..good
            },
            "changes",
        ),
        (
            vigil_core::EntryView {
                kind: "forged",
                ..good
            },
            "kind",
        ),
        (
            vigil_core::EntryView {
                ip: Some("not an address"),
                ..good
            },
            "address",
        ),
        (
            vigil_core::EntryView {
                hash: &[1, 2, 3],
                ..good
            },
            "hash",
        ),
    ] {
        for format in [Format::Csv, Format::Ndjson, Format::Xlsx] {
            let mut enc = PageEncoder::new(format).unwrap();
            let err = enc.push(0, &bad).unwrap_err().to_string();
            assert!(
                err.contains("damaged") && err.contains("seq 1"),
                "{why}: {err}"
            );
        }
    }
    assert!(PageEncoder::new(Format::Csv)
        .unwrap()
        .push(0, &good)
        .is_ok());
}
