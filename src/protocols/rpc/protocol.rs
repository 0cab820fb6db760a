//! RPC as a plugin: the `rpc_server` and `rpc_client` roles, the `rpc.*` checks and the
//! `metrics.rpc` figures.

use super::check::{
    AT_MOST_ONCE, CORRECT_RESULT, DEPOSIT_CONSISTENCY, LIVENESS, check_at_most_once, check_deposits, check_liveness,
    check_results,
};
use super::metrics::RpcMetrics;
use super::roles::{RpcClientRole, RpcServerRole};
use super::series::RpcSeries;
use crate::check::Verdict;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::plugin::{
    Check, Grid, Judgement, Metrics, Observation, Protocol, RoleDef, ScenarioView, Series, batch_where, ms,
};
use crate::protocols::Obs;

/// The RPC service (name `rpc`, roles `rpc_server` and `rpc_client`).
pub struct Rpc;

impl Protocol for Rpc {
    fn name(&self) -> &'static str {
        "rpc"
    }
    fn roles(&self) -> Vec<RoleDef> {
        vec![
            RoleDef::of::<RpcServerRole>("rpc_server"),
            RoleDef::of::<RpcClientRole>("rpc_client"),
        ]
    }
    fn checks(&self, _s: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
        let j: Vec<(_, Judgement<Obs>)> = vec![
            (
                CORRECT_RESULT,
                Box::new(|r, cx| Some(Verdict::judged(CORRECT_RESULT, check_results(r, cx)))),
            ),
            (
                DEPOSIT_CONSISTENCY,
                Box::new(|r, cx| Some(Verdict::judged(DEPOSIT_CONSISTENCY, check_deposits(r, cx)))),
            ),
            (
                AT_MOST_ONCE,
                Box::new(|r, cx| Some(Verdict::judged(AT_MOST_ONCE, check_at_most_once(r, cx)))),
            ),
            (LIVENESS, Box::new(|r, cx| Some(check_liveness(r, cx)))),
        ];
        // Its checks read only its own observations.
        batch_where(j, |o| matches!(o, Obs::Rpc(_)))
    }
    fn summary(&self, m: &serde_json::Value) -> Option<String> {
        let l = &m["latency"];
        Some(format!(
            "{} calls, {} ok, {} failed, {} retries; latency p50 {} p90 {} p99 {} max {}",
            m["invoked"],
            m["ok"],
            m["failed"],
            m["retries"],
            ms(&l["p50_ns"]),
            ms(&l["p90_ns"]),
            ms(&l["p99_ns"]),
            ms(&l["max_ns"])
        ))
    }
    fn metrics(&self, _s: &ScenarioView<'_>) -> Option<Box<dyn Metrics>> {
        Some(Box::new(RpcMetrics::new()))
    }
    fn series(&self, _s: &ScenarioView<'_>, grid: Grid) -> Option<Box<dyn Series>> {
        Some(Box::new(RpcSeries::new(grid)))
    }
}

impl Metrics for RpcMetrics {
    fn observe(&mut self, rec: &Record<Observation>) {
        RpcMetrics::observe(self, rec)
    }
    fn finish(&self, _end: SimTime) -> serde_json::Value {
        serde_json::to_value(self.summary()).unwrap_or_default()
    }
}
