//! xoshiro256++ seeded by SplitMix64. Own generator rather than `rand` so that
//! a seed gives the same bytes across dependency upgrades: generated files and
//! their label files are fixtures other tests compare against.

pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// Uniform in `lo..=hi` for signed times.
    pub fn range_i(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(0) as u64 + 1) as i64
    }

    pub fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.f64() < p
    }

    /// A uniformly chosen element; `items` must not be empty (all callers pass constant tables).
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Fisher-Yates shuffle in place.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }

    /// Index chosen with the given weights.
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        let mut x = self.below(total);
        for (i, &w) in weights.iter().enumerate() {
            if x < u64::from(w) {
                return i;
            }
            x -= u64::from(w);
        }
        weights.len().saturating_sub(1)
    }

    /// Exponentially distributed delay with the given mean, in milliseconds (at least 1).
    pub fn exp_ms(&mut self, mean_ms: f64) -> i64 {
        let u = self.f64();
        ((-(1.0 - u).ln() * mean_ms) as i64).max(1)
    }
}

/// Kinds dealt in rounds: each round deals every entry of `round` once, in
/// a fresh random order, so every kind turns up in every stretch of output.
pub struct Deck<T> {
    round: Vec<T>,
    left: Vec<T>,
}

impl<T: Clone> Deck<T> {
    pub fn new(round: Vec<T>) -> Self {
        Deck {
            round,
            left: Vec::new(),
        }
    }

    /// The next kind; `None` only when the round is empty.
    pub fn deal(&mut self, rng: &mut Rng) -> Option<T> {
        if self.left.is_empty() {
            self.left.clone_from(&self.round);
            rng.shuffle(&mut self.left);
        }
        self.left.pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_repeatable() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.below(10);
            assert!(x < 10);
            assert_eq!(x, b.below(10));
            let r = a.range(5, 6);
            assert!((5..=6).contains(&r));
            b.range(5, 6);
        }
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
        let mut c = Rng::new(3);
        let mean = (0..10_000).map(|_| c.exp_ms(100.0)).sum::<i64>() as f64 / 10_000.0;
        assert!((80.0..120.0).contains(&mean), "{mean}");
    }

    #[test]
    fn a_deck_deals_each_entry_once_per_round() {
        let mut rng = Rng::new(9);
        let mut deck = Deck::new(vec![1, 2, 2, 3]);
        for _ in 0..5 {
            let mut round: Vec<i32> = (0..4).filter_map(|_| deck.deal(&mut rng)).collect();
            round.sort_unstable();
            assert_eq!(round, [1, 2, 2, 3]);
        }
        assert_eq!(Deck::<u8>::new(Vec::new()).deal(&mut rng), None);
    }
}
