//! The console's own SQLite file (`console.db` in the app's data folder): a cache of the entries
//! it has shown (searched when the store cannot be reached), of the marks catalog and the
//! incidents, and the outbox of what the user wrote (annotations, incidents, pins, notes) until
//! the store has it.
//!
//! The outbox is durable before a command answers (WAL, `synchronous = FULL`): closing or
//! killing the app loses nothing. Each item carries the id the console chose for its record, so
//! sending it again after a lost answer stores nothing twice.
//!
//! The cache (entries and lists) belongs to one user of one server: it is filed under both, and
//! each body is sealed (XChaCha20-Poly1305) with that user's key, which lives in the OS keyring
//! beside their token (`Vault::cache_key`). Only the signed-in user's cache is open; signing out
//! wipes it and forgets the key, so the next person on the same OS account reads nothing of it.
//! Caches written before this, unsealed and filed per server, are deleted when the file opens.

use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::XChaCha20Poly1305;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{de::DeserializeOwned, Serialize};
use vigil_core::Annotated;

use crate::error::UiError;

/// Most entries kept per server; the ones shown longest ago go first.
const MAX_CACHED: i64 = 20_000;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS entries (
    server       TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    seq          INTEGER NOT NULL,
    body         TEXT    NOT NULL,            -- the entry as the store answered it, with annotations
    seen_at      INTEGER NOT NULL,
    PRIMARY KEY (server, id)
);
CREATE INDEX IF NOT EXISTS entries_seen ON entries (server, seen_at);
-- The marks catalog, the incidents list and each incident's detail, as last fetched.
CREATE TABLE IF NOT EXISTS lists (
    server  TEXT NOT NULL,
    name    TEXT NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (server, name)
);
CREATE TABLE IF NOT EXISTS outbox (
    n           INTEGER PRIMARY KEY AUTOINCREMENT,
    server      TEXT    NOT NULL,
    user        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,             -- annotation | incident | pin | note
    subject     TEXT    NOT NULL,             -- the entry (annotation, pin) or incident (incident, note)
    path        TEXT    NOT NULL,             -- where it is posted
    body        TEXT    NOT NULL,             -- what is posted (with the record's id)
    summary     TEXT    NOT NULL,
    written_at  INTEGER NOT NULL,
    state       TEXT    NOT NULL,             -- waiting | failed
    error       TEXT
);
"#;

/// One item of the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its place in the queue.
    pub n: i64,
    /// Who wrote it (it is sent only under their session).
    pub user: String,
    /// `annotation`, `incident`, `pin` or `note`.
    pub kind: String,
    /// The entry or incident it is about.
    pub subject: String,
    /// Where it is posted, relative to the server.
    pub path: String,
    /// What is posted.
    pub body: serde_json::Value,
    /// For the person.
    pub summary: String,
    /// When it was written, µs.
    pub written_at: i64,
    /// `waiting` or `failed`.
    pub state: String,
    /// Why the store refused it.
    pub error: Option<String>,
}

/// What goes in the outbox.
pub struct NewItem<'a> {
    /// Who wrote it.
    pub user: &'a str,
    /// `annotation`, `incident`, `pin` or `note`.
    pub kind: &'a str,
    /// The entry or incident it is about.
    pub subject: &'a str,
    /// Where it is posted.
    pub path: &'a str,
    /// What is posted.
    pub body: &'a serde_json::Value,
    /// For the person.
    pub summary: &'a str,
    /// When it was written, µs.
    pub written_at: i64,
}

/// The console's local database.
pub struct Local {
    conn: Mutex<Connection>,
    sealed: Mutex<Option<Sealed>>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").finish_non_exhaustive()
    }
}

fn local(e: impl std::fmt::Display) -> UiError {
    UiError::new("local", format!("The console's local database failed: {e}"))
}

fn item_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Item> {
    let body: String = r.get(5)?;
    Ok(Item {
        n: r.get(0)?,
        user: r.get(1)?,
        kind: r.get(2)?,
        subject: r.get(3)?,
        path: r.get(4)?,
        body: serde_json::from_str(&body).unwrap_or(serde_json::Value::Null),
        summary: r.get(6)?,
        written_at: r.get(7)?,
        state: r.get(8)?,
        error: r.get(9)?,
    })
}

