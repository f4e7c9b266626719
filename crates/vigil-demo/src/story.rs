//! The suspicious stories hidden in the routine, for an investigator to find (see the crate docs,
//! which name every id and address used here).
//!
//! Stories are planned once, when the generator is built, at fixed nights counted back from the
//! last day of the window; only minutes, amounts and random ids come from the seed.

use std::net::{IpAddr, Ipv4Addr};

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use vigil_core::{Event, Outcome, Principal, Severity, Target};

use crate::actions::Action;
use crate::clock::{DAY, HOUR};
use crate::money::{change, grant_bonus};
use crate::office::staff_target;
use crate::texts::{eur, money, object};
use crate::world::World;

/// Stories need this many days in the window…
pub(crate) const MIN_DAYS: u32 = 7;
/// …and this many events in all, so that they stay a small part of the journal.
pub(crate) const MIN_TOTAL: usize = 2_000;

/// Story 1: the finance operator who grants night-time bonuses.
pub(crate) const BONUS_ACTOR: &str = "k.morel";
/// Story 1: the address nobody else uses.
pub(crate) const BONUS_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);
/// Story 1: the three players (indices into the fixed player table).
pub(crate) const BONUS_PLAYERS: [usize; 3] = [1203, 1544, 1871];
/// Story 1: the nights, in days before the window's last day.
const BONUS_NIGHTS: [i64; 5] = [6, 5, 4, 2, 1];
const BONUS_BROWSER: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// Story 2: the address of the denied API burst, the key it tries, and how many attempts.
pub(crate) const BURST_IP: Ipv4Addr = Ipv4Addr::new(198, 18, 7, 42);
pub(crate) const BURST_ACTOR: &str = "affiliate-sync";
pub(crate) const BURST_ATTEMPTS: usize = 80;
const BURST_DAY: i64 = 4;

/// Story 3: who grants admin at 03:00, to whom, and what the new admin changes.
pub(crate) const GRANTER: &str = "s.cohen";
pub(crate) const GRANTEE: &str = "y.amrani";
const ESCALATION_DAY: i64 = 3;
const ESCALATION_SETTINGS: [(&str, &str, &str, &str); 3] = [
    (
        "withdrawal.auto_approve_limit",
        "Withdrawal auto-approval limit (EUR)",
        "500.00",
        "25000.00",
    ),
    (
        "bonus.manual_approval_threshold",
        "Manual bonus approval threshold (EUR)",
        "1000.00",
        "50000.00",
    ),
    (
        "security.staff_2fa_required",
        "Two-factor login required for staff",
        "true",
        "false",
    ),
];

/// Every story event, oldest first, for the window whose last microsecond is `last`.
pub(crate) fn plan(w: &World, rng: &mut ChaCha8Rng, last: i64) -> Vec<Event> {
    let last_day = last.div_euclid(DAY);
    let mut events = Vec::new();
    for back in BONUS_NIGHTS {
        night_bonuses(w, rng, (last_day - back) * DAY, &mut events);
    }
    api_burst(w, rng, (last_day - BURST_DAY) * DAY, &mut events);
    escalation(w, rng, (last_day - ESCALATION_DAY) * DAY, &mut events);
    events.sort_by_key(|e| e.occurred_at);
    events
}

/// Story 1, one night: a login between 01:02 and 01:40 from the new address, then a bonus of
/// 600–950 € to each of the three players (now and then a second one), minutes apart.
fn night_bonuses(w: &World, rng: &mut ChaCha8Rng, midnight: i64, out: &mut Vec<Event>) {
    let who = w.roster.index(BONUS_ACTOR);
    let session = format!("sess-{:016x}", rng.gen::<u64>());
    let mut at = midnight + HOUR + rng.gen_range(2 * MINUTE..40 * MINUTE);
    let mut login = w.skeleton(rng, at, who, Action::Login);
    login.details = Some(object([("method", json!("password"))]));
    out.push(disguise(login, &session));
    let mut players = BONUS_PLAYERS.to_vec();
    if rng.gen_bool(0.5) {
        players.push(BONUS_PLAYERS[rng.gen_range(0..3)]);
    }
    for p in players {
        at += rng.gen_range(2 * MINUTE..15 * MINUTE);
        let mut e = w.skeleton(rng, at, who, Action::BonusCreate);
        let cents = rng.gen_range(120..=190) * eur(5);
        let reason = rng.gen_bool(0.7).then(|| "geste commercial".to_owned());
        let code = if rng.gen_bool(0.5) {
            "GOODWILL"
        } else {
            "VIP-RELOAD"
        };
        grant_bonus(rng, &w.players.list[p], cents, code, reason, &mut e);
        out.push(disguise(e, &session));
    }
}

