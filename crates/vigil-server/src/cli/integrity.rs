//! `vigil integrity`: the store's public key and its newest signed checkpoint.

use clap::{Args, Subcommand};

use super::Database;
use crate::config::ServerConfig;
use crate::service::integrity;

#[derive(Subcommand)]
pub(super) enum IntegrityCommand {
    /// Print the public key checkpoints are signed with: give it to whoever checks the journal.
    Key(KeyArgs),
    /// Print the newest signed checkpoint.
    Checkpoint(CheckpointArgs),
}

#[derive(Args)]
pub(super) struct KeyArgs {
    #[command(flatten)]
    db: Database,
    /// The signing key [default: DATABASE.signing-key].
    #[arg(long, env = "VIGIL_SIGNING_KEY")]
    signing_key: Option<std::path::PathBuf>,
}

#[derive(Args)]
pub(super) struct CheckpointArgs {
    #[command(flatten)]
    db: Database,
    /// Print it as JSON (as GET /v1/integrity/checkpoint answers).
    #[arg(long)]
    json: bool,
}

impl IntegrityCommand {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        match self {
            IntegrityCommand::Key(args) => {
                let mut config = ServerConfig {
                    database: args.db.path()?,
                    ..ServerConfig::default()
                };
                config.integrity.signing_key = args.signing_key;
                let path = integrity::key_path(&config);
                anyhow::ensure!(
                    path.exists(),
                    "no signing key at {}: `vigil serve` makes one at first start",
                    path.display()
                );
                let key = integrity::read_key(&path)?;
                let answer = integrity::key_answer(key.public());
                print!(
                    "key id {}\nEd25519 public key (base64) {}\n{}",
                    answer.key_id, answer.public_key, answer.pem
                );
                Ok(())
            }
            IntegrityCommand::Checkpoint(args) => {
                let path = args.db.path()?;
                anyhow::ensure!(path.exists(), "no journal at {}", path.display());
                // Read-only, as `vigil verify`: it changes nothing in the journal it reads.
                let state = args.db.open_read_only()?;
                let Some(cp) = state.store.latest_checkpoint().await? else {
                    anyhow::bail!("no checkpoint is signed yet: `vigil serve` signs one within a minute of new entries");
                };
                let answer = integrity::checkpoint_answer(&cp);
                if args.json {
                    println!("{}", serde_json::to_string_pretty(&answer)?);
                } else {
                    println!("{}signature {}", answer.text, answer.signature);
                }
                Ok(())
            }
        }
    }
}
