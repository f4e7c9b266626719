//! The journal: ingest, search, one entry, timeline, facets.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use chrono::FixedOffset;
use serde_json::Value;
use vigil_api::{EventsPage, FacetParams, IngestAnswer, SearchParams, TimelineParams};
use vigil_core::validate::{self, MAX_BATCH_BYTES, MAX_BATCH_EVENTS};
use vigil_core::{Annotated, Event, Query};
use vigil_store::{
    Cursor, FacetField, FacetRequest, Facets, Search, StoreError, Timeline, TimelineRequest,
};

use crate::auth::{CanRead, Ingester, Reader};
use crate::error::{ApiError, ErrorEnvelope};
use crate::params::Params;
use crate::state::AppState;

/// Appends one event or an array of events, atomically and durably.
#[utoipa::path(post, path = "/v1/events", tag = "events",
    request_body(content = Object, description = "One event, or an array of at most 1000 events (8 MiB)", content_type = "application/json"),
    responses(
        (status = 201, description = "Stored (fsynced); some may be duplicates", body = IngestAnswer),
        (status = 200, description = "Every event was a duplicate; nothing new stored", body = IngestAnswer),
        (status = 400, description = "Malformed JSON or an invalid event (named by index and field)", body = ErrorEnvelope),
        (status = 401, description = "No or unknown ingest key", body = ErrorEnvelope),
        (status = 409, description = "An id is already stored with different content", body = ErrorEnvelope),
        (status = 413, description = "Over a size limit (named)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub async fn ingest(
    State(state): State<AppState>,
    _key: Ingester,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<IngestAnswer>), ApiError> {
    check_json_content_type(&headers)?;
    let bytes = axum::body::to_bytes(body, MAX_BATCH_BYTES).await.map_err(|e| {
        let over_limit = e.into_inner().downcast_ref::<http_body_util::LengthLimitError>().is_some();
        if over_limit {
            ApiError::too_large(format!("the request body is over the limit of {MAX_BATCH_BYTES} bytes (8 MiB) per batch"))
        } else {
            ApiError::bad_request("bad_request", "the request body could not be read to its end")
        }
    })?;
    let events = parse_batch(&bytes)?;
    let results = state.append(events).await?;
    let duplicates = results.iter().filter(|r| r.duplicate).count();
    let accepted = results.len() - duplicates;
    let status = if accepted > 0 {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(IngestAnswer {
            accepted,
            duplicates,
            results,
        }),
    ))
}

fn check_json_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(());
    };
    let ok = ct.to_str().is_ok_and(|s| {
        let mime = s
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        mime == "application/json" || mime.ends_with("+json")
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send events as application/json",
        ))
    }
}

/// Parses and validates a body: one event or an array; every error names its place.
pub fn parse_batch(bytes: &[u8]) -> Result<Vec<Event>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    let invalid = |index: Option<usize>, e: validate::FieldError| {
        let message = match index {
            Some(i) => format!("events[{i}].{e}"),
            None => e.to_string(),
        };
        let err = if e.field == "event" && e.message.contains("over the limit") {
            ApiError::too_large(message)
        } else {
            ApiError::bad_request("invalid_event", message)
        };
        err.at_index(index).at_field(e.field)
    };
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(ApiError::bad_request(
                    "invalid_event",
                    "the batch is empty: send at least one event",
                ));
            }
            if items.len() > MAX_BATCH_EVENTS {
                return Err(ApiError::too_large(format!(
                    "{} events is over the limit of {MAX_BATCH_EVENTS} events per batch",
                    items.len()
                )));
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    validate::event_from_json(v, uuid::Uuid::now_v7)
                        .map_err(|e| invalid(Some(i), e))
                })
                .collect()
        }
        Value::Object(_) => {
            Ok(vec![validate::event_from_json(&value, uuid::Uuid::now_v7)
                .map_err(|e| invalid(None, e))?])
        }
        _ => Err(ApiError::bad_request(
            "invalid_event",
            "the body must be an event object or an array of events",
        )),
    }
}

/// Longest accepted query text, in characters.
const MAX_QUERY_CHARS: usize = 4096;

/// Reads a `tz` parameter: a UTC offset such as `+01:00`, `-05:30`, `+0530` or `Z`.
pub(crate) fn parse_tz(tz: Option<&str>) -> Result<FixedOffset, ApiError> {
    let Some(text) = tz.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(vigil_store::utc());
    };
    if text.eq_ignore_ascii_case("z") || text.eq_ignore_ascii_case("utc") {
        return Ok(vigil_store::utc());
    }
    text.parse::<FixedOffset>().map_err(|_| {
        ApiError::bad_request(
            "bad_parameter",
            format!("tz: {text:?} is not a UTC offset such as +01:00, -05:30 or Z"),
        )
    })
}

pub(crate) fn parse_query(q: Option<&str>) -> Result<Query, ApiError> {
    let text = q.unwrap_or("");
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("q: {chars} characters is over the limit of {MAX_QUERY_CHARS}"),
        ));
    }
    Ok(text.parse::<Query>()?)
}

fn bounded(
    name: &str,
    value: Option<usize>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match value.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n),
        n => Err(ApiError::bad_request(
            "bad_parameter",
            format!("{name}: {n} is out of range 1 to {max}"),
        )),
    }
}

