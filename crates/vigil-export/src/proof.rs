//! Exports that prove themselves: what an NDJSON or JSON export carries so that anyone holding
//! the store's public key can check, without the store, that each row is an entry of the journal
//! exactly as it was stored (see [`check`]); and the check of a CSV or XLSX export against the
//! NDJSON or JSON export of the same rows ([`same_rows`]).
//!
//! The proof is one object: the signed checkpoint the export was cut against, the chain hash of
//! the entry before each row whose predecessor is not in the file (a row's hash is
//! `SHA-256(previous hash ‖ canonical form)`), and the batch proof
//! ([`vigil_core::merkle::batch_proof`]) that the rows' hashes are leaves of the checkpoint's
//! tree. NDJSON carries it as its last line, `{"proof":{…}}`; JSON as the `proof` member after
//! `about`.

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use vigil_core::checkpoint::{Checkpoint, PublicKey};
use vigil_core::merkle::{self, Hash};
use vigil_core::StoredEvent;

use crate::{About, Context, Exporter, Format, Row};

/// The version of the proof's layout.
pub const VERSION: &str = "vigil export proof v1";

/// What an NDJSON or JSON export carries so that it proves itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportProof {
    /// [`VERSION`].
    pub version: String,
    /// The signed checkpoint the rows are proved against.
    pub checkpoint: SignedText,
    /// `[seq, hash]`: the chain hash (hex) of entry `seq - 1`, for each row whose predecessor
    /// is not in the file (none for seq 1), by seq.
    pub prev: Vec<(u64, HexHash)>,
    /// The batch proof's hashes (hex), left to right.
    pub nodes: Vec<HexHash>,
}

/// A hash, written as 64 hex digits. Kept as its 32 bytes: a scattered selection's proof has
/// hundreds of thousands of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HexHash(pub Hash);

impl Serialize for HexHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = [0u8; 64];
        hex::encode_to_slice(self.0, &mut text).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(std::str::from_utf8(&text).map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for HexHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Hex;
        impl serde::de::Visitor<'_> for Hex {
            type Value = HexHash;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a hash: 64 hex digits")
            }

            // The text read is never repeated in the error: a hostile file's would be as long
            // as the file.
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<HexHash, E> {
                vigil_core::chain::decode(text).map(HexHash).ok_or_else(|| {
                    E::custom(format!(
                        "a hash of {} characters that is not 64 hex digits",
                        text.chars().count()
                    ))
                })
            }
        }
        deserializer.deserialize_str(Hex)
    }
}

/// A checkpoint with the exact text its signature is over (for checks with OpenSSL alone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedText {
    /// The checkpoint.
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
    /// What is signed.
    pub text: String,
}

impl ExportProof {
    /// The proof of rows under `checkpoint`, from what the store gives.
    pub fn new(checkpoint: Checkpoint, prev: Vec<(u64, Hash)>, nodes: Vec<Hash>) -> Self {
        ExportProof {
            version: VERSION.into(),
            checkpoint: SignedText {
                text: checkpoint.text(),
                checkpoint,
            },
            prev: prev.into_iter().map(|(s, h)| (s, HexHash(h))).collect(),
            nodes: nodes.into_iter().map(HexHash).collect(),
        }
    }
}

/// What [`check`] found in a file that proves itself.
#[derive(Debug, Clone, Serialize)]
pub struct Proven {
    /// NDJSON or JSON.
    pub format: Format,
    /// Rows in the file.
    pub rows: u64,
    /// Their seqs, lowest and highest (none without rows).
    pub seqs: Option<(u64, u64)>,
    /// The checkpoint the rows are proved against (its signature checked).
    pub checkpoint: Checkpoint,
    /// SHA-256 of the rows in NDJSON form (the About's `sha256`).
    pub sha256: String,
    /// The About (inside a JSON file; beside an NDJSON file as `FILE.about.json`, if there).
    pub about: Option<About>,
}

/// One row as an NDJSON or JSON export writes it.
#[derive(Deserialize)]
struct RowIn {
    #[serde(flatten)]
    entry: StoredEvent,
    #[serde(default)]
    marks: Vec<String>,
    #[serde(default)]
    comments: u64,
}

/// The seq and hash of a row (the first pass reads no more).
#[derive(Deserialize)]
struct Key {
    seq: u64,
    hash: String,
}

