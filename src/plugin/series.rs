//! A protocol's plots in the HTML report: a [`Series`] is fed each observation of a run in
//! order and keeps, in memory bounded by the [`Grid`]'s bucket count, what its plots need;
//! at the end it gives [`Plot`]s, plain data (named lines of values per time bucket, a
//! distribution) that the report draws without knowing the protocol. Building blocks:
//! [`LogHist`] (a coarse latency histogram) and [`LatencyBuckets`] (latency per bucket and
//! over the whole run, as percentile lines and a CDF).

use super::payload::Observation;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::metrics::summary::DurationSummary;

/// How many time buckets a plot has at most.
pub const PLOT_BUCKETS: usize = 120;

/// The time buckets of a run's plots: at most [`PLOT_BUCKETS`] of equal width over
/// `[0, end]`, the last one holding everything at or after its start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    /// The run's end (at least 1 ns).
    pub end: SimTime,
    /// Bucket width, ns.
    pub width: u64,
    /// Number of buckets (at least 1).
    pub len: usize,
}

impl Grid {
    /// The grid of a run that ended at `end`.
    pub fn new(end: SimTime) -> Grid {
        let end = end.max(SimTime(1));
        let width = end.0.div_ceil(PLOT_BUCKETS as u64).max(1);
        let len = (end.0.div_ceil(width) as usize).clamp(1, PLOT_BUCKETS);
        Grid { end, width, len }
    }

    /// The bucket of time `t`.
    pub fn bucket(&self, t: SimTime) -> usize {
        ((t.0 / self.width) as usize).min(self.len - 1)
    }

    /// Start of bucket `i`.
    pub fn at(&self, i: usize) -> SimTime {
        SimTime(self.width.saturating_mul(i as u64))
    }

    /// Counts per bucket as rates per second.
    pub fn per_sec(&self, counts: &[u64]) -> Vec<Option<f64>> {
        let secs = self.width as f64 / 1e9;
        counts.iter().map(|c| Some(*c as f64 / secs)).collect()
    }
}

/// A protocol's report series over one run (see [`crate::plugin::Protocol::series`]).
pub trait Series {
    /// One observation (any protocol's: read yours with [`Observation::get`]), in order.
    fn observe(&mut self, rec: &Record<Observation>);
    /// The plots, in the order they are drawn; none when the run showed nothing to plot.
    fn finish(&mut self) -> Vec<Plot>;
}

/// One line of a plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// Its name in the legend.
    pub name: String,
    /// Its colour, 1 to 4 (the page's palette).
    pub color: u8,
    /// Its value per bucket of the grid (`None`: no value, a gap).
    pub values: Vec<Option<f64>>,
}

impl Line {
    /// The line `name` in colour `color` (1 to 4).
    pub fn new(name: impl Into<String>, color: u8, values: Vec<Option<f64>>) -> Line {
        Line {
            name: name.into(),
            color,
            values,
        }
    }
}

/// How a plot's values are read.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// Values per bucket (counts, levels, rates) on a linear scale from 0, drawn as steps.
    Levels(Vec<Line>),
    /// Durations (ns) per bucket on a log scale, drawn as points at the buckets' middles.
    Durations(Vec<Line>),
    /// A distribution of durations over the whole run: (value ns, fraction at or below),
    /// rising, from `count` values, each one `noun` (`"call"`).
    Cdf {
        /// The points.
        points: Vec<(u64, f64)>,
        /// How many values.
        count: u64,
        /// What one value is, singular.
        noun: &'static str,
    },
}

/// One plot of the report.
#[derive(Clone, Debug, PartialEq)]
pub struct Plot {
    /// Its id (the page's `data-plot`), e.g. `rpc-latency`.
    pub id: &'static str,
    /// Its title.
    pub title: String,
    /// Shared with other protocols: the lines of every plot with this id are drawn in one
    /// plot (the title of the first), after every protocol's own plots; e.g. each
    /// protocol's completions per second in one `throughput` plot.
    pub shared: bool,
    /// What it draws.
    pub body: Body,
}

impl Plot {
    /// A plot of this protocol's own.
    pub fn new(id: &'static str, title: impl Into<String>, body: Body) -> Plot {
        Plot {
            id,
            title: title.into(),
            shared: false,
            body,
        }
    }

    /// Lines of a plot shared with other protocols (see [`Plot::shared`]).
    pub fn shared(id: &'static str, title: impl Into<String>, body: Body) -> Plot {
        Plot {
            shared: true,
            ..Plot::new(id, title, body)
        }
    }
}

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

/// Durations per bucket ([`LogHist`]s) and over the whole run: p50, p99 and max over
/// time, and the run's distribution.
#[derive(Clone, Debug)]
pub struct LatencyBuckets {
    grid: Grid,
    buckets: Vec<LogHist>,
    whole: DurationSummary,
}

impl LatencyBuckets {
    /// Empty, over `grid`.
    pub fn new(grid: Grid) -> LatencyBuckets {
        LatencyBuckets {
            grid,
            buckets: vec![LogHist::default(); grid.len],
            whole: DurationSummary::default(),
        }
    }

    /// A duration of `ns`, ended at `at`.
    pub fn add(&mut self, at: SimTime, ns: u64) {
        self.buckets[self.grid.bucket(at)].add(ns);
        self.whole.record(ns);
    }

    /// How many durations.
    pub fn count(&self) -> u64 {
        self.whole.count()
    }

    /// The per-bucket histograms.
    pub fn buckets(&self) -> &[LogHist] {
        &self.buckets
    }

    /// p50, p99 and max per bucket, as a plot.
    pub fn over_time(&self, id: &'static str, title: impl Into<String>) -> Plot {
        let q = |p: f64| -> Vec<Option<f64>> { self.buckets.iter().map(|h| h.quantile(p).map(|v| v as f64)).collect() };
        let max = self.buckets.iter().map(|h| h.max().map(|v| v as f64)).collect();
        Plot::new(
            id,
            title,
            Body::Durations(vec![
                Line::new("p50", 1, q(0.5)),
                Line::new("p99", 2, q(0.99)),
                Line::new("max", 3, max),
            ]),
        )
    }

    /// The whole run's distribution, as a plot (each value one `noun`).
    pub fn cdf(&self, id: &'static str, title: impl Into<String>, noun: &'static str) -> Plot {
        let points = if self.whole.count() == 0 {
            Vec::new()
        } else {
            (0..=200)
                .map(|i| {
                    let q = i as f64 / 200.0;
                    (self.whole.quantile_ns(q), q)
                })
                .collect()
        };
        Plot::new(
            id,
            title,
            Body::Cdf {
                points,
                count: self.whole.count(),
                noun,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_grid_has_at_most_its_bucket_count() {
        let g = Grid::new(SimTime::from_millis(1200));
        assert_eq!((g.width, g.len), (10_000_000, PLOT_BUCKETS));
        assert_eq!(g.bucket(SimTime::from_millis(11)), 1);
        assert_eq!(g.bucket(SimTime::from_secs(5)), PLOT_BUCKETS - 1);
        let tiny = Grid::new(SimTime::ZERO);
        assert_eq!((tiny.end, tiny.width, tiny.len), (SimTime(1), 1, 1));
        assert_eq!(g.per_sec(&[5]), vec![Some(500.0)]);
    }
}
