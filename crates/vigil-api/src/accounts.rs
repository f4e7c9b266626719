//! Sessions, users, roles and ingest keys on the wire.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Credentials. `Debug` does not show the password.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Login {
    /// User name.
    pub name: String,
    /// Password.
    pub password: String,
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    /// User name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// The rights these roles grant (on some entries at least): `read`, `unmask`, `annotate`,
    /// `export`, `alerts`, `marks`, `accounts`.
    #[serde(default)]
    pub rights: Vec<String>,
}

/// A new session. `Debug` does not show the token.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginAnswer {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// When it stops working.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: DateTime<Utc>,
    /// Who.
    pub user: Me,
}

/// The signed-in user and the session's end.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MeAnswer {
    /// User name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// The rights these roles grant (on some entries at least).
    #[serde(default)]
    pub rights: Vec<String>,
    /// When the session ends.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: DateTime<Utc>,
}

/// A change of one's own password. `Debug` shows neither.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    pub old_password: String,
    /// The new one (at least 10 characters, no space at either end).
    #[cfg_attr(feature = "openapi", schema(min_length = 10))]
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("name", &self.name)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl std::fmt::Debug for LoginAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginAnswer")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("user", &self.user)
            .finish()
    }
}

/// A user as the admin screens list them (no password hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserSummary {
    /// Login name.
    pub name: String,
    /// Role names.
    pub roles: Vec<String>,
    /// When the user was created.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// Sessions that have not ended.
    pub live_sessions: u64,
    /// When a sign-in lock ends, if one holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub locked_until: Option<DateTime<Utc>>,
    /// When an admin disabled the account, if it is disabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub disabled_at: Option<DateTime<Utc>>,
}

/// A role, built in or custom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInfo {
    /// Its name.
    pub name: String,
    /// Its rights: `read`, `unmask`, `annotate`, `review`, `export`, `alerts`, `marks`,
    /// `accounts`.
    pub rights: Vec<String>,
    /// The entries its entry rights reach, in the query language (empty: every entry).
    pub scope: String,
    /// Built in (cannot be changed or removed).
    pub builtin: bool,
}

/// A new custom role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewRoleRequest {
    /// 1 to 64 lowercase letters, digits, `.`, `_` or `-`.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[a-z][a-z0-9._-]{0,63}$"))]
    pub name: String,
    /// At least one right.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub rights: Vec<String>,
    /// A query (empty or absent: every entry).
    #[serde(default)]
    pub scope: String,
}

/// A new user. `Debug` does not show the password.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    /// Login name.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// At least 10 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 10))]
    pub password: String,
    /// At least one role.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub roles: Vec<String>,
}

impl std::fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

/// A user's roles, from now on.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RolesRequest {
    /// At least one role.
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub roles: Vec<String>,
}

/// How many sessions a revocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Revoked {
    /// Sessions ended.
    pub sessions: u64,
}

/// Whether an unlock lifted a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Unlocked {
    /// A lock held and was lifted.
    pub was_locked: bool,
}

/// The name of a new ingest key.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewKeyRequest {
    /// The sending system, e.g. `backoffice`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 64))]
    pub name: String,
    /// The only sections it may send events under (events of other sections are refused
    /// with 403); absent or empty: any section.
    #[serde(default)]
    pub sections: Vec<String>,
}

/// A new ingest key, shown once. `Debug` does not show the key.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyCreated {
    /// Its name.
    pub name: String,
    /// The key: send as `Authorization: Bearer <key>`. Only its hash is stored.
    pub key: String,
}

impl std::fmt::Debug for KeyCreated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCreated")
            .field("name", &self.name)
            .field("key", &"<redacted>")
            .finish()
    }
}

/// An ingest key as listed (never the key itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyInfo {
    /// Its name.
    pub name: String,
    /// When it was created.
    #[serde(with = "vigil_core::event::micros")]
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: DateTime<Utc>,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<DateTime<Utc>>,
    /// The only sections it may send events under; empty: any section.
    #[serde(default)]
    pub sections: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_passwords_tokens_and_keys() {
        let login = Login {
            name: "alice".into(),
            password: "hunter2hunter2".into(),
        };
        assert!(!format!("{login:?}").contains("hunter2"));
        let user = NewUserRequest {
            name: "bob".into(),
            password: "hunter2hunter2".into(),
            roles: vec![],
        };
        assert!(!format!("{user:?}").contains("hunter2"));
        let key = KeyCreated {
            name: "backoffice".into(),
            key: "vik_secret".into(),
        };
        assert!(!format!("{key:?}").contains("vik_secret"));
    }
}
