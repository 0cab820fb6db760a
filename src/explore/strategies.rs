//! proptest strategies for scenarios: network settings, topologies (node counts and
//! roles), workloads, fault schedules, nemesis settings, and a [`scenario`] strategy that
//! combines them into scenarios that always pass [`crate::scenario::validate::validate`].
//!
//! Everything is built from `Vec` strategies and integer ranges, so proptest's own
//! shrinking makes the simulation smaller: fewer faults, nodes and calls, shorter fault
//! windows, shorter runs, quieter networks. Node references inside faults are indices
//! taken modulo the node count, so removing a node never makes a fault invalid.
//!
//! Fault windows are expressed in per-mille of the run's duration and always carry their
//! undo (`until`), so a schedule keeps its own invariants: a restart only after its crash,
//! a resume after its pause, a heal after a partition, everything inside the run.
//!
//! ```
//! use detsim::explore::strategies::{ScenarioConfig, scenario};
//! use proptest::strategy::{Strategy, ValueTree};
//! use proptest::test_runner::TestRunner;
//!
//! let mut runner = TestRunner::deterministic();
//! let s = scenario(ScenarioConfig::default()).new_tree(&mut runner).unwrap().current();
//! assert!(detsim::scenario::validate(&detsim::Protocols::builtin(), &s).is_empty());
//! ```

use proptest::collection::vec;
use proptest::prelude::*;

use crate::engine::fault::{ClogTarget, Fault, TimedFault};
use crate::engine::net::{Latency, LinkConfig};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::protocols::discovery::roles::{RegisterSpec, RegistryRole, ServiceSpec};
use crate::protocols::rpc::roles::{MixSpec, RpcClientRole, RpcServerRole};
use crate::protocols::worker_pool::roles::{ArrivalsSpec, DispatcherRole, WorkerRole};
use crate::scenario::{
    ChecksSpec, FaultSpec, LinkSpec, NemesisSpec, NetworkSpec, NodeEntry, Scenario, StorageSpec, UnsyncedWrites,
};

fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}

/// A link latency: constant, uniform or exponential, of a few milliseconds. Shrinks
/// towards a constant of zero.
pub fn latency() -> impl Strategy<Value = Latency> + Clone {
    prop_oneof![
        (0u64..=5).prop_map(|v| Latency::constant(ms(v))),
        (0u64..=3, 0u64..=5).prop_map(|(lo, extra)| Latency::Uniform {
            min: ms(lo),
            max: ms(lo + extra),
        }),
        (1u64..=5).prop_map(|m| Latency::Exponential { mean: ms(m) }),
    ]
}

/// Settings of a link: latency, loss and duplication below `max_loss` (per-mille steps,
/// shrinking to a perfect link), FIFO or not.
pub fn link_spec(max_loss: f64) -> impl Strategy<Value = LinkSpec> + Clone {
    let top = (max_loss.clamp(0.0, 1.0) * 1000.0) as u32;
    (latency(), 0..=top, 0..=top, any::<bool>()).prop_map(|(latency, drop, dup, datagram)| LinkSpec {
        latency,
        drop: f64::from(drop) / 1000.0,
        duplicate: f64::from(dup) / 1000.0,
        fifo: !datagram,
    })
}

/// What a planned fault does. Earlier kinds are simpler: shrinking moves towards `Crash`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanKind {
    /// Crash a node, restart it at the end of the window.
    Crash,
    /// Pause a node, resume it.
    Pause,
    /// Cut a node off from all others, heal.
    Isolate,
    /// Split one or two nodes from the rest, heal.
    Partition,
    /// Block one direction of one link, heal.
    Block,
    /// Hold a node's traffic, release it.
    Clog,
    /// Lossy, duplicating network for a while, then the default settings again.
    LossBurst,
    /// Slow a node ten times (a `slow_node` window; the node gets a processing model of
    /// 1 ms per message so that it has something to slow).
    Slow,
    /// Thin one direction of one link to 50 messages per second (a `thin_link` window).
    Thin,
    /// A node's disk is full for a while (not in [`PlanKind::ALL`]: scenarios get it
    /// with [`ScenarioConfig::storage`]).
    DiskFull,
    /// Step a node's wall clock forward or back (up to 2 s), at an instant.
    ClockStep,
    /// A node's clock runs up to 10% fast or slow for a while.
    ClockDrift,
}

