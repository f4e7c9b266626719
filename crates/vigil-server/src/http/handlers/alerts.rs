//! Managing alerts: channels, rules, test messages, and the outbox's deliveries. Admins only;
//! every change is journaled.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;
use vigil_api::{
    ChannelList, ChannelView, Delivery, DeliveryList, DeliveryParams, DeliveryStatus, NewRule,
    RuleList, RuleView,
};

use crate::alerts::model::ChannelSpec;
use crate::http::error::{ApiError, ErrorEnvelope};
use crate::http::extract::{json_shaped, Params, PathParam};
use crate::service::alerts::{self, DeliveryQuery};
use crate::service::caller::AlertsAdmin;
use crate::state::AppState;

/// Lists the channels (secrets show where they come from, never their value).
#[utoipa::path(get, path = "/v1/alerts/channels", tag = "alerts",
    responses((status = 200, body = ChannelList), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_channels(
    State(state): State<AppState>,
    admin: AlertsAdmin,
) -> Result<Json<ChannelList>, ApiError> {
    Ok(Json(alerts::channels(&state, &admin).await?))
}

/// Adds a channel: `{"name": "ops", "type": "telegram", "bot_token": {"env": "TG"}, "chat_id": -100123}`.
/// Types: `email`, `telegram`, `slack`, `webhook` (see `vigil config example`).
#[utoipa::path(post, path = "/v1/alerts/channels", tag = "alerts",
    request_body(content = Object, description = "name, type and the type's settings"),
    responses((status = 201, body = ChannelView), (status = 400, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_channel(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ChannelView>), ApiError> {
    let (name, rest) = named_body(&body)?;
    let spec: ChannelSpec = serde_json::from_value(rest)
        .map_err(|e| ApiError::bad_request("invalid", format!("channel: {e}")))?;
    let view = alerts::add_channel(&state, &admin, &name, spec).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes a channel added through the API (not one from vigil.toml, nor one a rule names).
#[utoipa::path(delete, path = "/v1/alerts/channels/{name}", tag = "alerts",
    params(("name" = String, Path, description = "The channel")),
    responses((status = 204), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn remove_channel(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    alerts::remove_channel(&state, &admin, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test message to the channel now. 200 with the delivery when the channel accepted it;
/// 502 `channel_failed` with what the channel said when it did not.
#[utoipa::path(post, path = "/v1/alerts/channels/{name}/test", tag = "alerts",
    params(("name" = String, Path, description = "The channel")),
    responses((status = 200, body = Delivery), (status = 404, body = ErrorEnvelope),
              (status = 502, description = "The channel refused or could not be reached", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn test_channel(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<Json<Delivery>, ApiError> {
    // In a task of its own: a client that goes away does not cut the send (and its record) short.
    let delivery = tokio::spawn(async move { alerts::test_channel(&state, &admin, &name).await })
        .await
        .map_err(ApiError::internal)??;
    Ok(Json(delivery))
}

/// Lists the rules in force: the built-in one, vigil.toml's and the API's.
#[utoipa::path(get, path = "/v1/alerts/rules", tag = "alerts",
    responses((status = 200, body = RuleList), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn list_rules(
    State(state): State<AppState>,
    admin: AlertsAdmin,
) -> Result<Json<RuleList>, ApiError> {
    Ok(Json(alerts::rules(&state, &admin).await?))
}

/// Adds a rule.
#[utoipa::path(post, path = "/v1/alerts/rules", tag = "alerts", request_body = NewRule,
    responses((status = 201, body = RuleView), (status = 400, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn add_rule(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<RuleView>), ApiError> {
    let rule: NewRule = json_shaped(
        &body,
        "invalid",
        r#"{"name", "q", "channels"?, "window_minutes"?}"#,
    )?;
    let view = alerts::add_rule(&state, &admin, rule).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Removes a rule added through the API.
#[utoipa::path(delete, path = "/v1/alerts/rules/{name}", tag = "alerts",
    params(("name" = String, Path, description = "The rule")),
    responses((status = 204), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn remove_rule(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    PathParam(name): PathParam<String>,
) -> Result<StatusCode, ApiError> {
    alerts::remove_rule(&state, &admin, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lists deliveries, newest first, with the outbox's counts: pending (with the last error while
/// it is retried), sent, failed.
#[utoipa::path(get, path = "/v1/alerts/deliveries", tag = "alerts", params(DeliveryParams),
    responses((status = 200, body = DeliveryList), (status = 400, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn deliveries(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    Params(p): Params<DeliveryParams>,
) -> Result<Json<DeliveryList>, ApiError> {
    let status = p
        .status
        .as_deref()
        .map(str::parse::<DeliveryStatus>)
        .transpose()
        .map_err(|e| ApiError::bad_request("bad_parameter", format!("status: {e}")))?;
    let query = DeliveryQuery {
        status,
        rule: p.rule,
        channel: p.channel,
        before: p.before,
        limit: p.limit,
    };
    Ok(Json(alerts::deliveries(&state, &admin, query).await?))
}

/// Puts a failed delivery back in the outbox, to be sent now.
#[utoipa::path(post, path = "/v1/alerts/deliveries/{id}/retry", tag = "alerts",
    params(("id" = u64, Path, description = "The delivery")),
    responses((status = 200, body = Delivery), (status = 400, description = "The id is not a number", body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, description = "Not failed, or a test message", body = ErrorEnvelope)),
    security(("bearer" = [])))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    admin: AlertsAdmin,
    PathParam(id): PathParam<u64>,
) -> Result<Json<Delivery>, ApiError> {
    Ok(Json(alerts::retry_delivery(&state, &admin, id).await?))
}

/// Splits `{"name": …, …}` into the name and the rest.
fn named_body(body: &[u8]) -> Result<(String, Value), ApiError> {
    // Plain data: serde_json's private keys are ordinary keys here (vigil_core::json).
    let vigil_core::json::Plain(mut value) = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("invalid", format!("the body is not JSON: {e}")))?;
    let Some(object) = value.as_object_mut() else {
        return Err(ApiError::bad_request(
            "invalid",
            "the body must be a JSON object with name, type and the type's settings",
        ));
    };
    let name = match object.remove("name") {
        Some(Value::String(s)) => s,
        _ => {
            return Err(
                ApiError::bad_request("invalid", "name: a channel needs a name (a string)")
                    .at_field("name"),
            )
        }
    };
    Ok((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An admin's body is plain data: serde_json's private RawValue key stays a key (with the
    /// feature on, as axum builds it, it made the object whatever its string held).
    #[test]
    fn a_private_serde_json_key_in_a_body_is_an_ordinary_key() {
        let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        // serde_json looks at an object's first key only.
        let body = format!(
            r#"{{"name":"ops","type":"webhook","headers":{{"$serde_json::private::RawValue":{}}}}}"#,
            serde_json::to_string(&deep).unwrap()
        );
        let (name, rest) = named_body(body.as_bytes()).unwrap();
        assert_eq!(name, "ops");
        assert_eq!(
            rest["headers"]["$serde_json::private::RawValue"],
            Value::String(deep)
        );
        assert_eq!(rest["type"], "webhook");
    }
}
