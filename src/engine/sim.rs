//! The simulation: nodes, network, event queue and the run loop (`step`, `run_until`,
//! `run`), node lifecycle (start, crash, restart, pause, resume) and fault application.

use crate::engine::budget::{Budgets, CHECK_EVERY, Exhausted, Watchdog};
use crate::engine::buggify::{Buggify, BuggifyConfig, BuggifyPoint};
use crate::engine::clock::{ClockConfig, Clocks};
use crate::engine::error::Error;
use crate::engine::fault::{Fault, NemesisConfig, TimedFault};
use crate::engine::history::History;
use crate::engine::net::{ClogTarget, DropReason, LinkConfig, Network};
use crate::engine::node::{Ctx, Message, Node, NodeFactory, NodeId, Storage};
use crate::engine::queue::EventQueue;
use crate::engine::rng::{SimRng, Stream};
use crate::engine::storage::StorageFaults;
use crate::engine::time::SimTime;
use crate::engine::trace::{HoldReason, TraceEvent, TraceSink, Tracer};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use crate::{FastMap, FastSet};

/// How a simulation runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimConfig {
    /// The seed every random stream is derived from.
    pub seed: u64,
    /// Order same-time events at random (drawn from the seed) instead of by scheduling order.
    pub random_tiebreak: bool,
    /// Stop before processing any event later than this.
    pub max_time: Option<SimTime>,
    /// Stop after processing this many events.
    pub max_events: Option<u64>,
    /// Limits on pending events and held messages (checked every
    /// [`CHECK_EVERY`](crate::engine::budget::CHECK_EVERY) events).
    pub budgets: Budgets,
}

impl SimConfig {
    /// Defaults with this seed: no random tie-breaking, no limits.
    pub fn new(seed: u64) -> Self {
        SimConfig {
            seed,
            random_tiebreak: false,
            max_time: None,
            max_events: None,
            budgets: Budgets::default(),
        }
    }
    /// Set the time limit.
    pub fn max_time(mut self, t: SimTime) -> Self {
        self.max_time = Some(t);
        self
    }
    /// Set the event budget.
    pub fn max_events(mut self, n: u64) -> Self {
        self.max_events = Some(n);
        self
    }
    /// Set the budgets on pending events and held messages.
    pub fn budgets(mut self, b: Budgets) -> Self {
        self.budgets = b;
        self
    }
    /// Turn random tie-breaking on or off.
    pub fn random_tiebreak(mut self, on: bool) -> Self {
        self.random_tiebreak = on;
        self
    }
}

/// What a node is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeState {
    /// Running.
    Up,
    /// Crashed: no volatile state, no timers; messages to it are dropped.
    Down,
    /// Paused: messages and timers wait until it resumes.
    Paused,
}

/// Counters of what happened, kept as the run goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Events taken off the queue and processed.
    pub events: u64,
    /// Messages sent.
    pub sent: u64,
    /// Message copies handed to a node.
    pub delivered: u64,
    /// Duplicate copies made.
    pub duplicated: u64,
    /// Messages lost at random.
    pub dropped_loss: u64,
    /// Messages cut by a partition, block or isolation.
    pub dropped_partition: u64,
    /// Messages that arrived at a crashed node.
    pub dropped_node_down: u64,
    /// Messages sent to a node id that does not exist.
    pub dropped_unknown: u64,
    /// Messages held by a node that crashed before handling them.
    pub dropped_crashed: u64,
    /// Messages held by a clog at delivery time (delivered later).
    pub held_clogged: u64,
    /// Messages held by a paused node (delivered after it resumes).
    pub held_paused: u64,
    /// Timers fired.
    pub timers: u64,
    /// Faults applied (those that did not apply are not counted).
    pub faults: u64,
    /// Messages dropped because their link's queue was full (a link with a bandwidth).
    pub dropped_queue_full: u64,
}

impl Stats {
    /// All dropped messages, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_loss
            + self.dropped_partition
            + self.dropped_node_down
            + self.dropped_unknown
            + self.dropped_crashed
            + self.dropped_queue_full
    }
}

/// Why `run` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// No event left to process.
    Quiescent,
    /// The next event is after the time limit; the clock stands at the limit.
    TimeLimit,
    /// The event budget is spent.
    EventBudget,
    /// Another budget ran out (pending events, held messages, a trace sink's or the
    /// watchdog's): see [`Simulation::budget_exhausted`].
    BudgetExhausted,
}

/// A queued event.
#[derive(Debug)]
pub(crate) enum Event<M> {
    Start {
        node: NodeId,
    },
    Deliver {
        from: NodeId,
        to: NodeId,
        id: u64,
        msg: M,
    },
    Timer {
        node: NodeId,
        incarnation: u32,
        timer: u64,
        tag: u64,
    },
    /// Fault `index` of the realized schedule begins.
    FaultStart(u32),
    /// The window of fault `index` ends.
    FaultEnd(u32),
    /// The service of the message in service at `node` ends (its processing model).
    Served {
        node: NodeId,
        incarnation: u32,
    },
}

/// What a paused node holds until it resumes.
enum Held<M> {
    Msg { from: NodeId, id: u64, msg: M },
    Timer { timer: u64, tag: u64 },
}

/// The shared state a handler's [`Ctx`] reaches into.
pub struct Core<M, O> {
    pub(crate) now: SimTime,
    pub(crate) queue: EventQueue<Event<M>>,
    pub(crate) net: Network,
    pub(crate) net_rng: SimRng,
    tiebreak: Option<SimRng>,
    pub(crate) tracer: Tracer<M>,
    pub(crate) history: History<O>,
    pub(crate) stats: Stats,
    pub(crate) next_msg_id: u64,
    pub(crate) next_timer_id: u64,
    pub(crate) live_timers: FastSet<u64>,
    pub(crate) node_count: u32,
    /// Messages held by clogs, indexed by link and by node (see [`ClogHeld`]).
    clog_held: ClogHeld<M>,
    /// Messages and timers held now by clogs and paused nodes (and node inboxes).
    held_now: u64,
    /// Link bandwidths and their queues (off unless some link has a rate).
    pub(crate) links: crate::engine::bandwidth::Links,
    /// The nodes' clocks (off, and never consulted, unless some node has one).
    pub(crate) clocks: Clocks,
    /// The run's code-level fault points, when enabled ([`Simulation::set_buggify`]).
    pub(crate) buggify: Option<Box<Buggify>>,
}

/// Messages held by clogs: per link `(from, to)`, in arrival order, each with its
/// arrival number; and per node, the links to or from it that hold any. Releasing a clog
/// looks only at the links it could have held, so its cost is proportional to what it
/// releases (plus what is still clogged on those links), not to every held message.
struct ClogHeld<M> {
    links: BTreeMap<(NodeId, NodeId), VecDeque<HeldMsg<M>>>,
    by_node: BTreeMap<NodeId, BTreeSet<(NodeId, NodeId)>>,
    /// Arrival numbers, so that messages released from several links keep their order.
    arrivals: u64,
}

/// A held message: (arrival number, message id, message).
type HeldMsg<M> = (u64, u64, M);

impl<M> Default for ClogHeld<M> {
    fn default() -> Self {
        ClogHeld {
            links: BTreeMap::new(),
            by_node: BTreeMap::new(),
            arrivals: 0,
        }
    }
}

impl<M> ClogHeld<M> {
    fn hold(&mut self, from: NodeId, to: NodeId, id: u64, msg: M) {
        self.arrivals += 1;
        self.links
            .entry((from, to))
            .or_default()
            .push_back((self.arrivals, id, msg));
        self.by_node.entry(from).or_default().insert((from, to));
        self.by_node.entry(to).or_default().insert((from, to));
    }

