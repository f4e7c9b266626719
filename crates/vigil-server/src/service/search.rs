//! Reading the journal: searches, one entry, timelines, facets and live tails, always within the
//! caller's read scope and masked as their rights say. A search's first page and the opening of
//! an entry of a sensitive section are journaled before they answer: no record, no answer.

use std::time::Duration;

use chrono::FixedOffset;
use futures::{Stream, StreamExt};
use serde_json::json;
use vigil_api::{
    EventsPage, FacetField, FacetParams, Facets, SearchParams, StreamParams, Timeline,
    TimelineParams,
};
use vigil_core::{Annotated, Kind, Query, StoredEvent};
use vigil_store::{Cursor, FacetRequest, Search, StoreError, TimelineRequest};

use super::caller::{Caller, CanRead, Capability, MaskedIpProbe};
use super::{bounded, parse_query, parse_tz, BadQuery, Fault, OwnEntry, Refusal};
use crate::state::AppState;

/// Why a read was refused.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query is too long or does not parse.
    #[error(transparent)]
    BadQuery(#[from] BadQuery),
    /// A parameter is out of range or not understood.
    #[error("{0}")]
    BadParameter(String),
    /// A cursor this server did not give out.
    #[error("cursor: {0}")]
    BadCursor(StoreError),
    /// An `ip:` narrower than a masked reader sees.
    #[error(transparent)]
    MaskedIpProbe(#[from] MaskedIpProbe),
    /// The caller has as many live tails open as they may.
    #[error(transparent)]
    Busy(#[from] super::running::Busy),
    /// No such entry (or none the caller may read), the index is rebuilding, or the store
    /// failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Refusal for SearchError {
    fn fault(&self) -> Fault {
        match self {
            SearchError::BadQuery(_) | SearchError::BadParameter(_) | SearchError::BadCursor(_) => {
                Fault::Invalid
            }
            SearchError::MaskedIpProbe(e) => e.fault(),
            SearchError::Busy(e) => e.fault(),
            SearchError::Store(e) => e.fault(),
        }
    }

    fn code(&self) -> &'static str {
        match self {
            SearchError::BadQuery(_) => "bad_query",
            SearchError::BadParameter(_) => "bad_parameter",
            SearchError::BadCursor(_) => "bad_cursor",
            SearchError::MaskedIpProbe(e) => e.code(),
            SearchError::Busy(e) => e.code(),
            SearchError::Store(e) => e.code(),
        }
    }

    fn field(&self) -> Option<&str> {
        match self {
            SearchError::MaskedIpProbe(e) => e.field(),
            SearchError::Store(e) => e.field(),
            _ => None,
        }
    }

    fn column(&self) -> Option<usize> {
        match self {
            SearchError::BadQuery(e) => e.column,
            _ => None,
        }
    }
}

/// The caller's query, parsed, checked against their masking and limited to their scope.
fn scoped_query(caller: &Caller, q: Option<&str>) -> Result<Query, SearchError> {
    let query = parse_query(q)?;
    caller.check_query(&query)?;
    Ok(caller.scoped(query))
}

fn tz(tz: Option<&str>) -> Result<FixedOffset, SearchError> {
    parse_tz(tz).map_err(SearchError::BadParameter)
}

/// What the annotations and incidents of these entries add to them, by seq (entries with none
/// left out): for evaluating queries and scopes that read annotations.
pub async fn summaries(
    store: &dyn vigil_store::Store,
    seqs: Vec<u64>,
) -> Result<std::collections::HashMap<u64, vigil_core::AnnotationSummary>, StoreError> {
    Ok(store
        .entry_annotations(seqs)
        .await?
        .into_iter()
        .map(|(seq, n)| {
            (
                seq,
                vigil_core::AnnotationSummary::of(&n.annotations, &n.incidents),
            )
        })
        .collect())
}

/// Entries with their annotations and incidents.
pub async fn annotated(
    state: &AppState,
    entries: Vec<StoredEvent>,
) -> Result<Vec<Annotated>, StoreError> {
    let mut found = state
        .store
        .entry_annotations(entries.iter().map(|e| e.seq).collect())
        .await?;
    Ok(entries
        .into_iter()
        .map(|e| {
            let n = found.remove(&e.seq).unwrap_or_default();
            Annotated {
                entry: e,
                annotations: n.annotations,
                incidents: n.incidents,
                masked: Vec::new(),
            }
        })
        .collect())
}

/// An entry with its annotations, if this caller may read it: `NotFound` otherwise, word for
/// word what an unknown id gets, so that a scope does not tell what lies outside it.
pub async fn readable(
    state: &AppState,
    caller: &Caller,
    id: uuid::Uuid,
) -> Result<Annotated, StoreError> {
    let entry = state.store.event(id).await?;
    let one = annotated(state, vec![entry]).await?.remove(0);
    if !caller.may_read(&one) {
        return Err(StoreError::NotFound(format!("event {id}")));
    }
    Ok(one)
}

/// Reads an entry's id as written in a path.
pub fn entry_id(id: &str) -> Result<uuid::Uuid, String> {
    uuid::Uuid::parse_str(id).map_err(|_| format!("{id:?} is not a UUID"))
}

/// A page of matching entries, newest first by `occurred_at` then `seq` unless asked oldest
/// first, paged by keyset cursor. The first page is journaled (`journal.search`, with the
/// query) while it runs, and never answers with its own record.
pub async fn search(
    state: &AppState,
    reader: &CanRead,
    p: SearchParams,
) -> Result<EventsPage, SearchError> {
    let query = parse_query(p.q.as_deref())?;
    reader.check_query(&query)?;
    let limit = bounded("limit", p.limit, 50, 1000).map_err(SearchError::BadParameter)?;
    let cursor = match p.cursor.as_deref().filter(|c| !c.is_empty()) {
        Some(c) => Some(Cursor::decode(c).map_err(SearchError::BadCursor)?),
        None => None,
    };
    let first_page = cursor.is_none();
    let text = query.to_string();
    let search = Search {
        cursor,
        tz: tz(p.tz.as_deref())?,
        order: p.order.unwrap_or_default(),
        ..Search::new(reader.scoped(query), limit)
    };
    // Each search is journaled with its query (its further pages are not), while it runs, so
    // that it costs no more time than the slower of the two; the search never answers with
    // its own record. No record, no answer.
    let trace = first_page.then(|| {
        OwnEntry::by_staff(state.now(), &reader.name, "journal.search", Kind::Access)
            .details(json!({"q": text, "tz": search.tz.to_string()}))
            .build()
    });
    let trace_id = trace.as_ref().map(|t| t.id);
    let (page, traced) = tokio::join!(state.store.search(&search), async {
        match trace {
            Some(t) => state.append_trace(vec![t]).await.map(drop),
            None => Ok(()),
        }
    });
    let (mut page, ()) = (page?, traced?);
    page.events.retain(|e| Some(e.event.id) != trace_id);
    let mut events = annotated(state, page.events).await?;
    reader.present(&state.config.privacy, &mut events);
    crate::service::annotations::hide_incidents_outside(state, reader, &mut events).await?;
    Ok(EventsPage {
        events,
        next_cursor: page.next.map(|c| c.encode()),
        freshness: page.freshness,
    })
}

/// One entry by id, with its annotations and incidents. Opening an entry of a sensitive
/// section (`[privacy] sensitive_sections`) is journaled as `entry.open` before it answers.
pub async fn entry(state: &AppState, reader: &CanRead, id: &str) -> Result<Annotated, SearchError> {
    let id = entry_id(id).map_err(SearchError::BadParameter)?;
    let mut one = [readable(state, reader, id).await?];
    let e = &one[0].entry;
    if state
        .config
        .privacy
        .sensitive_sections
        .contains(&e.event.section)
    {
        let opened = OwnEntry::by_staff(state.now(), &reader.name, "entry.open", Kind::Access)
            .on("entry", id.to_string(), None)
            .details(json!({"section": e.event.section, "action": e.event.action, "seq": e.seq}))
            .build();
        state.append_trace(vec![opened]).await?;
    }
    reader.present(&state.config.privacy, &mut one);
    crate::service::annotations::hide_incidents_outside(state, reader, &mut one).await?;
    let [one] = one;
    Ok(one)
}

/// Counts of matching entries (and critical ones) per time bucket.
pub async fn timeline(
    state: &AppState,
    reader: &CanRead,
    p: TimelineParams,
) -> Result<Timeline, SearchError> {
    let query = scoped_query(reader, p.q.as_deref())?;
    let buckets = bounded("buckets", p.buckets, 60, 1000).map_err(SearchError::BadParameter)?;
    Ok(state
        .store
        .timeline(&TimelineRequest {
            query,
            tz: tz(p.tz.as_deref())?,
            buckets: buckets as u32,
        })
        .await?)
}

/// The most frequent values of a field among matching entries.
pub async fn facets(
    state: &AppState,
    reader: &CanRead,
    p: FacetParams,
) -> Result<Facets, SearchError> {
    let query = scoped_query(reader, p.q.as_deref())?;
    let field = match p.field.as_deref() {
        None => {
            return Err(SearchError::BadParameter(format!(
                "field: required, one of: {}",
                FacetField::choices()
            )))
        }
        Some(f) => FacetField::parse(f).ok_or_else(|| {
            SearchError::BadParameter(format!(
                "field: {f:?} is not one of: {}",
                FacetField::choices()
            ))
        })?,
    };
    let limit = bounded("limit", p.limit, 10, 100).map_err(SearchError::BadParameter)?;
    Ok(state
        .store
        .facets(&FacetRequest {
            query,
            tz: tz(p.tz.as_deref())?,
            field,
            limit,
        })
        .await?)
}

/// Entries read from the journal per step of a tail.
const SCAN_BATCH: usize = 500;
/// How often a tail looks for appends made by other processes.
const POLL: Duration = Duration::from_secs(1);
/// How often a tail looks again at its reader's session and rights: a revoked session or a
/// change of roles ends it within this.
const RECHECK: Duration = Duration::from_secs(1);
/// How far back a resuming tail goes: at most this many entries before the newest. Older
/// entries are a search's job (journaled, paged); `ready` says where the tail starts, so a
/// client that resumes from further back sees the gap.
pub const RESUME_LIMIT: u64 = 10_000;

/// What a live tail yields.
#[derive(Debug, Clone)]
pub enum Tailed {
    /// First: the tail starts after this seq.
    Ready(u64),
    /// A new matching entry, masked as the caller sees it (without its annotations).
    Entry(Box<Annotated>),
    /// The journal could not be read this time; the tail goes on.
    Failed(String),
}

/// New entries matching the query as they are stored, read from the journal itself (by seq):
/// [`Tailed::Ready`], then each matching entry. Starts after the newest entry, or after the seq
/// in `resume` (SSE's `Last-Event-ID`, as sent) when a client resumes. It wakes when this
/// process appends and polls once a second for appends by other processes; it ends when the
/// caller's session ends (expired or revoked) and when the server shuts down.
pub async fn tail(
    state: &AppState,
    reader: CanRead,
    p: StreamParams,
    resume: Option<&[u8]>,
) -> Result<impl Stream<Item = Tailed>, SearchError> {
    let text = parse_query(p.q.as_deref())?.to_string();
    let query = scoped_query(&reader, p.q.as_deref())?;
    let slot = state
        .running
        .take(super::running::Work::Tail, &reader.name)?;
    let tz = tz(p.tz.as_deref())?;
    let head = state.store.head().await?.map_or(0, |(seq, _)| seq);
    let (asked, after) = match resume {
        Some(sent) => {
            let asked = resumed_after(sent)?;
            (Some(asked), asked.max(head.saturating_sub(RESUME_LIMIT)))
        }
        None => (None, head),
    };
    // Journaled like a search, before the first entry goes out: no record, no tail.
    let mut details = json!({"q": text, "tz": tz.to_string(), "after": after});
    if let Some(asked) = asked {
        details["resumed_from"] = asked.into();
    }
    let trace = OwnEntry::by_staff(state.now(), &reader.name, "journal.tail", Kind::Access)
        .details(details)
        .build();
    let own = trace.id;
    state.append_trace(vec![trace]).await?;
    let tail = Tail {
        state: state.clone(),
        query,
        tz,
        after,
        reader: reader.into_caller(),
        checked: std::time::Instant::now(),
        own,
        _slot: slot,
    };
    Ok(tail.run())
}

/// The seq a resuming client names: a number the journal can hold (seqs are 63-bit).
fn resumed_after(sent: &[u8]) -> Result<u64, SearchError> {
    std::str::from_utf8(sent)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|seq| i64::try_from(*seq).is_ok())
        .ok_or_else(|| {
            SearchError::BadParameter(
                "Last-Event-ID: expected a seq (a number from 0 to 9223372036854775807)".into(),
            )
        })
}

