//! Alerting: rules evaluated on ingest, and messages delivered through a durable outbox to
//! email, Telegram, Slack and signed webhooks.
//!
//! - [`model`]: channels and rules as written in `vigil.toml`, the API and the CLI.
//! - [`engine`]: the evaluator (follows the journal, records matches in the outbox with the
//!   cursor) and the dispatcher (sends what is due, one channel's messages in order, retries
//!   with exponential backoff and jitter).
//! - [`message`]: what a message says, per channel; [`send`]: the channels' protocols.
//! - This module: the setup (config + stored channels and rules). Changing it, journaled, is
//!   `crate::service::alerts`.

pub mod engine;
pub mod message;
pub mod model;
pub mod send;
pub mod targets;

use chrono::{DateTime, Utc};
pub use vigil_api::{ChannelView, RuleView};
use vigil_core::Query;
use vigil_store::{AlertItemKind, Delivery, StoreError};

use crate::state::AppState;
use model::{AlertsConfig, ChannelSpec, RuleSpec, Source};

/// The built-in rule's name: critical entries of the journal, one message each.
pub const DEFAULT_RULE: &str = "critical";
/// The built-in rule's query: Vigil's own critical entries (sign-in locks) have their own rule.
pub const DEFAULT_QUERY: &str = "severity:critical -section:vigil";
/// The built-in rule for Vigil's own critical entries (a name locked after failed sign-ins):
/// a stranger inventing names makes a lock per name, so they reach the channels as the first
/// message and then one digest per window, not a message each.
pub const SIGN_IN_RULE: &str = "sign-in-locks";
/// Its query.
pub const SIGN_IN_QUERY: &str = "section:vigil severity:critical";
/// Its window.
pub const SIGN_IN_WINDOW_MINUTES: u32 = 15;
/// The built-in rule for senders: a gap in a sender's numbering, a sender gone silent, a
/// revoked key still used. The first, then a digest per window.
pub const SENDERS_RULE: &str = "senders";
/// Its query.
pub const SENDERS_QUERY: &str = "section:vigil action:sender.gap,sender.silent,sender.revoked_key";

/// What alerting shares across the server: settings, the HTTP client of the channels, and the
/// dispatcher's wake-up call.
pub struct Alerting {
    /// The `[alerts]` settings.
    pub config: AlertsConfig,
    /// The store's address in links.
    pub public_url: String,
    /// For Telegram, Slack and webhooks.
    pub http: reqwest::Client,
    /// The same for channels added through the API or CLI: names resolve to public
    /// addresses only (unless `allow_private_targets`).
    pub http_public: reqwest::Client,
    /// Wakes the dispatcher (new deliveries, or a worker finished).
    pub wake: tokio::sync::Notify,
}

impl Alerting {
    /// Alerting with these settings; `listen` makes the default public URL.
    pub fn new(config: AlertsConfig, listen: std::net::SocketAddr) -> Self {
        let public_url = config
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_owned();
        let client = || {
            reqwest::Client::builder()
                .timeout(send::TIMEOUT)
                .connect_timeout(std::time::Duration::from_secs(5))
                .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
                // A redirect would turn the POST into a GET (and carry the signature
                // elsewhere): only the channel's own answer counts.
                .redirect(reqwest::redirect::Policy::none())
        };
        let http = client().build().expect("an HTTP client with rustls builds");
        let http_public = client()
            .dns_resolver(std::sync::Arc::new(targets::PublicOnly))
            // A proxy would resolve the names itself, past the check.
            .no_proxy()
            .build()
            .expect("an HTTP client with rustls builds");
        Alerting {
            config,
            public_url,
            http,
            http_public,
            wake: tokio::sync::Notify::new(),
        }
    }
}

impl Alerting {
    /// How messages reach a channel. One that is not the operator's sends only to public
    /// addresses (unless the operator allows others), checked now and again when the client
    /// connects, and its errors do not repeat what the far end answered.
    pub async fn route(&self, channel: &Channel) -> Result<send::Route<'_>, targets::TargetError> {
        let added = !channel.operator;
        let guarded = added && !self.config.allow_private_targets;
        if guarded {
            let field = channel.spec.target_field();
            for host in channel.spec.hosts(self.config.telegram_api_base.as_deref()) {
                targets::check_public(field, &host).await?;
            }
        }
        Ok(send::Route {
            http: if guarded {
                &self.http_public
            } else {
                &self.http
            },
            telegram_api_base: self.config.telegram_api_base.as_deref(),
            operator: !added,
            guarded,
        })
    }
}

