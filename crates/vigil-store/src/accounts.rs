//! Accounts: users, custom roles, sessions, ingest keys and sign-in locks. Every change is
//! written with the journal entry that tells of it, in one transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vigil_core::Event;

use crate::{StoreError, UserSummary};

/// The accounts part of a store.
#[async_trait]
pub trait AccountStore: Send + Sync + 'static {
    /// How many users exist (the first start tells how to create the first admin).
    async fn count_users(&self) -> Result<u64, StoreError>;

    /// A user by name.
    async fn user(&self, name: &str) -> Result<User, StoreError>;

    /// A session by token hash, with its user.
    async fn session(&self, token_hash: &[u8]) -> Result<Session, StoreError>;

    /// Revokes a session (signing out), with `journal`, in one transaction.
    async fn revoke_session(
        &self,
        token_hash: &[u8],
        at: DateTime<Utc>,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// Changes users, roles or ingest keys, with `journal` (the entry that tells of it), in
    /// one transaction.
    async fn change_accounts(
        &self,
        change: AccountChange,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// Every user, by name.
    async fn users(&self, at: DateTime<Utc>) -> Result<Vec<UserSummary>, StoreError>;

    /// Every custom role, by name.
    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError>;

    /// An ingest key by hash.
    async fn key(&self, key_hash: &[u8]) -> Result<IngestKey, StoreError>;

    /// Every ingest key, by name.
    async fn ingest_keys(&self) -> Result<Vec<IngestKey>, StoreError>;

    /// Revokes an ingest key, with `journal` (the entry that tells of it), in one transaction;
    /// `NotFound` if there is none by that name, `Conflict` if it is already revoked.
    async fn revoke_key(
        &self,
        name: &str,
        at: DateTime<Utc>,
        journal: Event,
    ) -> Result<(), StoreError>;

    /// Revokes every live session of a user, with `journal`, in one transaction: how many;
    /// `NotFound` if there is no such user.
    async fn revoke_user_sessions(
        &self,
        name: &str,
        at: DateTime<Utc>,
        journal: Event,
    ) -> Result<u64, StoreError>;

    /// Records a failed sign-in for `name` with its journal entry; when `policy` says so, locks
    /// the name and appends `lockout` too, all in one transaction.
    async fn sign_in_failed(
        &self,
        name: &str,
        at: DateTime<Utc>,
        policy: LockoutPolicy,
        journal: Event,
        lockout: Event,
    ) -> Result<Lockout, StoreError>;

    /// When the name's lock ends, if one holds at `at`.
    async fn locked_until(
        &self,
        name: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// A good password for `name`: if a lock holds at `at` (set by failures checked at the same
    /// time), when it ends, and nothing changes; else its failures are forgotten, `session` is
    /// recorded and `journal` appended, in one transaction, and `None`.
    async fn sign_in_succeeded(
        &self,
        name: &str,
        at: DateTime<Utc>,
        session: NewSession,
        journal: Event,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Lifts a name's lock and forgets its failures, appending `journal` if a lock held, in
    /// one transaction: whether one held.
    async fn unlock_sign_in(
        &self,
        name: &str,
        at: DateTime<Utc>,
        journal: Event,
    ) -> Result<bool, StoreError>;
}

/// A user to create. `Debug` does not show the password hash.
#[derive(Clone)]
pub struct NewUser {
    /// Login name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// A stored user. `Debug` does not show the password hash.
#[derive(Clone, PartialEq)]
pub struct User {
    /// Login name.
    pub name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Role names.
    pub roles: Vec<String>,
    /// When an admin disabled the account, if it is disabled: it cannot sign in, and its
    /// sessions ended then.
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A session to record.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Whose.
    pub user: String,
    /// When.
    pub created_at: DateTime<Utc>,
    /// Until when.
    pub expires_at: DateTime<Utc>,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Whose.
    pub user: User,
    /// Until when.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

/// An ingest key to record.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// Its name (the sending system).
    pub name: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// The sections it may send events under; empty: any section.
    pub sections: Vec<String>,
}

/// A stored ingest key.
#[derive(Debug, Clone, PartialEq)]
pub struct IngestKey {
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// The sections it may send events under; empty: any section.
    pub sections: Vec<String>,
}

/// A custom role as stored (the built-in ones are not stored: see `vigil_core::rights`).
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRecord {
    /// Its name.
    pub name: String,
    /// The names of its rights.
    pub rights: Vec<String>,
    /// Its scope, in the query language (empty: every entry).
    pub scope: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// A change to users, roles or ingest keys; the store checks that the roles it names exist
/// (built in or stored).
#[derive(Debug, Clone)]
pub enum AccountChange {
    /// A new user: `Conflict` if the name is taken, `Invalid` (field `roles`) for no role or an
    /// unknown one.
    AddUser(NewUser),
    /// A user's roles: `NotFound` for an unknown user, `Invalid` (field `roles`) for no role or
    /// an unknown one.
    SetRoles {
        /// Whose.
        name: String,
        /// The roles from now on.
        roles: Vec<String>,
    },
    /// A new custom role: `Conflict` if the name is taken (built-in names included).
    AddRole(RoleRecord),
    /// Removes a custom role: `NotFound` if there is none, `Conflict` while a user has it.
    RemoveRole(String),
    /// A new ingest key: `Conflict` if the name is taken.
    AddKey(NewKey),
    /// A user's new password: `NotFound` for an unknown user. Every live session of theirs
    /// ends at `at`, except `keep` (the one that changed its own password).
    SetPassword {
        /// Whose.
        name: String,
        /// Argon2id PHC string.
        password_hash: String,
        /// When.
        at: DateTime<Utc>,
        /// The session that goes on (by token hash).
        keep: Option<Vec<u8>>,
    },
    /// Disables a user (`Some`: from then on; every live session ends then) or enables them
    /// again (`None`): `NotFound` for an unknown user, `Conflict` when already so.
    SetDisabled {
        /// Whose.
        name: String,
        /// Since when, or `None` to enable.
        disabled_at: Option<DateTime<Utc>>,
    },
}

/// When repeated failed sign-ins lock a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// This many failures…
    pub failures: u32,
    /// …within this long lock the name…
    pub window: chrono::Duration,
    /// …for this long.
    pub lock_for: chrono::Duration,
}

/// What a failed sign-in led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Failures within the policy's window, this one included.
    pub failures: u32,
    /// The name is locked until then (set by this failure when `locked_now`).
    pub locked_until: Option<DateTime<Utc>>,
    /// This failure locked the name.
    pub locked_now: bool,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("created_at", &self.created_at)
            .finish()
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password_hash", &"<redacted>")
            .field("roles", &self.roles)
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_password_hashes() {
        let u = User {
            name: "alice".into(),
            password_hash: "$argon2id$secret".into(),
            roles: vec![],
            disabled_at: None,
        };
        assert!(!format!("{u:?}").contains("secret"));
    }
}
