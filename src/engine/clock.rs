//! Per-node local clocks: a node's [`ClockConfig`] (an offset, a drift rate in parts
//! per million, scheduled steps), the running [`Clock`] the simulation keeps for it, and
//! the nemesis's plan of clock faults ([`plan_clock_faults`]).
//!
//! **Two readings, like a real host.** Each node has
//!
//! - a *monotonic* clock ([`Clock::monotonic`], `Ctx::monotonic_now`), like Linux's
//!   `CLOCK_MONOTONIC`: it starts at 0 with the simulation and advances at the node's
//!   rate, `1 + drift_ppm / 1e6` local nanoseconds per true nanosecond. A drift change
//!   (NTP slewing, a `clock_drift` fault) changes its rate from then on; it never jumps.
//!   It keeps running while the node is crashed (a process crash, not a reboot);
//! - a *wall* clock ([`Clock::wall`], `Ctx::local_now`), like `CLOCK_REALTIME`: the
//!   monotonic reading plus the configured `offset` plus every step so far (scheduled in
//!   the node's `steps`, or a `clock_step` fault). It is what a node would write into a
//!   message as "my time".
//!
//! **Timers run on the monotonic clock.** `set_timer(after)` means "after `after` of
//! *local* time": the true delay is `after / (1 + ppm / 1e6)`, at the rate in force when
//! the timer is set, **rounded up** to a whole nanosecond (the timer never fires before
//! the local clock has advanced by `after` at that rate). A node whose clock runs fast
//! (positive ppm) fires its timers early in true time. A later drift change does not move
//! timers already set (the error is at most the rate change times the time left), and a
//! step moves neither: real timers (`timerfd` on `CLOCK_MONOTONIC`, Go's and Java's
//! timers) are measured on the monotonic clock, so an NTP step changes what a node reads
//! as the date, not when its timeouts fire. That is the faithful model and the useful
//! one: a protocol that measures durations with the monotonic clock survives steps, one
//! that compares wall-clock timestamps across nodes does not (the registry canary).
//!
//! **Integer arithmetic.** The monotonic reading is kept as an anchor (true time, local
//! time) updated at every rate change; between anchors, `local = anchor_local +
//! floor((t - anchor_true) * (1e6 + ppm) / 1e6)` (128-bit, exact, **rounded down**).
//! The wall reading is the monotonic one plus a signed offset (128-bit). A wall clock that
//! would read below zero (a large negative offset or step early in the run) **reads zero**
//! (`SimTime` has no negative times): it stands still at zero until true time catches up,
//! as a clock that cannot be set before its epoch. One above `SimTime::MAX` reads `MAX`.
//!
//! **The default changes nothing.** A node without a clock (offset 0, drift 0, no steps)
//! reads true time on both clocks and its timers fire exactly `after` later. A simulation
//! in which no node has a clock and no clock fault is scheduled never consults a clock:
//! `Ctx::now`, `local_now` and `set_timer` take one predictable branch, and every event
//! time and the trace hash are exactly what they were before clocks existed.

use crate::engine::error::Error;
use crate::engine::fault::{DurationRange, Fault, MAX_PLANNED, NemesisConfig, NemesisPlan, TimedFault};
use crate::engine::hash::StableHasher;
use crate::engine::node::NodeId;
use crate::engine::rng::SimRng;
use crate::engine::time::SimTime;

/// Parts per million: a drift of `PPM` would double a clock's rate.
pub const PPM: i64 = 1_000_000;

/// The largest drift, either way, in ppm: a clock runs at between half and one and a
/// half times true time. Real quartz drifts by tens of ppm; the bound keeps hostile
/// values (a clock standing still, or running backwards) out.
pub const MAX_DRIFT_PPM: i64 = 500_000;

/// The largest offset or step, either way, in nanoseconds (30 days, the longest run).
pub const MAX_CLOCK_SHIFT_NS: i64 = 30 * 24 * 3600 * 1_000_000_000;

/// The most scheduled steps one node's clock may have.
pub const MAX_CLOCK_STEPS: usize = 10_000;

