//! The glue: stateless signature matching ([`Detector`], shareable across
//! threads) followed by stateful correlation windows and alert grouping
//! ([`Engine`], one per stream of events).

use crate::alerts::AlertBook;
use crate::analytics::Analytics;
use crate::report::{Alert, InputSummary, Report, ThreatLevel};
use crate::rules::{RuleError, RuleMeta, RuleSet};
use crate::signatures::{Hit, Matcher, Scratch};
use crate::windows::Windows;
use secmo_event::{Event, Origin, format_rfc3339};
use std::sync::Arc;

/// Compiled rules: metadata plus the shared matchers. Immutable and `Sync`:
/// parse-and-match workers share one behind an `Arc`.
pub struct Detector {
    meta: Vec<RuleMeta>,
    matcher: Matcher,
    docs: Vec<crate::rules::schema::RuleDoc>,
}

impl Detector {
    pub fn new(rules: &RuleSet) -> Result<Detector, RuleError> {
        let docs: Vec<_> = rules.enabled().cloned().collect();
        let matcher = Matcher::compile(&docs)?;
        // Compile windows once here too, so an invalid correlation fails at load time.
        Windows::compile(&docs)?;
        Ok(Detector {
            meta: docs.iter().map(RuleMeta::from).collect(),
            matcher,
            docs,
        })
    }

    /// Which rules' detection conditions hold for `ev` (before any correlation).
    pub fn matches(&self, ev: &Event, scratch: &mut Scratch, out: &mut Vec<Hit>) {
        out.clear();
        self.matcher.matches(ev, scratch, out);
    }

    pub fn rules(&self) -> &[RuleMeta] {
        &self.meta
    }
}

/// What the engine concluded about one event: the rules that flagged it.
#[derive(Debug, Clone, Copy)]
pub struct EventVerdict<'e> {
    pub rules: &'e [u32],
}

/// One stream's detection state.
pub struct Engine {
    detector: Arc<Detector>,
    windows: Windows,
    alerts: AlertBook,
    analytics: Analytics,
    scratch: Scratch,
    hits: Vec<Hit>,
    flagged: Vec<u32>,
    first_ts: Option<i64>,
    last_ts: Option<i64>,
}

impl Engine {
    pub fn new(detector: Arc<Detector>) -> Engine {
        let windows = match Windows::compile(&detector.docs) {
            Ok(w) => w,
            // Detector::new compiled the same documents successfully.
            Err(_) => Windows::empty(),
        };
        Engine {
            windows,
            alerts: AlertBook::new(detector.meta.len()),
            analytics: Analytics::default(),
            scratch: Scratch::default(),
            hits: Vec::new(),
            flagged: Vec::new(),
            first_ts: None,
            last_ts: None,
            detector,
        }
    }

    pub fn detector(&self) -> &Arc<Detector> {
        &self.detector
    }

    /// Match, correlate, group and count one event. `raw` is the line, kept as evidence.
    pub fn process(&mut self, ev: &Event, origin: Origin, raw: &str) -> EventVerdict<'_> {
        self.analytics.observe(ev);
        let mut hits = std::mem::take(&mut self.hits);
        self.detector.matches(ev, &mut self.scratch, &mut hits);
        self.correlate(ev, origin, raw, &hits);
        self.hits = hits;
        EventVerdict {
            rules: &self.flagged,
        }
    }

    /// For pipelines that matched signatures and recorded analytics in parallel
    /// workers: correlate and group, in event order.
    pub fn process_hits(
        &mut self,
        ev: &Event,
        origin: Origin,
        raw: &str,
        hits: &[Hit],
    ) -> EventVerdict<'_> {
        self.correlate(ev, origin, raw, hits);
        EventVerdict {
            rules: &self.flagged,
        }
    }

    /// Add analytics recorded elsewhere (a parallel worker's share).
    pub fn merge_analytics(&mut self, other: Analytics) {
        self.analytics.merge(other);
    }

    fn correlate(&mut self, ev: &Event, origin: Origin, raw: &str, hits: &[Hit]) {
        self.flagged.clear();
        if let Some(ts) = ev.timestamp_ms {
            self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
            self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        }
        self.windows
            .advance(ev, &mut self.alerts, origin, raw, &mut self.flagged);
        for hit in hits {
            if self.windows.is_correlated(hit.rule) {
                if self
                    .windows
                    .observe(*hit, ev, origin, raw, &mut self.alerts)
                {
                    self.flagged.push(hit.rule);
                }
            } else {
                self.alerts.record(hit.rule, ev, origin, raw, 1);
                self.flagged.push(hit.rule);
            }
        }
    }

    /// The first and last event timestamps seen so far (ms since the epoch).
    pub fn period(&self) -> (Option<i64>, Option<i64>) {
        (self.first_ts, self.last_ts)
    }

    /// Close every window and build the report.
    pub fn finish(mut self, inputs: Vec<InputSummary>) -> Report {
        let analytics = std::mem::take(&mut self.analytics).finish();
        let (first_ts, last_ts) = self.period();
        let rules_loaded = self.detector.meta.len();
        let alerts = self.finish_alerts();
        Report {
            threat_level: ThreatLevel::of(&alerts),
            period_start: first_ts.map(format_rfc3339),
            period_end: last_ts.map(format_rfc3339),
            rules_loaded,
            alerts,
            analytics,
            inputs,
            matches: None,
        }
    }

    /// For live drivers (`secmo serve`): the alerts grouped since the last
    /// drain, with counts and evidence of that interval only; window state
    /// carries on. Summing drained counts per rule and attacker gives exactly
    /// what [`Engine::finish_alerts`] would have reported for the same events.
    pub fn drain_alerts(&mut self) -> Vec<Alert> {
        if self.alerts.is_empty() {
            return Vec::new();
        }
        let book = std::mem::replace(&mut self.alerts, AlertBook::new(self.detector.meta.len()));
        book.into_alerts(&self.detector.meta)
    }

    /// Close every window and return only the grouped alerts, for drivers that
    /// record analytics and the period themselves (the parallel pipeline).
    pub fn finish_alerts(mut self) -> Vec<Alert> {
        self.windows.finish(&mut self.alerts);
        self.alerts.into_alerts(&self.detector.meta)
    }
}
