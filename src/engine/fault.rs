//! Faults: the one vocabulary of things that can go wrong ([`Fault`]), timed faults for a
//! schedule ([`TimedFault`]), and the random nemesis ([`NemesisConfig`]) that draws a
//! schedule from its own seeded stream.
//!
//! **One type, any node reference.** [`Fault<N>`] is generic over how it names nodes:
//! [`NodeId`] in the engine, the node names of a scenario file (`Fault<String>`), the
//! indices of a trace. Everything that needs to know a kind's shape asks the fault here
//! ([`Fault::kind`], [`Fault::lasts`], [`Fault::try_map_nodes`], [`Fault::nodes`],
//! [`Fault::undo`], [`Fault::without`], [`Fault::touches`], [`Fault::effect`],
//! [`Fault::describe`], [`Fault::fields`] ...), so the scenario layer, the shrinker, the
//! strategies and the report are written once for every kind. A new kind touches this
//! file, the simulation that applies it (`sim.rs`) and the file format
//! (`scenario/faults.rs`). This file knows no file format: reading and writing faults
//! lives in the scenario layer.
//!
//! **Each fault undoes only itself.** A fault that lasts (crash, pause, partition, block,
//! isolate, clog, a change of link settings) is a *window* from `at` to `until`; its end
//! removes that window's effect alone, so overlapping windows compose: a link is cut
//! while any cut window cuts it, a node is down while any crash window holds it down.
//! Without `until`, such a fault stays until an explicit undo: `restart` (every crash
//! window of the node), `resume`, `heal` (every partition, block and isolation),
//! `unclog` (every clog of that target), `unclog_all`. An un-windowed `set_link` changes
//! the base settings for good; a window of settings returns to whatever would be in
//! force without it.
//!
//! The nemesis plans its whole schedule when the run starts, as windows that end
//! themselves by `stop`. What it planned is the realized schedule: run again as an
//! explicit schedule with no nemesis, it gives the same trace, byte for byte.

use crate::engine::error::Error;
use crate::engine::hash::StableHasher;
use crate::engine::net::{LinkConfig, check_probability};
use crate::engine::node::NodeId;
use crate::engine::rng::SimRng;
use crate::engine::time::SimTime;

/// Highest nemesis rate per fault kind, per simulated second.
pub const MAX_RATE: f64 = 10_000.0;
/// Most fault windows the nemesis plans in one run: a bound on memory and time for
/// hostile settings, and the scenario validator's limit on scheduled faults
/// (`scenario::validate::MAX_FAULTS`), so that the realized schedule, written as an
/// explicit one into a FAILURE file, is a valid scenario.
pub const MAX_PLANNED: usize = 100_000;

/// Most node ids the nemesis's planned partitions hold in all (each split partition
/// holds every target): with 10,000 targets, 100 partitions. A bound on the memory of
/// the plan, of the run's report and of a FAILURE file holding the realized schedule.
pub const MAX_PLANNED_GROUP_NODES: usize = 1_000_000;

/// Most arrivals of one kind's Poisson process the planner draws (a bound on memory;
/// an arrival that finds its target busy makes no window). Past it, the plan is cut
/// where that kind's arrivals stop being known.
const MAX_ARRIVALS_PER_KIND: usize = 2 * MAX_PLANNED;

/// What can be clogged, naming nodes by `N`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ClogTarget<N = NodeId> {
    /// All traffic to and from a node.
    Node { node: N },
    /// One direction of one link.
    Link { from: N, to: N },
}

impl<N> ClogTarget<N> {
    /// `node` or `link`, as the trace writes it.
    pub fn kind(&self) -> &'static str {
        match self {
            ClogTarget::Node { .. } => "node",
            ClogTarget::Link { .. } => "link",
        }
    }

    /// The same target with every node mapped by `f` (the first error stops it).
    pub fn try_map_nodes<M, E>(&self, mut f: impl FnMut(&N) -> Result<M, E>) -> Result<ClogTarget<M>, E> {
        Ok(match self {
            ClogTarget::Node { node } => ClogTarget::Node { node: f(node)? },
            ClogTarget::Link { from, to } => ClogTarget::Link {
                from: f(from)?,
                to: f(to)?,
            },
        })
    }

    /// The nodes it names, with their field paths under the target (`node`, `from`, `to`).
    pub fn node_refs(&self) -> Vec<(&'static str, &N)> {
        match self {
            ClogTarget::Node { node } => vec![("node", node)],
            ClogTarget::Link { from, to } => vec![("from", from), ("to", to)],
        }
    }

    /// In words, naming nodes with `name`: `w1`, or `c1→s1` for a link.
    pub fn describe(&self, name: &dyn Fn(&N) -> String) -> String {
        match self {
            ClogTarget::Node { node } => name(node),
            ClogTarget::Link { from, to } => format!("{}→{}", name(from), name(to)),
        }
    }
}

/// One fault, naming nodes by `N` ([`NodeId`] in the engine, names in a scenario file).
/// Applying a fault that does not apply (restart a node that is up) is a no-op, recorded
/// in the trace as such.
#[derive(Clone, Debug, PartialEq)]
pub enum Fault<N = NodeId> {
    /// The node loses its volatile state and pending timers; messages to it are dropped.
    Crash { node: N },
    /// A crashed node is rebuilt from its factory, with its durable storage, and started.
    Restart { node: N },
    /// The node processes nothing; what arrives (messages, timers) waits.
    Pause { node: N },
    /// A paused node handles what waited, in order.
    Resume { node: N },
    /// Split nodes into groups that cannot reach each other (unnamed nodes form one group).
    Partition { groups: Vec<Vec<N>> },
    /// Block one direction of one link.
    Block { from: N, to: N },
    /// Cut one node off from all others.
    Isolate { node: N },
    /// End every partition, block and isolation window.
    Heal,
    /// Hold traffic on a node or link.
    Clog { target: ClogTarget<N> },
    /// End every clog window on this target; held messages are delivered late, not lost.
    Unclog { target: ClogTarget<N> },
    /// End every clog window.
    UnclogAll,
    /// Change the settings of one link (`link: Some((from, to))`) or the default (`None`):
    /// for good without `until`, or for a window, after which whatever would be in force
    /// without it applies again.
    SetLink { link: Option<(N, N)>, config: LinkConfig },
    /// The node handles messages `factor` times slower (its service times, see
    /// `engine/processing.rs`, are multiplied by it): for a window, the largest factor in
    /// force applies; without `until`, the node's own speed becomes `factor` for good.
    SlowNode { node: N, factor: f64 },
    /// The link `from -> to` transmits at most `rate` messages per second (see
    /// `engine/bandwidth.rs`): for a window, the smallest rate in force applies; without
    /// `until`, the link's own rate becomes `rate` for good (0: no limit).
    ThinLink { from: N, to: N, rate: f64 },
    /// The node's disk is full: writes to its byte disk are refused (typed durable
    /// values, removals and syncs still work).
    DiskFull { node: N },
    /// End every `disk_full` window of the node.
    DiskFree { node: N },
    /// Step the node's wall clock by `by_ns` signed nanoseconds (an NTP step), at an
    /// instant; never undone (see `engine/clock.rs`: timers are not moved).
    ClockStep { node: N, by_ns: i64 },
    /// Set the drift of the node's clock to `ppm`: for good without `until`, or for a
    /// window, after which whatever rate would be in force without it applies again.
    ClockDrift { node: N, ppm: i64 },
}

