//! spike: matching events per bucket (bucket = timespan) against the mean of
//! the trailing `baseline` buckets. Buckets are aligned on multiples of the
//! timespan since the epoch, so replay and live traffic bucket alike.
//!
//! The rule fires for a bucket when its count exceeds `factor` × the mean and
//! the threshold. Within a bucket the count only grows and the baseline is
//! fixed, so that is decided the moment the open bucket crosses: the alert is
//! raised then (live), and the bucket's later events are counted in it.
//! Nothing fires until `baseline` buckets have passed since the key's first
//! event; empty buckets count as 0.

use super::{Crossing, Spec, Window};
use secmo_event::Event;
use std::collections::VecDeque;

#[derive(Debug, Default)]
pub struct SpikeWindow {
    bucket: Option<i64>,
    count: u64,
    first_ms: i64,
    /// Counts of the closed buckets, oldest first, at most `baseline`.
    history: VecDeque<u64>,
    /// Buckets closed since the key's first event (saturating at `baseline`).
    closed: u32,
}

impl SpikeWindow {
    /// Close buckets up to (not including) `bucket`.
    fn roll_to(&mut self, spec: &Spec, bucket: i64) {
        let Some(current) = self.bucket else {
            self.bucket = Some(bucket);
            return;
        };
        if bucket <= current {
            return;
        }
        let baseline = spec.baseline.max(1) as usize;
        let gap = bucket.saturating_sub(current);
        // The closed bucket, then one empty bucket per skipped one (at most a baseline's worth).
        let empties = (gap - 1).min(baseline as i64) as usize;
        for n in std::iter::once(self.count).chain(std::iter::repeat_n(0, empties)) {
            self.history.push_back(n);
            if self.history.len() > baseline {
                self.history.pop_front();
            }
        }
        self.closed = self
            .closed
            .saturating_add(gap.min(i64::from(u32::MAX)) as u32)
            .min(spec.baseline);
        self.bucket = Some(bucket);
        self.count = 0;
    }

    /// Whether the baseline is full and `count` stands out against it.
    fn is_spike(&self, spec: &Spec, count: u64) -> bool {
        if self.closed < spec.baseline.max(1) || count < spec.need {
            return false;
        }
        let mean = self.history.iter().sum::<u64>() as f64 / spec.baseline.max(1) as f64;
        count as f64 > spec.factor * mean
    }

    /// Whether an event at `ts` still belongs to the bucket that fired.
    pub fn same_bucket(&self, spec: &Spec, ts: i64) -> bool {
        self.bucket == Some(ts.div_euclid(spec.span_ms.max(1)))
    }
}

impl Window for SpikeWindow {
    fn add(&mut self, spec: &Spec, ts: i64, _ev: &Event, _steps: u8) -> Option<Crossing> {
        let bucket = ts.div_euclid(spec.span_ms.max(1));
        self.roll_to(spec, bucket);
        let current = self.bucket?;
        if bucket < current {
            // A late line: count it in its closed bucket if still held; never fires.
            let back = usize::try_from(current.saturating_sub(bucket)).unwrap_or(usize::MAX);
            let len = self.history.len();
            if back <= len
                && let Some(n) = self.history.get_mut(len - back)
            {
                *n += 1;
            }
            return None;
        }
        if self.count == 0 {
            self.first_ms = ts;
        }
        self.count += 1;
        self.is_spike(spec, self.count).then_some(Crossing {
            first_ms: self.first_ms,
            count: self.count,
        })
    }

    fn near(&self, spec: &Spec) -> bool {
        self.count + super::HELD_LINES as u64 >= spec.need
    }

    fn still_firing(&mut self, spec: &Spec, ts: i64) -> bool {
        let firing = self.same_bucket(spec, ts);
        if firing {
            self.count += 1;
        }
        firing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec {
            need: 301,
            span_ms: 60_000,
            baseline: 30,
            factor: 5.0,
            ..Spec::default()
        }
    }

    /// Feed `n` events into bucket `b`; return the count at which it crossed, if it did.
    fn bucket(w: &mut SpikeWindow, s: &Spec, b: i64, n: u64) -> Option<u64> {
        let ev = Event::default();
        let mut crossed = None;
        for i in 0..n {
            let ts = b * 60_000 + (i as i64 % 60_000);
            if let Some(c) = w.add(s, ts, &ev, 0) {
                crossed.get_or_insert(c.count);
            }
        }
        crossed
    }

    #[test]
    fn fires_on_a_spike_over_a_full_baseline() {
        let s = spec();
        let mut w = SpikeWindow::default();
        for b in 0..30 {
            assert_eq!(bucket(&mut w, &s, b, 100), None);
        }
        // Mean 100: 500 is not more than 5x, 501 is (and > 300).
        assert_eq!(bucket(&mut w, &s, 30, 501), Some(501));
    }

    #[test]
    fn needs_both_factor_and_threshold() {
        let s = spec();
        let mut w = SpikeWindow::default();
        for b in 0..30 {
            bucket(&mut w, &s, b, 10);
        }
        // 60 is > 5 x 10 but not > 300.
        assert_eq!(bucket(&mut w, &s, 30, 60), None);
        let mut w = SpikeWindow::default();
        for b in 0..30 {
            bucket(&mut w, &s, b, 100);
        }
        assert_eq!(bucket(&mut w, &s, 30, 500), None);
    }

    #[test]
    fn nothing_fires_before_the_baseline_is_full() {
        let s = spec();
        let mut w = SpikeWindow::default();
        assert_eq!(bucket(&mut w, &s, 0, 10), None);
        assert_eq!(bucket(&mut w, &s, 5, 5_000), None);
        // Empty buckets count as zero once the baseline is full.
        assert_eq!(bucket(&mut w, &s, 40, 400), Some(301));
        assert!(w.history.len() <= 30);
    }

    #[test]
    fn late_lines_go_to_their_bucket() {
        let s = spec();
        let mut w = SpikeWindow::default();
        bucket(&mut w, &s, 0, 3);
        bucket(&mut w, &s, 1, 1);
        assert!(w.add(&s, 10, &Event::default(), 0).is_none());
        assert_eq!(w.history.back(), Some(&4));
        assert_eq!(w.count, 1);
        // Older than the history: dropped.
        assert!(w.add(&s, -10_000_000, &Event::default(), 0).is_none());
    }
}
