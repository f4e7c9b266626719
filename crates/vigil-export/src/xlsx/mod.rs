//! XLSX: sheet "Entries" with a frozen, filtered header row, real date-time cells in UTC and
//! critical entries highlighted, then sheet "About".
//!
//! The workbook is written here rather than by a spreadsheet library so that a million rows
//! stream: each row's XML goes into a buffer ([`sheet::RowXml`]), possibly encoded ahead on
//! another thread ([`crate::PageEncoder`]), the buffers are deflated on every core
//! ([`deflate::Deflater`]) and written into the ZIP container as they come ([`zip::Zip`]). The
//! deflater holds a few chunks of a megabyte or two per thread, whatever the size of the export.
//!
//! Text cells are always string cells, so nothing written here is ever a formula. Those that
//! start like a formula also get Excel's quote prefix (the `'` Excel itself adds when a user
//! types `'=…`): they stay text when someone edits the cell, and their value is unchanged.

mod deflate;
pub(crate) mod sheet;

/// The Entries sheet's part in the workbook.
pub(crate) const SHEET: &str = "xl/worksheets/sheet1.xml";
/// The About sheet's part.
pub(crate) const ABOUT_SHEET: &str = "xl/worksheets/sheet2.xml";

/// The names of a workbook's parts, sorted; a name given twice is refused.
fn part_names<R: std::io::Read + std::io::Seek>(
    zip: &mut ::zip::ZipArchive<R>,
) -> Result<Vec<String>, String> {
    let mut names = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let part = zip
            .by_index_raw(i)
            .map_err(|e| format!("part {i} of the workbook does not read: {e}"))?;
        let name = part
            .name()
            .map_err(|e| format!("part {i} of the workbook has no readable name: {e}"))?
            .into_owned();
        names.push(name);
    }
    names.sort();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(format!("the workbook holds {} twice", w[0]));
    }
    Ok(names)
}

/// Checks that the workbook `found` has exactly the parts of `mine` (the same rows written again
/// by Vigil), each the same once uncompressed, but the About sheet (which must give the rows'
/// `sha256`) and the document's properties (when, and by whom, it was made). Parts are compared
/// as they are uncompressed, at most `budget` bytes of them in all (a zip bomb is refused).
pub(crate) fn same_parts(
    found: std::fs::File,
    mine: std::fs::File,
    budget: u64,
    sha256: &str,
) -> Result<(), String> {
    use std::io::Read;
    let mut found = ::zip::ZipArchive::new(found).map_err(|e| format!("not a workbook: {e}"))?;
    let mut mine = ::zip::ZipArchive::new(mine).map_err(|e| e.to_string())?;
    let names = part_names(&mut found)?;
    if names != part_names(&mut mine)? {
        return Err(format!(
            "the workbook's parts are not those Vigil writes: {names:?}"
        ));
    }
    let too_big = || "the workbook uncompresses to far more than any Vigil writes".to_owned();
    let mut left = budget;
    // The Entries sheet first: a difference there is named by its row.
    let mut order = names.clone();
    order.sort_by_key(|n| n != SHEET);
    for name in order {
        if name == "docProps/core.xml" {
            continue;
        }
        let theirs = found
            .by_name(&name)
            .map_err(|e| format!("the workbook's {name} does not read: {e}"))?;
        let mut theirs = theirs.take(left + 1);
        if name == ABOUT_SHEET {
            let mut about = Vec::new();
            theirs
                .read_to_end(&mut about)
                .map_err(|e| format!("the workbook's {name} does not read: {e}"))?;
            if about.len() as u64 > left {
                return Err(too_big());
            }
            left -= about.len() as u64;
            if !about.windows(sha256.len()).any(|w| w == sha256.as_bytes()) {
                return Err(
                    "the workbook's About sheet gives another SHA-256 of the rows than the \
                     proved rows'"
                        .into(),
                );
            }
            continue;
        }
        let mut ours = mine.by_name(&name).map_err(|e| e.to_string())?;
        let (mut a, mut b) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
        // Rows begun before the difference, counted across chunks.
        let (mut rows, mut tail) = (0u64, Vec::<u8>::new());
        loop {
            let n = fill(&mut theirs, &mut a)
                .map_err(|e| format!("the workbook's {name} does not read: {e}"))?;
            let m = fill(&mut ours, &mut b).map_err(|e| e.to_string())?;
            if n as u64 > left {
                return Err(too_big());
            }
            left -= n as u64;
            let same = a[..n]
                .iter()
                .zip(&b[..m])
                .position(|(x, y)| x != y)
                .or((n != m).then_some(n.min(m)));
            let upto = same.unwrap_or(n);
            if name == SHEET {
                tail.extend_from_slice(&a[..upto]);
                rows += tail.windows(5).filter(|w| w == b"<row ").count() as u64;
                let keep = tail.len().saturating_sub(4);
                tail.drain(..keep);
            }
            if same.is_some() {
                return Err(if name == SHEET {
                    format!(
                        "the workbook's Entries sheet differs from the proved rows at row {}",
                        rows.saturating_sub(1).max(1)
                    )
                } else {
                    format!("the workbook's {name} is not as Vigil writes it")
                });
            }
            if n == 0 {
                break;
            }
        }
    }
    Ok(())
}

