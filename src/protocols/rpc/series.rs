//! The RPC service's plots in the HTML report: call latency (invoke to reply) over time
//! by completion and its distribution, and completions (ok, failed) per second in the
//! shared throughput plot. Memory is bounded by the grid's bucket count.

use super::RpcObs;
use crate::engine::history::Record;
use crate::plugin::{Body, Grid, LatencyBuckets, Line, Observation, Plot, Series};
use crate::protocols::Obs;

/// The RPC series of one run.
pub struct RpcSeries {
    grid: Grid,
    /// Counts per bucket, once the run showed an RPC observation.
    seen: Option<Counts>,
}

struct Counts {
    /// Calls that succeeded, per bucket.
    ok: Vec<u64>,
    /// Calls that failed (the client gave up), per bucket.
    failed: Vec<u64>,
    /// Latency of successful calls, by completion time.
    latency: LatencyBuckets,
}

impl RpcSeries {
    /// Empty, over `grid`.
    pub fn new(grid: Grid) -> RpcSeries {
        RpcSeries { grid, seen: None }
    }
}

impl Series for RpcSeries {
    fn observe(&mut self, rec: &Record<Observation>) {
        let Some(Obs::Rpc(o)) = rec.obs.get::<Obs>() else {
            return;
        };
        let grid = self.grid;
        let s = self.seen.get_or_insert_with(|| Counts {
            ok: vec![0; grid.len],
            failed: vec![0; grid.len],
            latency: LatencyBuckets::new(grid),
        });
        let b = grid.bucket(rec.at);
        match o {
            RpcObs::Ok { invoked_at, .. } => {
                s.ok[b] += 1;
                s.latency.add(rec.at, rec.at.0.saturating_sub(invoked_at.0));
            }
            RpcObs::Fail { .. } => s.failed[b] += 1,
            _ => {}
        }
    }

    fn finish(&mut self) -> Vec<Plot> {
        let Some(s) = &self.seen else { return Vec::new() };
        let mut out = Vec::new();
        if s.latency.count() > 0 {
            out.push(
                s.latency
                    .over_time("rpc-latency", "RPC call latency over time (by completion)"),
            );
            out.push(s.latency.cdf("rpc-cdf", "RPC call latency distribution (CDF)", "call"));
        }
        out.push(Plot::shared(
            "throughput",
            "Throughput: completions per second",
            Body::Levels(vec![
                Line::new("calls ok/s", 1, self.grid.per_sec(&s.ok)),
                Line::new("calls failed/s", 3, self.grid.per_sec(&s.failed)),
            ]),
        ));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::NodeId;
    use crate::engine::time::SimTime;
    use crate::plugin::PLOT_BUCKETS;
    use crate::protocols::rpc::Request;

    #[test]
    fn latency_and_counts_land_in_their_buckets() {
        let req = Request::Multiply { a: 1, b: 2 };
        let ok = |at_ms: u64, lat_ms: u64| Record {
            at: SimTime::from_millis(at_ms),
            node: NodeId(1),
            obs: Observation::new(Obs::Rpc(RpcObs::Ok {
                call: 0,
                req,
                reply: Ok(2),
                server: NodeId(0),
                attempts: 1,
                invoked_at: SimTime::from_millis(at_ms - lat_ms),
            })),
        };
        let grid = Grid::new(SimTime::from_millis(1200));
        assert_eq!(grid.len, PLOT_BUCKETS);
        let mut s = RpcSeries::new(grid);
        assert!(s.finish().is_empty(), "no RPC observation, no plot");
        for r in [ok(10, 2), ok(11, 4), ok(1190, 100)] {
            s.observe(&r);
        }
        let c = s.seen.as_ref().unwrap();
        assert_eq!(c.ok.iter().sum::<u64>(), 3);
        assert_eq!(c.ok[1], 2, "10ms and 11ms fall in bucket 1 of 10ms buckets");
        assert_eq!(c.ok[119], 1);
        assert_eq!(c.latency.count(), 3);
        assert_eq!(c.latency.buckets()[119].max(), Some(100_000_000));
        let plots = s.finish();
        let ids: Vec<_> = plots.iter().map(|p| (p.id, p.shared)).collect();
        assert_eq!(
            ids,
            vec![("rpc-latency", false), ("rpc-cdf", false), ("throughput", true)]
        );
        let Body::Cdf { points, count, .. } = &plots[1].body else {
            panic!("a CDF")
        };
        assert_eq!((points.len(), *count), (201, 3));
    }
}
