//! Who acts: about forty back-office staff, three system jobs and one API client, with their usual
//! addresses and browsers. The roster is fixed (not drawn from the seed) so that the crate docs can
//! name people.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vigil_core::{Actor, ActorKind};

/// What an actor does all day; decides which actions it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Duty {
    Support,
    Finance,
    VipManager,
    Risk,
    Admin,
    /// `batch-bot`: nightly jobs, auto-approvals, expiring bonuses, scheduled reports.
    Batch,
    /// `kyc-service`: the identity provider's webhook.
    Kyc,
    /// `risk-engine`: automatic limits and fraud holds.
    RiskEngine,
    /// `affiliate-sync`: the affiliate partner's API client.
    Api,
}

impl Duty {
    /// The back-office role as written in `actor.role`.
    pub(crate) fn role(self) -> Option<&'static str> {
        match self {
            Duty::Support => Some("support"),
            Duty::Finance => Some("finance"),
            Duty::VipManager => Some("vip_manager"),
            Duty::Risk => Some("risk"),
            Duty::Admin => Some("admin"),
            Duty::Batch | Duty::Kyc | Duty::RiskEngine | Duty::Api => None,
        }
    }

    /// How busy this kind of actor is, relative to a support agent.
    fn activity(self) -> f64 {
        match self {
            Duty::Support | Duty::Finance => 1.0,
            Duty::VipManager | Duty::Risk => 0.8,
            Duty::Admin => 0.35,
            Duty::Batch => 3.0,
            Duty::Kyc => 1.5,
            Duty::RiskEngine => 0.8,
            Duty::Api => 2.5,
        }
    }
}

/// Browsers seen in the back office.
pub(crate) const BROWSERS: [&str; 5] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
];

/// The staff: login, display name, duty, and whether they work night shifts.
const STAFF: &[(&str, &str, Duty, bool)] = &[
    ("m.dupont", "Marie Dupont", Duty::Support, false),
    ("j.smith", "James Smith", Duty::Support, true),
    ("a.benali", "Amine Benali", Duty::Support, true),
    ("l.martin", "Lucas Martin", Duty::Support, false),
    ("e.marchand", "Élodie Marchand", Duty::Support, false),
    ("o.wilson", "Olivia Wilson", Duty::Support, true),
    ("y.amrani", "Yasmine Amrani", Duty::Support, false),
    ("n.friedman", "Noa Friedman", Duty::Support, true),
    ("k.haddad", "Karim Haddad", Duty::Support, false),
    ("c.lefevre", "Chloé Lefèvre", Duty::Support, false),
    ("d.taylor", "Daniel Taylor", Duty::Support, true),
    ("r.bendavid", "Rachel Ben David", Duty::Support, false),
    ("z.benhamou", "Zoé Benhamou", Duty::Support, false),
    ("k.morel", "Kevin Morel", Duty::Finance, false),
    ("f.mansour", "Fatima Mansour", Duty::Finance, false),
    ("h.clarke", "Harry Clarke", Duty::Finance, false),
    ("a.levi", "Avi Levi", Duty::Finance, false),
    ("c.bernard", "Camille Bernard", Duty::Finance, false),
    ("s.elidrissi", "Samir El Idrissi", Duty::Finance, false),
    ("e.johnson", "Emily Johnson", Duty::Finance, false),
    ("m.rosen", "Miriam Rosen", Duty::Finance, false),
    ("t.girard", "Thomas Girard", Duty::VipManager, false),
    ("l.hassan", "Leila Hassan", Duty::VipManager, false),
    ("g.evans", "George Evans", Duty::VipManager, false),
    ("d.mizrahi", "Dana Mizrahi", Duty::VipManager, false),
    ("j.roux", "Julien Roux", Duty::VipManager, false),
    ("i.khalil", "Inès Khalil", Duty::VipManager, false),
    ("b.dubois", "Baptiste Dubois", Duty::Risk, false),
    ("o.katz", "Omer Katz", Duty::Risk, true),
    ("n.saidi", "Nadia Saïdi", Duty::Risk, false),
    ("p.walker", "Peter Walker", Duty::Risk, false),
    ("a.fontaine", "Anaïs Fontaine", Duty::Risk, false),
    ("m.aitali", "Mehdi Aït Ali", Duty::Risk, false),
    ("r.green", "Rebecca Green", Duty::Risk, false),
    ("s.cohen", "Sarah Cohen", Duty::Admin, false),
    ("p.lambert", "Pierre Lambert", Duty::Admin, false),
    ("e.shapiro", "Eitan Shapiro", Duty::Admin, false),
    ("w.harris", "William Harris", Duty::Admin, false),
    ("y.benyamin", "Yossi Ben Yamin", Duty::Admin, true),
    ("h.bouaziz", "Hana Bouaziz", Duty::Finance, false),
];

/// A job or API client: an actor that is not a person.
struct Job {
    id: &'static str,
    name: &'static str,
    duty: Duty,
    kind: ActorKind,
    ip: Option<[u8; 4]>,
    user_agent: &'static str,
}

