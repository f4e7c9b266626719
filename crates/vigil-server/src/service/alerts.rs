//! Managing alerts (the `alerts` right): the channels and rules in force, changing them
//! (checked, stored and journaled in one transaction), test messages, and the outbox's
//! deliveries. The evaluator and the dispatcher that send alerts are `crate::alerts`.

use vigil_api::{ChannelList, DeliveryList, DeliveryStatus, NewRule, RuleList};
use vigil_core::Kind;
use vigil_store::{
    AlertItem, AlertItemChange, AlertItemKind, Attempt, Delivery, DeliveryFilter, StoreError,
};

use super::caller::AlertsAdmin;
use super::{Fault, OwnEntry, Refusal};
use crate::alerts::model::{check_name, ChannelSpec, RuleSpec, Source};
use crate::alerts::{
    message, send, Channel, ChannelView, Rule, RuleView, Setup, DEFAULT_RULE, SENDERS_RULE,
    SIGN_IN_RULE,
};
use crate::state::AppState;

/// Why managing alerts refused.
#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    /// Bad input; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A parameter of a listing that is out of range or not understood.
    #[error("{0}")]
    BadParameter(String),
    /// No such channel, rule or delivery.
    #[error("{0}")]
    NotFound(String),
    /// A taken name, or a channel still used by rules, or one defined in vigil.toml.
    #[error("{0}")]
    Conflict(String),
    /// The channel did not take the test message.
    #[error("channel {channel:?} did not take the test message (delivery {delivery}): {error}")]
    ChannelFailed {
        /// The channel.
        channel: String,
        /// The test's delivery.
        delivery: u64,
        /// What the channel said.
        error: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for AlertError {
    fn fault(&self) -> Fault {
        match self {
            AlertError::Invalid(_) | AlertError::BadParameter(_) => Fault::Invalid,
            AlertError::NotFound(_) => Fault::NotFound,
            AlertError::Conflict(_) => Fault::Conflict,
            AlertError::ChannelFailed { .. } => Fault::Upstream,
            AlertError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AlertError::Invalid(_) => "invalid",
            AlertError::BadParameter(_) => "bad_parameter",
            AlertError::NotFound(_) => "not_found",
            AlertError::Conflict(_) => "conflict",
            AlertError::ChannelFailed { .. } => "channel_failed",
            AlertError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AlertError::Store(e) => e.field(),
            _ => None,
        }
    }
}

/// Every channel in force, by name (secrets show where they come from, never their value).
pub async fn channels(state: &AppState, _admin: &AlertsAdmin) -> Result<ChannelList, AlertError> {
    let setup = Setup::load(state).await?;
    Ok(ChannelList {
        channels: setup.channels.iter().map(|c| c.view()).collect(),
    })
}

/// Every rule in force: the built-in one, vigil.toml's and the API's.
pub async fn rules(state: &AppState, admin: &AlertsAdmin) -> Result<RuleList, AlertError> {
    let setup = Setup::load(state).await?;
    let mut rules = setup.rule_views();
    // A rule's words can name someone: masked for an admin of alerts without unmask, as in
    // the journal.
    if !admin.grants.unmask.is_all() {
        for r in &mut rules {
            if let Some(q) = vigil_core::rights::masked_query(&r.q) {
                r.q = q.to_string();
            }
        }
    }
    Ok(RuleList { rules })
}

/// How long a test message may take (less than a request may: its outcome is journaled).
const TEST_PATIENCE: std::time::Duration = std::time::Duration::from_secs(40);

/// How the stored items made on the command line name their maker: `cli:NAME`.
pub const OPERATOR_PREFIX: &str = "cli:";

/// Delivery ids are 63-bit (a database's signed 64-bit integers).
pub const MAX_DELIVERY_ID: u64 = i64::MAX as u64;

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    /// Only these.
    pub status: Option<DeliveryStatus>,
    /// Only this rule's.
    pub rule: Option<String>,
    /// Only this channel's.
    pub channel: Option<String>,
    /// Only ids below this.
    pub before: Option<u64>,
    /// At most this many, 1 to 500 (default 50).
    pub limit: Option<usize>,
}

