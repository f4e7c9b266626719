//! Realistic, deterministic casino back-office activity for demos, seeding and benchmarks: a stream
//! of [`vigil_core::Event`]s that every part of Vigil accepts.
//!
//! ```
//! use chrono::{TimeZone, Utc};
//! let until = Utc.with_ymd_and_hms(2026, 11, 30, 18, 0, 0).unwrap();
//!
//! // All at once…
//! let events = vigil_demo::events(5_000, 42, until, 30);
//! assert_eq!(events.len(), 5_000);
//!
//! // …or streamed in batches, with the same result.
//! let mut demo = vigil_demo::Demo::new(42, until, 30, 5_000);
//! let mut streamed = Vec::new();
//! while demo.remaining() > 0 {
//!     streamed.extend(demo.take(1_000));
//! }
//! assert_eq!(streamed, events);
//! ```
//!
//! # What it looks like
//!
//! - **Deterministic.** The same seed, `until`, `days` and total give byte-identical events, ids
//!   included (UUID v7 built from the event's time and [`rand_chacha::ChaCha8Rng`] bits), however
//!   the stream is cut into batches.
//! - **Time.** Events fall in the `days` days up to `until`: every `occurred_at` is after
//!   `until - days` and at or before `until`, with microsecond precision, oldest first. Office
//!   hours (08:00–20:00 UTC) are busy, nights thin, weekends at about a third of a weekday. The
//!   total is exact for any count; memory stays at about one hour's worth of timestamps.
//! - **Cast.** Forty staff with stable logins (`m.dupont`, `j.smith`, `a.benali`, `s.cohen`,
//!   `e.marchand` for Élodie Marchand, …) in five roles (`support`, `finance`, `vip_manager`,
//!   `risk`, `admin`), each with one or two usual addresses in 203.0.113.0/24, 198.51.100.0/24 or
//!   2001:db8::/32 and a browser; three system actors (`batch-bot`, `kyc-service`,
//!   `risk-engine`) and one API client (`affiliate-sync`, from 203.0.113.240). At night the
//!   night shift and the jobs do most of the work.
//! - **Players.** 2,000 accounts with numeric ids (100000 upwards) and Zipf-like popularity;
//!   balances, KYC statuses and deposit limits carry over from one event to the next.
//! - **Actions.** `player.balance.adjust`, `bonus.create`, `bonus.cancel`, `withdrawal.approve`,
//!   `withdrawal.cancel`, `transaction.refund`, `player.kyc.update`, `player.limits.change`,
//!   `player.view`, `player.export`, `report.export`, `report.download`, `role.grant`,
//!   `role.revoke`, `staff.create`, `settings.update`, `promotion.create`, `content.update`,
//!   `api.access` and `auth.login`, in the sections `finance`, `bonuses`, `players`, `staff`,
//!   `settings`, `content`, `promotions` and `reports`. Amounts are JSON numbers with two decimals
//!   (`1250.50`), in EUR. About half the events that take a reason have one, in French or English
//!   (« geste commercial », "chargeback review #4411", …).
//! - **Severity.** Mostly `info`. Money above 1,000 € (adjustments, refunds, manual bonuses), every
//!   withdrawal cancellation and any grant of `admin` are `critical`; settings changes, player
//!   exports and exports of sensitive reports, other rights changes, new staff accounts, bonuses
//!   above 500 €, other money above 250 € (withdrawals above 5,000 €), rejected KYC checks, raised
//!   deposit limits and refused or failed attempts are `warning`.
//!
//! # The stories
//!
//! When the window has at least 7 days and the total is at least 2,000 events, six stories are
//! woven into the routine (about 120 events). Their ids and addresses are fixed; days are counted
//! back from the UTC date of `until`, "day −1" being the day before it (so with `until` on
//! 2026-11-30, day −3 is 2026-11-27).
//!
//! 1. **Night-time bonuses.** `k.morel` (Kevin Morel, finance) logs in with a password only,
//!    between 01:00 and 02:00 UTC on days −6, −5, −4, −2 and −1, from **192.0.2.66**, an
//!    address nobody else uses, with a Linux Firefox nobody else uses, and over the next hour grants
//!    manual bonuses of 600–950 € (under the 1,000 € critical line, so `warning`), mostly as « geste
//!    commercial », to the same three players: **312284** (Amira Biton), **195352** (Megan
//!    Bianchi) and **197050** (Liam Fournier). By day he works normally from the office.
//!    Search `actor:k.morel action:bonus.create`, then `ip:192.0.2.66`, or
//!    `action:bonus.create target:player/312284`.
//! 2. **API burst.** On day −4 from about 22:14 UTC, 80 `api.access` calls with
//!    the `affiliate-sync` key are refused (`denied`, status 401, `invalid_signature`) within a few
//!    minutes, all from **198.18.7.42** with `python-requests`; the client's own traffic comes from
//!    203.0.113.240 and is refused about once in a hundred calls.
//!    Search `action:api.access outcome:denied ip:198.18.7.42`.
//! 3. **Escalation.** At 03:00 UTC on day −3, `s.cohen` (admin) grants `admin` to `y.amrani`
//!    (Yasmine Amrani, support) with no reason given. Minutes later `y.amrani` logs in and
//!    changes three settings, all `critical`: `withdrawal.auto_approve_limit` 500.00 → 25000.00,
//!    `bonus.manual_approval_threshold` 1000.00 → 50000.00 and `security.staff_2fa_required`
//!    true → false; a quarter of an hour later `batch-bot` auto-approves a withdrawal of more than
//!    15,000 €. Search `action:role.grant target:staff/y.amrani`, then
//!    `actor:y.amrani action:settings.update` or `action:settings.update severity:critical`.
//! 4. **Acting as players.** On day −2 from about 14:00 UTC, the support agent `k.haddad` (Karim
//!    Haddad) opens five players' accounts *as the player* (`on_behalf_of`), and in three of them
//!    raises the daily deposit limit tenfold « à la demande du joueur (chat) ». Search
//!    `has:behalf`, `actor:k.haddad has:behalf` or `behalf:<player id>`.
//! 5. **One withdrawal, four actors.** On day −1 from 11:00 UTC, under the correlation id
//!    `wd-<yyyymmdd of day −1>-000417`: `kyc-service` verifies the player, `o.katz` (risk) raises
//!    the withdrawal limit 5,000 → 15,000 €, `f.mansour` approves a 12,400 € withdrawal in the
//!    same request as the override, and `batch-bot` pays it out. Open any of them and choose
//!    "Everything in this action", or search `correlation:wd-…`.
//! 6. **A quiet hour.** On day −3 nothing happens from 15:00 to 16:00 UTC (the back office was
//!    down): a hole in the timeline in office hours.
//!
//! Every event is numbered by the back office (`source_seq` 1, 2, 3, … in stream `bo-1`), and
//! with the stories on, 7. **lost events**: at 03:00 UTC on day −5 five numbers are skipped, on
//! day −2 three: `vigil senders` lists the gaps under the sender `vigil-demo`, and a running
//! store journals them (`sender.gap`).
#![forbid(unsafe_code)]

