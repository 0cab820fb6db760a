//! Plain configuration structs of the worker pool (no serde: the scenario layer maps its
//! own format onto these) and their validation. Service and think times are
//! [`Dist`]s, the duration distribution network latency uses too.

use crate::engine::dist::Dist;
use crate::engine::error::Error;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::protocols::discovery::{RegistrantConfig, Target};

/// Timer tags at or above this are free for embedded discovery components in the
/// dispatcher and the workers (their own tags are lease numbers, below it, and `u64::MAX`).
const HIGH_TAGS: u64 = 1 << 63;

fn bad(what: &str) -> Error {
    Error::InvalidParameter(what.to_string())
}

/// A resolver's timer tag must not collide with the node's own tags.
fn check_target_tag(t: &Target, ok: impl Fn(u64) -> bool, who: &str) -> Result<(), Error> {
    match t.resolver() {
        Some(r) if !ok(r.timer_tag) => Err(bad(&format!(
            "pool {who}: the resolver's timer tag {:#x} collides with the node's own tags",
            r.timer_tag
        ))),
        _ => Ok(()),
    }
}

/// How jobs arrive.
#[derive(Clone, Debug, PartialEq)]
pub enum Arrivals {
    /// `n` jobs, all submitted by the dispatcher when it first starts.
    Batch {
        /// How many.
        n: u64,
    },
    /// Closed-loop client nodes: each submits a job, waits for its result, thinks, and
    /// submits the next. The dispatcher generates nothing; [`super::add_pool`] adds the
    /// clients.
    ClosedLoop {
        /// How many clients.
        clients: u32,
        /// Think time between a result and the next submission.
        think: Dist,
        /// Jobs per client (`None`: no limit).
        jobs_per_client: Option<u64>,
        /// How long a client waits for a result before it resubmits the same job.
        retry: SimTime,
    },
    /// An open-loop Poisson stream drawn by the dispatcher from its own random stream:
    /// exponential inter-arrival times with mean `1 / rate`.
    Poisson {
        /// Arrivals per simulated second.
        rate: f64,
        /// Stop after this many arrivals (`None`: no limit).
        jobs: Option<u64>,
    },
}

/// The dispatcher's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct DispatcherConfig {
    /// How jobs arrive.
    pub arrivals: Arrivals,
    /// Bound on waiting jobs (`None`: unbounded); a job arriving at a full queue is rejected.
    pub queue_capacity: Option<u32>,
    /// How long an assignment may stay out before the job is put back in the queue.
    pub lease: SimTime,
    /// A worker not heard from (hello) for this long gets no new jobs until it is heard again.
    pub worker_timeout: SimTime,
    /// CANARY (planted bug): never put a job back when its lease expires.
    pub never_reassign: bool,
    /// CANARY (planted bug): the dispatcher of before issue 10. It believes its leases:
    /// an expired lease frees the worker's slot (even though the job may still be
    /// running there), and it ignores a worker's refusal, so the refused assignment keeps
    /// its slot booked until that lease expires too: a phantom booking while jobs wait.
    /// It also ignores the workers' slot reports. Caught by `pool.work_conservation`.
    pub book_refused_slots: bool,
    /// Register with a service registry (and renew by heartbeat), if set, so that
    /// workers and clients can find the dispatcher by service name.
    pub register: Option<RegistrantConfig>,
}

impl Default for DispatcherConfig {
    /// 100 jobs in a batch, unbounded queue, 1 s leases, 3 s worker timeout.
    fn default() -> Self {
        DispatcherConfig {
            arrivals: Arrivals::Batch { n: 100 },
            queue_capacity: None,
            lease: SimTime::from_secs(1),
            worker_timeout: SimTime::from_secs(3),
            never_reassign: false,
            book_refused_slots: false,
            register: None,
        }
    }
}

impl DispatcherConfig {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        if self.lease.0 == 0 {
            return Err(Error::InvalidParameter("pool lease must be positive".into()));
        }
        if self.worker_timeout.0 == 0 {
            return Err(Error::InvalidParameter("pool worker_timeout must be positive".into()));
        }
        if let Some(r) = &self.register
            && (r.timer_tag < HIGH_TAGS || r.timer_tag == u64::MAX)
        {
            return Err(bad(&format!(
                "pool dispatcher: the registrant's timer tag {:#x} collides with the dispatcher's own tags",
                r.timer_tag
            )));
        }
        match &self.arrivals {
            Arrivals::Batch { .. } => Ok(()),
            Arrivals::Poisson { rate, .. } => {
                if rate.is_finite() && *rate > 0.0 {
                    Ok(())
                } else {
                    Err(Error::InvalidParameter(format!(
                        "pool Poisson rate must be a finite number > 0, got {rate}"
                    )))
                }
            }
            Arrivals::ClosedLoop { think, retry, .. } => {
                think.validate()?;
                if retry.0 == 0 {
                    return Err(Error::InvalidParameter("pool client retry must be positive".into()));
                }
                Ok(())
            }
        }
    }
}

/// A worker's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkerConfig {
    /// The dispatcher to say hello to: a fixed node, or found through the registry
    /// (looked up again when it sends nothing for three heartbeats).
    pub dispatcher: Target,
    /// Jobs it runs at once (at least 1).
    pub slots: u32,
    /// Service time per job.
    pub service: Dist,
    /// Interval between hellos.
    pub heartbeat: SimTime,
    /// CANARY (planted bug): return the value unchanged instead of doubled.
    pub return_unchanged: bool,
}

impl Default for WorkerConfig {
    /// One slot, 10 ms exponential service, 500 ms heartbeat.
    fn default() -> Self {
        WorkerConfig {
            dispatcher: Target::Fixed(NodeId(0)),
            slots: 1,
            service: Dist::Exponential {
                mean: SimTime::from_millis(10),
            },
            heartbeat: SimTime::from_millis(500),
            return_unchanged: false,
        }
    }
}

impl WorkerConfig {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        if self.slots == 0 {
            return Err(Error::InvalidParameter("pool worker slots must be at least 1".into()));
        }
        if self.heartbeat.0 == 0 {
            return Err(Error::InvalidParameter("pool worker heartbeat must be positive".into()));
        }
        check_target_tag(&self.dispatcher, |t| t >= HIGH_TAGS && t != u64::MAX, "worker")?;
        self.service.validate()
    }
}

/// A closed-loop client's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientConfig {
    /// The dispatcher to submit to: a fixed node, or found through the registry (looked
    /// up again whenever a submission goes `retry` without an answer).
    pub dispatcher: Target,
    /// How many jobs to submit (`None`: no limit).
    pub jobs: Option<u64>,
    /// Think time between a result and the next submission.
    pub think: Dist,
    /// How long to wait for a result before resubmitting the same job.
    pub retry: SimTime,
}

impl ClientConfig {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        if self.retry.0 == 0 {
            return Err(Error::InvalidParameter("pool client retry must be positive".into()));
        }
        check_target_tag(&self.dispatcher, |t| t > 2, "client")?;
        self.think.validate()
    }
}

/// A whole pool, for [`super::add_pool`].
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    /// The dispatcher (its `arrivals` also decides whether clients are added).
    pub dispatcher: DispatcherConfig,
    /// How many workers.
    pub workers: u32,
    /// Every worker's settings (`dispatcher` is filled in by `add_pool`).
    pub worker: WorkerConfig,
}

impl PoolConfig {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        self.dispatcher.validate()?;
        self.worker.validate()?;
        if self.workers == 0 {
            return Err(Error::InvalidParameter("a pool needs at least one worker".into()));
        }
        Ok(())
    }
}
