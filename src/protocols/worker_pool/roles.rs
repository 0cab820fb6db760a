//! The worker pool in scenario files: the `dispatcher`, `worker` and `pool_client` roles.

use serde::{Deserialize, Serialize};

use super::{Arrivals, ClientConfig, DispatcherConfig, WorkerConfig};
use crate::check::Source;
use crate::engine::error::Error;
use crate::engine::net::Latency;
use crate::engine::node::NodeFactory;
use crate::engine::time::SimTime;
use crate::plugin::{BuildCx, NodeRef, Observation, Payload, Problem, Role, ValidateCx, WorkCx};
use crate::protocols::discovery::roles::{RegisterSpec, ServiceSpec, target, target_refs, validate_target};
use crate::protocols::rpc::roles::registration;

/// Largest batch of jobs (the dispatcher queues a batch at once).
pub const MAX_BATCH_JOBS: u64 = 10_000_000;

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
    SimTime::from_millis(500)
}
fn d_zero() -> Latency {
    Latency::constant(SimTime::ZERO)
}
fn d_retry() -> SimTime {
    SimTime::from_secs(2)
}

/// The pool's liveness bound, from the `checks` section's `pool_liveness_bound`.
pub(crate) fn liveness_bound(cx: &WorkCx<'_>) -> SimTime {
    cx.settings
        .get::<SimTime>(super::protocol::LIVENESS_BOUND)
        .unwrap_or(super::protocol::DEFAULT_LIVENESS_BOUND)
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

/// The `dispatcher` role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DispatcherRole {
    /// Where jobs come from.
    pub arrivals: ArrivalsSpec,
    /// Bound on waiting jobs (full: rejected).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_capacity: Option<u32>,
    /// Lease of an assignment.
    #[serde(default = "d_lease")]
    pub lease: SimTime,
    /// A worker not heard from for this long gets no new jobs.
    #[serde(default = "d_worker_timeout")]
    pub worker_timeout: SimTime,
    /// CANARY: never reassign an expired lease.
    #[serde(default)]
    pub canary_never_reassign: bool,
    /// CANARY: free a slot when its lease expires and ignore a worker's refusal (the
    /// phantom booking of issue 10).
    #[serde(default)]
    pub canary_book_refused_slots: bool,
    /// Register in a registry, so that workers and clients find it by service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register: Option<RegisterSpec>,
}

impl DispatcherRole {
    /// A dispatcher with `arrivals`, every other setting at its default.
    pub fn new(arrivals: ArrivalsSpec) -> Self {
        DispatcherRole {
            arrivals,
            queue_capacity: None,
            lease: d_lease(),
            worker_timeout: d_worker_timeout(),
            canary_never_reassign: false,
            canary_book_refused_slots: false,
            register: None,
        }
    }
}

/// Is `n` a node of `role` (a worker or a pool client) that reaches dispatcher `id`: by
/// naming it in `dispatcher`, or by a `service` naming the registry and service the
/// dispatcher registers under?
fn serves(n: &NodeRef<'_>, role: &str, id: &str, register: Option<&RegisterSpec>) -> bool {
    let (dispatcher, service) = match (n.get::<WorkerRole>(), n.get::<PoolClientRole>()) {
        (Some(w), _) if n.role == role => (&w.dispatcher, &w.service),
        (_, Some(c)) if n.role == role => (&c.dispatcher, &c.service),
        _ => return false,
    };
    dispatcher.as_deref() == Some(id)
        || service
            .as_ref()
            .zip(register)
            .is_some_and(|(svc, r)| svc.registry == r.registry && svc.service == r.service)
}

/// The hint for a dispatcher that registers: a `role` node may find it by its service.
fn by_service(register: Option<&RegisterSpec>, role: &str) -> String {
    register
        .map(|r| {
            format!(
                ", or a {role} whose `service` is {{\"registry\": {:?}, \"service\": {:?}}}",
                r.registry, r.service
            )
        })
        .unwrap_or_default()
}

fn at_least_one(path: String, what: &str, n: u64, out: &mut Vec<Problem>) {
    if n == 0 {
        out.push((
            path,
            format!("must be at least 1 (a run with no {what} has nothing to check)"),
        ));
    }
}

