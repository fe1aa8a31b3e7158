//! Correlations over event time: windowed counts, distinct counts, ordered
//! sequences and spikes against a trailing baseline. Memory is bounded.
//! CONTRACT (used by engine.rs): compile, empty, is_correlated, observe, advance, finish.
//!
//! Time is the events' own: replaying a file and watching it live give the same
//! alerts. An event without a timestamp counts at the last timestamp seen.
//! Every rule keeps per-key state (see [`keys`]): idle keys are forgotten, and
//! at most [`keys::MAX_KEYS_PER_RULE`] (+1) keys are held per rule.
//!
//! When a key's window crosses its threshold, one grouped alert is raised for
//! the rule and attacker with the window's events; from then on every further
//! matching event of that key is an alert event (counted and flagged) until the
//! key is idle for the timespan. Spikes stop at the end of their bucket.

mod count;
mod distinct;
pub mod keys;
mod sequence;
mod spike;
mod sum;

use crate::alerts::{AlertBook, AttackerRef, EvidenceLine};
use crate::rules::RuleError;
use crate::rules::schema::{CorrelationKind, RuleDoc, parse_timespan};
use crate::signatures::Hit;
use count::CountWindow;
use distinct::DistinctWindow;
use keys::{Key, KeyHasher, KeyPart, Keyed, MAX_KEYS_PER_RULE, ValueHasher};
use secmo_event::{Event, Field, Origin};
use sequence::SequenceWindow;
use spike::SpikeWindow;
use sum::SumWindow;

/// Raw lines held per key once its window nears the threshold (the crossing
/// window's latest lines become the alert's first evidence). Keys far from
/// their threshold, the vast majority, hold no line at all.
const HELD_LINES: usize = 2;
/// Longest raw line held per key; window evidence only needs to show the request.
const HELD_LINE_BYTES: usize = 512;

/// A window that met its threshold: when its first event was and how many events it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Crossing {
    pub first_ms: i64,
    pub count: u64,
}

/// One rule's correlation parameters.
#[derive(Debug, Clone)]
pub struct Spec {
    pub span_ms: i64,
    /// The smallest count (events, distinct values, sum, sequences) that fires.
    pub need: u64,
    /// value_count / value_sum field.
    pub field: Option<Field>,
    /// temporal_ordered: number of steps in `order`.
    pub steps: u8,
    pub baseline: u32,
    pub factor: f64,
    pub values: ValueHasher,
}

impl Default for Spec {
    fn default() -> Self {
        Spec {
            span_ms: 60_000,
            need: 1,
            field: None,
            steps: 0,
            baseline: 1,
            factor: 1.0,
            values: ValueHasher::default(),
        }
    }
}

/// The per-key window of one correlation type.
trait Window: Default {
    /// Count one matching event at `ts` (`steps`: the rule's order selections it
    /// matched). `Some` when the key's window now meets the threshold.
    fn add(&mut self, spec: &Spec, ts: i64, ev: &Event, steps: u8) -> Option<Crossing>;

    /// For a key that fired: whether an event at `ts` still belongs to the alert.
    fn still_firing(&mut self, _spec: &Spec, _ts: i64) -> bool {
        true
    }

    /// Whether the next few events could cross, so their lines are worth holding.
    fn near(&self, spec: &Spec) -> bool;
}

/// The last few raw lines of a key, in reused buffers.
#[derive(Debug, Default)]
pub struct Held {
    lines: [(Origin, String); HELD_LINES],
    /// Lines pushed so far (the next slot is `pushed % HELD_LINES`).
    pushed: usize,
}

impl Held {
    fn push(&mut self, origin: Origin, raw: &str) {
        let slot = &mut self.lines[self.pushed % HELD_LINES];
        slot.0 = origin;
        slot.1.clear();
        slot.1
            .push_str(crate::alerts::truncate(raw, HELD_LINE_BYTES));
        self.pushed += 1;
    }

