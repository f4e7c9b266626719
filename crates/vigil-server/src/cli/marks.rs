//! `vigil marks …`: the marks catalog from the command line. Works beside a running server;
//! every change is journaled with `--by` (default: the login name) as the actor.

use clap::{Args, Subcommand};
use vigil_api::MarkRequest;

use super::operator;
use crate::config::{self, ServerConfig};
use crate::service::annotations;
use crate::service::caller::{CanRead, MarksAdmin};
use crate::state::AppState;

#[derive(Args)]
pub(super) struct MarksArgs {
    /// The journal: sqlite://PATH or a file path [default: ./vigil-data/vigil.db].
    #[arg(long, env = "VIGIL_DATABASE", global = true)]
    database: Option<String>,
    /// Who is acting, as recorded in the journal [default: the login name].
    #[arg(long, env = "USER", global = true)]
    by: Option<String>,
    #[command(subcommand)]
    command: MarksCommand,
}

impl MarksArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let mut settings = ServerConfig::default();
        if let Some(db) = self.database {
            settings.database = config::database_path(&db)?;
        }
        anyhow::ensure!(
            settings.database.exists(),
            "no journal at {}",
            settings.database.display()
        );
        let state = crate::open_journal(&settings)?;
        print!("{}", run(&state, self.by.as_deref(), self.command).await?);
        Ok(())
    }
}

/// `vigil marks …`
#[derive(Subcommand)]
enum MarksCommand {
    /// List the marks: key, colour, French and English labels.
    List,
    /// Add a mark.
    Add {
        /// What queries use (`mark:KEY`): a-z, 0-9 and -, starting with a letter.
        key: String,
        /// The French label.
        #[arg(long)]
        fr: String,
        /// The English label.
        #[arg(long)]
        en: String,
        /// The colour, #rrggbb.
        #[arg(long)]
        colour: String,
    },
    /// Change a mark's labels or colour (its key stays).
    Set {
        /// The mark's key.
        key: String,
        /// The French label.
        #[arg(long)]
        fr: Option<String>,
        /// The English label.
        #[arg(long)]
        en: Option<String>,
        /// The colour, #rrggbb.
        #[arg(long)]
        colour: Option<String>,
    },
    /// Remove a mark that no annotation uses.
    Remove {
        /// The mark's key.
        key: String,
    },
}

/// Runs a `vigil marks` command; what to print on success.
async fn run(state: &AppState, by: Option<&str>, command: MarksCommand) -> anyhow::Result<String> {
    match command {
        MarksCommand::List => {
            let reader: CanRead = operator(by)?;
            let marks = annotations::marks(state, &reader).await?.marks;
            let width = marks
                .iter()
                .map(|m| m.key.chars().count())
                .max()
                .unwrap_or(3)
                .max(3);
            let mut out = format!("{:width$}  {:7}  {}\n", "KEY", "COLOUR", "LABELS (FR / EN)");
            for m in marks {
                out.push_str(&format!(
                    "{:width$}  {:7}  {} / {}\n",
                    m.key, m.colour, m.label_fr, m.label_en
                ));
            }
            Ok(out)
        }
        MarksCommand::Add {
            key,
            fr,
            en,
            colour,
        } => {
            let request = MarkRequest {
                key: Some(key),
                label_fr: Some(fr),
                label_en: Some(en),
                colour: Some(colour),
            };
            let admin: MarksAdmin = operator(by)?;
            let m = annotations::add_mark(state, &admin, request).await?;
            Ok(format!(
                "added mark {} ({} / {}, {})\n",
                m.key, m.label_fr, m.label_en, m.colour
            ))
        }
        MarksCommand::Set {
            key,
            fr,
            en,
            colour,
        } => {
            anyhow::ensure!(
                fr.is_some() || en.is_some() || colour.is_some(),
                "nothing to change: give --fr, --en or --colour"
            );
            let request = MarkRequest {
                key: None,
                label_fr: fr,
                label_en: en,
                colour,
            };
            let admin: MarksAdmin = operator(by)?;
            let m = annotations::update_mark(state, &admin, &key, request).await?;
            Ok(format!(
                "mark {} is now {} / {}, {}\n",
                m.key, m.label_fr, m.label_en, m.colour
            ))
        }
        MarksCommand::Remove { key } => {
            let admin: MarksAdmin = operator(by)?;
            annotations::remove_mark(state, &admin, &key).await?;
            Ok(format!("removed mark {key}\n"))
        }
    }
}
