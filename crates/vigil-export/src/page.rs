//! Rows encoded ahead of the exporter: a [`PageEncoder`] turns borrowed entries
//! ([`EntryView`]) into the bytes of a page, on whatever thread reads them, and
//! [`crate::Exporter::write_page`] only hashes and writes those bytes (and, for XLSX, hands them
//! to the deflater). An export can then read
//! and encode several pages at once, one per core, while the file is written in order.
//!
//! The bytes are exactly those the row-at-a-time path writes for the same entries (the tests
//! compare both on hostile values): each row's NDJSON line is the entry as the API serializes
//! it, its CSV record has the same cells, neutralized the same way, and its XLSX row is the same
//! XML.

use std::io::Write;

use vigil_core::EntryView;

use crate::cell::neutralize;
use crate::xlsx::sheet::RowXml;
use crate::{ExportError, Format};

/// Encodes the rows of one page for one format. Rows may arrive in any order: each says its
/// place in the page.
pub struct PageEncoder {
    format: Format,
    /// Entries of the export before this page.
    first: u64,
    /// XLSX cells cut so far.
    cut: u64,
    ndjson: Vec<u8>,
    out: Vec<u8>,
    /// For each row pushed: its place, and where its bytes end in `ndjson` and `out`.
    spans: Vec<(usize, usize, usize)>,
    /// A buffer for the page's line ends.
    ends: Vec<usize>,
    /// Room for putting rows in their places.
    scratch: Vec<u8>,
    fields: CsvFields,
}

/// One page's bytes, rows in page order.
#[derive(Debug, Default)]
pub struct EncodedPage {
    /// Each row's NDJSON line, `\n`-terminated: what the rows' digest is over.
    pub(crate) ndjson: Vec<u8>,
    /// Where each line ends in `ndjson` (after its `\n`).
    pub(crate) line_ends: Vec<usize>,
    /// The CSV records or the XLSX rows (empty for JSON and NDJSON, whose file is made from
    /// the lines).
    pub(crate) records: Vec<u8>,
    /// Entries of the export before this page (XLSX rows are numbered).
    pub(crate) first: u64,
    /// XLSX cells cut to Excel's limit.
    pub(crate) cut: u64,
    /// Room for putting rows in their places, kept for the next page.
    pub(crate) scratch: Vec<u8>,
}

impl EncodedPage {
    /// Rows in the page.
    pub fn rows(&self) -> usize {
        self.line_ends.len()
    }
}

impl PageEncoder {
    /// An encoder for `format`, for the export's first page (see [`PageEncoder::after`]).
    pub fn new(format: Format) -> Result<Self, ExportError> {
        let mut encoder = Self::empty(format)?;
        encoder.ndjson.reserve(256 * 1024);
        Ok(encoder)
    }

    fn empty(format: Format) -> Result<Self, ExportError> {
        Ok(PageEncoder {
            format,
            first: 0,
            cut: 0,
            ndjson: Vec::new(),
            out: Vec::new(),
            spans: Vec::new(),
            ends: Vec::new(),
            scratch: Vec::new(),
            fields: CsvFields::new(),
        })
    }

    /// An encoder for `format` that writes into the buffers of a page already written, so
    /// that an export keeps reusing the same few buffers instead of allocating a page's worth
    /// of memory per page.
    pub fn reusing(format: Format, page: EncodedPage) -> Result<Self, ExportError> {
        let mut encoder = Self::empty(format)?;
        let EncodedPage {
            mut ndjson,
            mut line_ends,
            records: mut csv,
            scratch,
            ..
        } = page;
        encoder.scratch = scratch;
        ndjson.clear();
        csv.clear();
        line_ends.clear();
        encoder.ndjson = ndjson;
        encoder.out = csv;
        encoder.ends = line_ends;
        Ok(encoder)
    }

    /// Whether `format` can be encoded in pages (all of them can).
    pub fn supports(format: Format) -> bool {
        Format::ALL.contains(&format)
    }

    /// Sets how many entries of the export come before this page: an XLSX page numbers its
    /// rows, and the exporter refuses a page that does not continue where the last one ended.
    pub fn after(mut self, entries: u64) -> Self {
        self.first = entries;
        self
    }

