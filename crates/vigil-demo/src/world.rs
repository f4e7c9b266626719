//! The back office as the generator sees it: who is there, the players and settings they change,
//! and how one background event is put together.

use chrono::{DateTime, Utc};
use rand::distributions::{Distribution, WeightedIndex};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use vigil_core::{Event, Outcome, Severity};

use crate::actions::{repertoire, Action, DUTIES};
use crate::clock::{hour_of_day, DAY};
use crate::office::Settings;
use crate::players::Players;
use crate::roster::Roster;
use crate::{money, office};

/// Everything that persists between events.
#[derive(Debug, Clone)]
pub(crate) struct World {
    seed: u64,
    pub roster: Roster,
    pub players: Players,
    pub settings: Settings,
    day_actors: WeightedIndex<f64>,
    night_actors: WeightedIndex<f64>,
    /// Per duty, in [`DUTIES`] order: the weighted choice of action.
    actions: Vec<WeightedIndex<u32>>,
}

impl World {
    /// The fixed cast; `seed` only salts session ids.
    pub(crate) fn new(seed: u64) -> Self {
        let roster = Roster::new();
        let weights = |night: bool| {
            let w = roster.members.iter().map(|m| m.weight(night));
            WeightedIndex::new(w).expect("positive weights")
        };
        let day_actors = weights(false);
        let night_actors = weights(true);
        let actions = DUTIES
            .iter()
            .map(|&d| {
                WeightedIndex::new(repertoire(d).iter().map(|&(_, w)| w)).expect("positive weights")
            })
            .collect();
        World {
            seed,
            roster,
            players: Players::new(),
            settings: Settings::new(),
            day_actors,
            night_actors,
            actions,
        }
    }

    /// One routine event at `micros` (microseconds since the epoch).
    pub(crate) fn background(&mut self, rng: &mut ChaCha8Rng, micros: i64) -> Event {
        let night = !(7..21).contains(&hour_of_day(micros));
        let who = if night {
            self.night_actors.sample(rng)
        } else {
            self.day_actors.sample(rng)
        };
        let duty = self.roster.members[who].duty;
        let slot = DUTIES
            .iter()
            .position(|&d| d == duty)
            .expect("every duty is listed");
        let action = repertoire(duty)[self.actions[slot].sample(rng)].0;
        let mut e = self.skeleton(rng, micros, who, action);
        self.fill(rng, action, who, &mut e);
        e
    }

    /// An event with everything but the action's own content: id, time, actor, where from.
    pub(crate) fn skeleton(
        &self,
        rng: &mut ChaCha8Rng,
        micros: i64,
        who: usize,
        action: Action,
    ) -> Event {
        let member = &self.roster.members[who];
        let (name, kind, section) = action.meta();
        let ip = match member.ips.as_slice() {
            [] => None,
            [only] => Some(*only),
            [usual, other, ..] => Some(if rng.gen_bool(0.15) { *other } else { *usual }),
        };
        let session_id = member
            .duty
            .role()
            .map(|_| self.session(who, micros.div_euclid(DAY)));
        Event {
            id: event_id(rng, micros),
            occurred_at: instant(micros),
            actor: member.actor.clone(),
            on_behalf_of: None,
            action: name.to_owned(),
            kind,
            section: section.to_owned(),
            severity: Severity::Info,
            outcome: Outcome::Success,
            target: None,
            changes: None,
            ip,
            user_agent: Some(member.user_agent.to_owned()),
            session_id,
            request_id: Some(format!("req-{:016x}", rng.gen::<u64>())),
            correlation_id: None,
            reason: None,
            details: None,
            source_seq: None,
            stream: None,
            sender: None,
        }
    }

    /// A staff member's session on a given day: one login a day, stable within it.
    pub(crate) fn session(&self, who: usize, day: i64) -> String {
        let mixed = mix(self.seed ^ mix(who as u64 ^ mix(day as u64)));
        format!("sess-{mixed:016x}")
    }

    /// The action's target, changes, details, reason, severity and outcome.
    fn fill(&mut self, rng: &mut ChaCha8Rng, action: Action, who: usize, e: &mut Event) {
        let duty = self.roster.members[who].duty;
        match action {
            Action::BalanceAdjust => money::balance_adjust(self, rng, e),
            Action::BonusCreate => money::bonus_create(self, rng, duty, e),
            Action::BonusCancel => money::bonus_cancel(self, rng, duty, e),
            Action::WithdrawalApprove => money::withdrawal_approve(self, rng, duty, e),
            Action::WithdrawalCancel => money::withdrawal_cancel(self, rng, duty, e),
            Action::TransactionRefund => money::refund(self, rng, e),
            Action::KycUpdate => office::kyc_update(self, rng, duty, e),
            Action::LimitsChange => office::limits_change(self, rng, duty, e),
            Action::PlayerView => office::player_view(self, rng, e),
            Action::PlayerExport => office::player_export(self, rng, e),
            Action::ReportExport | Action::ReportDownload => office::report(rng, action, duty, e),
            Action::RoleGrant | Action::RoleRevoke => {
                office::role_change(self, rng, who, action, e)
            }
            Action::StaffCreate => office::staff_create(rng, e),
            Action::SettingsUpdate => office::settings_update(self, rng, e),
            Action::PromotionCreate => office::promotion_create(rng, e),
            Action::ContentUpdate => office::content_update(rng, e),
            Action::ApiAccess => office::api_access(rng, e),
            Action::Login => office::login(rng, e),
        }
    }
}

/// A UUID v7 carrying the event's millisecond, with random bits from the generator.
pub(crate) fn event_id(rng: &mut ChaCha8Rng, micros: i64) -> uuid::Uuid {
    let millis = u64::try_from(micros.div_euclid(1000)).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rng.gen::<[u8; 10]>()).into_uuid()
}

/// Microseconds since the epoch as a time.
pub(crate) fn instant(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros).expect("the window lies within chrono's range")
}

/// SplitMix64's finaliser: spreads the bits of `x`.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
