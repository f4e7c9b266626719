//! `vigil demo`: fill an empty journal with realistic, deterministic back-office activity.

use std::io::{IsTerminal, Write};

use anyhow::Context;
use chrono::{DateTime, DurationRound, Utc};
use clap::Args;

use super::Database;
use crate::service::journal;

#[derive(Args)]
pub(super) struct DemoArgs {
    #[command(flatten)]
    db: Database,
    /// How many events.
    #[arg(long, default_value_t = 50_000)]
    events: usize,
    /// Days of activity, ending at --until.
    #[arg(long, default_value_t = 30)]
    days: u32,
    /// The newest event's time bound (RFC 3339) [default: now, rounded down to the hour].
    #[arg(long)]
    until: Option<String>,
    /// Seed of the generator: the same seed and --until give the same journal.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

impl DemoArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let until = parse_until(self.until.as_deref())?;
        let state = self.db.open()?;
        let on_terminal = std::io::stderr().is_terminal();
        let events = self.events;
        let n = journal::demo(&state, events, self.seed, until, self.days, |done| {
            if on_terminal {
                eprint!("\rdemo: {done}/{events} events");
                let _ = std::io::stderr().flush();
            }
        })
        .await?;
        eprintln!(
            "\rdemo: {n} events written to {}",
            self.db.path()?.display()
        );
        Ok(())
    }
}

/// `--until`, or now rounded down to the hour.
fn parse_until(until: Option<&str>) -> anyhow::Result<DateTime<Utc>> {
    match until {
        Some(s) => Ok(DateTime::parse_from_rfc3339(s)
            .with_context(|| {
                format!("--until {s:?} is not an RFC 3339 time like 2026-11-26T12:00:00Z")
            })?
            .with_timezone(&Utc)),
        None => Ok(Utc::now().duration_trunc(chrono::Duration::hours(1))?),
    }
}