    /// Encodes the entry that goes at place `pos` of the page (an export has no annotations on
    /// its rows: no marks, no comments).
    ///
    /// An entry whose stored text is not what the store writes (JSON that does not parse, an
    /// unknown kind, a hash that is not 32 bytes: a damaged or altered journal) stops the export
    /// with an error, as decoding it would; `vigil verify` says which entry.
    pub fn push(&mut self, pos: usize, e: &EntryView<'_>) -> Result<(), ExportError> {
        check(e)?;
        let times = Times::of(e);
        write_line(&mut self.ndjson, e, &times)?;
        self.ndjson.push(b'\n');
        match self.format {
            Format::Csv => self.csv_record(e, &times)?,
            Format::Xlsx => self.xlsx_row(pos, e, &times)?,
            Format::Json | Format::Ndjson => {}
        }
        self.spans.push((pos, self.ndjson.len(), self.out.len()));
        Ok(())
    }

    fn csv_record(&mut self, e: &EntryView<'_>, times: &Times) -> Result<(), ExportError> {
        let (f, out) = (&mut self.fields, &mut self.out);
        // Cells as the row path writes them (columns.rs): text neutralized against formulas,
        // `occurred_at`, `seq` and `comments` as they are.
        let text = |f: &mut CsvFields, out: &mut Vec<u8>, t: Option<&str>| match t.map(neutralize) {
            None => f.field(out, b""),
            Some(t) => f.field(out, t.as_bytes()),
        };
        f.field(out, times.occurred_at.as_bytes());
        f.field(out, e.seq.to_string().as_bytes());
        let mut id = uuid::Uuid::encode_buffer();
        text(f, out, Some(e.id.hyphenated().encode_lower(&mut id)));
        for t in middle_cells(e) {
            text(f, out, t);
        }
        // No comments.
        f.field(out, b"0");
        for t in [e.user_agent, e.session_id, e.request_id] {
            text(f, out, t);
        }
        text(f, out, Some(times.received_at.as_str()));
        let mut hex = [0u8; 64];
        let hash = std::str::from_utf8(hex_into(e.hash, &mut hex)).unwrap_or_default();
        text(f, out, Some(hash));
        text(f, out, e.sender);
        let mut n = itoa::Buffer::new();
        for t in extended_cells(e, &mut n) {
            text(f, out, t);
        }
        f.end(out);
        Ok(())
    }

    fn xlsx_row(
        &mut self,
        pos: usize,
        e: &EntryView<'_>,
        times: &Times,
    ) -> Result<(), ExportError> {
        // The cells of the row path (columns.rs, xlsx/mod.rs); the header is row 1.
        let row = self.first + pos as u64 + 2;
        let row = u32::try_from(row).map_err(|_| {
            ExportError::TooManyRows(format!(
                "an Excel sheet holds at most {} entries",
                crate::XLSX_MAX_ROWS
            ))
        })?;
        let mut x = RowXml::start(&mut self.out, row, e.severity == "critical");
        x.time(e.occurred_at, times.occurred_at.as_str());
        x.number(e.seq);
        let mut id = uuid::Uuid::encode_buffer();
        x.text(e.id.hyphenated().encode_lower(&mut id));
        for t in middle_cells(e) {
            match t {
                Some(t) => x.text(t),
                None => x.empty(),
            }
        }
        // No comments.
        x.number(0);
        for t in [e.user_agent, e.session_id, e.request_id] {
            match t {
                Some(t) => x.text(t),
                None => x.empty(),
            }
        }
        x.text(times.received_at.as_str());
        let mut hex = [0u8; 64];
        x.text(std::str::from_utf8(hex_into(e.hash, &mut hex)).unwrap_or_default());
        let mut n = itoa::Buffer::new();
        for t in std::iter::once(e.sender).chain(extended_cells(e, &mut n)) {
            match t {
                Some(t) => x.text(t),
                None => x.empty(),
            }
        }
        self.cut += x.finish();
        Ok(())
    }

