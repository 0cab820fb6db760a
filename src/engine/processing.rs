//! Gray failures of nodes: a per-node processing model. A node with a model
//! ([`Processing`]: a service-time distribution and a speed factor) handles its messages
//! one at a time: each message waits in the node's inbox (a FIFO) behind the one in
//! service, and is handed to the node when its own service ends, `service × speed` after
//! its service began (10 = ten times slower). The service time is drawn when the service
//! begins, from the node's own processing stream, so a speed change (a `slow_node`
//! window) acts on the messages whose service begins while it is in force.
//!
//! What it does not touch: timers are not delayed by service (only messages queue), a
//! node without a model handles messages as they arrive (as if its service time were 0:
//! a slow window on it changes nothing), and sends are not delayed (a handler's messages
//! leave when it runs, at the end of the service).
//!
//! With faults: a crash drops the inbox (reason `crashed`, like what a paused node held);
//! a pause holds the message whose service ends during it and hands it to the node when
//! the pause ends, before what the pause held; a paused node's arrivals wait as they
//! always did and join the inbox when it resumes. Slow windows undo only themselves:
//! while several are in force on a node, the largest factor applies (over the node's own
//! `speed`); when one ends, the others still apply.
//!
//! Nothing here runs unless some node has a model: the run loop checks one flag.

use std::collections::VecDeque;

use crate::engine::dist::{Dist, Sampler};
use crate::engine::error::Error;
use crate::engine::node::NodeId;
use crate::engine::rng::{SimRng, Stream};
use crate::engine::time::SimTime;

/// Largest speed factor (a node at most a million times slower).
pub const MAX_SPEED: f64 = 1e6;

/// How a node handles messages: one at a time, each taking a service time drawn from
/// `service` times `speed` (1 = as drawn; 10 = ten times slower).
#[derive(Clone, Debug, PartialEq)]
pub struct Processing {
    /// The service time of one message.
    pub service: Dist,
    /// The speed factor: service times are multiplied by it (10 = ten times slower).
    pub speed: f64,
}

impl Processing {
    /// A model with this service time at speed 1.
    pub fn new(service: Dist) -> Self {
        Processing { service, speed: 1.0 }
    }

    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        check_factor("speed", self.speed)?;
        self.service.validate()
    }
}

/// A speed factor must be a finite number in `(0, MAX_SPEED]`.
pub fn check_factor(what: &str, f: f64) -> Result<(), Error> {
    if f.is_finite() && f > 0.0 && f <= MAX_SPEED {
        Ok(())
    } else {
        Err(Error::InvalidParameter(format!(
            "{what} must be a factor in (0, {MAX_SPEED}], got {f}"
        )))
    }
}

/// A queued message: (from, message id, message).
pub(crate) type Queued<M> = (NodeId, u64, M);

/// One node's processing state.
struct NodeProc<M> {
    sampler: Option<Sampler>,
    /// The node's own speed (the scenario's, or the latest un-windowed `slow_node`).
    base: f64,
    /// Slow windows in force: (window, factor).
    windows: Vec<(u32, f64)>,
    /// The inbox; while `busy`, its front is the message in service.
    inbox: VecDeque<Queued<M>>,
    busy: bool,
    /// The service of the front ended while the node was paused.
    stalled: bool,
    rng: SimRng,
}

/// Every node's processing state (nodes by index; created lazily).
pub(crate) struct Processor<M> {
    /// Some node has a model: messages may queue.
    pub(crate) on: bool,
    seed: u64,
    nodes: Vec<Option<NodeProc<M>>>,
}

impl<M> Processor<M> {
    pub(crate) fn new(seed: u64) -> Self {
        Processor {
            on: false,
            seed,
            nodes: Vec::new(),
        }
    }

    fn slot(&mut self, node: NodeId) -> &mut NodeProc<M> {
        let i = node.0 as usize;
        if self.nodes.len() <= i {
            self.nodes.resize_with(i + 1, || None);
        }
        let seed = self.seed;
        self.nodes[i].get_or_insert_with(|| NodeProc {
            sampler: None,
            base: 1.0,
            windows: Vec::new(),
            inbox: VecDeque::new(),
            busy: false,
            stalled: false,
            rng: SimRng::new(seed, Stream::Service(node.0)),
        })
    }

    fn get(&self, node: NodeId) -> Option<&NodeProc<M>> {
        self.nodes.get(node.0 as usize).and_then(|n| n.as_ref())
    }

    fn get_mut(&mut self, node: NodeId) -> Option<&mut NodeProc<M>> {
        self.nodes.get_mut(node.0 as usize).and_then(|n| n.as_mut())
    }

    /// Give `node` a processing model.
    pub(crate) fn set(&mut self, node: NodeId, model: &Processing) -> Result<(), Error> {
        model.validate()?;
        let sampler = model.service.sampler()?;
        let p = self.slot(node);
        p.sampler = Some(sampler);
        p.base = model.speed;
        self.on = true;
        Ok(())
    }

    /// Does `node` have a processing model (something a slow window can slow)?
    pub(crate) fn has_model(&self, node: NodeId) -> bool {
        self.get(node).is_some_and(|p| p.sampler.is_some())
    }

    /// Does a message arriving at `node` go through its inbox?
    #[inline]
    pub(crate) fn takes(&self, node: NodeId) -> bool {
        self.get(node).is_some_and(|p| p.sampler.is_some() || p.busy)
    }

