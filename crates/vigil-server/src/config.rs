//! Settings of `vigil serve`: defaults, then `vigil.toml`, then `VIGIL_*` environment, then flags
//! (the last one given wins). `vigil config example` prints [`EXAMPLE`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The default database file.
pub const DEFAULT_DATABASE: &str = "./vigil-data/vigil.db";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// Settings the server runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The SQLite file.
    pub database: PathBuf,
    /// How long a session token lives.
    pub token_ttl: chrono::Duration,
    /// How long a request may take until its answer begins (then 408); see
    /// [`crate::http::REQUEST_TIMEOUT`].
    pub request_timeout: std::time::Duration,
    /// Alert channels, rules and delivery settings.
    pub alerts: crate::alerts::model::AlertsConfig,
    /// What is masked for readers without the unmask right, and which sections' entries are
    /// journaled when opened.
    pub privacy: PrivacyConfig,
    /// Serve HTTPS with this certificate and key (plain HTTP without).
    pub tls: Option<crate::tls::TlsFiles>,
    /// The signing key and how often checkpoints are signed.
    pub integrity: IntegrityConfig,
    /// When a sender's missing numbers are reported.
    pub senders: SendersConfig,
}

/// `[senders]`: how long numbers a sender skipped may take to arrive before the journal reports
/// them missing (events of concurrent requests arrive out of order).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendersConfig {
    /// Seconds a gap may stay open before it is journaled (`sender.gap`).
    pub gap_grace_seconds: u64,
    /// The shortest silence reported of a sender that usually sends at this hour
    /// (`sender.silent`); a sender that sends often is reported after ten of its usual
    /// intervals if that is longer.
    pub quiet_minutes: u64,
    /// Per sender: report it after this many minutes without an entry, whatever it usually
    /// does; 0: never.
    pub quiet: std::collections::BTreeMap<String, u64>,
}

impl Default for SendersConfig {
    fn default() -> Self {
        SendersConfig {
            gap_grace_seconds: 60,
            quiet_minutes: 15,
            quiet: Default::default(),
        }
    }
}

impl SendersConfig {
    /// Checks the grace period.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=86_400).contains(&self.gap_grace_seconds) {
            return Err(format!(
                "[senders] gap_grace_seconds must be 1 to 86400 (a day), not {}",
                self.gap_grace_seconds
            ));
        }
        if !(1..=10_080).contains(&self.quiet_minutes) {
            return Err(format!(
                "[senders] quiet_minutes must be 1 to 10080 (a week), not {}",
                self.quiet_minutes
            ));
        }
        if let Some((name, m)) = self.quiet.iter().find(|(_, m)| **m > 10_080) {
            return Err(format!(
                "[senders.quiet] {name} must be 0 (never) to 10080 minutes (a week), not {m}"
            ));
        }
        Ok(())
    }
}

/// `[integrity]`: the key checkpoints are signed with, and how often.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntegrityConfig {
    /// The Ed25519 private key (PKCS#8 PEM, mode 0600), made at first start if missing;
    /// default beside the database (`vigil.db.signing-key`). Keep it on another disk than the
    /// database: whoever holds both can rewrite history nobody has seen yet.
    pub signing_key: Option<PathBuf>,
    /// Sign a checkpoint once this many entries came since the last one.
    pub checkpoint_every: u64,
    /// …or once this many seconds passed with any new entry.
    pub checkpoint_seconds: u64,
    /// Alert channels each checkpoint is sent to as it is signed (a webhook, an email archive),
    /// so that someone else holds them.
    pub publish: Vec<String>,
}

impl Default for IntegrityConfig {
    fn default() -> Self {
        IntegrityConfig {
            signing_key: None,
            checkpoint_every: 10_000,
            checkpoint_seconds: 60,
            publish: Vec::new(),
        }
    }
}

impl IntegrityConfig {
    /// Checks the intervals.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100_000_000).contains(&self.checkpoint_every) {
            return Err(format!(
                "[integrity] checkpoint_every must be 1 to 100000000 entries, not {}",
                self.checkpoint_every
            ));
        }
        if !(1..=86_400).contains(&self.checkpoint_seconds) {
            return Err(format!(
                "[integrity] checkpoint_seconds must be 1 to 86400 (a day), not {}",
                self.checkpoint_seconds
            ));
        }
        Ok(())
    }
}

