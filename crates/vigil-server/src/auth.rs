//! Authentication: passwords (argon2id), session tokens and ingest keys (random, stored as
//! SHA-256), and the extractors that turn a bearer token into a caller.
//!
//! Tokens look like `vgl_…` (user sessions, can read) and keys like `vik_…` (ingest only).

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use vigil_core::rights::{self, Grants, Right, Role};
use vigil_store::{StoreError, User};

use crate::error::ApiError;
use crate::state::AppState;

/// Prefix of user session tokens.
pub const TOKEN_PREFIX: &str = "vgl_";
/// Prefix of ingest keys.
pub const KEY_PREFIX: &str = "vik_";
/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Five failed sign-ins within 15 minutes lock the name for 15 minutes.
pub const LOCKOUT: vigil_store::LockoutPolicy = vigil_store::LockoutPolicy {
    failures: 5,
    window: chrono::Duration::minutes(15),
    lock_for: chrono::Duration::minutes(15),
};

/// A new random secret with a prefix: 256 bits, base64url.
pub fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// What the store keeps of a token or key.
pub fn secret_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Checks the password rules; the message says what is missing.
pub fn check_password_rules(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password needs at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.trim() != password {
        return Err("the password must not start or end with a space".into());
    }
    Ok(())
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters hashes")
        .to_string()
}

/// Whether the password matches the PHC string. An unparsable hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to verify against when the user does not exist, so that both cases take as long.
pub fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password that matches nobody"))
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let value = parts.headers.get(header::AUTHORIZATION).ok_or_else(|| {
        ApiError::unauthorized("missing Authorization header: send 'Authorization: Bearer <token>'")
    })?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(ApiError::unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        )),
    }
}

/// A signed-in user with a valid session, and what their roles allow. Handlers take one of
/// the capabilities below, which check a right once; this alone only proves who is asking.
#[derive(Debug, Clone)]
pub struct Reader {
    /// Who.
    pub user: User,
    /// The session's token hash (for sign-out).
    pub token_hash: Vec<u8>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// What the user's roles allow, right by right.
    pub grants: Grants,
}

impl FromRequestParts<AppState> for Reader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if token.starts_with(KEY_PREFIX) {
            return Err(ApiError::forbidden(
                "ingest keys can only send events (POST /v1/events); sign in to read",
            ));
        }
        let token_hash = secret_hash(token);
        let session = match state.store.session(&token_hash).await {
            Ok(s) => s,
            Err(StoreError::NotFound(_)) => {
                return Err(ApiError::unauthorized("unknown token: sign in again"))
            }
            Err(e) => return Err(e.into()),
        };
        if let Some(at) = session.revoked_at {
            return Err(ApiError::unauthorized(format!(
                "token was revoked at {}: sign in again",
                vigil_core::event::micros::format(&at)
            )));
        }
        if session.expires_at <= state.now() {
            return Err(ApiError::unauthorized(format!(
                "token expired at {}: sign in again",
                vigil_core::event::micros::format(&session.expires_at)
            )));
        }
        let grants = grants_of(state, &session.user.roles).await?;
        Ok(Reader {
            user: session.user,
            token_hash,
            expires_at: session.expires_at,
            grants,
        })
    }
}

/// What a user's roles allow: built-in roles from the code, custom ones from the store (read
/// on each request, so that a change made by the CLI beside a running server holds at once).
pub async fn grants_of(state: &AppState, roles: &[String]) -> Result<Grants, ApiError> {
    let mut defined: Vec<Role> = roles.iter().filter_map(|r| rights::builtin(r)).collect();
    if defined.len() < roles.len() {
        for stored in state.store.roles().await? {
            if roles.contains(&stored.name) {
                defined.push(role_of(&stored)?);
            }
        }
    }
    Ok(Grants::of(&defined))
}

/// A stored role as rights and a scope.
pub fn role_of(stored: &vigil_store::RoleRecord) -> Result<Role, ApiError> {
    let scope = stored.scope.parse().map_err(|e| {
        ApiError::internal(format!(
            "role {:?} has a scope that does not parse: {e}",
            stored.name
        ))
    })?;
    let rights = stored.rights.iter().filter_map(|r| Right::parse(r));
    Ok(Role::new(&stored.name, rights, scope))
}

impl Reader {
    /// `query` limited to the entries this user may read.
    pub fn scoped(&self, query: vigil_core::Query) -> vigil_core::Query {
        self.grants.read.narrow(query)
    }

    /// The names of the rights held.
    pub fn rights(&self) -> Vec<String> {
        self.grants
            .rights()
            .iter()
            .map(|r| r.as_str().to_owned())
            .collect()
    }

    /// Refuses a query that would let a reader of masked data find a whole IP address by
    /// trying addresses (an `ip:` narrower than the /24 or /48 they see).
    pub fn check_query(&self, query: &vigil_core::Query) -> Result<(), ApiError> {
        if !self.grants.unmask.is_all() && rights::probes_ip(query) {
            return Err(ApiError::forbidden(
                "searching by an IP range narrower than /24 (IPv4) or /48 (IPv6) needs the \
                 unmask right: without it, addresses are shown masked",
            )
            .at_field("q"));
        }
        Ok(())
    }