/// What a lasting fault does while it is in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    /// A node is down.
    Down,
    /// A node is paused.
    Paused,
    /// Links are cut (a partition, block or isolation).
    Cut,
    /// A node or link is clogged.
    Clogged,
    /// Link settings are changed.
    LinkSettings,
    /// A node is slowed.
    Slowed,
    /// A link's bandwidth is thinned.
    Thinned,
    /// A node's disk is full.
    DiskFull,
    /// A node's clock runs at another rate.
    ClockRate,
}

/// What a fault touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch<N = NodeId> {
    /// Every node and link: a partition splits them all, the default link's settings
    /// apply everywhere, a heal ends every cut.
    All,
    /// One node (down, paused, isolated, clogged) and every link to and from it.
    Node(N),
    /// One direction of one link (blocked, clogged, its settings changed).
    Link(N, N),
}

impl<N: PartialEq> Touch<N> {
    /// Does it touch the exchange between `a` and `b` (either way)?
    pub fn between(&self, a: &N, b: &N) -> bool {
        match self {
            Touch::All => true,
            Touch::Node(n) => n == a || n == b,
            Touch::Link(f, t) => (f == a && t == b) || (f == b && t == a),
        }
    }
}

/// One field of a fault, as its encodings (the scenario file, the trace) see it: what
/// [`Fault::fields`] gives and [`Fault::from_fields`] takes back.
#[derive(Clone, Debug, PartialEq)]
pub enum Field<N> {
    /// A node (`node`, `from`, `to`).
    Node(N),
    /// Groups of nodes (`groups`).
    Groups(Vec<Vec<N>>),
    /// A directed link, or none for the default (`link`).
    Link(Option<(N, N)>),
    /// A clog target (`target`).
    Target(ClogTarget<N>),
    /// Link settings (`config`).
    Config(LinkConfig),
    /// A number (`factor`, `rate`).
    Number(f64),
    /// A signed duration in nanoseconds (a clock step's `by`).
    Shift(i64),
    /// A drift in parts per million (`ppm`).
    Ppm(i64),
}

impl<N> Fault<N> {
    /// Every kind's name, as the scenario file and the trace write it, in declaration order.
    pub const KINDS: [&'static str; 18] = [
        "crash",
        "restart",
        "pause",
        "resume",
        "partition",
        "block",
        "isolate",
        "heal",
        "clog",
        "unclog",
        "unclog_all",
        "set_link",
        "slow_node",
        "thin_link",
        "disk_full",
        "disk_free",
        "clock_step",
        "clock_drift",
    ];

    /// The kind's position in [`Fault::KINDS`] (also the first word of the hash encoding,
    /// plus one).
    fn index(&self) -> usize {
        match self {
            Fault::Crash { .. } => 0,
            Fault::Restart { .. } => 1,
            Fault::Pause { .. } => 2,
            Fault::Resume { .. } => 3,
            Fault::Partition { .. } => 4,
            Fault::Block { .. } => 5,
            Fault::Isolate { .. } => 6,
            Fault::Heal => 7,
            Fault::Clog { .. } => 8,
            Fault::Unclog { .. } => 9,
            Fault::UnclogAll => 10,
            Fault::SetLink { .. } => 11,
            Fault::SlowNode { .. } => 12,
            Fault::ThinLink { .. } => 13,
            Fault::DiskFull { .. } => 14,
            Fault::DiskFree { .. } => 15,
            Fault::ClockStep { .. } => 16,
            Fault::ClockDrift { .. } => 17,
        }
    }

