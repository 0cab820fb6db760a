//! Trace events: the closed set of things the run loop does, each folded into the stable
//! trace hash in a canonical encoding and, when asked, handed to the [`TraceSink`]s
//! attached to the simulation (a JSON-lines writer, the HTML report's collector, the
//! determinism checker: all outside the engine).
//!
//! Without a sink nothing is kept and nothing is formatted: memory does not grow with the
//! number of events, and the only cost per event is hashing it. The hash is over the
//! canonical words (node indices), so node names and sinks never change it.

use crate::engine::clock::ClockConfig;
use crate::engine::fault::Fault;
use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::net::DropReason;
use crate::engine::node::NodeId;
use crate::engine::storage::Loss;
use crate::engine::time::SimTime;

/// Why a message was held instead of delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldReason {
    /// The destination is paused.
    Paused,
    /// The link or one of its ends is clogged.
    Clogged,
    /// The destination is busy handling an earlier message: this one waits in its inbox
    /// (a node with a processing model; see `engine/processing.rs`).
    Queued,
}

/// One processed event, borrowing what it refers to.
#[derive(Debug)]
pub enum TraceEvent<'a, M> {
    /// A node started (first start or restart), with its incarnation.
    Start { node: NodeId, incarnation: u32 },
    /// A message was sent; `arrive` is the chosen delivery time, `None` when lost.
    Send {
        from: NodeId,
        to: NodeId,
        id: u64,
        arrive: Option<SimTime>,
        msg: &'a M,
    },
    /// A duplicate copy was made, to arrive at `arrive`.
    Duplicate {
        from: NodeId,
        to: NodeId,
        id: u64,
        arrive: SimTime,
    },
    /// A message was handed to its destination.
    Deliver { from: NodeId, to: NodeId, id: u64 },
    /// A message was dropped, and why.
    Drop {
        from: NodeId,
        to: NodeId,
        id: u64,
        reason: DropReason,
    },
    /// A message was held (paused destination, clogged link) to be delivered later.
    Hold {
        from: NodeId,
        to: NodeId,
        id: u64,
        reason: HoldReason,
    },
    /// A timer fired.
    Timer { node: NodeId, timer: u64, tag: u64 },
    /// Fault `index` of the realized schedule began. `applied`: a lasting fault's window
    /// is in force (false: a pause of a crashed node); an undo fault had something to
    /// undo (false: e.g. restarting a live node).
    Fault {
        index: u32,
        fault: &'a Fault,
        until: Option<SimTime>,
        applied: bool,
    },
    /// The window of fault `index` ended: its own `until`, or an explicit undo (`heal`,
    /// `restart`, ...) ended it. `applied: false` when it had already been ended.
    FaultEnd {
        index: u32,
        fault: &'a Fault,
        applied: bool,
    },
    /// A crash of `node` lost unsynced writes of one file (a typed value, or the disk):
    /// what survived (see [`Loss`]). Only when a crash may lose unsynced writes.
    StorageLoss { node: NodeId, loss: Loss },
    /// A write to `node`'s disk was refused: the disk is full.
    DiskFullError { node: NodeId },
    /// When the run starts, a node that has a clock of its own: its offset, drift and
    /// scheduled steps (recorded only for nodes with a clock that is not perfect).
    ClockSet { node: NodeId, config: &'a ClockConfig },
    /// A node's clock changed (a `clock_step`, a drift starting or ending): its wall
    /// (`local`) and monotonic readings and its drift from now on.
    Clock {
        node: NodeId,
        local: SimTime,
        monotonic: SimTime,
        drift_ppm: i64,
    },
    /// Code-level fault point `point` fired at `node` (recorded only in runs that enable
    /// fault points: see `engine/buggify.rs`).
    Buggify { node: NodeId, point: &'a str },
}

impl<M: StableHash> TraceEvent<'_, M> {
    /// Fold this event's canonical encoding into `h` (the trace hash folds the event's
    /// time first, then this).
    #[inline(always)]
    pub fn hash_into(&self, h: &mut StableHasher) {
        let pair = |a: NodeId, b: NodeId| ((a.0 as u64) << 32) | b.0 as u64;
        match self {
            TraceEvent::Start { node, incarnation } => {
                h.word(1);
                h.word(pair(*node, NodeId(*incarnation)));
            }
            TraceEvent::Send {
                from,
                to,
                id,
                arrive,
                msg,
            } => {
                h.word(2);
                h.word(pair(*from, *to));
                h.word(*id);
                h.word(arrive.map_or(u64::MAX, |t| t.0));
                msg.stable_hash(h);
            }
            TraceEvent::Duplicate { from, to, id, arrive } => {
                h.word(3);
                h.word(pair(*from, *to));
                h.word(*id);
                h.word(arrive.0);
            }
            TraceEvent::Deliver { from, to, id } => {
                h.word(4);
                h.word(pair(*from, *to));
                h.word(*id);
            }
            TraceEvent::Drop { from, to, id, reason } => {
                h.word(5 | (reason.code() << 8));
                h.word(pair(*from, *to));
                h.word(*id);
            }
            TraceEvent::Hold { from, to, id, reason } => {
                h.word(6 | ((*reason as u64) << 8));
                h.word(pair(*from, *to));
                h.word(*id);
            }
            TraceEvent::Timer { node, timer, tag } => {
                h.word(7);
                h.word(node.0 as u64);
                h.word(*timer);
                h.word(*tag);
            }
            TraceEvent::Fault {
                index,
                fault,
                until,
                applied,
            } => {
                h.word(8 | ((*applied as u64) << 8));
                h.word(*index as u64);
                h.word(until.map_or(u64::MAX, |t| t.0));
                fault.stable_hash(h);
            }
            TraceEvent::FaultEnd { index, fault, applied } => {
                h.word(9 | ((*applied as u64) << 8));
                h.word(*index as u64);
                fault.stable_hash(h);
            }
            TraceEvent::StorageLoss { node, loss } => {
                h.word(10 | ((loss.torn as u64) << 8));
                h.word(pair(*node, NodeId(loss.file.map_or(u32::MAX, |f| f))));
                h.word(((loss.unsynced as u64) << 32) | loss.kept as u64);
            }
            TraceEvent::DiskFullError { node } => {
                h.word(11);
                h.word(node.0 as u64);
            }
            TraceEvent::ClockSet { node, config } => {
                h.word(12);
                h.word(node.0 as u64);
                config.stable_hash(h);
            }
            TraceEvent::Clock {
                node,
                local,
                monotonic,
                drift_ppm,
            } => {
                h.word(13);
                h.word(node.0 as u64);
                h.word(local.0);
                h.word(monotonic.0);
                h.word(*drift_ppm as u64);
            }
            TraceEvent::Buggify { node, point } => {
                h.word(14);
                h.word(node.0 as u64);
                point.stable_hash(h);
            }
        }
    }
}