    /// Whether the entry is one this user may read.
    pub fn may_read(&self, entry: &vigil_core::Annotated) -> bool {
        self.grants
            .read
            .contains(&entry.entry.event, &entry.notes())
    }

    /// Masks the personal data of the entries this user may not see unmasked.
    pub fn present(&self, state: &AppState, entries: &mut [vigil_core::Annotated]) {
        if self.grants.unmask.is_all() {
            return;
        }
        for e in entries {
            if !self.grants.unmask.contains(&e.entry.event, &e.notes()) {
                e.masked = rights::mask(&mut e.entry, &state.config.privacy.personal_fields);
            }
        }
    }
}

fn refuse(reader: &Reader, doing: &str, right: Right) -> ApiError {
    ApiError::forbidden(format!(
        "{doing} needs the {right} right, which none of {:?}'s roles ({}) grants",
        reader.user.name,
        reader.user.roles.join(", ")
    ))
}

/// Defines a capability: an extractor that yields the caller only if their roles grant a
/// right (on some entries, for the entry rights, whose scope the handler then applies).
macro_rules! capability {
    ($(#[$doc:meta])* $name:ident, $right:expr, $doing:literal, |$g:ident| $held:expr) => {
        $(#[$doc])*
        ///
        /// Only the extractor makes one (the field is private): holding it proves the check.
        #[derive(Debug, Clone)]
        pub struct $name(Reader);

        impl std::ops::Deref for $name {
            type Target = Reader;
            fn deref(&self) -> &Reader {
                &self.0
            }
        }

        impl $name {
            /// The caller, for what outlives the request (a live tail).
            pub fn into_reader(self) -> Reader {
                self.0
            }
        }

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, ApiError> {
                let reader = Reader::from_request_parts(parts, state).await?;
                let $g = &reader.grants;
                if !$held {
                    return Err(refuse(&reader, $doing, $right));
                }
                Ok($name(reader))
            }
        }
    };
}

capability!(
    /// May read entries (within the read scope).
    CanRead, Right::Read, "reading the journal", |g| !g.read.is_none()
);
capability!(
    /// May annotate, open incidents, pin entries and write notes (within the annotate scope).
    Annotator, Right::Annotate, "annotating", |g| !g.annotate.is_none()
);
capability!(
    /// May export entries (within the export scope).
    Exporter, Right::Export, "exporting", |g| !g.export.is_none() && !g.read.is_none()
);
capability!(
    /// May manage alert rules and channels.
    AlertsAdmin, Right::Alerts, "managing alerts", |g| g.alerts
);
capability!(
    /// May manage the marks catalog.
    MarksAdmin, Right::Marks, "managing the marks catalog", |g| g.marks
);
capability!(
    /// May manage users, roles and ingest keys.
    AccountsAdmin, Right::Accounts, "managing users, roles and keys", |g| g.accounts
);

/// The capability the account functions (`cli::add_user`, `cli::add_role`, …) require: they
/// cannot be called without it. It comes from the [`AccountsAdmin`] extractor (a signed-in user
/// whose roles grant `accounts`), or from the command line, whose operator can open the
/// database file anyway (that is how the first admin is made).
#[derive(Debug, Clone)]
pub struct ManageAccounts {
    by: String,
}

impl ManageAccounts {
    /// The operator of the command line, named as the journal will show them (`--by`).
    pub fn from_command_line(by: &str) -> Self {
        ManageAccounts { by: by.to_owned() }
    }

    /// Who acts, as the journal names them.
    pub fn by(&self) -> &str {
        &self.by
    }
}

impl AccountsAdmin {
    /// The capability to change accounts, as this user.
    pub fn capability(&self) -> ManageAccounts {
        ManageAccounts {
            by: self.0.user.name.clone(),
        }
    }
}

/// A sending system with a valid ingest key: may append events.
#[derive(Debug, Clone)]
pub struct Ingester {
    /// The key's name.
    pub key: String,
}

impl FromRequestParts<AppState> for Ingester {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts)?;
        if token.starts_with(TOKEN_PREFIX) {
            return Err(ApiError::forbidden(
                "user tokens cannot send events: use an ingest key (vigil key create NAME)",
            ));
        }
        match state.store.key(&secret_hash(token)).await {
            Ok(k) if k.revoked_at.is_some() => Err(ApiError::unauthorized(format!(
                "ingest key {:?} was revoked",
                k.name
            ))),
            Ok(k) => Ok(Ingester { key: k.name }),
            Err(StoreError::NotFound(_)) => Err(ApiError::unauthorized("unknown ingest key")),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("correct horse batterY", &h));
        assert!(!verify_password("anything", "not a phc string"));
    }

    #[test]
    fn secrets_are_random_and_prefixed() {
        let (a, b) = (new_secret(TOKEN_PREFIX), new_secret(TOKEN_PREFIX));
        assert!(a.starts_with("vgl_") && a.len() == 47 && a != b);
        assert_eq!(secret_hash(&a).len(), 32);
    }
}
