//! The XML of the sheets' rows, written straight into a buffer.
//!
//! Text cells are inline strings (`t="inlineStr"`), so no table of shared strings grows with the
//! export. Text is escaped as Excel writes it: `&`, `<`, `>` as entities; control characters that
//! XML 1.0 cannot hold (and U+FFFE, U+FFFF) as `_xHHHH_`; and the `_` of a literal `_xHHHH_` as
//! `_x005F_`, so that Excel gives back the text that went in. Leading or trailing spaces, tabs
//! and newlines are kept with `xml:space="preserve"`.

use std::borrow::Cow;

use crate::cell::is_dangerous;

/// The cell styles of styles.xml, by their place in `cellXfs`.
pub(crate) mod style {
    /// Header: bold on grey.
    pub const HEADER: u8 = 1;
    /// A critical entry's cell: dark red on light red.
    pub const CRITICAL: u8 = 2;
    /// Text that starts like a formula: Excel's quote prefix.
    pub const QUOTED: u8 = 3;
    /// Both.
    pub const QUOTED_CRITICAL: u8 = 4;
    /// A number in a critical entry.
    pub const NUMBER_CRITICAL: u8 = 5;
    /// A date-time, `yyyy-mm-dd hh:mm:ss.000`.
    pub const TIME: u8 = 6;
    /// A date-time in a critical entry.
    pub const TIME_CRITICAL: u8 = 7;
    /// The About's labels: bold, at the top.
    pub const LABEL: u8 = 8;
    /// The About's values: wrapped, at the top.
    pub const VALUE: u8 = 9;
    /// A value that starts like a formula.
    pub const VALUE_QUOTED: u8 = 10;
}

/// Excel's longest text cell, in UTF-16 code units.
pub(crate) const MAX_CELL: usize = 32_767;
/// What ends a cut cell.
const CUT_MARK: &str = " …[cut at Excel's 32,767 characters; the JSON export has it whole]";

/// Column names, one per column of the widest sheet (the fields and `occurred_at_exact`).
const COLUMNS: [&str; 34] = [
    "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S",
    "T", "U", "V", "W", "X", "Y", "Z", "AA", "AB", "AC", "AD", "AE", "AF", "AG", "AH",
];
const _: () = assert!(
    COLUMNS.len() == crate::columns::HEADERS.len() + 1,
    "a name for every column of the sheet"
);

/// The name of column `col` (0-based), for the sheet's widths and ranges.
pub(crate) fn column(col: usize) -> &'static str {
    COLUMNS[col.min(COLUMNS.len() - 1)]
}

/// One row being written: `<row r="n">`, then each cell in column order.
pub(crate) struct RowXml<'o> {
    out: &'o mut Vec<u8>,
    number: itoa::Buffer,
    row: [u8; 10],
    row_len: usize,
    col: usize,
    critical: bool,
    cut: u64,
}

impl<'o> RowXml<'o> {
    /// Starts row `row` (1-based) in `out`; a critical entry's cells are all styled, empty ones
    /// included, so that the whole row stands out.
    pub(crate) fn start(out: &'o mut Vec<u8>, row: u32, critical: bool) -> Self {
        let mut number = itoa::Buffer::new();
        let text = number.format(row).as_bytes();
        let mut digits = [0u8; 10];
        digits[..text.len()].copy_from_slice(text);
        let row_len = text.len();
        out.extend_from_slice(b"<row r=\"");
        out.extend_from_slice(&digits[..row_len]);
        out.extend_from_slice(b"\">");
        RowXml {
            out,
            number,
            row: digits,
            row_len,
            col: 0,
            critical,
            cut: 0,
        }
    }

    /// `<c r="B12"` and the style, if any.
    fn open(&mut self, style: u8) {
        self.out.extend_from_slice(b"<c r=\"");
        self.out.extend_from_slice(column(self.col).as_bytes());
        self.out.extend_from_slice(&self.row[..self.row_len]);
        self.out.push(b'"');
        if style != 0 {
            self.out.extend_from_slice(b" s=\"");
            self.out
                .extend_from_slice(self.number.format(style).as_bytes());
            self.out.push(b'"');
        }
        self.col += 1;
    }

    /// A cell without a value (written only when it has a style).
    pub(crate) fn empty(&mut self) {
        self.styled_empty(if self.critical { style::CRITICAL } else { 0 });
    }

    /// A cell without a value, in `style`.
    pub(crate) fn styled_empty(&mut self, style: u8) {
        if style == 0 {
            self.col += 1;
            return;
        }
        self.open(style);
        self.out.extend_from_slice(b"/>");
    }

