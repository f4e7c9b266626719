//! Users, sessions and ingest keys.

use async_trait::async_trait;
use vigil_core::Event;
use vigil_store::AccountStore;

use crate::SqliteStore;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};
use vigil_store::{
    AccountChange, IngestKey, Lockout, LockoutPolicy, NewKey, NewSession, NewUser, RoleRecord,
    Session, StoreError, User, UserSummary,
};

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

fn add_user(conn: &Connection, u: &NewUser) -> Result<(), StoreError> {
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
        "SELECT name, password_hash, roles, disabled_at FROM users WHERE name = ?",
        [name],
        |r| {
            Ok(User {
                name: r.get(0)?,
                password_hash: r.get(1)?,
                roles: roles(r.get(2)?)?,
                disabled_at: r.get::<_, Option<i64>>(3)?.map(from_micros),
            })
        },
    )
    .optional()
    .map_err(db)?
    .ok_or_else(|| StoreError::NotFound(format!("user {name:?}")))
}

fn add_session(conn: &Connection, s: &NewSession) -> Result<(), StoreError> {
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
        "SELECT u.name, u.password_hash, u.roles, s.expires_at, s.revoked_at, u.disabled_at \
         FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.token_hash = ?",
        [hash],
        |r| {
            Ok(Session {
                user: User {
                    name: r.get(0)?,
                    password_hash: r.get(1)?,
                    roles: roles(r.get(2)?)?,
                    disabled_at: r.get::<_, Option<i64>>(5)?.map(from_micros),
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

fn add_key(conn: &Connection, k: &NewKey) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO ingest_keys (name, key_hash, created_at, sections) VALUES (?, ?, ?, ?)",
        params![
            k.name,
            k.key_hash,
            micros(&k.created_at),
            (!k.sections.is_empty())
                .then(|| serde_json::to_string(&k.sections).expect("a list of strings"))
        ],
    )
    .map(drop)
    .map_err(|e| conflict_or_db(e, format!("ingest key {:?} already exists", k.name)))
}

fn key_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<IngestKey> {
    Ok(IngestKey {
        name: r.get(0)?,
        created_at: from_micros(r.get(1)?),
        revoked_at: r.get::<_, Option<i64>>(2)?.map(from_micros),
        sections: match r.get::<_, Option<String>>(3)? {
            None => Vec::new(),
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(3, rusqlite::types::Type::Text, e.into())
            })?,
        },
    })
}

pub fn key(conn: &Connection, hash: &[u8]) -> Result<IngestKey, StoreError> {
    conn.query_row(
        "SELECT name, created_at, revoked_at, sections FROM ingest_keys WHERE key_hash = ?",
        [hash],
        key_row,
    )
    .optional()
    .map_err(db)?
    .ok_or_else(|| StoreError::NotFound("ingest key".into()))
}

pub fn keys(conn: &Connection) -> Result<Vec<IngestKey>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT name, created_at, revoked_at, sections FROM ingest_keys ORDER BY name")
        .map_err(db)?;
    let rows = stmt.query_map([], key_row).map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn revoke_key(conn: &Connection, name: &str, at: DateTime<Utc>) -> Result<(), StoreError> {
    let revoked: Option<Option<i64>> = conn
        .query_row(
            "SELECT revoked_at FROM ingest_keys WHERE name = ?",
            [name],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    match revoked {
        None => Err(StoreError::NotFound(format!("ingest key {name:?}"))),
        Some(Some(when)) => Err(StoreError::Conflict {
            message: format!(
                "ingest key {name:?} was already revoked at {}",
                vigil_core::event::micros::format(&from_micros(when))
            ),
            index: None,
        }),
        Some(None) => conn
            .execute(
                "UPDATE ingest_keys SET revoked_at = ? WHERE name = ?",
                params![micros(&at), name],
            )
            .map(drop)
            .map_err(db),
    }
}

pub fn revoke_user_sessions(
    conn: &Connection,
    name: &str,
    at: DateTime<Utc>,
) -> Result<u64, StoreError> {
    user(conn, name)?;
    conn.execute(
        "UPDATE sessions SET revoked_at = ?1 WHERE user_name = ?2 AND revoked_at IS NULL AND expires_at > ?1",
        params![micros(&at), name],
    )
    .map(|n| n as u64)
    .map_err(db)
}

pub fn locked_until(
    conn: &Connection,
    name: &str,
    at: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let until: Option<i64> = conn
        .query_row(
            "SELECT until FROM lockouts WHERE name = ? AND until > ?",
            params![name, micros(&at)],
            |r| r.get(0),
        )
        .optional()
        .map_err(db)?;
    Ok(until.map(from_micros))
}

/// Records a failure; locks the name when the policy says so. `lockout` is told whether this
/// failure locked it (the caller appends the journal entry in the same transaction).
pub fn sign_in_failed(
    conn: &Connection,
    name: &str,
    at: DateTime<Utc>,
    policy: LockoutPolicy,
) -> Result<Lockout, StoreError> {
    let since = micros(&(at - policy.window));
    // Whatever the name, failures older than the window and ended locks count no more: the
    // tables stay as small as the last window's failures.
    conn.execute("DELETE FROM sign_in_failures WHERE at <= ?", [since])
        .map_err(db)?;
    conn.execute("DELETE FROM lockouts WHERE until <= ?", [micros(&at)])
        .map_err(db)?;
    conn.execute(
        "INSERT INTO sign_in_failures (name, at) VALUES (?, ?)",
        params![name, micros(&at)],
    )
    .map_err(db)?;
    let failures: i64 = conn
        .query_row(
            "SELECT count(*) FROM sign_in_failures WHERE name = ? AND at > ?",
            params![name, since],
            |r| r.get(0),
        )
        .map_err(db)?;
    let held = locked_until(conn, name, at)?;
    let locked_now = held.is_none() && failures as u32 >= policy.failures;
    let locked_until = match locked_now {
        true => {
            let until = at + policy.lock_for;
            conn.execute(
                "INSERT INTO lockouts (name, until) VALUES (?1, ?2) \
                 ON CONFLICT (name) DO UPDATE SET until = ?2",
                params![name, micros(&until)],
            )
            .map_err(db)?;
            Some(until)
        }
        false => held,
    };
    Ok(Lockout {
        failures: failures as u32,
        locked_until,
        locked_now,
    })
}

pub fn clear_sign_in_failures(
    conn: &Connection,
    name: &str,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let held = locked_until(conn, name, at)?.is_some();
    conn.execute("DELETE FROM sign_in_failures WHERE name = ?", [name])
        .map_err(db)?;
    conn.execute("DELETE FROM lockouts WHERE name = ?", [name])
        .map_err(db)?;
    Ok(held)
}

/// Applies a change to users, roles or keys (the caller appends its journal entry).
pub fn change(conn: &Connection, change: &AccountChange) -> Result<(), StoreError> {
    match change {
        AccountChange::AddUser(u) => {
            check_roles(conn, &u.roles)?;
            add_user(conn, u)
        }
        AccountChange::SetPassword {
            name,
            password_hash,
            at,
            keep,
        } => {
            user(conn, name)?;
            conn.execute(
                "UPDATE users SET password_hash = ? WHERE name = ?",
                params![password_hash, name],
            )
            .map_err(db)?;
            conn.execute(
                "UPDATE sessions SET revoked_at = ?1 WHERE user_name = ?2 AND revoked_at IS NULL \
                 AND token_hash IS NOT ?3",
                params![micros(at), name, keep],
            )
            .map(drop)
            .map_err(db)
        }
        AccountChange::SetDisabled { name, disabled_at } => {
            let was = user(conn, name)?.disabled_at;
            match (was, disabled_at) {
                (Some(_), Some(_)) => {
                    return Err(StoreError::Conflict {
                        message: format!("user {name:?} is already disabled"),
                        index: None,
                    })
                }
                (None, None) => {
                    return Err(StoreError::Conflict {
                        message: format!("user {name:?} is not disabled"),
                        index: None,
                    })
                }
                _ => {}
            }
            conn.execute(
                "UPDATE users SET disabled_at = ? WHERE name = ?",
                params![disabled_at.as_ref().map(micros), name],
            )
            .map_err(db)?;
            if let Some(at) = disabled_at {
                revoke_user_sessions(conn, name, *at)?;
            }
            Ok(())
        }
        AccountChange::SetRoles { name, roles } => {
            user(conn, name)?;
            check_roles(conn, roles)?;
            conn.execute(
                "UPDATE users SET roles = ? WHERE name = ?",
                params![
                    serde_json::to_string(roles).expect("strings serialize"),
                    name
                ],
            )
            .map(drop)
            .map_err(db)
        }
        AccountChange::AddRole(r) => {
            if vigil_core::rights::builtin(&r.name).is_some() {
                return Err(StoreError::Conflict {
                    message: format!("{:?} is a built-in role", r.name),
                    index: None,
                });
            }
            conn.execute(
                "INSERT INTO roles (name, rights, scope, created_at) VALUES (?, ?, ?, ?)",
                params![
                    r.name,
                    serde_json::to_string(&r.rights).expect("strings serialize"),
                    r.scope,
                    micros(&r.created_at)
                ],
            )
            .map(drop)
            .map_err(|e| conflict_or_db(e, format!("role {:?} already exists", r.name)))
        }
        AccountChange::RemoveRole(name) => {
            let holders: Vec<String> = {
                let mut stmt = conn
                    .prepare(
                        "SELECT u.name FROM users u, json_each(u.roles) r \
                         WHERE r.value = ? ORDER BY u.name",
                    )
                    .map_err(db)?;
                let rows = stmt.query_map([name], |r| r.get(0)).map_err(db)?;
                rows.collect::<Result<_, _>>().map_err(db)?
            };
            if !holders.is_empty() {
                return Err(StoreError::Conflict {
                    message: format!(
                        "role {name:?} is held by {}: take it from them first",
                        holders.join(", ")
                    ),
                    index: None,
                });
            }
            match conn
                .execute("DELETE FROM roles WHERE name = ?", [name])
                .map_err(db)?
            {
                0 => Err(StoreError::NotFound(format!("role {name:?}"))),
                _ => Ok(()),
            }
        }
        AccountChange::AddKey(k) => add_key(conn, k),
    }
}

/// `Invalid` unless every role is built in or stored.
fn check_roles(conn: &Connection, roles: &[String]) -> Result<(), StoreError> {
    if roles.is_empty() {
        return Err(StoreError::invalid(
            "roles",
            "a user needs at least one role",
        ));
    }
    for name in roles {
        if vigil_core::rights::builtin(name).is_some() {
            continue;
        }
        let stored: bool = conn
            .query_row("SELECT 1 FROM roles WHERE name = ?", [name], |_| Ok(true))
            .optional()
            .map_err(db)?
            .unwrap_or(false);
        if !stored {
            return Err(StoreError::invalid(
                "roles",
                format!(
                "role {name:?} does not exist: the built-in roles are {}, and custom ones come \
                 from vigil role add",
                vigil_core::rights::BUILTIN.join(", ")
            ),
            ));
        }
    }
    Ok(())
}

pub fn users(conn: &Connection, at: DateTime<Utc>) -> Result<Vec<UserSummary>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT u.name, u.roles, u.created_at, \
               (SELECT count(*) FROM sessions s WHERE s.user_name = u.name \
                  AND s.revoked_at IS NULL AND s.expires_at > ?1), \
               (SELECT l.until FROM lockouts l WHERE l.name = u.name AND l.until > ?1), \
               u.disabled_at \
             FROM users u ORDER BY u.name",
        )
        .map_err(db)?;
    let rows = stmt
        .query_map([micros(&at)], |r| {
            Ok(UserSummary {
                name: r.get(0)?,
                roles: roles(r.get(1)?)?,
                created_at: from_micros(r.get(2)?),
                live_sessions: r.get::<_, i64>(3)? as u64,
                locked_until: r.get::<_, Option<i64>>(4)?.map(from_micros),
                disabled_at: r.get::<_, Option<i64>>(5)?.map(from_micros),
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

pub fn stored_roles(conn: &Connection) -> Result<Vec<RoleRecord>, StoreError> {
    let mut stmt = conn
        .prepare("SELECT name, rights, scope, created_at FROM roles ORDER BY name")
        .map_err(db)?;
    let rows = stmt
        .query_map([], |r| {
            Ok(RoleRecord {
                name: r.get(0)?,
                rights: roles(r.get(1)?)?,
                scope: r.get(2)?,
                created_at: from_micros(r.get(3)?),
            })
        })
        .map_err(db)?;
    rows.collect::<Result<_, _>>().map_err(db)
}

#[async_trait]
impl AccountStore for SqliteStore {
    async fn count_users(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT count(*) FROM users", [], |r| r.get::<_, i64>(0))
                .map(|n| n as u64)
                .map_err(db)
        })
        .await
    }

    async fn user(&self, name: &str) -> Result<User, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| user(conn, &name)).await
    }

    async fn session(&self, token_hash: &[u8]) -> Result<Session, StoreError> {
        let hash = token_hash.to_vec();
        self.read(move |conn| session(conn, &hash)).await
    }

    async fn revoke_session(
        &self,
        token_hash: &[u8],
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<(), StoreError> {
        let hash = token_hash.to_vec();
        self.write(1, move |conn, chain| {
            revoke_session(conn, &hash, at)?;
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }

    async fn change_accounts(
        &self,
        change: AccountChange,
        journal: Event,
    ) -> Result<(), StoreError> {
        self.write(1, move |conn, chain| {
            self::change(conn, &change)?;
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }

    async fn users(
        &self,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<UserSummary>, StoreError> {
        self.read(move |conn| users(conn, at)).await
    }

    async fn roles(&self) -> Result<Vec<RoleRecord>, StoreError> {
        self.read(stored_roles).await
    }

    async fn key(&self, key_hash: &[u8]) -> Result<IngestKey, StoreError> {
        let hash = key_hash.to_vec();
        self.read(move |conn| key(conn, &hash)).await
    }

    async fn ingest_keys(&self) -> Result<Vec<IngestKey>, StoreError> {
        self.read(keys).await
    }

    async fn revoke_key(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.write(1, move |conn, chain| {
            revoke_key(conn, &name, at)?;
            chain.append(conn, &[journal]).map(drop)
        })
        .await
    }

    async fn revoke_user_sessions(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<u64, StoreError> {
        let name = name.to_owned();
        self.write(1, move |conn, chain| {
            let n = revoke_user_sessions(conn, &name, at)?;
            let mut journal = journal;
            journal
                .details
                .get_or_insert_with(Default::default)
                .insert("sessions".into(), n.into());
            chain.append(conn, &[journal])?;
            Ok(n)
        })
        .await
    }

    async fn sign_in_failed(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        policy: LockoutPolicy,
        journal: Event,
        lockout: Event,
    ) -> Result<Lockout, StoreError> {
        let name = name.to_owned();
        self.write(2, move |conn, chain| {
            let l = sign_in_failed(conn, &name, at, policy)?;
            let mut entries = vec![journal];
            if l.locked_now {
                entries.push(lockout);
            }
            chain.append(conn, &entries)?;
            Ok(l)
        })
        .await
    }

    async fn locked_until(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let name = name.to_owned();
        self.read(move |conn| locked_until(conn, &name, at)).await
    }

    async fn sign_in_succeeded(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        session: NewSession,
        journal: Event,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let name = name.to_owned();
        // In the writer, so that it is ordered with the failures recorded meanwhile.
        self.write(1, move |conn, chain| {
            if let Some(until) = locked_until(conn, &name, at)? {
                return Ok(Some(until));
            }
            clear_sign_in_failures(conn, &name, at)?;
            add_session(conn, &session)?;
            chain.append(conn, &[journal])?;
            Ok(None)
        })
        .await
    }

    async fn unlock_sign_in(
        &self,
        name: &str,
        at: chrono::DateTime<chrono::Utc>,
        journal: Event,
    ) -> Result<bool, StoreError> {
        let name = name.to_owned();
        self.write(1, move |conn, chain| {
            let held = clear_sign_in_failures(conn, &name, at)?;
            if held {
                chain.append(conn, &[journal])?;
            }
            Ok(held)
        })
        .await
    }
}
