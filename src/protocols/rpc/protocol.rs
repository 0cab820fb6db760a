//! RPC as a plugin: the `rpc_server` and `rpc_client` roles, the `rpc.*` checks and the
//! `metrics.rpc` figures.

use super::check::{AtMostOnce, CorrectResult, DepositConsistency, RpcLiveness};
use super::metrics::RpcMetrics;
use super::roles::{RpcClientRole, RpcServerRole};
use super::series::RpcSeries;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Grid, Metrics, Observation, Protocol, RoleDef, ScenarioView, Series, ms};

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
        // Online: each keeps only live state (see `check.rs`).
        vec![
            Box::new(CorrectResult::new()),
            Box::new(DepositConsistency::new()),
            Box::new(AtMostOnce::new()),
            Box::new(RpcLiveness::new()),
        ]
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
