//! The SQLite schema: the journal (append-only, enforced by triggers) and the accounts tables.

use rusqlite::Connection;

/// Bumped when the schema changes; stored in `PRAGMA user_version`. Version 8 adds the sender
/// to entries' bodies (a field an older vigil would call damage: it refuses the file instead)
/// and disabled accounts; version 9 the Merkle tree's kept subtrees and signed checkpoints (an
/// older vigil appending without extending the tree would break it); version 10 impersonation,
/// correlation and senders' numbering in bodies, and the senders' streams and gaps; version 11
/// the journal entry that recorded each delivery a rule queued (`alert_deliveries.journal_seq`:
/// an older vigil would queue deliveries the journal does not record, which `vigil verify`
/// names).
/// Version 12 seals entries: each has a salt, and the parts a reader may see masked enter its
/// hash as salted commitments (an older vigil would call every new entry damaged).
pub const VERSION: i64 = 12;

/// The dictionaries bodies are compressed with (schema version 6): trained on the journal's own
/// entries, never changed once written.
pub(crate) const DICTIONARIES: &str = "
CREATE TABLE IF NOT EXISTS dictionaries (
    id          INTEGER PRIMARY KEY,          -- the number a body names
    dict        BLOB    NOT NULL,
    at_seq      INTEGER NOT NULL,             -- the journal's last seq when it was trained
    created_at  INTEGER NOT NULL
);";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS events (
    seq          INTEGER PRIMARY KEY,
    id           BLOB    NOT NULL UNIQUE,
    received_at  INTEGER NOT NULL,            -- µs since the epoch, UTC
    body         BLOB    NOT NULL,            -- every other field, compressed (see body.rs)
    hash         BLOB    NOT NULL,
    salt         BLOB                         -- 16 bytes: sealed (schema 12); NULL before
);
-- Searches, timelines and facets are served by the search index (vigil-index), which is derived
-- from this table; the journal itself needs only its primary key and the unique id (whole: an
-- index on part of it would let a sender choose ids that all share that part, and make every
-- insert read each of them).
-- INSERT OR REPLACE deletes the old row without firing delete triggers: refuse it up front.
CREATE TRIGGER IF NOT EXISTS events_no_replace BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq)
  OR EXISTS (SELECT 1 FROM events WHERE id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be replaced'); END;
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be updated'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the journal is append-only: events cannot be deleted'); END;

CREATE TABLE IF NOT EXISTS users (
    name          TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    roles         TEXT NOT NULL,              -- JSON array of role names
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER                     -- set while an admin has disabled the account
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
    revoked_at  INTEGER,
    sections    TEXT                          -- JSON array: the only sections it may send (v7)
);

