//! Source IPs: per-IP event counts (heavy hitters) and the number of distinct
//! IPs, exact while every IP still fits in the counting table, then a
//! HyperLogLog estimate.
//!
//! The HyperLogLog is built from the table's keys just before the table first
//! prunes, and afterwards only new keys are added: every key in the table is
//! already in the sketch. Registers merge by maximum, so a merged estimate is
//! exactly the estimate of the whole stream.

use super::heavy::HeavyHitters;
use std::net::IpAddr;

/// HyperLogLog precision: 2^16 registers, standard error 1.04 / 256 ≈ 0.4 %.
const HLL_BITS: u32 = 16;
const HLL_REGISTERS: usize = 1 << HLL_BITS;

#[derive(Debug, Clone)]
pub(crate) struct IpStats {
    counts: HeavyHitters<IpAddr>,
    sketch: Option<Box<[u8]>>,
}

impl IpStats {
    pub(crate) fn new(keep: usize) -> Self {
        IpStats {
            counts: HeavyHitters::new(keep),
            sketch: None,
        }
    }

    #[inline]
    pub(crate) fn add(&mut self, ip: IpAddr) {
        if self.counts.increment(&ip) {
            return;
        }
        if self.counts.is_full() && self.sketch.is_none() {
            self.sketch = Some(self.sketch_of_keys());
        }
        if let Some(regs) = &mut self.sketch {
            hll_add(regs, ip);
        }
        self.counts.insert_new(ip, 1);
    }

    fn sketch_of_keys(&self) -> Box<[u8]> {
        let mut regs = vec![0u8; HLL_REGISTERS].into_boxed_slice();
        for ip in self.counts.keys() {
            hll_add(&mut regs, *ip);
        }
        regs
    }

    pub(crate) fn merge(&mut self, other: IpStats) {
        let union_len = other
            .counts
            .keys()
            .filter(|ip| !self.counts.contains(*ip))
            .count()
            + self.counts.len();
        let will_prune = union_len > self.counts.capacity();
        if self.sketch.is_some() || other.sketch.is_some() || will_prune {
            let mut mine = match self.sketch.take() {
                Some(s) => s,
                None => self.sketch_of_keys(),
            };
            let theirs = match &other.sketch {
                Some(s) => s.clone(),
                None => other.sketch_of_keys(),
            };
            for (m, t) in mine.iter_mut().zip(theirs.iter()) {
                *m = (*m).max(*t);
            }
            self.sketch = Some(mine);
        }
        self.counts.merge(other.counts);
    }

    /// Distinct IPs and whether the number is an estimate.
    pub(crate) fn distinct(&self) -> (u64, bool) {
        match &self.sketch {
            None => (self.counts.len() as u64, false),
            Some(regs) => (hll_estimate(regs), true),
        }
    }

    pub(crate) fn counts(&self) -> &HeavyHitters<IpAddr> {
        &self.counts
    }
}

/// A fixed hash, so that sketches built by different workers agree.
fn ip_hash(ip: IpAddr) -> u64 {
    let (hi, lo, tag) = match ip {
        IpAddr::V4(v4) => (0, u64::from(u32::from(v4)), 4u64),
        IpAddr::V6(v6) => {
            let n = u128::from(v6);
            ((n >> 64) as u64, n as u64, 6u64)
        }
    };
    fmix64(fmix64(lo ^ tag.wrapping_mul(0x9E37_79B9_7F4A_7C15)) ^ hi)
}

/// MurmurHash3's 64-bit finaliser: every input bit affects every output bit.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^= k >> 33;
    k
}

fn hll_add(regs: &mut [u8], ip: IpAddr) {
    let h = ip_hash(ip);
    let idx = (h >> (64 - HLL_BITS)) as usize;
    let rest = h << HLL_BITS;
    let rank = (rest.leading_zeros().min(64 - HLL_BITS) + 1) as u8;
    if let Some(r) = regs.get_mut(idx) {
        *r = (*r).max(rank);
    }
}

fn hll_estimate(regs: &[u8]) -> u64 {
    let m = regs.len() as f64;
    let mut sum = 0.0f64;
    let mut zeros = 0usize;
    for &r in regs {
        sum += (-(f64::from(r))).exp2();
        if r == 0 {
            zeros += 1;
        }
    }
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let raw = alpha * m * m / sum;
    let est = if raw <= 2.5 * m && zeros > 0 {
        // Linear counting is more accurate for small cardinalities.
        m * (m / zeros as f64).ln()
    } else {
        raw
    };
    est.round() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    #[test]
    fn exact_until_the_table_prunes() {
        let mut s = IpStats::new(16);
        for n in 0..32 {
            s.add(ip(n));
            s.add(ip(n));
        }
        assert_eq!(s.distinct(), (32, false));
        s.add(ip(1000));
        let (n, estimated) = s.distinct();
        assert!(estimated);
        assert!((32..=34).contains(&n), "{n}");
    }

    #[test]
    fn estimate_within_two_percent() {
        let mut s = IpStats::new(64);
        for n in 0..200_000u32 {
            s.add(ip(n.wrapping_mul(2_654_435_761)));
        }
        let (n, estimated) = s.distinct();
        assert!(estimated);
        let err = (n as f64 - 200_000.0).abs() / 200_000.0;
        assert!(err < 0.02, "estimate {n}");
    }

    #[test]
    fn merged_estimate_equals_whole_stream() {
        let mut whole = IpStats::new(64);
        let mut a = IpStats::new(64);
        let mut b = IpStats::new(64);
        for n in 0..5_000u32 {
            whole.add(ip(n));
            if n % 3 == 0 {
                b.add(ip(n))
            } else {
                a.add(ip(n))
            }
        }
        a.merge(b);
        assert_eq!(a.distinct(), whole.distinct());

        let mut whole = IpStats::new(32);
        let mut a = IpStats::new(32);
        let mut b = IpStats::new(32);
        for n in 0..100u32 {
            whole.add(ip(n));
            if n < 50 { a.add(ip(n)) } else { b.add(ip(n)) }
        }
        // Neither half overflows alone, the union does.
        a.merge(b);
        assert_eq!(a.distinct(), whole.distinct());
        assert!(a.distinct().1);
    }
}
