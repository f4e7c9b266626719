//! Actions that move money: balance adjustments, bonuses, withdrawals and refunds.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use vigil_core::{Change, Event, Severity, Target};

use crate::players::Player;
use crate::roster::Duty;
use crate::texts::{self, amount, eur, maybe_reason, money, object, pick};
use crate::world::World;

/// Manual bonuses above this many cents (500 €) are worth a look.
const BONUS_WARNING: i64 = eur(500);
/// Manual bonuses, adjustments and refunds above this many cents (1,000 €) are critical.
const CRITICAL: i64 = eur(1_000);

const METHODS: &[&str] = &[
    "SEPA transfer",
    "Visa",
    "Mastercard",
    "Skrill",
    "Trustly",
    "PayPal",
];
const PSPS: &[&str] = &["Adyen", "Worldline", "Stripe", "Nuvei"];

/// `player.balance.adjust`: a manual credit or debit, mostly small.
pub(crate) fn balance_adjust(w: &mut World, rng: &mut ChaCha8Rng, e: &mut Event) {
    let i = w.players.pick(rng);
    let player = &mut w.players.list[i];
    let mut delta = amount(rng, 2.0, 2_500.0);
    if rng.gen_bool(0.3) {
        delta = -delta.min(player.balance);
    }
    let before = player.balance;
    player.balance += delta;
    e.target = Some(player.target());
    e.changes = Some(vec![change(
        "balance",
        money(before),
        money(player.balance),
    )]);
    let mut details = object([("currency", json!("EUR")), ("amount", money(delta))]);
    if rng.gen_bool(0.6) {
        details.insert("ticket".to_owned(), Value::String(texts::ticket(rng)));
    }
    e.details = Some(details);
    e.reason = maybe_reason(rng, texts::BALANCE_REASONS);
    e.severity = money_severity(delta.abs());
}

/// `bonus.create` in the routine: a manual bonus whose size depends on who grants it.
pub(crate) fn bonus_create(w: &mut World, rng: &mut ChaCha8Rng, duty: Duty, e: &mut Event) {
    let (low, high) = match duty {
        Duty::Support => (5.0, 150.0),
        Duty::Finance => (20.0, 1_500.0),
        _ => (50.0, 2_500.0),
    };
    let player = &w.players.list[w.players.pick(rng)];
    let cents = (amount(rng, low, high) / 500) * 500; // round to 5 euros
    let code = pick(rng, texts::BONUS_CODES);
    let reason = maybe_reason(rng, texts::BONUS_REASONS);
    grant_bonus(rng, player, cents.max(500), code, reason, e);
}

/// Fills `e` as a manual bonus of `cents` to `player`: used by the routine and the stories.
pub(crate) fn grant_bonus(
    rng: &mut ChaCha8Rng,
    player: &Player,
    cents: i64,
    code: &str,
    reason: Option<String>,
    e: &mut Event,
) {
    e.target = Some(player.target());
    e.details = Some(object([
        ("bonus_id", Value::String(bonus_id(rng))),
        ("bonus_code", json!(code)),
        ("type", json!("manual")),
        ("amount", money(cents)),
        ("currency", json!("EUR")),
        (
            "wagering_requirement",
            json!(pick(rng, &[1, 5, 10, 30, 35, 40])),
        ),
    ]));
    e.reason = reason;
    e.severity = if cents > CRITICAL {
        Severity::Critical
    } else if cents > BONUS_WARNING {
        Severity::Warning
    } else {
        Severity::Info
    };
}

/// `bonus.cancel`: by staff for a reason, or by the batch when the bonus expires.
pub(crate) fn bonus_cancel(w: &mut World, rng: &mut ChaCha8Rng, duty: Duty, e: &mut Event) {
    let player = &w.players.list[w.players.pick(rng)];
    let code = pick(rng, texts::BONUS_CODES);
    let cents = amount(rng, 5.0, 500.0) / 100 * 100;
    let (after, reason) = if duty == Duty::Batch {
        (
            "expired",
            Some("Expired after 30 days without wagering".to_owned()),
        )
    } else {
        ("cancelled", maybe_reason(rng, texts::BONUS_CANCEL_REASONS))
    };
    e.target = Some(Target {
        kind: "bonus".to_owned(),
        id: bonus_id(rng),
        name: Some(code.to_owned()),
    });
    e.changes = Some(vec![change("status", json!("active"), json!(after))]);
    e.details = Some(object([
        ("player_id", json!(player.id)),
        ("bonus_code", json!(code)),
        ("amount", money(cents)),
        ("currency", json!("EUR")),
        ("wagering_progress_percent", json!(rng.gen_range(0..95))),
    ]));
    e.reason = reason;
}

