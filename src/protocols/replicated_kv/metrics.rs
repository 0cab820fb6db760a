//! The store's streaming metrics (`metrics.rkv`): operations invoked, returned (ok),
//! given up on (a write's outcome is then unknown; a get that gave up failed, it had no
//! effect), retries, the latency of operations that returned, and leader changes.
//! Memory is constant: the invocation time travels in the observations.

use serde::Serialize;

use super::RkvObs;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::metrics::{DurationStats, DurationSummary};
use crate::plugin::{Metrics, Observation};

/// The store's figures of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RkvSummary {
    /// Operations invoked.
    pub invoked: u64,
    /// Operations that returned.
    pub ok: u64,
    /// Writes given up on: their outcome is unknown.
    pub unknown: u64,
    /// Gets given up on: they failed (with no effect).
    pub failed: u64,
    /// Attempts beyond the first, over the operations that returned.
    pub retries: u64,
    /// Invocation to return, of the operations that returned.
    pub latency: DurationStats,
    /// Times a replica became leader.
    pub leader_changes: u64,
}

/// Streaming store metrics.
#[derive(Clone, Debug, Default)]
pub struct RkvMetrics {
    invoked: u64,
    ok: u64,
    unknown: u64,
    failed: u64,
    retries: u64,
    latency: DurationSummary,
    leader_changes: u64,
}

impl RkvMetrics {
    /// Nothing seen yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The figures so far.
    pub fn summary(&self) -> RkvSummary {
        RkvSummary {
            invoked: self.invoked,
            ok: self.ok,
            unknown: self.unknown,
            failed: self.failed,
            retries: self.retries,
            latency: self.latency.stats(),
            leader_changes: self.leader_changes,
        }
    }
}

impl Metrics for RkvMetrics {
    fn observe(&mut self, rec: &Record<Observation>) {
        match rec.obs.get::<RkvObs>() {
            Some(RkvObs::Invoke { .. }) => self.invoked += 1,
            Some(RkvObs::Return {
                attempts, invoked_at, ..
            }) => {
                self.ok += 1;
                self.retries += u64::from(attempts.saturating_sub(1));
                self.latency.record((rec.at - *invoked_at).as_nanos());
            }
            Some(RkvObs::GaveUp { write: true, .. }) => self.unknown += 1,
            Some(RkvObs::GaveUp { write: false, .. }) => self.failed += 1,
            Some(RkvObs::Leader { .. }) => self.leader_changes += 1,
            Some(RkvObs::Done { .. }) | None => {}
        }
    }
    fn finish(&self, _end: SimTime) -> serde_json::Value {
        serde_json::to_value(self.summary()).unwrap_or_default()
    }
}
