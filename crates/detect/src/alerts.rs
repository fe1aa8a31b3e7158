//! Grouping: one alert per rule and attacker (source IP, else user), with
//! count, first/last seen and a few evidence lines.
//! CONTRACT (used by engine.rs): new, record, into_alerts.
//!
//! Memory is bounded: at most [`MAX_ALERTS_PER_RULE`] attackers are itemised per
//! rule; events from further attackers are folded into one synthetic alert per
//! rule without an attacker (its title says so). That keeps every matching event
//! counted and the threat level right, while a flood of spoofed or distributed
//! sources cannot grow the report without limit.

use crate::report::{Alert, Evidence};
use crate::rules::RuleMeta;
use hashbrown::{Equivalent, HashMap};
use secmo_event::{Event, Origin, format_rfc3339};
use std::hash::{Hash, Hasher};
use std::net::IpAddr;

/// Distinct attackers itemised per rule before the rest are folded together.
pub const MAX_ALERTS_PER_RULE: usize = 10_000;
/// Evidence lines kept from the start of an alert's activity.
const FIRST_EVIDENCE: usize = 3;
/// Evidence lines kept from the end (the latest activity).
const LAST_EVIDENCE: usize = 2;
/// Longest raw line kept as evidence; longer ones are cut on a character boundary.
pub const MAX_EVIDENCE_BYTES: usize = 4096;

/// Cut evidence sorted in line order to what one alert keeps: the first
/// [`FIRST_EVIDENCE`] lines and the last [`LAST_EVIDENCE`]. Used when alerts
/// about the same attacker from separate streams are merged.
pub fn keep_first_and_last_evidence(evidence: &mut Vec<Evidence>) {
    let keep = FIRST_EVIDENCE + LAST_EVIDENCE;
    if evidence.len() > keep {
        evidence.drain(FIRST_EVIDENCE..evidence.len() - LAST_EVIDENCE);
    }
}

/// Who an alert is about, borrowed from an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackerRef<'a> {
    Ip(IpAddr),
    User(&'a str),
    /// No source IP and no user, or a window over all traffic (spikes).
    Nobody,
}

impl<'a> AttackerRef<'a> {
    /// The source IP if any, else the user.
    pub fn of(ev: &'a Event<'_>) -> AttackerRef<'a> {
        match ev.source_ip {
            Some(ip) => AttackerRef::Ip(ip),
            None if !ev.user.is_empty() => AttackerRef::User(&ev.user),
            None => AttackerRef::Nobody,
        }
    }

    fn to_owned_key(self) -> Attacker {
        match self {
            AttackerRef::Ip(ip) => Attacker::Ip(ip),
            AttackerRef::User(u) => Attacker::User(u.into()),
            AttackerRef::Nobody => Attacker::Nobody,
        }
    }
}

/// Owned attacker key. `Hash` agrees with [`AttackerRef`]'s so lookups borrow.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Attacker {
    Ip(IpAddr),
    User(Box<str>),
    Nobody,
    /// Everyone beyond the per-rule cap.
    Overflow,
}

impl Hash for Attacker {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            Attacker::Ip(ip) => (0u8, ip).hash(h),
            Attacker::User(u) => (1u8, &**u).hash(h),
            Attacker::Nobody => 2u8.hash(h),
            Attacker::Overflow => 3u8.hash(h),
        }
    }
}

impl Hash for AttackerRef<'_> {
    fn hash<H: Hasher>(&self, h: &mut H) {
        match self {
            AttackerRef::Ip(ip) => (0u8, ip).hash(h),
            AttackerRef::User(u) => (1u8, *u).hash(h),
            AttackerRef::Nobody => 2u8.hash(h),
        }
    }
}

impl Equivalent<Attacker> for AttackerRef<'_> {
    fn equivalent(&self, key: &Attacker) -> bool {
        match (self, key) {
            (AttackerRef::Ip(a), Attacker::Ip(b)) => a == b,
            (AttackerRef::User(a), Attacker::User(b)) => *a == &**b,
            (AttackerRef::Nobody, Attacker::Nobody) => true,
            _ => false,
        }
    }
}

/// A line offered as evidence.
#[derive(Debug, Clone, Copy)]
pub struct EvidenceLine<'a> {
    pub origin: Origin,
    pub raw: &'a str,
}