/// A file's rows, one JSON text each, and what follows them.
struct Lines {
    format: Format,
    reader: Box<dyn BufRead>,
    line: String,
    /// The row number of the last row read (1-based).
    row: u64,
    /// What came after the rows: the proof line (NDJSON) or the rest of the object (JSON).
    tail: Option<String>,
}

impl Lines {
    fn open(path: &Path) -> Result<Lines, String> {
        let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let mut reader: Box<dyn BufRead> =
            Box::new(std::io::BufReader::with_capacity(1 << 20, file));
        let start = reader.fill_buf().map_err(|e| e.to_string())?;
        let format = if start.starts_with(b"{\"events\":[") {
            let mut first = String::new();
            reader.read_line(&mut first).map_err(|e| e.to_string())?;
            if first.trim_end() != "{\"events\":[" {
                return Err("a JSON export starts with {\"events\":[ on a line of its own: this file was rewritten".into());
            }
            Format::Json
        } else {
            Format::Ndjson
        };
        Ok(Lines {
            format,
            reader,
            line: String::new(),
            row: 0,
            tail: None,
        })
    }

    /// The next row's number (from 1) and JSON text, or `None` after the last.
    fn next(&mut self) -> Result<Option<(u64, &str)>, String> {
        if self.tail.is_some() {
            return Ok(None);
        }
        self.line.clear();
        let n = self
            .reader
            .read_line(&mut self.line)
            .map_err(|e| format!("reading row {}: {e}", self.row + 1))?;
        if n == 0 {
            if self.format == Format::Json {
                return Err("the JSON export ends before its rows do: the file was cut".into());
            }
            return Ok(None);
        }
        if !self.line.ends_with('\n') {
            return Err(format!(
                "row {} does not end with a newline: the file was cut or changed",
                self.row + 1
            ));
        }
        self.line.pop();
        let text = match self.format {
            Format::Ndjson if self.line.starts_with("{\"proof\":") => {
                self.tail = Some(std::mem::take(&mut self.line));
                let more = self.reader.fill_buf().map_err(|e| e.to_string())?;
                if !more.is_empty() {
                    return Err("the NDJSON export goes on after its proof, the last line".into());
                }
                return Ok(None);
            }
            Format::Json if self.line == "]," => {
                let mut rest = String::from("{");
                self.reader
                    .read_to_string(&mut rest)
                    .map_err(|e| e.to_string())?;
                self.tail = Some(rest);
                return Ok(None);
            }
            Format::Json => self.line.strip_suffix(',').unwrap_or(&self.line),
            _ => &self.line,
        };
        self.row += 1;
        Ok(Some((self.row, text)))
    }
}

