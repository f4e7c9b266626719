//! A writer that hashes what passes through it, for a file's own digest.

use std::io::Write;

use sha2::{Digest, Sha256};

/// Passes bytes on to `inner` and hashes them.
pub(crate) struct Hashing<W> {
    inner: W,
    digest: Sha256,
}

impl<W> Hashing<W> {
    pub(crate) fn new(inner: W) -> Self {
        Hashing {
            inner,
            digest: Sha256::new(),
        }
    }

    /// Passes bytes on to `inner` and goes on with `digest` (of the bytes written before).
    pub(crate) fn continuing(inner: W, digest: Sha256) -> Self {
        Hashing { inner, digest }
    }

    /// The destination and the SHA-256 (hex) of every byte written to it.
    pub(crate) fn finish(self) -> (W, String) {
        (self.inner, hex::encode(self.digest.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.digest.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
