//! Signing in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{Login, LoginAnswer, MeAnswer, PasswordChange};

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_content_type, json_shaped};
use crate::service::caller::{Caller, ClientInfo};
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
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<LoginAnswer>, ApiError> {
    json_content_type(
        &headers,
        false,
        "sign in with a JSON body sent as application/json",
    )?;
    let login: Login = json_shaped(&body, "bad_request", r#"{"name": …, "password": …}"#)?;
    Ok(Json(sessions::login(&state, login, &client).await?))
}

/// Ends the current session: its token stops working (journaled as `auth.logout`).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<StatusCode, ApiError> {
    sessions::logout(&state, &caller).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the signed-in user's own password, given the current one (journaled as
/// `user.password`): their other sessions end, this one goes on. A wrong current password
/// counts as a failed sign-in.
#[utoipa::path(put, path = "/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204, description = "Changed; the other sessions ended"),
              (status = 400, description = "The new password breaks the rules (`new_password`)", body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope),
              (status = 403, description = "Wrong current password (`wrong_password`, journaled as a failed sign-in)", body = ErrorEnvelope),
              (status = 415, description = "The body is not sent as application/json", body = ErrorEnvelope),
              (status = 429, description = "Locked after 5 failures", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<StatusCode, ApiError> {
    json_content_type(
        &headers,
        false,
        "change a password with a JSON body sent as application/json",
    )?;
    let change: PasswordChange = json_shaped(
        &body,
        "bad_request",
        r#"{"old_password": …, "new_password": …}"#,
    )?;
    sessions::change_own_password(&state, &caller, change.old_password, change.new_password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, body = MeAnswer), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn me(caller: Caller) -> Json<MeAnswer> {
    Json(sessions::me(&caller))
}
