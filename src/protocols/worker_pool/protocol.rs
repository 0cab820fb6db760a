//! The worker pool as a plugin: the `dispatcher`, `worker` and `pool_client` roles, the
//! `pool.*` checks (with their `pool_liveness_bound` setting) and the `metrics.pool`
//! figures.

use super::check::{AcceptedOnce, CorrectResult, PoolLiveness};
use super::conservation::WorkConservation;
use super::metrics::PoolMetrics;
use super::roles::{DispatcherRole, PoolClientRole, WorkerRole};
use super::series::PoolSeries;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Grid, Metrics, Observation, Problem, Protocol, RoleDef, ScenarioView, Series, Setting, ms};

/// The key of the pool's liveness bound in the `checks` section.
pub const LIVENESS_BOUND: &str = "pool_liveness_bound";
/// Its default: every job submitted is accepted within 10 s after the last fault healed.
pub const DEFAULT_LIVENESS_BOUND: SimTime = SimTime::from_secs(10);

/// The worker pool (name `pool`, roles `dispatcher`, `worker` and `pool_client`).
pub struct WorkerPool;

impl Protocol for WorkerPool {
    fn name(&self) -> &'static str {
        "pool"
    }
    fn roles(&self) -> Vec<RoleDef> {
        vec![
            RoleDef::of::<DispatcherRole>("dispatcher"),
            RoleDef::of::<WorkerRole>("worker"),
            RoleDef::of::<PoolClientRole>("pool_client"),
        ]
    }
    fn settings(&self) -> Vec<Setting> {
        vec![Setting::new(LIVENESS_BOUND, DEFAULT_LIVENESS_BOUND)]
    }
    fn validate(&self, s: &ScenarioView<'_>, out: &mut Vec<Problem>) {
        let bound = s
            .settings
            .get::<SimTime>(LIVENESS_BOUND)
            .unwrap_or(DEFAULT_LIVENESS_BOUND);
        if bound == SimTime::ZERO {
            out.push((format!("checks.{LIVENESS_BOUND}"), "must be greater than zero".into()));
        }
        super::roles::arrivals_within_budget(s, out);
    }
    fn checks(&self, s: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
        // The scenario's one liveness bound, when given, wins over the pool's own.
        let bound = s.liveness().unwrap_or(
            s.settings
                .get::<SimTime>(LIVENESS_BOUND)
                .unwrap_or(DEFAULT_LIVENESS_BOUND),
        );
        // Online: each keeps only live state (see `check.rs`, `conservation.rs`).
        vec![
            Box::new(CorrectResult::new()),
            Box::new(AcceptedOnce::new()),
            Box::new(PoolLiveness::new(bound)),
            // The judged window ends before the run's end (`min(until, end)`, end
            // excluded): a run that goes its full duration ends exactly there.
            Box::new(WorkConservation::new(s.fault_free_until.min(s.duration))),
        ]
    }
    fn summary(&self, p: &serde_json::Value) -> Option<String> {
        Some(format!(
            "{} submitted, {} accepted, {} rejected, {} reassigned; wait mean {} p99 {}; sojourn mean {} p99 {}; {:.1} jobs/s; utilisation {:.3}; mean queue {:.2}",
            p["submitted"],
            p["accepted"],
            p["rejected"],
            p["reassigned"],
            ms(&p["waiting"]["mean_ns"]),
            ms(&p["waiting"]["p99_ns"]),
            ms(&p["sojourn"]["mean_ns"]),
            ms(&p["sojourn"]["p99_ns"]),
            p["throughput_per_s"].as_f64().unwrap_or(0.0),
            p["utilisation"].as_f64().unwrap_or(0.0),
            p["mean_queue_len"].as_f64().unwrap_or(0.0)
        ))
    }
    fn metrics(&self, _s: &ScenarioView<'_>) -> Option<Box<dyn Metrics>> {
        Some(Box::new(PoolMetrics::new()))
    }
    fn series(&self, _s: &ScenarioView<'_>, grid: Grid) -> Option<Box<dyn Series>> {
        Some(Box::new(PoolSeries::new(grid)))
    }
}

impl Metrics for PoolMetrics {
    fn observe(&mut self, rec: &Record<Observation>) {
        PoolMetrics::observe(self, rec)
    }
    fn finish(&self, end: SimTime) -> serde_json::Value {
        serde_json::to_value(self.report(end)).unwrap_or_default()
    }
}
