//! Signing in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{Login, LoginAnswer, MeAnswer};

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_content_type, json_shaped};
use crate::service::caller::Caller;
use crate::service::sessions;
use crate::state::AppState;

/// Signs in with a name and password; returns a session token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = LoginAnswer), (status = 400, body = ErrorEnvelope),
              (status = 401, description = "Wrong name or password (journaled)", body = ErrorEnvelope),
              (status = 415, description = "The body is not sent as application/json", body = ErrorEnvelope),
              (status = 429, description = "Locked for 15 minutes after 5 failures in 15 minutes (the locking failure and the lock are journaled)", body = ErrorEnvelope)))]
pub async fn login(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<LoginAnswer>, ApiError> {
    json_content_type(
        &headers,
        false,
        "sign in with a JSON body sent as application/json",
    )?;
    let login: Login = json_shaped(&body, "bad_request", r#"{"name": …, "password": …}"#)?;
    Ok(Json(sessions::login(&state, login).await?))
}

/// Ends the current session: its token stops working (journaled as `auth.logout`).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    sessions::logout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, body = MeAnswer), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<MeAnswer> {
    Json(sessions::me(&caller))
}