/// Deliveries, newest first, with the outbox's counts by status.
pub async fn deliveries(
    state: &AppState,
    admin: &AlertsAdmin,
    q: DeliveryQuery,
) -> Result<DeliveryList, AlertError> {
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(AlertError::BadParameter(format!(
            "limit: must be 1 to 500, not {limit}"
        )));
    }
    if let Some(before) = q.before.filter(|b| *b > MAX_DELIVERY_ID) {
        return Err(AlertError::BadParameter(format!(
            "before: {before} is over the largest delivery id, {MAX_DELIVERY_ID}"
        )));
    }
    let mut deliveries = state
        .store
        .deliveries(&DeliveryFilter {
            status: q.status,
            rule: q.rule,
            channel: q.channel,
            before_id: q.before,
            limit: limit + 1,
        })
        .await?;
    let next_before = if deliveries.len() > limit {
        deliveries.truncate(limit);
        deliveries.last().map(|d| d.id)
    } else {
        None
    };
    // An admin of alerts who may not read every entry sees the deliveries of their own rules
    // only: the others' say when entries outside their scope were stored.
    if !admin.grants.read.is_all() {
        let setup = Setup::load(state).await?;
        let own: Vec<&str> = setup
            .rules
            .iter()
            .filter(|r| r.by.as_deref() == Some(admin.name.as_str()))
            .map(|r| r.name.as_str())
            .collect();
        deliveries.retain(|d| own.contains(&d.rule.as_str()));
    }
    Ok(DeliveryList {
        deliveries,
        next_before,
        counts: state.store.delivery_counts().await?,
    })
}

/// Adds a channel through the API or CLI, journaled as `alert.channel.create`.
pub async fn add_channel(
    state: &AppState,
    admin: &AlertsAdmin,
    name: &str,
    spec: ChannelSpec,
) -> Result<ChannelView, AlertError> {
    check_name("channel", name).map_err(AlertError::Invalid)?;
    spec.validate().map_err(AlertError::Invalid)?;
    spec.check_sources(state.alerts.config.secrets_dir.as_deref())
        .map_err(AlertError::Invalid)?;
    // The command line's operator (who can edit vigil.toml anyway) may add any channel; a
    // signed-in admin of alerts may not choose where tokens go or aim at the server's network.
    let operator = admin.session.is_none();
    if let (
        false,
        ChannelSpec::Telegram {
            api_base: Some(_), ..
        },
    ) = (operator, &spec)
    {
        // Else the bot token (and the messages) would go to a host of the admin's choosing.
        return Err(AlertError::Invalid(
            "api_base: the Bot API's address is the operator's setting (telegram_api_base in \
             [alerts] of vigil.toml), not a channel's"
                .into(),
        ));
    }
    let setup = Setup::load(state).await?;
    if setup.channel(name).is_some() {
        return Err(AlertError::Conflict(format!(
            "channel {name:?} already exists"
        )));
    }
    // A secret belongs to one channel: another channel's token or password, taken from the
    // same variable or file, could be sent wherever this one sends.
    for source in spec.secret_sources() {
        if let Some(other) = setup
            .channels
            .iter()
            .find(|c| c.spec.secret_sources().contains(&source))
        {
            return Err(AlertError::Invalid(format!(
                "{}: channel {:?} already takes its secret from there; a secret belongs to one \
                 channel",
                serde_json::to_string(&source.view()).unwrap_or_default(),
                other.name
            )));
        }
    }
    if !operator && !state.alerts.config.allow_private_targets {
        for host in spec.hosts(state.alerts.config.telegram_api_base.as_deref()) {
            if let Err(crate::alerts::targets::TargetError::NotPublic(why)) =
                crate::alerts::targets::check_public(spec.target_field(), &host).await
            {
                return Err(AlertError::Invalid(why));
            }
        }
    }
    let channel = Channel {
        name: name.into(),
        spec,
        source: Source::Api,
        operator,
    };
    let spec = serde_json::to_string(&channel.spec).expect("a channel spec serializes");
    let view = channel.view();
    let details = serde_json::json!({ "channel": view });
    add_journaled(state, admin, AlertItemKind::Channel, name, spec, details).await?;
    Ok(view)
}