    /// The links holding messages that the end of a clog of `target` could release
    /// (`None`: every link).
    fn links_of(&self, target: Option<ClogTarget>) -> Vec<(NodeId, NodeId)> {
        match target {
            None => self.links.keys().copied().collect(),
            Some(ClogTarget::Node { node }) => self
                .by_node
                .get(&node)
                .map(|l| l.iter().copied().collect())
                .unwrap_or_default(),
            Some(ClogTarget::Link { from, to }) => {
                if self.links.contains_key(&(from, to)) {
                    vec![(from, to)]
                } else {
                    Vec::new()
                }
            }
        }
    }

    /// Take every message held on `link`, and forget the link.
    fn take(&mut self, link: (NodeId, NodeId)) -> VecDeque<HeldMsg<M>> {
        let q = self.links.remove(&link).unwrap_or_default();
        for n in [link.0, link.1] {
            if let Some(set) = self.by_node.get_mut(&n) {
                set.remove(&link);
                if set.is_empty() {
                    self.by_node.remove(&n);
                }
            }
        }
        q
    }
}

impl<M: Message, O> Core<M, O> {
    #[inline(always)]
    pub(crate) fn push(&mut self, at: SimTime, ev: Event<M>) {
        let tb = match &mut self.tiebreak {
            Some(r) => r.next_u64(),
            None => 0,
        };
        self.queue.push(at, tb, ev);
    }

    /// Queue the start and (for a window) the end of fault `index`. Fault events come
    /// before anything else at their time, starts before ends, each by index: when a
    /// fault was scheduled (before or during the run) never changes the order.
    fn push_fault(&mut self, index: u32, tf: &TimedFault) {
        self.queue.push_first(tf.at, index as u64, Event::FaultStart(index));
        if let Some(until) = tf.until {
            self.queue
                .push_first(until, (1 << 39) | index as u64, Event::FaultEnd(index));
        }
    }

    #[inline]
    pub(crate) fn drop_msg(&mut self, from: NodeId, to: NodeId, id: u64, reason: DropReason) {
        let s = &mut self.stats;
        match reason {
            DropReason::Loss => s.dropped_loss += 1,
            DropReason::Partition => s.dropped_partition += 1,
            DropReason::NodeDown => s.dropped_node_down += 1,
            DropReason::UnknownNode => s.dropped_unknown += 1,
            DropReason::Crashed => s.dropped_crashed += 1,
            DropReason::QueueFull => s.dropped_queue_full += 1,
        }
        self.tracer.record(self.now, TraceEvent::Drop { from, to, id, reason });
    }
}

struct Slot<M, O> {
    node: Option<Box<dyn Node<M, O>>>,
    factory: NodeFactory<M, O>,
    rng: SimRng,
    storage: Storage,
    state: NodeState,
    incarnation: u32,
    held: Vec<Held<M>>,
    /// Crash windows in force on this node (it is down while any is).
    crash_windows: Vec<u32>,
    /// Pause windows in force on this node (it is paused while any is, unless down).
    pause_windows: Vec<u32>,
}

/// A deterministic simulation of nodes exchanging messages of type `M` and recording
/// observations of type `O`.
///
/// ```
/// use detsim::{Ctx, Node, NodeId, SimConfig, SimTime, Simulation};
///
/// struct Echo;
/// impl Node<u64> for Echo {
///     fn on_message(&mut self, ctx: &mut Ctx<'_, u64, ()>, from: NodeId, msg: u64) {
///         if msg < 10 { ctx.send(from, msg + 1) }
///     }
/// }
/// struct Kick;
/// impl Node<u64> for Kick {
///     fn on_start(&mut self, ctx: &mut Ctx<'_, u64, ()>) { ctx.send(NodeId(0), 0u64) }
///     fn on_message(&mut self, ctx: &mut Ctx<'_, u64, ()>, from: NodeId, msg: u64) {
///         if msg < 10 { ctx.send(from, msg + 1) }
///     }
/// }
/// let mut sim = Simulation::<u64>::new(SimConfig::new(7));
/// sim.add_node("echo", || Box::new(Echo));
/// sim.add_node("kick", || Box::new(Kick));
/// sim.run().unwrap();
/// assert_eq!(sim.stats().delivered, 11);
/// assert_eq!(sim.now(), SimTime::from_millis(11)); // 1 ms per hop by default
/// ```
pub struct Simulation<M, O = ()> {
    core: Core<M, O>,
    nodes: Vec<Slot<M, O>>,
    names: Vec<String>,
    by_name: FastMap<String, NodeId>,
    config: SimConfig,
    pending: Vec<TimedFault>,
    nemesis: Option<NemesisConfig>,
    realized: Vec<TimedFault>,
    started: bool,
    /// Crash and pause windows in force, over all nodes.
    node_windows: usize,
    /// Where a cap cut the nemesis's plan, if one did.
    nemesis_cut: Option<SimTime>,
    /// Which cap cut it.
    nemesis_cut_by: Option<&'static str>,
    /// Each fault window's time in force: (index, from, until; `None` while it lasts).
    spans: Vec<(u32, SimTime, Option<SimTime>)>,
    /// Position in `spans` of each window in force, by index (look-ups only).
    open_spans: FastMap<u32, usize>,
    /// The periods during which some fault window was in force: `(from, until)`, `None`
    /// while it lasts.
    disturbed: Vec<(SimTime, Option<SimTime>)>,
    /// The event count at which the run loop next looks at its budgets.
    checkpoint: u64,
    /// The caller's extra budget check, if any.
    watchdog: Option<Watchdog>,
    /// The budget that stopped the run, if one did.
    exhausted: Option<Exhausted>,
    /// Nodes' processing models and inboxes (off unless some node has a model).
    proc: crate::engine::processing::Processor<M>,
    /// How a crash treats unsynced writes (every node's storage).
    storage_faults: StorageFaults,
    /// The storage stream: which unsynced writes a crash keeps (only when it may lose them).
    storage_rng: Option<SimRng>,
    /// `disk_full` windows in force, over all nodes.
    disk_windows: usize,
    /// The clocks set before the run (nodes with a clock that is not perfect).
    clock_configs: Vec<(NodeId, ClockConfig)>,
    /// Clock drift windows in force, over all nodes.
    clock_windows: usize,
}