    /// The kind's name, as the scenario file and the trace write it (`crash`, `set_link`).
    pub fn kind(&self) -> &'static str {
        Self::KINDS[self.index()]
    }

    /// Whether the fault lasts (a window, ended by its `until` or an explicit undo) rather
    /// than acting at an instant (`restart`, `resume`, `heal`, `unclog`, `unclog_all`).
    pub fn lasts(&self) -> bool {
        self.effect().is_some()
    }

    /// What it does while in force (`None` for the instant faults, which undo others).
    pub fn effect(&self) -> Option<Effect> {
        match self {
            Fault::Crash { .. } => Some(Effect::Down),
            Fault::Pause { .. } => Some(Effect::Paused),
            Fault::Partition { .. } | Fault::Block { .. } | Fault::Isolate { .. } => Some(Effect::Cut),
            Fault::Clog { .. } => Some(Effect::Clogged),
            Fault::SetLink { .. } => Some(Effect::LinkSettings),
            Fault::SlowNode { .. } => Some(Effect::Slowed),
            Fault::ThinLink { .. } => Some(Effect::Thinned),
            Fault::DiskFull { .. } => Some(Effect::DiskFull),
            Fault::ClockDrift { .. } => Some(Effect::ClockRate),
            Fault::Restart { .. }
            | Fault::Resume { .. }
            | Fault::Heal
            | Fault::Unclog { .. }
            | Fault::UnclogAll
            | Fault::DiskFree { .. }
            | Fault::ClockStep { .. } => None,
        }
    }

    /// The fields after `kind`, in the order the trace and the report see them (nodes
    /// cloned): the shape every encoding is written from.
    pub fn fields(&self) -> Vec<(&'static str, Field<N>)>
    where
        N: Clone,
    {
        let node = |n: &N| Field::Node(n.clone());
        match self {
            Fault::Crash { node: n }
            | Fault::Restart { node: n }
            | Fault::Pause { node: n }
            | Fault::Resume { node: n }
            | Fault::Isolate { node: n }
            | Fault::DiskFull { node: n }
            | Fault::DiskFree { node: n } => vec![("node", node(n))],
            Fault::Partition { groups } => vec![("groups", Field::Groups(groups.clone()))],
            Fault::Block { from, to } => vec![("from", node(from)), ("to", node(to))],
            Fault::Heal | Fault::UnclogAll => vec![],
            Fault::Clog { target } | Fault::Unclog { target } => vec![("target", Field::Target(target.clone()))],
            Fault::SetLink { link, config } => vec![
                ("link", Field::Link(link.clone())),
                ("config", Field::Config(config.clone())),
            ],
            Fault::SlowNode { node: n, factor } => vec![("node", node(n)), ("factor", Field::Number(*factor))],
            Fault::ThinLink { from, to, rate } => {
                vec![("from", node(from)), ("to", node(to)), ("rate", Field::Number(*rate))]
            }
            Fault::ClockStep { node: n, by_ns } => vec![("node", node(n)), ("by", Field::Shift(*by_ns))],
            Fault::ClockDrift { node: n, ppm } => vec![("node", node(n)), ("ppm", Field::Ppm(*ppm))],
        }
    }

    /// The fault of kind `kind` built from its fields, which `field` gives by name (as
    /// [`Fault::fields`] names them); `None` for an unknown kind or a missing or
    /// mistyped field.
    pub fn from_fields(kind: &str, mut field: impl FnMut(&str) -> Option<Field<N>>) -> Option<Fault<N>> {
        let mut node = |k: &str| match field(k)? {
            Field::Node(n) => Some(n),
            _ => None,
        };
        Some(match kind {
            "crash" => Fault::Crash { node: node("node")? },
            "restart" => Fault::Restart { node: node("node")? },
            "pause" => Fault::Pause { node: node("node")? },
            "resume" => Fault::Resume { node: node("node")? },
            "isolate" => Fault::Isolate { node: node("node")? },
            "disk_full" => Fault::DiskFull { node: node("node")? },
            "disk_free" => Fault::DiskFree { node: node("node")? },
            "block" => Fault::Block {
                from: node("from")?,
                to: node("to")?,
            },
            "heal" => Fault::Heal,
            "unclog_all" => Fault::UnclogAll,
            "partition" => match field("groups")? {
                Field::Groups(groups) => Fault::Partition { groups },
                _ => return None,
            },
            "clog" | "unclog" => match field("target")? {
                Field::Target(target) if kind == "clog" => Fault::Clog { target },
                Field::Target(target) => Fault::Unclog { target },
                _ => return None,
            },
            "set_link" => match (field("link")?, field("config")?) {
                (Field::Link(link), Field::Config(config)) => Fault::SetLink { link, config },
                _ => return None,
            },
            "slow_node" => match (field("node")?, field("factor")?) {
                (Field::Node(node), Field::Number(factor)) => Fault::SlowNode { node, factor },
                _ => return None,
            },
            "thin_link" => match (field("from")?, field("to")?, field("rate")?) {
                (Field::Node(from), Field::Node(to), Field::Number(rate)) => Fault::ThinLink { from, to, rate },
                _ => return None,
            },
            "clock_step" => match (node("node")?, field("by")?) {
                (node, Field::Shift(by_ns)) => Fault::ClockStep { node, by_ns },
                _ => return None,
            },
            "clock_drift" => match (node("node")?, field("ppm")?) {
                (node, Field::Ppm(ppm)) => Fault::ClockDrift { node, ppm },
                _ => return None,
            },
            _ => return None,
        })
    }

    /// The same fault with every node mapped by `f` (the first error stops it).
    pub fn try_map_nodes<M, E>(&self, mut f: impl FnMut(&N) -> Result<M, E>) -> Result<Fault<M>, E> {
        Ok(match self {
            Fault::Crash { node } => Fault::Crash { node: f(node)? },
            Fault::Restart { node } => Fault::Restart { node: f(node)? },
            Fault::Pause { node } => Fault::Pause { node: f(node)? },
            Fault::Resume { node } => Fault::Resume { node: f(node)? },
            Fault::Partition { groups } => Fault::Partition {
                groups: groups
                    .iter()
                    .map(|g| g.iter().map(&mut f).collect::<Result<Vec<_>, E>>())
                    .collect::<Result<Vec<_>, E>>()?,
            },
            Fault::Block { from, to } => Fault::Block {
                from: f(from)?,
                to: f(to)?,
            },
            Fault::Isolate { node } => Fault::Isolate { node: f(node)? },
            Fault::Heal => Fault::Heal,
            Fault::Clog { target } => Fault::Clog {
                target: target.try_map_nodes(f)?,
            },
            Fault::Unclog { target } => Fault::Unclog {
                target: target.try_map_nodes(f)?,
            },
            Fault::UnclogAll => Fault::UnclogAll,
            Fault::SetLink { link, config } => Fault::SetLink {
                link: match link {
                    Some((a, b)) => Some((f(a)?, f(b)?)),
                    None => None,
                },
                config: config.clone(),
            },
            Fault::SlowNode { node, factor } => Fault::SlowNode {
                node: f(node)?,
                factor: *factor,
            },
            Fault::ThinLink { from, to, rate } => Fault::ThinLink {
                from: f(from)?,
                to: f(to)?,
                rate: *rate,
            },
            Fault::DiskFull { node } => Fault::DiskFull { node: f(node)? },
            Fault::DiskFree { node } => Fault::DiskFree { node: f(node)? },
            Fault::ClockStep { node, by_ns } => Fault::ClockStep {
                node: f(node)?,
                by_ns: *by_ns,
            },
            Fault::ClockDrift { node, ppm } => Fault::ClockDrift {
                node: f(node)?,
                ppm: *ppm,
            },
        })
    }

    /// The same fault with every node mapped by `f`.
    pub fn map_nodes<M>(&self, mut f: impl FnMut(&N) -> M) -> Fault<M> {
        match self.try_map_nodes(|n| Ok::<M, std::convert::Infallible>(f(n))) {
            Ok(m) => m,
            Err(e) => match e {},
        }
    }

    /// The nodes it names, with their field paths under the fault (`node`, `from`,
    /// `groups[1][0]`, `target.node`), in the order of its fields.
    pub fn node_refs(&self) -> Vec<(String, &N)> {
        match self {
            Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::Isolate { node }
            | Fault::DiskFull { node }
            | Fault::DiskFree { node }
            | Fault::ClockStep { node, .. }
            | Fault::ClockDrift { node, .. } => vec![("node".into(), node)],
            Fault::Partition { groups } => groups
                .iter()
                .enumerate()
                .flat_map(|(g, group)| {
                    group
                        .iter()
                        .enumerate()
                        .map(move |(k, n)| (format!("groups[{g}][{k}]"), n))
                })
                .collect(),
            Fault::Block { from, to } | Fault::ThinLink { from, to, .. } => {
                vec![("from".into(), from), ("to".into(), to)]
            }
            Fault::SlowNode { node, .. } => vec![("node".into(), node)],
            Fault::Clog { target } | Fault::Unclog { target } => target
                .node_refs()
                .into_iter()
                .map(|(p, n)| (format!("target.{p}"), n))
                .collect(),
            Fault::SetLink { link, .. } => link
                .iter()
                .flat_map(|(a, b)| [("from".into(), a), ("to".into(), b)])
                .collect(),
            Fault::Heal | Fault::UnclogAll => vec![],
        }
    }

    /// The nodes it names.
    pub fn nodes(&self) -> Vec<&N> {
        self.node_refs().into_iter().map(|(_, n)| n).collect()
    }

    /// What is wrong with its shape, whatever the nodes are called: (field path under the
    /// fault, message). A partition needs groups, none empty, no node named twice.
    pub fn problems(&self) -> Vec<(String, String)>
    where
        N: PartialEq + std::fmt::Debug,
    {
        let mut out = Vec::new();
        match self {
            Fault::SlowNode { factor, .. } => {
                if let Err(e) = crate::engine::processing::check_factor("factor", *factor) {
                    out.push(("factor".into(), e.to_string()));
                }
            }
            // 0 is no limit (what undoes an un-windowed thin_link).
            Fault::ThinLink { rate, .. } if *rate != 0.0 => {
                if let Err(e) = crate::engine::bandwidth::check_rate("rate", *rate) {
                    out.push(("rate".into(), e.to_string()));
                }
            }
            Fault::ClockStep { by_ns, .. } => {
                out.extend(crate::engine::clock::shift_problem(*by_ns).map(|m| ("by".into(), m)))
            }
            Fault::ClockDrift { ppm, .. } => {
                out.extend(crate::engine::clock::drift_problem(*ppm).map(|m| ("ppm".into(), m)))
            }
            _ => {}
        }
        if let Fault::Partition { groups } = self {
            if groups.is_empty() {
                out.push(("groups".into(), "expected at least one group".into()));
            }
            let mut named: Vec<&N> = Vec::new();
            for (g, group) in groups.iter().enumerate() {
                if group.is_empty() {
                    out.push((format!("groups[{g}]"), "a partition group must not be empty".into()));
                }
                for (k, n) in group.iter().enumerate() {
                    if named.contains(&n) {
                        out.push((
                            format!("groups[{g}][{k}]"),
                            format!("node {n:?} is named twice in this partition"),
                        ));
                    } else {
                        named.push(n);
                    }
                }
            }
        }
        out
    }

    /// The link settings it carries, if any (at field `config`).
    pub fn config(&self) -> Option<&LinkConfig> {
        match self {
            Fault::SetLink { config, .. } => Some(config),
            _ => None,
        }
    }

    /// The instant fault that ends this one when scheduled after it (`crash` →
    /// `restart`, `pause` → `resume`, `partition`/`block`/`isolate` → `heal`, `clog` →
    /// `unclog`, `set_link` → `set_link` back to `initial`, the settings of that link
    /// (`None`: the default) before any fault); `None` for an instant fault.
    pub fn undo(&self, initial: impl FnOnce(Option<(&N, &N)>) -> LinkConfig) -> Option<Fault<N>>
    where
        N: Clone,
    {
        Some(match self {
            Fault::Crash { node } => Fault::Restart { node: node.clone() },
            Fault::Pause { node } => Fault::Resume { node: node.clone() },
            Fault::Partition { .. } | Fault::Block { .. } | Fault::Isolate { .. } => Fault::Heal,
            Fault::Clog { target } => Fault::Unclog { target: target.clone() },
            Fault::SetLink { link, .. } => Fault::SetLink {
                link: link.clone(),
                config: initial(link.as_ref().map(|(a, b)| (a, b))),
            },
            Fault::SlowNode { node, .. } => Fault::SlowNode {
                node: node.clone(),
                factor: 1.0,
            },
            Fault::ThinLink { from, to, .. } => Fault::ThinLink {
                from: from.clone(),
                to: to.clone(),
                rate: 0.0,
            },
            Fault::DiskFull { node } => Fault::DiskFree { node: node.clone() },
            Fault::ClockDrift { node, .. } => Fault::ClockDrift {
                node: node.clone(),
                ppm: 0,
            },
            Fault::Restart { .. }
            | Fault::Resume { .. }
            | Fault::Heal
            | Fault::Unclog { .. }
            | Fault::UnclogAll
            | Fault::DiskFree { .. }
            | Fault::ClockStep { .. } => {
                return None;
            }
        })
    }

    /// The fault with node `n` taken out: a partition loses it from its groups (and
    /// empty groups); `None` when the fault cannot do without it (or has no group left).
    pub fn without(&self, n: &N) -> Option<Fault<N>>
    where
        N: PartialEq + Clone,
    {
        if let Fault::Partition { groups } = self {
            let groups: Vec<Vec<N>> = groups
                .iter()
                .map(|g| g.iter().filter(|m| *m != n).cloned().collect::<Vec<N>>())
                .filter(|g| !g.is_empty())
                .collect();
            return (!groups.is_empty()).then_some(Fault::Partition { groups });
        }
        (!self.nodes().contains(&n)).then(|| self.clone())
    }

    /// What it touches: a node (and its links), one direction of one link, or everything.
    pub fn touches(&self) -> Touch<N>
    where
        N: Clone,
    {
        match self {
            Fault::Crash { node }
            | Fault::Pause { node }
            | Fault::Isolate { node }
            | Fault::Restart { node }
            | Fault::Resume { node }
            | Fault::Clog {
                target: ClogTarget::Node { node },
            }
            | Fault::Unclog {
                target: ClogTarget::Node { node },
            }
            | Fault::SlowNode { node, .. }
            | Fault::DiskFull { node }
            | Fault::DiskFree { node }
            | Fault::ClockStep { node, .. }
            | Fault::ClockDrift { node, .. } => Touch::Node(node.clone()),
            Fault::Block { from, to }
            | Fault::Clog {
                target: ClogTarget::Link { from, to },
            }
            | Fault::Unclog {
                target: ClogTarget::Link { from, to },
            }
            | Fault::SetLink {
                link: Some((from, to)), ..
            }
            | Fault::ThinLink { from, to, .. } => Touch::Link(from.clone(), to.clone()),
            Fault::Partition { .. } | Fault::SetLink { link: None, .. } | Fault::Heal | Fault::UnclogAll => Touch::All,
        }
    }

    /// In words for a report, naming nodes with `name`: `crash w1`, `partition {s1} |
    /// {c1, c2}`, `block c1→s1`, `clog w1`, `link c1→s1 settings changed`, `default link
    /// settings changed`, `heal`.
    pub fn describe(&self, name: &dyn Fn(&N) -> String) -> String {
        let kind = self.kind();
        match self {
            Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::Isolate { node }
            | Fault::DiskFull { node }
            | Fault::DiskFree { node } => format!("{kind} {}", name(node)),
            Fault::Partition { groups } => {
                let text: Vec<String> = groups
                    .iter()
                    .map(|g| format!("{{{}}}", g.iter().map(name).collect::<Vec<_>>().join(", ")))
                    .collect();
                format!("partition {}", text.join(" | "))
            }
            Fault::Block { from, to } => format!("block {}→{}", name(from), name(to)),
            Fault::Clog { target } | Fault::Unclog { target } => format!("{kind} {}", target.describe(name)),
            Fault::SetLink { link: Some((a, b)), .. } => format!("link {}→{} settings changed", name(a), name(b)),
            Fault::SetLink { link: None, .. } => "default link settings changed".into(),
            Fault::Heal | Fault::UnclogAll => kind.into(),
            Fault::SlowNode { node, factor } => format!("slow {} ×{factor}", name(node)),
            Fault::ThinLink { from, to, rate } => format!("thin link {}→{} to {rate} msg/s", name(from), name(to)),
            Fault::ClockStep { node, by_ns } => {
                format!(
                    "clock of {} stepped {}",
                    name(node),
                    crate::engine::clock::signed(*by_ns)
                )
            }
            Fault::ClockDrift { node, ppm } => format!("clock of {} drifts {ppm:+}ppm", name(node)),
        }
    }
    /// What stays in force while this window lasts, in words for a verdict, naming nodes
    /// with `name`: the node (`w1`) for a crash or pause, else `partition {s1} | {c1}`,
    /// `block c1→s1`, `isolation of w1`, `clog of w1`, `settings of the default link`.
    pub fn in_force(&self, name: &dyn Fn(&N) -> String) -> String {
        match self {
            Fault::Crash { node } | Fault::Pause { node } => name(node),
            Fault::Isolate { node } => format!("isolation of {}", name(node)),
            Fault::DiskFull { node } => format!("full disk of {}", name(node)),
            Fault::Clog { target } => format!("clog of {}", target.describe(name)),
            Fault::SetLink { link, .. } => match link {
                Some((a, b)) => format!("settings of link {}→{}", name(a), name(b)),
                None => "settings of the default link".into(),
            },
            Fault::ClockDrift { node, .. } => format!("clock rate of {}", name(node)),
            _ => self.describe(name),
        }
    }
}

