//! How an entry is kept in the journal's `body` column: every field but its seq, id, receipt time
//! and hash, in a compact binary form, compressed with zstd and a dictionary trained on the
//! journal's own entries (about 70 bytes for an entry of 340; 5× smaller than its columns were).
//!
//! The hash chain is over the canonical encoding ([`vigil_core::chain`]), rebuilt from the fields
//! when an entry is read, so how the body is stored never changes what `vigil verify` checks.
//!
//! - **Raw form**: `occurred_at` as 8 bytes little-endian, then the text fields in the order of
//!   [`FIELD_NAMES`], each as a varint of its length + 1 (0 for absent) and its UTF-8 bytes. The
//!   twentieth, `sender` (schema 8), is left out when absent and nothing follows: bodies written
//!   before it read the same. The six after it (schema 10: `on_behalf_of`, `correlation_id`,
//!   `source_seq` in decimal, `stream`) are written only when the entry has one of them.
//! - **Stored form**: a varint naming the dictionary (0: the raw form follows as is), then for a
//!   dictionary a zstd frame without magic number, content size, dictionary id or checksum (the
//!   chain hash covers the content).
//! - **Dictionaries** live in the append-only table `dictionaries` and are never changed; a new
//!   one is trained from the newest entries (at most 20,000 of them, 6.4 MB) when the journal
//!   reaches 2,000, 20,000, 200,000 and 2M entries and then every 10M (the writer commits it before any body uses it; until the
//!   first, bodies are stored raw).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use rusqlite::{Connection, OptionalExtension};
use vigil_core::{EntryView, Event};
use zstd::zstd_safe::{self, CCtx, CParameter, DCtx, DDict};

/// The text fields of the raw form, in order.
pub const FIELD_NAMES: [&str; FIELDS] = [
    "actor_id",
    "actor_name",
    "actor_role",
    "actor_kind",
    "action",
    "kind",
    "section",
    "severity",
    "outcome",
    "target_type",
    "target_id",
    "target_name",
    "changes",
    "ip",
    "user_agent",
    "session_id",
    "request_id",
    "reason",
    "details",
    "sender",
    "behalf_type",
    "behalf_id",
    "behalf_name",
    "correlation_id",
    "source_seq",
    "stream",
];

/// How many text fields a raw form has at most.
pub const FIELDS: usize = 26;
/// The position of `sender`: a body from before senders ends before it.
pub const SENDER: usize = 19;
/// The position of the first field of schema 10: a body without them ends before it.
pub const EXTENDED: usize = 20;

/// zstd's level for bodies: its default, fast enough to keep up with ingest on the writer.
const LEVEL: i32 = 3;
/// The largest dictionary trained.
const DICTIONARY_BYTES: usize = 64 * 1024;
/// At most how many of the newest entries a dictionary is trained on.
pub const TRAINING_SAMPLES: usize = 20_000;
/// At most how many bytes of them (zstd advises about 100 times the dictionary).
const TRAINING_BYTES: usize = 100 * DICTIONARY_BYTES;
/// Entries larger than this teach a dictionary little: left out of the training.
const LARGEST_SAMPLE: usize = 16 * 1024;
/// The largest raw form accepted when reading (an event is at most 64 KiB as JSON).
const MAX_RAW: usize = 1 << 20;

/// The raw form of an event's fields.
pub fn encode(e: &Event, out: &mut Vec<u8>) {
    let t = e.target.as_ref();
    let changes = e
        .changes
        .as_ref()
        .map(|c| serde_json::to_string(c).expect("JSON serializes"));
    let details = e
        .details
        .as_ref()
        .map(|d| serde_json::to_string(d).expect("JSON serializes"));
    let ip = e.ip.map(|ip| ip.to_string());
    let source_seq = e.source_seq.map(|n| n.to_string());
    let behalf = e.on_behalf_of.as_ref();
    let fields: [Option<&str>; FIELDS] = [
        Some(&e.actor.id),
        e.actor.name.as_deref(),
        e.actor.role.as_deref(),
        e.actor.kind.map(|k| k.as_str()),
        Some(&e.action),
        Some(e.kind.as_str()),
        Some(&e.section),
        Some(e.severity.as_str()),
        Some(e.outcome.as_str()),
        t.map(|t| t.kind.as_str()),
        t.map(|t| t.id.as_str()),
        t.and_then(|t| t.name.as_deref()),
        changes.as_deref(),
        ip.as_deref(),
        e.user_agent.as_deref(),
        e.session_id.as_deref(),
        e.request_id.as_deref(),
        e.reason.as_deref(),
        details.as_deref(),
        e.sender.as_deref(),
        behalf.and_then(|p| p.kind.as_deref()),
        behalf.map(|p| p.id.as_str()),
        behalf.and_then(|p| p.name.as_deref()),
        e.correlation_id.as_deref(),
        source_seq.as_deref(),
        e.stream.as_deref(),
    ];
    encode_fields(e.occurred_at.timestamp_micros(), &fields, out);
}

