//! The console verifies what it shows. At the first sign-in to a store it pins the store's
//! public key; it remembers the newest checkpoint it has verified per store and accepts a newer
//! one only with a consistency proof from it (a store that rewrote or cut history it already
//! showed is caught); it checks each entry it opens, and a whole search or incident on demand,
//! against a checkpoint: the entries' chain hashes computed from their content, proved leaves
//! of the signed tree.
//!
//! A changed key or a history that does not extend the one seen is an alarm the UI shows full
//! screen; the user may sign out, or trust the new key or the new history on purpose.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use vigil_api::SignedCheckpoint;
use vigil_client::proof::{self, EntryFault};
use vigil_client::{ClientError, SearchOptions};
use vigil_core::checkpoint::{Checkpoint, PublicKey};
use vigil_core::StoredEvent;

use crate::console::Console;
use crate::error::UiError;

/// What the console keeps of a store between launches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreTrust {
    /// The key pinned at the first sign-in (or trusted since on purpose).
    pub key: PinnedKey,
    /// The newest checkpoint verified: every later one must extend it.
    #[serde(default)]
    pub checkpoint: Option<SignedCheckpoint>,
}

/// A pinned public key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PinnedKey {
    /// Its id, as checkpoints name it.
    pub key_id: String,
    /// The 32 bytes, base64.
    pub public_key: String,
    /// When it was pinned (RFC 3339).
    pub pinned_at: String,
}

/// A checkpoint as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointSeen {
    /// Entries it covers.
    pub size: u64,
    /// When it was signed (RFC 3339).
    pub signed_at: String,
    /// The key that signed it.
    pub key_id: String,
}

impl From<&SignedCheckpoint> for CheckpointSeen {
    fn from(c: &SignedCheckpoint) -> Self {
        CheckpointSeen {
            size: c.size,
            signed_at: c.signed_at.clone(),
            key_id: c.key_id.clone(),
        }
    }
}

/// Whether the console trusts what the store shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Trust {
    /// `verified`: the newest checkpoint is signed by the pinned key and extends every one seen
    /// before. `unverified`: nothing to check against (offline, masked fields, no checkpoint
    /// yet, no key); `message` says why. `key_changed` and `history_changed`: the alarms.
    pub state: String,
    /// Why, in words (for every state but `verified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The pinned key's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    /// When it was pinned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pinned_at: Option<String>,
    /// `key_changed`: the key the store shows now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offered_key_id: Option<String>,
    /// The newest verified checkpoint (`verified`), or the one the store shows now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointSeen>,
    /// `history_changed`: the checkpoint seen before that the store's history no longer extends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<CheckpointSeen>,
}

impl Trust {
    fn unverified(message: impl Into<String>, key: Option<&PinnedKey>) -> Trust {
        Trust {
            state: "unverified".into(),
            message: Some(message.into()),
            key_id: key.map(|k| k.key_id.clone()),
            pinned_at: key.map(|k| k.pinned_at.clone()),
            offered_key_id: None,
            checkpoint: None,
            previous: None,
        }
    }

    /// Whether this is one of the alarms.
    pub fn alarm(&self) -> bool {
        matches!(self.state.as_str(), "key_changed" | "history_changed")
    }
}

/// What a check of one entry found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryCheck {
    /// `verified`; `pending` (newer than the newest checkpoint); `unverified` (nothing to check
    /// against: `message` says why); `failed` (the entry is not what the store signed);
    /// `alarm` (the store's key or history changed: see `trust`).
    pub state: String,
    /// Why, in words (for every state but `verified`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The checkpoint it was checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointSeen>,
}

/// A failed entry of a [`Report`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Failure {
    /// Its seq.
    pub seq: u64,
    /// Its id.
    pub id: String,
    /// What is wrong, in words.
    pub message: String,
}

