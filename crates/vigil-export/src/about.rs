//! What an export says about itself.

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};

use crate::Format;

/// The summary of an export that matched nothing.
pub const NO_ACTIVITY: &str = "No activity";

/// What is known when an export starts: the query, who asks, when, and how.
#[derive(Debug, Clone)]
pub struct Context {
    /// The query as written.
    pub query: String,
    /// The query's clauses in words.
    pub filters: Vec<String>,
    /// The zone in which the query's dates were read (`+01:00`).
    pub time_zone: FixedOffset,
    /// `newest` or `oldest` first.
    pub order: String,
    /// When the export was made.
    pub generated_at: DateTime<Utc>,
    /// Who made it.
    pub generated_by: String,
    /// The journal entry that records this export, when the store made it.
    pub journal_entry: Option<uuid::Uuid>,
    /// The journal's last seq when the export began: it holds no entry stored later.
    pub journal_seq: Option<u64>,
    /// CSV only: start with a UTF-8 byte-order mark (Excel then reads accents right).
    pub bom: bool,
    /// The exporter's scope in words, when their roles limit which entries they may export.
    pub scope: Option<String>,
    /// What personal data is masked in the file, when the exporter may not see it.
    pub masking: Option<String>,
}

impl Context {
    /// A context for `query` (its filters described in UTC, newest first, no BOM).
    pub fn new(query: &str, generated_by: &str, generated_at: DateTime<Utc>) -> Self {
        let utc = FixedOffset::east_opt(0).expect("zero is a valid offset");
        let filters = query
            .parse::<vigil_core::Query>()
            .map(|q| q.describe(&utc))
            .unwrap_or_default();
        Context {
            query: query.to_owned(),
            filters,
            time_zone: utc,
            order: "newest".into(),
            generated_at,
            generated_by: generated_by.to_owned(),
            journal_entry: None,
            journal_seq: None,
            bom: false,
            scope: None,
            masking: None,
        }
    }

    /// The same export with the query's dates read in `tz` (the filters are described there).
    pub fn in_zone(mut self, tz: FixedOffset) -> Self {
        if let Ok(q) = self.query.parse::<vigil_core::Query>() {
            self.filters = q.describe(&tz);
        }
        self.time_zone = tz;
        self
    }
}

/// What an export says about itself: in the XLSX sheet "About", the JSON `about` object and the
/// `.about.json` beside CSV and NDJSON files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct About {
    /// "Vigil audit journal export".
    pub title: String,
    /// The file's format.
    pub format: Format,
    /// The query as written (empty: every entry).
    pub query: String,
    /// Its clauses in words.
    pub filters: Vec<String>,
    /// The zone in which the query's dates were read; times in the file are UTC.
    pub time_zone: String,
    /// The order of the rows.
    pub order: String,
    /// When the export was made (UTC, microseconds).
    #[serde(with = "vigil_core::event::micros")]
    pub generated_at: DateTime<Utc>,
    /// Who made it.
    pub generated_by: String,
    /// The Vigil version that wrote it.
    pub vigil_version: String,
    /// The journal entry that records this export, when the store made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_entry: Option<uuid::Uuid>,
    /// The journal's last seq when the export began: it holds no entry stored later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_seq: Option<u64>,
    /// The exporter's scope in words, when their roles limit which entries they may export:
    /// the file holds only the matches within it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// What personal data is masked in the file, when the exporter may not see it (and that
    /// the hashes are withheld).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub masking: Option<String>,
    /// How many entries.
    pub rows: u64,
    /// "No activity" when nothing matched, else "N entries".
    pub summary: String,
    /// SHA-256 (hex) of the rows in NDJSON form (each entry's JSON and a newline): the same in
    /// every format, and equal to `sha256sum` of the NDJSON export of the same rows.
    pub sha256: String,
    /// SHA-256 (hex) of the data file itself: in the About beside CSV and NDJSON files, and in
    /// the store's journal entry of a JSON export (the About inside a file cannot hold it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    /// XLSX only: cells cut at Excel's limit of 32,767 characters (the JSON and NDJSON exports
    /// carry them whole).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells_cut: Option<u64>,
    /// How text cells are protected from being read as formulas.
    pub formula_protection: String,
    /// NDJSON and JSON: the size of the signed checkpoint the file's proof is against (the
    /// file's `proof`: `vigil verify --export FILE` checks it without the store).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<u64>,
    /// NDJSON and JSON: why the file carries no proof, when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_proof: Option<String>,
}

impl About {
    pub(crate) fn new(context: Context, format: Format, rows: u64, sha256: String) -> Self {
        let summary = match rows {
            0 => NO_ACTIVITY.to_owned(),
            1 => "1 entry".to_owned(),
            n => format!("{n} entries"),
        };
        let formula_protection = match format {
            Format::Csv => {
                "a text cell that starts with = + - @ ' tab, carriage return or NUL \
                            starts with one added ' (remove one leading ' to get the value)"
            }
            Format::Xlsx => {
                "text cells that start with = + - @ tab, carriage return or NUL are \
                             stored as text with Excel's quote prefix ('); values are unchanged"
            }
            Format::Json | Format::Ndjson => "none needed: values are JSON strings, unchanged",
        };
        About {
            title: "Vigil audit journal export".into(),
            format,
            query: context.query,
            filters: context.filters,
            time_zone: context.time_zone.to_string(),
            order: context.order,
            generated_at: context.generated_at,
            generated_by: context.generated_by,
            vigil_version: env!("CARGO_PKG_VERSION").into(),
            journal_entry: context.journal_entry,
            journal_seq: context.journal_seq,
            scope: context.scope,
            masking: context.masking,
            rows,
            summary,
            sha256,
            file_sha256: None,
            cells_cut: None,
            formula_protection: formula_protection.into(),
            checkpoint: None,
            no_proof: None,
        }
    }

    /// Label and value pairs, in the order the XLSX "About" sheet shows them.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let mut lines = vec![
            ("Export", self.title.clone()),
            ("Summary", self.summary.clone()),
            ("Rows", self.rows.to_string()),
            ("Query", self.query.clone()),
            ("Filters", self.filters.join("\n")),
            ("Time zone of the query", self.time_zone.clone()),
            ("Times in the file", "UTC".to_owned()),
            ("Order", self.order.clone()),
            (
                "Generated at (UTC)",
                vigil_core::event::micros::format(&self.generated_at),
            ),
            ("Generated by", self.generated_by.clone()),
            ("Vigil version", self.vigil_version.clone()),
        ];
        if let Some(scope) = &self.scope {
            lines.push(("Limited to the exporter's scope", scope.clone()));
        }
        if let Some(masking) = &self.masking {
            lines.push(("Personal data", masking.clone()));
        }
        if let Some(id) = self.journal_entry {
            lines.push(("Journal entry of this export", id.to_string()));
        }
        if let Some(seq) = self.journal_seq {
            lines.push(("Entries stored up to seq", seq.to_string()));
        }
        lines.push(("SHA-256 of the rows (NDJSON form)", self.sha256.clone()));
        if let Some(size) = self.checkpoint {
            lines.push((
                "Proved against the signed checkpoint of",
                format!("{size} entries"),
            ));
        }
        if let Some(why) = &self.no_proof {
            lines.push(("Proof", why.clone()));
        }
        if let Some(cut) = self.cells_cut {
            lines.push((
                "Cells cut at 32,767 characters",
                format!("{cut} (the JSON and NDJSON exports carry them whole)"),
            ));
        }
        lines.push(("Formula protection", self.formula_protection.clone()));
        lines
    }
}
