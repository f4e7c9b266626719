//! JSON and NDJSON: each entry as the API gives it, with its marks and comment count; values
//! unchanged.

use std::io::Write;

use serde::Serialize;
use vigil_core::StoredEvent;

use crate::hashing::Hashing;
use crate::{About, ExportError, Row};

#[derive(Serialize)]
struct JsonRow<'a> {
    #[serde(flatten)]
    entry: &'a StoredEvent,
    marks: &'a [String],
    comments: u64,
    /// A sealed entry's salt, last (as [`crate::page`] writes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
}

/// Appends the row's JSON (one line, no newline) to `buf`.
pub(crate) fn write_row(buf: &mut Vec<u8>, row: &Row<'_>) -> Result<(), ExportError> {
    serde_json::to_writer(
        buf,
        &JsonRow {
            entry: row.entry,
            marks: row.marks,
            comments: row.comments,
            salt: row.entry.salt.map(hex::encode),
        },
    )?;
    Ok(())
}

/// `{"events":[` one entry per line `],"about":{…}}`: the About comes last because its row
/// count and digest are known only at the end.
pub(crate) struct JsonOut<W: Write> {
    out: std::io::BufWriter<Hashing<W>>,
    first: bool,
}

impl<W: Write> JsonOut<W> {
    pub(crate) fn new(out: W) -> Result<Self, ExportError> {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, Hashing::new(out));
        out.write_all(b"{\"events\":[")?;
        Ok(JsonOut { out, first: true })
    }

    pub(crate) fn write(&mut self, line: &[u8]) -> Result<(), ExportError> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        self.out.write_all(line)?;
        Ok(())
    }

    /// Ends the file with the About; returns the destination and the file's SHA-256 (which the
    /// About inside the file cannot hold).
    pub(crate) fn finish(
        mut self,
        about: &About,
        proof: Option<&crate::proof::ExportProof>,
    ) -> Result<(W, String), ExportError> {
        self.out.write_all(b"\n],\n\"about\":")?;
        serde_json::to_writer_pretty(&mut self.out, about)?;
        if let Some(proof) = proof {
            self.out.write_all(b",\n\"proof\":")?;
            serde_json::to_writer(&mut self.out, proof)?;
        }
        self.out.write_all(b"}\n")?;
        let hashing = self
            .out
            .into_inner()
            .map_err(|e| ExportError::Io(e.into_error()))?;
        Ok(hashing.finish())
    }
}
