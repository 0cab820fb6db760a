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
//!
//! Events pushed in key order (messages on a constant-latency network, a node's start)
//! skip the heap: an event whose key is above every key pushed to the `run` side queue
//! before is appended there, and `pop` takes the smaller of the two heads by the same full key.
//! Keys are unique, so the order is exactly the heap's alone; only the cost changes
//! (O(1) instead of O(log n) per event when events arrive in time order).

use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};

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
    /// Events pushed in increasing key order, each above every key pushed here before.
    run: VecDeque<(u128, E)>,
    /// The largest key ever pushed to `run` (0: none yet).
    run_last: u128,
    seq: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            run: VecDeque::new(),
            run_last: 0,
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

    #[inline(always)]
    fn insert(&mut self, at: SimTime, low: u64, ev: E) {
        let key = ((at.0 as u128) << 64) | low as u128;
        if key > self.run_last {
            // A new largest key: above everything in `run`, so it keeps `run` sorted.
            // (With random delays few are; they go to the heap and `run` stays short.)
            self.run_last = key;
            self.run.push_back((key, ev));
            return;
        }
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
        self.heap.push(Entry { key, slot });
    }

    /// Take the earliest event.
    #[inline]
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        self.pop_due(SimTime::MAX)
    }

    /// Take the earliest event if it is due no later than `limit`: `None` when the queue
    /// is empty or its earliest event is later (which then stays). One look at the heads
    /// for both questions, so a run loop need not peek before it pops.
    #[inline(always)]
    pub fn pop_due(&mut self, limit: SimTime) -> Option<(SimTime, E)> {
        // Every key whose time is at most `limit` is at most this one.
        let last = ((limit.0 as u128) << 64) | u64::MAX as u128;
        if self.heap.is_empty() {
            // Every event in order (a constant-latency network): the side queue alone.
            let (key, ev) = self.run.pop_front()?;
            if key > last {
                // Rare (the end of a run): put it back where it was.
                self.run.push_front((key, ev));
                return None;
            }
            return Some((SimTime((key >> 64) as u64), ev));
        }
        let heap_head = self.heap.peek().map(|e| e.key);
        if let Some((key, _)) = self.run.front()
            && heap_head.is_none_or(|h| *key < h)
        {
            if *key > last {
                return None;
            }
            let (key, ev) = self.run.pop_front()?;
            return Some((SimTime((key >> 64) as u64), ev));
        }
        if heap_head? > last {
            return None;
        }
        let e = self.heap.pop()?;
        let ev = self.slab[e.slot as usize].take()?;
        self.free.push(e.slot);
        Some((SimTime((e.key >> 64) as u64), ev))
    }

    /// The time of the earliest event.
    #[inline]
    pub fn peek_time(&self) -> Option<SimTime> {
        let key = match (self.run.front(), self.heap.peek()) {
            (Some((k, _)), Some(e)) => (*k).min(e.key),
            (Some((k, _)), None) => *k,
            (None, Some(e)) => e.key,
            (None, None) => return None,
        };
        Some(SimTime((key >> 64) as u64))
    }

    /// Every waiting event with its time, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (SimTime, &E)> {
        let time = |key: u128| SimTime((key >> 64) as u64);
        let heaped = self
            .heap
            .iter()
            .filter_map(move |e| Some((time(e.key), self.slab[e.slot as usize].as_ref()?)));
        heaped.chain(self.run.iter().map(move |(k, ev)| (time(*k), ev)))
    }

    /// Events waiting.
    pub fn len(&self) -> usize {
        self.heap.len() + self.run.len()
    }

    /// No events waiting.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.run.is_empty()
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
        // A later event first, so that the pushes below are out of order and use the heap.
        q.push(SimTime(1000), 0, 1000);
        for i in 0..100 {
            q.push(SimTime(i), 0, i);
            q.pop();
        }
        assert_eq!(q.slab.len(), 1);
        assert_eq!(q.pop(), Some((SimTime(1000), 1000)));
    }

    #[test]
    fn in_order_pushes_skip_the_heap_and_merge_by_the_full_key() {
        let mut q = EventQueue::default();
        q.push(SimTime(1), 0, "a"); // side queue
        q.push(SimTime(3), 0, "d"); // side queue
        q.push(SimTime(2), 0, "c"); // out of order: heap
        q.push_first(SimTime(1), 5, "fault at 1"); // class 0 at 1: before "a", heap
        q.push(SimTime(3), 0, "e"); // side queue (same time, later seq)
        assert!(q.heap.len() == 2 && q.run.len() == 3);
        assert_eq!(q.len(), 5);
        assert_eq!(q.peek_time(), Some(SimTime(1)));
        let got: Vec<_> = std::iter::from_fn(|| q.pop()).map(|(_, e)| e).collect();
        assert_eq!(got, ["fault at 1", "a", "c", "d", "e"]);
        assert!(q.is_empty());
    }

    #[test]
    fn pop_due_takes_only_what_is_due_and_leaves_the_rest() {
        // Side queue alone (in-order pushes), then with the heap holding the earliest.
        let mut q = EventQueue::default();
        q.push(SimTime(1), 0, "a");
        q.push(SimTime(3), 0, "c");
        assert_eq!(q.pop_due(SimTime(0)), None);
        assert_eq!(q.pop_due(SimTime(1)), Some((SimTime(1), "a")));
        assert_eq!(q.pop_due(SimTime(2)), None, "c is later: it stays");
        assert_eq!(q.len(), 1);
        q.push(SimTime(2), 0, "b"); // out of order: heap
        assert_eq!(q.pop_due(SimTime(1)), None);
        assert_eq!(q.pop_due(SimTime(2)), Some((SimTime(2), "b")));
        q.push_first(SimTime(3), 0, "fault"); // class 0 at 3: heap, before c
        assert_eq!(q.pop_due(SimTime(2)), None);
        assert_eq!(q.pop_due(SimTime(3)), Some((SimTime(3), "fault")));
        assert_eq!(q.pop_due(SimTime(3)), Some((SimTime(3), "c")));
        assert_eq!(q.pop_due(SimTime::MAX), None);
        assert!(q.is_empty());
    }

    #[test]
    fn random_pushes_come_out_as_from_a_heap_alone() {
        // A deterministic mix of in-order and out-of-order pushes, interleaved with pops:
        // the order must be the full key's, whichever structure held each event.
        let mut q = EventQueue::default();
        let mut reference = BinaryHeap::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let (mut now, mut seq, mut got, mut want) = (0u64, 0u64, Vec::new(), Vec::new());
        for i in 0..5000u64 {
            let r = next();
            if r % 3 == 0 {
                if let Some((t, e)) = q.pop() {
                    now = t.0;
                    got.push((t.0, e));
                }
                if let Some(std::cmp::Reverse((t, _, e))) = reference.pop() {
                    want.push((t, e));
                }
                continue;
            }
            let at = now + if r % 5 == 0 { 1000 } else { (r >> 8) % 7 };
            let tb = if r % 4 == 0 { (r >> 20) & 3 } else { 0 };
            q.push(SimTime(at), tb, i);
            reference.push(std::cmp::Reverse((at, (tb << 40) | seq, i)));
            seq += 1;
        }
        got.extend(std::iter::from_fn(|| q.pop()).map(|(t, e)| (t.0, e)));
        want.extend(std::iter::from_fn(|| reference.pop()).map(|std::cmp::Reverse((t, _, e))| (t, e)));
        assert_eq!(got, want);
        assert!(got.len() > 3000);
    }
}
