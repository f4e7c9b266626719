//! `vigil serve`: the audit store's HTTP API, with its settings from defaults, then vigil.toml,
//! then `VIGIL_*` environment, then flags.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::config::{FileConfig, ServerConfig};
use crate::service::journal;

#[derive(Args)]
pub(super) struct ServeArgs {
    /// The journal: sqlite://PATH or a file path [default: ./vigil-data/vigil.db].
    #[arg(long, env = "VIGIL_DATABASE")]
    database: Option<String>,
    /// Address to listen on [default: 127.0.0.1:7878].
    #[arg(long, env = "VIGIL_LISTEN")]
    listen: Option<String>,
    /// A vigil.toml (see `vigil config example`).
    #[arg(long, env = "VIGIL_CONFIG")]
    config: Option<PathBuf>,
    /// How long session tokens live [default: 12].
    #[arg(long, env = "VIGIL_TOKEN_TTL_HOURS")]
    token_ttl_hours: Option<u32>,
    /// Serve HTTPS with this certificate chain (PEM; with --tls-key). Read again when it changes.
    #[arg(long, env = "VIGIL_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "VIGIL_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The Ed25519 key checkpoints are signed with, made if missing [default: DATABASE.signing-key].
    #[arg(long, env = "VIGIL_SIGNING_KEY")]
    signing_key: Option<PathBuf>,
}

impl ServeArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let file = FileConfig::read_if(self.config.as_deref())?;
        let mut settings = file.under(self.database, self.listen, self.token_ttl_hours)?;
        if let (Some(cert), Some(key)) = (self.tls_cert, self.tls_key) {
            settings.tls = Some(crate::tls::TlsFiles { cert, key });
        }
        if let Some(key) = self.signing_key {
            settings.integrity.signing_key = Some(key);
        }
        serve(settings).await
    }
}

async fn serve(settings: ServerConfig) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .init();
    let state = crate::open(&settings)?;
    let alerts = crate::alerts::check_setup(&state).await?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let local = listener.local_addr()?;
    let listener = match &settings.tls {
        Some(files) => Listening::Tls(crate::tls::TlsListener::new(listener, files.clone())?),
        None => Listening::Plain(listener),
    };
    let shutdown = shutdown_signal()?;
    let events = journal::event_count(&state).await?;
    let scheme = if settings.tls.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!(
        "vigil {} listening on {scheme}://{local} (journal {}, {events} events)",
        env!("CARGO_PKG_VERSION"),
        settings.database.display()
    );
    if settings.tls.is_none() && !local.ip().is_loopback() {
        let warning = format!(
            "serving plain HTTP on {local}: passwords, tokens and entries cross the network \
             in clear. Set [tls] cert and key in vigil.toml (or --tls-cert and --tls-key), or \
             listen on 127.0.0.1 behind a TLS proxy"
        );
        tracing::warn!("{warning}");
        eprintln!("vigil: warning: {warning}");
    }
    eprintln!("{alerts}");
    if state.store.count_users().await? == 0 {
        eprintln!(
            "No users yet. Create the first admin with:\n  vigil user add NAME --role admin --database {}",
            settings.database.display()
        );
    }
    let journal_of = state.clone();
    journal::lifecycle(&journal_of, "vigil.start", &settings)
        .await
        .context("journaling vigil.start")?;
    let served = match listener {
        Listening::Plain(l) => crate::serve(state, l, shutdown).await,
        Listening::Tls(l) => crate::serve_tls(state, l, shutdown).await,
    }
    .context("serving");
    journal::lifecycle(&journal_of, "vigil.stop", &settings)
        .await
        .context("journaling vigil.stop")?;
    served?;
    eprintln!("vigil stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal right after the "listening" line is not missed.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("installing the SIGTERM handler")?;
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    })
}

/// Where connections come from.
enum Listening {
    Plain(tokio::net::TcpListener),
    Tls(crate::tls::TlsListener),
}
