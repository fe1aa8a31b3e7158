//! Heavy hitters in bounded memory: the Misra–Gries summary with batched
//! decrements (Agarwal et al., "Mergeable Summaries", 2012).
//!
//! Up to `2 * keep` keys are counted exactly. Inserting one more key first
//! prunes the table: the `(keep + 1)`-th largest count `c` is subtracted from
//! every counter and counters that reach zero are dropped, leaving at most
//! `keep`. Each prune removes at least `c * (keep + 1)` from the total, so a
//! reported count is never above the true count and at most
//! `max_error <= N / (keep + 1)` below it. A prune costs O(table) but frees at
//! least `keep` slots, so its cost per insert is constant.
//!
//! Merging adds the counters and errors and prunes if the union is too large,
//! which keeps the same bound. While no prune happened anywhere, counts are
//! exact and merging gives exactly what one summary of the whole stream gives.

use hashbrown::HashMap;
use std::borrow::Borrow;
use std::hash::Hash;

#[derive(Debug, Clone)]
pub(crate) struct HeavyHitters<K> {
    counts: HashMap<K, u64>,
    keep: usize,
    max_error: u64,
}

impl<K: Hash + Eq> HeavyHitters<K> {
    pub(crate) fn new(keep: usize) -> Self {
        HeavyHitters {
            counts: HashMap::new(),
            keep: keep.max(1),
            max_error: 0,
        }
    }

    /// Count `key` once; `own` makes the stored key, called only for a new key.
    #[inline]
    pub(crate) fn add<Q>(&mut self, key: &Q, own: impl FnOnce(&Q) -> K)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        if !self.increment(key) {
            self.insert_new(own(key), 1);
        }
    }

    /// Count `key` once if it is counted already; false if it is not.
    #[inline]
    pub(crate) fn increment<Q>(&mut self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        match self.counts.get_mut(key) {
            Some(n) => {
                *n += 1;
                true
            }
            None => false,
        }
    }

    pub(crate) fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.counts.contains_key(key)
    }

    /// True when inserting a key not yet counted will prune first.
    pub(crate) fn is_full(&self) -> bool {
        self.counts.len() >= self.capacity()
    }

    /// Keys counted before the next new key prunes.
    pub(crate) fn capacity(&self) -> usize {
        self.keep.saturating_mul(2)
    }

    /// Insert a key known to be absent.
    pub(crate) fn insert_new(&mut self, key: K, n: u64) {
        if self.is_full() {
            self.prune();
        }
        self.counts.insert(key, n);
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.counts.keys()
    }

    pub(crate) fn len(&self) -> usize {
        self.counts.len()
    }

    /// How far below the true count a reported count can be (0: exact).
    pub(crate) fn max_error(&self) -> u64 {
        self.max_error
    }

    pub(crate) fn merge(&mut self, other: HeavyHitters<K>) {
        self.max_error = self.max_error.saturating_add(other.max_error);
        self.counts.reserve(other.counts.len());
        for (k, n) in other.counts {
            let slot = self.counts.entry(k).or_insert(0);
            *slot = slot.saturating_add(n);
        }
        if self.counts.len() > self.capacity() {
            self.prune();
        }
    }

    fn prune(&mut self) {
        if self.counts.len() <= self.keep {
            return;
        }
        let mut values: Vec<u64> = self.counts.values().copied().collect();
        let (_, cut, _) = values.select_nth_unstable_by(self.keep, |a, b| b.cmp(a));
        let cut = *cut;
        self.counts.retain(|_, n| {
            if *n > cut {
                *n -= cut;
                true
            } else {
                false
            }
        });
        self.max_error = self.max_error.saturating_add(cut);
    }

    /// The `n` largest counts, largest first; ties by key so output is deterministic.
    pub(crate) fn top(&self, n: usize) -> Vec<(&K, u64)>
    where
        K: Ord,
    {
        let mut all: Vec<(&K, u64)> = self.counts.iter().map(|(k, c)| (k, *c)).collect();
        let by_rank = |a: &(&K, u64), b: &(&K, u64)| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0));
        if all.len() > n && n > 0 {
            all.select_nth_unstable_by(n - 1, by_rank);
            all.truncate(n);
        } else if n == 0 {
            all.clear();
        }
        all.sort_unstable_by(by_rank);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(h: &mut HeavyHitters<Box<str>>, key: &str) {
        h.add(key, |k: &str| Box::from(k));
    }

    #[test]
    fn exact_below_capacity() {
        let mut h = HeavyHitters::new(4);
        for k in ["a", "b", "a", "c", "a", "b"] {
            add(&mut h, k);
        }
        let top: Vec<(&str, u64)> = h.top(2).into_iter().map(|(k, n)| (&**k, n)).collect();
        assert_eq!(top, vec![("a", 3), ("b", 2)]);
        assert_eq!(h.max_error(), 0);
    }

    #[test]
    fn bounded_with_error_bound() {
        let keep = 8;
        let mut h = HeavyHitters::new(keep);
        let mut total = 0u64;
        for i in 0..10_000u32 {
            // One heavy key among many distinct light ones.
            add(&mut h, "heavy");
            add(&mut h, &format!("light{i}"));
            total += 2;
            assert!(h.len() <= 2 * keep);
        }
        assert!(h.max_error() <= total / (keep as u64 + 1));
        let top = h.top(1);
        assert_eq!(&**top[0].0, "heavy");
        assert!(top[0].1 <= 10_000 && top[0].1 + h.max_error() >= 10_000);
    }

    #[test]
    fn merge_keeps_the_bound() {
        let keep = 4;
        let mut a = HeavyHitters::new(keep);
        let mut b = HeavyHitters::new(keep);
        for i in 0..500u32 {
            add(&mut a, "x");
            add(&mut a, &format!("a{i}"));
            add(&mut b, "x");
            add(&mut b, &format!("b{i}"));
        }
        a.merge(b);
        assert!(a.len() <= 2 * keep);
        assert!(a.max_error() <= 2000 / (keep as u64 + 1));
        let top = a.top(1);
        assert_eq!(&**top[0].0, "x");
        assert!(top[0].1 + a.max_error() >= 1000);
    }

    #[test]
    fn ties_are_ordered_by_key() {
        let mut h = HeavyHitters::new(8);
        for k in ["d", "b", "c", "a"] {
            add(&mut h, k);
        }
        let keys: Vec<&str> = h.top(3).into_iter().map(|(k, _)| &**k).collect();
        assert_eq!(keys, vec!["a", "b", "c"]);
    }
}
