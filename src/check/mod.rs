//! Checkers: invariants judged over a run's history after the run. Each checker reads
//! the records and returns the violations it found; a violation names the check, the
//! events involved with their times, and is reproducible by the run's seed.

use serde::Serialize;

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

/// One event a violation points at.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Evidence {
    /// When.
    pub at: SimTime,
    /// Which node.
    pub node: NodeId,
    /// What happened, in words.
    pub what: String,
}

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Serialize)]
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
pub mod rpc;
