//! Changing the alert setup through the API and CLI: every change checked, stored and
//! journaled (or undone if the journal refuses), and test messages.

use vigil_core::Kind;
use vigil_store::{
    AlertItem, AlertItemChange, AlertItemKind, Attempt, Delivery, DeliveryStatus, StoreError,
};

use super::model::{check_name, ChannelSpec, RuleSpec, Source};
use super::{message, send, Channel, ChannelView, Rule, RuleView, Setup, DEFAULT_RULE};
use crate::state::AppState;

/// Why managing alerts refused.
#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    /// Bad input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// No such channel or rule.
    #[error("{0}")]
    NotFound(String),
    /// A taken name, or a channel still used by rules, or one defined in vigil.toml.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Adds a channel through the API or CLI, journaled as `alert.channel.create` by `by`.
pub async fn add_channel(
    state: &AppState,
    by: &vigil_core::Actor,
    name: &str,
    spec: ChannelSpec,
) -> Result<ChannelView, ManageError> {
    check_name("channel", name).map_err(ManageError::Invalid)?;
    spec.validate().map_err(ManageError::Invalid)?;
    spec.check_sources(state.alerts.config.secrets_dir.as_deref())
        .map_err(ManageError::Invalid)?;
    let setup = Setup::load(state).await?;
    if setup.channel(name).is_some() {
        return Err(ManageError::Conflict(format!(
            "channel {name:?} already exists"
        )));
    }
    let channel = Channel {
        name: name.into(),
        spec,
        source: Source::Api,
    };
    let item = AlertItem {
        name: name.into(),
        spec: serde_json::to_string(&channel.spec).expect("a channel spec serializes"),
        created_at: state.now(),
        created_by: by.id.clone(),
    };
    let view = channel.view();
    let details = serde_json::json!({ "channel": view });
    let entry = journal_entry(
        state,
        by,
        "alert.channel.create",
        Kind::Create,
        name,
        details,
    );
    change(
        state,
        AlertItemChange::Add(AlertItemKind::Channel, item),
        entry,
    )
    .await?;
    Ok(view)
}

/// Removes a stored channel that no rule names, journaled as `alert.channel.delete`.
pub async fn remove_channel(
    state: &AppState,
    by: &vigil_core::Actor,
    name: &str,
) -> Result<(), ManageError> {
    let setup = Setup::load(state).await?;
    let channel = setup
        .channel(name)
        .ok_or_else(|| ManageError::NotFound(format!("no channel {name:?}")))?;
    if channel.source == Source::Config {
        return Err(ManageError::Conflict(format!(
            "channel {name:?} is defined in vigil.toml: remove it there and restart"
        )));
    }
    let users: Vec<&str> = setup
        .rules
        .iter()
        .filter(|r| r.spec.channels.iter().any(|c| c == name))
        .map(|r| r.name.as_str())
        .collect();
    if !users.is_empty() {
        return Err(ManageError::Conflict(format!(
            "channel {name:?} is used by rule(s) {}: remove them first",
            users.join(", ")
        )));
    }
    let details = serde_json::json!({ "channel": channel.view() });
    remove_journaled(state, by, AlertItemKind::Channel, name, details).await
}

