//! The `vigil` command line: parses arguments and calls the library.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use vigil_server::auth::ManageAccounts;
use vigil_server::config::{self, FileConfig, ServerConfig};
use vigil_server::{cli, AppState};

#[derive(Parser)]
#[command(
    name = "vigil",
    version,
    about = "Vigil: the audit journal of every staff action in a back office"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Database {
    /// The journal: sqlite://PATH or a file path.
    #[arg(long, env = "VIGIL_DATABASE", default_value = config::DEFAULT_DATABASE)]
    database: String,
}

/// Who changes accounts, on which journal: the command line's operator, who can open the
/// database file.
#[derive(Args, Clone)]
struct Acting {
    /// Who is acting, as recorded in the journal [default: the login name].
    #[arg(long, env = "USER")]
    by: Option<String>,
    #[command(flatten)]
    db: Database,
}

impl Acting {
    /// The journal, and the capability to change its accounts as `--by`.
    fn open(&self) -> anyhow::Result<(AppState, ManageAccounts)> {
        let by = self.by.as_deref().unwrap_or("unknown");
        Ok((open(&self.db)?, ManageAccounts::from_command_line(by)))
    }
}

impl Database {
    fn path(&self) -> anyhow::Result<PathBuf> {
        config::database_path(&self.database)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run the audit store's HTTP API.
    Serve {
        /// The journal: sqlite://PATH or a file path [default: ./vigil-data/vigil.db].
        #[arg(long, env = "VIGIL_DATABASE")]
        database: Option<String>,
        /// Address to listen on [default: 127.0.0.1:7878].
        #[arg(long, env = "VIGIL_LISTEN")]
        listen: Option<String>,
        /// A vigil.toml (see `vigil config example`).
        #[arg(long, env = "VIGIL_CONFIG")]
        config: Option<PathBuf>,
        /// How long session tokens live [default: 12].
        #[arg(long, env = "VIGIL_TOKEN_TTL_HOURS")]
        token_ttl_hours: Option<u32>,
    },
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage roles: the built-in ones and custom ones (rights within a scope).
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage ingest keys (what back offices send events with).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Fill an empty journal with realistic, deterministic casino back-office activity.
    Demo {
        #[command(flatten)]
        db: Database,
        /// How many events.
        #[arg(long, default_value_t = 50_000)]
        events: usize,
        /// Days of activity, ending at --until.
        #[arg(long, default_value_t = 30)]
        days: u32,
        /// The newest event's time bound (RFC 3339) [default: now, rounded down to the hour].
        #[arg(long)]
        until: Option<String>,
        /// Seed of the generator: the same seed and --until give the same journal.
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Walk the hash chain and name the first entry that does not match. Exit 0 only if all verify.
    Verify {
        #[command(flatten)]
        db: Database,
    },
    /// Export the entries matching a query to a file: csv, xlsx, json or ndjson. The export is
    /// recorded in the journal. Reads the journal directly: stop `vigil serve` on it first, or
    /// export through the running server (GET /v1/export, or Vigil Console).
    Export {
        #[command(flatten)]
        db: Database,
        /// The query, in the query language (empty: every entry).
        #[arg(long, default_value = "")]
        q: String,
        /// csv, xlsx, json or ndjson.
        #[arg(long)]
        format: String,
        /// The file to write (CSV and NDJSON also get FILE.about.json).
        #[arg(long)]
        out: PathBuf,
        /// The UTC offset in which the query's dates are read, e.g. +01:00 [default: UTC].
        #[arg(long)]
        tz: Option<String>,
        /// Oldest entries first (default: newest first).
        #[arg(long)]
        oldest_first: bool,
        /// CSV: start with a UTF-8 byte-order mark, so Excel reads accents right.
        #[arg(long)]
        bom: bool,
        /// Who is exporting, as recorded in the journal [default: the login name].
        #[arg(long, env = "USER")]
        by: Option<String>,
    },
    /// Alert channels, rules, test messages and the outbox's status. Works beside a running
    /// server; changes are journaled.
    Alerts {
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
        command: vigil_server::alerts::cli::AlertsCommand,
    },
    /// The marks catalog annotations use: list, add, change, remove. Works beside a running
    /// server; changes are journaled.
    Marks {
        /// The journal: sqlite://PATH or a file path [default: ./vigil-data/vigil.db].
        #[arg(long, env = "VIGIL_DATABASE", global = true)]
        database: Option<String>,
        /// Who is acting, as recorded in the journal [default: the login name].
        #[arg(long, env = "USER", global = true)]
        by: Option<String>,
        #[command(subcommand)]
        command: vigil_server::notes::cli::MarksCommand,
    },
    /// Configuration helpers.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user (the first admin comes from here); journaled.
    Add {
        /// Login name.
        name: String,
        /// Role: admin, auditor, investigator, viewer or a custom role (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        acting: Acting,
    },
    /// List the users: roles, live sessions, sign-in lock.
    List {
        #[command(flatten)]
        db: Database,
    },
    /// Give a user these roles in place of theirs (journaled, before and after).
    Roles {
        /// Login name.
        name: String,
        /// Role (repeat for several).
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        #[command(flatten)]
        acting: Acting,
    },
    /// End every session of a user at once: their tokens stop working (journaled).
    Revoke {
        /// Login name.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Lift the lock that repeated failed sign-ins put on a name (journaled).
    Unlock {
        /// Login name.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create an ingest key; it is printed once, on the last line, and stored only as a hash
    /// (journaled).
    Create {
        /// The sending system's name, e.g. backoffice.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// List the ingest keys: name, created, revoked (never the key itself).
    List {
        #[command(flatten)]
        db: Database,
    },
    /// Revoke an ingest key: it stops working at once (journaled).
    Revoke {
        /// The key's name.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
}

#[derive(Subcommand)]
enum RoleCommand {
    /// Create a custom role: rights within a scope (journaled).
    Add {
        /// 1 to 64 lowercase letters, digits, '.', '_' or '-'.
        name: String,
        /// The entries its entry rights reach, as a query (e.g. 'section:finance') [default:
        /// every entry].
        #[arg(long, default_value = "")]
        scope: String,
        /// Comma-separated rights: read, unmask, annotate, export, alerts, marks, accounts.
        #[arg(long = "can", required = true)]
        rights: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// List the roles, built in and custom, with their rights and scopes.
    List {
        #[command(flatten)]
        db: Database,
    },
    /// Remove a custom role nobody holds (journaled).
    Remove {
        /// The role.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print a commented vigil.toml.
    Example,
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    if let Err(e) = runtime.block_on(run(cli.command)) {
        eprintln!("vigil: {}", cli::one_line(&e));
        std::process::exit(1);
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            database,
            listen,
            config,
            token_ttl_hours,
        } => {
            let file = config
                .as_deref()
                .map(FileConfig::read)
                .transpose()?
                .unwrap_or_default();
            let mut settings = ServerConfig::default();
            if let Some(db) = database.or(file.database) {
                settings.database = config::database_path(&db)?;
            }
            if let Some(addr) = listen.or(file.listen) {
                settings.listen = addr.parse().with_context(|| {
                    format!("--listen {addr:?} is not an address like 127.0.0.1:7878")
                })?;
            }
            settings.alerts = file.alerts.unwrap_or_default();
            settings.privacy = file.privacy.unwrap_or_default();
            if let Some(h) = token_ttl_hours.or(file.token_ttl_hours) {
                anyhow::ensure!(
                    (1..=8760).contains(&h),
                    "token_ttl_hours must be 1 to 8760 (a year), not {h}"
                );
                settings.token_ttl = chrono::Duration::hours(h.into());
            }
            serve(settings).await
        }
        Command::User(UserCommand::Add {
            name,
            roles,
            password_stdin,
            acting,
        }) => {
            let password = read_password(password_stdin)?;
            let (state, cap) = acting.open()?;
            cli::add_user(&state, &cap, &name, &roles, &password).await?;
            eprintln!("user {name:?} created with role(s) {}", roles.join(", "));
            Ok(())
        }
        Command::User(UserCommand::List { db }) => {
            print!("{}", cli::list_users(&open(&db)?).await?);
            Ok(())
        }
        Command::User(UserCommand::Roles {
            name,
            roles,
            acting,
        }) => {
            let (state, cap) = acting.open()?;
            cli::set_roles(&state, &cap, &name, &roles).await?;
            println!("{name:?} now has role(s) {}", roles.join(", "));
            Ok(())
        }
        Command::Role(RoleCommand::Add {
            name,
            scope,
            rights,
            acting,
        }) => {
            let (state, cap) = acting.open()?;
            let role = cli::add_role(&state, &cap, &name, &rights, &scope).await?;
            println!(
                "role {name:?} created: {} on {}",
                role.rights.join(","),
                if role.scope.is_empty() {
                    "every entry"
                } else {
                    &role.scope
                }
            );
            Ok(())
        }
        Command::Role(RoleCommand::List { db }) => {
            print!("{}", cli::list_roles(&open(&db)?).await?);
            Ok(())
        }
        Command::Role(RoleCommand::Remove { name, acting }) => {
            let (state, cap) = acting.open()?;
            cli::remove_role(&state, &cap, &name).await?;
            println!("role {name:?} removed");
            Ok(())
        }
        Command::User(UserCommand::Revoke { name, acting }) => {
            let (state, cap) = acting.open()?;
            let n = cli::revoke_user(&state, &cap, &name).await?;
            println!("revoked {n} session(s) of {name:?}");
            Ok(())
        }
        Command::User(UserCommand::Unlock { name, acting }) => {
            let (state, cap) = acting.open()?;
            let held = cli::unlock_user(&state, &cap, &name).await?;
            println!(
                "{}",
                match held {
                    true => format!("{name:?} may sign in again"),
                    false => format!("{name:?} was not locked"),
                }
            );
            Ok(())
        }
        Command::Key(KeyCommand::List { db }) => {
            let state = open(&db)?;
            print!("{}", cli::list_keys(&state).await?);
            Ok(())
        }
        Command::Key(KeyCommand::Revoke { name, acting }) => {
            let (state, cap) = acting.open()?;
            cli::revoke_key(&state, &cap, &name).await?;
            println!("ingest key {name:?} revoked");
            Ok(())
        }
        Command::Key(KeyCommand::Create { name, acting }) => {
            let (state, cap) = acting.open()?;
            let key = cli::create_key(&state, &cap, &name).await?;
            eprintln!("ingest key {name:?} created. It is shown once; send it as 'Authorization: Bearer <key>':");
            println!("{key}");
            Ok(())
        }
        Command::Demo {
            db,
            events,
            days,
            until,
            seed,
        } => {
            let until = cli::parse_until(until.as_deref())?;
            let state = open(&db)?;
            let on_terminal = std::io::stderr().is_terminal();
            let n = cli::demo(&state, events, seed, until, days, |done| {
                if on_terminal {
                    eprint!("\rdemo: {done}/{events} events");
                    let _ = std::io::stderr().flush();
                }
            })
            .await?;
            eprintln!("\rdemo: {n} events written to {}", db.path()?.display());
            Ok(())
        }
        Command::Verify { db } => {
            let path = db.path()?;
            anyhow::ensure!(path.exists(), "no journal at {}", path.display());
            let state = open(&db)?;
            let report = cli::verify(&state).await?;
            println!("{report}");
            Ok(())
        }
        Command::Export {
            db,
            q,
            format,
            out,
            tz,
            oldest_first,
            bom,
            by,
        } => {
            let path = db.path()?;
            anyhow::ensure!(path.exists(), "no journal at {}", path.display());
            let state = vigil_server::open(&ServerConfig {
                database: path,
                ..ServerConfig::default()
            })
            .map_err(|e| {
                if cli::one_line(&e).contains("in use by another vigil process") {
                    e.context(
                        "vigil export reads the search index: stop `vigil serve` on this journal \
                         first, or export through it (GET /v1/export, or Vigil Console's Export…)",
                    )
                } else {
                    e
                }
            })?;
            let args = cli::ExportArgs {
                q,
                format,
                tz,
                order: if oldest_first {
                    vigil_store::Order::Oldest
                } else {
                    vigil_store::Order::Newest
                },
                bom,
                out,
                by: by.unwrap_or_else(|| "unknown".into()),
            };
            let on_terminal = std::io::stderr().is_terminal();
            let about = cli::export(&state, &args, move |done, total| {
                if on_terminal {
                    eprint!("\rexport: {done}/{total} entries");
                    let _ = std::io::stderr().flush();
                }
            })
            .await?;
            eprintln!(
                "\rexport: {} ({}) written to {}; sha256 of the rows {}",
                about.summary,
                about.format,
                args.out.display(),
                about.sha256
            );
            if about.format.has_sidecar() {
                eprintln!("about: {}", cli::sidecar_path(&args.out).display());
            }
            Ok(())
        }
        Command::Alerts {
            database,
            config,
            by,
            command,
        } => {
            let file = config
                .as_deref()
                .map(FileConfig::read)
                .transpose()?
                .unwrap_or_default();
            let mut settings = ServerConfig {
                alerts: file.alerts.unwrap_or_default(),
                ..ServerConfig::default()
            };
            if let Some(db) = database.or(file.database) {
                settings.database = config::database_path(&db)?;
            }
            if let Some(addr) = file.listen {
                settings.listen = addr.parse().with_context(|| {
                    format!("listen {addr:?} is not an address like 127.0.0.1:7878")
                })?;
            }
            anyhow::ensure!(
                settings.database.exists(),
                "no journal at {}",
                settings.database.display()
            );
            let state = vigil_server::open_journal(&settings)?;
            let by = by.unwrap_or_else(|| "unknown".into());
            let out = vigil_server::alerts::cli::run(&state, &by, command).await?;
            print!("{out}");
            Ok(())
        }
        Command::Marks {
            database,
            by,
            command,
        } => {
            let mut settings = ServerConfig::default();
            if let Some(db) = database {
                settings.database = config::database_path(&db)?;
            }
            anyhow::ensure!(
                settings.database.exists(),
                "no journal at {}",
                settings.database.display()
            );
            let state = vigil_server::open_journal(&settings)?;
            let by = by.unwrap_or_else(|| "unknown".into());
            let out = vigil_server::notes::cli::run(&state, &by, command).await?;
            print!("{out}");
            Ok(())
        }
        Command::Config(ConfigCommand::Example) => {
            print!("{}", config::EXAMPLE);
            Ok(())
        }
    }
}

fn open(db: &Database) -> anyhow::Result<AppState> {
    let settings = ServerConfig {
        database: db.path()?,
        ..ServerConfig::default()
    };
    vigil_server::open_journal(&settings)
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("reading the password from standard input")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_owned());
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: pass --password-stdin and send it on standard input");
    }
    let first = rpassword::prompt_password("Password: ").context("reading the password")?;
    let again = rpassword::prompt_password("Again: ").context("reading the password")?;
    anyhow::ensure!(
        first == again,
        "the two passwords differ; nothing was created"
    );
    Ok(first)
}

async fn serve(settings: ServerConfig) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let state = vigil_server::open(&settings)?;
    let alerts = vigil_server::alerts::check_setup(&state).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let shutdown = shutdown_signal()?;
    let events = cli::event_count(&state).await?;
    eprintln!(
        "vigil {} listening on http://{} (journal {}, {events} events)",
        env!("CARGO_PKG_VERSION"),
        listener.local_addr()?,
        settings.database.display()
    );
    eprintln!("{alerts}");
    if state.store.count_users().await? == 0 {
        eprintln!(
            "No users yet. Create the first admin with:\n  vigil user add NAME --role admin --database {}",
            settings.database.display()
        );
    }
    let journal = state.clone();
    vigil_server::journal_lifecycle(&journal, "vigil.start", &settings).await?;
    let served = vigil_server::serve(state, listener, shutdown)
        .await
        .context("serving");
    vigil_server::journal_lifecycle(&journal, "vigil.stop", &settings).await?;
    served?;
    eprintln!("vigil stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal right after the "listening" line is not missed.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}
