//! Channels and rules as people write them (in `vigil.toml`, the API and the CLI), their
//! validation, and the views that answers show (secrets never in them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
pub use vigil_api::Source;
use vigil_core::Query;

/// A secret: given as the value itself, or read from an environment variable or a file when a
/// message is sent. `Debug` and the views never show a value.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Secret {
    /// `{"env": "VIGIL_TELEGRAM_TOKEN"}`
    Env {
        /// The variable's name.
        env: String,
    },
    /// `{"file": "/run/secrets/telegram"}` (one trailing newline is ignored)
    File {
        /// The file.
        file: PathBuf,
    },
    /// The value itself.
    Value(String),
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.view().to_string())
    }
}

impl Secret {
    /// The value, read now. The error names the source, never a value.
    pub fn resolve(&self, what: &str) -> Result<String, String> {
        let value = match self {
            Secret::Value(v) => v.clone(),
            Secret::Env { env } => std::env::var(env)
                .map_err(|_| format!("{what}: environment variable {env} is not set"))?,
            Secret::File { file } => read_secret_file(file)
                .map_err(|e| format!("{what}: cannot read {}: {e}", file.display()))?
                .trim_end_matches(['\n', '\r'])
                .to_owned(),
        };
        if value.is_empty() {
            return Err(format!("{what} is empty"));
        }
        Ok(value)
    }

    /// Where a channel added through the API or CLI may take a secret from: environment
    /// variables named `VIGIL_…`, and files in `[alerts] secrets_dir`. (Channels in vigil.toml
    /// are the operator's and may use any.) So an admin cannot send the server's other
    /// secrets to a host of their choosing.
    pub fn check_source(&self, what: &str, secrets_dir: Option<&Path>) -> Result<(), String> {
        match self {
            Secret::Value(_) => Ok(()),
            Secret::Env { env } if env.starts_with("VIGIL_") && env.len() > 6 => Ok(()),
            Secret::Env { env } => Err(format!(
                "{what}: environment variable {env:?} cannot be used by a channel added here: use one named VIGIL_…"
            )),
            Secret::File { file } => {
                let Some(dir) = secrets_dir else {
                    return Err(format!(
                        "{what}: files can be used by channels added here only inside [alerts] secrets_dir, which vigil.toml does not set"
                    ));
                };
                let inside = file.is_absolute()
                    && file.starts_with(dir)
                    && !file
                        .components()
                        .any(|c| matches!(c, std::path::Component::ParentDir));
                if inside {
                    Ok(())
                } else {
                    Err(format!(
                        "{what}: {} is not inside [alerts] secrets_dir ({})",
                        file.display(),
                        dir.display()
                    ))
                }
            }
        }
    }

    /// What answers show: where it comes from, never the value.
    pub fn view(&self) -> Value {
        match self {
            Secret::Env { env } => json!({ "env": env }),
            Secret::File { file } => json!({ "file": file }),
            Secret::Value(_) => json!("(set)"),
        }
    }
}

/// The largest secret file read.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// A regular file of at most [`MAX_SECRET_FILE`] bytes.
fn read_secret_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() || meta.len() > MAX_SECRET_FILE {
        return Err(std::io::Error::other(format!(
            "not a regular file of at most {MAX_SECRET_FILE} bytes"
        )));
    }
    let mut text = String::new();
    file.take(MAX_SECRET_FILE).read_to_string(&mut text)?;
    Ok(text)
}

/// How an email channel talks to its SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Tls {
    /// Plain connection upgraded with STARTTLS (required), port 587 by default.
    #[default]
    Starttls,
    /// TLS from the first byte, port 465 by default.
    Tls,
    /// No encryption, port 25 by default: only for a relay on the same host or network.
    None,
}

/// A Telegram chat: a number or `@channelname`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ChatId(pub String);

impl<'de> Deserialize<'de> for ChatId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(ChatId(s)),
            Value::Number(n) if n.is_i64() => Ok(ChatId(n.to_string())),
            _ => Err(serde::de::Error::custom(
                "chat_id: expected a number or \"@channelname\"",
            )),
        }
    }
}

