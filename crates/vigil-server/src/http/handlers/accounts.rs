//! Managing users, roles and ingest keys: the `accounts` right. Every change is journaled in
//! section `vigil` with the admin as actor, in the same transaction as the change.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use vigil_api::{
    KeyCreated, KeyInfo, NewKeyRequest, NewRoleRequest, NewUserRequest, Revoked, RoleInfo,
    RolesRequest, Unlocked, UserSummary,
};

use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_shaped, PathParam};
use crate::service::accounts;
use crate::service::caller::AccountsAdmin;
use crate::state::AppState;

/// Every user: roles, live sessions, sign-in lock.
#[utoipa::path(get, path = "/v1/users", tag = "accounts",
    responses((status = 200, body = [UserSummary]), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    admin: AccountsAdmin,
) -> Result<Json<Vec<UserSummary>>, ApiError> {
    Ok(Json(accounts::users(&state, &admin).await?))
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
    let r: NewUserRequest = json_shaped(
        &body,
        "bad_request",
        r#"{"name", "password", "roles": [...]}"#,
    )?;
    let user = accounts::add_user(&state, &admin, r).await?;
    Ok((StatusCode::CREATED, Json(user)))
}

/// Gives a user these roles in place of theirs (journaled as `user.roles`, before and after).
#[utoipa::path(put, path = "/v1/users/{name}/roles", tag = "accounts", request_body = RolesRequest,
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = UserSummary), (status = 400, description = "No role, or an unknown one", body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "It would leave nobody able to manage accounts", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn set_roles(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    PathParam(name): PathParam<String>,
    body: axum::body::Bytes,
) -> Result<Json<UserSummary>, ApiError> {
    let r: RolesRequest = json_shaped(&body, "bad_request", r#"{"roles": [...]}"#)?;
    Ok(Json(
        accounts::set_roles(&state, &admin, &name, &r.roles).await?,
    ))
}

/// Ends every live session of a user (journaled as `user.revoke`).
#[utoipa::path(post, path = "/v1/users/{name}/revoke", tag = "accounts",
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = Revoked), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn revoke_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<Json<Revoked>, ApiError> {
    Ok(Json(accounts::revoke_user(&state, &admin, &name).await?))
}

/// Disables a user (journaled as `user.disable`): they cannot sign in and their sessions end at
/// once. Nobody disables their own account or the last one that manages accounts.
#[utoipa::path(post, path = "/v1/users/{name}/disable", tag = "accounts",
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = UserSummary), (status = 400, description = "One's own account", body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "Already disabled, or the last account manager", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn disable_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<Json<UserSummary>, ApiError> {
    Ok(Json(
        accounts::set_disabled(&state, &admin, &name, true).await?,
    ))
}

/// Enables a disabled user again (journaled as `user.enable`).
#[utoipa::path(post, path = "/v1/users/{name}/enable", tag = "accounts",
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = UserSummary), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope),
              (status = 409, description = "Not disabled", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn enable_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<Json<UserSummary>, ApiError> {
    Ok(Json(
        accounts::set_disabled(&state, &admin, &name, false).await?,
    ))
}

/// Lifts a sign-in lock (journaled as `user.unlock` when one held).
#[utoipa::path(post, path = "/v1/users/{name}/unlock", tag = "accounts",
    params(("name" = String, Path, description = "Login name")),
    responses((status = 200, body = Unlocked), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn unlock_user(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<Json<Unlocked>, ApiError> {
    Ok(Json(accounts::unlock_user(&state, &admin, &name).await?))
}

/// Every role: the built-in ones, then the custom ones by name.
#[utoipa::path(get, path = "/v1/roles", tag = "accounts",
    responses((status = 200, body = [RoleInfo]), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_roles(
    State(state): State<AppState>,
    admin: AccountsAdmin,
) -> Result<Json<Vec<RoleInfo>>, ApiError> {
    Ok(Json(accounts::roles(&state, &admin).await?))
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
    let r: NewRoleRequest = json_shaped(
        &body,
        "bad_request",
        r#"{"name", "rights": [...], "scope"}"#,
    )?;
    // Over HTTP a bad scope is named first, before the name and the rights.
    accounts::check_scope(&r.scope)?;
    let role = accounts::add_role(&state, &admin, r).await?;
    Ok((StatusCode::CREATED, Json(role)))
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
    PathParam(name): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    accounts::remove_role(&state, &admin, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every ingest key (never the key itself).
#[utoipa::path(get, path = "/v1/keys", tag = "accounts",
    responses((status = 200, body = [KeyInfo]), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_keys(
    State(state): State<AppState>,
    admin: AccountsAdmin,
) -> Result<Json<Vec<KeyInfo>>, ApiError> {
    Ok(Json(accounts::keys(&state, &admin).await?))
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
    let r: NewKeyRequest = json_shaped(&body, "bad_request", r#"{"name", "sections"?}"#)?;
    let key = accounts::create_key(&state, &admin, &r.name, &r.sections).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// Revokes an ingest key: it stops working at once (journaled as `key.revoke`).
#[utoipa::path(post, path = "/v1/keys/{name}/revoke", tag = "accounts",
    params(("name" = String, Path, description = "The key's name")),
    responses((status = 204, description = "Revoked"), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, description = "Already revoked", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn revoke_key(
    State(state): State<AppState>,
    admin: AccountsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    accounts::revoke_key(&state, &admin, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}
