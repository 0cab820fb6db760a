//! Worker-pool checkers over a run's history.
//!
//! - `pool.correct_result` (safety): every accepted result, and every result a client
//!   received, is the job's value doubled.
//! - `pool.accepted_once` (safety): no job is accepted twice.
//! - `pool.liveness`: every job that entered the queue (was not rejected) is accepted
//!   within `bound` of `max(its submission, ctx.heal_at)`. A deadline after the end of
//!   the run cannot be judged and is not a violation.

use std::collections::BTreeMap;

use super::{CheckContext, Evidence, Violation};
use crate::history::Record;
use crate::node::NodeId;
use crate::protocols::Obs;
use crate::protocols::worker_pool::{JobId, PoolObs, expected_result};
use crate::time::SimTime;

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

fn gather(records: &[Record<Obs>]) -> BTreeMap<JobId, JobTrace> {
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
                let what = if matches!(o, PoolObs::Assigned { .. }) {
                    format!("{job} assigned to {worker} (lease {assign})")
                } else {
                    format!("{job}: lease {assign} at {worker} expired, back in the queue")
                };
                let moves = &mut jobs.entry(*job).or_default().moves;
                if moves.len() == ASSIGNMENTS_QUOTED {
                    moves.remove(0);
                }
                moves.push(Evidence {
                    at: r.at,
                    node: r.node,
                    what,
                });
            }
            _ => {}
        }
    }
    jobs
}

fn submitted_evidence(job: JobId, s: Option<(SimTime, NodeId, u64)>) -> Vec<Evidence> {
    s.map(|(at, node, value)| Evidence {
        at,
        node,
        what: format!("{job} submitted with value {value}"),
    })
    .into_iter()
    .collect()
}

/// Safety: `pool.correct_result` and `pool.accepted_once`.
pub fn check_pool_safety(records: &[Record<Obs>], ctx: &CheckContext) -> Vec<Violation> {
    let mut out = Vec::new();
    // Accepted results carry the value the dispatcher holds; cross-check it too.
    for r in records {
        let (job, value, result, what) = match &r.obs {
            Obs::Pool(PoolObs::Accepted { job, value, result, .. }) => (*job, *value, *result, "accepted"),
            _ => continue,
        };
        if result != expected_result(value) {
            out.push(Violation::new(
                "pool.correct_result",
                format!(
                    "{job} with value {value} was {what} with result {result}, expected {}",
                    expected_result(value)
                ),
                r.at,
                ctx,
                vec![Evidence::of(r, format!("{job} {what} with result {result}"))],
            ));
        }
    }
    let jobs = gather(records);
    for r in records {
        let Obs::Pool(PoolObs::Returned { job, result }) = &r.obs else {
            continue;
        };
        let Some(value) = jobs.get(job).and_then(|t| t.submitted).map(|s| s.2) else {
            continue;
        };
        if *result != expected_result(value) {
            let mut events = submitted_evidence(*job, jobs.get(job).and_then(|t| t.submitted));
            events.push(Evidence::of(
                r,
                format!("{job} returned to its client with result {result}"),
            ));
            out.push(Violation::new(
                "pool.correct_result",
                format!(
                    "{job} with value {value} returned result {result} to its client, expected {}",
                    expected_result(value)
                ),
                r.at,
                ctx,
                events,
            ));
        }
    }
    for (job, t) in &jobs {
        if t.accepted.len() > 1 {
            let mut events = submitted_evidence(*job, t.submitted);
            events.extend(t.accepted.iter().map(|(at, node, result)| Evidence {
                at: *at,
                node: *node,
                what: format!("{job} accepted with result {result}"),
            }));
            out.push(Violation::new(
                "pool.accepted_once",
                format!("{job} was accepted {} times", t.accepted.len()),
                t.accepted[1].0,
                ctx,
                events,
            ));
        }
    }
    out.sort_by_key(|v| v.at);
    out
}

/// Liveness: `pool.liveness` with the given bound after `max(submission, ctx.heal_at)`.
pub fn check_pool_liveness(records: &[Record<Obs>], ctx: &CheckContext, bound: SimTime) -> Vec<Violation> {
    let mut out = Vec::new();
    for (job, t) in gather(records) {
        let Some((submitted_at, _, _)) = t.submitted else {
            continue;
        };
        let deadline = submitted_at.max(ctx.heal_at) + bound;
        let accepted_at = t.accepted.first().map(|a| a.0);
        let late = match accepted_at {
            Some(at) => at > deadline,
            None => deadline <= ctx.end,
        };
        if !late {
            continue;
        }
        let mut events = submitted_evidence(job, t.submitted);
        events.extend(t.moves);
        let message = match accepted_at {
            Some(at) => format!(
                "{job} was accepted at {at:?}, after its deadline {deadline:?} (bound {bound:?} after submission or heal)"
            ),
            None => format!(
                "{job} was never accepted; deadline {deadline:?} (bound {bound:?} after submission or heal), run ended at {:?}",
                ctx.end
            ),
        };
        out.push(Violation::new("pool.liveness", message, deadline, ctx, events));
    }
    out.sort_by_key(|v| v.at);
    out
}

/// Every pool check: safety, then liveness with `bound`.
pub fn check_pool(records: &[Record<Obs>], ctx: &CheckContext, bound: SimTime) -> Vec<Violation> {
    let mut v = check_pool_safety(records, ctx);
    v.extend(check_pool_liveness(records, ctx, bound));
    v
}
