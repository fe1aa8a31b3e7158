//! Stateless matching of rule `detection` conditions against one event.
//! CONTRACT (used by engine.rs): `Hit`, `Scratch: Default`, `Matcher::compile`, `Matcher::matches`.
//!
//! Per event: each field some rule looks at is normalised once (lazily, into
//! [`Scratch`]) and scanned once by that field's automaton, which holds the
//! literals of all rules; only rules with a hit (or with tests the automaton
//! cannot gate, such as numbers) have their condition evaluated. Regexes and
//! libinjection run only when their gate literals were seen.

mod compile;
pub mod condition;
pub mod normalise;

use crate::rules::RuleError;
use crate::rules::schema::RuleDoc;
use compile::{Detector, N_FIELDS, Pos, Rule, Tables, Test};
use secmo_event::{Action, Event, EventKind, Field, Outcome};
use std::fmt::Write as _;

/// A rule whose detection condition holds for an event. `steps` is a bitmask of
/// the rule's `correlation.order` selections that matched (bit i = order[i]);
/// 0 for rules without an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rule: u32,
    pub steps: u8,
}

/// Per-thread reusable buffers (normalised field text), so matching allocates nothing per line.
#[derive(Debug, Default)]
pub struct Scratch {
    texts: Texts,
    state: State,
    /// Remembered scans, a direct-mapped table indexed by [`memo_hash`].
    memo: Vec<Memo>,
    /// [`Matcher::id`] of the matcher these buffers were last used with.
    owner: u64,
}

/// One field value (`url.original`: path and query) and the slots its scan hit.
#[derive(Debug, Default)]
struct Memo {
    valid: bool,
    field: u8,
    /// The raw value: first part, a 0xFF byte (never in UTF-8), second part.
    key: Vec<u8>,
    hits: Vec<u32>,
}

/// Web traffic comes from the same clients and referrers over and over: a
/// scan's slot hits depend only on the field's raw text, so they are
/// remembered per text instead of normalising and scanning again. The same
/// holds for request targets without a query string (pages and static
/// assets: ~9 in 10 requests of real and generated logs, a few thousand
/// distinct paths); with a query they are too many and too varied, and
/// remembering them thrashes the table (measured slower than scanning).
/// Free text rarely repeats.
fn memoised(f: Field, ev: &Event<'_>) -> bool {
    match f {
        Field::Message => false,
        Field::Url => ev.query.is_empty(),
        _ => true,
    }
}

/// Entries in the memo table (a power of two); bounds its memory with [`MAX_MEMO_KEY`].
const MEMO_SIZE: usize = 16384;
/// Longest raw value remembered; longer ones are scanned every time.
const MAX_MEMO_KEY: usize = 256;
/// Slot hits remembered per value; a value with more is rescanned.
const MAX_REPLAY: usize = 64;

/// The raw text a field's scan depends on, in two parts.
fn memo_key<'e>(f: Field, ev: &'e Event<'_>) -> (&'e [u8], &'e [u8]) {
    match f {
        Field::Url => (ev.path.as_bytes(), ev.query.as_bytes()),
        _ => (raw_text(f, ev), &[]),
    }
}

/// FxHash-style multiply-rotate over the field and both key parts.
fn memo_hash(f: Field, a: &[u8], b: &[u8]) -> usize {
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h = (f as u64 + 1).wrapping_mul(K);
    for part in [a, b] {
        let mut words = part.chunks_exact(8);
        for w in &mut words {
            let mut x = [0u8; 8];
            x.copy_from_slice(w);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(x)).wrapping_mul(K);
        }
        for &c in words.remainder() {
            h = (h.rotate_left(5) ^ u64::from(c)).wrapping_mul(K);
        }
        h = (h.rotate_left(5) ^ 0xff).wrapping_mul(K);
    }
    (h >> 40) as usize % MEMO_SIZE
}

impl Memo {
    fn holds(&self, f: Field, a: &[u8], b: &[u8]) -> bool {
        self.valid
            && self.field == f as u8
            && self.key.len() == a.len() + 1 + b.len()
            && self.key.get(..a.len()) == Some(a)
            && self.key.get(a.len() + 1..) == Some(b)
    }