#[derive(Debug, Clone, Default)]
struct Slot {
    origin: Origin,
    raw: String,
}

impl Slot {
    /// Refill the slot, reusing its buffer.
    fn fill(&mut self, line: EvidenceLine<'_>) {
        self.origin = line.origin;
        self.raw.clear();
        self.raw.push_str(truncate(line.raw, MAX_EVIDENCE_BYTES));
    }
}

/// `s` cut to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[derive(Debug, Default)]
struct AlertState {
    count: u64,
    first_ms: Option<i64>,
    last_ms: Option<i64>,
    /// First non-empty user seen (shown beside an IP attacker).
    user: Option<Box<str>>,
    /// Evidence lines offered so far; the first [`FIRST_EVIDENCE`] go to `first`,
    /// later ones rotate through `last`.
    offered: u64,
    first: Vec<Slot>,
    last: Vec<Slot>,
}

impl AlertState {
    fn note(&mut self, ev: &Event, first_ms: Option<i64>, count: u64) {
        self.count = self.count.saturating_add(count);
        let last = ev.timestamp_ms;
        let first = first_ms.or(last);
        if let Some(f) = first {
            self.first_ms = Some(self.first_ms.map_or(f, |x| x.min(f)));
        }
        if let Some(l) = last.or(first) {
            self.last_ms = Some(self.last_ms.map_or(l, |x| x.max(l)));
        }
        if self.user.is_none() && !ev.user.is_empty() {
            self.user = Some(truncate(&ev.user, 256).into());
        }
    }

    fn offer(&mut self, line: EvidenceLine<'_>) {
        let n = self.offered;
        self.offered += 1;
        if n < FIRST_EVIDENCE as u64 {
            let mut slot = Slot::default();
            slot.fill(line);
            self.first.push(slot);
        } else {
            let i = ((n - FIRST_EVIDENCE as u64) % LAST_EVIDENCE as u64) as usize;
            match self.last.get_mut(i) {
                Some(slot) => slot.fill(line),
                None => {
                    let mut slot = Slot::default();
                    slot.fill(line);
                    self.last.push(slot);
                }
            }
        }
    }

    /// Evidence in the order it was seen.
    fn evidence(&self) -> Vec<Evidence> {
        let mut out: Vec<Evidence> = self.first.iter().map(to_evidence).collect();
        let later = self.offered.saturating_sub(FIRST_EVIDENCE as u64);
        if later > 0 {
            let len = self.last.len();
            // The oldest of the ring is the slot after the most recently written one.
            let next = (later % LAST_EVIDENCE as u64) as usize;
            for k in 0..len {
                let i = if len < LAST_EVIDENCE {
                    k
                } else {
                    (next + k) % len
                };
                if let Some(slot) = self.last.get(i) {
                    out.push(to_evidence(slot));
                }
            }
        }
        out
    }
}

fn to_evidence(s: &Slot) -> Evidence {
    Evidence {
        input: s.origin.input,
        file: String::new(),
        line: s.origin.line,
        raw: s.raw.clone(),
    }
}

#[derive(Debug, Default)]
struct RuleAlerts {
    by_attacker: HashMap<Attacker, AlertState>,
}

/// Alerts grouped per rule and attacker.
pub struct AlertBook {
    rules: Vec<RuleAlerts>,
}

impl AlertBook {
    pub fn new(rules: usize) -> AlertBook {
        AlertBook {
            rules: (0..rules).map(|_| RuleAlerts::default()).collect(),
        }
    }

    /// Count `count` matching events of `rule` for the attacker of `ev`.
    pub fn record(&mut self, rule: u32, ev: &Event, origin: Origin, raw: &str, count: u64) {
        let line = EvidenceLine { origin, raw };
        self.record_group(rule, AttackerRef::of(ev), ev, None, count, &[line]);
    }