const JOBS: [Job; 4] = [
    Job {
        id: "batch-bot",
        name: "Nightly batch",
        duty: Duty::Batch,
        kind: ActorKind::System,
        ip: None,
        user_agent: "vigil-batch/2.3",
    },
    Job {
        id: "kyc-service",
        name: "KYC provider webhook",
        duty: Duty::Kyc,
        kind: ActorKind::System,
        ip: Some([198, 51, 100, 200]),
        user_agent: "KycWebhook/1.4",
    },
    Job {
        id: "risk-engine",
        name: "Risk rules engine",
        duty: Duty::RiskEngine,
        kind: ActorKind::System,
        ip: None,
        user_agent: "risk-engine/5.0",
    },
    Job {
        id: "affiliate-sync",
        name: "Affiliate partner sync",
        duty: Duty::Api,
        kind: ActorKind::Api,
        ip: Some([203, 0, 113, 240]),
        user_agent: "affiliate-sync/3.1 (+https://partners.example.com)",
    },
];

/// Someone (or something) that acts in the back office.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// As it appears in events.
    pub actor: Actor,
    pub duty: Duty,
    /// Works nights: weighted up between 21:00 and 07:00.
    pub night_shift: bool,
    /// Usual addresses, the first one most of the time; empty for jobs that send none.
    pub ips: Vec<IpAddr>,
    pub user_agent: &'static str,
}

impl Member {
    /// The weight of this member among all actors, by day or by night.
    pub(crate) fn weight(&self, night: bool) -> f64 {
        let base = self.duty.activity();
        match (night, self.duty.role().is_some(), self.night_shift) {
            (false, _, _) => base,
            (true, false, _) => base * 2.0, // jobs run at night, and night is quiet for people
            (true, true, true) => base * 0.6,
            (true, true, false) => base * 0.02,
        }
    }
}

/// Everybody.
#[derive(Debug, Clone)]
pub(crate) struct Roster {
    pub members: Vec<Member>,
}

impl Roster {
    /// Builds the fixed roster.
    pub(crate) fn new() -> Self {
        let mut members: Vec<Member> = STAFF
            .iter()
            .enumerate()
            .map(|(i, &(id, name, duty, night_shift))| Member {
                actor: actor(id, Some(name), duty.role(), ActorKind::Staff),
                duty,
                night_shift,
                ips: office_ips(i),
                user_agent: BROWSERS[i % BROWSERS.len()],
            })
            .collect();
        members.extend(JOBS.iter().map(|job| {
            Member {
                actor: actor(job.id, Some(job.name), None, job.kind),
                duty: job.duty,
                night_shift: true,
                ips: job
                    .ip
                    .map(|[a, b, c, d]| v4(a, b, c, d))
                    .into_iter()
                    .collect(),
                user_agent: job.user_agent,
            }
        }));
        Roster { members }
    }

    /// The member with this login. Panics if there is none: ids come from this file.
    pub(crate) fn index(&self, id: &str) -> usize {
        self.members
            .iter()
            .position(|m| m.actor.id == id)
            .unwrap_or_else(|| panic!("{id} is not on the roster"))
    }

    /// The staff (not jobs or API clients).
    pub(crate) fn staff(&self) -> impl Iterator<Item = &Member> {
        self.members.iter().filter(|m| m.duty.role().is_some())
    }
}

fn actor(id: &str, name: Option<&str>, role: Option<&str>, kind: ActorKind) -> Actor {
    Actor {
        id: id.to_owned(),
        name: name.map(str::to_owned),
        role: role.map(str::to_owned),
        kind: Some(kind),
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

/// The i-th staff member's addresses: an office address in 203.0.113.0/24; every third person also
/// a VPN address in 198.51.100.0/24, and a few an IPv6 address in 2001:db8::/32 instead.
fn office_ips(i: usize) -> Vec<IpAddr> {
    let n = u8::try_from(i).expect("fewer than 200 staff");
    let mut ips = vec![v4(203, 0, 113, 11 + n)];
    if i % 10 == 4 {
        ips.push(IpAddr::V6(Ipv6Addr::new(
            0x2001,
            0xdb8,
            0x7a1,
            0x10,
            0,
            0,
            0,
            0x100 + u16::from(n),
        )));
    } else if i.is_multiple_of(3) {
        ips.push(v4(198, 51, 100, 31 + n));
    }
    ips
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_roles_cover_the_back_office() {
        let roster = Roster::new();
        let mut ids: Vec<&str> = roster.members.iter().map(|m| m.actor.id.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), roster.members.len());
        assert_eq!(roster.staff().count(), 40);
        for role in ["support", "finance", "vip_manager", "risk", "admin"] {
            assert!(
                roster
                    .staff()
                    .any(|m| m.actor.role.as_deref() == Some(role)),
                "{role}"
            );
        }
    }
}