impl<M: Message, O: 'static> Simulation<M, O> {
    /// An empty simulation.
    pub fn new(config: SimConfig) -> Self {
        let seed = config.seed;
        let tiebreak = config
            .random_tiebreak
            .then(|| SimRng::new(config.seed, Stream::TieBreak));
        Simulation {
            core: Core {
                now: SimTime::ZERO,
                queue: EventQueue::default(),
                net: Network::new(config.random_tiebreak),
                net_rng: SimRng::new(config.seed, Stream::Network),
                tiebreak,
                tracer: Tracer::default(),
                history: History::default(),
                stats: Stats::default(),
                next_msg_id: 0,
                next_timer_id: 0,
                live_timers: FastSet::default(),
                node_count: 0,
                clog_held: ClogHeld::default(),
                held_now: 0,
                links: Default::default(),
                clocks: Clocks::default(),
                buggify: None,
            },
            nodes: Vec::new(),
            names: Vec::new(),
            by_name: FastMap::default(),
            config,
            pending: Vec::new(),
            nemesis: None,
            realized: Vec::new(),
            started: false,
            node_windows: 0,
            nemesis_cut: None,
            nemesis_cut_by: None,
            spans: Vec::new(),
            open_spans: FastMap::default(),
            disturbed: Vec::new(),
            checkpoint: 0,
            watchdog: None,
            exhausted: None,
            proc: crate::engine::processing::Processor::new(seed),
            storage_faults: StorageFaults::default(),
            storage_rng: None,
            disk_windows: 0,
            clock_configs: Vec::new(),
            clock_windows: 0,
        }
    }

    /// Add a node built by `factory` (called again at every restart); it starts now.
    /// Names must be unique.
    pub fn add_node<F>(&mut self, name: &str, mut factory: F) -> Result<NodeId, Error>
    where
        F: FnMut() -> Box<dyn Node<M, O>> + 'static,
    {
        if self.by_name.contains_key(name) {
            return Err(Error::DuplicateNode(name.to_string()));
        }
        let id = NodeId(self.nodes.len() as u32);
        let node = factory();
        let mut storage = Storage::default();
        storage.set_faults(self.storage_faults);
        self.nodes.push(Slot {
            node: Some(node),
            factory: Box::new(factory),
            rng: SimRng::new(self.config.seed, Stream::Node(id.0)),
            storage,
            state: NodeState::Up,
            incarnation: 0,
            held: Vec::new(),
            crash_windows: Vec::new(),
            pause_windows: Vec::new(),
        });
        self.names.push(name.to_string());
        self.core.tracer.node_added(id, name);
        self.by_name.insert(name.to_string(), id);
        self.core.node_count += 1;
        self.core.net.add_node();
        let now = self.core.now;
        self.core.push(now, Event::Start { node: id });
        Ok(id)
    }

    /// The id of the node called `name`.
    pub fn node_id(&self, name: &str) -> Option<NodeId> {
        self.by_name.get(name).copied()
    }

    /// The name of a node.
    pub fn node_name(&self, id: NodeId) -> Option<&str> {
        self.names.get(id.0 as usize).map(|s| s.as_str())
    }

    /// All node names, by id.
    pub fn node_names(&self) -> &[String] {
        &self.names
    }

    /// What a node is doing.
    pub fn node_state(&self, id: NodeId) -> Option<NodeState> {
        self.nodes.get(id.0 as usize).map(|s| s.state)
    }

    /// A node's durable storage (survives crashes).
    pub fn storage(&self, id: NodeId) -> Option<&Storage> {
        self.nodes.get(id.0 as usize).map(|s| &s.storage)
    }

    /// Set how a crash treats the writes nodes did not sync (every node, added before or
    /// after), before the run starts: see [`StorageFaults`] and [`Storage`]. With
    /// `lose_unsynced`, which writes a crash keeps is drawn from a stream of its own.
    pub fn set_storage_faults(&mut self, faults: StorageFaults) -> Result<(), Error> {
        if self.started {
            return Err(Error::InvalidParameter(
                "storage faults are set before the run starts".into(),
            ));
        }
        self.storage_faults = faults;
        self.storage_rng = faults
            .lose_unsynced
            .then(|| SimRng::new(self.config.seed, Stream::Storage));
        for slot in &mut self.nodes {
            slot.storage.set_faults(faults);
        }
        Ok(())
    }

    /// The network, to configure before the run starts (the default link, per-link
    /// settings). Once the run has started this is an error: the network changes only
    /// through faults (the [`Simulation::set_link`] verb, a scheduled `set_link`), which
    /// the trace and the realized schedule record.
    pub fn network_mut(&mut self) -> Result<&mut Network, Error> {
        if self.started {
            return Err(Error::InvalidParameter(
                "the network is configured before the run starts; during a run, change link settings with a \
                 set_link fault (Simulation::set_link)"
                    .into(),
            ));
        }
        Ok(&mut self.core.net)
    }

    /// The network.
    pub fn network(&self) -> &Network {
        &self.core.net
    }

    /// Schedule a fault at `at`, with no window (a fault that lasts stays until its
    /// explicit undo). Checked now: unknown nodes and bad settings are errors.
    pub fn schedule(&mut self, at: SimTime, fault: Fault) -> Result<(), Error> {
        self.schedule_timed(TimedFault::at(at, fault))
    }

    /// Schedule `fault` over the window `[at, until)`: its end undoes it alone.
    pub fn schedule_window(&mut self, at: SimTime, until: SimTime, fault: Fault) -> Result<(), Error> {
        self.schedule_timed(TimedFault::window(at, until, fault))
    }

    /// Schedule a timed fault (see [`TimedFault`]). Checked now: unknown nodes, bad
    /// settings, a window on a fault that does not last, or one that ends before it
    /// starts are errors.
    ///
    /// During a run, a fault cannot act in the past nor at the present instant (events
    /// at `now` may already have been handled): a time at or before `now` is moved to
    /// `now + 1ns` (its window keeps its length), and that is what the realized schedule
    /// records, so that replaying it gives the same run.
    pub fn schedule_timed(&mut self, mut tf: TimedFault) -> Result<(), Error> {
        self.check_fault(&tf.fault)?;
        if let Some(until) = tf.until {
            if !tf.fault.lasts() {
                return Err(Error::InvalidParameter(format!(
                    "a {} fault acts at an instant: it has no window (`until`)",
                    tf.fault.kind()
                )));
            }
            if until < tf.at {
                return Err(Error::InvalidParameter(format!(
                    "a fault window ends ({until}) before it starts ({})",
                    tf.at
                )));
            }
        }
        if !self.started {
            self.pending.push(tf);
            return Ok(());
        }
        let earliest = self.core.now + SimTime(1);
        if tf.at < earliest {
            let shift = earliest - tf.at;
            tf.until = tf.until.map(|u| u + shift);
            tf.at = earliest;
        }
        let index = self.next_index()?;
        if is_clock_fault(&tf.fault) && !self.core.clocks.on {
            self.core.clocks.switch_on(self.nodes.len());
        }
        self.core.push_fault(index, &tf);
        self.realized.push(tf);
        Ok(())
    }

    /// Inject `fault` now, recorded exactly like a scheduled fault (in the realized
    /// schedule and the trace): before the run it acts at the start time; during a run,
    /// at `now + 1ns` (see [`Simulation::schedule_timed`]), so replaying the realized
    /// schedule gives the same run.
    pub fn inject(&mut self, fault: Fault) -> Result<(), Error> {
        self.schedule_timed(TimedFault::at(self.core.now, fault))
    }

    /// Inject a fault that lasts for a window of `duration` from now (as
    /// [`Simulation::inject`]): its end undoes it alone.
    pub fn inject_for(&mut self, fault: Fault, duration: SimTime) -> Result<(), Error> {
        let at = self.core.now;
        self.schedule_timed(TimedFault::window(at, at + duration, fault))
    }

    /// Crash `node` now (see [`Fault::Crash`]); it stays down until [`Simulation::restart`].
    pub fn crash(&mut self, node: NodeId) -> Result<(), Error> {
        self.inject(Fault::Crash { node })
    }

    /// Crash `node` now for `duration`; it restarts at the window's end.
    pub fn crash_for(&mut self, node: NodeId, duration: SimTime) -> Result<(), Error> {
        self.inject_for(Fault::Crash { node }, duration)
    }

    /// Restart `node` now (ending every crash window on it).
    pub fn restart(&mut self, node: NodeId) -> Result<(), Error> {
        self.inject(Fault::Restart { node })
    }

    /// Pause `node` now; it stays paused until [`Simulation::resume`].
    pub fn pause(&mut self, node: NodeId) -> Result<(), Error> {
        self.inject(Fault::Pause { node })
    }

    /// Pause `node` now for `duration`.
    pub fn pause_for(&mut self, node: NodeId, duration: SimTime) -> Result<(), Error> {
        self.inject_for(Fault::Pause { node }, duration)
    }

    /// Resume `node` now (ending every pause window on it).
    pub fn resume(&mut self, node: NodeId) -> Result<(), Error> {
        self.inject(Fault::Resume { node })
    }

    /// Split the nodes into `groups` that cannot reach each other, now, until
    /// [`Simulation::heal`].
    pub fn partition(&mut self, groups: Vec<Vec<NodeId>>) -> Result<(), Error> {
        self.inject(Fault::Partition { groups })
    }

    /// Partition now for `duration`.
    pub fn partition_for(&mut self, groups: Vec<Vec<NodeId>>, duration: SimTime) -> Result<(), Error> {
        self.inject_for(Fault::Partition { groups }, duration)
    }

    /// Block the link `from -> to` now, until [`Simulation::heal`].
    pub fn block(&mut self, from: NodeId, to: NodeId) -> Result<(), Error> {
        self.inject(Fault::Block { from, to })
    }

    /// Block the link `from -> to` now for `duration`.
    pub fn block_for(&mut self, from: NodeId, to: NodeId, duration: SimTime) -> Result<(), Error> {
        self.inject_for(Fault::Block { from, to }, duration)
    }

    /// Cut `node` off from every other node now, until [`Simulation::heal`].
    pub fn isolate(&mut self, node: NodeId) -> Result<(), Error> {
        self.inject(Fault::Isolate { node })
    }

    /// Isolate `node` now for `duration`.
    pub fn isolate_for(&mut self, node: NodeId, duration: SimTime) -> Result<(), Error> {
        self.inject_for(Fault::Isolate { node }, duration)
    }

    /// End every partition, block and isolation now.
    pub fn heal(&mut self) -> Result<(), Error> {
        self.inject(Fault::Heal)
    }

    /// Hold the traffic of a node or link now, until [`Simulation::unclog`].
    pub fn clog(&mut self, target: ClogTarget) -> Result<(), Error> {
        self.inject(Fault::Clog { target })
    }

    /// Clog `target` now for `duration`.
    pub fn clog_for(&mut self, target: ClogTarget, duration: SimTime) -> Result<(), Error> {
        self.inject_for(Fault::Clog { target }, duration)
    }

    /// End every clog of `target` now; what it held is delivered.
    pub fn unclog(&mut self, target: ClogTarget) -> Result<(), Error> {
        self.inject(Fault::Unclog { target })
    }

    /// End every clog now.
    pub fn unclog_all(&mut self) -> Result<(), Error> {
        self.inject(Fault::UnclogAll)
    }

    /// Change the settings of the link `from -> to` (`Some`) or the default (`None`) now,
    /// for good: the one way to change the network during a run.
    pub fn set_link(&mut self, link: Option<(NodeId, NodeId)>, config: LinkConfig) -> Result<(), Error> {
        self.inject(Fault::SetLink { link, config })
    }

    /// Change link settings now for `duration`, after which whatever would be in force
    /// without them applies again.
    pub fn set_link_for(
        &mut self,
        link: Option<(NodeId, NodeId)>,
        config: LinkConfig,
        duration: SimTime,
    ) -> Result<(), Error> {
        self.inject_for(Fault::SetLink { link, config }, duration)
    }

    /// The index the next realized fault gets.
    fn next_index(&self) -> Result<u32, Error> {
        u32::try_from(self.realized.len())
            .ok()
            .ok_or_else(|| Error::InvalidParameter("too many faults in one run".into()))
    }

    fn check_fault(&self, fault: &Fault) -> Result<(), Error> {
        if let Some(n) = fault.nodes().into_iter().find(|n| n.0 >= self.core.node_count) {
            return Err(Error::UnknownNode(*n));
        }
        if let Fault::Partition { groups } = fault {
            self.core.net.group_of_each_node(groups)?;
        }
        if let (Fault::SlowNode { .. } | Fault::ThinLink { .. }, Some((field, msg))) =
            (fault, fault.problems().into_iter().next())
        {
            return Err(Error::InvalidParameter(format!("{} {field}: {msg}", fault.kind())));
        }
        fault.config().map_or(Ok(()), |c| c.validate())
    }

    /// Enable the random nemesis; its schedule is planned when the run starts.
    pub fn set_nemesis(&mut self, cfg: NemesisConfig) -> Result<(), Error> {
        cfg.validate(self.core.node_count)?;
        if self.started {
            return Err(Error::InvalidParameter(
                "the nemesis must be set before the run starts".into(),
            ));
        }
        self.nemesis = Some(cfg);
        Ok(())
    }

    /// Enable code-level fault points ([`Ctx::buggify`]) with `cfg`, before the run
    /// starts; their draws come from their own stream.
    pub fn set_buggify(&mut self, cfg: BuggifyConfig) -> Result<(), Error> {
        cfg.validate()?;
        if self.started {
            return Err(Error::InvalidParameter(
                "fault points (buggify) must be enabled before the run starts".into(),
            ));
        }
        self.core.buggify = Some(Box::new(Buggify::new(self.config.seed, cfg)));
        Ok(())
    }

    /// What each fault point reached so far did, by name; `None` when fault points are
    /// not enabled.
    pub fn buggify_points(&self) -> Option<Vec<BuggifyPoint>> {
        self.core.buggify.as_ref().map(|b| b.points())
    }

    /// Hand every later event to `sink` too (e.g. a JSON-lines writer, a report's
    /// collector); it first hears of the nodes added so far. Sinks never change the run:
    /// the trace hash is the same with or without them.
    pub fn add_trace_sink(&mut self, mut sink: Box<dyn TraceSink<M>>) {
        for (i, name) in self.names.iter().enumerate() {
            sink.node_added(NodeId(i as u32), name);
        }
        self.core.tracer.add_sink(sink);
    }

    /// Flush the trace sinks and report the first error, if any.
    pub fn flush_trace(&mut self) -> Result<(), Error> {
        self.core.tracer.flush().map_err(|e| Error::Io(e.to_string()))
    }

    /// The history of observations.
    pub fn history(&self) -> &History<O> {
        &self.core.history
    }

    /// The history, to set an observer or stop keeping records.
    pub fn history_mut(&mut self) -> &mut History<O> {
        &mut self.core.history
    }

    /// The current virtual time.
    pub fn now(&self) -> SimTime {
        self.core.now
    }

    /// The stable hash of every event processed so far.
    pub fn trace_hash(&self) -> u64 {
        self.core.tracer.hash()
    }

    /// Trace events recorded so far (sends, deliveries, drops, timers, faults, ...).
    pub fn trace_events(&self) -> u64 {
        self.core.tracer.events()
    }

    /// Counters.
    pub fn stats(&self) -> &Stats {
        &self.core.stats
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// Every fault of this run as a concrete timed schedule, each with its own window:
    /// those scheduled before the run (in the order they were scheduled), then those the
    /// nemesis drew (by time), then those scheduled during the run. Before the run
    /// starts, the nemesis part is empty. Scheduled again in this order, with no
    /// nemesis, they give the same run.
    pub fn realized_faults(&self) -> &[TimedFault] {
        if self.started { &self.realized } else { &self.pending }
    }

    /// Where a cap on planned fault windows cut the nemesis's plan (nothing from that
    /// time on was planned), if one did; known once the run has started.
    pub fn nemesis_cut_at(&self) -> Option<SimTime> {
        self.nemesis_cut
    }

    /// Which cap cut the nemesis's plan (see [`crate::NemesisPlan::cut_by`]), if one did.
    pub fn nemesis_cut_by(&self) -> Option<&'static str> {
        self.nemesis_cut_by
    }

    /// When each fault window was really in force, in the order they began: (index into
    /// [`Simulation::realized_faults`], from, until), `until` `None` while it lasts. A
    /// window ended early by an undo ends there; one that held nothing (a pause of a
    /// crashed node) has none.
    pub fn fault_spans(&self) -> &[(u32, SimTime, Option<SimTime>)] {
        &self.spans
    }

    /// The periods during which some fault window was in force (a node down or paused
    /// by a fault, a cut, a clog, a window of link settings), in time order: `(from,
    /// until)`, `until` `None` for the one still in force now. Instant faults that undid
    /// nothing and windows that held nothing (a pause of a crashed node) make none;
    /// un-windowed `set_link` changes the settings for good and is not a fault window.
    /// The run healed at the last period's end.
    pub fn fault_periods(&self) -> &[(SimTime, Option<SimTime>)] {
        &self.disturbed
    }

    /// The faults still in force now (windows not yet ended: a node still down or
    /// paused by it, a cut, a clog, link settings), as indices into
    /// [`Simulation::realized_faults`], in order. Empty when everything has healed.
    pub fn faults_in_force(&self) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .nodes
            .iter()
            .flat_map(|s| {
                s.crash_windows
                    .iter()
                    .chain(&s.pause_windows)
                    .chain(s.storage.full_windows_ref())
            })
            .map(|w| *w as usize)
            .collect();
        let net = &self.core.net;
        out.extend(
            net.cut_windows()
                .into_iter()
                .chain(net.clog_windows())
                .chain(net.link_setting_windows())
                .chain(self.proc.windows())
                .chain(self.core.links.windows())
                .chain(self.core.clocks.windows_in_force())
                .map(|w| w as usize),
        );
        out.sort_unstable();
        out
    }

    /// Events waiting in the queue.
    pub fn pending_events(&self) -> usize {
        self.core.queue.len()
    }

    fn start(&mut self) {
        if self.started {
            return;
        }
        self.started = true;
        let mut all = std::mem::take(&mut self.pending);
        if let Some(nem) = &self.nemesis {
            let mut rng = SimRng::new(self.config.seed, Stream::Nemesis);
            let plan = nem.planned(&mut rng, self.core.net.default_config());
            let mut gray = SimRng::new(self.config.seed, Stream::GrayNemesis);
            let plan = crate::engine::gray_nemesis::merged(nem, plan, &mut gray);
            let plan =
                crate::engine::clock::with_clock_faults(plan, nem, &mut SimRng::new(self.config.seed, Stream::Clock));
            self.nemesis_cut = plan.cut_at;
            self.nemesis_cut_by = plan.cut_by;
            all.extend(plan.windows);
        }
        for (i, tf) in all.iter().enumerate() {
            self.core.push_fault(i as u32, tf);
        }
        if !self.clock_configs.is_empty() || all.iter().any(|tf| is_clock_fault(&tf.fault)) {
            self.start_clocks();
        }
        self.realized = all;
    }

    /// Turn the clocks on: every node gets its clock, and each clock set before the run
    /// is in the trace.
    #[cold]
    fn start_clocks(&mut self) {
        let core = &mut self.core;
        core.clocks.switch_on(self.nodes.len());
        for (node, cfg) in &self.clock_configs {
            core.clocks.set(*node, cfg);
            core.tracer.record(
                core.now,
                TraceEvent::ClockSet {
                    node: *node,
                    config: cfg,
                },
            );
        }
    }

    /// Give `node` its own clock (offset, drift, scheduled steps; see `engine/clock.rs`),
    /// before the run starts. A perfect clock (the default) changes nothing.
    pub fn set_clock(&mut self, node: NodeId, cfg: ClockConfig) -> Result<(), Error> {
        if self.started {
            return Err(Error::InvalidParameter(
                "a node's clock is set before the run starts; during a run, use clock_step and clock_drift faults"
                    .into(),
            ));
        }
        if node.0 as usize >= self.nodes.len() {
            return Err(Error::UnknownNode(node));
        }
        if let Some((field, m)) = cfg.problems().into_iter().next() {
            return Err(Error::InvalidParameter(format!("clock {field}: {m}")));
        }
        self.clock_configs.retain(|(n, _)| *n != node);
        if !cfg.is_perfect() {
            self.clock_configs.push((node, cfg));
        }
        Ok(())
    }

    /// `node`'s wall clock now (what [`Ctx::local_now`] reads there).
    pub fn local_now(&self, node: NodeId) -> SimTime {
        self.core.clocks.wall(node, self.core.now)
    }

    /// `node`'s monotonic clock now (what [`Ctx::monotonic_now`] reads there).
    pub fn monotonic_now(&self, node: NodeId) -> SimTime {
        self.core.clocks.monotonic(node, self.core.now)
    }

    /// Trace `node`'s clock after a change.
    fn trace_clock(&mut self, node: NodeId) {
        let core = &mut self.core;
        let Some(c) = core.clocks.get(node) else { return };
        let ev = TraceEvent::Clock {
            node,
            local: c.wall(core.now),
            monotonic: c.monotonic(core.now),
            drift_ppm: c.drift_ppm(),
        };
        core.tracer.record(core.now, ev);
    }

    /// Process the next event. Returns its time, or `None` when the queue is empty.
    /// (`step` ignores the time limit and event budget; `run` honours them.)
    pub fn step(&mut self) -> Option<SimTime> {
        if !self.started {
            self.start();
        }
        let (at, ev) = self.core.queue.pop()?;
        self.handle(at, ev);
        Some(at)
    }

    /// Process `ev`, due at `at`, just taken off the queue (by `step` or `run`).
    #[inline(always)]
    fn handle(&mut self, at: SimTime, ev: Event<M>) {
        self.core.now = at;
        self.core.stats.events += 1;
        self.process(ev);
    }

    /// Process every event up to and including `t`, then set the clock to `t`.
    pub fn run_until(&mut self, t: SimTime) -> Result<Outcome, Error> {
        self.start();
        while let Some(next) = self.core.queue.peek_time() {
            if next > t {
                break;
            }
            if let Some(stop) = self.spent() {
                self.flush_trace()?;
                return Ok(stop);
            }
            self.step();
        }
        self.core.now = self.core.now.max(t);
        self.flush_trace()?;
        Ok(if self.core.queue.is_empty() {
            Outcome::Quiescent
        } else {
            Outcome::TimeLimit
        })
    }

    /// Run to quiescence, or to the time limit or event budget of the config.
    pub fn run(&mut self) -> Result<Outcome, Error> {
        self.start();
        let limit = self.config.max_time.unwrap_or(SimTime::MAX);
        let outcome = loop {
            // The common case: no budget to look at before this event (`spent` would
            // say nothing) and an event due within the limit, taken with one look.
            if self.core.stats.events < self.checkpoint
                && let Some((at, ev)) = self.core.queue.pop_due(limit)
            {
                self.handle(at, ev);
                continue;
            }
            match self.core.queue.peek_time() {
                None => break Outcome::Quiescent,
                Some(next) if next > limit => {
                    self.core.now = limit;
                    break Outcome::TimeLimit;
                }
                Some(_) => {}
            }
            if let Some(stop) = self.spent() {
                break stop;
            }
            self.step();
        };
        self.flush_trace()?;
        Ok(outcome)
    }

    /// Why the run must stop before its next event, if it must: the event budget, or
    /// (looked at every [`CHECK_EVERY`] events) another budget. One comparison per event.
    #[inline]
    fn spent(&mut self) -> Option<Outcome> {
        if self.core.stats.events < self.checkpoint {
            return None;
        }
        self.checkpoint_reached()
    }

    #[cold]
    #[inline(never)]
    fn checkpoint_reached(&mut self) -> Option<Outcome> {
        let events = self.core.stats.events;
        if self.exhausted.is_some() {
            return Some(Outcome::BudgetExhausted);
        }
        if self.config.max_events.is_some_and(|b| events >= b) {
            return Some(Outcome::EventBudget);
        }
        if events.is_multiple_of(CHECK_EVERY) || self.checkpoint == 0 {
            let found = self
                .config
                .budgets
                .over(self.core.queue.len() as u64, self.core.held_now)
                .or_else(|| self.core.tracer.exhausted())
                .or_else(|| self.watchdog.as_mut().and_then(|w| w(events)));
            if let Some(e) = found {
                self.exhausted = Some(e);
                return Some(Outcome::BudgetExhausted);
            }
        }
        let next = (events / CHECK_EVERY + 1) * CHECK_EVERY;
        self.checkpoint = self.config.max_events.map_or(next, |b| b.min(next));
        None
    }

    /// Call `w` every [`CHECK_EVERY`] events of the run with the number of events
    /// processed; when it returns `Some`, the run stops with
    /// [`Outcome::BudgetExhausted`]. For budgets the engine cannot count, such as the
    /// process's memory; it must not change the run in any other way.
    pub fn set_watchdog(&mut self, w: Watchdog) {
        self.watchdog = Some(w);
    }

    /// The budget that stopped the run ([`Outcome::BudgetExhausted`]), if one did.
    pub fn budget_exhausted(&self) -> Option<&Exhausted> {
        self.exhausted.as_ref()
    }

    /// Messages and timers held now by clogs and paused nodes.
    pub fn held_now(&self) -> u64 {
        self.core.held_now
    }

    #[inline(always)]
    fn process(&mut self, ev: Event<M>) {
        match ev {
            Event::Deliver { from, to, id, msg } => self.deliver(from, to, id, msg),
            Event::Timer {
                node,
                incarnation,
                timer,
                tag,
            } => self.fire_timer(node, incarnation, timer, tag),
            Event::Start { node } => self.start_node(node),
            Event::FaultStart(i) => {
                self.begin_fault(i);
                self.rebuild_fifo_if_stale();
            }
            Event::FaultEnd(i) => {
                self.end_fault(i);
                self.rebuild_fifo_if_stale();
            }
            Event::Served { node, incarnation } => self.served(node, incarnation),
        }
    }

    /// A change of link settings ended the network's constant-latency FIFO shortcut:
    /// give it the messages in flight, from which it rebuilds its FIFO bounds.
    fn rebuild_fifo_if_stale(&mut self) {
        if !self.core.net.fifo_stale() {
            return;
        }
        let in_flight = self.core.queue.iter().filter_map(|(at, ev)| match ev {
            Event::Deliver { from, to, .. } => Some((*from, *to, at)),
            _ => None,
        });
        self.core.net.rebuild_fifo(in_flight);
    }

    #[inline(always)]
    fn deliver(&mut self, from: NodeId, to: NodeId, id: u64, msg: M) {
        let core = &mut self.core;
        if core.net.is_cut(from, to) {
            core.drop_msg(from, to, id, DropReason::Partition);
            return;
        }
        if core.net.is_clogged(from, to) {
            core.stats.held_clogged += 1;
            core.tracer.record(
                core.now,
                TraceEvent::Hold {
                    from,
                    to,
                    id,
                    reason: HoldReason::Clogged,
                },
            );
            core.clog_held.hold(from, to, id, msg);
            core.held_now += 1;
            return;
        }
        let slot = &mut self.nodes[to.0 as usize];
        match slot.state {
            NodeState::Up => {}
            NodeState::Down => {
                core.drop_msg(from, to, id, DropReason::NodeDown);
                return;
            }
            NodeState::Paused => {
                core.stats.held_paused += 1;
                core.tracer.record(
                    core.now,
                    TraceEvent::Hold {
                        from,
                        to,
                        id,
                        reason: HoldReason::Paused,
                    },
                );
                slot.held.push(Held::Msg { from, id, msg });
                core.held_now += 1;
                return;
            }
        }
        if self.proc.on && self.proc.takes(to) {
            self.enqueue(from, to, id, msg);
            return;
        }
        self.hand(from, to, id, msg);
    }

    /// Hand a message to its node now.
    #[inline(always)]
    fn hand(&mut self, from: NodeId, to: NodeId, id: u64, msg: M) {
        let core = &mut self.core;
        let slot = &mut self.nodes[to.0 as usize];
        core.stats.delivered += 1;
        core.tracer.record(core.now, TraceEvent::Deliver { from, to, id });
        let mut ctx = Ctx {
            core,
            me: to,
            incarnation: slot.incarnation,
            rng: &mut slot.rng,
            storage: &mut slot.storage,
        };
        if let Some(node) = slot.node.as_mut() {
            node.on_message(&mut ctx, from, msg);
        }
        if slot.storage.touched() {
            slot.storage.end_handler();
        }
    }

    fn fire_timer(&mut self, node: NodeId, incarnation: u32, timer: u64, tag: u64) {
        let core = &mut self.core;
        let slot = &mut self.nodes[node.0 as usize];
        if slot.incarnation != incarnation || slot.state == NodeState::Down {
            core.live_timers.remove(&timer);
            return;
        }
        if slot.state == NodeState::Paused {
            slot.held.push(Held::Timer { timer, tag });
            core.held_now += 1;
            return;
        }
        if !core.live_timers.remove(&timer) {
            return; // cancelled
        }
        core.stats.timers += 1;
        core.tracer.record(core.now, TraceEvent::Timer { node, timer, tag });
        let mut ctx = Ctx {
            core,
            me: node,
            incarnation,
            rng: &mut slot.rng,
            storage: &mut slot.storage,
        };
        if let Some(n) = slot.node.as_mut() {
            n.on_timer(&mut ctx, crate::engine::node::TimerId(timer), tag);
        }
        if slot.storage.touched() {
            slot.storage.end_handler();
        }
    }

    fn start_node(&mut self, node: NodeId) {
        let core = &mut self.core;
        let slot = &mut self.nodes[node.0 as usize];
        if slot.state == NodeState::Down {
            return;
        }
        core.tracer.record(
            core.now,
            TraceEvent::Start {
                node,
                incarnation: slot.incarnation,
            },
        );
        let mut ctx = Ctx {
            core,
            me: node,
            incarnation: slot.incarnation,
            rng: &mut slot.rng,
            storage: &mut slot.storage,
        };
        if let Some(n) = slot.node.as_mut() {
            n.on_start(&mut ctx);
        }
        if slot.storage.touched() {
            slot.storage.end_handler();
        }
    }

    /// Fault `index` begins: a fault that lasts starts its window (open-ended without
    /// `until`); an undo fault ends the windows it names.
    fn begin_fault(&mut self, index: u32) {
        let fault = self.realized[index as usize].fault.clone();
        let until = self.realized[index as usize].until;
        let applied = self.try_begin(index, &fault, until.is_some());
        if applied {
            self.core.stats.faults += 1;
            let window = fault.lasts()
                && !matches!(fault, Fault::SetLink { .. } | Fault::SlowNode { .. } | Fault::ThinLink { .. } if until.is_none())
                && !matches!(fault, Fault::ClockDrift { .. } if until.is_none());
            if window {
                self.open_spans.insert(index, self.spans.len());
                self.spans.push((index, self.core.now, None));
            }
        }
        let now = self.core.now;
        self.core.tracer.record(
            now,
            TraceEvent::Fault {
                index,
                fault: &fault,
                until,
                applied,
            },
        );
        match &fault {
            Fault::Crash { node } => {
                // The paused process is gone: its pause windows end with it.
                let ended = std::mem::take(&mut self.nodes[node.0 as usize].pause_windows);
                self.node_windows -= ended.len();
                self.record_ends(&ended);
                if self.storage_rng.is_some() {
                    self.lose_unsynced(*node);
                }
            }
            Fault::DiskFree { node } => {
                let ended = std::mem::take(self.nodes[node.0 as usize].storage.full_windows());
                self.disk_windows -= ended.len();
                self.record_ends(&ended);
            }
            Fault::Restart { node } => {
                let ended = std::mem::take(&mut self.nodes[node.0 as usize].crash_windows);
                self.node_windows -= ended.len();
                self.record_ends(&ended);
                self.restart_if_down(*node);
            }
            Fault::Resume { node } => {
                let ended = std::mem::take(&mut self.nodes[node.0 as usize].pause_windows);
                self.node_windows -= ended.len();
                self.record_ends(&ended);
                self.resume_if_paused(*node);
            }
            Fault::Heal => {
                let ended = self.core.net.heal();
                self.record_ends(&ended);
            }
            Fault::Unclog { target } => {
                let ended = self.core.net.unclog(*target).unwrap_or_default();
                self.record_ends(&ended);
                self.release_clogged(Some(*target));
            }
            Fault::UnclogAll => {
                let ended = self.core.net.unclog_all();
                self.record_ends(&ended);
                self.release_clogged(None);
            }
            Fault::ClockStep { node, .. } | Fault::ClockDrift { node, .. } if applied => self.trace_clock(*node),
            _ => {}
        }
        self.note_period();
    }

    /// A fault that lasts starts its window `index` (false when there is nothing it can
    /// hold: a pause of a crashed node); an undo fault says whether it has anything to
    /// undo.
    fn try_begin(&mut self, index: u32, fault: &Fault, windowed: bool) -> bool {
        let net = &mut self.core.net;
        match fault {
            Fault::Crash { node } => {
                for (from, id, _) in self.proc.crash(*node) {
                    self.core.held_now -= 1;
                    self.core.drop_msg(from, *node, id, DropReason::Crashed);
                }
                let slot = &mut self.nodes[node.0 as usize];
                slot.crash_windows.push(index);
                self.node_windows += 1;
                if slot.state != NodeState::Down {
                    slot.state = NodeState::Down;
                    slot.node = None;
                    slot.incarnation += 1;
                    let held = std::mem::take(&mut slot.held);
                    self.core.held_now -= held.len() as u64;
                    for h in held {
                        if let Held::Msg { from, id, .. } = h {
                            self.core.drop_msg(from, *node, id, DropReason::Crashed);
                        }
                    }
                }
                true
            }
            Fault::Pause { node } => {
                let slot = &mut self.nodes[node.0 as usize];
                match slot.state {
                    NodeState::Down => false, // no process to pause
                    NodeState::Paused => {
                        slot.pause_windows.push(index);
                        self.node_windows += 1;
                        true
                    }
                    NodeState::Up => {
                        slot.pause_windows.push(index);
                        self.node_windows += 1;
                        slot.state = NodeState::Paused;
                        true
                    }
                }
            }
            Fault::Partition { groups } => net.partition(index, groups).is_ok(),
            Fault::Block { from, to } => net.block(index, *from, *to).is_ok(),
            Fault::Isolate { node } => net.isolate(index, *node).is_ok(),
            Fault::Clog { target } => net.clog(index, *target).is_ok(),
            Fault::SetLink { link, config } if windowed => net.start_link_window(index, *link, config.clone()).is_ok(),
            Fault::SetLink { link: None, config } => net.set_default(config.clone()).is_ok(),
            Fault::SetLink {
                link: Some((from, to)),
                config,
            } => net.set_link(*from, *to, config.clone()).is_ok(),
            Fault::Restart { node } => self.nodes[node.0 as usize].state == NodeState::Down,
            Fault::Resume { node } => self.nodes[node.0 as usize].state == NodeState::Paused,
            // A node that never used its byte disk has nothing a full disk refuses: the
            // fault does nothing, so it is not applied (and never excuses a failure).
            Fault::DiskFull { node } if !self.nodes[node.0 as usize].storage.disk_used => false,
            Fault::DiskFull { node } => {
                self.nodes[node.0 as usize].storage.full_windows().push(index);
                self.disk_windows += 1;
                true
            }
            Fault::DiskFree { node } => self.nodes[node.0 as usize].storage.is_full(),
            Fault::Heal | Fault::Unclog { .. } | Fault::UnclogAll => true,
            // A node without a processing model takes no time to slow: the fault does
            // nothing, so it is not applied (and never a fault in force that would excuse
            // a failure or move the heal).
            Fault::SlowNode { node, .. } if !self.proc.has_model(*node) => false,
            Fault::SlowNode { node, factor } if windowed => {
                self.proc.start_window(*node, index, *factor);
                true
            }
            Fault::SlowNode { node, factor } => {
                self.proc.set_base(*node, *factor);
                true
            }
            // A window of rate 0 would stop the link for good: not a thin link.
            Fault::ThinLink { rate, .. } if windowed && *rate <= 0.0 => false,
            Fault::ThinLink { from, to, rate } if windowed => {
                self.core.links.start_window(*from, *to, index, *rate);
                true
            }
            Fault::ThinLink { from, to, rate } => {
                self.core.links.set_rate(*from, *to, *rate);
                true
            }
            Fault::ClockStep { node, by_ns } => self.core.clocks.get_mut(*node).map(|c| c.step(*by_ns)).is_some(),
            Fault::ClockDrift { node, ppm } => {
                let now = self.core.now;
                let Some(c) = self.core.clocks.get_mut(*node) else {
                    return false;
                };
                if windowed {
                    c.start_drift_window(now, index, *ppm);
                    self.clock_windows += 1;
                } else {
                    c.set_base_drift(now, *ppm);
                }
                true
            }
        }
    }

    /// The window of fault `index` ends, undoing that fault alone.
    fn end_fault(&mut self, index: u32) {
        let fault = self.realized[index as usize].fault.clone();
        let applied = match &fault {
            Fault::Crash { node } => remove(&mut self.nodes[node.0 as usize].crash_windows, index),
            Fault::Pause { node } => remove(&mut self.nodes[node.0 as usize].pause_windows, index),
            Fault::Partition { .. } | Fault::Block { .. } | Fault::Isolate { .. } => self.core.net.end_cut(index),
            Fault::Clog { .. } => self.core.net.end_clog(index),
            Fault::SetLink { .. } => self.core.net.end_link_window(index),
            Fault::SlowNode { node, .. } => self.proc.end_window(*node, index),
            Fault::ThinLink { from, to, .. } => self.core.links.end_window(*from, *to, index),
            Fault::DiskFull { node } => remove(self.nodes[node.0 as usize].storage.full_windows(), index),
            Fault::ClockDrift { node, .. } => {
                let now = self.core.now;
                let ended = self
                    .core
                    .clocks
                    .get_mut(*node)
                    .is_some_and(|c| c.end_drift_window(now, index));
                self.clock_windows -= usize::from(ended);
                ended
            }
            _ => false,
        };
        if applied && matches!(fault, Fault::DiskFull { .. }) {
            self.disk_windows -= 1;
        }
        if applied && matches!(fault, Fault::Crash { .. } | Fault::Pause { .. }) {
            self.node_windows -= 1;
        }
        if applied {
            self.close_span(index);
        }
        self.note_period();
        let now = self.core.now;
        self.core.tracer.record(
            now,
            TraceEvent::FaultEnd {
                index,
                fault: &fault,
                applied,
            },
        );
        if !applied {
            return;
        }
        match fault {
            Fault::Crash { node } if self.nodes[node.0 as usize].crash_windows.is_empty() => self.restart_if_down(node),
            Fault::Pause { node } if self.nodes[node.0 as usize].pause_windows.is_empty() => {
                self.resume_if_paused(node)
            }
            Fault::Clog { target } => self.release_clogged(Some(target)),
            Fault::ClockDrift { node, .. } => self.trace_clock(node),
            _ => {}
        }
    }

    /// Note whether some fault window is in force after a fault event: open or close the
    /// current fault period.
    fn note_period(&mut self) {
        let in_force = self.node_windows
            + self.core.net.windows_in_force()
            + self.proc.windows_in_force()
            + self.core.links.windows_in_force()
            + self.disk_windows
            + self.clock_windows
            > 0;
        let now = self.core.now;
        match self.disturbed.last_mut() {
            Some((_, end @ None)) if !in_force => *end = Some(now),
            Some((_, None)) => {}
            _ if in_force => self.disturbed.push((now, None)),
            _ => {}
        }
    }

    /// The window of fault `index` is no longer in force: its span ends now.
    fn close_span(&mut self, index: u32) {
        if let Some(i) = self.open_spans.remove(&index) {
            self.spans[i].2 = Some(self.core.now);
        }
    }

    /// Trace the end of each window an undo fault ended.
    fn record_ends(&mut self, ended: &[u32]) {
        let now = self.core.now;
        for &index in ended {
            self.close_span(index);
            let fault = &self.realized[index as usize].fault;
            self.core.tracer.record(
                now,
                TraceEvent::FaultEnd {
                    index,
                    fault,
                    applied: true,
                },
            );
        }
    }

    /// A crash of `node` (which was up): each of its unsynced writes survives or not,
    /// drawn from the storage stream; every file that lost or tore one is traced.
    fn lose_unsynced(&mut self, node: NodeId) {
        let (Some(rng), slot) = (&mut self.storage_rng, &mut self.nodes[node.0 as usize]) else {
            return;
        };
        let now = self.core.now;
        for loss in slot.storage.crash(rng) {
            if loss.kept < loss.unsynced {
                self.core.tracer.record(now, TraceEvent::StorageLoss { node, loss });
            }
        }
    }

    /// A node no crash window holds down any more is rebuilt from its factory (with its
    /// durable storage) and started.
    fn restart_if_down(&mut self, node: NodeId) {
        let slot = &mut self.nodes[node.0 as usize];
        if slot.state != NodeState::Down || !slot.crash_windows.is_empty() {
            return;
        }
        slot.node = Some((slot.factory)());
        slot.state = NodeState::Up;
        self.start_node(node);
    }

    /// A node no pause window holds any more handles what waited.
    fn resume_if_paused(&mut self, node: NodeId) {
        let slot = &mut self.nodes[node.0 as usize];
        if slot.state == NodeState::Paused && slot.pause_windows.is_empty() {
            slot.state = NodeState::Up;
            self.release_held(node);
        }
    }

    /// A resumed node handles what it held, now, in the order it arrived, before anything
    /// else due at this instant (so a FIFO link stays FIFO across a pause).
    fn release_held(&mut self, node: NodeId) {
        // The message whose service ended during the pause is handled first: it arrived
        // before anything the pause held.
        if self.proc.on && self.proc.unstall(node) {
            self.finish_service(node);
        }
        let slot = &mut self.nodes[node.0 as usize];
        let incarnation = slot.incarnation;
        let held = std::mem::take(&mut slot.held);
        self.core.held_now -= held.len() as u64;
        for h in held {
            match h {
                Held::Msg { from, id, msg } => self.deliver(from, node, id, msg),
                Held::Timer { timer, tag } => self.fire_timer(node, incarnation, timer, tag),
            }
        }
    }

    /// Messages whose link is no longer clogged, among the links a clog of `target`
    /// could hold (`None`: every link), are delivered now, in arrival order, before
    /// anything else due at this instant.
    fn release_clogged(&mut self, target: Option<ClogTarget>) {
        let mut released: Vec<(u64, NodeId, NodeId, u64, M)> = Vec::new();
        for (from, to) in self.core.clog_held.links_of(target) {
            if !self.core.net.is_clogged(from, to) {
                let q = self.core.clog_held.take((from, to));
                self.core.held_now -= q.len() as u64;
                released.extend(q.into_iter().map(|(seq, id, msg)| (seq, from, to, id, msg)));
            }
        }
        released.sort_by_key(|r| r.0);
        for (_, from, to, id, msg) in released {
            self.deliver(from, to, id, msg);
        }
    }
}