/// Where messages go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum ChannelSpec {
    /// Email over SMTP, an HTML message with a plain-text part.
    Email {
        /// The SMTP server.
        host: String,
        /// Its port [default: 587 for starttls, 465 for tls, 25 for none].
        #[serde(default)]
        port: Option<u16>,
        /// starttls, tls or none.
        #[serde(default)]
        tls: Tls,
        /// For SMTP AUTH, with `password`.
        #[serde(default)]
        username: Option<String>,
        /// For SMTP AUTH.
        #[serde(default)]
        password: Option<Secret>,
        /// `Vigil <vigil@example.com>`
        from: String,
        /// One or more recipients.
        to: Vec<String>,
    },
    /// Telegram Bot API `sendMessage`, HTML parse mode.
    Telegram {
        /// The bot's token, from BotFather.
        bot_token: Secret,
        /// The chat.
        chat_id: ChatId,
        /// A forum topic.
        #[serde(default)]
        thread_id: Option<i64>,
        /// The Bot API's base URL [default: https://api.telegram.org].
        #[serde(default)]
        api_base: Option<String>,
    },
    /// A Slack incoming webhook, with blocks.
    Slack {
        /// The webhook's URL (a secret: it is the credential).
        webhook_url: Secret,
    },
    /// A JSON POST signed with HMAC-SHA256 in `X-Vigil-Signature: sha256=<hex>`.
    Webhook {
        /// Where to POST.
        url: String,
        /// The HMAC key.
        secret: Secret,
    },
}

/// The public Telegram Bot API.
pub const TELEGRAM_API: &str = "https://api.telegram.org";

impl ChannelSpec {
    /// `email`, `telegram`, `slack` or `webhook`.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelSpec::Email { .. } => "email",
            ChannelSpec::Telegram { .. } => "telegram",
            ChannelSpec::Slack { .. } => "slack",
            ChannelSpec::Webhook { .. } => "webhook",
        }
    }

    /// Checks what can be checked before sending; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        match self {
            ChannelSpec::Email {
                host,
                from,
                to,
                username,
                password,
                ..
            } => {
                if host.trim().is_empty() {
                    return Err("host: the SMTP server's name is empty".into());
                }
                from.parse::<lettre::message::Mailbox>()
                    .map_err(|e| format!("from: {from:?} is not an email address ({e})"))?;
                if to.is_empty() {
                    return Err("to: give at least one recipient".into());
                }
                for address in to {
                    address
                        .parse::<lettre::message::Mailbox>()
                        .map_err(|e| format!("to: {address:?} is not an email address ({e})"))?;
                }
                if username.is_some() != password.is_some() {
                    return Err("username and password go together".into());
                }
            }
            ChannelSpec::Telegram {
                chat_id, api_base, ..
            } => {
                if chat_id.0.trim().is_empty() {
                    return Err("chat_id is empty".into());
                }
                if let Some(base) = api_base {
                    http_url("api_base", base)?;
                }
            }
            ChannelSpec::Slack { webhook_url } => {
                if let Secret::Value(url) = webhook_url {
                    http_url("webhook_url", url)?;
                }
            }
            ChannelSpec::Webhook { url, .. } => http_url("url", url)?,
        }
        Ok(())
    }

    /// The spec as answers show it: secrets replaced by where they come from.
    pub fn view(&self) -> Value {
        let mut value = serde_json::to_value(self).expect("a channel spec serializes");
        for (field, secret) in self.secrets() {
            value[field] = secret.view();
        }
        value
    }

    /// Its secrets, by field.
    fn secrets(&self) -> Vec<(&'static str, &Secret)> {
        match self {
            ChannelSpec::Email { password, .. } => {
                password.iter().map(|p| ("password", p)).collect()
            }
            ChannelSpec::Telegram { bot_token, .. } => vec![("bot_token", bot_token)],
            ChannelSpec::Slack { webhook_url } => vec![("webhook_url", webhook_url)],
            ChannelSpec::Webhook { secret, .. } => vec![("secret", secret)],
        }
    }

    /// Every secret value it holds or points to that can be read now, to scrub from errors.
    pub fn secret_values(&self) -> Vec<String> {
        self.secrets()
            .into_iter()
            .filter_map(|(_, s)| s.resolve("").ok())
            .collect()
    }

    /// The environment variables and files its secrets are read from.
    pub fn secret_sources(&self) -> Vec<&Secret> {
        self.secrets()
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| !matches!(s, Secret::Value(_)))
            .collect()
    }

    /// The host names or addresses it sends to (an email channel's SMTP server, a webhook's
    /// host; a Slack or Telegram URL given as a value): for the check of channels added through
    /// the API or CLI against non-public addresses.
    pub fn hosts(&self, telegram_api_base: Option<&str>) -> Vec<String> {
        let host_of = |url: &str| {
            reqwest::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
        };
        match self {
            ChannelSpec::Email { host, .. } => vec![host.clone()],
            // The operator's Bot API address is theirs to choose; a channel that is not the
            // operator's sends there whatever its own `api_base` says.
            ChannelSpec::Telegram { .. } => {
                let _ = telegram_api_base;
                Vec::new()
            }
            ChannelSpec::Slack { webhook_url } => match webhook_url {
                Secret::Value(url) => host_of(url).into_iter().collect(),
                _ => Vec::new(),
            },
            ChannelSpec::Webhook { url, .. } => host_of(url).into_iter().collect(),
        }
    }

    /// The field that names where it sends (for messages about the address).
    pub fn target_field(&self) -> &'static str {
        match self {
            ChannelSpec::Email { .. } => "host",
            ChannelSpec::Telegram { .. } => "[alerts] telegram_api_base",
            ChannelSpec::Slack { .. } => "webhook_url",
            ChannelSpec::Webhook { .. } => "url",
        }
    }

    /// Checks where its secrets come from, for a channel added through the API or CLI (see
    /// [`Secret::check_source`]).
    pub fn check_sources(&self, secrets_dir: Option<&Path>) -> Result<(), String> {
        self.secrets()
            .into_iter()
            .try_for_each(|(field, s)| s.check_source(field, secrets_dir))
    }
}