    /// Held lines oldest first, then `latest`.
    fn with<'a>(&'a self, latest: EvidenceLine<'a>) -> ([EvidenceLine<'a>; HELD_LINES + 1], usize) {
        let mut out = [latest; HELD_LINES + 1];
        let n = self.pushed.min(HELD_LINES);
        for (k, slot) in out.iter_mut().take(n).enumerate() {
            let i = (self.pushed - n + k) % HELD_LINES;
            let (origin, raw) = &self.lines[i];
            *slot = EvidenceLine {
                origin: *origin,
                raw,
            };
        }
        (out, n + 1)
    }
}

enum State {
    Count(Keyed<CountWindow>),
    Distinct(Keyed<DistinctWindow>),
    Sum(Keyed<SumWindow>),
    Sequence(Keyed<SequenceWindow>),
    Spike(Keyed<SpikeWindow>),
}

struct RuleWindow {
    group_by: Vec<KeyPart>,
    /// Index of `group_by` among the distinct group-bys of all rules: rules
    /// grouping alike share one key computation per event.
    group: usize,
    spec: Spec,
    state: State,
}

impl RuleWindow {
    fn compile(doc: &RuleDoc) -> Result<Option<RuleWindow>, RuleError> {
        let Some(c) = &doc.correlation else {
            return Ok(None);
        };
        let bad = |m: String| RuleError::invalid(&doc.id, m);
        let span_ms = parse_timespan(&c.timespan).ok_or_else(|| {
            bad(format!(
                "correlation timespan {:?} is not like 30s, 5m, 1h",
                c.timespan
            ))
        })?;
        let group_by = c
            .group_by
            .iter()
            .map(|g| KeyPart::parse(g).ok_or_else(|| bad(format!("unknown group-by field {g:?}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let field = match &c.field {
            Some(f) => Some(
                Field::parse(f).ok_or_else(|| bad(format!("unknown correlation field {f:?}")))?,
            ),
            None => None,
        };
        let mut spec = Spec {
            span_ms,
            need: c.condition.min_count(),
            field,
            ..Spec::default()
        };
        let cap = MAX_KEYS_PER_RULE;
        let state = match c.kind {
            CorrelationKind::EventCount if spec.need > count::MAX_EXACT_COUNT => {
                spec.field = None;
                State::Sum(Keyed::new(span_ms, cap))
            }
            CorrelationKind::EventCount => State::Count(Keyed::new(span_ms, cap)),
            CorrelationKind::ValueCount => {
                if spec.field.is_none() {
                    return Err(bad("value_count needs a `field`".into()));
                }
                if spec.need > count::MAX_EXACT_COUNT {
                    return Err(bad(format!(
                        "value_count threshold above {}",
                        count::MAX_EXACT_COUNT
                    )));
                }
                State::Distinct(Keyed::new(span_ms, cap))
            }
            CorrelationKind::ValueSum => {
                if !spec.field.is_some_and(Field::is_numeric) {
                    return Err(bad("value_sum needs a numeric `field`".into()));
                }
                State::Sum(Keyed::new(span_ms, cap))
            }
            CorrelationKind::TemporalOrdered => {
                if c.order.is_empty() || c.order.len() > 8 {
                    return Err(bad(
                        "temporal_ordered needs 1 to 8 `order` selections".into()
                    ));
                }
                if let Some(missing) = c
                    .order
                    .iter()
                    .find(|o| !doc.detection.selections.contains_key(*o))
                {
                    return Err(bad(format!("order names unknown selection {missing:?}")));
                }
                if spec.need > count::MAX_EXACT_COUNT {
                    return Err(bad(format!(
                        "temporal_ordered threshold above {}",
                        count::MAX_EXACT_COUNT
                    )));
                }
                spec.steps = c.order.len() as u8;
                State::Sequence(Keyed::new(span_ms, cap))
            }
            CorrelationKind::Spike => {
                spec.baseline =
                    c.baseline
                        .filter(|b| (1..=10_000).contains(b))
                        .ok_or_else(|| {
                            bad(
                            "spike needs `baseline`: the number of trailing buckets (1 to 10000)"
                                .into(),
                        )
                        })?;
                spec.factor = c
                    .factor
                    .filter(|f| f.is_finite() && *f > 0.0)
                    .ok_or_else(|| bad("spike needs a positive `factor`".into()))?;
                // A key's baseline spans `baseline` buckets: it is idle only after that.
                let idle = span_ms.saturating_mul(i64::from(spec.baseline) + 1);
                State::Spike(Keyed::new(idle, cap))
            }
        };
        Ok(Some(RuleWindow {
            group_by,
            group: 0,
            spec,
            state,
        }))
    }

    fn advance(&mut self, watermark: i64) {
        match &mut self.state {
            State::Count(k) => k.advance(watermark),
            State::Distinct(k) => k.advance(watermark),
            State::Sum(k) => k.advance(watermark),
            State::Sequence(k) => k.advance(watermark),
            State::Spike(k) => k.advance(watermark),
        }
    }

    fn keys(&self) -> usize {
        match &self.state {
            State::Count(k) => k.len(),
            State::Distinct(k) => k.len(),
            State::Sum(k) => k.len(),
            State::Sequence(k) => k.len(),
            State::Spike(k) => k.len(),
        }
    }
}

/// What one observed event is, passed down to the typed windows.
struct Seen<'a, 'e> {
    rule: u32,
    steps: u8,
    ts: i64,
    ev: &'a Event<'e>,
    origin: Origin,
    raw: &'a str,
    /// The alert's attacker: the event's (IP, else user), or nobody for global windows.
    global: bool,
}

fn observe_in<W: Window>(
    keyed: &mut Keyed<W>,
    spec: &Spec,
    key: Key,
    seen: &Seen,
    alerts: &mut AlertBook,
) -> bool {
    let Some(entry) = keyed.touch(key, seen.ts) else {
        return false;
    };
    let attacker = if seen.global {
        AttackerRef::Nobody
    } else {
        AttackerRef::of(seen.ev)
    };
    let line = EvidenceLine {
        origin: seen.origin,
        raw: seen.raw,
    };
    if entry.firing {
        if entry.state.still_firing(spec, seen.ts) {
            alerts.record_group(seen.rule, attacker, seen.ev, None, 1, &[line]);
            return true;
        }
        entry.firing = false;
    }
    match entry.state.add(spec, seen.ts, seen.ev, seen.steps) {
        Some(crossing) => {
            let first_ms = Some(crossing.first_ms);
            match entry.held.take() {
                Some(held) => {
                    let (lines, n) = held.with(line);
                    let lines = lines.get(..n).unwrap_or(&[]);
                    alerts.record_group(
                        seen.rule,
                        attacker,
                        seen.ev,
                        first_ms,
                        crossing.count,
                        lines,
                    );
                }
                None => alerts.record_group(
                    seen.rule,
                    attacker,
                    seen.ev,
                    first_ms,
                    crossing.count,
                    &[line],
                ),
            }
            entry.firing = true;
            true
        }
        None => {
            if entry.state.near(spec) {
                entry
                    .held
                    .get_or_insert_default()
                    .push(seen.origin, seen.raw);
            }
            false
        }
    }
}

/// All rules' correlation windows for one stream of events.
pub struct Windows {
    /// Indexed by rule; `None` for rules without a correlation.
    rules: Vec<Option<RuleWindow>>,
    /// Timestamp of the latest event that had one (for events without).
    last_ms: Option<i64>,
    /// Newest timestamp seen: drives eviction, which must never run backwards.
    watermark: Option<i64>,
    keys: KeyHasher,
    /// Per distinct group-by: the key computed for the current event, valid
    /// while its stamp equals `event_seq`.
    key_cache: Vec<(u64, Option<Key>)>,
    /// Counts events ([`Windows::advance`] runs once per event).
    event_seq: u64,
}

impl Windows {
    pub fn compile(docs: &[RuleDoc]) -> Result<Windows, RuleError> {
        let mut rules = docs
            .iter()
            .map(RuleWindow::compile)
            .collect::<Result<Vec<_>, _>>()?;
        let mut groups: Vec<Vec<KeyPart>> = Vec::new();
        for rw in rules.iter_mut().flatten() {
            rw.group = match groups.iter().position(|g| *g == rw.group_by) {
                Some(i) => i,
                None => {
                    groups.push(rw.group_by.clone());
                    groups.len() - 1
                }
            };
        }
        Ok(Windows {
            rules,
            last_ms: None,
            watermark: None,
            keys: KeyHasher::default(),
            key_cache: vec![(0, None); groups.len()],
            event_seq: 1,
        })
    }

    pub fn empty() -> Windows {
        Windows {
            rules: Vec::new(),
            last_ms: None,
            watermark: None,
            keys: KeyHasher::default(),
            key_cache: Vec::new(),
            event_seq: 1,
        }
    }

    /// Whether rule `rule` has a correlation (otherwise each hit is an alert event by itself).
    pub fn is_correlated(&self, rule: u32) -> bool {
        matches!(self.rules.get(rule as usize), Some(Some(_)))
    }

    /// Keys held across all rules (for memory tests and statistics).
    pub fn keys_held(&self) -> usize {
        self.rules.iter().flatten().map(RuleWindow::keys).sum()
    }

    /// Feed a hit of a correlated rule, after [`Windows::advance`] for the same
    /// event. Returns true when the event belongs to a window that crossed its
    /// threshold (the event is then flagged and counted in the alert).
    pub fn observe(
        &mut self,
        hit: Hit,
        ev: &Event,
        origin: Origin,
        raw: &str,
        alerts: &mut AlertBook,
    ) -> bool {
        let Some(Some(rw)) = self.rules.get_mut(hit.rule as usize) else {
            return false;
        };
        let key = match self.key_cache.get_mut(rw.group) {
            Some((seq, key)) if *seq == self.event_seq => *key,
            Some(slot) => {
                let key = self.keys.key(&rw.group_by, ev);
                *slot = (self.event_seq, key);
                key
            }
            None => self.keys.key(&rw.group_by, ev),
        };
        let Some(key) = key else {
            return false;
        };
        let seen = Seen {
            rule: hit.rule,
            steps: hit.steps,
            ts: ev.timestamp_ms.or(self.last_ms).unwrap_or(0),
            ev,
            origin,
            raw,
            global: rw.group_by.is_empty(),
        };
        let spec = &rw.spec;
        match &mut rw.state {
            State::Count(k) => observe_in(k, spec, key, &seen, alerts),
            State::Distinct(k) => observe_in(k, spec, key, &seen, alerts),
            State::Sum(k) => observe_in(k, spec, key, &seen, alerts),
            State::Sequence(k) => observe_in(k, spec, key, &seen, alerts),
            State::Spike(k) => observe_in(k, spec, key, &seen, alerts),
        }
    }

    /// Called for every event before its hits: moves time forward (closes spike
    /// buckets, evicts idle state). May push rule indices onto `flagged`.
    ///
    /// Spike buckets close lazily when their key's next event arrives (the
    /// spike decision is taken as the open bucket crosses, see [`spike`]), so
    /// nothing is flagged here; this only moves the eviction clock, O(rules).
    pub fn advance(
        &mut self,
        ev: &Event,
        _alerts: &mut AlertBook,
        _origin: Origin,
        _raw: &str,
        _flagged: &mut Vec<u32>,
    ) {
        // A new event: keys cached for the previous one no longer apply.
        self.event_seq = self.event_seq.wrapping_add(1);
        let Some(ts) = ev.timestamp_ms else {
            return;
        };
        self.last_ms = Some(ts);
        if self.watermark.is_some_and(|w| ts <= w) {
            return;
        }
        self.watermark = Some(ts);
        for rw in self.rules.iter_mut().flatten() {
            rw.advance(ts);
        }
    }

    /// End of input. Every alert was raised as its window crossed, so there is
    /// nothing left to flush; the state is dropped with `self`.
    pub fn finish(&mut self, _alerts: &mut AlertBook) {}
}

#[cfg(test)]
mod tests;