/// `[tls]`: the certificate chain and private key `vigil serve` answers HTTPS with.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM: the certificate, then any intermediates.
    pub cert: PathBuf,
    /// PEM: its private key.
    pub key: PathBuf,
}

/// `[privacy]`: personal fields and sensitive sections.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacyConfig {
    /// Fields masked (besides the IP, shown as its /24 or /48, and the target's name) for
    /// readers without the unmask right: `changes.FIELD`, `details.KEY`, `actor.name`,
    /// `user_agent`, `reason`, `session_id`.
    pub personal_fields: Vec<String>,
    /// Opening an entry of these sections (GET /v1/events/{id}) is itself journaled.
    pub sensitive_sections: Vec<String>,
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        let owned = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        PrivacyConfig {
            personal_fields: owned(&[
                "changes.email",
                "changes.phone",
                "details.email",
                "details.phone",
                "details.player_name",
            ]),
            sensitive_sections: owned(&["finance", "players", "staff"]),
        }
    }
}

impl PrivacyConfig {
    /// Checks each personal field's form.
    pub fn validate(&self) -> Result<(), String> {
        for f in &self.personal_fields {
            vigil_core::rights::check_personal_field(f)
                .map_err(|e| format!("[privacy] personal_fields: {e}"))?;
        }
        Ok(())
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            database: PathBuf::from(DEFAULT_DATABASE),
            token_ttl: chrono::Duration::hours(12),
            request_timeout: crate::http::REQUEST_TIMEOUT,
            alerts: Default::default(),
            privacy: Default::default(),
            tls: None,
            integrity: Default::default(),
            senders: Default::default(),
        }
    }
}

/// What a `vigil.toml` may set. Unknown keys are refused so that typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `listen = "127.0.0.1:7878"`
    pub listen: Option<String>,
    /// `database = "sqlite://./vigil-data/vigil.db"`
    pub database: Option<String>,
    /// `token_ttl_hours = 12`
    pub token_ttl_hours: Option<u32>,
    /// `[alerts]`: channels, rules and delivery settings.
    pub alerts: Option<crate::alerts::model::AlertsConfig>,
    /// `[privacy]`: personal fields and sensitive sections.
    pub privacy: Option<PrivacyConfig>,
    /// `[tls]`: serve HTTPS with `cert` and `key`.
    pub tls: Option<TlsConfig>,
    /// `[integrity]`: the signing key and how often checkpoints are signed.
    pub integrity: Option<IntegrityConfig>,
    /// `[senders]`: when missing numbers are reported.
    pub senders: Option<SendersConfig>,
}

