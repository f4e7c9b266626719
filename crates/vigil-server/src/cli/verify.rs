//! `vigil verify`: walk the hash chain end to end.

use clap::Args;

use super::Database;
use crate::service::journal;

#[derive(Args)]
pub(super) struct VerifyArgs {
    #[command(flatten)]
    db: Database,
}

impl VerifyArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let path = self.db.path()?;
        anyhow::ensure!(path.exists(), "no journal at {}", path.display());
        let state = self.db.open()?;
        println!("{}", journal::verify(&state).await?);
        Ok(())
    }
}
