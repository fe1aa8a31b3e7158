//! Grouping: one alert per rule and attacker (source IP, else user), with
//! count, first/last seen and a few evidence lines.
//! CONTRACT (used by engine.rs): new, record, into_alerts.

use crate::report::Alert;
use crate::rules::RuleMeta;
use secmo_event::{Event, Origin};

pub struct AlertBook {}

impl AlertBook {
    pub fn new(_rules: usize) -> AlertBook {
        AlertBook {}
    }

    /// Count `count` matching events of `rule` for the attacker of `ev`.
    pub fn record(&mut self, _rule: u32, _ev: &Event, _origin: Origin, _raw: &str, _count: u64) {}

    /// The grouped alerts, highest severity first.
    pub fn into_alerts(self, _meta: &[RuleMeta]) -> Vec<Alert> {
        Vec::new()
    }
}
