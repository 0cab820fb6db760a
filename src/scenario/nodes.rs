//! Node roles in a scenario file (`"role": "rpc_server"`, ...), how each becomes a node of
//! the built-in protocols, which checks a scenario runs, and its streaming metrics.

use std::cell::RefCell;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::check::{CheckContext, Source, Verdict};
use crate::engine::error::Error;
use crate::engine::history::Record;
use crate::engine::net::Latency;
use crate::engine::node::NodeId;
use crate::engine::sim::Simulation;
use crate::engine::time::SimTime;
use crate::metrics::discovery::DiscMetrics;
use crate::metrics::pool::PoolMetrics;
use crate::metrics::rpc::RpcMetrics;
use crate::protocols::discovery::{RegistrantConfig, RegistryConfig, ResolverConfig, registry};
use crate::protocols::rpc::{
    CallMix, Calls, Pacing, RetryPolicy, RpcClientConfig, RpcServerConfig, Target, Workload, client, server,
};
use crate::protocols::worker_pool::{self, Arrivals, ClientConfig, DispatcherConfig, WorkerConfig};
use crate::protocols::{Msg, Obs};

use super::Scenario;
use super::build::IdMap;
use super::validate::{Ids, Problem, dist, positive};

const fn ms(n: u64) -> SimTime {
    SimTime::from_millis(n)
}
fn d_sweep() -> SimTime {
    ms(50)
}
fn d_true() -> bool {
    true
}
fn d_accounts() -> u32 {
    4
}
fn d_start_after() -> SimTime {
    ms(10)
}
fn d_timeout() -> SimTime {
    ms(50)
}
fn d_attempts() -> u32 {
    6
}
fn d_backoff_base() -> SimTime {
    ms(20)
}
fn d_backoff_max() -> SimTime {
    ms(400)
}
fn d_lease() -> SimTime {
    SimTime::from_secs(1)
}
fn d_worker_timeout() -> SimTime {
    SimTime::from_secs(3)
}
fn d_slots() -> u32 {
    1
}
fn d_heartbeat() -> SimTime {
    ms(500)
}
fn d_zero() -> Latency {
    Latency::constant(SimTime::ZERO)
}
fn d_retry() -> SimTime {
    SimTime::from_secs(2)
}
fn d_liveness_bound() -> SimTime {
    SimTime::from_secs(10)
}

/// Register this node in a registry under a service name, renewing by heartbeat.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterSpec {
    /// The registry node's id.
    pub registry: String,
    /// The service name.
    pub service: String,
    /// Time to live of the entry.
    pub ttl: SimTime,
    /// Renewal interval (default: a third of the TTL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<SimTime>,
}

/// Find servers of a service through a registry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSpec {
    /// The registry node's id.
    pub registry: String,
    /// The service name.
    pub service: String,
    /// Look up again this often even when members are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_every: Option<SimTime>,
}

/// Relative weights of generated RPC calls.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixSpec {
    /// Weight of `Arithmetic.Multiply`.
    #[serde(default)]
    pub multiply: u32,
    /// Weight of `Arithmetic.Divide`.
    #[serde(default)]
    pub divide: u32,
    /// Weight of `Account.Deposit`.
    #[serde(default)]
    pub deposit: u32,
}

impl Default for MixSpec {
    fn default() -> Self {
        MixSpec {
            multiply: 1,
            divide: 1,
            deposit: 1,
        }
    }
}

/// How jobs reach the dispatcher.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ArrivalsSpec {
    /// `jobs` jobs submitted at once when the dispatcher starts.
    Batch {
        /// How many.
        jobs: u64,
    },
    /// An open-loop Poisson stream of `rate` jobs per second, at most `jobs` of them.
    Poisson {
        /// Arrivals per simulated second.
        rate: f64,
        /// Stop after this many.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jobs: Option<u64>,
    },
    /// Jobs come from `pool_client` nodes (closed loop); the dispatcher makes none.
    Clients,
}