/// A step of a node's wall clock at a true time: `by` nanoseconds forward (positive) or
/// back (negative), like an NTP step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClockStep {
    /// When (true time).
    pub at: SimTime,
    /// By how much, in signed nanoseconds.
    pub by_ns: i64,
}

/// A node's clock: its wall clock's offset from true time at the start, its drift rate,
/// and steps of its wall clock at given true times. The default (all zero, no step) is a
/// perfect clock.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClockConfig {
    /// The wall clock's offset at time zero, in signed nanoseconds.
    pub offset_ns: i64,
    /// The drift, in parts per million (positive: the clock runs fast).
    pub drift_ppm: i64,
    /// Steps of the wall clock (applied in time order; same-time steps add up).
    pub steps: Vec<ClockStep>,
}

impl ClockConfig {
    /// Is this a perfect clock (no offset, no drift, no step)?
    pub fn is_perfect(&self) -> bool {
        self.offset_ns == 0 && self.drift_ppm == 0 && self.steps.is_empty()
    }

    /// What is wrong with it: (field path under the clock, message).
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(m) = shift_problem(self.offset_ns) {
            out.push(("offset".into(), m));
        }
        if let Some(m) = drift_problem(self.drift_ppm) {
            out.push(("drift_ppm".into(), m));
        }
        if self.steps.len() > MAX_CLOCK_STEPS {
            out.push((
                "steps".into(),
                format!("at most {MAX_CLOCK_STEPS} steps per clock, got {}", self.steps.len()),
            ));
        }
        for (i, s) in self.steps.iter().enumerate() {
            if let Some(m) = shift_problem(s.by_ns) {
                out.push((format!("steps[{i}].by"), m));
            }
        }
        out
    }

    pub(crate) fn stable_hash(&self, h: &mut StableHasher) {
        h.word(self.offset_ns as u64);
        h.word(self.drift_ppm as u64);
        h.word(self.steps.len() as u64);
        for s in &self.steps {
            h.word(s.at.0);
            h.word(s.by_ns as u64);
        }
    }
}

/// Why a drift is refused, if it is.
pub fn drift_problem(ppm: i64) -> Option<String> {
    (!(-MAX_DRIFT_PPM..=MAX_DRIFT_PPM).contains(&ppm))
        .then(|| format!("a drift must be within ±{MAX_DRIFT_PPM} ppm (the clock runs at 0.5x to 1.5x), got {ppm}"))
}

/// Why an offset or step is refused, if it is.
pub fn shift_problem(ns: i64) -> Option<String> {
    (!(-MAX_CLOCK_SHIFT_NS..=MAX_CLOCK_SHIFT_NS).contains(&ns))
        .then(|| format!("a clock offset or step must be within ±30 days, got {}", signed(ns)))
}

/// A signed duration in words: `-1.5s`, `+200ms`, `0s`.
pub fn signed(ns: i64) -> String {
    let mag = SimTime(ns.unsigned_abs());
    match ns.signum() {
        -1 => format!("-{mag}"),
        1 => format!("+{mag}"),
        _ => mag.to_string(),
    }
}

/// One node's clock while the simulation runs.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// True time of the last rate change.
    anchor_true: u64,
    /// The monotonic reading then.
    anchor_local: u64,
    /// The rate when no drift window is in force: the config's, or the latest
    /// `clock_drift` without `until`.
    base_ppm: i64,
    /// Drift windows in force, in the order they began: (fault index, ppm). The latest
    /// one sets the rate.
    windows: Vec<(u32, i64)>,
    /// Wall minus monotonic, without the scheduled steps: the offset and every
    /// `clock_step` fault so far.
    shift: i128,
    /// Scheduled steps, in time order, each with the sum of the steps up to it.
    steps: Vec<(SimTime, i128)>,
}

impl Clock {
    /// The clock `cfg` describes, at time zero.
    pub fn new(cfg: &ClockConfig) -> Clock {
        let mut sorted = cfg.steps.clone();
        sorted.sort_by_key(|s| s.at);
        let mut sum = 0i128;
        let steps = sorted
            .iter()
            .map(|s| {
                sum += i128::from(s.by_ns);
                (s.at, sum)
            })
            .collect();
        Clock {
            anchor_true: 0,
            anchor_local: 0,
            base_ppm: cfg.drift_ppm,
            windows: Vec::new(),
            shift: i128::from(cfg.offset_ns),
            steps,
        }
    }

