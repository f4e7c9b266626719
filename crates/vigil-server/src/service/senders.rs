//! Senders: who sends to the store, how much, and which of the numbers they gave their events
//! never arrived. The store keeps the counts and gaps as it appends; this reports them and
//! journals each gap that stays open past `[senders] gap_grace_seconds` (`sender.gap`), and
//! again when its numbers have all arrived (`sender.gap.filled`); a sender that usually sends
//! and falls silent (`sender.silent`, then `sender.resumed`); and a revoked ingest key still in
//! use (`sender.revoked_key`).

use std::time::Duration;

use serde_json::json;
use vigil_core::{Kind, Severity};
use vigil_store::{GapEvent, GapNews, SenderReport, Silence, StoreError};

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

/// What a piece of gap news covers: `events 10,412–10,419` for one gap, `1,234 events in
/// 617 gaps between 10 and 2,000` for many.
fn covered(n: &GapNews) -> String {
    if n.gaps <= 1 {
        numbers(n.first, n.last)
    } else {
        format!(
            "{} events in {} gaps between {} and {}",
            grouped(n.missing),
            grouped(n.gaps),
            grouped(n.first),
            grouped(n.last)
        )
    }
}

/// The journal entry that tells of a gap (or of a stream's many gaps).
fn entry(state: &AppState, n: &GapNews) -> vigil_core::Event {
    let who = naming(&n.sender, n.stream.as_deref());
    let (action, severity, reason, extra) = match &n.what {
        GapEvent::Open { since, .. } => (
            "sender.gap",
            Severity::Warning,
            format!("{who}: {} never arrived", covered(n)),
            json!({"since": vigil_core::event::micros::format(since)}),
        ),
        GapEvent::Filled { reported_in } => (
            "sender.gap.filled",
            Severity::Info,
            format!("{who}: {} arrived late, all of them", covered(n)),
            json!({"reported_in": reported_in}),
        ),
    };
    let mut details = json!({
        "sender": n.sender,
        "first": n.first,
        "last": n.last,
        "missing": n.missing,
        "gaps": n.gaps,
    });
    if let Some(stream) = &n.stream {
        details["stream"] = json!(stream);
    }
    if let (Some(d), serde_json::Value::Object(more)) = (details.as_object_mut(), extra) {
        d.extend(more);
    }
    let mut e = OwnEntry::new(state.now(), &own_entry::system(), action, Kind::Access)
        .on("sender", n.sender.clone(), None)
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

/// How many days back a sender's usual rate at an hour is learned from.
const LEARN_DAYS: i64 = 7;
/// A sender is regular at an hour when it sent in it on at least this many of those days…
const REGULAR_DAYS: usize = 4;
/// …at least this many entries an hour on average.
const REGULAR_PER_HOUR: f64 = 6.0;
/// A regular sender is reported after this many of its usual intervals, if longer than
/// `quiet_minutes`.
const INTERVALS: f64 = 10.0;
/// At most one `sender.revoked_key` per key in this long.
pub const REVOKED_KEY_EVERY_MINUTES: i64 = 15;

/// What a sender usually does at the hour of `now` (UTC), from the `LEARN_DAYS` days before:
/// its mean entries per hour over the days it sent in that hour, if it is regular then. Regular
/// also means it sent at this hour a week ago: a back office that rests on Saturdays is not
/// missed on a Saturday.
fn usual_per_hour(hours: &[(i64, u64)], now_hour: i64) -> Option<f64> {
    let week_ago = now_hour - 24 * LEARN_DAYS;
    if !hours.iter().any(|(h, n)| *h == week_ago && *n > 0) {
        return None;
    }
    let counts: Vec<u64> = (1..=LEARN_DAYS)
        .filter_map(|d| {
            let h = now_hour - 24 * d;
            hours.iter().find(|(hour, _)| *hour == h).map(|(_, n)| *n)
        })
        .filter(|n| *n > 0)
        .collect();
    if counts.len() < REGULAR_DAYS {
        return None;
    }
    let mean = counts.iter().sum::<u64>() as f64 / counts.len() as f64;
    (mean >= REGULAR_PER_HOUR).then_some(mean)
}

/// `40 events/min` or `12 events/hour`.
fn rate(per_hour: f64) -> String {
    if per_hour >= 120.0 {
        format!("{} events/min", (per_hour / 60.0).round())
    } else {
        format!("{} events/hour", per_hour.round())
    }
}

/// Journals the senders that went silent and those that send again.
pub async fn watch_silences(state: &AppState) -> Result<u64, StoreError> {
    let now = state.now();
    let now_hour = now.timestamp_micros().div_euclid(3_600_000_000);
    let hours = state
        .store
        .sender_hours(now_hour - 24 * LEARN_DAYS - 1)
        .await?;
    let config = &state.config.senders;
    let mut told = 0;
    for s in state.store.sender_activity().await? {
        if s.name == own_entry::SENDER {
            continue;
        }
        // Reported silent, and it has sent since: it is back, whatever its limit now.
        if let Some((silent_in, silent_last)) = s.silent {
            if s.last_entry > silent_last {
                let mut e =
                    OwnEntry::new(now, &own_entry::system(), "sender.resumed", Kind::Access)
                        .on("sender", s.name.clone(), None)
                        .details(json!({
                            "sender": s.name,
                            "silent_in": silent_in,
                            "last_entry": s.last_entry,
                        }))
                        .build();
                e.reason = Some(format!("{} sends again", s.name));
                if state
                    .store
                    .journal_silence(s.name.clone(), Silence::Resumed, e)
                    .await?
                {
                    told += 1;
                }
            }
            continue;
        }
        let mine: Vec<(i64, u64)> = hours
            .iter()
            .filter(|(name, _, _)| *name == s.name)
            .map(|(_, h, n)| (*h, *n))
            .collect();
        let usual = usual_per_hour(&mine, now_hour);
        let limit_minutes = match config.quiet.get(&s.name) {
            Some(0) => continue,
            Some(m) => *m as f64,
            None => match usual {
                // Never regular at this hour: its silence says nothing.
                None => continue,
                Some(per_hour) => (config.quiet_minutes as f64).max(INTERVALS * 60.0 / per_hour),
            },
        };
        let quiet_minutes = (now - s.last_at).num_seconds() as f64 / 60.0;
        if quiet_minutes < limit_minutes {
            continue;
        }
        let usually = match usual {
            Some(per_hour) => format!("usually {} at this hour", rate(per_hour)),
            None => format!("its limit is {limit_minutes} minutes"),
        };
        let mut e = OwnEntry::new(now, &own_entry::system(), "sender.silent", Kind::Access)
            .on("sender", s.name.clone(), None)
            .severity(Severity::Warning)
            .details(json!({
                "sender": s.name,
                "last_at": vigil_core::event::micros::format(&s.last_at),
                "last_entry": s.last_entry,
                "quiet_minutes": quiet_minutes.floor() as u64,
                "limit_minutes": limit_minutes.ceil() as u64,
                "usual_per_hour": usual.map(|u| u.round() as u64),
            }))
            .build();
        e.reason = Some(format!(
            "{} has sent nothing for {} minutes, {usually}",
            s.name,
            quiet_minutes.floor() as u64
        ));
        let news = Silence::Silent {
            last_entry: s.last_entry,
        };
        if state.store.journal_silence(s.name.clone(), news, e).await? {
            told += 1;
        }
    }
    if told > 0 {
        state.wake().await;
    }
    Ok(told)
}

/// Journals that a revoked ingest key was used (`sender.revoked_key`), at most once per key
/// per [`REVOKED_KEY_EVERY_MINUTES`]: whoever still holds it is trying to send.
pub async fn revoked_key_used(state: &AppState, key: &vigil_store::IngestKey) {
    let now = state.now();
    {
        let mut last = state.revoked_tries.lock().expect("revoked tries lock");
        let recent = last.get(&key.name).is_some_and(|t| {
            now >= *t && now - *t < chrono::Duration::minutes(REVOKED_KEY_EVERY_MINUTES)
        });
        if recent {
            return;
        }
        last.insert(key.name.clone(), now);
    }
    let mut e = OwnEntry::new(
        now,
        &own_entry::system(),
        "sender.revoked_key",
        Kind::Access,
    )
    .on("sender", key.name.clone(), None)
    .severity(Severity::Warning)
    .outcome(vigil_core::Outcome::Denied)
    .details(json!({
        "sender": key.name,
        "revoked_at": key.revoked_at.as_ref().map(vigil_core::event::micros::format),
    }))
    .build();
    e.reason = Some(format!(
        "ingest key {:?} was revoked but is still being used",
        key.name
    ));
    if let Err(err) = state.append(vec![e]).await {
        tracing::warn!(error = %err, key = %key.name, "journaling a revoked key's use failed");
        // Not journaled: the next use tries again.
        state
            .revoked_tries
            .lock()
            .expect("revoked tries lock")
            .remove(&key.name);
    }
}

/// Tells the journal of gaps and silences every few seconds, until the server stops.
pub async fn run(state: AppState) {
    let mut stopping = state.stopping.subscribe();
    loop {
        if let Err(e) = tell(&state).await {
            tracing::warn!(error = %e, "reporting senders' gaps failed; trying again");
        }
        if let Err(e) = watch_silences(&state).await {
            tracing::warn!(error = %e, "watching senders' silences failed; trying again");
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

#[cfg(test)]
mod learning {
    use super::*;

    /// Sent at 10:00 on each of these days back.
    fn history(days: &[i64], now_hour: i64, n: u64) -> Vec<(i64, u64)> {
        days.iter().map(|d| (now_hour - 24 * d, n)).collect()
    }

    #[test]
    fn regular_means_most_days_and_a_week_ago_at_this_hour() {
        let now = 500_000;
        assert_eq!(
            usual_per_hour(&history(&[1, 2, 3, 4, 5, 6, 7], now, 120), now),
            Some(120.0)
        );
        // A weekday sender on a Saturday: five of the last seven days, but not a week ago.
        assert_eq!(
            usual_per_hour(&history(&[1, 2, 3, 4, 5], now, 120), now),
            None
        );
        assert_eq!(
            usual_per_hour(&history(&[3, 4, 5, 6, 7], now, 120), now),
            Some(120.0)
        );
        // Too few days, or too few entries an hour.
        assert_eq!(usual_per_hour(&history(&[1, 7, 3], now, 120), now), None);
        assert_eq!(
            usual_per_hour(&history(&[1, 2, 3, 4, 5, 6, 7], now, 3), now),
            None
        );
        assert_eq!(rate(120.0), "2 events/min");
        assert_eq!(rate(40.0), "40 events/hour");
    }
}
