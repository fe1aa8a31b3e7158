//! value_count: more than N distinct values of a field per key within the
//! timespan. A key holds at most N values (by keyed hash, not text: nothing is
//! copied), each with when it was last seen.

use super::{Crossing, Spec, Window};
use secmo_event::Event;

#[derive(Debug, Clone, Copy)]
struct Seen {
    hash: u64,
    first_ms: i64,
    last_ms: i64,
    events: u32,
}

#[derive(Debug, Default)]
pub struct DistinctWindow {
    values: Vec<Seen>,
    newest_ms: i64,
}

impl Window for DistinctWindow {
    fn add(&mut self, spec: &Spec, ts: i64, ev: &Event, _steps: u8) -> Option<Crossing> {
        let field = spec.field?;
        let hash = spec.values.hash(ev, field)?;
        if self.values.is_empty() {
            self.newest_ms = ts;
        }
        self.newest_ms = self.newest_ms.max(ts);
        let horizon = self.newest_ms.saturating_sub(spec.span_ms);
        if ts <= horizon {
            // A late line whose window is no longer held.
            return None;
        }
        self.values.retain(|s| s.last_ms > horizon);
        match self.values.iter_mut().find(|s| s.hash == hash) {
            Some(s) => {
                s.first_ms = s.first_ms.min(ts);
                s.last_ms = s.last_ms.max(ts);
                s.events = s.events.saturating_add(1);
            }
            None => self.values.push(Seen {
                hash,
                first_ms: ts,
                last_ms: ts,
                events: 1,
            }),
        }
        if (self.values.len() as u64) < spec.need {
            return None;
        }
        let first_ms = self.values.iter().map(|s| s.first_ms).min()?;
        let count = self.values.iter().map(|s| u64::from(s.events)).sum();
        // The key fires now; its values are not needed any more.
        self.values = Vec::new();
        Some(Crossing { first_ms, count })
    }

    fn near(&self, spec: &Spec) -> bool {
        self.values.len() as u64 + super::HELD_LINES as u64 >= spec.need
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::windows::keys::ValueHasher;
    use secmo_event::Field;

    fn spec(need: u64) -> Spec {
        Spec {
            need,
            span_ms: 300_000,
            field: Some(Field::Path),
            values: ValueHasher::default(),
            ..Spec::default()
        }
    }

    fn path(p: &str) -> Event<'_> {
        Event {
            path: p.into(),
            ..Event::default()
        }
    }

    #[test]
    fn counts_distinct_values_only() {
        let s = spec(3);
        let mut w = DistinctWindow::default();
        assert!(w.add(&s, 0, &path("/a"), 0).is_none());
        assert!(w.add(&s, 1, &path("/a"), 0).is_none());
        assert!(w.add(&s, 2, &path("/b"), 0).is_none());
        assert!(
            w.add(&s, 3, &path(""), 0).is_none(),
            "no value: not counted"
        );
        assert!(w.add(&s, 4, &path("/b"), 0).is_none());
        let c = w.add(&s, 5, &path("/c"), 0);
        assert_eq!(c.map(|c| (c.first_ms, c.count)), Some((0, 5)));
    }

    #[test]
    fn values_expire_after_the_timespan() {
        let s = spec(3);
        let mut w = DistinctWindow::default();
        assert!(w.add(&s, 0, &path("/a"), 0).is_none());
        assert!(w.add(&s, 100_000, &path("/b"), 0).is_none());
        // /a is 300 s old: out of the window.
        assert!(w.add(&s, 300_000, &path("/c"), 0).is_none());
        assert_eq!(w.values.len(), 2);
        // A late line from before the window is ignored.
        assert!(w.add(&s, 0, &path("/z"), 0).is_none());
        assert!(w.add(&s, 300_001, &path("/d"), 0).is_some());
    }

    #[test]
    fn holds_at_most_the_threshold() {
        let s = spec(21);
        let mut w = DistinctWindow::default();
        let mut fired = 0;
        for i in 0..1_000 {
            let p = format!("/p{i}");
            if w.add(&s, i, &path(&p), 0).is_some() {
                fired += 1;
            }
            assert!(w.values.len() <= 21);
        }
        assert!(fired >= 1);
    }
}
