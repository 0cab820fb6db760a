//! Time series for the plots, bucketed over the run (at most [`PLOT_BUCKETS`] buckets):
//! RPC call latency percentiles and completions, worker-pool queue length, jobs in flight
//! and accepted jobs, from the history's observations; messages delivered and dropped,
//! from the collector's counts. Memory is bounded by the bucket count (plus the pool's
//! jobs in flight at one time), not by the run's length.

use std::collections::BTreeSet;

use super::window::TimeBuckets;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::metrics::summary::DurationSummary;
use crate::protocols::Obs;
use crate::protocols::rpc::RpcObs;
use crate::protocols::worker_pool::{JobId, PoolObs};

/// How many time buckets a plot has at most.
pub const PLOT_BUCKETS: usize = 120;

/// Bins per doubling of a [`LogHist`].
const PER_OCTAVE: f64 = 4.0;

/// A coarse latency histogram: 4 bins per doubling (±9 %), enough for a plot.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LogHist {
    bins: Vec<u32>,
    count: u64,
    max: u64,
}

impl LogHist {
    /// Count one value (ns).
    pub fn add(&mut self, v: u64) {
        let i = ((v.max(1) as f64).log2() * PER_OCTAVE) as usize;
        if self.bins.len() <= i {
            self.bins.resize(i + 1, 0);
        }
        self.bins[i] += 1;
        self.count += 1;
        self.max = self.max.max(v);
    }

    /// The value at quantile `q` (bin middle), `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (i, c) in self.bins.iter().enumerate() {
            seen += *c as u64;
            if seen >= rank {
                let mid = 2f64.powf((i as f64 + 0.5) / PER_OCTAVE);
                return Some((mid as u64).min(self.max));
            }
        }
        Some(self.max)
    }

    /// The largest value, `None` when empty.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }
}

/// Latency over time and its distribution.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LatencySeries {
    /// Per bucket.
    pub buckets: Vec<LogHist>,
    /// The whole run's distribution: (latency ns, fraction at or below), rising.
    pub cdf: Vec<(u64, f64)>,
    /// How many values.
    pub count: u64,
}

impl LatencySeries {
    fn new(n: usize) -> Self {
        LatencySeries {
            buckets: vec![LogHist::default(); n],
            cdf: Vec::new(),
            count: 0,
        }
    }
    fn finish(&mut self, h: &DurationSummary) {
        self.count = h.count();
        if h.count() == 0 {
            return;
        }
        self.cdf = (0..=200)
            .map(|i| {
                let q = i as f64 / 200.0;
                (h.quantile_ns(q), q)
            })
            .collect();
    }
}

/// RPC series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RpcSeries {
    /// Calls that succeeded, per bucket.
    pub ok: Vec<u64>,
    /// Calls that failed (client gave up), per bucket.
    pub failed: Vec<u64>,
    /// Latency of successful calls (invoke to reply), by completion time.
    pub latency: LatencySeries,
}

/// Worker-pool series.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PoolSeries {
    /// Longest queue seen in each bucket.
    pub queue: Vec<u32>,
    /// Most jobs in flight (assigned, not yet accepted) in each bucket.
    pub in_flight: Vec<u32>,
    /// Jobs accepted per bucket.
    pub accepted: Vec<u64>,
    /// Sojourn (submitted to accepted), by acceptance time.
    pub sojourn: LatencySeries,
}

/// Everything the plots draw.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Series {
    /// The run's end.
    pub end: SimTime,
    /// Bucket width, ns.
    pub width: u64,
    /// Messages delivered per bucket.
    pub delivered: Vec<u64>,
    /// Messages dropped per bucket.
    pub dropped: Vec<u64>,
    /// RPC, when the run has RPC observations.
    pub rpc: Option<RpcSeries>,
    /// Pool, when the run has pool observations.
    pub pool: Option<PoolSeries>,
}

impl Series {
    /// Number of buckets.
    pub fn len(&self) -> usize {
        self.delivered.len()
    }

    /// True when there are no buckets.
    pub fn is_empty(&self) -> bool {
        self.delivered.is_empty()
    }

    /// Start of bucket `i`.
    pub fn at(&self, i: usize) -> SimTime {
        SimTime(self.width.saturating_mul(i as u64))
    }
}

fn rebucket(src: &TimeBuckets, width: u64, n: usize) -> Vec<u64> {
    let mut out = vec![0u64; n];
    for (i, c) in src.counts().iter().enumerate() {
        let mid = src.width().saturating_mul(i as u64) + src.width() / 2;
        let j = ((mid / width) as usize).min(n - 1);
        out[j] += c;
    }
    out
}

