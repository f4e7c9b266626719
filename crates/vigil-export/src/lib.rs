//! The writers of Vigil's exports: CSV, XLSX, JSON and NDJSON over any [`std::io::Write`], one
//! row at a time, so an export of millions of entries runs in constant memory.
//!
//! An export is evidence: every value comes out exactly as stored, no cell of a CSV or XLSX file
//! can become a live formula (see [`cell`]), and every export says what it is in an [`About`]:
//! the query and its filters in words, the time zone, who made it and when, how many rows, and
//! the SHA-256 of the rows. XLSX carries the About as a second sheet and JSON as a top-level
//! `about` object; CSV and NDJSON have none inside, so the caller writes [`About`] beside them as
//! `<file>.about.json`.
//!
//! ```
//! use vigil_export::{Context, Exporter, Format, Row};
//! # let entry: vigil_core::StoredEvent = serde_json::from_value(serde_json::json!({
//! #   "seq": 1, "received_at": "2026-11-26T10:00:00.000001Z", "hash": "ab",
//! #   "id": "0192b7a0-0000-7000-8000-000000000001", "occurred_at": "2026-11-26T10:00:00Z",
//! #   "actor": {"id": "m.dupont"}, "action": "bonus.create", "kind": "create",
//! #   "section": "bonuses", "severity": "info", "outcome": "success",
//! #   "reason": "=HYPERLINK(\"http://x\")"})).unwrap();
//! let context = Context::new("section:bonuses", "m.dupont", chrono::Utc::now());
//! let mut export = Exporter::new(Format::Csv, Vec::new(), context).unwrap();
//! export.write(&Row::new(&entry)).unwrap();
//! let (bytes, about) = export.finish().unwrap();
//! let text = String::from_utf8(bytes).unwrap();
//! assert!(text.contains(r#""'=HYPERLINK(""http://x"")""#), "never a live formula");
//! assert_eq!(about.rows, 1);
//! ```
#![forbid(unsafe_code)]

mod about;
pub mod cell;
mod columns;
mod csv_out;
mod hashing;
mod json_out;
mod page;
pub mod proof;
mod xlsx;

use std::io::Write;

use sha2::{Digest, Sha256};
use vigil_core::StoredEvent;

pub use about::{About, Context, NO_ACTIVITY};
pub use columns::HEADERS;
pub use page::{EncodedPage, PageEncoder};

/// The most entries an XLSX export holds: an Excel sheet's rows, less the header.
pub const XLSX_MAX_ROWS: u64 = 1_048_575;

/// Pages with at least this many bytes of lines have their rows' digest made on a thread of its
/// own while the file is written.
const PARALLEL_DIGEST: usize = 64 * 1024;

/// An export's file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// RFC 4180 CSV, UTF-8 (optionally with a byte-order mark for Excel), CRLF line ends.
    Csv,
    /// An Excel workbook: sheet "Entries" and sheet "About".
    Xlsx,
    /// One JSON object: `{"events": [...], "about": {...}}`.
    Json,
    /// One JSON entry per line.
    Ndjson,
}

impl Format {
    /// Every format.
    pub const ALL: &'static [Format] = &[Format::Csv, Format::Xlsx, Format::Json, Format::Ndjson];