/// A Poisson stream's expected arrivals (its rate × the run's duration, at most its
/// `jobs`) within the scenario's event budget: each arrival is at least one event, so a
/// stream over it could never be run to the end, and its queue would grow until the
/// budget (by default 50 M jobs held at once). Refused before the run (exit 2).
pub(crate) fn arrivals_within_budget(s: &crate::plugin::ScenarioView<'_>, out: &mut Vec<Problem>) {
    for (i, n) in s.nodes.iter().enumerate() {
        let Some(DispatcherRole {
            arrivals: ArrivalsSpec::Poisson { rate, jobs },
            ..
        }) = n.get::<DispatcherRole>()
        else {
            continue;
        };
        let expected = rate * s.duration.as_secs_f64();
        let expected = jobs.map_or(expected, |j| expected.min(j as f64));
        if expected.is_finite() && expected > s.max_events as f64 {
            out.push((
                format!("nodes[{i}].arrivals.rate"),
                format!(
                    "{rate} jobs/s over {} is about {expected:.0} arrivals, over the event budget \
                     (max_events {}): lower the rate, shorten the run, set arrivals.jobs, or raise max_events",
                    s.duration, s.max_events
                ),
            ));
        }
    }
}

impl Role for DispatcherRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        if let Some(r) = &self.register {
            r.validate(cx, out);
        }
        cx.positive("lease", self.lease, out);
        cx.positive("worker_timeout", self.worker_timeout, out);
        if let ArrivalsSpec::Poisson { rate, .. } = self.arrivals
            && !(rate.is_finite() && rate > 0.0 && rate <= 1e9)
        {
            out.push((
                cx.field("arrivals.rate"),
                format!("must be a rate in (0, 1e9] per second, got {rate}"),
            ));
        }
        // Work that cannot be done vacuously.
        let id = cx.id;
        match self.arrivals {
            ArrivalsSpec::Batch { jobs } => {
                at_least_one(cx.field("arrivals.jobs"), "jobs", jobs, out);
                if jobs > MAX_BATCH_JOBS {
                    out.push((
                        cx.field("arrivals.jobs"),
                        format!("a batch of {jobs} jobs is over the limit of {MAX_BATCH_JOBS}"),
                    ));
                }
            }
            ArrivalsSpec::Poisson { jobs: Some(jobs), .. } => {
                at_least_one(cx.field("arrivals.jobs"), "jobs", jobs, out)
            }
            ArrivalsSpec::Poisson { jobs: None, .. } | ArrivalsSpec::Clients => {}
        }
        if self.queue_capacity == Some(0) {
            out.push((
                cx.field("queue_capacity"),
                "must be at least 1 (a queue that holds no job rejects every job)".into(),
            ));
        }
        let register = self.register.as_ref();
        if matches!(self.arrivals, ArrivalsSpec::Clients)
            && !cx.nodes.iter().any(|c| serves(c, "pool_client", id, register))
        {
            out.push((
                cx.field("arrivals"),
                format!(
                    "dispatcher {id:?} takes its jobs from pool clients (\"kind\": \"clients\") and none \
                     names it: the run would make no job; add a pool_client with \"dispatcher\": {id:?}{}",
                    by_service(register, "pool_client")
                ),
            ));
        }
        if !cx.nodes.iter().any(|w| serves(w, "worker", id, register)) {
            out.push((
                cx.path.clone(),
                format!(
                    "dispatcher {id:?} has no worker: its jobs could never be done; add a worker with \
                     \"dispatcher\": {id:?}{}",
                    by_service(register, "worker")
                ),
            ));
        }
    }
    fn references(&self) -> Vec<&str> {
        self.register.iter().map(|r| r.registry.as_str()).collect()
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let arrivals = match &self.arrivals {
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
            queue_capacity: self.queue_capacity,
            lease: self.lease,
            worker_timeout: self.worker_timeout,
            never_reassign: self.canary_never_reassign,
            book_refused_slots: self.canary_book_refused_slots,
            register: self.register.as_ref().map(|r| r.registrant(cx)).transpose()?,
        };
        Ok(Box::new(super::dispatcher(cfg)?))
    }
    fn without_canaries(&self) -> Self {
        DispatcherRole {
            canary_never_reassign: false,
            canary_book_refused_slots: false,
            ..self.clone()
        }
    }
    fn work(&self) -> Option<u64> {
        match self.arrivals {
            ArrivalsSpec::Batch { jobs } => Some(jobs),
            ArrivalsSpec::Poisson { jobs, .. } => jobs,
            ArrivalsSpec::Clients => None,
        }
    }
    fn set_work(&mut self, n: u64) {
        match &mut self.arrivals {
            ArrivalsSpec::Batch { jobs } => *jobs = n,
            ArrivalsSpec::Poisson { jobs: Some(j), .. } => *j = n,
            _ => {}
        }
    }
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source> {
        let mut out = registration(&self.register, cx);
        let source = |configured, first_due| Source {
            check: super::check::LIVENESS,
            node: cx.node,
            items: ("job", "jobs"),
            configured,
            first_due,
        };
        match self.arrivals {
            ArrivalsSpec::Batch { jobs } => out.push(source(Some(jobs), Some((SimTime::ZERO, liveness_bound(cx))))),
            ArrivalsSpec::Poisson { jobs, .. } => out.push(source(jobs, None)),
            ArrivalsSpec::Clients => {}
        }
        out
    }
    fn work_at_start(&self) -> u64 {
        match self.arrivals {
            ArrivalsSpec::Batch { jobs } => jobs,
            ArrivalsSpec::Poisson { .. } | ArrivalsSpec::Clients => 0,
        }
    }
}