/// Reads until `buf` is full or the reader ends; how many bytes were read.
fn fill(r: &mut impl std::io::Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

mod zip;

use std::fmt::Write as _;
use std::io::Write;

use crate::columns::{cells, Cell, HEADERS, OCCURRED_AT};
use crate::{About, ExportError, Row};
use deflate::{Deflater, CHUNK};
use sheet::{column, style, RowXml};

/// Excel's last row (1-based), the header being row 1.
const LAST_ROW: u64 = crate::XLSX_MAX_ROWS + 1;

/// Deflate level of the sheet: 3 is about twice as fast as the usual 6 for a file a tenth
/// larger; the small parts take 6.
const SHEET_LEVEL: u32 = 3;
const PART_LEVEL: u32 = 6;

/// At most this many threads deflate one workbook.
const MAX_DEFLATE_THREADS: usize = 4;

/// Column widths (in characters) for the sheet's columns, header order.
fn width(header: &str) -> f64 {
    match header {
        "occurred_at" => 24.0,
        "occurred_at_exact" | "received_at" => 28.0,
        "seq" | "comments" => 9.0,
        "id" | "session_id" | "request_id" | "correlation_id" => 38.0,
        "reason" | "changes" | "details" | "user_agent" => 48.0,
        "hash" => 66.0,
        "kind" | "severity" | "outcome" | "actor_kind" => 10.0,
        "ip" => 18.0,
        _ => 16.0,
    }
}

/// The sheet's headers: [`HEADERS`] with `occurred_at_exact` after `occurred_at`.
pub(crate) fn sheet_headers() -> Vec<&'static str> {
    let mut h = HEADERS.to_vec();
    h.insert(OCCURRED_AT + 1, "occurred_at_exact");
    h
}

pub(crate) struct XlsxOut<W: Write + Send> {
    zip: zip::Zip<std::io::BufWriter<W>>,
    deflate: Deflater,
    /// The sheet's XML not yet handed to the deflater.
    buf: Vec<u8>,
    /// Rows written, the header included.
    rows: u64,
    cut: u64,
}

impl<W: Write + Send> XlsxOut<W> {
    pub(crate) fn new(out: W) -> Result<Self, ExportError> {
        let mut zip = zip::Zip::new(std::io::BufWriter::with_capacity(256 * 1024, out));
        // The parts that say what the file is come first, for tools that look only there.
        zip.add("[Content_Types].xml", CONTENT_TYPES.as_bytes(), PART_LEVEL)?;
        zip.add("_rels/.rels", ROOT_RELS.as_bytes(), PART_LEVEL)?;
        zip.begin_stream("xl/worksheets/sheet1.xml")?;
        let mut deflate = Deflater::new(SHEET_LEVEL, MAX_DEFLATE_THREADS)?;
        let mut buf = deflate.buffer();
        let headers = sheet_headers();
        buf.extend_from_slice(SHEET_START.as_bytes());
        buf.extend_from_slice(
            b"<sheetViews><sheetView tabSelected=\"1\" workbookViewId=\"0\">\
              <pane ySplit=\"1\" topLeftCell=\"A2\" activePane=\"bottomLeft\" state=\"frozen\"/>\
              <selection pane=\"bottomLeft\" activeCell=\"A2\" sqref=\"A2\"/>\
              </sheetView></sheetViews><sheetFormatPr defaultRowHeight=\"15\"/>",
        );
        cols(&mut buf, headers.iter().map(|h| width(h)));
        buf.extend_from_slice(b"<sheetData>");
        let mut row = RowXml::start(&mut buf, 1, false);
        for h in &headers {
            row.styled_text(h, style::HEADER);
        }
        row.finish();
        Ok(XlsxOut {
            zip,
            deflate,
            buf,
            rows: 1,
            cut: 0,
        })
    }