    /// Count `count` events of `rule` for `attacker` at once (a window that
    /// crossed its threshold): `first_ms` is the window's first event, `ev` the
    /// latest, `evidence` lines in the order they were seen.
    pub fn record_group(
        &mut self,
        rule: u32,
        attacker: AttackerRef<'_>,
        ev: &Event,
        first_ms: Option<i64>,
        count: u64,
        evidence: &[EvidenceLine<'_>],
    ) {
        let Some(book) = self.rules.get_mut(rule as usize) else {
            return;
        };
        let map = &mut book.by_attacker;
        let state = if map.contains_key(&attacker) {
            map.get_mut(&attacker)
        } else {
            let itemised = map.len() - usize::from(map.contains_key(&Attacker::Overflow));
            let key = if itemised < MAX_ALERTS_PER_RULE {
                attacker.to_owned_key()
            } else {
                Attacker::Overflow
            };
            Some(map.entry(key).or_default())
        };
        let Some(state) = state else { return };
        state.note(ev, first_ms, count);
        for line in evidence {
            state.offer(*line);
        }
    }

    /// Distinct alerts held (for tests and memory accounting).
    pub fn len(&self) -> usize {
        self.rules.iter().map(|r| r.by_attacker.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The grouped alerts: severity (highest first), then count (highest first),
    /// then rule id, then attacker, so the same input always gives the same order.
    pub fn into_alerts(self, meta: &[RuleMeta]) -> Vec<Alert> {
        let mut keyed: Vec<(Attacker, Alert)> = Vec::new();
        for (rule, book) in self.rules.into_iter().enumerate() {
            let Some(m) = meta.get(rule) else { continue };
            for (attacker, st) in book.by_attacker {
                let (source_ip, user) = match &attacker {
                    Attacker::Ip(ip) => {
                        (Some(ip.to_string()), st.user.as_deref().map(String::from))
                    }
                    Attacker::User(u) => (None, Some(u.to_string())),
                    Attacker::Nobody | Attacker::Overflow => (None, None),
                };
                let title = if attacker == Attacker::Overflow {
                    format!(
                        "{} (further attackers beyond the first {MAX_ALERTS_PER_RULE}, not itemised)",
                        m.title
                    )
                } else {
                    m.title.clone()
                };
                let alert = Alert {
                    rule_id: m.id.clone(),
                    title,
                    category: m.category,
                    severity: m.severity,
                    source_ip,
                    user,
                    first_seen: st.first_ms.map(format_rfc3339),
                    last_seen: st.last_ms.map(format_rfc3339),
                    count: st.count,
                    evidence: st.evidence(),
                    description: m.description.clone(),
                    recommendation: m.recommendation.clone(),
                    response: m.response.clone(),
                };
                keyed.push((attacker, alert));
            }
        }
        keyed.sort_by(|(ka, a), (kb, b)| {
            b.severity
                .cmp(&a.severity)
                .then(b.count.cmp(&a.count))
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| ka.cmp(kb))
        });
        keyed.into_iter().map(|(_, a)| a).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_event::{Category, EventKind, Severity};

    fn meta(id: &str, severity: Severity) -> RuleMeta {
        RuleMeta {
            id: id.into(),
            title: format!("title {id}"),
            category: Category::Sqli,
            severity,
            description: String::new(),
            recommendation: String::new(),
            response: Vec::new(),
            kinds: vec![EventKind::Http],
            tags: Vec::new(),
        }
    }

    fn ev(ip: &str, ts: i64) -> Event<'static> {
        Event {
            timestamp_ms: Some(ts),
            source_ip: ip.parse().ok(),
            ..Event::default()
        }
    }

    fn at(line: u64) -> Origin {
        Origin { input: 0, line }
    }

    #[test]
    fn groups_per_rule_and_attacker() {
        let mut book = AlertBook::new(2);
        book.record(0, &ev("10.0.0.1", 2_000), at(1), "a", 1);
        book.record(0, &ev("10.0.0.1", 1_000), at(2), "b", 1);
        book.record(0, &ev("10.0.0.2", 3_000), at(3), "c", 1);
        book.record(1, &ev("10.0.0.1", 4_000), at(4), "d", 1);
        let alerts =
            book.into_alerts(&[meta("R-0", Severity::Medium), meta("R-1", Severity::High)]);
        assert_eq!(alerts.len(), 3);
        assert_eq!(alerts[0].rule_id, "R-1");
        assert_eq!((alerts[1].rule_id.as_str(), alerts[1].count), ("R-0", 2));
        assert_eq!(alerts[1].source_ip.as_deref(), Some("10.0.0.1"));
        assert_eq!(
            alerts[1].first_seen.as_deref(),
            Some("1970-01-01T00:00:01Z")
        );
        assert_eq!(alerts[1].last_seen.as_deref(), Some("1970-01-01T00:00:02Z"));
        assert_eq!(alerts[2].count, 1);
    }

    #[test]
    fn user_is_the_attacker_without_ip() {
        let mut book = AlertBook::new(1);
        let e = Event {
            user: "root".into(),
            ..Event::default()
        };
        book.record(0, &e, at(1), "x", 1);
        let alerts = book.into_alerts(&[meta("R", Severity::Low)]);
        assert_eq!(alerts[0].user.as_deref(), Some("root"));
        assert_eq!(alerts[0].source_ip, None);
        assert_eq!(alerts[0].first_seen, None);
    }

    #[test]
    fn evidence_keeps_first_three_and_last_two_in_order() {
        let mut book = AlertBook::new(1);
        let lines = ["l1", "l2", "l3", "l4", "l5", "l6", "l7"];
        for (i, l) in lines.iter().enumerate() {
            book.record(0, &ev("10.0.0.1", i as i64), at(i as u64 + 1), l, 1);
        }
        let alerts = book.into_alerts(&[meta("R", Severity::Low)]);
        let raw: Vec<&str> = alerts[0].evidence.iter().map(|e| e.raw.as_str()).collect();
        assert_eq!(raw, ["l1", "l2", "l3", "l6", "l7"]);
        assert_eq!(alerts[0].evidence[3].line, 6);
        assert_eq!(alerts[0].count, 7);

        let mut book = AlertBook::new(1);
        for (i, l) in lines.iter().take(4).enumerate() {
            book.record(0, &ev("10.0.0.1", i as i64), at(i as u64 + 1), l, 1);
        }
        let alerts = book.into_alerts(&[meta("R", Severity::Low)]);
        let raw: Vec<&str> = alerts[0].evidence.iter().map(|e| e.raw.as_str()).collect();
        assert_eq!(raw, ["l1", "l2", "l3", "l4"]);
    }

    #[test]
    fn long_evidence_is_cut_on_a_char_boundary() {
        let mut book = AlertBook::new(1);
        let long = "é".repeat(MAX_EVIDENCE_BYTES);
        book.record(0, &ev("10.0.0.1", 0), at(1), &long, 1);
        let alerts = book.into_alerts(&[meta("R", Severity::Low)]);
        let raw = &alerts[0].evidence[0].raw;
        assert!(raw.len() <= MAX_EVIDENCE_BYTES && raw.len() >= MAX_EVIDENCE_BYTES - 1);
    }

    #[test]
    fn attackers_beyond_the_cap_are_folded() {
        let mut book = AlertBook::new(1);
        let n = MAX_ALERTS_PER_RULE as u32 + 50;
        for i in 0..n {
            let e = Event {
                source_ip: Some(IpAddr::from(i.to_be_bytes())),
                ..Event::default()
            };
            book.record(0, &e, at(u64::from(i)), "x", 1);
        }
        assert_eq!(book.len(), MAX_ALERTS_PER_RULE + 1);
        let alerts = book.into_alerts(&[meta("R", Severity::Low)]);
        let total: u64 = alerts.iter().map(|a| a.count).sum();
        assert_eq!(total, u64::from(n));
        let overflow = alerts.iter().find(|a| a.title.contains("not itemised"));
        assert_eq!(overflow.map(|a| a.count), Some(50));
    }

    #[test]
    fn order_is_deterministic() {
        let build = |rev: bool| {
            let mut book = AlertBook::new(1);
            let mut ips = vec!["10.0.0.3", "10.0.0.1", "10.0.0.2"];
            if rev {
                ips.reverse();
            }
            for ip in ips {
                book.record(0, &ev(ip, 0), at(1), "x", 1);
            }
            book.into_alerts(&[meta("R", Severity::Low)])
                .into_iter()
                .map(|a| a.source_ip)
                .collect::<Vec<_>>()
        };
        assert_eq!(build(false), build(true));
        assert_eq!(build(false)[0].as_deref(), Some("10.0.0.1"));
    }
}
