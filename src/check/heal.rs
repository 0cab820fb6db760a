//! What was still in force when a run ended ([`Unhealed`]), computed in one place
//! ([`unhealed`]) from the engine's fault windows still in force
//! ([`Simulation::faults_in_force`]): nodes crashed and never restarted or paused and
//! never resumed, partitions, blocks and isolations never healed, clogs never released,
//! link settings never restored. A run with anything still in force never healed: no
//! liveness deadline of it ever falls due, so undone work there is `not_judged`, never a
//! pass. Also the run's crashes ([`crashes`]).

use serde::Serialize;

use crate::engine::fault::{Effect, Fault, TimedFault};
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
    /// A slow-node window had not ended.
    Slowed,
    /// A thin-link window had not ended.
    Thinned,
    /// A node's disk was full and not freed.
    DiskFull,
    /// A window of a node's clock rate had not ended.
    ClockRate,
}

impl From<Effect> for UnhealedKind {
    fn from(e: Effect) -> Self {
        match e {
            Effect::Down => UnhealedKind::Crashed,
            Effect::Paused => UnhealedKind::Paused,
            Effect::Cut => UnhealedKind::Cut,
            Effect::Clogged => UnhealedKind::Clogged,
            Effect::LinkSettings => UnhealedKind::LinkSettings,
            Effect::Slowed => UnhealedKind::Slowed,
            Effect::Thinned => UnhealedKind::Thinned,
            Effect::DiskFull => UnhealedKind::DiskFull,
            Effect::ClockRate => UnhealedKind::ClockRate,
        }
    }
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
            UnhealedKind::Slowed | UnhealedKind::Thinned => write!(f, "{name} from {since} never ended"),
            UnhealedKind::DiskFull => write!(f, "{name} from {since} never freed"),
            UnhealedKind::ClockRate => write!(f, "{name} changed at {since} never restored"),
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
    let mut out: Vec<Unhealed> = Vec::new();
    for i in sim.faults_in_force() {
        let Some(tf) = faults.get(i) else { continue };
        let Some(effect) = tf.fault.effect() else { continue };
        let what = UnhealedKind::from(effect);
        let node = match (effect, tf.fault.touches()) {
            (Effect::Down | Effect::Paused, Touch::Node(n)) => Some(n),
            _ => None,
        };
        let label = tf.fault.in_force(&|n: &NodeId| name(*n));
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

pub use crate::engine::fault::Touch;

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
