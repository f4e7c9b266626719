//! RFC 4180 CSV: UTF-8, CRLF line ends, fields quoted when they must be, text cells neutralized
//! against formulas, an optional byte-order mark.

use std::io::Write;

use crate::hashing::Hashing;

use crate::cell::neutralize;
use crate::columns::{cells, Cell, HEADERS};
use crate::{ExportError, Row};

pub(crate) struct CsvOut<W: Write> {
    csv: csv::Writer<Hashing<W>>,
    number: itoa_buffer::Buffer,
}

impl<W: Write> CsvOut<W> {
    pub(crate) fn new(out: W, bom: bool) -> Result<Self, ExportError> {
        let mut out = Hashing::new(out);
        if bom {
            out.write_all("\u{feff}".as_bytes())?;
        }
        let mut csv = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .quote_style(csv::QuoteStyle::Necessary)
            .buffer_capacity(256 * 1024)
            .from_writer(out);
        csv.write_record(HEADERS)?;
        Ok(CsvOut {
            csv,
            number: itoa_buffer::Buffer::default(),
        })
    }

    pub(crate) fn write(&mut self, row: &Row<'_>) -> Result<(), ExportError> {
        for cell in cells(row)? {
            match cell {
                Cell::Empty => self.csv.write_field("")?,
                Cell::Number(n) => self.csv.write_field(self.number.format(n))?,
                Cell::Text(t) => self.csv.write_field(neutralize(&t).as_bytes())?,
                Cell::Time(t) => self
                    .csv
                    .write_field(vigil_core::event::micros::format(&t))?,
            }
        }
        self.csv.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// Flushes and returns the destination with the SHA-256 of every byte written to it.
    pub(crate) fn finish(self) -> Result<(W, String), ExportError> {
        let mut out = self
            .csv
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