impl Fault<NodeId> {
    pub(crate) fn stable_hash(&self, h: &mut StableHasher) {
        let pair = |a: NodeId, b: NodeId| ((a.0 as u64) << 32) | b.0 as u64;
        h.word(self.index() as u64 + 1);
        match self {
            Fault::Crash { node }
            | Fault::Restart { node }
            | Fault::Pause { node }
            | Fault::Resume { node }
            | Fault::Isolate { node }
            | Fault::DiskFull { node }
            | Fault::DiskFree { node } => h.word(node.0 as u64),
            Fault::Partition { groups } => {
                h.word(groups.len() as u64);
                for g in groups {
                    h.word(g.len() as u64);
                    g.iter().for_each(|n| h.word(n.0 as u64));
                }
            }
            Fault::Block { from, to } => h.word(pair(*from, *to)),
            Fault::Heal | Fault::UnclogAll => {}
            Fault::Clog { target } | Fault::Unclog { target } => match target {
                ClogTarget::Node { node } => h.word(node.0 as u64),
                ClogTarget::Link { from, to } => h.word((1 << 63) | pair(*from, *to)),
            },
            Fault::SetLink { link, config } => {
                h.word(link.map_or(u64::MAX, |(f, t)| pair(f, t)));
                config.stable_hash(h);
            }
            Fault::SlowNode { node, factor } => {
                h.word(node.0 as u64);
                h.f64(*factor);
            }
            Fault::ThinLink { from, to, rate } => {
                h.word(pair(*from, *to));
                h.f64(*rate);
            }
            Fault::ClockStep { node, by_ns } => {
                h.word(node.0 as u64);
                h.word(*by_ns as u64);
            }
            Fault::ClockDrift { node, ppm } => {
                h.word(node.0 as u64);
                h.word(*ppm as u64);
            }
        }
    }
}

