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
    fn jitter_stays_within_bounds() {
        let mut b = Backoff::new(Duration::from_millis(1000), Duration::from_secs(60), 0.2);
        for _ in 0..200 {
            b.reset();
            let d = b.next_delay().as_millis();
            assert!((800..=1200).contains(&d), "{d}");
        }
        assert_eq!(b.attempts(), 1);
    }
}