/// Removes a stored channel that no rule names, journaled as `alert.channel.delete`.
pub async fn remove_channel(
    state: &AppState,
    admin: &AlertsAdmin,
    name: &str,
) -> Result<(), AlertError> {
    let setup = Setup::load(state).await?;
    let channel = setup
        .channel(name)
        .ok_or_else(|| AlertError::NotFound(format!("no channel {name:?}")))?;
    if channel.source == Source::Config {
        return Err(AlertError::Conflict(format!(
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
        return Err(AlertError::Conflict(format!(
            "channel {name:?} is used by rule(s) {}: remove them first",
            users.join(", ")
        )));
    }
    let details = serde_json::json!({ "channel": channel.view() });
    remove_journaled(state, admin, AlertItemKind::Channel, name, details).await
}

/// Adds a rule through the API or CLI, journaled as `alert.rule.create`.
pub async fn add_rule(
    state: &AppState,
    admin: &AlertsAdmin,
    rule: NewRule,
) -> Result<RuleView, AlertError> {
    let name = rule.name.as_str();
    let spec = RuleSpec {
        q: rule.q.clone(),
        channels: rule.channels.clone(),
        window_minutes: rule.window_minutes,
    };
    check_name("rule", name).map_err(AlertError::Invalid)?;
    let query = spec.validate().map_err(AlertError::Invalid)?;
    // The rule reads as its maker does: no probing of addresses they see masked.
    admin
        .check_query(&query)
        .map_err(|e| AlertError::Invalid(format!("q: {e}")))?;
    let setup = Setup::load(state).await?;
    if setup.rule(name).is_some()
        || name == DEFAULT_RULE
        || name == SIGN_IN_RULE
        || name == SENDERS_RULE
    {
        return Err(AlertError::Conflict(format!(
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
        return Err(AlertError::Invalid(format!(
            "channels: no channel named {}; the channels are: {}",
            missing.join(", "),
            if known.is_empty() {
                "(none yet)".to_owned()
            } else {
                known.join(", ")
            }
        )));
    }
    let stored = serde_json::to_string(&spec).expect("a rule serializes");
    let rule = Rule {
        name: name.into(),
        spec,
        query,
        source: Source::Api,
        by: Some(admin.name.clone()),
    };
    let view = setup.rule_view(&rule);
    let details = serde_json::json!({ "rule": view });
    add_journaled(state, admin, AlertItemKind::Rule, name, stored, details).await?;
    Ok(view)
}

/// Removes a stored rule, journaled as `alert.rule.delete`.
pub async fn remove_rule(
    state: &AppState,
    admin: &AlertsAdmin,
    name: &str,
) -> Result<(), AlertError> {
    let setup = Setup::load(state).await?;
    let rule = setup
        .rule(name)
        .ok_or_else(|| AlertError::NotFound(format!("no rule {name:?}")))?;
    match rule.source {
        Source::Api => {}
        Source::Config => {
            return Err(AlertError::Conflict(format!(
                "rule {name:?} is defined in vigil.toml: remove it there and restart"
            )))
        }
        Source::Builtin => {
            return Err(AlertError::Conflict(format!(
                "rule {name:?} is built in: switch it off with default_rule = false in [alerts] of vigil.toml"
            )))
        }
    }
    let details = serde_json::json!({ "rule": {"name": name, "q": rule.spec.q, "channels": rule.spec.channels, "window_minutes": rule.spec.window_minutes} });
    remove_journaled(state, admin, AlertItemKind::Rule, name, details).await
}

/// Sends a test message to a channel now, records it as a `test` delivery and journals
/// `alert.channel.test`: the delivery when the channel accepted it, `ChannelFailed` with what
/// it said when it did not.
pub async fn test_channel(
    state: &AppState,
    admin: &AlertsAdmin,
    name: &str,
) -> Result<Delivery, AlertError> {
    let setup = Setup::load(state).await?;
    let channel = setup
        .channel(name)
        .ok_or_else(|| AlertError::NotFound(format!("no channel {name:?}")))?;
    let mut delivery = state.store.start_test_delivery(name, state.now()).await?;
    let alert = message::Alert {
        delivery: delivery.id,
        rule: None,
        entries: vec![],
        total: 0,
        test: Some((admin.name.clone(), name.into())),
        checkpoint: None,
        tz: state.alerts.config.tz(),
        public_url: state.alerts.public_url.clone(),
    };
    let result = match (
        setup.borrowed_secret(channel),
        state.alerts.route(channel).await,
    ) {
        (Some(why), _) => Err(send::SendError::new(why)),
        (None, Ok(route)) => {
            // Within the request's time: a channel that does not answer fails the test.
            tokio::time::timeout(TEST_PATIENCE, send::send(&route, &channel.spec, &alert))
                .await
                .unwrap_or_else(|_| {
                    Err(send::SendError::new(format!(
                        "no answer within {} s",
                        TEST_PATIENCE.as_secs()
                    )))
                })
        }
        (None, Err(e)) => Err(send::SendError::new(e.to_string())),
    };
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
    journal(
        state,
        admin,
        "alert.channel.test",
        Kind::Access,
        name,
        details,
    )
    .await?;
    match delivery.status {
        DeliveryStatus::Sent => Ok(delivery),
        _ => Err(AlertError::ChannelFailed {
            channel: name.into(),
            delivery: delivery.id,
            error: delivery.last_error.unwrap_or_default(),
        }),
    }
}

/// Stores a channel or rule (its spec as JSON), journaled as `alert.channel.create` or
/// `alert.rule.create` in the same transaction.
async fn add_journaled(
    state: &AppState,
    admin: &AlertsAdmin,
    kind: AlertItemKind,
    name: &str,
    spec: String,
    details: serde_json::Value,
) -> Result<(), AlertError> {
    let item = AlertItem {
        name: name.into(),
        spec,
        created_at: state.now(),
        // Made on the command line: the operator's (a user name never holds ':').
        created_by: match admin.session {
            None => format!("{OPERATOR_PREFIX}{}", admin.name),
            Some(_) => admin.name.clone(),
        },
    };
    let action = format!("alert.{}.create", kind.as_str());
    let entry = journal_entry(state, admin, &action, Kind::Create, name, details);
    change(state, AlertItemChange::Add(kind, item), entry).await
}

/// Removes a stored channel or rule, journaled as `alert.channel.delete` or
/// `alert.rule.delete` in the same transaction.
async fn remove_journaled(
    state: &AppState,
    admin: &AlertsAdmin,
    kind: AlertItemKind,
    name: &str,
    details: serde_json::Value,
) -> Result<(), AlertError> {
    let action = format!("alert.{}.delete", kind.as_str());
    let entry = journal_entry(state, admin, &action, Kind::Delete, name, details);
    change(state, AlertItemChange::Remove(kind, name.into()), entry).await
}

/// Stores or removes a channel or rule with its journal entry, in one transaction.
async fn change(
    state: &AppState,
    change: AlertItemChange,
    entry: vigil_core::Event,
) -> Result<(), AlertError> {
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
    admin: &AlertsAdmin,
    id: u64,
) -> Result<Delivery, AlertError> {
    let not_found = |e| match e {
        StoreError::NotFound(_) => AlertError::NotFound(format!("no delivery {id}")),
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
        admin,
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

fn conflict(e: StoreError) -> AlertError {
    match e {
        StoreError::Conflict { message, .. } => AlertError::Conflict(message),
        other => AlertError::Store(other),
    }
}

/// Appends one entry about managing alerts: section `vigil`, the person as actor.
async fn journal(
    state: &AppState,
    admin: &AlertsAdmin,
    action: &str,
    kind: Kind,
    target: &str,
    details: serde_json::Value,
) -> Result<(), StoreError> {
    let event = journal_entry(state, admin, action, kind, target, details);
    state.append(vec![event]).await.map(drop)
}

/// An entry about managing alerts: section `vigil`, the person as actor.
fn journal_entry(
    state: &AppState,
    admin: &AlertsAdmin,
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
    OwnEntry::by_staff(state.now(), &admin.name, action, kind)
        .on(kind_of_target, target, None)
        .details(details)
        .build()
}
