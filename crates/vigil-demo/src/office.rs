//! Actions that do not move money: player records, exports, staff rights, settings, content, API
//! calls and logins.

use chrono::Duration;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use vigil_core::{Event, Outcome, Severity, Target};

use crate::actions::Action;
use crate::money::change;
use crate::players::{next_kyc, KYC};
use crate::roster::Duty;
use crate::texts::{self, eur, maybe_reason, money, object, pick};
use crate::world::World;

/// Daily deposit limits players choose from, in cents (`None`: no limit).
const LIMITS: [Option<i64>; 7] = [
    None,
    Some(eur(100)),
    Some(eur(250)),
    Some(eur(500)),
    Some(eur(1_000)),
    Some(eur(2_000)),
    Some(eur(5_000)),
];

/// One back-office setting and the values it takes.
#[derive(Debug, Clone)]
struct Setting {
    id: &'static str,
    name: &'static str,
    options: Vec<Value>,
    current: usize,
}

/// The settings admins change in the routine, with their current values.
#[derive(Debug, Clone)]
pub(crate) struct Settings(Vec<Setting>);

impl Settings {
    /// The settings at their initial values. (The stories change other settings, so that their
    /// before/after values never clash with the routine's.)
    pub(crate) fn new() -> Self {
        let s = |id, name, options: Vec<Value>| Setting {
            id,
            name,
            options,
            current: 0,
        };
        Settings(vec![
            s(
                "withdrawal.daily_limit",
                "Daily withdrawal limit (EUR)",
                vec![money(eur(5_000)), money(eur(10_000)), money(eur(2_500))],
            ),
            s(
                "kyc.document_expiry_days",
                "KYC document expiry (days)",
                vec![json!(180), json!(365), json!(90)],
            ),
            s(
                "promotions.welcome_bonus_percent",
                "Welcome bonus (%)",
                vec![json!(100), json!(150), json!(50)],
            ),
            s(
                "support.chat_hours",
                "Live chat hours",
                vec![json!("08:00-22:00"), json!("24/7")],
            ),
            s(
                "payments.enabled_methods",
                "Payment methods",
                vec![
                    json!(["SEPA", "Visa", "Mastercard"]),
                    json!(["SEPA", "Visa", "Mastercard", "Skrill"]),
                    json!(["SEPA", "Visa", "Mastercard", "Skrill", "Trustly"]),
                ],
            ),
            s(
                "responsible_gaming.reality_check_minutes",
                "Reality check interval",
                vec![json!(60), json!(30)],
            ),
            s(
                "maintenance.banner",
                "Maintenance banner",
                vec![
                    json!(""),
                    json!("Maintenance prévue dimanche 03:00–05:00 UTC"),
                ],
            ),
        ])
    }
}

/// `player.kyc.update`: the provider's webhook or a reviewer moves the check along.
pub(crate) fn kyc_update(w: &mut World, rng: &mut ChaCha8Rng, duty: Duty, e: &mut Event) {
    let i = w.players.pick(rng);
    let player = &mut w.players.list[i];
    let before = player.kyc;
    player.kyc = next_kyc(before, rng);
    e.target = Some(player.target());
    e.changes = Some(vec![change(
        "kyc_status",
        json!(KYC[before]),
        json!(KYC[player.kyc]),
    )]);
    let document = pick(
        rng,
        &[
            "passport",
            "id_card",
            "proof_of_address",
            "selfie",
            "source_of_funds",
        ],
    );
    e.details = Some(if duty == Duty::Kyc {
        object([
            ("provider", json!("Onfido")),
            (
                "check_id",
                Value::String(format!("chk_{:012x}", rng.gen::<u64>() >> 16)),
            ),
            ("document", json!(document)),
        ])
    } else {
        e.reason = maybe_reason(rng, texts::KYC_REASONS);
        object([("document", json!(document))])
    });
    if KYC[player.kyc] == "rejected" {
        e.severity = Severity::Warning;
    }
}