    fn start(&mut self, f: Field, a: &[u8], b: &[u8]) {
        self.valid = false;
        self.field = f as u8;
        self.key.clear();
        self.key.extend_from_slice(a);
        self.key.push(0xff);
        self.key.extend_from_slice(b);
        self.hits.clear();
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Src {
    #[default]
    Unset,
    /// The event's own text is already normal.
    Raw,
    /// Normalised into `bufs[field]`.
    Buf,
}

#[derive(Debug, Default)]
struct Texts {
    src: [Src; N_FIELDS],
    bufs: Vec<Vec<u8>>,
    tmp: Vec<u8>,
    query: Vec<u8>,
    formatted: String,
    /// Length of the normalised path at the front of the `url.original` text.
    path_len: usize,
}

/// Per-event results, valid while their stamp equals `epoch` (so nothing is cleared per event).
#[derive(Debug, Default)]
struct State {
    epoch: u32,
    slot: Vec<u32>,
    rule: Vec<u32>,
    item: Vec<u32>,
    item_val: Vec<bool>,
    /// Per item: some slot of it hit in this event.
    gate: Vec<u32>,
    /// Per selection: some slot of it hit in this event.
    sel: Vec<u32>,
    detect: Vec<u32>,
    detect_val: Vec<bool>,
}

/// All rules' detection conditions compiled into shared matchers.
pub struct Matcher {
    t: Tables,
    /// Unique per compiled matcher (never 0), so a [`Scratch`] notices a change of matcher.
    id: u64,
}

static NEXT_MATCHER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

pub(crate) fn is_request_field(f: Field) -> bool {
    matches!(
        f,
        Field::Path | Field::Query | Field::Url | Field::Referrer | Field::UserAgent
    )
}

fn raw_text<'e>(f: Field, ev: &'e Event<'_>) -> &'e [u8] {
    match f {
        Field::Url if ev.query.is_empty() => ev.path.as_bytes(),
        _ => ev.text(f).as_bytes(),
    }
}

impl Texts {
    fn reset(&mut self) {
        self.src = [Src::Unset; N_FIELDS];
        if self.bufs.len() < N_FIELDS {
            self.bufs.resize_with(N_FIELDS, Vec::new);
        }
    }

    /// The matching text of a field: normalised for request fields, as logged otherwise.
    fn get<'s>(&'s mut self, f: Field, ev: &'s Event<'_>) -> &'s [u8] {
        // The path is the front of `url.original`: normalised once, scanned once.
        let (f, limit) = if f == Field::Path {
            self.get(Field::Url, ev);
            (Field::Url, Some(self.path_len))
        } else {
            (f, None)
        };
        let i = f as usize;
        if self.src.get(i) == Some(&Src::Unset) {
            let src = self.compute(f, ev);
            if let Some(s) = self.src.get_mut(i) {
                *s = src;
            }
        }
        let text = match self.src.get(i) {
            Some(Src::Buf) => self.bufs.get(i).map(Vec::as_slice).unwrap_or_default(),
            _ => raw_text(f, ev),
        };
        match limit {
            Some(n) => text.get(..n).unwrap_or(text),
            None => text,
        }
    }

    /// Normalised `url.original` is the normalised path (its length kept as
    /// `path_len`), then `?` and the normalised query when there is one.
    fn compute(&mut self, f: Field, ev: &Event<'_>) -> Src {
        if !is_request_field(f) {
            return Src::Raw;
        }
        let Some(buf) = self.bufs.get_mut(f as usize) else {
            return Src::Raw;
        };
        if f == Field::Url {
            let path = ev.path.as_bytes();
            let path_clean = normalise::is_clean(path, false);
            if ev.query.is_empty() {
                if path_clean {
                    self.path_len = path.len();
                    return Src::Raw;
                }
                normalise::normalise(path, false, buf, &mut self.tmp);
                self.path_len = buf.len();
                return Src::Buf;
            }
            if path_clean {
                buf.clear();
                buf.extend_from_slice(path);
            } else {
                normalise::normalise(path, false, buf, &mut self.tmp);
            }
            self.path_len = buf.len();
            buf.push(b'?');
            let query = ev.query.as_bytes();
            if normalise::is_clean(query, true) {
                buf.extend_from_slice(query);
            } else {
                normalise::normalise(query, true, &mut self.query, &mut self.tmp);
                buf.extend_from_slice(&self.query);
            }
            return Src::Buf;
        }
        let raw = raw_text(f, ev);
        let plus = f == Field::Query;
        if normalise::is_clean(raw, plus) {
            return Src::Raw;
        }
        normalise::normalise(raw, plus, buf, &mut self.tmp);
        Src::Buf
    }