    pub(crate) fn cells_cut(&self) -> u64 {
        self.cut
    }

    fn room_for(&self, rows: u64) -> Result<(), ExportError> {
        if self.rows + rows > LAST_ROW {
            return Err(ExportError::TooManyRows(format!(
                "an Excel sheet holds at most {} entries: narrow the search, or export as CSV or NDJSON",
                crate::XLSX_MAX_ROWS
            )));
        }
        Ok(())
    }

    pub(crate) fn write(&mut self, row: &Row<'_>) -> Result<(), ExportError> {
        self.room_for(1)?;
        let critical = row.entry.event.severity == vigil_core::Severity::Critical;
        let mut xml = RowXml::start(&mut self.buf, (self.rows + 1) as u32, critical);
        for cell in cells(row)? {
            match cell {
                Cell::Empty => xml.empty(),
                Cell::Number(n) => xml.number(n),
                Cell::Text(t) => xml.text(&t),
                Cell::Time(t) => {
                    xml.time(t.timestamp_micros(), &vigil_core::event::micros::format(&t))
                }
            }
        }
        self.cut += xml.finish();
        self.rows += 1;
        self.flush_full()
    }

    /// Writes rows encoded ahead (a page's): `rows` rows that follow `before` entries.
    pub(crate) fn write_encoded(
        &mut self,
        xml: &[u8],
        before: u64,
        rows: u64,
        cut: u64,
    ) -> Result<(), ExportError> {
        if before != self.rows - 1 {
            return Err(ExportError::Io(std::io::Error::other(format!(
                "a page of rows numbered to follow entry {before} came after entry {}",
                self.rows - 1
            ))));
        }
        self.room_for(rows)?;
        self.buf.extend_from_slice(xml);
        self.rows += rows;
        self.cut += cut;
        self.flush_full()
    }

    /// Hands the XML gathered to the deflater once there is a chunk of it. A page is usually
    /// one or two chunks and goes whole; a page of very large entries (64 KiB each: 70 MB of
    /// XML) is cut into chunks, so that no buffer of the deflater grows beyond two of them.
    fn flush_full(&mut self) -> Result<(), ExportError> {
        if self.buf.len() < CHUNK {
            return Ok(());
        }
        if self.buf.len() <= 2 * CHUNK {
            let next = self.deflate.buffer();
            let full = std::mem::replace(&mut self.buf, next);
            self.deflate.push(full, &mut self.zip)?;
            return Ok(());
        }
        let whole = self.buf.len() / CHUNK * CHUNK;
        for piece in self.buf[..whole].chunks(CHUNK) {
            let mut chunk = self.deflate.buffer();
            chunk.extend_from_slice(piece);
            self.deflate.push(chunk, &mut self.zip)?;
        }
        self.buf.drain(..whole);
        if self.buf.capacity() > 2 * CHUNK {
            let mut small = self.deflate.buffer();
            small.extend_from_slice(&self.buf);
            self.buf = small;
        }
        Ok(())
    }