/// Adds a rule through the API or CLI, journaled as `alert.rule.create`.
pub async fn add_rule(
    state: &AppState,
    by: &vigil_core::Actor,
    name: &str,
    spec: RuleSpec,
) -> Result<RuleView, ManageError> {
    check_name("rule", name).map_err(ManageError::Invalid)?;
    let query = spec.validate().map_err(ManageError::Invalid)?;
    let setup = Setup::load(state).await?;
    if setup.rule(name).is_some() || name == DEFAULT_RULE {
        return Err(ManageError::Conflict(format!(
            "rule {name:?} already exists"
        )));
    }
    let missing: Vec<&str> = spec
        .channels
        .iter()
        .filter(|c| setup.channel(c).is_none())
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let known: Vec<&str> = setup.channels.iter().map(|c| c.name.as_str()).collect();
        return Err(ManageError::Invalid(format!(
            "channels: no channel named {}; the channels are: {}",
            missing.join(", "),
            if known.is_empty() {
                "(none yet)".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let item = AlertItem {
        name: name.into(),
        spec: serde_json::to_string(&spec).expect("a rule serializes"),
        created_at: state.now(),
        created_by: by.id.clone(),
    };
    let rule = Rule {
        name: name.into(),
        spec,
        query,
        source: Source::Api,
    };
    let view = setup.rule_view(&rule);
    let details = serde_json::json!({ "rule": view });
    let entry = journal_entry(state, by, "alert.rule.create", Kind::Create, name, details);
    change(
        state,
        AlertItemChange::Add(AlertItemKind::Rule, item),
        entry,
    )
    .await?;
    Ok(view)
}

/// Removes a stored rule, journaled as `alert.rule.delete`.
pub async fn remove_rule(
    state: &AppState,
    by: &vigil_core::Actor,
    name: &str,
) -> Result<(), ManageError> {
    let setup = Setup::load(state).await?;
    let rule = setup
        .rule(name)
        .ok_or_else(|| ManageError::NotFound(format!("no rule {name:?}")))?;
    match rule.source {
        Source::Api => {}
        Source::Config => {
            return Err(ManageError::Conflict(format!(
                "rule {name:?} is defined in vigil.toml: remove it there and restart"
            )))
        }
        Source::Builtin => {
            return Err(ManageError::Conflict(format!(
                "rule {name:?} is built in: switch it off with default_rule = false in [alerts] of vigil.toml"
            )))
        }
    }
    let details = serde_json::json!({ "rule": {"name": name, "q": rule.spec.q, "channels": rule.spec.channels, "window_minutes": rule.spec.window_minutes} });
    remove_journaled(state, by, AlertItemKind::Rule, name, details).await
}

/// Sends a test message to a channel now, records it as a `test` delivery and journals
/// `alert.channel.test`. The delivery tells whether the channel accepted it.
pub async fn test_channel(
    state: &AppState,
    by: &vigil_core::Actor,
    name: &str,
) -> Result<Delivery, ManageError> {
    let setup = Setup::load(state).await?;
    let channel = setup
        .channel(name)
        .ok_or_else(|| ManageError::NotFound(format!("no channel {name:?}")))?;
    let mut delivery = state.store.start_test_delivery(name, state.now()).await?;
    let alert = message::Alert {
        delivery: delivery.id,
        rule: None,
        entries: vec![],
        total: 0,
        test: Some((by.id.clone(), name.into())),
        tz: state.alerts.config.tz(),
        public_url: state.alerts.public_url.clone(),
    };
    let result = send::send(&state.alerts.http, &channel.spec, &alert).await;
    let attempt = match &result {
        Ok(()) => Attempt::Sent(state.now()),
        Err(e) => Attempt::Failed {
            error: e.message.clone(),
            retry_at: None,
        },
    };
    state
        .store
        .finish_delivery(delivery.id, attempt.clone())
        .await?;
    match attempt {
        Attempt::Sent(at) => {
            delivery.status = DeliveryStatus::Sent;
            delivery.sent_at = Some(at);
        }
        Attempt::Failed { error, .. } => {
            delivery.status = DeliveryStatus::Failed;
            delivery.last_error = Some(error);
        }
    }
    let details = serde_json::json!({
        "channel": name,
        "delivery": delivery.id,
        "status": delivery.status,
        "error": delivery.last_error,
    });
    journal(state, by, "alert.channel.test", Kind::Access, name, details).await?;
    Ok(delivery)
}

/// Removes a stored channel or rule, journaled as `alert.channel.delete` or
/// `alert.rule.delete` in the same transaction.
async fn remove_journaled(
    state: &AppState,
    by: &vigil_core::Actor,
    kind: AlertItemKind,
    name: &str,
    details: serde_json::Value,
) -> Result<(), ManageError> {
    let action = format!("alert.{}.delete", kind.as_str());
    let entry = journal_entry(state, by, &action, Kind::Delete, name, details);
    change(state, AlertItemChange::Remove(kind, name.into()), entry).await
}

/// Stores or removes a channel or rule with its journal entry, in one transaction.
async fn change(
    state: &AppState,
    change: AlertItemChange,
    entry: vigil_core::Event,
) -> Result<(), ManageError> {
    state
        .store
        .change_alert_item(change, entry)
        .await
        .map_err(conflict)?;
    state.wake().await;
    Ok(())
}

/// Puts a failed delivery back in the outbox, journaled as `alert.delivery.retry` in the same
/// transaction.
pub async fn retry_delivery(
    state: &AppState,
    by: &vigil_core::Actor,
    id: u64,
) -> Result<Delivery, ManageError> {
    let not_found = |e| match e {
        StoreError::NotFound(_) => ManageError::NotFound(format!("no delivery {id}")),
        other => conflict(other),
    };
    let failed = state.store.delivery(id).await.map_err(not_found)?;
    let details = serde_json::json!({
        "delivery": id,
        "rule": failed.rule,
        "channel": failed.channel,
        "last_error": failed.last_error,
    });
    let entry = journal_entry(
        state,
        by,
        "alert.delivery.retry",
        Kind::Change,
        &failed.channel,
        details,
    );
    let delivery = state
        .store
        .retry_delivery(id, state.now(), entry)
        .await
        .map_err(not_found)?;
    state.wake().await;
    state.alerts.wake.notify_one();
    Ok(delivery)
}

fn conflict(e: StoreError) -> ManageError {
    match e {
        StoreError::Conflict { message, .. } => ManageError::Conflict(message),
        other => ManageError::Store(other),
    }
}

/// Appends one entry about managing alerts: section `vigil`, the person as actor.
async fn journal(
    state: &AppState,
    by: &vigil_core::Actor,
    action: &str,
    kind: Kind,
    target: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let event = journal_entry(state, by, action, kind, target, details);
    state.append(vec![event]).await.map(drop)
}

/// An entry about managing alerts: section `vigil`, the person as actor.
fn journal_entry(
    state: &AppState,
    by: &vigil_core::Actor,
    action: &str,
    kind: Kind,
    target: &str,
    details: serde_json::Value,
) -> vigil_core::Event {
    let kind_of_target = if action.starts_with("alert.rule") {
        "alert_rule"
    } else {
        "alert_channel"
    };
    crate::journal::entry(
        state.now(),
        by,
        action,
        kind,
        crate::journal::target(kind_of_target, target, None),
        details,
    )
}
