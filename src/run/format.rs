//! How the engine's run outcomes are written in reports (`run --json`) and trace lines:
//! why a run stopped, a node's state, why a message was dropped, the counters. The
//! engine has no serde; these impls live here, in the run layer, as
//! `#[serde(remote = ...)]` mirrors the compiler checks against the engine's types.

use serde::{Serialize, Serializer};

use crate::engine::net::DropReason;
use crate::engine::sim::{NodeState, Outcome, Stats};

/// The mirrors the formats are derived from (named as the engine names them).
mod def {
    use serde::Serialize;

    #[derive(Serialize)]
    #[serde(remote = "crate::engine::sim::Outcome", rename_all = "snake_case")]
    pub enum Outcome {
        Quiescent,
        TimeLimit,
        EventBudget,
        BudgetExhausted,
    }

    #[derive(Serialize)]
    #[serde(remote = "crate::engine::sim::NodeState", rename_all = "snake_case")]
    pub enum NodeState {
        Up,
        Down,
        Paused,
    }

    #[derive(Serialize)]
    #[serde(remote = "crate::engine::net::DropReason", rename_all = "snake_case")]
    pub enum DropReason {
        Loss,
        Partition,
        NodeDown,
        UnknownNode,
        Crashed,
        QueueFull,
    }

    #[derive(Serialize)]
    #[serde(remote = "crate::engine::sim::Stats")]
    pub struct Stats {
        events: u64,
        sent: u64,
        delivered: u64,
        duplicated: u64,
        dropped_loss: u64,
        dropped_partition: u64,
        dropped_node_down: u64,
        dropped_unknown: u64,
        dropped_crashed: u64,
        held_clogged: u64,
        held_paused: u64,
        timers: u64,
        faults: u64,
    }
}

impl Serialize for Outcome {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::Outcome::serialize(self, s)
    }
}

impl Serialize for NodeState {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::NodeState::serialize(self, s)
    }
}

impl Serialize for DropReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::DropReason::serialize(self, s)
    }
}

impl Serialize for Stats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        def::Stats::serialize(self, s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_outcomes_in_reports() {
        let j = |v: serde_json::Value| v.to_string();
        assert_eq!(j(serde_json::to_value(Outcome::TimeLimit).unwrap()), r#""time_limit""#);
        assert_eq!(j(serde_json::to_value(NodeState::Paused).unwrap()), r#""paused""#);
        assert_eq!(j(serde_json::to_value(DropReason::NodeDown).unwrap()), r#""node_down""#);
        let s = Stats {
            faults: 2,
            ..Stats::default()
        };
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(
            (v["faults"].as_u64(), v.as_object().map(|m| m.len())),
            (Some(2), Some(13))
        );
    }
}
