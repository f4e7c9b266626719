//! `vigil role …`: custom roles (rights within a scope) beside the built-in ones.

use clap::Subcommand;
use vigil_api::{NewRoleRequest, RoleInfo};

use super::{width, Acting, Database};
use crate::service::accounts;
use crate::service::caller::AccountsAdmin;

#[derive(Subcommand)]
pub(super) enum RoleCommand {
    /// Create a custom role: rights within a scope (journaled).
    Add {
        /// 1 to 64 lowercase letters, digits, '.', '_' or '-'.
        name: String,
        /// The entries its entry rights reach, as a query (e.g. 'section:finance') [default:
        /// every entry].
        #[arg(long, default_value = "")]
        scope: String,
        /// Comma-separated rights: read, unmask, annotate, review, export, alerts, marks,
        /// accounts.
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

impl RoleCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            RoleCommand::Add {
                name,
                scope,
                rights,
                acting,
            } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                let role = NewRoleRequest {
                    name: name.clone(),
                    rights: vec![rights],
                    scope,
                };
                let role = accounts::add_role(&state, &admin, role).await?;
                println!(
                    "role {name:?} created: {} on {}",
                    role.rights.join(","),
                    if role.scope.is_empty() {
                        "every entry"
                    } else {
                        &role.scope
                    }
                );
            }
            RoleCommand::List { db } => {
                let (state, admin) = Acting { by: None, db }.open::<AccountsAdmin>()?;
                print!("{}", table(accounts::roles(&state, &admin).await?));
            }
            RoleCommand::Remove { name, acting } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                accounts::remove_role(&state, &admin, &name).await?;
                println!("role {name:?} removed");
            }
        }
        Ok(())
    }
}

/// The roles as a table: name, rights, scope.
fn table(roles: Vec<RoleInfo>) -> String {
    let width = width(roles.iter().map(|r| r.name.as_str()), 4);
    let mut out = format!("{:width$}  {:40}  SCOPE\n", "NAME", "RIGHTS");
    for r in roles {
        let scope = match (r.builtin, r.scope.is_empty()) {
            (true, _) => "every entry (built in)".to_owned(),
            (false, true) => "every entry".to_owned(),
            (false, false) => r.scope,
        };
        out.push_str(&format!(
            "{:width$}  {:40}  {scope}\n",
            r.name,
            r.rights.join(",")
        ));
    }
    out
}
