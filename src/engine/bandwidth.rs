//! Gray failures of links: bandwidth with a bounded queue. A link with a rate transmits
//! one message at a time, each taking `1 / rate` seconds; a message sent while the link
//! is busy waits in the link's queue, and one that finds the queue full (the messages
//! not yet transmitted, the one in transmission included, number `queue`) is dropped
//! with reason `queue_full`. A message's network latency (and loss, duplication) starts
//! when its transmission ends.
//!
//! **Messages per second, not bytes.** detsim's messages have no size: a payload is a
//! protocol's value, and a nominal byte count per message would be a number each
//! protocol invents. A rate in messages per second is what the simulator can state
//! honestly, and it is enough for what thin links cause: queueing delay, head-of-line
//! blocking behind a backlog, and drops when the queue overflows.
//!
//! A link's rate in force is the smallest of its own (the scenario's, or the latest
//! un-windowed `thin_link`) and every `thin_link` window in force on it; each window's
//! end undoes only itself. A message's transmission slot is fixed when it is sent (a
//! later change of rate does not move it). Nothing here runs unless some link has a rate
//! or a `thin_link` began: `send` checks one flag.

use std::collections::VecDeque;

use crate::FastMap;
use crate::engine::error::Error;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;

/// Highest link rate, messages per second (one per nanosecond).
pub const MAX_LINK_RATE: f64 = 1e9;

/// The smallest link rate: one message per 1,000 s (a rate of 1e-300 would hold a
/// message past the end of any run).
pub const MIN_LINK_RATE: f64 = 1e-3;
/// A link's queue when neither the link nor the scenario gives one.
pub const DEFAULT_LINK_QUEUE: u32 = 64;
/// Largest queue bound.
pub const MAX_LINK_QUEUE: u32 = 1_000_000;

/// A link's bandwidth: `rate` messages per second, at most `queue` messages waiting or
/// in transmission.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bandwidth {
    /// Messages per second.
    pub rate: f64,
    /// Most messages held by the link at once (waiting or in transmission).
    pub queue: u32,
}

impl Bandwidth {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        check_rate("rate", self.rate)?;
        if self.queue == 0 || self.queue > MAX_LINK_QUEUE {
            return Err(Error::InvalidParameter(format!(
                "a link queue must hold between 1 and {MAX_LINK_QUEUE} messages, got {}",
                self.queue
            )));
        }
        Ok(())
    }
}

/// A rate must be a finite number of messages per second in `(0, MAX_LINK_RATE]`.
pub fn check_rate(what: &str, r: f64) -> Result<(), Error> {
    if r.is_finite() && (MIN_LINK_RATE..=MAX_LINK_RATE).contains(&r) {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "{what} must be a rate in [{MIN_LINK_RATE}, {MAX_LINK_RATE}] messages per second, got {r}"
        )))
    }
}

/// One link's state.
#[derive(Default)]
struct LinkState {
    /// Its own bandwidth, if any.
    base: Option<Bandwidth>,
    /// Thin windows in force: (window, rate).
    windows: Vec<(u32, f64)>,
    /// When each message held now ends its transmission, in order.
    ends: VecDeque<SimTime>,
}

