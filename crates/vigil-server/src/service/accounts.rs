//! Users, custom roles and ingest keys: the `accounts` right. Every change is journaled in
//! section `vigil` with whoever made it as actor, in the same transaction as the change.

use serde_json::json;
use vigil_api::{
    KeyCreated, KeyInfo, NewRoleRequest, NewUserRequest, Revoked, RoleInfo, Unlocked, UserSummary,
};
use vigil_core::{rights, Kind};
use vigil_store::{AccountChange, NewKey, NewUser, RoleRecord, StoreError};

use super::caller::{grants_of, AccountsAdmin};
use super::credentials::{self, KEY_PREFIX};
use super::{Fault, OwnEntry, Refusal};
use crate::state::AppState;

/// Why a change to accounts was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A bad name, password, right or key name; `field` when it names one.
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// The field.
        field: Option<&'static str>,
    },
    /// A role that is neither built in nor stored.
    #[error("{0}")]
    UnknownRole(String),
    /// A role's scope that is not a query.
    #[error("scope: {error}")]
    BadScope {
        /// The parser's error.
        error: vigil_core::QueryError,
    },
    /// The change would leave nobody able to manage accounts.
    #[error("{0}")]
    LastAccountManager(String),
    /// The store refused (a taken name, nothing by that name) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for AccountError {
    fn fault(&self) -> Fault {
        match self {
            AccountError::Invalid { .. }
            | AccountError::UnknownRole(_)
            | AccountError::BadScope { .. } => Fault::Invalid,
            AccountError::LastAccountManager(_) => Fault::Conflict,
            AccountError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            AccountError::Invalid { .. } => "invalid",
            AccountError::UnknownRole(_) => "unknown_role",
            AccountError::BadScope { .. } => "bad_query",
            AccountError::LastAccountManager(_) => "conflict",
            AccountError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            AccountError::Invalid { field, .. } => *field,
            AccountError::UnknownRole(_) => Some("roles"),
            AccountError::BadScope { .. } => Some("scope"),
            AccountError::Store(e) => e.field(),
            _ => None,
        }
    }

    fn column(&self) -> Option<usize> {
        match self {
            AccountError::BadScope { error } => Some(error.column),
            _ => None,
        }
    }
}

impl AccountError {
    /// Whether the store refused or failed (rather than the input being checked first): the
    /// command line says what it was doing then.
    pub fn from_store(&self) -> bool {
        matches!(self, AccountError::Store(_) | AccountError::UnknownRole(_))
    }
}

fn invalid(message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        message: message.into(),
        field: None,
    }
}

/// Checks a user name: 1 to 64 letters, digits, `.`, `_`, `-` or `@`.
pub fn check_user_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.chars().count() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "user name {name:?} must be 1 to 64 letters, digits, '.', '_', '-' or '@'"
        ))
    }
}

/// The roles in the order given, each once.
fn distinct(roles: &[String]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    roles
        .iter()
        .filter(|r| seen.insert(r.as_str()))
        .cloned()
        .collect()
}

/// The store checks that a user is given at least one role and that each exists: given some,
/// its refusal of the roles names one that does not.
fn roles_refused(roles: &[String]) -> impl Fn(StoreError) -> AccountError + '_ {
    move |e| match e {
        StoreError::Invalid {
            message,
            field: Some("roles"),
        } if !roles.is_empty() => AccountError::UnknownRole(message),
        other => other.into(),
    }
}

/// Makes an account change with the entry that tells of it, and wakes the live tails.
async fn change(
    state: &AppState,
    change: AccountChange,
    journal: vigil_core::Event,
) -> Result<(), StoreError> {
    state.store.change_accounts(change, journal).await?;
    state.wake().await;
    Ok(())
}

/// An entry about accounts by the admin, on the `target_type` named `id`.
fn entry(
    state: &AppState,
    admin: &AccountsAdmin,
    action: &str,
    kind: Kind,
    target_type: &str,
    id: &str,
) -> OwnEntry {
    OwnEntry::by_staff(state.now(), &admin.name, action, kind)
        .on(target_type, id, None)
        .from_client(&admin.client)
}

