//! The two loops of alerting, started by [`crate::serve`]:
//!
//! - the **evaluator** wakes on each append (and polls slowly for other processes' appends),
//!   reads the journal from its cursor, evaluates the rules on each new entry and records the
//!   matches in the outbox together with the new cursor;
//! - the **dispatcher** claims due deliveries and hands them to one worker per channel, which
//!   sends them in order and records what the channel said.
//!
//! On start, the cursor is created at the journal's head (alerts begin with what is ingested
//! from then on), deliveries a stopped process had claimed are released, and whatever is due
//! is sent.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tokio::sync::mpsc;
use vigil_core::Query;
use vigil_store::{AlertMatch, Attempt, Delivery, StoreError};

use super::message::Alert;
use super::{send, Setup};
use crate::state::AppState;

/// Entries read per step of the evaluator.
const BATCH: usize = 1000;
/// How often the evaluator looks for appends by other processes.
const POLL: Duration = Duration::from_secs(2);
/// The most deliveries claimed and not yet finished.
const IN_FLIGHT: usize = 64;
/// The most claimed for one channel: a channel that hangs holds no more than this.
const PER_CHANNEL: usize = 16;
/// The longest the dispatcher sleeps without looking at the outbox.
const IDLE: Duration = Duration::from_secs(30);

/// Runs the evaluator and the dispatcher until the server stops.
pub async fn run(state: AppState) {
    tokio::join!(evaluator(state.clone()), dispatcher(state));
}

async fn evaluator(state: AppState) {
    let mut appended = state.appended.subscribe();
    let mut stopping = state.stopping.subscribe();
    let mut cursor = None;
    loop {
        match evaluate(&state, &mut cursor).await {
            Ok(true) => state.alerts.wake.notify_one(),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "alerts: evaluating new entries failed; retrying"),
        }
        tokio::select! {
            _ = appended.changed() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = stopping.wait_for(|s| *s) => break,
        }
    }
    if let Some(c) = cursor {
        if let Err(e) = c.save(&state).await {
            tracing::warn!(error = %e, "alerts: saving the evaluation cursor failed");
        }
    }
}

/// Where the evaluator is. Stretches without a match move it in memory only, saved now and
/// then: after a crash they are evaluated again, which finds nothing to send twice. A stretch
/// with matches is saved with them, in one transaction.
#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    at: u64,
    saved: u64,
    saved_when: std::time::Instant,
}

/// Save a match-free advance of the cursor after this many entries or this long.
const SAVE_EVERY: u64 = 10_000;
const SAVE_AFTER: Duration = Duration::from_secs(10);

impl Cursor {
    async fn advance(
        &mut self,
        state: &AppState,
        to: u64,
        matches: Vec<AlertMatch>,
    ) -> Result<(), StoreError> {
        let save = !matches.is_empty()
            || to - self.saved >= SAVE_EVERY
            || self.saved_when.elapsed() >= SAVE_AFTER;
        if save {
            // If this fails the cursor stays where it was, and the stretch is evaluated again.
            state
                .store
                .record_matches(to, matches, state.now(), record(state))
                .await?;
            self.saved = to;
            self.saved_when = std::time::Instant::now();
        }
        self.at = to;
        Ok(())
    }

    async fn save(&self, state: &AppState) -> Result<(), StoreError> {
        if self.at > self.saved {
            state
                .store
                .record_matches(self.at, vec![], state.now(), record(state))
                .await?;
        }
        Ok(())
    }
}

/// The journal entry that records what a stretch's matches queued (the store adds the
/// deliveries to its details): by the store itself, so that `vigil verify` can hold the outbox
/// against the journal.
fn record(state: &AppState) -> vigil_core::Event {
    use crate::service::own_entry::{system, OwnEntry};
    OwnEntry::new(
        state.now(),
        &system(),
        vigil_store::QUEUED_ACTION,
        vigil_core::Kind::Create,
    )
    .build()
}

