//! The replicated key-value store as a plugin: the `rkv_replica` and `rkv_client`
//! roles, the `rkv.*` checks and the `metrics.rkv` figures.

use super::RkvMsg;
use super::check::{Linearizable, MAX_STEPS, Progress};
use super::metrics::RkvMetrics;
use super::roles::{RkvClientRole, RkvReplicaRole};
use crate::engine::time::SimTime;
use crate::plugin::{Check, Metrics, Payload, Protocol, RoleDef, ScenarioView, Setting, ms};

/// The replicated key-value store (name `rkv`, roles `rkv_replica` and `rkv_client`).
pub struct ReplicatedKv;

const BOUND: &str = "rkv_progress_bound";
const SETTLE: &str = "rkv_settle";

impl Protocol for ReplicatedKv {
    fn name(&self) -> &'static str {
        "rkv"
    }
    fn roles(&self) -> Vec<RoleDef> {
        vec![
            RoleDef::of::<RkvReplicaRole>("rkv_replica"),
            RoleDef::of::<RkvClientRole>("rkv_client"),
        ]
    }
    fn settings(&self) -> Vec<Setting> {
        vec![
            Setting::new(BOUND, SimTime::from_secs(3)),
            Setting::new(SETTLE, SimTime::from_secs(1)),
        ]
    }
    fn checks(&self, s: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
        // The scenario's one liveness bound, when given, wins over rkv's own.
        let bound = s
            .liveness()
            .unwrap_or(s.settings.get(BOUND).unwrap_or(SimTime::from_secs(3)));
        let settle = s.settings.get(SETTLE).unwrap_or(SimTime::from_secs(1));
        vec![
            Box::new(Linearizable::new(MAX_STEPS)),
            Box::new(Progress::new(bound, settle)),
        ]
    }
    fn metrics(&self, _s: &ScenarioView<'_>) -> Option<Box<dyn Metrics>> {
        Some(Box::new(RkvMetrics::new()))
    }
    fn summary(&self, m: &serde_json::Value) -> Option<String> {
        let l = &m["latency"];
        Some(format!(
            "{} ops, {} ok, {} unknown, {} failed, {} retries, {} leader changes; latency p50 {} p99 {} max {}",
            m["invoked"],
            m["ok"],
            m["unknown"],
            m["failed"],
            m["retries"],
            m["leader_changes"],
            ms(&l["p50_ns"]),
            ms(&l["p99_ns"]),
            ms(&l["max_ns"])
        ))
    }
    fn label(&self, msg: &Payload) -> Option<String> {
        msg.downcast_ref::<RkvMsg>().map(RkvMsg::to_string)
    }
}
