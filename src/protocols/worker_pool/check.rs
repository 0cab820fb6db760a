//! Worker-pool checkers over a run's history.
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
use crate::check::{CheckContext, CheckId, Evidence, Verdict, Violation};
use crate::engine::history::Record;
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
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

/// What the checkers gather per job.
#[derive(Default)]
struct JobTrace {
    submitted: Option<(SimTime, NodeId, u64)>,
    accepted: Vec<(SimTime, NodeId, u64)>,
    /// The latest assignments and reassignments, as evidence.
    moves: Vec<Evidence>,
}

/// A job by its maker's name: `job c1/3`.
pub(crate) fn job_name(ctx: &CheckContext, job: JobId) -> String {
    format!("job {}/{}", ctx.name(job.origin), job.seq)
}

fn gather(records: &[Record<Obs>], ctx: &CheckContext) -> BTreeMap<JobId, JobTrace> {
    let mut jobs: BTreeMap<JobId, JobTrace> = BTreeMap::new();
    for r in records {
        let Obs::Pool(o) = &r.obs else { continue };
        match o {
            PoolObs::Submitted { job, value, .. } => {
                jobs.entry(*job)
                    .or_default()
                    .submitted
                    .get_or_insert((r.at, r.node, *value));
            }
            PoolObs::Accepted { job, result, .. } => {
                jobs.entry(*job).or_default().accepted.push((r.at, r.node, *result));
            }
            PoolObs::Assigned {
                job, worker, assign, ..
            }
            | PoolObs::Reassigned {
                job, worker, assign, ..
            } => {
                let (job_s, worker) = (job_name(ctx, *job), ctx.name(*worker));
                let what = if matches!(o, PoolObs::Assigned { .. }) {
                    format!("{job_s} assigned to {worker} (lease {assign})")
                } else {
                    format!("{job_s}: lease {assign} at {worker} expired, back in the queue")
                };
                let moves = &mut jobs.entry(*job).or_default().moves;
                if moves.len() == ASSIGNMENTS_QUOTED {
                    moves.remove(0);
                }
                moves.push(ctx.evidence_of(r, what));
            }
            _ => {}
        }
    }
    jobs
}

fn submitted_evidence(ctx: &CheckContext, job: JobId, s: Option<(SimTime, NodeId, u64)>) -> Vec<Evidence> {
    s.map(|(at, node, value)| ctx.evidence(at, node, format!("{} submitted with value {value}", job_name(ctx, job))))
        .into_iter()
        .collect()
}

/// Safety: `pool.correct_result` and `pool.accepted_once`, in that order.
pub fn check_pool_safety(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Verdict> {
    let mut correct = Vec::new();
    // Accepted results carry the value the dispatcher holds; cross-check it too.
    for r in records {
        let Obs::Pool(PoolObs::Accepted { job, value, result, .. }) = &r.obs else {
            continue;
        };
        let (job, value, result) = (*job, *value, *result);
        if result != expected_result(value) {
            let job_s = job_name(ctx, job);
            correct.push(Violation::new(
                CORRECT_RESULT,
                format!(
                    "{job_s} with value {value} was accepted with result {result}, expected {}",
                    expected_result(value)
                ),
                r.at,
                ctx,
                vec![ctx.evidence_of(r, format!("{job_s} accepted with result {result}"))],
            ));
        }
    }
    let jobs = gather(records, ctx);
    for r in records {
        let Obs::Pool(PoolObs::Returned { job, result }) = &r.obs else {
            continue;
        };
        let Some(value) = jobs.get(job).and_then(|t| t.submitted).map(|s| s.2) else {
            continue;
        };
        if *result != expected_result(value) {
            let job_s = job_name(ctx, *job);
            let mut events = submitted_evidence(ctx, *job, jobs.get(job).and_then(|t| t.submitted));
            events.push(ctx.evidence_of(r, format!("{job_s} returned to its client with result {result}")));
            correct.push(Violation::new(
                CORRECT_RESULT,
                format!(
                    "{job_s} with value {value} returned result {result} to its client, expected {}",
                    expected_result(value)
                ),
                r.at,
                ctx,
                events,
            ));
        }
    }
    let mut once = Vec::new();
    for (job, t) in &jobs {
        if t.accepted.len() > 1 {
            let job_s = job_name(ctx, *job);
            let mut events = submitted_evidence(ctx, *job, t.submitted);
            events.extend(
                t.accepted.iter().map(|(at, node, result)| {
                    ctx.evidence(*at, *node, format!("{job_s} accepted with result {result}"))
                }),
            );
            once.push(Violation::new(
                ACCEPTED_ONCE,
                format!("{job_s} was accepted {} times", t.accepted.len()),
                t.accepted[1].0,
                ctx,
                events,
            ));
        }
    }
    vec![
        Verdict::judged(CORRECT_RESULT, correct),
        Verdict::judged(ACCEPTED_ONCE, once),
    ]
}

/// Liveness: `pool.liveness` with the given bound after `max(submission, ctx.heal_at)`.
pub fn check_pool_liveness(records: &[Record<Obs>], ctx: &CheckContext, bound: SimTime) -> Verdict {
    let mut judge = Judge::new(ctx, LIVENESS, ("job", "jobs"));
    // Jobs each node made that reached the dispatcher (queued or turned away).
    let mut made: BTreeMap<NodeId, u64> = BTreeMap::new();
    for r in records {
        if let Obs::Pool(PoolObs::Submitted { job, .. } | PoolObs::Rejected { job }) = &r.obs {
            *made.entry(job.origin).or_default() += 1;
        }
    }
    for (job, t) in gather(records, ctx) {
        let Some((submitted_at, _, _)) = t.submitted else {
            continue;
        };
        let job_s = job_name(ctx, job);
        let (at, message) = match t.accepted.first().map(|a| a.0) {
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
        let mut events = submitted_evidence(ctx, job, t.submitted);
        events.extend(t.moves);
        judge.push(Violation::new(LIVENESS, message, at, ctx, events));
    }
    judge.sources(|node| made.get(&node).copied().unwrap_or(0));
    judge.finish()
}

/// Every pool check (`pool.correct_result`, `pool.accepted_once`, `pool.liveness`):
/// safety, then liveness with `bound`.
pub fn check_pool(records: &[Record<Obs>], ctx: &CheckContext, bound: SimTime) -> Vec<Verdict> {
    let mut v = check_pool_safety(records, ctx);
    v.push(check_pool_liveness(records, ctx, bound));
    v
}
