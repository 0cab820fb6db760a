//! [`DurationSummary`]: the one streaming summary of durations (count, exact mean,
//! percentiles from an HDR histogram with 3 significant figures, exact max) in constant
//! memory, and [`DurationStats`], its figures for reports.

use hdrhistogram::Histogram;
use serde::Serialize;

/// Durations seen so far, summarised without keeping them.
#[derive(Clone, Debug)]
pub struct DurationSummary {
    hist: Histogram<u64>,
    count: u64,
    sum_ns: u128,
    max_ns: u64,
}

impl Default for DurationSummary {
    fn default() -> Self {
        DurationSummary {
            // 3 significant figures, auto-resizing: relative error <= 0.1%.
            hist: Histogram::new(3).unwrap_or_else(|_| unreachable!("3 significant figures is valid")),
            count: 0,
            sum_ns: 0,
            max_ns: 0,
        }
    }
}

impl DurationSummary {
    /// Record one duration in nanoseconds.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        // Auto-resize never fails for u64 values; saturate just in case.
        if self.hist.record(ns).is_err() {
            let _ = self.hist.record(self.hist.high());
        }
        self.count += 1;
        self.sum_ns += ns as u128;
        self.max_ns = self.max_ns.max(ns);
    }

    /// How many durations were recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The exact mean in nanoseconds (0 when empty).
    pub fn mean_ns(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum_ns as f64 / self.count as f64
        }
    }

    /// The value at quantile `q` in `[0, 1]`, within 0.1% (0 when empty), never above the
    /// exact maximum (a histogram bucket's upper end can be).
    pub fn quantile_ns(&self, q: f64) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.hist.value_at_quantile(q.clamp(0.0, 1.0)).min(self.max_ns)
        }
    }

    /// The figures, for a report.
    pub fn stats(&self) -> DurationStats {
        DurationStats {
            count: self.count,
            mean_ns: self.mean_ns(),
            p50_ns: self.quantile_ns(0.50),
            p90_ns: self.quantile_ns(0.90),
            p99_ns: self.quantile_ns(0.99),
            max_ns: self.max_ns,
        }
    }
}

/// Summary figures of a set of durations, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct DurationStats {
    /// How many.
    pub count: u64,
    /// Exact mean.
    pub mean_ns: f64,
    /// Median (within 0.1%).
    pub p50_ns: u64,
    /// 90th percentile (within 0.1%).
    pub p90_ns: u64,
    /// 99th percentile (within 0.1%).
    pub p99_ns: u64,
    /// Exact maximum.
    pub max_ns: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_one_to_a_thousand() {
        let mut s = DurationSummary::default();
        (1..=1000).for_each(|n| s.record(n));
        let st = s.stats();
        assert_eq!(st.count, 1000);
        assert!((st.mean_ns - 500.5).abs() < 1e-9);
        assert!((499..=501).contains(&st.p50_ns), "{}", st.p50_ns);
        assert!((989..=991).contains(&st.p99_ns), "{}", st.p99_ns);
        assert_eq!(st.max_ns, 1000);
        assert_eq!(DurationSummary::default().stats(), DurationStats::default());
        // A value the histogram rounds up: the percentiles stay at or below the exact max.
        let mut one = DurationSummary::default();
        one.record(123_456_789);
        let st = one.stats();
        assert_eq!(
            (st.p50_ns, st.p99_ns, st.max_ns),
            (123_456_789, 123_456_789, 123_456_789)
        );
    }
}
