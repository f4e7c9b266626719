//! Exports: the entries matching a query, written by vigil-export in one format, within what
//! the exporter may both read and export and masked as they see entries, and recorded in the
//! journal itself.
//!
//! How an export reads and writes is [`run`]. The `GET /v1/export` handler (into the
//! answer's body) and `vigil export` (into a file, [`write_file`]) both [`prepare`] an
//! [`Export`] and run it; it ends with one journal entry (section `vigil`, action
//! `journal.export`, the exporter as actor) whose details are the export's [`About`], with
//! outcome `failure` and the reason when it did not complete ([`record`]).

pub mod run;

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use chrono::FixedOffset;
use vigil_api::ExportParams;
use vigil_core::Query;
use vigil_export::{About, Format};
use vigil_store::{Order, StoreError};

pub use run::{index_caught_up, Export, ExportFailed, Halt, Plan, Prove};

use super::caller::{Caller, Exporter, MaskedIpProbe};
use super::{parse_query, parse_tz, BadQuery, Fault, Refusal};
use crate::state::AppState;

/// How long an export waits for the signer's checkpoint holding its entries (signed at once
/// when asked; longer only when the store is very busy).
pub const PROOF_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long an export through the API waits for the search index to hold every stored entry.
pub const INDEX_PATIENCE: std::time::Duration = std::time::Duration::from_secs(30);