    /// The rate in force, in ppm.
    pub fn drift_ppm(&self) -> i64 {
        self.windows.last().map_or(self.base_ppm, |w| w.1)
    }

    /// The monotonic reading at true time `now` (not before the last rate change).
    pub fn monotonic(&self, now: SimTime) -> SimTime {
        let d = u128::from(now.0.saturating_sub(self.anchor_true));
        let rate = (PPM + self.drift_ppm()) as u128;
        let local = u128::from(self.anchor_local) + d * rate / PPM as u128;
        SimTime(u64::try_from(local).unwrap_or(u64::MAX))
    }

    /// The wall reading at true time `now`: monotonic plus offset plus steps so far,
    /// zero if that would be negative.
    pub fn wall(&self, now: SimTime) -> SimTime {
        let k = self.steps.partition_point(|s| s.0 <= now);
        let stepped = if k == 0 { 0 } else { self.steps[k - 1].1 };
        let wall = i128::from(self.monotonic(now).0) + self.shift + stepped;
        SimTime(wall.clamp(0, i128::from(u64::MAX)) as u64)
    }

    /// The true delay after which `after` of local (monotonic) time has passed, at the
    /// rate in force: `ceil(after * 1e6 / (1e6 + ppm))`.
    pub fn true_span(&self, after: SimTime) -> SimTime {
        let ppm = self.drift_ppm();
        if ppm == 0 {
            return after;
        }
        let rate = (PPM + ppm) as u128;
        let span = (u128::from(after.0) * PPM as u128).div_ceil(rate);
        SimTime(u64::try_from(span).unwrap_or(u64::MAX))
    }

    /// Re-anchor at `now` before a rate change, so that the monotonic reading is
    /// continuous.
    fn anchor(&mut self, now: SimTime) {
        self.anchor_local = self.monotonic(now).0;
        self.anchor_true = now.0.max(self.anchor_true);
    }

    /// Step the wall clock by `by_ns` at `now`.
    pub fn step(&mut self, by_ns: i64) {
        self.shift += i128::from(by_ns);
    }

    /// Set the base rate (a `clock_drift` for good) at `now`.
    pub fn set_base_drift(&mut self, now: SimTime, ppm: i64) {
        self.anchor(now);
        self.base_ppm = ppm;
    }

    /// Drift window `index` begins at `now`: its rate applies while it is the latest.
    pub fn start_drift_window(&mut self, now: SimTime, index: u32, ppm: i64) {
        self.anchor(now);
        self.windows.push((index, ppm));
    }

    /// Drift window `index` ends at `now`: whatever would be in force without it applies
    /// again. False when it was not in force.
    pub fn end_drift_window(&mut self, now: SimTime, index: u32) -> bool {
        let Some(i) = self.windows.iter().position(|w| w.0 == index) else {
            return false;
        };
        self.anchor(now);
        self.windows.remove(i);
        true
    }

    /// The drift windows in force (fault indices).
    pub fn windows(&self) -> impl Iterator<Item = u32> + '_ {
        self.windows.iter().map(|w| w.0)
    }
}

/// Every node's clock: consulted only once some node has a clock or a clock fault
/// applied (`on`), so that a simulation without clocks takes one branch per reading.
#[derive(Clone, Debug, Default)]
pub struct Clocks {
    /// Whether any clock may differ from true time.
    pub on: bool,
    /// One per node, by index (filled when `on` becomes true).
    nodes: Vec<Clock>,
}

impl Clocks {
    /// Turn clocks on for `n` nodes (perfect clocks for those not set yet).
    pub fn switch_on(&mut self, n: usize) {
        self.on = true;
        if self.nodes.len() < n {
            self.nodes.resize_with(n, Clock::default);
        }
    }

    /// Node `n`'s clock (`None` if clocks are off or it has none).
    pub fn get(&self, n: NodeId) -> Option<&Clock> {
        self.nodes.get(n.0 as usize)
    }

