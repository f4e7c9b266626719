//! The casino's players: 2,000 accounts with Zipf-like popularity (a few are in the back office
//! every day, most rarely) and the state that changes as staff act on them, so that one event's
//! `after` is the next one's `before`.
//!
//! Like the roster, the player table is fixed (its own constant seed), so the docs can name the
//! players of the suspicious stories.

use rand::distributions::{Distribution, WeightedIndex};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use vigil_core::Target;

/// How many players there are.
pub(crate) const COUNT: usize = 2_000;

const FIRST: &[&str] = &[
    "Julien",
    "Camille",
    "Sébastien",
    "Manon",
    "Nicolas",
    "Léa",
    "Hugo",
    "Céline",
    "Mathieu",
    "Aurélie",
    "Oliver",
    "Charlotte",
    "Jack",
    "Amelia",
    "Harry",
    "Grace",
    "Ryan",
    "Megan",
    "Liam",
    "Hannah",
    "Mohamed",
    "Sofia",
    "Youssef",
    "Amira",
    "Omar",
    "Nour",
    "Rachid",
    "Salma",
    "Bilal",
    "Meriem",
    "David",
    "Noa",
    "Yonatan",
    "Tamar",
    "Ariel",
    "Shira",
    "Eli",
    "Maya",
    "Itai",
    "Yael",
    "João",
    "Ana",
    "Lukas",
    "Emma",
    "Marco",
    "Giulia",
    "Piotr",
    "Zofia",
    "Erik",
    "Ingrid",
];

const LAST: &[&str] = &[
    "Leroy",
    "Moreau",
    "Fournier",
    "Girard",
    "Bonnet",
    "Durand",
    "Lefèvre",
    "Mercier",
    "Faure",
    "Rousseau",
    "Walker",
    "Wright",
    "Thompson",
    "Hughes",
    "Robinson",
    "Hall",
    "Wood",
    "Turner",
    "Cooper",
    "Ward",
    "Belkacem",
    "Cherif",
    "Mansouri",
    "Bouzid",
    "Haddad",
    "Khalil",
    "Nasser",
    "Zeroual",
    "Toumi",
    "Saadi",
    "Levy",
    "Cohen",
    "Peretz",
    "Biton",
    "Friedman",
    "Azoulay",
    "Dahan",
    "Ohana",
    "Katz",
    "Golan",
    "Silva",
    "Costa",
    "Müller",
    "Schmidt",
    "Rossi",
    "Bianchi",
    "Nowak",
    "Kowalski",
    "Lindqvist",
    "Berg",
];

/// Where a player's identity check stands.
pub(crate) const KYC: [&str; 6] = [
    "not_started",
    "pending",
    "documents_requested",
    "verified",
    "rejected",
    "review_required",
];

/// One account.
#[derive(Debug, Clone)]
pub(crate) struct Player {
    /// Numeric, as a string: `"104219"`.
    pub id: String,
    pub name: String,
    /// Cash balance in euro cents.
    pub balance: i64,
    /// Index into [`KYC`].
    pub kyc: usize,
    /// Daily deposit limit in euro cents, if the player set one.
    pub deposit_limit: Option<i64>,
}

impl Player {
    /// The player as an event's target.
    pub(crate) fn target(&self) -> Target {
        Target {
            kind: "player".to_owned(),
            id: self.id.clone(),
            name: Some(self.name.clone()),
        }
    }
}

/// All players and how often each comes up.
#[derive(Debug, Clone)]
pub(crate) struct Players {
    pub list: Vec<Player>,
    popularity: WeightedIndex<f64>,
}

impl Players {
    /// The fixed table: ids from 100,000 upwards in random steps, shuffled so that popularity does
    /// not follow the id.
    pub(crate) fn new() -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(0x05EE_D0F9_A1E5);
        let mut id = 100_000u32;
        let mut list: Vec<Player> = (0..COUNT)
            .map(|_| {
                id += rng.gen_range(1..400);
                let name = format!(
                    "{} {}",
                    FIRST[rng.gen_range(0..FIRST.len())],
                    LAST[rng.gen_range(0..LAST.len())]
                );
                let balance = (rng.gen_range(1.0f64..9.5).exp() * 100.0) as i64;
                let kyc = if rng.gen_bool(0.8) {
                    3
                } else {
                    rng.gen_range(0..3)
                };
                let deposit_limit = rng.gen_bool(0.3).then(|| {
                    crate::texts::eur([100, 250, 500, 1_000, 2_000, 5_000][rng.gen_range(0..6)])
                });
                Player {
                    id: id.to_string(),
                    name,
                    balance,
                    kyc,
                    deposit_limit,
                }
            })
            .collect();
        // Fisher–Yates by hand so that the table does not depend on rand's shuffle algorithm.
        for i in (1..list.len()).rev() {
            list.swap(i, rng.gen_range(0..=i));
        }
        let weights = (0..COUNT).map(|rank| 1.0 / (rank as f64 + 2.0).powf(0.95));
        let popularity = WeightedIndex::new(weights).expect("positive weights");
        Players { list, popularity }
    }

    /// A player, the popular ones more often.
    pub(crate) fn pick(&self, rng: &mut ChaCha8Rng) -> usize {
        self.popularity.sample(rng)
    }
}

/// The next KYC status after a review of a player whose status is `current`.
pub(crate) fn next_kyc(current: usize, rng: &mut ChaCha8Rng) -> usize {
    match KYC[current] {
        "not_started" => 1,
        "pending" => [2, 3, 3, 3, 4][rng.gen_range(0..5)],
        "documents_requested" => 1,
        "verified" => 5,
        "rejected" => 1,
        _ => [3, 3, 4][rng.gen_range(0..3)], // review_required
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_numeric() {
        let players = Players::new();
        let mut ids: Vec<u32> = players.list.iter().map(|p| p.id.parse().unwrap()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), COUNT);
    }

    #[test]
    fn popularity_is_skewed() {
        let players = Players::new();
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut hits = vec![0u32; COUNT];
        for _ in 0..100_000 {
            hits[players.pick(&mut rng)] += 1;
        }
        assert!(
            hits[0] > 50 * hits[1500].max(1),
            "{} vs {}",
            hits[0],
            hits[1500]
        );
    }
}
