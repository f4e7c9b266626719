//! Signing in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigil_store::api::{Login, LoginAnswer, Me, MeAnswer};
use vigil_store::{NewSession, StoreError};

use crate::auth::{self, Reader};
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// Password checks running at once.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Signs in with a name and password; returns a session token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = LoginAnswer), (status = 400, body = ErrorEnvelope),
              (status = 401, description = "Wrong name or password", body = ErrorEnvelope)))]
pub async fn login(
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Json<LoginAnswer>, ApiError> {
    let login: Login = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad_request",
            format!("the body must be {{\"name\": …, \"password\": …}}: {e}"),
        )
    })?;
    let user = match state.store.user(&login.name).await {
        Ok(u) => Some(u),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let phc = user.as_ref().map_or_else(
        || auth::decoy_hash().to_owned(),
        |u| u.password_hash.clone(),
    );
    let password = login.password;
    // Each check takes ~19 MiB and a core for a moment: a flood of sign-ins queues here
    // instead of exhausting memory and starving other requests.
    let _permit = PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(ApiError::internal)?;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(u) if ok => u,
        _ => return Err(ApiError::unauthorized("wrong user name or password")),
    };
    let token = auth::new_secret(auth::TOKEN_PREFIX);
    let now = state.now();
    let expires_at = now + state.config.token_ttl;
    state
        .store
        .add_session(&NewSession {
            token_hash: auth::secret_hash(&token),
            user: user.name.clone(),
            created_at: now,
            expires_at,
        })
        .await?;
    Ok(Json(LoginAnswer {
        token,
        expires_at,
        user: Me {
            name: user.name,
            roles: user.roles,
        },
    }))
}

/// Ends the current session: its token stops working.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, reader: Reader) -> Result<StatusCode, ApiError> {
    state
        .store
        .revoke_session(&reader.token_hash, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, body = MeAnswer), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn me(reader: Reader) -> Json<MeAnswer> {
    Json(MeAnswer {
        name: reader.user.name,
        roles: reader.user.roles,
        expires_at: reader.expires_at,
    })
}
