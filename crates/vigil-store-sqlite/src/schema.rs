//! The SQLite schema: the journal (append-only, enforced by triggers), its full-text index, and
//! the accounts tables.

use rusqlite::Connection;

/// Bumped when the schema changes; stored in `PRAGMA user_version`.
pub const VERSION: i64 = 1;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY,
    id           BLOB    NOT NULL UNIQUE,
    occurred_at  INTEGER NOT NULL,            -- µs since the epoch, UTC
    received_at  INTEGER NOT NULL,
    actor_id     TEXT    NOT NULL,
    actor_name   TEXT,
    actor_role   TEXT,
    actor_kind   TEXT,
    action       TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    section      TEXT    NOT NULL,
    severity     TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    target_type  TEXT,
    target_id    TEXT,
    target_name  TEXT,
    changes      TEXT,                        -- JSON, as stored
    ip           TEXT,
    ip_key       BLOB,                        -- 16 bytes, IPv4 as IPv4-mapped IPv6, for CIDR ranges
    user_agent   TEXT,
    session_id   TEXT,
    request_id   TEXT,
    reason       TEXT,
    details      TEXT,                        -- JSON, as stored
    hash         BLOB    NOT NULL
);
-- Each index ends in the rowid (seq), so "col = ? ORDER BY occurred_at DESC, seq DESC" reads in order.
CREATE INDEX IF NOT EXISTS events_time     ON events(occurred_at);
CREATE INDEX IF NOT EXISTS events_actor    ON events(actor_id, occurred_at);
CREATE INDEX IF NOT EXISTS events_section  ON events(section, occurred_at);
CREATE INDEX IF NOT EXISTS events_kind     ON events(kind, occurred_at);
CREATE INDEX IF NOT EXISTS events_action   ON events(action, occurred_at);
CREATE INDEX IF NOT EXISTS events_severity ON events(severity, occurred_at);
CREATE INDEX IF NOT EXISTS events_outcome  ON events(outcome, occurred_at);
CREATE INDEX IF NOT EXISTS events_target   ON events(target_type, target_id, occurred_at);
CREATE INDEX IF NOT EXISTS events_ip       ON events(ip_key, occurred_at);

CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be deleted'); END;

-- Contentless full-text index: rowid = seq; folded with remove_diacritics so that
-- "rembourse" finds "remboursé".
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5(
    body, content = '', tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,              -- JSON array of role names
    created_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash  BLOB PRIMARY KEY,
    user_name   TEXT NOT NULL REFERENCES users(name),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
CREATE TABLE IF NOT EXISTS ingest_keys (
    name        TEXT PRIMARY KEY,
    key_hash    BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER
);
"#;

/// Creates the schema if missing; refuses a database from a newer Vigil.
pub fn migrate(conn: &Connection) -> rusqlite::Result<Result<(), String>> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Ok(Err(format!(
            "the database has schema version {version}, newer than this vigil understands ({VERSION})"
        )));
    }
    conn.execute_batch(SCHEMA)?;
    conn.pragma_update(None, "user_version", VERSION)?;
    Ok(Ok(()))
}
