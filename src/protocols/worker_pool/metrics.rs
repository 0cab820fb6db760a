//! Worker-pool metrics, computed STREAMING: [`PoolMetrics::observe`] folds one record at a
//! time, keeping counters, two constant-size histograms, the current queue length and one
//! small entry per worker, and nothing per job. Ten million jobs take the same memory as
//! a thousand. Feed it after the run ([`pool_metrics`]) or during it
//! ([`PoolMetrics::observer`] with `History::set_observer`, and `set_keep(false)`).
//!
//! The timestamps a per-job figure needs travel inside the observations
//! (`Assigned::submitted_at`, `Accepted::submitted_at`), which is what keeps this stateless
//! per job.
//!
//! ## Utilisation
//!
//! Utilisation is measured on the workers, from what they observed doing, never from the
//! dispatcher's leases or bookings (a booked slot may be idle, a job may outlive its
//! lease):
//!
//! - a worker's **busy slot-time** is the time its slots spent running jobs: for every
//!   job it finished, its service time (`Completed::service`, from `Started` to
//!   `Completed`), plus, for every job still running when the window ends, the time from
//!   its `Started` to the end. Work is counted whether or not the dispatcher accepted its
//!   result (a duplicate run is still work done). Work that a crash destroyed is not
//!   counted: a worker cannot observe its own crash, so the time that job ran is unknown
//!   (its `Started` without a `Completed` is dropped at the restart's `WorkerUp`);
//! - its **available slot-time** is `slots * (end - its first WorkerUp)`. Downtime after
//!   a crash counts as available, for the same reason;
//! - **utilisation** is busy over available, per worker and for the pool (the sums).
//!
//! Running jobs are kept as a count and a sum of start times per worker, so this stays
//! O(workers) however many jobs run.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::Serialize;

use crate::engine::history::{ObserverFn, Record};
use crate::engine::node::NodeId;
use crate::engine::time::SimTime;
use crate::metrics::summary::{DurationStats, DurationSummary};
use crate::protocols::worker_pool::PoolObs;
use crate::protocols::{AsObs, Obs};

/// Per-worker accumulators.
#[derive(Clone, Debug, Default)]
struct WorkerAcc {
    slots: u32,
    first_up: SimTime,
    /// Service time of the jobs it completed.
    busy_ns: u128,
    completed: u64,
    /// Jobs started and not yet completed (this incarnation).
    running: u64,
    /// The sum of their start times, ns (their busy time at `end` is `running * end - sum`).
    running_since_sum: u128,
}

/// The streaming fold. See [`PoolReport`] for the definition of every figure.
#[derive(Clone, Debug, Default)]
pub struct PoolMetrics {
    submitted: u64,
    accepted: u64,
    rejected: u64,
    reassigned: u64,
    duplicates: u64,
    completed: u64,
    declined: u64,
    waiting: DurationSummary,
    sojourn: DurationSummary,
    queue_len: u32,
    queue_max: u32,
    queue_since: SimTime,
    queue_area: u128,
    workers: BTreeMap<NodeId, WorkerAcc>,
}

/// One worker's utilisation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WorkerUtilisation {
    /// The worker.
    pub node: NodeId,
    /// Its slots (as last reported).
    pub slots: u32,
    /// Jobs it completed (including results the dispatcher then ignored).
    pub completed: u64,
    /// Busy slot-time, ns: the service times of the jobs it completed, plus the time the
    /// jobs still running at the end have run (see the module docs).
    pub busy_ns: f64,
    /// Available slot-time: `slots * (end - first start)`, ns.
    pub available_ns: f64,
    /// `busy_ns / available_ns` (0 when nothing was available).
    pub utilisation: f64,
}

