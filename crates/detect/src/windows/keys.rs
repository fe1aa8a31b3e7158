//! Group-by keys and the per-rule map of window state they index.
//!
//! A key is the client address when the group-by is `source.ip` alone, else
//! a 128-bit keyed hash of the group-by values (encoded into a
//! reusable buffer first): fixed size, so keys cost no allocation and compare
//! in one instruction. Two groups share state only if their hashes collide,
//! about 2^-64 for 100k keys, with per-process random seeds an attacker
//! cannot aim at.
//! State is held in two generations: a key idle for a whole generation
//! (at least the rule's idle time) is dropped when the generations rotate, so
//! eviction costs O(1) amortised and needs no per-key timer.

use hashbrown::{DefaultHashBuilder, HashMap};
use secmo_event::{Event, Field};
use std::hash::{BuildHasher, Hasher};

/// A group-by key: see the module documentation.
pub type Key = u128;

/// Keys held per rule at most (plus one, see [`Keyed::room`]).
pub const MAX_KEYS_PER_RULE: usize = 100_000;

/// One group-by item: a field, or the first of several fields that has a value
/// (`source.ip|user.name` in a rule: the IP, else the user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPart {
    Field(Field),
    FirstOf(Vec<Field>),
}

impl KeyPart {
    pub fn parse(spec: &str) -> Option<KeyPart> {
        let fields: Option<Vec<Field>> = spec.split('|').map(|f| Field::parse(f.trim())).collect();
        let mut fields = fields?;
        match fields.len() {
            0 => None,
            1 => fields.pop().map(KeyPart::Field),
            _ => Some(KeyPart::FirstOf(fields)),
        }
    }
}

/// Hashes field values (distinct counting) with a per-process random key, so an
/// attacker cannot precompute colliding values to hide among.
#[derive(Debug, Clone, Default)]
pub struct ValueHasher {
    state: std::hash::RandomState,
}

impl ValueHasher {
    /// The hash of `field`'s value in `ev`, or `None` when the event has no value.
    pub fn hash(&self, ev: &Event, field: Field) -> Option<u64> {
        let mut h = self.state.build_hasher();
        match field {
            Field::SourceIp => std::hash::Hash::hash(&ev.source_ip?, &mut h),
            Field::Url => {
                if ev.path.is_empty() && ev.query.is_empty() {
                    return None;
                }
                h.write(ev.path.as_bytes());
                h.write_u8(b'?');
                h.write(ev.query.as_bytes());
            }
            f if f.is_numeric() => h.write_u64(ev.number(f)?),
            f => {
                let text = ev.text(f);
                if text.is_empty() {
                    return None;
                }
                h.write(text.as_bytes());
            }
        }
        Some(h.finish())
    }
}

/// Turns group-by values into [`Key`]s.
#[derive(Debug, Clone, Default)]
pub struct KeyHasher {
    high: DefaultHashBuilder,
    low: DefaultHashBuilder,
    buf: Vec<u8>,
}

impl KeyHasher {
    /// The key of `ev`'s group-by values; `None` when a value is absent (a
    /// per-IP rule cannot attribute an event without an IP, so it is skipped).
    pub fn key(&mut self, parts: &[KeyPart], ev: &Event) -> Option<Key> {
        match parts {
            // A global window (no group-by): one key, the same for every event.
            [] => return Some(0),
            // One address, the usual group-by: the key is the address itself
            // (IPv4 as IPv4-mapped IPv6). Exact, with no encoding or hashing per
            // event; the state map still hashes it with its own random seed.
            [KeyPart::Field(Field::SourceIp)] => {
                return ev.source_ip.map(|ip| match ip {
                    std::net::IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
                    std::net::IpAddr::V6(v6) => u128::from(v6),
                });
            }
            _ => {}
        }
        if !encode(parts, ev, &mut self.buf) {
            return None;
        }
        let high = self.high.hash_one(self.buf.as_slice());
        let low = self.low.hash_one(self.buf.as_slice());
        Some((u128::from(high) << 64) | u128::from(low))
    }
}

