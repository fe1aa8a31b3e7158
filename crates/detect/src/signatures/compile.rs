//! Turning rule documents into shared tables: every literal of every rule on
//! one field goes into that field's single Aho-Corasick automaton; regexes and
//! injection detectors get literal gates in the same automaton; the rest
//! (numbers, networks, `exists`) are cheap direct tests.

use super::condition::{self, Expr};
use super::is_request_field;
use crate::rules::RuleError;
use crate::rules::schema::{RuleDoc, Scalar, Selection as SelectionDoc, Value};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use ipnet::IpNet;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};
use secmo_event::{EventKind, Field};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::ops::Range;

pub(super) const N_FIELDS: usize = Field::ALL.len();
pub(super) const ALL_KINDS: u8 = (1u8 << EventKind::ALL.len()) - 1;

/// Where a literal must sit in the field text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pos {
    Equals,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NumOp {
    Eq,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl NumOp {
    #[inline]
    pub fn holds(self, n: u64, v: u64) -> bool {
        match self {
            NumOp::Eq => n == v,
            NumOp::Gt => n > v,
            NumOp::Gte => n >= v,
            NumOp::Lt => n < v,
            NumOp::Lte => n <= v,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Detector {
    Sqli,
    Xss,
}

/// Characters or words without which libinjection cannot report anything
/// useful; the detector runs only when one of them is in the field.
const SQLI_GATES: &[&str] = &[
    "'", "\"", "`", "(", "#", "--", ";", "union", "select", " or ", " and ", "||", "&&", " xor ",
    "@@", "waitfor",
];
const XSS_GATES: &[&str] = &["<", "'", "\"", "`", "script:", "data:"];

/// One `field|mods: values` test.
pub(super) enum Test {
    /// Values in the field's automaton; satisfied through slot hits.
    Literal {
        slots: Range<u32>,
        all: bool,
    },
    /// Each regex runs only when one of its required literals (gate slots) was
    /// seen, or, with `sibling`, after a literal item of the same selection held
    /// (the regex then adds nothing to the automaton).
    Regex {
        res: Vec<(regex::bytes::Regex, Option<Range<u32>>)>,
        all: bool,
        sibling: bool,
    },
    Detect {
        det: Detector,
        want: bool,
    },
    Number {
        op: NumOp,
        values: Vec<u64>,
        all: bool,
    },
    Cidr(Vec<IpNet>),
    IpEq(Vec<IpAddr>),
    Exists(bool),
    /// Text tests that do not fit the automaton (empty values, numbers or IPs as text).
    Text {
        pos: Pos,
        values: Vec<Vec<u8>>,
        cased: bool,
        all: bool,
    },
}

impl Test {
    /// False for sure when none of the item's automaton slots hit.
    fn is_gated(&self) -> bool {
        match self {
            Test::Literal { .. } | Test::Detect { want: true, .. } => true,
            Test::Regex { res, sibling, .. } => *sibling || res.iter().all(|(_, g)| g.is_some()),
            _ => false,
        }
    }
}

pub(super) struct Item {
    pub field: Field,
    pub test: Test,
}

/// One value of one literal item, as the automaton reports it.
pub(super) struct Slot {
    /// The item this slot belongs to (its gate), and that item's rule.
    pub item: u32,
    /// The selection ([`Selection::id`]) holding that item.
    pub sel: u32,
    pub rule: u32,
    /// A `url.path` test, scanned as the front of the `url.original` text.
    pub in_path: bool,
    pub pos: Pos,
    /// For `|cased` items: the exact bytes to confirm.
    pub cased: Option<Box<[u8]>>,
}

pub(super) struct FieldAutomaton {
    pub field: Field,
    pub ac: AhoCorasick,
    /// Automaton pattern id → slots using that pattern.
    pub pattern_slots: Vec<Vec<u32>>,
    /// Every slot belongs to a `kind_only` rule: once those are decided per
    /// kind, the scan is not needed (except when evaluating exhaustively).
    pub only_kind_rules: bool,
}

/// A selection: any of the alternatives, each an AND of items. `{}` is `[[]]`: true.
pub(super) struct Selection {
    pub alts: Vec<Vec<u32>>,
    /// Index among all rules' selections, for per-event hit stamps.
    pub id: u32,
    /// Every alternative has an item that is false unless the automaton hit one
    /// of its slots: with no slot of this selection hit, the selection is false.
    pub gated: bool,
}

pub(super) struct Rule {
    pub kinds: u8,
    pub cond: Expr,
    pub sels: Vec<Selection>,
    pub order: Vec<usize>,
    /// Every item is false unless the automaton hit one of its slots.
    pub gated: bool,
    /// The condition's value when every item is false.
    pub untouched: bool,
    /// Cheap items (numbers, networks, `exists`) the condition cannot hold
    /// without: tested first, so that most rules reading only status codes or
    /// sizes are dismissed in a compare or two.
    pub pre: Vec<u32>,
    /// The single-valued number tests of the necessary cheap items
    /// (`status: 404`, `bytes|gt: 0`), as (field, comparison, value), taken
    /// out of `pre`: decided with one compare, before anything else.
    pub pre_numbers: Vec<(Field, NumOp, u64)>,
    /// Every item tests `event.kind` and there is no `order`: the outcome is a
    /// function of the kind alone, decided once per kind at compile time.
    pub kind_only: bool,
    /// For a `kind_only` rule: bit k set when the condition holds for kind k.
    pub always: u8,
}

impl Test {
    /// Decided from the event's numbers or address alone, without any text.
    fn is_cheap(&self) -> bool {
        matches!(
            self,
            Test::Number { .. } | Test::Cidr(_) | Test::IpEq(_) | Test::Exists(_)
        )
    }
}

/// Items that must all hold for `e` to be true (an under-approximation:
/// only what `and` and single-alternative selections force).
fn necessary(e: &Expr, sels: &[Selection], out: &mut Vec<u32>) {
    match e {
        Expr::Sel(i) => {
            if let Some([alt]) = sels.get(*i).map(|s| s.alts.as_slice()) {
                out.extend_from_slice(alt);
            }
        }
        Expr::And(v) => v.iter().for_each(|e| necessary(e, sels, out)),
        Expr::Not(_) | Expr::Or(_) => {}
    }
}

pub(super) struct Tables {
    pub items: Vec<Item>,
    pub slots: Vec<Slot>,
    pub automata: Vec<FieldAutomaton>,
    pub rules: Vec<Rule>,
    /// Per event kind: bit mask of fields whose automaton some rule of that kind uses.
    pub kind_fields: Vec<u32>,
    /// Number of selections over all rules.
    pub n_sels: usize,
    /// Evaluate every rule and open every regex gate (tests: gates must not change results).
    pub exhaustive: bool,
    /// [`Rule::always`] is filled in: `kind_only` rules are answered from it.
    pub kinds_decided: bool,
}

#[derive(Default)]
struct FieldPatterns {
    patterns: Vec<Vec<u8>>,
    index: HashMap<Vec<u8>, usize>,
    slots: Vec<Vec<u32>>,
}

#[derive(Default)]
struct Builder {
    /// Set while compiling the regexes of a selection that has a literal test.
    sibling_gated: bool,
    items: Vec<Item>,
    slots: Vec<Slot>,
    fields: BTreeMap<Field, FieldPatterns>,
    kind_fields: Vec<u32>,
    /// The selection whose items are being compiled; the next one's id after `rule`.
    sel: u32,
}

pub(super) fn compile(docs: &[RuleDoc]) -> Result<Tables, RuleError> {
    let mut b = Builder {
        kind_fields: vec![0; EventKind::ALL.len()],
        ..Builder::default()
    };
    let mut rules = Vec::with_capacity(docs.len());
    for (ri, doc) in docs.iter().enumerate() {
        let ri = u32::try_from(ri).map_err(|_| RuleError::invalid(&doc.id, "too many rules"))?;
        rules.push(b.rule(ri, doc)?);
    }
    let mut automata = Vec::new();
    for (field, fp) in b.fields {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            // A DFA costs memory once but scans every line fastest.
            .kind(Some(AhoCorasickKind::DFA))
            .build(&fp.patterns)
            .map_err(|e| {
                RuleError::invalid("*", format!("automaton for {}: {e}", field.ecs_name()))
            })?;
        let only_kind_rules = fp.slots.iter().flatten().all(|&sid| {
            b.slots
                .get(sid as usize)
                .and_then(|slot| rules.get(slot.rule as usize))
                .is_some_and(|r: &Rule| r.kind_only)
        });
        automata.push(FieldAutomaton {
            field,
            ac,
            pattern_slots: fp.slots,
            only_kind_rules,
        });
    }
    Ok(Tables {
        items: b.items,
        slots: b.slots,
        automata,
        rules,
        kind_fields: b.kind_fields,
        n_sels: b.sel as usize,
        exhaustive: false,
        kinds_decided: false,
    })
}

fn kind_mask(kinds: &[EventKind]) -> u8 {
    if kinds.is_empty() {
        return ALL_KINDS;
    }
    kinds
        .iter()
        .filter_map(|k| EventKind::ALL.iter().position(|x| x == k))
        .fold(0, |m, i| m | (1 << i))
}

impl Builder {
    fn rule(&mut self, ri: u32, doc: &RuleDoc) -> Result<Rule, RuleError> {
        let id = doc.id.as_str();
        let kinds = kind_mask(&doc.kinds);
        let names: Vec<&str> = doc
            .detection
            .selections
            .keys()
            .map(String::as_str)
            .collect();
        let first_item = self.items.len();
        let mut sels = Vec::with_capacity(names.len());
        for sel in doc.detection.selections.values() {
            let maps: &[BTreeMap<String, Value>] = match sel {
                SelectionDoc::All(m) => std::slice::from_ref(m),
                SelectionDoc::AnyOf(v) => v,
            };
            let mut alts = Vec::with_capacity(maps.len());
            let sel_id = self.sel;
            for map in maps {
                let mut alt = Vec::with_capacity(map.len());
                // Literal tests first: a regex beside one needs no gate of its own,
                // and evaluation (left to right, short-circuit) reaches it only
                // after the literal held.
                let is_re = |k: &str| k.split('|').skip(1).any(|m| m == "re");
                for (key, value) in map.iter().filter(|(k, _)| !is_re(k)) {
                    alt.push(self.item(id, ri, kinds, key, value)?);
                }
                self.sibling_gated = alt.iter().any(|&i| {
                    self.items
                        .get(i as usize)
                        .is_some_and(|it| matches!(it.test, Test::Literal { .. }))
                });
                for (key, value) in map.iter().filter(|(k, _)| is_re(k)) {
                    alt.push(self.item(id, ri, kinds, key, value)?);
                }
                self.sibling_gated = false;
                alts.push(alt);
            }
            let gated = alts.iter().all(|alt: &Vec<u32>| {
                alt.iter().any(|&i| {
                    self.items
                        .get(i as usize)
                        .is_some_and(|it| it.test.is_gated())
                })
            });
            sels.push(Selection {
                alts,
                id: sel_id,
                gated,
            });
            self.sel += 1;
        }
        let cond = condition::parse(&doc.detection.condition, &names)
            .map_err(|e| RuleError::invalid(id, e))?;
        let mut order = Vec::new();
        if let Some(c) = &doc.correlation {
            if c.order.len() > 8 {
                return Err(RuleError::invalid(
                    id,
                    "correlation.order has more than 8 steps",
                ));
            }
            for name in &c.order {
                match names.iter().position(|n| n == name) {
                    Some(i) => order.push(i),
                    None => {
                        return Err(RuleError::invalid(
                            id,
                            format!("correlation.order names unknown selection `{name}`"),
                        ));
                    }
                }
            }
        }
        let gated = self
            .items
            .get(first_item..)
            .unwrap_or_default()
            .iter()
            .all(|i| i.test.is_gated());
        let untouched = cond.eval(&mut |s| {
            sels.get(s)
                .is_some_and(|sel| sel.alts.iter().any(Vec::is_empty))
        });
        let own = self.items.get(first_item..).unwrap_or_default();
        let kind_only = order.is_empty()
            && !own.is_empty()
            && own.iter().all(|it| {
                it.field == Field::Kind
                    && matches!(it.test, Test::Literal { .. } | Test::Text { .. })
            });
        let mut pre = Vec::new();
        necessary(&cond, &sels, &mut pre);
        pre.retain(|&i| {
            self.items
                .get(i as usize)
                .is_some_and(|it| it.test.is_cheap())
        });
        pre.sort_unstable();
        pre.dedup();
        let single_number = |i: u32| match self.items.get(i as usize) {
            Some(Item {
                field,
                test: Test::Number { op, values, .. },
            }) if values.len() == 1 => values.first().map(|&v| (*field, *op, v)),
            _ => None,
        };
        let pre_numbers = pre.iter().filter_map(|&i| single_number(i)).collect();
        pre.retain(|&i| single_number(i).is_none());
        Ok(Rule {
            kinds,
            cond,
            sels,
            order,
            gated,
            untouched,
            pre,
            pre_numbers,
            kind_only,
            always: 0,
        })
    }

    fn slot(
        &mut self,
        field: Field,
        kinds: u8,
        rule: u32,
        pos: Pos,
        pattern: &[u8],
        cased: bool,
    ) -> u32 {
        let in_path = field == Field::Path;
        let field = if in_path { Field::Url } else { field };
        let fp = self.fields.entry(field).or_default();
        let key = pattern.to_ascii_lowercase();
        let pid = match fp.index.get(&key) {
            Some(&p) => p,
            None => {
                fp.patterns.push(key.clone());
                fp.slots.push(Vec::new());
                fp.index.insert(key, fp.patterns.len() - 1);
                fp.patterns.len() - 1
            }
        };
        let sid = self.slots.len() as u32;
        if let Some(v) = fp.slots.get_mut(pid) {
            v.push(sid);
        }
        self.slots.push(Slot {
            item: self.items.len() as u32,
            sel: self.sel,
            in_path,
            rule,
            pos,
            cased: cased.then(|| pattern.into()),
        });
        for (k, mask) in self.kind_fields.iter_mut().enumerate() {
            if kinds & (1 << k) != 0 {
                *mask |= 1 << field as u32;
            }
        }
        sid
    }

    fn item(
        &mut self,
        id: &str,
        ri: u32,
        kinds: u8,
        key: &str,
        value: &Value,
    ) -> Result<u32, RuleError> {
        let mut parts = key.split('|');
        let fname = parts.next().unwrap_or_default().trim();
        let field = Field::parse(fname)
            .ok_or_else(|| RuleError::invalid(id, format!("unknown field `{fname}`")))?;
        let (mut all, mut cased) = (false, false);
        let mut op: Option<&str> = None;
        for m in parts {
            match m {
                "all" => all = true,
                "cased" => cased = true,
                "contains" | "startswith" | "endswith" | "re" | "cidr" | "gt" | "gte" | "lt"
                | "lte" | "exists" | "sqli" | "xss" => {
                    if let Some(prev) = op {
                        return Err(RuleError::invalid(
                            id,
                            format!("`{key}`: modifiers `{prev}` and `{m}` conflict"),
                        ));
                    }
                    op = Some(m);
                }
                other => {
                    return Err(RuleError::invalid(
                        id,
                        format!("`{key}`: unknown modifier `{other}`"),
                    ));
                }
            }
        }
        let scalars = value.scalars();
        if scalars.is_empty() {
            return Err(RuleError::invalid(id, format!("`{key}`: empty value list")));
        }
        let texts: Vec<String> = scalars.iter().map(Scalar::to_text).collect();
        let item_id = self.items.len() as u32;
        let bad = |what: &str| RuleError::invalid(id, format!("`{key}`: {what}"));
        let test = match op {
            Some("exists") => {
                Test::Exists(bool_of(scalars).ok_or_else(|| bad("exists takes true or false"))?)
            }
            Some(d @ ("sqli" | "xss")) => {
                if field.is_numeric() || field == Field::SourceIp {
                    return Err(bad("injection detectors need a text field"));
                }
                let want = bool_of(scalars).ok_or_else(|| bad("detectors take true or false"))?;
                let (det, gates) = if d == "sqli" {
                    (Detector::Sqli, SQLI_GATES)
                } else {
                    (Detector::Xss, XSS_GATES)
                };
                for g in gates {
                    self.slot(field, kinds, ri, Pos::Contains, g.as_bytes(), false);
                }
                Test::Detect { det, want }
            }
            Some("cidr") => {
                if field != Field::SourceIp {
                    return Err(bad("cidr applies to source.ip only"));
                }
                let nets = texts
                    .iter()
                    .map(|t| {
                        t.parse::<IpNet>()
                            .or_else(|_| t.parse::<IpAddr>().map(IpNet::from))
                            .map_err(|_| bad(&format!("bad network `{t}`")))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Test::Cidr(nets)
            }
            Some(n @ ("gt" | "gte" | "lt" | "lte")) => {
                if !field.is_numeric() {
                    return Err(bad("numeric comparison on a non-numeric field"));
                }
                let op = match n {
                    "gt" => NumOp::Gt,
                    "gte" => NumOp::Gte,
                    "lt" => NumOp::Lt,
                    _ => NumOp::Lte,
                };
                Test::Number {
                    op,
                    values: numbers(&texts).ok_or_else(|| bad("needs whole numbers"))?,
                    all,
                }
            }
            None if field.is_numeric() => match numbers(&texts) {
                Some(values) => Test::Number {
                    op: NumOp::Eq,
                    values,
                    all,
                },
                None => text_test(Pos::Equals, &texts, cased, all),
            },
            None if field == Field::SourceIp => {
                match texts.iter().map(|t| t.parse::<IpAddr>()).collect() {
                    Ok(ips) => Test::IpEq(ips),
                    Err(_) => return Err(bad("bad IP address")),
                }
            }
            Some("re") => {
                let mut res = Vec::with_capacity(texts.len());
                for t in &texts {
                    let re = regex::bytes::RegexBuilder::new(t)
                        .case_insensitive(!cased)
                        .unicode(false)
                        .size_limit(4 << 20)
                        .build()
                        .map_err(|e| bad(&format!("bad regex: {e}")))?;
                    let gate =
                        if field.is_numeric() || field == Field::SourceIp || self.sibling_gated {
                            None
                        } else {
                            required_literals(t, is_request_field(field)).map(|lits| {
                                let start = self.slots.len() as u32;
                                for l in &lits {
                                    self.slot(field, kinds, ri, Pos::Contains, l, false);
                                }
                                start..self.slots.len() as u32
                            })
                        };
                    res.push((re, gate));
                }
                Test::Regex {
                    res,
                    all,
                    sibling: self.sibling_gated,
                }
            }
            Some(o) => {
                let pos = match o {
                    "contains" => Pos::Contains,
                    "startswith" => Pos::StartsWith,
                    "endswith" => Pos::EndsWith,
                    _ => return Err(bad("unsupported modifier")),
                };
                self.literal_or_text(field, kinds, ri, pos, &texts, cased, all)
            }
            None => self.literal_or_text(field, kinds, ri, Pos::Equals, &texts, cased, all),
        };
        self.items.push(Item { field, test });
        Ok(item_id)
    }

    #[allow(clippy::too_many_arguments)]
    fn literal_or_text(
        &mut self,
        field: Field,
        kinds: u8,
        rule: u32,
        pos: Pos,
        texts: &[String],
        cased: bool,
        all: bool,
    ) -> Test {
        if field.is_numeric() || field == Field::SourceIp || texts.iter().any(String::is_empty) {
            return text_test(pos, texts, cased, all);
        }
        let start = self.slots.len() as u32;
        for t in texts {
            self.slot(field, kinds, rule, pos, t.as_bytes(), cased);
        }
        Test::Literal {
            slots: start..self.slots.len() as u32,
            all,
        }
    }
}

fn text_test(pos: Pos, texts: &[String], cased: bool, all: bool) -> Test {
    Test::Text {
        pos,
        values: texts.iter().map(|t| t.as_bytes().to_vec()).collect(),
        cased,
        all,
    }
}

fn bool_of(scalars: &[Scalar]) -> Option<bool> {
    match scalars {
        [Scalar::Bool(b)] => Some(*b),
        [Scalar::Str(s)] if s.eq_ignore_ascii_case("true") => Some(true),
        [Scalar::Str(s)] if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn numbers(texts: &[String]) -> Option<Vec<u64>> {
    texts.iter().map(|t| t.trim().parse::<u64>().ok()).collect()
}

/// Literals one of which every match of `pattern` must contain (its possible
/// prefixes or suffixes, whichever set has the longer shortest member), or
/// `None` when there is no usable finite set.
pub(super) fn required_literals(pattern: &str, normalised: bool) -> Option<Vec<Vec<u8>>> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .ok()?;
    [true, false]
        .into_iter()
        .filter_map(|prefix| {
            let mut ex = Extractor::new();
            ex.kind(if prefix {
                ExtractKind::Prefix
            } else {
                ExtractKind::Suffix
            });
            ex.limit_class(24).limit_total(2000);
            let mut seq = ex.extract(&hir);
            if seq.len().is_some_and(|n| n > 500) {
                if prefix {
                    seq.optimize_for_prefix_by_preference();
                } else {
                    seq.optimize_for_suffix_by_preference();
                }
            }
            let lits = seq.literals()?;
            let is_space = |c: &u8| matches!(c, b' ' | b'\t'..=b'\r');
            // Normalised text holds no tab, CR, VT or FF: variants with them never occur.
            // Elsewhere cut the whitespace variants (`sleep\t`, `sleep `, ...) that
            // `\s*` multiplies; a required prefix stays required when cut shorter.
            let mut out: Vec<Vec<u8>> = lits
                .iter()
                .filter(|l| {
                    !normalised
                        || !l
                            .as_bytes()
                            .iter()
                            .any(|c| matches!(c, b'\t' | b'\r' | 0x0b | 0x0c))
                })
                .map(|l| {
                    if normalised {
                        return l.as_bytes().to_ascii_lowercase();
                    }
                    let b = l.as_bytes();
                    let keep = if prefix {
                        b.iter()
                            .rposition(|c| !is_space(c))
                            .and_then(|e| b.get(..=e))
                    } else {
                        b.iter().position(|c| !is_space(c)).and_then(|s| b.get(s..))
                    };
                    keep.unwrap_or_default().to_ascii_lowercase()
                })
                .collect();
            if out.is_empty() || out.iter().any(Vec::is_empty) {
                return None;
            }
            out.sort();
            out.dedup();
            // `union\t`, `union\n`, `union ` ...: one shared stem is a better gate.
            let stem = common_affix(&out, prefix);
            if out.len() > 1 && stem.len() >= 3 {
                return Some(vec![stem]);
            }
            Some(out)
        })
        .chain(inner_literals(&hir).and_then(|lits| {
            let out: Vec<Vec<u8>> = lits
                .into_iter()
                .filter(|l| {
                    !normalised || !l.iter().any(|c| matches!(c, b'\t' | b'\r' | 0x0b | 0x0c))
                })
                .map(|l| l.to_ascii_lowercase())
                .collect();
            (!out.is_empty()).then_some(out)
        }))
        .max_by_key(|lits| gate_score(lits))
}

/// Most literals a gate set may hold, and most bytes a class may stand for in one.
const MAX_GATE_LITERALS: usize = 64;
const MAX_GATE_CLASS: usize = 16;

/// How well a literal set gates: the worst member's selectivity (longer is
/// rarer; a lone letter, digit or URL punctuation is in almost every line),
/// then fewer members.
fn gate_score(lits: &[Vec<u8>]) -> (u8, std::cmp::Reverse<usize>) {
    let one = |l: &Vec<u8>| -> u8 {
        match l.as_slice() {
            [] => 0,
            [c] if c.is_ascii_alphanumeric() || b"/.-_=&?%+,:~ ".contains(c) => 0,
            [_] => 2,
            l => l.len().min(4) as u8,
        }
    };
    let worst = lits.iter().map(one).min().unwrap_or(0);
    (worst, std::cmp::Reverse(lits.len()))
}

/// Literals one of which every match of `hir` contains anywhere (not only as
/// prefix or suffix): a concatenation needs any one part, an alternation one
/// literal of each branch. Sorted, deduplicated; `None` when not finite or small.
fn inner_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    let set = match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => return None,
        HirKind::Literal(l) => vec![l.0.to_vec()],
        HirKind::Class(Class::Bytes(c)) => {
            let n: usize = c
                .ranges()
                .iter()
                .map(|r| usize::from(r.end() - r.start()) + 1)
                .sum();
            if n > MAX_GATE_CLASS {
                return None;
            }
            c.iter()
                .flat_map(|r| r.start()..=r.end())
                .map(|b| vec![b])
                .collect()
        }
        HirKind::Class(Class::Unicode(c)) => {
            let n: usize = c.ranges().iter().map(|r| r.len()).sum();
            if n > MAX_GATE_CLASS || c.ranges().iter().any(|r| !r.end().is_ascii()) {
                return None;
            }
            c.iter()
                .flat_map(|r| r.start()..=r.end())
                .map(|ch| vec![ch as u8])
                .collect()
        }
        HirKind::Repetition(r) if r.min >= 1 => return inner_literals(&r.sub),
        HirKind::Repetition(_) => return None,
        HirKind::Capture(c) => return inner_literals(&c.sub),
        HirKind::Concat(parts) => {
            return parts
                .iter()
                .filter_map(inner_literals)
                .max_by_key(|l| gate_score(l));
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for b in branches {
                all.extend(inner_literals(b)?);
                if all.len() > MAX_GATE_LITERALS {
                    return None;
                }
            }
            all
        }
    };
    let mut set: Vec<Vec<u8>> = set.into_iter().map(|l| l.to_ascii_lowercase()).collect();
    set.sort();
    set.dedup();
    (!set.is_empty() && set.len() <= MAX_GATE_LITERALS && set.iter().all(|l| !l.is_empty()))
        .then_some(set)
}

fn common_affix(lits: &[Vec<u8>], prefix: bool) -> Vec<u8> {
    let Some(first) = lits.first() else {
        return Vec::new();
    };
    let mut n = first.len();
    for l in lits {
        let shared = if prefix {
            first.iter().zip(l).take_while(|(a, b)| a == b).count()
        } else {
            first
                .iter()
                .rev()
                .zip(l.iter().rev())
                .take_while(|(a, b)| a == b)
                .count()
        };
        n = n.min(shared);
    }
    let start = if prefix { 0 } else { first.len() - n };
    first.get(start..start + n).unwrap_or_default().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_literals() {
        let l = required_literals(r"\bunion\s+(all\s+)?select\b", false).expect("literal");
        assert!(
            l == vec![b"union".to_vec()] || l == vec![b"select".to_vec()],
            "{l:?}"
        );
        let l = required_literals(r"(?:sleep|benchmark)\s*\(", false).expect("literal");
        assert!(
            l.iter().any(|x| x.starts_with(b"bench")) && l.iter().any(|x| x.starts_with(b"sleep")),
            "{l:?}"
        );
        let l = required_literals(r"(?:^|[=;|&])\s?(?:nohup|strace)\s+(?:id|ls)\b", true)
            .expect("inner literal");
        assert_eq!(l, vec![b"nohup".to_vec(), b"strace".to_vec()]);
        let l = required_literals(r"[a-z](?:''|\$[@*])[a-z]", true).expect("inner literal");
        assert_eq!(l, vec![b"$".to_vec(), b"''".to_vec()]);
        assert_eq!(required_literals(r".*", false), None);
        assert_eq!(required_literals(r"\w+", false), None);
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;
    use crate::rules::RuleSet;

    /// A rule with an ungated test is evaluated on every event: keep the
    /// built-in signature rules gated so a benign line costs one automaton scan.
    #[test]
    fn builtin_web_rules_are_gated_by_the_automata() {
        let set = RuleSet::builtin().expect("built-in rules");
        let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
        let t = compile(&docs).expect("built-in rules compile");
        let ungated: Vec<&str> = docs
            .iter()
            .zip(&t.rules)
            .filter(|(d, r)| {
                d.id.starts_with("web-") && d.correlation.is_none() && (!r.gated || r.untouched)
            })
            .map(|(d, _)| d.id.as_str())
            .collect();
        assert!(
            ungated.is_empty(),
            "rules evaluated on every event: {ungated:?}"
        );
    }

    fn corpus() -> std::path::PathBuf {
        std::env::var_os("SECMO_CORPUS")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/corpus").into()
            })
    }

    /// Percent-encode what a URL cannot carry as is.
    fn quote(p: &str) -> String {
        p.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"_.-~/?=&%:+,;@".contains(&b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    }

    /// The automaton gates, remembered scans and skipped rules only save
    /// work: on every corpus payload (in the query, path, user agent and
    /// referrer) the gated matcher finds what evaluating everything finds.
    #[test]
    fn gating_never_changes_the_hits() {
        use crate::signatures::{Matcher, Scratch};
        use secmo_event::Event;
        use std::borrow::Cow;
        let set = RuleSet::builtin().expect("built-in rules");
        let docs: Vec<RuleDoc> = set.enabled().cloned().collect();
        let gated = Matcher::compile(&docs).expect("compiles");
        let every = Matcher::compile_exhaustive(&docs).expect("compiles");
        let mut files = vec![];
        for dir in [
            "web-attacks",
            "web-attacks/gotestwaf",
            "web-attacks/nemesida",
            "web-attacks/crs",
            "benign",
        ] {
            if let Ok(rd) = std::fs::read_dir(corpus().join(dir)) {
                files.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
            }
        }
        let (mut s1, mut s2, mut h1, mut h2) = (
            Scratch::default(),
            Scratch::default(),
            Vec::new(),
            Vec::new(),
        );
        let mut checked = 0usize;
        for f in &files {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap_or_default()).into_owned();
            for line in text.lines().take(2000) {
                let q = quote(line);
                let query = format!("q={q}");
                let (path, query) = match q.strip_prefix('/') {
                    Some(_) => (q.as_str(), ""),
                    None => ("/search", query.as_str()),
                };
                let ev = Event {
                    kind: secmo_event::EventKind::Http,
                    method: Cow::Borrowed("GET"),
                    path: Cow::Borrowed(path),
                    query: Cow::Borrowed(query),
                    user_agent: Cow::Borrowed(line),
                    referrer: Cow::Borrowed(&q),
                    status: 404,
                    ..Event::default()
                };
                h1.clear();
                h2.clear();
                gated.matches(&ev, &mut s1, &mut h1);
                every.matches(&ev, &mut s2, &mut h2);
                assert_eq!(h1, h2, "{}: {line}", f.display());
                // The same event again: now answered from remembered scans.
                h1.clear();
                gated.matches(&ev, &mut s1, &mut h1);
                assert_eq!(h1, h2, "replayed {}: {line}", f.display());
                checked += 1;
            }
        }
        assert!(checked > 1000 || files.is_empty(), "{checked} payloads");
    }

    #[test]
    fn a_literal_beside_a_regex_is_its_gate() {
        let doc: RuleDoc = serde_yaml_ng::from_str(
            "id: S\ntitle: t\ncategory: sqli\nseverity: low\ndetection:\n  a:\n    url.path|re: '\\w+\\.bak$'\n    url.path|contains: .bak\n  condition: a\n",
        )
        .expect("valid rule");
        let t = compile(std::slice::from_ref(&doc)).expect("compiles");
        assert_eq!(t.slots.len(), 1, "only the literal is in the automaton");
        assert!(t.rules.first().is_some_and(|r| r.gated));
    }
}
