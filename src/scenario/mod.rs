//! The scenario file format: what a user writes to describe a run (nodes and their
//! protocols, the network, faults, the nemesis, which checks apply). JSON read with serde,
//! `deny_unknown_fields` everywhere, durations as strings ("250ms", "1.5s", "2m").
//!
//! This module holds the types; `load` reads files with precise errors, `validate` holds
//! the semantic checks and limits, `build` turns a scenario into a [`crate::Simulation`].

pub mod build;
pub mod format;
pub mod load;
pub mod locate;
pub mod nodes;
pub mod validate;
pub mod words;

use serde::{Deserialize, Serialize};

use crate::engine::fault::{DurationRange, NemesisConfig};
use crate::engine::net::Latency;
use crate::engine::time::SimTime;

pub use load::{ScenarioError, ScenarioErrors, load_scenario, parse_scenario};
pub use nodes::{ChecksSpec, NodeSpec};

/// A whole scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in reports.
    pub name: String,
    /// What the scenario shows.
    #[serde(default)]
    pub description: String,
    /// The seed (overridden by `--seed` or `DETSIM_SEED`).
    #[serde(default)]
    pub seed: u64,
    /// How long to run, in virtual time.
    pub duration: SimTime,
    /// Stop after this many events (a guard against runaway scenarios).
    #[serde(default = "default_max_events")]
    pub max_events: u64,
    /// Order same-time events at random (from the seed) to explore more interleavings.
    #[serde(default)]
    pub random_tiebreak: bool,
    /// The network.
    #[serde(default)]
    pub network: NetworkSpec,
    /// The nodes, each with its role.
    pub nodes: Vec<NodeSpec>,
    /// Faults at given times.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<FaultSpec>,
    /// The random nemesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisSpec>,
    /// Which checks run, and their bounds.
    #[serde(default)]
    pub checks: ChecksSpec,
}

impl Scenario {
    /// The same scenario with every planted bug (canary) switched off: a faithful
    /// failure of a canary passes this way.
    pub fn without_canaries(&self) -> Scenario {
        Scenario {
            nodes: self.nodes.iter().map(NodeSpec::without_canaries).collect(),
            ..self.clone()
        }
    }
}

fn default_max_events() -> u64 {
    50_000_000
}

fn default_latency() -> Latency {
    Latency::constant(SimTime::from_millis(1))
}

fn default_true() -> bool {
    true
}

/// Settings of a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// One-way latency (default: constant 1 ms).
    #[serde(default = "default_latency")]
    pub latency: Latency,
    /// Loss probability.
    #[serde(default)]
    pub drop: f64,
    /// Duplication probability.
    #[serde(default)]
    pub duplicate: f64,
    /// Never reorder (TCP-like) when true; datagrams may overtake when false.
    #[serde(default = "default_true")]
    pub fifo: bool,
}

impl Default for LinkSpec {
    fn default() -> Self {
        LinkSpec {
            latency: Latency::constant(SimTime::from_millis(1)),
            drop: 0.0,
            duplicate: 0.0,
            fifo: true,
        }
    }
}

impl LinkSpec {
    /// The engine's link settings.
    pub fn to_config(&self) -> crate::engine::net::LinkConfig {
        crate::engine::net::LinkConfig {
            latency: self.latency.clone(),
            drop: self.drop,
            duplicate: self.duplicate,
            fifo: self.fifo,
        }
    }
}

/// A per-link override: fields not given are taken from the default.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// Sending node id.
    pub from: String,
    /// Receiving node id.
    pub to: String,
    /// Apply to both directions.
    #[serde(default)]
    pub both: bool,
    /// Latency on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<Latency>,
    /// Loss probability on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop: Option<f64>,
    /// Duplication probability on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<f64>,
    /// FIFO on this link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fifo: Option<bool>,
}

impl LinkOverride {
    /// The settings on this link, given the default.
    pub fn over(&self, default: &LinkSpec) -> LinkSpec {
        LinkSpec {
            latency: self.latency.clone().unwrap_or_else(|| default.latency.clone()),
            drop: self.drop.unwrap_or(default.drop),
            duplicate: self.duplicate.unwrap_or(default.duplicate),
            fifo: self.fifo.unwrap_or(default.fifo),
        }
    }
}

/// The network: a default and per-link overrides.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Settings of every link without an override.
    #[serde(default)]
    pub default: LinkSpec,
    /// Overrides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<LinkOverride>,
}

