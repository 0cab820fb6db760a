//! The worker pool: the Go goroutine pool made distributed.
//!
//! A dispatcher node owns a FIFO job queue (optionally bounded) and hands jobs to worker
//! nodes with free slots; a worker holds a job for a drawn service time (a timer) and
//! returns the job's value doubled. The dispatcher leases every assignment and puts the
//! job back at the head of the queue when the lease expires (worker crashed, message
//! lost); it accepts the first result of each job only. Jobs arrive as a fixed batch, as
//! an open-loop Poisson stream drawn by the dispatcher from its own random stream, or
//! from closed-loop client nodes.
//!
//! The dispatcher can register under a service name ([`DispatcherConfig::register`]) and
//! workers and clients can find it through the registry instead of by node id
//! ([`crate::protocols::discovery::Target`]): they look it up again when it stops
//! answering, so a restarted dispatcher is found again once it has re-registered.
//!
//! This file holds the wire messages ([`PoolMsg`]), the observations ([`PoolObs`]) and the
//! node factories; the nodes live in `worker_pool/{dispatcher,worker,client}.rs`, the
//! plain configuration structs in `worker_pool/config.rs`. The checkers are in
//! `check.rs` ([`check_pool`]), the streaming metrics in `metrics.rs` ([`pool_metrics`]), the M/M/c
//! predictions they are tested against in [`crate::metrics::mmc`].
//!
//! ## What survives a dispatcher crash
//!
//! The dispatcher keeps all of its job state in durable storage ([`crate::Ctx::durable`])
//! and syncs it ([`crate::Ctx::sync`]) at the end of every handler, so every change is on
//! disk before anything the handler sent can arrive, even when a crash loses unsynced
//! writes (`storage.unsynced_writes: "may_be_lost"`): the queue, the jobs in flight with their leases, the worker registry, the
//! arrival counters and, per client, the last accepted job. A crash therefore loses only
//! the messages in flight and the timers; on restart the dispatcher re-arms every lease
//! timer at its original deadline and restarts the arrival process (arrivals that would
//! have happened while it was down are not made up: the source was down). No job that
//! was submitted is ever forgotten, and no job is accepted twice across a crash.
//!
//! Workers are volatile: a crashed worker loses the jobs it held; the leases bring them
//! back. A worker says hello on start and then every `heartbeat`, with its incarnation,
//! so a restarted worker is known again with all its slots free. Clients keep their
//! current job in durable storage (synced whenever it changes) and resubmit it until
//! they hear its result.
//!
//! ## Leases recover jobs; only the worker frees its slots
//!
//! A lease and a slot are two different things. The lease protects the *job*: when it
//! expires the job goes back to the head of the queue, so a lost worker or message never
//! loses it. It says nothing about the worker's *slot*: a job slower than its lease is
//! still running there. So an expired lease keeps its slot booked, and only the worker's
//! own word frees it: its `Done` for that assignment (even a late one), its `Declined`
//! when it cannot hold an assignment, a [`SlotReport`] (sent with every hello, result and
//! refusal) that lists the assignment among those it recently finished or declined, or
//! that no longer lists an assignment whose lease has expired (the assignment itself
//! was lost), or a hello of a new incarnation (all slots free). A report
//! also tells the dispatcher how many slots are busy with work it has no booking for
//! (a duplicated assignment run twice, another dispatcher's job), and those slots are
//! not offered. The dispatcher therefore never books a slot for an assignment the worker
//! refused or cannot hold, and a disagreement costs one round trip (a refusal), never a
//! lease. Reports carry the worker's incarnation and a sequence number, so a late or
//! reordered report never overrides a newer one.

pub(crate) mod check;
mod client;
mod config;
pub(crate) mod conservation;
mod dispatcher;
pub(crate) mod metrics;
mod protocol;
pub(crate) mod roles;
pub(crate) mod series;
mod worker;

pub use check::{
    ACCEPTED_ONCE, AcceptedOnce, CORRECT_RESULT, CorrectResult, LIVENESS, PoolLiveness, check_pool,
    check_pool_liveness, check_pool_safety,
};
pub use conservation::{NAME as WORK_CONSERVATION, WorkConservation, check_work_conservation};
pub use metrics::{PoolMetrics, PoolReport, WorkerUtilisation, pool_metrics};
pub use roles::{ArrivalsSpec, DispatcherRole, MAX_BATCH_JOBS, PoolClientRole, WorkerRole};

pub use config::{Arrivals, ClientConfig, DispatcherConfig, PoolConfig, WorkerConfig};
pub use protocol::{DEFAULT_LIVENESS_BOUND, LIVENESS_BOUND, WorkerPool};