/// The raw form of a time and text fields in [`FIELD_NAMES`]'s order.
pub fn encode_fields(occurred_at: i64, fields: &[Option<&str>; FIELDS], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(&occurred_at.to_le_bytes());
    // What is absent at the end is not written: the forms of bodies from before senders and
    // before schema 10.
    let written = if fields[EXTENDED..].iter().any(Option::is_some) {
        FIELDS
    } else if fields[SENDER].is_some() {
        EXTENDED
    } else {
        SENDER
    };
    for f in &fields[..written] {
        match f {
            None => out.push(0),
            Some(s) => {
                put_varint(out, s.len() as u64 + 1);
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn take_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(n);
        }
    }
    None
}

/// A body that cannot be read back: the file was changed outside Vigil or is damaged.
#[derive(Debug, thiserror::Error)]
#[error("journal entry seq {seq}: its stored body is damaged ({why}); run vigil verify")]
pub struct Damaged {
    pub seq: u64,
    pub why: String,
}

/// The fields of a raw form: `occurred_at` and the text fields in [`FIELD_NAMES`]'s order.
pub struct Fields<'a> {
    pub occurred_at: i64,
    pub text: [Option<&'a str>; FIELDS],
}

/// Reads a raw form.
pub fn fields(seq: u64, raw: &[u8]) -> Result<Fields<'_>, Damaged> {
    let damaged = |why: &str| Damaged {
        seq,
        why: why.to_owned(),
    };
    let occurred_at = i64::from_le_bytes(
        raw.get(..8)
            .ok_or_else(|| damaged("too short"))?
            .try_into()
            .expect("8 bytes"),
    );
    let mut at = 8;
    let mut text = [None; FIELDS];
    for (i, slot) in text.iter_mut().enumerate() {
        if (i == SENDER || i == EXTENDED) && at == raw.len() {
            // A body without a sender ends after `details`, one without the fields of schema
            // 10 after `sender`.
            break;
        }
        let len = take_varint(raw, &mut at).ok_or_else(|| damaged("truncated"))?;
        if len == 0 {
            continue;
        }
        let end = at
            .checked_add(len as usize - 1)
            .filter(|end| *end <= raw.len())
            .ok_or_else(|| damaged("truncated"))?;
        let s = std::str::from_utf8(&raw[at..end])
            .map_err(|_| damaged(&format!("{} is not UTF-8", FIELD_NAMES[i])))?;
        *slot = Some(s);
        at = end;
    }
    if at != raw.len() {
        return Err(damaged("bytes after the last field"));
    }
    Ok(Fields { occurred_at, text })
}

