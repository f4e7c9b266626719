//! How many live tails and exports each user has running: past a few, a user's next one is
//! refused (429 with `Retry-After`) so that one account cannot take the server's cores,
//! connections and memory from the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{Fault, Refusal};

/// Live tails one user may have open at once.
pub const TAILS_PER_USER: usize = 5;
/// Exports one user may have running at once.
pub const EXPORTS_PER_USER: usize = 2;

/// What is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Work {
    /// A live tail.
    Tail,
    /// An export.
    Export,
}

impl Work {
    fn limit(self) -> usize {
        match self {
            Work::Tail => TAILS_PER_USER,
            Work::Export => EXPORTS_PER_USER,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Work::Tail => "live tails",
            Work::Export => "exports",
        }
    }
}

/// The counts, shared by the server's requests.
#[derive(Debug, Default)]
pub struct Running {
    counts: Mutex<HashMap<(Work, String), usize>>,
    failed_sign_ins: Mutex<HashMap<std::net::IpAddr, Failures>>,
    password_changes: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// One address's recent failed sign-ins, and the lock they set.
#[derive(Debug, Default)]
struct Failures {
    times: Vec<DateTime<Utc>>,
    locked_until: Option<DateTime<Utc>>,
}

/// Failed sign-ins from one address (an IPv4 address, or an IPv6 /64) within
/// [`ADDRESS_WINDOW`] that lock the address for sign-in, whatever names it tries.
pub const ADDRESS_FAILURES: usize = 20;
/// The window of [`ADDRESS_FAILURES`], and how long the lock lasts from the oldest of them.
pub const ADDRESS_WINDOW: chrono::Duration = chrono::Duration::minutes(15);
/// Addresses remembered at most; past it, those without a recent failure are forgotten first.
const ADDRESSES: usize = 100_000;

/// The address sign-in failures are counted under: IPv6 by its /64 (one host usually has a
/// whole /64 to rotate through).
fn counted_as(ip: std::net::IpAddr) -> std::net::IpAddr {
    match ip.to_canonical() {
        std::net::IpAddr::V6(v6) => {
            let mut s = v6.segments();
            s[4..].fill(0);
            std::net::IpAddr::V6(s.into())
        }
        v4 => v4,
    }
}

impl Running {
    /// When the lock on signing in from `ip` ends, if one holds at `now`.
    pub fn address_locked(
        &self,
        ip: std::net::IpAddr,
        now: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let failures = self.failed_sign_ins.lock().expect("sign-in failures");
        failures
            .get(&counted_as(ip))?
            .locked_until
            .filter(|until| *until > now)
    }

    /// Counts a failed sign-in from `ip`: whether it locked the address now (for
    /// [`ADDRESS_WINDOW`] from now).
    pub fn sign_in_failed_from(&self, ip: std::net::IpAddr, now: DateTime<Utc>) -> bool {
        let mut failures = self.failed_sign_ins.lock().expect("sign-in failures");
        let fresh = |f: &Failures| {
            f.times.iter().any(|t| *t > now - ADDRESS_WINDOW)
                || f.locked_until.is_some_and(|u| u > now)
        };
        if failures.len() >= ADDRESSES {
            failures.retain(|_, f| fresh(f));
            if failures.len() >= ADDRESSES {
                failures.clear();
            }
        }
        let f = failures.entry(counted_as(ip)).or_default();
        f.times.retain(|t| *t > now - ADDRESS_WINDOW);
        f.times.push(now);
        if f.locked_until.is_some_and(|u| u > now) || f.times.len() < ADDRESS_FAILURES {
            return false;
        }
        f.locked_until = Some(now + ADDRESS_WINDOW);
        f.times.clear();
        true
    }

    /// The lock that makes one user's password checks (changing their own) one at a time.
    pub fn password_change(&self, user: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.password_changes.lock().expect("password changes");
        // Forget the ones nobody holds (a user's lock lives while a change runs).
        locks.retain(|_, l| Arc::strong_count(l) > 1);
        locks.entry(user.to_owned()).or_default().clone()
    }
}

/// One running tail or export; the count goes down when it is dropped.
#[derive(Debug)]
pub struct Slot {
    running: Arc<Running>,
    key: (Work, String),
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut counts = self.running.counts.lock().expect("running counts");
        if let Some(n) = counts.get_mut(&self.key) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.key);
            }
        }
    }
}

/// A user has as many tails or exports running as they may.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{user:?} already has {limit} {what} running, the most one user may: close one, or try again shortly")]
pub struct Busy {
    /// Who.
    pub user: String,
    /// What.
    pub what: &'static str,
    /// The limit.
    pub limit: usize,
}

impl Refusal for Busy {
    fn fault(&self) -> Fault {
        Fault::Busy
    }
    fn code(&self) -> &'static str {
        "too_many"
    }
}

impl Running {
    /// Counts one more `work` for `user`, or refuses it past the limit.
    pub fn take(self: &Arc<Self>, work: Work, user: &str) -> Result<Slot, Busy> {
        let key = (work, user.to_owned());
        let mut counts = self.counts.lock().expect("running counts");
        let n = counts.entry(key.clone()).or_default();
        if *n >= work.limit() {
            return Err(Busy {
                user: user.to_owned(),
                what: work.name(),
                limit: work.limit(),
            });
        }
        *n += 1;
        Ok(Slot {
            running: self.clone(),
            key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_up_to_the_limit_and_a_slot_comes_back_when_dropped() {
        let running = Arc::new(Running::default());
        let slots: Vec<Slot> = (0..EXPORTS_PER_USER)
            .map(|_| running.take(Work::Export, "ann").unwrap())
            .collect();
        let busy = running.take(Work::Export, "ann").unwrap_err();
        assert_eq!(
            busy.to_string(),
            "\"ann\" already has 2 exports running, the most one user may: close one, or try again shortly"
        );
        assert!(running.take(Work::Export, "bob").is_ok(), "per user");
        assert!(running.take(Work::Tail, "ann").is_ok(), "per kind");
        drop(slots);
        assert!(running.take(Work::Export, "ann").is_ok());
        assert!(running.counts.lock().unwrap().is_empty());
    }
}
