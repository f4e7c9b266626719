//! RFC 4180 CSV: UTF-8, CRLF line ends, fields quoted when they must be, text cells neutralized
//! against formulas, an optional byte-order mark.

use std::io::Write;

use crate::hashing::Hashing;

use crate::cell::neutralize;
use crate::columns::{cells, Cell, HEADERS};
use crate::page::CsvFields;
use crate::{ExportError, Row};

pub(crate) struct CsvOut<W: Write> {
    out: std::io::BufWriter<Hashing<W>>,
    fields: CsvFields,
    /// One record at a time (the header, a row), then handed to `out`.
    record: Vec<u8>,
    number: itoa_buffer::Buffer,
}

impl<W: Write> CsvOut<W> {
    pub(crate) fn new(out: W, bom: bool) -> Result<Self, ExportError> {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, Hashing::new(out));
        if bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        let mut csv = CsvOut {
            out,
            fields: CsvFields::new(),
            record: Vec::with_capacity(4096),
            number: itoa_buffer::Buffer::default(),
        };
        for h in HEADERS {
            csv.fields.field(&mut csv.record, h.as_bytes());
        }
        csv.end_record()?;
        Ok(csv)
    }

    fn end_record(&mut self) -> Result<(), ExportError> {
        self.fields.end(&mut self.record);
        self.out.write_all(&self.record)?;
        self.record.clear();
        Ok(())
    }

    pub(crate) fn write(&mut self, row: &Row<'_>) -> Result<(), ExportError> {
        let (f, r) = (&mut self.fields, &mut self.record);
        for cell in cells(row)? {
            match cell {
                Cell::Empty => f.field(r, b""),
                Cell::Number(n) => f.field(r, self.number.format(n).as_bytes()),
                Cell::Text(t) => f.field(r, neutralize(&t).as_bytes()),
                Cell::Time(t) => f.field(r, vigil_core::event::micros::format(&t).as_bytes()),
            }
        }
        self.end_record()
    }

    /// Writes records already encoded (a page's).
    pub(crate) fn write_encoded(&mut self, records: &[u8]) -> Result<(), ExportError> {
        self.out.write_all(records)?;
        Ok(())
    }

    /// Flushes and returns the destination with the SHA-256 of every byte written to it.
    pub(crate) fn finish(self) -> Result<(W, String), ExportError> {
        let mut out = self
            .out
            .into_inner()
            .map_err(|e| ExportError::Io(e.into_error()))?;
        out.flush()?;
        Ok(out.finish())
    }
}

/// Decimal text of a number without allocating.
mod itoa_buffer {
    #[derive(Default)]
    pub(crate) struct Buffer(String);

    impl Buffer {
        pub(crate) fn format(&mut self, n: u64) -> &str {
            use std::fmt::Write;
            self.0.clear();
            let _ = write!(self.0, "{n}");
            &self.0
        }
    }
}
