//! `vigil`: the Vigil audit store. A library with [`serve`] and a thin binary (`main.rs`) that
//! parses the command line.
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
pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod export;
pub mod handlers;
pub mod journal;
pub mod notes;
pub mod params;
pub mod router;
pub mod state;

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;

pub use router::{app, openapi};
pub use state::{AppState, Clock};

/// Opens the store named by the configuration (creating the schema on first use), with its
/// search index: what `vigil serve` runs on.
pub fn open(config: &config::ServerConfig) -> anyhow::Result<AppState> {
    let store =
        vigil_store_sqlite::SqliteStore::open(&config.database, vigil_store_sqlite::system_clock())
            .with_context(|| format!("opening the journal at {}", config.database.display()))?;
    Ok(state(store, config))
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

fn state(store: vigil_store_sqlite::SqliteStore, config: &config::ServerConfig) -> AppState {
    AppState {
        store: Arc::new(store),
        clock: Arc::new(chrono::Utc::now),
        config: Arc::new(config.clone()),
        alerts: Arc::new(alerts::Alerting::new(config.alerts.clone(), config.listen)),
        appended: Arc::new(tokio::sync::watch::Sender::new(0)),
        stopping: Arc::new(tokio::sync::watch::Sender::new(false)),
    }
}

/// Journals the store's own start or stop (`vigil.start`, `vigil.stop`), with the system
/// account `vigil` as actor.
pub async fn journal_lifecycle(
    state: &AppState,
    action: &str,
    config: &config::ServerConfig,
) -> anyhow::Result<()> {
    let mut entry = journal::entry(
        state.now(),
        &vigil_core::Actor {
            id: "vigil".into(),
            name: None,
            role: None,
            kind: Some(vigil_core::ActorKind::System),
        },
        action,
        vigil_core::Kind::Access,
        journal::target("store", config.listen.to_string(), None),
        serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "database": config.database.display().to_string(),
        }),
    );
    if action == "vigil.stop" {
        entry.severity = vigil_core::Severity::Warning;
    }
    state
        .append(vec![entry])
        .await
        .with_context(|| format!("journaling {action}"))?;
    Ok(())
}

/// Serves the API on `listener`, and evaluates alert rules and delivers alerts, until
/// `shutdown` completes; then finishes in-flight requests (live tails end at once) and lets
/// sends under way finish briefly.
pub async fn serve(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let stopping = state.stopping.clone();
    let stopped = state.stopping.clone();
    let alerting = tokio::spawn(alerts::engine::run(state.clone()));
    let served = axum::serve(listener, app(state))
        .with_graceful_shutdown(async move {
            shutdown.await;
            stopping.send_replace(true);
        })
        .await;
    stopped.send_replace(true);
    let _ = alerting.await;
    served
}
