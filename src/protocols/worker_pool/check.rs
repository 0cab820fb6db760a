//! Worker-pool checkers, online: each is a [`Check`] fed every observation as it is
//! made, keeping only live state (jobs not yet accepted, runs of accepted job ids, the
//! few jobs a client still waits for); the `check_*` functions run them over a history.
//!
//! - `pool.correct_result` (safety): every accepted result, and every result a client
//!   received, is the job's value doubled.
//! - `pool.accepted_once` (safety): no job is accepted twice.
//! - `pool.liveness`: every job that entered the queue (was not rejected) is accepted
//!   within `bound` of `max(its submission, ctx.heal_at)`. A job never accepted is a
//!   violation once that deadline is at or before the end of the run, or when the run
//!   healed and ended quiescent (nothing left to happen: the job never will be); when
//!   the run never healed (a worker crashed for good) or ended before the deadline, the
//!   check is `not_judged` (see [`crate::check`]), never `pass`. Every node the
//!   scenario configured to make jobs (a dispatcher's batch or Poisson arrivals, a pool
//!   client) must have had one enter the queue (or be rejected), by the same rule.

use std::collections::BTreeMap;

use crate::check::liveness::Judge;
use crate::check::{CheckContext, CheckId, Evidence, IdSet, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::plugin::{Check, Observation};
use crate::protocols::Obs;
use crate::protocols::worker_pool::{JobId, PoolObs, expected_result};

/// The id of `pool.correct_result`.
pub const CORRECT_RESULT: CheckId = CheckId::new("pool.correct_result");
/// The id of `pool.accepted_once`.
pub const ACCEPTED_ONCE: CheckId = CheckId::new("pool.accepted_once");
/// The id of `pool.liveness`.
pub const LIVENESS: CheckId = CheckId::new("pool.liveness");

/// How many assignment events a liveness violation quotes (the latest ones).
const ASSIGNMENTS_QUOTED: usize = 4;

/// A job by its maker's name: `job c1/3`.
pub(crate) fn job_name(ctx: &CheckContext, job: JobId) -> String {
    format!("job {}/{}", ctx.name(job.origin), job.seq)
}

/// Where and when something happened, with a number (a value or a result).
type At = (SimTime, NodeId, u64);

fn submitted_evidence(ctx: &CheckContext, job: JobId, s: Option<At>) -> Vec<Evidence> {
    s.map(|(at, node, value)| ctx.evidence(at, node, format!("{} submitted with value {value}", job_name(ctx, job))))
        .into_iter()
        .collect()
}

/// The pool's observation in `rec`, if it is one.
fn pool(rec: &Record<Observation>) -> Option<&PoolObs> {
    match rec.obs.get::<Obs>() {
        Some(Obs::Pool(o)) => Some(o),
        _ => None,
    }
}

/// Feed `records` to `f` (a check's own feed), skipping other protocols' observations.
fn replay(records: &[Record<Obs>], mut f: impl FnMut(SimTime, NodeId, &PoolObs)) {
    for r in records {
        if let Obs::Pool(o) = &r.obs {
            f(r.at, r.node, o);
        }
    }
}

/// Drop the entries of `map` for jobs of `job.origin` below `job.seq`.
fn drop_older<V>(map: &mut BTreeMap<JobId, V>, job: JobId) {
    let older: Vec<JobId> = map
        .range(
            JobId {
                origin: job.origin,
                seq: 0,
            }..job,
        )
        .map(|(k, _)| *k)
        .collect();
    for k in older {
        map.remove(&k);
    }
}

/// `pool.correct_result`, online: every accepted result, and every result a client
/// received, is the job's value doubled. Keeps the value of each job a client waits
/// for (a client has one job at a time), until its result returns or the client moves
/// on, and the violations.
#[derive(Default)]
pub struct CorrectResult {
    /// Accepted with a wrong result: (when, dispatcher, job, value, result).
    accepted: Vec<(SimTime, NodeId, JobId, u64, u64)>,
    /// Returned with a wrong result: (when, client, job, result, its first submission).
    returned: Vec<(SimTime, NodeId, JobId, u64, At)>,
    /// The first submission of each job a client made and still waits for.
    waiting: BTreeMap<JobId, At>,
}

impl CorrectResult {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &PoolObs) {
        match o {
            PoolObs::Submitted { job, value, .. } if job.origin != node => {
                // A client submits its next job only once it is done with the last one.
                drop_older(&mut self.waiting, *job);
                self.waiting.entry(*job).or_insert((at, node, *value));
            }
            // Accepted results carry the value the dispatcher holds; cross-check it too.
            PoolObs::Accepted { job, value, result, .. } if *result != expected_result(*value) => {
                self.accepted.push((at, node, *job, *value, *result));
            }
            PoolObs::Returned { job, result } => {
                if let Some(s) = self.waiting.remove(job)
                    && *result != expected_result(s.2)
                {
                    self.returned.push((at, node, *job, *result, s));
                }
            }
            _ => {}
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        let mut out = Vec::new();
        for &(at, node, job, value, result) in &self.accepted {
            let job_s = job_name(ctx, job);
            out.push(Violation::new(
                CORRECT_RESULT,
                format!(
                    "{job_s} with value {value} was accepted with result {result}, expected {}",
                    expected_result(value)
                ),
                at,
                ctx,
                vec![ctx.evidence(at, node, format!("{job_s} accepted with result {result}"))],
            ));
        }
        for &(at, node, job, result, s) in &self.returned {
            let job_s = job_name(ctx, job);
            let value = s.2;
            let mut events = submitted_evidence(ctx, job, Some(s));
            events.push(ctx.evidence(at, node, format!("{job_s} returned to its client with result {result}")));
            out.push(Violation::new(
                CORRECT_RESULT,
                format!(
                    "{job_s} with value {value} returned result {result} to its client, expected {}",
                    expected_result(value)
                ),
                at,
                ctx,
                events,
            ));
        }
        out
    }
}

impl Check for CorrectResult {
    fn id(&self) -> CheckId {
        CORRECT_RESULT
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = pool(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(CORRECT_RESULT, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.waiting.len() + self.accepted.len() + self.returned.len()
    }
}

/// What `pool.accepted_once` remembers of a client's job it may still see accepted
/// again.
struct ClientJob {
    /// Its first submission.
    submitted: At,
    /// Its first acceptance.
    accepted: Option<At>,
    /// The dispatchers that hold it (submitted there, not accepted there).
    holders: Vec<NodeId>,
    /// Its client got its result, or moved on.
    done: bool,
}

/// A job accepted more than once.
struct Twice {
    submitted: Option<At>,
    /// The acceptances quoted.
    accepted: Vec<At>,
    /// Earlier acceptances no longer quoted (their details were dropped once settled).
    unquoted: usize,
}

/// `pool.accepted_once`, online: no job is accepted twice. Keeps, per job maker, the
/// ids of accepted jobs as runs (they are accepted mostly in order, so the runs are
/// few), and for each job of a client, its details until no dispatcher holds it and
/// its client is done with it. A dispatcher's own job (batch, Poisson) can be held by
/// that dispatcher only, so its details are dropped when it is accepted; a second
/// acceptance of a job whose details were dropped is still a violation, quoting the
/// acceptances it saw.
#[derive(Default)]
pub struct AcceptedOnce {
    accepted: BTreeMap<NodeId, IdSet>,
    clients: BTreeMap<JobId, ClientJob>,
    twice: BTreeMap<JobId, Twice>,
}

impl AcceptedOnce {
    /// The check, before the run.
    pub fn new() -> Self {
        Self::default()
    }

    fn is_accepted(&self, job: JobId) -> bool {
        self.accepted.get(&job.origin).is_some_and(|s| s.contains(job.seq))
    }

    fn settle(&mut self, job: JobId) {
        if self
            .clients
            .get(&job)
            .is_some_and(|c| c.done && c.holders.is_empty() && c.accepted.is_some())
        {
            self.clients.remove(&job);
        }
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &PoolObs) {
        match o {
            PoolObs::Submitted { job, value, .. } => {
                let job = *job;
                if job.origin != node {
                    // A client's next job: it is done with the earlier ones.
                    let older: Vec<JobId> = self
                        .clients
                        .range(
                            JobId {
                                origin: job.origin,
                                seq: 0,
                            }..job,
                        )
                        .map(|(k, _)| *k)
                        .collect();
                    for k in older {
                        if let Some(c) = self.clients.get_mut(&k) {
                            c.done = true;
                        }
                        self.settle(k);
                    }
                    if !self.clients.contains_key(&job) && self.is_accepted(job) {
                        return; // a late resubmission of a job already settled
                    }
                    let c = self.clients.entry(job).or_insert(ClientJob {
                        submitted: (at, node, *value),
                        accepted: None,
                        holders: Vec::new(),
                        done: false,
                    });
                    if !c.holders.contains(&node) {
                        c.holders.push(node);
                    }
                }
            }
            PoolObs::Returned { job, .. } => {
                if let Some(c) = self.clients.get_mut(job) {
                    c.done = true;
                }
                self.settle(*job);
            }
            PoolObs::Accepted { job, result, .. } => {
                let (job, this) = (*job, (at, node, *result));
                if let Some(t) = self.twice.get_mut(&job) {
                    t.accepted.push(this);
                } else if let Some(c) = self.clients.get_mut(&job) {
                    c.holders.retain(|&d| d != node);
                    match c.accepted {
                        Some(first) => {
                            self.twice.insert(
                                job,
                                Twice {
                                    submitted: Some(c.submitted),
                                    accepted: vec![first, this],
                                    unquoted: 0,
                                },
                            );
                        }
                        None => c.accepted = Some(this),
                    }
                    self.accepted.entry(job.origin).or_default().insert(job.seq, ());
                    self.settle(job);
                } else if self.is_accepted(job) {
                    self.twice.insert(
                        job,
                        Twice {
                            submitted: None,
                            accepted: vec![this],
                            unquoted: 1,
                        },
                    );
                } else {
                    // A dispatcher's own job, accepted the first time: settled.
                    self.accepted.entry(job.origin).or_default().insert(job.seq, ());
                }
            }
            _ => {}
        }
    }

    fn violations(&self, ctx: &CheckContext) -> Vec<Violation> {
        let mut once = Vec::new();
        for (job, t) in &self.twice {
            let job_s = job_name(ctx, *job);
            let mut events = submitted_evidence(ctx, *job, t.submitted);
            events.extend(
                t.accepted.iter().map(|(at, node, result)| {
                    ctx.evidence(*at, *node, format!("{job_s} accepted with result {result}"))
                }),
            );
            let second = t.accepted[1usize.saturating_sub(t.unquoted).min(t.accepted.len() - 1)].0;
            once.push(Violation::new(
                ACCEPTED_ONCE,
                format!("{job_s} was accepted {} times", t.accepted.len() + t.unquoted),
                second,
                ctx,
                events,
            ));
        }
        once
    }
}

impl Check for AcceptedOnce {
    fn id(&self) -> CheckId {
        ACCEPTED_ONCE
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = pool(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(Verdict::judged(ACCEPTED_ONCE, self.violations(cx)))
    }
    fn retained(&self) -> usize {
        self.accepted.values().map(IdSet::runs).sum::<usize>() + self.clients.len() + self.twice.len()
    }
}

/// Safety: `pool.correct_result` and `pool.accepted_once`, in that order.
pub fn check_pool_safety(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Verdict> {
    let (mut correct, mut once) = (CorrectResult::new(), AcceptedOnce::new());
    replay(records, |at, node, o| {
        correct.feed(at, node, o);
        once.feed(at, node, o);
    });
    vec![
        Verdict::judged(CORRECT_RESULT, correct.violations(ctx)),
        Verdict::judged(ACCEPTED_ONCE, once.violations(ctx)),
    ]
}

/// An assignment or a lease's expiry, quoted by a liveness violation.
#[derive(Clone, Copy)]
struct Move {
    at: SimTime,
    dispatcher: NodeId,
    worker: NodeId,
    assign: u64,
    expired: bool,
}

/// `pool.liveness`, online: every job that entered a queue is accepted within `bound`
/// of `max(its submission, heal)`. Keeps the jobs not yet accepted, those accepted more
/// than `bound` after their submission (which the heal, known only at the end, may or
/// may not excuse), the latest assignments of both, the accepted job ids as runs per
/// maker (so that a late resubmission of a finished job is not taken for new work),
/// and a count per maker.
pub struct PoolLiveness {
    bound: SimTime,
    made: BTreeMap<NodeId, u64>,
    /// Jobs not accepted yet: their first submission.
    open: BTreeMap<JobId, At>,
    /// Jobs accepted more than `bound` after their submission: (submission, acceptance).
    late: BTreeMap<JobId, (At, SimTime)>,
    /// The latest assignments and expiries of open and late jobs (at most
    /// [`ASSIGNMENTS_QUOTED`] each).
    moves: BTreeMap<JobId, Vec<Move>>,
    accepted: BTreeMap<NodeId, IdSet>,
}

impl PoolLiveness {
    /// The check with `bound`, before the run.
    pub fn new(bound: SimTime) -> Self {
        PoolLiveness {
            bound,
            made: BTreeMap::new(),
            open: BTreeMap::new(),
            late: BTreeMap::new(),
            moves: BTreeMap::new(),
            accepted: BTreeMap::new(),
        }
    }

    fn feed(&mut self, at: SimTime, node: NodeId, o: &PoolObs) {
        match o {
            PoolObs::Submitted { job, value, .. } => {
                *self.made.entry(job.origin).or_default() += 1;
                let settled = self.accepted.get(&job.origin).is_some_and(|s| s.contains(job.seq));
                if !settled {
                    self.open.entry(*job).or_insert((at, node, *value));
                }
            }
            PoolObs::Rejected { job } => *self.made.entry(job.origin).or_default() += 1,
            PoolObs::Accepted { job, .. } => {
                let Some(submitted) = self.open.remove(job) else {
                    return;
                };
                self.accepted.entry(job.origin).or_default().insert(job.seq, ());
                // Its deadline is `max(submitted, heal) + bound`, at least `submitted + bound`.
                if at > submitted.0 + self.bound {
                    self.late.insert(*job, (submitted, at));
                } else {
                    self.moves.remove(job);
                }
            }
            PoolObs::Assigned {
                job, worker, assign, ..
            }
            | PoolObs::Reassigned {
                job, worker, assign, ..
            } if self.open.contains_key(job) || self.late.contains_key(job) => {
                let moves = self.moves.entry(*job).or_default();
                if moves.len() == ASSIGNMENTS_QUOTED {
                    moves.remove(0);
                }
                moves.push(Move {
                    at,
                    dispatcher: node,
                    worker: *worker,
                    assign: *assign,
                    expired: matches!(o, PoolObs::Reassigned { .. }),
                });
            }
            _ => {}
        }
    }

    fn conclude(&self, ctx: &CheckContext) -> Verdict {
        let bound = self.bound;
        let mut judge = Judge::new(ctx, LIVENESS, ("job", "jobs"));
        let mut jobs: Vec<(JobId, At, Option<SimTime>)> = self
            .open
            .iter()
            .map(|(j, s)| (*j, *s, None))
            .chain(self.late.iter().map(|(j, (s, a))| (*j, *s, Some(*a))))
            .collect();
        jobs.sort_by_key(|j| j.0);
        for (job, submitted, accepted_at) in jobs {
            let submitted_at = submitted.0;
            let job_s = job_name(ctx, job);
            let (at, message) = match accepted_at {
                Some(accepted_at) => match judge.deadline(submitted_at, bound) {
                    Some(deadline) if accepted_at > deadline => (
                        deadline,
                        format!(
                            "{job_s} was accepted at {accepted_at}, after its deadline {deadline} ({bound} after its submission or the heal)"
                        ),
                    ),
                    _ => continue,
                },
                None => match judge.undone(submitted_at, bound) {
                    Some(o) => (
                        o.at,
                        format!("{job_s}, submitted at {submitted_at}, was never accepted: {}", o.why),
                    ),
                    None => continue,
                },
            };
            let mut events = submitted_evidence(ctx, job, Some(submitted));
            events.extend(self.moves.get(&job).into_iter().flatten().map(|m| {
                let worker = ctx.name(m.worker);
                let what = if m.expired {
                    format!("{job_s}: lease {} at {worker} expired, back in the queue", m.assign)
                } else {
                    format!("{job_s} assigned to {worker} (lease {})", m.assign)
                };
                ctx.evidence(m.at, m.dispatcher, what)
            }));
            judge.push(Violation::new(LIVENESS, message, at, ctx, events));
        }
        judge.sources(|node| self.made.get(&node).copied().unwrap_or(0));
        judge.finish()
    }
}

impl Check for PoolLiveness {
    fn id(&self) -> CheckId {
        LIVENESS
    }
    fn observe(&mut self, rec: &Record<Observation>) {
        if let Some(o) = pool(rec) {
            self.feed(rec.at, rec.node, o);
        }
    }
    fn verdict(&mut self, cx: &CheckContext) -> Option<Verdict> {
        Some(self.conclude(cx))
    }
    fn retained(&self) -> usize {
        self.made.len()
            + self.open.len()
            + self.late.len()
            + self.moves.values().map(Vec::len).sum::<usize>()
            + self.accepted.values().map(IdSet::runs).sum::<usize>()
    }
}

/// Liveness: `pool.liveness` with the given bound after `max(submission, ctx.heal_at)`.
pub fn check_pool_liveness(records: &[Record<Obs>], ctx: &CheckContext, bound: SimTime) -> Verdict {
    let mut c = PoolLiveness::new(bound);
    replay(records, |at, node, o| c.feed(at, node, o));
    c.conclude(ctx)
}

/// Every pool check (`pool.correct_result`, `pool.accepted_once`, `pool.liveness`):
/// safety, then liveness with `bound`.
pub fn check_pool(records: &[Record<Obs>], ctx: &CheckContext, bound: SimTime) -> Vec<Verdict> {
    let mut v = check_pool_safety(records, ctx);
    v.push(check_pool_liveness(records, ctx, bound));
    v
}