/// The figures of a run, over the window `[0, end]`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PoolReport {
    /// Jobs that entered the queue (`Submitted`; a job counts once however often resubmitted).
    pub submitted: u64,
    /// Jobs whose first result the dispatcher accepted (`Accepted`).
    pub accepted: u64,
    /// Jobs turned away by a full queue (`Rejected`; a resubmission rejected again counts again).
    pub rejected: u64,
    /// Expired leases whose job went back to the queue (`Reassigned`).
    pub reassigned: u64,
    /// Results ignored because the job was already accepted (`DuplicateResult`).
    pub duplicate_results: u64,
    /// Jobs workers finished (`Completed`, duplicates of work included).
    pub completed: u64,
    /// Assignments a worker declined because all its slots were busy (`Declined`).
    pub declined: u64,
    /// Waiting time: from a job's submission to its FIRST assignment, for every job
    /// assigned at least once (recorded at the first `Assigned`).
    pub waiting: DurationStats,
    /// Sojourn time: from a job's submission to the acceptance of its result, for every
    /// accepted job (recorded at `Accepted`).
    pub sojourn: DurationStats,
    /// Throughput: accepted jobs per simulated second, `accepted / end`.
    pub throughput_per_s: f64,
    /// Time-averaged queue length: the integral over `[0, end]` of the number of jobs
    /// waiting in the queue (not those out at workers), divided by `end`.
    pub mean_queue_len: f64,
    /// Longest the queue was.
    pub max_queue_len: u32,
    /// Utilisation of each worker, by node id, measured on the worker (module docs): its
    /// busy slot-time is the time its slots spent running jobs (finished ones, and the
    /// part of the still running ones up to `end`; work lost in a crash is not counted);
    /// its available slot-time is `slots * (end - when it first started)`. Downtime after
    /// a crash counts as available: a node cannot observe its own crash.
    pub workers: Vec<WorkerUtilisation>,
    /// Pool utilisation: total busy slot-time over total available slot-time, both from
    /// the workers' observations, never from the dispatcher's leases.
    pub utilisation: f64,
    /// The end of the window, ns.
    pub end_ns: u64,
}

impl PoolMetrics {
    /// An empty fold.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fold one record (non-pool records are ignored).
    #[inline]
    pub fn observe<O: AsObs>(&mut self, rec: &Record<O>) {
        let Some(Obs::Pool(o)) = rec.obs.as_obs() else {
            return;
        };
        let at = rec.at;
        match o {
            PoolObs::Submitted { queue_len, .. } => {
                self.submitted += 1;
                self.queue_to(at, *queue_len);
            }
            PoolObs::Rejected { .. } => self.rejected += 1,
            PoolObs::Assigned {
                submitted_at,
                first,
                queue_len,
                ..
            } => {
                if *first {
                    self.waiting.record((at - *submitted_at).0);
                }
                self.queue_to(at, *queue_len);
            }
            PoolObs::Reassigned { queue_len, .. } => {
                self.reassigned += 1;
                self.queue_to(at, *queue_len);
            }
            PoolObs::Started { .. } => {
                let w = self.workers.entry(rec.node).or_insert_with(|| WorkerAcc {
                    first_up: at,
                    slots: 1,
                    ..WorkerAcc::default()
                });
                w.running += 1;
                w.running_since_sum += at.0 as u128;
            }
            PoolObs::Completed { service, .. } => {
                self.completed += 1;
                let w = self.workers.entry(rec.node).or_insert_with(|| WorkerAcc {
                    first_up: at.saturating_sub(*service),
                    slots: 1,
                    ..WorkerAcc::default()
                });
                w.busy_ns += service.0 as u128;
                w.completed += 1;
                if w.running > 0 {
                    w.running -= 1;
                    let started = at.saturating_sub(*service).0 as u128;
                    w.running_since_sum = w.running_since_sum.saturating_sub(started);
                }
            }
            PoolObs::Declined { .. } => self.declined += 1,
            PoolObs::Refused { queue_len, .. } => self.queue_to(at, *queue_len),
            PoolObs::Joined { .. } | PoolObs::WorkerJoined { .. } => {}
            PoolObs::Accepted {
                submitted_at,
                queue_len,
                ..
            } => {
                self.accepted += 1;
                self.sojourn.record((at - *submitted_at).0);
                self.queue_to(at, *queue_len);
            }
            PoolObs::DuplicateResult { .. } => self.duplicates += 1,
            PoolObs::WorkerUp { slots, .. } => {
                let w = self.workers.entry(rec.node).or_insert_with(|| WorkerAcc {
                    first_up: at,
                    ..WorkerAcc::default()
                });
                w.slots = *slots;
                // A restart: what was running died with the crash, at an unknown time.
                w.running = 0;
                w.running_since_sum = 0;
            }
            PoolObs::Returned { .. } => {}
        }
    }

    #[inline]
    fn queue_to(&mut self, at: SimTime, len: u32) {
        self.queue_area += self.queue_len as u128 * (at - self.queue_since).0 as u128;
        self.queue_since = at;
        self.queue_len = len;
        self.queue_max = self.queue_max.max(len);
    }