    /// Text for direct tests: numbers and addresses formatted, other fields as [`Texts::get`].
    fn direct<'s>(&'s mut self, f: Field, ev: &'s Event<'_>) -> &'s [u8] {
        if f.is_numeric() || f == Field::SourceIp {
            self.formatted.clear();
            match (f, ev.number(f), ev.source_ip) {
                (Field::SourceIp, _, Some(ip)) => {
                    let _ = write!(self.formatted, "{ip}");
                }
                (_, Some(n), _) if f.is_numeric() => {
                    let _ = write!(self.formatted, "{n}");
                }
                _ => {}
            }
            return self.formatted.as_bytes();
        }
        self.get(f, ev)
    }
}

impl State {
    fn begin(&mut self, t: &Tables) {
        if self.slot.len() < t.slots.len() {
            self.slot.resize(t.slots.len(), 0);
        }
        if self.rule.len() < t.rules.len() {
            self.rule.resize(t.rules.len(), 0);
        }
        if self.item.len() < t.items.len() {
            self.item.resize(t.items.len(), 0);
            self.item_val.resize(t.items.len(), false);
            self.gate.resize(t.items.len(), 0);
        }
        if self.sel.len() < t.n_sels {
            self.sel.resize(t.n_sels, 0);
        }
        if self.detect.len() < 2 * N_FIELDS {
            self.detect.resize(2 * N_FIELDS, 0);
            self.detect_val.resize(2 * N_FIELDS, false);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.slot.fill(0);
            self.rule.fill(0);
            self.item.fill(0);
            self.gate.fill(0);
            self.sel.fill(0);
            self.detect.fill(0);
            self.epoch = 1;
        }
    }

    fn hit(&mut self, t: &Tables, sid: u32) {
        let Some(slot) = t.slots.get(sid as usize) else {
            return;
        };
        if let Some(s) = self.slot.get_mut(sid as usize) {
            *s = self.epoch;
        }
        if let Some(r) = self.rule.get_mut(slot.rule as usize) {
            *r = self.epoch;
        }
        if let Some(g) = self.gate.get_mut(slot.item as usize) {
            *g = self.epoch;
        }
        if let Some(g) = self.sel.get_mut(slot.sel as usize) {
            *g = self.epoch;
        }
    }

    fn slot_hit(&self, s: u32) -> bool {
        self.slot.get(s as usize) == Some(&self.epoch)
    }
}

fn eq_bytes(a: &[u8], b: &[u8], cased: bool) -> bool {
    if cased {
        a == b
    } else {
        a.eq_ignore_ascii_case(b)
    }
}

fn text_holds(pos: Pos, text: &[u8], v: &[u8], cased: bool) -> bool {
    match pos {
        Pos::Equals => eq_bytes(text, v, cased),
        Pos::StartsWith => text.get(..v.len()).is_some_and(|p| eq_bytes(p, v, cased)),
        Pos::EndsWith => text
            .len()
            .checked_sub(v.len())
            .and_then(|s| text.get(s..))
            .is_some_and(|p| eq_bytes(p, v, cased)),
        Pos::Contains => v.is_empty() || text.windows(v.len()).any(|w| eq_bytes(w, v, cased)),
    }
}

fn any_or_all<T>(values: &[T], all: bool, mut f: impl FnMut(&T) -> bool) -> bool {
    if all {
        values.iter().all(&mut f)
    } else {
        values.iter().any(f)
    }
}