/// A channel and where it was defined.
#[derive(Debug, Clone)]
pub struct Channel {
    /// Its name.
    pub name: String,
    /// Where it sends.
    pub spec: ChannelSpec,
    /// Config file or API.
    pub source: Source,
    /// The operator's: defined in vigil.toml, or added on the command line by someone who is
    /// not a user. Only these get the built-in rule's and vigil.toml's rules' messages without
    /// being named, send to non-public addresses, and repeat what the far end answered.
    pub operator: bool,
}

/// A rule, its parsed query, and where it was defined.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Its name.
    pub name: String,
    /// As written.
    pub spec: RuleSpec,
    /// `spec.q`, parsed.
    pub query: Query,
    /// Built in, config file or API.
    pub source: Source,
    /// Who added it through the API or CLI: it matches only what they may read, and its
    /// messages show entries as they would see them (see [`Reader`]).
    pub by: Option<String>,
}

/// Whose eyes a rule reads the journal with.
#[derive(Debug, Clone)]
pub enum Reader {
    /// The operator's (vigil.toml's rules and the built-in one, and rules made on the command
    /// line by someone who is not a user): every entry, in clear.
    Operator,
    /// A user's, with their rights as they are now.
    User(vigil_core::rights::Grants),
}

impl Reader {
    /// The rule's query as its reader may ask it: within their read scope, full-text words
    /// matched as they see entries. `None` when they may read nothing (the rule is silent).
    pub fn query(&self, query: &Query) -> Option<Query> {
        match self {
            Reader::Operator => Some(query.clone()),
            // A maker who lost the alerts right (or every read right) no longer alerts.
            Reader::User(g) if g.read.is_none() || !g.alerts => None,
            Reader::User(g) => Some(g.read.narrow(g.as_seen(query.clone()))),
        }
    }

    /// Masks the entries of a message as the reader sees them (and withholds hashes from a
    /// reader of masked entries).
    pub fn present(&self, personal: &[String], entries: &mut [vigil_core::StoredEvent]) {
        let Reader::User(g) = self else {
            return;
        };
        if g.unmask.is_all() {
            return;
        }
        let withhold = !g.reads_unmasked() || g.read.is_none();
        for e in entries {
            if !g.unmask.contains(&e.event, &Default::default()) {
                vigil_core::rights::mask(e, personal);
            }
            if withhold {
                e.hash.clear();
            }
        }
    }

    /// Whether the reader may read the entry now.
    pub fn may_read(&self, e: &vigil_core::StoredEvent) -> bool {
        match self {
            Reader::Operator => true,
            Reader::User(g) => g.alerts && g.read.contains(&e.event, &Default::default()),
        }
    }

    /// The event masked as the reader sees it, when they do not see every entry unmasked.
    pub fn seen(&self, personal: &[String], e: &vigil_core::Event) -> Option<vigil_core::Event> {
        match self {
            Reader::User(g) if !g.unmask.is_all() => {
                let mut seen = e.clone();
                vigil_core::rights::mask_event(&mut seen, personal);
                Some(seen)
            }
            _ => None,
        }
    }
}

impl Rule {
    /// Whose eyes it reads with: its maker's rights as they are now.
    pub async fn reader(&self, state: &AppState) -> Result<Reader, StoreError> {
        let Some(by) = self.by.as_deref().filter(|_| self.source == Source::Api) else {
            return Ok(Reader::Operator);
        };
        if made_by_operator(state, by).await? {
            return Ok(Reader::Operator);
        }
        let user = state.store.user(by).await?;
        if user.disabled_at.is_some() {
            // A disabled maker reads nothing: their rules fall silent until they are enabled.
            return Ok(Reader::User(vigil_core::rights::Grants::default()));
        }
        Ok(Reader::User(
            crate::service::caller::grants_of(state, &user.roles).await?,
        ))
    }
}

/// Whether a stored channel or rule was made by the operator: on the command line (`cli:NAME`;
/// items stored before the origin was recorded: by a name that is no user's).
async fn made_by_operator(state: &AppState, created_by: &str) -> Result<bool, StoreError> {
    if created_by.starts_with(crate::service::alerts::OPERATOR_PREFIX) {
        return Ok(true);
    }
    match state.store.user(created_by).await {
        Ok(_) => Ok(false),
        Err(StoreError::NotFound(_)) => Ok(true),
        Err(e) => Err(e),
    }
}

/// Every channel and rule in force: the built-in rule, `vigil.toml`'s, and the stored ones.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// By name.
    pub channels: Vec<Channel>,
    /// By name.
    pub rules: Vec<Rule>,
}

