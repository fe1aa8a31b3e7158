//! Earliest-first task queue. Every actor (a visitor, a bot, an attack) is a
//! task that emits a line when its time comes and reschedules itself; slots
//! are reused so memory stays bounded by the number of live actors.

use crate::rng::Rng;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

pub struct Sched<T> {
    heap: BinaryHeap<Reverse<(i64, u64, u32)>>,
    slots: Vec<Option<T>>,
    free: Vec<u32>,
    seq: u64,
}

impl<T> Sched<T> {
    pub fn new() -> Self {
        Sched {
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }

    pub fn push(&mut self, at: i64, task: T) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(task);
                s
            }
            None => {
                self.slots.push(Some(task));
                (self.slots.len() - 1) as u32
            }
        };
        // The sequence number breaks ties in insertion order, keeping runs deterministic.
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, slot)));
    }

    /// The earliest task and its time.
    pub fn pop(&mut self) -> Option<(i64, T)> {
        let Reverse((at, _, slot)) = self.heap.pop()?;
        let task = self.slots.get_mut(slot as usize)?.take()?;
        self.free.push(slot);
        Some((at, task))
    }

    /// The earliest task and its time, which becomes `now`. An empty queue
    /// (never, while arrivals reschedule themselves) gets `idle` a second
    /// later so output keeps flowing.
    pub fn next(&mut self, now: &mut i64, idle: impl Fn() -> T) -> (i64, T) {
        loop {
            if let Some((at, task)) = self.pop() {
                *now = at;
                return (at, task);
            }
            self.push(*now + 1000, idle());
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }
}

/// Delay before the planner starts the next attack campaign, so that
/// campaigns of about `lines` lines each add up to `attack_rate` lines per
/// second: the mean spacing, jittered by up to half either way, at least a second.
pub fn campaign_gap(rng: &mut Rng, lines: f64, attack_rate: f64) -> i64 {
    let gap = (lines / attack_rate * 1000.0 * (0.5 + rng.f64())) as i64;
    gap.max(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_then_insertion_order() {
        let mut s = Sched::new();
        s.push(5, 'a');
        s.push(1, 'b');
        s.push(5, 'c');
        assert_eq!(s.pop(), Some((1, 'b')));
        s.push(3, 'd');
        assert_eq!(s.pop(), Some((3, 'd')));
        assert_eq!(s.pop(), Some((5, 'a')));
        assert_eq!(s.pop(), Some((5, 'c')));
        assert_eq!(s.pop(), None);
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn next_moves_the_clock_and_refills_an_empty_queue() {
        let mut s = Sched::new();
        let mut now = 100;
        s.push(250, 'a');
        assert_eq!(s.next(&mut now, || 'z'), (250, 'a'));
        assert_eq!(now, 250);
        assert_eq!(s.next(&mut now, || 'z'), (1250, 'z'));
        assert_eq!(now, 1250);
    }
}