/// The `worker` role.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerRole {
    /// A fixed dispatcher's id (or give `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatcher: Option<String>,
    /// Find the dispatcher through a registry (or give `dispatcher`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    /// Jobs at once.
    #[serde(default = "d_slots")]
    pub slots: u32,
    /// Service time per job (any duration distribution, as for latency).
    pub service_time: Latency,
    /// Hello interval.
    #[serde(default = "d_heartbeat")]
    pub heartbeat: SimTime,
    /// CANARY: return the value unchanged instead of doubled.
    #[serde(default)]
    pub canary_return_unchanged: bool,
}

impl WorkerRole {
    /// A worker of the fixed dispatcher `dispatcher` with `service_time`, every other
    /// setting at its default.
    pub fn new(dispatcher: &str, service_time: Latency) -> Self {
        WorkerRole {
            dispatcher: Some(dispatcher.to_string()),
            service: None,
            slots: d_slots(),
            service_time,
            heartbeat: d_heartbeat(),
            canary_return_unchanged: false,
        }
    }
}

impl Role for WorkerRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        validate_target(cx, "dispatcher", &self.dispatcher, &self.service, "dispatcher", out);
        if self.slots == 0 || self.slots > 1_000_000 {
            out.push((
                cx.field("slots"),
                format!("must be between 1 and 1000000, got {}", self.slots),
            ));
        }
        cx.positive("heartbeat", self.heartbeat, out);
        cx.dist("service_time", &self.service_time, out);
    }
    fn references(&self) -> Vec<&str> {
        target_refs(&self.dispatcher, &self.service)
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let cfg = WorkerConfig {
            dispatcher: target(&self.dispatcher, &self.service, cx, "dispatcher")?,
            slots: self.slots,
            service: self.service_time.clone(),
            heartbeat: self.heartbeat,
            return_unchanged: self.canary_return_unchanged,
        };
        Ok(Box::new(super::worker(cfg)?))
    }
    fn without_canaries(&self) -> Self {
        WorkerRole {
            canary_return_unchanged: false,
            ..self.clone()
        }
    }
}

/// The `pool_client` role: a closed-loop job client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PoolClientRole {
    /// A fixed dispatcher's id (or give `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispatcher: Option<String>,
    /// Find the dispatcher through a registry (or give `dispatcher`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    /// How many jobs (default: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<u64>,
    /// Think time between a result and the next job.
    #[serde(default = "d_zero")]
    pub think: Latency,
    /// Resubmit after this long without a result.
    #[serde(default = "d_retry")]
    pub retry: SimTime,
}

impl Role for PoolClientRole {
    fn validate(&self, cx: &ValidateCx<'_>, out: &mut Vec<Problem>) {
        validate_target(cx, "dispatcher", &self.dispatcher, &self.service, "dispatcher", out);
        cx.positive("retry", self.retry, out);
        cx.dist("think", &self.think, out);
        if let Some(jobs) = self.jobs {
            at_least_one(cx.field("jobs"), "jobs", jobs, out);
        }
    }
    fn references(&self) -> Vec<&str> {
        target_refs(&self.dispatcher, &self.service)
    }
    fn build(&self, cx: &BuildCx<'_>) -> Result<NodeFactory<Payload, Observation>, Error> {
        let cfg = ClientConfig {
            dispatcher: target(&self.dispatcher, &self.service, cx, "dispatcher")?,
            jobs: self.jobs,
            think: self.think.clone(),
            retry: self.retry,
        };
        Ok(Box::new(super::client(cfg)?))
    }
    fn work(&self) -> Option<u64> {
        self.jobs
    }
    fn set_work(&mut self, n: u64) {
        if let Some(j) = &mut self.jobs {
            *j = n;
        }
    }
    fn expected_work(&self, cx: &WorkCx<'_>) -> Vec<Source> {
        vec![Source {
            check: super::check::LIVENESS,
            node: cx.node,
            items: ("job", "jobs"),
            configured: self.jobs,
            first_due: Some((SimTime::ZERO, liveness_bound(cx))),
        }]
    }
}