    /// Queue a message at `node`. `Some(service)` when it starts service now (the node
    /// was idle): the caller schedules its end; `None` when it waits behind another.
    pub(crate) fn enqueue(&mut self, node: NodeId, q: Queued<M>) -> Option<SimTime> {
        let p = self.slot(node);
        p.inbox.push_back(q);
        if p.busy {
            return None;
        }
        p.busy = true;
        Some(p.draw())
    }

    /// The service in progress at `node` ended: the message to hand to it now, if any
    /// (`None` when the inbox was dropped by a crash).
    pub(crate) fn served(&mut self, node: NodeId) -> Option<Queued<M>> {
        let p = self.get_mut(node)?;
        if !p.busy {
            return None;
        }
        p.busy = false;
        p.inbox.pop_front()
    }

    /// The next service at `node`, if a message waits: its service time (the caller
    /// schedules its end).
    pub(crate) fn next(&mut self, node: NodeId) -> Option<SimTime> {
        let p = self.get_mut(node)?;
        if p.busy || p.inbox.is_empty() {
            return None;
        }
        p.busy = true;
        Some(p.draw())
    }

    /// The service at `node` ended while it was paused: keep the message for the resume.
    pub(crate) fn stall(&mut self, node: NodeId) {
        if let Some(p) = self.get_mut(node) {
            p.stalled = true;
        }
    }

    /// Was a service at `node` stalled by a pause? (Clears the mark.)
    pub(crate) fn unstall(&mut self, node: NodeId) -> bool {
        self.get_mut(node).is_some_and(|p| std::mem::take(&mut p.stalled))
    }

    /// A crash: everything queued at `node` is dropped; returns it, in order.
    pub(crate) fn crash(&mut self, node: NodeId) -> Vec<Queued<M>> {
        match self.get_mut(node) {
            Some(p) => {
                p.busy = false;
                p.stalled = false;
                p.inbox.drain(..).collect()
            }
            None => Vec::new(),
        }
    }

    /// Messages queued at `node` now (the one in service included).
    pub fn queued(&self, node: NodeId) -> usize {
        self.get(node).map_or(0, |p| p.inbox.len())
    }

    /// A slow window `w` starts on `node` with `factor`.
    pub(crate) fn start_window(&mut self, node: NodeId, w: u32, factor: f64) {
        self.slot(node).windows.push((w, factor));
    }

    /// An un-windowed `slow_node`: the node's own speed is `factor` from now on.
    pub(crate) fn set_base(&mut self, node: NodeId, factor: f64) {
        self.slot(node).base = factor;
    }

    /// Slow window `w` on `node` ends; false when it was not in force.
    pub(crate) fn end_window(&mut self, node: NodeId, w: u32) -> bool {
        let Some(p) = self.get_mut(node) else { return false };
        match p.windows.iter().position(|(id, _)| *id == w) {
            Some(i) => {
                p.windows.remove(i);
                true
            }
            None => false,
        }
    }

    /// Slow windows in force, over all nodes, by index.
    pub(crate) fn windows(&self) -> Vec<u32> {
        self.nodes
            .iter()
            .flatten()
            .flat_map(|p| p.windows.iter().map(|(w, _)| *w))
            .collect()
    }

    /// How many slow windows are in force.
    pub(crate) fn windows_in_force(&self) -> usize {
        self.nodes.iter().flatten().map(|p| p.windows.len()).sum()
    }
}

impl<M> NodeProc<M> {
    /// The speed in force: the node's own, times the largest slow factor in force.
    fn speed(&self) -> f64 {
        let slow = self.windows.iter().map(|(_, f)| *f).fold(1.0, f64::max);
        self.base * slow
    }

    /// One service time at the speed in force (0 without a model).
    fn draw(&mut self) -> SimTime {
        let Some(s) = &self.sampler else {
            return SimTime::ZERO;
        };
        let t = s.sample(&mut self.rng);
        let speed = self.speed();
        if speed == 1.0 {
            t
        } else {
            SimTime::from_nanos_f64(t.0 as f64 * speed)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_slow_window_applies_and_each_ends_alone() {
        let mut p: Processor<u8> = Processor::new(1);
        let n = NodeId(0);
        p.set(n, &Processing::new(Dist::constant(SimTime::from_millis(2))))
            .unwrap();
        assert_eq!(p.enqueue(n, (n, 0, 1)), Some(SimTime::from_millis(2)));
        assert_eq!(p.enqueue(n, (n, 1, 2)), None, "waits behind the first");
        p.start_window(n, 7, 10.0);
        p.start_window(n, 8, 3.0);
        assert_eq!(p.served(n), Some((n, 0, 1)));
        assert_eq!(p.next(n), Some(SimTime::from_millis(20)));
        assert!(p.end_window(n, 7));
        assert!(!p.end_window(n, 7), "a window ends once");
        assert_eq!(p.served(n), Some((n, 1, 2)));
        assert_eq!(p.enqueue(n, (n, 2, 3)), Some(SimTime::from_millis(6)));
        assert_eq!(p.windows(), vec![8]);
        assert_eq!(p.crash(n).len(), 1);
        assert_eq!(p.queued(n), 0);
        assert!(check_factor("speed", 0.0).is_err() && check_factor("speed", f64::NAN).is_err());
    }
}
