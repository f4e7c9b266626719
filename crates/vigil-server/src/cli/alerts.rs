//! `vigil alerts …`: channels, rules, test messages and the outbox's status from the command
//! line. Works beside a running server: both read the same database, and every change is
//! journaled with `--by` (default: the login name) as the actor.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use vigil_api::{DeliveryStatus, NewRule};

use super::operator;
use crate::alerts::model::ChannelSpec;
use crate::config::FileConfig;
use crate::service::alerts::{self, DeliveryQuery};
use crate::service::caller::AlertsAdmin;
use crate::state::AppState;

#[derive(Args)]
pub(super) struct AlertsArgs {
    /// The journal: sqlite://PATH or a file path [default: the config's, or ./vigil-data/vigil.db].
    #[arg(long, env = "VIGIL_DATABASE", global = true)]
    database: Option<String>,
    /// The server's vigil.toml: its [alerts] channels and rules are listed and tested too.
    #[arg(long, env = "VIGIL_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Who is acting, as recorded in the journal [default: the login name].
    #[arg(long, env = "USER", global = true)]
    by: Option<String>,
    #[command(subcommand)]
    command: AlertsCommand,
}

impl AlertsArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let file = FileConfig::read_if(self.config.as_deref())?;
        // Sessions are the server's: their life is neither used nor checked here.
        let file = FileConfig {
            token_ttl_hours: None,
            ..file
        };
        let settings = file.under(self.database, None, None)?;
        anyhow::ensure!(
            settings.database.exists(),
            "no journal at {}",
            settings.database.display()
        );
        let state = crate::open_journal(&settings)?;
        let admin: AlertsAdmin = operator(self.by.as_deref())?;
        print!("{}", run(&state, &admin, self.command).await?);
        Ok(())
    }
}

/// `vigil alerts …`
#[derive(Subcommand)]
enum AlertsCommand {
    /// Where alerts go: email, Telegram, Slack, webhook.
    #[command(subcommand)]
    Channel(ChannelCommand),
    /// What is sent: a query, channels, and at most one message per window if asked.
    #[command(subcommand)]
    Rule(RuleCommand),
    /// The outbox: counts, and the latest deliveries with their last error.
    Status {
        /// Only pending, sent or failed.
        #[arg(long)]
        status: Option<String>,
        /// How many deliveries to show.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=500))]
        limit: u16,
    },
    /// Put a failed delivery back in the outbox (a running server sends it within seconds).
    Retry {
        /// The delivery's id (from `vigil alerts status`).
        id: u64,
    },
}

/// `vigil alerts channel …`
#[derive(Subcommand)]
enum ChannelCommand {
    /// List the channels (secrets show where they come from).
    List,
    /// Add a channel. Secrets come from an environment variable named VIGIL_… or a file in
    /// [alerts] secrets_dir (--…-env, --…-file), read when a message is sent; never from the
    /// command line.
    Add(Box<ChannelArgs>),
    /// Remove a channel added here or through the API.
    Remove {
        /// Its name.
        name: String,
    },
    /// Send a test message now and say what the channel answered.
    Test {
        /// Its name.
        name: String,
    },
}