    /// A whole number.
    pub(crate) fn number(&mut self, n: u64) {
        self.open(if self.critical {
            style::NUMBER_CRITICAL
        } else {
            0
        });
        self.out.extend_from_slice(b"><v>");
        self.out.extend_from_slice(self.number.format(n).as_bytes());
        self.out.extend_from_slice(b"</v></c>");
    }

    /// A date-time cell (µs since the epoch, shown in UTC to the millisecond), then its exact
    /// text with the microseconds in the next cell.
    pub(crate) fn time(&mut self, micros: i64, exact: &str) {
        self.open(if self.critical {
            style::TIME_CRITICAL
        } else {
            style::TIME
        });
        self.out.extend_from_slice(b"><v>");
        let serial = excel_serial(micros);
        let mut text = ryu::Buffer::new();
        self.out
            .extend_from_slice(text.format_finite(serial).as_bytes());
        self.out.extend_from_slice(b"</v></c>");
        self.text(exact);
    }

    /// A text cell, cut to Excel's limit (counted in [`RowXml::finish`]); text that starts like a
    /// formula gets the quote prefix. Empty text is an empty cell: Excel has no empty strings.
    pub(crate) fn text(&mut self, text: &str) {
        let style = match (is_dangerous(text), self.critical) {
            (true, false) => style::QUOTED,
            (true, true) => style::QUOTED_CRITICAL,
            (false, true) => style::CRITICAL,
            (false, false) => 0,
        };
        self.styled_text(text, style);
    }

    /// A text cell in `style`.
    pub(crate) fn styled_text(&mut self, text: &str, style: u8) {
        if text.is_empty() {
            self.styled_empty(style);
            return;
        }
        let (text, cut) = fit(text);
        self.cut += u64::from(cut);
        self.open(style);
        self.out.extend_from_slice(b" t=\"inlineStr\"><is><t");
        if text.starts_with([' ', '\t', '\n']) || text.ends_with([' ', '\t', '\n']) {
            self.out.extend_from_slice(b" xml:space=\"preserve\"");
        }
        self.out.push(b'>');
        escape(self.out, &text);
        self.out.extend_from_slice(b"</t></is></c>");
    }

    /// Ends the row; returns how many of its cells were cut.
    pub(crate) fn finish(self) -> u64 {
        self.out.extend_from_slice(b"</row>");
        self.cut
    }
}

/// Excel's serial date-time for µs since the epoch: days since 1899-12-31, counting the
/// 29 February 1900 that Excel believes in, and the time of day as a fraction.
fn excel_serial(micros: i64) -> f64 {
    const DAY: i64 = 86_400_000_000;
    let days = micros.div_euclid(DAY) + 25_568;
    let days = if days > 59 { days + 1 } else { days };
    days as f64 + micros.rem_euclid(DAY) as f64 / DAY as f64
}

/// The bytes that need a look when escaping text.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b != b'\t' as usize && b != b'\n' as usize;
        b += 1;
    }
    t[b'&' as usize] = true;
    t[b'<' as usize] = true;
    t[b'>' as usize] = true;
    t[b'_' as usize] = true;
    t[0xEF] = true; // U+FFFE and U+FFFF start with it
    t
};

/// Appends `text` escaped for a `<t>` element.
pub(crate) fn escape(out: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut plain = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !SPECIAL[usize::from(b)] {
            i += 1;
            continue;
        }
        let replaced: Option<(&[u8], usize)> = match b {
            b'&' => Some((b"&amp;", 1)),
            b'<' => Some((b"&lt;", 1)),
            b'>' => Some((b"&gt;", 1)),
            b'_' if is_escape_like(&bytes[i..]) => Some((b"_x005F_", 1)),
            b'_' => None,
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBF, 0xBE]) => Some((b"_xFFFE_", 3)),
            0xEF if bytes[i..].starts_with(&[0xEF, 0xBF, 0xBF]) => Some((b"_xFFFF_", 3)),
            0xEF => None,
            control => {
                out.extend_from_slice(&bytes[plain..i]);
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(b"_x00");
                out.push(HEX[usize::from(control >> 4)]);
                out.push(HEX[usize::from(control & 15)]);
                out.push(b'_');
                i += 1;
                plain = i;
                continue;
            }
        };
        match replaced {
            Some((with, len)) => {
                out.extend_from_slice(&bytes[plain..i]);
                out.extend_from_slice(with);
                i += len;
                plain = i;
            }
            None => i += 1,
        }
    }
    out.extend_from_slice(&bytes[plain..]);
}