struct Tail {
    state: AppState,
    query: Query,
    tz: FixedOffset,
    /// The last seq already looked at.
    after: u64,
    /// Whose session the tail lives on.
    reader: Caller,
    /// When the reader's session and rights were last looked at.
    checked: std::time::Instant,
    /// The id of the journal's record of this tail (never sent to it).
    own: uuid::Uuid,
    /// Counts it among its reader's tails while it lives.
    _slot: super::running::Slot,
}

impl Tail {
    /// `Ready`, then each step yields the matching entries of one scan, waiting first when the
    /// previous scan found nothing new.
    fn run(self) -> impl Stream<Item = Tailed> {
        let ready = Tailed::Ready(self.after);
        let appended = self.state.appended.subscribe();
        let stopping = self.state.stopping.subscribe();
        let steps = futures::stream::unfold(
            (self, appended, stopping, false),
            |(mut tail, mut appended, mut stopping, wait)| async move {
                if wait {
                    // Wake on this process's appends, or poll for other processes'; end with
                    // the server.
                    tokio::select! {
                        _ = tokio::time::timeout(POLL, appended.changed()) => {}
                        _ = stopping.wait_for(|s| *s) => return None,
                    }
                }
                // The session and the rights, once a second whether entries flow or not: a
                // revoked user's tail ends, and so does one whose roles changed (the client
                // opens a new one, read with the new rights).
                if tail.checked.elapsed() >= RECHECK || wait {
                    if !super::sessions::still_entitled(&tail.state, &tail.reader).await {
                        return None;
                    }
                    tail.checked = std::time::Instant::now();
                }
                if *stopping.borrow() {
                    return None;
                }
                match tail
                    .state
                    .store
                    .scan(tail.after.saturating_add(1), SCAN_BATCH)
                    .await
                {
                    Ok(entries) => {
                        let caught_up = entries.len() < SCAN_BATCH;
                        // A query or an unmask scope that reads annotations (`-mark:x`, full
                        // text, which searches comments) is evaluated with them: a resumed tail
                        // reaches entries annotated long ago.
                        let reads_notes = tail.query.uses_annotations()
                            || tail.reader.grants.unmask.uses_annotations();
                        let mut notes = if reads_notes && !entries.is_empty() {
                            match tail
                                .state
                                .store
                                .entry_annotations(entries.iter().map(|e| e.seq).collect())
                                .await
                            {
                                Ok(n) => n,
                                Err(e) => {
                                    tracing::warn!(error = %e, "live tail: reading annotations failed");
                                    let failed = Tailed::Failed(
                                        "the store could not read the journal; retrying".into(),
                                    );
                                    return Some((
                                        futures::stream::iter(vec![failed]),
                                        (tail, appended, stopping, true),
                                    ));
                                }
                            }
                        } else {
                            Default::default()
                        };
                        let mut out = Vec::new();
                        for entry in entries {
                            if entry.event.id == tail.own {
                                tail.after = entry.seq;
                                continue;
                            }
                            let n = notes.remove(&entry.seq).unwrap_or_default();
                            let summary = vigil_core::AnnotationSummary::of(&n.annotations, &n.incidents);
                            tail.after = entry.seq;
                            // Masked (a copy) only for a query that reads words as masked.
                            let seen = if tail.query.reads_masked() {
                                tail.reader.seen(&tail.state.config.privacy, &entry.event)
                            } else {
                                None
                            };
                            if tail.query.matches_seen(
                                &entry.event,
                                seen.as_ref().unwrap_or(&entry.event),
                                &summary,
                                &tail.tz,
                            ) {
                                let mut one = [Annotated {
                                    entry,
                                    annotations: n.annotations,
                                    incidents: n.incidents,
                                    masked: Vec::new(),
                                }];
                                tail.reader.present(&tail.state.config.privacy, &mut one);
                                let [one] = one;
                                out.push(Tailed::Entry(Box::new(one)));
                            }
                        }
                        Some((
                            futures::stream::iter(out),
                            (tail, appended, stopping, caught_up),
                        ))
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "live tail: reading the journal failed");
                        let failed =
                            Tailed::Failed("the store could not read the journal; retrying".into());
                        Some((
                            futures::stream::iter(vec![failed]),
                            (tail, appended, stopping, true),
                        ))
                    }
                }
            },
        )
        .flatten();
        futures::stream::once(async move { ready }).chain(steps)
    }
}