impl<'a> Fields<'a> {
    /// The entry as a view; the required fields must be there.
    pub fn view(
        &self,
        seq: u64,
        id: uuid::Uuid,
        received_at: i64,
        hash: &'a [u8],
    ) -> Result<EntryView<'a>, Damaged> {
        let f = &self.text;
        let required = |i: usize| {
            f[i].ok_or_else(|| Damaged {
                seq,
                why: format!("{} is missing", FIELD_NAMES[i]),
            })
        };
        let target = match f[9] {
            Some(kind) => Some((kind, required(10)?, f[11])),
            None => None,
        };
        Ok(EntryView {
            seq,
            received_at,
            hash,
            salt: None,
            id,
            occurred_at: self.occurred_at,
            actor_id: required(0)?,
            actor_name: f[1],
            actor_role: f[2],
            actor_kind: f[3],
            action: required(4)?,
            kind: required(5)?,
            section: required(6)?,
            severity: required(7)?,
            outcome: required(8)?,
            target,
            changes: f[12],
            ip: f[13],
            user_agent: f[14],
            session_id: f[15],
            request_id: f[16],
            reason: f[17],
            details: f[18],
            sender: f[19],
            on_behalf_of: match f[21] {
                Some(id) => Some((f[20], id, f[22])),
                None if f[20].is_some() || f[22].is_some() => {
                    return Err(Damaged {
                        seq,
                        why: "behalf_id is missing".into(),
                    })
                }
                None => None,
            },
            correlation_id: f[23],
            source_seq: f[24]
                .map(|n| {
                    // As the writer writes it: digits, no leading zero, within the limit (a
                    // body rewritten as `+5` or `05` reads as damaged, not as 5).
                    let plain = !n.is_empty()
                        && n.bytes().all(|b| b.is_ascii_digit())
                        && (n == "0" || !n.starts_with('0'));
                    plain
                        .then(|| n.parse::<u64>().ok())
                        .flatten()
                        .filter(|v| *v <= vigil_core::validate::MAX_SOURCE_SEQ)
                        .ok_or_else(|| Damaged {
                            seq,
                            why: format!("source_seq {n:?} is not a number the store writes"),
                        })
                })
                .transpose()?,
            stream: f[25],
        })
    }
}

/// The dictionaries of one journal, shared by its writer and readers. Readers load a dictionary
/// they do not know yet (another process trained it) from the table when a body names it.
#[derive(Default)]
pub struct Codec {
    dicts: RwLock<Dicts>,
}

#[derive(Default)]
struct Dicts {
    decoders: HashMap<u64, Arc<DDict<'static>>>,
    /// The newest dictionary: what new bodies are compressed with.
    current: Option<(u64, Arc<Vec<u8>>)>,
    /// The journal's head when the newest was trained (0 without one).
    trained_at: u64,
}

/// The 4 bytes that begin every zstd frame: not stored, put back to read.
const MAGIC: [u8; 4] = zstd_safe::MAGICNUMBER.to_le_bytes();

/// What a writer keeps to compress bodies: its zstd context (holding the dictionary it uses)
/// and buffers.
pub struct Packer {
    cctx: CCtx<'static>,
    raw: Vec<u8>,
    frame: Vec<u8>,
    /// With which dictionary `cctx` is set up.
    using: Option<u64>,
}

impl Default for Packer {
    fn default() -> Self {
        Packer {
            cctx: CCtx::create(),
            raw: Vec::new(),
            frame: Vec::new(),
            using: None,
        }
    }
}

impl Packer {
    /// Sets the context up for a dictionary; false if zstd refuses.
    fn set_up(&mut self, id: u64, dict: &[u8]) -> bool {
        let cctx = &mut self.cctx;
        let set = cctx
            .load_dictionary(dict)
            .and_then(|_| cctx.set_parameter(CParameter::CompressionLevel(LEVEL)))
            .and_then(|_| cctx.set_parameter(CParameter::ContentSizeFlag(false)))
            .and_then(|_| cctx.set_parameter(CParameter::ChecksumFlag(false)))
            .and_then(|_| cctx.set_parameter(CParameter::DictIdFlag(false)));
        self.using = set.is_ok().then_some(id);
        set.is_ok()
    }
}

/// What a reader keeps to decompress bodies: its zstd context and buffers.
pub struct Unpacker {
    dctx: DCtx<'static>,
    frame: Vec<u8>,
    raw: Vec<u8>,
}

impl Default for Unpacker {
    fn default() -> Self {
        Unpacker {
            dctx: DCtx::create(),
            frame: Vec::new(),
            raw: Vec::new(),
        }
    }
}

fn zstd_error(code: zstd_safe::ErrorCode) -> String {
    zstd_safe::get_error_name(code).to_owned()
}