/// Whether an entry is the journal's record of queued deliveries: the rules do not read them
/// (a rule on Vigil's own entries would otherwise queue a delivery about each of its records).
pub fn records_queued(e: &vigil_core::Event) -> bool {
    e.section == crate::service::own_entry::SECTION && e.action == vigil_store::QUEUED_ACTION
}

/// Evaluates the rules on the entries after the cursor; whether any delivery was recorded.
/// `cursor` is the evaluator's memory between calls (`None` the first time).
pub async fn evaluate(state: &AppState, cursor: &mut Option<Cursor>) -> Result<bool, StoreError> {
    let head = state.store.head().await?.map_or(0, |(seq, _)| seq);
    let c = match cursor {
        Some(c) => c,
        None => {
            let at = match state.store.alert_cursor().await? {
                Some(at) => at,
                None => {
                    // The first run: alerts begin with what arrives from now on.
                    state
                        .store
                        .record_matches(head, vec![], state.now(), record(state))
                        .await?;
                    head
                }
            };
            cursor.insert(Cursor {
                at,
                saved: at,
                saved_when: std::time::Instant::now(),
            })
        }
    };
    if c.at >= head {
        return Ok(false);
    }
    let setup = Setup::load(state).await?;
    // Each rule reads with its maker's eyes: their scope and masking, as their rights are now.
    let mut rules: Vec<(&super::Rule, Vec<&str>, Query, super::Reader)> = Vec::new();
    for rule in &setup.rules {
        let targets = setup.targets(rule);
        if targets.is_empty() {
            continue;
        }
        let reader = rule.reader(state).await?;
        if let Some(query) = reader.query(&rule.query) {
            rules.push((rule, targets, query, reader));
        }
    }
    let personal = &state.config.privacy.personal_fields;
    if rules.is_empty() {
        c.advance(state, head, vec![]).await?;
        return Ok(false);
    }
    let tz = state.alerts.config.tz();
    let mut recorded = false;
    loop {
        let entries = state.store.scan(c.at + 1, BATCH).await?;
        let Some(last) = entries.last().map(|e| e.seq) else {
            break;
        };
        // Rules whose query reads annotations (`-mark:x`, full text over comments) are matched
        // with them: an evaluator that is behind meets entries annotated meanwhile.
        let notes: std::collections::HashMap<u64, vigil_core::AnnotationSummary> =
            if rules.iter().any(|(_, _, q, _)| q.uses_annotations()) {
                crate::service::search::summaries(
                    state.store.as_ref(),
                    entries.iter().map(|e| e.seq).collect(),
                )
                .await?
            } else {
                Default::default()
            };
        let none = vigil_core::AnnotationSummary::default();
        let mut matches = Vec::new();
        for entry in entries.iter().filter(|e| !records_queued(&e.event)) {
            let summary = notes.get(&entry.seq).unwrap_or(&none);
            for (rule, targets, query, reader) in &rules {
                let seen = if query.reads_masked() {
                    reader.seen(personal, &entry.event)
                } else {
                    None
                };
                if query.matches_seen(
                    &entry.event,
                    seen.as_ref().unwrap_or(&entry.event),
                    summary,
                    &tz,
                ) {
                    matches.extend(targets.iter().map(|channel| AlertMatch {
                        rule: rule.name.clone(),
                        channel: (*channel).to_owned(),
                        seq: entry.seq,
                        window: rule.spec.window(),
                    }));
                }
            }
        }
        recorded |= !matches.is_empty();
        c.advance(state, last, matches).await?;
        if entries.len() < BATCH {
            break;
        }
    }
    Ok(recorded)
}