/// `player.limits.change`: the daily deposit limit; raising it deserves a look.
pub(crate) fn limits_change(w: &mut World, rng: &mut ChaCha8Rng, duty: Duty, e: &mut Event) {
    let i = w.players.pick(rng);
    let player = &mut w.players.list[i];
    let before = player.deposit_limit;
    let after = if duty == Duty::RiskEngine {
        Some(before.map_or(eur(250), |b| (b / 2).max(eur(50))))
    } else {
        loop {
            let l = pick(rng, &LIMITS);
            if l != before {
                break l;
            }
        }
    };
    player.deposit_limit = after;
    e.target = Some(player.target());
    e.changes = Some(vec![change(
        "deposit_limit_daily",
        limit(before),
        limit(after),
    )]);
    e.details = Some(object([("currency", json!("EUR"))]));
    e.reason = if duty == Duty::RiskEngine {
        Some("Affordability threshold reached".to_owned())
    } else {
        maybe_reason(rng, texts::LIMIT_REASONS)
    };
    let raised = match (before, after) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(b), Some(a)) => a > b,
    };
    if raised {
        e.severity = Severity::Warning;
    }
}

fn limit(cents: Option<i64>) -> Value {
    cents.map_or(Value::Null, money)
}

/// `player.view`: opening a player's file.
pub(crate) fn player_view(w: &mut World, rng: &mut ChaCha8Rng, e: &mut Event) {
    let player = &w.players.list[w.players.pick(rng)];
    e.target = Some(player.target());
    if rng.gen_bool(0.4) {
        let tab = pick(
            rng,
            &["transactions", "kyc", "bonuses", "notes", "sessions"],
        );
        e.details = Some(object([("tab", json!(tab))]));
    }
}

/// `player.export`: a player's history as CSV.
pub(crate) fn player_export(w: &mut World, rng: &mut ChaCha8Rng, e: &mut Event) {
    let player = &w.players.list[w.players.pick(rng)];
    e.target = Some(player.target());
    e.details = Some(object([
        ("format", json!("csv")),
        (
            "file",
            Value::String(format!("player-{}-transactions.csv", player.id)),
        ),
        ("rows", json!(rng.gen_range(20..4_000))),
    ]));
    e.reason = maybe_reason(rng, texts::EXPORT_REASONS);
    e.severity = Severity::Warning;
}

/// `report.export` (producing a report) and `report.download` (the CSV download).
pub(crate) fn report(rng: &mut ChaCha8Rng, action: Action, duty: Duty, e: &mut Event) {
    let (id, name) = pick(rng, texts::REPORTS);
    e.target = Some(Target {
        kind: "report".to_owned(),
        id: id.to_owned(),
        name: Some(name.to_owned()),
    });
    let day = e.occurred_at.format("%Y-%m-%d").to_string();
    e.details = Some(if action == Action::ReportExport {
        object([
            ("format", json!("csv")),
            ("period", json!(day[..7])),
            ("rows", json!(rng.gen_range(100..250_000))),
        ])
    } else {
        object([
            ("format", json!("csv")),
            ("file", Value::String(format!("{id}-{day}.csv"))),
            ("bytes", json!(rng.gen_range(10_000..40_000_000))),
        ])
    });
    e.reason = if duty == Duty::Batch {
        Some("Scheduled export".to_owned())
    } else {
        maybe_reason(rng, texts::EXPORT_REASONS)
    };
    if matches!(id, "players-high-value" | "aml-alerts") {
        e.severity = Severity::Warning;
    }
}

/// `role.grant` / `role.revoke` on another member of staff; admin rights are critical.
pub(crate) fn role_change(
    w: &mut World,
    rng: &mut ChaCha8Rng,
    who: usize,
    action: Action,
    e: &mut Event,
) {
    let staff = w.roster.staff().count();
    let other = loop {
        let i = rng.gen_range(0..staff);
        if i != who {
            break i;
        }
    };
    let member = &w.roster.members[other];
    let base = member.actor.role.clone().unwrap_or_default();
    let extra = if rng.gen_bool(0.04) {
        "admin"
    } else {
        pick(rng, texts::EXTRA_ROLES)
    };
    let (fewer, more) = (json!([base]), json!([base, extra]));
    let (before, after) = if action == Action::RoleGrant {
        (fewer, more)
    } else {
        (more, fewer)
    };
    e.target = Some(staff_target(&member.actor.id, member.actor.name.as_deref()));
    e.changes = Some(vec![change("roles", before, after)]);
    e.reason = maybe_reason(rng, texts::ROLE_REASONS);
    e.severity = if extra == "admin" {
        Severity::Critical
    } else {
        Severity::Warning
    };
}

/// A member of staff as a target.
pub(crate) fn staff_target(id: &str, name: Option<&str>) -> Target {
    Target {
        kind: "staff".to_owned(),
        id: id.to_owned(),
        name: name.map(str::to_owned),
    }
}

