//! Starting a real server on 127.0.0.1:0 over a temporary SQLite file, with a clock the test moves.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use vigil_client::Client;
use vigil_server::config::ServerConfig;
use vigil_server::AppState;

pub const PASSWORD: &str = "correct horse battery";

pub struct TestServer {
    pub url: String,
    pub state: AppState,
    pub now: Arc<Mutex<DateTime<Utc>>>,
    /// Signed in as alice (admin).
    pub reader: Client,
    /// With an ingest key.
    pub ingester: Client,
    pub anonymous: Client,
    /// The ingest key.
    pub key: String,
    /// The last seq of the setup's own entries (alice's creation, the key's, her sign-in).
    pub setup: u64,
    _dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    served: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    /// A server whose settings `configure` changes first (alerts, …).
    pub async fn start_with(configure: impl FnOnce(&mut ServerConfig)) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServerConfig {
            database: dir.path().join("vigil.db"),
            ..ServerConfig::default()
        };
        configure(&mut config);
        let mut state = vigil_server::open(&config).unwrap();
        let now = Arc::new(Mutex::new(Utc::now()));
        let clock = now.clone();
        state.clock = Arc::new(move || *clock.lock().unwrap());
        vigil_server::cli::add_user(
            &state,
            &vigil_server::auth::ManageAccounts::from_command_line("root"),
            "alice",
            &["admin".into()],
            PASSWORD,
        )
        .await
        .unwrap();
        let key = vigil_server::cli::create_key(
            &state,
            &vigil_server::auth::ManageAccounts::from_command_line("root"),
            "backoffice",
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = tokio::spawn(vigil_server::serve(state.clone(), listener, async move {
            let _ = stopped.await;
        }));
        let anonymous = Client::new(&url).unwrap();
        let token = anonymous.login("alice", PASSWORD).await.unwrap().token;
        let setup = vigil_server::cli::event_count(&state).await.unwrap();
        TestServer {
            setup,
            reader: anonymous.with_token(&token),
            ingester: anonymous.with_token(&key),
            key,
            anonymous,
            url,
            state,
            now,
            _dir: dir,
            stop: Some(stop),
            served: Some(served),
        }
    }

    /// Asks the server to stop; the future completes when it has.
    pub fn stop_and_wait(mut self) -> impl std::future::Future<Output = ()> {
        let _ = self.stop.take().map(|s| s.send(()));
        let served = self.served.take();
        async move {
            if let Some(served) = served {
                served.await.unwrap().unwrap();
            }
            drop(self);
        }
    }

    /// Moves the server's clock.
    pub fn advance(&self, by: chrono::Duration) {
        *self.now.lock().unwrap() += by;
    }

    /// Entries written since the setup, other than the traces that reading leaves (searches,
    /// opened entries, sign-ins and sign-outs): what the tests of writes count. The tests of
    /// the traces themselves read them with [`TestServer::journal`].
    pub async fn count(&self) -> u64 {
        let reading = vigil_server::journal::READING;
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
                .unwrap();
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
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A valid event with a fixed time, as JSON; tests change fields.
pub fn event_json(n: u32) -> serde_json::Value {
    serde_json::json!({
        "id": uuid::Uuid::now_v7(),
        "occurred_at": format!("2026-11-{:02}T10:{:02}:00.{:06}Z", 1 + n % 28, n % 60, n),
        "actor": {"id": format!("staff{}", n % 3), "name": "Staff", "kind": "staff"},
        "action": "player.balance.adjust", "kind": "change", "section": "finance",
        "target": {"type": "player", "id": format!("{}", n % 5)},
        "changes": [{"field": "balance", "before": 10, "after": 20}],
    })
}
