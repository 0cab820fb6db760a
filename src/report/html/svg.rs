//! Small shared pieces for writing SVG and HTML text: escaping, short time labels, nice
//! axis ticks, and a linear time scale.

use crate::engine::time::SimTime;

/// Escape `s` for HTML/SVG text and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A time in at most 4 significant digits and a fitting unit: `1.25s`, `300ms`, `12.5µs`.
pub fn short_time(ns: u64) -> String {
    if ns == 0 {
        return "0".into();
    }
    let v = ns as f64;
    let (x, unit) = if ns >= 1_000_000_000 {
        (v / 1e9, "s")
    } else if ns >= 1_000_000 {
        (v / 1e6, "ms")
    } else if ns >= 1_000 {
        (v / 1e3, "µs")
    } else {
        (v, "ns")
    };
    let text = format!("{x:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text}{unit}")
}

/// A count with thousands separators: `98,311`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Round tick positions covering `[lo, hi]`, about `want` of them (steps of 1, 2 or 5
/// times a power of ten).
pub fn ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    if hi <= lo || hi.is_nan() || lo.is_nan() || !lo.is_finite() || !hi.is_finite() {
        return vec![lo];
    }
    let raw = (hi - lo) / want.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 && out.len() < 100 {
        out.push(t);
        t += step;
    }
    out
}

/// Maps virtual time in `[t0, t1]` to pixels in `[p0, p1]`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TimeScale {
    /// First time.
    pub t0: SimTime,
    /// Last time.
    pub t1: SimTime,
    /// Pixel of `t0`.
    pub p0: f64,
    /// Pixel of `t1`.
    pub p1: f64,
}

impl TimeScale {
    /// The pixel of `t` (not clamped).
    pub fn px(&self, t: SimTime) -> f64 {
        let span = (self.t1.0.saturating_sub(self.t0.0)).max(1) as f64;
        self.p0 + (t.0 as f64 - self.t0.0 as f64) / span * (self.p1 - self.p0)
    }

    /// Tick times (ns) for about `want` ticks.
    pub fn ticks(&self, want: usize) -> Vec<u64> {
        ticks(self.t0.0 as f64, self.t1.0 as f64, want)
            .into_iter()
            .map(|t| t.max(0.0) as u64)
            .collect()
    }
}

/// A number with at most one decimal.
pub fn num(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(esc("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(short_time(1_250_000_000), "1.25s");
        assert_eq!(short_time(300_000_000), "300ms");
        assert_eq!(short_time(0), "0");
        assert_eq!(short_time(999), "999ns");
        assert_eq!(thousands(98_311), "98,311");
        assert_eq!(thousands(12), "12");
        assert_eq!(ticks(0.0, 10.0, 5), vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks(3.0, 3.0, 5), vec![3.0]);
        let s = TimeScale {
            t0: SimTime(100),
            t1: SimTime(200),
            p0: 0.0,
            p1: 50.0,
        };
        assert_eq!(s.px(SimTime(150)), 25.0);
    }
}