/// One node and its role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case", deny_unknown_fields)]
pub enum NodeSpec {
    /// The service registry.
    Registry {
        /// Node id.
        id: String,
        /// How often expired entries are swept.
        #[serde(default = "d_sweep")]
        sweep_every: SimTime,
        /// CANARY: never expire entries.
        #[serde(default)]
        canary_never_expire: bool,
    },
    /// An RPC server (Arithmetic.Multiply, Arithmetic.Divide, Account.Deposit).
    RpcServer {
        /// Node id.
        id: String,
        /// Deduplicate by (client, call id) in durable storage (false = the dedupe canary).
        #[serde(default = "d_true")]
        dedupe: bool,
        /// CANARY: a `Multiply` whose product overflows returns the wrapped product
        /// instead of the overflow error (`rpc.correct_result` must catch it).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        canary_wrapping_multiply: bool,
        /// Register in a registry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        register: Option<RegisterSpec>,
    },
    /// An RPC client making `calls` calls.
    RpcClient {
        /// Node id.
        id: String,
        /// A fixed server's id (or give `service`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        /// Find servers through a registry (or give `server`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<ServiceSpec>,
        /// How many calls.
        calls: u64,
        /// Method weights.
        #[serde(default)]
        mix: MixSpec,
        /// Deposits spread over accounts `0..accounts`.
        #[serde(default = "d_accounts")]
        accounts: u32,
        /// Open loop: one call every `interval`. Without it, closed loop with `think`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        interval: Option<SimTime>,
        /// Closed loop: pause between a call's end and the next.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        think: Option<SimTime>,
        /// Delay before the first call.
        #[serde(default = "d_start_after")]
        start_after: SimTime,
        /// Per-attempt timeout.
        #[serde(default = "d_timeout")]
        timeout: SimTime,
        /// Attempts before a call fails.
        #[serde(default = "d_attempts")]
        max_attempts: u32,
        /// Backoff before the second attempt (doubles after).
        #[serde(default = "d_backoff_base")]
        backoff_base: SimTime,
        /// Backoff cap.
        #[serde(default = "d_backoff_max")]
        backoff_max: SimTime,
    },
    /// The worker-pool dispatcher.
    Dispatcher {
        /// Node id.
        id: String,
        /// Where jobs come from.
        arrivals: ArrivalsSpec,
        /// Bound on waiting jobs (full: rejected).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue_capacity: Option<u32>,
        /// Lease of an assignment.
        #[serde(default = "d_lease")]
        lease: SimTime,
        /// A worker not heard from for this long gets no new jobs.
        #[serde(default = "d_worker_timeout")]
        worker_timeout: SimTime,
        /// CANARY: never reassign an expired lease.
        #[serde(default)]
        canary_never_reassign: bool,
        /// CANARY: free a slot when its lease expires and ignore a worker's refusal (the
        /// phantom booking of issue 10).
        #[serde(default)]
        canary_book_refused_slots: bool,
        /// Register in a registry, so that workers and clients find it by service name.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        register: Option<RegisterSpec>,
    },
    /// A worker.
    Worker {
        /// Node id.
        id: String,
        /// A fixed dispatcher's id (or give `service`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dispatcher: Option<String>,
        /// Find the dispatcher through a registry (or give `dispatcher`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<ServiceSpec>,
        /// Jobs at once.
        #[serde(default = "d_slots")]
        slots: u32,
        /// Service time per job (any duration distribution, as for latency).
        service_time: Latency,
        /// Hello interval.
        #[serde(default = "d_heartbeat")]
        heartbeat: SimTime,
        /// CANARY: return the value unchanged instead of doubled.
        #[serde(default)]
        canary_return_unchanged: bool,
    },
    /// A closed-loop job client.
    PoolClient {
        /// Node id.
        id: String,
        /// A fixed dispatcher's id (or give `service`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        dispatcher: Option<String>,
        /// Find the dispatcher through a registry (or give `dispatcher`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<ServiceSpec>,
        /// How many jobs (default: no limit).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        jobs: Option<u64>,
        /// Think time between a result and the next job.
        #[serde(default = "d_zero")]
        think: Latency,
        /// Resubmit after this long without a result.
        #[serde(default = "d_retry")]
        retry: SimTime,
    },
}

