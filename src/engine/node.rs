//! Nodes: the [`Node`] trait every protocol implements, and [`Ctx`], what a handler may do
//! (send, set and cancel timers, read the clock, draw random numbers, use durable storage,
//! record observations).
//!
//! Handlers run instantly in virtual time; work that takes time is a timer.

use std::fmt::Debug;

use crate::engine::hash::StableHash;
use crate::engine::net::DropReason;
use crate::engine::rng::SimRng;
use crate::engine::sim::{Core, Event};
use crate::engine::storage::DiskFull;
pub use crate::engine::storage::Storage;
#[cfg(doc)]
use crate::engine::storage::StorageFaults;
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

/// What a handler can do. Borrowed from the simulation for the duration of one handler.
pub struct Ctx<'a, M, O> {
    pub(crate) core: &'a mut Core<M, O>,
    pub(crate) me: NodeId,
    pub(crate) incarnation: u32,
    pub(crate) rng: &'a mut SimRng,
    pub(crate) storage: &'a mut Storage,
}

impl<'a, M: Message, O> Ctx<'a, M, O> {
    /// The current virtual time: true time, the same for every node. Use it to stamp
    /// observations (the checks compare them); a protocol that measures or exchanges
    /// time reads its own clock ([`Ctx::monotonic_now`], [`Ctx::local_now`]).
    #[inline]
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// This node's wall clock (`CLOCK_REALTIME`): true time plus the node's offset, drift
    /// and steps (see `engine/clock.rs`; zero if it would read below zero). What a node
    /// writes into a message as "my time". Equal to [`Ctx::now`] for a node without a
    /// clock.
    #[inline]
    pub fn local_now(&self) -> SimTime {
        let core = &*self.core;
        if core.clocks.on {
            core.clocks.wall(self.me, core.now)
        } else {
            core.now
        }
    }

    /// This node's monotonic clock (`CLOCK_MONOTONIC`): zero at the start, advancing at
    /// the node's drift rate, never stepped. What timers are measured on, and what a node
    /// should measure durations (timeouts, TTLs, leases) with. Equal to [`Ctx::now`] for a
    /// node without a clock.
    #[inline]
    pub fn monotonic_now(&self) -> SimTime {
        let core = &*self.core;
        if core.clocks.on {
            core.clocks.monotonic(self.me, core.now)
        } else {
            core.now
        }
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
    #[inline(always)]
    pub fn send(&mut self, to: NodeId, msg: impl Into<M>) {
        let msg: M = msg.into();
        let core = &mut *self.core;
        let (now, from) = (core.now, self.me);
        let id = core.next_msg_id;
        core.next_msg_id += 1;
        core.stats.sent += 1;
        if to.0 >= core.node_count {
            return send_to_unknown(core, from, to, id, &msg);
        }
        // A plain network decides nothing (what `transmit` would say, without asking); a
        // link with a bandwidth always goes through `transmit`.
        let plain = if core.links.on {
            None
        } else {
            core.net.plain_arrival(now)
        };
        let Some(arrive) = plain else {
            return transmit(core, from, to, id, msg);
        };
        core.tracer.record(
            now,
            TraceEvent::Send {
                from,
                to,
                id,
                arrive: Some(arrive),
                msg: &msg,
            },
        );
        core.push(arrive, Event::Deliver { from, to, id, msg });
    }

    /// Fire [`Node::on_timer`] with `tag` after `after` of this node's monotonic clock
    /// (true time for a node without a clock; a node whose clock runs fast fires early:
    /// see `engine/clock.rs`). Timers die with a crash.
    #[inline]
    pub fn set_timer(&mut self, after: SimTime, tag: u64) -> TimerId {
        let core = &mut *self.core;
        let timer = core.next_timer_id;
        core.next_timer_id += 1;
        core.live_timers.insert(timer);
        let after = if core.clocks.on {
            core.clocks.true_span(self.me, after)
        } else {
            after
        };
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
    ///
    /// Borrowing it is a write; a crash may lose writes that were not synced when the
    /// scenario says so (`storage.unsynced_writes: "may_be_lost"`): sync what must
    /// survive with [`Ctx::sync`] or [`Ctx::sync_all`] before you answer (see
    /// [`StorageFaults`] for what a crash keeps).
    pub fn durable<T: Default + Clone + 'static>(&mut self) -> &mut T {
        self.storage.get_or_default::<T>()
    }

    /// Make the writes of the durable value `T` durable (fsync of its file): a crash
    /// keeps it as it is now. Never fails, costs nothing when crashes keep every write.
    pub fn sync<T: 'static>(&mut self) {
        self.storage.sync::<T>();
    }