    pub(crate) fn finish(mut self, about: &About) -> Result<W, ExportError> {
        let last = column(sheet_headers().len() - 1);
        let range = format!("A1:{last}{}", self.rows);
        self.buf.extend_from_slice(b"</sheetData>");
        let _ = write!(
            Text(&mut self.buf),
            "<autoFilter ref=\"{range}\"/>{MARGINS}</worksheet>"
        );
        let full = std::mem::take(&mut self.buf);
        self.deflate.push(full, &mut self.zip)?;
        let (crc, size) = self.deflate.finish(&mut self.zip)?;
        self.zip.end_stream(crc, size)?;

        let mut about_xml = Vec::new();
        about_sheet(&mut about_xml, about);
        self.zip
            .add("xl/worksheets/sheet2.xml", &about_xml, PART_LEVEL)?;
        let workbook =
            WORKBOOK.replace("{filter}", &format!("'Entries'!$A$1:${last}${}", self.rows));
        self.zip
            .add("xl/workbook.xml", workbook.as_bytes(), PART_LEVEL)?;
        self.zip.add(
            "xl/_rels/workbook.xml.rels",
            WORKBOOK_RELS.as_bytes(),
            PART_LEVEL,
        )?;
        self.zip
            .add("xl/styles.xml", STYLES.as_bytes(), PART_LEVEL)?;
        self.zip
            .add("docProps/app.xml", APP.as_bytes(), PART_LEVEL)?;
        let core = CORE.replace(
            "{created}",
            &about.generated_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        self.zip
            .add("docProps/core.xml", core.as_bytes(), PART_LEVEL)?;
        let out = self.zip.finish()?;
        out.into_inner()
            .map_err(|e| ExportError::Io(e.into_error()))
    }
}

/// `fmt::Write` into a byte buffer.
struct Text<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `<cols>` with one width per column: Excel stores a width in characters as the pixels it
/// takes (7 a character and 5 of padding, in Calibri 11) back in characters, to 1/256.
fn cols(out: &mut Vec<u8>, widths: impl Iterator<Item = f64>) {
    out.extend_from_slice(b"<cols>");
    for (i, w) in widths.enumerate() {
        let pixels = (w * 7.0 + 5.0).trunc();
        let excel = (pixels / 7.0 * 256.0).trunc() / 256.0;
        let _ = write!(
            Text(out),
            "<col min=\"{n}\" max=\"{n}\" width=\"{excel}\" customWidth=\"1\"/>",
            n = i + 1
        );
    }
    out.extend_from_slice(b"</cols>");
}

/// Sheet "About": one line per fact, label and value.
fn about_sheet(out: &mut Vec<u8>, about: &About) {
    out.extend_from_slice(SHEET_START.as_bytes());
    out.extend_from_slice(
        b"<sheetViews><sheetView workbookViewId=\"0\"/></sheetViews>\
          <sheetFormatPr defaultRowHeight=\"15\"/>",
    );
    cols(out, [34.0, 90.0].into_iter());
    out.extend_from_slice(b"<sheetData>");
    for (i, (name, text)) in about.lines().into_iter().enumerate() {
        let mut row = RowXml::start(out, i as u32 + 1, false);
        row.styled_text(name, style::LABEL);
        let value = if crate::cell::is_dangerous(&text) {
            style::VALUE_QUOTED
        } else {
            style::VALUE
        };
        row.styled_text(&text, value);
        row.finish();
    }
    let _ = write!(Text(out), "</sheetData>{MARGINS}</worksheet>");
}

const SHEET_START: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">";

const MARGINS: &str = "<pageMargins left=\"0.7\" right=\"0.7\" top=\"0.75\" bottom=\"0.75\" \
header=\"0.3\" footer=\"0.3\"/>";

const CONTENT_TYPES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
<Default Extension=\"xml\" ContentType=\"application/xml\"/>\
<Override PartName=\"/docProps/app.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.extended-properties+xml\"/>\
<Override PartName=\"/docProps/core.xml\" ContentType=\"application/vnd.openxmlformats-package.core-properties+xml\"/>\
<Override PartName=\"/xl/styles.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml\"/>\
<Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet1.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
<Override PartName=\"/xl/worksheets/sheet2.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml\"/>\
</Types>";

const ROOT_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" Target=\"xl/workbook.xml\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties\" Target=\"docProps/core.xml\"/>\
<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties\" Target=\"docProps/app.xml\"/>\
</Relationships>";

const APP: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Properties xmlns=\"http://schemas.openxmlformats.org/officeDocument/2006/extended-properties\" \
xmlns:vt=\"http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes\">\
<Application>Vigil</Application></Properties>";

const CORE: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\
<dc:title>Vigil export</dc:title><dc:creator>Vigil</dc:creator>\
<dcterms:created xsi:type=\"dcterms:W3CDTF\">{created}</dcterms:created>\
<dcterms:modified xsi:type=\"dcterms:W3CDTF\">{created}</dcterms:modified>\
</cp:coreProperties>";

const WORKBOOK: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">\
<bookViews><workbookView activeTab=\"0\"/></bookViews>\
<sheets><sheet name=\"Entries\" sheetId=\"1\" r:id=\"rId1\"/><sheet name=\"About\" sheetId=\"2\" r:id=\"rId2\"/></sheets>\
<definedNames><definedName name=\"_xlnm._FilterDatabase\" localSheetId=\"0\" hidden=\"1\">{filter}</definedName></definedNames>\
</workbook>";

const WORKBOOK_RELS: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">\
<Relationship Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet1.xml\"/>\
<Relationship Id=\"rId2\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"worksheets/sheet2.xml\"/>\
<Relationship Id=\"rId3\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles\" Target=\"styles.xml\"/>\
</Relationships>";

/// The styles: cellXfs in the order of [`sheet::style`].
const STYLES: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
<styleSheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
<numFmts count=\"1\"><numFmt numFmtId=\"164\" formatCode=\"yyyy\\-mm\\-dd\\ hh:mm:ss.000\"/></numFmts>\
<fonts count=\"3\">\
<font><sz val=\"11\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/><scheme val=\"minor\"/></font>\
<font><b/><sz val=\"11\"/><color theme=\"1\"/><name val=\"Calibri\"/><family val=\"2\"/><scheme val=\"minor\"/></font>\
<font><sz val=\"11\"/><color rgb=\"FF8A1C12\"/><name val=\"Calibri\"/><family val=\"2\"/><scheme val=\"minor\"/></font>\
</fonts>\
<fills count=\"4\">\
<fill><patternFill patternType=\"none\"/></fill>\
<fill><patternFill patternType=\"gray125\"/></fill>\
<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFE8EAED\"/><bgColor indexed=\"64\"/></patternFill></fill>\
<fill><patternFill patternType=\"solid\"><fgColor rgb=\"FFFDE2E1\"/><bgColor indexed=\"64\"/></patternFill></fill>\
</fills>\
<borders count=\"1\"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count=\"1\"><xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\"/></cellStyleXfs>\
<cellXfs count=\"11\">\
<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\"/>\
<xf numFmtId=\"0\" fontId=\"1\" fillId=\"2\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" applyFill=\"1\" applyAlignment=\"1\"><alignment horizontal=\"left\"/></xf>\
<xf numFmtId=\"0\" fontId=\"2\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" applyFill=\"1\"/>\
<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" quotePrefix=\"1\"/>\
<xf numFmtId=\"0\" fontId=\"2\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" applyFill=\"1\" quotePrefix=\"1\"/>\
<xf numFmtId=\"1\" fontId=\"2\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\" applyFont=\"1\" applyFill=\"1\"/>\
<xf numFmtId=\"164\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\"/>\
<xf numFmtId=\"164\" fontId=\"2\" fillId=\"3\" borderId=\"0\" xfId=\"0\" applyNumberFormat=\"1\" applyFont=\"1\" applyFill=\"1\"/>\
<xf numFmtId=\"0\" fontId=\"1\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyFont=\"1\" applyAlignment=\"1\"><alignment vertical=\"top\"/></xf>\
<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyAlignment=\"1\"><alignment vertical=\"top\" wrapText=\"1\"/></xf>\
<xf numFmtId=\"0\" fontId=\"0\" fillId=\"0\" borderId=\"0\" xfId=\"0\" applyAlignment=\"1\" quotePrefix=\"1\"><alignment vertical=\"top\" wrapText=\"1\"/></xf>\
</cellXfs>\
<cellStyles count=\"1\"><cellStyle name=\"Normal\" xfId=\"0\" builtinId=\"0\"/></cellStyles>\
<dxfs count=\"0\"/><tableStyles count=\"0\"/>\
</styleSheet>";
