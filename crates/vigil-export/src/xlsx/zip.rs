//! The ZIP container of a workbook (PKWARE's APPNOTE), written front to back without seeking, so
//! that a workbook can stream into a response body.
//!
//! Small parts are added whole, compressed in memory, with their sizes in the local header.
//! The sheet is a streamed entry: its local header says "sizes follow" (flag bit 3), its data
//! is deflate written as it is made (see [`super::deflate`]), and a data descriptor after the
//! data gives its CRC-32 and sizes. The central directory at the end repeats everything, with
//! ZIP64 extra fields for sizes and offsets past 4 GiB (readers of workbooks go by the central
//! directory).

use std::io::{self, Write};

/// The largest size or offset a 32-bit field holds; beyond it, ZIP64 fields.
const MAX32: u64 = 0xFFFF_FFFF;

/// Deflate, the only method written here.
const DEFLATE: u16 = 8;

/// 1980-01-01 00:00, the earliest MS-DOS date: parts carry no time of their own (the workbook
/// says when it was made in docProps/core.xml), so the same rows give the same bytes.
const DOS_TIME: u16 = 0;
const DOS_DATE: u16 = (1 << 5) | 1;

/// One entry as the central directory lists it.
struct Entry {
    name: String,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

/// A ZIP archive being written to `out`.
pub(crate) struct Zip<W: Write> {
    out: W,
    /// Bytes written so far: the offset of what comes next.
    written: u64,
    entries: Vec<Entry>,
    /// The streamed entry in progress, if any.
    open: Option<Entry>,
    /// From this size on, a field is a ZIP64 field (lowered by the tests).
    max32: u64,
}

impl<W: Write> Zip<W> {
    pub(crate) fn new(out: W) -> Self {
        Zip {
            out,
            written: 0,
            entries: Vec::new(),
            open: None,
            max32: MAX32,
        }
    }

    #[cfg(test)]
    fn with_max32(mut self, max32: u64) -> Self {
        self.max32 = max32;
        self
    }

    /// Adds a whole part, deflated at `level`.
    pub(crate) fn add(&mut self, name: &str, data: &[u8], level: u32) -> io::Result<()> {
        let mut deflated =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(level));
        deflated.write_all(data)?;
        let deflated = deflated.finish()?;
        let entry = Entry {
            name: name.to_owned(),
            flags: 0,
            crc: crc32fast::hash(data),
            compressed: deflated.len() as u64,
            size: data.len() as u64,
            offset: self.written,
        };
        // A whole part larger than 4 GiB is not something a workbook has: refuse it rather
        // than write a local header that lies.
        if entry.compressed >= self.max32 || entry.size >= self.max32 {
            return Err(io::Error::other(format!("{name} is too large for a part")));
        }
        self.local_header(&entry)?;
        self.put(&deflated)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Starts a streamed entry: what is written to the archive until [`Zip::end_stream`] is
    /// its deflate data.
    pub(crate) fn begin_stream(&mut self, name: &str) -> io::Result<()> {
        if self.open.is_some() {
            return Err(io::Error::other("a streamed part is already open"));
        }
        let entry = Entry {
            name: name.to_owned(),
            flags: 1 << 3,
            crc: 0,
            compressed: 0,
            size: 0,
            offset: self.written,
        };
        self.local_header(&entry)?;
        self.open = Some(entry);
        Ok(())
    }

    /// Ends the streamed entry, whose data had this CRC-32 and uncompressed size.
    pub(crate) fn end_stream(&mut self, crc: u32, size: u64) -> io::Result<()> {
        let Some(mut entry) = self.open.take() else {
            return Err(io::Error::other("no streamed part is open"));
        };
        entry.crc = crc;
        entry.size = size;
        // Everything written since the local header is the data.
        entry.compressed = self.written - entry.offset - local_header_len(&entry);
        let mut d = Vec::with_capacity(24);
        put32(&mut d, 0x0807_4b50);
        put32(&mut d, crc);
        if entry.compressed >= self.max32 || entry.size >= self.max32 {
            put64(&mut d, entry.compressed);
            put64(&mut d, entry.size);
        } else {
            put32(&mut d, entry.compressed as u32);
            put32(&mut d, entry.size as u32);
        }
        self.put(&d)?;
        self.entries.push(entry);
        Ok(())
    }

