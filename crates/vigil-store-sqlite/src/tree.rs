//! The Merkle tree over the journal (vigil_core::merkle) and the signed checkpoints, in SQLite.
//!
//! `merkle_nodes` keeps the hash of every whole subtree of 256 leaves and up, written in the
//! transaction that appends the entry completing it (about 1 row per 128 entries, 0.3 bytes per
//! entry); a proof computes smaller subtrees from the entries' chain hashes, at most 255 of them.

use rusqlite::{params, Connection, OptionalExtension};
use vigil_core::checkpoint::Checkpoint;
use vigil_core::merkle::{self, Hash, Subtrees, TILE, TILE_LEVEL};
use vigil_store::StoreError;

use crate::sql;

/// The row id of the subtree of `2^level` leaves starting at leaf `start`.
fn node_id(start: u64, level: u32) -> i64 {
    ((level as i64) << 48) | (start >> level) as i64
}

fn to_hash(bytes: Vec<u8>, what: impl FnOnce() -> String) -> rusqlite::Result<Hash> {
    bytes.try_into().map_err(|b: Vec<u8>| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Blob,
            format!("{} is {} bytes, not 32: run vigil verify", what(), b.len()).into(),
        )
    })
}

/// The leaf hashes of the entries with seqs `first..first + n`, all of which must exist.
fn leaves(conn: &Connection, first: u64, n: u64) -> rusqlite::Result<Vec<Hash>> {
    let mut stmt = conn
        .prepare_cached("SELECT seq, hash FROM events WHERE seq >= ? AND seq < ? ORDER BY seq")?;
    let rows = stmt.query_map(params![first as i64, (first + n) as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
    })?;
    let mut out = Vec::with_capacity(n as usize);
    for row in rows {
        let (seq, hash) = row?;
        if seq as u64 != first + out.len() as u64 {
            return Err(missing(first + out.len() as u64));
        }
        out.push(merkle::leaf(&to_hash(hash, || {
            format!("the hash of entry {seq}")
        })?));
    }
    if (out.len() as u64) < n {
        return Err(missing(first + out.len() as u64));
    }
    Ok(out)
}

fn missing(seq: u64) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Null,
        format!("entry {seq} is missing from the journal: run vigil verify").into(),
    )
}

/// Keeps the hashes of the whole subtrees that entries `old + 1 ..= new` complete (in the
/// transaction that appended them). The journal is the truth: a left sibling missing from the
/// kept tree is computed from it and kept. A node already kept with another hash (planted
/// before its entries existed) is logged and left for `vigil verify` to name: ingest goes on,
/// and checkpoints are signed over the journal's own tree, never over kept nodes.
pub(crate) fn extend(conn: &Connection, old: u64, new: u64) -> rusqlite::Result<()> {
    let keep = |start: u64, level: u32, hash: &Hash| -> rusqlite::Result<()> {
        let added = conn
            .prepare_cached("INSERT OR IGNORE INTO merkle_nodes (id, hash) VALUES (?, ?)")?
            .execute(params![node_id(start, level), hash.as_slice()])?;
        if added == 0 {
            let kept: Vec<u8> = conn
                .prepare_cached("SELECT hash FROM merkle_nodes WHERE id = ?")?
                .query_row([node_id(start, level)], |r| r.get(0))?;
            if kept != hash.as_slice() {
                tracing::error!(
                    first = start + 1,
                    last = start + (1 << level),
                    "the kept Merkle tree held another hash for these entries than the journal \
                     gives: proofs over them fail; run vigil verify"
                );
            }
        }
        Ok(())
    };
    for tile in old / TILE..new / TILE {
        let mut start = tile * TILE;
        let mut level = TILE_LEVEL;
        let mut hash = merkle::root_of(&leaves(conn, start + 1, TILE)?);
        keep(start, level, &hash)?;
        // Each subtree that is a right child completes its parent.
        while (start >> level) & 1 == 1 {
            let left_start = start - (1 << level);
            let left = Kept { conn }.perfect(left_start, level)?;
            keep(left_start, level, &left)?;
            hash = merkle::node(&left, &hash);
            start = left_start;
            level += 1;
            keep(start, level, &hash)?;
        }
    }
    Ok(())
}

