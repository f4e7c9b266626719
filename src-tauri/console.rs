//! Everything the console does, as plain async functions over a [`Console`]: the Tauri commands
//! (commands.rs) are one-line adapters over these, and the tests call them without a window.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Offset, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use vigil_client::{Client, ClientError, SearchOptions, Tailed};
use vigil_core::query::quote_if_needed;
use vigil_core::StoredEvent;
use vigil_store::{Facets, Order, Timeline};

use crate::error::UiError;
use crate::querybar::{self, BarClause, Parsed};
use crate::settings::{SavedSearch, SettingsFile};
use crate::vault::Vault;

/// How far "Around this" looks on each side of an entry.
pub const AROUND: chrono::Duration = chrono::Duration::minutes(15);
/// At most this many entries on each side of "Around this".
const AROUND_LIMIT: usize = 500;
/// How long the live tail waits before reconnecting after the connection broke.
const LIVE_RETRY: Duration = Duration::from_secs(2);
/// The store sends a keep-alive every 15 s: a tail silent for longer is reconnected.
const LIVE_SILENCE: Duration = Duration::from_secs(45);

/// The console's state: settings, the token vault and the signed-in session.
pub struct Console {
    settings: SettingsFile,
    vault: Vault,
    session: Arc<Mutex<Option<Active>>>,
    live: Mutex<Option<tokio::task::AbortHandle>>,
    /// The running export's cancel flag.
    pub(crate) exporting: Mutex<Option<Arc<std::sync::atomic::AtomicBool>>>,
    /// The file the user last picked in the save dialog: the only place an export may go when
    /// the webview asks (so a script in the page cannot write anywhere else).
    pub(crate) picked: Mutex<Option<std::path::PathBuf>>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("settings", &self.settings)
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// A signed-in session.
#[derive(Clone)]
struct Active {
    client: Client,
    server: String,
    user: UserInfo,
    expires_at: DateTime<Utc>,
}

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
}

/// Whether someone is signed in, and what the sign-in form needs otherwise.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// `signed_in` or `signed_out`.
    pub state: String,
    /// The server signed in to, or last used.
    pub server: Option<String>,
    /// Who is signed in.
    pub user: Option<UserInfo>,
    /// The last user name, to prefill the form.
    pub last_user: Option<String>,
    /// When the session ends.
    pub expires_at: Option<String>,
    /// `os` or `memory`.
    pub keyring: String,
    /// Why the OS keyring is not used, or why it failed.
    pub keyring_note: Option<String>,
    /// Why the user is signed out (expired, revoked, unreachable).
    pub reason: Option<String>,
}

/// A message of the live tail.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Live {
    /// The tail is connected (again).
    Connected,
    /// A new matching entry.
    Event {
        /// The entry.
        event: Box<Entry>,
    },
    /// The tail broke; it retries unless the code is `signed_out`.
    Error {
        /// As in [`UiError`].
        code: String,
        /// For the person.
        message: String,
    },
}

/// An entry as the UI gets it: the stored event, plus the JSON text of its changes' values and
/// details exactly as stored (JavaScript numbers would lose digits: `100.10`, 2^53 + 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The entry.
    #[serde(flatten)]
    pub stored: StoredEvent,
    /// Exact texts.
    pub exact: Exact,
}

/// The exact JSON texts of an entry's values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exact {
    /// One per change, in order.
    pub changes: Vec<ExactChange>,
    /// The details, pretty-printed (two spaces); absent with the details.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

/// A change's values as JSON text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExactChange {
    /// Before.
    pub before: String,
    /// After.
    pub after: String,
}

impl From<StoredEvent> for Entry {
    fn from(stored: StoredEvent) -> Entry {
        let text = |v: &serde_json::Value| serde_json::to_string(v).expect("JSON values serialize");
        let e = &stored.event;
        let exact = Exact {
            changes: e
                .changes
                .iter()
                .flatten()
                .map(|c| ExactChange {
                    before: text(&c.before),
                    after: text(&c.after),
                })
                .collect(),
            details: e
                .details
                .as_ref()
                .map(|d| serde_json::to_string_pretty(d).expect("JSON values serialize")),
        };
        Entry { stored, exact }
    }
}

/// A page of entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntriesPage {
    /// The entries.
    pub events: Vec<Entry>,
    /// Where the next page starts; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// Entries, in an order the caller chose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entries {
    /// The entries.
    pub events: Vec<Entry>,
}

/// The local UTC offset now: dates without an offset in the query are the user's wall-clock.
fn local_offset() -> chrono::FixedOffset {
    chrono::Local::now().offset().fix()
}