    /// The page, rows in their places.
    pub fn finish(mut self) -> EncodedPage {
        let in_order = self.spans.iter().enumerate().all(|(i, s)| s.0 == i);
        if !in_order {
            // Each row's bytes, from where the one pushed before it ends.
            let starts: Vec<(usize, usize)> = std::iter::once((0, 0))
                .chain(self.spans.iter().map(|s| (s.1, s.2)))
                .collect();
            let mut order: Vec<usize> = (0..self.spans.len()).collect();
            order.sort_by_key(|&i| self.spans[i].0);
            debug_assert!(
                order.iter().enumerate().all(|(n, &i)| self.spans[i].0 == n),
                "every place of the page is pushed once"
            );
            let mut scratch = std::mem::take(&mut self.scratch);
            for (buf, part) in [(&mut self.ndjson, 1), (&mut self.out, 2)] {
                scratch.clear();
                for &i in &order {
                    let (start, end) = match part {
                        1 => (starts[i].0, self.spans[i].1),
                        _ => (starts[i].1, self.spans[i].2),
                    };
                    scratch.extend_from_slice(&buf[start..end]);
                }
                std::mem::swap(buf, &mut scratch);
            }
            self.scratch = scratch;
            let (mut n, mut o) = (0, 0);
            let mut spans = Vec::with_capacity(self.spans.len());
            for &i in &order {
                let (pos, n_end, o_end) = self.spans[i];
                n += n_end - starts[i].0;
                o += o_end - starts[i].1;
                spans.push((pos, n, o));
            }
            self.spans = spans;
        }
        self.ends.extend(self.spans.iter().map(|s| s.1));
        EncodedPage {
            ndjson: self.ndjson,
            line_ends: self.ends,
            records: self.out,
            first: self.first,
            cut: self.cut,
            scratch: self.scratch,
        }
    }
}

/// The cells after `sender`, in [`crate::HEADERS`] order: the fields of schema 10.
fn extended_cells<'a>(e: &EntryView<'a>, n: &'a mut itoa::Buffer) -> [Option<&'a str>; 6] {
    let behalf = e.on_behalf_of;
    [
        behalf.and_then(|p| p.0),
        behalf.map(|p| p.1),
        behalf.and_then(|p| p.2),
        e.correlation_id,
        e.source_seq.map(|s| n.format(s)),
        e.stream,
    ]
}

/// The text cells between `id` and `comments`, in [`crate::HEADERS`] order, as the CSV record
/// and the XLSX row both write them (an export has no marks).
fn middle_cells<'a>(e: &EntryView<'a>) -> [Option<&'a str>; 17] {
    [
        Some(e.actor_id),
        e.actor_name,
        e.actor_role,
        e.actor_kind,
        Some(e.action),
        Some(e.kind),
        Some(e.section),
        Some(e.severity),
        Some(e.outcome),
        e.target.map(|t| t.0),
        e.target.map(|t| t.1),
        e.target.and_then(|t| t.2),
        e.ip,
        e.reason,
        e.changes,
        e.details,
        // No marks.
        None,
    ]
}

/// Writes CSV records field by field into a buffer: RFC 4180, comma-separated, CRLF line ends,
/// a field quoted only when it holds a comma, a quote, CR or LF, quotes inside doubled (what the
/// csv crate writes with `QuoteStyle::Necessary`; the tests read it back with the csv crate).
pub(crate) struct CsvFields {
    first: bool,
}

impl CsvFields {
    pub(crate) fn new() -> Self {
        CsvFields { first: true }
    }

    /// Appends one field (the comma before it when it is not the record's first).
    pub(crate) fn field(&mut self, out: &mut Vec<u8>, input: &[u8]) {
        if !self.first {
            out.push(b',');
        }
        self.first = false;
        // Searched with SIMD (memchr): most fields are short, but `changes` and `details` are
        // hundreds of bytes of JSON, and a byte at a time this was the export's largest cost.
        let quoted = memchr::memchr3(b',', b'"', b'\n', input).is_some()
            || memchr::memchr(b'\r', input).is_some();
        if !quoted {
            out.extend_from_slice(input);
            return;
        }
        out.reserve(input.len() + 4);
        out.push(b'"');
        let mut from = 0;
        for quote in memchr::memchr_iter(b'"', input) {
            // The quote twice.
            out.extend_from_slice(&input[from..=quote]);
            out.push(b'"');
            from = quote + 1;
        }
        out.extend_from_slice(&input[from..]);
        out.push(b'"');
    }

    /// Ends the record.
    pub(crate) fn end(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\r\n");
        self.first = true;
    }
}

/// A JSON string, escaped the way the API's serializer escapes it.
fn string(buf: &mut Vec<u8>, s: &str) -> Result<(), ExportError> {
    serde_json::to_writer(&mut *buf, s)?;
    Ok(())
}

/// A JSON string whose text needs no escaping (a time, hex, a uuid).
fn quoted(buf: &mut Vec<u8>, text: &[u8]) {
    buf.push(b'"');
    buf.extend_from_slice(text);
    buf.push(b'"');
}