impl Setup {
    /// Reads the stored channels and rules and adds them to the configured ones. A stored spec
    /// that no longer parses is left out with a warning.
    pub async fn load(state: &AppState) -> Result<Setup, StoreError> {
        let config = &state.alerts.config;
        let mut setup = Setup::default();
        for (name, spec) in &config.channels {
            setup.channels.push(Channel {
                name: name.clone(),
                spec: spec.clone(),
                source: Source::Config,
                operator: true,
            });
        }
        for item in state.store.alert_items(AlertItemKind::Channel).await? {
            match serde_json::from_str::<ChannelSpec>(&item.spec) {
                Ok(spec) => setup.channels.push(Channel {
                    operator: made_by_operator(state, &item.created_by).await?,
                    name: item.name,
                    spec,
                    source: Source::Api,
                }),
                Err(e) => {
                    tracing::warn!(channel = %item.name, error = %e, "stored alert channel ignored")
                }
            }
        }
        if config.default_rule {
            for (name, q, window_minutes) in [
                (DEFAULT_RULE, DEFAULT_QUERY, None),
                (SIGN_IN_RULE, SIGN_IN_QUERY, Some(SIGN_IN_WINDOW_MINUTES)),
                (SENDERS_RULE, SENDERS_QUERY, Some(SIGN_IN_WINDOW_MINUTES)),
            ] {
                setup.rules.push(Rule {
                    name: name.into(),
                    spec: RuleSpec {
                        q: q.into(),
                        channels: vec![],
                        window_minutes,
                    },
                    query: q.parse().expect("the built-in rules parse"),
                    source: Source::Builtin,
                    by: None,
                });
            }
        }
        let stored = state.store.alert_items(AlertItemKind::Rule).await?;
        let configured = config
            .rules
            .iter()
            .map(|(n, s)| (n.clone(), s.clone(), Source::Config, None));
        let stored = stored.into_iter().filter_map(|item| {
            match serde_json::from_str::<RuleSpec>(&item.spec) {
                Ok(spec) => Some((item.name, spec, Source::Api, Some(item.created_by))),
                Err(e) => {
                    tracing::warn!(rule = %item.name, error = %e, "stored alert rule ignored");
                    None
                }
            }
        });
        for (name, spec, source, by) in configured.chain(stored) {
            match spec.validate() {
                Ok(query) => setup.rules.push(Rule {
                    name,
                    spec,
                    query,
                    source,
                    by,
                }),
                Err(e) => tracing::warn!(rule = %name, error = %e, "alert rule ignored"),
            }
        }
        setup.channels.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(setup)
    }

    /// A channel by name.
    pub fn channel(&self, name: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.name == name)
    }

    /// A rule by name.
    pub fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// The channels a rule sends to: those it names, or every channel (for the built-in rule
    /// and vigil.toml's, every channel of vigil.toml: a channel added through the API gets
    /// them only when a rule names it).
    pub fn targets<'a>(&'a self, rule: &'a Rule) -> Vec<&'a str> {
        if rule.spec.channels.is_empty() {
            let operators = rule.source != Source::Api;
            self.channels
                .iter()
                .filter(|c| !operators || c.operator)
                .map(|c| c.name.as_str())
                .collect()
        } else {
            rule.spec.channels.iter().map(String::as_str).collect()
        }
    }
}

/// Checks the setup a server starts with: names defined twice (in vigil.toml and through the
/// API), and rules naming a channel that exists nowhere. Returns a one-line summary.
pub async fn check_setup(state: &AppState) -> anyhow::Result<String> {
    let setup = Setup::load(state).await?;
    let mut seen = std::collections::HashSet::new();
    for c in &setup.channels {
        anyhow::ensure!(
            seen.insert(c.name.as_str()),
            "alert channel {:?} is defined in vigil.toml and was also added through the API: remove one (vigil alerts channel remove, or edit vigil.toml)",
            c.name
        );
    }
    let mut seen = std::collections::HashSet::new();
    for r in &setup.rules {
        anyhow::ensure!(
            seen.insert(r.name.as_str()),
            "alert rule {:?} is defined twice (vigil.toml, the API or the built-in rule): remove one (vigil alerts rule remove, or edit vigil.toml)",
            r.name
        );
        for c in &r.spec.channels {
            anyhow::ensure!(
                setup.channel(c).is_some(),
                "alert rule {:?} names channel {c:?}, which is neither in vigil.toml nor added through the API",
                r.name
            );
        }
    }
    for c in &state.config.integrity.publish {
        // Only channels of vigil.toml: one added through the API could be pointed elsewhere
        // or removed by anyone with the alerts right, and the copies would stop quietly.
        anyhow::ensure!(
            state.config.alerts.channels.contains_key(c),
            "[integrity] publish names channel {c:?}, which is not in vigil.toml ([alerts.channels.{c}]): checkpoints go only to channels defined there"
        );
    }
    let rules: Vec<&str> = setup.rules.iter().map(|r| r.name.as_str()).collect();
    Ok(match setup.channels.len() {
        0 => {
            "alerts: no channel yet (vigil alerts channel add, or [alerts.channels] in vigil.toml)"
                .into()
        }
        n => format!(
            "alerts: {n} channel(s) ({}), rule(s): {}",
            setup
                .channels
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            if rules.is_empty() {
                "none".into()
            } else {
                rules.join(", ")
            }
        ),
    })
}

