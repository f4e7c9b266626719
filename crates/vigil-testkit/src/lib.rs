//! What Vigil's tests and benches start: a real `vigil` server on 127.0.0.1 (port 0 unless
//! asked otherwise) over a real SQLite file, with a clock the test moves, the users it asks
//! for, an ingest key, and demo data. The server tests, the console's tests, the end-to-end test
//! and `vigil-bench` all start their stores here.
//!
//! ```no_run
//! # async fn demo() {
//! let server = vigil_testkit::TestServer::builder()
//!     .user("alice", &["admin"])
//!     .start()
//!     .await;
//! let page = server.reader.search(&vigil_client::SearchOptions::query("")).await.unwrap();
//! server.advance(chrono::Duration::hours(1));
//! # }
//! ```
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use vigil_api::NewUserRequest;
use vigil_client::Client;
use vigil_server::config::ServerConfig;
use vigil_server::service::caller::{AccountsAdmin, Caller, Capability};
use vigil_server::service::{accounts, journal, own_entry};
use vigil_server::AppState;

/// The password of every user a test server is started with.
pub const PASSWORD: &str = "correct horse battery";

/// The name of the ingest key a test server is started with.
pub const KEY_NAME: &str = "backoffice";

/// How to start a [`TestServer`].
pub struct Builder {
    users: Vec<(String, Vec<String>)>,
    password: String,
    key: Option<String>,
    listen: String,
    database: Option<PathBuf>,
    wall_clock: bool,
    store_clock: bool,
    configure: Box<dyn FnOnce(&mut ServerConfig)>,
}

impl Builder {
    /// A user to create (with [`PASSWORD`]); the first one is signed in as [`TestServer::reader`].
    pub fn user(mut self, name: &str, roles: &[&str]) -> Self {
        self.users
            .push((name.into(), roles.iter().map(|r| r.to_string()).collect()));
        self
    }

    /// The users' password, in place of [`PASSWORD`].
    pub fn password(mut self, password: &str) -> Self {
        self.password = password.into();
        self
    }

    /// The ingest key's name, in place of [`KEY_NAME`].
    pub fn key(mut self, name: &str) -> Self {
        self.key = Some(name.into());
        self
    }

    /// Listen there (`127.0.0.1:0` by default).
    pub fn listen(mut self, addr: &str) -> Self {
        self.listen = addr.into();
        self
    }

    /// The journal at this path (kept), in place of one in a temporary folder.
    pub fn database(mut self, path: &Path) -> Self {
        self.database = Some(path.to_owned());
        self
    }

    /// The wall clock, in place of one the test moves.
    pub fn wall_clock(mut self) -> Self {
        self.wall_clock = true;
        self
    }

    /// The store receives entries at the time of the clock the test moves too (by default it
    /// reads the wall clock: only the server's own notion of now moves).
    pub fn store_clock(mut self) -> Self {
        self.store_clock = true;
        self
    }

    /// Changes the server's settings first (alerts, privacy, …).
    pub fn configure(mut self, f: impl FnOnce(&mut ServerConfig) + 'static) -> Self {
        self.configure = Box::new(f);
        self
    }

    /// Opens the store, creates the users and the key, serves it and signs the first user in.
    pub async fn start(self) -> TestServer {
        let (dir, database) = match &self.database {
            Some(path) => (None, path.clone()),
            None => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let path = dir.path().join("vigil.db");
                (Some(dir), path)
            }
        };
        let now = Arc::new(Mutex::new(Utc::now()));
        let server = Started {
            dir,
            database,
            now,
            key: None,
            listen: self.listen.clone(),
        };
        server.serve(self).await
    }
}

/// What a started server keeps to start again.
struct Started {
    dir: Option<tempfile::TempDir>,
    database: PathBuf,
    now: Arc<Mutex<DateTime<Utc>>>,
    key: Option<String>,
    listen: String,
}