    /// Node `n`'s clock, to change it (clocks must be on).
    pub fn get_mut(&mut self, n: NodeId) -> Option<&mut Clock> {
        self.nodes.get_mut(n.0 as usize)
    }

    /// Give node `n` the clock `cfg` describes (clocks must be on).
    pub fn set(&mut self, n: NodeId, cfg: &ClockConfig) {
        if let Some(c) = self.nodes.get_mut(n.0 as usize) {
            *c = Clock::new(cfg);
        }
    }

    /// Node `n`'s wall reading at `now` (`now` itself when it has no clock).
    #[inline]
    pub fn wall(&self, n: NodeId, now: SimTime) -> SimTime {
        self.get(n).map_or(now, |c| c.wall(now))
    }

    /// Node `n`'s monotonic reading at `now`.
    #[inline]
    pub fn monotonic(&self, n: NodeId, now: SimTime) -> SimTime {
        self.get(n).map_or(now, |c| c.monotonic(now))
    }

    /// The true delay of a timer of `after` local time on node `n`.
    #[inline]
    pub fn true_span(&self, n: NodeId, after: SimTime) -> SimTime {
        self.get(n).map_or(after, |c| c.true_span(after))
    }

    /// Drift windows in force over all nodes (fault indices).
    pub fn windows_in_force(&self) -> Vec<u32> {
        self.nodes.iter().flat_map(|c| c.windows()).collect()
    }
}

/// A range of drifts in ppm, `[min, max]`, drawn uniformly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PpmRange {
    /// Lowest.
    pub min: i64,
    /// Highest.
    pub max: i64,
}

impl PpmRange {
    /// A range.
    pub fn new(min: i64, max: i64) -> Self {
        PpmRange { min, max }
    }

    fn draw(&self, rng: &mut SimRng) -> i64 {
        let span = self.max.abs_diff(self.min);
        self.min + rng.range(0, span.saturating_add(1)) as i64
    }
}

/// The nemesis's clock settings: `rate` clock faults per second between `start` and
/// `stop`, each on a target drawn uniformly: half of them (drawn) a step of the wall
/// clock by a size drawn from `step` and a sign drawn (forward or back), the others a
/// drift window of a rate drawn from `drift` lasting a time drawn from `drift_time`
/// (ending by `stop`; drift windows on one node do not overlap).
#[derive(Clone, Debug, PartialEq)]
pub struct ClockNemesis {
    /// Clock faults per second.
    pub rate: f64,
    /// Sizes of steps (either way).
    pub step: DurationRange,
    /// Rates of drift windows.
    pub drift: PpmRange,
    /// Lengths of drift windows.
    pub drift_time: DurationRange,
}

impl Default for ClockNemesis {
    fn default() -> Self {
        ClockNemesis {
            rate: 0.0,
            step: DurationRange::new(SimTime::from_millis(100), SimTime::from_secs(1)),
            drift: PpmRange::new(-200, 200),
            drift_time: DurationRange::new(SimTime::from_millis(100), SimTime::from_secs(1)),
        }
    }
}

impl ClockNemesis {
    /// Check every parameter.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |m: String| Err(Error::InvalidParameter(m));
        if !self.rate.is_finite() || !(0.0..=crate::engine::fault::MAX_RATE).contains(&self.rate) {
            return bad(format!(
                "nemesis clock_rate must be a rate in [0, {}] per second, got {}",
                crate::engine::fault::MAX_RATE,
                self.rate
            ));
        }
        for (what, d) in [("clock_step", self.step), ("clock_drift_time", self.drift_time)] {
            if d.min > d.max {
                return bad(format!("nemesis {what}: min is greater than max"));
            }
        }
        if self.step.max.0 > MAX_CLOCK_SHIFT_NS as u64 {
            return bad("nemesis clock_step: a step must be within 30 days".into());
        }
        if self.drift.min > self.drift.max {
            return bad("nemesis clock_drift_ppm: min is greater than max".into());
        }
        for p in [self.drift.min, self.drift.max] {
            if let Some(m) = drift_problem(p) {
                return bad(format!("nemesis clock_drift_ppm: {m}"));
            }
        }
        Ok(())
    }
}

