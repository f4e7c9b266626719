//! The live tail: new entries matching a query, as server-sent events.
//!
//! A tail reads the journal itself (by seq), not a copy of what was ingested, so it misses
//! nothing: it wakes when this process appends and polls once a second for appends made by other
//! processes. Each message's SSE id is the entry's seq; a client that reconnects with
//! `Last-Event-ID` resumes right after it.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use chrono::FixedOffset;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use utoipa::IntoParams;
use vigil_core::Query;

use crate::auth::Reader;
use crate::error::{ApiError, ErrorEnvelope};
use crate::handlers::events::{parse_query, parse_tz};
use crate::params::Params;
use crate::state::AppState;

/// Entries read from the journal per step of a tail.
const SCAN_BATCH: usize = 500;
/// How often a tail looks for appends made by other processes.
const POLL: Duration = Duration::from_secs(1);

/// Parameters of a live tail.
#[derive(Debug, Deserialize, IntoParams)]
pub struct StreamParams {
    /// The query new entries must match (empty: every new entry).
    q: Option<String>,
    /// The UTC offset in which dates without an offset are read (default UTC).
    tz: Option<String>,
}

/// New entries matching the query as they are stored: `text/event-stream` with one `entry`
/// event per entry (data: the entry's JSON, id: its seq). Starts after the newest entry, or after
/// the seq in `Last-Event-ID` when a client reconnects.
#[utoipa::path(get, path = "/v1/stream", tag = "events", params(StreamParams),
    responses((status = 200, description = "Server-sent events: `event: entry`, `id: <seq>`, `data: <entry JSON>`", content_type = "text/event-stream"),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    _reader: Reader,
    headers: HeaderMap,
    Params(p): Params<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let query = parse_query(p.q.as_deref())?;
    let tz = parse_tz(p.tz.as_deref())?;
    let after = match last_event_id(&headers)? {
        Some(seq) => seq,
        None => state.store.head().await?.map_or(0, |(seq, _)| seq),
    };
    let tail = Tail {
        state,
        query,
        tz,
        after,
    };
    Ok(Sse::new(tail.run()).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

fn last_event_id(headers: &HeaderMap) -> Result<Option<u64>, ApiError> {
    let Some(value) = headers.get("last-event-id") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Some)
        .ok_or_else(|| {
            ApiError::bad_request("bad_parameter", "Last-Event-ID: expected a seq (a number)")
        })
}

struct Tail {
    state: AppState,
    query: Query,
    tz: FixedOffset,
    /// The last seq already looked at.
    after: u64,
}

impl Tail {
    /// The SSE stream: each step yields the matching entries of one scan, waiting first when the
    /// previous scan found nothing new.
    fn run(self) -> impl Stream<Item = Result<SseEvent, Infallible>> {
        let appended = self.state.appended.subscribe();
        futures::stream::unfold(
            (self, appended, false),
            |(mut tail, mut appended, wait)| async move {
                if wait {
                    // Wake on this process's appends, or poll for other processes'.
                    let _ = tokio::time::timeout(POLL, appended.changed()).await;
                }
                let events = match tail.state.store.scan(tail.after + 1, SCAN_BATCH).await {
                    Ok(entries) => {
                        let caught_up = entries.len() < SCAN_BATCH;
                        let mut out = Vec::new();
                        for entry in entries {
                            tail.after = entry.seq;
                            if tail.query.matches(&entry.event, &tail.tz) {
                                out.push(Ok(entry_event(&entry)));
                            }
                        }
                        return Some((futures::stream::iter(out), (tail, appended, caught_up)));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live tail: reading the journal failed");
                        vec![Ok(SseEvent::default().event("error").data(e.to_string()))]
                    }
                };
                Some((futures::stream::iter(events), (tail, appended, true)))
            },
        )
        .flatten()
    }
}

fn entry_event(entry: &vigil_core::StoredEvent) -> SseEvent {
    let json = serde_json::to_string(entry).expect("a stored event serializes");
    SseEvent::default()
        .event("entry")
        .id(entry.seq.to_string())
        .data(json)
}
