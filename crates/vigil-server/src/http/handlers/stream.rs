//! The live tail as server-sent events: a `ready` event whose SSE id is the seq the tail starts
//! after, then one `entry` per matching entry with the entry's seq as id, so that a client that
//! reconnects with `Last-Event-ID` resumes exactly where it was. What a tail sees and when it
//! ends is `crate::service::search::tail`.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use vigil_api::StreamParams;

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::Params;
use crate::service::caller::CanRead;
use crate::service::search::{self, Tailed};
use crate::state::AppState;

/// New entries matching the query as they are stored: `text/event-stream` with a `ready` event
/// (id: the seq the tail starts after), then one `entry` event per entry (data: the entry's JSON,
/// id: its seq). Starts after the newest entry, or after the seq in `Last-Event-ID` when a
/// client reconnects. Ends when the session ends.
#[utoipa::path(get, path = "/v1/stream", tag = "events", params(StreamParams),
    responses((status = 200, description = "Server-sent events: `event: ready` (`id: <seq started after>`), then `event: entry`, `id: <seq>`, `data: <entry JSON>`", content_type = "text/event-stream"),
              (status = 400, description = "Bad query (with column), parameter or `Last-Event-ID`", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    reader: CanRead,
    headers: HeaderMap,
    Params(p): Params<StreamParams>,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let resume = headers.get("last-event-id").map(|v| v.as_bytes());
    let tail = search::tail(&state, reader, p, resume).await?;
    let events = tail.map(|t| Ok(sse(t)));
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// One SSE event of a tail. An entry's data is its JSON, with `masked` when personal data was
/// masked; `ready` carries data too (an SSE event without data is never dispatched by clients).
fn sse(t: Tailed) -> SseEvent {
    match t {
        Tailed::Ready(after) => SseEvent::default()
            .event("ready")
            .id(after.to_string())
            .data(after.to_string()),
        Tailed::Entry(entry) => {
            let mut value = serde_json::to_value(&entry.entry).expect("a stored event serializes");
            if !entry.masked.is_empty() {
                value["masked"] = serde_json::json!(entry.masked);
            }
            SseEvent::default()
                .event("entry")
                .id(entry.entry.seq.to_string())
                .data(value.to_string())
        }
        Tailed::Failed(why) => SseEvent::default().event("error").data(why),
    }
}
