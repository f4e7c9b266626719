//! `vigil user …`: create users, list them, change their roles, set a password, disable or
//! enable them, end their sessions, lift locks.

use clap::Subcommand;
use vigil_api::NewUserRequest;

use super::{read_password, width, Acting, Database};
use crate::service::accounts::{self, AccountError};
use crate::service::caller::AccountsAdmin;

#[derive(Subcommand)]
pub(super) enum UserCommand {
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
    /// Set a user's password (forgotten or leaked): every session of theirs ends (journaled).
    Passwd {
        /// Login name.
        name: String,
        /// Read the password from the first line of standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        acting: Acting,
    },
    /// Disable a user: they cannot sign in, and their sessions end at once (journaled).
    Disable {
        /// Login name.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
    /// Enable a disabled user again (journaled).
    Enable {
        /// Login name.
        name: String,
        #[command(flatten)]
        acting: Acting,
    },
}

impl UserCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            UserCommand::Add {
                name,
                roles,
                password_stdin,
                acting,
            } => {
                let password = read_password(password_stdin)?;
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                let user = NewUserRequest {
                    name: name.clone(),
                    password,
                    roles: roles.clone(),
                };
                accounts::add_user(&state, &admin, user)
                    .await
                    .map_err(|e| doing(e, "creating the user"))?;
                eprintln!("user {name:?} created with role(s) {}", roles.join(", "));
            }
            UserCommand::List { db } => {
                let (state, admin) = Acting { by: None, db }.open::<AccountsAdmin>()?;
                print!("{}", table(&accounts::users(&state, &admin).await?));
            }
            UserCommand::Roles {
                name,
                roles,
                acting,
            } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                accounts::set_roles(&state, &admin, &name, &roles).await?;
                println!("{name:?} now has role(s) {}", roles.join(", "));
            }
            UserCommand::Revoke { name, acting } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                let revoked = accounts::revoke_user(&state, &admin, &name).await?;
                println!("revoked {} session(s) of {name:?}", revoked.sessions);
            }
            UserCommand::Passwd {
                name,
                password_stdin,
                acting,
            } => {
                let password = read_password(password_stdin)?;
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                accounts::set_password(&state, &admin, &name, password)
                    .await
                    .map_err(|e| doing(e, "setting the password"))?;
                println!("{name:?} has a new password; their sessions ended");
            }
            UserCommand::Disable { name, acting } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                accounts::set_disabled(&state, &admin, &name, true)
                    .await
                    .map_err(|e| doing(e, "disabling the user"))?;
                println!("{name:?} is disabled: they cannot sign in, their sessions ended");
            }
            UserCommand::Enable { name, acting } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                accounts::set_disabled(&state, &admin, &name, false)
                    .await
                    .map_err(|e| doing(e, "enabling the user"))?;
                println!("{name:?} may sign in again");
            }
            UserCommand::Unlock { name, acting } => {
                let (state, admin) = acting.open::<AccountsAdmin>()?;
                let unlocked = accounts::unlock_user(&state, &admin, &name).await?;
                match unlocked.was_locked {
                    true => println!("{name:?} may sign in again"),
                    false => println!("{name:?} was not locked"),
                }
            }
        }
        Ok(())
    }
}

/// The store's refusals say what was being done; checks of the input speak for themselves.
pub(super) fn doing(e: AccountError, what: &'static str) -> anyhow::Error {
    if e.from_store() {
        anyhow::Error::new(e).context(what)
    } else {
        e.into()
    }
}

/// The users as a table: name, roles, live sessions, lock.
fn table(users: &[vigil_api::UserSummary]) -> String {
    let width = width(users.iter().map(|u| u.name.as_str()), 4);
    let mut out = format!(
        "{:width$}  {:30}  SESSIONS  {:23}  DISABLED SINCE\n",
        "NAME", "ROLES", "LOCKED UNTIL"
    );
    let time = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".to_owned(), |t| {
            t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
        })
    };
    for u in users {
        out.push_str(&format!(
            "{:width$}  {:30}  {:8}  {:23}  {}\n",
            u.name,
            u.roles.join(","),
            u.live_sessions,
            time(u.locked_until),
            time(u.disabled_at),
        ));
    }
    out
}