/// Which checks run. A protocol's checks run only when the scenario has its nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChecksSpec {
    /// The RPC checks.
    #[serde(default = "d_true")]
    pub rpc: bool,
    /// The worker-pool checks.
    #[serde(default = "d_true")]
    pub pool: bool,
    /// The discovery checks.
    #[serde(default = "d_true")]
    pub discovery: bool,
    /// Every job submitted is accepted within this after the last fault healed.
    #[serde(default = "d_liveness_bound")]
    pub pool_liveness_bound: SimTime,
}

impl Default for ChecksSpec {
    fn default() -> Self {
        ChecksSpec {
            rpc: true,
            pool: true,
            discovery: true,
            pool_liveness_bound: d_liveness_bound(),
        }
    }
}

impl ChecksSpec {
    /// Field problems.
    pub fn validate(&self, path: &str, out: &mut Vec<Problem>) {
        positive(&format!("{path}.pool_liveness_bound"), self.pool_liveness_bound, out);
    }
}

fn lookup(ids: &IdMap, name: &str) -> Result<NodeId, Error> {
    ids.get(name)
        .copied()
        .ok_or_else(|| Error::InvalidParameter(format!("unknown node id {name:?}")))
}

fn registrant(r: &RegisterSpec, ids: &IdMap) -> Result<RegistrantConfig, Error> {
    let mut rc = RegistrantConfig::new(lookup(ids, &r.registry)?, r.service.clone(), r.ttl);
    if let Some(i) = r.interval {
        rc.interval = i;
    }
    Ok(rc)
}

fn resolver(svc: &ServiceSpec, ids: &IdMap) -> Result<ResolverConfig, Error> {
    let mut r = ResolverConfig::new(lookup(ids, &svc.registry)?, svc.service.clone());
    r.refresh_every = svc.refresh_every;
    Ok(r)
}

/// A fixed node (`fixed`, by id) or a service (`service`): exactly one is given.
fn target(fixed: &Option<String>, service: &Option<ServiceSpec>, ids: &IdMap, field: &str) -> Result<Target, Error> {
    match (fixed, service) {
        (Some(name), None) => Ok(Target::Fixed(lookup(ids, name)?)),
        (None, Some(svc)) => Ok(Target::Service(resolver(svc, ids)?)),
        _ => Err(Error::InvalidParameter(format!(
            "give exactly one of `{field}` and `service`"
        ))),
    }
}

impl NodeSpec {
    /// The node's id.
    pub fn id(&self) -> &str {
        match self {
            NodeSpec::Registry { id, .. }
            | NodeSpec::RpcServer { id, .. }
            | NodeSpec::RpcClient { id, .. }
            | NodeSpec::Dispatcher { id, .. }
            | NodeSpec::Worker { id, .. }
            | NodeSpec::PoolClient { id, .. } => id,
        }
    }