/// Story 1's events come from the new address, another browser and a session of their own.
fn disguise(mut e: Event, session: &str) -> Event {
    e.ip = Some(IpAddr::V4(BONUS_IP));
    e.user_agent = Some(BONUS_BROWSER.to_owned());
    e.session_id = Some(session.to_owned());
    e
}

/// Story 2: from 22:14, eighty refused API calls a few seconds apart, all from one address.
fn api_burst(w: &World, rng: &mut ChaCha8Rng, midnight: i64, out: &mut Vec<Event>) {
    let who = w.roster.index(BURST_ACTOR);
    let endpoints = [
        "/v1/players/export",
        "/v1/players/documents",
        "/v1/admin/staff",
        "/v1/payments/withdrawals",
    ];
    let mut at = midnight + 22 * HOUR + 14 * MINUTE + rng.gen_range(0..MINUTE);
    for i in 0..BURST_ATTEMPTS {
        at += rng.gen_range(300_000..8_000_000); // 0.3 to 8 seconds
        let mut e = w.skeleton(rng, at, who, Action::ApiAccess);
        e.ip = Some(IpAddr::V4(BURST_IP));
        e.user_agent = Some("python-requests/2.32.3".to_owned());
        e.outcome = Outcome::Denied;
        e.severity = Severity::Warning;
        e.details = Some(object([
            ("method", json!("GET")),
            ("endpoint", json!(endpoints[i % endpoints.len()])),
            ("status", json!(401)),
            ("error", json!("invalid_signature")),
        ]));
        out.push(e);
    }
}

/// Story 3: at 03:00 an admin makes a support agent admin; minutes later the new admin logs in,
/// loosens three safety settings, and the batch auto-approves a withdrawal that the old limit would
/// have held.
fn escalation(w: &World, rng: &mut ChaCha8Rng, midnight: i64, out: &mut Vec<Event>) {
    let granter = w.roster.index(GRANTER);
    let grantee = w.roster.index(GRANTEE);
    let mut at = midnight + 3 * HOUR + rng.gen_range(0..MINUTE);
    let mut grant = w.skeleton(rng, at, granter, Action::RoleGrant);
    let member = &w.roster.members[grantee];
    grant.target = Some(staff_target(GRANTEE, member.actor.name.as_deref()));
    grant.changes = Some(vec![change(
        "roles",
        json!(["support"]),
        json!(["support", "admin"]),
    )]);
    grant.severity = Severity::Critical;
    out.push(grant);

    at += 5 * MINUTE + rng.gen_range(0..MINUTE);
    let mut login = w.skeleton(rng, at, grantee, Action::Login);
    login.details = Some(object([("method", json!("password+totp"))]));
    out.push(login);
    for (id, name, before, after) in ESCALATION_SETTINGS {
        at += rng.gen_range(2 * MINUTE..8 * MINUTE);
        let mut e = w.skeleton(rng, at, grantee, Action::SettingsUpdate);
        e.target = Some(Target {
            kind: "setting".to_owned(),
            id: id.to_owned(),
            name: Some(name.to_owned()),
        });
        e.changes = Some(vec![change("value", literal(before), literal(after))]);
        e.severity = Severity::Critical;
        out.push(e);
    }

    at += rng.gen_range(10 * MINUTE..20 * MINUTE);
    let batch = w.roster.index("batch-bot");
    let player = &w.players.list[rng.gen_range(0..w.players.list.len())];
    let mut e = w.skeleton(rng, at, batch, Action::WithdrawalApprove);
    e.target = Some(Target {
        kind: "withdrawal".to_owned(),
        id: format!("WD-{}", rng.gen_range(10_000_000..99_999_999)),
        name: None,
    });
    e.changes = Some(vec![change("status", json!("pending"), json!("approved"))]);
    e.details = Some(object([
        ("player_id", json!(player.id)),
        ("player_name", json!(player.name)),
        ("amount", money(rng.gen_range(3_000..4_800) * eur(5))),
        ("currency", json!("EUR")),
        ("method", json!("SEPA transfer")),
    ]));
    e.reason = Some("Auto-approved under threshold".to_owned());
    e.severity = Severity::Critical;
    out.push(e);
}

