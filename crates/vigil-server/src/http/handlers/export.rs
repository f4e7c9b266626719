//! `GET /v1/export`: the entries matching a query as a file, streamed as it is written.

use std::io::Write;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;
use vigil_api::{ExportParams, EXPORT_ENTRY_HEADER, EXPORT_ROWS_HEADER};

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::Params;
use crate::service::caller::{Caller, Exporter};
use crate::service::exports::{self, Export, ExportAsk, Plan, INDEX_PATIENCE};
use crate::state::AppState;

/// Bytes handed to the connection at a time.
const CHUNK: usize = 64 * 1024;

/// The matching entries as a CSV, XLSX, JSON or NDJSON file, streamed while it is written.
/// XLSX carries an "About" sheet and JSON an `about` object; for CSV and NDJSON the About is the
/// details of the journal entry named by the `Vigil-Export-Entry` header, written before the
/// body ends. A body cut short (the connection fails) is an incomplete export.
#[utoipa::path(get, path = "/v1/export", tag = "events", params(ExportParams),
    responses((status = 200, description = "The file, in the format asked",
                  content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("application/json"), ("application/x-ndjson")),
                  headers(("vigil-export-entry" = String, description = "The id of the journal entry that records the export"),
                          ("vigil-export-rows" = u64, description = "How many entries matched when the export began"))),
              (status = 400, description = "Bad query, format or parameter; XLSX for more entries than a sheet holds", body = ErrorEnvelope),
              (status = 503, description = "The search index is catching up with the journal; `Retry-After` says when to ask again", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn export(
    State(state): State<AppState>,
    exporter: Exporter,
    Params(p): Params<ExportParams>,
) -> Result<Response, ApiError> {
    let ask = ExportAsk::from_params(p, &exporter)?;
    let slot = state
        .running
        .take(crate::service::running::Work::Export, &exporter.name)?;
    let (export, plan) = exports::prepare(&state, &exporter, ask, INDEX_PATIENCE).await?;
    let format = export.format;
    let rows = plan.total;
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let filename = format!(
        "vigil-export-{}.{}",
        export.at.format("%Y%m%d-%H%M%S"),
        format.as_str()
    );
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type()),
        ),
        (
            header::CONTENT_DISPOSITION,
            HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
                .expect("a plain file name is a header value"),
        ),
        (
            HeaderName::from_static(EXPORT_ENTRY_HEADER),
            header_value(export.entry),
        ),
        (
            HeaderName::from_static(EXPORT_ROWS_HEADER),
            header_value(rows),
        ),
    ];
    // What is read is read with the rights the export began with, while they last.
    let halt = exports::halting(&state, Some(Caller::clone(&exporter)));
    tokio::spawn(async move {
        run(state, export, plan, halt, tx).await;
        // The export counts among its maker's until it is written and recorded.
        drop(slot);
    });
    let body = Body::from_stream(tokio_stream_from(rx));
    Ok((headers, body).into_response())
}

fn header_value(v: impl ToString) -> HeaderValue {
    HeaderValue::from_str(&v.to_string()).expect("a number or uuid is a header value")
}

/// Writes the export into the response body, records it in the journal, then ends the body (so
/// a client that read to the end finds the entry). On failure the body ends with an error, and
/// the client sees an incomplete response.
async fn run(
    state: AppState,
    export: Export,
    plan: Plan,
    halt: tokio::sync::watch::Receiver<exports::Halt>,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let out = BodyWriter {
        tx: tx.clone(),
        buf: Vec::with_capacity(CHUNK),
    };
    let result = export
        .run(&plan, state.store.clone(), out, halt, |_| {})
        .await;
    let recorded = exports::record(
        &state,
        &export,
        result
            .as_ref()
            .map(|(_, about)| about)
            .map_err(|e| e.to_string()),
    )
    .await;
    if let Err(e) = recorded {
        tracing::error!(error = %e, entry = %export.entry, "recording an export in the journal failed");
        let _ = tx
            .send(Err(std::io::Error::other(
                "the export could not be recorded",
            )))
            .await;
        return;
    }
    match result {
        Ok((out, about)) => {
            tracing::info!(rows = about.rows, format = %about.format, by = %about.generated_by, "export");
            drop(out);
        }
        Err(e) => {
            tracing::warn!(error = %e, "export failed");
            let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
        }
    }
}

/// A `Write` that hands the bytes to the response body in chunks (from a blocking thread).
struct BodyWriter {
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
}

impl BodyWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "the client closed the connection",
            )
        })
    }
}

impl Write for BodyWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

fn tokio_stream_from(
    mut rx: mpsc::Receiver<Result<Bytes, std::io::Error>>,
) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}