impl PlanKind {
    /// Every kind.
    pub const ALL: [PlanKind; 11] = [
        PlanKind::Crash,
        PlanKind::Pause,
        PlanKind::Isolate,
        PlanKind::Partition,
        PlanKind::Block,
        PlanKind::Clog,
        PlanKind::LossBurst,
        PlanKind::Slow,
        PlanKind::Thin,
        PlanKind::ClockStep,
        PlanKind::ClockDrift,
    ];
}

/// A fault with a window, independent of node names and of the run's length: node
/// references are indices (taken modulo the node count), times are per-mille of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultPlan {
    /// What happens.
    pub kind: PlanKind,
    /// The node hit (or the first node of a link or group).
    pub a: usize,
    /// The second node of a link or partition group.
    pub b: usize,
    /// Start, in per-mille of the duration (0..1000).
    pub start: u32,
    /// Length, in per-mille of the duration (at least 1 ms).
    pub len: u32,
}

/// One planned fault of the given kinds (must not be empty; falls back to crashes).
pub fn fault_plan(kinds: Vec<PlanKind>) -> impl Strategy<Value = FaultPlan> + Clone {
    let kinds = if kinds.is_empty() { vec![PlanKind::Crash] } else { kinds };
    (
        proptest::sample::select(kinds),
        0usize..64,
        0usize..64,
        0u32..1000,
        1u32..=500,
    )
        .prop_map(|(kind, a, b, start, len)| FaultPlan { kind, a, b, start, len })
}

/// Up to `max` planned faults of the given kinds; shrinks by dropping faults, moving them
/// earlier and shortening their windows.
pub fn fault_plans(kinds: Vec<PlanKind>, max: usize) -> impl Strategy<Value = Vec<FaultPlan>> + Clone {
    vec(fault_plan(kinds), 0..=max)
}

impl FaultPlan {
    /// The window `(at, until)` in a run of `duration`, in whole milliseconds, inside
    /// `[0, duration]` with `until > at`.
    pub fn window(&self, duration: SimTime) -> (SimTime, SimTime) {
        let d = (duration.as_nanos() / 1_000_000).max(1);
        let at = (d * u64::from(self.start.min(999)) / 1000).min(d - 1);
        let len = (d * u64::from(self.len) / 1000).max(1);
        (ms(at), ms((at + len).min(d)))
    }

    /// Node indices `(a, b)` for `n` nodes, `b != a` when `n > 1`.
    fn pair(&self, n: usize) -> (usize, usize) {
        let a = self.a % n;
        let mut b = self.b % n;
        if b == a && n > 1 {
            b = (a + 1) % n;
        }
        (a, b)
    }

    /// As a scenario fault over `names` (must not be empty), in a run of `duration` whose
    /// default link is `default`.
    pub fn to_spec(&self, names: &[String], duration: SimTime, default: &LinkSpec) -> FaultSpec {
        self.to_fault(names, duration, &default.to_config())
    }