impl Console {
    /// A console keeping its settings in `data_dir` and its token in `vault`.
    pub fn new(data_dir: &Path, vault: Vault) -> Console {
        Console {
            settings: SettingsFile::new(data_dir),
            vault,
            session: Arc::new(Mutex::new(None)),
            live: Mutex::new(None),
            exporting: Mutex::new(None),
            picked: Mutex::new(None),
        }
    }

    pub(crate) fn user_name(&self) -> Option<String> {
        self.active().map(|a| a.user.name)
    }

    fn active(&self) -> Option<Active> {
        self.session.lock().expect("session lock").clone()
    }

    /// The signed-in client, or `signed_out`. It sends the local UTC offset of now, so that a
    /// console left open across a daylight-saving change reads "the last hour" right.
    pub(crate) fn client(&self) -> Result<Client, UiError> {
        self.active()
            .map(|a| a.client.with_tz(local_offset()))
            .ok_or_else(|| UiError::signed_out("Sign in to search the journal."))
    }

    fn signed_in(&self, a: &Active) -> Session {
        Session {
            state: "signed_in".into(),
            server: Some(a.server.clone()),
            user: Some(a.user.clone()),
            last_user: Some(a.user.name.clone()),
            expires_at: Some(vigil_core::event::micros::format(&a.expires_at)),
            keyring: self.vault.kind().into(),
            keyring_note: self.vault.note().map(String::from),
            reason: None,
        }
    }

    fn signed_out(&self, reason: Option<String>) -> Session {
        let s = self.settings.load();
        Session {
            state: "signed_out".into(),
            server: s.server,
            user: None,
            last_user: s.user,
            expires_at: None,
            keyring: self.vault.kind().into(),
            keyring_note: self.vault.note().map(String::from),
            reason,
        }
    }

    /// Whether someone is signed in. At launch, a token kept in the keyring is checked with the
    /// store: still valid → signed in; expired or revoked → forgotten, with the reason.
    pub async fn session_status(&self) -> Session {
        if let Some(a) = self.active() {
            return self.signed_in(&a);
        }
        let settings = self.settings.load();
        let (Some(server), Some(user)) = (settings.server, settings.user) else {
            return self.signed_out(None);
        };
        let token = match self.vault.load(&server, &user) {
            Ok(Some(t)) => t,
            Ok(None) => return self.signed_out(None),
            Err(e) => return self.signed_out(Some(e.message)),
        };
        let client = match Client::new(&server) {
            Ok(c) => c.with_token(&token).with_tz(local_offset()),
            Err(e) => return self.signed_out(Some(UiError::from(e).message)),
        };
        match client.me().await {
            Ok(me) => {
                let a = Active {
                    client,
                    server,
                    user: UserInfo {
                        name: me.name,
                        roles: me.roles,
                    },
                    expires_at: me.expires_at,
                };
                *self.session.lock().expect("session lock") = Some(a.clone());
                self.signed_in(&a)
            }
            Err(ClientError::Api {
                status: 401,
                message,
                ..
            }) => {
                let _ = self.vault.forget(&server, &user);
                self.signed_out(Some(format!(
                    "Your session has ended ({message}). Sign in again."
                )))
            }
            Err(e) => self.signed_out(Some(UiError::from(e).message)),
        }
    }

    /// Signs in; the token goes to the OS keyring (or stays in memory, with the reason).
    pub async fn sign_in(
        &self,
        server: &str,
        user: &str,
        password: &str,
    ) -> Result<Session, UiError> {
        let server = server.trim();
        let user = user.trim();
        if server.is_empty() {
            return Err(UiError::new(
                "bad_url",
                "Enter the store's address, e.g. http://127.0.0.1:7878.",
            ));
        }
        if user.is_empty() || password.is_empty() {
            return Err(UiError::new(
                "bad_credentials",
                "Enter your user name and password.",
            ));
        }
        let anonymous = Client::new(server)?;
        let answer = match anonymous.login(user, password).await {
            Ok(a) => a,
            Err(ClientError::Api {
                status: 401,
                message,
                ..
            }) => return Err(UiError::new("bad_credentials", message)),
            Err(ClientError::Api {
                status: 404 | 405, ..
            })
            | Err(ClientError::Decode(_)) => {
                return Err(UiError::new(
                    "bad_url",
                    format!("No Vigil store answers at {server}: check the address."),
                ))
            }
            Err(e) => return Err(e.into()),
        };
        let server = anonymous
            .base_url()
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let a = Active {
            client: anonymous.with_token(&answer.token).with_tz(local_offset()),
            server: server.clone(),
            user: UserInfo {
                name: answer.user.name,
                roles: answer.user.roles,
            },
            expires_at: answer.expires_at,
        };
        let kept = self.vault.save(&server, &a.user.name, &answer.token);
        let name = a.user.name.clone();
        self.settings.update(|s| {
            s.server = Some(server.clone());
            s.user = Some(name);
        })?;
        *self.session.lock().expect("session lock") = Some(a.clone());
        let mut session = self.signed_in(&a);
        if let Err(e) = kept {
            session.keyring = "memory".into();
            session.keyring_note = Some(e.message);
        }
        Ok(session)
    }

