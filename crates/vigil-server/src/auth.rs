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

/// A signed-in user with a valid session: may read.
#[derive(Debug, Clone)]
pub struct Reader {
    /// Who.
    pub user: User,
    /// The session's token hash (for sign-out).
    pub token_hash: Vec<u8>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
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
        Ok(Reader {
            user: session.user,
            token_hash,
            expires_at: session.expires_at,
        })
    }
}

/// A signed-in user with the admin role: may manage alerts and the marks catalog (and, later,
/// users and roles).
#[derive(Debug, Clone)]
pub struct Admin(pub Reader);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let reader = Reader::from_request_parts(parts, state).await?;
        if !reader.user.roles.iter().any(|r| r == "admin") {
            return Err(ApiError::forbidden(format!(
                "this needs the admin role; {:?} has {}",
                reader.user.name,
                reader.user.roles.join(", ")
            )));
        }
        Ok(Admin(reader))
    }
}

/// The roles that may annotate, open incidents, pin entries and write notes.
pub const ANNOTATING_ROLES: [&str; 3] = ["admin", "auditor", "investigator"];

/// A signed-in user who may annotate (roles admin, auditor, investigator; not viewer).
#[derive(Debug, Clone)]
pub struct Annotator(pub Reader);

impl FromRequestParts<AppState> for Annotator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let reader = Reader::from_request_parts(parts, state).await?;
        if !reader
            .user
            .roles
            .iter()
            .any(|r| ANNOTATING_ROLES.contains(&r.as_str()))
        {
            return Err(ApiError::forbidden(format!(
                "annotating needs the investigator, auditor or admin role; {:?} has {}",
                reader.user.name,
                reader.user.roles.join(", ")
            )));
        }
        Ok(Annotator(reader))
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
