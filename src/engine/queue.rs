//! The event queue: a binary min-heap on (time, tie-break, seq) whose entries point into
//! a slab of event payloads, so heap moves stay small whatever the event type.
//!
//! The low 64 bits of the key are `class << 63 | tiebreak << 40 | seq`. Fault events
//! (class 0) come before every other event (class 1) at the same time, ordered by a key
//! of their own (see [`EventQueue::push_first`]), so that where a fault was scheduled
//! (before or during the run) never changes when it acts. For the others, `seq` is a
//! global insertion counter: with tie-breaking off (tie-break 0), events at the same
//! time come out in the order they were scheduled. With random tie-breaking, a 23-bit
//! draw orders same-time events first, and `seq` settles what is left.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::engine::time::SimTime;

const SEQ_BITS: u32 = 40;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const TIEBREAK_MASK: u64 = (1 << 23) - 1;
/// The class bit of ordinary events: after every fault event at the same time.
const LATER: u64 = 1 << 63;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// `time << 64 | tiebreak << 40 | seq`: one comparison orders everything.
    key: u128,
    slot: u32,
}

impl Ord for Entry {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: `BinaryHeap` is a max-heap and we want the earliest first.
        other.key.cmp(&self.key)
    }
}

impl PartialOrd for Entry {
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A min-heap of events keyed by (time, tie-break, seq).
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry>,
    slab: Vec<Option<E>>,
    free: Vec<u32>,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
        }
    }
}

impl<E> EventQueue<E> {
    /// Schedule `ev` at `at`; `tiebreak` (only its low 23 bits count) orders same-time events.
    #[inline]
    pub fn push(&mut self, at: SimTime, tiebreak: u64, ev: E) {
        let seq = self.seq & SEQ_MASK;
        self.seq += 1;
        self.insert(at, LATER | ((tiebreak & TIEBREAK_MASK) << SEQ_BITS) | seq, ev);
    }

    /// Schedule `ev` at `at` before every event pushed with [`EventQueue::push`] at the same
    /// time; same-time events pushed here come out by `order` (only its low 40 bits
    /// count), whenever they were pushed.
    #[inline]
    pub fn push_first(&mut self, at: SimTime, order: u64, ev: E) {
        self.insert(at, order & SEQ_MASK, ev);
    }

    #[inline]
    fn insert(&mut self, at: SimTime, low: u64, ev: E) {
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(ev);
                s
            }
            None => {
                self.slab.push(Some(ev));
                (self.slab.len() - 1) as u32
            }
        };
        self.heap.push(Entry {
            key: ((at.0 as u128) << 64) | low as u128,
            slot,
        });
    }

    /// Take the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        let e = self.heap.pop()?;
        let ev = self.slab[e.slot as usize].take()?;
        self.free.push(e.slot);
        Some((SimTime((e.key >> 64) as u64), ev))
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        self.heap.peek().map(|e| SimTime((e.key >> 64) as u64))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// No events waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orders_by_time_then_insertion() {
        let mut q = EventQueue::default();
        q.push(SimTime(5), 0, "c");
        q.push(SimTime(1), 0, "a");
        q.push(SimTime(5), 0, "d");
        q.push(SimTime(1), 0, "b");
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(got, ["a", "b", "c", "d"]);
    }

    #[test]
    fn tiebreak_orders_same_time_only() {
        let mut q = EventQueue::default();
        q.push(SimTime(2), 0, "late");
        q.push(SimTime(1), 9, "x");
        q.push(SimTime(1), 3, "y");
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(got, ["y", "x", "late"]);
    }

    #[test]
    fn first_events_come_first_by_their_order() {
        let mut q = EventQueue::default();
        q.push(SimTime(1), 0, "msg");
        q.push_first(SimTime(1), 7, "late fault");
        q.push_first(SimTime(1), 2, "early fault");
        q.push_first(SimTime(0), 9, "before");
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(got, ["before", "early fault", "late fault", "msg"]);
    }

    #[test]
    fn slots_are_reused() {
        let mut q = EventQueue::default();
        for i in 0..100 {
            q.push(SimTime(i), 0, i);
            q.pop();
        }
        assert_eq!(q.slab.len(), 1);
    }
}
