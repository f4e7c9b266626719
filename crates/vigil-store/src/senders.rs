//! Senders: who sends, how much, and which of the numbers they gave their events
//! (`source_seq`, per stream) never arrived. A store records this as it appends (in the same
//! transaction), and journals a gap once it has stayed open past a grace period, and again
//! when it is filled.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use vigil_core::Event;

use crate::{SenderReport, StoreError};

/// The senders part of a store.
#[async_trait]
pub trait SenderStore: Send + Sync + 'static {
    /// Every sender, by name, with its streams and their open gaps; `per_hour` is its rate
    /// in the hour before `now`.
    async fn senders(&self, now: DateTime<Utc>) -> Result<Vec<SenderReport>, StoreError>;

    /// What the journal has yet to be told, at most `limit` items: gaps open since before
    /// `open_before` and not reported, then reported gaps whose numbers have all arrived.
    async fn gap_news(
        &self,
        open_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<GapNews>, StoreError>;

    /// Journals each item with its entry and records it as told, all in one transaction;
    /// an item no longer true (the gap was filled meanwhile, another process told it) is left
    /// out with its entry. Returns how many were journaled.
    async fn journal_gap_news(&self, news: Vec<(GapNews, Event)>) -> Result<u64, StoreError>;

    /// Each sender's newest entry and whether it is reported silent: what the watch of
    /// silences reads every pass (lighter than [`SenderStore::senders`]).
    async fn sender_activity(&self) -> Result<Vec<SenderActivity>, StoreError>;

    /// How many entries each sender sent in each clock hour from `from_hour` on (hours since
    /// the epoch), as `(sender, hour, entries)`: what a sender's usual rate is learned from.
    async fn sender_hours(&self, from_hour: i64) -> Result<Vec<(String, i64, u64)>, StoreError>;

    /// Journals that a sender went silent (`Silent`: only if its newest entry is still
    /// `last_entry` and it is not already reported silent) or sends again (`Resumed`: only if
    /// it is reported silent and sent since), with `entry`, in one transaction. Returns whether
    /// it was journaled.
    async fn journal_silence(
        &self,
        sender: String,
        news: Silence,
        entry: Event,
    ) -> Result<bool, StoreError>;
}

/// A sender's newest entry, and its silence if one is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SenderActivity {
    /// The sender.
    pub name: String,
    /// When its newest entry was received.
    pub last_at: DateTime<Utc>,
    /// The seq of its newest entry.
    pub last_entry: u64,
    /// While reported silent: the entry that said so, and its newest entry then.
    pub silent: Option<(u64, u64)>,
}

/// A sender's silence, begun or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// It has sent nothing since its entry `last_entry`.
    Silent {
        /// Its newest entry when the silence was seen.
        last_entry: u64,
    },
    /// It sent again.
    Resumed,
}

/// Something the journal is to be told about a gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GapNews {
    /// The sender.
    pub sender: String,
    /// Its stream (`None`: its one numbering).
    pub stream: Option<String>,
    /// The first missing number.
    pub first: u64,
    /// The last missing number.
    pub last: u64,
    /// How many gaps lie from `first` to `last`: one, or all of a stream's that were due at
    /// once when there were many (a sender skipping every other number is told of in one
    /// entry per pass, not one per gap).
    pub gaps: u64,
    /// How many numbers they miss.
    pub missing: u64,
    /// What happened.
    pub what: GapEvent,
}

/// What happened to a gap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GapEvent {
    /// It has stayed open since then.
    Open {
        /// When the store first saw it (the oldest of them).
        since: DateTime<Utc>,
        /// The gaps told of are those seen before this (past the grace period then).
        before: DateTime<Utc>,
    },
    /// Every number of the gap reported in this journal entry has arrived since.
    Filled {
        /// The entry that reported it.
        reported_in: u64,
    },
}
