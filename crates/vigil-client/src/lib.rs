//! The typed HTTP client of the Vigil audit store API. The console, the CLI and the tests use
//! it; errors from the server come back as [`ClientError::Api`] with its code and message.
//!
//! ```no_run
//! # async fn demo() -> Result<(), vigil_client::ClientError> {
//! let client = vigil_client::Client::new("http://127.0.0.1:7878")?;
//! let session = client.login("alice", "correct horse battery").await?;
//! let client = client.with_token(&session.token);
//! let page = client.search(&vigil_client::SearchOptions::query("section:finance severity:critical")).await?;
//! println!("{} entries", page.events.len());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod proof;

use std::fmt;

use chrono::FixedOffset;
use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use url::Url;
use vigil_api::{
    ErrorEnvelope, EventsPage, Facets, Health, Incident, IncidentDetail, IncidentList,
    IngestAnswer, Login, LoginAnswer, Mark, MarkList, MeAnswer, NewRoleRequest, NewUserRequest,
    Order, Revoked, RoleInfo, RolesRequest, Timeline, UserSummary, EXPORT_ENTRY_HEADER,
    EXPORT_ROWS_HEADER,
};
use vigil_core::Annotated;

/// What can go wrong talking to the store.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server URL is not usable.
    #[error("bad server URL {url:?}: {reason}")]
    BadUrl {
        /// As given.
        url: String,
        /// Why.
        reason: String,
    },
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server at {url}: {source}")]
    Unreachable {
        /// The server.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error.
    #[error("{status}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The server's error code (`unauthorized`, `bad_query`, …).
        code: String,
        /// The server's message.
        message: String,
        /// Batch index, when given.
        index: Option<usize>,
        /// Field, when given.
        field: Option<String>,
        /// Query column, when given.
        column: Option<usize>,
    },
    /// The answer was not what the API promises.
    #[error("unexpected answer from the server: {0}")]
    Decode(String),
    /// A download (an export) stopped before its end.
    #[error("the store stopped sending the export before its end: {0}")]
    Interrupted(String),
    /// The live tail reported a failure on the server's side (it goes on).
    #[error("the live tail reported: {0}")]
    Tail(String),
}

/// What a live tail yields.
#[derive(Debug, Clone, PartialEq)]
pub enum Tailed {
    /// The tail is open and starts after this seq (resume from here after a reconnect).
    Ready {
        /// The seq the tail starts after.
        after: u64,
    },
    /// A new matching entry (new entries have no annotations yet; `masked` names the fields
    /// masked for a reader without the unmask right).
    Entry(Box<Annotated>),
}