const ITEM: &str =
    "SELECT n, user, kind, subject, path, body, summary, written_at, state, error FROM outbox";

/// The open cache: whose, and the cipher of their key.
struct Sealed {
    server: String,
    user: String,
    cipher: XChaCha20Poly1305,
}

/// What a sealed body starts with (then base64 of the nonce and the ciphertext).
const SEALED: &str = "v1.";

impl Sealed {
    /// Where the cache rows of this user of this server are filed.
    fn scope(&self) -> String {
        scope(&self.server, &self.user)
    }

    fn seal(&self, plain: &str) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(&nonce, plain.as_bytes())
                .expect("sealing cannot fail"),
        );
        format!(
            "{SEALED}{}",
            base64::engine::general_purpose::STANDARD_NO_PAD.encode(out)
        )
    }

    /// The plain text, or `None` when it was not sealed with this key (or was changed).
    fn open(&self, sealed: &str) -> Option<String> {
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(sealed.strip_prefix(SEALED)?)
            .ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        let plain = self.cipher.decrypt(nonce.into(), ciphertext).ok()?;
        String::from_utf8(plain).ok()
    }
}

/// The cache rows' key: the server and the user (a newline is in neither).
fn scope(server: &str, user: &str) -> String {
    format!("{server}\n{user}")
}

impl Local {
    /// Opens (creating) `console.db` in `dir`.
    pub fn open(dir: &Path) -> Result<Local, UiError> {
        std::fs::create_dir_all(dir).map_err(local)?;
        let conn = Connection::open(dir.join("console.db")).map_err(local)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(local)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(local)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(local)?;
        conn.execute_batch(SCHEMA).map_err(local)?;
        // Caches of older consoles: unsealed, shared by every user of a server.
        conn.execute_batch(
            "DELETE FROM entries WHERE instr(server, char(10)) = 0; \
             DELETE FROM lists WHERE instr(server, char(10)) = 0;",
        )
        .map_err(local)?;
        Ok(Local {
            conn: Mutex::new(conn),
            sealed: Mutex::new(None),
        })
    }

    /// Opens the cache of `user` on `server` with their key; closes any other.
    pub fn unlock(&self, server: &str, user: &str, key: &[u8; 32]) {
        *self.sealed.lock().expect("cache lock") = Some(Sealed {
            server: server.to_owned(),
            user: user.to_owned(),
            cipher: XChaCha20Poly1305::new(key.into()),
        });
    }

    /// Closes the cache: nothing is read or written until a user's is opened again.
    pub fn lock(&self) {
        *self.sealed.lock().expect("cache lock") = None;
    }

    /// Deletes the cache of `user` on `server` (signing out), and closes it if it is open.
    pub fn wipe(&self, server: &str, user: &str) -> Result<(), UiError> {
        let key = scope(server, user);
        self.with(|conn| {
            conn.execute("DELETE FROM entries WHERE server = ?", [&key])?;
            conn.execute("DELETE FROM lists WHERE server = ?", [&key])
                .map(drop)
        })?;
        let mut sealed = self.sealed.lock().expect("cache lock");
        if sealed.as_ref().is_some_and(|s| s.scope() == key) {
            *sealed = None;
        }
        Ok(())
    }