    /// Make every write of this node durable: each typed value and the disk.
    pub fn sync_all(&mut self) {
        self.storage.sync_all();
    }

    /// This node's byte disk: keys to bytes, kept across crashes, with `write` (which a
    /// full disk refuses), `read`, `remove` and `sync`.
    pub fn disk(&mut self) -> Disk<'_, 'a, M, O> {
        self.storage.disk_used = true;
        Disk { ctx: self }
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

/// [`Ctx::send`] to a node id that does not exist: traced, then dropped. Out of line,
/// so that `send` stays small where it is inlined.
#[cold]
#[inline(never)]
fn send_to_unknown<M: Message, O>(core: &mut Core<M, O>, from: NodeId, to: NodeId, id: u64, msg: &M) {
    let now = core.now;
    core.tracer.record(
        now,
        TraceEvent::Send {
            from,
            to,
            id,
            arrive: None,
            msg,
        },
    );
    core.drop_msg(from, to, id, DropReason::UnknownNode);
}

/// [`Ctx::send`] on a network that decides (latency draws, loss, duplication, FIFO
/// bounds): out of line, as `send` is inlined where it is called.
#[inline(never)]
fn transmit<M: Message, O>(core: &mut Core<M, O>, from: NodeId, to: NodeId, id: u64, msg: M) {
    let now = core.now;
    // A link with a bandwidth: the message waits for the link (its latency starts when
    // its transmission ends), or is dropped when the link's queue is full.
    let mut leaves = now;
    if core.links.on {
        match core.links.admit(now, from, to) {
            Ok(t) => leaves = t,
            Err(()) => {
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
                core.drop_msg(from, to, id, DropReason::QueueFull);
                return;
            }
        }
    }
    let tx = core.net.transmit(leaves, from, to, &mut core.net_rng);
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
        return lost(core, from, to, id);
    };
    if let Some(arrive) = tx.copy {
        duplicate(core, from, to, id, arrive, &msg);
    }
    core.push(first, Event::Deliver { from, to, id, msg });
}

/// [`Ctx::send`]'s message was lost at random (out of line, as above).
#[cold]
#[inline(never)]
fn lost<M: Message, O>(core: &mut Core<M, O>, from: NodeId, to: NodeId, id: u64) {
    core.drop_msg(from, to, id, DropReason::Loss);
}

/// [`Ctx::send`] made a duplicate copy arriving at `arrive`: traced and queued before the
/// original (out of line, as above).
#[cold]
#[inline(never)]
fn duplicate<M: Message, O>(core: &mut Core<M, O>, from: NodeId, to: NodeId, id: u64, arrive: SimTime, msg: &M) {
    core.stats.duplicated += 1;
    core.tracer
        .record(core.now, TraceEvent::Duplicate { from, to, id, arrive });
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

/// A node's byte disk, borrowed from its [`Ctx`]: keys to bytes, kept across crashes.
/// Writes are seen at once by reads and are durable once synced; see [`StorageFaults`]
/// for what a crash keeps of unsynced writes (and torn writes). A `disk_full` fault
/// makes [`Disk::write`] fail.
pub struct Disk<'c, 'a, M, O> {
    ctx: &'c mut Ctx<'a, M, O>,
}

impl<M: Message, O> Disk<'_, '_, M, O> {
    /// Write `bytes` at `key` (replacing what was there). While a `disk_full` fault is in
    /// force on the node, nothing is written and [`DiskFull`] is returned (and traced).
    pub fn write(&mut self, key: &str, bytes: &[u8]) -> Result<(), DiskFull> {
        let ctx = &mut *self.ctx;
        let r = ctx.storage.disk_write(key, bytes);
        if r.is_err() {
            ctx.core
                .tracer
                .record(ctx.core.now, TraceEvent::DiskFullError { node: ctx.me });
        }
        r
    }

    /// The bytes at `key`, as the last write left them.
    pub fn read(&self, key: &str) -> Option<&[u8]> {
        self.ctx.storage.disk_read(key)
    }

    /// Remove `key` (a write that a full disk never refuses).
    pub fn remove(&mut self, key: &str) {
        self.ctx.storage.disk_remove(key);
    }

    /// Make every write of the disk durable.
    pub fn sync(&mut self) {
        self.ctx.storage.sync_disk();
    }
}