impl Started {
    async fn serve(self, b: Builder) -> TestServer {
        let mut config = ServerConfig {
            database: self.database.clone(),
            ..ServerConfig::default()
        };
        (b.configure)(&mut config);
        let mut state = if b.store_clock {
            let clock = self.now.clone();
            vigil_server::open_clocked(
                &config,
                Arc::new(move || *clock.lock().expect("clock lock")),
            )
            .expect("the store opens")
        } else {
            vigil_server::open(&config).expect("the store opens")
        };
        if !b.wall_clock {
            let clock = self.now.clone();
            state.clock = Arc::new(move || *clock.lock().expect("clock lock"));
        }
        for (name, roles) in &b.users {
            add_user(&state, name, roles, &b.password).await;
        }
        let key = match self.key {
            Some(key) => key,
            None => create_key(&state, b.key.as_deref().unwrap_or(KEY_NAME)).await,
        };
        let listener = tokio::net::TcpListener::bind(&self.listen)
            .await
            .expect("the address is free");
        let url = format!("http://{}", listener.local_addr().expect("a local address"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(vigil_server::serve(state.clone(), listener, async move {
            let _ = stopped.await;
        }));
        let anonymous = Client::new(&url).expect("a client of the server");
        let reader = match b.users.first() {
            Some((name, _)) => {
                let token = anonymous
                    .login(name, &b.password)
                    .await
                    .expect("the first user signs in")
                    .token;
                anonymous.with_token(&token)
            }
            None => anonymous.clone(),
        };
        let setup = journal::event_count(&state)
            .await
            .expect("the journal reads");
        TestServer {
            reader,
            ingester: anonymous.with_token(&key),
            anonymous,
            key: key.clone(),
            setup,
            state,
            url,
            now: self.now,
            database: self.database,
            stop: Some(stop),
            served: Some(served),
            kept: Some(Kept {
                dir: self.dir,
                users: b.users,
                password: b.password,
            }),
        }
    }
}

/// What a stopped server needs to start again.
struct Kept {
    dir: Option<tempfile::TempDir>,
    users: Vec<(String, Vec<String>)>,
    password: String,
}

/// A real server on 127.0.0.1, its state, and clients of it.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// The server's state: its store, clock and settings.
    pub state: AppState,
    /// The clock the server reads (unless started with the wall clock): move it with
    /// [`TestServer::advance`].
    pub now: Arc<Mutex<DateTime<Utc>>>,
    /// Signed in as the first user (anonymous when there is none).
    pub reader: Client,
    /// With the ingest key.
    pub ingester: Client,
    /// Without a token.
    pub anonymous: Client,
    /// The ingest key.
    pub key: String,
    /// The last seq of the setup's own entries (the users', the key's, the first sign-in).
    pub setup: u64,
    /// The journal's file.
    pub database: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    kept: Option<Kept>,
}

/// A server that was stopped: its database (in its temporary folder), and the address it
/// starts on again.
pub struct Stopped {
    started: Started,
    kept: Kept,
}

impl TestServer {
    /// How to start one: no users, the key [`KEY_NAME`], a temporary journal, a movable clock.
    pub fn builder() -> Builder {
        Builder {
            users: Vec::new(),
            password: PASSWORD.into(),
            key: None,
            listen: "127.0.0.1:0".into(),
            database: None,
            wall_clock: false,
            store_clock: false,
            configure: Box::new(|_| {}),
        }
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: chrono::Duration) {
        *self.now.lock().expect("clock lock") += by;
    }

    /// A client signed in as `name` (with the password the server was started with).
    pub async fn sign_in(&self, name: &str) -> Client {
        let password = self.kept.as_ref().map_or(PASSWORD, |k| &k.password);
        let token = self
            .anonymous
            .login(name, password)
            .await
            .unwrap_or_else(|e| panic!("{name} signs in: {e}"))
            .token;
        self.anonymous.with_token(&token)
    }

    /// Creates a user with the server's password, as the command line's operator.
    pub async fn add_user(&self, name: &str, roles: &[&str]) {
        let roles: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
        let password = self.kept.as_ref().map_or(PASSWORD, |k| &k.password);
        add_user(&self.state, name, &roles, password).await;
    }

    /// Entries written since the setup, other than the traces that reading leaves (searches,
    /// opened entries, sign-ins and sign-outs): what the tests of writes count.
    pub async fn count(&self) -> u64 {
        let reading = own_entry::READING;
        self.journal()
            .await
            .iter()
            .filter(|e| e.seq > self.setup && !reading.contains(&e.event.action.as_str()))
            .count() as u64
    }

    /// Every entry of the journal, in seq order.
    pub async fn journal(&self) -> Vec<vigil_core::StoredEvent> {
        let mut all = Vec::new();
        loop {
            let batch = self
                .state
                .store
                .scan(all.len() as u64 + 1, 5000)
                .await
                .expect("the journal reads");
            if batch.is_empty() {
                return all;
            }
            all.extend(batch);
        }
    }

    /// A raw request, for what the typed client cannot send.
    pub fn raw(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new().request(method, format!("{}{path}", self.url))
    }