async fn dispatcher(state: AppState) {
    let mut stopping = state.stopping.subscribe();
    match state.store.release_deliveries().await {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            deliveries = n,
            "alerts: resuming deliveries a stopped process had begun"
        ),
        Err(e) => tracing::warn!(error = %e, "alerts: releasing claimed deliveries failed"),
    }
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut workers: HashMap<String, mpsc::UnboundedSender<Delivery>> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let room = IN_FLIGHT.saturating_sub(in_flight.load(Ordering::Acquire));
        let mut wait = IDLE;
        if room > 0 {
            match state
                .store
                .claim_deliveries(state.now(), room, PER_CHANNEL)
                .await
            {
                Ok(claimed) => {
                    for delivery in claimed {
                        in_flight.fetch_add(1, Ordering::AcqRel);
                        let worker = workers.entry(delivery.channel.clone()).or_insert_with(|| {
                            let (tx, rx) = mpsc::unbounded_channel();
                            tasks.spawn(worker(state.clone(), rx, in_flight.clone()));
                            tx
                        });
                        // The worker lives as long as its sender, which is kept here; if it
                        // died anyway, the claim is released at the next start.
                        if worker.send(delivery).is_err() {
                            in_flight.fetch_sub(1, Ordering::AcqRel);
                            tracing::error!("alerts: a channel's worker stopped");
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "alerts: reading the outbox failed; retrying");
                    wait = Duration::from_secs(1);
                }
            }
            // Channels at their limit are left out: their worker wakes this loop when done.
            if let Ok(Some(next)) = state.store.next_delivery_due(PER_CHANNEL).await {
                let until = (next - state.now()).to_std().unwrap_or(Duration::ZERO);
                wait = wait.min(until);
            }
        }
        tokio::select! {
            _ = state.alerts.wake.notified() => {}
            _ = tokio::time::sleep(wait) => {}
            _ = stopping.wait_for(|s| *s) => break,
        }
    }
    // Let sends under way finish briefly; what is cut off is released on the next start.
    drop(workers);
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        while tasks.join_next().await.is_some() {}
    })
    .await;
    tasks.abort_all();
}

async fn worker(
    state: AppState,
    mut queue: mpsc::UnboundedReceiver<Delivery>,
    in_flight: Arc<AtomicUsize>,
) {
    while let Some(delivery) = queue.recv().await {
        let sent = deliver(&state, &delivery).await;
        in_flight.fetch_sub(1, Ordering::AcqRel);
        // The dispatcher claims more when this channel's queue runs dry, and looks at the
        // outbox again after a failure (its retry may be due before the dispatcher's sleep ends).
        if !sent || queue.is_empty() {
            state.alerts.wake.notify_one();
        }
    }
}

/// Sends one claimed delivery and records the outcome; whether the channel accepted it.
async fn deliver(state: &AppState, delivery: &Delivery) -> bool {
    let attempt = match attempt(state, delivery).await {
        Ok(()) => Attempt::Sent(state.now()),
        Err(error) => {
            let jitter = rand::thread_rng().gen::<f64>();
            let retry_at = match error.permanent {
                true => None,
                false => super::retry_at(
                    &state.alerts.config,
                    delivery,
                    error.retry_after,
                    state.now(),
                    jitter,
                ),
            };
            tracing::warn!(
                delivery = delivery.id,
                channel = %delivery.channel,
                error = %error.message,
                retry_at = ?retry_at,
                "alerts: delivery failed"
            );
            Attempt::Failed {
                error: error.message,
                retry_at,
            }
        }
    };
    let sent = matches!(attempt, Attempt::Sent(_));
    // What the channel said must be written down: a sent message left pending would go again.
    for wait in [0, 1, 5, 30] {
        tokio::time::sleep(Duration::from_secs(wait)).await;
        match state
            .store
            .finish_delivery(delivery.id, attempt.clone())
            .await
        {
            Ok(()) => return sent,
            Err(e) => {
                tracing::error!(delivery = delivery.id, error = %e, "alerts: recording a delivery failed")
            }
        }
    }
    tracing::error!(
        delivery = delivery.id,
        "alerts: gave up recording a delivery; it is released at the next start"
    );
    sent
}

