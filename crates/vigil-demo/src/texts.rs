//! Words the back office writes: reasons (in French and English, as staff type them), bonus codes,
//! reports, promotions, settings.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Number, Value};

pub(crate) const BALANCE_REASONS: &[&str] = &[
    "geste commercial",
    "remboursé suite à un bug",
    "duplicate payment",
    "chargeback review #4411",
    "à la demande du joueur",
    "Correction after failed deposit PSP-2291",
    "Compensation for game outage",
    "Erreur de saisie corrigée",
];

pub(crate) const BONUS_REASONS: &[&str] = &[
    "geste commercial",
    "à la demande du joueur",
    "VIP retention offer",
    "Birthday bonus",
    "compensation suite à une panne du jeu",
    "Loyalty tier upgrade",
    "Goodwill after slow withdrawal",
];

pub(crate) const BONUS_CANCEL_REASONS: &[&str] = &[
    "Bonus abuse suspected",
    "annulé à la demande du joueur",
    "Created in error",
    "duplicate bonus",
    "Conditions non respectées",
];

pub(crate) const WITHDRAWAL_APPROVE_REASONS: &[&str] = &[
    "KYC documents verified",
    "Source of funds confirmed",
    "Vérification manuelle OK",
];

pub(crate) const WITHDRAWAL_CANCEL_REASONS: &[&str] = &[
    "KYC documents missing",
    "Suspected multi-accounting",
    "à la demande du joueur",
    "chargeback review #4411",
    "Payment method mismatch",
    "Moyen de paiement non vérifié",
];

pub(crate) const REFUND_REASONS: &[&str] = &[
    "duplicate payment",
    "remboursé suite à un bug",
    "chargeback review #4411",
    "PSP timeout, player charged twice",
    "Dépôt débité deux fois",
];

pub(crate) const KYC_REASONS: &[&str] = &[
    "KYC documents verified",
    "Proof of address expired",
    "pièce d'identité illisible",
    "Source of funds requested",
    "Selfie does not match ID",
];

pub(crate) const LIMIT_REASONS: &[&str] = &[
    "à la demande du joueur",
    "Responsible gaming: affordability check",
    "Self-exclusion cooling-off ended",
    "Player requested a lower limit",
    "Limite abaissée après contact du joueur",
];

pub(crate) const EXPORT_REASONS: &[&str] = &[
    "Regulator request (ANJ)",
    "Monthly finance reconciliation",
    "Player data request (GDPR art. 15)",
    "Chargeback dispute evidence",
    "Demande de la direction",
];

pub(crate) const ROLE_REASONS: &[&str] = &[
    "New team assignment",
    "Temporary cover during holidays",
    "Left the VIP team",
    "Access review Q4",
    "Remplacement pendant les congés",
];

pub(crate) const SETTINGS_REASONS: &[&str] = &[
    "Change request CHG-1182",
    "Approved by compliance",
    "Weekend promotion",
    "Demande du service client",
];

/// Codes of bonuses staff grant by hand.
pub(crate) const BONUS_CODES: &[&str] = &[
    "GESTE-25",
    "VIP-RELOAD",
    "WELCOME100",
    "CASHBACK10",
    "FREESPINS50",
    "BIRTHDAY",
    "GOODWILL",
];

/// Reports: id and display name.
pub(crate) const REPORTS: &[(&str, &str)] = &[
    ("ggr-daily", "Daily GGR"),
    ("deposits-withdrawals", "Deposits and withdrawals"),
    ("bonus-cost", "Bonus cost by campaign"),
    ("players-high-value", "High-value players"),
    ("aml-alerts", "AML alerts"),
    ("chargebacks", "Chargebacks"),
];

/// Promotion names.
pub(crate) const PROMOTIONS: &[&str] = &[
    "Black Friday Free Spins",
    "Week-end Cashback 10 %",
    "Ramadan Kareem Reload",
    "Hanukkah Lights Bonus",
    "Champions League Boost",
    "Printemps : Reload 50 %",
];

/// Content pages: path and title.
pub(crate) const PAGES: &[(&str, &str)] = &[
    ("/promotions/welcome", "Welcome offer"),
    ("/help/withdrawals", "How withdrawals work"),
    ("/fr/jeu-responsable", "Jeu responsable"),
    ("/terms/bonus", "Bonus terms and conditions"),
];

/// Logins of people the admins create.
pub(crate) const NEW_HIRES: &[(&str, &str, &str)] = &[
    ("t.moreau", "Théo Moreau", "support"),
    ("s.walker", "Sam Walker", "finance"),
    ("r.mansouri", "Rania Mansouri", "support"),
    ("n.peretz", "Noam Peretz", "risk"),
    ("c.faure", "Clara Faure", "vip_manager"),
];

/// Secondary roles that admins grant and revoke.
pub(crate) const EXTRA_ROLES: &[&str] = &[
    "reports_viewer",
    "bonus_approver",
    "finance_viewer",
    "vip_manager",
];

/// Half the time, one of `reasons`.
pub(crate) fn maybe_reason(rng: &mut ChaCha8Rng, reasons: &[&'static str]) -> Option<String> {
    rng.gen_bool(0.5).then(|| pick(rng, reasons).to_owned())
}

/// One of `items`.
pub(crate) fn pick<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.gen_range(0..items.len())]
}

/// Whole euros in cents.
pub(crate) const fn eur(euros: i64) -> i64 {
    euros * 100
}

/// Euro cents as a JSON number with exactly two decimals: `125050` → `1250.50`.
pub(crate) fn money(cents: i64) -> Value {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let text = format!("{sign}{}.{:02}", abs / 100, abs % 100);
    Value::Number(text.parse::<Number>().expect("a decimal is a JSON number"))
}

/// A ticket in the support desk: `ZD-48213`.
pub(crate) fn ticket(rng: &mut ChaCha8Rng) -> String {
    format!("ZD-{}", rng.gen_range(40_000..60_000))
}

/// An amount in cents, log-uniform between `low` and `high` euros: most are small.
pub(crate) fn amount(rng: &mut ChaCha8Rng, low: f64, high: f64) -> i64 {
    (rng.gen_range(low.ln()..high.ln()).exp() * 100.0).round() as i64
}

/// A JSON object from pairs, in order.
pub(crate) fn object<const N: usize>(pairs: [(&str, Value); N]) -> Map<String, Value> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_keeps_two_decimals() {
        assert_eq!(
            serde_json::to_string(&money(eur(1_250) + 50)).unwrap(),
            "1250.50"
        );
        assert_eq!(serde_json::to_string(&money(-5)).unwrap(), "-0.05");
        assert_eq!(
            serde_json::to_string(&money(eur(1_000))).unwrap(),
            "1000.00"
        );
    }
}
