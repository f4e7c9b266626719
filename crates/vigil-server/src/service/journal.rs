//! Writing the journal and proving it: ingest (one event or a batch, checked, appended
//! atomically and durably), the hash chain walked end to end, demo data, and the store's own
//! start and stop.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde_json::Value;
use vigil_api::IngestAnswer;
use vigil_core::chain::Verifier;
use vigil_core::validate::{self, MAX_BATCH_EVENTS};
use vigil_core::{Event, Kind, Severity};
use vigil_store::StoreError;

use super::caller::Ingester;
use super::own_entry::{self, OwnEntry};
use super::{Fault, Refusal};
use crate::config::ServerConfig;
use crate::state::AppState;

/// Why a batch was refused.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    /// The body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    /// An event (or the batch) is invalid; `index` and `field` say where.
    #[error("{message}")]
    InvalidEvent {
        /// What is wrong, with the event's place.
        message: String,
        /// The event's position in the batch.
        index: Option<usize>,
        /// The field.
        field: Option<String>,
    },
    /// Over a limit (events per batch, bytes per event).
    #[error("{message}")]
    TooLarge {
        /// Which limit.
        message: String,
        /// The event's position in the batch.
        index: Option<usize>,
        /// The field.
        field: Option<String>,
    },
    /// The key may not send under an event's section (403); `index` says which event.
    #[error("{message}")]
    SectionNotAllowed {
        /// Which section, which key, and which event.
        message: String,
        /// The event's position in the batch.
        index: Option<usize>,
    },
    /// The store refused (an id stored with other content) or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for JournalError {
    fn fault(&self) -> Fault {
        match self {
            JournalError::MalformedJson(_) | JournalError::InvalidEvent { .. } => Fault::Invalid,
            JournalError::TooLarge { .. } => Fault::TooLarge,
            JournalError::SectionNotAllowed { .. } => Fault::Forbidden,
            JournalError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            JournalError::MalformedJson(_) => "malformed_json",
            JournalError::InvalidEvent { .. } => "invalid_event",
            JournalError::TooLarge { .. } => "too_large",
            JournalError::SectionNotAllowed { .. } => "forbidden",
            JournalError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            JournalError::InvalidEvent { field, .. } | JournalError::TooLarge { field, .. } => {
                field.as_deref()
            }
            JournalError::SectionNotAllowed { .. } => Some("section"),
            JournalError::Store(e) => e.field(),
            _ => None,
        }
    }

    fn index(&self) -> Option<usize> {
        match self {
            JournalError::InvalidEvent { index, .. }
            | JournalError::TooLarge { index, .. }
            | JournalError::SectionNotAllowed { index, .. } => *index,
            JournalError::Store(e) => e.index(),
            _ => None,
        }
    }
}

/// Parses and validates a body: one event or an array; every error names its place.
pub fn parse_batch(bytes: &[u8]) -> Result<Vec<Event>, JournalError> {
    // Valid batches, the usual case, are read straight into events; anything else takes the
    // careful path below, which names what is wrong.
    if let Some(events) = validate::fast_batch(bytes, uuid::Uuid::now_v7) {
        return Ok(events);
    }
    // Read as plain data: serde_json's private keys are ordinary keys here (vigil_core::json).
    let vigil_core::json::Plain(value) =
        serde_json::from_slice(bytes).map_err(|e| JournalError::MalformedJson(e.to_string()))?;
    let invalid = |index: Option<usize>, e: validate::FieldError| {
        let message = match index {
            Some(i) => format!("events[{i}].{e}"),
            None => e.to_string(),
        };
        let field = Some(e.field.clone());
        if e.too_large {
            JournalError::TooLarge {
                message,
                index,
                field,
            }
        } else {
            JournalError::InvalidEvent {
                message,
                index,
                field,
            }
        }
    };
    let batch_error = |message: &str| JournalError::InvalidEvent {
        message: message.into(),
        index: None,
        field: None,
    };
    match value {
        Value::Array(items) => {
            if items.is_empty() {
                return Err(batch_error("the batch is empty: send at least one event"));
            }
            if items.len() > MAX_BATCH_EVENTS {
                return Err(JournalError::TooLarge {
                    message: format!(
                        "{} events is over the limit of {MAX_BATCH_EVENTS} events per batch",
                        items.len()
                    ),
                    index: None,
                    field: None,
                });
            }
            items
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    validate::event_from_json(v, uuid::Uuid::now_v7)
                        .map_err(|e| invalid(Some(i), e))
                })
                .collect()
        }
        Value::Object(_) => {
            Ok(vec![validate::event_from_json(&value, uuid::Uuid::now_v7)
                .map_err(|e| invalid(None, e))?])
        }
        _ => Err(batch_error(
            "the body must be an event object or an array of events",
        )),
    }
}