fn http_url(field: &str, text: &str) -> Result<(), String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{field}: not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{field}: expected an http:// or https:// URL"));
    }
    Ok(())
}

/// What to send where: a query, the channels (none listed: every channel), and a policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// The query in the query language, e.g. `severity:critical section:finance`.
    pub q: String,
    /// Channel names; empty for every channel.
    #[serde(default)]
    pub channels: Vec<String>,
    /// At most one message per this many minutes per channel, with a digest of the rest;
    /// absent: one message per match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_minutes: Option<u32>,
}

/// The longest throttling window: a day.
pub const MAX_WINDOW_MINUTES: u32 = 24 * 60;

impl RuleSpec {
    /// Parses the query and checks the policy.
    pub fn validate(&self) -> Result<Query, String> {
        if self.q.trim().is_empty() {
            return Err("q: a rule needs a query (e.g. severity:critical)".into());
        }
        let query: Query = self.q.parse().map_err(|e| format!("q: {e}"))?;
        let mut seen = std::collections::HashSet::new();
        if let Some(twice) = self.channels.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(format!("channels: {twice} is listed twice"));
        }
        if let Some(w) = self.window_minutes {
            if !(1..=MAX_WINDOW_MINUTES).contains(&w) {
                return Err(format!(
                    "window_minutes must be 1 to {MAX_WINDOW_MINUTES}, not {w}"
                ));
            }
        }
        Ok(query)
    }

    /// The window as a duration.
    pub fn window(&self) -> Option<chrono::Duration> {
        self.window_minutes
            .map(|m| chrono::Duration::minutes(m.into()))
    }
}

/// Names of channels and rules: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_name(what: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{what} name {name:?}: use 1 to 64 of a-z, 0-9, '.', '_', '-', starting with a letter or digit"
        ))
    }
}