impl Codec {
    /// The journal's dictionaries, read from its table.
    pub fn load(conn: &Connection) -> rusqlite::Result<Codec> {
        let codec = Codec::default();
        let mut stmt = conn.prepare("SELECT id, dict, at_seq FROM dictionaries ORDER BY id")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let id = r.get::<_, i64>(0)? as u64;
            // A row changed outside vigil is left out (the bodies that name it are reported as
            // damaged); it must not keep the journal from opening.
            match (r.get_ref(1)?.as_blob(), r.get::<_, i64>(2)) {
                (Ok(dict), Ok(at_seq)) => codec.install(id, dict.to_vec(), at_seq.max(0) as u64),
                _ => tracing::error!(
                    dictionary = id,
                    "a dictionary of the journal is damaged: run vigil verify"
                ),
            }
        }
        Ok(codec)
    }

    /// Makes a committed dictionary the one new bodies use. A dictionary zstd cannot read (the
    /// file was damaged) is left out: the bodies that name it are reported as damaged.
    pub fn install(&self, id: u64, dict: Vec<u8>, at_seq: u64) {
        let Some(ddict) = DDict::try_create(&dict) else {
            tracing::error!(
                dictionary = id,
                "a dictionary of the journal is damaged: run vigil verify"
            );
            return;
        };
        let mut d = self.dicts.write().expect("dictionaries lock");
        d.decoders.entry(id).or_insert_with(|| Arc::new(ddict));
        if d.current.as_ref().is_none_or(|(cur, _)| *cur < id) {
            d.current = Some((id, Arc::new(dict)));
            d.trained_at = at_seq;
        }
    }

    /// Whether a journal whose head is `head` should train a new dictionary: at 2,000 entries,
    /// then at ten times as many as at the last training, at most 10M more.
    pub fn due(&self, head: u64) -> bool {
        let d = self.dicts.read().expect("dictionaries lock");
        let next = match d.current {
            None => 2_000,
            Some(_) => {
                let at = d.trained_at.max(2_000);
                at.saturating_mul(10).min(at.saturating_add(10_000_000))
            }
        };
        head >= next
    }

    /// The stored form of an event's fields, in `out`.
    pub fn pack(&self, packer: &mut Packer, e: &Event, out: &mut Vec<u8>) {
        let mut raw = std::mem::take(&mut packer.raw);
        encode(e, &mut raw);
        self.pack_raw(packer, &raw, out);
        packer.raw = raw;
    }

    /// The stored form of a raw form, in `out`.
    pub fn pack_raw(&self, packer: &mut Packer, raw: &[u8], out: &mut Vec<u8>) {
        out.clear();
        let current = self
            .dicts
            .read()
            .expect("dictionaries lock")
            .current
            .clone();
        let ready = match &current {
            Some((id, dict)) => packer.using == Some(*id) || packer.set_up(*id, dict),
            None => false,
        };
        let (Some((id, _)), true, true) = (current, ready, raw.len() <= MAX_RAW) else {
            out.push(0);
            out.extend_from_slice(raw);
            return;
        };
        let frame = &mut packer.frame;
        frame.clear();
        frame.reserve(zstd_safe::compress_bound(raw.len()));
        // zstd writes from the buffer's start, hence a buffer of its own.
        match packer.cctx.compress2(&mut *frame, raw) {
            Ok(_) if frame.starts_with(&MAGIC) && frame.len() - 4 < raw.len() => {
                put_varint(out, id);
                out.extend_from_slice(&frame[4..]);
            }
            // Incompressible (or refused): the raw form is smaller and always readable.
            _ => {
                out.push(0);
                out.extend_from_slice(raw);
            }
        }
    }

    /// The raw form of a stored body, in the unpacker's buffer.
    pub fn unpack<'u>(
        &self,
        conn: &Connection,
        unpacker: &'u mut Unpacker,
        seq: u64,
        body: &[u8],
    ) -> Result<&'u [u8], Damaged> {
        let damaged = |why: String| Damaged { seq, why };
        let mut at = 0;
        let id = take_varint(body, &mut at).ok_or_else(|| damaged("empty".into()))?;
        if id == 0 {
            unpacker.raw.clear();
            unpacker.raw.extend_from_slice(&body[at..]);
            return Ok(&unpacker.raw);
        }
        let ddict = self.decoder(conn, id).map_err(damaged)?;
        unpacker.frame.clear();
        unpacker.frame.extend_from_slice(&MAGIC);
        unpacker.frame.extend_from_slice(&body[at..]);
        // Bodies shrink about fivefold: room for sixteen times, else for the largest raw form.
        let mut room = (body.len() * 16).clamp(4096, MAX_RAW);
        loop {
            unpacker.raw.clear();
            unpacker.raw.reserve(room);
            let out = &mut unpacker.raw;
            match unpacker
                .dctx
                .decompress_using_ddict(out, &unpacker.frame, &ddict)
            {
                Ok(_) => return Ok(&unpacker.raw),
                Err(_) if room < MAX_RAW => room = MAX_RAW,
                Err(e) => return Err(damaged(format!("zstd: {}", zstd_error(e)))),
            }
        }
    }

    fn decoder(&self, conn: &Connection, id: u64) -> Result<Arc<DDict<'static>>, String> {
        if let Some(d) = self
            .dicts
            .read()
            .expect("dictionaries lock")
            .decoders
            .get(&id)
        {
            return Ok(d.clone());
        }
        let dict: Option<Vec<u8>> = conn
            .query_row(
                "SELECT dict FROM dictionaries WHERE id = ?",
                [id as i64],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        let dict = dict.ok_or_else(|| format!("dictionary {id} is missing"))?;
        let ddict = Arc::new(
            DDict::try_create(&dict).ok_or_else(|| format!("dictionary {id} is damaged"))?,
        );
        self.dicts
            .write()
            .expect("dictionaries lock")
            .decoders
            .insert(id, ddict.clone());
        Ok(ddict)
    }
}

