//! The admin screens' calls: users and roles, for those whose roles grant the `accounts`
//! right (the store refuses the others, and the console says why). They need the store: there
//! is no offline copy of accounts.

use serde::{Deserialize, Serialize};
use vigil_api::UserSummary;
use vigil_api::{NewRoleRequest, NewUserRequest, RoleInfo};

use crate::console::Console;
use crate::error::UiError;

/// The users and roles, as the admin screen shows them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accounts {
    /// Every user, by name.
    pub users: Vec<UserSummary>,
    /// Built-in roles, then custom ones.
    pub roles: Vec<RoleInfo>,
}

impl Console {
    async fn online<T>(&self, result: Result<T, vigil_client::ClientError>) -> Result<T, UiError> {
        self.reach(result).await?.ok_or_else(|| {
            UiError::new(
                "offline",
                "Users and roles are managed on the store, which cannot be reached now.",
            )
        })
    }

    /// The senders, with what they sent and the numbers of theirs that never arrived (for
    /// readers of the whole journal and account admins; the store refuses the others).
    pub async fn senders(&self) -> Result<Vec<vigil_api::SenderReport>, UiError> {
        let client = self.client()?;
        self.reach(client.senders().await).await?.ok_or_else(|| {
            UiError::new(
                "offline",
                "The senders are listed by the store, which cannot be reached now.",
            )
        })
    }

    /// Users and roles.
    pub async fn accounts(&self) -> Result<Accounts, UiError> {
        let client = self.client()?;
        let users = self.online(client.users().await).await?;
        let roles = self.online(client.roles().await).await?;
        Ok(Accounts { users, roles })
    }

    /// Creates a user.
    pub async fn add_user(
        &self,
        name: &str,
        password: &str,
        roles: Vec<String>,
    ) -> Result<Accounts, UiError> {
        let client = self.client()?;
        let request = NewUserRequest {
            name: name.trim().to_owned(),
            password: password.to_owned(),
            roles,
        };
        self.online(client.add_user(&request).await).await?;
        self.accounts().await
    }

    /// Gives a user these roles in place of theirs.
    pub async fn set_roles(&self, name: &str, roles: Vec<String>) -> Result<Accounts, UiError> {
        let client = self.client()?;
        self.online(client.set_roles(name, &roles).await).await?;
        self.accounts().await
    }

    /// Ends a user's sessions.
    pub async fn revoke_user(&self, name: &str) -> Result<Accounts, UiError> {
        let client = self.client()?;
        self.online(client.revoke_user(name).await).await?;
        self.accounts().await
    }

    /// Disables a user (they cannot sign in; their sessions end) or enables them again.
    pub async fn set_disabled(&self, name: &str, disable: bool) -> Result<Accounts, UiError> {
        let client = self.client()?;
        let changed = if disable {
            client.disable_user(name).await
        } else {
            client.enable_user(name).await
        };
        self.online(changed).await?;
        self.accounts().await
    }

    /// Creates a custom role.
    pub async fn add_role(
        &self,
        name: &str,
        rights: Vec<String>,
        scope: &str,
    ) -> Result<Accounts, UiError> {
        let client = self.client()?;
        let request = NewRoleRequest {
            name: name.trim().to_owned(),
            rights,
            scope: scope.trim().to_owned(),
        };
        self.online(client.add_role(&request).await).await?;
        self.accounts().await
    }

    /// Removes a custom role nobody holds.
    pub async fn remove_role(&self, name: &str) -> Result<Accounts, UiError> {
        let client = self.client()?;
        self.online(client.remove_role(name).await).await?;
        self.accounts().await
    }
}