impl FileConfig {
    /// Reads a TOML file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        let config: FileConfig = toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))?;
        if let Some(alerts) = &config.alerts {
            alerts
                .validate()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        if let Some(privacy) = &config.privacy {
            privacy
                .validate()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        if let Some(integrity) = &config.integrity {
            integrity
                .validate()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        if let Some(senders) = &config.senders {
            senders
                .validate()
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?;
        }
        Ok(config)
    }

    /// The file at `path` if one is given, else every setting at its default.
    pub fn read_if(path: Option<&Path>) -> anyhow::Result<Self> {
        Ok(path.map(Self::read).transpose()?.unwrap_or_default())
    }

    /// The settings: the defaults, then this file's, then the flags and `VIGIL_*` environment
    /// given (`database`, `listen`, `token_ttl_hours`). A flag given replaces the file's value
    /// before either is checked.
    pub fn under(
        self,
        database: Option<String>,
        listen: Option<String>,
        token_ttl_hours: Option<u32>,
    ) -> anyhow::Result<ServerConfig> {
        let mut settings = ServerConfig::default();
        if let Some(db) = database.or(self.database) {
            settings.database = database_path(&db)?;
        }
        let listen = match (listen, self.listen) {
            (Some(flag), _) => Some(("--listen", flag)),
            (None, Some(file)) => Some(("listen", file)),
            (None, None) => None,
        };
        if let Some((label, addr)) = listen {
            settings.listen = addr.parse().with_context(|| {
                format!("{label} {addr:?} is not an address like 127.0.0.1:7878")
            })?;
        }
        settings.alerts = self.alerts.unwrap_or_default();
        settings.privacy = self.privacy.unwrap_or_default();
        settings.integrity = self.integrity.unwrap_or_default();
        settings.senders = self.senders.unwrap_or_default();
        settings.tls = self.tls.map(|t| crate::tls::TlsFiles {
            cert: t.cert,
            key: t.key,
        });
        if let Some(h) = token_ttl_hours.or(self.token_ttl_hours) {
            settings.token_ttl = token_ttl(h)?;
        }
        Ok(settings)
    }
}

/// A session token's life, 1 hour to a year.
fn token_ttl(hours: u32) -> anyhow::Result<chrono::Duration> {
    anyhow::ensure!(
        (1..=8760).contains(&hours),
        "token_ttl_hours must be 1 to 8760 (a year), not {hours}"
    );
    Ok(chrono::Duration::hours(hours.into()))
}

/// Turns `sqlite://PATH` or a plain path into a file path; other schemes are refused clearly.
pub fn database_path(url: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        anyhow::ensure!(
            !path.is_empty(),
            "database URL {url:?} has no path: use sqlite://PATH"
        );
        return Ok(PathBuf::from(path));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "PostgreSQL is not available in this build yet: use sqlite://PATH or a file path"
        );
    }
    anyhow::ensure!(
        !url.contains("://"),
        "database URL {url:?} is not supported: use sqlite://PATH or a file path"
    );
    anyhow::ensure!(!url.is_empty(), "the database path is empty");
    Ok(PathBuf::from(url))
}

/// A commented example configuration.
pub const EXAMPLE: &str = r#"# vigil.toml: settings of `vigil serve`.
# Order of precedence: built-in defaults < this file < VIGIL_* environment < command-line flags.

# Address and port of the HTTP API (env VIGIL_LISTEN, flag --listen).
listen = "127.0.0.1:7878"

# The journal: a SQLite file (created with its folder on first start).
# env VIGIL_DATABASE, flag --database. PostgreSQL URLs are refused until that backend lands.
database = "sqlite://./vigil-data/vigil.db"

# How long a session token from POST /v1/auth/login stays valid (env VIGIL_TOKEN_TTL_HOURS).
token_ttl_hours = 12

# HTTPS: the certificate chain and its private key, PEM (flags --tls-cert and --tls-key, env
# VIGIL_TLS_CERT and VIGIL_TLS_KEY). Both files are read again when either changes (a renewed
# certificate is used by new connections without a restart). Without this section vigil speaks
# plain HTTP and warns at start when it listens on anything but loopback.
# [tls]
# cert = "/etc/vigil/tls/fullchain.pem"
# key = "/etc/vigil/tls/privkey.pem"

# Tamper evidence: the store keeps a Merkle tree over the journal and signs checkpoints of it
# with an Ed25519 key, made at first start (mode 0600) if missing (flag --signing-key, env
# VIGIL_SIGNING_KEY; default beside the database). Keep it on another disk than the database,
# and give its public part (`vigil integrity key`) to whoever checks the journal.
# [integrity]
# signing_key = "/etc/vigil/keys/checkpoint.key"
# checkpoint_every = 10000      # entries
# checkpoint_seconds = 60       # with any new entry
# publish = ["archive"]         # alert channels each checkpoint is sent to as it is signed

# Senders that number their events (source_seq, per stream): numbers skipped are reported in
# the journal (action sender.gap) once they have stayed missing this long, and again when they
# arrive (sender.gap.filled). `vigil senders` and GET /v1/senders list the open gaps.
# A sender that usually sends at this hour (UTC: it did on 4 of the last 7 days and a week ago,
# 6 entries an hour or more) and then sends nothing for quiet_minutes (or ten of its usual
# intervals, if longer)
# is reported silent (sender.silent), and again when it sends (sender.resumed); so is a
# revoked ingest key that is still used (sender.revoked_key). The built-in rule "senders" sends
# them, and gaps, to every channel. [senders.quiet] sets a sender's own limit (0: never).
# [senders]
# gap_grace_seconds = 60
# quiet_minutes = 15
# [senders.quiet]
# backoffice = 5
# imports = 0

