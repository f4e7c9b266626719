//! The servers these tests start: vigil-testkit's, with alice (admin) signed in and the ingest
//! key `backoffice`.

use vigil_server::config::ServerConfig;
pub use vigil_testkit::{TestServer, PASSWORD};

/// How these tests start a server.
pub trait Start {
    /// A server with alice (admin) signed in.
    async fn start() -> TestServer;
    /// The same, with settings that `configure` changes first (alerts, …).
    async fn start_with(configure: impl FnOnce(&mut ServerConfig) + 'static) -> TestServer;
}

impl Start for TestServer {
    async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    async fn start_with(configure: impl FnOnce(&mut ServerConfig) + 'static) -> TestServer {
        TestServer::builder()
            .user("alice", &["admin"])
            .configure(configure)
            .start()
            .await
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