/// The clock faults of a nemesis hitting `targets` in `[start, stop)`, drawn from `rng`
/// (the clock's own stream, so that switching them on does not change the other kinds'
/// plan): a Poisson process of rate `cfg.rate`, each arrival a `clock_step` or a
/// windowed `clock_drift`, in time order. At most `max` faults (past it, the plan is cut:
/// the second value says where).
pub fn plan_clock_faults(
    cfg: &ClockNemesis,
    targets: &[NodeId],
    start: SimTime,
    stop: SimTime,
    max: usize,
    rng: &mut SimRng,
) -> (Vec<TimedFault>, Option<SimTime>) {
    let mut out = Vec::new();
    if cfg.rate <= 0.0 || targets.is_empty() || stop <= start {
        return (out, None);
    }
    let mut busy = vec![SimTime::ZERO; targets.len()];
    let mut t = start;
    loop {
        let gap = -(1.0 - rng.unit()).ln() / cfg.rate * 1e9;
        t = t + SimTime::from_nanos_f64(gap).max(SimTime(1));
        if t >= stop {
            return (out, None);
        }
        let ti = rng.range(0, targets.len() as u64) as usize;
        let node = targets[ti];
        let fault = if rng.chance(0.5) {
            let size = rng.range(cfg.step.min.0, cfg.step.max.0.saturating_add(1)) as i64;
            let by_ns = if rng.chance(0.5) { -size } else { size };
            TimedFault::at(t, Fault::ClockStep { node, by_ns })
        } else {
            let ppm = cfg.drift.draw(rng);
            let len = rng.range(cfg.drift_time.min.0, cfg.drift_time.max.0.saturating_add(1));
            if busy[ti] > t {
                continue;
            }
            let end = (t + SimTime(len).max(SimTime(1))).min(stop);
            if out.len() < max {
                busy[ti] = end;
            }
            TimedFault::window(t, end, Fault::ClockDrift { node, ppm })
        };
        if out.len() >= max {
            return (out, Some(t));
        }
        out.push(fault);
    }
}