/// Checks an NDJSON or JSON export that carries its proof, with the store's public `keys`
/// (those it has signed with): that the checkpoint is signed by one of them, that each row's
/// fields give its hash from the hash before it, that the rows' hashes are entries of the
/// checkpoint's tree (so each row is an entry of the journal at its seq, exactly as stored), and
/// that the rows agree with the file's About (their count, digest and order). The error names
/// the first thing wrong, in words.
///
/// It does not prove that no row was left out of the query's answer (a file with rows removed
/// and its proof and About recomputed is a true selection of the journal, but a smaller one):
/// the About's `sha256` and `rows` are recorded in the export's own journal entry
/// (`journal_entry`), which the store's `vigil verify` and proofs cover. Marks and comment
/// counts are not under the entries' hashes.
pub fn check(path: &Path, keys: &[PublicKey]) -> Result<Proven, String> {
    // First pass: each row's seq and hash, so that a row's predecessor is found wherever it is
    // in the file.
    let mut hashes: HashMap<u64, Hash> = HashMap::new();
    let mut lines = Lines::open(path)?;
    // A row without a hash (the file was made for a masked reader) is named once the rest of
    // the file has said whether it carries a proof at all.
    let mut no_hash = None;
    while let Some((row, text)) = lines.next()? {
        let key: Key = serde_json::from_str(text)
            .map_err(|e| format!("row {row} is not an entry with a seq and a hash: {e}"))?;
        if key.seq == 0 {
            return Err(format!("row {row} has seq 0: no entry has it"));
        }
        let Some(hash) = vigil_core::chain::decode(&key.hash) else {
            no_hash.get_or_insert((row, key.seq));
            continue;
        };
        if hashes.insert(key.seq, hash).is_some() {
            return Err(format!("row {row}: entry {} is in the file twice", key.seq));
        }
    }
    let format = lines.format;
    let (proof, about) = match (format, lines.tail.take()) {
        (Format::Ndjson, Some(line)) => {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Line {
                proof: ExportProof,
            }
            let line: Line = serde_json::from_str(&line)
                .map_err(|e| format!("the proof (the last line) does not read: {e}"))?;
            let sidecar = crate::sidecar_path(path);
            let about =
                match std::fs::read(&sidecar) {
                    Ok(bytes) => Some(serde_json::from_slice::<About>(&bytes).map_err(|e| {
                        format!("{} is not an export's About: {e}", sidecar.display())
                    })?),
                    Err(_) => None,
                };
            (line.proof, about)
        }
        (Format::Json, Some(rest)) => {
            // Nothing else may follow the rows: a second `events` would be what most JSON
            // readers take (the last of a repeated member).
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Tail {
                about: About,
                proof: Option<ExportProof>,
            }
            let tail: Tail = serde_json::from_str(&rest)
                .map_err(|e| format!("the About and proof after the rows do not read: {e}"))?;
            match tail.proof {
                Some(p) => (p, Some(tail.about)),
                None => {
                    return Err(format!(
                        "the file carries no proof{}",
                        tail.about
                            .no_proof
                            .map_or(String::new(), |why| format!(": {why}"))
                    ))
                }
            }
        }
        _ => {
            let why = std::fs::read(crate::sidecar_path(path))
                .ok()
                .and_then(|b| serde_json::from_slice::<About>(&b).ok())
                .and_then(|a| a.no_proof);
            return Err(format!(
                "the file carries no proof (an NDJSON export's last line){}",
                why.map_or(String::new(), |w| format!(": {w}"))
            ));
        }
    };
    if let Some((row, seq)) = no_hash {
        return Err(format!(
            "row {row} (entry {seq}) has no hash: the file was made for a reader who sees some \
             entries masked, and proves nothing"
        ));
    }
    if proof.version != VERSION {
        return Err(format!(
            "the proof is {:?}; this vigil reads {VERSION:?}",
            proof.version
        ));
    }
    let cp = &proof.checkpoint.checkpoint;
    let key = keys.iter().find(|k| k.id() == cp.key_id).ok_or_else(|| {
        format!(
            "the checkpoint is signed by key {}, which is not a key given (--key)",
            cp.key_id
        )
    })?;
    key.verify(cp)
        .map_err(|e| format!("the checkpoint of {} entries: {e}", cp.size))?;
    if proof.checkpoint.text != cp.text() {
        return Err("the checkpoint's text is not what its size, root, time and key say".into());
    }
    let mut prev: HashMap<u64, Hash> = HashMap::new();
    for &(seq, HexHash(h)) in &proof.prev {
        if !hashes.contains_key(&seq) || seq == 1 || hashes.contains_key(&(seq - 1)) {
            return Err(format!(
                "the proof gives the hash before entry {seq}, which the file does not need: a row \
                 was removed or the proof was changed"
            ));
        }
        prev.insert(seq, h);
    }
    // Second pass: each row's content against its hash, the rows' digest and order.
    // The order is the About's; without one, whichever the first two rows show.
    let mut newest_first = about.as_ref().map(|a| !a.order.starts_with("oldest"));
    let mut digest = Sha256::new();
    let mut last: Option<(i64, u64)> = None;
    let mut again = Vec::with_capacity(4096);
    let mut lines = Lines::open(path)?;
    while let Some((row, text)) = lines.next()? {
        digest.update(text.as_bytes());
        digest.update(b"\n");
        let parsed: RowIn = serde_json::from_str(text)
            .map_err(|e| format!("row {row} is not an entry as Vigil exports it: {e}"))?;
        // The line must be exactly what Vigil writes for these values: no member added, no
        // value written another way (an offset on a time, an IP spelt otherwise).
        again.clear();
        crate::json_out::write_row(
            &mut again,
            &Row {
                entry: &parsed.entry,
                marks: &parsed.marks,
                comments: parsed.comments,
            },
        )
        .map_err(|e| e.to_string())?;
        if again != text.as_bytes() {
            return Err(format!(
                "row {row} (entry {}): not as Vigil wrote it: a member was added or a value \
                 written another way",
                parsed.entry.seq
            ));
        }
        let e = &parsed.entry;
        let before = if e.seq == 1 {
            vigil_core::chain::GENESIS
        } else if let Some(h) = hashes.get(&(e.seq - 1)).or_else(|| prev.get(&e.seq)) {
            *h
        } else {
            return Err(format!(
                "row {row} (entry {}): the hash of the entry before it is neither in the file nor \
                 in the proof",
                e.seq
            ));
        };
        let computed = vigil_core::chain::link_stored(
            &before,
            &e.event,
            e.seq,
            &e.received_at,
            e.salt.as_ref(),
        );
        if hex::encode(computed) != e.hash {
            return Err(format!(
                "row {row} (entry {}): content changed: its fields do not give its hash",
                e.seq
            ));
        }
        let at = (e.event.occurred_at.timestamp_micros(), e.seq);
        if let Some(l) = last {
            let newest = *newest_first.get_or_insert(at < l);
            if (newest && at > l) || (!newest && at < l) {
                return Err(format!(
                    "row {row} (entry {}) is out of the file's order ({})",
                    e.seq,
                    if newest {
                        "newest first"
                    } else {
                        "oldest first"
                    }
                ));
            }
        }
        last = Some(at);
    }
    let rows = lines.row;
    let mut leaves: Vec<(u64, Hash)> = hashes
        .iter()
        .map(|(seq, h)| (seq - 1, merkle::leaf(h)))
        .collect();
    leaves.sort_unstable_by_key(|(i, _)| *i);
    let nodes: Vec<Hash> = proof.nodes.iter().map(|h| h.0).collect();
    if !leaves.is_empty() {
        merkle::verify_batch(&leaves, cp.size, &nodes, &cp.root).map_err(|e| {
            format!(
                "the rows are not entries of the journal under the checkpoint of {} entries: {e}",
                cp.size
            )
        })?;
    } else if !nodes.is_empty() {
        return Err("the proof has hashes but the file has no rows".into());
    }
    let sha256 = hex::encode(digest.finalize());
    if let Some(about) = &about {
        if about.rows != rows {
            return Err(format!(
                "the About says {} rows; the file has {rows}",
                about.rows
            ));
        }
        if about.sha256 != sha256 {
            return Err("the rows' SHA-256 is not the About's: a row was changed".into());
        }
        if about.checkpoint != Some(cp.size) {
            return Err(format!(
                "the About names the checkpoint of {:?} entries; the proof is against {}",
                about.checkpoint, cp.size
            ));
        }
        if about.journal_seq.is_some_and(|seq| seq > cp.size) {
            return Err("the checkpoint is older than the export".into());
        }
    }
    Ok(Proven {
        format,
        rows,
        seqs: leaves
            .first()
            .zip(leaves.last())
            .map(|(a, b)| (a.0 + 1, b.0 + 1)),
        checkpoint: cp.clone(),
        sha256,
        about,
    })
}