mod actions;
mod clock;
mod money;
mod office;
mod players;
mod roster;
mod story;
mod texts;
mod world;

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use vigil_core::Event;

use crate::clock::{Clock, DAY, HOUR};
use crate::world::World;

/// The back-office sections the demo uses (the tests hold the catalogue to them).
#[cfg(test)]
pub(crate) const SECTIONS: [&str; 8] = [
    "finance",
    "bonuses",
    "players",
    "staff",
    "settings",
    "content",
    "promotions",
    "reports",
];

/// A generator of `total` events over a window of days, handed out oldest first in batches.
///
/// Memory does not grow with the total: ten million events can be streamed into a store a few
/// thousand at a time.
#[derive(Debug, Clone)]
pub struct Demo {
    world: World,
    /// Draws the content of routine events.
    rng: ChaCha8Rng,
    /// Draws timestamps; a stream of its own so that content and time do not disturb each other.
    clock_rng: ChaCha8Rng,
    clock: Clock,
    /// Story events not yet handed out, oldest first.
    stories: VecDeque<Event>,
    remaining: usize,
    /// The back office's numbering of its events.
    numbering: Numbering,
}

/// The back office numbers its events (`source_seq`, stream [`STREAM`]) in the order they
/// happen; on the nights of [`story::DROPS`] a few numbers are lost on the way.
#[derive(Debug, Clone)]
struct Numbering {
    next: u64,
    /// When numbers were lost, and how many, oldest first; `drops[dropped..]` are to come.
    drops: Vec<(i64, u64)>,
    dropped: usize,
}