/// Remove `w` from a node's windows; false when it was not there.
fn remove(windows: &mut Vec<u32>, w: u32) -> bool {
    match windows.iter().position(|x| *x == w) {
        Some(i) => {
            windows.remove(i);
            true
        }
        None => false,
    }
}

/// Gray failures: nodes' processing models (`engine/processing.rs`) and links'
/// bandwidths (`engine/bandwidth.rs`), as the run loop drives them.
impl<M: Message, O: 'static> Simulation<M, O> {
    /// Give `node` a processing model: it handles its messages one at a time, each
    /// taking a service time drawn from `model.service` times `model.speed` (see
    /// `engine/processing.rs`). Before the run starts.
    pub fn set_processing(&mut self, node: NodeId, model: &crate::engine::processing::Processing) -> Result<(), Error> {
        if self.started {
            return Err(Error::InvalidParameter(
                "processing models are set before the run starts; during a run, slow a node with a slow_node fault"
                    .into(),
            ));
        }
        if node.0 >= self.core.node_count {
            return Err(Error::UnknownNode(node));
        }
        self.proc.set(node, model)
    }

    /// Give the link `from -> to` a bandwidth (messages per second, and a bounded queue;
    /// see `engine/bandwidth.rs`). Before the run starts.
    pub fn set_bandwidth(
        &mut self,
        from: NodeId,
        to: NodeId,
        bandwidth: crate::engine::bandwidth::Bandwidth,
    ) -> Result<(), Error> {
        if self.started {
            return Err(Error::InvalidParameter(
                "bandwidths are set before the run starts; during a run, thin a link with a thin_link fault".into(),
            ));
        }
        if let Some(n) = [from, to].into_iter().find(|n| n.0 >= self.core.node_count) {
            return Err(Error::UnknownNode(n));
        }
        self.core.links.set(from, to, bandwidth)
    }

    /// Messages waiting now in `node`'s inbox (the one in service included): 0 for a
    /// node without a processing model.
    pub fn queued(&self, node: NodeId) -> usize {
        self.proc.queued(node)
    }

    /// Messages held now by the link `from -> to` (waiting for it or in transmission).
    pub fn link_held(&self, from: NodeId, to: NodeId) -> usize {
        self.core.links.held(self.core.now, from, to)
    }

    /// A message that arrived at `to` joins its inbox; its service starts now if `to`
    /// was idle, else it waits (a `queued` hold in the trace).
    #[cold]
    fn enqueue(&mut self, from: NodeId, to: NodeId, id: u64, msg: M) {
        let incarnation = self.nodes[to.0 as usize].incarnation;
        let core = &mut self.core;
        core.held_now += 1;
        match self.proc.enqueue(to, (from, id, msg)) {
            Some(service) => core.push(core.now + service, Event::Served { node: to, incarnation }),
            None => core.tracer.record(
                core.now,
                TraceEvent::Hold {
                    from,
                    to,
                    id,
                    reason: HoldReason::Queued,
                },
            ),
        }
    }

    /// The service at `node` ended: hand the message to it (or keep it while the node
    /// is paused), then start the next.
    fn served(&mut self, node: NodeId, incarnation: u32) {
        let slot = &self.nodes[node.0 as usize];
        if slot.incarnation != incarnation || slot.state == NodeState::Down {
            return;
        }
        if slot.state == NodeState::Paused {
            self.proc.stall(node);
            return;
        }
        self.finish_service(node);
    }

    /// Hand the message whose service ended to `node`, and start the next service.
    fn finish_service(&mut self, node: NodeId) {
        if let Some((from, id, msg)) = self.proc.served(node) {
            self.core.held_now -= 1;
            self.hand(from, node, id, msg);
        }
        if let Some(service) = self.proc.next(node) {
            let incarnation = self.nodes[node.0 as usize].incarnation;
            let at = self.core.now + service;
            self.core.push(at, Event::Served { node, incarnation });
        }
    }
}

/// Is it a clock fault (which needs the clocks on)?
fn is_clock_fault(f: &Fault) -> bool {
    matches!(f, Fault::ClockStep { .. } | Fault::ClockDrift { .. })
}