/// Refuses to take the accounts right from the last user who has it: nobody could then manage
/// users from the console or the API.
async fn keeps_an_account_manager(
    state: &AppState,
    name: &str,
    roles: &[String],
) -> Result<(), AccountError> {
    let manages = |g: &vigil_core::rights::Grants| g.accounts;
    if !manages(&grants_of(state, &state.store.user(name).await?.roles).await?)
        || manages(&grants_of(state, roles).await?)
    {
        return Ok(());
    }
    for other in state.store.users(state.now()).await? {
        if other.name != name
            && other.disabled_at.is_none()
            && manages(&grants_of(state, &other.roles).await?)
        {
            return Ok(());
        }
    }
    Err(AccountError::LastAccountManager(format!(
        "{name:?} is the last user who may manage users, roles and keys: give someone else \
         the admin role (or another role with the accounts right) first"
    )))
}

/// Every user: roles, live sessions, sign-in lock.
pub async fn users(
    state: &AppState,
    _admin: &AccountsAdmin,
) -> Result<Vec<UserSummary>, AccountError> {
    Ok(state.store.users(state.now()).await?)
}

async fn summary(state: &AppState, name: &str) -> Result<UserSummary, AccountError> {
    state
        .store
        .users(state.now())
        .await?
        .into_iter()
        .find(|u| u.name == name)
        .ok_or_else(|| StoreError::NotFound(format!("user {name:?}")).into())
}

/// Creates a user after checking the name, password rules and roles, journaled as
/// `user.create`.
pub async fn add_user(
    state: &AppState,
    admin: &AccountsAdmin,
    user: NewUserRequest,
) -> Result<UserSummary, AccountError> {
    check_user_name(&user.name).map_err(invalid)?;
    credentials::check_password_rules(&user.password).map_err(invalid)?;
    let roles = distinct(&user.roles);
    let password = user.password;
    let password_hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
        .await
        .map_err(StoreError::backend)?;
    let journal = entry(
        state,
        admin,
        "user.create",
        Kind::Rights,
        "user",
        &user.name,
    )
    .details(json!({"roles": roles}))
    .build();
    let new = NewUser {
        name: user.name.clone(),
        password_hash,
        roles,
        created_at: state.now(),
    };
    change(state, AccountChange::AddUser(new), journal)
        .await
        .map_err(roles_refused(&user.roles))?;
    summary(state, &user.name).await
}

/// Gives a user these roles in place of theirs, journaled as `user.roles` with the roles
/// before and after.
pub async fn set_roles(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
    roles: &[String],
) -> Result<UserSummary, AccountError> {
    let before = state.store.user(name).await?.roles;
    let given = roles;
    let roles = distinct(given);
    keeps_an_account_manager(state, name, &roles).await?;
    let journal = entry(state, admin, "user.roles", Kind::Rights, "user", name)
        .details(json!({}))
        .changes(vec![vigil_core::Change {
            field: "roles".into(),
            before: json!(before),
            after: json!(roles),
        }])
        .build();
    let set = AccountChange::SetRoles {
        name: name.into(),
        roles,
    };
    change(state, set, journal)
        .await
        .map_err(roles_refused(given))?;
    summary(state, name).await
}

/// Every role, built in and custom, with its rights and scope: the built-in ones first.
pub async fn roles(
    state: &AppState,
    _admin: &AccountsAdmin,
) -> Result<Vec<RoleInfo>, AccountError> {
    let mut out: Vec<_> = rights::BUILTIN
        .iter()
        .filter_map(|n| rights::builtin(n))
        .map(|r| RoleInfo {
            name: r.name,
            rights: r.rights.iter().map(|r| r.as_str().to_owned()).collect(),
            scope: String::new(),
            builtin: true,
        })
        .collect();
    out.extend(state.store.roles().await?.into_iter().map(|r| RoleInfo {
        name: r.name,
        rights: r.rights,
        scope: r.scope,
        builtin: false,
    }));
    Ok(out)
}