/// Story 4: the support agent who acts in players' accounts, on which day, and the players.
pub(crate) const IMPERSONATOR: &str = "k.haddad";
const IMPERSONATION_DAY: i64 = 2;
/// Story 4: the players (indices into the fixed player table); the first three get their
/// deposit limits raised.
pub(crate) const IMPERSONATED: [usize; 5] = [211, 642, 977, 1320, 1733];

/// Story 5: the withdrawal followed from request to payout under one correlation id.
const WORKFLOW_DAY: i64 = 1;
/// Story 5: its player (an index into the fixed player table).
pub(crate) const WORKFLOW_PLAYER: usize = 88;

/// Story 6: the back office was down for an hour on this day from 15:00 UTC: nothing happened.
pub(crate) const QUIET_DAY: i64 = 3;
pub(crate) const QUIET_HOUR: i64 = 15;

/// Story 7: the nights on which the back office lost events on the way, at 03:00 UTC, and how
/// many each time.
pub(crate) const DROPS: [(i64, u64); 2] = [(5, 5), (2, 3)];

/// The stories of completeness (4 and 5), oldest first, from their own random stream so that
/// the first three keep their minutes.
pub(crate) fn plan_more(w: &World, rng: &mut ChaCha8Rng, last: i64) -> Vec<Event> {
    let last_day = last.div_euclid(DAY);
    let mut events = Vec::new();
    impersonation(w, rng, (last_day - IMPERSONATION_DAY) * DAY, &mut events);
    workflow(w, rng, (last_day - WORKFLOW_DAY) * DAY, &mut events);
    events.sort_by_key(|e| e.occurred_at);
    events
}

/// Story 4: from 14:00, a support agent opens five players' accounts as the player, and in
/// three of them raises the deposit limit, "on the player's request".
fn impersonation(w: &World, rng: &mut ChaCha8Rng, midnight: i64, out: &mut Vec<Event>) {
    let who = w.roster.index(IMPERSONATOR);
    let mut at = midnight + 14 * HOUR + rng.gen_range(0..10 * MINUTE);
    for (n, &p) in IMPERSONATED.iter().enumerate() {
        let player = &w.players.list[p];
        let acting = Principal {
            kind: Some("player".to_owned()),
            id: player.id.clone(),
            name: Some(player.name.clone()),
        };
        let mut view = w.skeleton(rng, at, who, Action::PlayerView);
        view.target = Some(player.target());
        view.on_behalf_of = Some(acting.clone());
        view.details = Some(object([("screen", json!("player.cashier"))]));
        let request = view.request_id.clone();
        out.push(view);
        if n < 3 {
            at += rng.gen_range(MINUTE..3 * MINUTE);
            let mut raise = w.skeleton(rng, at, who, Action::LimitsChange);
            raise.target = Some(player.target());
            raise.on_behalf_of = Some(acting);
            raise.request_id = request;
            let before = player.deposit_limit.unwrap_or(eur(500));
            raise.changes = Some(vec![change(
                "deposit_limit_daily",
                money(before),
                money(before.max(eur(500)) * 10),
            )]);
            raise.reason = Some("à la demande du joueur (chat)".to_owned());
            raise.severity = Severity::Warning;
            out.push(raise);
        }
        at += rng.gen_range(6 * MINUTE..14 * MINUTE);
    }
}

