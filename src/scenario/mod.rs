//! The scenario file format: what a user writes to describe a run (nodes and their
//! protocols, the network, faults, the nemesis, which checks apply). JSON read with serde,
//! `deny_unknown_fields` everywhere, durations as strings ("250ms", "1.5s", "2m").
//!
//! This module holds the types; `faults` the file form of a fault, `load` reads files with precise errors, `validate` holds
//! the semantic checks and limits, `build` turns a scenario into a [`crate::Simulation`].

pub(crate) mod budgets;
pub(crate) mod buggify;
pub(crate) mod build;
pub(crate) mod checks;
pub(crate) mod clock;
pub(crate) mod faults;
pub(crate) mod format;
pub(crate) mod gray;
pub(crate) mod load;
pub(crate) mod locate;
pub(crate) mod node;
pub(crate) mod validate;
pub(crate) mod words;

use serde::{Deserialize, Serialize};

use crate::engine::fault::{DurationRange, NemesisConfig, TimedFault};
use crate::engine::net::Latency;
use crate::engine::time::SimTime;
use crate::plugin::Protocols;

pub use budgets::{BYTES_PER_EVENT, BYTES_PER_HELD, RSS_EVERY, RunLimits};
pub use buggify::BuggifySpec;
pub use checks::ChecksSpec;
pub use clock::{ClockSpec, SignedDuration, StepSpec};
pub use gray::{BandwidthSpec, ProcessingSpec};
pub use load::{MAX_FAILURE_FILE_BYTES, MAX_FILE_BYTES, ScenarioError, ScenarioErrors, load_scenario, parse_scenario};
pub use node::NodeEntry;
pub use validate::{MAX_DURATION, MAX_EVENTS, MAX_FAULTS, MAX_NODES, validate};

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
    pub nodes: Vec<NodeEntry>,
    /// Faults at given times.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "faults::list")]
    pub faults: Vec<FaultSpec>,
    /// The random nemesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nemesis: Option<NemesisSpec>,
    /// Which checks run, and their bounds.
    #[serde(default)]
    pub checks: ChecksSpec,
    /// How a crash treats the writes nodes did not sync (default: it keeps them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<StorageSpec>,
    /// The run's memory and trace budgets: set by the command line, never in the file.
    #[serde(skip)]
    pub limits: RunLimits,
    /// Code-level fault points (`Ctx::buggify`): off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buggify: Option<BuggifySpec>,
}

impl Scenario {
    /// The same scenario with every planted bug (canary) switched off: a faithful
    /// failure of a canary passes this way.
    pub fn without_canaries(&self) -> Scenario {
        Scenario {
            nodes: self.nodes.iter().map(NodeEntry::without_canaries).collect(),
            ..self.clone()
        }
    }