    /// The figures over `[0, end]` (`end`: when the run ended, at least the last record).
    pub fn report(&self, end: SimTime) -> PoolReport {
        let end = end.max(self.queue_since);
        let secs = end.as_secs_f64();
        let area = self.queue_area + self.queue_len as u128 * (end - self.queue_since).0 as u128;
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let workers: Vec<WorkerUtilisation> = self
            .workers
            .iter()
            .map(|(node, w)| {
                let available = w.slots as f64 * (end - w.first_up).0 as f64;
                let running = (w.running as u128 * end.0 as u128).saturating_sub(w.running_since_sum);
                let busy = (w.busy_ns + running) as f64;
                WorkerUtilisation {
                    node: *node,
                    slots: w.slots,
                    completed: w.completed,
                    busy_ns: busy,
                    available_ns: available,
                    utilisation: ratio(busy, available),
                }
            })
            .collect();
        let busy: f64 = workers.iter().map(|w| w.busy_ns).sum();
        let available: f64 = workers.iter().map(|w| w.available_ns).sum();
        PoolReport {
            submitted: self.submitted,
            accepted: self.accepted,
            rejected: self.rejected,
            reassigned: self.reassigned,
            duplicate_results: self.duplicates,
            completed: self.completed,
            declined: self.declined,
            waiting: self.waiting.stats(),
            sojourn: self.sojourn.stats(),
            throughput_per_s: ratio(self.accepted as f64, secs),
            mean_queue_len: ratio(area as f64, end.0 as f64),
            max_queue_len: self.queue_max,
            workers,
            utilisation: ratio(busy, available),
            end_ns: end.0,
        }
    }

    /// An observer for `History::set_observer` that folds into `shared`; read the figures
    /// with `shared.borrow().report(end)` after the run.
    pub fn observer<O: AsObs + 'static>(shared: &Rc<RefCell<PoolMetrics>>) -> ObserverFn<O> {
        let m = shared.clone();
        Box::new(move |rec| m.borrow_mut().observe(rec))
    }
}

/// Fold a kept history: the figures over `[0, end]`.
pub fn pool_metrics<O: AsObs>(records: &[Record<O>], end: SimTime) -> PoolReport {
    let mut m = PoolMetrics::new();
    records.iter().for_each(|r| m.observe(r));
    m.report(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::worker_pool::JobId;

    fn rec(ms: u64, o: PoolObs) -> Record<Obs> {
        Record {
            at: SimTime::from_millis(ms),
            node: NodeId(1),
            obs: Obs::Pool(o),
        }
    }

    fn started(ms: u64, assign: u64) -> Record<Obs> {
        let job = JobId {
            origin: NodeId(0),
            seq: assign,
        };
        let dispatcher = NodeId(0);
        rec(
            ms,
            PoolObs::Started {
                job,
                assign,
                dispatcher,
            },
        )
    }

    #[test]
    fn utilisation_counts_work_in_progress_and_not_work_a_crash_destroyed() {
        let up = |ms, incarnation| rec(ms, PoolObs::WorkerUp { slots: 2, incarnation });
        let job = JobId {
            origin: NodeId(0),
            seq: 1,
        };
        let completed = rec(
            30,
            PoolObs::Completed {
                job,
                assign: 1,
                dispatcher: NodeId(0),
                result: 2,
                service: SimTime::from_millis(20),
            },
        );
        // Two slots from 0: job 1 runs 10..30 ms, job 2 from 20 ms to the end (100 ms).
        let r = pool_metrics(
            &[up(0, 0), started(10, 1), started(20, 2), completed.clone()],
            SimTime::from_millis(100),
        );
        assert_eq!(r.workers[0].busy_ns, 100e6, "20 ms done + 80 ms in progress");
        assert_eq!(r.workers[0].available_ns, 200e6);
        assert_eq!(r.utilisation, 0.5);
        // The worker restarts at 50 ms: job 2 died at an unknown time and is not counted.
        let r = pool_metrics(
            &[up(0, 0), started(10, 1), started(20, 2), completed, up(50, 1)],
            SimTime::from_millis(100),
        );
        assert_eq!(r.workers[0].busy_ns, 20e6);
        assert_eq!(r.utilisation, 0.1);
    }
}
