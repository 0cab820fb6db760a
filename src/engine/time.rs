//! Virtual time: [`SimTime`], a point or span of simulated time in whole nanoseconds,
//! with parsing and printing of human durations ("150ms", "1.5s", "2m", "1h30m").

use std::fmt;
use std::str::FromStr;

/// A point (or span) of virtual time, in nanoseconds since the start of the simulation.
///
/// Nothing in a simulation reads the wall clock: `SimTime` only advances when the run
/// loop takes the next event off the queue.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SimTime(pub u64);

impl SimTime {
    /// Time zero, the start of every simulation.
    pub const ZERO: SimTime = SimTime(0);
    /// The largest representable time; used as "never".
    pub const MAX: SimTime = SimTime(u64::MAX);

    /// `n` nanoseconds.
    pub const fn from_nanos(n: u64) -> Self {
        SimTime(n)
    }
    /// `n` microseconds (saturating).
    pub const fn from_micros(n: u64) -> Self {
        SimTime(n.saturating_mul(1_000))
    }
    /// `n` milliseconds (saturating).
    pub const fn from_millis(n: u64) -> Self {
        SimTime(n.saturating_mul(1_000_000))
    }
    /// `n` seconds (saturating).
    pub const fn from_secs(n: u64) -> Self {
        SimTime(n.saturating_mul(1_000_000_000))
    }
    /// Whole nanoseconds.
    pub const fn as_nanos(self) -> u64 {
        self.0
    }
    /// Seconds as a float (for metrics and reports only, never for scheduling).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }
    /// `self + d`, saturating at [`SimTime::MAX`].
    pub const fn saturating_add(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
    /// `self - d`, saturating at zero.
    pub const fn saturating_sub(self, d: SimTime) -> SimTime {
        SimTime(self.0.saturating_sub(d.0))
    }
    /// Nanoseconds from a float, rounded, clamped to `[0, MAX]`; NaN becomes zero.
    pub fn from_nanos_f64(ns: f64) -> SimTime {
        if ns.is_nan() || ns <= 0.0 {
            SimTime(0)
        } else if ns >= u64::MAX as f64 {
            SimTime::MAX
        } else {
            SimTime(ns.round() as u64)
        }
    }
}

impl std::ops::Add for SimTime {
    type Output = SimTime;
    fn add(self, rhs: SimTime) -> SimTime {
        self.saturating_add(rhs)
    }
}

impl std::ops::Sub for SimTime {
    type Output = SimTime;
    fn sub(self, rhs: SimTime) -> SimTime {
        self.saturating_sub(rhs)
    }
}

/// Why a duration string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {reason} (expected e.g. \"250ms\", \"1.5s\", \"2m\", \"1h30m\"; units ns, us, ms, s, m, h)"
)]
pub struct ParseDurationError {
    /// The text that was given.
    pub input: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

const UNITS: [(&str, u64); 7] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

impl FromStr for SimTime {
    type Err = ParseDurationError;

    /// Parses one or more `<number><unit>` terms ("1h30m", "1.5s", "250ms", "0").
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason| ParseDurationError {
            input: s.to_string(),
            reason,
        };
        let text = s.trim();
        if text.is_empty() {
            return Err(err("empty"));
        }
        if text == "0" {
            return Ok(SimTime::ZERO);
        }
        let mut rest = text;
        let mut total: u128 = 0;
        while !rest.is_empty() {
            let num_len = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(|| err("missing unit"))?;
            if num_len == 0 {
                return Err(err("expected a number"));
            }
            let (num, tail) = rest.split_at(num_len);
            let unit_len = tail
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(tail.len());
            let (unit, tail) = tail.split_at(unit_len);
            let scale = UNITS
                .iter()
                .find(|(u, _)| *u == unit)
                .map(|(_, k)| *k)
                .ok_or_else(|| err("unknown unit"))?;
            total += parse_scaled(num, scale).ok_or_else(|| err("bad number"))?;
            if total > u64::MAX as u128 {
                return Err(err("too large"));
            }
            rest = tail;
        }
        Ok(SimTime(total as u64))
    }
}

/// `num` (decimal, optional fraction) times `scale`, exactly, truncating below 1 ns.
fn parse_scaled(num: &str, scale: u64) -> Option<u128> {
    let (int, frac) = match num.split_once('.') {
        Some((i, f)) => (i, f),
        None => (num, ""),
    };
    if (int.is_empty() && frac.is_empty()) || frac.contains('.') {
        return None;
    }
    let int_v: u128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let mut value = int_v.checked_mul(scale as u128)?;
    let mut place = scale as u128;
    for d in frac.bytes() {
        place /= 10;
        value += (d - b'0') as u128 * place;
    }
    Some(value)
}

impl fmt::Display for SimTime {
    /// The shortest exact rendering in the largest fitting unit: "0s", "150ms", "1.5s", "2m".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = self.0;
        if ns == 0 {
            return write!(f, "0s");
        }
        for (unit, scale) in [
            ("h", 3_600_000_000_000u64),
            ("m", 60_000_000_000),
            ("s", 1_000_000_000),
            ("ms", 1_000_000),
            ("us", 1_000),
        ] {
            if ns >= scale {
                let whole = ns / scale;
                let frac = ns % scale;
                if frac == 0 {
                    return write!(f, "{whole}{unit}");
                }
                // Exact decimal fraction only for units with a power-of-ten scale.
                if scale.to_string().trim_start_matches('1').bytes().all(|b| b == b'0') {
                    let width = scale.ilog10() as usize;
                    let digits = format!("{frac:0width$}");
                    return write!(f, "{whole}.{}{unit}", digits.trim_end_matches('0'));
                }
            }
        }
        write!(f, "{ns}ns")
    }
}

impl fmt::Debug for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_compounds() {
        assert_eq!("150ms".parse::<SimTime>().unwrap(), SimTime::from_millis(150));
        assert_eq!("2s".parse::<SimTime>().unwrap(), SimTime::from_secs(2));
        assert_eq!("1.5s".parse::<SimTime>().unwrap(), SimTime::from_millis(1500));
        assert_eq!("2m".parse::<SimTime>().unwrap(), SimTime::from_secs(120));
        assert_eq!("1h30m".parse::<SimTime>().unwrap(), SimTime::from_secs(5400));
        assert_eq!("0".parse::<SimTime>().unwrap(), SimTime::ZERO);
        assert_eq!("7ns".parse::<SimTime>().unwrap(), SimTime(7));
        assert_eq!(".5us".parse::<SimTime>().unwrap(), SimTime(500));
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "ms", "5", "5x", "1.2.3s", "-1s", "99999999999h"] {
            assert!(bad.parse::<SimTime>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn display_round_trips() {
        for ns in [
            0u64,
            1,
            999,
            1_000,
            1_500,
            150_000_000,
            1_500_000_000,
            120_000_000_000,
            5_400_000_000_000,
            123_456_789,
        ] {
            let t = SimTime(ns);
            let text = t.to_string();
            assert_eq!(text.parse::<SimTime>().unwrap(), t, "{text}");
        }
        assert_eq!(SimTime::from_millis(150).to_string(), "150ms");
        assert_eq!(SimTime::from_millis(1500).to_string(), "1.5s");
    }
}