/// What the Verify screen shows: a whole search (or incident) checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// `verified` (every entry covered by the checkpoint checked out; newer ones are counted in
    /// `pending`), `pending` (none is covered yet), `empty` (the search holds none), `failed`,
    /// `unverified` (nothing to check against, or the check stopped: `message` says why).
    pub state: String,
    /// The query checked.
    pub q: String,
    /// Entries read from the search.
    pub entries: u64,
    /// Entries that checked out.
    pub verified: u64,
    /// Entries newer than the checkpoint (not covered yet).
    pub pending: u64,
    /// The search has more entries than one check covers ([`VERIFY_LIMIT`]).
    pub truncated: bool,
    /// The first entries that failed (at most [`FAILURES_SHOWN`]).
    pub failures: Vec<Failure>,
    /// Entries that failed, in all.
    pub failed: u64,
    /// The checkpoint checked against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointSeen>,
    /// The outcome in words.
    pub message: String,
    /// How long it took.
    pub seconds: f64,
}

/// The most entries one Verify run reads from a search.
pub const VERIFY_LIMIT: usize = 100_000;
/// The most failed entries a report names.
pub const FAILURES_SHOWN: usize = 50;
/// Entries per proof request (the store's limit).
const CHUNK: usize = vigil_api::ENTRIES_PROOF_LIMIT;
/// A checkpoint verified this recently is used as it is.
const FRESH: Duration = Duration::from_secs(10);
/// At most this many entries shown are remembered for checking.
const SHOWN: usize = 500;

/// The verified state of the signed-in store, in memory.
#[derive(Default)]
pub struct Verified {
    /// The server, the newest verified checkpoint and when.
    checkpoint: Option<(String, Checkpoint, SignedCheckpoint, Instant)>,
    /// The copies of entries the console showed (what `event` returned), by copy number: what
    /// an entry check checks, so that a check is of the very copy on screen.
    shown: std::collections::HashMap<u64, (String, StoredEvent)>,
    /// The last copy number given.
    copies: u64,
    /// Counts the sessions: a check that began in an earlier one keeps nothing.
    epoch: u64,
}

fn words(e: &EntryFault) -> String {
    match e {
        EntryFault::Changed { .. } => "Its content as the store shows it does not give the hash it was recorded with: it was changed after it was recorded.".into(),
        EntryFault::NotInTree { size } => format!("It is not the entry the store signed in its checkpoint of {size} entries: the store shows something other than what it recorded."),
        EntryFault::Malformed(m) => format!("The store's proof does not hold: {m}."),
    }
}

fn now() -> String {
    vigil_core::event::micros::format(&chrono::Utc::now())
}

const OFFLINE: &str = "The store cannot be reached: nothing is verified offline.";

fn unverified_check(message: impl Into<String>) -> EntryCheck {
    EntryCheck {
        state: "unverified".into(),
        message: Some(message.into()),
        checkpoint: None,
    }
}

/// What the outcome of one proof over a part of a search means for the rest of the check.
enum Part {
    /// Every entry of the part checked out.
    Good,
    /// This entry failed; the parts before and after it are checked apart.
    Entry(usize, EntryFault),
    /// The part as a whole is not in the tree: halve it.
    Halve,
}

impl Verified {
    /// Forgets the checkpoint and the copies kept (a new session), but not how many copies
    /// were numbered.
    pub(crate) fn forget(&mut self) {
        self.checkpoint = None;
        self.shown.clear();
        self.epoch += 1;
    }
}

impl Console {
    /// Keeps a copy of an entry shown to the user, for [`Console::verify_entry`]: its number.
    pub(crate) fn shown(&self, server: &str, e: &StoredEvent) -> u64 {
        let mut v = self.verified.lock().expect("verified lock");
        if v.shown.len() >= SHOWN {
            // The oldest copies go first.
            let keep = v.copies.saturating_sub(SHOWN as u64 / 2);
            v.shown.retain(|copy, _| *copy > keep);
        }
        v.copies += 1;
        let copy = v.copies;
        v.shown.insert(copy, (server.to_owned(), e.clone()));
        copy
    }

    /// Checks the store's key and newest checkpoint (see the module's documentation): pins the
    /// key at the first sign-in, and remembers a newer checkpoint once it extends the one seen.
    /// One check at a time, so that the checkpoint remembered only ever grows.
    pub async fn trust(&self) -> Result<Trust, UiError> {
        Ok(self.trust_checked().await?.0)
    }