    /// As a fault window over `nodes` (must not be empty: engine ids for users' own
    /// protocols, or a scenario's names), in a run of `duration` whose default link is
    /// `default`. Its end undoes it alone.
    pub fn to_fault<N: Clone + Default>(&self, nodes: &[N], duration: SimTime, default: &LinkConfig) -> TimedFault<N> {
        let (at, until) = self.window(duration);
        let n = nodes.len().max(1);
        let node = |i: usize| nodes.get(i).cloned().unwrap_or_default();
        let (a, b) = self.pair(n);
        let fault = match self.kind {
            PlanKind::Crash => Fault::Crash { node: node(a) },
            PlanKind::Pause => Fault::Pause { node: node(a) },
            PlanKind::Isolate => Fault::Isolate { node: node(a) },
            PlanKind::Block if n > 1 => Fault::Block {
                from: node(a),
                to: node(b),
            },
            PlanKind::Partition | PlanKind::Block => {
                let mut group = vec![node(a)];
                if b != a && self.b % 2 == 1 {
                    group.push(node(b));
                }
                Fault::Partition { groups: vec![group] }
            }
            PlanKind::Clog => Fault::Clog {
                target: ClogTarget::Node { node: node(a) },
            },
            PlanKind::LossBurst => Fault::SetLink {
                link: None,
                config: LinkConfig {
                    drop: 0.3,
                    duplicate: 0.2,
                    ..default.clone()
                },
            },
            PlanKind::Thin if n > 1 => Fault::ThinLink {
                from: node(a),
                to: node(b),
                rate: 50.0,
            },
            PlanKind::Slow | PlanKind::Thin => Fault::SlowNode {
                node: node(a),
                factor: 10.0,
            },
            PlanKind::DiskFull => Fault::DiskFull { node: node(a) },
            PlanKind::ClockStep => {
                // -2 s to +1.75 s in quarter seconds (an instant fault: no window).
                let by_ns = ((self.b % 16) as i64 - 8) * 250_000_000;
                return TimedFault::at(at, Fault::ClockStep { node: node(a), by_ns });
            }
            PlanKind::ClockDrift => Fault::ClockDrift {
                node: node(a),
                // -10% to +10% in steps of 1%.
                ppm: ((self.b % 21) as i64 - 10) * 10_000,
            },
        };
        TimedFault::window(at, until, fault)
    }
}

/// A timed fault schedule for a user's own simulation: up to `max` windowed faults of
/// `kinds` over `nodes`, inside `duration`, sorted by time. `default` is the network's
/// default link (a loss burst starts from it).
pub fn timed_faults(
    nodes: Vec<NodeId>,
    duration: SimTime,
    kinds: Vec<PlanKind>,
    max: usize,
    default: LinkConfig,
) -> impl Strategy<Value = Vec<TimedFault>> + Clone {
    fault_plans(kinds, max).prop_map(move |plans| {
        let mut out: Vec<TimedFault> = plans.iter().map(|p| p.to_fault(&nodes, duration, &default)).collect();
        out.sort_by_key(|f| f.at);
        out
    })
}

/// A scenario fault schedule over `names` (must not be empty): up to `max` windowed
/// faults of `kinds`, inside `duration`.
pub fn fault_schedule(
    names: Vec<String>,
    duration: SimTime,
    kinds: Vec<PlanKind>,
    max: usize,
    default: LinkSpec,
) -> impl Strategy<Value = Vec<FaultSpec>> + Clone {
    fault_plans(kinds, max).prop_map(move |plans| plans.iter().map(|p| p.to_spec(&names, duration, &default)).collect())
}

/// Nemesis settings independent of the run's length: per-mille start and stop, rates in
/// tenths of a fault per second. Shrinks towards a quiet nemesis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NemesisPlan {
    /// Start, per-mille of the duration.
    pub start: u32,
    /// Stop, per-mille of the duration (after start).
    pub stop: u32,
    /// Rates in tenths per second: crash, pause, partition, clog, loss.
    pub rates: [u32; 5],
    /// Most targets down at once.
    pub max_down: usize,
    /// Clock faults (steps, drift windows) in tenths per second.
    pub clock_rate: u32,
}

/// Nemesis plans with every rate at most `max_rate` per second.
pub fn nemesis_plan(max_rate: f64) -> impl Strategy<Value = NemesisPlan> + Clone {
    let top = (max_rate.clamp(0.0, 100.0) * 10.0) as u32;
    (
        0u32..500,
        500u32..=1000,
        [0..=top, 0..=top, 0..=top, 0..=top, 0..=top],
        1usize..=2,
        0..=top,
    )
        .prop_map(|(start, stop, rates, max_down, clock_rate)| NemesisPlan {
            start,
            stop,
            rates,
            max_down,
            clock_rate,
        })
}

