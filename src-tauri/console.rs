//! Everything the console does, as plain async functions over a [`Console`]: the Tauri commands
//! (commands.rs) are one-line adapters over these, and the tests call them without a window.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Offset, Utc};
use futures::StreamExt;
use serde::{Deserialize, Serialize};
use vigil_api::{FacetField, Facets, Order, Timeline};
use vigil_client::{Client, ClientError, SearchOptions, Tailed};
use vigil_core::query::quote_if_needed;
use vigil_core::{Annotated, AnnotationSummary, IncidentRef, StoredEvent};

use crate::annotations::{summary_with_pending, AnnotationView};
use crate::error::UiError;
use crate::local::Local;
use crate::settings::{SavedSearch, SettingsFile};
use crate::vault::Vault;
use vigil_console_core::offline::{self, Held};
use vigil_console_core::querybar::{self, BarClause, Parsed};

/// Cursors of pages read from the cache start with this.
const LOCAL_CURSOR: &str = "local:";

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
    pub(crate) settings: SettingsFile,
    vault: Vault,
    session: Arc<Mutex<Option<Active>>>,
    live: Mutex<Option<tokio::task::AbortHandle>>,
    /// The running export's cancel flag.
    pub(crate) exporting: Mutex<Option<Arc<std::sync::atomic::AtomicBool>>>,
    /// The file the user last picked in the save dialog: the only place an export may go when
    /// the webview asks (so a script in the page cannot write anywhere else).
    pub(crate) picked: Mutex<Option<std::path::PathBuf>>,
    /// The cache and the outbox.
    pub(crate) local: Arc<Local>,
    /// Whether the store answered the last request.
    online: std::sync::atomic::AtomicBool,
    /// Held while the outbox is being sent (one sender at a time).
    pub(crate) flushing: tokio::sync::Mutex<()>,
    /// When the UI's polling last tried to send the outbox.
    pub(crate) last_flush: Mutex<Option<std::time::Instant>>,
    /// The newest checkpoint verified, and the entries shown (crate::trust).
    pub(crate) verified: Mutex<crate::trust::Verified>,
    /// Held while the store's key and checkpoint are checked (one check at a time).
    pub(crate) trusting: tokio::sync::Mutex<()>,
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
    /// Unknown when the session was resumed while the store could not be reached.
    expires_at: Option<DateTime<Utc>>,
}

/// The signed-in user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    /// User name.
    pub name: String,
    /// Roles.
    pub roles: Vec<String>,
    /// What the roles allow (`read`, `unmask`, `annotate`, `review`, `export`, `alerts`, `marks`,
    /// `accounts`): the UI offers only these.
    #[serde(default)]
    pub rights: Vec<String>,
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
    /// Signed in with the kept token while the store cannot be reached: the cache is searched
    /// and what is written waits in the outbox.
    pub offline: bool,
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
/// details exactly as stored (JavaScript numbers would lose digits: `100.10`, 2^53 + 1), its
/// annotations (the store's, then the ones waiting in the outbox) and its incidents.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// The entry.
    #[serde(flatten)]
    pub stored: StoredEvent,
    /// Exact texts.
    pub exact: Exact,
    /// Oldest first; waiting ones last.
    pub annotations: Vec<AnnotationView>,
    /// The incidents it is pinned to.
    pub incidents: Vec<IncidentRef>,
    /// The fields the store masked (the user may not see personal data): `ip` (shown as its
    /// /24 or /48), `target.name`, `changes.email`, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<String>,
    /// For an entry `event` fetched from the store: the number of this copy, which
    /// `verify_entry` checks (search rows and cached entries have none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy: Option<u64>,
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
        Entry {
            stored,
            exact,
            annotations: Vec::new(),
            incidents: Vec::new(),
            masked: Vec::new(),
            copy: None,
        }
    }
}

impl Entry {
    /// An entry with its annotations, the waiting ones last.
    pub fn annotated(a: Annotated, pending: &[AnnotationView]) -> Entry {
        let mut annotations: Vec<AnnotationView> =
            a.annotations.iter().map(AnnotationView::from).collect();
        annotations.extend(
            pending
                .iter()
                .filter(|p| !annotations.iter().any(|s| s.id == p.id))
                .cloned()
                .collect::<Vec<_>>(),
        );
        Entry {
            annotations,
            incidents: a.incidents,
            masked: a.masked,
            ..Entry::from(a.entry)
        }
    }
}

