//! The retry policy the store's outbox follows: exponential backoff from
//! 15 s, doubling, capped at 30 min, with a little jitter so that messages
//! that failed together (the relay was down) do not all retry in the same
//! second; a message is dead after [`MAX_ATTEMPTS`] attempts, about a day.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// The first retry's delay.
pub const FIRST_DELAY: Duration = Duration::from_secs(15);
/// No wait is ever longer than this.
pub const MAX_DELAY: Duration = Duration::from_secs(30 * 60);
/// Attempts (the first one included) before a message is given up as dead.
/// 15 s, 30 s, … 16 min, then every 30 min: the 54th attempt falls about
/// 23.5 hours after the first, so a relay down for most of a day still gets
/// the mail.
pub const MAX_ATTEMPTS: u32 = 54;

/// How long to wait after the `attempt`-th failed attempt (1-based; 0 is
/// treated as 1) before the next one. Never decreases with `attempt` and
/// never exceeds [`MAX_DELAY`]: the jitter (up to +10 %) is added before the
/// cap.
pub fn backoff(attempt: u32) -> Duration {
    let doublings = attempt.saturating_sub(1).min(20);
    let base = FIRST_DELAY.saturating_mul(1u32 << doublings);
    let jittered = base + base.mul_f64(jitter_fraction() * 0.1);
    jittered.min(MAX_DELAY)
}

/// A number in [0, 1). The std hasher is seeded randomly per process and
/// per `RandomState`: random enough to spread retries, without a dependency.
fn jitter_fraction() -> f64 {
    let bits = std::hash::RandomState::new().build_hasher().finish();
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_starts_at_15s_doubles_and_is_capped() {
        for _ in 0..50 {
            let first = backoff(1);
            assert!(
                first >= FIRST_DELAY && first < FIRST_DELAY.mul_f64(1.1),
                "{first:?}"
            );
            let second = backoff(2);
            assert!(second >= Duration::from_secs(30) && second < Duration::from_secs(33));
            let zero = backoff(0);
            assert!(
                zero >= FIRST_DELAY && zero < FIRST_DELAY.mul_f64(1.1),
                "{zero:?}"
            );
            let mut previous = Duration::ZERO;
            for attempt in 1..=200 {
                let delay = backoff(attempt);
                assert!(
                    delay >= previous,
                    "attempt {attempt}: {delay:?} < {previous:?}"
                );
                assert!(delay <= MAX_DELAY);
                previous = delay;
            }
            assert_eq!(backoff(u32::MAX), MAX_DELAY);
        }
    }

    #[test]
    fn max_attempts_span_about_a_day() {
        let total: Duration = (1..MAX_ATTEMPTS).map(backoff).sum();
        let hours = total.as_secs_f64() / 3600.0;
        assert!((20.0..=26.0).contains(&hours), "{hours} h");
    }
}