/// A role's scope: a query.
pub fn check_scope(scope: &str) -> Result<vigil_core::Query, AccountError> {
    scope
        .parse()
        .map_err(|error| AccountError::BadScope { error })
}

/// Creates a custom role after checking its name, rights (comma-separated in each item) and
/// scope, journaled as `role.create`.
pub async fn add_role(
    state: &AppState,
    admin: &AccountsAdmin,
    role: NewRoleRequest,
) -> Result<RoleInfo, AccountError> {
    rights::check_role_name(&role.name).map_err(invalid)?;
    let granted = rights::parse_rights(&role.rights.join(",")).map_err(invalid)?;
    let scope = check_scope(&role.scope)?;
    let record = RoleRecord {
        name: role.name.clone(),
        rights: granted.iter().map(|r| r.as_str().to_owned()).collect(),
        scope: scope.to_string(),
        created_at: state.now(),
    };
    let journal = entry(
        state,
        admin,
        "role.create",
        Kind::Rights,
        "role",
        &role.name,
    )
    .details(json!({"rights": record.rights, "scope": record.scope}))
    .build();
    change(state, AccountChange::AddRole(record.clone()), journal).await?;
    Ok(RoleInfo {
        name: record.name,
        rights: record.rights,
        scope: record.scope,
        builtin: false,
    })
}

/// Removes a custom role nobody holds, journaled as `role.delete`.
pub async fn remove_role(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
) -> Result<(), AccountError> {
    if rights::builtin(name).is_some() {
        return Err(invalid(format!(
            "{name:?} is a built-in role and cannot be removed"
        )));
    }
    let journal = entry(state, admin, "role.delete", Kind::Rights, "role", name)
        .details(json!({}))
        .build();
    change(state, AccountChange::RemoveRole(name.into()), journal).await?;
    Ok(())
}

/// Every ingest key (never the key itself).
pub async fn keys(state: &AppState, _admin: &AccountsAdmin) -> Result<Vec<KeyInfo>, AccountError> {
    Ok(state
        .store
        .ingest_keys()
        .await?
        .into_iter()
        .map(|k| KeyInfo {
            name: k.name,
            created_at: k.created_at,
            revoked_at: k.revoked_at,
            sections: k.sections,
        })
        .collect())
}

/// Creates an ingest key, returned once (the store keeps only its hash), journaled as
/// `key.create`.
pub async fn create_key(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
    sections: &[String],
) -> Result<KeyCreated, AccountError> {
    // Plain ASCII: a key's name is every entry's sender, and must not pass for another
    // (a Cyrillic 'і' in "vіgil", a space after "crm").
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if name.is_empty() || name.len() > 64 || !plain || !name.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(invalid(format!(
            "key name {name:?} must be 1 to 64 ASCII letters, digits, '.', '_' or '-', \
             starting with a letter or digit"
        )));
    }
    if name
        .to_ascii_lowercase()
        .starts_with(super::own_entry::SENDER)
    {
        return Err(invalid(format!(
            "key name {name:?}: names starting with \"vigil\" are the store's own senders \
             (its entries record \"vigil\" as their sender): choose another"
        )));
    }
    let mut limited: Vec<String> = Vec::with_capacity(sections.len());
    for s in sections {
        if !vigil_core::validate::is_name(s) || s.len() > vigil_core::validate::MAX_NAME {
            return Err(invalid(format!(
                "sections: {s:?} is not a section: lowercase letters, digits, '_' or '-', \
                 starting with a letter, at most {} bytes",
                vigil_core::validate::MAX_NAME
            )));
        }
        if s == super::own_entry::SECTION {
            return Err(invalid(
                "sections: \"vigil\" is Vigil's own journal; no key may send under it",
            ));
        }
        if !limited.contains(s) {
            limited.push(s.clone());
        }
    }
    let key = credentials::new_secret(KEY_PREFIX);
    let journal = entry(state, admin, "key.create", Kind::Rights, "ingest_key", name)
        .details(if limited.is_empty() {
            json!({})
        } else {
            json!({ "sections": limited })
        })
        .build();
    let new = NewKey {
        name: name.into(),
        key_hash: credentials::secret_hash(&key),
        created_at: state.now(),
        sections: limited,
    };
    change(state, AccountChange::AddKey(new), journal).await?;
    Ok(KeyCreated {
        name: name.into(),
        key,
    })
}