/// Longest parameter value handed to libinjection.
const MAX_DETECT: usize = 16 * 1024;

/// Run a libinjection detector the way the field carries values: per
/// parameter name and value in query strings, whole text elsewhere.
fn run_detector(det: Detector, f: Field, text: &[u8]) -> bool {
    let check = |s: &[u8]| -> bool {
        if s.is_empty() {
            return false;
        }
        // Bound the tokenizers' work per value whatever the line length.
        let s = s.get(..MAX_DETECT).unwrap_or(s);
        match det {
            Detector::Sqli => libinjectionrs::detect_sqli(s).is_injection(),
            Detector::Xss => libinjectionrs::detect_xss(s).is_injection(),
        }
    };
    let params = |q: &[u8]| -> bool {
        q.split(|&b| b == b'&')
            .any(|seg| match memchr::memchr(b'=', seg) {
                Some(i) => {
                    let (name, value) = (
                        seg.get(..i).unwrap_or_default(),
                        seg.get(i + 1..).unwrap_or_default(),
                    );
                    check(value)
                        || (!name
                            .iter()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-.[]".contains(b))
                            && check(name))
                }
                None => check(seg),
            })
    };
    match f {
        Field::Query => params(text),
        Field::Url => match memchr::memchr(b'?', text) {
            Some(i) => {
                let (path, query) = (
                    text.get(..i).unwrap_or_default(),
                    text.get(i + 1..).unwrap_or_default(),
                );
                (det == Detector::Xss && check(path)) || params(query)
            }
            None => det == Detector::Xss && check(text),
        },
        _ => check(text),
    }
}

impl Matcher {
    pub fn compile(docs: &[RuleDoc]) -> Result<Matcher, RuleError> {
        let mut m = Matcher {
            t: compile::compile(docs)?,
            id: NEXT_MATCHER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        };
        m.decide_kind_only_rules();
        Ok(m)
    }

    /// Rules that only test `event.kind` (`request: {event.kind: http}` before a
    /// rate window) hold or fail for every event of a kind alike: evaluate them
    /// once per kind, through the ordinary path, on an event with nothing but
    /// that kind, and answer from the result afterwards.
    fn decide_kind_only_rules(&mut self) {
        let (mut scratch, mut hits) = (Scratch::default(), Vec::new());
        let mut always = vec![0u8; self.t.rules.len()];
        for (bit, kind) in EventKind::ALL.iter().enumerate() {
            let ev = Event {
                kind: *kind,
                ..Event::default()
            };
            hits.clear();
            self.matches(&ev, &mut scratch, &mut hits);
            for h in &hits {
                if let Some(a) = always.get_mut(h.rule as usize) {
                    *a |= 1 << bit;
                }
            }
        }
        for (rule, a) in self.t.rules.iter_mut().zip(always) {
            rule.always = if rule.kind_only { a } else { 0 };
        }
        self.t.kinds_decided = true;
    }

    /// A matcher that evaluates every rule with every gate open: slow, for
    /// checking that gating never changes what is detected.
    #[cfg(test)]
    pub(crate) fn compile_exhaustive(docs: &[RuleDoc]) -> Result<Matcher, RuleError> {
        let mut m = Matcher::compile(docs)?;
        m.t.exhaustive = true;
        Ok(m)
    }

    /// Number of compiled rules (the index space of [`Hit::rule`]).
    pub fn rule_count(&self) -> usize {
        self.t.rules.len()
    }

