//! Discovery as a plugin: the `registry` role, the `disc.*` checks and the
//! `metrics.discovery` figures.

use super::check::{
    NO_PHANTOM, NO_STALE, VISIBLE_AFTER_HEAL, check_no_phantom, check_no_stale, check_visible_after_heal,
};
use super::metrics::DiscMetrics;
use super::roles::RegistryRole;
use crate::check::Verdict;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Judgement, Metrics, Observation, Protocol, RoleDef, ScenarioView, batch_where};
use crate::protocols::Obs;

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
        let j: Vec<(_, Judgement<Obs>)> = vec![
            (
                NO_PHANTOM,
                Box::new(|r, cx| Some(Verdict::judged(NO_PHANTOM, check_no_phantom(r, cx)))),
            ),
            (
                NO_STALE,
                Box::new(|r, cx| Some(Verdict::judged(NO_STALE, check_no_stale(r, cx)))),
            ),
            (
                VISIBLE_AFTER_HEAL,
                Box::new(|r, cx| Some(check_visible_after_heal(r, cx))),
            ),
        ];
        // Its checks read only its own observations.
        batch_where(j, |o| matches!(o, Obs::Disc(_)))
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