/// Checks that a CSV or XLSX export holds exactly the rows of an NDJSON or JSON export of the
/// same query (checked by [`check`] first): its rows are written again from those and compared
/// (CSV byte for byte, XLSX the Entries sheet's XML), and its About's `sha256` (beside a CSV
/// file, inside an XLSX file) must be theirs. The error names the first row that differs.
pub fn same_rows(file: &Path, format: Format, proven: &Path) -> Result<u64, String> {
    let named = |e: std::io::Error| format!("{}: {e}", file.display());
    let mut lines = Lines::open(proven)?;
    let mut head = [0u8; 3];
    let bom = std::fs::File::open(file)
        .and_then(|mut f| f.read(&mut head))
        .map_err(named)?
        == 3
        && head == *"\u{feff}".as_bytes();
    let mut context = Context::new("", "", chrono::Utc::now());
    context.bom = bom;
    // Written again as it is read: CSV straight against the file; XLSX into a file of its own,
    // then compared part by part. Memory stays flat whatever the size.
    let out = match format {
        Format::Csv => Again::Csv(Comparing::new(std::fs::File::open(file).map_err(named)?)),
        Format::Xlsx => Again::Xlsx(tempfile::tempfile().map_err(|e| e.to_string())?),
        _ => return Err("only CSV and XLSX files are checked against another export".into()),
    };
    let mut again = Exporter::new(format, out, context).map_err(|e| e.to_string())?;
    while let Some((n, text)) = lines.next()? {
        let row: RowIn = serde_json::from_str(text)
            .map_err(|e| format!("row {n} of the proved file does not read: {e}"))?;
        let written = again.write(&Row {
            entry: &row.entry,
            marks: &row.marks,
            comments: row.comments,
        });
        if let Err(e) = written {
            return Err(differs(e.to_string()));
        }
    }
    let rows = lines.row;
    let (written, about) = again.finish().map_err(|e| differs(e.to_string()))?;
    let theirs = match written {
        Again::Csv(comparing) => {
            comparing.done()?;
            let sidecar = crate::sidecar_path(file);
            std::fs::read(&sidecar)
                .ok()
                .and_then(|b| serde_json::from_slice::<About>(&b).ok())
        }
        Again::Xlsx(mut mine) => {
            std::io::Seek::rewind(&mut mine).map_err(|e| e.to_string())?;
            let found = std::fs::File::open(file).map_err(named)?;
            let budget = found.metadata().map_err(named)?.len().saturating_mul(64) + (1 << 20);
            crate::xlsx::same_parts(found, mine, budget, &about.sha256)
                .map_err(|e| format!("{}: {e}", file.display()))?;
            None
        }
    };
    if let Some(theirs) = theirs {
        if theirs.sha256 != about.sha256 {
            return Err(
                "the file's About gives another SHA-256 of the rows than the proved rows'".into(),
            );
        }
    }
    Ok(rows)
}

