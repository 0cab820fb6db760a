//! The worker pool's plots in the HTML report: queue length and jobs in flight (the most
//! in each interval), job sojourn (submitted to accepted) over time, and accepted jobs per
//! second in the shared throughput plot. Memory is bounded by the grid's bucket count plus
//! the jobs in flight at one time.

use std::collections::BTreeSet;

use super::{JobId, PoolObs};
use crate::engine::history::Record;
use crate::plugin::{Body, Grid, LatencyBuckets, Line, Observation, Plot, Series};
use crate::protocols::Obs;

/// The pool series of one run.
pub struct PoolSeries {
    grid: Grid,
    /// Levels and counts per bucket, once the run showed a pool observation.
    seen: Option<Levels>,
    /// Jobs assigned and not yet accepted (or given back).
    running: BTreeSet<JobId>,
    /// The queue's length after the last observation.
    queue_now: u32,
    /// The bucket of the last observation.
    last_bucket: usize,
}

struct Levels {
    /// Longest queue seen in each bucket.
    queue: Vec<u32>,
    /// Most jobs in flight in each bucket.
    in_flight: Vec<u32>,
    /// Jobs accepted per bucket.
    accepted: Vec<u64>,
    /// Sojourn (submitted to accepted), by acceptance time.
    sojourn: LatencyBuckets,
}

impl PoolSeries {
    /// Empty, over `grid`.
    pub fn new(grid: Grid) -> PoolSeries {
        PoolSeries {
            grid,
            seen: None,
            running: BTreeSet::new(),
            queue_now: 0,
            last_bucket: 0,
        }
    }

    /// Carry the current levels through the buckets after the last observation's, up to
    /// `to` (inclusive).
    fn carry(&mut self, to: usize) {
        let (queue, flight) = (self.queue_now, self.running.len() as u32);
        if let Some(s) = &mut self.seen {
            for k in self.last_bucket + 1..=to {
                s.queue[k] = queue;
                s.in_flight[k] = flight;
            }
        }
    }
}

impl Series for PoolSeries {
    fn observe(&mut self, rec: &Record<Observation>) {
        let Some(Obs::Pool(o)) = rec.obs.get::<Obs>() else {
            return;
        };
        let grid = self.grid;
        self.seen.get_or_insert_with(|| Levels {
            queue: vec![0; grid.len],
            in_flight: vec![0; grid.len],
            accepted: vec![0; grid.len],
            sojourn: LatencyBuckets::new(grid),
        });
        let b = grid.bucket(rec.at);
        self.carry(b);
        self.last_bucket = self.last_bucket.max(b);
        let Some(s) = &mut self.seen else { return };
        match o {
            PoolObs::Submitted { queue_len, .. } => self.queue_now = *queue_len,
            PoolObs::Assigned { job, queue_len, .. } => {
                self.queue_now = *queue_len;
                self.running.insert(*job);
            }
            PoolObs::Reassigned { job, queue_len, .. }
            | PoolObs::Refused {
                job,
                queue_len,
                requeued: true,
                ..
            } => {
                self.queue_now = *queue_len;
                self.running.remove(job);
            }
            PoolObs::Accepted {
                job,
                submitted_at,
                queue_len,
                ..
            } => {
                self.queue_now = *queue_len;
                self.running.remove(job);
                s.accepted[b] += 1;
                s.sojourn.add(rec.at, rec.at.0.saturating_sub(submitted_at.0));
            }
            _ => {}
        }
        s.queue[b] = s.queue[b].max(self.queue_now);
        s.in_flight[b] = s.in_flight[b].max(self.running.len() as u32);
    }

    fn finish(&mut self) -> Vec<Plot> {
        if self.seen.is_none() {
            return Vec::new();
        }
        self.carry(self.grid.len - 1);
        self.last_bucket = self.grid.len - 1;
        let Some(s) = &self.seen else { return Vec::new() };
        let level = |v: &[u32]| v.iter().map(|v| Some(*v as f64)).collect();
        let mut out = vec![Plot::new(
            "pool-queue",
            "Worker pool: queue length and jobs in flight (max per interval)",
            Body::Levels(vec![
                Line::new("queue length", 1, level(&s.queue)),
                Line::new("jobs in flight", 2, level(&s.in_flight)),
            ]),
        )];
        if s.sojourn.count() > 0 {
            out.push(
                s.sojourn
                    .over_time("pool-sojourn", "Worker pool: job sojourn, submitted to accepted"),
            );
        }
        out.push(Plot::shared(
            "throughput",
            "Throughput: completions per second",
            Body::Levels(vec![Line::new("jobs/s", 4, self.grid.per_sec(&s.accepted))]),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::NodeId;
    use crate::engine::time::SimTime;

    fn rec(ms: u64, o: PoolObs) -> Record<Observation> {
        Record {
            at: SimTime::from_millis(ms),
            node: NodeId(0),
            obs: Observation::new(Obs::Pool(o)),
        }
    }

    #[test]
    fn levels_carry_through_quiet_buckets() {
        let job = JobId {
            origin: NodeId(1),
            seq: 1,
        };
        let mut s = PoolSeries::new(Grid::new(SimTime::from_millis(1200)));
        s.observe(&rec(
            15,
            PoolObs::Submitted {
                job,
                value: 3,
                queue_len: 1,
            },
        ));
        let plots = s.finish();
        let Body::Levels(lines) = &plots[0].body else {
            panic!("levels")
        };
        assert_eq!(lines[0].values[0], Some(0.0), "before the submission");
        assert_eq!(lines[0].values[1], Some(1.0));
        assert_eq!(lines[0].values[119], Some(1.0), "carried to the end");
        assert_eq!(plots.len(), 2, "no sojourn without an accepted job: {plots:?}");
        assert!(plots[1].shared);
    }
}