/// The `[alerts]` section of `vigil.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertsConfig {
    /// The built-in rule `severity:critical` to every channel.
    #[serde(default = "yes")]
    pub default_rule: bool,
    /// The zone messages show times in, besides UTC, e.g. `+01:00`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The store's address as people reach it, for links in messages.
    #[serde(default)]
    pub public_url: Option<String>,
    /// The first retry's delay, in seconds; it doubles up to `retry_max_seconds`.
    #[serde(default = "retry_initial")]
    pub retry_initial_seconds: u32,
    /// The longest delay between two attempts, in seconds.
    #[serde(default = "retry_max")]
    pub retry_max_seconds: u32,
    /// The folder that channels added through the API or CLI may read secret files from.
    #[serde(default)]
    pub secrets_dir: Option<PathBuf>,
    /// The Bot API's base URL for Telegram channels that name none (those added through the
    /// API may not) [default: https://api.telegram.org].
    #[serde(default)]
    pub telegram_api_base: Option<String>,
    /// Channels added through the API may send to loopback, private, link-local and other
    /// non-public addresses (an internal relay or webhook). Off by default: an admin of alerts
    /// could otherwise make the server call its own network.
    #[serde(default)]
    pub allow_private_targets: bool,
    /// A delivery still failing this long after it was due is given up on.
    #[serde(default = "give_up")]
    pub give_up_after_hours: u32,
    /// Channels by name.
    #[serde(default)]
    pub channels: BTreeMap<String, ChannelSpec>,
    /// Rules by name.
    #[serde(default)]
    pub rules: BTreeMap<String, RuleSpec>,
}

fn yes() -> bool {
    true
}
fn retry_initial() -> u32 {
    5
}
fn retry_max() -> u32 {
    600
}
fn give_up() -> u32 {
    72
}

impl Default for AlertsConfig {
    fn default() -> Self {
        toml::from_str("").expect("defaults deserialize")
    }
}

