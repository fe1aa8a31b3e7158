//! Sliding-window budgets. A ring of the last N event times caps a benign
//! actor at N events per window, which keeps it under a detection threshold.

/// A time long before any simulated time: an empty ring slot.
pub const NEVER: i64 = i64::MIN / 4;

/// True when fewer than `ring.len()` of its times are inside `window`.
pub fn room(ring: &[i64], now: i64, window: i64) -> bool {
    ring.iter().any(|&t| now - t >= window)
}

/// Record an event at `now`, replacing the oldest time.
pub fn note(ring: &mut [i64], now: i64) {
    if let Some(oldest) = ring.iter_mut().min() {
        *oldest = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_of_two_allows_two_per_window() {
        let mut ring = [NEVER; 2];
        assert!(room(&ring, 0, 300_000));
        note(&mut ring, 0);
        note(&mut ring, 10);
        assert!(!room(&ring, 20, 300_000));
        assert!(room(&ring, 300_000, 300_000));
    }
}
