//! What the plots draw, bucketed over the run (see [`Grid`]): every registered protocol's
//! own plots (its [`crate::plugin::Series`], fed the run's observations in order), and
//! messages delivered and dropped, from the collector's counts.

use super::window::TimeBuckets;
use crate::engine::history::Record;
use crate::engine::time::SimTime;
use crate::plugin::{Grid, Observation, Plot, Protocols};
use crate::scenario::Scenario;

/// Everything the plots draw.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSeries {
    /// The time buckets.
    pub grid: Grid,
    /// Messages delivered per bucket.
    pub delivered: Vec<u64>,
    /// Messages dropped per bucket.
    pub dropped: Vec<u64>,
    /// The protocols' plots, in registration order.
    pub plots: Vec<Plot>,
}

fn rebucket(src: &TimeBuckets, grid: &Grid) -> Vec<u64> {
    let mut out = vec![0u64; grid.len];
    for (i, c) in src.counts().iter().enumerate() {
        let mid = src.width().saturating_mul(i as u64) + src.width() / 2;
        let j = ((mid / grid.width) as usize).min(grid.len - 1);
        out[j] += c;
    }
    out
}

/// Bucket the run of `s`, which ended at `end`: the protocols that have nodes in it plot
/// `records` (the history, in order), the message counts come from the collector.
pub fn build(
    protocols: &Protocols,
    s: &Scenario,
    records: &[Record<Observation>],
    end: SimTime,
    delivered: &TimeBuckets,
    dropped: &TimeBuckets,
) -> RunSeries {
    let grid = Grid::new(end);
    let mut series: Vec<_> = s.with_view(protocols, |view| {
        s.active(protocols).filter_map(|p| p.series(view, grid)).collect()
    });
    for r in records {
        series.iter_mut().for_each(|x| x.observe(r));
    }
    RunSeries {
        grid,
        delivered: rebucket(delivered, &grid),
        dropped: rebucket(dropped, &grid),
        plots: series.iter_mut().flat_map(|x| x.finish()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::PLOT_BUCKETS;

    #[test]
    fn message_counts_are_rebucketed_onto_the_grid() {
        let mut d = TimeBuckets::default();
        for ms in [1, 2, 15, 1199] {
            d.add(SimTime::from_millis(ms));
        }
        let grid = Grid::new(SimTime::from_millis(1200));
        let v = rebucket(&d, &grid);
        assert_eq!(v.len(), PLOT_BUCKETS);
        assert_eq!((v[0], v[1], v[119]), (2, 1, 1));
    }
}