/// Bucket the run: `records` from the history, message counts from the collector.
pub fn build(records: &[Record<Obs>], end: SimTime, delivered: &TimeBuckets, dropped: &TimeBuckets) -> Series {
    let end = end.max(SimTime(1));
    let width = end.0.div_ceil(PLOT_BUCKETS as u64).max(1);
    let n = (end.0.div_ceil(width) as usize).clamp(1, PLOT_BUCKETS);
    let bucket = |t: SimTime| ((t.0 / width) as usize).min(n - 1);
    let mut rpc: Option<RpcSeries> = None;
    let mut rpc_h = DurationSummary::default();
    let mut pool: Option<PoolSeries> = None;
    let mut pool_h = DurationSummary::default();
    let mut running: BTreeSet<JobId> = BTreeSet::new();
    let (mut queue_now, mut last_pool_bucket) = (0u32, 0usize);
    for r in records {
        let b = bucket(r.at);
        match &r.obs {
            Obs::Rpc(o) => {
                let s = rpc.get_or_insert_with(|| RpcSeries {
                    ok: vec![0; n],
                    failed: vec![0; n],
                    latency: LatencySeries::new(n),
                });
                match o {
                    RpcObs::Ok { invoked_at, .. } => {
                        let l = r.at.0.saturating_sub(invoked_at.0);
                        s.ok[b] += 1;
                        s.latency.buckets[b].add(l);
                        rpc_h.record(l);
                    }
                    RpcObs::Fail { .. } => s.failed[b] += 1,
                    _ => {}
                }
            }
            Obs::Pool(o) => {
                let s = pool.get_or_insert_with(|| PoolSeries {
                    queue: vec![0; n],
                    in_flight: vec![0; n],
                    accepted: vec![0; n],
                    sojourn: LatencySeries::new(n),
                });
                // Carry the levels through the buckets without events.
                for k in last_pool_bucket + 1..=b {
                    s.queue[k] = queue_now;
                    s.in_flight[k] = running.len() as u32;
                }
                last_pool_bucket = last_pool_bucket.max(b);
                match o {
                    PoolObs::Submitted { queue_len, .. } => queue_now = *queue_len,
                    PoolObs::Assigned { job, queue_len, .. } => {
                        queue_now = *queue_len;
                        running.insert(*job);
                    }
                    PoolObs::Reassigned { job, queue_len, .. }
                    | PoolObs::Refused {
                        job,
                        queue_len,
                        requeued: true,
                        ..
                    } => {
                        queue_now = *queue_len;
                        running.remove(job);
                    }
                    PoolObs::Accepted {
                        job,
                        submitted_at,
                        queue_len,
                        ..
                    } => {
                        queue_now = *queue_len;
                        running.remove(job);
                        s.accepted[b] += 1;
                        let l = r.at.0.saturating_sub(submitted_at.0);
                        s.sojourn.buckets[b].add(l);
                        pool_h.record(l);
                    }
                    _ => {}
                }
                s.queue[b] = s.queue[b].max(queue_now);
                s.in_flight[b] = s.in_flight[b].max(running.len() as u32);
            }
            Obs::Disc(_) => {}
        }
    }
    if let Some(s) = &mut pool {
        for k in last_pool_bucket + 1..n {
            s.queue[k] = queue_now;
            s.in_flight[k] = running.len() as u32;
        }
        s.sojourn.finish(&pool_h);
    }
    if let Some(s) = &mut rpc {
        s.latency.finish(&rpc_h);
    }
    Series {
        end,
        width,
        delivered: rebucket(delivered, width, n),
        dropped: rebucket(dropped, width, n),
        rpc,
        pool,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::node::NodeId;
    use crate::protocols::rpc::Request;

    #[test]
    fn log_hist_quantiles_are_close() {
        let mut h = LogHist::default();
        for v in 1..=1000u64 {
            h.add(v * 1_000_000);
        }
        let p50 = h.quantile(0.5).unwrap() as f64;
        assert!((p50 / 500e6 - 1.0).abs() < 0.1, "{p50}");
        assert_eq!(h.max(), Some(1_000_000_000));
        assert_eq!(LogHist::default().quantile(0.5), None);
    }

    #[test]
    fn rpc_latency_and_counts_land_in_their_buckets() {
        let req = Request::Multiply { a: 1, b: 2 };
        let ok = |at_ms: u64, lat_ms: u64| Record {
            at: SimTime::from_millis(at_ms),
            node: NodeId(1),
            obs: Obs::Rpc(RpcObs::Ok {
                call: 0,
                req,
                reply: Ok(2),
                server: NodeId(0),
                attempts: 1,
                invoked_at: SimTime::from_millis(at_ms - lat_ms),
            }),
        };
        let recs = vec![ok(10, 2), ok(11, 4), ok(1190, 100)];
        let s = build(
            &recs,
            SimTime::from_millis(1200),
            &TimeBuckets::default(),
            &TimeBuckets::default(),
        );
        assert_eq!(s.len(), PLOT_BUCKETS);
        let r = s.rpc.unwrap();
        assert_eq!(r.ok.iter().sum::<u64>(), 3);
        assert_eq!(r.ok[1], 2, "10ms and 11ms fall in bucket 1 of 10ms buckets");
        assert_eq!(r.ok[119], 1);
        assert_eq!(r.latency.count, 3);
        assert_eq!(r.latency.buckets[119].max(), Some(100_000_000));
        assert!(s.pool.is_none());
    }
}
