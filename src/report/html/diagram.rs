//! The space-time diagram as inline SVG: one vertical lane per node, time downwards; an
//! arrow per delivered copy of a message (labelled), a cross per drop (with its reason),
//! dashed arrows for duplicate copies; crashes, restarts and pauses on the lanes;
//! partitions and clogs as shaded bands across the lanes they cut; violations as red
//! lines with anchors the header links to.
//!
//! Every drawn element carries a `data-ev` attribute (`lane`, `deliver`, `drop`,
//! `pending`, `fault`, `violation`) so that tests and scripts can count them.

use std::fmt::Write;

use super::collect::{Fate, MsgRecord};
use super::faults::{Span, SpanKind};
use super::svg::{TimeScale, esc, short_time};
use super::window::Window;
use crate::check::Violation;
use crate::engine::time::SimTime;

/// The diagram's width in SVG units (it scales to the page's width).
pub const WIDTH: f64 = 1180.0;
const LEFT: f64 = 78.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 24.0;
/// Above this many arrows labels are left to the tooltips.
const LABEL_LIMIT: usize = 700;

/// What the diagram draws.
#[derive(Clone, Copy, Debug)]
pub struct DiagramInput<'a> {
    /// Node names, by index.
    pub names: &'a [String],
    /// The time window drawn.
    pub window: Window,
    /// Messages sent in the window.
    pub messages: &'a [MsgRecord],
    /// Fault spans of the whole run.
    pub spans: &'a [Span],
    /// Restarts: (time, node, incarnation).
    pub restarts: &'a [(SimTime, u32, u32)],
    /// Every violation of the run.
    pub violations: &'a [Violation],
    /// Operations of the checks' counterexamples to mark, linked to their timelines.
    pub marks: &'a [super::evidence::Mark],
}

struct Layout {
    lane_w: f64,
    scale: TimeScale,
    height: f64,
}

impl Layout {
    fn x(&self, node: u32) -> f64 {
        LEFT + (node as f64 + 0.5) * self.lane_w
    }
}

fn layout(inp: &DiagramInput<'_>) -> Layout {
    let lanes = inp.names.len().max(1) as f64;
    let arrows: usize = inp.messages.iter().map(|m| m.outcomes.len().max(1)).sum();
    let body = (arrows as f64 * 11.0).clamp(420.0, 6000.0);
    Layout {
        lane_w: (WIDTH - LEFT - RIGHT) / lanes,
        scale: TimeScale {
            t0: inp.window.start,
            t1: inp.window.end,
            p0: TOP,
            p1: TOP + body,
        },
        height: TOP + body + BOTTOM,
    }
}