/// What a clog holds: `{"node": "w1"}` (all its traffic) or `{"from": "a", "to": "b"}`
/// (one direction of one link).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClogSpec {
    /// A node whose traffic is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// Sender of the held link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Receiver of the held link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A fault at a time. With `until`, the fault is undone then (crash → restart,
/// pause → resume, partition/isolate/block → heal, clog → unclog, set_link → the link's
/// settings from the scenario's `network` section).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum FaultSpec {
    /// Crash a node.
    Crash {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    /// Restart a crashed node.
    Restart { at: SimTime, node: String },
    /// Pause a node.
    Pause {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    /// Resume a paused node.
    Resume { at: SimTime, node: String },
    /// Split nodes into groups (unnamed nodes form one more group).
    Partition {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        groups: Vec<Vec<String>>,
    },
    /// Block one direction of one link.
    Block {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        from: String,
        to: String,
    },
    /// Cut a node off from all others.
    Isolate {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        node: String,
    },
    /// Remove every partition, block and isolation.
    Heal { at: SimTime },
    /// Hold a node's or a link's traffic.
    Clog {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        target: ClogSpec,
    },
    /// Release a clog.
    Unclog { at: SimTime, target: ClogSpec },
    /// Release every clog.
    UnclogAll { at: SimTime },
    /// Change a link's settings (`from`/`to` given) or the default (neither given).
    SetLink {
        at: SimTime,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        until: Option<SimTime>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        config: LinkSpec,
    },
}

impl FaultSpec {
    /// When it happens.
    pub fn at(&self) -> SimTime {
        match self {
            FaultSpec::Crash { at, .. }
            | FaultSpec::Restart { at, .. }
            | FaultSpec::Pause { at, .. }
            | FaultSpec::Resume { at, .. }
            | FaultSpec::Partition { at, .. }
            | FaultSpec::Block { at, .. }
            | FaultSpec::Isolate { at, .. }
            | FaultSpec::Heal { at }
            | FaultSpec::Clog { at, .. }
            | FaultSpec::Unclog { at, .. }
            | FaultSpec::UnclogAll { at }
            | FaultSpec::SetLink { at, .. } => *at,
        }
    }

    /// When it is undone, if it has a window.
    pub fn until(&self) -> Option<SimTime> {
        match self {
            FaultSpec::Crash { until, .. }
            | FaultSpec::Pause { until, .. }
            | FaultSpec::Partition { until, .. }
            | FaultSpec::Block { until, .. }
            | FaultSpec::Isolate { until, .. }
            | FaultSpec::Clog { until, .. }
            | FaultSpec::SetLink { until, .. } => *until,
            _ => None,
        }
    }
}

// Nemesis defaults are the engine's own (`NemesisConfig::default()`).
fn default_range() -> DurationRange {
    NemesisConfig::default().downtime
}

fn default_burst_drop() -> f64 {
    NemesisConfig::default().burst_drop
}

fn default_burst_dup() -> f64 {
    NemesisConfig::default().burst_duplicate
}

fn default_max_down() -> usize {
    NemesisConfig::default().max_down
}

/// The random nemesis: rates are faults per simulated second (0 = off). Everything it
/// does is healed by `stop`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NemesisSpec {
    /// When it starts.
    #[serde(default)]
    pub start: SimTime,
    /// When it stops and everything heals.
    pub stop: SimTime,
    /// Nodes it may hit (default: every node).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Crashes per second.
    #[serde(default)]
    pub crash_rate: f64,
    /// Downtime of a crash.
    #[serde(default = "default_range")]
    pub downtime: DurationRange,
    /// Pauses per second.
    #[serde(default)]
    pub pause_rate: f64,
    /// Length of a pause.
    #[serde(default = "default_range")]
    pub pause_time: DurationRange,
    /// Partitions per second.
    #[serde(default)]
    pub partition_rate: f64,
    /// Length of a partition.
    #[serde(default = "default_range")]
    pub partition_time: DurationRange,
    /// Node clogs per second.
    #[serde(default)]
    pub clog_rate: f64,
    /// Length of a clog.
    #[serde(default = "default_range")]
    pub clog_time: DurationRange,
    /// Loss/duplication bursts per second.
    #[serde(default)]
    pub loss_rate: f64,
    /// Length of a burst.
    #[serde(default = "default_range")]
    pub loss_time: DurationRange,
    /// Drop probability in a burst.
    #[serde(default = "default_burst_drop")]
    pub burst_drop: f64,
    /// Duplicate probability in a burst.
    #[serde(default = "default_burst_dup")]
    pub burst_duplicate: f64,
    /// At most this many targets down (crashed or paused) at once.
    #[serde(default = "default_max_down")]
    pub max_down: usize,
}