    async fn trust_checked(
        &self,
    ) -> Result<(Trust, Option<(Checkpoint, SignedCheckpoint)>), UiError> {
        let _one_at_a_time = self.trusting.lock().await;
        let (client, server) = self.client_and_server()?;
        let epoch = self.verified.lock().expect("verified lock").epoch;
        let outcome = self.trust_once(client, server.clone()).await;
        let mut v = self.verified.lock().expect("verified lock");
        // Kept for the session it was checked in only: a sign-in meanwhile (maybe to another
        // store at the same address) starts over.
        if v.epoch != epoch || self.server().as_deref() != Some(server.as_str()) {
            v.checkpoint = None;
            return outcome;
        }
        match &outcome {
            Ok((_, Some((cp, answer)))) => {
                v.checkpoint = Some((server, cp.clone(), answer.clone(), Instant::now()))
            }
            // Whatever is not verified now is not used for checks any more.
            _ => v.checkpoint = None,
        }
        outcome
    }

    async fn trust_once(
        &self,
        client: vigil_client::Client,
        server: String,
    ) -> Result<(Trust, Option<(Checkpoint, SignedCheckpoint)>), UiError> {
        let kept = self.settings.load().trust.get(&server).cloned();
        let unverified =
            |message: &str, key: Option<&PinnedKey>| Ok((Trust::unverified(message, key), None));
        let key = match client.integrity_key().await {
            Ok(k) => k,
            Err(ClientError::Unreachable { .. }) => {
                self.mark_online(false);
                return unverified(OFFLINE, kept.as_ref().map(|k| &k.key));
            }
            // A store that signed before and now says it has no key: not a calm "unverified".
            Err(ClientError::Api {
                status: 503, code, ..
            }) if code == "no_key" => {
                return match &kept {
                    Some(kept) => Ok((
                        Trust {
                            state: "key_changed".into(),
                            message: Some(format!(
                                "The store at {server} no longer shows a signing key, though it \
                                 signed with key {} when you first signed in ({}).",
                                kept.key.key_id, kept.key.pinned_at
                            )),
                            key_id: Some(kept.key.key_id.clone()),
                            pinned_at: Some(kept.key.pinned_at.clone()),
                            offered_key_id: None,
                            checkpoint: None,
                            previous: None,
                        },
                        None,
                    )),
                    None => unverified(
                        "The store signs no checkpoints (it runs without a signing key).",
                        None,
                    ),
                }
            }
            Err(e) => return Err(self.call::<()>(Err(e)).await.unwrap_err()),
        };
        let public = PublicKey::parse(&key.public_key).map_err(|e| {
            UiError::new(
                "server",
                format!("The store's public key is not a key: {e}"),
            )
        })?;
        let kept = match kept {
            Some(kept) => kept,
            None => {
                // First sign-in to this store: its key is pinned.
                let pinned = StoreTrust {
                    key: PinnedKey {
                        key_id: public.id(),
                        public_key: public.to_base64(),
                        pinned_at: now(),
                    },
                    checkpoint: None,
                };
                let server = server.clone();
                self.settings
                    .update(|s| s.trust.entry(server).or_insert(pinned).clone())?
            }
        };
        let pinned = PublicKey::parse(&kept.key.public_key).map_err(|e| {
            UiError::new(
                "local",
                format!("The key pinned for this store is damaged: {e}"),
            )
        })?;
        if pinned != public {
            return Ok((
                Trust {
                    state: "key_changed".into(),
                    message: Some(format!(
                        "The store at {server} now signs with key {}, not with key {} that this \
                         console pinned when you first signed in ({}). Either its administrator \
                         replaced the key, or something else answers at this address.",
                        public.id(),
                        kept.key.key_id,
                        kept.key.pinned_at
                    )),
                    key_id: Some(kept.key.key_id.clone()),
                    pinned_at: Some(kept.key.pinned_at.clone()),
                    offered_key_id: Some(public.id()),
                    checkpoint: None,
                    previous: None,
                },
                None,
            ));
        }
        let history_alarm = |message: String, now: Option<&SignedCheckpoint>| {
            Ok((
                Trust {
                    state: "history_changed".into(),
                    message: Some(message),
                    key_id: Some(kept.key.key_id.clone()),
                    pinned_at: Some(kept.key.pinned_at.clone()),
                    offered_key_id: None,
                    checkpoint: now.map(CheckpointSeen::from),
                    previous: kept.checkpoint.as_ref().map(CheckpointSeen::from),
                },
                None,
            ))
        };
        let answer =
            match client.checkpoint().await {
                Ok(c) => c,
                Err(ClientError::Api { status: 403, .. }) => return unverified(
                    "Your roles show some fields masked, and this journal began before entries \
                     were sealed: its checkpoints are withheld from such readers. Verifying \
                     needs the unmask right.",
                    Some(&kept.key),
                ),
                Err(ClientError::Api {
                    status: 404, code, ..
                }) if code == "no_checkpoint" => {
                    return match &kept.checkpoint {
                        // It showed one before: its checkpoints are gone.
                        Some(seen) => history_alarm(
                            format!(
                                "The store shows no signed checkpoint, though it showed one of {} \
                             entries before: its checkpoints were removed, or another store \
                             answers at this address.",
                                seen.size
                            ),
                            None,
                        ),
                        None => unverified(
                            "The store has signed no checkpoint yet (it signs one within a minute \
                         of its first entries).",
                            Some(&kept.key),
                        ),
                    };
                }
                Err(ClientError::Unreachable { .. }) => {
                    self.mark_online(false);
                    return unverified(OFFLINE, Some(&kept.key));
                }
                Err(e) => return Err(self.call::<()>(Err(e)).await.unwrap_err()),
            };
        let cp = match proof::check_checkpoint(&answer, &pinned) {
            Ok(cp) => cp,
            Err(e) => {
                return history_alarm(
                    format!("The store's newest checkpoint is not signed by its pinned key: {e}."),
                    Some(&answer),
                )
            }
        };
        if let Some(seen) = &kept.checkpoint {
            let old = seen.checkpoint().map_err(|e| {
                UiError::new(
                    "local",
                    format!("The checkpoint kept for this store is damaged: {e}"),
                )
            })?;
            let extends = if cp.size == old.size {
                if cp.root == old.root {
                    Ok(())
                } else {
                    Err(format!(
                        "The store's checkpoint of {} entries has another root than the one it \
                         showed before: it rewrote entries it had already shown.",
                        cp.size
                    ))
                }
            } else if cp.size < old.size {
                Err(format!(
                    "The store's newest checkpoint holds {} entries, fewer than the {} it showed \
                     before: entries it had shown were removed, or an older copy of the journal \
                     was put back.",
                    cp.size, old.size
                ))
            } else {
                match client.consistency(old.size, cp.size).await {
                    Ok(p) => proof::check_extends(&old, &cp, &p).map_err(|e| {
                        format!("{e}: it rewrote or removed entries it had already shown.")
                    }),
                    Err(ClientError::Unreachable { .. }) => {
                        self.mark_online(false);
                        return unverified(OFFLINE, Some(&kept.key));
                    }
                    Err(ClientError::Api { message, .. }) => Err(format!(
                        "The store gives no proof that its checkpoint of {} entries extends the \
                         one of {} it showed before ({message}).",
                        cp.size, old.size
                    )),
                    Err(e) => return Err(e.into()),
                }
            };
            if let Err(message) = extends {
                return history_alarm(message, Some(&answer));
            }
        }
        if kept.checkpoint.as_ref().is_none_or(|c| c.size < cp.size) {
            let (server, newer, checked) =
                (server.clone(), answer.clone(), kept.checkpoint.clone());
            self.settings.update(|s| {
                if let Some(t) = s.trust.get_mut(&server) {
                    // Only over the checkpoint this one was checked to extend.
                    if t.checkpoint == checked {
                        t.checkpoint = Some(newer);
                    }
                }
            })?;
        }
        Ok((
            Trust {
                state: "verified".into(),
                message: None,
                key_id: Some(kept.key.key_id.clone()),
                pinned_at: Some(kept.key.pinned_at.clone()),
                offered_key_id: None,
                checkpoint: Some(CheckpointSeen::from(&answer)),
                previous: None,
            },
            Some((cp, answer)),
        ))
    }

