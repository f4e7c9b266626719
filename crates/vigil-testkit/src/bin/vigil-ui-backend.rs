//! The query language for the console's browser tests (tests/ui): their in-page stand-in for
//! the Rust side answers every question about queries here, with the console's own code over
//! vigil-core's language, instead of a copy of it in JavaScript.
//!
//! It listens on 127.0.0.1 (a free port), prints `http://127.0.0.1:PORT` on its first line and
//! answers POSTed JSON:
//!
//! | path | body | answer |
//! |---|---|---|
//! | `/parse` | `{q}` | the query bar's clauses, as the console's `parse_query` |
//! | `/print` | `{clauses}` | `{text}`, as the console's `print_query` |
//! | `/probes_ip` | `{q}` | `{probes}`: whether the query asks about a narrower IP range than a masked reader sees |
//! | `/load` | `{key, events}` | stores a journal (stored events) under `key` |
//! | `/search` | `{key, q, order, summaries}` | `{seqs}`: the matching entries' seqs, in order |
//! | `/timeline` | `{key, q, buckets, summaries}` | the timeline, as the console cuts it offline |
//! | `/facets` | `{key, q, field, limit, summaries}` | the facets, as the console counts them offline |
//!
//! `summaries` maps an entry's seq to what its annotations amount to (`{marks, comments,
//! incidents}`); entries left out have none. Dates without an offset are read in the process's
//! local zone (run it with `TZ=` the browser's zone). Errors are `{code, message, column?}`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use chrono::Offset;
use serde::Deserialize;
use serde_json::{json, Value};
use vigil_api::{FacetField, Order};
use vigil_console_core::{offline, querybar};
use vigil_core::{AnnotationSummary, Query, StoredEvent};

type Journals = Arc<Mutex<HashMap<String, Arc<Vec<StoredEvent>>>>>;
type Refusal = (StatusCode, Json<Value>);
type Answer = Result<Json<Value>, Refusal>;

#[derive(Deserialize)]
struct Load {
    key: String,
    events: Vec<StoredEvent>,
}

#[derive(Deserialize)]
struct Ask {
    key: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    order: Option<Order>,
    #[serde(default)]
    buckets: Option<u32>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    summaries: HashMap<u64, AnnotationSummary>,
}

fn refused(
    code: &str,
    message: impl std::fmt::Display,
    column: Option<usize>,
) -> (StatusCode, Json<Value>) {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"code": code, "message": message.to_string(), "column": column})),
    )
}

fn query(q: &str) -> Result<Query, Refusal> {
    q.parse()
        .map_err(|e: vigil_core::QueryError| refused("bad_query", &e.message, Some(e.column)))
}

fn local_offset() -> chrono::FixedOffset {
    chrono::Local::now().offset().fix()
}

/// The journal under `key`, each entry with what its annotations amount to.
fn held(journals: &Journals, ask: &Ask) -> Result<Vec<(StoredEvent, AnnotationSummary)>, Refusal> {
    let journal = journals
        .lock()
        .expect("journals lock")
        .get(&ask.key)
        .cloned()
        .ok_or_else(|| {
            refused(
                "not_found",
                format!("no journal {:?}: load it first", ask.key),
                None,
            )
        })?;
    Ok(journal
        .iter()
        .map(|e| {
            let summary = ask.summaries.get(&e.seq).cloned().unwrap_or_default();
            (e.clone(), summary)
        })
        .collect())
}

async fn parse(Json(body): Json<Value>) -> Answer {
    let q = body["q"].as_str().unwrap_or("");
    querybar::parse(q)
        .map(|p| Json(json!(p)))
        .map_err(|e| refused("bad_query", &e.message, Some(e.column)))
}

async fn print(Json(body): Json<Value>) -> Answer {
    let clauses: Vec<querybar::BarClause> =
        serde_json::from_value(body["clauses"].clone()).map_err(|e| refused("invalid", e, None))?;
    querybar::print(&clauses)
        .map(|text| Json(json!({ "text": text })))
        .map_err(|e| refused("bad_query", &e.message, Some(e.column)))
}

async fn probes_ip(Json(body): Json<Value>) -> Answer {
    let q = query(body["q"].as_str().unwrap_or(""))?;
    Ok(Json(json!({ "probes": vigil_core::rights::probes_ip(&q) })))
}

async fn load(State(journals): State<Journals>, Json(load): Json<Load>) -> Answer {
    let n = load.events.len();
    journals
        .lock()
        .expect("journals lock")
        .insert(load.key, Arc::new(load.events));
    Ok(Json(json!({ "loaded": n })))
}

async fn search(State(journals): State<Journals>, Json(ask): Json<Ask>) -> Answer {
    let q = query(&ask.q)?;
    let hits = offline::matching(
        held(&journals, &ask)?,
        &q,
        &local_offset(),
        ask.order.unwrap_or_default(),
    );
    let seqs: Vec<u64> = hits.iter().map(|(e, _)| e.seq).collect();
    Ok(Json(json!({ "seqs": seqs })))
}

async fn timeline(State(journals): State<Journals>, Json(ask): Json<Ask>) -> Answer {
    let q = query(&ask.q)?;
    let tz = local_offset();
    let hits = offline::matching(held(&journals, &ask)?, &q, &tz, Order::Oldest);
    let t = offline::timeline(&hits, &q, tz, ask.buckets.unwrap_or(60), chrono::Utc::now());
    Ok(Json(json!(t)))
}

async fn facets(State(journals): State<Journals>, Json(ask): Json<Ask>) -> Answer {
    let q = query(&ask.q)?;
    let name = ask.field.clone().unwrap_or_default();
    let field = FacetField::parse(&name)
        .ok_or_else(|| refused("invalid", format!("{name:?} is not a facet"), None))?;
    let hits = offline::matching(held(&journals, &ask)?, &q, &local_offset(), Order::Newest);
    Ok(Json(json!(offline::facets(
        &hits,
        field,
        ask.limit.unwrap_or(10)
    ))))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let journals: Journals = Arc::default();
    let app = Router::new()
        .route("/parse", post(parse))
        .route("/print", post(print))
        .route("/probes_ip", post(probes_ip))
        .route("/load", post(load))
        .route("/search", post(search))
        .route("/timeline", post(timeline))
        .route("/facets", post(facets))
        .layer(axum::extract::DefaultBodyLimit::max(512 * 1024 * 1024))
        .with_state(journals);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("http://{}", listener.local_addr()?);
    use std::io::Write;
    std::io::stdout().flush()?;
    axum::serve(listener, app).await
}
