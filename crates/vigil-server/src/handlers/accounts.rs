//! Managing users, roles and ingest keys: the `accounts` right. Every change is journaled in
//! section `vigil` with the admin as actor, in the same transaction as the change.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{
    KeyCreated, KeyInfo, NewKeyRequest, NewRoleRequest, NewUserRequest, Revoked, RoleInfo,
    RolesRequest, Unlocked,
};
use vigil_store::{StoreError, UserSummary};

use crate::auth::AccountsAdmin;
use crate::cli;
use crate::error::{ApiError, ErrorEnvelope};
use crate::state::AppState;

/// A store refusal keeps its status; anything else the account functions refuse is the
/// caller's input (a name, a password, a right, a scope).
fn refused(e: anyhow::Error) -> ApiError {
    match e.downcast::<StoreError>() {
        Ok(StoreError::Invalid(m)) if m.contains("does not exist") => {
            ApiError::bad_request("unknown_role", m).at_field("roles")
        }
        Ok(StoreError::Invalid(m)) => ApiError::bad_request("invalid", m).at_field("roles"),
        Ok(store) => store.into(),
        Err(other) => ApiError::bad_request("invalid", cli::one_line(&other)),
    }
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad_request", format!("the body must be {shape}: {e}")))
}

/// Every user: roles, live sessions, sign-in lock.
#[utoipa::path(get, path = "/v1/users", tag = "accounts",
    responses((status = 200, body = [UserSummary]), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: AccountsAdmin,
) -> Result<Json<Vec<UserSummary>>, ApiError> {
    Ok(Json(state.store.users(state.now()).await?))
}

async fn summary(state: &AppState, name: &str) -> Result<UserSummary, ApiError> {
    state
        .store
        .users(state.now())
        .await?
        .into_iter()
        .find(|u| u.name == name)
        .ok_or_else(|| ApiError::not_found(format!("user {name:?} not found")))
}

/// Creates a user (journaled as `user.create`). The first admin comes from the CLI.
#[utoipa::path(post, path = "/v1/users", tag = "accounts", request_body = NewUserRequest,
    responses((status = 201, body = UserSummary), (status = 400, description = "Bad name, password rules, unknown role", body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, description = "The name is taken", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<UserSummary>), ApiError> {
    let r: NewUserRequest = json_body(&body, r#"{"name", "password", "roles": [...]}"#)?;
    cli::add_user(&state, &admin.capability(), &r.name, &r.roles, &r.password)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok((StatusCode::CREATED, Json(summary(&state, &r.name).await?)))
}

/// Gives a user these roles in place of theirs (journaled as `user.roles`, before and after).
#[utoipa::path(put, path = "/v1/users/{name}/roles", tag = "accounts", request_body = RolesRequest,
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = UserSummary), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn set_roles(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    Path(name): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<UserSummary>, ApiError> {
    let r: RolesRequest = json_body(&body, r#"{"roles": [...]}"#)?;
    cli::set_roles(&state, &admin.capability(), &name, &r.roles)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok(Json(summary(&state, &name).await?))
}

/// Ends every live session of a user (journaled as `user.revoke`).
#[utoipa::path(post, path = "/v1/users/{name}/revoke", tag = "accounts",
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = Revoked), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn revoke_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    Path(name): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    let sessions = cli::revoke_user(&state, &admin.capability(), &name)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok(Json(Revoked { sessions }))
}

/// Lifts a sign-in lock (journaled as `user.unlock` when one held).
#[utoipa::path(post, path = "/v1/users/{name}/unlock", tag = "accounts",
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = Unlocked), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn unlock_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    Path(name): Path<String>,
) -> Result<Json<Unlocked>, ApiError> {
    let was_locked = cli::unlock_user(&state, &admin.capability(), &name)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok(Json(Unlocked { was_locked }))
}

/// Every role: the built-in ones, then the custom ones by name.
#[utoipa::path(get, path = "/v1/roles", tag = "accounts",
    responses((status = 200, body = [RoleInfo]), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_roles(
    State(state): State<AppState>,
    _admin: AccountsAdmin,
) -> Result<Json<Vec<RoleInfo>>, ApiError> {
    Ok(Json(cli::all_roles(&state).await.map_err(refused)?))
}

/// Creates a custom role (journaled as `role.create`).
#[utoipa::path(post, path = "/v1/roles", tag = "accounts", request_body = NewRoleRequest,
    responses((status = 201, body = RoleInfo), (status = 400, description = "Bad name, right or scope (with column)", body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, description = "The name is taken or built in", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_role(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<RoleInfo>), ApiError> {
    let r: NewRoleRequest = json_body(&body, r#"{"name", "rights": [...], "scope"}"#)?;
    if let Err(e) = r.scope.parse::<vigil_core::Query>() {
        let mut err = ApiError::bad_request("bad_query", format!("scope: {e}")).at_field("scope");
        err.body.column = Some(e.column);
        return Err(err);
    }
    let record = cli::add_role(
        &state,
        &admin.capability(),
        &r.name,
        &r.rights.join(","),
        &r.scope,
    )
    .await
    .map_err(refused)?;
    state.wake().await;
    Ok((
        StatusCode::CREATED,
        Json(RoleInfo {
            name: record.name,
            rights: record.rights,
            scope: record.scope,
            builtin: false,
        }),
    ))
}

/// Removes a custom role that nobody holds (journaled as `role.delete`).
#[utoipa::path(delete, path = "/v1/roles/{name}", tag = "accounts",
    params(("name" = String, Path, description = "The role")),
    responses((status = 204, description = "Removed"), (status = 400, description = "A built-in role", body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, description = "Someone holds it", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn remove_role(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    cli::remove_role(&state, &admin.capability(), &name)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok(StatusCode::NO_CONTENT)
}

/// Every ingest key (never the key itself).
#[utoipa::path(get, path = "/v1/keys", tag = "accounts",
    responses((status = 200, body = [KeyInfo]), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    _admin: AccountsAdmin,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    let keys = state.store.ingest_keys().await?;
    Ok(Json(
        keys.into_iter()
            .map(|k| KeyInfo {
                name: k.name,
                created_at: k.created_at,
                revoked_at: k.revoked_at,
            })
            .collect(),
    ))
}

/// Creates an ingest key, shown once in the answer (journaled as `key.create`).
#[utoipa::path(post, path = "/v1/keys", tag = "accounts", request_body = NewKeyRequest,
    responses((status = 201, body = KeyCreated), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn create_key(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<KeyCreated>), ApiError> {
    let r: NewKeyRequest = json_body(&body, r#"{"name"}"#)?;
    let key = cli::create_key(&state, &admin.capability(), &r.name)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok((StatusCode::CREATED, Json(KeyCreated { name: r.name, key })))
}

/// Revokes an ingest key: it stops working at once (journaled as `key.revoke`).
#[utoipa::path(post, path = "/v1/keys/{name}/revoke", tag = "accounts",
    params(("name" = String, Path, description = "The key's name")),
    responses((status = 204, description = "Revoked"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, description = "Already revoked", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    cli::revoke_key(&state, &admin.capability(), &name)
        .await
        .map_err(refused)?;
    state.wake().await;
    Ok(StatusCode::NO_CONTENT)
}
