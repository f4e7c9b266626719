//! `vigil marks …`: the marks catalog from the command line. Works beside a running server;
//! every change is journaled with `--by` (default: the login name) as the actor.

use clap::Subcommand;

use super::MarkRequest;
use crate::error::ApiError;
use crate::journal::staff;
use crate::state::AppState;

/// `vigil marks …`
#[derive(Subcommand)]
pub enum MarksCommand {
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

fn cli_error(e: ApiError) -> anyhow::Error {
    anyhow::anyhow!(e.body.message)
}

/// Runs a `vigil marks` command; what to print on success.
pub async fn run(state: &AppState, by: &str, command: MarksCommand) -> anyhow::Result<String> {
    let actor = staff(by);
    match command {
        MarksCommand::List => {
            let marks = state.store.marks().await?;
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
            let m = super::add_mark(state, &actor, request)
                .await
                .map_err(cli_error)?;
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
            let m = super::update_mark(state, &actor, &key, request)
                .await
                .map_err(cli_error)?;
            Ok(format!(
                "mark {} is now {} / {}, {}\n",
                m.key, m.label_fr, m.label_en, m.colour
            ))
        }
        MarksCommand::Remove { key } => {
            super::remove_mark(state, &actor, &key)
                .await
                .map_err(cli_error)?;
            Ok(format!("removed mark {key}\n"))
        }
    }
}
