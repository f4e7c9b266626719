//! `vigil key …`: the ingest keys back offices send events with.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use vigil_api::KeyInfo;

use super::users::doing;
use super::{width, Acting, Database};
use crate::service::accounts;
use crate::service::caller::AccountsAdmin;

#[derive(Subcommand)]
pub(super) enum KeyCommand {
    /// Create an ingest key; it is printed once, on the last line, and stored only as a hash
    /// (journaled).
    Create {
        /// The sending system's name, e.g. backoffice.
        name: String,
        /// The only section it may send events under (repeat for several); without it, any
        /// section.
        #[arg(long = "section", value_name = "SECTION")]
        sections: Vec<String>,
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

impl KeyCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            KeyCommand::Create {
                name,
                sections,
                acting,
            } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                let created = accounts::create_key(&state, &admin, &name, &sections)
                    .await
                    .map_err(|e| doing(e, "creating the ingest key"))?;
                eprintln!("ingest key {name:?} created. It is shown once; send it as 'Authorization: Bearer <key>':");
                println!("{}", created.key);
            }
            KeyCommand::List { db } => {
                let (state, admin) = Acting { by: None, db }.open::<AccountsAdmin>()?;
                print!("{}", table(&accounts::keys(&state, &admin).await?));
            }
            KeyCommand::Revoke { name, acting } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                accounts::revoke_key(&state, &admin, &name).await?;
                println!("ingest key {name:?} revoked");
            }
        }
        Ok(())
    }
}

/// The ingest keys as a table: name, created, revoked.
fn table(keys: &[KeyInfo]) -> String {
    let width = width(keys.iter().map(|k| k.name.as_str()), 4);
    let time = |t: &DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = format!(
        "{:width$}  {:23}  {:23}  SECTIONS\n",
        "NAME", "CREATED", "REVOKED"
    );
    for k in keys {
        out.push_str(&format!(
            "{:width$}  {:23}  {:23}  {}\n",
            k.name,
            time(&k.created_at),
            k.revoked_at.as_ref().map_or("-".to_owned(), time),
            if k.sections.is_empty() {
                "any".to_owned()
            } else {
                k.sections.join(",")
            }
        ));
    }
    out
}