/// Encode the group-by values of `ev` into `buf`; false when one is absent.
fn encode(parts: &[KeyPart], ev: &Event, buf: &mut Vec<u8>) -> bool {
    buf.clear();
    for part in parts {
        let ok = match part {
            KeyPart::Field(f) => encode_field(*f, ev, buf),
            KeyPart::FirstOf(fs) => fs.iter().any(|f| encode_field(*f, ev, buf)),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn encode_field(field: Field, ev: &Event, buf: &mut Vec<u8>) -> bool {
    // A tag per field keeps `FirstOf` alternatives from colliding (IP vs user).
    let tag = field as u8;
    match field {
        Field::SourceIp => match ev.source_ip {
            Some(std::net::IpAddr::V4(ip)) => {
                buf.push(tag);
                buf.push(4);
                buf.extend_from_slice(&ip.octets());
                true
            }
            Some(std::net::IpAddr::V6(ip)) => {
                buf.push(tag);
                buf.push(6);
                buf.extend_from_slice(&ip.octets());
                true
            }
            None => false,
        },
        Field::Url => {
            if ev.path.is_empty() && ev.query.is_empty() {
                return false;
            }
            buf.push(tag);
            push_text(ev.path.as_bytes(), buf);
            push_text(ev.query.as_bytes(), buf);
            true
        }
        f if f.is_numeric() => match ev.number(f) {
            Some(n) if f != Field::Status || n != 0 => {
                buf.push(tag);
                buf.extend_from_slice(&n.to_le_bytes());
                true
            }
            _ => false,
        },
        f => {
            let text = ev.text(f);
            if text.is_empty() {
                return false;
            }
            buf.push(tag);
            push_text(text.as_bytes(), buf);
            true
        }
    }
}

fn push_text(b: &[u8], buf: &mut Vec<u8>) {
    buf.extend_from_slice(&(b.len() as u64).to_le_bytes());
    buf.extend_from_slice(b);
}

/// Window state of one key.
#[derive(Debug)]
pub struct Entry<S> {
    /// Newest event time counted for the key.
    pub last_ms: i64,
    /// The key's window crossed its threshold: its further events are alert events.
    pub firing: bool,
    /// The key's latest raw lines, kept only once its window nears the threshold.
    pub held: Option<Box<super::Held>>,
    pub state: S,
}

/// Per-rule keyed state with generational eviction and a hard cap.
#[derive(Debug)]
pub struct Keyed<S> {
    current: HashMap<Key, Entry<S>>,
    previous: HashMap<Key, Entry<S>>,
    /// Watermark when the current generation began.
    generation_start: Option<i64>,
    /// How long a key may stay idle before it is forgotten.
    idle_ms: i64,
    cap: usize,
}

impl<S: Default> Keyed<S> {
    pub fn new(idle_ms: i64, cap: usize) -> Keyed<S> {
        Keyed {
            current: HashMap::new(),
            previous: HashMap::new(),
            generation_start: None,
            idle_ms,
            cap: cap.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Move time forward to `watermark` (the newest event time seen). A key in
    /// the previous generation was idle for at least one generation (>= idle time)
    /// when the next rotation drops it.
    pub fn advance(&mut self, watermark: i64) {
        match self.generation_start {
            None => self.generation_start = Some(watermark),
            Some(start) if watermark.saturating_sub(start) >= self.idle_ms => {
                self.rotate();
                self.generation_start = Some(watermark);
            }
            Some(_) => {}
        }
    }

    fn rotate(&mut self) {
        std::mem::swap(&mut self.current, &mut self.previous);
        self.current.clear();
    }

    /// Make room for one new key. At the cap, the previous generation (keys not
    /// seen since the last rotation: the oldest) is dropped wholesale; if there is
    /// none, the current generation becomes the previous one. So at most `cap + 1`
    /// keys are held, and under a flood of new keys (spoofed or distributed
    /// sources) the oldest keys' partial windows are forgotten first; alerts
    /// already raised stay in the alert book.
    fn room(&mut self) {
        if self.len() >= self.cap {
            if self.previous.is_empty() {
                self.rotate();
            } else {
                self.previous.clear();
            }
        }
    }

    /// The state for `key` at event time `ts`, created if absent. State idle for
    /// the rule's idle time, or a jump back in time beyond it (the next input is
    /// older: a new stream), starts afresh, so results do not depend on when the
    /// generations happened to rotate.
    pub fn touch(&mut self, key: Key, ts: i64) -> Option<&mut Entry<S>> {
        if self.len() >= self.cap && !self.current.contains_key(&key) {
            // At the cap a new key first makes room (which may rotate).
            let moved = self.previous.remove(&key);
            self.room();
            self.current.insert(key, moved.unwrap_or_else(|| fresh(ts)));
        }
        // Below the cap, one lookup finds or inserts the key.
        let previous = &mut self.previous;
        let entry = self
            .current
            .entry(key)
            .or_insert_with(|| previous.remove(&key).unwrap_or_else(|| fresh(ts)));
        let idle_ms = self.idle_ms;
        let gap = ts.saturating_sub(entry.last_ms);
        if gap >= idle_ms || gap <= -idle_ms {
            *entry = fresh(ts);
        }
        entry.last_ms = entry.last_ms.max(ts);
        Some(entry)
    }
}

fn fresh<S: Default>(ts: i64) -> Entry<S> {
    Entry {
        last_ms: ts,
        firing: false,
        held: None,
        state: S::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev_ip(ip: &str) -> Event<'static> {
        Event {
            source_ip: ip.parse().ok(),
            ..Event::default()
        }
    }

    #[test]
    fn keys_hash_values_and_skip_absent_ones() {
        let mut h = KeyHasher::default();
        let ip = [KeyPart::Field(Field::SourceIp)];
        let a = h.key(&ip, &ev_ip("10.0.0.1"));
        assert!(a.is_some());
        assert_eq!(a, h.key(&ip, &ev_ip("10.0.0.1")));
        assert_ne!(a, h.key(&ip, &ev_ip("10.0.0.2")));
        assert_eq!(h.key(&ip, &Event::default()), None);
        assert!(h.key(&[], &Event::default()).is_some(), "global key");
        // An address alone is its own key: IPv6 apart from IPv4, and an
        // IPv4-mapped IPv6 client the same host as its IPv4 form.
        assert_ne!(a, h.key(&ip, &ev_ip("2001:db8::1")));
        assert_ne!(a, h.key(&ip, &ev_ip("::a00:1")));
        assert_eq!(a, h.key(&ip, &ev_ip("::ffff:10.0.0.1")));

        let either = [KeyPart::parse("source.ip|user.name").expect("valid")];
        let user = Event {
            user: "admin".into(),
            ..Event::default()
        };
        let by_user = h.key(&either, &user);
        assert!(by_user.is_some());
        assert_ne!(by_user, h.key(&either, &ev_ip("10.0.0.1")));
        assert_eq!(KeyPart::parse("nonsense"), None);

        // Length prefixes keep ("ab", "c") and ("a", "bc") apart.
        let two = [KeyPart::Field(Field::User), KeyPart::Field(Field::Host)];
        let e1 = Event {
            user: "ab".into(),
            host: "c".into(),
            ..Event::default()
        };
        let e2 = Event {
            user: "a".into(),
            host: "bc".into(),
            ..Event::default()
        };
        assert_ne!(h.key(&two, &e1), h.key(&two, &e2));
    }

    #[test]
    fn idle_keys_are_reset_and_rotated_out() {
        let mut k: Keyed<u32> = Keyed::new(1_000, 10);
        k.advance(0);
        if let Some(e) = k.touch(1, 0) {
            e.state = 7;
        }
        k.advance(500);
        assert_eq!(k.touch(1, 500).map(|e| e.state), Some(7));
        // Idle for the whole idle time: fresh state.
        assert_eq!(k.touch(1, 1_500).map(|e| e.state), Some(0));
        k.advance(1_500);
        k.advance(3_000);
        assert!(k.is_empty(), "idle for two generations: dropped");
    }

    #[test]
    fn cap_bounds_the_number_of_keys() {
        let mut k: Keyed<u8> = Keyed::new(1_000_000, 100);
        for i in 0u128..10_000 {
            assert!(k.touch(i, 0).is_some());
            assert!(k.len() <= 101);
        }
        // The newest key survives.
        assert!(k.current.contains_key(&9_999));
    }
}