/// Whether `s` starts with `_xHHHH`: followed by a `_`, Excel would read it as an escaped
/// character, and the `_` may be one this escaping writes next (`_x0041` then a control
/// character gives `_x0041_x0001_`), so its `_` is escaped whatever follows. Escaping one too
/// many is harmless: `_x005F_` always reads back as `_`.
fn is_escape_like(s: &[u8]) -> bool {
    s.len() >= 6 && s[1] == b'x' && s[2..6].iter().all(u8::is_ascii_hexdigit)
}

/// The text as Excel can hold it: cut to Excel's limit with a mark saying so, `true` when cut.
pub(crate) fn fit(text: &str) -> (Cow<'_, str>, bool) {
    // Never more UTF-16 units than UTF-8 bytes.
    if text.len() <= MAX_CELL || text.encode_utf16().count() <= MAX_CELL {
        return (Cow::Borrowed(text), false);
    }
    let room = MAX_CELL - CUT_MARK.encode_utf16().count();
    let mut units = 0;
    let mut end = 0;
    for (i, c) in text.char_indices() {
        units += c.len_utf16();
        if units > room {
            break;
        }
        end = i + c.len_utf8();
    }
    (Cow::Owned(format!("{}{CUT_MARK}", &text[..end])), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn escaped(s: &str) -> String {
        let mut out = Vec::new();
        escape(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_is_escaped_as_excel_reads_it_back() {
        assert_eq!(escaped("a<b>&c"), "a&lt;b&gt;&amp;c");
        assert_eq!(escaped("tab\tand\nline"), "tab\tand\nline");
        assert_eq!(escaped("cr\r\0bell\x07"), "cr_x000D__x0000_bell_x0007_");
        assert_eq!(escaped("_x0041_ and _x12G4_"), "_x005F_x0041_ and _x12G4_");
        // An escape written here must not complete one in the text before it.
        assert_eq!(escaped("_x0041\u{1}"), "_x005F_x0041_x0001_");
        assert_eq!(escaped("_x003D\r"), "_x005F_x003D_x000D_");
        assert_eq!(escaped("_xBEEF\u{FFFE}"), "_x005F_xBEEF_xFFFE_");
        assert_eq!(escaped("_x0041"), "_x005F_x0041");
        assert_eq!(
            escaped("\u{FFFE}\u{FFFF}\u{FFFD}é"),
            "_xFFFE__xFFFF_\u{FFFD}é"
        );
        assert_eq!(escaped("عربى 😀 \"quoted\""), "عربى 😀 \"quoted\"");
        assert_eq!(escaped("ends with _"), "ends with _");
    }

    #[test]
    fn serial_dates_are_excels() {
        // 1970-01-01 is 25569 in Excel; 2026-11-26 12:00 is 46352.5.
        assert_eq!(excel_serial(0), 25_569.0);
        let noon = chrono::DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z").unwrap();
        assert_eq!(excel_serial(noon.timestamp_micros()), 46_352.5);
        // Excel's 1900-03-01 is 61 (it counts a 29 February 1900), 1900-02-28 is 59.
        let d = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_micros()
        };
        assert_eq!(excel_serial(d("1900-03-01T00:00:00Z")), 61.0);
        assert_eq!(excel_serial(d("1900-02-28T00:00:00Z")), 59.0);
    }

    #[test]
    fn long_cells_are_cut_with_a_mark_within_excels_limit() {
        let long = "é".repeat(40_000);
        let (cut, was_cut) = fit(&long);
        assert!(was_cut);
        assert!(cut.encode_utf16().count() <= MAX_CELL);
        assert!(cut.ends_with(CUT_MARK));
        let emoji = "😀".repeat(20_000);
        let (cut, _) = fit(&emoji);
        assert!(
            cut.encode_utf16().count() <= MAX_CELL,
            "surrogate pairs count twice"
        );
        assert_eq!(fit("short").0, "short");
    }

    #[test]
    fn a_row_has_its_cells_in_place() {
        let mut out = Vec::new();
        let mut row = RowXml::start(&mut out, 12, false);
        row.number(7);
        row.empty();
        row.text("=1+2");
        row.text(" a ");
        assert_eq!(row.finish(), 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "<row r=\"12\"><c r=\"A12\"><v>7</v></c>\
             <c r=\"C12\" s=\"3\" t=\"inlineStr\"><is><t>=1+2</t></is></c>\
             <c r=\"D12\" t=\"inlineStr\"><is><t xml:space=\"preserve\"> a </t></is></c></row>"
        );
    }
}