use crate::engine::error::Error;
use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::node::NodeId;
use crate::engine::sim::Simulation;
use crate::engine::time::SimTime;
use crate::plugin::{Observation, Payload};
use crate::protocols::discovery::Target;
use crate::protocols::{Msg, Obs, ProtoNode};

/// A job's identity: the node that made it (a client, or the dispatcher for batch and
/// Poisson jobs) and that node's sequence number (from 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct JobId {
    /// The node that made the job.
    pub origin: NodeId,
    /// Its sequence number at that node.
    pub seq: u64,
}

impl std::fmt::Display for JobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "job {}/{}", self.origin, self.seq)
    }
}

impl StableHash for JobId {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.origin.0 as u64);
        h.word(self.seq);
    }
}

/// Worker-pool messages.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolMsg {
    /// Worker -> dispatcher, on start and every heartbeat: "I am here with `slots` slots,
    /// and this is what they hold".
    Hello {
        /// How many jobs it runs at once.
        slots: u32,
        /// Its slots now (with its incarnation: a higher one means it restarted).
        report: Box<SlotReport>,
    },
    /// Client -> dispatcher: run this job (resent until its result arrives).
    Submit {
        /// The job.
        job: JobId,
        /// Its input.
        value: u64,
    },
    /// Dispatcher -> worker: run this job under lease `assign`.
    Assign {
        /// The lease (assignment) number, unique per dispatcher.
        assign: u64,
        /// The job.
        job: JobId,
        /// Its input.
        value: u64,
    },
    /// Worker -> dispatcher: the result of an assignment; its slot is free again.
    Done {
        /// The lease it answers.
        assign: u64,
        /// The job.
        job: JobId,
        /// The result.
        result: u64,
        /// Its slots after this job left.
        report: Box<SlotReport>,
    },
    /// Worker -> dispatcher: "I cannot hold this assignment" (every slot is busy); the
    /// dispatcher frees the booking and puts the job back at once.
    Declined {
        /// The lease it refuses.
        assign: u64,
        /// The job.
        job: JobId,
        /// Its slots (all busy).
        report: Box<SlotReport>,
    },
    /// Dispatcher -> client: the accepted result of a job.
    Result {
        /// The job.
        job: JobId,
        /// The result.
        result: u64,
    },
    /// Dispatcher -> client: the queue was full; the job was not taken.
    Rejected {
        /// The job.
        job: JobId,
    },
}

/// What a worker tells the dispatcher about its slots, with every hello, result and
/// refusal: the truth the dispatcher's bookings are reconciled with. (Boxed in the
/// messages, which stay small for the event queue.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SlotReport {
    /// The worker's incarnation (restart count).
    pub incarnation: u32,
    /// Increases with every report the worker sends in this incarnation, so that a late
    /// (reordered) report is recognised and not used to reconcile.
    pub seq: u64,
    /// Slots busy, with anyone's jobs.
    pub busy: u32,
    /// The assignments of the receiving dispatcher it is running, in ascending order.
    pub held: Vec<u64>,
    /// The assignments of the receiving dispatcher it finished or declined most recently
    /// (at most twice its slots, and 32), oldest first: a result or refusal repeated in
    /// later reports, so that its slot is freed even if that message is slow or lost.
    pub finished: Vec<u64>,
}

impl StableHash for SlotReport {
    fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.incarnation as u64);
        h.word(self.seq);
        h.word(self.busy as u64);
        h.word(self.held.len() as u64);
        for a in &self.held {
            h.word(*a);
        }
        h.word(self.finished.len() as u64);
        for a in &self.finished {
            h.word(*a);
        }
    }
}

impl StableHash for PoolMsg {
    fn stable_hash(&self, h: &mut StableHasher) {
        match self {
            PoolMsg::Hello { slots, report } => {
                h.word(1);
                h.word(*slots as u64);
                report.stable_hash(h);
            }
            PoolMsg::Submit { job, value } => {
                h.word(2);
                job.stable_hash(h);
                h.word(*value);
            }
            PoolMsg::Assign { assign, job, value } => {
                h.word(3);
                h.word(*assign);
                job.stable_hash(h);
                h.word(*value);
            }
            PoolMsg::Done {
                assign,
                job,
                result,
                report,
            } => {
                h.word(4);
                h.word(*assign);
                job.stable_hash(h);
                h.word(*result);
                report.stable_hash(h);
            }
            PoolMsg::Declined { assign, job, report } => {
                h.word(7);
                h.word(*assign);
                job.stable_hash(h);
                report.stable_hash(h);
            }
            PoolMsg::Result { job, result } => {
                h.word(5);
                job.stable_hash(h);
                h.word(*result);
            }
            PoolMsg::Rejected { job } => {
                h.word(6);
                job.stable_hash(h);
            }
        }
    }
}

