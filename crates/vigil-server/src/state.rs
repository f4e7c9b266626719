//! What every handler shares.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use vigil_core::Event;
use vigil_store::{Appended, Store, StoreError};

use crate::config::ServerConfig;

/// The clock, passed in so that tests control time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Shared by all handlers; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The journal and accounts.
    pub store: Arc<dyn Store>,
    /// Where time comes from.
    pub clock: Clock,
    /// Settings.
    pub config: Arc<ServerConfig>,
    /// Alerting's settings, HTTP client and wake-up call.
    pub alerts: Arc<crate::alerts::Alerting>,
    /// The highest seq this process has appended: live tails wake on it instead of polling
    /// (appends by other processes are picked up by the tails' slow poll).
    pub appended: Arc<tokio::sync::watch::Sender<u64>>,
    /// Becomes true when the server begins to shut down: open live tails end then, or the
    /// graceful shutdown would wait for them forever.
    pub stopping: Arc<tokio::sync::watch::Sender<bool>>,
    /// The live tails and exports each user has running.
    pub running: Arc<crate::service::running::Running>,
    /// The key checkpoints are signed with (`vigil serve`; the command line's verbs have none).
    pub signer: Option<Arc<vigil_core::checkpoint::SigningKey>>,
    /// The journal size a checkpoint is wanted for now (an export's proof): the signer signs at
    /// once when it is above the last checkpoint, rather than when one is due.
    pub checkpoint_wanted: Arc<tokio::sync::watch::Sender<u64>>,
    /// The signer gave up (the journal was changed or cut under a checkpoint it signed):
    /// exports do not wait for a checkpoint.
    pub signer_stopped: Arc<std::sync::atomic::AtomicBool>,
    /// When each revoked ingest key's use was last journaled (`sender.revoked_key`).
    pub revoked_tries: Arc<std::sync::Mutex<std::collections::HashMap<String, DateTime<Utc>>>>,
}

impl AppState {
    /// Now, from the state's clock.
    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Wakes the live tails for entries a store method appended (with what it changed).
    pub async fn wake(&self) {
        if let Ok(Some((last, _))) = self.store.head().await {
            self.announce(last);
        }
    }

    /// Appends a trace of reading (a search, an opened entry) and wakes the live tails; see
    /// [`Store::append_trace`].
    pub async fn append_trace(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        let results = self.store.append_trace(events).await?;
        if let Some(last) = results.iter().map(|r| r.seq).max() {
            self.announce(last);
        }
        Ok(results)
    }

    /// Appends to the journal and wakes the live tails.
    pub async fn append(&self, events: Vec<Event>) -> Result<Vec<Appended>, StoreError> {
        let results = self.store.append(events).await?;
        if let Some(last) = results.iter().map(|r| r.seq).max() {
            self.announce(last);
        }
        Ok(results)
    }

    /// Wakes the live tails for an entry this process appended, by its seq.
    pub fn announce(&self, seq: u64) {
        self.appended.send_if_modified(|last| {
            let newer = seq > *last;
            *last = (*last).max(seq);
            newer
        });
    }
}