/// How many entries the kept subtrees cover (a multiple of 256).
fn kept(conn: &Connection) -> rusqlite::Result<u64> {
    let last: Option<i64> = conn.query_row(
        "SELECT max(id) FROM merkle_nodes WHERE id >= ? AND id < ?",
        params![node_id(0, TILE_LEVEL), node_id(0, TILE_LEVEL + 1)],
        |r| r.get(0),
    )?;
    Ok(last.map_or(0, |id| ((id - node_id(0, TILE_LEVEL)) as u64 + 1) * TILE))
}

/// Brings the kept subtrees up to the journal (once, when a journal from before they were kept
/// is opened: 4 s for 10M entries here).
pub(crate) fn catch_up(conn: &Connection) -> rusqlite::Result<()> {
    let head = crate::writer::head_seq(conn)?;
    let kept = kept(conn)?;
    if kept / TILE < head / TILE {
        extend(conn, kept, head)?;
    }
    Ok(())
}

/// Subtree hashes read from a connection.
pub(crate) struct Kept<'a> {
    pub conn: &'a Connection,
}

impl Subtrees for Kept<'_> {
    type Error = rusqlite::Error;

    fn perfect(&mut self, start: u64, level: u32) -> rusqlite::Result<Hash> {
        if level >= TILE_LEVEL {
            let kept = self
                .conn
                .prepare_cached("SELECT hash FROM merkle_nodes WHERE id = ?")?
                .query_row([node_id(start, level)], |r| r.get::<_, Vec<u8>>(0))
                .optional()?;
            if let Some(h) = kept {
                return to_hash(h, || format!("Merkle node {start}/{level}"));
            }
            if level > TILE_LEVEL {
                let half = 1 << (level - 1);
                let left = self.perfect(start, level - 1)?;
                let right = self.perfect(start + half, level - 1)?;
                return Ok(merkle::node(&left, &right));
            }
        }
        Ok(merkle::root_of(&leaves(self.conn, start + 1, 1 << level)?))
    }
}

/// The journal's length, to check sizes against.
fn length(conn: &Connection) -> Result<u64, StoreError> {
    crate::writer::head_seq(conn).map_err(crate::db)
}

fn too_big(what: &'static str, size: u64, head: u64) -> StoreError {
    StoreError::invalid(
        what,
        format!("{what}: the journal has {head} entries; there is no tree of {size}"),
    )
}

/// The root of the first `size` entries.
pub(crate) fn root(conn: &Connection, size: u64) -> Result<Hash, StoreError> {
    let head = length(conn)?;
    if size > head {
        return Err(too_big("size", size, head));
    }
    merkle::root(&mut Kept { conn }, size).map_err(crate::db)
}

/// The inclusion proof of entry `seq` in the tree of `size`.
pub(crate) fn inclusion(conn: &Connection, seq: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
    let head = length(conn)?;
    if size > head {
        return Err(too_big("size", size, head));
    }
    if seq == 0 || seq > size {
        return Err(StoreError::invalid(
            "seq",
            format!("seq: entry {seq} is not in the tree of the first {size} entries"),
        ));
    }
    merkle::inclusion_proof(&mut Kept { conn }, seq - 1, size).map_err(crate::db)
}

/// The consistency proof from the tree of `from` entries to the tree of `to`.
pub(crate) fn consistency(conn: &Connection, from: u64, to: u64) -> Result<Vec<Hash>, StoreError> {
    let head = length(conn)?;
    if to > head {
        return Err(too_big("to", to, head));
    }
    if from == 0 || from > to {
        return Err(StoreError::invalid(
            "from",
            format!("from: a consistency proof goes from 1 to {to} entries, not from {from}"),
        ));
    }
    merkle::consistency_proof(&mut Kept { conn }, from, to).map_err(crate::db)
}