fn key(buf: &mut Vec<u8>, first: bool, name: &str) {
    if !first {
        buf.push(b',');
    }
    buf.push(b'"');
    buf.extend_from_slice(name.as_bytes());
    buf.extend_from_slice(b"\":");
}

fn opt(buf: &mut Vec<u8>, name: &str, value: Option<&str>) -> Result<(), ExportError> {
    if let Some(v) = value {
        key(buf, false, name);
        string(buf, v)?;
    }
    Ok(())
}

/// The entry's NDJSON line (no newline): the same bytes as serializing the stored entry with
/// its (empty) marks and comment count.
fn write_line(buf: &mut Vec<u8>, e: &EntryView<'_>, times: &Times) -> Result<(), ExportError> {
    buf.push(b'{');
    key(buf, true, "seq");
    let _ = write!(buf, "{}", e.seq);
    key(buf, false, "received_at");
    quoted(buf, times.received_at.as_bytes());
    key(buf, false, "hash");
    let mut hex = [0u8; 64];
    quoted(buf, hex_into(e.hash, &mut hex));
    key(buf, false, "id");
    let mut id = uuid::Uuid::encode_buffer();
    quoted(buf, e.id.hyphenated().encode_lower(&mut id).as_bytes());
    key(buf, false, "occurred_at");
    quoted(buf, times.occurred_at.as_bytes());
    key(buf, false, "actor");
    buf.push(b'{');
    key(buf, true, "id");
    string(buf, e.actor_id)?;
    opt(buf, "name", e.actor_name)?;
    opt(buf, "role", e.actor_role)?;
    opt(buf, "kind", e.actor_kind)?;
    buf.push(b'}');
    if let Some((kind, id, name)) = e.on_behalf_of {
        key(buf, false, "on_behalf_of");
        buf.push(b'{');
        match kind {
            Some(kind) => {
                key(buf, true, "type");
                string(buf, kind)?;
                key(buf, false, "id");
            }
            None => key(buf, true, "id"),
        }
        string(buf, id)?;
        opt(buf, "name", name)?;
        buf.push(b'}');
    }
    key(buf, false, "action");
    string(buf, e.action)?;
    key(buf, false, "kind");
    string(buf, e.kind)?;
    key(buf, false, "section");
    string(buf, e.section)?;
    key(buf, false, "severity");
    string(buf, e.severity)?;
    key(buf, false, "outcome");
    string(buf, e.outcome)?;
    if let Some((kind, id, name)) = e.target {
        key(buf, false, "target");
        buf.push(b'{');
        key(buf, true, "type");
        string(buf, kind)?;
        key(buf, false, "id");
        string(buf, id)?;
        opt(buf, "name", name)?;
        buf.push(b'}');
    }
    if let Some(changes) = e.changes {
        key(buf, false, "changes");
        buf.extend_from_slice(changes.as_bytes());
    }
    opt(buf, "ip", e.ip)?;
    opt(buf, "user_agent", e.user_agent)?;
    opt(buf, "session_id", e.session_id)?;
    opt(buf, "request_id", e.request_id)?;
    opt(buf, "correlation_id", e.correlation_id)?;
    opt(buf, "reason", e.reason)?;
    if let Some(details) = e.details {
        key(buf, false, "details");
        buf.extend_from_slice(details.as_bytes());
    }
    if let Some(n) = e.source_seq {
        key(buf, false, "source_seq");
        buf.extend_from_slice(n.to_string().as_bytes());
    }
    opt(buf, "stream", e.stream)?;
    opt(buf, "sender", e.sender)?;
    buf.extend_from_slice(b",\"marks\":[],\"comments\":0");
    if let Some(salt) = e.salt {
        // A sealed entry's salt: with it the row is checked from its content.
        key(buf, false, "salt");
        let mut hex = [0u8; 32];
        // 16 bytes: `check` refused any other.
        let _ = hex::encode_to_slice(salt, &mut hex);
        quoted(buf, &hex);
    }
    buf.push(b'}');
    Ok(())
}

