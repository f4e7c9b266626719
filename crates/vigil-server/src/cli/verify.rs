//! `vigil verify`: walk the journal end to end: its hash chain, its Merkle tree, and every
//! signed checkpoint against the store's public key.

use anyhow::Context;
use clap::Args;
use vigil_core::checkpoint::PublicKey;

use super::Database;
use crate::config::ServerConfig;
use crate::service::integrity;

#[derive(Args)]
pub(super) struct VerifyArgs {
    #[command(flatten)]
    db: Database,
    /// The store's public key (PEM, base64 or hex, or a file holding it), as `vigil integrity
    /// key` printed it [default: derived from the signing key beside the database]. Again for
    /// each key the store has signed with.
    #[arg(long)]
    key: Vec<String>,
    /// The signing key to derive the public key from [default: DATABASE.signing-key].
    #[arg(long, env = "VIGIL_SIGNING_KEY", conflicts_with = "key")]
    signing_key: Option<std::path::PathBuf>,
    /// A checkpoint kept elsewhere (the JSON of `vigil integrity checkpoint --json` or
    /// GET /v1/integrity/checkpoint), checked like the store's own; may be given again.
    #[arg(long, value_name = "FILE")]
    checkpoint: Vec<std::path::PathBuf>,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

impl VerifyArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let path = self.db.path()?;
        anyhow::ensure!(path.exists(), "no journal at {}", path.display());
        let keys = match (self.key.is_empty(), &self.signing_key) {
            (false, _) => self
                .key
                .iter()
                .map(|k| public_key(k))
                .collect::<anyhow::Result<Vec<_>>>()?,
            (true, given) => {
                let mut config = ServerConfig {
                    database: path.clone(),
                    ..ServerConfig::default()
                };
                config.integrity.signing_key = given.clone();
                let file = integrity::key_path(&config);
                match (file.exists(), given.is_some()) {
                    (true, _) | (false, true) => vec![*integrity::read_key(&file)?.public()],
                    (false, false) => Vec::new(),
                }
            }
        };
        let given = self
            .checkpoint
            .iter()
            .map(|f| read_checkpoint(f))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let state = self.db.open()?;
        let found = integrity::verify(&state, keys, given).await?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&found)?);
        } else {
            print!("{found}");
        }
        if !found.ok {
            anyhow::bail!(
                "the journal does not verify: {}",
                found.problems.first().map_or("", String::as_str)
            );
        }
        Ok(())
    }
}

/// A public key given as text, or as the name of a file holding it.
pub(super) fn public_key(given: &str) -> anyhow::Result<PublicKey> {
    let path = std::path::Path::new(given);
    let text = if !given.trim_start().starts_with("-----") && path.is_file() {
        std::fs::read_to_string(path).with_context(|| format!("reading the key {given}"))?
    } else {
        given.to_owned()
    };
    PublicKey::parse(&text).with_context(|| format!("--key {given:?}"))
}

/// A checkpoint as the API and `vigil integrity checkpoint --json` give it.
fn read_checkpoint(file: &std::path::Path) -> anyhow::Result<vigil_core::checkpoint::Checkpoint> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("reading the checkpoint {}", file.display()))?;
    let answer: vigil_api::SignedCheckpoint = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a checkpoint's JSON", file.display()))?;
    integrity::checkpoint_from(&answer)
        .with_context(|| format!("{} is not a checkpoint's JSON", file.display()))
}
