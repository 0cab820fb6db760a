//! The diagram's time window: `--report-window A..B` parsing, and the default window (the
//! time around the first violation, or the start) chosen so that the diagram stays small.

use std::str::FromStr;

use crate::engine::time::SimTime;

/// A closed span of virtual time `[start, end]` that the space-time diagram draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// First instant drawn.
    pub start: SimTime,
    /// Last instant drawn.
    pub end: SimTime,
}

/// A `--report-window` that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid report window {input:?}: {reason} (expected A..B with durations, e.g. 2s..3s or 150ms..400ms)")]
pub struct WindowError {
    /// What was given.
    pub input: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Window {
    type Err = WindowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: String| WindowError {
            input: s.to_string(),
            reason,
        };
        let (a, b) = s
            .split_once("..")
            .ok_or_else(|| err("no '..' between the two times".into()))?;
        let start: SimTime = a.trim().parse().map_err(|e| err(format!("start: {e}")))?;
        let end: SimTime = b.trim().parse().map_err(|e| err(format!("end: {e}")))?;
        if end <= start {
            return Err(err("the end must be after the start".into()));
        }
        Ok(Window { start, end })
    }
}

impl std::fmt::Display for Window {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl Window {
    /// Does the window hold `t`?
    pub fn contains(&self, t: SimTime) -> bool {
        self.start <= t && t <= self.end
    }
}

/// Counts per fixed-width time bucket, doubling the width (and merging pairs) whenever a
/// time falls past the last bucket: memory is bounded whatever the run's length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeBuckets {
    width: u64,
    counts: Vec<u64>,
}

/// How many buckets a [`TimeBuckets`] keeps at most.
pub const MAX_BUCKETS: usize = 2048;

impl Default for TimeBuckets {
    fn default() -> Self {
        TimeBuckets {
            width: 1_000,
            counts: Vec::new(),
        }
    }
}

impl TimeBuckets {
    /// Count one event at `t`.
    pub fn add(&mut self, t: SimTime) {
        let mut i = (t.0 / self.width) as usize;
        while i >= MAX_BUCKETS {
            self.width = self.width.saturating_mul(2);
            let merged: Vec<u64> = self.counts.chunks(2).map(|c| c.iter().sum()).collect();
            self.counts = merged;
            i = (t.0 / self.width) as usize;
        }
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
    }

    /// Bucket width, ns.
    pub fn width(&self) -> u64 {
        self.width
    }

    /// The counts, bucket `i` covering `[i*width, (i+1)*width)`.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// Total count.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Estimated count in `[a, b]`, buckets cut by the window counted in proportion.
    pub fn estimate(&self, a: SimTime, b: SimTime) -> f64 {
        let w = self.width as f64;
        let (a, b) = (a.0 as f64, b.0 as f64 + 1.0);
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let (lo, hi) = (i as f64 * w, (i as f64 + 1.0) * w);
                let overlap = (hi.min(b) - lo.max(a)).max(0.0);
                *c as f64 * overlap / w
            })
            .sum()
    }
}

/// The default window: the whole run when its messages fit in `budget`; otherwise the
/// widest window (halving from the whole run) that fits, placed around `focus` (three
/// quarters before it: causes come before effects), or from the start without a focus.
pub fn default_window(sends: &TimeBuckets, end: SimTime, focus: Option<SimTime>, budget: u64) -> Window {
    let end = end.max(SimTime(1));
    let whole = Window {
        start: SimTime::ZERO,
        end,
    };
    let focus = focus.map(|f| f.min(end));
    let place = |span: u64| -> Window {
        match focus {
            None => Window {
                start: SimTime::ZERO,
                end: SimTime(span.min(end.0)),
            },
            Some(f) => {
                let before = span - span / 4;
                let start = f.0.saturating_sub(before);
                let stop = start.saturating_add(span).min(end.0).max(f.0);
                let start = stop.saturating_sub(span).min(start);
                Window {
                    start: SimTime(start),
                    end: SimTime(stop.max(start + 1)),
                }
            }
        }
    };
    let mut span = end.0;
    if sends.total() <= budget {
        return whole;
    }
    while span > 1_000 {
        let w = place(span);
        if sends.estimate(w.start, w.end) <= budget as f64 {
            return w;
        }
        span /= 2;
    }
    place(span.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_windows_and_rejects_bad_ones() {
        let w: Window = "2s..3s".parse().unwrap();
        assert_eq!((w.start, w.end), (SimTime::from_secs(2), SimTime::from_secs(3)));
        let w: Window = "1.5s..1600ms".parse().unwrap();
        assert_eq!(w.start, SimTime::from_millis(1500));
        for bad in ["", "2s", "3s..2s", "2s..2s", "x..3s", "2s..3parsecs"] {
            let e = bad.parse::<Window>().unwrap_err();
            assert!(e.to_string().contains("expected A..B"), "{bad}: {e}");
        }
    }

    #[test]
    fn buckets_stay_bounded_and_keep_the_total() {
        let mut b = TimeBuckets::default();
        for i in 0..10_000u64 {
            b.add(SimTime(i * 1_000_000));
        }
        assert!(b.counts().len() <= MAX_BUCKETS);
        assert_eq!(b.total(), 10_000);
        let half = b.estimate(SimTime::ZERO, SimTime(5_000_000_000 - 1));
        assert!((half - 5_000.0).abs() < 10.0, "{half}");
    }

    #[test]
    fn default_window_fits_the_budget_and_holds_the_focus() {
        let mut b = TimeBuckets::default();
        for i in 0..100_000u64 {
            b.add(SimTime(i * 100_000)); // 10 s of steady traffic
        }
        let end = SimTime::from_secs(10);
        let small = default_window(&b, end, None, 1_000_000);
        assert_eq!(
            small,
            Window {
                start: SimTime::ZERO,
                end
            }
        );
        let start = default_window(&b, end, None, 1_000);
        assert_eq!(start.start, SimTime::ZERO);
        assert!(b.estimate(start.start, start.end) <= 1_000.0);
        let v = SimTime::from_millis(7_300);
        let around = default_window(&b, end, Some(v), 1_000);
        assert!(around.contains(v), "{around}");
        assert!(b.estimate(around.start, around.end) <= 1_000.0);
        assert!(
            around.start < v && v.0 - around.start.0 > around.end.0 - v.0,
            "{around}"
        );
        let at_end = default_window(&b, end, Some(end), 1_000);
        assert!(at_end.contains(end), "{at_end}");
    }
}