/// A channel's settings; which apply depends on --type.
#[derive(Args)]
struct ChannelArgs {
    /// 1 to 64 of a-z, 0-9, '.', '_', '-'.
    name: String,
    /// email, telegram, slack or webhook.
    #[arg(long = "type")]
    kind: String,
    /// email: the SMTP server.
    #[arg(long)]
    host: Option<String>,
    /// email: its port [default: 587, 465 with --tls tls, 25 with --tls none].
    #[arg(long)]
    port: Option<u16>,
    /// email: starttls, tls or none.
    #[arg(long)]
    tls: Option<String>,
    /// email: SMTP AUTH user (with --password-env or --password-file).
    #[arg(long)]
    username: Option<String>,
    /// email: the environment variable holding the SMTP password.
    #[arg(long)]
    password_env: Option<String>,
    /// email: the file holding the SMTP password.
    #[arg(long)]
    password_file: Option<String>,
    /// email: the sender, e.g. "Vigil <vigil@example.com>".
    #[arg(long)]
    from: Option<String>,
    /// email: a recipient (repeat for several).
    #[arg(long)]
    to: Vec<String>,
    /// telegram: the environment variable holding the bot token.
    #[arg(long)]
    bot_token_env: Option<String>,
    /// telegram: the file holding the bot token.
    #[arg(long)]
    bot_token_file: Option<String>,
    /// telegram: the chat id (a number, or @channelname).
    #[arg(long, allow_hyphen_values = true)]
    chat_id: Option<String>,
    /// telegram: a forum topic.
    #[arg(long)]
    thread_id: Option<i64>,
    /// telegram: the Bot API's base URL [default: https://api.telegram.org].
    #[arg(long)]
    api_base: Option<String>,
    /// slack: the environment variable holding the incoming webhook's URL.
    #[arg(long)]
    webhook_url_env: Option<String>,
    /// slack: the file holding the incoming webhook's URL.
    #[arg(long)]
    webhook_url_file: Option<String>,
    /// webhook: where to POST.
    #[arg(long)]
    url: Option<String>,
    /// webhook: the environment variable holding the HMAC key.
    #[arg(long)]
    secret_env: Option<String>,
    /// webhook: the file holding the HMAC key.
    #[arg(long)]
    secret_file: Option<String>,
}

/// `vigil alerts rule …`
#[derive(Subcommand)]
enum RuleCommand {
    /// List the rules in force.
    List,
    /// Add a rule.
    Add {
        /// 1 to 64 of a-z, 0-9, '.', '_', '-'.
        name: String,
        /// The query, e.g. 'action:withdrawal.cancel'.
        #[arg(long, allow_hyphen_values = true)]
        q: String,
        /// A channel (repeat for several; none: every channel).
        #[arg(long = "channel")]
        channels: Vec<String>,
        /// At most one message per this many minutes per channel, with a digest of the rest.
        #[arg(long)]
        window_minutes: Option<u32>,
    },
    /// Remove a rule added here or through the API.
    Remove {
        /// Its name.
        name: String,
    },
}

impl ChannelArgs {
    /// The settings as the spec's JSON, each given flag under its field.
    fn spec(&self) -> anyhow::Result<ChannelSpec> {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        let mut put = |field: &str, value: Option<Value>| {
            if let Some(v) = value {
                m.insert(field.into(), v);
            }
        };
        put("host", self.host.as_ref().map(|v| json!(v)));
        put("port", self.port.map(|v| json!(v)));
        put("tls", self.tls.as_ref().map(|v| json!(v)));
        put("username", self.username.as_ref().map(|v| json!(v)));
        put("password", secret(&self.password_env, &self.password_file)?);
        put("from", self.from.as_ref().map(|v| json!(v)));
        put("to", (!self.to.is_empty()).then(|| json!(self.to)));
        put(
            "bot_token",
            secret(&self.bot_token_env, &self.bot_token_file)?,
        );
        put("chat_id", self.chat_id.as_ref().map(|v| json!(v)));
        put("thread_id", self.thread_id.map(|v| json!(v)));
        put("api_base", self.api_base.as_ref().map(|v| json!(v)));
        put(
            "webhook_url",
            secret(&self.webhook_url_env, &self.webhook_url_file)?,
        );
        put("url", self.url.as_ref().map(|v| json!(v)));
        put("secret", secret(&self.secret_env, &self.secret_file)?);
        serde_json::from_value(Value::Object(m)).map_err(|e| {
            // serde names fields; people typed flags.
            let text = e.to_string().replace('_', "-");
            anyhow::anyhow!(
                "a {} channel: {text} (flags are --FIELD; see vigil alerts channel add --help)",
                self.kind
            )
        })
    }
}

fn secret(env: &Option<String>, file: &Option<String>) -> anyhow::Result<Option<Value>> {
    match (env, file) {
        (Some(_), Some(_)) => anyhow::bail!("give a secret's --…-env or its --…-file, not both"),
        (Some(env), None) => Ok(Some(json!({ "env": env }))),
        (None, Some(file)) => {
            let path = std::path::absolute(file).with_context(|| format!("the path {file}"))?;
            Ok(Some(json!({ "file": path })))
        }
        (None, None) => Ok(None),
    }
}