/// Appends one event or an array of events from a sender, atomically and durably: every event
/// checked first, then all stored or none.
pub async fn ingest(
    state: &AppState,
    sender: &Ingester,
    body: axum::body::Bytes,
) -> Result<IngestAnswer, JournalError> {
    // Parsing a batch of a thousand events takes milliseconds of CPU: on a blocking thread, so
    // that the searches served by the async workers do not wait behind it.
    let batch = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[');
    let mut events = tokio::task::spawn_blocking(move || parse_batch(&body))
        .await
        .map_err(|e| JournalError::Store(StoreError::backend(e)))??;
    refuse_vigils_own(&events, batch)?;
    refuse_other_sections(sender, &events, batch)?;
    // Each entry records, under the chain, the key that sent it.
    for e in &mut events {
        e.sender = Some(sender.key.clone());
    }
    let results = state.append(events).await?;
    let duplicates = results.iter().filter(|r| r.duplicate).count();
    Ok(IngestAnswer {
        accepted: results.len() - duplicates,
        duplicates,
        results,
    })
}

/// Refuses what only the store itself writes: section `vigil` (sign-ins, searches, exports,
/// changes to accounts) and the actor `vigil` (its start and stop). A sender with an ingest key
/// could otherwise forge the journal of the journal. The whole batch is refused, naming the
/// first such event.
fn refuse_vigils_own(events: &[Event], batch: bool) -> Result<(), JournalError> {
    let reserved = events.iter().enumerate().find_map(|(i, e)| {
        if e.section == crate::service::own_entry::SECTION {
            Some((i, "section", "section \"vigil\" is Vigil's own journal (sign-ins, searches, exports, accounts): send events under a section of your own"))
        } else if e.actor.id.trim().eq_ignore_ascii_case("vigil") {
            Some((i, "actor.id", "actor \"vigil\" is the store itself: name the person or system that acted"))
        } else {
            None
        }
    });
    let Some((i, field, why)) = reserved else {
        return Ok(());
    };
    Err(JournalError::InvalidEvent {
        message: if batch {
            format!("events[{i}].{field}: {why}")
        } else {
            format!("{field}: {why}")
        },
        index: batch.then_some(i),
        field: Some(field.into()),
    })
}

/// Refuses a batch holding an event of a section the key is not limited to (the whole batch,
/// naming the first such event).
fn refuse_other_sections(
    sender: &Ingester,
    events: &[Event],
    batch: bool,
) -> Result<(), JournalError> {
    if sender.sections.is_empty() {
        return Ok(());
    }
    let Some((i, e)) = events
        .iter()
        .enumerate()
        .find(|(_, e)| !sender.sections.contains(&e.section))
    else {
        return Ok(());
    };
    let place = if batch {
        format!("events[{i}].section")
    } else {
        "section".to_owned()
    };
    Err(JournalError::SectionNotAllowed {
        message: format!(
            "{place}: ingest key {:?} may send events of section{} {} only, not {:?}",
            sender.key,
            if sender.sections.len() > 1 { "s" } else { "" },
            sender.sections.join(", "),
            e.section
        ),
        index: batch.then_some(i),
    })
}

/// Entries in the journal.
pub async fn event_count(state: &AppState) -> Result<u64, StoreError> {
    Ok(state.store.head().await?.map_or(0, |(seq, _)| seq))
}

/// Walks the whole chain: how many entries verified and the head hash; `Err` names the first
/// entry that does not match.
pub async fn verify(state: &AppState) -> anyhow::Result<String> {
    let mut v = Verifier::default();
    loop {
        let batch = state.store.scan(v.verified() + 1, 10_000).await?;
        if batch.is_empty() {
            break;
        }
        for e in &batch {
            v.check(e).context("the journal does not verify")?;
        }
    }
    Ok(format!(
        "verified {} entries; head hash {}",
        v.verified(),
        v.head()
    ))
}

/// Writes `n` demo events into a journal of no activity yet, in batches of 1000: how many.
pub async fn demo(
    state: &AppState,
    n: usize,
    seed: u64,
    until: DateTime<Utc>,
    days: u32,
    mut progress: impl FnMut(usize),
) -> anyhow::Result<usize> {
    let existing = event_count(state).await?;
    // Vigil's own entries (the users and keys created first, say) do not make it a journal of
    // activity.
    let only_vigil = existing <= 1000
        && state
            .store
            .scan(1, 1000)
            .await?
            .iter()
            .all(|e| e.event.section == own_entry::SECTION);
    if existing > 0 && !only_vigil {
        anyhow::bail!("the journal already has {existing} events; demo data goes into an empty journal (pick another --database)");
    }
    anyhow::ensure!(days > 0, "--days must be at least 1");
    let mut demo = vigil_demo::Demo::new(seed, until, days, n);
    let mut done = 0;
    while done < n {
        let mut batch = demo.take((n - done).min(1000));
        done += batch.len();
        for e in &mut batch {
            e.sender = Some(own_entry::DEMO_SENDER.into());
        }
        state
            .store
            .append(batch)
            .await
            .context("writing demo events")?;
        progress(done);
    }
    Ok(done)
}

/// Journals the store's own start or stop (`vigil.start`, `vigil.stop`), with the system
/// account `vigil` as actor.
pub async fn lifecycle(
    state: &AppState,
    action: &str,
    config: &ServerConfig,
) -> Result<(), StoreError> {
    let mut entry = OwnEntry::new(state.now(), &own_entry::system(), action, Kind::Access)
        .on("store", config.listen.to_string(), None)
        .details(serde_json::json!({
            "version": env!("CARGO_PKG_VERSION"),
            "pid": std::process::id(),
            "database": config.database.display().to_string(),
        }));
    if action == "vigil.stop" {
        entry = entry.severity(Severity::Warning);
    }
    state.append(vec![entry.build()]).await?;
    Ok(())
}

/// Whether the store is up: the journal's entries and how many the search index holds.
/// The store's health: that it is up (its journal answers), and for a `known` caller (signed
/// in, or sending with a key) the journal's and the index's counts and the version.
pub async fn health(state: &AppState, known: bool) -> Result<vigil_api::Health, StoreError> {
    let events = event_count(state).await?;
    Ok(vigil_api::Health {
        status: "ok".into(),
        indexed: state.store.indexed().filter(|_| known),
        events: known.then_some(events),
        version: known.then(|| env!("CARGO_PKG_VERSION").into()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The demo journal (every shape of event it makes) goes the fast way, and comes out as
    /// the careful way reads it: the same events, field for field.
    #[test]
    fn demo_batches_are_read_the_fast_way_and_the_same_as_the_careful_way() {
        let until = chrono::DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut demo = vigil_demo::Demo::new(3, until, 30, 5_000);
        for _ in 0..5 {
            let sent = demo.take(1000);
            let body = serde_json::to_vec(&sent).unwrap();
            let fast = validate::fast_batch(&body, uuid::Uuid::nil).expect("a valid batch");
            let value: Value = serde_json::from_slice(&body).unwrap();
            let careful: Vec<Event> = value
                .as_array()
                .unwrap()
                .iter()
                .map(|v| validate::event_from_json(v, uuid::Uuid::nil).unwrap())
                .collect();
            assert_eq!(fast, careful);
            assert_eq!(fast, sent);
            assert_eq!(parse_batch(&body).unwrap(), sent);
        }
    }

    /// A body the fast way does not take still gets the careful way's precise error.
    #[test]
    fn a_bad_batch_still_names_the_event_and_field() {
        let body = br#"[{"occurred_at":"2026-11-26T09:00:00Z","actor":{"id":"a"},"action":"x","kind":"create","section":"s"},
                        {"occurred_at":"2026-11-26T09:00:00Z","actor":{"id":"a"},"action":"x","kind":"edit","section":"s"}]"#;
        match parse_batch(body) {
            Err(JournalError::InvalidEvent {
                message,
                index,
                field,
            }) => {
                assert_eq!(index, Some(1));
                assert_eq!(field.as_deref(), Some("kind"));
                assert!(
                    message.starts_with("events[1].kind: \"edit\" is not one of"),
                    "{message}"
                );
            }
            other => panic!("expected an invalid event, got {other:?}"),
        }
    }

    /// serde_json's private keys in a sender's JSON are ordinary keys: an object whose key
    /// would make serde_json parse its string again (built here with `raw_value`, as axum turns
    /// it on) is stored as written, comes back the same through the API's types, and cannot
    /// hide nesting deeper than readers take.
    #[test]
    fn private_serde_json_keys_are_stored_as_written() {
        let deep = format!("{}1{}", "[".repeat(127), "]".repeat(127));
        let hidden = serde_json::to_string(&deep).unwrap();
        let nested =
            serde_json::to_string(&format!(r#"{{"$serde_json::private::RawValue":{hidden}}}"#))
                .unwrap();
        for wrapper in ["{}", "[{}]", "[{}, {}]"] {
            let event = format!(
                r#"{{"occurred_at":"2026-11-26T09:00:00Z","actor":{{"id":"a"}},"action":"x","kind":"create","section":"s",
                   "changes":[{{"field":"f","before":{{"$serde_json::private::RawValue":{hidden}}}}}],
                   "details":{{"a":{{"$serde_json::private::RawValue":{hidden}}},"b":{{"$serde_json::private::RawValue":{nested}}}}}}}"#
            );
            let body = wrapper.replace("{}", &event);
            let events = parse_batch(body.as_bytes()).unwrap();
            for e in &events {
                let details = e.details.as_ref().unwrap();
                assert_eq!(
                    details["a"]["$serde_json::private::RawValue"],
                    Value::String(deep.clone())
                );
                assert_eq!(
                    e.changes.as_ref().unwrap()[0].before["$serde_json::private::RawValue"],
                    Value::String(deep.clone())
                );
                // What a reader of the API gets back is what was sent.
                let text = serde_json::to_string(e).unwrap();
                let back: Event = serde_json::from_str(&text).unwrap();
                assert_eq!(&back, e);
            }
        }
    }
}