/// Why an export was refused before it began.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A format or parameter that is not understood.
    #[error("{0}")]
    BadParameter(String),
    /// The query is too long or does not parse.
    #[error(transparent)]
    BadQuery(#[from] BadQuery),
    /// An `ip:` narrower than a masked reader sees.
    #[error(transparent)]
    MaskedIpProbe(#[from] MaskedIpProbe),
    /// More entries match than the format holds.
    #[error("{0}")]
    TooManyRows(String),
    /// The index is catching up (try again shortly), or the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for ExportError {
    fn fault(&self) -> Fault {
        match self {
            ExportError::BadParameter(_)
            | ExportError::BadQuery(_)
            | ExportError::TooManyRows(_) => Fault::Invalid,
            ExportError::MaskedIpProbe(e) => e.fault(),
            ExportError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ExportError::BadParameter(_) => "bad_parameter",
            ExportError::BadQuery(_) => "bad_query",
            ExportError::TooManyRows(_) => "too_many_rows",
            ExportError::MaskedIpProbe(e) => e.code(),
            ExportError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            ExportError::MaskedIpProbe(e) => e.field(),
            ExportError::Store(e) => e.field(),
            _ => None,
        }
    }

    fn column(&self) -> Option<usize> {
        match self {
            ExportError::BadQuery(e) => e.column,
            _ => None,
        }
    }
}

/// What to export, read from the command line or the API's parameters.
#[derive(Debug, Clone)]
pub struct ExportAsk {
    /// The query as written.
    pub q: String,
    /// The query, parsed.
    pub query: Query,
    /// The file format.
    pub format: Format,
    /// The zone of the query's dates.
    pub tz: FixedOffset,
    /// Row order.
    pub order: Order,
    /// CSV only: start with a byte-order mark.
    pub bom: bool,
    /// NDJSON and JSON: end with the proof of the rows.
    pub proof: bool,
}

impl ExportAsk {
    /// What `GET /v1/export`'s parameters ask, checked in the order a search checks them:
    /// the format, the query (its length, its syntax, then an `ip:` narrower than the exporter
    /// sees), then the other parameters.
    pub fn from_params(p: ExportParams, exporter: &Exporter) -> Result<ExportAsk, ExportError> {
        let format = match p.format.as_deref() {
            None => {
                return Err(ExportError::BadParameter(format!(
                    "format: required, one of: {}",
                    Format::choices()
                )))
            }
            Some(text) => Format::parse(text).ok_or_else(|| {
                ExportError::BadParameter(format!(
                    "format: {text:?} is not one of: {}",
                    Format::choices()
                ))
            })?,
        };
        let q = p.q.unwrap_or_default();
        let query = parse_query(Some(&q))?;
        exporter.check_query(&query)?;
        Ok(ExportAsk {
            q,
            query,
            format,
            tz: parse_tz(p.tz.as_deref()).map_err(ExportError::BadParameter)?,
            order: p.order.unwrap_or_default(),
            bom: p.bom.unwrap_or(false),
            proof: p.proof.unwrap_or(true),
        })
    }
}

/// Plans an export of what the exporter may both read and export, masked as they see entries:
/// waits for the index to hold every stored entry (at most `patience`), then refuses a format
/// that cannot hold the entries that match.
pub async fn prepare(
    state: &AppState,
    exporter: &Exporter,
    ask: ExportAsk,
    patience: std::time::Duration,
) -> Result<(Export, Plan), ExportError> {
    exporter.check_query(&ask.query)?;
    let g = &exporter.grants;
    let query = g.export.narrow(g.read.narrow(g.as_seen(ask.query)));
    let scope = Query {
        clauses: [g.read.clause(), g.export.clause()]
            .into_iter()
            .flatten()
            .collect(),
    };
    let scope = (!scope.clauses.is_empty()).then_some(scope);
    let mask = (!g.unmask.is_all()).then(|| {
        (
            g.unmask.clone(),
            state.config.privacy.personal_fields.clone(),
        )
    });
    let export = Export {
        scope,
        mask,
        withhold_hashes: !g.reads_unmasked(),
        prove: (ask.proof && matches!(ask.format, Format::Json | Format::Ndjson)).then(|| {
            if g.reads_unmasked() {
                let signing = state.signer.is_some()
                    && !state
                        .signer_stopped
                        .load(std::sync::atomic::Ordering::Relaxed);
                Prove::Within(if signing {
                    PROOF_PATIENCE
                } else {
                    std::time::Duration::ZERO
                })
            } else {
                Prove::Not(
                    "none: the exporter reads some entries masked, and is shown no hashes".into(),
                )
            }
        }),
        query_text: ask.q,
        query,
        tz: ask.tz,
        order: ask.order,
        format: ask.format,
        bom: ask.bom,
        by: super::own_entry::staff(&exporter.name),
        at: state.now(),
        entry: uuid::Uuid::now_v7(),
    };
    index_caught_up(state.store.as_ref(), patience).await?;
    let plan = export.plan(state.store.as_ref()).await?;
    if let Some(why) = plan.refusal(export.format) {
        return Err(ExportError::TooManyRows(why));
    }
    if matches!(export.prove, Some(Prove::Within(_))) {
        // The signer signs a checkpoint holding the export's entries at once (at most one
        // a second).
        state.checkpoint_wanted.send_if_modified(|wanted| {
            let more = plan.head > *wanted;
            *wanted = (*wanted).max(plan.head);
            more
        });
    }
    Ok((export, plan))
}

/// Records how an export went in the journal (its About, or why it failed), and wakes the live
/// tails.
pub async fn record(
    state: &AppState,
    export: &Export,
    result: Result<&About, String>,
) -> Result<(), StoreError> {
    state
        .append(vec![export.journal_entry(result)])
        .await
        .map(drop)
}

/// `<file>.about.json`: where the About of a CSV or NDJSON export goes.
pub fn sidecar_path(out: &Path) -> PathBuf {
    vigil_export::sidecar_path(out)
}

/// How often an export checks that its maker's session and rights still hold.
const RECHECK: std::time::Duration = std::time::Duration::from_secs(1);

/// What may end an export before its last row: the server stopping and, for a signed-in
/// `exporter`, their session ending, their account being disabled or their roles changing
/// (checked every [`RECHECK`]: what is read after that would be read with rights they no longer
/// have). The watch ends when its receiver is dropped.
pub fn halting(state: &AppState, exporter: Option<Caller>) -> tokio::sync::watch::Receiver<Halt> {
    let (tx, rx) = tokio::sync::watch::channel(Halt::Go);
    let state = state.clone();
    tokio::spawn(async move {
        let mut stopping = state.stopping.subscribe();
        loop {
            let recheck = tokio::select! {
                _ = tx.closed() => return,
                _ = stopping.wait_for(|s| *s) => false,
                _ = tokio::time::sleep(RECHECK), if exporter.is_some() => true,
            };
            if !recheck {
                let _ = tx.send(Halt::ServerStopping);
                return;
            }
            if let Some(caller) = &exporter {
                if !super::sessions::still_entitled(&state, caller).await {
                    let _ = tx.send(Halt::RightsEnded);
                    return;
                }
            }
        }
    });
    rx
}

/// Writes a prepared export to `out` under a temporary name in its folder, renamed when
/// complete, with `<out>.about.json` beside CSV and NDJSON files; then records it in the
/// journal. `progress` hears (rows done, rows expected).
pub async fn write_file(
    state: &AppState,
    export: &Export,
    plan: &Plan,
    out: &Path,
    progress: impl FnMut(u64, u64) + Send + 'static,
) -> anyhow::Result<About> {
    let format = export.format;
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    let total = plan.total;
    let partial = tempfile::Builder::new()
        .prefix(".vigil-export-")
        .suffix(".partial")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    let file = std::io::BufWriter::new(partial.as_file().try_clone()?);
    let mut progress = progress;
    let result = export
        .run(
            plan,
            state.store.clone(),
            file,
            halting(state, None),
            move |rows| progress(rows, total),
        )
        .await;
    // The file first, then its About beside it, then the journal says how it went.
    let saved = (|| -> anyhow::Result<About> {
        let (file, about) = result?;
        file.into_inner()
            .map_err(|e| e.into_error())?
            .sync_all()
            .context("writing the export to disk")?;
        partial
            .persist(out)
            .with_context(|| format!("writing {}", out.display()))?;
        if format.has_sidecar() {
            let sidecar = sidecar_path(out);
            let mut side = tempfile::Builder::new()
                .prefix(".vigil-export-")
                .suffix(".partial")
                .tempfile_in(&dir)?;
            serde_json::to_writer_pretty(&mut side, &about)?;
            std::io::Write::write_all(&mut side, b"\n")?;
            side.as_file().sync_all()?;
            side.persist(&sidecar)
                .with_context(|| format!("writing {}", sidecar.display()))?;
        }
        Ok(about)
    })();
    record(state, export, saved.as_ref().map_err(super::one_line))
        .await
        .context("recording the export in the journal")?;
    saved
}
