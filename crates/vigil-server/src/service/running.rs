//! How many live tails and exports each user has running: past a few, a user's next one is
//! refused (429 with `Retry-After`) so that one account cannot take the server's cores,
//! connections and memory from the others.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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