/// The nemesis's `plan` with its clock faults merged in, in time order (stable: at the
/// same instant, the other kinds' windows first). The clock faults are drawn from `rng`
/// (the [`crate::engine::rng::Stream::Clock`] stream) up to where the plan was cut, if
/// it was; the caps on the plan (`max_windows`, at most 100 000) hold for the whole: past
/// them, the plan is cut in time order, and nothing at or after the cut is kept.
pub fn with_clock_faults(mut plan: NemesisPlan, cfg: &NemesisConfig, rng: &mut SimRng) -> NemesisPlan {
    if cfg.clock.rate <= 0.0 {
        return plan;
    }
    let cap = cfg.max_windows.min(MAX_PLANNED);
    let horizon = plan.cut_at.unwrap_or(cfg.stop);
    let (clock, _) = plan_clock_faults(&cfg.clock, &cfg.targets, cfg.start, horizon, cap, rng);
    plan.windows.extend(clock);
    plan.windows.sort_by_key(|f| f.at);
    if plan.windows.len() > cap {
        let t = plan.windows[cap].at;
        plan.windows.retain(|f| f.at < t);
        plan.cut_at = Some(t);
        plan.cut_by = Some("windows");
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::Stream;

    #[test]
    fn a_perfect_clock_reads_true_time() {
        let c = Clock::new(&ClockConfig::default());
        for t in [0, 1, 999, 1_000_000_007] {
            assert_eq!(c.monotonic(SimTime(t)), SimTime(t));
            assert_eq!(c.wall(SimTime(t)), SimTime(t));
            assert_eq!(c.true_span(SimTime(t)), SimTime(t));
        }
    }

    #[test]
    fn offset_drift_and_steps_give_exact_readings() {
        let c = Clock::new(&ClockConfig {
            offset_ns: -200_000_000,
            drift_ppm: 50,
            steps: vec![
                ClockStep {
                    at: SimTime::from_secs(10),
                    by_ns: -1_000_000_000,
                },
                ClockStep {
                    at: SimTime::from_secs(5),
                    by_ns: 3,
                },
            ],
        });
        // 1 s of true time is 1 s + 50 us of local time.
        assert_eq!(c.monotonic(SimTime::from_secs(1)), SimTime(1_000_050_000));
        // Rounded down: 1 ns * 1.00005 = 1 ns.
        assert_eq!(c.monotonic(SimTime(1)), SimTime(1));
        assert_eq!(c.wall(SimTime::from_secs(1)), SimTime(800_050_000));
        // Below zero reads zero.
        assert_eq!(c.wall(SimTime::from_millis(100)), SimTime::ZERO);
        assert_eq!(c.wall(SimTime::from_secs(5)), SimTime(5_000_250_000 - 200_000_000 + 3));
        assert_eq!(
            c.wall(SimTime::from_secs(10)),
            SimTime(10_000_500_000 - 200_000_000 + 3 - 1_000_000_000)
        );
        // Timers: ceil(1e9 * 1e6 / 1_000_050) = 999_950_002.49.. -> 999_950_003.
        assert_eq!(c.true_span(SimTime::from_secs(1)), SimTime(999_950_003));
    }

    #[test]
    fn drift_windows_restore_the_rate_and_keep_the_reading_continuous() {
        let mut c = Clock::new(&ClockConfig::default());
        c.start_drift_window(SimTime::from_secs(1), 7, 100_000);
        assert_eq!(c.monotonic(SimTime::from_secs(2)), SimTime(2_100_000_000));
        c.start_drift_window(SimTime::from_secs(2), 8, -100_000);
        assert_eq!(c.monotonic(SimTime::from_secs(3)), SimTime(3_000_000_000));
        assert!(c.end_drift_window(SimTime::from_secs(3), 8));
        assert_eq!(c.drift_ppm(), 100_000, "the earlier window applies again");
        assert!(!c.end_drift_window(SimTime::from_secs(3), 8));
        assert!(c.end_drift_window(SimTime::from_secs(4), 7));
        assert_eq!(c.monotonic(SimTime::from_secs(5)), SimTime(5_100_000_000));
        c.step(-6_000_000_000);
        assert_eq!(c.wall(SimTime::from_secs(5)), SimTime::ZERO);
        assert_eq!(
            c.monotonic(SimTime::from_secs(5)),
            SimTime(5_100_000_000),
            "a step moves the wall clock only"
        );
    }

    #[test]
    fn the_plan_is_in_time_order_and_within_its_bounds() {
        let cfg = ClockNemesis {
            rate: 50.0,
            ..ClockNemesis::default()
        };
        let targets = [NodeId(0), NodeId(2)];
        let (plan, cut) = plan_clock_faults(
            &cfg,
            &targets,
            SimTime::from_secs(1),
            SimTime::from_secs(5),
            usize::MAX,
            &mut SimRng::new(3, Stream::Clock),
        );
        assert_eq!(cut, None);
        assert!(plan.len() > 50, "{}", plan.len());
        assert!(plan.windows(2).all(|w| w[0].at <= w[1].at));
        for f in &plan {
            assert!(f.at >= SimTime::from_secs(1) && f.until.is_none_or(|u| u > f.at && u <= SimTime::from_secs(5)));
            match f.fault {
                Fault::ClockStep { node, by_ns } => {
                    assert!(targets.contains(&node));
                    assert!((100_000_000..=1_000_000_000).contains(&by_ns.unsigned_abs()));
                }
                Fault::ClockDrift { node, ppm } => {
                    assert!(targets.contains(&node) && (-200..=200).contains(&ppm));
                }
                _ => panic!("not a clock fault: {f:?}"),
            }
        }
        let (capped, cut) = plan_clock_faults(
            &cfg,
            &targets,
            SimTime::from_secs(1),
            SimTime::from_secs(5),
            10,
            &mut SimRng::new(3, Stream::Clock),
        );
        assert_eq!(capped[..], plan[..10]);
        assert_eq!(cut, Some(plan[10].at));
    }
}
