//! Users, sessions and ingest keys.

use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use vigil_store::{IngestKey, NewKey, NewSession, NewUser, Session, StoreError, User};

use crate::sql::{from_micros, micros};

fn db(e: rusqlite::Error) -> StoreError {
    StoreError::backend(e)
}

/// A unique-constraint failure becomes a `Conflict` with `message`.
fn conflict_or_db(e: rusqlite::Error, message: String) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Conflict {
            message,
            index: None,
        },
        _ => db(e),
    }
}

fn roles(text: String) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub fn add_user(conn: &Connection, u: &NewUser) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO users (name, password_hash, roles, created_at) VALUES (?, ?, ?, ?)",
        params![
            u.name,
            u.password_hash,
            serde_json::to_string(&u.roles).expect("strings serialize"),
            micros(&u.created_at)
        ],
    )
    .map(drop)
    .map_err(|e| conflict_or_db(e, format!("user {:?} already exists", u.name)))
}

pub fn user(conn: &Connection, name: &str) -> Result<User, StoreError> {
    conn.query_row(
        "SELECT name, password_hash, roles FROM users WHERE name = ?",
        [name],
        |r| {
            Ok(User {
                name: r.get(0)?,
                password_hash: r.get(1)?,
                roles: roles(r.get(2)?)?,
            })
        },
    )
    .optional()
    .map_err(db)?
    .ok_or_else(|| StoreError::NotFound(format!("user {name:?}")))
}

pub fn add_session(conn: &Connection, s: &NewSession) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO sessions (token_hash, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)",
        params![
            s.token_hash,
            s.user,
            micros(&s.created_at),
            micros(&s.expires_at)
        ],
    )
    .map(drop)
    .map_err(|e| conflict_or_db(e, "session already exists".into()))
}

pub fn session(conn: &Connection, hash: &[u8]) -> Result<Session, StoreError> {
    conn.query_row(
        "SELECT u.name, u.password_hash, u.roles, s.expires_at, s.revoked_at \
         FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?",
        [hash],
        |r| {
            Ok(Session {
                user: User {
                    name: r.get(0)?,
                    password_hash: r.get(1)?,
                    roles: roles(r.get(2)?)?,
                },
                expires_at: from_micros(r.get(3)?),
                revoked_at: r.get::<_, Option<i64>>(4)?.map(from_micros),
            })
        },
    )
    .optional()
    .map_err(db)?
    .ok_or_else(|| StoreError::NotFound("session".into()))
}

pub fn revoke_session(
    conn: &Connection,
    hash: &[u8],
    at: chrono::DateTime<chrono::Utc>,
) -> Result<(), StoreError> {
    let n = conn
        .execute(
            "UPDATE sessions SET revoked_at = coalesce(revoked_at, ?) WHERE token_hash = ?",
            params![micros(&at), hash],
        )
        .map_err(db)?;
    if n == 0 {
        return Err(StoreError::NotFound("session".into()));
    }
    Ok(())
}

pub fn add_key(conn: &Connection, k: &NewKey) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO ingest_keys (name, key_hash, created_at) VALUES (?, ?, ?)",
        params![k.name, k.key_hash, micros(&k.created_at)],
    )
    .map(drop)
    .map_err(|e| conflict_or_db(e, format!("ingest key {:?} already exists", k.name)))
}

pub fn key(conn: &Connection, hash: &[u8]) -> Result<IngestKey, StoreError> {
    conn.query_row(
        "SELECT name, revoked_at FROM ingest_keys WHERE key_hash = ?",
        [hash],
        |r| {
            Ok(IngestKey {
                name: r.get(0)?,
                revoked_at: r.get::<_, Option<i64>>(1)?.map(from_micros),
            })
        },
    )
    .optional()
    .map_err(db)?
    .ok_or_else(|| StoreError::NotFound("ingest key".into()))
}
