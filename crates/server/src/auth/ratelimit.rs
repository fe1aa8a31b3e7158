//! Failed-login throttling: after `max` failures from one client IP (or for
//! one user name) within `window`, further attempts are refused until the
//! oldest failure leaves the window. Memory is bounded: at most
//! `MAX_KEYS` keys are tracked; the least recently failing are dropped first.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

const MAX_KEYS: usize = 100_000;

pub struct LoginThrottle {
    max: usize,
    window_ms: i64,
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

impl LoginThrottle {
    pub fn new(max: u32, window_ms: i64) -> LoginThrottle {
        LoginThrottle {
            max: max.max(1) as usize,
            window_ms,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Some(ms to wait)` when `key` is throttled at `now_ms`.
    pub fn check(&self, key: &str, now_ms: i64) -> Option<i64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let q = map.get_mut(key)?;
        while q.front().is_some_and(|t| *t <= now_ms - self.window_ms) {
            q.pop_front();
        }
        if q.len() >= self.max {
            q.front().map(|t| (t + self.window_ms - now_ms).max(1))
        } else {
            None
        }
    }

    pub fn fail(&self, key: &str, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS && !map.contains_key(key) {
            let cutoff = now_ms - self.window_ms;
            map.retain(|_, q| q.back().is_some_and(|t| *t > cutoff));
            if map.len() >= MAX_KEYS {
                // Everyone is inside the window: drop the oldest tenth.
                let mut last: Vec<i64> = map.values().filter_map(|q| q.back().copied()).collect();
                last.sort_unstable();
                let cut = last.get(MAX_KEYS / 10).copied().unwrap_or(i64::MAX);
                map.retain(|_, q| q.back().is_some_and(|t| *t > cut));
            }
        }
        let q = map.entry(key.to_string()).or_default();
        q.push_back(now_ms);
        while q.len() > self.max {
            q.pop_front();
        }
    }

    pub fn succeed(&self, key: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttles_after_max_failures_until_window_passes() {
        let t = LoginThrottle::new(3, 60_000);
        for i in 0..3 {
            assert_eq!(t.check("ip:1.2.3.4", 1000 + i), None);
            t.fail("ip:1.2.3.4", 1000 + i);
        }
        let wait = t.check("ip:1.2.3.4", 2000).expect("throttled");
        assert_eq!(wait, 1000 + 60_000 - 2000);
        assert_eq!(t.check("ip:5.6.7.8", 2000), None, "per key");
        assert_eq!(
            t.check("ip:1.2.3.4", 61_001),
            None,
            "oldest failure left the window"
        );
        t.succeed("ip:5.6.7.8");
    }
}