/// Worker-pool observations. Dispatcher observations that change the queue carry the
/// queue length after the change (`queue_len`), and the timestamps the metrics need
/// travel inside them, so that metrics keep no per-job state.
///
/// Workers record what their slots actually do ([`PoolObs::Started`],
/// [`PoolObs::Completed`], [`PoolObs::Declined`], [`PoolObs::WorkerUp`],
/// [`PoolObs::Joined`]), so that checks and metrics can judge the dispatcher from the
/// workers' side rather than from its own bookkeeping. An assignment is named by
/// `(dispatcher, assign)` on both sides, so a message's latency is observable as the gap
/// between the sender's and the receiver's records.
#[derive(Clone, Debug, PartialEq)]
pub enum PoolObs {
    /// Dispatcher: a job entered the queue (first time only).
    Submitted {
        /// The job.
        job: JobId,
        /// Its input.
        value: u64,
        /// Jobs waiting in the queue after this one joined.
        queue_len: u32,
    },
    /// Dispatcher: the queue was full, the job was turned away.
    Rejected {
        /// The job.
        job: JobId,
    },
    /// Dispatcher: a job left the queue for `worker` under lease `assign`.
    Assigned {
        /// The job.
        job: JobId,
        /// The worker.
        worker: NodeId,
        /// The lease number.
        assign: u64,
        /// When the job was submitted.
        submitted_at: SimTime,
        /// `true` for the job's first assignment (waiting time ends here).
        first: bool,
        /// Jobs waiting in the queue after this one left.
        queue_len: u32,
    },
    /// Dispatcher: a lease expired; the job went back to the head of the queue (the
    /// worker's slot stays booked until the worker says it is free).
    Reassigned {
        /// The job.
        job: JobId,
        /// The worker whose lease expired.
        worker: NodeId,
        /// The expired lease.
        assign: u64,
        /// Jobs waiting in the queue after this one rejoined.
        queue_len: u32,
    },
    /// Dispatcher: it received a worker's refusal of an assignment (all its slots were
    /// busy); the booking is freed at once and, if the lease was still live, the job went
    /// back to the head of the queue (the `book_refused_slots` canary records the refusal
    /// and does neither).
    Refused {
        /// The job.
        job: JobId,
        /// The worker that declined.
        worker: NodeId,
        /// The declined lease.
        assign: u64,
        /// Whether the job went back to the queue (its lease was still live).
        requeued: bool,
        /// Jobs waiting in the queue after this.
        queue_len: u32,
    },
    /// Dispatcher: it heard from a new worker, or from a new incarnation of one, for the
    /// first time; all its slots are offered.
    WorkerJoined {
        /// The worker.
        worker: NodeId,
        /// Its incarnation.
        incarnation: u32,
        /// Its slots.
        slots: u32,
        /// The sequence number of the hello it heard (see [`PoolObs::Joined`]).
        seq: u64,
    },
    /// Worker: it said hello to this dispatcher for the first time (in this
    /// incarnation); from now on its free slots are offered to it.
    Joined {
        /// The dispatcher.
        dispatcher: NodeId,
        /// The hello's report sequence number.
        seq: u64,
    },
    /// Worker: it took an assignment into a free slot and started the job.
    Started {
        /// The job.
        job: JobId,
        /// The lease it runs under.
        assign: u64,
        /// The dispatcher that assigned it.
        dispatcher: NodeId,
    },
    /// Worker: it received an assignment with every slot busy and declined it.
    Declined {
        /// The job.
        job: JobId,
        /// The declined lease.
        assign: u64,
        /// The dispatcher that assigned it.
        dispatcher: NodeId,
    },
    /// Worker: it finished a job and sent the result; the slot is free.
    Completed {
        /// The job.
        job: JobId,
        /// The lease it ran under.
        assign: u64,
        /// The dispatcher the result went to.
        dispatcher: NodeId,
        /// The result it computed.
        result: u64,
        /// How long it held the job (its service time).
        service: SimTime,
    },
    /// Dispatcher: the first result of a job was accepted.
    Accepted {
        /// The job.
        job: JobId,
        /// Its input.
        value: u64,
        /// The accepted result.
        result: u64,
        /// The worker that produced it.
        worker: NodeId,
        /// The lease the result answers.
        assign: u64,
        /// When the job was submitted.
        submitted_at: SimTime,
        /// Jobs waiting in the queue after this acceptance (it may remove a job that
        /// had been put back by an expired lease).
        queue_len: u32,
    },
    /// Dispatcher: a later result of an already accepted job was ignored.
    DuplicateResult {
        /// The job.
        job: JobId,
        /// The worker that sent it.
        worker: NodeId,
        /// The lease the result answers.
        assign: u64,
    },
    /// Worker: it started (or restarted) with this many slots.
    WorkerUp {
        /// Slots.
        slots: u32,
        /// Its incarnation.
        incarnation: u32,
    },
    /// Client: it received the accepted result of its job.
    Returned {
        /// The job.
        job: JobId,
        /// The result.
        result: u64,
    },
}