impl NemesisPlan {
    /// The nemesis section of a run of `duration` (at least 2 ms), hitting every node.
    pub fn to_spec(&self, duration: SimTime) -> NemesisSpec {
        let d = (duration.as_nanos() / 1_000_000).max(2);
        let start = (d * u64::from(self.start) / 1000).min(d - 1);
        let stop = (d * u64::from(self.stop) / 1000).clamp(start + 1, d);
        let rate = |i: usize| f64::from(self.rates[i]) / 10.0;
        let range = |lo: u64, hi: u64| crate::engine::fault::DurationRange {
            min: ms(lo),
            max: ms(hi),
        };
        NemesisSpec {
            start: ms(start),
            stop: ms(stop),
            targets: Vec::new(),
            crash_rate: rate(0),
            downtime: range(50, 500),
            pause_rate: rate(1),
            pause_time: range(20, 300),
            partition_rate: rate(2),
            partition_time: range(50, 500),
            clog_rate: rate(3),
            clog_time: range(20, 300),
            loss_rate: rate(4),
            loss_time: range(50, 500),
            burst_drop: 0.2,
            burst_duplicate: 0.1,
            max_down: self.max_down,
            clock_rate: f64::from(self.clock_rate) / 10.0,
            clock_step: range(50, 2000),
            clock_drift_ppm: crate::engine::clock::PpmRange::new(-100_000, 100_000),
            clock_drift_time: range(50, 500),
            disk_full_rate: 0.0,
            disk_full_time: range(50, 500),
            ..NemesisSpec::quiet(ms(stop))
        }
    }
}

/// Nemesis settings for a run of `duration`.
pub fn nemesis(duration: SimTime, max_rate: f64) -> impl Strategy<Value = NemesisSpec> + Clone {
    nemesis_plan(max_rate).prop_map(move |p| p.to_spec(duration))
}

/// Which planted bugs the generated nodes carry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Canaries {
    /// RPC servers do not deduplicate (`dedupe: false`).
    pub no_dedupe: bool,
    /// The registry never expires entries.
    pub never_expire: bool,
    /// The dispatcher never reassigns an expired lease.
    pub never_reassign: bool,
    /// Workers return the value unchanged.
    pub return_unchanged: bool,
    /// RPC servers answer an overflowing product wrapped instead of with an error.
    pub wrapping_multiply: bool,
    /// RPC servers never sync their dedupe table.
    pub unsynced_dedupe: bool,
    /// The registry times entries by the registrant's wall-clock timestamp.
    pub trust_registrant_clock: bool,
}

/// What [`scenario`] generates.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioConfig {
    /// RPC servers and clients with fixed servers.
    pub rpc: bool,
    /// A worker pool: dispatcher and workers.
    pub pool: bool,
    /// A registry, registered servers, clients finding them by service name.
    pub discovery: bool,
    /// Planted bugs.
    pub canaries: Canaries,
    /// Shortest run, in milliseconds (at least 10).
    pub min_duration_ms: u64,
    /// Longest run, in milliseconds.
    pub max_duration_ms: u64,
    /// Most scheduled faults.
    pub max_faults: usize,
    /// The kinds of scheduled faults.
    pub fault_kinds: Vec<PlanKind>,
    /// Highest nemesis rate per second (0: never a nemesis).
    pub nemesis_max_rate: f64,
    /// Highest loss/duplication probability of the default link.
    pub max_loss: f64,
    /// Most clients per protocol.
    pub max_clients: usize,
    /// Most workers (and servers) per protocol.
    pub max_workers: usize,
    /// Most calls per RPC client.
    pub max_calls: u64,
    /// Most jobs of the pool.
    pub max_jobs: u64,
    /// `checks.pool_liveness_bound`.
    pub pool_liveness_bound: SimTime,
    /// Storage faults: a `storage` section (crashes keep unsynced writes, lose them, or
    /// lose and tear them), `disk_full` among the scheduled fault kinds, and a
    /// `disk_full_rate` for the nemesis (at most `nemesis_max_rate`).
    pub storage: bool,
}

