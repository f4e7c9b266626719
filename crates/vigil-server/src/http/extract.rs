//! What handlers take from a request: the caller (a bearer token turned into a capability by the
//! service layer), query-string parameters and JSON bodies, each with a JSON error that says
//! what is wrong.

use std::net::SocketAddr;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::{header, request::Parts};
use axum::serve::IncomingStream;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::service::caller::{
    AccountsAdmin, AlertsAdmin, Annotator, Caller, CanRead, Capability, ClientInfo, Exporter,
    Ingester, MarksAdmin, SendersReader,
};
use crate::service::sessions;
use crate::state::AppState;

/// Whether the request carries a valid session token or ingest key (for answers that say more
/// to those who are known: `/healthz`).
pub async fn known(state: &AppState, parts: &Parts) -> bool {
    let Ok(token) = bearer(parts) else {
        return false;
    };
    crate::service::sessions::authenticate(state, token)
        .await
        .is_ok()
        || crate::service::sessions::authenticate_key(state, token)
            .await
            .is_ok()
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("missing Authorization header: send 'Authorization: Bearer <token>'")
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        )),
    }
}

/// The other end of a connection, as the server accepted it (plain or TLS).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

impl Connected<IncomingStream<'_, tokio::net::TcpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, tokio::net::TcpListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, crate::tls::TlsListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, crate::tls::TlsListener>) -> Self {
        Peer(*stream.remote_addr())
    }
}

/// The user agent kept at most.
const MAX_USER_AGENT_CHARS: usize = 512;

/// Where the request came from (no address when the router is called without a connection).
pub fn client_info(parts: &Parts) -> ClientInfo {
    ClientInfo {
        ip: parts
            .extensions
            .get::<ConnectInfo<Peer>>()
            .map(|ConnectInfo(Peer(addr))| addr.ip().to_canonical()),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            // Bytes beyond ASCII are allowed in a header: kept, as UTF-8 where they are.
            .map(|v| String::from_utf8_lossy(v.as_bytes()))
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.chars().take(MAX_USER_AGENT_CHARS).collect()),
    }
}

impl FromRequestParts<AppState> for ClientInfo {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &AppState,
    ) -> Result<Self, std::convert::Infallible> {
        Ok(client_info(parts))
    }
}

/// A signed-in user with a valid session: missing, unknown, expired or revoked tokens are 401
/// before any right is looked at.
impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut caller = sessions::authenticate(state, bearer(parts)?).await?;
        caller.client = client_info(parts);
        Ok(caller)
    }
}

/// A sending system with a valid ingest key.
impl FromRequestParts<AppState> for Ingester {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Ok(sessions::authenticate_key(state, bearer(parts)?).await?)
    }
}

/// Each capability is a signed-in user whose roles grant its right (403 naming the right and
/// the user's roles otherwise).
macro_rules! capability_extractor {
    ($($name:ident),+) => {$(
        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let caller = Caller::from_request_parts(parts, state).await?;
                Ok($name::check(caller)?)
            }
        }
    )+};
}

capability_extractor!(
    CanRead,
    Annotator,
    Exporter,
    AlertsAdmin,
    MarksAdmin,
    AccountsAdmin,
    SendersReader
);

/// Like `axum::extract::Path`, with a `bad_parameter` JSON error (a path segment that is not
/// valid text, a number that is not one).
pub struct PathParam<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParam<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| PathParam(p.0))
            .map_err(|e| ApiError::bad_request("bad_parameter", e.body_text()))
    }
}

/// Like `axum::extract::Query`, with a `bad_parameter` JSON error.
pub struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| Params(q.0))
            .map_err(|e| ApiError::bad_request("bad_parameter", e.body_text()))
    }
}

/// Whether a body is a JSON object (or not JSON at all, which its parse then reports): serde
/// would read a struct from an array of its fields too, which the API does not take.
fn not_an_object(bytes: &[u8]) -> bool {
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
}

/// Reads a JSON body into `T`, or a 400 with `code` that says what is wrong: invalid JSON, not
/// an object, or which field is missing, unknown or of the wrong type.
pub fn json_body<T: DeserializeOwned>(bytes: &[u8], code: &'static str) -> Result<T, ApiError> {
    if not_an_object(bytes) {
        return Err(ApiError::bad_request(
            code,
            "the body must be a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let message = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("the body is not valid JSON: {e}")
            }
            _ => format!("the body: {e}"),
        };
        ApiError::bad_request(code, message)
    })
}

/// Reads a JSON body into `T`, or a 400 with `code` naming the body's expected `shape`.
pub fn json_shaped<T: DeserializeOwned>(
    bytes: &[u8],
    code: &'static str,
    shape: &str,
) -> Result<T, ApiError> {
    if not_an_object(bytes) {
        return Err(ApiError::bad_request(
            code,
            format!("the body must be {shape}: a JSON object"),
        ));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(code, format!("the body must be {shape}: {e}")))
}

/// 415 unless the request says its body is JSON (`application/json` or a `…+json` type).
/// `missing_ok` lets a request without a Content-Type through (ingest: curl sends none).
/// Sign-in refuses it: a web page can post a form or plain text to any address without the
/// browser asking first, but not JSON.
pub fn json_content_type(
    headers: &axum::http::HeaderMap,
    missing_ok: bool,
    refusal: &str,
) -> Result<(), ApiError> {
    let ok = match headers.get(axum::http::header::CONTENT_TYPE) {
        None => missing_ok,
        Some(ct) => ct.to_str().is_ok_and(|s| {
            let mime = s
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            mime == "application/json" || mime.ends_with("+json")
        }),
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            refusal,
        ))
    }
}