    /// Sends the demo journal's first `n` events (seed 7, the last 30 days) through the ingest
    /// API, waits until the search index holds them, and returns them.
    pub async fn demo(&self, n: usize) -> Vec<vigil_core::Event> {
        let events = vigil_demo::events(n, 7, Utc::now(), 30);
        for chunk in events.chunks(1000) {
            self.ingester
                .ingest(chunk)
                .await
                .expect("demo events are stored");
        }
        // The tests that follow read them whole (how long indexing takes is the benchmarks'
        // business; answers from an index behind say so, and tests of that ingest by hand).
        self.indexed().await;
        events
    }

    /// Writes `n` demo events straight into the journal (faster than over HTTP, for big sets)
    /// and waits until the search index holds them.
    pub async fn demo_direct(&self, n: usize) {
        journal::demo(&self.state, n, 7, Utc::now(), 30, |_| {})
            .await
            .expect("demo events are stored");
        self.indexed().await;
    }

    /// Waits (up to five minutes) until the search index holds every entry stored now, as the
    /// README's demo waits before it opens the console: for tests of what comes after.
    pub async fn indexed(&self) {
        vigil_server::service::exports::index_caught_up(
            self.state.store.as_ref(),
            std::time::Duration::from_secs(300),
        )
        .await
        .expect("the search index catches up with the journal");
    }

    /// Asks the server to stop; the future completes when it has.
    pub fn stop_and_wait(mut self) -> impl std::future::Future<Output = ()> {
        let _ = self.stop.take().map(|s| s.send(()));
        let served = self.served.take();
        async move {
            if let Some(served) = served {
                served
                    .await
                    .expect("the server task ends")
                    .expect("the server stops cleanly");
            }
            drop(self);
        }
    }

    /// Stops the server (it no longer answers; its files stay) and waits until it has.
    pub async fn stop(mut self) -> Stopped {
        let _ = self.stop.take().map(|s| s.send(()));
        if let Some(served) = self.served.take() {
            served
                .await
                .expect("the server task ends")
                .expect("the server stops cleanly");
        }
        let kept = self.kept.take().expect("a running server keeps its setup");
        let started = Started {
            dir: kept.dir,
            database: self.database.clone(),
            now: self.now.clone(),
            key: Some(self.key.clone()),
            listen: self.url.trim_start_matches("http://").to_owned(),
        };
        Stopped {
            started,
            kept: Kept {
                dir: None,
                users: kept.users,
                password: kept.password,
            },
        }
    }
}

impl Stopped {
    /// Starts the server again on the same address and database, with the same clock and key;
    /// the users exist already.
    pub async fn start(self) -> TestServer {
        let builder = Builder {
            users: Vec::new(),
            password: self.kept.password,
            ..TestServer::builder()
        };
        let users = self.kept.users;
        let mut server = self.started.serve(builder).await;
        if let Some((name, _)) = users.first() {
            server.reader = server.sign_in(name).await;
        }
        if let Some(kept) = server.kept.as_mut() {
            kept.users = users;
        }
        server
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The command line's operator, as the capability to manage accounts.
fn operator() -> AccountsAdmin {
    AccountsAdmin::check(Caller::operator("root")).expect("the operator holds every right")
}

/// Creates a user as the command line's operator (`root`).
pub async fn add_user(state: &AppState, name: &str, roles: &[String], password: &str) {
    let user = NewUserRequest {
        name: name.into(),
        password: password.into(),
        roles: roles.to_vec(),
    };
    accounts::add_user(state, &operator(), user)
        .await
        .unwrap_or_else(|e| panic!("user {name} is created: {e}"));
}

/// Creates an ingest key as the command line's operator (`root`); returns it.
pub async fn create_key(state: &AppState, name: &str) -> String {
    accounts::create_key(state, &operator(), name, &[])
        .await
        .unwrap_or_else(|e| panic!("key {name} is created: {e}"))
        .key
}

/// The journal at `db` opened as an intruder with the file opens it: the append-only triggers
/// dropped and foreign keys off, so that tests of tamper evidence can change anything.
pub fn intrude(db: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).expect("the database file opens");
    let triggers: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'trigger'")
        .and_then(|mut q| q.query_map([], |r| r.get(0))?.collect())
        .expect("the triggers are listed");
    for t in triggers {
        conn.execute_batch(&format!("DROP TRIGGER {t}"))
            .expect("a trigger is dropped");
    }
    conn.execute_batch("PRAGMA foreign_keys = OFF")
        .expect("foreign keys are turned off");
    conn
}
