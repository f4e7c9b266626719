//! `vigil`: the Vigil audit store. A library with [`serve`] and a thin binary (`main.rs`) that
//! runs the command line.
//!
//! - [`service`]: every operation the API and the command line offer, one function each, taking
//!   the caller's capability and answering a typed error per area.
//! - [`http`]: the routes, handlers and the one error type of the HTTP API.
//! - [`cli`]: the `vigil` command line, one module per noun.
//! - [`alerts`]: the rules' evaluator and the outbox's dispatcher, and the channels' protocols.
//! - [`config`] and [`state`]: settings, and what every request shares.
//!
//! ```no_run
//! # async fn run() -> anyhow::Result<()> {
//! let config = vigil_server::config::ServerConfig::default();
//! let state = vigil_server::open(&config)?;
//! let listener = tokio::net::TcpListener::bind(config.listen).await?;
//! vigil_server::serve(state, listener, std::future::pending()).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod alerts;
pub mod cli;
pub mod config;
pub mod http;
pub mod service;
pub mod state;
pub mod tls;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use http::{app, openapi};
pub use state::{AppState, Clock};

/// Opens the store named by the configuration (creating the schema on first use), with its
/// search index and its signing key: what `vigil serve` runs on.
pub fn open(config: &config::ServerConfig) -> anyhow::Result<AppState> {
    open_clocked(config, vigil_store_sqlite::system_clock())
}

/// [`open`] with another clock than the wall clock, for the store (the time entries are
/// received at) and the server alike: tests move it.
pub fn open_clocked(
    config: &config::ServerConfig,
    clock: vigil_store_sqlite::Clock,
) -> anyhow::Result<AppState> {
    let store = open_indexed(config, clock.clone())?;
    let key = service::integrity::key_path(config);
    let missing = matches!(
        std::fs::symlink_metadata(&key),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound
    );
    if missing {
        // A key made now could not sign on from checkpoints of a lost one: say so rather than
        // start a new key quietly.
        let keys = store.checkpoint_keys()?;
        anyhow::ensure!(
            keys.is_empty(),
            "no signing key at {path}, but the journal holds checkpoints signed by key {ids}: \
             restore that key file (or point [integrity] signing_key at it). To start a new key \
             on purpose: openssl genpkey -algorithm ed25519 -out {path} && chmod 600 {path}",
            path = key.display(),
            ids = keys.join(", ")
        );
    }
    let signer = service::integrity::signer_for(config)?;
    let mut state = state(store, config);
    state.signer = Some(signer);
    state.clock = clock;
    Ok(state)
}

/// [`open`] without the signing key: for the command line's verbs that read the index
/// (`vigil export`), which sign nothing.
pub fn open_unsigned(config: &config::ServerConfig) -> anyhow::Result<AppState> {
    Ok(state(
        open_indexed(config, vigil_store_sqlite::system_clock())?,
        config,
    ))
}

fn open_indexed(
    config: &config::ServerConfig,
    clock: vigil_store_sqlite::Clock,
) -> anyhow::Result<vigil_store_sqlite::SqliteStore> {
    vigil_store_sqlite::SqliteStore::open_masking(
        &config.database,
        clock,
        config.privacy.personal_fields.clone(),
    )
    .with_context(|| format!("opening the journal at {}", config.database.display()))
}

/// Opens the journal alone, without the search index: what the CLI verbs use, so that they
/// work beside a running server (which indexes what they append).
pub fn open_journal(config: &config::ServerConfig) -> anyhow::Result<AppState> {
    let store = vigil_store_sqlite::SqliteStore::open_journal(
        &config.database,
        vigil_store_sqlite::system_clock(),
    )
    .with_context(|| format!("opening the journal at {}", config.database.display()))?;
    Ok(state(store, config))
}

/// The journal opened to be checked and never changed ([`vigil_store_sqlite::SqliteStore::open_read_only`]):
/// for `vigil verify` on a database file.
pub fn open_journal_read_only(config: &config::ServerConfig) -> anyhow::Result<AppState> {
    let store = vigil_store_sqlite::SqliteStore::open_read_only(
        &config.database,
        vigil_store_sqlite::system_clock(),
    )
    .with_context(|| {
        format!(
            "opening the journal at {} to check it",
            config.database.display()
        )
    })?;
    Ok(state(store, config))
}

fn state(store: vigil_store_sqlite::SqliteStore, config: &config::ServerConfig) -> AppState {
    AppState {
        store: Arc::new(store),
        clock: Arc::new(chrono::Utc::now),
        config: Arc::new(config.clone()),
        alerts: Arc::new(alerts::Alerting::new(config.alerts.clone(), config.listen)),
        appended: Arc::new(tokio::sync::watch::Sender::new(0)),
        stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
        running: Arc::default(),
        signer: None,
        checkpoint_wanted: Arc::new(tokio::sync::watch::Sender::new(0)),
        signer_stopped: Arc::default(),
        revoked_tries: Arc::default(),
    }
}

/// Serves the API on `listener`, and evaluates alert rules and delivers alerts, until
/// `shutdown` completes; then finishes in-flight requests (live tails end at once) and lets
/// sends under way finish briefly.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(state, listener, shutdown).await
}

/// [`serve`] over TLS: `listener` wrapped in a [`tls::TlsListener`].
pub async fn serve_tls(
    state: AppState,
    listener: tls::TlsListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(state, listener, shutdown).await
}

async fn serve_on<L>(
    state: AppState,
    listener: L,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener,
    L::Addr: std::fmt::Debug,
    http::extract::Peer:
        for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let stopping = state.stopping.clone();
    let stopped = state.stopping.clone();
    let alerting = tokio::spawn(alerts::engine::run(state.clone()));
    let signing = tokio::spawn(service::integrity::run(state.clone()));
    let gaps = tokio::spawn(service::senders::run(state.clone()));
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<http::extract::Peer>(),
    )
    .with_graceful_shutdown(async move {
        shutdown.await;
        stopping.send_replace(true);
    })
    .await;
    stopped.send_replace(true);
    let _ = alerting.await;
    let _ = signing.await;
    let _ = gaps.await;
    served
}
