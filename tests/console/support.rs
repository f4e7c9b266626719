//! A real Vigil store on 127.0.0.1:0 over a temporary SQLite file, with a clock the test moves,
//! and consoles whose settings live in a temporary folder and whose token goes to the real OS
//! keyring when the test runs under scripts/with-keyring.

use std::path::Path;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use vigil_client::Client;
use vigil_console::vault::Vault;
use vigil_console::Console;
use vigil_server::config::ServerConfig;

pub const USER: &str = "k.auditor";
pub const PASSWORD: &str = "correct horse battery";

pub struct Store {
    pub url: String,
    pub state: vigil_server::AppState,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    pub ingester: Client,
    key: String,
    dir: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// A store that was stopped: its database, and the address it starts on again.
pub struct Stopped {
    url: String,
    now: Arc<Mutex<DateTime<Utc>>>,
    key: String,
    dir: tempfile::TempDir,
}

impl Store {
    pub async fn start() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let now = Arc::new(Mutex::new(Utc::now()));
        Self::serve(dir, "127.0.0.1:0", now, None).await
    }

    async fn serve(
        dir: tempfile::TempDir,
        addr: &str,
        now: Arc<Mutex<DateTime<Utc>>>,
        key: Option<String>,
    ) -> Store {
        let config = ServerConfig {
            database: dir.path().join("vigil.db"),
            ..ServerConfig::default()
        };
        let mut state = vigil_server::open(&config).unwrap();
        let clock = now.clone();
        state.clock = Arc::new(move || *clock.lock().unwrap());
        let key = match key {
            Some(k) => k,
            None => {
                vigil_server::cli::add_user(
                    &state,
                    &vigil_server::auth::ManageAccounts::from_command_line("root"),
                    USER,
                    &["auditor".into()],
                    PASSWORD,
                )
                .await
                .unwrap();
                vigil_server::cli::create_key(
                    &state,
                    &vigil_server::auth::ManageAccounts::from_command_line("root"),
                    "backoffice",
                )
                .await
                .unwrap()
            }
        };
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(vigil_server::serve(state.clone(), listener, async move {
            let _ = stopped.await;
        }));
        Store {
            ingester: Client::new(&url).unwrap().with_token(&key),
            key,
            state,
            url,
            now,
            dir,
            _stop: stop,
            served,
        }
    }

    /// Stops the store (it no longer answers; its files stay) and waits until it has.
    pub async fn stop(self) -> Stopped {
        let Store {
            url,
            state,
            now,
            key,
            dir,
            _stop,
            served,
            ..
        } = self;
        drop(_stop);
        served.await.unwrap().unwrap();
        drop(state);
        Stopped { url, now, key, dir }
    }

    /// Moves the store's clock.
    pub fn advance(&self, by: chrono::Duration) {
        *self.now.lock().unwrap() += by;
    }

    /// Stores the demo journal's first `n` events.
    pub async fn demo(&self, n: usize) -> Vec<vigil_core::Event> {
        let events = vigil_demo::events(n, 7, Utc::now(), 30);
        for chunk in events.chunks(1000) {
            self.ingester.ingest(chunk).await.unwrap();
        }
        events
    }
}

impl Stopped {
    /// Starts the store again on the same address and database.
    pub async fn start(self) -> Store {
        let addr = self.url.trim_start_matches("http://").to_owned();
        Store::serve(self.dir, &addr, self.now, Some(self.key)).await
    }
}

impl Store {
    /// Writes `n` demo events straight into the journal (faster than over HTTP, for big sets).
    pub async fn demo_direct(&self, n: usize) {
        vigil_server::cli::demo(&self.state, n, 7, Utc::now(), 30, |_| {})
            .await
            .unwrap();
    }
}

/// The vault the tests use: the real Secret Service under scripts/with-keyring (which sets
/// VIGIL_TEST_KEYRING), memory otherwise.
pub fn vault() -> Vault {
    if std::env::var_os("VIGIL_TEST_KEYRING").is_some() {
        let v = Vault::open();
        assert_eq!(
            v.kind(),
            "os",
            "scripts/with-keyring started a Secret Service, yet the console did not reach it: {:?}",
            v.note()
        );
        v
    } else {
        Vault::memory("tests run without scripts/with-keyring")
    }
}

pub fn console(dir: &Path) -> Console {
    Console::new(dir, vault()).expect("console opens")
}