impl ClientError {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's error code of an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            ClientError::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// How long a request (other than the live tail) may take before it counts as unanswered: a
/// server that accepts connections but never answers gets an error, not an endless wait. Long
/// enough for a search or ingest batch on a busy store.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A search.
#[derive(Debug, Clone, Default)]
pub struct SearchOptions {
    /// The query text.
    pub q: String,
    /// Page size.
    pub limit: Option<usize>,
    /// From the previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// Order.
    pub order: Option<Order>,
}

impl SearchOptions {
    /// A first page of a query.
    pub fn query(q: &str) -> Self {
        SearchOptions {
            q: q.into(),
            ..Self::default()
        }
    }
}

/// A client of one server, optionally with a token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    token: Option<String>,
    tz: Option<FixedOffset>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("tz", &self.tz)
            .finish()
    }
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port` or `https://…`).
    pub fn new(base_url: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::BadUrl {
            url: base_url.into(),
            reason: reason.into(),
        };
        let mut base = Url::parse(base_url.trim()).map_err(|e| bad(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(bad("the scheme must be http or https"));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            // The store never redirects: a redirect (to plain http://, to another host) would
            // carry the password or the token where the person did not send them.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| bad(&e.to_string()))?;
        Ok(Client {
            http,
            base,
            token: None,
            tz: None,
        })
    }

    /// The same client, sending this token.
    pub fn with_token(&self, token: &str) -> Self {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The same client, asking the server to read dates without an offset (`after:2026-11-20`)
    /// in this UTC offset instead of UTC.
    pub fn with_tz(&self, tz: FixedOffset) -> Self {
        Client {
            tz: Some(tz),
            ..self.clone()
        }
    }

    /// The query parameters every query-taking request carries.
    fn query_params(&self, q: &str) -> Vec<(&'static str, String)> {
        let mut params = vec![("q", q.to_owned())];
        if let Some(tz) = self.tz {
            params.push(("tz", tz.to_string()));
        }
        params
    }

    /// The UTC offset dates without one are read in, if set ([`Client::with_tz`]).
    pub fn tz(&self) -> Option<FixedOffset> {
        self.tz
    }

    /// The server's base URL.
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// A request that must be answered within [`REQUEST_TIMEOUT`].
    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.untimed(method, path).timeout(REQUEST_TIMEOUT)
    }

    /// A request without an overall deadline (the live tail stays open).
    fn untimed(&self, method: Method, path: &str) -> RequestBuilder {
        let url = self
            .base
            .join(path.trim_start_matches('/'))
            .expect("API paths are valid relative URLs");
        let builder = self.http.request(method, url);
        match &self.token {
            Some(t) => builder.bearer_auth(t),
            None => builder,
        }
    }

    async fn send(&self, builder: RequestBuilder) -> Result<reqwest::Response, ClientError> {
        let response = builder.send().await.map_err(|e| self.unreachable(e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ErrorEnvelope>(&text) {
            Ok(ErrorEnvelope { error: e }) => ClientError::Api {
                status: status.as_u16(),
                code: e.code,
                message: e.message,
                index: e.index,
                field: e.field,
                column: e.column,
            },
            Err(_) => ClientError::Api {
                status: status.as_u16(),
                code: status
                    .canonical_reason()
                    .unwrap_or("error")
                    .to_lowercase()
                    .replace(' ', "_"),
                message: format!("{status}: {}", text.chars().take(200).collect::<String>()),
                index: None,
                field: None,
                column: None,
            },
        })
    }

    fn unreachable(&self, source: reqwest::Error) -> ClientError {
        ClientError::Unreachable {
            url: self.base.to_string(),
            source,
        }
    }

    /// Reads a successful answer's JSON body.
    async fn decode<T: DeserializeOwned>(
        &self,
        response: reqwest::Response,
    ) -> Result<T, ClientError> {
        let bytes = response.bytes().await.map_err(|e| self.unreachable(e))?;
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    async fn json<T: DeserializeOwned>(&self, builder: RequestBuilder) -> Result<T, ClientError> {
        let response = self.send(builder).await?;
        self.decode(response).await
    }

    /// `GET /healthz`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.json(self.request(Method::GET, "healthz")).await
    }

    /// `POST /v1/auth/login`.
    pub async fn login(&self, name: &str, password: &str) -> Result<LoginAnswer, ClientError> {
        let body = Login {
            name: name.into(),
            password: password.into(),
        };
        self.json(self.request(Method::POST, "v1/auth/login").json(&body))
            .await
    }

    /// `POST /v1/auth/logout`.
    pub async fn logout(&self) -> Result<(), ClientError> {
        self.send(self.request(Method::POST, "v1/auth/logout"))
            .await
            .map(drop)
    }

    /// `GET /v1/me`.
    pub async fn me(&self) -> Result<MeAnswer, ClientError> {
        self.json(self.request(Method::GET, "v1/me")).await
    }

    /// `POST /v1/events` with events (or any JSON: one event or an array).
    pub async fn ingest<T: serde::Serialize + ?Sized>(
        &self,
        events: &T,
    ) -> Result<IngestAnswer, ClientError> {
        self.json(self.request(Method::POST, "v1/events").json(events))
            .await
    }

    /// `POST /v1/events` with a raw body, for senders that build their own JSON.
    pub async fn ingest_raw(
        &self,
        body: Vec<u8>,
    ) -> Result<(StatusCode, IngestAnswer), ClientError> {
        let response = self
            .send(
                self.request(Method::POST, "v1/events")
                    .header("content-type", "application/json")
                    .body(body),
            )
            .await?;
        let status = response.status();
        Ok((status, self.decode(response).await?))
    }

    /// `GET /v1/events`.
    pub async fn search(&self, o: &SearchOptions) -> Result<EventsPage, ClientError> {
        let mut params = self.query_params(&o.q);
        if let Some(l) = o.limit {
            params.push(("limit", l.to_string()));
        }
        if let Some(c) = &o.cursor {
            params.push(("cursor", c.clone()));
        }
        if let Some(order) = o.order {
            params.push(("order", order.as_str().into()));
        }
        self.json(self.request(Method::GET, "v1/events").query(&params))
            .await
    }

    /// `GET /v1/events/{id}`: the entry with its annotations and incidents.
    pub async fn event(&self, id: uuid::Uuid) -> Result<Annotated, ClientError> {
        self.json(self.request(Method::GET, &format!("v1/events/{id}")))
            .await
    }

    /// `GET /v1/integrity/key`: the public key the store signs checkpoints with.
    pub async fn integrity_key(&self) -> Result<vigil_api::IntegrityKey, ClientError> {
        self.json(self.request(Method::GET, "v1/integrity/key"))
            .await
    }

    /// `GET /v1/senders`: who sends, how much, and the numbers of theirs that never arrived.
    pub async fn senders(&self) -> Result<Vec<vigil_api::SenderReport>, ClientError> {
        self.json(self.request(Method::GET, "v1/senders")).await
    }

    /// `GET /v1/integrity/checkpoint`: the newest signed checkpoint.
    pub async fn checkpoint(&self) -> Result<vigil_api::SignedCheckpoint, ClientError> {
        self.json(self.request(Method::GET, "v1/integrity/checkpoint"))
            .await
    }

    /// `GET /v1/integrity/checkpoints`: the checkpoints of more than `after` entries, smallest
    /// first, at most `limit`.
    pub async fn checkpoints(
        &self,
        after: u64,
        limit: usize,
    ) -> Result<Vec<vigil_api::SignedCheckpoint>, ClientError> {
        let params = [("after", after.to_string()), ("limit", limit.to_string())];
        let list: vigil_api::CheckpointList = self
            .json(
                self.request(Method::GET, "v1/integrity/checkpoints")
                    .query(&params),
            )
            .await?;
        Ok(list.checkpoints)
    }

    /// `GET /v1/feed`: the entries after `after_seq` (at most `limit`) within the caller's
    /// export scope, and the `after_seq` of the next page.
    pub async fn feed(
        &self,
        after_seq: u64,
        limit: usize,
    ) -> Result<(Vec<Annotated>, u64), ClientError> {
        let params = [
            ("after_seq", after_seq.to_string()),
            ("limit", limit.to_string()),
        ];
        let response = self
            .send(self.request(Method::GET, "v1/feed").query(&params))
            .await?;
        let next = response
            .headers()
            .get(vigil_api::FEED_NEXT_HEADER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                ClientError::Decode(format!(
                    "the feed's answer lacks a numeric {} header",
                    vigil_api::FEED_NEXT_HEADER
                ))
            })?;
        let body = response.bytes().await.map_err(|e| self.unreachable(e))?;
        let entries = body
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_slice(line).map_err(|e| ClientError::Decode(e.to_string()))
            })
            .collect::<Result<Vec<Annotated>, _>>()?;
        Ok((entries, next))
    }

    /// `GET /v1/integrity/proof/consistency`: that the tree of `from` entries is a prefix of
    /// the tree of `to`.
    pub async fn consistency(
        &self,
        from: u64,
        to: u64,
    ) -> Result<vigil_api::ConsistencyProof, ClientError> {
        let params = [("from", from.to_string()), ("to", to.to_string())];
        self.json(
            self.request(Method::GET, "v1/integrity/proof/consistency")
                .query(&params),
        )
        .await
    }

    /// `POST /v1/integrity/proof/entries`: that the entries `seqs` (ascending, as
    /// [`proof::check_entries`] takes them) are in the tree
    /// of `size` entries.
    pub async fn entries_proof(
        &self,
        seqs: &[u64],
        size: u64,
    ) -> Result<vigil_api::EntriesProof, ClientError> {
        let body = vigil_api::EntriesProofRequest {
            seqs: seqs.to_vec(),
            size: Some(size),
        };
        self.json(
            self.request(Method::POST, "v1/integrity/proof/entries")
                .json(&body),
        )
        .await
    }

    /// `GET /v1/marks`: the marks catalog.
    pub async fn marks(&self) -> Result<Vec<Mark>, ClientError> {
        let m: MarkList = self.json(self.request(Method::GET, "v1/marks")).await?;
        Ok(m.marks)
    }

    /// `GET /v1/incidents`, newest first.
    pub async fn incidents(&self) -> Result<Vec<Incident>, ClientError> {
        let i: IncidentList = self.json(self.request(Method::GET, "v1/incidents")).await?;
        Ok(i.incidents)
    }

    /// `GET /v1/incidents/{key}` (a number or an id).
    pub async fn incident(&self, key: &str) -> Result<IncidentDetail, ClientError> {
        self.json(self.request(Method::GET, &format!("v1/incidents/{key}")))
            .await
    }

    /// `POST` of a JSON record to `path` (`v1/events/{id}/annotations`, `v1/incidents`, …):
    /// whether it was stored now (201) or had been already (200), and the stored record.
    pub async fn record<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(bool, T), ClientError> {
        let response = self
            .send(self.request(Method::POST, path).json(body))
            .await?;
        let created = response.status() == StatusCode::CREATED;
        Ok((created, self.decode(response).await?))
    }

    /// `GET /v1/users` (the accounts right).
    pub async fn users(&self) -> Result<Vec<UserSummary>, ClientError> {
        self.json(self.request(Method::GET, "v1/users")).await
    }

    /// `POST /v1/users`: creates a user.
    pub async fn add_user(&self, user: &NewUserRequest) -> Result<UserSummary, ClientError> {
        self.json(self.request(Method::POST, "v1/users").json(user))
            .await
    }

    /// `PUT /v1/users/{name}/roles`: gives a user these roles in place of theirs.
    pub async fn set_roles(
        &self,
        name: &str,
        roles: &[String],
    ) -> Result<UserSummary, ClientError> {
        let body = RolesRequest {
            roles: roles.to_vec(),
        };
        let path = format!("v1/users/{}/roles", urlencoding_path(name));
        self.json(self.request(Method::PUT, &path).json(&body))
            .await
    }

    /// `POST /v1/users/{name}/revoke`: ends a user's sessions; how many.
    pub async fn revoke_user(&self, name: &str) -> Result<u64, ClientError> {
        let path = format!("v1/users/{}/revoke", urlencoding_path(name));
        let r: Revoked = self.json(self.request(Method::POST, &path)).await?;
        Ok(r.sessions)
    }

    /// `POST /v1/users/{name}/disable`: the user cannot sign in; their sessions end.
    pub async fn disable_user(&self, name: &str) -> Result<UserSummary, ClientError> {
        let path = format!("v1/users/{}/disable", urlencoding_path(name));
        self.json(self.request(Method::POST, &path)).await
    }

    /// `POST /v1/users/{name}/enable`: a disabled user may sign in again.
    pub async fn enable_user(&self, name: &str) -> Result<UserSummary, ClientError> {
        let path = format!("v1/users/{}/enable", urlencoding_path(name));
        self.json(self.request(Method::POST, &path)).await
    }

    /// `PUT /v1/me/password`: changes the signed-in user's password, given the current one;
    /// their other sessions end.
    pub async fn change_password(
        &self,
        old_password: &str,
        new_password: &str,
    ) -> Result<(), ClientError> {
        let body = vigil_api::PasswordChange {
            old_password: old_password.into(),
            new_password: new_password.into(),
        };
        self.send(self.request(Method::PUT, "v1/me/password").json(&body))
            .await
            .map(drop)
    }

    /// `GET /v1/roles`: built-in roles, then custom ones.
    pub async fn roles(&self) -> Result<Vec<RoleInfo>, ClientError> {
        self.json(self.request(Method::GET, "v1/roles")).await
    }

    /// `POST /v1/roles`: creates a custom role.
    pub async fn add_role(&self, role: &NewRoleRequest) -> Result<RoleInfo, ClientError> {
        self.json(self.request(Method::POST, "v1/roles").json(role))
            .await
    }

    /// `DELETE /v1/roles/{name}`: removes a custom role nobody holds.
    pub async fn remove_role(&self, name: &str) -> Result<(), ClientError> {
        let path = format!("v1/roles/{}", urlencoding_path(name));
        self.send(self.request(Method::DELETE, &path))
            .await
            .map(drop)
    }

    /// `GET /v1/timeline`.
    pub async fn timeline(&self, q: &str, buckets: Option<u32>) -> Result<Timeline, ClientError> {
        let mut params = self.query_params(q);
        if let Some(b) = buckets {
            params.push(("buckets", b.to_string()));
        }
        self.json(self.request(Method::GET, "v1/timeline").query(&params))
            .await
    }

    /// `GET /v1/facets`.
    pub async fn facets(
        &self,
        q: &str,
        field: &str,
        limit: Option<usize>,
    ) -> Result<Facets, ClientError> {
        let mut params = self.query_params(q);
        params.push(("field", field.to_owned()));
        if let Some(l) = limit {
            params.push(("limit", l.to_string()));
        }
        self.json(self.request(Method::GET, "v1/facets").query(&params))
            .await
    }

    /// `GET /v1/export`: starts an export of the entries matching `q` in `format` (`csv`,
    /// `xlsx`, `json` or `ndjson`); read the file with [`Download::chunk`]. Without a deadline:
    /// a large export takes as long as it takes.
    pub async fn export(&self, o: &ExportOptions) -> Result<Download, ClientError> {
        let mut params = self.query_params(&o.q);
        params.push(("format", o.format.clone()));
        if let Some(order) = o.order {
            params.push(("order", order.as_str().into()));
        }
        if o.bom {
            params.push(("bom", "true".into()));
        }
        if let Some(proof) = o.proof {
            params.push(("proof", proof.to_string()));
        }
        let builder = self.untimed(Method::GET, "v1/export").query(&params);
        let response = self.send(builder).await?;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let entry = header(EXPORT_ENTRY_HEADER)
            .and_then(|v| uuid::Uuid::parse_str(&v).ok())
            .ok_or_else(|| ClientError::Decode("an export without Vigil-Export-Entry".into()))?;
        let rows = header(EXPORT_ROWS_HEADER)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let filename = header("content-disposition").and_then(|v| {
            v.split_once("filename=\"")
                .map(|(_, name)| name.trim_end_matches('"').to_owned())
        });
        Ok(Download {
            entry,
            rows,
            filename,
            response,
            url: self.base.to_string(),
        })
    }

    /// `GET /v1/stream`: [`Tailed::Ready`] with the seq the tail starts after, then new entries
    /// matching `q` as they are stored, until the connection ends (the session ended or the
    /// server stops). Starts after the newest entry, or after `after` (a seq) to resume.
    pub async fn stream(
        &self,
        q: &str,
        after: Option<u64>,
    ) -> Result<impl Stream<Item = Result<Tailed, ClientError>> + Send + 'static, ClientError> {
        let mut builder = self
            .untimed(Method::GET, "v1/stream")
            .query(&self.query_params(q))
            .header("accept", "text/event-stream");
        if let Some(seq) = after {
            builder = builder.header("last-event-id", seq.to_string());
        }
        let response = self.send(builder).await?;
        let url = self.base.to_string();
        let events = response.bytes_stream().eventsource();
        Ok(events.filter_map(move |item| {
            let url = url.clone();
            async move {
                match item {
                    Ok(e) if e.event == "entry" => Some(
                        serde_json::from_str::<Annotated>(&e.data)
                            .map(|entry| Tailed::Entry(Box::new(entry)))
                            .map_err(|err| ClientError::Decode(err.to_string())),
                    ),
                    Ok(e) if e.event == "ready" => Some(
                        e.id.parse::<u64>()
                            .map(|after| Tailed::Ready { after })
                            .map_err(|_| {
                                ClientError::Decode(format!("ready without a seq: {:?}", e.id))
                            }),
                    ),
                    Ok(e) if e.event == "error" => Some(Err(ClientError::Tail(e.data))),
                    Ok(_) => None,
                    Err(eventsource_stream::EventStreamError::Transport(source)) => {
                        Some(Err(ClientError::Unreachable { url, source }))
                    }
                    Err(err) => Some(Err(ClientError::Decode(err.to_string()))),
                }
            }
        }))
    }
}

