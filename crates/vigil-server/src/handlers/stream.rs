//! The live tail: new entries matching a query, as server-sent events.
//!
//! A tail reads the journal itself (by seq), not a copy of what was ingested: it wakes when this
//! process appends and polls once a second for appends made by other processes. It first sends a
//! `ready` event whose SSE id is the seq it starts after, then one `entry` per matching entry with
//! the entry's seq as id, so a client that reconnects with `Last-Event-ID` resumes exactly where
//! it was. A tail ends when its session expires or is revoked (the client's reconnect then gets
//! the 401) and when the server shuts down.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use chrono::FixedOffset;
use futures::{Stream, StreamExt};
use vigil_api::StreamParams;
use vigil_core::Query;

use crate::auth::{CanRead, Reader};
use crate::error::{ApiError, ErrorEnvelope};
use crate::handlers::events::{parse_query, parse_tz};
use crate::params::Params;
use crate::state::AppState;

/// Entries read from the journal per step of a tail.
const SCAN_BATCH: usize = 500;
/// How often a tail looks for appends made by other processes.
const POLL: Duration = Duration::from_secs(1);

/// New entries matching the query as they are stored: `text/event-stream` with a `ready` event
/// (id: the seq the tail starts after), then one `entry` event per entry (data: the entry's JSON,
/// id: its seq). Starts after the newest entry, or after the seq in `Last-Event-ID` when a
/// client reconnects. Ends when the session ends.
#[utoipa::path(get, path = "/v1/stream", tag = "events", params(StreamParams),
    responses((status = 200, description = "Server-sent events: `event: ready` (`id: <seq started after>`), then `event: entry`, `id: <seq>`, `data: <entry JSON>`", content_type = "text/event-stream"),
              (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    reader: CanRead,
    headers: HeaderMap,
    Params(p): Params<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let query = parse_query(p.q.as_deref())?;
    reader.check_query(&query)?;
    let query = reader.scoped(query);
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
        reader: reader.into_reader(),
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
    /// Whose session the tail lives on.
    reader: Reader,
}

impl Tail {
    /// The SSE stream: `ready`, then each step yields the matching entries of one scan, waiting
    /// first when the previous scan found nothing new.
    fn run(self) -> impl Stream<Item = Result<SseEvent, Infallible>> {
        // Data too: an SSE event without data is never dispatched by clients.
        let ready = SseEvent::default()
            .event("ready")
            .id(self.after.to_string())
            .data(self.after.to_string());
        let appended = self.state.appended.subscribe();
        let stopping = self.state.stopping.subscribe();
        let steps = futures::stream::unfold(
            (self, appended, stopping, false),
            |(mut tail, mut appended, mut stopping, wait)| async move {
                if wait {
                    // Wake on this process's appends, or poll for other processes'; end with
                    // the server.
                    tokio::select! {
                        _ = tokio::time::timeout(POLL, appended.changed()) => {}
                        _ = stopping.wait_for(|s| *s) => return None,
                    }
                    if !tail.session_alive().await {
                        return None;
                    }
                }
                if *stopping.borrow() {
                    return None;
                }
                let events = match tail.state.store.scan(tail.after + 1, SCAN_BATCH).await {
                    Ok(entries) => {
                        let caught_up = entries.len() < SCAN_BATCH;
                        let mut out = Vec::new();
                        for entry in entries {
                            tail.after = entry.seq;
                            if tail.query.matches(&entry.event, &tail.tz) {
                                let mut one = [vigil_core::Annotated::bare(entry)];
                                tail.reader.present(&tail.state, &mut one);
                                out.push(Ok(entry_event(&one[0])));
                            }
                        }
                        return Some((
                            futures::stream::iter(out),
                            (tail, appended, stopping, caught_up),
                        ));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live tail: reading the journal failed");
                        vec![Ok(SseEvent::default()
                            .event("error")
                            .data("the store could not read the journal; retrying"))]
                    }
                };
                Some((
                    futures::stream::iter(events),
                    (tail, appended, stopping, true),
                ))
            },
        )
        .flatten();
        futures::stream::once(async move { Ok(ready) }).chain(steps)
    }

    /// Whether the session the tail was opened with is still valid (not expired, not revoked).
    async fn session_alive(&self) -> bool {
        if self.reader.expires_at <= self.state.now() {
            return false;
        }
        match self.state.store.session(&self.reader.token_hash).await {
            Ok(session) => session.revoked_at.is_none(),
            Err(vigil_store::StoreError::NotFound(_)) => false,
            // A passing failure of the store does not end the tail; the next poll looks again.
            Err(_) => true,
        }
    }
}

/// The entry's JSON (with `masked` when personal data was masked).
fn entry_event(entry: &vigil_core::Annotated) -> SseEvent {
    let mut value = serde_json::to_value(&entry.entry).expect("a stored event serializes");
    if !entry.masked.is_empty() {
        value["masked"] = serde_json::json!(entry.masked);
    }
    let json = value.to_string();
    SseEvent::default()
        .event("entry")
        .id(entry.entry.seq.to_string())
        .data(json)
}