/// Where the trace goes: a sink is handed every event, in order, as it is recorded.
///
/// Sinks observe; they cannot change the run (the trace hash is the engine's and is the
/// same with or without them).
pub trait TraceSink<M> {
    /// Node `id` was added, called `name` (nodes are added in index order; a sink
    /// attached later first hears of every node added before it).
    fn node_added(&mut self, id: NodeId, name: &str) {
        let _ = (id, name);
    }

    /// One event, recorded at `at`.
    fn event(&mut self, at: SimTime, ev: &TraceEvent<'_, M>);

    /// The run paused or ended (`run`, `run_until`): write out what is buffered, and
    /// report the first error met since the last flush.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }

    /// `Some` when the sink ran out of its own budget (e.g. a trace file's size): the
    /// run loop asks every [`CHECK_EVERY`](crate::engine::budget::CHECK_EVERY) events
    /// and stops the run. A sink keeps taking events until the run stops.
    fn exhausted(&self) -> Option<crate::engine::budget::Exhausted> {
        None
    }
}

/// The tracer: the running hash, the event count, and the sinks events go to.
pub(crate) struct Tracer<M> {
    hasher: StableHasher,
    events: u64,
    sinks: Vec<Box<dyn TraceSink<M>>>,
}

impl<M> std::fmt::Debug for Tracer<M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracer")
            .field("hash", &format_args!("{:016x}", self.hasher.finish()))
            .field("events", &self.events)
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl<M> Default for Tracer<M> {
    fn default() -> Self {
        Tracer {
            hasher: StableHasher::new(),
            events: 0,
            sinks: Vec::new(),
        }
    }
}

impl<M: StableHash> Tracer<M> {
    /// Record one event at `now`. Always inlined: each call site knows its event's
    /// variant, so the match in `hash_into` folds away and the words go straight in.
    #[inline(always)]
    pub(crate) fn record(&mut self, now: SimTime, ev: TraceEvent<'_, M>) {
        self.events += 1;
        self.hasher.word(now.0);
        ev.hash_into(&mut self.hasher);
        if !self.sinks.is_empty() {
            self.emit(now, ev);
        }
    }

    /// Out of line (and cold): without sinks, `record` stays as small as the hash alone.
    /// The event comes by value, so that it is built in memory only on this path.
    #[cold]
    #[inline(never)]
    fn emit(&mut self, now: SimTime, ev: TraceEvent<'_, M>) {
        for s in &mut self.sinks {
            s.event(now, &ev);
        }
    }

    /// Tell every sink of a new node.
    pub(crate) fn node_added(&mut self, id: NodeId, name: &str) {
        for s in &mut self.sinks {
            s.node_added(id, name);
        }
    }

    /// Hand every later event to `sink` too.
    pub(crate) fn add_sink(&mut self, sink: Box<dyn TraceSink<M>>) {
        self.sinks.push(sink);
    }

    /// Flush every sink; report the first error, if any (every sink is flushed).
    pub(crate) fn flush(&mut self) -> std::io::Result<()> {
        let mut first = Ok(());
        for s in &mut self.sinks {
            let r = s.flush();
            if first.is_ok() {
                first = r;
            }
        }
        first
    }

    /// The first sink's exhausted budget, if a sink ran out of one.
    pub(crate) fn exhausted(&self) -> Option<crate::engine::budget::Exhausted> {
        self.sinks.iter().find_map(|s| s.exhausted())
    }

    /// The hash of every event so far.
    pub(crate) fn hash(&self) -> u64 {
        self.hasher.finish()
    }

    /// Events recorded so far.
    pub(crate) fn events(&self) -> u64 {
        self.events
    }
}