impl LinkState {
    fn rate(&self) -> Option<f64> {
        let thin = self.windows.iter().map(|(_, r)| *r).reduce(f64::min);
        match (self.base.map(|b| b.rate), thin) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Every link's bandwidth state.
#[derive(Default)]
pub(crate) struct Links {
    /// Some link has a rate, or a thin window began: sends look here.
    pub(crate) on: bool,
    links: FastMap<(u32, u32), LinkState>,
}

impl Links {
    /// Give `from -> to` a bandwidth of its own.
    pub(crate) fn set(&mut self, from: NodeId, to: NodeId, b: Bandwidth) -> Result<(), Error> {
        b.validate()?;
        self.links.entry((from.0, to.0)).or_default().base = Some(b);
        self.on = true;
        Ok(())
    }

    /// An un-windowed `thin_link`: the link's own rate is `rate` from now on (its queue
    /// bound stays, else [`DEFAULT_LINK_QUEUE`]).
    pub(crate) fn set_rate(&mut self, from: NodeId, to: NodeId, rate: f64) {
        let l = self.links.entry((from.0, to.0)).or_default();
        if rate <= 0.0 {
            // 0: no limit (what undoes an un-windowed thin_link), never a rate of 0.
            l.base = None;
            return;
        }
        let queue = l.base.map_or(DEFAULT_LINK_QUEUE, |b| b.queue);
        l.base = Some(Bandwidth { rate, queue });
        self.on = true;
    }

    /// Thin window `w` starts on `from -> to` with `rate`.
    pub(crate) fn start_window(&mut self, from: NodeId, to: NodeId, w: u32, rate: f64) {
        self.links.entry((from.0, to.0)).or_default().windows.push((w, rate));
        self.on = true;
    }

    /// Thin window `w` on `from -> to` ends; false when it was not in force.
    pub(crate) fn end_window(&mut self, from: NodeId, to: NodeId, w: u32) -> bool {
        let Some(l) = self.links.get_mut(&(from.0, to.0)) else {
            return false;
        };
        match l.windows.iter().position(|(id, _)| *id == w) {
            Some(i) => {
                l.windows.remove(i);
                true
            }
            None => false,
        }
    }

    /// Thin windows in force, by index, sorted.
    pub(crate) fn windows(&self) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .links
            .values()
            .flat_map(|l| l.windows.iter().map(|(w, _)| *w))
            .collect();
        out.sort_unstable();
        out
    }

    /// How many thin windows are in force.
    pub(crate) fn windows_in_force(&self) -> usize {
        self.links.values().map(|l| l.windows.len()).sum()
    }

    /// A message is sent on `from -> to` at `now`: `Ok(t)`, when its transmission ends
    /// (`now` on a link without a rate), or `Err(())` when the link's queue is full.
    #[inline]
    pub(crate) fn admit(&mut self, now: SimTime, from: NodeId, to: NodeId) -> Result<SimTime, ()> {
        let Some(l) = self.links.get_mut(&(from.0, to.0)) else {
            return Ok(now);
        };
        while l.ends.front().is_some_and(|e| *e <= now) {
            l.ends.pop_front();
        }
        // Behind what the link still holds (a FIFO link never reorders, even when a
        // thin window ended with messages queued); with no rate in force, at once.
        let start = l.ends.back().map_or(now, |e| (*e).max(now));
        let Some(rate) = l.rate() else { return Ok(start) };
        let queue = l.base.map_or(DEFAULT_LINK_QUEUE, |b| b.queue) as usize;
        if l.ends.len() >= queue {
            return Err(());
        }
        let end = start + SimTime::from_nanos_f64(1e9 / rate).max(SimTime(1));
        l.ends.push_back(end);
        Ok(end)
    }

    /// Messages held by `from -> to` now (waiting or in transmission) at `now`.
    pub fn held(&self, now: SimTime, from: NodeId, to: NodeId) -> usize {
        self.links
            .get(&(from.0, to.0))
            .map_or(0, |l| l.ends.iter().filter(|e| **e > now).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_transmits_one_message_at_a_time_and_drops_when_full() {
        let mut l = Links::default();
        let (a, b) = (NodeId(0), NodeId(1));
        assert_eq!(l.admit(SimTime(5), a, b), Ok(SimTime(5)), "no rate: no wait");
        l.set(a, b, Bandwidth { rate: 1000.0, queue: 2 }).unwrap();
        let ms = SimTime::from_millis;
        assert_eq!(l.admit(ms(0), a, b), Ok(ms(1)));
        assert_eq!(l.admit(ms(0), a, b), Ok(ms(2)));
        assert_eq!(l.admit(ms(0), a, b), Err(()), "queue full");
        assert_eq!(l.admit(ms(1), a, b), Ok(ms(3)), "one left at 1ms");
        l.start_window(a, b, 4, 100.0);
        assert_eq!(l.admit(ms(3), a, b), Ok(ms(13)), "thin: 10ms per message");
        assert!(l.end_window(a, b, 4));
        assert_eq!(l.admit(ms(13), a, b), Ok(ms(14)));
        assert!(Bandwidth { rate: 0.0, queue: 1 }.validate().is_err());
        assert!(Bandwidth { rate: 1.0, queue: 0 }.validate().is_err());
    }
}