/// `staff.create`: a new hire's account.
pub(crate) fn staff_create(rng: &mut ChaCha8Rng, e: &mut Event) {
    let (login, name, role) = pick(rng, texts::NEW_HIRES);
    e.target = Some(staff_target(login, Some(name)));
    e.changes = Some(vec![change("roles", Value::Null, json!([role]))]);
    e.details = Some(object([(
        "email",
        Value::String(format!("{login}@casino.example")),
    )]));
    e.severity = Severity::Warning;
}

/// `settings.update`: one setting to another of its values.
pub(crate) fn settings_update(w: &mut World, rng: &mut ChaCha8Rng, e: &mut Event) {
    let i = rng.gen_range(0..w.settings.0.len());
    let setting = &mut w.settings.0[i];
    let before = setting.current;
    setting.current = (before + rng.gen_range(1..setting.options.len())) % setting.options.len();
    e.target = Some(Target {
        kind: "setting".to_owned(),
        id: setting.id.to_owned(),
        name: Some(setting.name.to_owned()),
    });
    e.changes = Some(vec![change(
        "value",
        setting.options[before].clone(),
        setting.options[setting.current].clone(),
    )]);
    e.reason = maybe_reason(rng, texts::SETTINGS_REASONS);
    e.severity = Severity::Warning;
}

/// `promotion.create`: a campaign starting in a few days.
pub(crate) fn promotion_create(rng: &mut ChaCha8Rng, e: &mut Event) {
    let name = pick(rng, texts::PROMOTIONS);
    let id = format!("PROMO-{}", rng.gen_range(1_000..9_999));
    e.target = Some(Target {
        kind: "promotion".to_owned(),
        id,
        name: Some(name.to_owned()),
    });
    let starts = e.occurred_at + Duration::days(rng.gen_range(1..10));
    let ends = starts + Duration::days(pick(rng, &[3, 7, 14, 30]));
    e.details = Some(object([
        ("budget", money(rng.gen_range(20..400) * eur(500))),
        ("currency", json!("EUR")),
        (
            "starts_on",
            Value::String(starts.format("%Y-%m-%d").to_string()),
        ),
        (
            "ends_on",
            Value::String(ends.format("%Y-%m-%d").to_string()),
        ),
        ("wagering_requirement", json!(pick(rng, &[10, 20, 35]))),
    ]));
}

/// `content.update`: a new revision of a page of the site.
pub(crate) fn content_update(rng: &mut ChaCha8Rng, e: &mut Event) {
    let (path, title) = pick(rng, texts::PAGES);
    e.target = Some(Target {
        kind: "page".to_owned(),
        id: path.to_owned(),
        name: Some(title.to_owned()),
    });
    let revision = rng.gen_range(3..80);
    e.changes = Some(vec![change(
        "revision",
        json!(revision),
        json!(revision + 1),
    )]);
    e.details = Some(object([(
        "locale",
        json!(pick(rng, &["fr-FR", "en-GB", "he-IL", "ar"])),
    )]));
}

/// `api.access` by the affiliate client; now and then refused.
pub(crate) fn api_access(rng: &mut ChaCha8Rng, e: &mut Event) {
    let (endpoint, section) = pick(
        rng,
        &[
            ("/v1/players/registrations", "players"),
            ("/v1/players/first-deposits", "players"),
            ("/v1/reports/affiliate-revenue", "reports"),
        ],
    );
    e.section = section.to_owned();
    let denied = rng.gen_bool(0.01);
    let status = if denied { 403 } else { 200 };
    e.details = Some(object([
        ("method", json!("GET")),
        ("endpoint", json!(endpoint)),
        ("status", json!(status)),
    ]));
    if denied {
        e.outcome = Outcome::Denied;
        e.severity = Severity::Warning;
    }
}

/// `auth.login`: password and one-time code; a few fail.
pub(crate) fn login(rng: &mut ChaCha8Rng, e: &mut Event) {
    let mut details = object([("method", json!("password+totp"))]);
    if rng.gen_bool(0.04) {
        details.insert(
            "error".to_owned(),
            json!(pick(rng, &["invalid_password", "totp_mismatch"])),
        );
        e.outcome = Outcome::Failure;
        e.severity = Severity::Warning;
    }
    e.details = Some(details);
}