/// Trains a dictionary from raw forms; `None` when zstd finds nothing to learn (too few or too
/// uniform samples).
pub fn train(samples: &[Vec<u8>]) -> Option<Vec<u8>> {
    if samples.len() < 1000 {
        return None;
    }
    match zstd::dict::from_samples(samples, DICTIONARY_BYTES) {
        Ok(dict) => Some(dict),
        Err(e) => {
            tracing::warn!(error = %e, "could not train a dictionary for the journal's bodies");
            None
        }
    }
}

/// Raw forms to train a dictionary on, newest first, within the limits on their number and
/// bytes.
#[derive(Default)]
pub struct Samples {
    samples: Vec<Vec<u8>>,
    bytes: usize,
}

impl Samples {
    /// Takes a raw form (unless it is too large to teach much); false once there are enough.
    pub fn take(&mut self, raw: &[u8]) -> bool {
        if raw.len() <= LARGEST_SAMPLE {
            self.samples.push(raw.to_vec());
            self.bytes += raw.len();
        }
        self.samples.len() < TRAINING_SAMPLES && self.bytes < TRAINING_BYTES
    }

    pub fn into_inner(self) -> Vec<Vec<u8>> {
        self.samples
    }
}

/// The raw forms of the newest entries up to `head`, to train a dictionary on.
pub fn samples(conn: &Connection, codec: &Codec, head: u64) -> rusqlite::Result<Vec<Vec<u8>>> {
    let mut stmt =
        conn.prepare("SELECT seq, body FROM events WHERE seq <= ? ORDER BY seq DESC LIMIT ?")?;
    let mut rows = stmt.query([head as i64, TRAINING_SAMPLES as i64])?;
    let mut unpacker = Unpacker::default();
    let mut out = Samples::default();
    while let Some(row) = rows.next()? {
        let seq = row.get::<_, i64>(0)? as u64;
        let body = row.get_ref(1)?.as_blob()?;
        // A damaged body is left out of the training; verify names it.
        if let Ok(raw) = codec.unpack(conn, &mut unpacker, seq, body) {
            if !out.take(raw) {
                break;
            }
        }
    }
    Ok(out.into_inner())
}