/// Sends a signed checkpoint to a channel it is published to.
async fn publish(
    state: &AppState,
    delivery: &Delivery,
    channel: &super::Channel,
) -> Result<(), send::SendError> {
    if !state.config.integrity.publish.contains(&channel.name)
        || !state.config.alerts.channels.contains_key(&channel.name)
    {
        return Err(permanent(format!(
            "checkpoints are no longer published to channel {:?} ([integrity] publish)",
            channel.name
        )));
    }
    let size = *delivery
        .seqs
        .first()
        .ok_or_else(|| permanent("a checkpoint's delivery that names no checkpoint".into()))?;
    let found = state
        .store
        .checkpoints(size - 1, 1)
        .await
        .map_err(|e| send::SendError::new(format!("reading the checkpoint failed: {e}")))?;
    let Some(cp) = found.into_iter().next().filter(|c| c.size == size) else {
        return Err(permanent(format!(
            "no checkpoint of {size} entries is kept"
        )));
    };
    let alert = Alert {
        delivery: delivery.id,
        rule: None,
        entries: Vec::new(),
        total: 0,
        test: None,
        checkpoint: Some(crate::service::integrity::checkpoint_answer(&cp)),
        tz: state.alerts.config.tz(),
        public_url: state.alerts.public_url.clone(),
    };
    send_to(state, channel, &alert).await
}

/// Sends one message through a channel, by the route its target resolves to now.
async fn send_to(
    state: &AppState,
    channel: &super::Channel,
    alert: &Alert,
) -> Result<(), send::SendError> {
    let route = state.alerts.route(channel).await.map_err(|e| match e {
        super::targets::TargetError::NotPublic(m) => permanent(m),
        super::targets::TargetError::Unresolved(m) => send::SendError::new(m),
    })?;
    send::send(&route, &channel.spec, alert).await
}

fn permanent(message: String) -> send::SendError {
    send::SendError {
        message,
        retry_after: None,
        permanent: true,
    }
}

async fn attempt(state: &AppState, delivery: &Delivery) -> Result<(), send::SendError> {
    let transient = |e: StoreError| send::SendError {
        message: format!("reading the journal failed: {e}"),
        retry_after: None,
        permanent: false,
    };
    if delivery.kind == vigil_store::DeliveryKind::Test {
        return Err(permanent(
            "a test message is sent while someone waits, never later".into(),
        ));
    }
    let setup = Setup::load(state).await.map_err(transient)?;
    let Some(channel) = setup.channel(&delivery.channel) else {
        return Err(permanent(format!(
            "channel {:?} no longer exists",
            delivery.channel
        )));
    };
    if let Some(why) = setup.borrowed_secret(channel) {
        return Err(permanent(why));
    }
    if delivery.kind == vigil_store::DeliveryKind::Checkpoint {
        return publish(state, delivery, channel).await;
    }
    let (rule, reader) = match setup.rule(&delivery.rule) {
        // Looked at again when sending (a delivery put back, a digest waiting for its window):
        // the rule must still send to this channel.
        Some(r) if !setup.targets(r).contains(&channel.name.as_str()) => {
            return Err(permanent(format!(
                "rule {:?} no longer sends to channel {:?}",
                r.name, channel.name
            )))
        }
        Some(r) => (
            (r.name.clone(), r.spec.q.clone()),
            r.reader(state).await.map_err(transient)?,
        ),
        // Whoever made it is not known any more: the entries go out masked.
        None => (
            (delivery.rule.clone(), "(rule removed)".into()),
            super::Reader::User(vigil_core::rights::Grants::default()),
        ),
    };
    let mut entries = state
        .store
        .entries(delivery.seqs.clone())
        .await
        .map_err(transient)?;
    // Only what the rule's maker may read now (their rights may have narrowed since the match).
    entries.retain(|e| reader.may_read(e));
    if entries.is_empty() {
        return Err(permanent(
            "nothing in it that the rule's maker may still read".into(),
        ));
    }
    reader.present(&state.config.privacy.personal_fields, &mut entries);
    let alert = Alert {
        delivery: delivery.id,
        rule: Some(rule),
        entries,
        total: delivery.matches,
        test: None,
        checkpoint: None,
        tz: state.alerts.config.tz(),
        public_url: state.alerts.public_url.clone(),
    };
    send_to(state, channel, &alert).await
}
