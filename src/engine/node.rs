//! Nodes: the [`Node`] trait every protocol implements, and [`Ctx`], what a handler may do
//! (send, set and cancel timers, read the clock, draw random numbers, use durable storage,
//! record observations).
//!
//! Handlers run instantly in virtual time; work that takes time is a timer.

use std::any::{Any, TypeId};
use std::fmt::Debug;

use crate::engine::hash::StableHash;
use crate::engine::net::DropReason;
use crate::engine::rng::SimRng;
use crate::engine::sim::{Core, Event};
use crate::engine::time::SimTime;
use crate::engine::trace::TraceEvent;

/// A node's identity: its index in the simulation, in the order nodes were added.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default)]
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

/// Durable storage: a node's typed values that survive crashes and restarts.
///
/// **Each type has its own slot**: a node (or a component embedded in it) may keep a
/// `u64` and a `String` and its own state struct side by side, and storing one never
/// touches another. Slots are found by [`TypeId`] with a linear scan over a vector in
/// first-use order: a node holds a handful of types, and nothing ever iterates the slots
/// in a way that could change behaviour, so the storage is as deterministic as the node.
/// Two components that want separate values of the same type should wrap it in their own
/// newtype.
#[derive(Default)]
pub struct Storage {
    /// One `(type, value)` per type used, in first-use order; the value's type is the key.
    slots: Vec<(TypeId, Box<dyn Any>)>,
}

impl Debug for Storage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Storage").field("types", &self.slots.len()).finish()
    }
}

impl Storage {
    fn position<T: 'static>(&self) -> Option<usize> {
        let id = TypeId::of::<T>();
        self.slots.iter().position(|(t, _)| *t == id)
    }

    /// The stored `T`, created with `T::default()` in its own slot the first time; values
    /// of other types are left as they are.
    pub fn get_or_default<T: Default + 'static>(&mut self) -> &mut T {
        let i = match self.position::<T>() {
            Some(i) => i,
            None => {
                self.slots.push((TypeId::of::<T>(), Box::new(T::default())));
                self.slots.len() - 1
            }
        };
        match self.slots[i].1.downcast_mut::<T>() {
            Some(v) => v,
            None => unreachable!("the slot of TypeId::of::<T>() holds a T"),
        }
    }

    /// The stored `T`, if one was ever stored.
    pub fn get<T: 'static>(&self) -> Option<&T> {
        self.position::<T>().and_then(|i| self.slots[i].1.downcast_ref::<T>())
    }

    /// How many types hold a value.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether nothing was ever stored.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
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
    pub fn send(&mut self, to: NodeId, msg: impl Into<M>) {
        let msg: M = msg.into();
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
            core.tracer.record(now, TraceEvent::Duplicate { from, to, id, arrive });
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

    /// This node's durable value of type `T` (created with `Default` the first time).
    /// It survives crashes and restarts; everything in `self` does not.
    ///
    /// Every type has its own slot ([`Storage`]): `durable::<u64>()` and
    /// `durable::<String>()` are two independent values, and using one never resets the
    /// other. Give two values of the same type distinct newtypes.
    pub fn durable<T: Default + 'static>(&mut self) -> &mut T {
        self.storage.get_or_default::<T>()
    }

    /// Code-level fault point `name` (FoundationDB's `BUGGIFY`): `true` when the run
    /// enables fault points and this one fires now, so the caller takes its rare path
    /// (answer late, refuse, skip a step). Always `false`, with no draw and no trace
    /// event, in a run that does not enable them. See `engine/buggify.rs`.
    #[inline]
    pub fn buggify(&mut self, name: &str) -> bool {
        let Some(b) = &mut self.core.buggify else {
            return false;
        };
        if !b.reach(name) {
            return false;
        }
        let (now, node) = (self.core.now, self.me);
        self.core.tracer.record(now, TraceEvent::Buggify { node, point: name });
        true
    }

    /// Record an observation into the history, stamped with the time and this node.
    #[inline]
    pub fn observe(&mut self, obs: impl Into<O>) {
        self.core.history.record(self.core.now, self.me, obs.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_has_its_own_slot() {
        let mut s = Storage::default();
        assert!(s.is_empty());
        *s.get_or_default::<u64>() = 7;
        s.get_or_default::<String>().push_str("seven");
        *s.get_or_default::<u64>() += 1;
        assert_eq!(s.get::<u64>(), Some(&8));
        assert_eq!(s.get::<String>().map(String::as_str), Some("seven"));
        assert_eq!(s.get::<i64>(), None);
        assert_eq!(s.len(), 2);
        assert_eq!(format!("{s:?}"), "Storage { types: 2 }");
    }
}