/// A fault at a time, or over a window `[at, until)`, naming nodes by `N`.
#[derive(Clone, Debug, PartialEq)]
pub struct TimedFault<N = NodeId> {
    /// When it happens (starts).
    pub at: SimTime,
    /// When the window ends, undoing this fault alone (only for faults that
    /// [last](Fault::lasts)); `None`: at an instant, or until an explicit undo.
    pub until: Option<SimTime>,
    /// What happens.
    pub fault: Fault<N>,
}

impl<N> TimedFault<N> {
    /// `fault` at `at`, with no window.
    pub fn at(at: SimTime, fault: Fault<N>) -> Self {
        TimedFault { at, until: None, fault }
    }

    /// `fault` over `[at, until)`: its end undoes it alone.
    pub fn window(at: SimTime, until: SimTime, fault: Fault<N>) -> Self {
        TimedFault {
            at,
            until: Some(until),
            fault,
        }
    }

    /// The same timed fault with every node mapped by `f` (the first error stops it).
    pub fn try_map_nodes<M, E>(&self, f: impl FnMut(&N) -> Result<M, E>) -> Result<TimedFault<M>, E> {
        Ok(TimedFault {
            at: self.at,
            until: self.until,
            fault: self.fault.try_map_nodes(f)?,
        })
    }

    /// The same timed fault with every node mapped by `f`.
    pub fn map_nodes<M>(&self, f: impl FnMut(&N) -> M) -> TimedFault<M> {
        TimedFault {
            at: self.at,
            until: self.until,
            fault: self.fault.map_nodes(f),
        }
    }

    /// Move it (and its window's end) `by` earlier, stopping at zero.
    pub fn shift_earlier(&mut self, by: SimTime) {
        fn back(t: SimTime, by: SimTime) -> SimTime {
            SimTime(t.as_nanos().saturating_sub(by.as_nanos()))
        }
        self.at = back(self.at, by);
        self.until = self.until.map(|u| back(u, by));
    }

    /// Give it a window ending at `until`, if it [lasts](Fault::lasts) (else unchanged).
    pub fn set_until(&mut self, until: SimTime) {
        if self.fault.lasts() {
            self.until = Some(until);
        }
    }
}

/// A range of durations `[min, max]`, drawn uniformly (`{"min": "100ms", "max": "1s"}`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DurationRange {
    /// Shortest.
    pub min: SimTime,
    /// Longest.
    pub max: SimTime,
}

impl DurationRange {
    /// A range.
    pub fn new(min: SimTime, max: SimTime) -> Self {
        DurationRange { min, max }
    }
    fn draw(&self, rng: &mut SimRng) -> SimTime {
        SimTime(rng.range(self.min.0, self.max.0.saturating_add(1)))
    }
}

/// The random nemesis: independent Poisson processes of faults, one per kind, each with
/// a rate (events per simulated second; 0 turns the kind off), active in `[start, stop)`.
/// At `stop` everything is healed: crashed nodes restart, paused nodes resume,
/// partitions heal, clogs release, link settings return to what they were.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisConfig {
    /// When the nemesis starts.
    pub start: SimTime,
    /// When it stops and heals everything.
    pub stop: SimTime,
    /// Nodes it may crash, pause, isolate or clog (partitions split all of these).
    pub targets: Vec<NodeId>,
    /// Crashes per second; each crashed node restarts after `downtime`.
    pub crash_rate: f64,
    /// How long a crashed node stays down.
    pub downtime: DurationRange,
    /// Pauses per second.
    pub pause_rate: f64,
    /// How long a pause lasts.
    pub pause_time: DurationRange,
    /// Partitions (random split in two, or isolation of one node) per second.
    pub partition_rate: f64,
    /// How long a partition lasts before it heals.
    pub partition_time: DurationRange,
    /// Clogs of one node per second.
    pub clog_rate: f64,
    /// How long a clog lasts.
    pub clog_time: DurationRange,
    /// Bursts of loss and duplication on the whole network per second.
    pub loss_rate: f64,
    /// How long a burst lasts.
    pub loss_time: DurationRange,
    /// Drop probability during a burst.
    pub burst_drop: f64,
    /// Duplicate probability during a burst.
    pub burst_duplicate: f64,
    /// Never take down (crash or pause) more than this many targets at once.
    pub max_down: usize,
    /// Plan at most this many windows (and never more than `MAX_PLANNED`, 100 000); a scenario
    /// leaves room for its scheduled faults.
    pub max_windows: usize,
    /// Slow-node windows per second (planned from their own stream; see
    /// `engine/gray_nemesis.rs`).
    pub slow_rate: f64,
    /// How long a node stays slow.
    pub slow_time: DurationRange,
    /// How much slower (a factor: 10 = ten times slower).
    pub slow_factor: crate::engine::gray_nemesis::NumberRange,
    /// Thin-link windows per second.
    pub thin_link_rate: f64,
    /// How long a link stays thin.
    pub thin_link_time: DurationRange,
    /// Its rate while thin, in messages per second.
    pub thin_bandwidth: crate::engine::gray_nemesis::NumberRange,
    /// Full disks (of one target) per second.
    pub disk_full_rate: f64,
    /// How long a disk stays full.
    pub disk_full_time: DurationRange,
    /// Clock faults (steps and drift windows; rate 0: none), planned from their own
    /// stream (`engine/clock.rs`) and merged in time order.
    pub clock: crate::engine::clock::ClockNemesis,
}

/// What the nemesis planned: its windows, and whether (and where) a cap cut the plan.
#[derive(Clone, Debug, PartialEq)]
pub struct NemesisPlan {
    /// The windows, sorted by start time (stable).
    pub windows: Vec<TimedFault>,
    /// `Some(t)` when the plan was cut by a cap ([`NemesisConfig::max_windows`], or the
    /// bound on arrivals drawn): no window starts at or after `t`, although the nemesis
    /// runs until `stop`. `None`: the whole plan.
    pub cut_at: Option<SimTime>,
    /// Which cap cut it (with `cut_at`): `windows` ([`NemesisConfig::max_windows`]),
    /// `group_nodes` (at most 1,000,000 nodes in all in its partitions) or `arrivals` (the bound on arrivals
    /// drawn per kind).
    pub cut_by: Option<&'static str>,
}

