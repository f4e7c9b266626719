//! Deflate over the cores: the sheet's XML is cut into chunks of about a megabyte, each chunk is
//! compressed on one of a few threads as a deflate stream of its own that ends on a byte
//! boundary without a final block (a sync flush), and the compressed chunks are written in order,
//! followed by one empty final block. Concatenated that way they are one valid deflate stream
//! (what pigz does); the CRC-32 of the whole is combined from the chunks' CRCs.
//!
//! A chunk does not refer back into the one before it, which costs a few per cent of size on a
//! chunk of a megabyte; in exchange a workbook of a million rows is compressed on every core.

use std::io::{self, Write};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::thread::JoinHandle;

use flate2::{Compress, Compression, FlushCompress};

/// What one thread compresses at a time.
pub(crate) const CHUNK: usize = 1 << 20;

/// A chunk to compress, and a buffer for its output.
struct Job {
    input: Vec<u8>,
    output: Vec<u8>,
}

/// A chunk compressed.
struct Done {
    input: Vec<u8>,
    output: Vec<u8>,
    crc: crc32fast::Hasher,
}

/// Compresses chunks on worker threads and writes them out in the order they were given.
pub(crate) struct Deflater {
    level: Compression,
    jobs: Vec<SyncSender<Job>>,
    done: Vec<Receiver<io::Result<Done>>>,
    threads: Vec<JoinHandle<()>>,
    sent: usize,
    written: usize,
    /// Buffers back from the workers, for the next chunks.
    spare: Vec<Vec<u8>>,
    crc: crc32fast::Hasher,
    size: u64,
}

impl Deflater {
    /// A deflater at `level` with one worker per core (at most `max_threads`).
    pub(crate) fn new(level: u32, max_threads: usize) -> io::Result<Self> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, max_threads.max(1));
        let level = Compression::new(level);
        let mut d = Deflater {
            level,
            jobs: Vec::with_capacity(threads),
            done: Vec::with_capacity(threads),
            threads: Vec::with_capacity(threads),
            sent: 0,
            written: 0,
            spare: Vec::new(),
            crc: crc32fast::Hasher::new(),
            size: 0,
        };
        for _ in 0..threads {
            let (job_tx, job_rx) = sync_channel::<Job>(1);
            let (done_tx, done_rx) = sync_channel::<io::Result<Done>>(1);
            let thread = std::thread::Builder::new()
                .name("xlsx-deflate".into())
                .spawn(move || work(level, job_rx, done_tx))?;
            d.jobs.push(job_tx);
            d.done.push(done_rx);
            d.threads.push(thread);
        }
        Ok(d)
    }

    /// An empty buffer for the next chunk (one the workers gave back, when there is one).
    pub(crate) fn buffer(&mut self) -> Vec<u8> {
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(CHUNK + CHUNK / 4))
    }

    /// Hands `input` to the next worker; writes to `out` the chunks already compressed when as
    /// many are in flight as the workers can hold.
    pub(crate) fn push(&mut self, input: Vec<u8>, out: &mut impl Write) -> io::Result<()> {
        if input.is_empty() {
            self.spare.push(input);
            return Ok(());
        }
        if self.sent - self.written == 2 * self.jobs.len() {
            self.write_next(out)?;
        }
        let output = self.buffer();
        let worker = self.sent % self.jobs.len();
        self.jobs[worker]
            .send(Job { input, output })
            .map_err(|_| stopped())?;
        self.sent += 1;
        Ok(())
    }

    fn write_next(&mut self, out: &mut impl Write) -> io::Result<()> {
        let worker = self.written % self.done.len();
        let done = self.done[worker].recv().map_err(|_| stopped())??;
        out.write_all(&done.output)?;
        self.crc.combine(&done.crc);
        self.size += done.input.len() as u64;
        self.written += 1;
        // Kept for the next chunks, unless grown beyond what a chunk needs.
        for mut buf in [done.input, done.output] {
            if buf.capacity() <= 2 * CHUNK + CHUNK / 2 && self.spare.len() < 4 * self.jobs.len() {
                buf.clear();
                self.spare.push(buf);
            }
        }
        Ok(())
    }

    /// Writes what is still in flight and the final block; returns the CRC-32 and the size of
    /// everything pushed.
    pub(crate) fn finish(mut self, out: &mut impl Write) -> io::Result<(u32, u64)> {
        while self.written < self.sent {
            self.write_next(out)?;
        }
        let mut last = Vec::with_capacity(16);
        Compress::new(self.level, false)
            .compress_vec(&[], &mut last, FlushCompress::Finish)
            .map_err(io::Error::other)?;
        out.write_all(&last)?;
        Ok((self.crc.clone().finalize(), self.size))
    }
}

impl Drop for Deflater {
    fn drop(&mut self) {
        // Closing the queues ends the workers.
        self.jobs.clear();
        self.done.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("a compression thread stopped")
}

/// A worker: compresses each chunk it is given as a stream of its own, ended by a sync flush.
fn work(level: Compression, jobs: Receiver<Job>, done: SyncSender<io::Result<Done>>) {
    let mut c = Compress::new(level, false);
    for Job { input, mut output } in jobs {
        c.reset();
        let result = deflate_chunk(&mut c, &input, &mut output).map(|()| {
            let mut crc = crc32fast::Hasher::new();
            crc.update(&input);
            Done { input, output, crc }
        });
        if done.send(result).is_err() {
            return;
        }
    }
}

fn deflate_chunk(c: &mut Compress, input: &[u8], output: &mut Vec<u8>) -> io::Result<()> {
    loop {
        let read = c.total_in() as usize;
        output.reserve((input.len() - read) / 2 + 64);
        c.compress_vec(&input[read..], output, FlushCompress::Sync)
            .map_err(io::Error::other)?;
        // Done when all the input is in and the flush had room to complete.
        if c.total_in() as usize == input.len() && output.len() < output.capacity() {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn chunks_compressed_apart_are_one_stream_with_the_whole_crc() {
        let text: Vec<u8> = (0..400_000u32)
            .flat_map(|i| format!("<row r=\"{i}\"><c>{}</c></row>", i * 31 % 977).into_bytes())
            .collect();
        let mut d = Deflater::new(3, 4).unwrap();
        let mut out = Vec::new();
        // Chunks of uneven sizes, some tiny, one empty.
        for piece in text.chunks(777_777).chain([&[][..], &b"x"[..]]) {
            let mut buf = d.buffer();
            buf.extend_from_slice(piece);
            d.push(buf, &mut out).unwrap();
        }
        let (crc, size) = d.finish(&mut out).unwrap();
        let mut whole = text.clone();
        whole.push(b'x');
        assert_eq!(size, whole.len() as u64);
        assert_eq!(crc, crc32fast::hash(&whole));
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back == whole, "inflates to the same bytes");
        assert!(out.len() < whole.len() / 3, "and is compressed");
    }

    #[test]
    fn nothing_pushed_is_an_empty_stream() {
        let d = Deflater::new(3, 2).unwrap();
        let mut out = Vec::new();
        let (crc, size) = d.finish(&mut out).unwrap();
        assert_eq!((crc, size), (0, 0));
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&out[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}
