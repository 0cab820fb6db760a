//! What was still in force when a run ended ([`Unhealed`]), computed in one place
//! ([`unhealed`]) from the engine's fault windows still in force
//! ([`Simulation::faults_in_force`]): nodes crashed and never restarted or paused and
//! never resumed, partitions, blocks and isolations never healed, clogs never released,
//! link settings never restored. A run with anything still in force never healed: no
//! liveness deadline of it ever falls due, so undone work there is `not_judged`, never a
//! pass. Also the run's crashes ([`crashes`]).

use serde::Serialize;

use crate::engine::fault::{Fault, TimedFault};
use crate::engine::net::ClogTarget;
use crate::engine::node::{Message, NodeId};
use crate::engine::sim::Simulation;
use crate::engine::time::SimTime;

/// What is still in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnhealedKind {
    /// The node crashed and was not restarted.
    Crashed,
    /// The node was paused and not resumed.
    Paused,
    /// A partition, block or isolation was not healed.
    Cut,
    /// A clog was not released.
    Clogged,
    /// A window of link settings had not ended.
    LinkSettings,
}

/// A fault still in force when the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unhealed {
    /// The node it holds down or paused (`None` for network faults).
    pub node: Option<NodeId>,
    /// What it is, in the scenario's names: the node (`w1`), or the fault
    /// (`partition {s1} | {c1}`, `block c1→s1`, `clog of w1`, `settings of the default link`).
    pub name: String,
    /// What is still in force.
    pub what: UnhealedKind,
    /// Since when (the fault that put it there).
    pub since: SimTime,
}

impl std::fmt::Display for Unhealed {
    /// `w1 crashed at 500ms and never restarted`, `partition {s1} | {c1} from 500ms never healed`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (name, since) = (&self.name, self.since);
        match self.what {
            UnhealedKind::Crashed => write!(f, "{name} crashed at {since} and never restarted"),
            UnhealedKind::Paused => write!(f, "{name} paused at {since} and never resumed"),
            UnhealedKind::Cut => write!(f, "{name} from {since} never healed"),
            UnhealedKind::Clogged => write!(f, "{name} from {since} never released"),
            UnhealedKind::LinkSettings => write!(f, "{name} changed at {since} never restored"),
        }
    }
}

impl Serialize for Unhealed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Unhealed", 6)?;
        st.serialize_field("node", &self.node.map(|_| &self.name))?;
        st.serialize_field("node_index", &self.node)?;
        st.serialize_field("what", &self.what)?;
        st.serialize_field("since", &self.since)?;
        st.serialize_field("since_ns", &self.since.as_nanos())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// Everything still in force at the end of `sim`'s run: one entry per node down or
/// paused (since the earliest crash or pause window of it still in force), and one per
/// network fault window still in force, in time order.
pub fn unhealed<M: Message, O: 'static>(sim: &Simulation<M, O>) -> Vec<Unhealed> {
    let faults = sim.realized_faults();
    let names = sim.node_names();
    let name = |n: NodeId| names.get(n.0 as usize).cloned().unwrap_or_else(|| n.to_string());
    let link = |a: NodeId, b: NodeId| format!("{}→{}", name(a), name(b));
    let mut out: Vec<Unhealed> = Vec::new();
    for i in sim.faults_in_force() {
        let Some(tf) = faults.get(i) else { continue };
        let (node, what, label) = match &tf.fault {
            Fault::Crash { node } => (Some(*node), UnhealedKind::Crashed, name(*node)),
            Fault::Pause { node } => (Some(*node), UnhealedKind::Paused, name(*node)),
            Fault::Partition { groups } => {
                let gs: Vec<String> = groups
                    .iter()
                    .map(|g| format!("{{{}}}", g.iter().map(|n| name(*n)).collect::<Vec<_>>().join(", ")))
                    .collect();
                (None, UnhealedKind::Cut, format!("partition {}", gs.join(" | ")))
            }
            Fault::Block { from, to } => (None, UnhealedKind::Cut, format!("block {}", link(*from, *to))),
            Fault::Isolate { node } => (None, UnhealedKind::Cut, format!("isolation of {}", name(*node))),
            Fault::Clog { target } => {
                let what = match *target {
                    ClogTarget::Node { node } => name(node),
                    ClogTarget::Link { from, to } => link(from, to),
                };
                (None, UnhealedKind::Clogged, format!("clog of {what}"))
            }
            Fault::SetLink { link: l, .. } => {
                let what = l.map_or("the default link".to_string(), |(a, b)| format!("link {}", link(a, b)));
                (None, UnhealedKind::LinkSettings, format!("settings of {what}"))
            }
            _ => continue,
        };
        // One entry per node held down or paused, since the earliest window holding it.
        if let Some(prev) = out
            .iter_mut()
            .find(|u| node.is_some() && u.node == node && u.what == what)
        {
            prev.since = prev.since.min(tf.at);
            continue;
        }
        out.push(Unhealed {
            node,
            name: label,
            what,
            since: tf.at,
        });
    }
    out.sort_by_key(|u| (u.since, u.what));
    out
}

/// What a lasting fault touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Touch {
    /// Every node and link: a partition splits them all, the default link's settings
    /// apply everywhere.
    All,
    /// One node (down, paused, isolated, clogged) and every link to and from it.
    Node(NodeId),
    /// One direction of one link (blocked, clogged, its settings changed).
    Link(NodeId, NodeId),
}

impl Touch {
    /// What `f` touches.
    pub fn of(f: &Fault) -> Touch {
        match *f {
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
            } => Touch::Node(node),
            Fault::Block { from, to }
            | Fault::Clog {
                target: ClogTarget::Link { from, to },
            }
            | Fault::Unclog {
                target: ClogTarget::Link { from, to },
            }
            | Fault::SetLink {
                link: Some((from, to)), ..
            } => Touch::Link(from, to),
            Fault::Partition { .. } | Fault::SetLink { link: None, .. } | Fault::Heal | Fault::UnclogAll => Touch::All,
        }
    }

    /// Does it touch the exchange between `a` and `b` (either way)?
    pub fn between(self, a: NodeId, b: NodeId) -> bool {
        match self {
            Touch::All => true,
            Touch::Node(n) => n == a || n == b,
            Touch::Link(f, t) => (f == a && t == b) || (f == b && t == a),
        }
    }
}

/// Every crash up to `end`, `(time, node)` in time order.
pub fn crashes(faults: &[TimedFault], end: SimTime) -> Vec<(SimTime, NodeId)> {
    let mut out: Vec<(SimTime, NodeId)> = faults
        .iter()
        .filter(|f| f.at <= end)
        .filter_map(|f| match f.fault {
            Fault::Crash { node } => Some((f.at, node)),
            _ => None,
        })
        .collect();
    out.sort();
    out
}
