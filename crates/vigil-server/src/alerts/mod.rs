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

use chrono::{DateTime, Utc};
pub use vigil_api::{ChannelView, RuleView};
use vigil_core::Query;
use vigil_store::{AlertItemKind, Delivery, StoreError};

use crate::state::AppState;
use model::{AlertsConfig, ChannelSpec, RuleSpec, Source};

/// The built-in rule's name.
pub const DEFAULT_RULE: &str = "critical";
/// The built-in rule's query.
pub const DEFAULT_QUERY: &str = "severity:critical";

/// What alerting shares across the server: settings, the HTTP client of the channels, and the
/// dispatcher's wake-up call.
pub struct Alerting {
    /// The `[alerts]` settings.
    pub config: AlertsConfig,
    /// The store's address in links.
    pub public_url: String,
    /// For Telegram, Slack and webhooks.
    pub http: reqwest::Client,
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
        let http = reqwest::Client::builder()
            .timeout(send::TIMEOUT)
            .connect_timeout(std::time::Duration::from_secs(5))
            .user_agent(concat!("vigil/", env!("CARGO_PKG_VERSION")))
            // A redirect would turn the POST into a GET (and carry the signature elsewhere):
            // only the channel's own answer counts.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client with rustls builds");
        Alerting {
            config,
            public_url,
            http,
            wake: tokio::sync::Notify::new(),
        }
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
            });
        }
        for item in state.store.alert_items(AlertItemKind::Channel).await? {
            match serde_json::from_str::<ChannelSpec>(&item.spec) {
                Ok(spec) => setup.channels.push(Channel {
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
            setup.rules.push(Rule {
                name: DEFAULT_RULE.into(),
                spec: RuleSpec {
                    q: DEFAULT_QUERY.into(),
                    channels: vec![],
                    window_minutes: None,
                },
                query: DEFAULT_QUERY.parse().expect("the default rule parses"),
                source: Source::Builtin,
            });
        }
        let stored = state.store.alert_items(AlertItemKind::Rule).await?;
        let configured = config
            .rules
            .iter()
            .map(|(n, s)| (n.clone(), s.clone(), Source::Config));
        let stored = stored.into_iter().filter_map(|item| {
            match serde_json::from_str::<RuleSpec>(&item.spec) {
                Ok(spec) => Some((item.name, spec, Source::Api)),
                Err(e) => {
                    tracing::warn!(rule = %item.name, error = %e, "stored alert rule ignored");
                    None
                }
            }
        });
        for (name, spec, source) in configured.chain(stored) {
            match spec.validate() {
                Ok(query) => setup.rules.push(Rule {
                    name,
                    spec,
                    query,
                    source,
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

    /// The channels a rule sends to: those it names, or every channel.
    pub fn targets<'a>(&'a self, rule: &'a Rule) -> Vec<&'a str> {
        if rule.spec.channels.is_empty() {
            self.channels.iter().map(|c| c.name.as_str()).collect()
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