impl Default for NemesisConfig {
    fn default() -> Self {
        let d = DurationRange::new(SimTime::from_millis(100), SimTime::from_secs(1));
        NemesisConfig {
            start: SimTime::ZERO,
            stop: SimTime::from_secs(10),
            targets: vec![],
            crash_rate: 0.0,
            downtime: d,
            pause_rate: 0.0,
            pause_time: d,
            partition_rate: 0.0,
            partition_time: d,
            clog_rate: 0.0,
            clog_time: d,
            loss_rate: 0.0,
            loss_time: d,
            burst_drop: 0.2,
            burst_duplicate: 0.05,
            max_down: 1,
            max_windows: MAX_PLANNED,
            slow_rate: 0.0,
            slow_time: d,
            slow_factor: crate::engine::gray_nemesis::NumberRange::new(5.0, 10.0),
            thin_link_rate: 0.0,
            thin_link_time: d,
            thin_bandwidth: crate::engine::gray_nemesis::NumberRange::new(10.0, 100.0),
            disk_full_rate: 0.0,
            disk_full_time: d,
            clock: crate::engine::clock::ClockNemesis::default(),
        }
    }
}

impl NemesisConfig {
    /// Check every parameter.
    pub fn validate(&self, nodes: u32) -> Result<(), Error> {
        for (what, r) in [
            ("crash_rate", self.crash_rate),
            ("pause_rate", self.pause_rate),
            ("partition_rate", self.partition_rate),
            ("clog_rate", self.clog_rate),
            ("loss_rate", self.loss_rate),
            ("disk_full_rate", self.disk_full_rate),
        ] {
            if !r.is_finite() || !(0.0..=MAX_RATE).contains(&r) {
                return Err(Error::InvalidParameter(format!(
                    "nemesis {what} must be a rate in [0, {MAX_RATE}] per second, got {r}"
                )));
            }
        }
        check_probability("nemesis burst_drop", self.burst_drop)?;
        check_probability("nemesis burst_duplicate", self.burst_duplicate)?;
        for (what, d) in [
            ("downtime", self.downtime),
            ("pause_time", self.pause_time),
            ("partition_time", self.partition_time),
            ("clog_time", self.clog_time),
            ("loss_time", self.loss_time),
            ("disk_full_time", self.disk_full_time),
        ] {
            if d.min > d.max {
                return Err(Error::InvalidParameter(format!(
                    "nemesis {what}: min is greater than max"
                )));
            }
        }
        if self.start > self.stop {
            return Err(Error::InvalidParameter("nemesis start is after stop".into()));
        }
        if let Some(n) = self.targets.iter().find(|n| n.0 >= nodes) {
            return Err(Error::UnknownNode(*n));
        }
        crate::engine::gray_nemesis::validate(self)?;
        self.clock.validate()
    }

