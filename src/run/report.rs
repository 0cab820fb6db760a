//! The report of one run: what `run --json` prints and what the human summary is made
//! from (seed, trace hash, counts, realized faults, each check, violations, metrics).

use serde::Serialize;

use crate::check::Violation;
use crate::engine::budget::Exhausted;
use crate::engine::sim::{Outcome, Stats};
use crate::scenario::FaultSpec;

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
    /// The link's queue was full (a link with a bandwidth); not written when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub queue_full: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
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
                queue_full: s.dropped_queue_full,
            },
            held_clogged: s.held_clogged,
            held_paused: s.held_paused,
        }
    }
}

pub use crate::check::Status;

/// One check's verdict.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CheckResult {
    /// The check's name.
    pub name: String,
    /// Its verdict: `pass`, `fail` or `not_judged`.
    pub status: Status,
    /// How many violations it found.
    pub violations: usize,
    /// Why it was not judged (`null` unless `status` is `not_judged`), e.g.
    /// `w1 crashed at 500ms and never restarted; 10 jobs undone`.
    pub reason: Option<String>,
}

impl CheckResult {
    /// The result of a check's verdict.
    pub fn of(v: &crate::check::Verdict) -> CheckResult {
        CheckResult {
            name: v.check.to_string(),
            status: v.status(),
            violations: v.violations.len(),
            reason: v.reason().map(str::to_string),
        }
    }
}

/// Everything about one run. In JSON (`run --json`), also a top-level `status`: the
/// run's [verdict](RunReport::verdict), `pass`, `fail` or `not_judged`.
#[derive(Clone, Debug, PartialEq)]
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
    /// When the last fault healed (liveness is judged from here), ns; `null` when the
    /// run never healed (see `unhealed`).
    pub heal_at_ns: Option<u64>,
    /// What was still in force when the run ended (a node crashed and never restarted,
    /// or paused and never resumed).
    pub unhealed: Vec<crate::check::Unhealed>,
    /// Each check's verdict.
    pub checks: Vec<CheckResult>,
    /// Every violation found.
    pub violations: Vec<Violation>,
    /// Per-protocol metrics.
    pub metrics: serde_json::Value,
    /// What the user should know about how the run was set up, e.g. that the nemesis
    /// plan was cut by its cap on fault windows.
    pub warnings: Vec<String>,
    /// The budget that stopped the run before its end (`outcome` is
    /// `budget_exhausted`), if one did: such a run never passes (see
    /// [`RunReport::verdict`]).
    pub budget_exhausted: Option<Exhausted>,
    /// What each code-level fault point reached did (by name: active or not, reached
    /// and fired how many times); `None` when the scenario does not enable them (and
    /// then no `buggify` field in JSON).
    pub buggify: Option<Vec<crate::engine::buggify::BuggifyPoint>>,
}

impl Serialize for RunReport {
    /// The fields in order, with `status` (the verdict, computed, never stored: it
    /// cannot disagree with the checks) after `trace_hash`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("RunReport", 18)?;
        st.serialize_field("scenario", &self.scenario)?;
        st.serialize_field("seed", &self.seed)?;
        st.serialize_field("nodes", &self.nodes)?;
        st.serialize_field("trace_hash", &self.trace_hash)?;
        st.serialize_field("status", &self.verdict())?;
        st.serialize_field("sim_time_ns", &self.sim_time_ns)?;
        st.serialize_field("events", &self.events)?;
        st.serialize_field("trace_events", &self.trace_events)?;
        st.serialize_field("outcome", &self.outcome)?;
        st.serialize_field("messages", &self.messages)?;
        st.serialize_field("faults", &crate::scenario::faults::AsFile(&self.faults))?;
        st.serialize_field("heal_at_ns", &self.heal_at_ns)?;
        st.serialize_field("unhealed", &self.unhealed)?;
        st.serialize_field("checks", &self.checks)?;
        st.serialize_field("violations", &self.violations)?;
        st.serialize_field("metrics", &self.metrics)?;
        st.serialize_field("warnings", &self.warnings)?;
        st.serialize_field(
            "budget_exhausted",
            &self.budget_exhausted.as_ref().map(|e| {
                serde_json::json!({
                    "budget": e.budget,
                    "detail": e.detail,
                    "deterministic": e.deterministic,
                })
            }),
        )?;
        if let Some(points) = &self.buggify {
            let points: Vec<serde_json::Value> = points
                .iter()
                .map(|p| serde_json::json!({"point": p.name, "active": p.active, "reached": p.reached, "fired": p.fired}))
                .collect();
            st.serialize_field("buggify", &points)?;
        }
        st.end()
    }
}

impl RunReport {
    /// The run's verdict: `fail` if any check failed, else `not_judged` if any check
    /// could not be judged or a budget stopped the run before its end, else `pass`.
    pub fn verdict(&self) -> Status {
        if !self.violations.is_empty() {
            return Status::Fail;
        }
        // A run stopped by a budget judged only what happened before the stop.
        if self.budget_exhausted.is_some() {
            return Status::NotJudged;
        }
        // A run in which no check ran judged nothing: it cannot pass.
        self.checks.iter().map(|c| c.status).max().unwrap_or(Status::NotJudged)
    }

    /// True when every check was judged and passed (a not-judged run has not passed).
    pub fn passed(&self) -> bool {
        self.verdict() == Status::Pass
    }

    /// True when some check failed (a finding).
    pub fn failed(&self) -> bool {
        self.verdict() == Status::Fail
    }

    /// The names of the checks with this status, in report order.
    pub fn checks_with(&self, status: Status) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.name.clone())
            .collect()
    }
}

/// A 64-bit hash as 16 lowercase hex digits.
pub fn hex(h: u64) -> String {
    format!("{h:016x}")
}
