//! When events happen: a window of whole hours weighted by a working-day rhythm, with exactly the
//! requested number of timestamps spread over it, handed out oldest first.
//!
//! The window is cut at clock-hour boundaries into buckets. Each bucket gets a weight (hour of
//! day, weekday or weekend, and a little seeded noise so that no two days look alike), and the
//! `total` timestamps are shared out by cumulative weight, rounding down, so the counts add up to
//! `total` exactly. A bucket's timestamps are drawn uniformly inside it and sorted only when the
//! stream reaches it: memory is one bucket's worth, whatever the total.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Microseconds in an hour.
pub(crate) const HOUR: i64 = 3_600_000_000;
/// Microseconds in a day.
pub(crate) const DAY: i64 = 24 * HOUR;

/// Relative activity by UTC hour of day on a weekday: office hours 08:00–20:00, a lunch dip, a
/// thin night shift.
const WEEKDAY: [f64; 24] = [
    0.12, 0.08, 0.07, 0.07, 0.08, 0.12, 0.22, 0.45, // 00–07
    0.85, 1.00, 1.00, 0.95, 0.75, 0.85, 1.00, 1.00, // 08–15
    0.95, 0.90, 0.80, 0.65, 0.45, 0.30, 0.22, 0.16, // 16–23
];
/// Saturdays and Sundays run at this fraction of a weekday.
const WEEKEND: f64 = 0.35;

/// One slice of the window, inside a single clock hour.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// First microsecond (since the Unix epoch).
    start: i64,
    /// Length in microseconds (an hour, or less at the window's ends).
    len: i64,
    /// Sum of the weights of this bucket and all before it.
    cumulative: f64,
}

/// Hands out `total` non-decreasing timestamps, in microseconds since the Unix epoch, all in
/// `[start, end)`.
#[derive(Debug, Clone)]
pub(crate) struct Clock {
    buckets: Vec<Bucket>,
    total: u64,
    /// The next bucket to fill.
    next_bucket: usize,
    /// How many timestamps the buckets before `next_bucket` received.
    allotted: u64,
    /// The current bucket's timestamps, sorted; `pending[cursor..]` are still to come.
    pending: Vec<i64>,
    cursor: usize,
}

impl Clock {
    /// Plans `total` timestamps in `[start, end)`, none in the clock hour that starts at
    /// `quiet` if one is given; `rng` draws the per-hour noise now and the timestamps later.
    pub(crate) fn new(
        start: i64,
        end: i64,
        total: u64,
        rng: &mut ChaCha8Rng,
        quiet: Option<i64>,
    ) -> Self {
        assert!(start < end, "the window must not be empty");
        let mut buckets = Vec::new();
        let mut cumulative = 0.0;
        let mut at = start;
        while at < end {
            let hour_end = (at.div_euclid(HOUR) + 1) * HOUR;
            let len = hour_end.min(end) - at;
            let noise = rng.gen_range(0.75..1.25);
            let silent = quiet.is_some_and(|q| at.div_euclid(HOUR) == q.div_euclid(HOUR));
            if !silent {
                cumulative += rhythm(at) * noise * len as f64 / HOUR as f64;
            }
            buckets.push(Bucket {
                start: at,
                len,
                cumulative,
            });
            at += len;
        }
        Clock {
            buckets,
            total,
            next_bucket: 0,
            allotted: 0,
            pending: Vec::new(),
            cursor: 0,
        }
    }

    /// The next timestamp without consuming it; `None` once all `total` are handed out.
    pub(crate) fn peek(&mut self, rng: &mut ChaCha8Rng) -> Option<i64> {
        while self.cursor == self.pending.len() {
            if self.next_bucket == self.buckets.len() {
                return None;
            }
            self.fill(rng);
        }
        Some(self.pending[self.cursor])
    }

    /// Consumes the timestamp that [`Clock::peek`] returned.
    pub(crate) fn advance(&mut self) {
        debug_assert!(
            self.cursor < self.pending.len(),
            "advance without a peeked timestamp"
        );
        self.cursor += 1;
    }

    /// Draws the next bucket's share of timestamps.
    fn fill(&mut self, rng: &mut ChaCha8Rng) {
        let i = self.next_bucket;
        let bucket = self.buckets[i];
        let grand_total = self.buckets.last().map_or(0.0, |b| b.cumulative);
        let through_here = if i + 1 == self.buckets.len() {
            self.total // the last bucket takes whatever rounding left over
        } else {
            let share = self.total as f64 * bucket.cumulative / grand_total;
            (share.floor() as u64).min(self.total)
        };
        let count = through_here.saturating_sub(self.allotted);
        self.allotted += count;
        self.next_bucket += 1;
        self.pending.clear();
        self.cursor = 0;
        self.pending
            .extend((0..count).map(|_| bucket.start + rng.gen_range(0..bucket.len)));
        self.pending.sort_unstable();
    }
}

/// Relative activity at an instant (microseconds since the epoch), by UTC hour and weekday.
fn rhythm(micros: i64) -> f64 {
    let day = micros.div_euclid(DAY);
    let hour = (micros.rem_euclid(DAY) / HOUR) as usize;
    let base = WEEKDAY[hour];
    if is_weekend(day) {
        base * WEEKEND
    } else {
        base
    }
}

/// Whether a day (counted from 1970-01-01, a Thursday) is a Saturday or Sunday.
pub(crate) fn is_weekend(day: i64) -> bool {
    // 0 = Monday.
    let weekday = (day + 3).rem_euclid(7);
    weekday >= 5
}

/// The UTC hour of day of an instant in microseconds.
pub(crate) fn hour_of_day(micros: i64) -> u32 {
    (micros.rem_euclid(DAY) / HOUR) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn drain(start: i64, end: i64, total: u64) -> Vec<i64> {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mut clock = Clock::new(start, end, total, &mut rng, None);
        let mut out = Vec::new();
        while let Some(t) = clock.peek(&mut rng) {
            clock.advance();
            out.push(t);
        }
        out
    }

    #[test]
    fn exact_count_inside_the_window_in_order() {
        // A window that starts and ends mid-hour.
        let start = 1_700_000_123_456_789;
        let end = start + 3 * DAY + 17 * 60_000_000;
        for total in [1, 2, 3, 24, 1000, 123_457] {
            let ts = drain(start, end, total);
            assert_eq!(ts.len() as u64, total);
            assert!(ts.windows(2).all(|w| w[0] <= w[1]));
            assert!(
                ts.iter().all(|&t| (start..end).contains(&t)),
                "total {total}"
            );
        }
    }

    #[test]
    fn office_hours_are_busier_than_nights() {
        let start = 1_699_920_000_000_000; // 2023-11-14, a Tuesday, 00:00 UTC
        let ts = drain(start, start + 2 * DAY, 100_000);
        let day = ts
            .iter()
            .filter(|&&t| (9..18).contains(&hour_of_day(t)))
            .count();
        let night = ts
            .iter()
            .filter(|&&t| (1..4).contains(&hour_of_day(t)))
            .count();
        assert!(day > 20 * night, "day {day}, night {night}");
    }

    #[test]
    fn weekday_arithmetic() {
        assert!(!is_weekend(0)); // 1970-01-01, a Thursday
        assert!(is_weekend(2)); // Saturday
        assert!(is_weekend(3)); // Sunday
        assert!(!is_weekend(4)); // Monday
    }
}
