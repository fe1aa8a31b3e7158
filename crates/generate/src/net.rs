//! Address pools. Benign clients, attackers and flash-crowd visitors come
//! from disjoint first octets / IPv6 prefixes, so an attacker address can
//! never collide with a benign one and ground truth stays exact.

use crate::rng::Rng;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const BENIGN_V4: &[u8] = &[
    24, 31, 46, 62, 67, 71, 73, 76, 81, 82, 86, 90, 92, 98, 99, 108, 109, 151, 173, 174, 176, 178,
    188, 212, 213, 217,
];
const ATTACK_V4: &[u8] = &[
    5, 45, 61, 89, 103, 112, 116, 118, 134, 139, 141, 159, 167, 179, 185, 193, 194, 195, 222, 223,
];
const SPIKE_V4: &[u8] = &[
    37, 47, 49, 50, 58, 68, 70, 72, 75, 77, 79, 84, 87, 88, 93, 94, 95,
];
const BENIGN_V6: &[[u16; 2]] = &[
    [0x2a02, 0x8108],
    [0x2600, 0x1700],
    [0x2003, 0x00e8],
    [0x2a01, 0x0cb9],
];
const ATTACK_V6: &[[u16; 2]] = &[
    [0x2a0e, 0x97c0],
    [0x2604, 0xa880],
    [0x2a01, 0x04f8],
    [0x2001, 0x0470],
];

fn v4(rng: &mut Rng, firsts: &[u8]) -> IpAddr {
    let a = rng.pick(firsts);
    let b = rng.below(256) as u8;
    let c = rng.below(256) as u8;
    let d = rng.range(1, 254) as u8;
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn v6(rng: &mut Rng, prefixes: &[[u16; 2]]) -> IpAddr {
    let p = rng.pick(prefixes);
    let mut seg = [0u16; 8];
    seg[0] = p[0];
    seg[1] = p[1];
    for s in seg.iter_mut().skip(2) {
        *s = rng.below(0x10000) as u16;
    }
    if rng.chance(0.5) {
        // Many hosts use short interface ids (`::1a2b`).
        seg[4] = 0;
        seg[5] = 0;
        seg[6] = 0;
    }
    IpAddr::V6(Ipv6Addr::from(seg))
}

pub fn benign(rng: &mut Rng, v6_share: f64) -> IpAddr {
    if rng.chance(v6_share) {
        v6(rng, BENIGN_V6)
    } else {
        v4(rng, BENIGN_V4)
    }
}

/// An attacker: about one in six over IPv6.
pub fn attacker(rng: &mut Rng) -> IpAddr {
    if rng.chance(0.17) {
        v6(rng, ATTACK_V6)
    } else {
        v4(rng, ATTACK_V4)
    }
}

pub fn spike_visitor(rng: &mut Rng) -> IpAddr {
    v4(rng, SPIKE_V4)
}

/// An address inside a fixed /24 (crawler ranges, office networks).
pub fn in_block(rng: &mut Rng, a: u8, b: u8, c: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, rng.range(2, 250) as u8))
}

/// True when `ip` is from the attacker pool.
#[cfg(test)]
pub fn is_attacker(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => ATTACK_V4.contains(&a.octets()[0]),
        IpAddr::V6(a) => {
            let s = a.segments();
            ATTACK_V6.iter().any(|p| p[0] == s[0] && p[1] == s[1])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_disjoint() {
        let mut rng = Rng::new(11);
        for _ in 0..2000 {
            assert!(!is_attacker(benign(&mut rng, 0.3)));
            assert!(!is_attacker(spike_visitor(&mut rng)));
            assert!(is_attacker(attacker(&mut rng)));
        }
        for a in ATTACK_V4 {
            assert!(!BENIGN_V4.contains(a) && !SPIKE_V4.contains(a));
        }
    }
}