# Personal data: readers without the `unmask` right (the built-in viewer, custom roles without
# it) see IP addresses as their /24 (IPv4) or /48 (IPv6), target names as [masked], and these
# fields as [masked]: changes.FIELD (before and after), details.KEY, actor.name, user_agent,
# reason, session_id. Opening an entry of a sensitive section is itself journaled.
[privacy]
personal_fields = ["changes.email", "changes.phone", "details.email", "details.phone", "details.player_name"]
sensitive_sections = ["finance", "players", "staff"]

# Alerts: rules evaluated on every ingested entry, messages sent through a durable outbox.
# Channels and rules can also be added with `vigil alerts …` or the API (/v1/alerts/…).
[alerts]
# The built-in rules: "critical" (severity:critical -section:vigil, a message per entry),
# "sign-in-locks" (names locked after failed sign-ins: the first, then a digest per 15 minutes)
# and "senders" (gaps, silent senders, revoked keys still used; the same window) to every
# channel of this file (and those added on the command line); a channel added through the API
# gets them only from a rule that names it. false switches all three off.
default_rule = true
# Messages show times in UTC and in this zone.
time_zone = "+01:00"
# The store's address as people reach it, for the links in messages [default: http://LISTEN].
# public_url = "https://vigil.example.com"
# A failed delivery is tried again after 5 s, then 10 s, 20 s … up to 10 minutes (with jitter),
# or when the channel says (Telegram's retry_after, Retry-After); given up after 72 hours.
retry_initial_seconds = 5
retry_max_seconds = 600
give_up_after_hours = 72
# Channels added through the API or CLI may read secret files only in this folder (absolute),
# and environment variables only if named VIGIL_…; channels in this file may name any.
# secrets_dir = "/run/vigil-secrets"
# Telegram channels added through the API use this Bot API address (they may not name one).
# telegram_api_base = "https://api.telegram.org"
# Channels added through the API send only to public addresses; true allows loopback, private
# and link-local ones too (an internal relay or webhook).
# allow_private_targets = false

# Secrets (password, bot_token, webhook_url, secret) are written as the value itself, or as
# { env = "NAME" } or { file = "/path" }, read when a message is sent. They never appear in
# logs, API answers or errors.

# [alerts.channels.secops-mail]
# type = "email"
# host = "smtp.example.com"
# port = 587
# tls = "starttls"            # starttls (587), tls (465) or none (25)
# username = "vigil"
# password = { env = "VIGIL_SMTP_PASSWORD" }
# from = "Vigil <vigil@example.com>"
# to = ["secops@example.com", "finance-lead@example.com"]

# [alerts.channels.secops-telegram]
# type = "telegram"
# bot_token = { file = "/run/secrets/telegram-bot-token" }
# chat_id = -1001234567890
# thread_id = 42              # a forum topic (optional)
# api_base = "https://api.telegram.org"

# [alerts.channels.secops-slack]
# type = "slack"
# webhook_url = { env = "VIGIL_SLACK_WEBHOOK_URL" }

# [alerts.channels.siem]
# type = "webhook"            # JSON POST, X-Vigil-Signature: sha256=<HMAC-SHA256 of the body>
# url = "https://siem.example.com/hooks/vigil"
# secret = { env = "VIGIL_WEBHOOK_SECRET" }

