//! The plots as inline SVG: each protocol's [`Plot`]s (levels and rates on a linear
//! scale, durations on a log scale, a distribution as a CDF; shared plots merged, after
//! the protocols' own), then message throughput. They know no protocol. Every plot over
//! time shades the fault spans with the diagram's colours, marks the violations and the
//! diagram's window, so cause and effect line up.

use std::fmt::Write;

use super::faults::{Span, SpanKind};
use super::series::RunSeries;
use super::svg::{TimeScale, esc, num, short_time, ticks};
use super::window::Window;
use crate::check::Violation;
use crate::engine::time::SimTime;
use crate::plugin::{Body, Grid, Line, Plot};

const W: f64 = 580.0;
const H: f64 = 250.0;
const L: f64 = 62.0;
const R: f64 = 12.0;
const T: f64 = 40.0;
const B: f64 = 26.0;

/// What the time plots share.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// Fault spans to shade.
    pub spans: &'a [Span],
    /// Violations to mark.
    pub violations: &'a [Violation],
    /// The diagram's window, marked on the time axis.
    pub window: Window,
}

enum YScale {
    Linear(f64),
    /// Log scale over [lo, hi] (values in ns).
    LogTime(f64, f64),
}

impl YScale {
    fn px(&self, v: f64) -> f64 {
        let f = match self {
            YScale::Linear(max) => v / max.max(1e-9),
            YScale::LogTime(lo, hi) => (v.max(*lo).log10() - lo.log10()) / (hi.log10() - lo.log10()).max(1e-9),
        };
        H - B - f.clamp(0.0, 1.0) * (H - B - T)
    }
}

fn frame(s: &mut String, title: &str, kind: &str) {
    let _ = write!(
        s,
        r#"<figure class="plot" data-plot="{kind}"><svg viewBox="0 0 {W} {H}" role="img" aria-label="{}"><text x="{L}" y="16" class="ptitle">{}</text>"#,
        esc(title),
        esc(title)
    );
}

fn y_axis(s: &mut String, y: &YScale) {
    let marks: Vec<(f64, String)> = match y {
        YScale::Linear(max) => ticks(0.0, *max, 5).into_iter().map(|v| (v, num(v))).collect(),
        YScale::LogTime(lo, hi) => {
            let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
            let mut out = Vec::new();
            for e in a..=b {
                for m in if b - a <= 2 { &[1.0, 2.0, 5.0][..] } else { &[1.0][..] } {
                    let v = m * 10f64.powi(e);
                    if v >= *lo * 0.999 && v <= *hi * 1.001 {
                        out.push((v, short_time(v as u64)));
                    }
                }
            }
            out
        }
    };
    for (v, text) in marks {
        let py = y.px(v);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{L}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - R,
            L - 4.0,
            py + 4.0,
            esc(&text)
        );
    }
}

fn time_axis(s: &mut String, x: &TimeScale, cx: &Context<'_>) {
    for sp in cx.spans {
        if sp.kind == SpanKind::LinkChange {
            continue;
        }
        let (x0, x1) = (x.px(sp.start), x.px(sp.end).max(x.px(sp.start) + 1.5));
        let _ = write!(
            s,
            r#"<rect class="{}" x="{x0:.1}" y="{T}" width="{:.1}" height="{:.1}"><title>{}</title></rect>"#,
            sp.kind.class(),
            x1 - x0,
            H - B - T,
            esc(&format!(
                "{} {}..{}",
                sp.label,
                short_time(sp.start.0),
                short_time(sp.end.0)
            ))
        );
    }
    for t in x.ticks(6) {
        let px = x.px(SimTime(t));
        let _ = write!(
            s,
            r#"<text class="tick" x="{px:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            H - 8.0,
            short_time(t)
        );
    }
    let (w0, w1) = (x.px(cx.window.start), x.px(cx.window.end));
    let _ = write!(
        s,
        r#"<rect class="winmark" x="{w0:.1}" y="{:.1}" width="{:.1}" height="3"><title>the diagram's window {}</title></rect>"#,
        H - B + 1.0,
        (w1 - w0).max(1.5),
        esc(&cx.window.to_string())
    );
    for v in cx.violations {
        let px = x.px(v.at);
        let _ = write!(
            s,
            r#"<line class="vline" x1="{px:.1}" x2="{px:.1}" y1="{T}" y2="{:.1}"><title>{}</title></line>"#,
            H - B,
            esc(&format!("{} at {}", v.check, short_time(v.at.0)))
        );
    }
}

fn legend(s: &mut String, lines: &[Line]) {
    let mut x = W - R;
    for l in lines.iter().rev() {
        let w = 8.0 * l.name.chars().count() as f64 + 26.0;
        x -= w;
        let _ = write!(
            s,
            r#"<line class="s{}" x1="{x:.1}" x2="{:.1}" y1="30" y2="30"/><text class="tick" x="{:.1}" y="34">{}</text>"#,
            l.color,
            x + 16.0,
            x + 20.0,
            esc(&l.name)
        );
    }
}

