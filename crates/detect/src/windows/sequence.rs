//! temporal_ordered: the `order` selections occur in that order for the same
//! key, each sequence within the timespan; with a threshold N, N completed
//! sequences within the timespan. "In order" is arrival order (the log's own
//! order); the times only decide whether a sequence is quick enough.
//!
//! Matching is greedy: a step advances the sequence, and the first step
//! seen again restarts it (the latest start gives the shortest sequence).

use super::{Crossing, Spec, Window};
use secmo_event::Event;
use std::collections::VecDeque;

#[derive(Debug, Default)]
pub struct SequenceWindow {
    /// Index of the step awaited next (0: none started).
    next: u8,
    start_ms: i64,
    /// Start times of completed sequences within the timespan, at most N.
    done: VecDeque<i64>,
}

impl Window for SequenceWindow {
    fn add(&mut self, spec: &Spec, ts: i64, _ev: &Event, steps: u8) -> Option<Crossing> {
        let len = spec.steps.max(1);
        if self.next > 0 && ts.saturating_sub(self.start_ms) >= spec.span_ms {
            self.next = 0;
        }
        let wanted = 1u8.checked_shl(u32::from(self.next)).unwrap_or(0);
        if self.next > 0 && steps & wanted != 0 {
            self.next += 1;
        } else if steps & 1 != 0 {
            self.start_ms = ts;
            self.next = 1;
        } else {
            return None;
        }
        if self.next < len {
            return None;
        }
        self.next = 0;
        let start = self.start_ms;
        self.done.push_back(start);
        let horizon = ts.saturating_sub(spec.span_ms);
        while self.done.front().is_some_and(|&s| s <= horizon) || self.done.len() as u64 > spec.need
        {
            self.done.pop_front();
        }
        if (self.done.len() as u64) < spec.need {
            return None;
        }
        let first_ms = *self.done.front()?;
        let count = self.done.len() as u64 * u64::from(len);
        self.done.clear();
        Some(Crossing { first_ms, count })
    }

    fn near(&self, spec: &Spec) -> bool {
        self.done.len() as u64 + 1 >= spec.need
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(need: u64, span_ms: i64) -> Spec {
        Spec {
            need,
            span_ms,
            steps: 2,
            ..Spec::default()
        }
    }

    /// Feed (time, steps bitmask); return which calls crossed.
    fn feed(w: &mut SequenceWindow, s: &Spec, seq: &[(i64, u8)]) -> Vec<bool> {
        let ev = Event::default();
        seq.iter()
            .map(|&(t, b)| w.add(s, t, &ev, b).is_some())
            .collect()
    }

    #[test]
    fn login_then_quick_logout() {
        let s = spec(1, 60_000);
        let mut w = SequenceWindow::default();
        assert_eq!(feed(&mut w, &s, &[(0, 1), (30_000, 2)]), [false, true]);
        // Exactly one minute apart: too slow.
        let mut w = SequenceWindow::default();
        assert_eq!(feed(&mut w, &s, &[(0, 1), (60_000, 2)]), [false, false]);
        // Wrong order.
        let mut w = SequenceWindow::default();
        assert_eq!(feed(&mut w, &s, &[(0, 2), (1_000, 1)]), [false, false]);
    }

    #[test]
    fn a_new_first_step_restarts() {
        let s = spec(1, 60_000);
        let mut w = SequenceWindow::default();
        let got = feed(&mut w, &s, &[(0, 1), (50_000, 1), (100_000, 2)]);
        assert_eq!(got, [false, false, true]);
    }

    #[test]
    fn repeated_pairs_reach_the_threshold() {
        let s = spec(5, 600_000);
        let mut w = SequenceWindow::default();
        let mut seq = Vec::new();
        for i in 0..5 {
            seq.push((i * 10_000, 1));
            seq.push((i * 10_000 + 1_000, 2));
        }
        let got = feed(&mut w, &s, &seq);
        assert_eq!(got.iter().filter(|c| **c).count(), 1);
        assert!(got[9]);
        // Four pairs only: nothing.
        let mut w = SequenceWindow::default();
        assert!(feed(&mut w, &s, &seq[..8]).iter().all(|c| !c));
    }

    #[test]
    fn pairs_spread_beyond_the_timespan_do_not_add_up() {
        let s = spec(3, 60_000);
        let mut w = SequenceWindow::default();
        let seq = [
            (0, 1),
            (1, 2),
            (40_000, 1),
            (40_001, 2),
            (70_000, 1),
            (70_001, 2),
        ];
        assert!(feed(&mut w, &s, &seq).iter().all(|c| !c));
        assert!(w.done.len() <= 3);
    }
}
