//! Saving an export to a local file, with progress and cancel: what Vigil Console's "Export…"
//! does ([`save_export`]).
//!
//! CSV, JSON and NDJSON are written by the store and saved as they arrive; rows are counted in
//! the stream for the progress. XLSX is written here from the store's NDJSON (the store cannot
//! report progress while it builds a workbook), with vigil-export. Either way the file is written
//! under a temporary name in the chosen folder and renamed only when it is complete and checked
//! against the store's own record of the export (the journal entry's About: its rows and digest),
//! so a cancelled, failed or damaged export leaves nothing under the chosen name: CSV, JSON and
//! NDJSON files must have the SHA-256 the store recorded for the file it sent, and an XLSX
//! workbook must hold the rows with the digest the store recorded for them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use vigil_api::Order;
use vigil_core::StoredEvent;
use vigil_export::{About, Context, Exporter, Format, Row};

use vigil_client::{Client, ClientError, Download, ExportOptions};

/// What to export and where.
#[derive(Debug, Clone)]
pub struct SaveRequest {
    /// The query text.
    pub q: String,
    /// The file format.
    pub format: Format,
    /// CSV only: start with a UTF-8 byte-order mark.
    pub bom: bool,
    /// Order (the store's default: newest first).
    pub order: Option<Order>,
    /// The file to write. CSV and NDJSON also get `<path>.about.json`.
    pub path: PathBuf,
    /// Who is exporting (XLSX's About; the store names the signed-in user for the others).
    pub by: String,
}

/// Where an export went.
#[derive(Debug, Clone)]
pub struct Saved {
    /// The file.
    pub path: PathBuf,
    /// The About beside it (CSV and NDJSON).
    pub about_path: Option<PathBuf>,
    /// What the export says about itself.
    pub about: About,
}

/// How far an export is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SaveProgress {
    /// Rows written so far.
    pub rows: u64,
    /// Rows expected (those matching when the export started).
    pub total: u64,
}

/// Why an export was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The store refused or could not be reached.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Writing the local file failed.
    #[error("writing {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the XLSX file failed.
    #[error(transparent)]
    Export(#[from] vigil_export::ExportError),
    /// What arrived does not match the store's record of the export.
    #[error("the export is not complete: {0}")]
    Incomplete(String),
    /// The user cancelled.
    #[error("the export was cancelled")]
    Cancelled,
    /// More entries than the format can hold.
    #[error("{0}")]
    TooManyRows(String),
}

