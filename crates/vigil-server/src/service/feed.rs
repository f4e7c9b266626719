//! The feed: the journal in seq order, page by page, for a SIEM or a data lake to pull from
//! where it left off. Each page holds the entries the caller may read (masked as their rights
//! say, with their seq and, for a reader shown hashes, their chain hash), says where the next
//! page starts, and is journaled before it answers, like an export.

use serde_json::json;
use vigil_api::FeedParams;
use vigil_core::{Annotated, Kind};

use super::caller::Exporter;
use super::search::{annotated, SearchError};
use super::{bounded, OwnEntry};
use crate::state::AppState;

/// Entries read at a time.
const READ: usize = 1000;
/// At most this many entries are read for one page, whatever is kept of them: a reader whose
/// scope keeps few entries pages on with the next `after_seq`.
const READ_AT_MOST: u64 = 100_000;

/// A page of the feed.
pub struct FeedPage {
    /// The entries, as `GET /v1/events/{id}` gives them.
    pub entries: Vec<Annotated>,
    /// The seq to ask the next page after: the last entry read (kept or not).
    pub next_after_seq: u64,
}

/// The page of entries after `after_seq` that the caller may read, within their export scope.
pub async fn page(
    state: &AppState,
    reader: &Exporter,
    p: FeedParams,
) -> Result<FeedPage, SearchError> {
    let after = p.after_seq.unwrap_or(0);
    if after > i64::MAX as u64 {
        return Err(SearchError::BadParameter(format!(
            "after_seq: at most {} (a seq), not {after}",
            i64::MAX
        )));
    }
    let limit = bounded("limit", p.limit, 1000, 10_000).map_err(SearchError::BadParameter)?;
    let head = state.store.head().await?.map_or(0, |(seq, _)| seq);
    let mut entries = Vec::new();
    let mut last = after.min(head);
    while entries.len() < limit && last < head && last - after.min(head) < READ_AT_MOST {
        let batch = state.store.scan(last + 1, READ).await?;
        let Some(end) = batch.last().map(|e| e.seq) else {
            break;
        };
        for e in annotated(state, batch).await? {
            if entries.len() == limit {
                break;
            }
            last = e.entry.seq;
            if reader.may_read(&e) && reader.grants.export.contains(&e.entry.event, &e.summary()) {
                entries.push(e);
            }
        }
        if entries.len() < limit {
            last = end;
        }
    }
    // No record, no answer; but a page that holds nothing, or only the caller's own earlier
    // pages' records, is not recorded again (a SIEM polling an idle journal would otherwise
    // feed on its own records forever).
    let own = |e: &Annotated| {
        let ev = &e.entry.event;
        ev.section == super::own_entry::SECTION
            && ev.action == "journal.feed"
            && ev.actor.id == reader.name
    };
    if entries.iter().any(|e| !own(e)) {
        let read = OwnEntry::by_staff(state.now(), &reader.name, "journal.feed", Kind::Access)
            .details(json!({
                "after_seq": after,
                "next_after_seq": last,
                "entries": entries.len(),
            }))
            .build();
        state.append_trace(vec![read]).await?;
    }
    reader.present(&state.config.privacy, &mut entries);
    crate::service::annotations::hide_incidents_outside(state, reader, &mut entries).await?;
    Ok(FeedPage {
        entries,
        next_after_seq: last,
    })
}