# [alerts.rules.cancelled-withdrawals]
# q = "action:withdrawal.cancel"
# channels = ["secops-telegram"]   # none listed: every channel
# window_minutes = 10              # at most one message per 10 minutes, with a digest of the rest
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let c: FileConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(c.token_ttl_hours, Some(12));
        assert_eq!(c.privacy.unwrap(), PrivacyConfig::default());
        let alerts = c.alerts.as_ref().unwrap();
        alerts.validate().unwrap();
        assert!(alerts.default_rule);
        // The commented channels parse too, once uncommented.
        let uncommented: String = EXAMPLE
            .lines()
            .map(|l| {
                l.strip_prefix("# [alerts.")
                    .map(|r| format!("[alerts.{r}"))
                    .or_else(|| (l == "# [tls]").then(|| "[tls]".to_owned()))
                    .or_else(|| (l == "# [integrity]").then(|| "[integrity]".to_owned()))
                    .or_else(|| (l == "# [senders]").then(|| "[senders]".to_owned()))
                    .or_else(|| (l == "# [senders.quiet]").then(|| "[senders.quiet]".to_owned()))
                    .unwrap_or_else(|| {
                        let setting = l.strip_prefix("# ").filter(|r| {
                            r.split_once(" = ").is_some_and(|(k, _)| {
                                k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
                            })
                        });
                        match setting {
                            Some(r) if !r.starts_with("public_url") => r.to_owned(),
                            _ => l.to_owned(),
                        }
                    })
            })
            .collect::<Vec<_>>()
            .join("\n");
        let full: FileConfig = toml::from_str(&uncommented).unwrap();
        assert_eq!(
            full.tls.unwrap().key,
            PathBuf::from("/etc/vigil/tls/privkey.pem")
        );
        let integrity = full.integrity.unwrap();
        integrity.validate().unwrap();
        assert_eq!(
            integrity.signing_key,
            Some(PathBuf::from("/etc/vigil/keys/checkpoint.key"))
        );
        assert_eq!(integrity.checkpoint_every, 10_000);
        assert_eq!(integrity.publish, ["archive"]);
        let zero = IntegrityConfig {
            checkpoint_seconds: 0,
            ..Default::default()
        };
        assert!(zero.validate().unwrap_err().contains("checkpoint_seconds"));
        let senders = full.senders.unwrap();
        senders.validate().unwrap();
        assert_eq!(senders.quiet.get("backoffice"), Some(&5));
        assert_eq!(senders.quiet.get("imports"), Some(&0));
        let never = SendersConfig {
            gap_grace_seconds: 0,
            ..Default::default()
        };
        assert!(never.validate().unwrap_err().contains("gap_grace_seconds"));
        let alerts = full.alerts.unwrap();
        alerts.validate().unwrap();
        assert_eq!(alerts.channels.len(), 4);
        assert_eq!(alerts.rules.len(), 1);
        assert_eq!(
            database_path(c.database.as_deref().unwrap()).unwrap(),
            PathBuf::from("./vigil-data/vigil.db")
        );
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            database_path("/tmp/x.db").unwrap(),
            PathBuf::from("/tmp/x.db")
        );
        assert!(database_path("postgres://localhost/db")
            .unwrap_err()
            .to_string()
            .contains("PostgreSQL"));
        assert!(database_path("mysql://x").is_err());
        assert!(toml::from_str::<FileConfig>("lisen = 'x'").is_err());
    }

    #[test]
    fn flags_replace_the_file_before_either_is_checked() {
        let file = || FileConfig {
            listen: Some("not an address".into()),
            database: Some("mysql://x".into()),
            token_ttl_hours: Some(0),
            ..FileConfig::default()
        };
        let settings = file()
            .under(
                Some("/tmp/flag.db".into()),
                Some("127.0.0.1:9000".into()),
                Some(3),
            )
            .unwrap();
        assert_eq!(settings.database, PathBuf::from("/tmp/flag.db"));
        assert_eq!(settings.listen.to_string(), "127.0.0.1:9000");
        assert_eq!(settings.token_ttl, chrono::Duration::hours(3));
        // Without the flag, the file's own value is checked and refused with its name.
        let refused = file()
            .under(
                Some("/tmp/flag.db".into()),
                Some("127.0.0.1:9000".into()),
                None,
            )
            .unwrap_err()
            .to_string();
        assert_eq!(refused, "token_ttl_hours must be 1 to 8760 (a year), not 0");
        let refused = file()
            .under(Some("/tmp/flag.db".into()), None, Some(3))
            .unwrap_err()
            .to_string();
        assert!(
            refused.starts_with("listen \"not an address\""),
            "{refused}"
        );
    }
}