/// A cached entry as the UI shows it, with what a query sees of it.
struct Cached {
    entry: Entry,
    summary: AnnotationSummary,
}

impl Held for Cached {
    fn stored(&self) -> &StoredEvent {
        &self.entry.stored
    }
    fn summary(&self) -> &AnnotationSummary {
        &self.summary
    }
}

/// A page of entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntriesPage {
    /// The entries.
    pub events: Vec<Entry>,
    /// Where the next page starts; `null` on the last page.
    pub next_cursor: Option<String>,
    /// The store could not be reached: the page comes from the local cache.
    pub offline: bool,
    /// How far the store's search index was behind its journal (`null` offline).
    pub freshness: Option<vigil_api::Freshness>,
}

/// How far the store's search index has got through its journal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndexProgress {
    /// Entries the index holds.
    pub indexed: u64,
    /// Entries in the journal.
    pub journal: u64,
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
    /// A console keeping its settings, cache and outbox in `data_dir` and its token in `vault`.
    pub fn new(data_dir: &Path, vault: Vault) -> Result<Console, UiError> {
        Ok(Console {
            settings: SettingsFile::new(data_dir),
            vault,
            session: Arc::new(Mutex::new(None)),
            live: Mutex::new(None),
            exporting: Mutex::new(None),
            picked: Mutex::new(None),
            local: Arc::new(Local::open(data_dir)?),
            online: std::sync::atomic::AtomicBool::new(true),
            flushing: tokio::sync::Mutex::new(()),
            last_flush: Mutex::new(None),
            verified: Mutex::default(),
            trusting: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether the store answered the last request.
    pub(crate) fn is_online(&self) -> bool {
        self.online.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn mark_online(&self, online: bool) {
        self.online
            .store(online, std::sync::atomic::Ordering::Relaxed);
    }

    /// The server signed in to.
    pub(crate) fn server(&self) -> Option<String> {
        self.active().map(|a| a.server)
    }

    /// The signed-in client and its server.
    pub(crate) fn client_and_server(&self) -> Result<(Client, String), UiError> {
        let client = self.client()?;
        let server = self
            .server()
            .ok_or_else(|| UiError::signed_out("Sign in to search the journal."))?;
        Ok((client, server))
    }

    /// Runs a request: its answer, or `None` when the store cannot be reached (the caller then
    /// answers from the cache); other errors as [`Console::call`] gives them.
    pub(crate) async fn reach<T>(
        &self,
        result: Result<T, ClientError>,
    ) -> Result<Option<T>, UiError> {
        match result {
            Err(ClientError::Unreachable { .. }) => {
                self.mark_online(false);
                Ok(None)
            }
            other => self.call(other).await.map(Some),
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
            expires_at: a.expires_at.as_ref().map(vigil_core::event::micros::format),
            keyring: self.vault.kind().into(),
            keyring_note: self.vault.note().map(String::from),
            reason: None,
            offline: !self.is_online(),
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
            offline: false,
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
        self.open_cache(&server, &user);
        match client.me().await {
            Ok(me) => {
                self.mark_online(true);
                let a = Active {
                    client,
                    server,
                    user: UserInfo {
                        name: me.name,
                        roles: me.roles,
                        rights: me.rights,
                    },
                    expires_at: Some(me.expires_at),
                };
                let _ = self.local.keep(&a.server, "me", &a.user);
                *self.session.lock().expect("session lock") = Some(a.clone());
                self.signed_in(&a)
            }
            // The store cannot be reached: work offline with the kept token (checked when the
            // store answers again; a 401 then ends the session as usual).
            Err(ClientError::Unreachable { .. }) => {
                self.mark_online(false);
                let user_info = self
                    .local
                    .kept::<UserInfo>(&server, "me")
                    .ok()
                    .flatten()
                    .filter(|u| u.name == user)
                    .unwrap_or(UserInfo {
                        name: user,
                        roles: Vec::new(),
                        rights: Vec::new(),
                    });
                let a = Active {
                    client,
                    server,
                    user: user_info,
                    expires_at: None,
                };
                *self.session.lock().expect("session lock") = Some(a.clone());
                self.signed_in(&a)
            }
            Err(ClientError::Api {
                status: 401,
                message,
                ..
            }) => {
                // Expired overnight, revoked, disabled: the cache goes with the session.
                self.forget_user(&server, &user);
                self.signed_out(Some(format!(
                    "Your session has ended ({message}). Sign in again."
                )))
            }
            Err(e) => {
                self.local.lock();
                self.signed_out(Some(UiError::from(e).message))
            }
        }
    }

    /// Forgets a user on this computer, as far as it can (a keyring that fails does not keep
    /// the cache): their token, their cache and its key. The cache is closed in any case.
    fn forget_user(&self, server: &str, user: &str) -> Option<UiError> {
        let token = self.vault.forget(server, user).err();
        let wiped = self.local.wipe(server, user).err();
        let key = self.vault.forget_cache_key(server, user).err();
        self.local.lock();
        token.or(wiped).or(key)
    }

    /// Signs in; the token goes to the OS keyring (or stays in memory, with the reason).
    pub async fn sign_in(
        &self,
        server: &str,
        user: &str,
        password: &str,
        plain_http: bool,
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
        if !plain_http {
            refuse_plain_http(anonymous.base_url())?;
        }
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
                rights: answer.user.rights,
            },
            expires_at: Some(answer.expires_at),
        };
        self.mark_online(true);
        self.open_cache(&server, &a.user.name);
        self.local.keep(&server, "me", &a.user)?;
        let kept = self.vault.save(&server, &a.user.name, &answer.token);
        let name = a.user.name.clone();
        self.settings.update(|s| {
            s.server = Some(server.clone());
            s.user = Some(name);
        })?;
        *self.session.lock().expect("session lock") = Some(a.clone());
        // What was verified belongs to the session before (the address may answer for
        // another store now): checked again from the pinned key and the checkpoint seen.
        // Copy numbers go on rising: a check the UI holds is never taken for another copy.
        self.verified.lock().expect("verified lock").forget();
        let mut session = self.signed_in(&a);
        if let Err(e) = kept {
            session.keyring = "memory".into();
            session.keyring_note = Some(e.message);
        }
        Ok(session)
    }

    /// Changes the signed-in user's own password, given the current one: the store ends their
    /// other sessions, this one goes on. A wrong current password is `wrong_password` (and
    /// counts as a failed sign-in on the store: five lock the name, `locked`).
    pub async fn change_password(
        &self,
        old_password: &str,
        new_password: &str,
    ) -> Result<(), UiError> {
        if old_password.is_empty() || new_password.is_empty() {
            return Err(UiError::invalid(
                "Enter your current password and the new one.",
            ));
        }
        let client = self.client()?;
        match client.change_password(old_password, new_password).await {
            Err(ClientError::Api { code, message, .. }) if code == "wrong_password" => {
                Err(UiError::new("wrong_password", message))
            }
            Err(ClientError::Api {
                status: 429,
                message,
                ..
            }) => Err(UiError::new("locked", message)),
            other => self.call(other).await,
        }
    }

    /// Signs out: ends the session on the store (when it answers) and forgets the token.
    pub async fn sign_out(&self) -> Result<Session, UiError> {
        self.live_stop();
        let active = self.session.lock().expect("session lock").take();
        self.local.lock();
        if let Some(a) = active {
            let _ = a.client.logout().await;
            // What this user's session showed goes with it: the next person on this OS
            // account finds nothing of it. (Their outbox waits for them, under their name.)
            if let Some(e) = self.forget_user(&a.server, &a.user.name) {
                return Err(e);
            }
        }
        Ok(self.signed_out(None))
    }

    /// Opens this user's sealed cache with their key from the keyring (a keyring that fails
    /// leaves the cache closed: nothing is kept, the console works online).
    fn open_cache(&self, server: &str, user: &str) {
        match self.vault.cache_key(server, user) {
            Ok(key) => self.local.unlock(server, user, &key),
            Err(e) => {
                tracing::warn!("the offline cache stays closed: {}", e.message);
                self.local.lock();
            }
        }
    }

    /// Runs a request; a 401 ends the session here too.
    pub(crate) async fn call<T>(&self, result: Result<T, ClientError>) -> Result<T, UiError> {
        self.mark_online(!matches!(result, Err(ClientError::Unreachable { .. })));
        match result {
            Err(ClientError::Api {
                status: 401,
                message,
                ..
            }) => Err(self.session_ended(&message)),
            other => other.map_err(UiError::from),
        }
    }

    /// The store said the session is over (401): it ends here too, and its token is forgotten.
    pub(crate) fn session_ended(&self, why: &str) -> UiError {
        let ended = self.session.lock().expect("session lock").take();
        if let Some(a) = ended {
            // Expired, revoked, disabled or a changed password: the cache goes with the session.
            let _ = self.forget_user(&a.server, &a.user.name);
        }
        self.local.lock();
        self.live_stop();
        UiError::signed_out(format!("Your session has ended ({why}). Sign in again."))
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
        let cursor = cursor.filter(|c| !c.is_empty());
        let server = self.server().unwrap_or_default();
        let query: vigil_core::Query = q.parse()?;
        if cursor
            .as_deref()
            .is_some_and(|c| c.starts_with(LOCAL_CURSOR))
        {
            return self
                .search_cache(&server, query, cursor, limit, order)
                .await;
        }
        let options = SearchOptions {
            q: q.into(),
            limit,
            cursor,
            order: Some(order),
        };
        let Some(page) = self.reach(client.search(&options).await).await? else {
            return self.search_cache(&server, query, None, limit, order).await;
        };
        self.local.keep_entries(&server, &page.events)?;
        let pending = self.pending_annotations(&server);
        Ok(EntriesPage {
            events: page
                .events
                .into_iter()
                .map(|a| {
                    let p = pending.get(&a.entry.event.id.to_string());
                    Entry::annotated(a, p.map_or(&[][..], Vec::as_slice))
                })
                .collect(),
            next_cursor: page.next_cursor,
            offline: false,
            freshness: page.freshness,
        })
    }

    /// The cached entries that match, with their waiting annotations and what a query sees of
    /// them, in the order asked.
    async fn cached_matches(
        &self,
        server: &str,
        query: vigil_core::Query,
        order: Order,
    ) -> Result<Vec<Cached>, UiError> {
        let local = self.local.clone();
        let server = server.to_owned();
        let pending = self.pending_annotations(&server);
        tokio::task::spawn_blocking(move || {
            let held = local.entries(&server)?.into_iter().map(|a| {
                let p = pending
                    .get(&a.entry.event.id.to_string())
                    .map_or(&[][..], Vec::as_slice);
                Cached {
                    summary: summary_with_pending(&a, p),
                    entry: Entry::annotated(a, p),
                }
            });
            Ok(offline::matching(held, &query, &local_offset(), order))
        })
        .await
        .map_err(|e| UiError::new("local", e.to_string()))?
    }

    /// A page of the cache, for when the store cannot be reached.
    async fn search_cache(
        &self,
        server: &str,
        query: vigil_core::Query,
        cursor: Option<String>,
        limit: Option<usize>,
        order: Order,
    ) -> Result<EntriesPage, UiError> {
        let skip: usize = match cursor.as_deref() {
            Some(c) => c[LOCAL_CURSOR.len()..].parse().map_err(|_| {
                UiError::invalid(format!("cursor {c:?} is not one the console gave"))
            })?,
            None => 0,
        };
        let limit = limit.unwrap_or(50).clamp(1, 1000);
        let hits = self.cached_matches(server, query, order).await?;
        let next = (hits.len() > skip + limit).then(|| format!("{LOCAL_CURSOR}{}", skip + limit));
        Ok(EntriesPage {
            events: hits
                .into_iter()
                .skip(skip)
                .take(limit)
                .map(|c| c.entry)
                .collect(),
            next_cursor: next,
            offline: true,
            freshness: None,
        })
    }

    /// How far the store's search index has got (from its health, which journals nothing):
    /// the console asks while an answer said the index was being built.
    pub async fn index_progress(&self) -> Result<IndexProgress, UiError> {
        let client = self.client()?;
        let health = self.call(client.health().await).await?;
        // A signed-in caller is told the counts.
        let journal = health.events.unwrap_or_default();
        Ok(IndexProgress {
            indexed: health.indexed.unwrap_or(journal),
            journal,
        })
    }

    /// The histogram of a query (its bucket counts add up to the number of matches).
    pub async fn timeline(&self, q: &str, buckets: Option<u32>) -> Result<Timeline, UiError> {
        let (client, server) = self.client_and_server()?;
        let query: vigil_core::Query = q.parse()?;
        if let Some(t) = self.reach(client.timeline(q, buckets).await).await? {
            return Ok(t);
        }
        let hits = self
            .cached_matches(&server, query.clone(), Order::Oldest)
            .await?;
        let buckets = buckets.unwrap_or(60);
        Ok(offline::timeline(
            &hits,
            &query,
            local_offset(),
            buckets,
            chrono::Utc::now(),
        ))
    }

    /// The most frequent values of a field among the matches.
    pub async fn facets(
        &self,
        q: &str,
        field: &str,
        limit: Option<usize>,
    ) -> Result<Facets, UiError> {
        let (client, server) = self.client_and_server()?;
        let query: vigil_core::Query = q.parse()?;
        if let Some(f) = self.reach(client.facets(q, field, limit).await).await? {
            return Ok(f);
        }
        let field = FacetField::parse(field)
            .ok_or_else(|| UiError::invalid(format!("{field:?} is not a facet")))?;
        let hits = self.cached_matches(&server, query, Order::Newest).await?;
        Ok(offline::facets(&hits, field, limit.unwrap_or(10)))
    }

    /// One entry, with its annotations (from the cache when the store cannot be reached).
    pub async fn event(&self, id: &str) -> Result<Entry, UiError> {
        let (a, server, fresh) = self.annotated_event(id).await?;
        // A copy from the store is kept under a number, so that the UI checks this very copy.
        let copy = fresh.then(|| self.shown(&server, &a.entry));
        let pending = self.pending_annotations(&server);
        let p = pending.get(&a.entry.event.id.to_string());
        Ok(Entry {
            copy,
            ..Entry::annotated(a, p.map_or(&[][..], Vec::as_slice))
        })
    }

    /// The entry, its server, and whether it came from the store (else from the cache).
    async fn annotated_event(&self, id: &str) -> Result<(Annotated, String, bool), UiError> {
        let (client, server) = self.client_and_server()?;
        let id = uuid::Uuid::parse_str(id.trim())
            .map_err(|_| UiError::invalid(format!("{id:?} is not an entry id")))?;
        match self.reach(client.event(id).await).await? {
            Some(a) => {
                self.local.keep_entries(&server, std::slice::from_ref(&a))?;
                Ok((a, server, true))
            }
            None => match self.local.entry(&server, &id.to_string())? {
                Some(a) => Ok((a, server, false)),
                None => Err(UiError::new(
                    "unreachable",
                    format!("The store at {server} cannot be reached and entry {id} is not cached on this computer."),
                )),
            },
        }
    }

    async fn stored_event(&self, id: &str) -> Result<StoredEvent, UiError> {
        self.annotated_event(id).await.map(|(a, _, _)| a.entry)
    }

    /// The same actor's and the same target's entries within ±15 minutes of an entry, oldest
    /// first, each once.
    pub async fn around(&self, id: &str) -> Result<Entries, UiError> {
        let entry = self.stored_event(id).await?;
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
        let mut events: Vec<Entry> = Vec::new();
        for q in queries {
            let page = self
                .search(&q, None, Some(AROUND_LIMIT), Some("oldest"))
                .await?;
            events.extend(page.events);
        }
        events.sort_by_key(|e| (e.stored.event.occurred_at, e.stored.seq));
        events.dedup_by_key(|e| e.stored.seq);
        Ok(Entries { events })
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
        Ok(querybar::parse(q)?)
    }

    /// The query text of the filter bar's clauses.
    pub fn print_query(&self, clauses: &[BarClause]) -> Result<String, UiError> {
        Ok(querybar::print(clauses)?)
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
                                after = Some(entry.entry.seq);
                                let event = Box::new(Entry::annotated(*entry, &[]));
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

/// Refuses plain HTTP to anything but this machine: the password and the token would cross
/// the network in clear. The person may confirm (`plain_http`) for a network they trust.
fn refuse_plain_http(url: &url::Url) -> Result<(), UiError> {
    if url.scheme() != "http" {
        return Ok(());
    }
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if local {
        return Ok(());
    }
    Err(UiError::new(
        "plain_http",
        format!(
            "{} is plain HTTP: your password and session would cross the network unencrypted. \
             Use https:// (the store serves it with [tls] in vigil.toml), or connect anyway \
             if you trust this network.",
            url.as_str().trim_end_matches('/')
        ),
    ))
}