fn time_plot(title: &str, kind: &str, grid: &Grid, cx: &Context<'_>, y: YScale, lines: &[Line], step: bool) -> String {
    let mut s = String::new();
    frame(&mut s, title, kind);
    let x = TimeScale {
        t0: SimTime::ZERO,
        t1: grid.end,
        p0: L,
        p1: W - R,
    };
    time_axis(&mut s, &x, cx);
    y_axis(&mut s, &y);
    for l in lines {
        let mut d = String::new();
        let mut pen = false;
        for (i, v) in l.values.iter().enumerate() {
            let Some(v) = v else {
                pen = false;
                continue;
            };
            let (a, b) = (grid.at(i), grid.at(i + 1).min(grid.end));
            let py = y.px(*v);
            if step {
                let _ = write!(
                    d,
                    "{}{:.1},{py:.1} L{:.1},{py:.1} ",
                    if pen { "L" } else { "M" },
                    x.px(a),
                    x.px(b)
                );
            } else {
                let mid = SimTime(a.0 / 2 + b.0 / 2);
                let _ = write!(d, "{}{:.1},{py:.1} ", if pen { "L" } else { "M" }, x.px(mid));
            }
            pen = true;
        }
        let _ = write!(s, r#"<path class="s{} series" d="{}"/>"#, l.color, d.trim_end());
    }
    legend(&mut s, lines);
    let _ = write!(
        s,
        r#"<line class="axisline" x1="{L}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/></svg></figure>"#,
        W - R,
        H - B,
        H - B
    );
    s
}

fn log_range(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    let (mut lo, mut hi) = (f64::MAX, 0f64);
    for v in values {
        lo = lo.min(v.max(1.0));
        hi = hi.max(v);
    }
    (hi > 0.0).then(|| (lo.min(hi / 2.0).max(1.0), hi * 1.2))
}

fn durations_plot(title: &str, kind: &str, lines: &[Line], grid: &Grid, cx: &Context<'_>) -> String {
    let (lo, hi) = log_range(lines.iter().flat_map(|l| l.values.iter().flatten().copied())).unwrap_or((1e6, 1e7));
    time_plot(title, kind, grid, cx, YScale::LogTime(lo, hi), lines, false)
}

fn levels_plot(title: &str, kind: &str, lines: &[Line], grid: &Grid, cx: &Context<'_>) -> String {
    let top = max_of(lines);
    time_plot(title, kind, grid, cx, YScale::Linear(top), lines, true)
}

fn cdf_plot(title: &str, kind: &str, points: &[(u64, f64)], count: u64, noun: &str) -> String {
    let mut s = String::new();
    frame(&mut s, title, kind);
    let (lo, hi) = log_range(points.iter().map(|(v, _)| *v as f64)).unwrap_or((1e6, 1e7));
    // Latency on x (log), fraction on y.
    let xs = |v: f64| L + (v.max(lo).log10() - lo.log10()) / (hi.log10() - lo.log10()).max(1e-9) * (W - R - L);
    let y = YScale::Linear(1.0);
    for f in [0.0, 0.25, 0.5, 0.75, 0.9, 1.0] {
        let py = y.px(f);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{L}" x2="{:.1}" y1="{py:.1}" y2="{py:.1}"/><text class="tick" x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            W - R,
            L - 4.0,
            py + 4.0,
            if f == 0.99 {
                "p99".to_string()
            } else {
                format!("{:.0}%", f * 100.0)
            }
        );
    }
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    for e in a..=b {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if v < lo || v > hi || (b - a > 3 && m != 1.0) {
                continue;
            }
            let _ = write!(
                s,
                r#"<text class="tick" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                xs(v),
                H - 8.0,
                short_time(v as u64)
            );
        }
    }
    let mut d = String::new();
    for (i, (v, f)) in points.iter().enumerate() {
        let _ = write!(
            d,
            "{}{:.1},{:.1} ",
            if i == 0 { "M" } else { "L" },
            xs(*v as f64),
            y.px(*f)
        );
    }
    let _ = write!(
        s,
        r#"<path class="s1 series" d="{}"/><text class="tick" x="{:.1}" y="34" text-anchor="end">{}</text><line class="axisline" x1="{L}" x2="{:.1}" y1="{:.1}" y2="{:.1}"/></svg></figure>"#,
        d.trim_end(),
        W - R,
        crate::plural::count(count, noun),
        W - R,
        H - B,
        H - B
    );
    s
}

fn max_of(lines: &[Line]) -> f64 {
    lines
        .iter()
        .flat_map(|l| l.values.iter().flatten())
        .fold(0f64, |a, b| a.max(*b))
        .max(1.0)
        * 1.1
}

/// One plot, as an HTML figure.
fn draw(p: &Plot, grid: &Grid, cx: &Context<'_>) -> String {
    match &p.body {
        Body::Levels(lines) => levels_plot(&p.title, p.id, lines, grid, cx),
        Body::Durations(lines) => durations_plot(&p.title, p.id, lines, grid, cx),
        Body::Cdf { points, count, noun } => cdf_plot(&p.title, p.id, points, *count, noun),
    }
}

/// The shared plots, each with the lines of every plot of its id (of the same kind as
/// the first), in order of first appearance.
fn merged(plots: &[Plot]) -> Vec<Plot> {
    let mut out: Vec<Plot> = Vec::new();
    for p in plots.iter().filter(|p| p.shared) {
        match out.iter_mut().find(|m| m.id == p.id) {
            Some(m) => match (&mut m.body, &p.body) {
                (Body::Levels(a), Body::Levels(b)) | (Body::Durations(a), Body::Durations(b)) => {
                    a.extend(b.iter().cloned())
                }
                _ => {}
            },
            None => out.push(p.clone()),
        }
    }
    out
}

/// Every plot that applies to the run, as HTML figures: the protocols' own, their shared
/// ones, then the network's.
pub fn plots(series: &RunSeries, cx: &Context<'_>) -> String {
    let grid = &series.grid;
    let mut out = String::new();
    for p in series.plots.iter().filter(|p| !p.shared) {
        out.push_str(&draw(p, grid, cx));
    }
    for p in merged(&series.plots) {
        out.push_str(&draw(&p, grid, cx));
    }
    let net = vec![
        Line::new("delivered/s", 1, grid.per_sec(&series.delivered)),
        Line::new("dropped/s", 3, grid.per_sec(&series.dropped)),
    ];
    out.push_str(&levels_plot("Network: messages per second", "network", &net, grid, cx));
    out
}
