//! Discovery as a plugin: the `registry` role, the `disc.*` checks and the
//! `metrics.discovery` figures.

use super::check::{NoPhantom, NoStale, VisibleAfterHeal};
use super::metrics::DiscMetrics;
use super::roles::RegistryRole;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Metrics, Observation, Protocol, RoleDef, ScenarioView};

/// The service registry protocol (name `discovery`, role `registry`).
pub struct Discovery;

impl Protocol for Discovery {
    fn name(&self) -> &'static str {
        "discovery"
    }
    fn roles(&self) -> Vec<RoleDef> {
        vec![RoleDef::of::<RegistryRole>("registry")]
    }
    fn checks(&self, _s: &ScenarioView<'_>) -> Vec<Box<dyn Check>> {
        // Online: each keeps only live state (see `check.rs`).
        vec![
            Box::new(NoPhantom::new()),
            Box::new(NoStale::new()),
            Box::new(VisibleAfterHeal::new()),
        ]
    }
    fn summary(&self, d: &serde_json::Value) -> Option<String> {
        Some(format!(
            "{} registrations, {} renewals, {} expiries, {} lookups ({} stale)",
            d["registrations"], d["renewals"], d["expiries"], d["lookups"], d["stale_lookups"]
        ))
    }
    fn metrics(&self, _s: &ScenarioView<'_>) -> Option<Box<dyn Metrics>> {
        Some(Box::new(DiscMetrics::new()))
    }
}

impl Metrics for DiscMetrics {
    fn observe(&mut self, rec: &Record<Observation>) {
        DiscMetrics::observe(self, rec)
    }
    fn finish(&self, _end: SimTime) -> serde_json::Value {
        serde_json::to_value(self.summary()).unwrap_or_default()
    }
}