    /// The role, as written in the file (`"rpc_server"`, ...).
    pub fn role(&self) -> &'static str {
        match self {
            NodeSpec::Registry { .. } => "registry",
            NodeSpec::RpcServer { .. } => "rpc_server",
            NodeSpec::RpcClient { .. } => "rpc_client",
            NodeSpec::Dispatcher { .. } => "dispatcher",
            NodeSpec::Worker { .. } => "worker",
            NodeSpec::PoolClient { .. } => "pool_client",
        }
    }

    /// The same node with every planted bug (canary) switched off.
    pub fn without_canaries(&self) -> NodeSpec {
        let mut n = self.clone();
        match &mut n {
            NodeSpec::Registry {
                canary_never_expire, ..
            } => *canary_never_expire = false,
            NodeSpec::RpcServer {
                dedupe,
                canary_wrapping_multiply,
                ..
            } => {
                *dedupe = true;
                *canary_wrapping_multiply = false;
            }
            NodeSpec::Dispatcher {
                canary_never_reassign,
                canary_book_refused_slots,
                ..
            } => {
                *canary_never_reassign = false;
                *canary_book_refused_slots = false;
            }
            NodeSpec::Worker {
                canary_return_unchanged,
                ..
            } => *canary_return_unchanged = false,
            NodeSpec::RpcClient { .. } | NodeSpec::PoolClient { .. } => {}
        }
        n
    }

    /// Which protocol the node belongs to.
    pub fn protocol(&self) -> &'static str {
        match self {
            NodeSpec::Registry { .. } => "discovery",
            NodeSpec::RpcServer { .. } | NodeSpec::RpcClient { .. } => "rpc",
            NodeSpec::Dispatcher { .. } | NodeSpec::Worker { .. } | NodeSpec::PoolClient { .. } => "pool",
        }
    }

    /// Field problems of this node (`path` is `nodes[i]`).
    pub fn validate(&self, path: &str, ids: &Ids, s: &Scenario, out: &mut Vec<Problem>) {
        let role_of = |name: &str| s.nodes.iter().find(|n| n.id() == name);
        let expect_role = |field: &str, name: &str, want: &str, out: &mut Vec<Problem>| {
            ids.check(&format!("{path}.{field}"), name, out);
            if let Some(n) = role_of(name) {
                let role = n.role();
                if role != want {
                    out.push((
                        format!("{path}.{field}"),
                        format!(
                            "node {name:?} is {}, expected {}",
                            crate::plural::with_article(role),
                            crate::plural::with_article(want)
                        ),
                    ));
                }
            }
        };
        let register = |r: &RegisterSpec, out: &mut Vec<Problem>| {
            expect_role("register.registry", &r.registry, "registry", out);
            positive(&format!("{path}.register.ttl"), r.ttl, out);
            if let Some(i) = r.interval {
                positive(&format!("{path}.register.interval"), i, out);
                if i >= r.ttl {
                    out.push((
                        format!("{path}.register.interval"),
                        format!(
                            "{i} must be shorter than the ttl ({}), or the entry expires between renewals",
                            r.ttl
                        ),
                    ));
                }
            }
        };
        let one_target = |field: &str,
                          fixed: &Option<String>,
                          svc: &Option<ServiceSpec>,
                          role: &str,
                          out: &mut Vec<Problem>| {
            match (fixed, svc) {
                (Some(name), None) => expect_role(field, name, role, out),
                (None, Some(svc)) => expect_role("service.registry", &svc.registry, "registry", out),
                _ => out.push((path.to_string(), format!("give exactly one of `{field}` and `service`"))),
            }
        };
        match self {
            NodeSpec::Registry { sweep_every, .. } => positive(&format!("{path}.sweep_every"), *sweep_every, out),
            NodeSpec::RpcServer { register: r, .. } => {
                if let Some(r) = r {
                    register(r, out);
                }
            }
            NodeSpec::RpcClient {
                server: srv,
                service,
                mix,
                accounts,
                interval,
                think,
                timeout,
                max_attempts,
                backoff_max,
                backoff_base,
                ..
            } => {
                one_target("server", srv, service, "rpc_server", out);
                if mix.multiply as u64 + mix.divide as u64 + mix.deposit as u64 == 0 {
                    out.push((format!("{path}.mix"), "needs at least one positive weight".into()));
                }
                if *accounts == 0 {
                    out.push((format!("{path}.accounts"), "must be at least 1".into()));
                }
                if interval.is_some() && think.is_some() {
                    out.push((
                        path.to_string(),
                        "give `interval` (open loop) or `think` (closed loop), not both".into(),
                    ));
                }
                if let Some(i) = interval {
                    positive(&format!("{path}.interval"), *i, out);
                }
                positive(&format!("{path}.timeout"), *timeout, out);
                if *max_attempts == 0 {
                    out.push((format!("{path}.max_attempts"), "must be at least 1".into()));
                }
                if backoff_base > backoff_max {
                    out.push((
                        format!("{path}.backoff_base"),
                        "must not be greater than backoff_max".into(),
                    ));
                }
            }
            NodeSpec::Dispatcher {
                arrivals,
                lease,
                worker_timeout,
                register: r,
                ..
            } => {
                if let Some(r) = r {
                    register(r, out);
                }
                positive(&format!("{path}.lease"), *lease, out);
                positive(&format!("{path}.worker_timeout"), *worker_timeout, out);
                if let ArrivalsSpec::Poisson { rate, .. } = arrivals
                    && !(rate.is_finite() && *rate > 0.0 && *rate <= 1e9)
                {
                    out.push((
                        format!("{path}.arrivals.rate"),
                        format!("must be a rate in (0, 1e9] per second, got {rate}"),
                    ));
                }
            }
            NodeSpec::Worker {
                dispatcher,
                service,
                slots,
                service_time: st,
                heartbeat,
                ..
            } => {
                one_target("dispatcher", dispatcher, service, "dispatcher", out);
                if *slots == 0 || *slots > 1_000_000 {
                    out.push((
                        format!("{path}.slots"),
                        format!("must be between 1 and 1000000, got {slots}"),
                    ));
                }
                positive(&format!("{path}.heartbeat"), *heartbeat, out);
                dist(st, &format!("{path}.service_time"), out);
            }
            NodeSpec::PoolClient {
                dispatcher,
                service,
                think,
                retry,
                ..
            } => {
                one_target("dispatcher", dispatcher, service, "dispatcher", out);
                positive(&format!("{path}.retry"), *retry, out);
                dist(think, &format!("{path}.think"), out);
            }
        }
    }

    /// Add this node to `sim` (its id is its position in the file).
    pub fn add_to(&self, sim: &mut Simulation<Msg, Obs>, ids: &IdMap, _s: &Scenario) -> Result<NodeId, Error> {
        let bad = |m: String| Error::InvalidParameter(format!("node {:?}: {m}", self.id()));
        match self {
            NodeSpec::Registry {
                id,
                sweep_every,
                canary_never_expire,
            } => sim.add_node(
                id,
                registry(RegistryConfig {
                    sweep_every: *sweep_every,
                    never_expire: *canary_never_expire,
                }),
            ),
            NodeSpec::RpcServer {
                id,
                dedupe,
                canary_wrapping_multiply,
                register,
            } => {
                let mut cfg = RpcServerConfig::new();
                cfg.dedupe = *dedupe;
                cfg.wrapping_multiply = *canary_wrapping_multiply;
                if let Some(r) = register {
                    cfg = cfg.registering(registrant(r, ids)?);
                }
                sim.add_node(id, server(cfg))
            }
            NodeSpec::RpcClient {
                id,
                server: srv,
                service,
                calls,
                mix,
                accounts,
                interval,
                think,
                start_after,
                timeout,
                max_attempts,
                backoff_base,
                backoff_max,
            } => {
                let target = target(srv, service, ids, "server").map_err(|e| bad(e.to_string()))?;
                let pacing = match (interval, think) {
                    (Some(i), _) => Pacing::Interval(*i),
                    (None, t) => Pacing::ClosedLoop {
                        think: t.unwrap_or(SimTime::ZERO),
                    },
                };
                let cfg = RpcClientConfig {
                    target,
                    retry: RetryPolicy {
                        timeout: *timeout,
                        max_attempts: *max_attempts,
                        backoff_base: *backoff_base,
                        backoff_max: *backoff_max,
                    },
                    workload: Workload {
                        calls: Calls::Generated {
                            count: *calls,
                            mix: CallMix {
                                multiply: mix.multiply,
                                divide: mix.divide,
                                deposit: mix.deposit,
                            },
                            accounts: *accounts,
                        },
                        pacing,
                        start_after: *start_after,
                    },
                };
                sim.add_node(id, client(cfg)?)
            }
            NodeSpec::Dispatcher {
                id,
                arrivals,
                queue_capacity,
                lease,
                worker_timeout,
                canary_never_reassign,
                canary_book_refused_slots,
                register,
            } => {
                let arrivals = match arrivals {
                    ArrivalsSpec::Batch { jobs } => Arrivals::Batch { n: *jobs },
                    ArrivalsSpec::Poisson { rate, jobs } => Arrivals::Poisson {
                        rate: *rate,
                        jobs: *jobs,
                    },
                    ArrivalsSpec::Clients => Arrivals::ClosedLoop {
                        clients: 0,
                        think: Latency::constant(SimTime::ZERO),
                        jobs_per_client: None,
                        retry: d_retry(),
                    },
                };
                let cfg = DispatcherConfig {
                    arrivals,
                    queue_capacity: *queue_capacity,
                    lease: *lease,
                    worker_timeout: *worker_timeout,
                    never_reassign: *canary_never_reassign,
                    book_refused_slots: *canary_book_refused_slots,
                    register: register.as_ref().map(|r| registrant(r, ids)).transpose()?,
                };
                sim.add_node(id, worker_pool::dispatcher(cfg)?)
            }
            NodeSpec::Worker {
                id,
                dispatcher,
                service,
                slots,
                service_time: st,
                heartbeat,
                canary_return_unchanged,
            } => {
                let cfg = WorkerConfig {
                    dispatcher: target(dispatcher, service, ids, "dispatcher").map_err(|e| bad(e.to_string()))?,
                    slots: *slots,
                    service: st.clone(),
                    heartbeat: *heartbeat,
                    return_unchanged: *canary_return_unchanged,
                };
                sim.add_node(id, worker_pool::worker(cfg)?)
            }
            NodeSpec::PoolClient {
                id,
                dispatcher,
                service,
                jobs,
                think,
                retry,
            } => {
                let cfg = ClientConfig {
                    dispatcher: target(dispatcher, service, ids, "dispatcher").map_err(|e| bad(e.to_string()))?,
                    jobs: *jobs,
                    think: think.clone(),
                    retry: *retry,
                };
                sim.add_node(id, worker_pool::client(cfg)?)
            }
        }
    }
}

