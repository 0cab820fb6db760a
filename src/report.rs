//! The report of one run: what `run --json` prints and what the human summary is made
//! from (seed, trace hash, counts, realized faults, each check, violations, metrics).

use serde::Serialize;

use crate::check::Violation;
use crate::scenario::FaultSpec;
use crate::sim::{Outcome, Stats};

/// Message counters.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MessageCounts {
    /// Messages sent.
    pub sent: u64,
    /// Copies delivered.
    pub delivered: u64,
    /// Messages dropped, whatever the reason.
    pub dropped: u64,
    /// Duplicate copies made.
    pub duplicated: u64,
    /// Dropped by reason: loss, partition, node_down, crashed, unknown_node.
    pub dropped_by_reason: DropCounts,
    /// Held by clogs (delivered later).
    pub held_clogged: u64,
    /// Held by paused nodes (delivered after resume).
    pub held_paused: u64,
}

/// Drops by reason.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DropCounts {
    /// Random loss.
    pub loss: u64,
    /// Partitions, blocks, isolation.
    pub partition: u64,
    /// Destination down.
    pub node_down: u64,
    /// Held by a node that crashed.
    pub crashed: u64,
    /// Unknown destination.
    pub unknown_node: u64,
}

impl From<&Stats> for MessageCounts {
    fn from(s: &Stats) -> Self {
        MessageCounts {
            sent: s.sent,
            delivered: s.delivered,
            dropped: s.dropped(),
            duplicated: s.duplicated,
            dropped_by_reason: DropCounts {
                loss: s.dropped_loss,
                partition: s.dropped_partition,
                node_down: s.dropped_node_down,
                crashed: s.dropped_crashed,
                unknown_node: s.dropped_unknown,
            },
            held_clogged: s.held_clogged,
            held_paused: s.held_paused,
        }
    }
}

/// Pass or fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// No violation.
    Pass,
    /// At least one violation.
    Fail,
}

/// One check's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Its verdict.
    pub status: Status,
    /// How many violations it found.
    pub violations: usize,
}

/// Everything about one run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunReport {
    /// Scenario name.
    pub scenario: String,
    /// The seed used.
    pub seed: u64,
    /// Node names, by node id (`n0` is `nodes[0]`).
    pub nodes: Vec<String>,
    /// The stable trace hash, 16 hex digits.
    pub trace_hash: String,
    /// Virtual time at the end, ns.
    pub sim_time_ns: u64,
    /// Events processed.
    pub events: u64,
    /// Trace events recorded (sends, deliveries, drops, timers, faults, ...).
    pub trace_events: u64,
    /// Why the run stopped.
    pub outcome: Outcome,
    /// Message counters.
    pub messages: MessageCounts,
    /// Every fault of the run, nemesis included, as an explicit schedule.
    pub faults: Vec<FaultSpec>,
    /// When the last fault healed (liveness is judged from here), ns.
    pub heal_at_ns: u64,
    /// Each check's verdict.
    pub checks: Vec<CheckResult>,
    /// Every violation found.
    pub violations: Vec<Violation>,
    /// Per-protocol metrics.
    pub metrics: serde_json::Value,
}

impl RunReport {
    /// True when every check passed.
    pub fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// A 64-bit hash as 16 lowercase hex digits.
pub fn hex(h: u64) -> String {
    format!("{h:016x}")
}
