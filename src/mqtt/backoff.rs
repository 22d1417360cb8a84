//! Jittered exponential backoff, used for broker reconnects and request retries.

use std::time::Duration;

/// Exponential delays `initial, 2×initial, 4×initial, ...` capped at `max`, each
/// spread by ±`jitter` (0.2 = ±20 %) so that many clients do not retry in step.
#[derive(Debug, Clone)]
pub struct Backoff {
    initial: Duration,
    max: Duration,
    jitter: f64,
    attempt: u32,
}

impl Backoff {
    pub fn new(initial: Duration, max: Duration, jitter: f64) -> Backoff {
        Backoff {
            initial,
            max: max.max(initial),
            jitter: jitter.clamp(0.0, 1.0),
            attempt: 0,
        }
    }

    /// The nominal (un-jittered) delay before retry number `attempt` (0-based).
    pub fn nominal(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX);
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The next delay, jittered; advances the attempt counter.
    pub fn next_delay(&mut self) -> Duration {
        let nominal = self.nominal(self.attempt);
        self.attempt = self.attempt.saturating_add(1);
        jittered(nominal, self.jitter)
    }

    /// Back to the initial delay (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// How many delays were handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }
}

/// `d` scaled by a uniform factor in `[1 - jitter, 1 + jitter]`.
pub fn jittered(d: Duration, jitter: f64) -> Duration {
    if jitter <= 0.0 {
        return d;
    }
    let factor = 1.0 + jitter * (fastrand::f64() * 2.0 - 1.0);
    d.mul_f64(factor.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap() {
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(5), 0.0);
        let delays: Vec<u64> = (0..5).map(|i| b.nominal(i).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 5, 5]);
        assert_eq!(b.nominal(1000), Duration::from_secs(5));
    }

    #[test]
    fn jitter_stays_within_bounds_and_spreads_the_delays() {
        let mut b = Backoff::new(Duration::from_millis(1000), Duration::from_secs(60), 0.2);
        let delays: Vec<u128> = (0..400)
            .map(|_| {
                b.reset();
                b.next_delay().as_micros()
            })
            .collect();
        assert_eq!(b.attempts(), 1);
        for d in &delays {
            assert!((800_000..=1_200_000).contains(d), "{d} µs");
        }
        // Spread over the whole ±20 %, not bunched at the nominal delay (a
        // jitter of 0 passes the bounds above). For uniform jitter each check
        // fails by chance with a probability below 1e-13.
        let below = delays.iter().filter(|&&d| d < 900_000).count();
        let above = delays.iter().filter(|&&d| d > 1_100_000).count();
        assert!(
            below > 40 && above > 40,
            "{below} below 0.9 s, {above} above 1.1 s"
        );
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 300, "{} distinct delays", distinct.len());
        let mean = delays.iter().sum::<u128>() / delays.len() as u128;
        assert!((950_000..=1_050_000).contains(&mean), "centred: {mean} µs");
    }

    #[test]
    fn jitter_applies_to_each_doubled_delay() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(60), 0.2);
        let d: Vec<u128> = (0..3).map(|_| b.next_delay().as_micros()).collect();
        assert!((80_000..=120_000).contains(&d[0]), "{d:?}");
        assert!((160_000..=240_000).contains(&d[1]), "{d:?}");
        assert!((320_000..=480_000).contains(&d[2]), "{d:?}");
        let mut exact = Backoff::new(Duration::from_millis(100), Duration::from_secs(60), 0.0);
        assert_eq!(exact.next_delay(), Duration::from_millis(100));
        assert_eq!(exact.next_delay(), Duration::from_millis(200));
    }
}