fn has(s: &Scenario, protocol: &str) -> bool {
    s.nodes.iter().any(|n| n.protocol() == protocol)
}

/// The end of `s`'s fault-free prefix, the window `pool.work_conservation` judges: the
/// first scheduled fault or the start of the nemesis (its first fault cannot come
/// earlier), or the end of time without either; `ZERO` (nothing judged) when a link of
/// the scenario's network loses or duplicates messages from the start.
pub fn fault_free_until(s: &Scenario) -> SimTime {
    let clean = |drop: f64, dup: f64| drop <= 0.0 && dup <= 0.0;
    let n = &s.network;
    let faithful = clean(n.default.drop, n.default.duplicate)
        && n.links
            .iter()
            .all(|l| clean(l.drop.unwrap_or(0.0), l.duplicate.unwrap_or(0.0)));
    if !faithful {
        return SimTime::ZERO;
    }
    s.faults
        .iter()
        .map(|f| f.at)
        .chain(s.nemesis.as_ref().map(|n| n.start))
        .min()
        .unwrap_or(SimTime::MAX)
}

/// Run every check that applies to `s`: each check's verdict, protocol by protocol.
pub fn run_checks(s: &Scenario, records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Verdict> {
    let mut out = Vec::new();
    if s.checks.rpc && has(s, "rpc") {
        out.extend(crate::check::rpc::check_all(records, ctx));
    }
    if s.checks.pool && has(s, "pool") {
        out.extend(crate::check::pool::check_pool(
            records,
            ctx,
            s.checks.pool_liveness_bound,
        ));
        let c = crate::check::pool_conservation::check_work_conservation(records, ctx, fault_free_until(s));
        if c.judged {
            out.push(Verdict::judged(crate::check::pool_conservation::NAME, c.violations));
        }
    }
    // Discovery is checked wherever a registry runs.
    if s.checks.discovery && has(s, "discovery") {
        out.extend(crate::check::discovery::check_all(records, ctx));
    }
    out
}

/// The work `s` configures, for the liveness checks' nothing-ran rule: each RPC client's
/// calls (the first due `start_after` after its start), each dispatcher's batch or
/// Poisson jobs and each pool client's jobs (the first due within the pool liveness
/// bound), each registrant's registration (the first due within its TTL). Nodes are
/// found by name in `sim`.
pub fn expected_work(s: &Scenario, sim: &Simulation<Msg, Obs>) -> Vec<Source> {
    let bound = s.checks.pool_liveness_bound;
    let mut out = Vec::new();
    for n in &s.nodes {
        let Some(node) = sim.node_id(n.id()) else { continue };
        let source = |check, items, configured, first_due| Source {
            check,
            node,
            items,
            configured,
            first_due,
        };
        let register = match n {
            NodeSpec::RpcServer { register, .. } | NodeSpec::Dispatcher { register, .. } => register.as_ref(),
            _ => None,
        };
        if let Some(r) = register {
            out.push(source(
                "disc.visible_after_heal",
                ("registration", "registrations"),
                None,
                Some((SimTime::ZERO, r.ttl)),
            ));
        }
        match n {
            NodeSpec::RpcClient { calls, start_after, .. } => out.push(source(
                "rpc.liveness",
                ("call", "calls"),
                Some(*calls),
                Some((SimTime::ZERO, *start_after)),
            )),
            NodeSpec::Dispatcher { arrivals, .. } => match arrivals {
                ArrivalsSpec::Batch { jobs } => out.push(source(
                    "pool.liveness",
                    ("job", "jobs"),
                    Some(*jobs),
                    Some((SimTime::ZERO, bound)),
                )),
                ArrivalsSpec::Poisson { jobs, .. } => out.push(source("pool.liveness", ("job", "jobs"), *jobs, None)),
                ArrivalsSpec::Clients => {}
            },
            NodeSpec::PoolClient { jobs, .. } => out.push(source(
                "pool.liveness",
                ("job", "jobs"),
                *jobs,
                Some((SimTime::ZERO, bound)),
            )),
            _ => {}
        }
    }
    out
}

/// The streaming metrics of a run, fed by the history's observer.
pub struct MetricsSet {
    rpc: Option<Rc<RefCell<RpcMetrics>>>,
    pool: Option<Rc<RefCell<PoolMetrics>>>,
    disc: Option<Rc<RefCell<DiscMetrics>>>,
}

/// Attach the metrics of the protocols `s` runs to `sim`'s history.
pub fn attach_metrics(sim: &mut Simulation<Msg, Obs>, s: &Scenario) -> MetricsSet {
    let set = MetricsSet {
        rpc: has(s, "rpc").then(|| Rc::new(RefCell::new(RpcMetrics::new()))),
        pool: has(s, "pool").then(|| Rc::new(RefCell::new(PoolMetrics::new()))),
        disc: has(s, "discovery").then(|| Rc::new(RefCell::new(DiscMetrics::new()))),
    };
    let (rpc, pool, disc) = (set.rpc.clone(), set.pool.clone(), set.disc.clone());
    sim.history_mut()
        .set_observer(Box::new(move |rec: &Record<Obs>| match &rec.obs {
            Obs::Rpc(_) => {
                if let Some(m) = &rpc {
                    m.borrow_mut().observe(rec)
                }
            }
            Obs::Pool(_) => {
                if let Some(m) = &pool {
                    m.borrow_mut().observe(rec)
                }
            }
            Obs::Disc(_) => {
                if let Some(m) = &disc {
                    m.borrow_mut().observe(rec)
                }
            }
        }));
    set
}

impl MetricsSet {
    /// The metrics as JSON, per protocol.
    pub fn finish(&self, end: SimTime) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if let Some(r) = &self.rpc {
            m.insert(
                "rpc".into(),
                serde_json::to_value(r.borrow().summary()).unwrap_or_default(),
            );
        }
        if let Some(p) = &self.pool {
            m.insert(
                "pool".into(),
                serde_json::to_value(p.borrow().report(end)).unwrap_or_default(),
            );
        }
        if let Some(d) = &self.disc {
            m.insert(
                "discovery".into(),
                serde_json::to_value(d.borrow().summary()).unwrap_or_default(),
            );
        }
        serde_json::Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_canaries_switches_every_canary_off() {
        // Every role, with every `canary_*` field set (and dedupe off): none survives.
        let text = r#"[{"id":"a","role":"registry"},{"id":"b","role":"rpc_server"},
            {"id":"c","role":"rpc_client","server":"b","calls":1},
            {"id":"d","role":"dispatcher","arrivals":{"kind":"clients"}},
            {"id":"e","role":"worker","dispatcher":"d","service_time":{"dist":"constant","value":"1ms"}},
            {"id":"f","role":"pool_client","dispatcher":"d"}]"#;
        const KNOWN: [&str; 5] = [
            "canary_never_expire",
            "canary_wrapping_multiply",
            "canary_never_reassign",
            "canary_book_refused_slots",
            "canary_return_unchanged",
        ];
        let nodes: Vec<NodeSpec> = serde_json::from_str(text).unwrap();
        let mut seen = 0;
        for n in nodes {
            let mut v = serde_json::to_value(&n).unwrap();
            let obj = v.as_object_mut().unwrap();
            // The canary fields it serializes, and the known ones its role accepts.
            let mut canaries: Vec<String> = obj.keys().filter(|k| k.starts_with("canary_")).cloned().collect();
            for k in KNOWN {
                let mut o = obj.clone();
                o.insert(k.to_string(), true.into());
                if serde_json::from_value::<NodeSpec>(o.into()).is_ok() && !canaries.iter().any(|c| c == k) {
                    canaries.push(k.to_string());
                }
            }
            seen += canaries.len();
            for k in &canaries {
                obj.insert(k.clone(), true.into());
            }
            if obj.contains_key("dedupe") {
                obj.insert("dedupe".into(), false.into());
            }
            let armed: NodeSpec = serde_json::from_value(v).unwrap();
            let off = serde_json::to_value(armed.without_canaries()).unwrap();
            for k in &canaries {
                assert!(!off.get(k).is_some_and(|x| x == true), "{} keeps {k}", n.role());
            }
            if let Some(d) = off.get("dedupe") {
                assert_eq!(d, true);
            }
        }
        assert!(seen >= 5, "the canary fields are serialized ({seen} seen)");
    }

    #[test]
    fn role_names_match_the_file_format() {
        let text = r#"[{"id":"a","role":"registry"},{"id":"b","role":"rpc_server"},
            {"id":"c","role":"rpc_client","server":"b","calls":1},
            {"id":"d","role":"dispatcher","arrivals":{"kind":"clients"}},
            {"id":"e","role":"worker","dispatcher":"d","service_time":{"dist":"constant","value":"1ms"}},
            {"id":"f","role":"pool_client","dispatcher":"d"}]"#;
        let nodes: Vec<NodeSpec> = serde_json::from_str(text).unwrap();
        let roles: Vec<&str> = nodes.iter().map(|n| n.role()).collect();
        assert_eq!(
            roles,
            [
                "registry",
                "rpc_server",
                "rpc_client",
                "dispatcher",
                "worker",
                "pool_client"
            ]
        );
        for n in &nodes {
            assert_eq!(serde_json::to_value(n).unwrap()["role"], n.role());
        }
    }
}
