//! Clocks in scenario files: a node's `clock` object (`{"offset": "-200ms", "drift_ppm":
//! 50, "steps": [{"at": "10s", "by": "-1s"}]}`), signed durations (`"-1s"`, `"+250ms"`,
//! `"1.5s"`), the nemesis's `clock_drift_ppm` range, and the checks of their values. The
//! engine's model of a clock is `engine/clock.rs`.

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

use crate::engine::clock::{
    ClockConfig, ClockNemesis, ClockStep, MAX_CLOCK_STEPS, PpmRange, drift_problem, shift_problem,
};
use crate::engine::time::SimTime;
use crate::plugin::Problem;

/// A signed duration in whole nanoseconds, written `"-1s"`, `"+250ms"` or `"1.5s"` (a
/// duration with an optional sign).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SignedDuration(pub i64);

impl Serialize for SignedDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mag = SimTime(self.0.unsigned_abs());
        if self.0 < 0 {
            s.serialize_str(&format!("-{mag}"))
        } else {
            s.serialize_str(&mag.to_string())
        }
    }
}

impl<'de> Deserialize<'de> for SignedDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = SignedDuration;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a signed duration such as \"-200ms\" or \"+1s\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SignedDuration, E> {
                let t = v.trim();
                let (neg, rest) = match t.as_bytes().first() {
                    Some(b'-') => (true, &t[1..]),
                    Some(b'+') => (false, &t[1..]),
                    _ => (false, t),
                };
                let mag: SimTime = rest.parse().map_err(|e: crate::engine::time::ParseDurationError| {
                    E::custom(format!(
                        "invalid signed duration {v:?}: {} (expected e.g. \"-200ms\", \"+1s\", \"1.5s\")",
                        e.reason
                    ))
                })?;
                let n =
                    i64::try_from(mag.0).map_err(|_| E::custom(format!("invalid signed duration {v:?}: too large")))?;
                Ok(SignedDuration(if neg { -n } else { n }))
            }
        }
        d.deserialize_str(V)
    }
}

fn is_zero(d: &SignedDuration) -> bool {
    d.0 == 0
}

fn is_zero_i64(x: &i64) -> bool {
    *x == 0
}

/// One scheduled step of a node's wall clock: `{"at": "10s", "by": "-1s"}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// When (true time).
    pub at: SimTime,
    /// By how much (negative: back).
    pub by: SignedDuration,
}

/// A node's `clock`: all fields optional (a perfect clock by default).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockSpec {
    /// The wall clock's offset from true time at the start.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub offset: SignedDuration,
    /// The drift in parts per million (positive: fast), within ±500 000.
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub drift_ppm: i64,
    /// Steps of the wall clock.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<StepSpec>,
}

impl ClockSpec {
    /// The engine's clock.
    pub fn to_config(&self) -> ClockConfig {
        ClockConfig {
            offset_ns: self.offset.0,
            drift_ppm: self.drift_ppm,
            steps: self
                .steps
                .iter()
                .map(|s| ClockStep {
                    at: s.at,
                    by_ns: s.by.0,
                })
                .collect(),
        }
    }

    /// Problems of node `i`'s clock in a run of `end`.
    pub fn problems(&self, path: &str, end: SimTime, out: &mut Vec<Problem>) {
        for (field, m) in self.to_config().problems() {
            if self.steps.len() > MAX_CLOCK_STEPS && field.starts_with("steps[") {
                continue;
            }
            out.push((format!("{path}.{field}"), m));
        }
        for (k, s) in self.steps.iter().enumerate().take(MAX_CLOCK_STEPS) {
            if s.at > end {
                out.push((
                    format!("{path}.steps[{k}].at"),
                    format!("{} is after the end of the run ({end})", s.at),
                ));
            }
        }
    }
}

/// The nemesis's `clock_drift_ppm`: `{"min": -200, "max": 200}`, a remote derive of the
/// engine's [`PpmRange`].
#[derive(Serialize, Deserialize)]
#[serde(remote = "crate::engine::clock::PpmRange", deny_unknown_fields)]
pub struct PpmRangeSpec {
    /// Lowest.
    pub min: i64,
    /// Highest.
    pub max: i64,
}

/// The default `clock_drift_ppm` range (±200 ppm).
pub fn default_drift() -> PpmRange {
    ClockNemesis::default().drift
}

/// Is it the default drift range (not written)?
pub fn is_default_drift(r: &PpmRange) -> bool {
    *r == default_drift()
}

/// Problems of the nemesis's clock settings.
pub fn nemesis_problems(n: &super::NemesisSpec, out: &mut Vec<Problem>) {
    let r = n.clock_rate;
    if !r.is_finite() || r < 0.0 {
        out.push((
            "nemesis.clock_rate".into(),
            format!("must be a rate >= 0 (per second), got {r}"),
        ));
    } else if r > crate::engine::fault::MAX_RATE {
        out.push((
            "nemesis.clock_rate".into(),
            format!("{r} per second is over the limit of {}", crate::engine::fault::MAX_RATE),
        ));
    }
    for (field, d) in [("clock_step", n.clock_step), ("clock_drift_time", n.clock_drift_time)] {
        if d.min > d.max {
            out.push((format!("nemesis.{field}.min"), "must not be greater than max".into()));
        }
    }
    if let Some(m) = i64::try_from(n.clock_step.max.0).map_or(Some("too large".to_string()), shift_problem) {
        out.push(("nemesis.clock_step.max".into(), m));
    }
    let d = n.clock_drift_ppm;
    if d.min > d.max {
        out.push((
            "nemesis.clock_drift_ppm.min".into(),
            "must not be greater than max".into(),
        ));
    }
    for (field, p) in [("min", d.min), ("max", d.max)] {
        if let Some(m) = drift_problem(p) {
            out.push((format!("nemesis.clock_drift_ppm.{field}"), m));
        }
    }
}