/// Refuses an entry the store could not have written: its text is copied into the file as it
/// is, so it must be what serializing an entry gives.
fn check(e: &EntryView<'_>) -> Result<(), ExportError> {
    use vigil_core::{ActorKind, Kind, Outcome, Severity};
    let bad = |what: &str| {
        Err(ExportError::Io(std::io::Error::other(format!(
            "journal entry seq {} has {what}: the journal is damaged (run vigil verify)",
            e.seq
        ))))
    };
    for (json, name) in [(e.changes, "changes"), (e.details, "details")] {
        if let Some(text) = json {
            if serde_json::from_str::<serde::de::IgnoredAny>(text).is_err() {
                return bad(&format!("{name} that are not one JSON value"));
            }
        }
    }
    if e.kind.parse::<Kind>().is_err()
        || e.severity.parse::<Severity>().is_err()
        || e.outcome.parse::<Outcome>().is_err()
        || e.actor_kind
            .is_some_and(|k| k.parse::<ActorKind>().is_err())
    {
        return bad("an unknown kind, severity, outcome or actor kind");
    }
    if e.ip
        .is_some_and(|ip| ip.parse::<std::net::IpAddr>().is_err())
    {
        return bad("an address that is not one");
    }
    if e.hash.len() != 32 {
        return bad("a hash that is not 32 bytes");
    }
    if e.salt.is_some_and(|s| s.len() != 16) {
        return bad("a salt that is not 16 bytes");
    }
    Ok(())
}

/// An entry's two times as text, made once for both the line and the record.
struct Times {
    occurred_at: TimeText,
    received_at: TimeText,
}

impl Times {
    fn of(e: &EntryView<'_>) -> Self {
        Times {
            occurred_at: TimeText::of(e.occurred_at),
            received_at: TimeText::of(e.received_at),
        }
    }
}

/// `2026-11-26T10:00:00.000001Z`: the same text as [`vigil_core::event::micros::format`],
/// made without a formatter or an allocation for the years 0 to 9999.
enum TimeText {
    Short([u8; 27]),
    /// Beyond year 9999 (or before year 0): chrono's own text.
    Long(String),
}

impl TimeText {
    fn of(micros: i64) -> Self {
        use chrono::{Datelike, Timelike};
        let t = chrono::DateTime::from_timestamp_micros(micros).unwrap_or_default();
        let Ok(year @ 0..=9999) = u32::try_from(t.year()) else {
            return TimeText::Long(vigil_core::event::micros::format(&t));
        };
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        for (at, n, width) in [
            (0, year, 4),
            (5, t.month(), 2),
            (8, t.day(), 2),
            (11, t.hour(), 2),
            (14, t.minute(), 2),
            (17, t.second(), 2),
            (20, t.nanosecond() / 1000, 6),
        ] {
            let mut n = n;
            for digit in text[at..at + width].iter_mut().rev() {
                *digit = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        TimeText::Short(text)
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            TimeText::Short(text) => text,
            TimeText::Long(text) => text.as_bytes(),
        }
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

/// Lowercase hex of `bytes` (at most 32), in `out`.
fn hex_into<'a>(bytes: &[u8], out: &'a mut [u8; 64]) -> &'a [u8] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let n = bytes.len().min(32);
    for (i, b) in bytes[..n].iter().enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 15)];
    }
    &out[..2 * n]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Texts with each special byte at every place around 8- and 32-byte blocks, and without.
    fn texts() -> Vec<String> {
        let mut out = vec![String::new(), "plain".into(), "é🎰 עברית".repeat(9)];
        for special in [
            ",", "\"", "\r", "\n", "\\", "\t", "\u{1}", "\u{1f}", "\u{7f}", "é",
        ] {
            for len in [1usize, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100] {
                for at in [0, 1, len / 2, len.saturating_sub(2), len - 1] {
                    let mut t = "a".repeat(len - 1);
                    t.insert_str(at.min(t.len()), special);
                    out.push(t);
                }
            }
        }
        out
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for t in texts() {
            let mut buf = Vec::new();
            string(&mut buf, &t).unwrap();
            assert_eq!(buf, serde_json::to_vec(&t).unwrap(), "{t:?}");
        }
    }

    #[test]
    fn fields_are_quoted_as_the_csv_crate_quotes_them() {
        for t in texts() {
            let mut ours = Vec::new();
            let mut fields = CsvFields::new();
            fields.field(&mut ours, t.as_bytes());
            fields.field(&mut ours, b"x");
            fields.end(&mut ours);
            let mut w = csv::WriterBuilder::new()
                .terminator(csv::Terminator::CRLF)
                .from_writer(Vec::new());
            w.write_record([t.as_str(), "x"]).unwrap();
            assert_eq!(ours, w.into_inner().unwrap(), "{t:?}");
        }
    }
}