    /// The nodes as protocols see them.
    pub fn node_refs(&self) -> Vec<crate::plugin::NodeRef<'_>> {
        self.nodes.iter().map(NodeEntry::as_ref).collect()
    }

    /// Does the scenario have nodes of protocol `name`?
    pub fn has_protocol(&self, name: &str) -> bool {
        self.nodes.iter().any(|n| n.protocol == name)
    }

    /// The registered protocols that have nodes in this scenario, in registration order:
    /// the ones whose checks, metrics and plots a run of it uses.
    pub fn active<'p>(&self, protocols: &'p Protocols) -> impl Iterator<Item = &'p dyn crate::plugin::Protocol> {
        protocols.iter().filter(|p| self.has_protocol(p.name()))
    }

    /// `f` of what a protocol sees of this scenario (its nodes, the `checks` settings with
    /// their defaults, the fault-free prefix, the duration).
    pub fn with_view<T>(&self, protocols: &Protocols, f: impl FnOnce(&crate::plugin::ScenarioView<'_>) -> T) -> T {
        let refs = self.node_refs();
        let settings = self.checks.settings(protocols);
        f(&crate::plugin::ScenarioView {
            nodes: &refs,
            settings: &settings,
            fault_free_until: self.fault_free_until(),
            duration: self.duration,
            max_events: self.max_events,
        })
    }

    /// The end of the fault-free prefix, the window `pool.work_conservation` judges: the
    /// first scheduled fault or the start of the nemesis (its first fault cannot come
    /// earlier), or the end of time without either; `ZERO` (nothing judged) when a link
    /// of the scenario's network loses or duplicates messages from the start.
    pub fn fault_free_until(&self) -> SimTime {
        let clean = |drop: f64, dup: f64| drop <= 0.0 && dup <= 0.0;
        let n = &self.network;
        let faithful = clean(n.default.drop, n.default.duplicate)
            && n.links
                .iter()
                .all(|l| clean(l.drop.unwrap_or(0.0), l.duplicate.unwrap_or(0.0)));
        if !faithful {
            return SimTime::ZERO;
        }
        self.faults
            .iter()
            .map(|f| f.at)
            .chain(self.nemesis.as_ref().map(|n| n.start))
            .min()
            .unwrap_or(SimTime::MAX)
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

impl From<&crate::engine::net::LinkConfig> for LinkSpec {
    fn from(c: &crate::engine::net::LinkConfig) -> LinkSpec {
        LinkSpec {
            latency: c.latency.clone(),
            drop: c.drop,
            duplicate: c.duplicate,
            fifo: c.fifo,
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
    /// This link's bandwidth (messages per second, with a bounded queue); none: no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bandwidth: Option<gray::BandwidthSpec>,
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

/// A fault at a time, naming nodes by their ids: the engine's [`TimedFault`] over
/// names. With `until`, the fault is undone then (crash → restart, pause → resume,
/// partition/isolate/block → heal, clog → unclog, set_link → the link's settings from
/// the scenario's `network` section). Its file form is in `scenario/faults.rs`.
pub type FaultSpec = TimedFault<String>;

impl NemesisSpec {
    /// A nemesis that does nothing until `stop` (every rate 0, every range at its
    /// default): the base for hand-built ones (`NemesisSpec { crash_rate: 1.0, ..NemesisSpec::quiet(stop) }`).
    pub fn quiet(stop: SimTime) -> Self {
        let d = NemesisConfig::default();
        NemesisSpec {
            start: SimTime::ZERO,
            stop,
            targets: Vec::new(),
            crash_rate: 0.0,
            downtime: d.downtime,
            pause_rate: 0.0,
            pause_time: d.pause_time,
            partition_rate: 0.0,
            partition_time: d.partition_time,
            clog_rate: 0.0,
            clog_time: d.clog_time,
            loss_rate: 0.0,
            loss_time: d.loss_time,
            burst_drop: d.burst_drop,
            burst_duplicate: d.burst_duplicate,
            max_down: d.max_down,
            slow_rate: 0.0,
            slow_time: d.slow_time,
            slow_factor: d.slow_factor,
            thin_link_rate: 0.0,
            thin_link_time: d.thin_link_time,
            thin_bandwidth: d.thin_bandwidth,
            disk_full_rate: 0.0,
            disk_full_time: d.disk_full_time,
            clock_rate: 0.0,
            clock_step: default_range(),
            clock_drift_ppm: clock::default_drift(),
            clock_drift_time: default_range(),
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
    #[serde(default = "default_range", with = "faults::DurationRange")]
    pub downtime: DurationRange,
    /// Pauses per second.
    #[serde(default)]
    pub pause_rate: f64,
    /// Length of a pause.
    #[serde(default = "default_range", with = "faults::DurationRange")]
    pub pause_time: DurationRange,
    /// Partitions per second.
    #[serde(default)]
    pub partition_rate: f64,
    /// Length of a partition.
    #[serde(default = "default_range", with = "faults::DurationRange")]
    pub partition_time: DurationRange,
    /// Node clogs per second.
    #[serde(default)]
    pub clog_rate: f64,
    /// Length of a clog.
    #[serde(default = "default_range", with = "faults::DurationRange")]
    pub clog_time: DurationRange,
    /// Loss/duplication bursts per second.
    #[serde(default)]
    pub loss_rate: f64,
    /// Length of a burst.
    #[serde(default = "default_range", with = "faults::DurationRange")]
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
    /// Slow-node windows per second.
    #[serde(default, skip_serializing_if = "gray::is_zero")]
    pub slow_rate: f64,
    /// Length of a slow-node window.
    #[serde(
        default = "default_range",
        skip_serializing_if = "gray::is_default_range",
        with = "faults::DurationRange"
    )]
    pub slow_time: DurationRange,
    /// The factor of a slow-node window (10 = ten times slower).
    #[serde(
        default = "gray::default_slow_factor",
        skip_serializing_if = "gray::is_default_slow_factor",
        with = "gray::NumberRange"
    )]
    pub slow_factor: crate::engine::gray_nemesis::NumberRange,
    /// Thin-link windows per second.
    #[serde(default, skip_serializing_if = "gray::is_zero")]
    pub thin_link_rate: f64,
    /// Length of a thin-link window.
    #[serde(
        default = "default_range",
        skip_serializing_if = "gray::is_default_range",
        with = "faults::DurationRange"
    )]
    pub thin_link_time: DurationRange,
    /// The rate of a thin link, messages per second.
    #[serde(
        default = "gray::default_thin_bandwidth",
        skip_serializing_if = "gray::is_default_thin_bandwidth",
        with = "gray::NumberRange"
    )]
    pub thin_bandwidth: crate::engine::gray_nemesis::NumberRange,
    /// Full disks per second.
    #[serde(default, skip_serializing_if = "gray::is_zero")]
    pub disk_full_rate: f64,
    /// How long a disk stays full.
    #[serde(
        default = "default_range",
        with = "faults::DurationRange",
        skip_serializing_if = "gray::is_default_range"
    )]
    pub disk_full_time: DurationRange,
    /// Clock faults per second (steps and drift windows; see `scenario/clock.rs`).
    #[serde(default, skip_serializing_if = "gray::is_zero")]
    pub clock_rate: f64,
    /// Sizes of clock steps (each forward or back, drawn).
    #[serde(
        default = "default_range",
        skip_serializing_if = "gray::is_default_range",
        with = "faults::DurationRange"
    )]
    pub clock_step: DurationRange,
    /// Rates of drift windows, in ppm.
    #[serde(
        default = "clock::default_drift",
        skip_serializing_if = "clock::is_default_drift",
        with = "clock::PpmRangeSpec"
    )]
    pub clock_drift_ppm: crate::engine::clock::PpmRange,
    /// Lengths of drift windows.
    #[serde(
        default = "default_range",
        skip_serializing_if = "gray::is_default_range",
        with = "faults::DurationRange"
    )]
    pub clock_drift_time: DurationRange,
}

/// What a crash does to unsynced writes: every node's storage (see the engine's
/// `storage` module: typed values keep a prefix of their unsynced writes, the disk a
/// prefix of its journal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSpec {
    /// `kept` (the default: a crash keeps every write) or `may_be_lost` (a crash keeps
    /// what was synced, and of the rest a prefix drawn from the seed).
    #[serde(default)]
    pub unsynced_writes: UnsyncedWrites,
    /// The first lost write of a disk is torn (half written) instead: only with
    /// `may_be_lost`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub torn_writes: bool,
}

/// What a crash does to the writes a node did not sync.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsyncedWrites {
    /// A crash keeps them.
    #[default]
    Kept,
    /// Each may be lost, in the order a disk writes them back.
    MayBeLost,
}

impl StorageSpec {
    /// The engine's setting.
    pub fn to_faults(&self) -> crate::engine::storage::StorageFaults {
        crate::engine::storage::StorageFaults {
            lose_unsynced: self.unsynced_writes == UnsyncedWrites::MayBeLost,
            torn_writes: self.torn_writes,
        }
    }
}
