//! Checkers: invariants judged over a run's history after the run. Each checker reads
//! the records and returns the violations it found; a violation names the check, the
//! events involved with their times, and is reproducible by the run's seed.

use serde::Serialize;

use crate::history::Record;
use crate::node::NodeId;
use crate::time::SimTime;

/// What a checker needs to know about the run besides the history.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckContext {
    /// The run's seed.
    pub seed: u64,
    /// When the run ended.
    pub end: SimTime,
    /// When the last fault healed (liveness is judged from here); `ZERO` with no faults.
    pub heal_at: SimTime,
}

impl CheckContext {
    /// The context of a finished run: its seed, its end, and when its last fault (nemesis
    /// included) happened, from which liveness is judged.
    pub fn after<M: crate::node::Message, O: 'static>(sim: &crate::sim::Simulation<M, O>) -> Self {
        CheckContext {
            seed: sim.seed(),
            end: sim.now(),
            heal_at: sim
                .realized_faults()
                .iter()
                .map(|f| f.at)
                .max()
                .unwrap_or(SimTime::ZERO),
        }
    }
}

/// One event a violation points at.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// When.
    pub at: SimTime,
    /// Which node.
    pub node: NodeId,
    /// What happened, in words.
    pub what: String,
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The check's name, e.g. `rpc.at_most_once`.
    pub check: String,
    /// What went wrong, in one sentence.
    pub message: String,
    /// When it became visible.
    pub at: SimTime,
    /// The seed of the run.
    pub seed: u64,
    /// The events involved, with their times.
    pub events: Vec<Evidence>,
}

pub mod discovery;
pub mod pool;
pub mod pool_conservation;
pub mod rpc;

impl Evidence {
    /// The evidence of one history record: its time and node, and `what` happened.
    pub(crate) fn of<O>(rec: &Record<O>, what: String) -> Evidence {
        Evidence {
            at: rec.at,
            node: rec.node,
            what,
        }
    }
}

impl Violation {
    /// A violation of `check` that became visible at `at`, in the run of `ctx`.
    pub(crate) fn new(
        check: &str,
        message: String,
        at: SimTime,
        ctx: &CheckContext,
        events: Vec<Evidence>,
    ) -> Violation {
        Violation {
            check: check.to_string(),
            message,
            at,
            seed: ctx.seed,
            events,
        }
    }
}

// JSON carries each time twice: `at` for people ("16.506ms") and `at_ns` for scripts.
impl Serialize for Evidence {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Evidence", 4)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("at_ns", &self.at.as_nanos())?;
        st.serialize_field("node", &self.node)?;
        st.serialize_field("what", &self.what)?;
        st.end()
    }
}

impl Serialize for Violation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Violation", 6)?;
        st.serialize_field("check", &self.check)?;
        st.serialize_field("message", &self.message)?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("at_ns", &self.at.as_nanos())?;
        st.serialize_field("seed", &self.seed)?;
        st.serialize_field("events", &self.events)?;
        st.end()
    }
}
