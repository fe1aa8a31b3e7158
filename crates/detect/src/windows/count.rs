//! event_count: more than N matching events per key within the timespan.
//! Exact: a key holds the times of its newest N events (sorted, so a few
//! seconds of disorder in the log is harmless), and N events fit in the
//! timespan when the newest and the oldest of them are less than it apart.

use super::{Crossing, Spec, Window};
use secmo_event::Event;
use std::collections::VecDeque;

/// Largest threshold counted exactly; larger ones use [`super::sum::SumWindow`] slots.
pub const MAX_EXACT_COUNT: u64 = 1024;

#[derive(Debug, Default)]
pub struct CountWindow {
    /// Ascending event times, at most `spec.need` of them.
    times: VecDeque<i64>,
}

impl Window for CountWindow {
    fn add(&mut self, spec: &Spec, ts: i64, _ev: &Event, _steps: u8) -> Option<Crossing> {
        let need = spec.need as usize;
        // Insert in time order: late lines slot in where they belong.
        // Logs are mostly in time order: then the new time goes at the end.
        let pos = if self.times.back().is_none_or(|&last| last <= ts) {
            self.times.len()
        } else {
            self.times.partition_point(|&t| t <= ts)
        };
        if self.times.len() >= need && pos == 0 {
            // Older than all the held newest N: it cannot complete a window they do not.
            return None;
        }
        if self.times.capacity() == 0 {
            // One allocation per key, sized for the threshold.
            self.times.reserve_exact(need);
        }
        self.times.insert(pos, ts);
        while self.times.len() > need {
            self.times.pop_front();
        }
        let (first, last) = (*self.times.front()?, *self.times.back()?);
        (self.times.len() >= need && last.saturating_sub(first) < spec.span_ms).then_some(
            Crossing {
                first_ms: first,
                count: spec.need,
            },
        )
    }

    fn near(&self, spec: &Spec) -> bool {
        self.times.len() as u64 + super::HELD_LINES as u64 >= spec.need
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(need: u64, span_ms: i64) -> Spec {
        Spec {
            need,
            span_ms,
            ..Spec::default()
        }
    }

    fn feed(w: &mut CountWindow, s: &Spec, times: &[i64]) -> Vec<bool> {
        let ev = Event::default();
        times
            .iter()
            .map(|&t| w.add(s, t, &ev, 0).is_some())
            .collect()
    }

    #[test]
    fn crosses_exactly_at_the_threshold() {
        let s = spec(4, 300_000);
        let mut w = CountWindow::default();
        assert_eq!(
            feed(&mut w, &s, &[0, 1_000, 2_000, 3_000]),
            [false, false, false, true]
        );
        let mut w = CountWindow::default();
        assert_eq!(feed(&mut w, &s, &[0, 1_000, 2_000]), [false, false, false]);
    }

    #[test]
    fn window_is_half_open() {
        let s = spec(2, 1_000);
        let mut w = CountWindow::default();
        assert_eq!(feed(&mut w, &s, &[0, 1_000]), [false, false]);
        let mut w = CountWindow::default();
        assert_eq!(feed(&mut w, &s, &[0, 999]), [false, true]);
    }

    #[test]
    fn spread_out_events_do_not_cross() {
        let s = spec(4, 300_000);
        let mut w = CountWindow::default();
        // Four events over six minutes: every four-event span is >= 5 minutes.
        let crossed = feed(&mut w, &s, &[0, 120_000, 240_000, 360_000]);
        assert!(crossed.iter().all(|c| !c));
        assert!(w.times.len() <= 4);
    }

    #[test]
    fn late_events_count_where_they_belong() {
        let s = spec(3, 10_000);
        let mut w = CountWindow::default();
        assert_eq!(
            feed(&mut w, &s, &[5_000, 9_000, 4_000]),
            [false, false, true]
        );
        assert_eq!(
            w.times.iter().copied().collect::<Vec<_>>(),
            [4_000, 5_000, 9_000]
        );
        // Older than every held time when full: ignored, nothing goes negative.
        let mut w = CountWindow::default();
        assert_eq!(
            feed(&mut w, &s, &[100_000, 100_001, 100_002]),
            [false, false, true]
        );
        assert!(!feed(&mut w, &s, &[1])[0]);
    }
}