    /// Push a [`Hit`] for every rule whose condition holds for `ev`, in rule order.
    pub fn matches(&self, ev: &Event, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        if scratch.owner != self.id {
            // Remembered slot ids belong to the matcher that recorded them.
            scratch.owner = self.id;
            scratch.memo.iter_mut().for_each(|m| m.valid = false);
        }
        if scratch.memo.len() < MEMO_SIZE {
            scratch.memo.resize_with(MEMO_SIZE, Memo::default);
        }
        let Scratch {
            texts, state, memo, ..
        } = scratch;
        texts.reset();
        state.begin(&self.t);
        let kind_bit = EventKind::ALL
            .iter()
            .position(|k| *k == ev.kind)
            .unwrap_or(0);
        let fields = self.t.kind_fields.get(kind_bit).copied().unwrap_or(0);
        let kinds_decided = self.t.kinds_decided && !self.t.exhaustive;
        for fa in &self.t.automata {
            if fields & (1 << fa.field as u32) == 0 || (kinds_decided && fa.only_kind_rules) {
                continue;
            }
            let mut recorded = None;
            if memoised(fa.field, ev) {
                let (ka, kb) = memo_key(fa.field, ev);
                if ka.len() + kb.len() < MAX_MEMO_KEY
                    && let Some(m) = memo.get_mut(memo_hash(fa.field, ka, kb))
                {
                    if m.holds(fa.field, ka, kb) {
                        for &sid in &m.hits {
                            state.hit(&self.t, sid);
                        }
                        continue;
                    }
                    m.start(fa.field, ka, kb);
                    recorded = Some(m);
                }
            }
            // Normalising `url.original` records where its path part ends.
            let path_len = match texts.get(fa.field, ev).len() {
                0 => {
                    if let Some(c) = recorded {
                        c.valid = true;
                    }
                    continue;
                }
                _ => texts.path_len,
            };
            let text = texts.get(fa.field, ev);
            for m in fa.ac.find_overlapping_iter(text) {
                let Some(slots) = fa.pattern_slots.get(m.pattern().as_usize()) else {
                    continue;
                };
                for &sid in slots {
                    let Some(slot) = self.t.slots.get(sid as usize) else {
                        continue;
                    };
                    let end = if slot.in_path { path_len } else { text.len() };
                    let placed = m.end() <= end
                        && match slot.pos {
                            Pos::Contains => true,
                            Pos::StartsWith => m.start() == 0,
                            Pos::EndsWith => m.end() == end,
                            Pos::Equals => m.start() == 0 && m.end() == end,
                        };
                    let exact = match &slot.cased {
                        Some(p) => text.get(m.range()) == Some(&p[..]),
                        None => true,
                    };
                    if placed && exact {
                        // A slot is on one field only: stamped already means seen in this scan.
                        let fresh = !state.slot_hit(sid);
                        state.hit(&self.t, sid);
                        if fresh
                            && let Some(c) = recorded.as_mut()
                            && c.hits.len() < MAX_REPLAY
                        {
                            c.hits.push(sid);
                        }
                    }
                }
            }
            if let Some(c) = recorded
                && c.hits.len() < MAX_REPLAY
            {
                c.valid = true;
            }
        }
        for (ri, rule) in self.t.rules.iter().enumerate() {
            if rule.kinds & (1 << kind_bit) == 0 {
                continue;
            }
            if rule.kind_only && kinds_decided {
                if rule.always & (1 << kind_bit) != 0 {
                    out.push(Hit {
                        rule: ri as u32,
                        steps: 0,
                    });
                }
                continue;
            }
            if rule.gated
                && !rule.untouched
                && !self.t.exhaustive
                && state.rule.get(ri) != Some(&state.epoch)
            {
                continue;
            }
            // A necessary cheap item is false: the condition cannot hold.
            // Single number compares first, straight from the event.
            if !self.t.exhaustive
                && !rule
                    .pre_numbers
                    .iter()
                    .all(|&(f, op, v)| ev.number(f).is_some_and(|n| op.holds(n, v)))
            {
                continue;
            }
            let mut ctx = Ctx {
                t: &self.t,
                ev,
                texts,
                state,
            };
            if !self.t.exhaustive && rule.pre.iter().any(|&i| !ctx.item(i)) {
                continue;
            }
            if rule.cond.eval(&mut |s| ctx.selection(rule, s)) {
                let mut steps = 0u8;
                for (bit, &s) in rule.order.iter().enumerate() {
                    if ctx.selection(rule, s) {
                        steps |= 1 << bit;
                    }
                }
                out.push(Hit {
                    rule: ri as u32,
                    steps,
                });
            }
        }
    }
}

