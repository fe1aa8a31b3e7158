//! Stateless matching of rule `detection` conditions against one event.
//! CONTRACT (used by engine.rs): `Hit`, `Scratch: Default`, `Matcher::compile`, `Matcher::matches`.

use crate::rules::RuleError;
use crate::rules::schema::RuleDoc;
use secmo_event::Event;

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
pub struct Scratch {}

/// All rules' detection conditions compiled into shared matchers.
pub struct Matcher {}

impl Matcher {
    pub fn compile(_docs: &[RuleDoc]) -> Result<Matcher, RuleError> {
        Ok(Matcher {})
    }

    /// Push a [`Hit`] for every rule whose condition holds for `ev`, in rule order.
    pub fn matches(&self, _ev: &Event, _scratch: &mut Scratch, _out: &mut Vec<Hit>) {}
}