impl AlertsConfig {
    /// Checks names, specs, rules' channels and the numbers; the message names what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        for (name, spec) in &self.channels {
            check_name("channel", name)?;
            spec.validate()
                .map_err(|e| format!("[alerts.channels.{name}] {e}"))?;
        }
        for (name, rule) in &self.rules {
            check_name("rule", name)?;
            rule.validate()
                .map_err(|e| format!("[alerts.rules.{name}] {e}"))?;
        }
        if let Some(tz) = &self.time_zone {
            tz.parse::<chrono::FixedOffset>().map_err(|_| {
                format!("[alerts] time_zone {tz:?}: expected an offset like +01:00")
            })?;
        }
        if let Some(dir) = &self.secrets_dir {
            if !dir.is_absolute() {
                return Err(format!(
                    "[alerts] secrets_dir {}: give an absolute path",
                    dir.display()
                ));
            }
        }
        if let Some(url) = &self.public_url {
            http_url("[alerts] public_url", url)?;
        }
        if self.retry_initial_seconds == 0 || self.retry_max_seconds < self.retry_initial_seconds {
            return Err(
                "[alerts] retry_initial_seconds must be at least 1 and at most retry_max_seconds"
                    .into(),
            );
        }
        if self.give_up_after_hours == 0 {
            return Err("[alerts] give_up_after_hours must be at least 1".into());
        }
        Ok(())
    }

    /// The zone of messages.
    pub fn tz(&self) -> chrono::FixedOffset {
        self.time_zone
            .as_deref()
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("UTC"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_parse_from_toml_and_refuse_unknown_fields() {
        let config: AlertsConfig = toml::from_str(
            r#"
            [channels.tg]
            type = "telegram"
            bot_token = { env = "TG" }
            chat_id = -100123
            [channels.mail]
            type = "email"
            host = "smtp.example.com"
            from = "Vigil <vigil@example.com>"
            to = ["a@example.com"]
            password = { file = "/run/secrets/smtp" }
            username = "vigil"
            [rules.big]
            q = "severity:critical section:finance"
            channels = ["tg"]
            window_minutes = 10
            "#,
        )
        .unwrap();
        config.validate().unwrap();
        assert_eq!(
            config.channels["tg"],
            ChannelSpec::Telegram {
                bot_token: Secret::Env { env: "TG".into() },
                chat_id: ChatId("-100123".into()),
                thread_id: None,
                api_base: None,
            }
        );
        assert!(config.default_rule);
        let bad = toml::from_str::<AlertsConfig>(
            "[channels.s]\ntype = \"slack\"\nwebhook_url = \"https://x\"\nchanel = \"#ops\"\n",
        );
        assert!(
            bad.unwrap_err().to_string().contains("chanel"),
            "unknown fields are refused"
        );
    }

    #[test]
    fn views_and_debug_never_show_a_secret_value() {
        let spec = ChannelSpec::Slack {
            webhook_url: Secret::Value("https://hooks.slack.com/services/T/B/SECRET".into()),
        };
        let shown = format!("{} {:?}", spec.view(), spec);
        assert!(!shown.contains("SECRET"), "{shown}");
        assert_eq!(spec.view()["webhook_url"], "(set)");
        let env = Secret::Env { env: "X".into() };
        assert_eq!(env.view(), json!({"env": "X"}));
    }

    #[test]
    fn validation_names_the_field() {
        let mail = |to: Vec<&str>| ChannelSpec::Email {
            host: "h".into(),
            port: None,
            tls: Tls::None,
            username: None,
            password: None,
            from: "v@example.com".into(),
            to: to.into_iter().map(String::from).collect(),
        };
        assert!(mail(vec![]).validate().unwrap_err().starts_with("to:"));
        assert!(mail(vec!["not an address"])
            .validate()
            .unwrap_err()
            .starts_with("to:"));
        assert!(mail(vec!["a@example.com"]).validate().is_ok());
        let rule = RuleSpec {
            q: "severity:".into(),
            channels: vec![],
            window_minutes: None,
        };
        assert!(rule.validate().unwrap_err().starts_with("q:"));
        let twice = RuleSpec {
            q: "severity:critical".into(),
            channels: vec!["ops".into(), "ops".into()],
            window_minutes: None,
        };
        assert_eq!(
            twice.validate().unwrap_err(),
            "channels: ops is listed twice"
        );
        assert!(check_name("rule", "Big").is_err());
        assert!(check_name("rule", "big-bonus.v2").is_ok());
    }
}

#[cfg(test)]
mod source_tests {
    use super::*;

    #[test]
    fn channels_added_here_read_only_vigil_variables_and_the_secrets_folder() {
        let dir = Path::new("/run/vigil-secrets");
        let env = |e: &str| Secret::Env { env: e.into() };
        let file = |f: &str| Secret::File { file: f.into() };
        assert!(env("VIGIL_TELEGRAM_TOKEN")
            .check_source("bot_token", None)
            .is_ok());
        assert!(env("AWS_SECRET_ACCESS_KEY")
            .check_source("bot_token", None)
            .unwrap_err()
            .contains("use one named VIGIL_"));
        assert!(file("/run/vigil-secrets/tg")
            .check_source("bot_token", Some(dir))
            .is_ok());
        assert!(file("/run/vigil-secrets/../../etc/shadow")
            .check_source("bot_token", Some(dir))
            .is_err());
        assert!(file("/etc/shadow")
            .check_source("bot_token", Some(dir))
            .is_err());
        assert!(file("/run/vigil-secrets/tg")
            .check_source("bot_token", None)
            .unwrap_err()
            .contains("secrets_dir"));
        assert!(Secret::Value("x".into())
            .check_source("bot_token", None)
            .is_ok());
    }

    #[test]
    fn secret_files_must_be_small_regular_files() {
        let err = Secret::File {
            file: "/dev/zero".into(),
        }
        .resolve("bot_token")
        .unwrap_err();
        assert!(err.contains("not a regular file"), "{err}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "123:abc\n").unwrap();
        let secret = Secret::File { file: path };
        assert_eq!(secret.resolve("bot_token").unwrap(), "123:abc");
    }
}