struct Ctx<'m, 's, 'e, 'l> {
    t: &'m Tables,
    ev: &'e Event<'l>,
    texts: &'s mut Texts,
    state: &'s mut State,
}

impl Ctx<'_, '_, '_, '_> {
    fn selection(&mut self, rule: &Rule, s: usize) -> bool {
        let Some(sel) = rule.sels.get(s) else {
            return false;
        };
        if sel.gated
            && !self.t.exhaustive
            && self.state.sel.get(sel.id as usize) != Some(&self.state.epoch)
        {
            return false;
        }
        sel.alts.iter().any(|alt| alt.iter().all(|&i| self.item(i)))
    }

    fn item(&mut self, id: u32) -> bool {
        let i = id as usize;
        if self.state.item.get(i) == Some(&self.state.epoch) {
            return self.state.item_val.get(i).copied().unwrap_or(false);
        }
        let v = self.eval(i);
        if let (Some(stamp), Some(val)) =
            (self.state.item.get_mut(i), self.state.item_val.get_mut(i))
        {
            *stamp = self.state.epoch;
            *val = v;
        }
        v
    }

    fn eval(&mut self, i: usize) -> bool {
        let Some(item) = self.t.items.get(i) else {
            return false;
        };
        let (f, ev) = (item.field, self.ev);
        let slot_hit = self.state.gate.get(i) == Some(&self.state.epoch);
        let gate_open = slot_hit || self.t.exhaustive;
        match &item.test {
            Test::Literal { slots, all } => {
                if !slot_hit {
                    false
                } else if *all {
                    slots.clone().all(|s| self.state.slot_hit(s))
                } else {
                    true
                }
            }
            Test::Regex { res, all, sibling } => {
                let state = &*self.state;
                let single = res.len() == 1;
                let text = self.texts.get(f, ev);
                any_or_all(res, *all, |(re, gate)| {
                    let open = match gate {
                        _ if *sibling || self.t.exhaustive => true,
                        None => true,
                        Some(_) if single => gate_open,
                        Some(g) => gate_open && g.clone().any(|s| state.slot_hit(s)),
                    };
                    open && re.is_match(text)
                })
            }
            Test::Detect { det, want, .. } => {
                // No trigger character, no injection: skip the tokenizer either way
                // (part of what the rule means, so kept when exhaustive).
                if !slot_hit {
                    return !*want;
                }
                let k = f as usize * 2 + usize::from(*det == Detector::Xss);
                if self.state.detect.get(k) == Some(&self.state.epoch) {
                    return self.state.detect_val.get(k).copied().unwrap_or(false) == *want;
                }
                let found = run_detector(*det, f, self.texts.get(f, ev));
                if let (Some(stamp), Some(val)) = (
                    self.state.detect.get_mut(k),
                    self.state.detect_val.get_mut(k),
                ) {
                    *stamp = self.state.epoch;
                    *val = found;
                }
                found == *want
            }
            Test::Number { op, values, all } => match ev.number(f) {
                Some(n) => any_or_all(values, *all, |&v| op.holds(n, v)),
                None => false,
            },
            Test::Cidr(nets) => ev
                .source_ip
                .is_some_and(|ip| nets.iter().any(|n| n.contains(&ip))),
            Test::IpEq(ips) => ev.source_ip.is_some_and(|ip| ips.contains(&ip)),
            Test::Exists(want) => {
                let present = match f {
                    Field::SourceIp => ev.source_ip.is_some(),
                    Field::Action => ev.action != Action::None,
                    Field::Outcome => ev.outcome != Outcome::Unknown,
                    Field::Url => !ev.path.is_empty() || !ev.query.is_empty(),
                    _ if f.is_numeric() => ev.number(f).is_some_and(|n| n != 0),
                    _ => !ev.text(f).is_empty(),
                };
                present == *want
            }
            Test::Text {
                pos,
                values,
                cased,
                all,
            } => {
                let text = self.texts.direct(f, ev);
                any_or_all(values, *all, |v| text_holds(*pos, text, v, *cased))
            }
        }
    }
}

#[cfg(test)]
mod tests;