    /// Signs out: ends the session on the store (when it answers) and forgets the token.
    pub async fn sign_out(&self) -> Result<Session, UiError> {
        self.live_stop();
        let active = self.session.lock().expect("session lock").take();
        if let Some(a) = active {
            let _ = a.client.logout().await;
            self.vault.forget(&a.server, &a.user.name)?;
        }
        Ok(self.signed_out(None))
    }

    /// Runs a request; a 401 ends the session here too.
    pub(crate) async fn call<T>(&self, result: Result<T, ClientError>) -> Result<T, UiError> {
        match result {
            Err(ClientError::Api {
                status: 401,
                message,
                ..
            }) => {
                let ended = self.session.lock().expect("session lock").take();
                if let Some(a) = ended {
                    let _ = self.vault.forget(&a.server, &a.user.name);
                }
                self.live_stop();
                Err(UiError::signed_out(format!(
                    "Your session has ended ({message}). Sign in again."
                )))
            }
            other => other.map_err(UiError::from),
        }
    }

    /// A page of matching entries.
    pub async fn search(
        &self,
        q: &str,
        cursor: Option<String>,
        limit: Option<usize>,
        order: Option<&str>,
    ) -> Result<EntriesPage, UiError> {
        let client = self.client()?;
        let order = match order {
            None | Some("newest") => Order::Newest,
            Some("oldest") => Order::Oldest,
            Some(o) => return Err(UiError::invalid(format!("order {o:?}: newest or oldest"))),
        };
        let options = SearchOptions {
            q: q.into(),
            limit,
            cursor: cursor.filter(|c| !c.is_empty()),
            order: Some(order),
        };
        let page = self.call(client.search(&options).await).await?;
        Ok(EntriesPage {
            events: page.events.into_iter().map(Entry::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    /// The histogram of a query (its bucket counts add up to the number of matches).
    pub async fn timeline(&self, q: &str, buckets: Option<u32>) -> Result<Timeline, UiError> {
        let client = self.client()?;
        self.call(client.timeline(q, buckets).await).await
    }

    /// The most frequent values of a field among the matches.
    pub async fn facets(
        &self,
        q: &str,
        field: &str,
        limit: Option<usize>,
    ) -> Result<Facets, UiError> {
        let client = self.client()?;
        self.call(client.facets(q, field, limit).await).await
    }

    /// One entry.
    pub async fn event(&self, id: &str) -> Result<Entry, UiError> {
        self.stored_event(id).await.map(Entry::from)
    }

    async fn stored_event(&self, id: &str) -> Result<StoredEvent, UiError> {
        let client = self.client()?;
        let id = uuid::Uuid::parse_str(id.trim())
            .map_err(|_| UiError::invalid(format!("{id:?} is not an entry id")))?;
        self.call(client.event(id).await).await
    }

    /// The same actor's and the same target's entries within ±15 minutes of an entry, oldest
    /// first, each once.
    pub async fn around(&self, id: &str) -> Result<Entries, UiError> {
        let entry = self.stored_event(id).await?;
        let client = self.client()?;
        let e = &entry.event;
        let window = |t: DateTime<Utc>| vigil_core::event::micros::format(&t);
        let range = format!(
            "after:{} before:{}",
            window(e.occurred_at - AROUND),
            window(e.occurred_at + AROUND + chrono::Duration::microseconds(1))
        );
        let mut queries = vec![format!("actor:{} {range}", quote_if_needed(&e.actor.id))];
        if let Some(t) = &e.target {
            queries.push(format!(
                "target:{} {range}",
                quote_if_needed(&format!("{}/{}", t.kind, t.id))
            ));
        }
        let mut events: Vec<StoredEvent> = Vec::new();
        for q in queries {
            let options = SearchOptions {
                q,
                limit: Some(AROUND_LIMIT),
                cursor: None,
                order: Some(Order::Oldest),
            };
            let page = self.call(client.search(&options).await).await?;
            events.extend(page.events);
        }
        events.sort_by_key(|e| (e.event.occurred_at, e.seq));
        events.dedup_by_key(|e| e.seq);
        Ok(Entries {
            events: events.into_iter().map(Entry::from).collect(),
        })
    }

    /// Starts tailing new entries matching `q` (stopping any other tail); messages go to `sink`
    /// until [`Console::live_stop`] or until `sink` answers false (the window is gone). A broken
    /// or silent connection is reopened from the last seq the store named, so that nothing is
    /// missed or repeated; an ended session ends the tail and the session here.
    pub fn live_start(
        &self,
        q: &str,
        sink: impl Fn(Live) -> bool + Send + Sync + 'static,
    ) -> Result<(), UiError> {
        q.parse::<vigil_core::Query>()?;
        let client = self.client()?;
        let mut live = self.live.lock().expect("live lock");
        if let Some(task) = live.take() {
            task.abort();
        }
        let tail = LiveTail {
            client,
            q: q.to_owned(),
            session: self.session.clone(),
            vault: self.vault.clone(),
        };
        let task = tauri::async_runtime::spawn(tail.run(sink));
        *live = Some(task.inner().abort_handle());
        Ok(())
    }

    /// Stops the live tail, if one runs.
    pub fn live_stop(&self) {
        if let Some(task) = self.live.lock().expect("live lock").take() {
            task.abort();
        }
    }

    /// The saved searches, by name.
    pub fn saved_searches(&self) -> Vec<SavedSearch> {
        self.settings.load().saved
    }

    /// Saves a query under a name (replacing one of the same name).
    pub fn save_search(&self, name: &str, q: &str) -> Result<Vec<SavedSearch>, UiError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(UiError::invalid("Give the search a name."));
        }
        q.parse::<vigil_core::Query>()?;
        self.settings.update(|s| {
            s.saved.retain(|x| x.name != name);
            s.saved.push(SavedSearch {
                name: name.into(),
                q: q.trim().into(),
            });
            s.saved.sort_by_key(|x| x.name.to_lowercase());
            s.saved.clone()
        })
    }

    /// Deletes a saved search.
    pub fn delete_search(&self, name: &str) -> Result<Vec<SavedSearch>, UiError> {
        self.settings.update(|s| {
            s.saved.retain(|x| x.name != name);
            s.saved.clone()
        })
    }

    /// The filter bar's clauses of a query text.
    pub fn parse_query(&self, q: &str) -> Result<Parsed, UiError> {
        querybar::parse(q)
    }

    /// The query text of the filter bar's clauses.
    pub fn print_query(&self, clauses: &[BarClause]) -> Result<String, UiError> {
        querybar::print(clauses)
    }
}

/// Ends the session here: forgets it and its token (the store said it is over).
fn end_session(session: &Mutex<Option<Active>>, vault: &Vault) {
    let ended = session.lock().expect("session lock").take();
    if let Some(a) = ended {
        let _ = vault.forget(&a.server, &a.user.name);
    }
}

/// A running live tail.
struct LiveTail {
    client: Client,
    q: String,
    session: Arc<Mutex<Option<Active>>>,
    vault: Vault,
}

impl LiveTail {
    async fn run(self, sink: impl Fn(Live) -> bool) {
        let mut after: Option<u64> = None;
        loop {
            let failure = match self.client.stream(&self.q, after).await {
                Ok(stream) => {
                    let mut stream = std::pin::pin!(stream);
                    loop {
                        match tokio::time::timeout(LIVE_SILENCE, stream.next()).await {
                            Ok(Some(Ok(Tailed::Ready { after: seq }))) => {
                                after = Some(seq);
                                if !sink(Live::Connected) {
                                    return;
                                }
                            }
                            Ok(Some(Ok(Tailed::Entry(entry)))) => {
                                after = Some(entry.seq);
                                let event = Box::new(Entry::from(*entry));
                                if !sink(Live::Event { event }) {
                                    return;
                                }
                            }
                            Ok(Some(Err(e))) => break UiError::from(e),
                            // The store closed the tail: the session ended, or it stops; the
                            // reconnect tells which.
                            Ok(None) => break UiError::new("unreachable", "The live tail was closed by the store; reconnecting."),
                            Err(_) => break UiError::new(
                                "unreachable",
                                "No news from the store for 45 seconds; reconnecting the live tail.",
                            ),
                        }
                    }
                }
                Err(e) => UiError::from(e),
            };
            let fatal = matches!(
                failure.code,
                "signed_out" | "bad_query" | "invalid" | "not_found"
            );
            if failure.code == "signed_out" {
                end_session(&self.session, &self.vault);
            }
            let open = sink(Live::Error {
                code: failure.code.into(),
                message: failure.message,
            });
            if fatal || !open {
                return;
            }
            tokio::time::sleep(LIVE_RETRY).await;
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        self.live_stop();
    }
}
