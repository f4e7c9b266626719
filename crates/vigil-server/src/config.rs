//! Settings of `vigil serve`: defaults, then `vigil.toml`, then `VIGIL_*` environment, then flags
//! (the last one given wins). `vigil config example` prints [`EXAMPLE`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// The default database file.
pub const DEFAULT_DATABASE: &str = "./vigil-data/vigil.db";
/// The default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7878";

/// Settings the server runs with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The SQLite file.
    pub database: PathBuf,
    /// How long a session token lives.
    pub token_ttl: chrono::Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            database: PathBuf::from(DEFAULT_DATABASE),
            token_ttl: chrono::Duration::hours(12),
        }
    }
}

/// What a `vigil.toml` may set. Unknown keys are refused so that typos do not pass silently.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `listen = "127.0.0.1:7878"`
    pub listen: Option<String>,
    /// `database = "sqlite://./vigil-data/vigil.db"`
    pub database: Option<String>,
    /// `token_ttl_hours = 12`
    pub token_ttl_hours: Option<u32>,
}

impl FileConfig {
    /// Reads a TOML file.
    pub fn read(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config file {}", path.display()))?;
        toml::from_str(&text)
            .with_context(|| format!("config file {} is not valid", path.display()))
    }
}

/// Turns `sqlite://PATH` or a plain path into a file path; other schemes are refused clearly.
pub fn database_path(url: &str) -> anyhow::Result<PathBuf> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        anyhow::ensure!(
            !path.is_empty(),
            "database URL {url:?} has no path: use sqlite://PATH"
        );
        return Ok(PathBuf::from(path));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        anyhow::bail!(
            "PostgreSQL is not available in this build yet: use sqlite://PATH or a file path"
        );
    }
    anyhow::ensure!(
        !url.contains("://"),
        "database URL {url:?} is not supported: use sqlite://PATH or a file path"
    );
    anyhow::ensure!(!url.is_empty(), "the database path is empty");
    Ok(PathBuf::from(url))
}

/// A commented example configuration.
pub const EXAMPLE: &str = r#"# vigil.toml: settings of `vigil serve`.
# Order of precedence: built-in defaults < this file < VIGIL_* environment < command-line flags.

# Address and port of the HTTP API (env VIGIL_LISTEN, flag --listen).
listen = "127.0.0.1:7878"

# The journal: a SQLite file (created with its folder on first start).
# env VIGIL_DATABASE, flag --database. PostgreSQL URLs are refused until that backend lands.
database = "sqlite://./vigil-data/vigil.db"

# How long a session token from POST /v1/auth/login stays valid (env VIGIL_TOKEN_TTL_HOURS).
token_ttl_hours = 12
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses() {
        let c: FileConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(c.token_ttl_hours, Some(12));
        assert_eq!(
            database_path(c.database.as_deref().unwrap()).unwrap(),
            PathBuf::from("./vigil-data/vigil.db")
        );
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            database_path("/tmp/x.db").unwrap(),
            PathBuf::from("/tmp/x.db")
        );
        assert!(database_path("postgres://localhost/db")
            .unwrap_err()
            .to_string()
            .contains("PostgreSQL"));
        assert!(database_path("mysql://x").is_err());
        assert!(toml::from_str::<FileConfig>("lisen = 'x'").is_err());
    }
}