/// What a CSV comparison's error says, from the comparer's own message.
fn differs(e: String) -> String {
    e.strip_prefix("writing the export failed: ")
        .map(str::to_owned)
        .unwrap_or(e)
}

/// Where a file is written again: compared with the CSV file as it goes, or into a file of its
/// own for a workbook.
enum Again {
    Csv(Comparing),
    Xlsx(std::fs::File),
}

impl std::io::Write for Again {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Again::Csv(c) => c.write(buf),
            Again::Xlsx(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Again::Csv(c) => c.flush(),
            Again::Xlsx(f) => f.flush(),
        }
    }
}

/// Compares what is written with a file, byte by byte: the first difference is an error that
/// names its byte and line.
struct Comparing {
    file: std::io::BufReader<std::fs::File>,
    at: u64,
    lines: u64,
    chunk: Vec<u8>,
}

impl Comparing {
    fn new(file: std::fs::File) -> Self {
        Comparing {
            file: std::io::BufReader::with_capacity(1 << 20, file),
            at: 0,
            lines: 0,
            chunk: Vec::new(),
        }
    }

    fn difference(&self, at: u64) -> std::io::Error {
        std::io::Error::other(if self.lines == 0 {
            format!("the CSV file's header differs from Vigil's, at byte {at}")
        } else {
            format!(
                "the CSV file differs from the proved rows at byte {at} (line {})",
                self.lines + 1
            )
        })
    }
}

impl std::io::Write for Comparing {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.chunk.resize(buf.len(), 0);
        let mut got = 0;
        while got < buf.len() {
            match self.file.read(&mut self.chunk[got..])? {
                0 => break,
                n => got += n,
            }
        }
        for (i, (a, b)) in buf.iter().zip(&self.chunk[..got]).enumerate() {
            if a != b {
                return Err(self.difference(self.at + i as u64));
            }
            if *a == b'\n' {
                self.lines += 1;
            }
        }
        if got < buf.len() {
            return Err(self.difference(self.at + got as u64));
        }
        self.at += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Comparing {
    /// The file must end where what was written does.
    fn done(mut self) -> Result<(), String> {
        let more = self.file.fill_buf().map_err(|e| e.to_string())?;
        if more.is_empty() {
            Ok(())
        } else {
            Err(self.difference(self.at).to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_read_and_write_as_64_hex_digits_and_a_bad_one_is_not_echoed() {
        let h = HexHash([0xab; 32]);
        let text = serde_json::to_string(&h).unwrap();
        assert_eq!(text, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<HexHash>(&text).unwrap(), h);
        // Upper case reads too, as the hex crate decodes it.
        let upper = format!("\"{}\"", "AB".repeat(32));
        assert_eq!(serde_json::from_str::<HexHash>(&upper).unwrap(), h);
        for bad in ["ab".repeat(31), "zz".repeat(32), "\u{300}".repeat(100_000)] {
            let e = serde_json::from_str::<HexHash>(&serde_json::to_string(&bad).unwrap())
                .unwrap_err()
                .to_string();
            assert!(e.contains("is not 64 hex digits"), "{e}");
            assert!(e.len() < 120, "the hostile text is not repeated: {e}");
        }
        assert!(
            serde_json::from_str::<HexHash>("12").is_err(),
            "a number is no hash"
        );
    }
}