/// The stream the demo's back office numbers its events in.
pub const STREAM: &str = "bo-1";

impl Numbering {
    fn number(&mut self, e: &mut Event) {
        let at = e.occurred_at.timestamp_micros();
        while let Some(&(when, lost)) = self.drops.get(self.dropped) {
            if at < when {
                break;
            }
            self.next += lost;
            self.dropped += 1;
        }
        e.source_seq = Some(self.next);
        e.stream = Some(STREAM.to_owned());
        self.next += 1;
    }
}

impl Demo {
    /// A generator of `total` events with their newest at or before `until` and their oldest after
    /// `until - days` (a `days` of 0 counts as 1). `until` is truncated to the microsecond.
    ///
    /// The same arguments always give the same events.
    pub fn new(seed: u64, until: DateTime<Utc>, days: u32, total: usize) -> Self {
        let days = days.max(1);
        let last = until.timestamp_micros();
        let end = last + 1;
        let start = end - i64::from(days) * DAY;
        let world = World::new(seed);
        let told = days >= story::MIN_DAYS && total >= story::MIN_TOTAL;
        let last_day = last.div_euclid(DAY);
        let stories: VecDeque<Event> = if told {
            let mut all = story::plan(&world, &mut stream(seed, 2), last);
            all.extend(story::plan_more(&world, &mut stream(seed, 3), last));
            all.sort_by_key(|e| e.occurred_at);
            all.into()
        } else {
            VecDeque::new()
        };
        let mut clock_rng = stream(seed, 1);
        let routine = (total - stories.len()) as u64;
        let quiet = told.then(|| (last_day - story::QUIET_DAY) * DAY + story::QUIET_HOUR * HOUR);
        let clock = Clock::new(start, end, routine, &mut clock_rng, quiet);
        let drops = if told {
            story::DROPS
                .iter()
                .map(|&(back, lost)| ((last_day - back) * DAY + 3 * HOUR, lost))
                .collect()
        } else {
            Vec::new()
        };
        Demo {
            world,
            rng: stream(seed, 0),
            clock_rng,
            clock,
            stories,
            remaining: total,
            numbering: Numbering {
                next: 1,
                drops,
                dropped: 0,
            },
        }
    }

    /// The next `n` events, oldest first (`occurred_at` never decreases, also across calls). Fewer,
    /// down to none, once the total is reached.
    pub fn take(&mut self, n: usize) -> Vec<Event> {
        let n = n.min(self.remaining);
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next_event());
        }
        out
    }

    /// How many events are still to come.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    fn next_event(&mut self) -> Event {
        let mut e = self.next_unnumbered();
        self.numbering.number(&mut e);
        e
    }

    fn next_unnumbered(&mut self) -> Event {
        self.remaining -= 1;
        let routine = self.clock.peek(&mut self.clock_rng);
        let story_first = match (self.stories.front(), routine) {
            (Some(s), Some(t)) => s.occurred_at.timestamp_micros() <= t,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if story_first {
            return self.stories.pop_front().expect("checked above");
        }
        let t = routine.expect("the clock holds every routine event of the total");
        self.clock.advance();
        self.world.background(&mut self.rng, t)
    }
}

/// All `total` events at once: `Demo::new(seed, until, days, total).take(total)`.
pub fn events(total: usize, seed: u64, until: DateTime<Utc>, days: u32) -> Vec<Event> {
    Demo::new(seed, until, days, total).take(total)
}

/// One of the seed's independent random streams.
fn stream(seed: u64, n: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(n);
    rng
}