    /// The newest verified checkpoint, checked again when older than [`FRESH`]: the
    /// checkpoint, or the [`Trust`] that says why there is none.
    async fn checkpoint_now(
        &self,
    ) -> Result<Result<(Checkpoint, SignedCheckpoint), Trust>, UiError> {
        let fresh = || {
            let server = self.server();
            let v = self.verified.lock().expect("verified lock");
            v.checkpoint
                .as_ref()
                .filter(|(s, _, _, at)| Some(s) == server.as_ref() && at.elapsed() < FRESH)
                .map(|(_, cp, answer, _)| (cp.clone(), answer.clone()))
        };
        if let Some(checked) = fresh() {
            return Ok(Ok(checked));
        }
        // Another check may have just finished while this one waited for its turn.
        let turn = self.trusting.lock().await;
        if let Some(checked) = fresh() {
            return Ok(Ok(checked));
        }
        drop(turn);
        Ok(match self.trust_checked().await? {
            (_, Some(checked)) => Ok(checked),
            (trust, None) => Err(trust),
        })
    }

    /// Checks the copy `copy` of entry `id` that `event` gave (the one on screen) against the
    /// newest verified checkpoint.
    pub async fn verify_entry(&self, id: &str, copy: Option<u64>) -> Result<EntryCheck, UiError> {
        let (client, server) = self.client_and_server()?;
        let Some(copy) = copy else {
            return Ok(unverified_check(
                "Not checked: this copy of the entry comes from this computer's cache (the \
                 store could not be reached).",
            ));
        };
        let held = self
            .verified
            .lock()
            .expect("verified lock")
            .shown
            .get(&copy)
            .filter(|(s, e)| *s == server && e.event.id.to_string() == id.trim())
            .map(|(_, e)| e.clone());
        let Some(entry) = held else {
            return Ok(unverified_check(
                "Not checked: open the entry again to check it.",
            ));
        };
        let (cp, answer) = match self.checkpoint_now().await? {
            Ok(c) => c,
            Err(trust) => {
                return Ok(EntryCheck {
                    state: if trust.alarm() { "alarm" } else { "unverified" }.into(),
                    message: trust.message,
                    checkpoint: None,
                })
            }
        };
        let seen = Some(CheckpointSeen::from(&answer));
        if entry.seq > cp.size {
            return Ok(EntryCheck {
                state: "pending".into(),
                message: Some(format!(
                    "Not yet covered by a signed checkpoint: the newest covers entries 1 to {}. \
                     The store signs one within a minute.",
                    cp.size
                )),
                checkpoint: seen,
            });
        }
        let Some(proved) = self
            .reach(client.entries_proof(&[entry.seq], cp.size).await)
            .await?
        else {
            return Ok(unverified_check(OFFLINE));
        };
        Ok(match proof::check_entries(&[&entry], &proved, &cp) {
            Ok(()) => EntryCheck {
                state: "verified".into(),
                message: None,
                checkpoint: seen,
            },
            Err(e) => EntryCheck {
                state: "failed".into(),
                message: Some(words(&e)),
                checkpoint: seen,
            },
        })
    }