    /// Runs `f` with the open cache of `server` (its rows' key and its seal); `None` when no
    /// cache of that server is open (nobody signed in): nothing is kept or found then.
    fn sealed<T>(&self, server: &str, f: impl FnOnce(&Sealed) -> T) -> Option<T> {
        let sealed = self.sealed.lock().expect("cache lock");
        sealed.as_ref().filter(|s| s.server == server).map(f)
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, UiError> {
        f(&self.conn.lock().expect("local database lock")).map_err(local)
    }

    /// Keeps entries the store answered (replacing older copies).
    pub fn keep_entries(&self, server: &str, entries: &[Annotated]) -> Result<(), UiError> {
        if entries.is_empty() {
            return Ok(());
        }
        let Some((scope, rows)) = self.sealed(server, |s| {
            let rows: Vec<(&Annotated, String)> = entries
                .iter()
                .map(|e| {
                    (
                        e,
                        s.seal(&serde_json::to_string(e).expect("entries serialize")),
                    )
                })
                .collect();
            (s.scope(), rows)
        }) else {
            return Ok(());
        };
        let now = chrono::Utc::now().timestamp_micros();
        self.with(|conn| {
            // The cache can be fetched again: it need not wait for the disk as the outbox does.
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            let kept = Self::put_entries(conn, &scope, &rows, now);
            conn.pragma_update(None, "synchronous", "FULL")?;
            kept
        })
    }

    fn put_entries(
        conn: &Connection,
        server: &str,
        entries: &[(&Annotated, String)],
        now: i64,
    ) -> rusqlite::Result<()> {
        {
            let tx = rusqlite::Transaction::new_unchecked(
                conn,
                rusqlite::TransactionBehavior::Immediate,
            )?;
            {
                let mut put = tx.prepare_cached(
                    "INSERT INTO entries (server, id, occurred_at, seq, body, seen_at) VALUES (?,?,?,?,?,?) \
                     ON CONFLICT (server, id) DO UPDATE SET body = excluded.body, seen_at = excluded.seen_at",
                )?;
                for (e, body) in entries {
                    put.execute(params![
                        server,
                        e.entry.event.id.to_string(),
                        e.entry.event.occurred_at.timestamp_micros(),
                        e.entry.seq as i64,
                        body,
                        now,
                    ])?;
                }
            }
            let count: i64 = tx.query_row(
                "SELECT count(*) FROM entries WHERE server = ?",
                [server],
                |r| r.get(0),
            )?;
            if count > MAX_CACHED {
                tx.execute(
                    "DELETE FROM entries WHERE server = ?1 AND id IN \
                     (SELECT id FROM entries WHERE server = ?1 ORDER BY seen_at LIMIT ?2)",
                    params![server, count - MAX_CACHED],
                )?;
            }
            tx.commit()
        }
    }

    /// One cached entry.
    pub fn entry(&self, server: &str, id: &str) -> Result<Option<Annotated>, UiError> {
        let Some(scope) = self.sealed(server, Sealed::scope) else {
            return Ok(None);
        };
        let body: Option<String> = self.with(|conn| {
            conn.query_row(
                "SELECT body FROM entries WHERE server = ? AND id = ?",
                [&scope, id],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(body.and_then(|b| self.unsealed(server, &b)))
    }

    /// Every cached entry of the signed-in user on a server.
    pub fn entries(&self, server: &str) -> Result<Vec<Annotated>, UiError> {
        let Some(scope) = self.sealed(server, Sealed::scope) else {
            return Ok(Vec::new());
        };
        let bodies: Vec<String> = self.with(|conn| {
            let mut stmt = conn.prepare_cached("SELECT body FROM entries WHERE server = ?")?;
            let rows = stmt.query_map([&scope], |r| r.get(0))?;
            rows.collect()
        })?;
        Ok(self
            .sealed(server, |s| {
                bodies
                    .iter()
                    .filter_map(|b| serde_json::from_str(&s.open(b)?).ok())
                    .collect()
            })
            .unwrap_or_default())
    }

    /// A sealed body read back with the open cache's key.
    fn unsealed<T: DeserializeOwned>(&self, server: &str, body: &str) -> Option<T> {
        self.sealed(server, |s| s.open(body))
            .flatten()
            .and_then(|plain| serde_json::from_str(&plain).ok())
    }

    /// Keeps a list (the marks, the incidents, an incident's detail).
    pub fn keep<T: Serialize>(&self, server: &str, name: &str, value: &T) -> Result<(), UiError> {
        let plain = serde_json::to_string(value).expect("lists serialize");
        let Some((scope, body)) = self.sealed(server, |s| (s.scope(), s.seal(&plain))) else {
            return Ok(());
        };
        self.with(|conn| {
            conn.execute(
                "INSERT INTO lists (server, name, body) VALUES (?,?,?) \
                 ON CONFLICT (server, name) DO UPDATE SET body = excluded.body",
                params![scope, name, body],
            )
            .map(drop)
        })
    }

    /// A kept list.
    pub fn kept<T: DeserializeOwned>(
        &self,
        server: &str,
        name: &str,
    ) -> Result<Option<T>, UiError> {
        let Some(scope) = self.sealed(server, Sealed::scope) else {
            return Ok(None);
        };
        let body: Option<String> = self.with(|conn| {
            conn.query_row(
                "SELECT body FROM lists WHERE server = ? AND name = ?",
                [&scope, name],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(body.and_then(|b| self.unsealed(server, &b)))
    }

    /// Puts an item in the outbox, durably; its number.
    pub fn queue(&self, server: &str, item: NewItem<'_>) -> Result<i64, UiError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO outbox (server, user, kind, subject, path, body, summary, written_at, state) \
                 VALUES (?,?,?,?,?,?,?,?, 'waiting')",
                params![
                    server,
                    item.user,
                    item.kind,
                    item.subject,
                    item.path,
                    serde_json::to_string(item.body).expect("JSON serializes"),
                    item.summary,
                    item.written_at,
                ],
            )?;
            Ok(conn.last_insert_rowid())
        })
    }

    /// What one user wrote for one server and the store does not have yet, in order.
    pub fn items(&self, server: &str, user: &str) -> Result<Vec<Item>, UiError> {
        self.with(|conn| {
            let mut stmt =
                conn.prepare_cached(&format!("{ITEM} WHERE server = ? AND user = ? ORDER BY n"))?;
            let rows = stmt.query_map([server, user], item_row)?;
            rows.collect()
        })
    }

    /// Replaces what an item posts (the store refused its time: it is sent without one).
    pub fn rewrite(&self, n: i64, body: &serde_json::Value) -> Result<(), UiError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE outbox SET body = ? WHERE n = ?",
                params![serde_json::to_string(body).expect("JSON serializes"), n],
            )
            .map(drop)
        })
    }