/// Stores a trained dictionary (in the caller's transaction); its number.
pub fn store(conn: &Connection, dict: &[u8], at_seq: u64, now: i64) -> rusqlite::Result<u64> {
    conn.execute(
        "INSERT INTO dictionaries (dict, at_seq, created_at) VALUES (?, ?, ?)",
        rusqlite::params![dict, at_seq as i64, now],
    )?;
    Ok(conn.last_insert_rowid() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_store::conformance::dataset;

    #[test]
    fn the_raw_form_gives_back_every_field() {
        for (i, mut e) in dataset(200, 3).into_iter().enumerate() {
            // Every other one with a sender; the others end after `details`, as bodies from
            // before senders do.
            if i % 2 == 0 {
                e.sender = Some(["backoffice", "vigil", "clé \"ünïcode\" 🎰"][i % 3].into());
            }
            let mut raw = Vec::new();
            encode(&e, &mut raw);
            let f = fields(1, &raw).unwrap();
            let hash = [7u8; 32];
            let view = f.view(1, e.id, 5, &hash).unwrap();
            let stored = vigil_core::StoredEvent {
                seq: 1,
                received_at: chrono::DateTime::from_timestamp_micros(5).unwrap(),
                hash: hex::encode(hash),
                event: e.clone(),
                salt: None,
            };
            assert_eq!(view, stored.view(&stored.view_parts()));
        }
    }

    /// A `source_seq` is read back only as the writer writes it: `+5`, `05` or a number over
    /// the limit would give another text the same hash.
    #[test]
    fn a_source_seq_not_written_by_the_store_is_damaged() {
        let e = &dataset(1, 4)[0];
        let hash = [7u8; 32];
        for (text, ok) in [
            ("0", true),
            ("5", true),
            ("9007199254740991", true),
            ("+5", false),
            ("05", false),
            ("-1", false),
            ("", false),
            ("9007199254740992", false),
            ("5 ", false),
        ] {
            let mut f: [Option<&str>; FIELDS] = [None; FIELDS];
            f[0] = Some(&e.actor.id);
            f[4] = Some(&e.action);
            f[5] = Some(e.kind.as_str());
            f[6] = Some(&e.section);
            f[7] = Some(e.severity.as_str());
            f[8] = Some(e.outcome.as_str());
            f[24] = Some(text);
            let mut raw = Vec::new();
            encode_fields(0, &f, &mut raw);
            let view = fields(3, &raw)
                .unwrap()
                .view(3, e.id, 5, &hash)
                .map(|v| v.source_seq);
            match ok {
                true => assert_eq!(view.unwrap(), Some(text.parse().unwrap()), "{text:?}"),
                false => assert!(view.is_err(), "{text:?} read as {view:?}"),
            }
        }
    }

    #[test]
    fn a_truncated_or_garbled_raw_form_is_damaged_not_misread() {
        let e = &dataset(1, 4)[0];
        let mut raw = Vec::new();
        encode(e, &mut raw);
        for cut in [0, 5, 9, raw.len() - 1] {
            let err = fields(9, &raw[..cut]).err().expect("damaged");
            assert!(err.to_string().contains("seq 9"), "{err}");
        }
        // A body ends after `details` or after the sender, nowhere else.
        let mut longer = raw.clone();
        longer.extend([1, 1]);
        assert!(fields(9, &longer).is_err());
        let mut cut_sender = raw.clone();
        cut_sender.extend([5, b'a']);
        assert!(fields(9, &cut_sender).is_err());
        let mut bad = raw.clone();
        bad[9] = 0xff; // inside actor_id
        assert!(fields(9, &bad).is_err());
    }

    #[test]
    fn bodies_packed_with_a_trained_dictionary_come_back_and_are_smaller() {
        let events = dataset(3000, 5);
        let samples: Vec<Vec<u8>> = events
            .iter()
            .map(|e| {
                let mut raw = Vec::new();
                encode(e, &mut raw);
                raw
            })
            .collect();
        let dict = train(&samples).expect("a dictionary");
        let codec = Codec::default();
        codec.install(1, dict, 3000);
        let conn = Connection::open_in_memory().unwrap();
        let (mut packer, mut unpacker, mut out) =
            (Packer::default(), Unpacker::default(), Vec::new());
        let (mut raw_total, mut packed_total) = (0, 0);
        for (e, raw) in events.iter().zip(&samples) {
            codec.pack(&mut packer, e, &mut out);
            assert_eq!(out[0], 1, "names the dictionary");
            raw_total += raw.len();
            packed_total += out.len();
            assert_eq!(
                codec.unpack(&conn, &mut unpacker, 1, &out).unwrap(),
                raw.as_slice()
            );
        }
        assert!(
            packed_total * 2 < raw_total,
            "{packed_total} against {raw_total}"
        );
    }
}
