//! The nemesis's gray failures: "slow node" windows (`slow_rate`, a factor drawn from
//! `slow_factor`, a length from `slow_time`) and "thin link" windows (`thin_link_rate`,
//! a rate drawn from `thin_bandwidth`, a length from `thin_link_time`), planned from
//! their own random stream ([`Stream::GrayNemesis`]) so that switching them on or off
//! never moves a window of the other kinds. They are merged into the nemesis's plan by
//! start time and share its caps: when the plan is cut at `T` (by any cap), no window
//! of any kind starts at or after `T`.
//!
//! A slow window hits one target node (never two at once on the same node); a thin
//! window one direction of the link between two distinct targets (never two at once on
//! the same link). Neither counts against `max_down`: a slow node is up.

use crate::engine::error::Error;
use crate::engine::fault::{DurationRange, Fault, NemesisConfig, NemesisPlan, TimedFault};
use crate::engine::rng::SimRng;
use crate::engine::time::SimTime;

/// A range of numbers `[min, max]`, drawn uniformly (`{"min": 5, "max": 10}`): a slow
/// factor, a link rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NumberRange {
    /// Smallest.
    pub min: f64,
    /// Largest.
    pub max: f64,
}

impl NumberRange {
    /// A range.
    pub fn new(min: f64, max: f64) -> Self {
        NumberRange { min, max }
    }

    /// A uniform draw, rounded to a thousandth (clamped into the range): a short
    /// decimal that a FAILURE file writes and reads back exactly.
    fn draw(&self, rng: &mut SimRng) -> f64 {
        let x = self.min + (self.max - self.min) * rng.unit();
        ((x * 1000.0).round() / 1000.0).clamp(self.min, self.max)
    }

    /// Check it: both ends pass `check`, `min <= max`.
    pub fn validate(&self, what: &str, check: fn(&str, f64) -> Result<(), Error>) -> Result<(), Error> {
        check(what, self.min)?;
        check(what, self.max)?;
        if self.min > self.max {
            return Err(Error::InvalidParameter(format!(
                "nemesis {what}: min is greater than max"
            )));
        }
        Ok(())
    }
}

/// Are gray kinds on in `cfg`?
pub fn gray_on(cfg: &NemesisConfig) -> bool {
    cfg.slow_rate > 0.0 || cfg.thin_link_rate > 0.0
}

/// Check the gray fields of `cfg`.
pub fn validate(cfg: &NemesisConfig) -> Result<(), Error> {
    for (what, r) in [("slow_rate", cfg.slow_rate), ("thin_link_rate", cfg.thin_link_rate)] {
        if !r.is_finite() || !(0.0..=crate::engine::fault::MAX_RATE).contains(&r) {
            return Err(Error::InvalidParameter(format!(
                "nemesis {what} must be a rate in [0, {}] per second, got {r}",
                crate::engine::fault::MAX_RATE
            )));
        }
    }
    for (what, d) in [("slow_time", cfg.slow_time), ("thin_link_time", cfg.thin_link_time)] {
        if d.min > d.max {
            return Err(Error::InvalidParameter(format!(
                "nemesis {what}: min is greater than max"
            )));
        }
    }
    cfg.slow_factor
        .validate("slow_factor", crate::engine::processing::check_factor)?;
    cfg.thin_bandwidth
        .validate("thin_bandwidth", crate::engine::bandwidth::check_rate)
}

fn window(d: DurationRange, t: SimTime, stop: SimTime, rng: &mut SimRng) -> SimTime {
    let len = SimTime(rng.range(d.min.0, d.max.0.saturating_add(1))).max(SimTime(1));
    (t + len).min(stop)
}