impl Default for ScenarioConfig {
    /// Every protocol, no canary, runs of 0.5-3 s, up to 6 faults, no nemesis.
    fn default() -> Self {
        ScenarioConfig {
            rpc: true,
            pool: true,
            discovery: true,
            canaries: Canaries::default(),
            min_duration_ms: 500,
            max_duration_ms: 3000,
            max_faults: 6,
            fault_kinds: PlanKind::ALL.to_vec(),
            nemesis_max_rate: 0.0,
            max_loss: 0.1,
            max_clients: 2,
            max_workers: 3,
            max_calls: 40,
            max_jobs: 40,
            pool_liveness_bound: SimTime::from_secs(1),
            storage: false,
        }
    }
}

impl ScenarioConfig {
    /// Only the RPC protocol.
    pub fn rpc_only() -> Self {
        ScenarioConfig {
            pool: false,
            discovery: false,
            ..Self::default()
        }
    }
    /// Only the worker pool.
    pub fn pool_only() -> Self {
        ScenarioConfig {
            rpc: false,
            discovery: false,
            ..Self::default()
        }
    }
    /// Only service discovery (with its RPC servers and clients).
    pub fn discovery_only() -> Self {
        ScenarioConfig {
            rpc: false,
            pool: false,
            ..Self::default()
        }
    }
}

/// RPC part of a topology: servers, and clients with fixed servers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcTopology {
    /// How many servers.
    pub servers: usize,
    /// Clients: (calls, mix: 0 deposits, 1 multiply, 2 divide, 3 all; interval ms; server index).
    pub clients: Vec<(u64, u8, u64, usize)>,
}

/// Worker-pool part of a topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolTopology {
    /// Workers: (slots, mean service time ms).
    pub workers: Vec<(u32, u64)>,
    /// Jobs.
    pub jobs: u64,
    /// `None`: a batch; `Some(rate)`: a Poisson stream of `rate` jobs/s.
    pub poisson: Option<u32>,
    /// Lease, ms.
    pub lease_ms: u64,
}

/// Discovery part of a topology.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiscoveryTopology {
    /// Registered servers: TTL ms.
    pub servers: Vec<u64>,
    /// Clients: (calls, interval ms, refresh ms).
    pub clients: Vec<(u64, u64, u64)>,
}

/// RPC topologies and workloads.
pub fn rpc_topology(cfg: &ScenarioConfig) -> impl Strategy<Value = RpcTopology> + Clone + use<> {
    let client = (1..=cfg.max_calls.max(1), 0u8..4, 5u64..=50, 0usize..4);
    (1..=cfg.max_workers.clamp(1, 2), vec(client, 1..=cfg.max_clients.max(1)))
        .prop_map(|(servers, clients)| RpcTopology { servers, clients })
}

/// Worker-pool topologies and workloads.
pub fn pool_topology(cfg: &ScenarioConfig) -> impl Strategy<Value = PoolTopology> + Clone + use<> {
    (
        vec((1u32..=2, 1u64..=20), 1..=cfg.max_workers.max(1)),
        1..=cfg.max_jobs.max(1),
        proptest::option::of(20u32..=200),
        100u64..=600,
    )
        .prop_map(|(workers, jobs, poisson, lease_ms)| PoolTopology {
            workers,
            jobs,
            poisson,
            lease_ms,
        })
}

/// Discovery topologies and workloads.
pub fn discovery_topology(cfg: &ScenarioConfig) -> impl Strategy<Value = DiscoveryTopology> + Clone + use<> {
    (
        vec(100u64..=400, 1..=cfg.max_workers.clamp(1, 2)),
        vec(
            (1..=cfg.max_calls.max(1), 10u64..=50, 50u64..=300),
            1..=cfg.max_clients.max(1),
        ),
    )
        .prop_map(|(servers, clients)| DiscoveryTopology { servers, clients })
}

