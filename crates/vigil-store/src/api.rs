//! The shapes of the HTTP API's requests and answers, shared by the server and vigil-client.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use vigil_core::Annotated;

use crate::Appended;

/// The answer to an ingest.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IngestAnswer {
    /// Events newly stored.
    pub accepted: usize,
    /// Events already stored (same id, same content): not stored again.
    pub duplicates: usize,
    /// One per event sent, in order.
    pub results: Vec<Appended>,
}

/// A page of entries.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventsPage {
    /// Entries in the requested order, with their annotations and incidents.
    pub events: Vec<Annotated>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

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

/// The store is up and its database answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Health {
    /// `ok`.
    pub status: String,
    /// Entries in the journal.
    pub events: u64,
    /// Entries the search index holds (it follows the journal; equal when caught up).
    pub indexed: Option<u64>,
    /// The server's version.
    pub version: String,
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

/// A role, built in or custom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleInfo {
    /// Its name.
    pub name: String,
    /// Its rights: `read`, `unmask`, `annotate`, `export`, `alerts`, `marks`, `accounts`.
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
    pub name: String,
    /// At least one right.
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
    pub name: String,
    /// At least 10 characters.
    pub password: String,
    /// At least one role.
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
    pub roles: Vec<String>,
}

/// A new ingest key, shown once.
#[derive(Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct KeyCreated {
    /// Its name.
    pub name: String,
    /// The key: send as `Authorization: Bearer <key>`. Only its hash is stored.
    pub key: String,
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
}