impl Channel {
    /// As answers show it.
    pub fn view(&self) -> ChannelView {
        ChannelView {
            name: self.name.clone(),
            spec: self.spec.view(),
            source: self.source,
        }
    }
}

impl Setup {
    /// Why a channel that is not the operator's may not send now: it takes its secret from a
    /// variable or file that another channel reads (a channel stored before that was refused).
    pub fn borrowed_secret(&self, channel: &Channel) -> Option<String> {
        if channel.operator {
            return None;
        }
        channel
            .spec
            .secret_sources()
            .into_iter()
            .find_map(|source| {
                self.channels
                    .iter()
                    .find(|c| c.name != channel.name && c.spec.secret_sources().contains(&source))
                    .map(|other| {
                        format!(
                            "channel {:?} takes its secret from where channel {:?} does; a secret \
                         belongs to one channel",
                            channel.name, other.name
                        )
                    })
            })
    }

    /// The rules as answers show them, with the channels they resolve to.
    pub fn rule_views(&self) -> Vec<RuleView> {
        self.rules.iter().map(|r| self.rule_view(r)).collect()
    }

    /// A rule as answers show it, with the channels it resolves to in this setup.
    pub fn rule_view(&self, r: &Rule) -> RuleView {
        RuleView {
            name: r.name.clone(),
            q: r.spec.q.clone(),
            channels: self.targets(r).into_iter().map(String::from).collect(),
            window_minutes: r.spec.window_minutes,
            source: r.source,
        }
    }
}

/// When to try a failed delivery again: exponential backoff with jitter from the settings,
/// at least what the channel asked for; `None` once it has failed for `give_up_after_hours`.
pub fn retry_at(
    config: &AlertsConfig,
    delivery: &Delivery,
    asked: Option<std::time::Duration>,
    now: DateTime<Utc>,
    jitter: f64,
) -> Option<DateTime<Utc>> {
    if now - delivery.due_at >= chrono::Duration::hours(config.give_up_after_hours.into()) {
        return None;
    }
    let exponent = delivery.attempts.saturating_sub(1).min(30);
    let full = (f64::from(config.retry_initial_seconds) * 2f64.powi(exponent as i32))
        .min(f64::from(config.retry_max_seconds));
    // Half fixed, half random: retries of many deliveries spread out, none comes too soon.
    let mut wait = full * (0.5 + 0.5 * jitter.clamp(0.0, 1.0));
    if let Some(asked) = asked {
        wait = wait.max(asked.as_secs_f64());
    }
    Some(now + chrono::Duration::milliseconds((wait * 1000.0) as i64))
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::DeliveryStatus;

    fn delivery(attempts: u32, created_at: DateTime<Utc>) -> Delivery {
        Delivery {
            id: 1,
            rule: "r".into(),
            channel: "c".into(),
            kind: vigil_store::DeliveryKind::Event,
            seqs: vec![1],
            matches: 1,
            status: DeliveryStatus::Pending,
            attempts,
            due_at: created_at,
            next_at: created_at,
            last_error: None,
            created_at,
            sent_at: None,
            journal_seq: 0,
        }
    }

    #[test]
    fn retries_back_off_exponentially_with_jitter_up_to_the_maximum() {
        let config = AlertsConfig::default();
        let now = Utc::now();
        let wait = |attempts, jitter| {
            (retry_at(&config, &delivery(attempts, now), None, now, jitter).unwrap() - now)
                .num_milliseconds()
        };
        assert_eq!(wait(1, 1.0), 5_000);
        assert_eq!(wait(1, 0.0), 2_500);
        assert_eq!(wait(3, 1.0), 20_000);
        assert_eq!(wait(20, 1.0), 600_000, "capped at retry_max_seconds");
        let asked = retry_at(
            &config,
            &delivery(1, now),
            Some(std::time::Duration::from_secs(42)),
            now,
            0.0,
        )
        .unwrap();
        assert_eq!(
            (asked - now).num_seconds(),
            42,
            "the channel's retry_after wins"
        );
        let old = now - chrono::Duration::hours(72);
        assert_eq!(retry_at(&config, &delivery(9, old), None, now, 0.5), None);
        let mut put_back = delivery(9, old);
        put_back.due_at = now - chrono::Duration::minutes(1);
        assert!(
            retry_at(&config, &put_back, None, now, 0.5).is_some(),
            "counted from due_at"
        );
    }
}