/// The nodes of a topology, in a fixed order: RPC servers and clients, registry,
/// registered servers and their clients, dispatcher and workers.
pub fn topology_nodes(
    rpc: Option<&RpcTopology>,
    pool: Option<&PoolTopology>,
    disc: Option<&DiscoveryTopology>,
    canaries: Canaries,
) -> Vec<NodeEntry> {
    let mut nodes = Vec::new();
    if let Some(r) = rpc {
        for i in 0..r.servers {
            nodes.push(NodeEntry::new(
                &format!("srv{i}"),
                "rpc",
                "rpc_server",
                RpcServerRole {
                    dedupe: !canaries.no_dedupe,
                    canary_wrapping_multiply: canaries.wrapping_multiply,
                    canary_unsynced_dedupe: canaries.unsynced_dedupe,
                    register: None,
                },
            ));
        }
        for (i, &(calls, mix, interval, server)) in r.clients.iter().enumerate() {
            let mix = match mix {
                0 => MixSpec {
                    multiply: 0,
                    divide: 0,
                    deposit: 1,
                },
                1 => MixSpec {
                    multiply: 1,
                    divide: 0,
                    deposit: 0,
                },
                2 => MixSpec {
                    multiply: 0,
                    divide: 1,
                    deposit: 0,
                },
                _ => MixSpec::default(),
            };
            nodes.push(rpc_client(
                format!("cli{i}"),
                Some(format!("srv{}", server % r.servers.max(1))),
                None,
                calls,
                mix,
                interval,
            ));
        }
    }
    if let Some(d) = disc {
        nodes.push(NodeEntry::new(
            "reg",
            "discovery",
            "registry",
            RegistryRole {
                sweep_every: ms(50),
                canary_never_expire: canaries.never_expire,
                canary_trust_registrant_clock: canaries.trust_registrant_clock,
            },
        ));
        for (i, &ttl) in d.servers.iter().enumerate() {
            nodes.push(NodeEntry::new(
                &format!("dsrv{i}"),
                "rpc",
                "rpc_server",
                RpcServerRole {
                    dedupe: !canaries.no_dedupe,
                    canary_wrapping_multiply: canaries.wrapping_multiply,
                    canary_unsynced_dedupe: canaries.unsynced_dedupe,
                    register: Some(RegisterSpec {
                        registry: "reg".into(),
                        service: "arith".into(),
                        ttl: ms(ttl),
                        interval: None,
                    }),
                },
            ));
        }
        for (i, &(calls, interval, refresh)) in d.clients.iter().enumerate() {
            let mix = MixSpec {
                multiply: 1,
                divide: 0,
                deposit: 0,
            };
            let service = ServiceSpec {
                registry: "reg".into(),
                service: "arith".into(),
                refresh_every: Some(ms(refresh)),
            };
            nodes.push(rpc_client(
                format!("dcli{i}"),
                None,
                Some(service),
                calls,
                mix,
                interval,
            ));
        }
    }
    if let Some(p) = pool {
        nodes.push(NodeEntry::new(
            "disp",
            "pool",
            "dispatcher",
            DispatcherRole {
                lease: ms(p.lease_ms),
                worker_timeout: SimTime::from_secs(3),
                canary_never_reassign: canaries.never_reassign,
                ..DispatcherRole::new(match p.poisson {
                    None => ArrivalsSpec::Batch { jobs: p.jobs },
                    Some(rate) => ArrivalsSpec::Poisson {
                        rate: f64::from(rate),
                        jobs: Some(p.jobs),
                    },
                })
            },
        ));
        for (i, &(slots, mean)) in p.workers.iter().enumerate() {
            nodes.push(NodeEntry::new(
                &format!("w{i}"),
                "pool",
                "worker",
                WorkerRole {
                    slots,
                    heartbeat: ms(100),
                    canary_return_unchanged: canaries.return_unchanged,
                    ..WorkerRole::new("disp", Latency::Exponential { mean: ms(mean) })
                },
            ));
        }
    }
    nodes
}

fn rpc_client(
    id: String,
    server: Option<String>,
    service: Option<ServiceSpec>,
    calls: u64,
    mix: MixSpec,
    interval: u64,
) -> NodeEntry {
    NodeEntry::new(
        &id,
        "rpc",
        "rpc_client",
        RpcClientRole {
            server,
            service,
            mix,
            accounts: 2,
            interval: Some(ms(interval)),
            ..RpcClientRole::new("", calls)
        },
    )
}

