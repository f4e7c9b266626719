//! Signing in and out.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{Login, LoginAnswer, Me, MeAnswer};
use vigil_store::{NewSession, StoreError};

use serde_json::json;
use vigil_core::{Event, Kind, Outcome, Severity};

use crate::auth::{self, Reader};
use crate::error::{ApiError, ErrorEnvelope};
use crate::journal;
use crate::state::AppState;

/// Password checks running at once.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Signs in with a name and password; returns a session token.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = Login,
    responses((status = 200, body = LoginAnswer), (status = 400, body = ErrorEnvelope),
              (status = 401, description = "Wrong name or password (journaled)", body = ErrorEnvelope),
              (status = 429, description = "Locked for 15 minutes after 5 failures in 15 minutes (the locking failure and the lock are journaled)", body = ErrorEnvelope)))]
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
    // The name as tried, kept short for the journal and the lock (it may be anything).
    let tried: String = login.name.chars().take(64).collect();
    let now = state.now();
    if let Some(until) = state.store.locked_until(&tried, now).await? {
        return Err(locked(&tried, until));
    }
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
    // Failures recorded while this one waited may have locked the name meanwhile.
    if let Some(until) = state.store.locked_until(&tried, state.now()).await? {
        return Err(locked(&tried, until));
    }
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&password, &phc))
        .await
        .map_err(ApiError::internal)?;
    let now = state.now();
    let user = match user {
        Some(u) if ok => u,
        _ => {
            let by = journal::staff(&tried);
            let failed = Event {
                outcome: Outcome::Failure,
                severity: Severity::Warning,
                ..journal::entry(
                    now,
                    &by,
                    "auth.login",
                    Kind::Access,
                    journal::target("user", tried.clone(), None),
                    json!({"reason": "wrong user name or password"}),
                )
            };
            let until = now + auth::LOCKOUT.lock_for;
            let lockout = Event {
                outcome: Outcome::Denied,
                severity: Severity::Critical,
                ..journal::entry(
                    now,
                    &by,
                    "auth.lockout",
                    Kind::Access,
                    journal::target("user", tried.clone(), None),
                    json!({
                        "after_failures": auth::LOCKOUT.failures,
                        "window_minutes": auth::LOCKOUT.window.num_minutes(),
                        "until": vigil_core::event::micros::format(&until),
                    }),
                )
            };
            let l = state
                .store
                .sign_in_failed(&tried, now, auth::LOCKOUT, failed, lockout)
                .await?;
            return Err(match l.locked_until {
                Some(until) => locked(&tried, until),
                None => ApiError::unauthorized("wrong user name or password"),
            });
        }
    };
    // Ordered with the failures in the writer: a lock set by concurrent guesses holds even
    // against this right password.
    let token = auth::new_secret(auth::TOKEN_PREFIX);
    let expires_at = now + state.config.token_ttl;
    let session = NewSession {
        token_hash: auth::secret_hash(&token),
        user: user.name.clone(),
        created_at: now,
        expires_at,
    };
    let signed_in = journal::entry(
        now,
        &journal::staff(&user.name),
        "auth.login",
        Kind::Access,
        journal::target("user", user.name.clone(), None),
        json!({"expires_at": vigil_core::event::micros::format(&expires_at)}),
    );
    if let Some(until) = state
        .store
        .sign_in_succeeded(&tried, now, session, signed_in)
        .await?
    {
        return Err(locked(&tried, until));
    }
    state.wake().await;
    let rights = auth::grants_of(&state, &user.roles).await?.rights();
    Ok(Json(LoginAnswer {
        token,
        expires_at,
        user: Me {
            name: user.name,
            roles: user.roles,
            rights: rights.iter().map(|r| r.as_str().to_owned()).collect(),
        },
    }))
}

/// The answer while a name is locked.
fn locked(name: &str, until: chrono::DateTime<chrono::Utc>) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "locked",
        format!(
            "too many failed sign-ins for {name:?}: signing in is locked until {}; try again then, or ask an admin to run 'vigil user unlock {name}'",
            vigil_core::event::micros::format(&until)
        ),
    );
    e.body.field = Some("name".into());
    e
}

/// Ends the current session: its token stops working (journaled as `auth.logout`).
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth",
    responses((status = 204, description = "Signed out"), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn logout(State(state): State<AppState>, reader: Reader) -> Result<StatusCode, ApiError> {
    let now = state.now();
    let signed_out = journal::entry(
        now,
        &journal::staff(&reader.user.name),
        "auth.logout",
        Kind::Access,
        journal::target("user", reader.user.name.clone(), None),
        json!({}),
    );
    state
        .store
        .revoke_session(&reader.token_hash, now, signed_out)
        .await?;
    state.wake().await;
    Ok(StatusCode::NO_CONTENT)
}

/// The signed-in user.
#[utoipa::path(get, path = "/v1/me", tag = "auth",
    responses((status = 200, body = MeAnswer), (status = 401, body = ErrorEnvelope)), security(("bearer" = [])))]
pub async fn me(reader: Reader) -> Json<MeAnswer> {
    Json(MeAnswer {
        rights: reader.rights(),
        name: reader.user.name,
        roles: reader.user.roles,
        expires_at: reader.expires_at,
    })
}
