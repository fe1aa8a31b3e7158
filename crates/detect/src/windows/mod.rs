//! Correlations over event time: windowed counts, distinct counts, ordered
//! sequences and spikes against a trailing baseline. Memory is bounded.
//! CONTRACT (used by engine.rs): compile, empty, is_correlated, observe, advance, finish.

use crate::alerts::AlertBook;
use crate::rules::RuleError;
use crate::rules::schema::RuleDoc;
use crate::signatures::Hit;
use secmo_event::{Event, Origin};

pub struct Windows {}

impl Windows {
    pub fn compile(_docs: &[RuleDoc]) -> Result<Windows, RuleError> {
        Ok(Windows {})
    }

    pub fn empty() -> Windows {
        Windows {}
    }

    /// Whether rule `rule` has a correlation (otherwise each hit is an alert event by itself).
    pub fn is_correlated(&self, _rule: u32) -> bool {
        false
    }

    /// Feed a hit of a correlated rule. Returns true when the event belongs to a
    /// window that crossed its threshold (the event is then flagged and counted in the alert).
    pub fn observe(&mut self, _hit: Hit, _ev: &Event, _origin: Origin, _raw: &str, _alerts: &mut AlertBook) -> bool {
        false
    }

    /// Called for every event before its hits: moves time forward (closes spike
    /// buckets, evicts idle state). May push rule indices onto `flagged`.
    pub fn advance(&mut self, _ev: &Event, _alerts: &mut AlertBook, _origin: Origin, _raw: &str, _flagged: &mut Vec<u32>) {}

    /// End of input: close open buckets.
    pub fn finish(&mut self, _alerts: &mut AlertBook) {}
}
