//! Traffic analytics like a web log analyser's: top IPs, pages, referrer
//! domains, user agents, status classes and a timeline. Mergeable, so parallel
//! workers can each keep one. Memory is bounded.
//! CONTRACT (used by engine.rs): Default, observe, merge, finish.

use secmo_event::Event;
use serde::Serialize;

#[derive(Debug, Default)]
pub struct Analytics {}

#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalyticsReport {}

impl Analytics {
    pub fn observe(&mut self, _ev: &Event) {}

    pub fn merge(&mut self, _other: Analytics) {}

    pub fn finish(self) -> AnalyticsReport {
        AnalyticsReport {}
    }
}