/// Runs `work` unless `cancel` is set first (looked at every tenth of a second).
async fn unless_cancelled<T>(
    cancel: &AtomicBool,
    work: impl std::future::Future<Output = T>,
) -> Result<T, SaveError> {
    tokio::pin!(work);
    loop {
        tokio::select! {
            out = &mut work => return Ok(out),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {
                if cancel.load(Ordering::Relaxed) {
                    return Err(SaveError::Cancelled);
                }
            }
        }
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> SaveError + '_ {
    move |source| SaveError::Io {
        path: path.to_owned(),
        source,
    }
}

/// A file being written under a temporary name beside its final one; removed when dropped
/// unless kept.
struct Partial {
    file: tempfile::NamedTempFile,
}

impl Partial {
    fn beside(path: &Path) -> Result<Self, SaveError> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let file = tempfile::Builder::new()
            .prefix(".vigil-export-")
            .suffix(".partial")
            .tempfile_in(&dir)
            .map_err(io(&dir))?;
        Ok(Partial { file })
    }

    fn keep(self, path: &Path) -> Result<(), SaveError> {
        self.file.as_file().sync_all().map_err(io(path))?;
        self.file.persist(path).map_err(|e| SaveError::Io {
            path: path.to_owned(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// `<file>.about.json`.
pub fn about_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".about.json");
    name.into()
}

/// Counts the rows in a file as it arrives.
struct RowCounter {
    format: Format,
    newlines: u64,
    in_quotes: bool,
}

impl RowCounter {
    fn feed(&mut self, bytes: &[u8]) {
        match self.format {
            // A record ends at a line break outside quotes ("" inside quotes toggles twice).
            Format::Csv => {
                for &b in bytes {
                    if b == b'"' {
                        self.in_quotes = !self.in_quotes;
                    } else if b == b'\n' && !self.in_quotes {
                        self.newlines += 1;
                    }
                }
            }
            _ => self.newlines += bytes.iter().filter(|b| **b == b'\n').count() as u64,
        }
    }

    fn rows(&self) -> u64 {
        match self.format {
            Format::Csv => self.newlines.saturating_sub(1),
            _ => self.newlines,
        }
    }
}

/// What an NDJSON row says of its entry's annotations.
#[derive(Deserialize)]
struct RowAnnotations {
    #[serde(default)]
    marks: Vec<String>,
    #[serde(default)]
    comments: u64,
}

/// Exports the entries matching `request.q` from the store `client` speaks to into
/// `request.path`; `progress` hears the rows written; setting `cancel` stops the export within a
/// tenth of a second, whatever it is waiting for (nothing is left under the chosen name), unless
/// the file was already in place.
pub async fn save_export(
    client: &Client,
    request: &SaveRequest,
    cancel: Arc<AtomicBool>,
    mut progress: impl FnMut(SaveProgress) + Send + 'static,
) -> Result<Saved, SaveError> {
    let cancel = cancel.as_ref();
    let wire = match request.format {
        Format::Xlsx => Format::Ndjson,
        f => f,
    };
    let mut download = unless_cancelled(
        cancel,
        client.export(&ExportOptions {
            q: request.q.clone(),
            format: wire.as_str().into(),
            order: request.order,
            bom: request.bom,
            // An XLSX file is written here from the NDJSON rows, and carries no proof (it is
            // checked against the NDJSON or JSON export of the same query).
            proof: (request.format == Format::Xlsx).then_some(false),
        }),
    )
    .await??;
    let total = download.rows;
    if request.format == Format::Xlsx && total > vigil_export::XLSX_MAX_ROWS {
        return Err(SaveError::TooManyRows(format!(
                "{total} entries match, and an Excel sheet holds at most {}: narrow the search, or export as CSV or NDJSON",
                vigil_export::XLSX_MAX_ROWS
            )));
    }
    progress(SaveProgress { rows: 0, total });
    let partial = Partial::beside(&request.path)?;
    let out = std::io::BufWriter::with_capacity(
        256 * 1024,
        partial
            .file
            .as_file()
            .try_clone()
            .map_err(io(&request.path))?,
    );
    let (local_about, file_sha256) = if request.format == Format::Xlsx {
        let context = local_context(client, request, download.entry);
        let about = write_xlsx(&mut download, out, context, cancel, total, &mut progress).await?;
        (Some(about), None)
    } else {
        let digest = save_bytes(&mut download, out, request, cancel, total, &mut progress).await?;
        (None, Some(digest))
    };
    // The store's record of the export, written before the body ended.
    let entry = unless_cancelled(cancel, client.event(download.entry)).await??;
    let recorded: About = entry
        .entry
        .event
        .details
        .map(serde_json::Value::Object)
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| {
            SaveError::Incomplete("the store did not record the export as complete".into())
        })?;
    let about = match local_about {
        Some(local) => {
            if local.rows != recorded.rows {
                return Err(SaveError::Incomplete(format!(
                    "the workbook holds {} rows, the store sent {}",
                    local.rows, recorded.rows
                )));
            }
            if local.sha256 != recorded.sha256 {
                return Err(SaveError::Incomplete(
                    "the workbook's rows differ from those the store sent".into(),
                ));
            }
            local
        }
        None => {
            if recorded.file_sha256.is_none() || recorded.file_sha256 != file_sha256 {
                return Err(SaveError::Incomplete(
                    "the file differs from what the store sent".into(),
                ));
            }
            recorded
        }
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(SaveError::Cancelled);
    }
    // The file first, then its About beside it.
    partial.keep(&request.path)?;
    let about_path = if request.format.has_sidecar() {
        let side = about_path(&request.path);
        let sidecar = Partial::beside(&side)?;
        let mut w = sidecar.file.as_file();
        serde_json::to_writer_pretty(&mut w, &about).map_err(|e| SaveError::Io {
            path: side.clone(),
            source: e.into(),
        })?;
        w.write_all(b"\n").map_err(io(&side))?;
        sidecar.keep(&side)?;
        Some(side)
    } else {
        None
    };
    Ok(Saved {
        path: request.path.clone(),
        about_path,
        about,
    })
}

/// The About's context of an XLSX file written here.
fn local_context(client: &Client, request: &SaveRequest, entry: uuid::Uuid) -> Context {
    let mut context = Context::new(&request.q, &request.by, chrono::Utc::now());
    if let Some(tz) = client.tz() {
        context = context.in_zone(tz);
    }
    context.order = match request.order.unwrap_or_default() {
        Order::Newest => "newest first".into(),
        Order::Oldest => "oldest first".into(),
    };
    context.journal_entry = Some(entry);
    context
}

/// Saves the store's bytes as they come, counting rows; returns the file's SHA-256.
async fn save_bytes(
    download: &mut Download,
    mut out: impl Write,
    request: &SaveRequest,
    cancel: &AtomicBool,
    total: u64,
    progress: &mut impl FnMut(SaveProgress),
) -> Result<String, SaveError> {
    let mut counter = RowCounter {
        format: request.format,
        newlines: 0,
        in_quotes: false,
    };
    let mut digest = Sha256::new();
    let mut reported = 0;
    while let Some(chunk) = unless_cancelled(cancel, download.chunk()).await?? {
        out.write_all(&chunk).map_err(io(&request.path))?;
        digest.update(&chunk);
        counter.feed(&chunk);
        let rows = counter.rows().min(total);
        if rows != reported {
            reported = rows;
            progress(SaveProgress { rows, total });
        }
    }
    out.flush().map_err(io(&request.path))?;
    Ok(hex::encode(digest.finalize()))
}

/// Writes the XLSX file from the store's NDJSON, on a blocking thread fed line by line.
async fn write_xlsx<W: Write + Send + 'static>(
    download: &mut Download,
    out: W,
    context: Context,
    cancel: &AtomicBool,
    total: u64,
    progress: &mut (impl FnMut(SaveProgress) + Send + 'static),
) -> Result<About, SaveError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    // Set when the download stops early: the encoder then leaves the workbook unfinished.
    let abandoned = std::sync::Arc::new(AtomicBool::new(false));
    let abandoned_here = abandoned.clone();
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let encoder = tokio::task::spawn_blocking(move || -> Result<About, SaveError> {
        let mut exporter = Exporter::new(Format::Xlsx, out, context)?;
        let mut rest: Vec<u8> = Vec::new();
        let write_line = |line: &[u8], exporter: &mut Exporter<W>| -> Result<(), SaveError> {
            if line.is_empty() {
                return Ok(());
            }
            let bad = |e: serde_json::Error| {
                SaveError::Incomplete(format!("the store sent an unreadable entry: {e}"))
            };
            let entry: StoredEvent = serde_json::from_slice(line).map_err(bad)?;
            let annotations: RowAnnotations = serde_json::from_slice(line).map_err(bad)?;
            exporter.write(&Row {
                entry: &entry,
                marks: &annotations.marks,
                comments: annotations.comments,
            })?;
            Ok(())
        };
        while let Some(chunk) = rx.blocking_recv() {
            let mut start = 0;
            for (i, b) in chunk.iter().enumerate() {
                if *b != b'\n' {
                    continue;
                }
                if rest.is_empty() {
                    write_line(&chunk[start..i], &mut exporter)?;
                } else {
                    rest.extend_from_slice(&chunk[start..i]);
                    let line = std::mem::take(&mut rest);
                    write_line(&line, &mut exporter)?;
                }
                start = i + 1;
            }
            rest.extend_from_slice(&chunk[start..]);
            let _ = done_tx.send(exporter.rows());
        }
        if abandoned.load(Ordering::Relaxed) {
            return Err(SaveError::Cancelled);
        }
        if !rest.is_empty() {
            return Err(SaveError::Incomplete("the last entry was cut short".into()));
        }
        Ok(exporter.finish()?.1)
    });
    let received = async {
        while let Some(chunk) = unless_cancelled(cancel, download.chunk()).await?? {
            while let Ok(rows) = done_rx.try_recv() {
                progress(SaveProgress { rows, total });
            }
            if tx.send(chunk).await.is_err() {
                break; // the encoder failed: its error is reported below
            }
        }
        Ok::<(), SaveError>(())
    }
    .await;
    abandoned_here.store(received.is_err(), Ordering::Relaxed);
    drop(tx);
    // Zipping a big workbook takes a while: a cancel does not wait for it (the encoder then
    // writes to a file already removed).
    let written = unless_cancelled(cancel, encoder)
        .await?
        .map_err(|e| SaveError::Incomplete(e.to_string()))?;
    received?;
    let about = written?;
    progress(SaveProgress {
        rows: about.rows,
        total,
    });
    Ok(about)
}
