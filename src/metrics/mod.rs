//! Streaming metrics: each protocol's metrics read observations one at a time (e.g. from
//! `History::set_observer`), in memory independent of the number of operations, and
//! summarise into serialisable structs. This file holds the shared latency summary.

pub mod discovery;
pub mod pool;
pub mod queueing;
pub mod rpc;
pub mod summary;

use hdrhistogram::Histogram;
use serde::Serialize;

/// A new latency histogram in nanoseconds: 3 significant digits, auto-resizing, so any
/// `u64` value can be recorded with a relative error under 0.1 %.
pub fn latency_histogram() -> Histogram<u64> {
    Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant digits is a valid precision"))
}

/// Record `v` into a histogram from [`latency_histogram`], growing it as needed
/// (`saturating_record` alone would clamp to the current, tiny, range).
pub fn record(h: &mut Histogram<u64>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// A latency distribution summarised, all in nanoseconds. Percentiles and `max` are the
/// histogram's values (the highest value equivalent to the true one: within 0.1 %
/// above it). Every field is 0 when `count` is 0.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LatencySummary {
    /// How many values were recorded.
    pub count: u64,
    /// Their mean.
    pub mean: f64,
    /// The median.
    pub p50: u64,
    /// The 90th percentile.
    pub p90: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The largest value.
    pub max: u64,
}

impl LatencySummary {
    /// Summarise a histogram.
    pub fn from_histogram(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            mean: h.mean(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let mut h = latency_histogram();
        for v in 1..=1000u64 {
            record(&mut h, v * 1000);
        }
        let s = LatencySummary::from_histogram(&h);
        assert_eq!(s.count, 1000);
        assert!((s.p50 as f64 - 500_000.0).abs() <= 500.0, "{s:?}");
        assert!((s.p99 as f64 - 990_000.0).abs() <= 1000.0, "{s:?}");
        assert!((s.max as f64 - 1_000_000.0).abs() <= 1000.0, "{s:?}");
        assert!((s.mean - 500_500.0).abs() <= 600.0, "{s:?}");
        assert_eq!(
            LatencySummary::from_histogram(&latency_histogram()),
            LatencySummary::default()
        );
    }
}