/// Runs one `vigil alerts` command; what to print on standard output.
async fn run(
    state: &AppState,
    admin: &AlertsAdmin,
    command: AlertsCommand,
) -> anyhow::Result<String> {
    let mut out = String::new();
    match command {
        AlertsCommand::Channel(ChannelCommand::List) => {
            let channels = alerts::channels(state, admin).await?.channels;
            if channels.is_empty() {
                out.push_str("no channels yet: vigil alerts channel add NAME --type …\n");
            }
            for c in &channels {
                out.push_str(&format!(
                    "{}\t{}\t{:?}\t{}\n",
                    c.name,
                    c.spec["type"].as_str().unwrap_or_default(),
                    c.source,
                    c.spec
                ));
            }
        }
        AlertsCommand::Channel(ChannelCommand::Add(args)) => {
            let spec = args.spec()?;
            let view = alerts::add_channel(state, admin, &args.name, spec).await?;
            out.push_str(&format!("channel {:?} added: {}\n", view.name, view.spec));
        }
        AlertsCommand::Channel(ChannelCommand::Remove { name }) => {
            alerts::remove_channel(state, admin, &name).await?;
            out.push_str(&format!("channel {name:?} removed\n"));
        }
        AlertsCommand::Channel(ChannelCommand::Test { name }) => {
            let d = alerts::test_channel(state, admin, &name).await?;
            out.push_str(&format!(
                "channel {name:?} accepted the test message (delivery {})\n",
                d.id
            ));
        }
        AlertsCommand::Rule(RuleCommand::List) => {
            for r in alerts::rules(state, admin).await?.rules {
                let policy = match r.window_minutes {
                    Some(w) => format!("at most one message per {w} min"),
                    None => "each match".into(),
                };
                out.push_str(&format!(
                    "{}\t{:?}\t{}\t→ {}\t{}\n",
                    r.name,
                    r.source,
                    r.q,
                    if r.channels.is_empty() {
                        "(no channel yet)".into()
                    } else {
                        r.channels.join(", ")
                    },
                    policy
                ));
            }
        }
        AlertsCommand::Rule(RuleCommand::Add {
            name,
            q,
            channels,
            window_minutes,
        }) => {
            let rule = NewRule {
                name,
                q,
                channels,
                window_minutes,
            };
            let view = alerts::add_rule(state, admin, rule).await?;
            out.push_str(&format!(
                "rule {:?} added: {} → {}\n",
                view.name,
                view.q,
                view.channels.join(", ")
            ));
        }
        AlertsCommand::Rule(RuleCommand::Remove { name }) => {
            alerts::remove_rule(state, admin, &name).await?;
            out.push_str(&format!("rule {name:?} removed\n"));
        }
        AlertsCommand::Status { status, limit } => {
            let status = status
                .as_deref()
                .map(str::parse::<DeliveryStatus>)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--status: {e}"))?;
            let query = DeliveryQuery {
                status,
                limit: Some(limit.into()),
                ..Default::default()
            };
            let list = alerts::deliveries(state, admin, query).await?;
            let counts = list.counts;
            out.push_str(&format!(
                "outbox: {} pending, {} sent, {} failed\n",
                counts.pending, counts.sent, counts.failed
            ));
            for d in list.deliveries {
                let when = match (d.status, d.sent_at) {
                    (DeliveryStatus::Sent, Some(at)) => {
                        format!("sent {}", vigil_core::event::micros::format(&at))
                    }
                    (DeliveryStatus::Pending, _) => {
                        format!("next try {}", vigil_core::event::micros::format(&d.next_at))
                    }
                    _ => "given up".into(),
                };
                out.push_str(&format!(
                    "#{} {} {} rule={} channel={} entries={} attempts={} {}",
                    d.id,
                    d.status.as_str(),
                    d.kind.as_str(),
                    if d.rule.is_empty() { "-" } else { &d.rule },
                    d.channel,
                    d.seqs.len(),
                    d.attempts,
                    when
                ));
                if let Some(e) = &d.last_error {
                    out.push_str(&format!(" last error: {e}"));
                }
                out.push('\n');
            }
        }
        AlertsCommand::Retry { id } => {
            let d = alerts::retry_delivery(state, admin, id).await?;
            out.push_str(&format!(
                "delivery {} is pending again; a running server sends it shortly\n",
                d.id
            ));
        }
    }
    Ok(out)
}
