//! `vigil config …`: configuration helpers.

use clap::Subcommand;

#[derive(Subcommand)]
pub(super) enum ConfigCommand {
    /// Print a commented vigil.toml.
    Example,
}

impl ConfigCommand {
    pub(super) fn run(self) -> anyhow::Result<()> {
        match self {
            ConfigCommand::Example => print!("{}", crate::config::EXAMPLE),
        }
        Ok(())
    }
}