/// The lane names, for a header that stays in view while the diagram scrolls.
pub fn lane_header(names: &[String]) -> String {
    let lane_w = (WIDTH - LEFT - RIGHT) / names.len().max(1) as f64;
    let mut s = format!(r#"<svg class="lanehead" viewBox="0 0 {WIDTH} 26" role="img" aria-label="node lanes">"#);
    for (i, n) in names.iter().enumerate() {
        let x = LEFT + (i as f64 + 0.5) * lane_w;
        let _ = write!(s, r#"<text x="{x:.1}" y="18" text-anchor="middle">{}</text>"#, esc(n));
    }
    s.push_str("</svg>");
    s
}

/// The diagram's SVG.
pub fn diagram(inp: &DiagramInput<'_>) -> String {
    let l = layout(inp);
    let w = inp.window;
    let arrows: usize = inp.messages.iter().map(|m| m.outcomes.len()).sum();
    let dense = arrows > LABEL_LIMIT;
    let mut s = String::with_capacity(256 * inp.messages.len() + 4096);
    let _ = write!(
        s,
        r#"<svg id="diagram" class="diagram{}" viewBox="0 0 {WIDTH} {:.0}" data-window-start-ns="{}" data-window-end-ns="{}" role="img" aria-label="space-time diagram">"#,
        if dense { " dense" } else { "" },
        l.height,
        w.start.0,
        w.end.0
    );
    s.push_str(
        r#"<defs><marker id="ah" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="ahead"/></marker>"#,
    );
    let _ = write!(
        s,
        r#"<clipPath id="clip"><rect x="0" y="{TOP}" width="{WIDTH}" height="{:.1}"/></clipPath></defs>"#,
        l.scale.p1 - TOP
    );
    axis(&mut s, &l);
    bands(&mut s, &l, inp);
    lanes(&mut s, &l, inp);
    s.push_str(r#"<g clip-path="url(#clip)">"#);
    for m in inp.messages {
        message(&mut s, &l, m, inp.names);
    }
    s.push_str("</g>");
    violations(&mut s, &l, inp);
    marks(&mut s, &l, inp);
    s.push_str("</svg>");
    s
}

fn axis(s: &mut String, l: &Layout) {
    s.push_str(r#"<g class="axis">"#);
    for t in l.scale.ticks(((l.scale.p1 - l.scale.p0) / 90.0).max(4.0) as usize) {
        let y = l.scale.px(SimTime(t));
        let _ = write!(
            s,
            r#"<line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short_time(t)
        );
    }
    s.push_str("</g>");
}

fn span_x(l: &Layout, nodes: &[u32], lanes: usize, frac: f64) -> (f64, f64) {
    if nodes.is_empty() {
        return (LEFT, WIDTH - RIGHT);
    }
    let lo = nodes
        .iter()
        .min()
        .copied()
        .unwrap_or(0)
        .min(lanes.saturating_sub(1) as u32);
    let hi = nodes
        .iter()
        .max()
        .copied()
        .unwrap_or(0)
        .min(lanes.saturating_sub(1) as u32);
    (l.x(lo) - l.lane_w * frac, l.x(hi) + l.lane_w * frac)
}

fn bands(s: &mut String, l: &Layout, inp: &DiagramInput<'_>) {
    let w = inp.window;
    for sp in inp.spans {
        if sp.end < w.start || sp.start > w.end {
            continue;
        }
        let y0 = l.scale.px(sp.start.max(w.start));
        let y1 = l.scale.px(sp.end.min(w.end)).max(y0 + 2.0);
        let title = format!(
            "{} from {} to {}",
            sp.label,
            short_time(sp.start.0),
            short_time(sp.end.0)
        );
        let _ = write!(
            s,
            r#"<g class="fault {}" data-ev="fault"><title>{}</title>"#,
            sp.kind.class(),
            esc(&title)
        );
        match sp.kind {
            SpanKind::Crash | SpanKind::Pause => {
                let (x0, x1) = span_x(l, &sp.nodes, inp.names.len(), 0.12);
                let _ = write!(
                    s,
                    r#"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}"/>"#,
                    x1 - x0,
                    y1 - y0
                );
                if sp.start >= w.start {
                    let word = if sp.kind == SpanKind::Crash {
                        "✕ crash"
                    } else {
                        "❚❚ pause"
                    };
                    let _ = write!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}" class="mark">{word}</text>"#,
                        x1 + 3.0,
                        y0 + 4.0
                    );
                }
                if sp.end <= w.end && sp.kind == SpanKind::Pause {
                    let _ = write!(
                        s,
                        r#"<text x="{:.1}" y="{:.1}" class="mark">▶ resume</text>"#,
                        x1 + 3.0,
                        y1 + 4.0
                    );
                }
            }
            SpanKind::LinkChange => {
                let (x0, x1) = span_x(l, &sp.nodes, inp.names.len(), 0.45);
                let _ = write!(
                    s,
                    r#"<line x1="{x0:.1}" x2="{x1:.1}" y1="{y0:.1}" y2="{y0:.1}"/><text x="{:.1}" y="{:.1}" class="bandlabel">{}</text>"#,
                    x0 + 4.0,
                    y0 - 3.0,
                    esc(&sp.label)
                );
            }
            SpanKind::Partition | SpanKind::Clog => {
                let (x0, x1) = span_x(l, &sp.nodes, inp.names.len(), 0.48);
                let _ = write!(
                    s,
                    r#"<rect x="{x0:.1}" y="{y0:.1}" width="{:.1}" height="{:.1}"/><text x="{:.1}" y="{:.1}" class="bandlabel">{}</text>"#,
                    x1 - x0,
                    y1 - y0,
                    x0 + 4.0,
                    y0 + 12.0,
                    esc(&sp.label)
                );
            }
        }
        s.push_str("</g>");
    }
    for (t, node, inc) in inp.restarts {
        if !w.contains(*t) {
            continue;
        }
        let (x, y) = (l.x(*node), l.scale.px(*t));
        let _ = write!(
            s,
            r#"<g class="restart" data-ev="restart"><title>{} restarted at {} (incarnation {inc})</title><path d="M{:.1},{:.1} l6,10 h-12 z"/><text x="{:.1}" y="{:.1}" class="mark">▲ restart</text></g>"#,
            esc(inp.names.get(*node as usize).map_or("?", |n| n.as_str())),
            short_time(t.0),
            x,
            y - 5.0,
            x + l.lane_w * 0.12 + 3.0,
            y + 4.0
        );
    }
}

fn lanes(s: &mut String, l: &Layout, inp: &DiagramInput<'_>) {
    for (i, n) in inp.names.iter().enumerate() {
        let x = l.x(i as u32);
        let _ = write!(
            s,
            r#"<g class="lane" data-ev="lane" data-node="{}"><line x1="{x:.1}" x2="{x:.1}" y1="{TOP}" y2="{:.1}"/></g>"#,
            esc(n),
            l.scale.p1
        );
    }
}

fn message(s: &mut String, l: &Layout, m: &MsgRecord, names: &[String]) {
    let name = |n: u32| names.get(n as usize).map_or("?", |s| s.as_str());
    let (x0, y0) = (l.x(m.from), l.scale.px(m.sent));
    let x1 = l.x(m.to);
    let base = format!(
        "#{} {} → {}: {} (sent {}",
        m.id,
        name(m.from),
        name(m.to),
        m.debug,
        short_time(m.sent.0)
    );
    let held = m.held.as_deref().map(|h| format!(", held: {h}")).unwrap_or_default();
    if m.outcomes.is_empty() {
        let y1 = l.scale.p1 + 40.0;
        let _ = write!(
            s,
            r#"<g class="pending" data-ev="pending"><title>{}</title><line x1="{x0:.1}" y1="{y0:.1}" x2="{x1:.1}" y2="{y1:.1}"/></g>"#,
            esc(&format!("{base}, still in flight at the end{held})"))
        );
        return;
    }
    for (k, o) in m.outcomes.iter().enumerate() {
        let dup = k > 0;
        let y1 = l.scale.px(o.at);
        match &o.fate {
            Fate::Delivered => {
                let title = format!(
                    "{base}, delivered {}{}{held})",
                    short_time(o.at.0),
                    if dup { ", duplicate copy" } else { "" }
                );
                let _ = write!(
                    s,
                    r#"<g class="msg{}" data-ev="deliver" data-id="{}"><title>{}</title>"#,
                    if dup { " dup" } else { "" },
                    m.id,
                    esc(&title)
                );
                path(s, x0, y0, x1, y1, true);
                let (lx, ly) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
                let text = if dup {
                    format!("{} (dup)", m.label)
                } else {
                    m.label.clone()
                };
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="lbl">{}</text></g>"#,
                    if m.from == m.to { lx + 34.0 } else { lx },
                    ly - 2.0,
                    esc(&text)
                );
            }
            Fate::Dropped(reason) => {
                // A loss at send time has no length: draw a short stub toward the destination.
                let (ex, ey) = if o.at <= m.sent {
                    let dir = if x1 >= x0 { 1.0 } else { -1.0 };
                    let stub = (l.lane_w * 0.3).min(40.0);
                    (x0 + dir * stub, y0 + 8.0)
                } else {
                    (x1, y1)
                };
                let title = format!("{base}, DROPPED {} ({reason}){held})", short_time(o.at.0));
                let _ = write!(
                    s,
                    r#"<g class="drop" data-ev="drop" data-id="{}"><title>{}</title>"#,
                    m.id,
                    esc(&title)
                );
                path(s, x0, y0, ex, ey, false);
                let _ = write!(
                    s,
                    r#"<path class="x" d="M{:.1},{:.1} l8,8 m0,-8 l-8,8"/><text x="{:.1}" y="{:.1}" class="lbl why">✕ {} ({})</text></g>"#,
                    ex - 4.0,
                    ey - 4.0,
                    ex + 7.0,
                    ey + 4.0,
                    esc(&m.label),
                    esc(reason)
                );
            }
        }
    }
    if m.duplicated {
        let _ = write!(
            s,
            r#"<g class="dupmark" data-ev="duplicate"><title>the network duplicated message #{}</title><circle cx="{x0:.1}" cy="{y0:.1}" r="4"/></g>"#,
            m.id
        );
    }
}

fn path(s: &mut String, x0: f64, y0: f64, x1: f64, y1: f64, head: bool) {
    let marker = if head { r#" marker-end="url(#ah)""# } else { "" };
    if (x0 - x1).abs() < 0.5 {
        // A message to itself: a loop to the right of the lane.
        let _ = write!(
            s,
            r#"<path d="M{x0:.1},{y0:.1} C{:.1},{y0:.1} {:.1},{y1:.1} {x1:.1},{y1:.1}"{marker}/>"#,
            x0 + 30.0,
            x1 + 30.0
        );
    } else {
        let _ = write!(s, r#"<path d="M{x0:.1},{y0:.1} L{x1:.1},{y1:.1}"{marker}/>"#);
    }
}

fn violations(s: &mut String, l: &Layout, inp: &DiagramInput<'_>) {
    for (i, v) in inp.violations.iter().enumerate() {
        if !inp.window.contains(v.at) {
            continue;
        }
        let y = l.scale.px(v.at);
        let _ = write!(
            s,
            r#"<g class="violation" id="violation-{}" data-ev="violation" data-at-ns="{}"><title>{}</title><line x1="{LEFT}" x2="{:.1}" y1="{y:.1}" y2="{y:.1}"/><text x="{:.1}" y="{:.1}" text-anchor="end">⚠ {} at {}</text>"#,
            i + 1,
            v.at.0,
            esc(&format!("{}: {}", v.check, v.message)),
            WIDTH - RIGHT,
            WIDTH - RIGHT - 4.0,
            y - 5.0,
            esc(v.check.as_str()),
            short_time(v.at.0)
        );
        for e in &v.events {
            if !inp.window.contains(e.at) || e.node.0 as usize >= inp.names.len() {
                continue;
            }
            let _ = write!(
                s,
                r#"<circle class="evidence" cx="{:.1}" cy="{:.1}" r="6"><title>{}</title></circle>"#,
                l.x(e.node.0),
                l.scale.px(e.at),
                esc(&format!(
                    "{} {}: {}",
                    short_time(e.at.0),
                    inp.names[e.node.0 as usize],
                    e.what
                ))
            );
        }
        s.push_str("</g>");
    }
}

/// Each mark: a red bar along its client's lane from call to return (clipped to the
/// window), a link to its bar in the timeline, with the mark's id.
fn marks(s: &mut String, l: &Layout, inp: &DiagramInput<'_>) {
    let w = inp.window;
    for m in inp.marks {
        if m.node as usize >= inp.names.len() {
            continue;
        }
        let (a, b) = (m.call.max(w.start), m.ret.unwrap_or(w.end).min(w.end));
        let (y0, y1) = (l.scale.px(a), l.scale.px(b.max(a)));
        let x = l.x(m.node);
        let _ = write!(
            s,
            r##"<a class="linmark" id="{id}" href="#{bar}" data-ev="linmark" data-call-ns="{call}"><title>{t}</title><rect x="{rx:.1}" y="{y0:.1}" width="10" height="{h:.1}" rx="3"/><text x="{tx:.1}" y="{ty:.1}">✗ {what}</text></a>"##,
            id = esc(&m.id),
            bar = esc(&m.bar),
            call = m.call.0,
            t = esc(&super::evidence::describe(m)),
            rx = x - 5.0,
            h = (y1 - y0).max(4.0),
            tx = x + 8.0,
            ty = y0 + 10.0,
            what = esc(&super::linearizability::cut(&m.what, 60)),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::html::collect::Outcome;

    #[test]
    fn draws_one_lane_per_node_and_one_element_per_copy() {
        let names: Vec<String> = ["a", "b"].iter().map(|s| s.to_string()).collect();
        let msg = |id, fates: Vec<(u64, Fate)>| MsgRecord {
            id,
            from: 0,
            to: 1,
            sent: SimTime::from_millis(id),
            label: "Ping<1>".into(),
            debug: "Ping".into(),
            duplicated: fates.len() > 1,
            held: None,
            outcomes: fates
                .into_iter()
                .map(|(ms, fate)| Outcome {
                    at: SimTime::from_millis(ms),
                    fate,
                })
                .collect(),
        };
        let msgs = vec![
            msg(1, vec![(2, Fate::Delivered)]),
            msg(3, vec![(4, Fate::Delivered), (5, Fate::Delivered)]),
            msg(6, vec![(6, Fate::Dropped("loss".into()))]),
        ];
        let svg = diagram(&DiagramInput {
            names: &names,
            window: Window {
                start: SimTime::ZERO,
                end: SimTime::from_millis(10),
            },
            messages: &msgs,
            spans: &[],
            restarts: &[],
            violations: &[],
            marks: &[],
        });
        assert_eq!(svg.matches(r#"data-ev="lane""#).count(), 2);
        assert_eq!(svg.matches(r#"data-ev="deliver""#).count(), 3);
        assert_eq!(svg.matches(r#"class="msg dup""#).count(), 1);
        assert_eq!(svg.matches(r#"data-ev="drop""#).count(), 1);
        assert!(svg.contains("Ping&lt;1&gt;"), "labels are escaped");
        assert!(!svg.contains("Ping<1>"));
    }

    #[test]
    fn every_text_of_a_pending_held_message_is_escaped() {
        let names: Vec<String> = ["a<b", "c&d"].iter().map(|s| s.to_string()).collect();
        let msgs = vec![MsgRecord {
            id: 1,
            from: 0,
            to: 1,
            sent: SimTime::from_millis(1),
            label: "Ping".into(),
            debug: "Ping { s: \"<i>\" }".into(),
            duplicated: false,
            held: Some("clogged <&>".into()),
            outcomes: Vec::new(),
        }];
        let svg = diagram(&DiagramInput {
            names: &names,
            window: Window {
                start: SimTime::ZERO,
                end: SimTime::from_millis(10),
            },
            messages: &msgs,
            spans: &[],
            restarts: &[],
            violations: &[],
            marks: &[],
        });
        assert_eq!(svg.matches(r#"data-ev="pending""#).count(), 1);
        assert!(svg.contains("held: clogged &lt;&amp;&gt;)"), "{svg}");
        for raw in ["<&>", "<i>", "a<b", "c&d"] {
            assert!(!svg.contains(raw), "{raw} is not escaped in {svg}");
        }
    }
}