/// `withdrawal.approve`: the batch approves small ones, finance the rest.
pub(crate) fn withdrawal_approve(w: &mut World, rng: &mut ChaCha8Rng, duty: Duty, e: &mut Event) {
    let batch = duty == Duty::Batch;
    let cents = if batch {
        amount(rng, 10.0, 500.0)
    } else {
        amount(rng, 20.0, 15_000.0)
    };
    withdrawal(w, rng, cents, "approved", e);
    e.reason = if batch {
        Some("Auto-approved under threshold".to_owned())
    } else {
        maybe_reason(rng, texts::WITHDRAWAL_APPROVE_REASONS)
    };
    if cents > eur(5_000) {
        e.severity = Severity::Warning;
    }
}

/// `withdrawal.cancel`: always critical; the risk engine cancels on a rule.
pub(crate) fn withdrawal_cancel(w: &mut World, rng: &mut ChaCha8Rng, duty: Duty, e: &mut Event) {
    let cents = amount(rng, 20.0, 8_000.0);
    withdrawal(w, rng, cents, "cancelled", e);
    e.reason = if duty == Duty::RiskEngine {
        Some(
            pick(
                rng,
                &[
                    "Rule R-17: velocity check",
                    "Rule R-04: payment method mismatch",
                ],
            )
            .to_owned(),
        )
    } else {
        maybe_reason(rng, texts::WITHDRAWAL_CANCEL_REASONS)
    };
    e.severity = Severity::Critical;
}

fn withdrawal(w: &World, rng: &mut ChaCha8Rng, cents: i64, after: &str, e: &mut Event) {
    let player = &w.players.list[w.players.pick(rng)];
    let id = format!("WD-{}", rng.gen_range(10_000_000..99_999_999));
    e.target = Some(Target {
        kind: "withdrawal".to_owned(),
        id,
        name: None,
    });
    e.changes = Some(vec![change("status", json!("pending"), json!(after))]);
    e.details = Some(object([
        ("player_id", json!(player.id)),
        ("player_name", json!(player.name)),
        ("amount", money(cents)),
        ("currency", json!("EUR")),
        ("method", json!(pick(rng, METHODS))),
    ]));
}

/// `transaction.refund`: a deposit given back.
pub(crate) fn refund(w: &mut World, rng: &mut ChaCha8Rng, e: &mut Event) {
    let player = &w.players.list[w.players.pick(rng)];
    let cents = amount(rng, 10.0, 3_000.0);
    let id = format!("TX-{}", rng.gen_range(1_000_000_000u64..9_999_999_999));
    e.target = Some(Target {
        kind: "transaction".to_owned(),
        id,
        name: None,
    });
    e.changes = Some(vec![change("status", json!("settled"), json!("refunded"))]);
    e.details = Some(object([
        ("player_id", json!(player.id)),
        ("amount", money(cents)),
        ("currency", json!("EUR")),
        ("psp", json!(pick(rng, PSPS))),
    ]));
    e.reason = maybe_reason(rng, texts::REFUND_REASONS);
    e.severity = money_severity(cents);
}

/// Info up to 250 €, warning up to 1,000 €, critical above.
fn money_severity(cents: i64) -> Severity {
    if cents > CRITICAL {
        Severity::Critical
    } else if cents > eur(250) {
        Severity::Warning
    } else {
        Severity::Info
    }
}

/// `BON-` and seven digits.
fn bonus_id(rng: &mut ChaCha8Rng) -> String {
    format!("BON-{}", rng.gen_range(1_000_000..9_999_999))
}

/// A before/after pair.
pub(crate) fn change(field: &str, before: Value, after: Value) -> Change {
    Change {
        field: field.to_owned(),
        before,
        after,
    }
}
