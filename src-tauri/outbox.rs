//! The outbox: everything the user writes waits here (durably, in console.db) until the store
//! has it, and is sent in the order written and each exactly once (the record's id is chosen on
//! this computer, so a resend after a lost answer is a no-op on the store). Items go only under
//! the account that wrote them; one the store refuses stays, failed, with its reason, until the
//! user retries or discards it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigil_client::ClientError;
use vigil_core::event::micros;
use vigil_core::Annotation;

use crate::console::Console;
use crate::error::UiError;
use crate::local::Item;

/// The outbox is tried at most this often when the UI asks for its status.
const FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(3);

/// One outbox item as the UI lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Its number.
    pub n: i64,
    /// `annotation`, `incident`, `pin` or `note`.
    pub kind: String,
    /// For the person.
    pub summary: String,
    /// When it was written.
    pub written_at: String,
    /// `waiting` or `failed`.
    pub state: String,
    /// Why the store refused it.
    pub error: Option<String>,
}

/// The outbox and the connection, for the badge and the offline banner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outbox {
    /// The store answered the last request.
    pub online: bool,
    /// The server signed in to.
    pub server: Option<String>,
    /// Items not yet in the store (waiting or failed).
    pub waiting: usize,
    /// The items, oldest first.
    pub items: Vec<OutboxItem>,
}

/// The store did not take the item, but may later: not there, failing, busy or slow.
fn is_unreachable(e: &ClientError) -> bool {
    matches!(e, ClientError::Unreachable { .. })
        || matches!(e, ClientError::Api { status, .. } if *status >= 500 || *status == 408 || *status == 429)
}

impl Console {
    /// What the signed-in user wrote for `server` and the store does not have yet: only their
    /// own (another user's items wait for that user, unseen).
    pub(crate) fn my_items(&self, server: &str) -> Result<Vec<Item>, UiError> {
        match self.user_name() {
            Some(user) => self.local.items(server, &user),
            None => Ok(Vec::new()),
        }
    }

    /// The outbox, after trying to send what waits (at most every few seconds).
    pub async fn outbox(&self) -> Result<Outbox, UiError> {
        let due = {
            let mut last = self.last_flush.lock().expect("flush lock");
            let due = last.is_none_or(|t| t.elapsed() >= FLUSH_EVERY);
            if due {
                *last = Some(std::time::Instant::now());
            }
            due
        };
        if due {
            self.flush().await;
        }
        self.outbox_status()
    }

    /// Failed items wait again; then a send is tried.
    pub async fn outbox_retry(&self, n: Option<i64>) -> Result<Outbox, UiError> {
        if let (Some(server), Some(user)) = (self.server(), self.user_name()) {
            self.local.retry(&server, &user, n)?;
        }
        self.flush_now().await
    }

    /// Drops a failed item.
    pub fn outbox_discard(&self, n: i64) -> Result<Outbox, UiError> {
        if let (Some(server), Some(user)) = (self.server(), self.user_name()) {
            if !self.local.discard(&server, &user, n)? {
                return Err(UiError::invalid(format!(
                    "There is no failed item {n} in the outbox."
                )));
            }
        }
        self.outbox_status()
    }

    fn outbox_status(&self) -> Result<Outbox, UiError> {
        let server = self.server();
        let items = match &server {
            Some(s) => self.my_items(s)?,
            None => Vec::new(),
        };
        Ok(Outbox {
            online: self.is_online(),
            server,
            waiting: items.len(),
            items: items
                .into_iter()
                .map(|i| OutboxItem {
                    n: i.n,
                    kind: i.kind,
                    summary: i.summary,
                    written_at: micros::format(
                        &chrono::DateTime::from_timestamp_micros(i.written_at).unwrap_or_default(),
                    ),
                    state: i.state,
                    error: i.error,
                })
                .collect(),
        })
    }

    pub(crate) async fn flush_now(&self) -> Result<Outbox, UiError> {
        self.flush().await;
        self.outbox_status()
    }

    /// Sends the signed-in user's waiting items in order, each until the store has it: stored
    /// now or already (a resend), or refused (4xx: kept as failed, with the reason). Stops at the
    /// first item the store does not answer for (unreachable, failing): it is tried again later.
    pub async fn flush(&self) {
        let Ok(_one) = self.flushing.try_lock() else {
            return;
        };
        let Ok((client, server)) = self.client_and_server() else {
            return;
        };
        let Some(user) = self.user_name() else { return };
        // Only while the same person stays signed in to the same store: another session's
        // items are theirs to send.
        let still = || {
            self.server().as_deref() == Some(&server) && self.user_name().as_deref() == Some(&user)
        };
        loop {
            if !still() {
                return;
            }
            let item = match self.local.next_waiting(&server, &user) {
                Ok(Some(item)) => item,
                Ok(None) => return,
                Err(e) => {
                    tracing::error!(error = %e.message, "outbox unreadable");
                    return;
                }
            };
            match client.record::<Value>(&item.path, &item.body).await {
                Ok((_, stored)) => {
                    self.mark_online(true);
                    if item.kind == "annotation" {
                        self.remember_annotation(&server, &item.subject, stored);
                    }
                    if let Err(e) = self.local.sent(item.n) {
                        tracing::error!(error = %e.message, "outbox could not forget a sent item");
                        return;
                    }
                }
                Err(ClientError::Api {
                    status: 401,
                    message,
                    ..
                }) => {
                    // The items wait for the user to sign in again.
                    if still() {
                        self.session_ended(&message);
                    }
                    return;
                }
                Err(e) if is_unreachable(&e) => {
                    self.mark_online(!matches!(e, ClientError::Unreachable { .. }));
                    return;
                }
                // This computer's clock is ahead of the store's: send it without the time
                // written (the store takes its own), rather than never.
                Err(ClientError::Api { code, .. })
                    if code == "bad_written_at" && item.body.get("written_at").is_some() =>
                {
                    let mut body = item.body.clone();
                    if let Some(fields) = body.as_object_mut() {
                        fields.remove("written_at");
                    }
                    if let Err(e) = self.local.rewrite(item.n, &body) {
                        tracing::error!(error = %e.message, "outbox could not rewrite an item");
                        return;
                    }
                }
                Err(e) => {
                    self.mark_online(true);
                    let message = UiError::from(e).message;
                    if let Err(e) = self.local.failed(item.n, &message) {
                        tracing::error!(error = %e.message, "outbox could not record a refusal");
                        return;
                    }
                }
            }
        }
    }

    /// Adds an annotation the store now has to the cached entry, so that the cache searches
    /// right before the entry is shown again.
    fn remember_annotation(&self, server: &str, entry: &str, stored: Value) {
        let Ok(a) = serde_json::from_value::<Annotation>(stored) else {
            return;
        };
        if let Ok(Some(mut cached)) = self.local.entry(server, entry) {
            if !cached.annotations.iter().any(|x| x.id == a.id) {
                cached.annotations.push(a);
                let _ = self.local.keep_entries(server, &[cached]);
            }
        }
    }
}