    /// Checks every entry of a search (at most [`VERIFY_LIMIT`]) against the newest verified
    /// checkpoint: an incident's entries are the search `incident:N`.
    pub async fn verify_search(&self, q: &str) -> Result<Report, UiError> {
        let started = Instant::now();
        let client = self.client()?;
        let _: vigil_core::Query = q.parse()?;
        let mut report = Report {
            state: "unverified".into(),
            q: q.to_owned(),
            entries: 0,
            verified: 0,
            pending: 0,
            truncated: false,
            failures: Vec::new(),
            failed: 0,
            checkpoint: None,
            message: String::new(),
            seconds: 0.0,
        };
        let stop = |mut report: Report, message: String| {
            report.state = "unverified".into();
            report.message = message;
            report.seconds = started.elapsed().as_secs_f64();
            Ok(report)
        };
        let (cp, answer) = match self.checkpoint_now().await? {
            Ok(c) => c,
            Err(trust) => return stop(report, trust.message.unwrap_or_default()),
        };
        report.checkpoint = Some(CheckpointSeen::from(&answer));
        let mut entries: Vec<StoredEvent> = Vec::new();
        let mut cursor = None;
        loop {
            let options = SearchOptions {
                q: q.into(),
                limit: Some(1000),
                cursor: cursor.take(),
                order: None,
            };
            let Some(page) = self.reach(client.search(&options).await).await? else {
                return stop(report, OFFLINE.into());
            };
            // Entries shown masked are checked too: the proof carries the commitments of what
            // is masked (a journal sealed from its first entry; else the checkpoint was refused).
            entries.extend(page.events.into_iter().map(|a| a.entry));
            if entries.len() >= VERIFY_LIMIT {
                report.truncated = page.next_cursor.is_some() || entries.len() > VERIFY_LIMIT;
                entries.truncate(VERIFY_LIMIT);
                break;
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        entries.sort_by_key(|e| e.seq);
        // The same entry twice is read once; two different entries under one seq are a fault
        // of the store (one of them is not what it recorded).
        let mut i = 1;
        while i < entries.len() {
            if entries[i].seq != entries[i - 1].seq {
                i += 1;
            } else if entries[i] == entries[i - 1] {
                entries.remove(i);
            } else {
                let twin = entries.remove(i);
                fail(
                    &mut report,
                    &twin,
                    format!(
                        "The store shows two different entries as entry {}: at most one of them is what it recorded.",
                        twin.seq
                    ),
                );
            }
        }
        report.entries = entries.len() as u64 + report.failed;
        let (covered, newer): (Vec<&StoredEvent>, Vec<&StoredEvent>) =
            entries.iter().partition(|e| e.seq <= cp.size);
        report.pending = newer.len() as u64;
        for chunk in covered.chunks(CHUNK) {
            match self.check_part(&client, chunk, &cp, &mut report).await? {
                Ok(()) => {}
                Err(message) => return stop(report, message),
            }
        }
        report.state = if report.failed > 0 {
            "failed"
        } else if report.entries == 0 {
            "empty"
        } else if report.verified == 0 {
            "pending"
        } else {
            "verified"
        }
        .into();
        report.message = summary(&report, cp.size);
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Checks a slice of entries with one proof; a part that is not in the tree is halved
    /// until the entries at fault are found, and an entry whose content does not give its hash
    /// is named at once. The words of why the check stopped (the store cannot be reached, or
    /// its proofs are malformed) in place of going on.
    async fn check_part(
        &self,
        client: &vigil_client::Client,
        part: &[&StoredEvent],
        cp: &Checkpoint,
        report: &mut Report,
    ) -> Result<Result<(), String>, UiError> {
        // Parts still to check, first to last.
        let mut todo = vec![part];
        while let Some(part) = todo.pop() {
            if part.is_empty() {
                continue;
            }
            let seqs: Vec<u64> = part.iter().map(|e| e.seq).collect();
            let Some(proved) = self
                .reach(client.entries_proof(&seqs, cp.size).await)
                .await?
            else {
                return Ok(Err("The store cannot be reached: the check stopped.".into()));
            };
            let outcome = match proof::check_entries(part, &proved, cp) {
                Ok(()) => Part::Good,
                Err(EntryFault::Changed { seq }) => {
                    let at = part.iter().position(|e| e.seq == seq).unwrap_or(0);
                    Part::Entry(at, EntryFault::Changed { seq })
                }
                Err(fault @ EntryFault::NotInTree { .. }) if part.len() == 1 => {
                    Part::Entry(0, fault)
                }
                Err(EntryFault::NotInTree { .. }) => Part::Halve,
                Err(EntryFault::Malformed(m)) => {
                    return Ok(Err(format!(
                        "The store's proofs are malformed ({m}): its entries cannot be verified."
                    )))
                }
            };
            match outcome {
                Part::Good => report.verified += part.len() as u64,
                Part::Entry(at, fault) => {
                    fail(report, part[at], words(&fault));
                    todo.push(&part[at + 1..]);
                    todo.push(&part[..at]);
                }
                Part::Halve => {
                    let (left, right) = part.split_at(part.len() / 2);
                    todo.push(right);
                    todo.push(left);
                }
            }
        }
        Ok(Ok(()))
    }

    /// Trusts the key the store shows now in place of the pinned one (after the user checked
    /// it with the store's administrator).
    pub async fn trust_new_key(&self, key_id: &str) -> Result<Trust, UiError> {
        let (client, server) = self.client_and_server()?;
        let key = self.call(client.integrity_key().await).await?;
        let public = PublicKey::parse(&key.public_key).map_err(|e| {
            UiError::new(
                "server",
                format!("The store's public key is not a key: {e}"),
            )
        })?;
        if public.id() != key_id.trim() {
            return Err(UiError::invalid(format!(
                "The store now shows key {}, not {key_id}: check again.",
                public.id()
            )));
        }
        let pinned = PinnedKey {
            key_id: public.id(),
            public_key: public.to_base64(),
            pinned_at: now(),
        };
        self.settings.update(|s| {
            let t = s.trust.entry(server).or_insert(StoreTrust {
                key: pinned.clone(),
                checkpoint: None,
            });
            t.key = pinned;
        })?;
        self.trust().await
    }

    /// Forgets the checkpoint seen of this store, so that its history is taken as it is now
    /// (after the user learnt why it changed: a restored backup).
    pub async fn trust_new_history(&self) -> Result<Trust, UiError> {
        let (_, server) = self.client_and_server()?;
        self.settings.update(|s| {
            if let Some(t) = s.trust.get_mut(&server) {
                t.checkpoint = None;
            }
        })?;
        self.trust().await
    }
}

/// Counts an entry that failed, naming it among the first [`FAILURES_SHOWN`].
fn fail(report: &mut Report, e: &StoredEvent, message: String) {
    report.failed += 1;
    if report.failures.len() < FAILURES_SHOWN {
        report.failures.push(Failure {
            seq: e.seq,
            id: e.event.id.to_string(),
            message,
        });
    }
}

/// A report's outcome in words.
fn summary(r: &Report, size: u64) -> String {
    let n = |v: u64| {
        let s = v.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let entries = |v: u64| {
        if v == 1 {
            "entry".to_string()
        } else {
            "entries".to_string()
        }
    };
    let mut text = if r.entries == 0 {
        "The search holds no entries: nothing to verify.".to_string()
    } else if r.verified == 0 && r.failed == 0 {
        format!(
            "None of the {} {} is covered by a signed checkpoint yet (the newest covers entries \
             1 to {}): the store signs one within a minute.",
            n(r.entries),
            if r.entries == 1 { "entry" } else { "entries" },
            n(size)
        )
    } else if r.failed == 0 {
        format!(
            "{} {} verified against the checkpoint of {} entries.",
            n(r.verified),
            entries(r.verified),
            n(size)
        )
    } else {
        let checked = r.failed + r.verified;
        format!(
            "{} of {} {} {} not what the store signed in its checkpoint of {} entries; {} verified.",
            n(r.failed),
            n(checked),
            entries(checked),
            if r.failed == 1 { "is" } else { "are" },
            n(size),
            n(r.verified)
        )
    };
    if r.pending > 0 && (r.verified > 0 || r.failed > 0) {
        text.push_str(&format!(
            " {} newer {} not yet covered by a checkpoint.",
            n(r.pending),
            if r.pending == 1 {
                "entry is"
            } else {
                "entries are"
            }
        ));
    }
    if r.truncated {
        text.push_str(&format!(
            " Only the newest {} matches were checked: narrow the search to check the rest.",
            n(VERIFY_LIMIT as u64)
        ));
    }
    text
}