/// Subtree hashes for proofs of many entries: below the kept level, each tile's 256 chain hashes
/// are read once (a proof visits tiles left to right) rather than once per subtree.
struct Tiled<'a> {
    conn: &'a Connection,
    size: u64,
    tile: Option<(u64, Vec<Hash>)>,
}

impl Subtrees for Tiled<'_> {
    type Error = rusqlite::Error;

    fn perfect(&mut self, start: u64, level: u32) -> rusqlite::Result<Hash> {
        if level >= TILE_LEVEL {
            return Kept { conn: self.conn }.perfect(start, level);
        }
        let first = start - start % TILE;
        if self.tile.as_ref().is_none_or(|(at, _)| *at != first) {
            let n = TILE.min(self.size - first);
            self.tile = Some((first, leaves(self.conn, first + 1, n)?));
        }
        let (_, tile) = self.tile.as_ref().expect("the tile was just read");
        let from = (start - first) as usize;
        let to = from + (1usize << level);
        match tile.get(from..to) {
            Some(leaves) => Ok(merkle::root_of(leaves)),
            None => Err(missing(first + tile.len() as u64 + 1)),
        }
    }
}

/// The leaf ranges of a batch proof of the entries in `seqs` (sorted, disjoint ranges of seqs)
/// in the tree of `size`, once they are checked against the journal.
pub(crate) fn batch_leaves(
    conn: &Connection,
    seqs: &[std::ops::Range<u64>],
    size: u64,
) -> Result<Vec<std::ops::Range<u64>>, StoreError> {
    let head = length(conn)?;
    if size > head {
        return Err(too_big("size", size, head));
    }
    let well_formed = seqs.windows(2).all(|w| w[0].end <= w[1].start)
        && seqs.iter().all(|r| 1 <= r.start && r.start < r.end)
        && seqs.last().is_none_or(|r| r.end <= size + 1);
    if !well_formed {
        return Err(StoreError::invalid(
            "seqs",
            format!("seqs: a proof is of sorted, distinct entries of the tree of {size}"),
        ));
    }
    Ok(seqs.iter().map(|r| r.start - 1..r.end - 1).collect())
}

/// The hashes of a batch proof within the subtree `[lo, hi)` of the tree of `size` (see
/// [`merkle::batch_proof_within`]).
pub(crate) fn batch_within(
    conn: &Connection,
    leaves: &[std::ops::Range<u64>],
    lo: u64,
    hi: u64,
    size: u64,
) -> Result<Vec<Hash>, StoreError> {
    let mut tiles = Tiled {
        conn,
        size,
        tile: None,
    };
    merkle::batch_proof_within(&mut tiles, leaves, lo, hi).map_err(crate::db)
}

const CHECKPOINT_COLUMNS: &str = "size, root, signed_at, key_id, signature";

fn checkpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<Checkpoint> {
    let size = r.get::<_, i64>(0)? as u64;
    Ok(Checkpoint {
        size,
        root: to_hash(r.get(1)?, || format!("the root of checkpoint {size}"))?,
        signed_at: sql::from_micros(r.get(2)?),
        key_id: r.get(3)?,
        signature: r.get(4)?,
    })
}

/// Keeps a checkpoint and queues its publication to `publish_to`, in one transaction; one of
/// the same size already kept is a conflict.
pub(crate) fn add_checkpoint(
    conn: &Connection,
    cp: &Checkpoint,
    publish_to: &[String],
) -> Result<(), StoreError> {
    if cp.size > i64::MAX as u64 {
        return Err(StoreError::invalid("size", "size: beyond any journal"));
    }
    let tx = conn.unchecked_transaction().map_err(crate::db)?;
    let added = tx
        .execute(
            &format!(
                "INSERT INTO checkpoints ({CHECKPOINT_COLUMNS}) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (size) DO NOTHING"
            ),
            params![
                cp.size as i64,
                cp.root.as_slice(),
                cp.signed_at.timestamp_micros(),
                cp.key_id,
                cp.signature
            ],
        )
        .map_err(crate::db)?;
    if added == 0 {
        return Err(StoreError::Conflict {
            message: format!("a checkpoint at size {} is already kept", cp.size),
            index: None,
        });
    }
    let at = cp.signed_at.timestamp_micros();
    for channel in publish_to {
        tx.prepare_cached(
            "INSERT INTO alert_deliveries (rule, channel, kind, seqs, matches, status, attempts, \
             sending, due_at, next_at, created_at) \
             VALUES ('', ?, 'checkpoint', ?, 0, 'pending', 0, 0, ?, ?, ?)",
        )
        .and_then(|mut s| s.execute(params![channel, format!("[{}]", cp.size), at, at, at]))
        .map_err(crate::db)?;
    }
    tx.commit().map_err(crate::db)
}

