//! Senders: who sends to the store, how much, and which of the numbers they gave their events
//! never arrived. The store keeps the counts and gaps as it appends; this reports them and
//! journals each gap that stays open past `[senders] gap_grace_seconds` (`sender.gap`), and
//! again when its numbers have all arrived (`sender.gap.filled`).

use std::time::Duration;

use serde_json::json;
use vigil_core::{Kind, Severity};
use vigil_store::{GapEvent, GapNews, SenderReport, StoreError};

use super::caller::SendersReader;
use super::own_entry::{self, OwnEntry};
use crate::state::AppState;

/// At most how many gaps one pass journals (the rest in the next pass, a few seconds later).
const NEWS_PER_PASS: usize = 500;
/// How often the journal is told of gaps.
const EVERY: Duration = Duration::from_secs(5);

/// Every sender with its streams and open gaps.
pub async fn list(state: &AppState, _who: &SendersReader) -> Result<Vec<SenderReport>, StoreError> {
    state.store.senders(state.now()).await
}

/// `backoffice` or `backoffice, stream night`.
pub fn naming(sender: &str, stream: Option<&str>) -> String {
    match stream {
        Some(s) => format!("{sender}, stream {s:?}"),
        None => sender.to_owned(),
    }
}

/// `event 7` or `events 10,412–10,419`.
pub fn numbers(first: u64, last: u64) -> String {
    if first == last {
        format!("event {}", grouped(first))
    } else {
        format!("events {}–{}", grouped(first), grouped(last))
    }
}

/// A number with thousands separated by commas.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The journal entry that tells of a gap.
fn entry(state: &AppState, n: &GapNews) -> vigil_core::Event {
    let count = n.last - n.first + 1;
    let (action, severity, reason, extra) = match &n.what {
        GapEvent::Open { since } => (
            "sender.gap",
            Severity::Warning,
            format!(
                "{}: {} never arrived",
                naming(&n.sender, n.stream.as_deref()),
                numbers(n.first, n.last)
            ),
            json!({"since": vigil_core::event::micros::format(since)}),
        ),
        GapEvent::Filled { reported_in } => (
            "sender.gap.filled",
            Severity::Info,
            format!(
                "{}: {} arrived late, all of them",
                naming(&n.sender, n.stream.as_deref()),
                numbers(n.first, n.last)
            ),
            json!({"reported_in": reported_in}),
        ),
    };
    let mut details = json!({
        "sender": n.sender,
        "first": n.first,
        "last": n.last,
        "missing": count,
    });
    if let Some(stream) = &n.stream {
        details["stream"] = json!(stream);
    }
    if let (Some(d), serde_json::Value::Object(more)) = (details.as_object_mut(), extra) {
        d.extend(more);
    }
    let mut e = OwnEntry::new(state.now(), &own_entry::system(), action, Kind::Access)
        .on("sender", n.sender.clone(), n.stream.clone())
        .severity(severity)
        .details(details)
        .build();
    e.reason = Some(reason);
    e
}

/// Journals what is due now: gaps open past the grace period, reported gaps now filled.
/// Returns how many entries were written.
pub async fn tell(state: &AppState) -> Result<u64, StoreError> {
    let grace = chrono::Duration::seconds(state.config.senders.gap_grace_seconds as i64);
    let news = state
        .store
        .gap_news(state.now() - grace, NEWS_PER_PASS)
        .await?;
    if news.is_empty() {
        return Ok(0);
    }
    let with_entries = news
        .into_iter()
        .map(|n| {
            let e = entry(state, &n);
            (n, e)
        })
        .collect();
    let told = state.store.journal_gap_news(with_entries).await?;
    if told > 0 {
        state.wake().await;
    }
    Ok(told)
}

/// Tells the journal of gaps every few seconds, until the server stops.
pub async fn run(state: AppState) {
    let mut stopping = state.stopping.subscribe();
    loop {
        if let Err(e) = tell(&state).await {
            tracing::warn!(error = %e, "reporting senders' gaps failed; trying again");
        }
        if *stopping.borrow() {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = stopping.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_like_a_person_writes_them() {
        assert_eq!(numbers(10_412, 10_419), "events 10,412–10,419");
        assert_eq!(numbers(7, 7), "event 7");
        assert_eq!(numbers(999, 1_000_000), "events 999–1,000,000");
        assert_eq!(
            naming("backoffice", Some("night")),
            "backoffice, stream \"night\""
        );
    }
}