/// Searches the journal: newest first by `occurred_at` then `seq`, paged by keyset cursor.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(SearchParams),
    responses((status = 200, body = EventsPage), (status = 400, description = "Bad query (with column) or parameter", body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn search(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<SearchParams>,
) -> Result<Json<EventsPage>, ApiError> {
    let query = parse_query(p.q.as_deref())?;
    reader.check_query(&query)?;
    let limit = bounded("limit", p.limit, 50, 1000)?;
    let cursor = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(
            Cursor::decode(c)
                .map_err(|e| ApiError::bad_request("bad_cursor", format!("cursor: {e}")))?,
        ),
        None => None,
    };
    let first_page = cursor.is_none();
    let text = query.to_string();
    let search = Search {
        cursor,
        tz: parse_tz(p.tz.as_deref())?,
        order: p.order.unwrap_or_default(),
        ..Search::new(reader.scoped(query), limit)
    };
    // Each search is journaled with its query (its further pages are not), while it runs, so
    // that it costs no more time than the slower of the two; the search never answers with
    // its own record. No record, no answer.
    let trace = first_page.then(|| vigil_core::Event {
        target: None,
        ..crate::journal::entry(
            state.now(),
            &crate::journal::staff(&reader.user.name),
            "journal.search",
            vigil_core::Kind::Access,
            crate::journal::target("journal", "events", None),
            serde_json::json!({"q": text, "tz": search.tz.to_string()}),
        )
    });
    let trace_id = trace.as_ref().map(|t| t.id);
    let (page, traced) = tokio::join!(state.store.search(&search), async {
        match trace {
            Some(t) => state.append_trace(vec![t]).await.map(drop),
            None => Ok(()),
        }
    });
    let (mut page, ()) = (page?, traced?);
    page.events.retain(|e| Some(e.event.id) != trace_id);
    let mut events = crate::notes::annotated(&state, page.events).await?;
    reader.present(&state, &mut events);
    Ok(Json(EventsPage {
        events,
        next_cursor: page.next.map(|c| c.encode()),
    }))
}

/// An entry with its notes, if this reader may read it: 404 otherwise, as for an entry that
/// does not exist, so that a scope does not tell what lies outside it.
pub(crate) async fn readable(
    state: &AppState,
    reader: &Reader,
    id: uuid::Uuid,
) -> Result<Annotated, ApiError> {
    let entry = state.store.event(id).await?;
    let one = crate::notes::annotated(state, vec![entry]).await?.remove(0);
    if !reader.may_read(&one) {
        // Word for word what the store says of an id it does not hold.
        return Err(StoreError::NotFound(format!("event {id}")).into());
    }
    Ok(one)
}

/// One entry by id, with its annotations and incidents.
#[utoipa::path(get, path = "/v1/events/{id}", tag = "events", params(("id" = String, Path, description = "The event's UUID")),
    responses((status = 200, body = Annotated), (status = 400, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn get_event(
    State(state): State<AppState>,
    reader: CanRead,
    Path(id): Path<String>,
) -> Result<Json<Annotated>, ApiError> {
    let id = uuid::Uuid::parse_str(&id)
        .map_err(|_| ApiError::bad_request("bad_parameter", format!("{id:?} is not a UUID")))?;
    let mut one = [readable(&state, &reader, id).await?];
    let e = &one[0].entry;
    if state
        .config
        .privacy
        .sensitive_sections
        .contains(&e.event.section)
    {
        // Opening an entry of a sensitive section is journaled: no record, no answer.
        let opened = crate::journal::entry(
            state.now(),
            &crate::journal::staff(&reader.user.name),
            "entry.open",
            vigil_core::Kind::Access,
            crate::journal::target("entry", id.to_string(), None),
            serde_json::json!({"section": e.event.section, "action": e.event.action, "seq": e.seq}),
        );
        state.append_trace(vec![opened]).await?;
    }
    reader.present(&state, &mut one);
    let [one] = one;
    Ok(Json(one))
}

/// Counts of matching entries (and critical ones) per time bucket.
#[utoipa::path(get, path = "/v1/timeline", tag = "events", params(TimelineParams),
    responses((status = 200, body = Timeline), (status = 400, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn timeline(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<TimelineParams>,
) -> Result<Json<Timeline>, ApiError> {
    let query = parse_query(p.q.as_deref())?;
    reader.check_query(&query)?;
    let query = reader.scoped(query);
    let buckets = bounded("buckets", p.buckets, 60, 1000)? as u32;
    Ok(Json(
        state
            .store
            .timeline(&TimelineRequest {
                query,
                tz: parse_tz(p.tz.as_deref())?,
                buckets,
            })
            .await?,
    ))
}

/// The most frequent values of a field among matching entries.
#[utoipa::path(get, path = "/v1/facets", tag = "events", params(FacetParams),
    responses((status = 200, body = Facets), (status = 400, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn facets(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<FacetParams>,
) -> Result<Json<Facets>, ApiError> {
    let query = parse_query(p.q.as_deref())?;
    reader.check_query(&query)?;
    let query = reader.scoped(query);
    let choices = || {
        FacetField::ALL
            .iter()
            .map(|f| f.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let field = match p.field.as_deref() {
        None => {
            return Err(ApiError::bad_request(
                "bad_parameter",
                format!("field: required, one of: {}", choices()),
            ))
        }
        Some(f) => FacetField::parse(f).ok_or_else(|| {
            ApiError::bad_request(
                "bad_parameter",
                format!("field: {f:?} is not one of: {}", choices()),
            )
        })?,
    };
    let limit = bounded("limit", p.limit, 10, 100)?;
    Ok(Json(
        state
            .store
            .facets(&FacetRequest {
                query,
                tz: parse_tz(p.tz.as_deref())?,
                field,
                limit,
            })
            .await?,
    ))
}