    /// Plan the whole schedule from the nemesis stream: windows that each undo only
    /// themselves, sorted by start time (stable), and whether a cap cut the plan. `base`
    /// is the default link setting a loss burst starts from. Every window is
    /// at least 1 ns long (a drawn length of 0 becomes 1 ns) and ends by `stop`. At most
    /// [`NemesisConfig::max_windows`] (and at most `MAX_PLANNED`, 100 000) windows: the plan is the
    /// nemesis's schedule up to the time where a cap was reached, and nothing after.
    pub fn planned(&self, rng: &mut SimRng, base: &LinkConfig) -> NemesisPlan {
        let mut out = Vec::new();
        let mut cut_at = None;
        let mut cut_by = None;
        if self.targets.is_empty() || self.stop <= self.start {
            return NemesisPlan {
                windows: out,
                cut_at,
                cut_by,
            };
        }
        // Node ids held by the partitions planned so far.
        let mut group_nodes = 0usize;
        let cap = self.max_windows.min(MAX_PLANNED);
        let targets = &self.targets;
        // Node-level faults share one timeline per node so they never overlap on a node.
        let mut busy_until = vec![SimTime::ZERO; targets.len()];
        // (down from, down until) of the crash/pause windows still open, to honour max_down.
        // Arrivals come in time order, so a window that ended by `t` can never overlap a
        // later one: it is pruned, which keeps this list at most `max_down` long.
        let mut down: Vec<(SimTime, SimTime)> = Vec::new();
        let kinds: [(f64, u8); 6] = [
            (self.crash_rate, 0),
            (self.pause_rate, 1),
            (self.partition_rate, 2),
            (self.clog_rate, 3),
            (self.loss_rate, 4),
            (self.disk_full_rate, 5),
        ];
        // Full disks have a timeline per node of their own: they never overlap on a node.
        let mut disk_busy = vec![SimTime::ZERO; targets.len()];
        // Network-level faults (partition, loss) do not overlap within their own kind.
        let mut net_busy = [SimTime::ZERO; 5];
        // Arrival times of each kind's Poisson process, then all kinds merged in time order
        // so that no kind crowds out another (the max_down budget is shared).
        let mut arrivals: Vec<(SimTime, u8)> = Vec::new();
        // Every arrival before `horizon` is known: past a kind's bound on arrivals, its
        // next arrival (drawn, not kept) is where the plan must stop.
        let mut horizon: Option<SimTime> = None;
        for (rate, kind) in kinds {
            if rate <= 0.0 {
                continue;
            }
            let mut t = self.start;
            let mut drawn = 0;
            loop {
                let gap = -(1.0 - rng.unit()).ln() / rate * 1e9;
                let next = t + SimTime::from_nanos_f64(gap).max(SimTime(1));
                if next >= self.stop {
                    break;
                }
                if drawn == MAX_ARRIVALS_PER_KIND {
                    horizon = Some(horizon.map_or(next, |h| h.min(next)));
                    break;
                }
                t = next;
                drawn += 1;
                arrivals.push((t, kind));
            }
        }
        arrivals.sort();
        if let Some(h) = horizon {
            arrivals.retain(|(t, _)| *t < h);
            cut_at = Some(h);
            cut_by = Some("arrivals");
        }
        for (t, kind) in arrivals {
            let window = match kind {
                0 => self.downtime,
                1 => self.pause_time,
                2 => self.partition_time,
                3 => self.clog_time,
                5 => self.disk_full_time,
                _ => self.loss_time,
            };
            // At least 1 ns long: a window that ends when it starts is no window (and a
            // FAILURE file could not hold it). `t < stop`, so `end > t`.
            let end = (t + window.draw(rng).max(SimTime(1))).min(self.stop);
            // The window of this arrival would be one too many: the plan stops here.
            let full = out.len() >= cap;
            match kind {
                0 | 1 | 3 => {
                    let ti = rng.range(0, targets.len() as u64) as usize;
                    let node = targets[ti];
                    if busy_until[ti] > t {
                        continue;
                    }
                    if kind != 3 {
                        down.retain(|(_, b)| t < *b);
                        let overlapping = down.iter().filter(|(a, b)| *a < end && t < *b).count();
                        if overlapping >= self.max_down {
                            continue;
                        }
                        down.push((t, end));
                    }
                    if full {
                        cut_at = Some(t);
                        cut_by = Some("windows");
                        break;
                    }
                    busy_until[ti] = end;
                    let on = match kind {
                        0 => Fault::Crash { node },
                        1 => Fault::Pause { node },
                        _ => Fault::Clog {
                            target: ClogTarget::Node { node },
                        },
                    };
                    out.push(TimedFault::window(t, end, on));
                }
                2 => {
                    if net_busy[2] > t {
                        continue;
                    }
                    if full {
                        cut_at = Some(t);
                        cut_by = Some("windows");
                        break;
                    }
                    net_busy[2] = end;
                    let fault = if targets.len() < 2 || rng.chance(0.3) {
                        let node = targets[rng.range(0, targets.len() as u64) as usize];
                        Fault::Isolate { node }
                    } else {
                        // A random split in two non-empty halves of the targets.
                        let mut side: Vec<bool> = targets.iter().map(|_| rng.chance(0.5)).collect();
                        let flip = rng.range(0, targets.len() as u64) as usize;
                        if side.iter().all(|s| *s) || side.iter().all(|s| !*s) {
                            side[flip] = !side[flip];
                        }
                        let a = targets
                            .iter()
                            .zip(&side)
                            .filter(|(_, s)| **s)
                            .map(|(n, _)| *n)
                            .collect();
                        let b = targets
                            .iter()
                            .zip(&side)
                            .filter(|(_, s)| !**s)
                            .map(|(n, _)| *n)
                            .collect();
                        Fault::Partition { groups: vec![a, b] }
                    };
                    if let Fault::Partition { groups } = &fault {
                        let n: usize = groups.iter().map(Vec::len).sum();
                        if group_nodes + n > MAX_PLANNED_GROUP_NODES {
                            // One partition too many for the cap on the plan's groups.
                            cut_at = Some(t);
                            cut_by = Some("group_nodes");
                            break;
                        }
                        group_nodes += n;
                    }
                    out.push(TimedFault::window(t, end, fault));
                }
                5 => {
                    let ti = rng.range(0, targets.len() as u64) as usize;
                    if disk_busy[ti] > t {
                        continue;
                    }
                    if full {
                        cut_at = Some(t);
                        cut_by = Some("windows");
                        break;
                    }
                    disk_busy[ti] = end;
                    out.push(TimedFault::window(t, end, Fault::DiskFull { node: targets[ti] }));
                }
                _ => {
                    if net_busy[4] > t {
                        continue;
                    }
                    if full {
                        cut_at = Some(t);
                        cut_by = Some("windows");
                        break;
                    }
                    net_busy[4] = end;
                    let burst = LinkConfig {
                        drop: self.burst_drop,
                        duplicate: self.burst_duplicate,
                        ..base.clone()
                    };
                    out.push(TimedFault::window(
                        t,
                        end,
                        Fault::SetLink {
                            link: None,
                            config: burst,
                        },
                    ));
                }
            }
        }
        out.sort_by_key(|f| f.at);
        NemesisPlan {
            windows: out,
            cut_at,
            cut_by,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Stream;

    /// One of every kind, over node ids 0..3.
    fn every_kind() -> Vec<Fault> {
        let n = NodeId;
        let link = ClogTarget::Link { from: n(1), to: n(0) };
        vec![
            Fault::Crash { node: n(0) },
            Fault::Restart { node: n(0) },
            Fault::Pause { node: n(1) },
            Fault::Resume { node: n(1) },
            Fault::Partition {
                groups: vec![vec![n(0)], vec![n(1), n(2)]],
            },
            Fault::Block { from: n(1), to: n(2) },
            Fault::Isolate { node: n(2) },
            Fault::Heal,
            Fault::Clog { target: link },
            Fault::Unclog { target: link },
            Fault::UnclogAll,
            Fault::SetLink {
                link: Some((n(0), n(2))),
                config: LinkConfig::default(),
            },
            Fault::SlowNode {
                node: n(1),
                factor: 10.0,
            },
            Fault::ThinLink {
                from: n(2),
                to: n(0),
                rate: 50.0,
            },
            Fault::DiskFull { node: n(2) },
            Fault::DiskFree { node: n(2) },
            Fault::ClockStep {
                node: n(1),
                by_ns: -1_000_000_000,
            },
            Fault::ClockDrift { node: n(2), ppm: 250 },
        ]
    }

    #[test]
    fn every_kind_maps_its_nodes_and_rebuilds_from_its_fields() {
        let all = every_kind();
        let kinds: Vec<&str> = all.iter().map(|f| f.kind()).collect();
        assert_eq!(kinds, Fault::<NodeId>::KINDS);
        let names = ["a", "b", "c"];
        for f in &all {
            let named = f.map_nodes(|n| names[n.0 as usize].to_string());
            let back = named.try_map_nodes(|s| names.iter().position(|x| x == s).map(|i| NodeId(i as u32)).ok_or(()));
            assert_eq!(back.as_ref(), Ok(f));
            assert_eq!(f.nodes().len(), named.nodes().len());
            let fields = f.fields();
            let rebuilt = Fault::from_fields(f.kind(), |k| {
                fields.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
            });
            assert_eq!(rebuilt.as_ref(), Some(f), "{}", f.kind());
            assert_eq!(f.lasts(), f.undo(|_| LinkConfig::default()).is_some(), "{}", f.kind());
        }
        assert_eq!(
            all[4].without(&NodeId(0)),
            Some(Fault::Partition {
                groups: vec![vec![NodeId(1), NodeId(2)]]
            })
        );
        assert_eq!(all[0].without(&NodeId(0)), None);
        assert_eq!(all[7].without(&NodeId(0)), Some(Fault::Heal));
        let name = |n: &NodeId| names[n.0 as usize].to_string();
        assert_eq!(all[4].describe(&name), "partition {a} | {b, c}");
        assert_eq!(all[8].describe(&name), "clog b→a");
        assert_eq!(all[11].describe(&name), "link a→c settings changed");
        assert_eq!(all[16].describe(&name), "clock of b stepped -1s");
        assert_eq!(all[17].describe(&name), "clock of c drifts +250ppm");
        assert_eq!(all[17].in_force(&name), "clock rate of c");
        assert!(all[16].touches().between(&NodeId(1), &NodeId(0)));
        assert!(all[8].touches().between(&NodeId(0), &NodeId(1)));
        assert!(!all[6].touches().between(&NodeId(0), &NodeId(1)));
    }

    #[test]
    fn a_full_plan_of_short_windows_is_planned_quickly() {
        // A million back-to-back 1 ns crash windows: with every past window kept and
        // scanned, this took hours; pruned, it takes well under a second.
        let cfg = NemesisConfig {
            stop: SimTime::from_secs(3600),
            targets: vec![NodeId(0), NodeId(1)],
            crash_rate: MAX_RATE,
            downtime: DurationRange::new(SimTime(1), SimTime(1)),
            max_down: 2,
            ..NemesisConfig::default()
        };
        let planned = cfg.planned(&mut SimRng::new(1, Stream::Nemesis), &LinkConfig::default());
        let plan = &planned.windows;
        assert_eq!(plan.len(), MAX_PLANNED);
        assert!(plan.windows(2).all(|w| w[0].at <= w[1].at));
        assert!(plan.iter().all(|f| f.until.is_some_and(|u| u > f.at)));
        // Cut by the cap, and it says where: after the last window planned, long before stop.
        let cut = planned.cut_at.expect("the cap cut the plan");
        assert!(plan.iter().all(|f| f.at < cut) && cut < cfg.stop, "{cut}");
        assert_eq!(
            cfg.planned(&mut SimRng::new(1, Stream::Nemesis), &LinkConfig::default())
                .windows,
            *plan
        );
    }

    /// A window drawn 0 ns long would end when it starts: the validator refuses such a
    /// window (`until` must be after `at`), so a FAILURE file holding it would not load.
    #[test]
    fn every_planned_window_lasts_at_least_a_nanosecond() {
        let zero_or_one = DurationRange::new(SimTime::ZERO, SimTime(1));
        let cfg = NemesisConfig {
            stop: SimTime::from_secs(1),
            targets: vec![NodeId(0), NodeId(1), NodeId(2)],
            crash_rate: 500.0,
            downtime: zero_or_one,
            pause_rate: 500.0,
            pause_time: zero_or_one,
            partition_rate: 500.0,
            partition_time: zero_or_one,
            clog_rate: 500.0,
            clog_time: zero_or_one,
            loss_rate: 500.0,
            loss_time: zero_or_one,
            max_down: 3,
            ..NemesisConfig::default()
        };
        for seed in 0..5 {
            let p = cfg.planned(&mut SimRng::new(seed, Stream::Nemesis), &LinkConfig::default());
            assert!(p.windows.len() > 1000, "{}", p.windows.len());
            assert_eq!(p.cut_at, None, "under the caps: the whole plan");
            for f in &p.windows {
                let until = f.until.expect("a window");
                assert!(until > f.at && until <= cfg.stop, "{f:?}");
            }
        }
    }

    /// `max_windows` (a scenario's room left by its scheduled faults) caps the plan, and
    /// the cut is reported; a cap the plan does not reach changes nothing.
    #[test]
    fn max_windows_caps_the_plan_and_says_where() {
        let cfg = NemesisConfig {
            stop: SimTime::from_secs(10),
            targets: (0..4).map(NodeId).collect(),
            crash_rate: 20.0,
            partition_rate: 20.0,
            loss_rate: 20.0,
            ..NemesisConfig::default()
        };
        let plan = |cfg: &NemesisConfig| cfg.planned(&mut SimRng::new(7, Stream::Nemesis), &LinkConfig::default());
        let full = plan(&cfg);
        assert_eq!(full.cut_at, None);
        let n = full.windows.len();
        assert!(n > 20, "{n}");
        let exact = plan(&NemesisConfig {
            max_windows: n,
            ..cfg.clone()
        });
        assert_eq!(
            (exact.windows.len(), exact.cut_at),
            (n, None),
            "exactly enough room: not cut"
        );
        let cut = plan(&NemesisConfig {
            max_windows: 10,
            ..cfg.clone()
        });
        assert_eq!(cut.windows.len(), 10);
        assert_eq!(cut.windows[..], full.windows[..10], "the same schedule, up to the cut");
        let at = cut.cut_at.expect("cut");
        assert_eq!(at, full.windows[10].at, "cut where the 11th window would start");
        let none = plan(&NemesisConfig { max_windows: 0, ..cfg });
        assert!(none.windows.is_empty() && none.cut_at == Some(full.windows[0].at));
    }

    /// Past a kind's bound on arrivals (most of them finding their target busy, so few
    /// windows), the plan stops where that kind's arrivals stop being known, and says so.
    #[test]
    fn the_bound_on_arrivals_cuts_the_plan_in_time_order() {
        let cfg = NemesisConfig {
            stop: SimTime::from_secs(3600),
            targets: vec![NodeId(0)],
            crash_rate: MAX_RATE,
            downtime: DurationRange::new(SimTime::from_secs(1), SimTime::from_secs(1)),
            loss_rate: 1.0,
            ..NemesisConfig::default()
        };
        let p = cfg.planned(&mut SimRng::new(2, Stream::Nemesis), &LinkConfig::default());
        let cut = p.cut_at.expect("cut by the bound on crash arrivals");
        // 200,000 crash arrivals at 10,000 per second: about 20 s of the hour.
        assert!(cut > SimTime::from_secs(15) && cut < SimTime::from_secs(25), "{cut}");
        assert!(p.windows.len() < MAX_PLANNED);
        assert!(p.windows.iter().all(|f| f.at < cut));
        let losses = p
            .windows
            .iter()
            .filter(|f| matches!(f.fault, Fault::SetLink { .. }))
            .count();
        assert!(losses < 40, "loss bursts after the cut are not planned: {losses}");
    }

    /// Partitions over many targets hold every target each: the plan's groups hold at
    /// most `MAX_PLANNED_GROUP_NODES` nodes in all. The cut is in time order, so the
    /// other kinds are planned up to it and none after.
    #[test]
    fn partitions_over_many_targets_are_cut_at_the_group_cap_in_time_order() {
        let targets = 2_000;
        let cfg = NemesisConfig {
            stop: SimTime::from_secs(720 * 3600),
            targets: (0..targets).map(NodeId).collect(),
            partition_rate: 1.0,
            crash_rate: 0.5,
            ..NemesisConfig::default()
        };
        let p = cfg.planned(&mut SimRng::new(3, Stream::Nemesis), &LinkConfig::default());
        assert_eq!(p.cut_by, Some("group_nodes"));
        let cut = p.cut_at.expect("cut");
        let held: usize = p
            .windows
            .iter()
            .map(|w| match &w.fault {
                Fault::Partition { groups } => groups.iter().map(Vec::len).sum(),
                _ => 0,
            })
            .sum();
        assert!(
            held <= MAX_PLANNED_GROUP_NODES && held + targets as usize > MAX_PLANNED_GROUP_NODES,
            "{held}"
        );
        assert!(p.windows.iter().all(|w| w.at < cut));
        let crashes: Vec<SimTime> = p
            .windows
            .iter()
            .filter(|w| matches!(w.fault, Fault::Crash { .. }))
            .map(|w| w.at)
            .collect();
        assert!(
            crashes.len() > 100,
            "crashes are planned beside the partitions: {}",
            crashes.len()
        );
        assert!(
            *crashes.last().unwrap() > cut.saturating_sub(SimTime::from_secs(60)),
            "up to the cut"
        );
    }

    #[test]
    fn max_down_still_bounds_overlapping_windows() {
        let cfg = NemesisConfig {
            stop: SimTime::from_secs(60),
            targets: (0..8).map(NodeId).collect(),
            crash_rate: 50.0,
            pause_rate: 50.0,
            max_down: 2,
            ..NemesisConfig::default()
        };
        let plan = cfg
            .planned(&mut SimRng::new(3, Stream::Nemesis), &LinkConfig::default())
            .windows;
        // Sweep the window edges in time order (ends before starts at the same instant).
        let mut edges: Vec<(SimTime, i64)> = Vec::new();
        for f in &plan {
            if let Fault::Crash { .. } | Fault::Pause { .. } = f.fault {
                edges.push((f.at, 1));
                edges.push((f.until.expect("nemesis faults are windows"), -1));
            }
        }
        edges.sort();
        let (mut down, mut most) = (0i64, 0i64);
        for (_, d) in edges {
            down += d;
            most = most.max(down);
        }
        assert!(plan.len() > 100, "the nemesis planned {} faults", plan.len());
        assert_eq!(most, 2, "never more than max_down targets down at once");
    }
}
