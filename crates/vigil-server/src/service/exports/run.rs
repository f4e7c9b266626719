//! Running an export: the read planned in time slices of at most [`SLICE`] entries (from the
//! query's timeline); for each slice the index names the matches once, they are sorted, and the
//! entries are fetched a page at a time. Pages are read on the async side while a blocking thread
//! encodes the previous one, so reading and encoding overlap; at most two pages wait in between,
//! so memory stays flat whatever the size of the export.

use std::io::Write;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use vigil_core::query::{Clause, Term, TimeBound};
use vigil_core::{Actor, Event, Kind, Outcome, Query, StoredEvent};
use vigil_export::{About, Context, Format, Row};
use vigil_store::{Order, Store, StoreError, TimelineRequest};

use crate::service::OwnEntry;

/// Entries read from the store at a time.
const PAGE: usize = 256;
/// At most about this many entries per time slice (a slice's keys are held in memory: 16 bytes
/// each).
const SLICE: u64 = 200_000;
/// Pages read ahead of the encoder.
const AHEAD: usize = 1;
/// Entries per page when pages are encoded as they are read (see [`Export::run`]).
const ENCODED_PAGE: usize = 1024;
/// Pages read and encoded at once: one per core of the machines Vigil is measured on (three
/// were no faster there, and held more memory).
const ENCODERS: usize = 2;

/// The time slices an export reads, in order, and the entries expected.
#[derive(Debug, Clone)]
pub struct Plan {
    /// `[from, to)` in µs.
    pub slices: Vec<(i64, i64)>,
    /// Matching entries when the plan was made.
    pub total: u64,
    /// The journal's last seq when the plan was made: entries stored later are left out, so
    /// the export is the journal as it was then.
    pub head: u64,
}

/// What the reader hands the encoder.
enum Page {
    /// Entries, with what annotations add to those that have some (when the unmask scope
    /// reads annotations; else none).
    Rows(
        Vec<StoredEvent>,
        std::collections::HashMap<u64, vigil_core::AnnotationSummary>,
    ),
    /// Rows already encoded for the file.
    Encoded(vigil_export::EncodedPage),
    /// Every page was read: the file can be finished (with its proof, or why it has none,
    /// when it is to carry one).
    End(Option<Result<vigil_export::proof::ExportProof, String>>),
}

/// Whether an NDJSON or JSON export carries the proof of its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prove {
    /// Yes, against a checkpoint that holds every entry of the export, waiting this long for
    /// the signer (zero: the newest, if it holds them).
    Within(std::time::Duration),
    /// No, for this reason (said in the About).
    Not(String),
}

/// One export to run.
#[derive(Debug, Clone)]
pub struct Export {
    /// The query as written.
    pub query_text: String,
    /// The parsed query.
    pub query: Query,
    /// The zone of the query's dates.
    pub tz: FixedOffset,
    /// Row order.
    pub order: Order,
    /// The file format.
    pub format: Format,
    /// CSV only: start with a byte-order mark.
    pub bom: bool,
    /// Who asks (the journal entry's actor).
    pub by: Actor,
    /// When.
    pub at: DateTime<Utc>,
    /// The id of the journal entry that will record this export.
    pub entry: uuid::Uuid,
    /// The exporter's scope, when their roles limit it (already part of `query`).
    pub scope: Option<Query>,
    /// When the exporter may not see all personal data: the entries they see unmasked, and
    /// the personal fields to mask in the others.
    pub mask: Option<(vigil_core::rights::Scope, Vec<String>)>,
    /// The exporter reads some entries masked: the hash column is left empty in every row (see
    /// [`crate::service::caller::Caller::sees_hashes`]).
    pub withhold_hashes: bool,
    /// NDJSON and JSON: whether the file ends with the proof of its rows (`None`: not asked).
    pub prove: Option<Prove>,
}

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportFailed {
    /// Reading the journal failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing failed (the client went away, the disk is full).
    #[error(transparent)]
    Write(#[from] vigil_export::ExportError),
    /// The server is shutting down.
    #[error("the server is stopping")]
    Stopping,
    /// The exporter's session ended, their account was disabled or their rights changed.
    #[error("the exporter's session ended or their rights changed")]
    RightsEnded,
}

/// What may end an export before its last row; [`Export::run`] watches it between pages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Halt {
    /// Go on.
    #[default]
    Go,
    /// The server is shutting down.
    ServerStopping,
    /// The exporter may no longer read what the export was planned with.
    RightsEnded,
}

