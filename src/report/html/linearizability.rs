//! The linearizability page and section: for each key that is not linearizable, a
//! timeline with one lane per client and a bar per operation from call to return
//! (unknown outcomes open-ended and dashed), the partial linearization's order numbered
//! on the bars, and the operation that cannot be placed highlighted with the states the
//! model could be in just before it. [`counterexample_section`] is the HTML fragment (for
//! any report that has a history and a counterexample); [`linearizability_page`] a whole
//! self-contained page around it, as `detsim check-history --report` writes it.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::svg::{esc, num, short_time, thousands, ticks};
use crate::linearizability::{Checked, Counterexample, Model, Operation, Outcome, PartitionCounterexample};
use crate::plural::count;

/// Bars drawn at most per key: the blocked operation and those nearest it.
const MAX_BARS: usize = 80;
/// Prefix operations listed at most (the last ones).
const MAX_LISTED: usize = 40;

const CSS: &str = r#"
:root{--fg:#1a202c;--muted:#5a6472;--line:#d5dae1;--blue:#2b6cb0;--red:#c53030;--green:#2f855a;--orange:#dd6b20}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);margin:0;background:#f7f8fa}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:4px 0 2px} h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:13px;font-weight:600;vertical-align:middle;margin-left:8px;color:#fff}
.pass{background:var(--green)} .fail{background:var(--red)} .notjudged{background:var(--orange)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:4px 18px;margin:8px 0}
.facts div{overflow-wrap:anywhere} .facts div span{color:var(--muted);display:block;font-size:12px}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.note{color:var(--muted)}
svg{display:block;width:100%;height:auto;background:#fff;border:1px solid var(--line);border-radius:4px}
"#;

/// The timeline's own rules, also added to a run report that draws a counterexample.
pub(crate) const TIMELINE_CSS: &str = r#"
.lin text{font-size:10px;fill:var(--fg)}
.lin .axis text{fill:var(--muted)}
.lin .grid{stroke:#edf0f3}
.lin .lanename{font-size:11px;font-weight:600}
.op rect{fill:#bee3f8;stroke:var(--blue);stroke-width:1}
.op.placed rect{fill:#c6f6d5;stroke:var(--green)}
.op.unknown rect{fill:#fefcbf;stroke:#b7791f}
.op.unknown rect,.op.placed.unknown rect{stroke-dasharray:4 3} .op.placed.unknown rect{fill:#c6f6d5}
.op.blocked rect{fill:#fed7d7;stroke:var(--red);stroke-width:2.5}
.op .order{fill:var(--green)} .op .ordertext{fill:#fff;font-weight:700;font-size:9px}
.op.blocked text.lbl{fill:var(--red);font-weight:700}
.illegal line{stroke:var(--red);stroke-width:1.5;stroke-dasharray:6 3}
.illegal text{fill:var(--red)!important;font-weight:700;font-size:11px!important}
ol.prefix{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px;margin:4px 0}
.blockedop{color:var(--red);font-weight:700}
ul.states{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.op:target rect{stroke-width:4}
"#;

/// How a time is written: ns, or an event position when the history has no times.
fn time_label(t: u64, timed: bool) -> String {
    if timed { short_time(t) } else { format!("#{t}") }
}

/// `s` cut to `n` characters with an ellipsis.
pub(crate) fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(n.saturating_sub(1)).collect();
        c.push('…');
        c
    }
}

/// The operations of one failing key to draw: all if few, else the blocked one and the
/// nearest to it by call time (which keeps the end of the prefix and its rivals).
fn drawn<I, O>(ops: &[Operation<I, O>], c: &PartitionCounterexample) -> Vec<usize> {
    let mut mine = c.ops.clone();
    mine.sort_by_key(|&i| (ops[i].call, i));
    if mine.len() <= MAX_BARS {
        return mine;
    }
    let at = mine.iter().position(|&i| i == c.blocked).unwrap_or(0);
    let lo = at.saturating_sub(MAX_BARS * 3 / 4);
    let hi = (lo + MAX_BARS).min(mine.len());
    mine[hi.saturating_sub(MAX_BARS)..hi].to_vec()
}

/// How a counterexample is tied into its page: element ids, lane names, and the
/// operations the page's space-time diagram marks (a bar links to its mark).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Links<'a> {
    /// Prefix of every element id (`op-3` is `{ids}op-3`), unique per counterexample.
    pub ids: &'a str,
    /// Lane names by client number (a client without one is `client N`).
    pub names: &'a [String],
    /// Operations marked on the diagram, sorted: the bar of `i` links to `#{ids}mark-{i}`.
    pub marked: &'a [usize],
}

impl Links<'_> {
    /// A client's lane name.
    fn lane(&self, client: u64) -> String {
        usize::try_from(client)
            .ok()
            .and_then(|c| self.names.get(c))
            .cloned()
            .unwrap_or_else(|| format!("client {client}"))
    }
}

/// The timeline of one failing key.
fn timeline<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    c: &PartitionCounterexample,
    timed: bool,
    links: &Links<'_>,
) -> String {
    let draw = drawn(ops, c);
    let order: BTreeMap<usize, usize> = c.prefix.iter().enumerate().map(|(n, p)| (p.op, n + 1)).collect();
    let mut clients: Vec<u64> = draw.iter().map(|&i| ops[i].client).collect();
    clients.sort_unstable();
    clients.dedup();
    let lane = |client: u64| clients.iter().position(|&c| c == client).unwrap_or(0);
    let t0 = draw.iter().map(|&i| ops[i].call).min().unwrap_or(0);
    let finite_end = draw
        .iter()
        .filter_map(|&i| ops[i].ret.filter(|_| ops[i].output.is_some()))
        .chain(draw.iter().map(|&i| ops[i].call))
        .max()
        .unwrap_or(t0);
    // Room on the right for open-ended bars.
    let t1 = finite_end + ((finite_end - t0) / 12).max(1);
    let (left, right, top, lane_h) = (96.0, 1180.0, 28.0, 40.0);
    let height = top + lane_h * clients.len() as f64 + 26.0;
    let px = |t: u64| left + (t.saturating_sub(t0)) as f64 / (t1 - t0).max(1) as f64 * (right - left);
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg class="lin" viewBox="0 0 1200 {h}" role="img" aria-label="timeline of key {key}"><g class="axis">"#,
        h = num(height),
        key = esc(c.key.as_deref().unwrap_or("")),
    );
    for t in ticks(t0 as f64, finite_end as f64, 8) {
        let x = px(t as u64);
        let _ = write!(
            s,
            r#"<line class="grid" x1="{x}" y1="{top}" x2="{x}" y2="{b}"/><text x="{x}" y="{ty}" text-anchor="middle">{l}</text>"#,
            x = num(x),
            top = num(top - 6.0),
            b = num(height - 20.0),
            ty = num(height - 6.0),
            l = time_label(t as u64, timed)
        );
    }
    s.push_str("</g>");
    for (k, cl) in clients.iter().enumerate() {
        let y = top + lane_h * k as f64 + lane_h / 2.0;
        let _ = write!(
            s,
            r#"<text class="lanename" x="8" y="{y}">{cl}</text>"#,
            y = num(y + 4.0),
            cl = esc(&cut(&links.lane(*cl), 14))
        );
    }
    for &i in &draw {
        let op = &ops[i];
        let unknown = op.unknown();
        let x0 = px(op.call);
        let x1 = if unknown { right } else { px(op.ret.unwrap_or(t1)) }.max(x0 + 3.0);
        let y = top + lane_h * lane(op.client) as f64 + 8.0;
        let desc = model.describe_op(&op.input, op.output.as_ref());
        let mut class = String::from("op");
        if i == c.blocked {
            class.push_str(" blocked");
        } else if order.contains_key(&i) {
            class.push_str(" placed");
        }
        if unknown {
            class.push_str(" unknown");
        }
        let ret = match op.ret {
            Some(r) if !unknown => time_label(r, timed),
            Some(r) => format!("{} (outcome unknown)", time_label(r, timed)),
            None => "never (outcome unknown)".into(),
        };
        let place = order
            .get(&i)
            .map_or_else(String::new, |n| format!("; #{n} of the partial linearization"));
        let marked = links.marked.binary_search(&i).is_ok();
        if marked {
            let _ = write!(s, r##"<a href="#{ids}mark-{i}">"##, ids = links.ids);
        }
        let _ = write!(
            s,
            r#"<g class="{class}" id="{ids}op-{i}"><title>op {i}: {d}
{cl}, called {call}, returned {ret}{place}{mark}</title><rect x="{x0}" y="{y}" width="{w}" height="18" rx="3"/>"#,
            ids = links.ids,
            d = esc(&desc),
            cl = esc(&links.lane(op.client)),
            mark = if marked {
                "\n(click: its place in the space-time diagram)"
            } else {
                ""
            },
            call = time_label(op.call, timed),
            x0 = num(x0),
            y = num(y),
            w = num(x1 - x0),
        );
        let mut lx = x0 + 4.0;
        if let Some(n) = order.get(&i) {
            let _ = write!(
                s,
                r#"<circle class="order" cx="{cx}" cy="{cy}" r="8"/><text class="ordertext" x="{cx}" y="{ty}" text-anchor="middle">{n}</text>"#,
                cx = num(x0 + 9.0),
                cy = num(y + 9.0),
                ty = num(y + 12.0),
            );
            lx += 16.0;
        }
        let room = ((x1 - lx) / 5.6).floor().max(0.0) as usize;
        if room >= 4 || i == c.blocked {
            let n = if i == c.blocked { room.max(40) } else { room };
            let _ = write!(
                s,
                r#"<text class="lbl" x="{x}" y="{ty}">{t}</text>"#,
                x = num(lx),
                ty = num(y + 13.0),
                t = esc(&cut(&desc, n))
            );
        }
        s.push_str(if marked { "</g></a>" } else { "</g>" });
    }
    if let Some(r) = ops[c.blocked].ret.filter(|_| !ops[c.blocked].unknown()) {
        let x = px(r);
        let _ = write!(
            s,
            r#"<g class="illegal"><line x1="{x}" y1="{a}" x2="{x}" y2="{b}"/><text x="{tx}" y="{ty}" text-anchor="end">op {o} returned here: no order places it</text></g>"#,
            x = num(x),
            a = num(top - 14.0),
            b = num(height - 20.0),
            tx = num(x - 4.0),
            ty = num(top - 16.0),
            o = c.blocked
        );
    }
    s.push_str("</svg>");
    if draw.len() < c.ops.len() {
        let _ = write!(
            s,
            r#"<p class="note">Drawn: the {} operations nearest the blocked one by call time, of {} on this key.</p>"#,
            draw.len(),
            thousands(c.ops.len() as u64)
        );
    }
    s
}

/// The HTML fragment for a counterexample: per failing key, its timeline, the partial
/// linearization (the last operations of it, numbered as on the bars), the operation that
/// cannot be placed and the states the model could be in just before it. `ops` is the
/// checked slice the counterexample indexes; `timed` says whether its times are ns (else
/// event positions).
pub fn counterexample_section<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    cex: &Counterexample,
    timed: bool,
) -> String {
    section(model, ops, cex, timed, &Links::default())
}

/// [`counterexample_section`], tied into its page by `links`.
pub(crate) fn section<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    cex: &Counterexample,
    timed: bool,
    links: &Links<'_>,
) -> String {
    let mut s = String::new();
    for c in &cex.partitions {
        let key = c
            .key
            .as_ref()
            .map_or_else(String::new, |k| format!("key {} — ", esc(k)));
        let _ = write!(
            s,
            r#"<h2>{key}not linearizable: op {b} cannot be placed</h2><p>{n} operations; the longest linearizable prefix found has {p}; then <span class="blockedop">op {b}: {d}</span> ({cl}) cannot take effect in any state that prefix, or another of its length, leaves.</p>"#,
            b = c.blocked,
            n = thousands(c.ops.len() as u64),
            p = thousands(c.prefix.len() as u64),
            d = esc(&c.blocked_description),
            cl = esc(&ops.get(c.blocked).map_or_else(String::new, |o| links.lane(o.client))),
        );
        s.push_str(&timeline(model, ops, c, timed, links));
        let skip = c.prefix.len().saturating_sub(MAX_LISTED);
        let _ = write!(s, "<h3>Partial linearization</h3>");
        if skip > 0 {
            let _ = write!(
                s,
                r#"<p class="note">… {} earlier operations</p>"#,
                thousands(skip as u64)
            );
        }
        let _ = write!(s, r#"<ol class="prefix" start="{}">"#, skip + 1);
        for p in &c.prefix[skip..] {
            let _ = write!(
                s,
                r##"<li><a href="#{ids}op-{o}">op {o}</a>: {d} &rarr; state {st}</li>"##,
                ids = links.ids,
                o = p.op,
                d = esc(&p.description),
                st = esc(&p.state_after)
            );
        }
        let _ = write!(
            s,
            r##"<li class="blockedop"><a href="#{ids}op-{o}">op {o}</a>: {d} &mdash; cannot be placed</li></ol>"##,
            ids = links.ids,
            o = c.blocked,
            d = esc(&c.blocked_description)
        );
        s.push_str("<h3>States the model could be in just before it</h3><ul class=\"states\">");
        for st in &c.states {
            let _ = write!(s, "<li>{}</li>", esc(st));
        }
        if c.more_states {
            s.push_str("<li>…</li>");
        }
        s.push_str("</ul>");
    }
    s
}

/// A whole self-contained page for a checked history: the verdict, the facts (`facts`:
/// label and value pairs, e.g. the file, model and time taken), the partitions, and for a
/// history that is not linearizable the [`counterexample_section`].
pub fn linearizability_page<M: Model>(
    model: &M,
    ops: &[Operation<M::Input, M::Output>],
    checked: &Checked,
    title: &str,
    facts: &[(String, String)],
    timed: bool,
) -> String {
    let (badge, class) = match &checked.outcome {
        Outcome::Linearizable => ("linearizable", "pass"),
        Outcome::NotLinearizable(_) => ("not linearizable", "fail"),
        Outcome::Unknown { .. } => ("unknown", "notjudged"),
    };
    let mut s = format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>detsim linearizability: {t}</title><style>{CSS}{TIMELINE_CSS}</style></head><body><main><h1>{t}<span class="badge {class}">{badge}</span></h1><div class="facts">"#,
        t = esc(title),
    );
    for (k, v) in facts {
        let _ = write!(s, "<div><span>{}</span>{}</div>", esc(k), esc(v));
    }
    s.push_str("</div>");
    match &checked.outcome {
        Outcome::Linearizable => s.push_str(
            "<p>Every key has a linearization: an order of its operations that respects real time and the model.</p>",
        ),
        Outcome::Unknown { reason } => {
            let _ = write!(s, "<p>Not judged: {}.</p>", esc(reason));
        }
        Outcome::NotLinearizable(cex) => {
            s.push_str(r#"<p class="note">Bars run from call to return, one lane per client; dashed bars have an unknown outcome (they may take effect at any time after their call, or never). Green bars are the partial linearization, numbered in order; the red bar cannot be placed after it.</p>"#);
            s.push_str(&counterexample_section(model, ops, cex, timed));
        }
    }
    let _ = write!(
        s,
        r#"<p class="note">{} checked in {}. Written by detsim {}; everything above is in this one file.</p></main></body></html>"#,
        count(checked.partitions.len() as u64, "partition"),
        count(checked.steps, "search step"),
        env!("CARGO_PKG_VERSION")
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linearizability::{Budget, Register, RegisterInput as I, RegisterOutput as O, check_detailed};

    #[test]
    fn the_page_draws_the_prefix_numbered_and_the_blocked_operation() {
        let op = |client, input, call, ret: Option<u64>, output| Operation {
            client,
            input,
            call,
            ret,
            output,
        };
        let ops = vec![
            op(0, I::Write(1), 0, Some(10), Some(O::Ok)),
            op(1, I::Write(2), 20, Some(30), Some(O::Ok)),
            op(2, I::Read, 40, Some(50), Some(O::Value(Some(1)))),
            op(3, I::Write(7), 5, None, None),
        ];
        let checked = check_detailed(&Register, &ops, &Budget::default());
        let page = linearizability_page(
            &Register,
            &ops,
            &checked,
            "h.jsonl",
            &[("model".into(), "register".into())],
            true,
        );
        assert!(page.contains("not linearizable"));
        assert!(page.contains(r#"<g class="op blocked" id="op-2">"#), "{page}");
        assert!(page.contains(r#" unknown" id="op-3">"#), "{page}");
        assert!(page.contains(r#"class="ordertext""#));
        assert!(page.contains("op 2 returned here"));
        assert!(page.contains("<li>2</li>"), "the state before the stale read");
        assert!(!page.contains("<script"));
    }
}