/// The roots of the whole subtrees on the right edge of the tree of `size` entries, largest
/// first: what a tree of `size` leaves is extended from.
pub(crate) fn frontier(conn: &Connection, size: u64) -> Result<Vec<Hash>, StoreError> {
    let head = length(conn)?;
    if size > head {
        return Err(too_big("size", size, head));
    }
    let mut out = Vec::new();
    let mut start = 0u64;
    for level in (0..64).rev() {
        if size & (1 << level) != 0 {
            out.push(Kept { conn }.perfect(start, level).map_err(crate::db)?);
            start += 1 << level;
        }
    }
    Ok(out)
}

/// The chain hashes of the entries from seq `from`, at most `limit`, in seq order.
pub(crate) fn chain_hashes(
    conn: &Connection,
    from: u64,
    limit: usize,
) -> Result<Vec<Hash>, StoreError> {
    let from = from.max(1);
    if from > i64::MAX as u64 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare_cached("SELECT seq, hash FROM events WHERE seq >= ? ORDER BY seq LIMIT ?")
        .map_err(crate::db)?;
    let rows = stmt
        .query_map(params![from as i64, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
        })
        .map_err(crate::db)?;
    let mut out = Vec::new();
    for row in rows {
        let (seq, hash) = row.map_err(crate::db)?;
        if seq as u64 != from + out.len() as u64 {
            return Err(crate::db(missing(from + out.len() as u64)));
        }
        out.push(to_hash(hash, || format!("the hash of entry {seq}")).map_err(crate::db)?);
    }
    Ok(out)
}

/// Checkpoints of more than `after` entries, smallest first, at most `limit`.
pub(crate) fn checkpoints(
    conn: &Connection,
    after: u64,
    limit: usize,
) -> Result<Vec<Checkpoint>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {CHECKPOINT_COLUMNS} FROM checkpoints WHERE size > ? ORDER BY size LIMIT ?"
        ))
        .map_err(crate::db)?;
    let rows = stmt
        .query_map(params![after as i64, limit as i64], checkpoint)
        .map_err(crate::db)?;
    rows.collect::<rusqlite::Result<_>>().map_err(crate::db)
}

/// The newest checkpoint.
pub(crate) fn latest_checkpoint(conn: &Connection) -> Result<Option<Checkpoint>, StoreError> {
    conn.query_row(
        &format!("SELECT {CHECKPOINT_COLUMNS} FROM checkpoints ORDER BY size DESC LIMIT 1"),
        [],
        checkpoint,
    )
    .optional()
    .map_err(crate::db)
}

/// The kept hashes of these whole subtrees (start, level), for `vigil verify` to compare with
/// the ones it computes.
pub(crate) fn nodes(
    conn: &Connection,
    which: &[(u64, u32)],
) -> Result<Vec<Option<Hash>>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT hash FROM merkle_nodes WHERE id = ?")
        .map_err(crate::db)?;
    which
        .iter()
        .map(|&(start, level)| {
            let h = stmt
                .query_row([node_id(start, level)], |r| r.get::<_, Vec<u8>>(0))
                .optional()
                .map_err(crate::db)?;
            // A hash of the wrong length is as good as a wrong one: verify names it.
            Ok(h.map(|h| h.try_into().unwrap_or([0; 32])))
        })
        .collect()
}