/// A node factory for the built-in protocols, as [`Simulation::add_node`] takes it.
pub trait ProtoFactory: FnMut() -> Box<ProtoNode> + 'static {}
impl<F: FnMut() -> Box<ProtoNode> + 'static> ProtoFactory for F {}

/// The dispatcher's factory (checked now; called again at every restart).
pub fn dispatcher(cfg: DispatcherConfig) -> Result<impl ProtoFactory, Error> {
    cfg.validate()?;
    let cfg = std::rc::Rc::new(cfg);
    Ok(move || Box::new(dispatcher::Dispatcher::new(cfg.clone())) as Box<ProtoNode>)
}

/// A worker's factory (checked now; called again at every restart).
pub fn worker(cfg: WorkerConfig) -> Result<impl ProtoFactory, Error> {
    cfg.validate()?;
    let sampler = cfg.service.sampler()?;
    let cfg = std::rc::Rc::new(cfg);
    Ok(move || Box::new(worker::Worker::new(cfg.clone(), sampler.clone())) as Box<ProtoNode>)
}

/// A closed-loop client's factory (checked now; called again at every restart).
pub fn client(cfg: ClientConfig) -> Result<impl ProtoFactory, Error> {
    cfg.validate()?;
    let think = cfg.think.sampler()?;
    let cfg = std::rc::Rc::new(cfg);
    Ok(move || Box::new(client::Client::new(cfg.clone(), think.clone())) as Box<ProtoNode>)
}

/// The nodes [`add_pool`] added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolNodes {
    /// The dispatcher.
    pub dispatcher: NodeId,
    /// The workers, in order.
    pub workers: Vec<NodeId>,
    /// The closed-loop clients (empty for batch and Poisson arrivals).
    pub clients: Vec<NodeId>,
}

/// Add a whole pool to `sim`: the dispatcher (`"dispatcher"`), `cfg.workers` workers
/// (`"worker-0"`, ...) and, for closed-loop arrivals, the clients (`"client-0"`, ...).
pub fn add_pool(sim: &mut Simulation<Payload, Observation>, cfg: &PoolConfig) -> Result<PoolNodes, Error> {
    cfg.validate()?;
    let d = sim.add_node("dispatcher", dispatcher(cfg.dispatcher.clone())?)?;
    let mut workers = Vec::with_capacity(cfg.workers as usize);
    for i in 0..cfg.workers {
        let w = WorkerConfig {
            dispatcher: Target::Fixed(d),
            ..cfg.worker.clone()
        };
        workers.push(sim.add_node(&format!("worker-{i}"), worker(w)?)?);
    }
    let mut clients = Vec::new();
    if let Arrivals::ClosedLoop {
        clients: n,
        think,
        jobs_per_client,
        retry,
    } = &cfg.dispatcher.arrivals
    {
        for i in 0..*n {
            let c = ClientConfig {
                dispatcher: Target::Fixed(d),
                jobs: *jobs_per_client,
                think: think.clone(),
                retry: *retry,
            };
            clients.push(sim.add_node(&format!("client-{i}"), client(c)?)?);
        }
    }
    Ok(PoolNodes {
        dispatcher: d,
        workers,
        clients,
    })
}

/// The result a correct worker returns for `value`: the value doubled (wrapping).
#[inline]
pub fn expected_result(value: u64) -> u64 {
    value.wrapping_mul(2)
}

/// Shorthand: send a pool message.
#[inline]
fn send(ctx: &mut crate::protocols::ProtoCtx<'_>, to: NodeId, m: PoolMsg) {
    ctx.send(to, Msg::Pool(m));
}

/// Shorthand: record a pool observation.
#[inline]
fn observe(ctx: &mut crate::protocols::ProtoCtx<'_>, o: PoolObs) {
    ctx.observe(Obs::Pool(o));
}
