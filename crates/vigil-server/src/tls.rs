//! TLS for `vigil serve` (rustls, with ring): the certificate chain and private key come from
//! PEM files, are checked at start (a missing file, no certificate, no key or a key that does
//! not match the certificate stops the start with what is wrong) and are read again when either
//! file changes, without a restart: new connections get the new certificate, and a pair that
//! does not load is refused with a warning while the one in use stays.
//!
//! Handshakes run beside the accept loop, each with a deadline (5 s), at most 512 at once and
//! 16 from one address: a client that opens connections and says nothing holds nobody else up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::server::TlsStream;

/// How long a client has to finish its handshake.
const HANDSHAKE_DEADLINE: Duration = Duration::from_secs(5);
/// Handshakes under way at most; a connection beyond them is closed at once (accepting goes on,
/// so that silent connections cannot hold the door shut).
const HANDSHAKES: usize = 512;
/// Handshakes under way at most from one address (an IPv6 /64).
const HANDSHAKES_PER_ADDRESS: usize = 16;
/// How often the files are looked at for a change.
const RELOAD_EVERY: Duration = Duration::from_secs(2);

/// Where the certificate chain and its private key are (PEM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate, then any intermediates.
    pub cert: PathBuf,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Reads and checks the pair.
fn load(files: &TlsFiles) -> anyhow::Result<Arc<CertifiedKey>> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("reading the TLS certificate {}", files.cert.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("the TLS certificate {} is not PEM", files.cert.display()))?;
    anyhow::ensure!(
        !certs.is_empty(),
        "the TLS certificate file {} holds no certificate (-----BEGIN CERTIFICATE-----)",
        files.cert.display()
    );
    let key = PrivateKeyDer::from_pem_file(&files.key).with_context(|| {
        format!(
            "the TLS key file {} holds no private key in PEM",
            files.key.display()
        )
    })?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&key).with_context(|| {
        format!(
            "the TLS key in {} is not an RSA, ECDSA or Ed25519 key rustls can use",
            files.key.display()
        )
    })?;
    let pair = CertifiedKey::new(certs, signer);
    pair.keys_match().map_err(|e| {
        anyhow::anyhow!(
            "the TLS key {} does not belong to the certificate {}: {e}",
            files.key.display(),
            files.cert.display()
        )
    })?;
    Ok(Arc::new(pair))
}

/// The pair in use, swapped when the files change.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.read().expect("certificate lock").clone())
    }
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A listener that speaks TLS: what `axum::serve` accepts connections from.
pub struct TlsListener {
    accepted: tokio::sync::mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl TlsListener {
    /// Loads the pair (an error says what is wrong with it) and starts accepting on
    /// `listener`, and watching the files.
    pub fn new(listener: TcpListener, files: TlsFiles) -> anyhow::Result<TlsListener> {
        let first = load(&files)?;
        let current = Arc::new(Current(RwLock::new(first)));
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("setting up TLS")?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let local = listener.local_addr()?;
        let (tx, accepted) = tokio::sync::mpsc::channel(64);
        let accept = tokio::spawn(accept_loop(listener, acceptor, tx));
        let watch = tokio::spawn(watch(files, current));
        Ok(TlsListener {
            accepted,
            local,
            tasks: vec![accept, watch],
        })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    tx: tokio::sync::mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(HANDSHAKES));
    let per_address: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>> =
        Arc::default();
    loop {
        let (tcp, addr) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait a moment rather than spin.
                tracing::warn!("accepting a connection failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = handshakes.clone().try_acquire_owned() else {
            tracing::debug!("too many TLS handshakes under way: {addr} closed");
            continue;
        };
        let Some(mine) = Handshaking::start(&per_address, addr.ip()) else {
            tracing::debug!("too many TLS handshakes from {addr}: closed");
            continue;
        };
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _mine = mine;
            match tokio::time::timeout(HANDSHAKE_DEADLINE, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => {
                    let _ = tx.send((tls, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!("TLS handshake with {addr} failed: {e}"),
                Err(_) => tracing::debug!("TLS handshake with {addr} took too long"),
            }
        });
    }
}

/// One handshake counted against its address while it runs.
struct Handshaking {
    counts: Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
    address: std::net::IpAddr,
}

impl Handshaking {
    fn start(
        counts: &Arc<std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>>,
        ip: std::net::IpAddr,
    ) -> Option<Handshaking> {
        let address = match ip.to_canonical() {
            std::net::IpAddr::V6(v6) => {
                let mut s = v6.segments();
                s[4..].fill(0);
                std::net::IpAddr::V6(s.into())
            }
            v4 => v4,
        };
        let mut map = counts.lock().expect("handshake counts");
        let n = map.entry(address).or_default();
        if *n >= HANDSHAKES_PER_ADDRESS {
            return None;
        }
        *n += 1;
        Some(Handshaking {
            counts: counts.clone(),
            address,
        })
    }
}

impl Drop for Handshaking {
    fn drop(&mut self) {
        let mut map = self.counts.lock().expect("handshake counts");
        if let Some(n) = map.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.address);
            }
        }
    }
}

/// Loads the pair again when either file changes; keeps the one in use if the new one does not
/// load (a certificate written before its key, say: the next look picks up the pair).
async fn watch(files: TlsFiles, current: Arc<Current>) {
    let stamp = |f: &TlsFiles| (modified(&f.cert), modified(&f.key));
    let mut seen = stamp(&files);
    let mut refused = None;
    loop {
        tokio::time::sleep(RELOAD_EVERY).await;
        let now = stamp(&files);
        if now == seen {
            continue;
        }
        match load(&files) {
            Ok(pair) => {
                *current.0.write().expect("certificate lock") = pair;
                seen = now;
                refused = None;
                tracing::info!(
                    "TLS certificate {} reloaded: new connections use it",
                    files.cert.display()
                );
                eprintln!("vigil: TLS certificate {} reloaded", files.cert.display());
            }
            Err(e) => {
                if refused != Some(now) {
                    tracing::warn!("{e:#}; the certificate in use stays");
                    eprintln!("vigil: warning: {e:#}; the certificate in use stays");
                    refused = Some(now);
                }
            }
        }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(c) => c,
            // The accept loop ended (only when the listener is dropped): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