/// Ends every live session of a user, journaled as `user.revoke`: how many.
pub async fn revoke_user(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
) -> Result<Revoked, AccountError> {
    let now = state.now();
    let journal = entry(state, admin, "user.revoke", Kind::Change, "user", name)
        .details(json!({}))
        .build();
    let sessions = state.store.revoke_user_sessions(name, now, journal).await?;
    state.wake().await;
    Ok(Revoked { sessions })
}

/// Sets a user's password (the operator's `vigil user passwd`, for a forgotten or leaked one),
/// journaled as `user.password`: every session of theirs ends.
pub async fn set_password(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
    password: String,
) -> Result<(), AccountError> {
    credentials::check_password_rules(&password).map_err(|message| AccountError::Invalid {
        message,
        field: Some("password"),
    })?;
    state.store.user(name).await?;
    let password_hash = tokio::task::spawn_blocking(move || credentials::hash_password(&password))
        .await
        .map_err(StoreError::backend)?;
    let now = state.now();
    let journal = entry(state, admin, "user.password", Kind::Rights, "user", name)
        .details(json!({"sessions_ended": "all"}))
        .build();
    let set = AccountChange::SetPassword {
        name: name.into(),
        password_hash,
        at: now,
        keep: None,
    };
    change(state, set, journal).await?;
    Ok(())
}

/// Disables a user (`disable`) or enables them again, journaled as `user.disable` or
/// `user.enable`. A disabled user cannot sign in and their sessions end at once (live tails
/// within seconds). Nobody disables their own account or the last one that manages accounts.
pub async fn set_disabled(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
    disable: bool,
) -> Result<UserSummary, AccountError> {
    if disable && admin.name == name {
        return Err(invalid(
            "you cannot disable your own account: ask another admin (or sign out)",
        ));
    }
    state.store.user(name).await?;
    if disable {
        keeps_an_account_manager(state, name, &[]).await?;
    }
    let now = state.now();
    let action = if disable {
        "user.disable"
    } else {
        "user.enable"
    };
    let journal = entry(state, admin, action, Kind::Rights, "user", name)
        .details(json!({}))
        .build();
    let set = AccountChange::SetDisabled {
        name: name.into(),
        disabled_at: disable.then_some(now),
    };
    change(state, set, journal).await?;
    summary(state, name).await
}

/// Lifts a sign-in lock, journaled as `user.unlock` when one held: whether it did.
pub async fn unlock_user(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
) -> Result<Unlocked, AccountError> {
    let now = state.now();
    let journal = entry(state, admin, "user.unlock", Kind::Change, "user", name)
        .details(json!({}))
        .build();
    let was_locked = state.store.unlock_sign_in(name, now, journal).await?;
    state.wake().await;
    Ok(Unlocked { was_locked })
}

/// Revokes an ingest key, journaled as `key.revoke`.
pub async fn revoke_key(
    state: &AppState,
    admin: &AccountsAdmin,
    name: &str,
) -> Result<(), AccountError> {
    let now = state.now();
    let journal = entry(state, admin, "key.revoke", Kind::Change, "ingest_key", name)
        .details(json!({}))
        .build();
    state.store.revoke_key(name, now, journal).await?;
    state.wake().await;
    Ok(())
}