-- Alerting (schema version 2). Channels and rules added through the API and CLI, as JSON specs.
CREATE TABLE IF NOT EXISTS alert_channels (
    name        TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_rules (
    name        TEXT PRIMARY KEY,
    spec        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    created_by  TEXT NOT NULL
);
-- 'evaluated_seq': the last journal seq the rules were evaluated on.
CREATE TABLE IF NOT EXISTS alert_state (
    key    TEXT PRIMARY KEY,
    value  INTEGER NOT NULL
);
-- The outbox: one message to one channel. 'sending' is set while a process is sending it.
CREATE TABLE IF NOT EXISTS alert_deliveries (
    id          INTEGER PRIMARY KEY,
    rule        TEXT    NOT NULL,
    channel     TEXT    NOT NULL,
    kind        TEXT    NOT NULL,             -- event | digest | test | checkpoint
    seqs        TEXT    NOT NULL,             -- JSON array of journal seqs (a digest's first 11)
    matches     INTEGER NOT NULL,             -- how many entries it tells of
    status      TEXT    NOT NULL,             -- pending | sent | failed
    attempts    INTEGER NOT NULL,
    sending     INTEGER NOT NULL,
    due_at      INTEGER NOT NULL,
    next_at     INTEGER NOT NULL,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    journal_seq INTEGER NOT NULL DEFAULT 0    -- the alert.delivery.queue entry (schema 11)
);
CREATE INDEX IF NOT EXISTS alert_deliveries_due ON alert_deliveries (status, next_at);
CREATE INDEX IF NOT EXISTS alert_deliveries_window ON alert_deliveries (rule, channel, due_at);
CREATE INDEX IF NOT EXISTS alert_deliveries_sending ON alert_deliveries (channel) WHERE sending = 1;

-- What investigators add (schema version 3). The marks catalog is managed; everything else is
-- append-only, like the journal, and each row names the journal entry that tells of it.
CREATE TABLE IF NOT EXISTS marks (
    key       TEXT PRIMARY KEY,
    label_fr  TEXT NOT NULL,
    label_en  TEXT NOT NULL,
    colour    TEXT NOT NULL,
    position  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS annotations (
    id           BLOB PRIMARY KEY,
    entry_seq    INTEGER NOT NULL REFERENCES events(seq),
    author       TEXT NOT NULL,
    written_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    comment      TEXT,
    marks        TEXT NOT NULL,               -- JSON array of mark keys
    supersedes   BLOB,
    journal_seq  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_entry ON annotations (entry_seq);
CREATE INDEX IF NOT EXISTS annotations_journal ON annotations (journal_seq);
CREATE TABLE IF NOT EXISTS incidents (
    id           BLOB PRIMARY KEY,
    number       INTEGER NOT NULL UNIQUE,
    title        TEXT NOT NULL,
    description  TEXT,
    author       TEXT NOT NULL,
    written_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    journal_seq  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS incident_pins (
    id           BLOB PRIMARY KEY,
    incident     BLOB NOT NULL REFERENCES incidents(id),
    entry_seq    INTEGER NOT NULL REFERENCES events(seq),
    author       TEXT NOT NULL,
    written_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    journal_seq  INTEGER NOT NULL,
    UNIQUE (incident, entry_seq)
);
CREATE INDEX IF NOT EXISTS incident_pins_entry ON incident_pins (entry_seq);
CREATE INDEX IF NOT EXISTS incident_pins_journal ON incident_pins (journal_seq);
CREATE TABLE IF NOT EXISTS incident_notes (
    id           BLOB PRIMARY KEY,
    incident     BLOB NOT NULL REFERENCES incidents(id),
    author       TEXT NOT NULL,
    written_at   INTEGER NOT NULL,
    received_at  INTEGER NOT NULL,
    text         TEXT,
    status       TEXT,                        -- open | closed, when the note changes it
    journal_seq  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incident_notes_incident ON incident_notes (incident);

-- Failed sign-ins and locks (schema version 4), by the name tried (known or not).
CREATE TABLE IF NOT EXISTS sign_in_failures (
    name  TEXT    NOT NULL,
    at    INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_failures_name ON sign_in_failures (name, at);
CREATE INDEX IF NOT EXISTS sign_in_failures_at ON sign_in_failures (at);
CREATE TABLE IF NOT EXISTS lockouts (
    name   TEXT PRIMARY KEY,
    until  INTEGER NOT NULL
);

-- The Merkle tree over the journal (schema version 9): the hash of every whole subtree of 256
-- entries and up, written with the entry that completes it (see tree.rs), and the signed
-- checkpoints of the tree.
CREATE TABLE IF NOT EXISTS merkle_nodes (
    id    INTEGER PRIMARY KEY,                -- level << 48 | the subtree's index at its level
    hash  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size       INTEGER PRIMARY KEY,           -- entries covered: seqs 1 to size
    root       BLOB    NOT NULL,
    signed_at  INTEGER NOT NULL,              -- µs since the epoch, UTC
    key_id     TEXT    NOT NULL,
    signature  BLOB    NOT NULL               -- Ed25519 over the checkpoint's text
);

-- Senders (schema version 10), kept by the writer with the entries: what each sent, by hour;
-- each of its numberings (source_seq per stream, '' for none) and the numbers that never
-- arrived; the gaps reported in the journal (after a grace period) and when they were filled.
CREATE TABLE IF NOT EXISTS senders (
    name        TEXT PRIMARY KEY,
    first_at    INTEGER NOT NULL,             -- µs since the epoch, UTC
    last_at     INTEGER NOT NULL,
    last_entry  INTEGER NOT NULL,             -- the journal seq of its newest entry
    events      INTEGER NOT NULL,
    silent_in   INTEGER,                      -- while reported silent: the entry that said so
    silent_last INTEGER                       -- its newest entry then
);
CREATE TABLE IF NOT EXISTS sender_hours (
    sender  TEXT    NOT NULL,
    hour    INTEGER NOT NULL,                 -- received_at in whole hours since the epoch
    events  INTEGER NOT NULL,
    PRIMARY KEY (sender, hour)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sender_streams (
    sender       TEXT    NOT NULL,
    stream       TEXT    NOT NULL,
    low          INTEGER NOT NULL,            -- lowest and highest number received
    high         INTEGER NOT NULL,
    events       INTEGER NOT NULL,
    repeats      INTEGER NOT NULL,            -- numbers received again under another id
    last_repeat  INTEGER,
    PRIMARY KEY (sender, stream)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sender_gaps (
    sender       TEXT    NOT NULL,
    stream       TEXT    NOT NULL,
    first        INTEGER NOT NULL,            -- the missing numbers, first to last
    last         INTEGER NOT NULL,
    opened_at    INTEGER NOT NULL,
    reported_in  INTEGER,                     -- the journal entry that reported it
    PRIMARY KEY (sender, stream, first)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sender_gaps_due ON sender_gaps (opened_at) WHERE reported_in IS NULL;
CREATE TABLE IF NOT EXISTS sender_gap_reports (
    journal_seq  INTEGER PRIMARY KEY,         -- the entry that reported the gap
    sender       TEXT    NOT NULL,
    stream       TEXT    NOT NULL,
    first        INTEGER NOT NULL,            -- the range the entry told of
    last         INTEGER NOT NULL,
    gaps         INTEGER NOT NULL,            -- how many gaps, and numbers, in it
    missing      INTEGER NOT NULL,
    filled_in    INTEGER                      -- the entry that told it was filled
);
CREATE INDEX IF NOT EXISTS sender_gap_reports_open ON sender_gap_reports (journal_seq)
    WHERE filled_in IS NULL;

-- Custom roles (schema version 5); the built-in ones are in the code.
CREATE TABLE IF NOT EXISTS roles (
    name        TEXT PRIMARY KEY,
    rights      TEXT NOT NULL,                -- JSON array of right names
    scope       TEXT NOT NULL,                -- a query ('' for every entry)
    created_at  INTEGER NOT NULL
);
"#;

/// The append-only tables besides the journal: no row is updated or deleted.
const APPEND_ONLY: [&str; 7] = [
    "annotations",
    "checkpoints",
    "dictionaries",
    "incidents",
    "incident_pins",
    "incident_notes",
    "merkle_nodes",
];

fn has_column(conn: &Connection, table: &str, column: &str) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare(&format!("PRAGMA table_info({table})"))?;
    let names = stmt.query_map([], |r| r.get::<_, String>(1))?;
    for name in names {
        if name? == column {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Whether the journal is of schema version 5 or older: one column per field.
pub(crate) fn has_columns(conn: &Connection) -> rusqlite::Result<bool> {
    has_column(conn, "events", "actor_id")
}

/// Creates the schema if missing; refuses a database from a newer Vigil. A journal of schema
/// version 5 or older is moved to bodies when `may_move` (the server opens it), else refused
/// with what to do.
pub fn migrate(conn: &Connection, may_move: bool) -> rusqlite::Result<Result<(), String>> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > VERSION {
        return Ok(Err(format!(
            "the database has schema version {version}, newer than this vigil understands ({VERSION})"
        )));
    }
    if has_columns(conn)? {
        if !may_move {
            return Ok(Err(format!(
                "the journal has schema version {version}, which this vigil moves to version \
                 {VERSION} (compressed entries) once: start `vigil serve` on it first (about \
                 90 s per 10M entries; stop any older vigil using it)"
            )));
        }
        // Its entries are moved to bodies, once (its hashes are kept and still verify: they
        // are over the fields), with the rest of the schema, in one transaction.
        crate::convert::to_bodies(conn, |conn| create(conn, version))?;
        return Ok(Ok(()));
    }
    // In one transaction, so that a server and a command-line verb opening an older journal at
    // once do not both change it, and a crash leaves it as it was.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match create(conn, version) {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(Ok(()))
}

/// Creates what is missing of the schema (for a journal of `version`) and sets the version.
fn create(conn: &Connection, version: i64) -> rusqlite::Result<()> {
    conn.execute_batch(DICTIONARIES)?;
    conn.execute_batch(SCHEMA)?;
    if (1..7).contains(&version) && !has_column(conn, "ingest_keys", "sections")? {
        // Keys made before version 7 send under any section.
        conn.execute_batch("ALTER TABLE ingest_keys ADD COLUMN sections TEXT")?;
    }
    if (1..8).contains(&version) && !has_column(conn, "users", "disabled_at")? {
        // Accounts made before version 8 are enabled.
        conn.execute_batch("ALTER TABLE users ADD COLUMN disabled_at INTEGER")?;
    }
    if (1..12).contains(&version) && !has_column(conn, "events", "salt")? {
        // Entries written before version 12 keep the encoding they were hashed with.
        conn.execute_batch("ALTER TABLE events ADD COLUMN salt BLOB")?;
    }
    if (1..11).contains(&version) && !has_column(conn, "alert_deliveries", "journal_seq")? {
        // Deliveries queued before version 11 have no journal entry recording them.
        conn.execute_batch(
            "ALTER TABLE alert_deliveries ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0",
        )?;
    }
    for table in APPEND_ONLY {
        conn.execute_batch(&format!(
            "CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table} \
             BEGIN SELECT RAISE(ABORT, '{table} are append-only: write a new one instead'); END; \
             CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table} \
             BEGIN SELECT RAISE(ABORT, '{table} are append-only: they cannot be deleted'); END;"
        ))?;
    }
    if version < 3 {
        // The shipped marks, once: an admin who removes one does not see it come back.
        for (position, m) in vigil_store::default_marks().into_iter().enumerate() {
            conn.execute(
                "INSERT OR IGNORE INTO marks (key, label_fr, label_en, colour, position) VALUES (?,?,?,?,?)",
                rusqlite::params![m.key, m.label_fr, m.label_en, m.colour, position as i64],
            )?;
        }
    }
    // A journal from before the tree was kept gets its subtrees now, once. A journal that cannot
    // give them (an entry removed from under a tree that was removed too) still opens: `vigil
    // verify` is what names the fault, and proofs over it fail until then.
    if let Err(e) = crate::tree::catch_up(conn) {
        tracing::error!(error = %e, "the journal's Merkle tree could not be brought up to date: run vigil verify");
    }
    conn.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}
