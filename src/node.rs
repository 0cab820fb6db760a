//! Nodes: the [`Node`] trait every protocol implements, and [`Ctx`], what a handler may do
//! (send, set and cancel timers, read the clock, draw random numbers, use durable storage,
//! record observations).
//!
//! Handlers run instantly in virtual time; work that takes time is a timer.

use std::any::Any;
use std::fmt::Debug;

use serde::Serialize;

use crate::hash::StableHash;
use crate::net::DropReason;
use crate::rng::SimRng;
use crate::sim::{Core, Event};
use crate::time::SimTime;
use crate::trace::TraceEvent;

/// A node's identity: its index in the simulation, in the order nodes were added.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize)]
#[serde(transparent)]
pub struct NodeId(pub u32);

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "n{}", self.0)
    }
}

/// A timer's identity, unique within a simulation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct TimerId(pub u64);

/// What a message type needs: cloning (for duplicates), `Debug` (for traces) and a
/// canonical encoding for the trace hash.
pub trait Message: Clone + Debug + StableHash + 'static {}
impl<T: Clone + Debug + StableHash + 'static> Message for T {}

/// A protocol participant: a state machine driven by the simulation.
///
/// `M` is the message type, `O` the observation type recorded into the history.
/// Volatile state lives in `self` and is lost on a crash; what must survive a crash lives
/// in [`Ctx::durable`].
pub trait Node<M, O = ()> {
    /// Called when the node starts, and again after every restart.
    fn on_start(&mut self, _ctx: &mut Ctx<'_, M, O>) {}
    /// Called for each message delivered to this node.
    fn on_message(&mut self, ctx: &mut Ctx<'_, M, O>, from: NodeId, msg: M);
    /// Called when a timer set by this node (in this incarnation) fires.
    fn on_timer(&mut self, _ctx: &mut Ctx<'_, M, O>, _timer: TimerId, _tag: u64) {}
}

/// A factory that builds a node afresh: at start and at every restart.
pub type NodeFactory<M, O> = Box<dyn FnMut() -> Box<dyn Node<M, O>>>;

/// Durable storage: one typed value per node that survives crashes and restarts.
#[derive(Default)]
pub struct Storage {
    value: Option<Box<dyn Any>>,
}

impl Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("set", &self.value.is_some()).finish()
    }
}

impl Storage {
    /// The stored `T`, created with `T::default()` if nothing (or another type) is stored.
    pub fn get_or_default<T: Default + 'static>(&mut self) -> &mut T {
        if !self.value.as_ref().is_some_and(|v| v.is::<T>()) {
            self.value = Some(Box::new(T::default()));
        }
        match self.value.as_mut().and_then(|v| v.downcast_mut::<T>()) {
            Some(v) => v,
            None => unreachable!("value was just set to a T"),
        }
    }

    /// The stored `T`, if a `T` is stored.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.value.as_ref().and_then(|v| v.downcast_ref::<T>())
    }
}

/// What a handler can do. Borrowed from the simulation for the duration of one handler.
pub struct Ctx<'a, M, O> {
    pub(crate) core: &'a mut Core<M, O>,
    pub(crate) me: NodeId,
    pub(crate) incarnation: u32,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) storage: &'a mut Storage,
}

impl<M: Message, O> Ctx<'_, M, O> {
    /// The current virtual time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// This node's id.
    #[inline]
    pub fn me(&self) -> NodeId {
        self.me
    }

    /// How many times this node has been restarted (0 for the first run).
    pub fn incarnation(&self) -> u32 {
        self.incarnation
    }

    /// How many nodes the simulation has (ids are `0..node_count`).
    pub fn node_count(&self) -> u32 {
        self.core.node_count
    }

    /// Send `msg` to `to` over the network. Loss, duplication and latency are decided now;
    /// partitions, clogs and the destination's state when it would arrive.
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: M) {
        let core = &mut *self.core;
        let (now, from) = (core.now, self.me);
        let id = core.next_msg_id;
        core.next_msg_id += 1;
        core.stats.sent += 1;
        if to.0 >= core.node_count {
            core.tracer.record(
                now,
                TraceEvent::Send {
                    from,
                    to,
                    id,
                    arrive: None,
                    msg: &msg,
                },
            );
            core.drop_msg(from, to, id, DropReason::UnknownNode);
            return;
        }
        let tx = core.net.transmit(now, from, to, &mut core.net_rng);
        core.tracer.record(
            now,
            TraceEvent::Send {
                from,
                to,
                id,
                arrive: tx.first,
                msg: &msg,
            },
        );
        let Some(first) = tx.first else {
            core.drop_msg(from, to, id, DropReason::Loss);
            return;
        };
        if let Some(arrive) = tx.copy {
            core.stats.duplicated += 1;
            core.tracer
                .record::<M>(now, TraceEvent::Duplicate { from, to, id, arrive });
            core.push(
                arrive,
                Event::Deliver {
                    from,
                    to,
                    id,
                    msg: msg.clone(),
                },
            );
        }
        core.push(first, Event::Deliver { from, to, id, msg });
    }

    /// Fire [`Node::on_timer`] with `tag` after `after`. Timers die with a crash.
    #[inline]
    pub fn set_timer(&mut self, after: SimTime, tag: u64) -> TimerId {
        let core = &mut *self.core;
        let timer = core.next_timer_id;
        core.next_timer_id += 1;
        core.live_timers.insert(timer);
        let at = core.now + after;
        core.push(
            at,
            Event::Timer {
                node: self.me,
                incarnation: self.incarnation,
                timer,
                tag,
            },
        );
        TimerId(timer)
    }

    /// Cancel a timer; cancelling one that fired or was cancelled already is a no-op.
    #[inline]
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.core.live_timers.remove(&timer.0);
    }

    /// This node's random stream (derived from the seed and the node's index).
    #[inline]
    pub fn rng(&mut self) -> &mut SimRng {
        self.rng
    }

    /// This node's durable state of type `T` (created with `Default` the first time).
    /// It survives crashes and restarts; everything in `self` does not.
    pub fn durable<T: Default + 'static>(&mut self) -> &mut T {
        self.storage.get_or_default::<T>()
    }

    /// Record an observation into the history, stamped with the time and this node.
    #[inline]
    pub fn observe(&mut self, obs: O) {
        self.core.history.record(self.core.now, self.me, obs);
    }
}