impl Halt {
    /// An error when the export must end here.
    fn check(halt: &tokio::sync::watch::Receiver<Halt>) -> Result<(), ExportFailed> {
        match *halt.borrow() {
            Halt::Go => Ok(()),
            Halt::ServerStopping => Err(ExportFailed::Stopping),
            Halt::RightsEnded => Err(ExportFailed::RightsEnded),
        }
    }
}

/// Waits until the search index holds every entry the journal holds now, so that an export has
/// every entry stored before it began. `Unavailable` (saying how far the index got) after
/// `patience`; backends without an index are always ready.
pub async fn index_caught_up(
    store: &dyn Store,
    patience: std::time::Duration,
) -> Result<(), StoreError> {
    let head = store.head().await?.map_or(0, |(seq, _)| seq);
    let started = std::time::Instant::now();
    loop {
        let Some(indexed) = store.indexed() else {
            return Ok(());
        };
        if indexed >= head {
            return Ok(());
        }
        if started.elapsed() >= patience {
            return Err(StoreError::Unavailable(format!(
                "the search index is catching up with the journal ({indexed} of {head} entries); try again shortly"
            )));
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// `after:from before:to` with exact times (µs).
fn between(from: i64, to: i64) -> Query {
    let at = |m: i64| {
        chrono::DateTime::from_timestamp_micros(m)
            .unwrap_or_default()
            .fixed_offset()
    };
    Query {
        clauses: vec![
            Clause {
                negated: false,
                term: Term::After(TimeBound::Exact(at(from))),
            },
            Clause {
                negated: false,
                term: Term::Before(TimeBound::Exact(at(to))),
            },
        ],
    }
}

impl Plan {
    /// Why this plan cannot be written in `format`, if it cannot: an Excel sheet's rows.
    pub fn refusal(&self, format: Format) -> Option<String> {
        (format == Format::Xlsx && self.total > vigil_export::XLSX_MAX_ROWS).then(|| {
            format!(
                "{} entries match, and an Excel sheet holds at most {}: narrow the search, or export as CSV or NDJSON",
                self.total,
                vigil_export::XLSX_MAX_ROWS
            )
        })
    }
}

impl Export {
    /// Plans the export: which time slices to read, the last seq stored now (the export holds
    /// no entry stored after it), and how many entries match (shown as the rows to expect).
    pub async fn plan(&self, store: &dyn Store) -> Result<Plan, StoreError> {
        self.plan_with(store, SLICE).await
    }

    /// [`Export::plan`] with slices of at most about `slice_rows` entries.
    pub async fn plan_with(&self, store: &dyn Store, slice_rows: u64) -> Result<Plan, StoreError> {
        // The last seq the index answers for (every entry up to it can be found), within the
        // journal's: entries stored after it are left out, even if the index takes them in
        // while the export runs.
        let head = store.head().await?.map_or(0, |(seq, _)| seq);
        let head = store.indexed().map_or(head, |indexed| indexed.min(head));
        let mut pieces = Vec::new();
        self.cut(store, None, slice_rows, 0, &mut pieces).await?;
        // Neighbouring pieces are read together while they hold at most `slice_rows` entries.
        let mut slices: Vec<(i64, i64)> = Vec::new();
        let mut in_slice = 0;
        let mut total = 0;
        for (from, to, count) in pieces {
            match slices.last_mut() {
                Some(last) if in_slice + count <= slice_rows => {
                    last.1 = to;
                    in_slice += count;
                }
                _ => {
                    slices.push((from, to));
                    in_slice = count;
                }
            }
            total += count;
        }
        if self.order == Order::Newest {
            slices.reverse();
        }
        Ok(Plan {
            slices,
            total,
            head,
        })
    }

    /// The non-empty time buckets of the query within `range` (all of time when `None`), oldest
    /// first, as `(from, to, count)`; a bucket with more than `slice_rows` matches is cut again
    /// (a journal with a few entries far in the past or future makes wide buckets).
    fn cut<'a>(
        &'a self,
        store: &'a dyn Store,
        range: Option<(i64, i64)>,
        slice_rows: u64,
        depth: u32,
        out: &'a mut Vec<(i64, i64, u64)>,
    ) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut query = self.query.clone();
            if let Some((from, to)) = range {
                query = query.and(between(from, to));
            }
            let timeline = store
                .timeline(&TimelineRequest {
                    query,
                    tz: self.tz,
                    buckets: 1000,
                })
                .await?;
            let width = timeline.interval_seconds * 1_000_000;
            for b in timeline.buckets.iter().filter(|b| b.count > 0) {
                let start = b.start.timestamp_micros();
                let (from, to) = match range {
                    Some((lo, hi)) => (start.max(lo), (start + width).min(hi)),
                    None => (start, start + width),
                };
                if b.count > slice_rows && width > 1_000_000 && depth < 4 {
                    self.cut(store, Some((from, to)), slice_rows, depth + 1, out)
                        .await?;
                } else {
                    out.push((from, to, b.count));
                }
            }
            Ok(())
        })
    }

    fn context(&self) -> Context {
        let mut context = Context::new(&self.query_text, &self.by.id, self.at).in_zone(self.tz);
        context.order = match self.order {
            Order::Newest => "newest first".into(),
            Order::Oldest => "oldest first".into(),
        };
        context.journal_entry = Some(self.entry);
        context.bom = self.bom;
        if let Some(scope) = &self.scope {
            context.scope = Some(scope.describe(&self.tz).join("; "));
        }
        if let Some((_, personal)) = &self.mask {
            let mut fields = vec![
                "ip (shown as its /24 or /48)".to_owned(),
                "target.name".into(),
            ];
            fields.extend(personal.iter().cloned());
            context.masking = Some(format!(
                "masked for {} (no unmask right): {}{}",
                self.by.id,
                fields.join(", "),
                if self.withhold_hashes {
                    "; hashes withheld (with them, masked values could be guessed and checked)"
                } else {
                    ""
                }
            ));
        }
        context
    }

    /// Writes every matching entry of the `plan` to `out` and returns it with the About;
    /// `progress` hears the rows written so far after each page. Stops early, between pages,
    /// when `halt` says so.
    pub async fn run<W: Write + Send + 'static>(
        &self,
        plan: &Plan,
        store: Arc<dyn Store>,
        out: W,
        halt: tokio::sync::watch::Receiver<Halt>,
        mut progress: impl FnMut(u64) + Send + 'static,
    ) -> Result<(W, About), ExportFailed> {
        let (pages, mut incoming) = tokio::sync::mpsc::channel::<Page>(AHEAD);
        let format = self.format;
        let mut context = self.context();
        context.journal_seq = Some(plan.head);
        let mask = self.mask.clone();
        let withhold_hashes = self.withhold_hashes;
        let spare = Spare::default();
        let spare_pages = spare.clone();
        let encoder = tokio::task::spawn_blocking(
            move || -> Result<(W, About), vigil_export::ExportError> {
                let mut exporter = vigil_export::Exporter::new(format, out, context)?;
                loop {
                    match incoming.blocking_recv() {
                        Some(Page::Rows(page, notes)) => {
                            let none = vigil_core::AnnotationSummary::default();
                            for entry in &page {
                                match &mask {
                                    Some((unmasked, personal)) => {
                                        let summary = notes.get(&entry.seq).unwrap_or(&none);
                                        let clear = unmasked.contains(&entry.event, summary);
                                        if clear && !withhold_hashes {
                                            exporter.write(&Row::new(entry))?;
                                            continue;
                                        }
                                        let mut shown = entry.clone();
                                        if !clear {
                                            vigil_core::rights::mask(&mut shown, personal);
                                        }
                                        if withhold_hashes {
                                            shown.hash.clear();
                                            shown.salt = None;
                                        }
                                        exporter.write(&Row::new(&shown))?;
                                    }
                                    None => exporter.write(&Row::new(entry))?,
                                }
                            }
                            progress(exporter.rows());
                        }
                        Some(Page::Encoded(page)) => {
                            exporter.write_page(&page)?;
                            progress(exporter.rows());
                            spare_pages.give(page);
                        }
                        Some(Page::End(None)) => return exporter.finish(),
                        Some(Page::End(Some(proof))) => {
                            return exporter.finish_proven(proof.as_ref().map_err(Clone::clone))
                        }
                        // The reader failed: leave the file unfinished (its error is reported).
                        None => {
                            return Err(vigil_export::ExportError::Io(std::io::Error::other(
                                "the export was interrupted",
                            )))
                        }
                    }
                }
            },
        );
        let newest = self.order == Order::Newest;
        // Without masking, pages (of any format) are encoded where they are read, several at
        // once, straight from the store's rows; the encoder thread only hashes and writes them.
        let encoded = self.mask.is_none() && vigil_export::PageEncoder::supports(format);
        let reads_notes = self
            .mask
            .as_ref()
            .is_some_and(|(unmasked, _)| unmasked.uses_annotations());
        let mut selection = matches!(self.prove, Some(Prove::Within(_)))
            .then(crate::service::integrity::Selection::default);
        let read = async {
            // Entries in the pages before (XLSX pages number their rows).
            let mut before = 0u64;
            for &(from, to) in &plan.slices {
                Halt::check(&halt)?;
                let mut keys = store.keys(&self.query, self.tz, from, to).await?;
                // The index answered for every entry up to the plan's head when the export was
                // planned; one built again since (its folder was removed while the store ran)
                // holds only part of them, and the file would silently lack the rest.
                if let Some(indexed) = store.indexed().filter(|i| *i < plan.head) {
                    return Err(StoreError::Unavailable(format!(
                        "the search index is being built again from the journal ({indexed} of {}                          entries): the export stopped rather than leave entries out; try again                          shortly",
                        plan.head
                    ))
                    .into());
                }
                keys.retain(|(_, seq)| *seq <= plan.head);
                if let Some(selection) = selection.as_mut() {
                    for (_, seq) in &keys {
                        selection.insert(*seq);
                    }
                }
                keys.sort_unstable();
                if newest {
                    keys.reverse();
                }
                if encoded {
                    let seqs: Vec<(u64, Vec<u64>)> = keys
                        .chunks(ENCODED_PAGE)
                        .map(|c| {
                            let page_before = before;
                            before += c.len() as u64;
                            (page_before, c.iter().map(|(_, seq)| *seq).collect())
                        })
                        .collect();
                    drop(keys);
                    // Each page is read and encoded by a task of its own, so that the next
                    // ones go on while this one waits for the writer; at most ENCODERS at once.
                    let mut todo = seqs.into_iter();
                    let mut running = Encoding::default();
                    loop {
                        Halt::check(&halt)?;
                        while running.0.len() < ENCODERS {
                            let Some((before, seqs)) = todo.next() else {
                                break;
                            };
                            let (store, spare) = (store.clone(), spare.take());
                            running.0.push_back(tokio::spawn(async move {
                                encode_page(store.as_ref(), format, before, seqs, spare).await
                            }));
                        }
                        // Awaited in place: if the export is dropped meanwhile, `running`
                        // aborts it with the others.
                        let Some(next) = running.0.front_mut() else {
                            break;
                        };
                        let page = next.await.map_err(|e| {
                            ExportFailed::Write(vigil_export::ExportError::Io(
                                std::io::Error::other(e),
                            ))
                        })??;
                        running.0.pop_front();
                        if pages.send(Page::Encoded(page)).await.is_err() {
                            return Ok(());
                        }
                    }
                    continue;
                }
                for chunk in keys.chunks(PAGE) {
                    Halt::check(&halt)?;
                    let seqs: Vec<u64> = chunk.iter().map(|(_, seq)| *seq).collect();
                    // An unmask scope like `-mark:confidential` is read with the annotations.
                    let notes = if reads_notes {
                        crate::service::search::summaries(store.as_ref(), seqs.clone()).await?
                    } else {
                        Default::default()
                    };
                    let page = store.entries(seqs).await?;
                    // A send fails only when the encoder stopped; its error is reported below.
                    if pages.send(Page::Rows(page, notes)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            let proof = match (&self.prove, &selection) {
                (Some(Prove::Within(patience)), Some(selection)) => Some(
                    crate::service::integrity::export_proof(
                        store.as_ref(),
                        selection,
                        plan.head,
                        *patience,
                    )
                    .await?,
                ),
                (Some(Prove::Not(why)), _) => Some(Err(why.clone())),
                _ => None,
            };
            let _ = pages.send(Page::End(proof)).await;
            Ok(())
        };
        let read: Result<(), ExportFailed> = read.await;
        drop(pages);
        let written = encoder.await.map_err(|e| {
            ExportFailed::Write(vigil_export::ExportError::Io(std::io::Error::other(e)))
        });
        drop(spare);
        if let Ok(Ok((_, about))) = &written {
            release_after(about.rows);
        }
        // The reader's error first: the encoder then only saw its input end.
        read?;
        Ok(written??)
    }

    /// The journal entry recording this export: its About when it completed, else what was
    /// asked and why it failed.
    pub fn journal_entry(&self, result: Result<&About, String>) -> Event {
        let (outcome, details) = match result {
            Ok(about) => (
                Outcome::Success,
                serde_json::to_value(about).expect("an About serializes"),
            ),
            Err(e) => (
                Outcome::Failure,
                serde_json::json!({
                    "format": self.format.as_str(),
                    "query": self.query_text,
                    "time_zone": self.tz.to_string(),
                    "error": e,
                }),
            ),
        };
        let rows = details.get("rows").and_then(|r| r.as_u64());
        let name = match rows {
            Some(n) => format!("{} export of {n} entries", self.format),
            None => format!("{} export", self.format),
        };
        OwnEntry::new(self.at, &self.by, "journal.export", Kind::Access)
            .id(self.entry)
            .outcome(outcome)
            .on("export", self.entry.to_string(), Some(name))
            .details(details)
            .build()
    }
}

/// What a page's entries are handed to while the store reads them.
struct Encode(vigil_export::PageEncoder);

impl vigil_store::Visit for Encode {
    fn entry(&mut self, pos: usize, entry: &vigil_core::EntryView<'_>) -> Result<(), StoreError> {
        self.0.push(pos, entry).map_err(StoreError::backend)
    }
}

/// After a large export the pages' and the deflater's buffers are freed: give them back to the
/// system rather than keep them resident until the next one. At most once in two seconds (it
/// walks the allocator's arenas, holding each one's lock, for a few milliseconds; once in ten
/// let exports one after the other add 3 MB each until the next), off the async workers.
fn release_after(rows: u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    if rows < 100_000 {
        return;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if now >= last + 2
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tokio::task::spawn_blocking(vigil_alloc::release_free_memory);
    }
}

/// Pages being read and encoded, in export order; stopped when the export stops.
#[derive(Default)]
struct Encoding(
    std::collections::VecDeque<
        tokio::task::JoinHandle<Result<vigil_export::EncodedPage, ExportFailed>>,
    >,
);

impl Drop for Encoding {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Pages already written, whose buffers the next pages reuse.
#[derive(Clone, Default)]
struct Spare(Arc<std::sync::Mutex<Vec<vigil_export::EncodedPage>>>);

impl Spare {
    fn take(&self) -> vigil_export::EncodedPage {
        self.0
            .lock()
            .ok()
            .and_then(|mut pages| pages.pop())
            .unwrap_or_default()
    }

    fn give(&self, page: vigil_export::EncodedPage) {
        if let Ok(mut pages) = self.0.lock() {
            if pages.len() < ENCODERS + AHEAD + 1 {
                pages.push(page);
            }
        }
    }
}

/// The entries `seqs` read and encoded for `format`, in this order, in the buffers of `spare`;
/// `before` entries of the export come before them.
async fn encode_page(
    store: &dyn Store,
    format: Format,
    before: u64,
    seqs: Vec<u64>,
    spare: vigil_export::EncodedPage,
) -> Result<vigil_export::EncodedPage, ExportFailed> {
    let encode = Arc::new(std::sync::Mutex::new(Encode(
        vigil_export::PageEncoder::reusing(format, spare)?.after(before),
    )));
    store.visit(seqs, encode.clone()).await?;
    let encode = Arc::try_unwrap(encode)
        .ok()
        .and_then(|m| m.into_inner().ok())
        .ok_or_else(|| {
            StoreError::backend(std::io::Error::other("a page's encoder is still held"))
        })?;
    Ok(encode.0.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xlsx_is_refused_beyond_a_sheet_and_other_formats_are_not() {
        let plan = |total| Plan {
            slices: vec![],
            total,
            head: total,
        };
        assert!(plan(vigil_export::XLSX_MAX_ROWS)
            .refusal(Format::Xlsx)
            .is_none());
        let why = plan(vigil_export::XLSX_MAX_ROWS + 1)
            .refusal(Format::Xlsx)
            .unwrap();
        assert!(why.contains("export as CSV or NDJSON"), "{why}");
        assert!(plan(5_000_000).refusal(Format::Csv).is_none());
    }
}
