//! `vigil senders`: who sends to the store, how much, and the numbers of theirs that never
//! arrived. Works beside a running server.

use clap::Args;
use vigil_api::SenderReport;

use super::{operator, width, Database};
use crate::service::caller::SendersReader;
use crate::service::senders::{self, naming, numbers};

#[derive(Args)]
pub(super) struct SendersArgs {
    #[command(flatten)]
    db: Database,
    /// Print the senders as JSON (the answer of GET /v1/senders).
    #[arg(long)]
    json: bool,
}

impl SendersArgs {
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let state = self.db.open()?;
        let reader: SendersReader = operator(None)?;
        let list = senders::list(&state, &reader).await?;
        if self.json {
            println!("{}", serde_json::to_string_pretty(&list)?);
        } else {
            print!("{}", report(&list));
        }
        Ok(())
    }
}

/// The senders as a table, then each open gap in words.
fn report(list: &[SenderReport]) -> String {
    if list.is_empty() {
        return "no sender has sent anything yet\n".into();
    }
    let width = width(list.iter().map(|s| s.name.as_str()), 6);
    let time = |t: &chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = format!(
        "{:width$}  {:>12}  {:>9}  {:23}  {:>10}  MISSING\n",
        "SENDER", "EVENTS", "PER HOUR", "LAST EVENT", "LAST SEQ"
    );
    let mut gaps = String::new();
    for s in list {
        let missing: u64 = s.streams.iter().map(|t| t.missing).sum();
        out.push_str(&format!(
            "{:width$}  {:>12}  {:>9}  {:23}  {:>10}  {}\n",
            s.name,
            s.events,
            s.per_hour,
            time(&s.last_at),
            s.last_entry,
            if s.streams.is_empty() {
                "-".to_owned()
            } else {
                missing.to_string()
            }
        ));
        if s.more_streams > 0 {
            gaps.push_str(&format!(
                "{}: {} more streams not listed (those with gaps come first)\n",
                s.name, s.more_streams
            ));
        }
        for t in &s.streams {
            let who = naming(&s.name, t.stream.as_deref());
            for g in &t.gaps {
                gaps.push_str(&format!(
                    "{who}: {} never arrived (since {}{})\n",
                    numbers(g.first, g.last),
                    time(&g.opened_at),
                    g.reported_in
                        .map(|seq| format!(", reported in entry {seq}"))
                        .unwrap_or_default()
                ));
            }
            let listed: u64 = t.gaps.iter().map(|g| g.last - g.first + 1).sum();
            if t.missing > listed {
                gaps.push_str(&format!("{who}: more gaps than listed\n"));
            }
            if t.repeats > 0 {
                gaps.push_str(&format!(
                    "{who}: {} number(s) received twice under other ids{}\n",
                    t.repeats,
                    t.last_repeat
                        .map(|n| format!(", the last {n}"))
                        .unwrap_or_default()
                ));
            }
        }
    }
    if !gaps.is_empty() {
        out.push('\n');
        out.push_str(&gaps);
    }
    out
}
