//! The `vigil` command line: one clap definition, one module per noun, each verb calling the
//! service layer (`crate::service`) as the command line's operator ([`Caller::operator`]: whoever
//! can open the database file) and printing what it answers. `main.rs` only calls [`main`].
//!
//! Errors print as one line, `vigil: <what> : <why>`, and exit with status 1.

mod alerts;
mod config;
mod demo;
mod export;
mod integrity;
mod keys;
mod marks;
mod roles;
mod senders;
mod serve;
mod users;
mod verify;

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};

use crate::config::{self as settings, ServerConfig};
use crate::service::caller::{Caller, Capability};
use crate::state::AppState;

pub use crate::service::one_line;

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

#[derive(Subcommand)]
enum Command {
    /// Run the audit store's HTTP API.
    Serve(serve::ServeArgs),
    /// Manage users.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Manage roles: the built-in ones and custom ones (rights within a scope).
    #[command(subcommand)]
    Role(roles::RoleCommand),
    /// Manage ingest keys (what back offices send events with).
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Fill an empty journal with realistic, deterministic casino back-office activity.
    Demo(demo::DemoArgs),
    /// Walk the hash chain, the Merkle tree and every signed checkpoint, and name what does not
    /// match. Exit 0 only if all verify.
    Verify(verify::VerifyArgs),
    /// The store's public key and its newest signed checkpoint.
    #[command(subcommand)]
    Integrity(integrity::IntegrityCommand),
    /// Export the entries matching a query to a file: csv, xlsx, json or ndjson. The export is
    /// recorded in the journal. Reads the journal directly: stop `vigil serve` on it first, or
    /// export through the running server (GET /v1/export, or Vigil Console).
    Export(export::ExportArgs),
    /// Alert channels, rules, test messages and the outbox's status. Works beside a running
    /// server; changes are journaled.
    Alerts(alerts::AlertsArgs),
    /// The marks catalog annotations use: list, add, change, remove. Works beside a running
    /// server; changes are journaled.
    Marks(marks::MarksArgs),
    /// Who sends, how much, and the numbers of theirs that never arrived (gaps in each
    /// sender's source_seq). Works beside a running server.
    Senders(senders::SendersArgs),
    /// Configuration helpers.
    #[command(subcommand)]
    Config(config::ConfigCommand),
}

/// Parses the command line, runs the verb, and on failure prints `vigil: …` and exits with 1.
pub fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    if let Err(e) = runtime.block_on(cli.command.run()) {
        eprintln!("vigil: {}", one_line(&e));
        std::process::exit(1);
    }
}

impl Command {
    async fn run(self) -> anyhow::Result<()> {
        match self {
            Command::Serve(args) => args.run().await,
            Command::User(command) => command.run().await,
            Command::Role(command) => command.run().await,
            Command::Key(command) => command.run().await,
            Command::Demo(args) => args.run().await,
            Command::Verify(args) => args.run().await,
            Command::Integrity(command) => command.run().await,
            Command::Export(args) => args.run().await,
            Command::Alerts(args) => args.run().await,
            Command::Marks(args) => args.run().await,
            Command::Senders(args) => args.run().await,
            Command::Config(command) => command.run(),
        }
    }
}

/// `--database`: which journal.
#[derive(Args, Clone)]
struct Database {
    /// The journal: sqlite://PATH or a file path.
    #[arg(long, env = "VIGIL_DATABASE", default_value = settings::DEFAULT_DATABASE)]
    database: String,
}

impl Database {
    fn path(&self) -> anyhow::Result<PathBuf> {
        settings::database_path(&self.database)
    }

    /// The journal, opened without the search index (so that the verb works beside a running
    /// server, which indexes what it appends).
    fn open(&self) -> anyhow::Result<AppState> {
        crate::open_journal(&ServerConfig {
            database: self.path()?,
            ..ServerConfig::default()
        })
    }

    /// The journal, opened to be read and never changed (`vigil verify`).
    fn open_read_only(&self) -> anyhow::Result<AppState> {
        crate::open_journal_read_only(&ServerConfig {
            database: self.path()?,
            ..ServerConfig::default()
        })
    }
}

/// Who acts, on which journal: the command line's operator, who can open the database file.
#[derive(Args, Clone)]
struct Acting {
    /// Who is acting, as recorded in the journal [default: the login name].
    #[arg(long, env = "USER")]
    by: Option<String>,
    #[command(flatten)]
    db: Database,
}

impl Acting {
    /// The journal, and the operator as the capability `C`, named as `--by`.
    fn open<C: Capability>(&self) -> anyhow::Result<(AppState, C)> {
        Ok((self.db.open()?, operator(self.by.as_deref())?))
    }
}

/// The operator (`--by`, default the login name) as the capability `C`: the command line
/// holds every right.
fn operator<C: Capability>(by: Option<&str>) -> anyhow::Result<C> {
    Ok(C::check(Caller::operator(by.unwrap_or("unknown")))?)
}

/// The first line of standard input (with `--password-stdin`), or the password typed twice at
/// a terminal.
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

/// A width for a table's first column: its longest value, at least `min`.
fn width<'a>(values: impl Iterator<Item = &'a str>, min: usize) -> usize {
    values
        .map(|v| v.chars().count())
        .max()
        .unwrap_or(min)
        .max(min)
}
