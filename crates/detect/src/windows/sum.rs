//! value_sum (and event_count with thresholds too large to hold every time):
//! the sum of a numeric field per key within the timespan. A sum has no
//! natural bound on the events it spans, so the timespan is cut into
//! [`SLOTS`] slots and the window is the newest `SLOTS` of them: memory is
//! fixed per key and the window edge is exact to one slot (1 minute of a
//! 10-minute window).

use super::{Crossing, Spec, Window};
use secmo_event::Event;

pub const SLOTS: usize = 10;

#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    index: i64,
    sum: u64,
    events: u32,
    first_ms: i64,
}

#[derive(Debug, Default)]
pub struct SumWindow {
    /// Ring by slot index modulo SLOTS; a slot whose `index` is stale is empty.
    slots: [Slot; SLOTS],
    newest: Option<i64>,
    /// The window's sum after the last event.
    total: u64,
}

impl SumWindow {
    fn slot_ms(spec: &Spec) -> i64 {
        (spec.span_ms / SLOTS as i64).max(1)
    }
}

impl Window for SumWindow {
    fn add(&mut self, spec: &Spec, ts: i64, ev: &Event, _steps: u8) -> Option<Crossing> {
        // No field: count events (event_count with a very large threshold).
        let amount = match spec.field {
            Some(f) => ev.number(f).unwrap_or(0),
            None => 1,
        };
        let index = ts.div_euclid(Self::slot_ms(spec));
        match self.newest {
            Some(newest) if index <= newest.saturating_sub(SLOTS as i64) => return None,
            Some(newest) if index <= newest => {}
            _ => {
                // Time moved on: slots that left the window stop counting.
                let oldest = index.saturating_sub(SLOTS as i64);
                for s in self
                    .slots
                    .iter_mut()
                    .filter(|s| s.events > 0 && s.index <= oldest)
                {
                    self.total = self.total.saturating_sub(s.sum);
                    *s = Slot::default();
                }
                self.newest = Some(index);
            }
        }
        let slot = &mut self.slots[index.rem_euclid(SLOTS as i64) as usize];
        if slot.events == 0 || slot.index != index {
            self.total = self.total.saturating_sub(slot.sum);
            *slot = Slot {
                index,
                sum: 0,
                events: 0,
                first_ms: ts,
            };
        }
        slot.sum = slot.sum.saturating_add(amount);
        slot.events = slot.events.saturating_add(1);
        slot.first_ms = slot.first_ms.min(ts);
        self.total = self.total.saturating_add(amount);
        if self.total < spec.need {
            return None;
        }
        let live = self.slots.iter().filter(|s| s.events > 0);
        let first_ms = live.clone().map(|s| s.first_ms).min()?;
        let count = live.map(|s| u64::from(s.events)).sum();
        Some(Crossing { first_ms, count })
    }

    /// Half way to the threshold: one large transfer may cross from there.
    fn near(&self, spec: &Spec) -> bool {
        self.total >= spec.need / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secmo_event::Field;

    fn spec(need: u64) -> Spec {
        Spec {
            need,
            span_ms: 600_000,
            field: Some(Field::Bytes),
            ..Spec::default()
        }
    }

    fn bytes(n: u64) -> Event<'static> {
        Event {
            bytes: n,
            ..Event::default()
        }
    }

    #[test]
    fn sums_within_the_window() {
        let s = spec(1_000);
        let mut w = SumWindow::default();
        assert!(w.add(&s, 0, &bytes(400), 0).is_none());
        assert!(w.add(&s, 60_000, &bytes(599), 0).is_none());
        let c = w.add(&s, 120_000, &bytes(1), 0);
        assert_eq!(c.map(|c| (c.first_ms, c.count)), Some((0, 3)));
    }

    #[test]
    fn old_slots_drop_out() {
        let s = spec(1_000);
        let mut w = SumWindow::default();
        assert!(w.add(&s, 0, &bytes(900), 0).is_none());
        // Ten minutes later the first slot is out of the window.
        assert!(w.add(&s, 600_000, &bytes(200), 0).is_none());
        // A late line inside the window still counts.
        assert!(w.add(&s, 590_000, &bytes(800), 0).is_some());
        // Far too late: ignored.
        let mut w = SumWindow::default();
        assert!(w.add(&s, 6_000_000, &bytes(1), 0).is_none());
        assert!(w.add(&s, 0, &bytes(5_000), 0).is_none());
    }

    #[test]
    fn counts_events_without_a_field() {
        let s = Spec {
            need: 3,
            span_ms: 10_000,
            ..Spec::default()
        };
        let mut w = SumWindow::default();
        let ev = Event::default();
        assert!(w.add(&s, 0, &ev, 0).is_none());
        assert!(w.add(&s, 1, &ev, 0).is_none());
        assert!(w.add(&s, 2, &ev, 0).is_some());
    }

    #[test]
    fn huge_values_saturate() {
        let s = spec(u64::MAX);
        let mut w = SumWindow::default();
        assert!(w.add(&s, 0, &bytes(u64::MAX), 0).is_some());
        assert!(w.add(&s, 1, &bytes(u64::MAX), 0).is_some());
    }
}
