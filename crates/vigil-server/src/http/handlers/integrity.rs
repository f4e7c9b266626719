//! Tamper evidence: the store's public key, its newest signed checkpoint, Merkle proofs, and the
//! feed a SIEM keeps its own copy of the journal with.

use axum::extract::State;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use vigil_api::{
    CheckpointList, CheckpointsParams, ConsistencyParams, ConsistencyProof, EntriesProof,
    EntriesProofRequest, FeedParams, InclusionParams, InclusionProof, IntegrityKey,
    SignedCheckpoint, FEED_NEXT_HEADER,
};

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_content_type, json_shaped, Params};
use crate::service::caller::{CanRead, Exporter};
use crate::service::integrity;
use crate::state::AppState;

/// The public part of the key checkpoints are signed with.
#[utoipa::path(get, path = "/v1/integrity/key", tag = "integrity",
    responses((status = 200, body = IntegrityKey)),
    security(("bearer" = [])))]
pub async fn key(
    State(state): State<AppState>,
    reader: CanRead,
) -> Result<Json<IntegrityKey>, ApiError> {
    Ok(Json(integrity::key(&state, &reader)?))
}

/// The newest signed checkpoint: the Merkle root of the journal's first `size` entries.
#[utoipa::path(get, path = "/v1/integrity/checkpoint", tag = "integrity",
    responses((status = 200, body = SignedCheckpoint),
              (status = 403, description = "The caller reads some entries masked: checkpoints carry hashes withheld from them", body = ErrorEnvelope),
              (status = 404, description = "No checkpoint is signed yet", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn checkpoint(
    State(state): State<AppState>,
    reader: CanRead,
) -> Result<Json<SignedCheckpoint>, ApiError> {
    Ok(Json(integrity::latest(&state, &reader).await?))
}

/// The store's signed checkpoints, smallest first, page by page (`after` the size of the last
/// one read): what `vigil verify --url` checks each of.
#[utoipa::path(get, path = "/v1/integrity/checkpoints", tag = "integrity", params(CheckpointsParams),
    responses((status = 200, body = CheckpointList),
              (status = 400, description = "A limit out of range, or an after that is not a size", body = ErrorEnvelope),
              (status = 403, description = "The caller reads some entries masked: checkpoints carry hashes withheld from them", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn checkpoints(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<CheckpointsParams>,
) -> Result<Json<CheckpointList>, ApiError> {
    Ok(Json(integrity::list(&state, &reader, p).await?))
}

/// That an entry the caller may read is in the tree of `size` entries (RFC 9162 audit path).
#[utoipa::path(get, path = "/v1/integrity/proof/inclusion", tag = "integrity", params(InclusionParams),
    responses((status = 200, body = InclusionProof),
              (status = 400, description = "The seq is not in a tree of that size, or the size is beyond the journal", body = ErrorEnvelope),
              (status = 403, description = "The caller reads some entries masked: proofs carry hashes withheld from them", body = ErrorEnvelope),
              (status = 404, description = "No such entry (or none the caller may read), or no checkpoint yet when no size is given", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn inclusion(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<InclusionParams>,
) -> Result<Json<InclusionProof>, ApiError> {
    Ok(Json(integrity::inclusion(&state, &reader, p).await?))
}

/// That entries the caller may read are in the tree of `size` entries: one batch proof for all
/// of them, with the chain hash before each run, so that a client checks them from their
/// content (what the console does for the entries it shows).
#[utoipa::path(post, path = "/v1/integrity/proof/entries", tag = "integrity",
    request_body = EntriesProofRequest,
    responses((status = 200, body = EntriesProof),
              (status = 400, description = "No seqs, more than 10,000, not ascending, 0, beyond the size or the newest checkpoint; a size beyond the journal", body = ErrorEnvelope),
              (status = 403, description = "The caller reads some entries masked: proofs carry hashes withheld from them", body = ErrorEnvelope),
              (status = 404, description = "An entry that does not exist (or that the caller may not read), or no checkpoint yet when no size is given", body = ErrorEnvelope),
              (status = 415, description = "The body is not JSON", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn entries(
    State(state): State<AppState>,
    reader: CanRead,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<EntriesProof>, ApiError> {
    json_content_type(
        &headers,
        false,
        "the body must be JSON (Content-Type: application/json)",
    )?;
    let p: EntriesProofRequest = json_shaped(&body, "bad_request", r#"{"seqs": [...], "size"}"#)?;
    Ok(Json(integrity::entries(&state, &reader, p).await?))
}

/// That the tree of `from` entries is a prefix of the tree of `to` (RFC 9162 consistency proof).
#[utoipa::path(get, path = "/v1/integrity/proof/consistency", tag = "integrity", params(ConsistencyParams),
    responses((status = 200, body = ConsistencyProof),
              (status = 400, description = "from is 0 or after to, or to is beyond the journal", body = ErrorEnvelope),
              (status = 403, description = "The caller reads some entries masked: proofs carry hashes withheld from them", body = ErrorEnvelope),
              (status = 404, description = "No checkpoint yet when no `to` is given", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn consistency(
    State(state): State<AppState>,
    reader: CanRead,
    Params(p): Params<ConsistencyParams>,
) -> Result<Json<ConsistencyProof>, ApiError> {
    Ok(Json(integrity::consistency(&state, &reader, p).await?))
}

/// The journal in seq order for a SIEM to pull from where it left off: NDJSON, one entry per
/// line as `GET /v1/events/{id}` gives it (with its seq, and its chain hash for a reader shown
/// hashes), the entries after `after_seq` within the caller's export scope; the
/// `Vigil-Feed-Next-After-Seq` header says where the next page starts. Journaled
/// (`journal.feed`) before it answers.
#[utoipa::path(get, path = "/v1/feed", tag = "events", params(FeedParams),
    responses((status = 200, description = "Up to `limit` entries, one JSON object per line",
                  content(("application/x-ndjson")),
                  headers(("vigil-feed-next-after-seq" = u64, description = "The after_seq of the next page: the last entry read, kept or not"))),
              (status = 400, description = "A limit out of range", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn feed(
    State(state): State<AppState>,
    reader: Exporter,
    Params(p): Params<FeedParams>,
) -> Result<Response, ApiError> {
    let page = crate::service::feed::page(&state, &reader, p).await?;
    let mut body = Vec::with_capacity(page.entries.len() * 600);
    for e in &page.entries {
        serde_json::to_writer(&mut body, e).map_err(ApiError::internal)?;
        // A sealed entry's salt, to a reader shown hashes (who sees every entry they read
        // unmasked): with it the feed's copy is checked from its content (`vigil verify --url`).
        if let Some(salt) = e.entry.salt.filter(|_| !e.entry.hash.is_empty()) {
            body.pop();
            body.extend_from_slice(b",\"salt\":\"");
            body.extend_from_slice(hex::encode(salt).as_bytes());
            body.extend_from_slice(b"\"}");
        }
        body.push(b'\n');
    }
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        ),
        (
            HeaderName::from_static(FEED_NEXT_HEADER),
            HeaderValue::from(page.next_after_seq),
        ),
    ];
    Ok((headers, body).into_response())
}