fn optional<T: std::fmt::Debug + Clone + 'static>(
    on: bool,
    s: impl Strategy<Value = T> + Clone + 'static,
) -> BoxedStrategy<Option<T>> {
    if on {
        s.prop_map(Some).boxed()
    } else {
        Just(None).boxed()
    }
}

/// Whole scenarios as `cfg` asks: always valid, shrinking to fewer faults, nodes and
/// calls and to shorter runs. With no protocol enabled, RPC is used.
pub fn scenario(cfg: ScenarioConfig) -> impl Strategy<Value = Scenario> + Clone {
    let rpc_on = cfg.rpc || !(cfg.pool || cfg.discovery);
    let min_d = cfg.min_duration_ms.max(10);
    let max_d = cfg.max_duration_ms.max(min_d);
    let nemesis_on = cfg.nemesis_max_rate > 0.0;
    let parts = (
        optional(rpc_on, rpc_topology(&cfg)),
        optional(cfg.pool, pool_topology(&cfg)),
        optional(cfg.discovery, discovery_topology(&cfg)),
    );
    let mut kinds = cfg.fault_kinds.clone();
    if cfg.storage && !kinds.contains(&PlanKind::DiskFull) {
        kinds.push(PlanKind::DiskFull);
    }
    // Drawn last, and nothing when off: the scenarios made without storage faults are
    // the ones made before they existed.
    let storage = optional(
        cfg.storage,
        (0u8..3, 0..=(cfg.nemesis_max_rate.clamp(0.0, 100.0) * 10.0) as u32),
    );
    let env = (
        fault_plans(kinds, cfg.max_faults),
        optional(nemesis_on, nemesis_plan(cfg.nemesis_max_rate)),
        min_d..=max_d,
        link_spec(cfg.max_loss),
    );
    let (canaries, bound) = (cfg.canaries, cfg.pool_liveness_bound);
    // Faults and settings first, topology after: proptest shrinks a tuple's elements in
    // order, so the schedule is made minimal before the nodes and their work are cut
    // down to what that schedule needs. The seed is not shrunk: a smaller seed is not a
    // simpler run, only a different one.
    let seed = (0u64..1_000_000).no_shrink();
    (env, parts, seed, storage).prop_map(move |((plans, nem, d, link), (rpc, pool, disc), seed, storage)| {
        let duration = ms(d);
        let nodes = topology_nodes(rpc.as_ref(), pool.as_ref(), disc.as_ref(), canaries);
        let names: Vec<String> = nodes.iter().map(|n| n.id().to_string()).collect();
        let faults: Vec<FaultSpec> = plans.iter().map(|p| p.to_spec(&names, duration, &link)).collect();
        // A slowed node gets a processing model, so that the slow window has work to slow.
        let mut nodes = nodes;
        for f in &faults {
            if let Fault::SlowNode { node, .. } = &f.fault
                && let Some(n) = nodes.iter_mut().find(|n| n.id() == node)
            {
                n.processing = Some(crate::scenario::ProcessingSpec {
                    service: crate::engine::dist::Dist::constant(ms(1)),
                    speed: 1.0,
                });
            }
        }
        Scenario {
            name: "generated".into(),
            description: "generated by detsim::explore::strategies::scenario".into(),
            seed,
            duration,
            max_events: 5_000_000,
            random_tiebreak: false,
            network: NetworkSpec {
                default: link,
                links: Vec::new(),
            },
            nodes,
            faults,
            nemesis: nem.map(|n| NemesisSpec {
                disk_full_rate: storage.map_or(0.0, |(_, r)| f64::from(r) / 10.0),
                ..n.to_spec(duration)
            }),
            limits: Default::default(),
            buggify: None,
            checks: ChecksSpec {
                entries: vec![(
                    crate::protocols::worker_pool::LIVENESS_BOUND.to_string(),
                    serde_json::to_value(bound).unwrap_or_default(),
                )],
            },
            storage: storage.and_then(|(mode, _)| {
                (mode > 0).then_some(StorageSpec {
                    unsynced_writes: UnsyncedWrites::MayBeLost,
                    torn_writes: mode == 2,
                })
            }),
        }
    })
}