/// `plan` with the gray windows of `cfg` merged in, drawn from `rng` (the gray stream).
pub fn merged(cfg: &NemesisConfig, mut plan: NemesisPlan, rng: &mut SimRng) -> NemesisPlan {
    if !gray_on(cfg) || cfg.targets.is_empty() || cfg.stop <= cfg.start {
        return plan;
    }
    let targets = &cfg.targets;
    // Arrivals of both kinds, merged in time order (bounded like the other kinds).
    let bound = 2 * crate::engine::fault::MAX_PLANNED;
    let mut arrivals: Vec<(SimTime, u8)> = Vec::new();
    let mut horizon: Option<SimTime> = None;
    for (rate, kind) in [(cfg.slow_rate, 0u8), (cfg.thin_link_rate, 1u8)] {
        if rate <= 0.0 || (kind == 1 && targets.len() < 2) {
            continue;
        }
        let (mut t, mut drawn) = (cfg.start, 0);
        loop {
            let gap = -(1.0 - rng.unit()).ln() / rate * 1e9;
            let next = t + SimTime::from_nanos_f64(gap).max(SimTime(1));
            if next >= cfg.stop {
                break;
            }
            if drawn == bound {
                horizon = Some(horizon.map_or(next, |h: SimTime| h.min(next)));
                break;
            }
            t = next;
            drawn += 1;
            arrivals.push((t, kind));
        }
    }
    arrivals.sort();
    let mut cut_at = plan.cut_at;
    let mut cut_by = plan.cut_by;
    if let Some(h) = horizon
        && cut_at.is_none_or(|c| h < c)
    {
        cut_at = Some(h);
        cut_by = Some("arrivals");
    }
    let cap = cfg.max_windows.min(crate::engine::fault::MAX_PLANNED);
    let mut node_busy = vec![SimTime::ZERO; targets.len()];
    let mut link_busy: Vec<((usize, usize), SimTime)> = Vec::new();
    let mut gray: Vec<TimedFault> = Vec::new();
    for (t, kind) in arrivals {
        if cut_at.is_some_and(|c| t >= c) {
            break;
        }
        let fault = if kind == 0 {
            let end = window(cfg.slow_time, t, cfg.stop, rng);
            let factor = cfg.slow_factor.draw(rng);
            let i = rng.range(0, targets.len() as u64) as usize;
            if node_busy[i] > t {
                continue;
            }
            node_busy[i] = end;
            TimedFault::window(
                t,
                end,
                Fault::SlowNode {
                    node: targets[i],
                    factor,
                },
            )
        } else {
            let end = window(cfg.thin_link_time, t, cfg.stop, rng);
            let rate = cfg.thin_bandwidth.draw(rng);
            let a = rng.range(0, targets.len() as u64) as usize;
            let b = (a + 1 + rng.range(0, targets.len() as u64 - 1) as usize) % targets.len();
            if let Some((_, busy)) = link_busy.iter_mut().find(|(l, _)| *l == (a, b)) {
                if *busy > t {
                    continue;
                }
                *busy = end;
            } else {
                link_busy.push(((a, b), end));
            }
            TimedFault::window(
                t,
                end,
                Fault::ThinLink {
                    from: targets[a],
                    to: targets[b],
                    rate,
                },
            )
        };
        gray.push(fault);
    }
    // Merge by start time (the other kinds first at the same instant), then apply the
    // cap on windows across both: the plan stops at the first window one too many.
    let mut all = std::mem::take(&mut plan.windows);
    all.extend(gray);
    all.sort_by_key(|f| f.at);
    if let Some(c) = cut_at {
        all.retain(|f| f.at < c);
    }
    if all.len() > cap {
        let at = all[cap].at;
        all.truncate(cap);
        if cut_at.is_none_or(|c| at < c) {
            cut_at = Some(at);
            cut_by = Some("windows");
        }
        all.retain(|f| f.at < at);
    }
    NemesisPlan {
        windows: all,
        cut_at,
        cut_by,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::net::LinkConfig;
    use crate::engine::node::NodeId;
    use crate::engine::rng::Stream;

    #[test]
    fn gray_windows_never_move_the_other_kinds() {
        let base = NemesisConfig {
            stop: SimTime::from_secs(20),
            targets: (0..4).map(NodeId).collect(),
            crash_rate: 1.0,
            partition_rate: 1.0,
            ..NemesisConfig::default()
        };
        let gray = NemesisConfig {
            slow_rate: 2.0,
            thin_link_rate: 2.0,
            ..base.clone()
        };
        let plan = |c: &NemesisConfig| {
            let p = c.planned(&mut SimRng::new(5, Stream::Nemesis), &LinkConfig::default());
            merged(c, p, &mut SimRng::new(5, Stream::GrayNemesis))
        };
        let (a, b) = (plan(&base), plan(&gray));
        let others: Vec<_> = b
            .windows
            .iter()
            .filter(|f| !matches!(f.fault, Fault::SlowNode { .. } | Fault::ThinLink { .. }))
            .cloned()
            .collect();
        assert_eq!(others, a.windows);
        let slow = b
            .windows
            .iter()
            .filter(|f| matches!(f.fault, Fault::SlowNode { .. }))
            .count();
        let thin = b
            .windows
            .iter()
            .filter(|f| matches!(f.fault, Fault::ThinLink { .. }))
            .count();
        assert!(slow > 10 && thin > 10, "{slow} {thin}");
        assert!(b.windows.windows(2).all(|w| w[0].at <= w[1].at));
        for f in &b.windows {
            match f.fault {
                Fault::SlowNode { factor, .. } => assert!((5.0..=10.0).contains(&factor), "{factor}"),
                Fault::ThinLink { from, to, .. } => assert_ne!(from, to),
                _ => {}
            }
        }
        let capped = plan(&NemesisConfig {
            max_windows: 10,
            ..gray.clone()
        });
        assert_eq!(capped.windows[..], b.windows[..10]);
        assert_eq!(capped.cut_at, Some(b.windows[10].at));
    }
}