    /// The first waiting item of this user on this server.
    pub fn next_waiting(&self, server: &str, user: &str) -> Result<Option<Item>, UiError> {
        self.with(|conn| {
            conn.query_row(
                &format!(
                    "{ITEM} WHERE server = ? AND user = ? AND state = 'waiting' ORDER BY n LIMIT 1"
                ),
                [server, user],
                item_row,
            )
            .optional()
        })
    }

    /// The store has the item: it leaves the outbox.
    pub fn sent(&self, n: i64) -> Result<(), UiError> {
        self.with(|conn| {
            conn.execute("DELETE FROM outbox WHERE n = ?", [n])
                .map(drop)
        })
    }

    /// The store refused the item: it stays, failed, with the reason.
    pub fn failed(&self, n: i64, error: &str) -> Result<(), UiError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE outbox SET state = 'failed', error = ? WHERE n = ?",
                params![error, n],
            )
            .map(drop)
        })
    }

    /// A user's failed items for a server (one, or all) wait again.
    pub fn retry(&self, server: &str, user: &str, n: Option<i64>) -> Result<(), UiError> {
        self.with(|conn| {
            conn.execute(
                "UPDATE outbox SET state = 'waiting', error = NULL \
                 WHERE server = ?1 AND user = ?2 AND state = 'failed' AND (?3 IS NULL OR n = ?3)",
                params![server, user, n],
            )
            .map(drop)
        })
    }

    /// Drops one of a user's failed items; `false` if there is no such failed item.
    pub fn discard(&self, server: &str, user: &str, n: i64) -> Result<bool, UiError> {
        self.with(|conn| {
            conn.execute(
                "DELETE FROM outbox WHERE server = ? AND user = ? AND n = ? AND state = 'failed'",
                params![server, user, n],
            )
            .map(|changed| changed > 0)
        })
    }
}
