//! The file form of code-level fault points (`"buggify": {...}`, off when absent): how
//! often an active point fires, how likely a point is active in a run, and points with a
//! probability of their own. The engine's side is `engine/buggify.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::engine::buggify::BuggifyConfig;
use crate::plugin::Problem;

fn default_probability() -> f64 {
    BuggifyConfig::default().probability
}

fn default_activation() -> f64 {
    BuggifyConfig::default().activation
}

/// `"buggify": {"probability": 0.05, "activation": 0.5, "points": {"rpc.slow_reply": 1.0}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BuggifySpec {
    /// How often an active point fires each time it is reached.
    #[serde(default = "default_probability")]
    pub probability: f64,
    /// How likely each point is active in a run (decided when it is first reached).
    #[serde(default = "default_activation")]
    pub activation: f64,
    /// Points with a probability of their own: always active, firing with it (0: never).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub points: BTreeMap<String, f64>,
}

impl BuggifySpec {
    /// The engine's configuration.
    pub fn to_config(&self) -> BuggifyConfig {
        BuggifyConfig {
            probability: self.probability,
            activation: self.activation,
            points: self.points.iter().map(|(n, p)| (n.clone(), *p)).collect(),
        }
    }

    /// Every probability in `[0, 1]`, each problem with its field path.
    pub fn problems(&self, out: &mut Vec<Problem>) {
        let fields = [
            ("probability".to_string(), self.probability),
            ("activation".to_string(), self.activation),
        ];
        for (field, p) in fields
            .into_iter()
            .chain(self.points.iter().map(|(n, p)| (format!("points.{n}"), *p)))
        {
            super::validate::probability(&format!("buggify.{field}"), p, out);
        }
    }
}