    /// Writes the central directory and returns the destination.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        if self.open.is_some() {
            return Err(io::Error::other("a streamed part was not ended"));
        }
        let start = self.written;
        let mut cd = Vec::new();
        for e in &self.entries {
            let mut extra = Vec::new();
            let field = |value: u64, extra: &mut Vec<u8>| {
                if value >= self.max32 {
                    put64(extra, value);
                    MAX32 as u32
                } else {
                    value as u32
                }
            };
            let size = field(e.size, &mut extra);
            let compressed = field(e.compressed, &mut extra);
            let offset = field(e.offset, &mut extra);
            let zip64 = !extra.is_empty();
            put32(&mut cd, 0x0201_4b50);
            put16(&mut cd, (3 << 8) | 45); // made by: Unix, spec 4.5
            put16(&mut cd, if zip64 { 45 } else { 20 });
            put16(&mut cd, e.flags);
            put16(&mut cd, DEFLATE);
            put16(&mut cd, DOS_TIME);
            put16(&mut cd, DOS_DATE);
            put32(&mut cd, e.crc);
            put32(&mut cd, compressed);
            put32(&mut cd, size);
            put16(&mut cd, e.name.len() as u16);
            put16(&mut cd, if zip64 { extra.len() as u16 + 4 } else { 0 });
            put16(&mut cd, 0); // comment
            put16(&mut cd, 0); // disk
            put16(&mut cd, 0); // internal attributes
            put32(&mut cd, 0o100644 << 16); // a regular file, rw-r--r--
            put32(&mut cd, offset);
            cd.extend_from_slice(e.name.as_bytes());
            if zip64 {
                put16(&mut cd, 0x0001);
                put16(&mut cd, extra.len() as u16);
                cd.extend_from_slice(&extra);
            }
        }
        let size = cd.len() as u64;
        let count = self.entries.len() as u64;
        let mut end = Vec::new();
        if start >= self.max32 || size >= self.max32 {
            let record = start + size;
            put32(&mut end, 0x0606_4b50);
            put64(&mut end, 44); // the record's size after this field
            put16(&mut end, (3 << 8) | 45);
            put16(&mut end, 45);
            put32(&mut end, 0); // this disk
            put32(&mut end, 0); // the central directory's disk
            put64(&mut end, count);
            put64(&mut end, count);
            put64(&mut end, size);
            put64(&mut end, start);
            put32(&mut end, 0x0706_4b50); // its locator
            put32(&mut end, 0);
            put64(&mut end, record);
            put32(&mut end, 1); // disks
        }
        let small = |v: u64| {
            if v >= self.max32 {
                MAX32 as u32
            } else {
                v as u32
            }
        };
        put32(&mut end, 0x0605_4b50);
        put16(&mut end, 0);
        put16(&mut end, 0);
        put16(&mut end, count as u16);
        put16(&mut end, count as u16);
        put32(&mut end, small(size));
        put32(&mut end, small(start));
        put16(&mut end, 0); // comment
        self.put(&cd)?;
        self.put(&end)?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn local_header(&mut self, e: &Entry) -> io::Result<()> {
        let mut h = Vec::with_capacity(30 + e.name.len());
        put32(&mut h, 0x0403_4b50);
        put16(&mut h, 20);
        put16(&mut h, e.flags);
        put16(&mut h, DEFLATE);
        put16(&mut h, DOS_TIME);
        put16(&mut h, DOS_DATE);
        put32(&mut h, e.crc);
        put32(&mut h, e.compressed as u32);
        put32(&mut h, e.size as u32);
        put16(&mut h, e.name.len() as u16);
        put16(&mut h, 0);
        h.extend_from_slice(e.name.as_bytes());
        self.put(&h)
    }

    fn put(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }
}

/// The streamed entry's data goes through here.
impl<W: Write> Write for Zip<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.open.is_none() {
            return Err(io::Error::other("no streamed part is open"));
        }
        self.put(data)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn local_header_len(e: &Entry) -> u64 {
    30 + e.name.len() as u64
}

fn put16(v: &mut Vec<u8>, n: u16) {
    v.extend_from_slice(&n.to_le_bytes());
}

fn put32(v: &mut Vec<u8>, n: u32) {
    v.extend_from_slice(&n.to_le_bytes());
}

fn put64(v: &mut Vec<u8>, n: u64) {
    v.extend_from_slice(&n.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn stream(zip: &mut Zip<Vec<u8>>, name: &str, data: &[u8]) {
        zip.begin_stream(name).unwrap();
        let mut d = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        d.write_all(data).unwrap();
        zip.write_all(&d.finish().unwrap()).unwrap();
        zip.end_stream(crc32fast::hash(data), data.len() as u64)
            .unwrap();
    }

    fn read_back(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut f = archive.by_index(i).unwrap();
                let mut data = Vec::new();
                // The reader checks each part's CRC-32 as it reads.
                f.read_to_end(&mut data).unwrap();
                (f.name().unwrap().into_owned(), data)
            })
            .collect()
    }

    #[test]
    fn another_reader_finds_every_part_whole() {
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        let mut zip = Zip::new(Vec::new());
        zip.add("[Content_Types].xml", b"<Types/>", 6).unwrap();
        stream(&mut zip, "xl/worksheets/sheet1.xml", &big);
        zip.add("xl/workbook.xml", b"", 6).unwrap();
        let parts = read_back(zip.finish().unwrap());
        let names: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "[Content_Types].xml",
                "xl/worksheets/sheet1.xml",
                "xl/workbook.xml"
            ]
        );
        assert_eq!(parts[0].1, b"<Types/>");
        assert_eq!(parts[1].1, big);
        assert!(parts[2].1.is_empty());
    }

    #[test]
    fn sizes_and_offsets_past_the_32_bit_fields_are_written_as_zip64() {
        // The same archive with the 32-bit limit at 1,000 bytes: the streamed part, the offsets
        // after it and the central directory's place all need ZIP64 fields.
        let big: Vec<u8> = (0..50_000u32).flat_map(|i| (i * 7).to_le_bytes()).collect();
        let mut zip = Zip::new(Vec::new()).with_max32(1_000);
        zip.add("a.xml", b"first", 6).unwrap();
        stream(&mut zip, "big.xml", &big);
        zip.add("after.xml", b"after", 6).unwrap();
        let bytes = zip.finish().unwrap();
        assert!(
            bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]),
            "a ZIP64 end record"
        );
        let parts = read_back(bytes);
        assert_eq!(parts.len(), 3);
        assert_eq!(parts[0].1, b"first");
        assert_eq!(parts[1].1, big);
        assert_eq!(parts[2].1, b"after");
    }

    #[test]
    fn misuse_is_an_error_not_a_broken_file() {
        let mut zip = Zip::new(Vec::new());
        assert!(zip.write_all(b"data outside a part").is_err());
        assert!(zip.end_stream(0, 0).is_err());
        zip.begin_stream("a").unwrap();
        assert!(zip.begin_stream("b").is_err());
        assert!(zip.finish().is_err());
    }
}