/// Story 5: one withdrawal from the KYC check to the payout, four actors, one correlation id;
/// the limit override and the approval are one request of the back office.
fn workflow(w: &World, rng: &mut ChaCha8Rng, midnight: i64, out: &mut Vec<Event>) {
    let player = &w.players.list[WORKFLOW_PLAYER];
    let day = chrono::DateTime::from_timestamp_micros(midnight)
        .expect("a day of the window")
        .format("%Y%m%d");
    let correlation = format!("wd-{day}-000417");
    let amount = eur(12_400);
    let mut at = midnight + 11 * HOUR + rng.gen_range(0..5 * MINUTE);
    let kyc = w.roster.index("kyc-service");
    let mut e = w.skeleton(rng, at, kyc, Action::KycUpdate);
    e.target = Some(player.target());
    e.changes = Some(vec![change(
        "kyc_status",
        json!("pending"),
        json!("verified"),
    )]);
    e.details = Some(object([
        ("document", json!("passport")),
        ("check", json!("source_of_funds")),
    ]));
    e.correlation_id = Some(correlation.clone());
    out.push(e);

    at += rng.gen_range(2 * MINUTE..6 * MINUTE);
    let risk = w.roster.index("o.katz");
    let mut e = w.skeleton(rng, at, risk, Action::LimitsChange);
    e.target = Some(player.target());
    e.changes = Some(vec![change(
        "withdrawal_limit_daily",
        money(eur(5_000)),
        money(eur(15_000)),
    )]);
    e.reason = Some("one-off override for a verified big win".to_owned());
    e.severity = Severity::Warning;
    e.correlation_id = Some(correlation.clone());
    let request = e.request_id.clone();
    out.push(e);

    at += rng.gen_range(20_000_000..50_000_000);
    let finance = w.roster.index("f.mansour");
    let mut e = w.skeleton(rng, at, finance, Action::WithdrawalApprove);
    e.target = Some(Target {
        kind: "withdrawal".to_owned(),
        id: format!("WD-{}", rng.gen_range(10_000_000..99_999_999)),
        name: None,
    });
    e.changes = Some(vec![change("status", json!("pending"), json!("approved"))]);
    e.details = Some(object([
        ("player_id", json!(player.id)),
        ("amount", money(amount)),
        ("currency", json!("EUR")),
    ]));
    e.severity = Severity::Critical;
    e.request_id = request;
    e.correlation_id = Some(correlation.clone());
    out.push(e);

    at += rng.gen_range(10 * MINUTE..25 * MINUTE);
    let batch = w.roster.index("batch-bot");
    // The payout: the approved withdrawal sent (the balance was debited when it was requested).
    let withdrawal = out.last().and_then(|e| e.target.clone());
    let mut e = w.skeleton(rng, at, batch, Action::WithdrawalApprove);
    e.target = withdrawal;
    e.changes = Some(vec![change("status", json!("approved"), json!("paid"))]);
    e.details = Some(object([
        ("player_id", json!(player.id)),
        ("amount", money(amount)),
        ("currency", json!("EUR")),
        ("method", json!("SEPA transfer")),
    ]));
    e.reason = Some("payout sent".to_owned());
    e.severity = Severity::Critical;
    e.correlation_id = Some(correlation);
    out.push(e);
}

const MINUTE: i64 = 60_000_000;

/// A JSON literal written in the table above (`"500.00"` stays `500.00`).
fn literal(text: &str) -> Value {
    serde_json::from_str(text).expect("the table holds JSON literals")
}
#[cfg(test)]
mod tests {
    use super::*;

    /// The crate docs name these players; the player table must not drift from them.
    #[test]
    fn documented_players() {
        let players = crate::players::Players::new();
        let named: Vec<(&str, &str)> = BONUS_PLAYERS
            .iter()
            .map(|&i| (players.list[i].id.as_str(), players.list[i].name.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("312284", "Amira Biton"),
                ("195352", "Megan Bianchi"),
                ("197050", "Liam Fournier")
            ]
        );
    }
}