    /// The name used on the API and the CLI (also the file extension).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
        }
    }

    /// Parses the name (case-insensitive).
    pub fn parse(s: &str) -> Option<Format> {
        Self::ALL
            .iter()
            .copied()
            .find(|f| f.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// `csv, xlsx, json, ndjson`, for error messages.
    pub fn choices() -> String {
        Self::ALL
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The media type.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Json => "application/json",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    /// Whether the About goes in a sidecar `<file>.about.json` (it has no place inside).
    pub fn has_sidecar(self) -> bool {
        matches!(self, Format::Csv | Format::Ndjson)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `<file>.about.json`: where the About of a CSV or NDJSON export goes.
pub fn sidecar_path(out: &std::path::Path) -> std::path::PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".about.json");
    name.into()
}

/// One exported entry with the summary of its annotations.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    /// The entry as stored.
    pub entry: &'a StoredEvent,
    /// The keys of the marks set on it.
    pub marks: &'a [String],
    /// How many comments it has.
    pub comments: u64,
}

impl<'a> Row<'a> {
    /// An entry without annotations.
    pub fn new(entry: &'a StoredEvent) -> Self {
        Row {
            entry,
            marks: &[],
            comments: 0,
        }
    }
}

/// What can go wrong while exporting.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Writing to the destination failed (a full disk, a closed connection).
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    /// A value could not be encoded.
    #[error("encoding an entry failed: {0}")]
    Json(#[from] serde_json::Error),
    /// An export holds at most this many rows (Excel's sheet limit, for XLSX).
    #[error("{0}")]
    TooManyRows(String),
}

enum Out<W: Write + Send> {
    Csv(Box<csv_out::CsvOut<W>>),
    Xlsx(Box<xlsx::XlsxOut<W>>),
    Json(json_out::JsonOut<W>),
    Ndjson(std::io::BufWriter<W>),
}

/// Writes one export: [`Exporter::write`] each row in order, then [`Exporter::finish`].
///
/// Dropping an exporter without finishing leaves an incomplete file: callers write to a
/// temporary name and rename only after `finish` succeeds.
pub struct Exporter<W: Write + Send> {
    out: Out<W>,
    context: Context,
    format: Format,
    rows: u64,
    digest: Sha256,
    line: Vec<u8>,
}

impl<W: Write + Send> Exporter<W> {
    /// Starts an export in `format` to `out`. CSV starts with a byte-order mark when
    /// `context.bom` is set.
    pub fn new(format: Format, out: W, context: Context) -> Result<Self, ExportError> {
        let out = match format {
            Format::Csv => Out::Csv(Box::new(csv_out::CsvOut::new(out, context.bom)?)),
            Format::Xlsx => Out::Xlsx(Box::new(xlsx::XlsxOut::new(out)?)),
            Format::Json => Out::Json(json_out::JsonOut::new(out)?),
            Format::Ndjson => Out::Ndjson(std::io::BufWriter::with_capacity(256 * 1024, out)),
        };
        Ok(Exporter {
            out,
            context,
            format,
            rows: 0,
            digest: Sha256::new(),
            line: Vec::with_capacity(4096),
        })
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes one row.
    pub fn write(&mut self, row: &Row<'_>) -> Result<(), ExportError> {
        // The rows' digest is over their NDJSON form, whatever the format: the same rows give
        // the same digest in every format, and it is `sha256sum` of the NDJSON export.
        self.line.clear();
        json_out::write_row(&mut self.line, row)?;
        self.line.push(b'\n');
        self.digest.update(&self.line);
        match &mut self.out {
            Out::Csv(w) => w.write(row)?,
            Out::Xlsx(w) => w.write(row)?,
            Out::Json(w) => w.write(&self.line[..self.line.len() - 1])?,
            Out::Ndjson(w) => w.write_all(&self.line)?,
        }
        self.rows += 1;
        Ok(())
    }

    /// Writes a page of rows encoded by a [`PageEncoder`] for this export's format; the same
    /// bytes as writing its rows one by one.
    pub fn write_page(&mut self, page: &EncodedPage) -> Result<(), ExportError> {
        let (out, digest) = (&mut self.out, &mut self.digest);
        let write = |out: &mut Out<W>| -> Result<(), ExportError> {
            match out {
                Out::Csv(w) => w.write_encoded(&page.records)?,
                Out::Xlsx(w) => {
                    w.write_encoded(&page.records, page.first, page.rows() as u64, page.cut)?
                }
                Out::Json(w) => {
                    let mut start = 0;
                    for &end in &page.line_ends {
                        w.write(&page.ndjson[start..end - 1])?;
                        start = end;
                    }
                }
                Out::Ndjson(w) => w.write_all(&page.ndjson)?,
            }
            Ok(())
        };
        if matches!(out, Out::Ndjson(_)) || page.ndjson.len() < PARALLEL_DIGEST {
            digest.update(&page.ndjson);
            write(out)?;
        } else {
            // The rows' digest and the file (with its own digest) are two passes over
            // different bytes: on two threads.
            std::thread::scope(|scope| {
                let hashing = std::thread::Builder::new()
                    .name("export-digest".into())
                    .spawn_scoped(scope, || digest.update(&page.ndjson))?;
                let written = write(out);
                hashing
                    .join()
                    .map_err(|_| ExportError::Io(std::io::Error::other("hashing failed")))?;
                written
            })?;
        }
        self.rows += page.rows() as u64;
        Ok(())
    }

    /// Completes the file (for XLSX and JSON, with the About inside) and returns the
    /// destination and the About.
    pub fn finish(self) -> Result<(W, About), ExportError> {
        self.finish_with(None)
    }

    /// Completes an NDJSON or JSON file with the proof of its rows (see [`proof`]) or, when
    /// there is none, the reason in its About (`no_proof`). CSV and XLSX carry no proof: they
    /// are checked against the NDJSON or JSON export of the same rows.
    pub fn finish_proven(
        self,
        proof: Result<&proof::ExportProof, String>,
    ) -> Result<(W, About), ExportError> {
        self.finish_with(Some(proof))
    }

    fn finish_with(
        self,
        proof: Option<Result<&proof::ExportProof, String>>,
    ) -> Result<(W, About), ExportError> {
        let rows_digest = self.digest.clone();
        let mut about = About::new(
            self.context,
            self.format,
            self.rows,
            hex::encode(self.digest.finalize()),
        );
        let proven = matches!(self.format, Format::Json | Format::Ndjson);
        let proof = match proof {
            Some(Ok(p)) if proven => {
                about.checkpoint = Some(p.checkpoint.checkpoint.size);
                Some(p)
            }
            Some(Err(why)) if proven => {
                about.no_proof = Some(why);
                None
            }
            _ => None,
        };
        let mut out = match self.out {
            Out::Csv(w) => {
                let (out, file_sha256) = w.finish()?;
                about.file_sha256 = Some(file_sha256);
                out
            }
            Out::Xlsx(w) => {
                let cut = w.cells_cut();
                about.cells_cut = (cut > 0).then_some(cut);
                w.finish(&about)?
            }
            Out::Json(w) => {
                let (out, file_sha256) = w.finish(&about, proof)?;
                about.file_sha256 = Some(file_sha256);
                out
            }
            Out::Ndjson(mut w) => {
                // The proof is the last line: `{"proof":{…}}`, under the file's digest, written
                // as it is serialized (a scattered selection's proof is tens of megabytes).
                let mut file = hashing::Hashing::continuing(&mut w, rows_digest);
                if let Some(proof) = proof {
                    file.write_all(b"{\"proof\":")?;
                    serde_json::to_writer(&mut file, proof)?;
                    file.write_all(b"}\n")?;
                }
                about.file_sha256 = Some(file.finish().1);
                w.into_inner()
                    .map_err(|e| ExportError::Io(e.into_error()))?
            }
        };
        out.flush()?;
        Ok((out, about))
    }
}