/// An export to ask for.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// The query text.
    pub q: String,
    /// `csv`, `xlsx`, `json` or `ndjson`.
    pub format: String,
    /// Order (the server's default: newest first).
    pub order: Option<Order>,
    /// CSV only: start with a UTF-8 byte-order mark.
    pub bom: bool,
    /// NDJSON and JSON: whether the file ends with the proof of its rows (the store's
    /// default: yes).
    pub proof: Option<bool>,
}

/// An export being received.
#[derive(Debug)]
pub struct Download {
    /// The journal entry that records this export; once the body is complete its details hold
    /// the export's About.
    pub entry: uuid::Uuid,
    /// How many entries matched when the export started.
    pub rows: u64,
    /// The file name the server suggests.
    pub filename: Option<String>,
    response: reqwest::Response,
    url: String,
}

impl Download {
    /// The next piece of the file; `None` at its end. An error means the export did not
    /// complete: what was received is not the whole file.
    pub async fn chunk(&mut self) -> Result<Option<bytes::Bytes>, ClientError> {
        self.response.chunk().await.map_err(|e| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            ClientError::Interrupted(format!("{text} (from {})", self.url))
        })
    }
}

/// A name as one URL path segment.
fn urlencoding_path(name: &str) -> String {
    url::form_urlencoded::byte_serialize(name.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_are_named() {
        assert!(matches!(
            Client::new("localhost:7878"),
            Err(ClientError::BadUrl { .. })
        ));
        assert!(matches!(
            Client::new("ftp://x"),
            Err(ClientError::BadUrl { .. })
        ));
        assert!(matches!(
            Client::new("not a url"),
            Err(ClientError::BadUrl { .. })
        ));
        let c = Client::new("http://127.0.0.1:7878/vigil").unwrap();
        assert_eq!(c.base_url().as_str(), "http://127.0.0.1:7878/vigil/");
        assert!(!format!("{:?}", c.with_token("vgl_secret")).contains("secret"));
    }
}
