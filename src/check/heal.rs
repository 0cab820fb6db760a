//! What was still in force when a run ended ([`Unhealed`]), computed in one place
//! ([`unhealed`]) from the nodes' final states and the realized faults, and the run's
//! crashes ([`crashes`]). A run with anything still in force never healed: no liveness
//! deadline of it ever falls due, so undone work there is `not_judged`, never a pass.
//!
//! Today this covers nodes (crashed and never restarted, paused and never resumed);
//! network faults still in force (partitions, blocks, clogs) belong here too.

use serde::Serialize;

use crate::fault::{Fault, TimedFault};
use crate::node::{Message, NodeId};
use crate::sim::{NodeState, Simulation};
use crate::time::SimTime;

/// What is still in force.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnhealedKind {
    /// The node crashed and was not restarted.
    Crashed,
    /// The node was paused and not resumed.
    Paused,
}

/// A fault still in force when the run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unhealed {
    /// The node.
    pub node: NodeId,
    /// Its name (its id in the scenario).
    pub name: String,
    /// What is still in force.
    pub what: UnhealedKind,
    /// Since when (the fault that put it there).
    pub since: SimTime,
}

impl std::fmt::Display for Unhealed {
    /// `w1 crashed at 500ms and never restarted`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.what {
            UnhealedKind::Crashed => write!(f, "{} crashed at {} and never restarted", self.name, self.since),
            UnhealedKind::Paused => write!(f, "{} paused at {} and never resumed", self.name, self.since),
        }
    }
}

impl Serialize for Unhealed {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Unhealed", 6)?;
        st.serialize_field("node", &self.name)?;
        st.serialize_field("node_index", &self.node)?;
        st.serialize_field("what", &self.what)?;
        st.serialize_field("since", &self.since)?;
        st.serialize_field("since_ns", &self.since.as_nanos())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

/// Everything still in force at the end of `sim`'s run, by node: a node that is down or
/// paused, with the time of the last crash or pause of it that had happened by then.
pub fn unhealed<M: Message, O: 'static>(sim: &Simulation<M, O>) -> Vec<Unhealed> {
    let end = sim.now();
    let faults = sim.realized_faults();
    let mut out = Vec::new();
    for (i, name) in sim.node_names().iter().enumerate() {
        let node = NodeId(i as u32);
        let what = match sim.node_state(node) {
            Some(NodeState::Down) => UnhealedKind::Crashed,
            Some(NodeState::Paused) => UnhealedKind::Paused,
            _ => continue,
        };
        let since = last_fault(faults, end, |f| match (what, f) {
            (UnhealedKind::Crashed, Fault::Crash { node: n }) | (UnhealedKind::Paused, Fault::Pause { node: n }) => {
                *n == node
            }
            _ => false,
        });
        out.push(Unhealed {
            node,
            name: name.clone(),
            what,
            since,
        });
    }
    out
}

/// The time of the last fault matching `pred` at or before `end` (`ZERO` if none).
fn last_fault(faults: &[TimedFault], end: SimTime, pred: impl Fn(&Fault) -> bool) -> SimTime {
    faults
        .iter()
        .filter(|f| f.at <= end && pred(&f.fault))
        .map(|f| f.at)
        .max()
        .unwrap_or(SimTime::ZERO)
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
