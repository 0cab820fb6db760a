//! The HTML page: one self-contained file (inline CSS, inline SVG, a few lines of inline
//! JS that the page does not need), with the run's header (scenario, seed, trace hash,
//! the command that reproduces it, checks and violations linked into the diagram), the
//! legend, the space-time diagram and the plots.

use std::fmt::Write;

use super::collect::Collected;
use super::diagram::{DiagramInput, diagram, lane_header};
use super::evidence::{Mark, section_html};
use super::faults::Span;
use super::plots::{Context, plots};
use super::series::RunSeries;
use super::svg::{esc, short_time, thousands};
use super::window::Window;
use crate::run::CheckEvidence;
use crate::run::report::{RunReport, Status};

/// Everything the page shows.
#[derive(Clone, Copy, Debug)]
pub struct PageInput<'a> {
    /// The scenario's description.
    pub description: &'a str,
    /// The run's report.
    pub report: &'a RunReport,
    /// The command that reproduces the run.
    pub command: &'a str,
    /// Node names, by index.
    pub names: &'a [String],
    /// What the collector kept.
    pub collected: &'a Collected,
    /// The diagram's window.
    pub window: Window,
    /// Whether the window was chosen by default (not asked for).
    pub default_window: bool,
    /// Fault spans drawn (at most [`super::faults::MAX_FAULTS_DRAWN`]).
    pub spans: &'a [Span],
    /// Fault spans left out of the drawing (over the cap).
    pub faults_left_out: usize,
    /// Plot series.
    pub series: &'a RunSeries,
    /// The checks' counterexamples (drawn as timelines), with the check that gave each.
    pub evidence: &'a [CheckEvidence],
    /// Their operations marked on the diagram.
    pub marks: &'a [Mark],
}

const CSS: &str = r#"
:root{--fg:#1a202c;--muted:#5a6472;--line:#d5dae1;--blue:#2b6cb0;--red:#c53030;--green:#2f855a;--orange:#dd6b20;--purple:#6b46c1}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);margin:0;background:#f7f8fa}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:22px;margin:4px 0 2px} h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
.desc{color:var(--muted);max-width:70em;margin:2px 0 10px}
.badge{display:inline-block;padding:1px 9px;border-radius:10px;font-size:13px;font-weight:600;vertical-align:middle;margin-left:8px;color:#fff}
.pass{background:var(--green)} .fail{background:var(--red)} .notjudged{background:var(--orange)}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:4px 18px;margin:8px 0}
.facts div span{color:var(--muted);display:block;font-size:12px}
code,.mono{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
.cmd{background:#fff;border:1px solid var(--line);padding:6px 10px;border-radius:4px;display:block;overflow-x:auto;white-space:pre}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid var(--line);padding:3px 10px;text-align:left}
.ok{color:var(--green);font-weight:600} .bad{color:var(--red);font-weight:600} .nj{color:var(--orange);font-weight:600}
ul.viol{padding-left:20px;margin:4px 0} summary{cursor:pointer;color:var(--blue)} ul.viol li{margin:3px 0}
.note{color:var(--muted)}
.card{background:#fff;border:1px solid var(--line);border-radius:4px}
.legend{display:flex;flex-wrap:wrap;gap:6px 18px;margin:8px 0;font-size:13px}
.legend svg{vertical-align:middle;margin-right:4px}
.lanehead{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);z-index:2;display:block;width:100%;font-weight:600;font-size:13px}
svg{display:block;width:100%;height:auto}
.diagram text{font-size:10px;fill:var(--fg)}
.diagram .axis text{fill:var(--muted);font-size:10px}
.grid{stroke:#edf0f3;stroke-width:1}
.lane line{stroke:#718096;stroke-width:1.4}
.msg path{stroke:var(--blue);stroke-width:1.2;fill:none}
.msg.dup path{stroke:var(--purple);stroke-dasharray:5 3}
.ahead{fill:#4a5568}
.lbl{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.dense .lbl{display:none}
.drop path{stroke:var(--red);stroke-width:1.2;fill:none;stroke-dasharray:3 3}
.drop path.x{stroke-dasharray:none;stroke-width:2}
.why{fill:var(--red)!important}
.pending line{stroke:#a0aec0;stroke-dasharray:1 3}
.dupmark circle{fill:#fff;stroke:var(--purple);stroke-width:1.5}
.f-part rect,rect.f-part{fill:rgba(237,137,54,.17)} .f-part rect{stroke:rgba(221,107,32,.55);stroke-width:1}
.f-clog rect,rect.f-clog{fill:rgba(107,70,193,.13)} .f-clog rect{stroke:rgba(107,70,193,.45);stroke-width:1}
.f-crash rect{fill:rgba(45,55,72,.45)} rect.f-crash{fill:rgba(45,55,72,.16)}
.f-pause rect{fill:rgba(214,158,46,.5)} rect.f-pause{fill:rgba(214,158,46,.22)}
.f-link line{stroke:#718096;stroke-dasharray:6 3}
.bandlabel{font-weight:600;fill:#9c4221!important}
.f-clog .bandlabel{fill:var(--purple)!important}
.mark{font-weight:600;font-size:10px}
.restart path{fill:var(--green)}
.violation line{stroke:#e53e3e;stroke-width:2;stroke-dasharray:8 4}
.violation text{fill:#e53e3e!important;font-weight:700;font-size:12px!important;paint-order:stroke;stroke:#fff;stroke-width:3px}
.evidence{fill:none;stroke:#e53e3e;stroke-width:2.5}
.violation:target line{stroke-width:4}
.plots{display:grid;grid-template-columns:repeat(auto-fit,minmax(480px,1fr));gap:12px}
figure.plot{margin:0;background:#fff;border:1px solid var(--line);border-radius:4px;padding:4px}
.plot text{font-size:11px;fill:var(--fg)} .plot .ptitle{font-size:13px;font-weight:600} .plot .tick{fill:var(--muted)}
.axisline{stroke:#718096}
.series{fill:none;stroke-width:1.8}
.s1{stroke:var(--blue)} .s2{stroke:var(--orange)} .s3{stroke:var(--red)} .s4{stroke:var(--green)}
line.s1,line.s2,line.s3,line.s4{stroke-width:3}
.vline{stroke:#e53e3e;stroke-width:1.2;stroke-dasharray:4 3;opacity:.6}
.winmark{fill:#2d3748}
.linmark rect{fill:rgba(229,62,62,.3);stroke:#c53030;stroke-width:2}
.linmark text{fill:#c53030!important;font-weight:700;paint-order:stroke;stroke:#fff;stroke-width:3px}
.linmark:target rect{stroke-width:4}
label.tog{font-size:13px;margin-left:12px;color:var(--muted)}
"#;

const JS: &str = r#"
(function(){
  var d=document.getElementById('diagram');
  var box=document.getElementById('labels');
  if(d&&box){box.checked=!d.classList.contains('dense');
    box.addEventListener('change',function(){d.classList.toggle('dense',!box.checked);});}
  document.body.setAttribute('data-ready','1');
})();
"#;

fn legend() -> String {
    let item = |svg: &str, text: &str| {
        format!(
            r#"<span><svg width="34" height="14" viewBox="0 0 34 14" style="display:inline;width:34px">{svg}</svg>{text}</span>"#
        )
    };
    [
        item(
            r#"<g class="msg"><path d="M2,3 L30,11"/></g><path class="ahead" d="M30,11 l-6,-5 l0,6 z"/>"#,
            "message delivered (label: call / = reply)",
        ),
        item(r#"<g class="msg dup"><path d="M2,3 L30,11"/></g>"#, "duplicate copy"),
        item(
            r#"<g class="drop"><path d="M2,3 L24,9"/><path class="x" d="M22,5 l8,8 m0,-8 l-8,8"/></g>"#,
            "dropped (reason)",
        ),
        item(
            r#"<g class="dupmark"><circle cx="17" cy="7" r="4"/></g>"#,
            "duplicated by the network",
        ),
        item(
            r#"<g class="f-crash"><rect x="12" y="0" width="10" height="14"/></g>"#,
            "node down (crash)",
        ),
        item(
            r#"<g class="f-pause"><rect x="12" y="0" width="10" height="14"/></g>"#,
            "node paused",
        ),
        item(r#"<g class="restart"><path d="M17,1 l6,10 h-12 z"/></g>"#, "restart"),
        item(
            r#"<g class="f-part"><rect x="1" y="1" width="32" height="12"/></g>"#,
            "partition / block / isolation",
        ),
        item(
            r#"<g class="f-clog"><rect x="1" y="1" width="32" height="12"/></g>"#,
            "clog (held, late)",
        ),
        item(
            r#"<g class="violation"><line x1="1" x2="33" y1="7" y2="7"/></g>"#,
            "violation (also red lines in the plots)",
        ),
    ]
    .join("")
}

/// The whole page.
pub fn page(p: &PageInput<'_>) -> String {
    let r = p.report;
    let m = &r.messages;
    let c = p.collected;
    let mut s = String::with_capacity(64 * 1024);
    let (badge, verdict) = match r.verdict() {
        Status::Pass => ("pass", "all checks passed"),
        Status::Fail => ("fail", "checks failed"),
        Status::NotJudged => ("notjudged", "not judged"),
    };
    let _ = write!(
        s,
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>detsim report: {} seed {}</title><style>{CSS}{}</style></head><body><main>"#,
        esc(&r.scenario),
        r.seed,
        if p.evidence.is_empty() {
            ""
        } else {
            super::linearizability::TIMELINE_CSS
        }
    );
    let _ = write!(
        s,
        r#"<h1>{}<span class="badge {}">{}</span></h1><p class="desc">{}</p>"#,
        esc(&r.scenario),
        badge,
        verdict,
        esc(p.description)
    );
    let fact = |k: &str, v: String| format!(r#"<div><span>{k}</span>{v}</div>"#);
    let facts = [
        fact("seed", format!(r#"<span class="mono" id="seed">{}</span>"#, r.seed)),
        fact(
            "trace hash",
            format!(r#"<span class="mono" id="trace-hash">{}</span>"#, esc(&r.trace_hash)),
        ),
        fact(
            "virtual time",
            format!("{} ({:?})", short_time(r.sim_time_ns), r.outcome),
        ),
        fact("events", thousands(r.events)),
        fact(
            "messages",
            format!(
                "{} sent, {} delivered, {} dropped, {} duplicated",
                thousands(m.sent),
                thousands(m.delivered),
                thousands(m.dropped),
                thousands(m.duplicated)
            ),
        ),
        fact("faults", format!("{} (nemesis included)", r.faults.len())),
    ];
    let _ = write!(
        s,
        r#"<div class="facts">{}</div><p>Reproduce this run:</p><code class="cmd" id="command">{}</code>"#,
        facts.join(""),
        esc(p.command)
    );
    s.push_str("<h2>Checks</h2><table><tr><th>check</th><th>verdict</th><th>violations</th></tr>");
    for ch in &r.checks {
        let (class, word) = match ch.status {
            Status::Pass => ("ok", "pass"),
            Status::Fail => ("bad", "FAIL"),
            Status::NotJudged => ("nj", "NOT JUDGED"),
        };
        let why = ch
            .reason
            .as_deref()
            .map(|r| format!(r#"<br><span class="note">{}</span>"#, esc(r)))
            .unwrap_or_default();
        let _ = write!(
            s,
            r#"<tr data-check="{}"><td class="mono">{}</td><td class="{class}">{word}{why}</td><td>{}</td></tr>"#,
            esc(&ch.name),
            esc(&ch.name),
            ch.violations
        );
    }
    s.push_str("</table>");
    if !r.violations.is_empty() {
        s.push_str(r#"<h2>Violations</h2><ul class="viol">"#);
        for (i, v) in r.violations.iter().enumerate().take(200) {
            if i == 5 {
                let _ = write!(
                    s,
                    r#"</ul><details><summary>{} more violations</summary><ul class="viol">"#,
                    r.violations.len() - 5
                );
            }
            let place = if p.window.contains(v.at) {
                format!(
                    r##"<a href="#violation-{}">{} at {}</a>"##,
                    i + 1,
                    esc(v.check.as_str()),
                    short_time(v.at.0)
                )
            } else {
                format!(
                    r#"<span class="mono">{}</span> at {} <span class="note">(outside the diagram's window; see it with <code>--report-window</code>)</span>"#,
                    esc(v.check.as_str()),
                    short_time(v.at.0)
                )
            };
            let _ = write!(s, "<li>{place}: {}</li>", esc(&v.message));
        }
        if r.violations.len() > 200 {
            let _ = write!(s, "<li>… and {} more</li>", r.violations.len() - 200);
        }
        s.push_str(if r.violations.len() > 5 {
            "</ul></details>"
        } else {
            "</ul>"
        });
    }
    s.push_str(&section_html(p.evidence, p.names, p.marks));
    let drawn = c.messages.len() as u64;
    let why = if !p.default_window {
        "as asked with --report-window".to_string()
    } else if p.window.start.0 == 0 && p.window.end.0 >= r.sim_time_ns {
        "the whole run".to_string()
    } else if r.violations.is_empty() {
        "the start of the run; choose another part with --report-window A..B".to_string()
    } else {
        "around the first violation; choose another part with --report-window A..B".to_string()
    };
    let _ = write!(
        s,
        r#"<h2>Space-time diagram</h2><p id="window-note">Showing {}..{} ({why}): {} of {} {}{}. Hover an arrow for the whole message. <label class="tog"><input type="checkbox" id="labels" checked> labels</label></p><div class="legend">{}</div>"#,
        short_time(p.window.start.0),
        short_time(p.window.end.0),
        thousands(drawn),
        thousands(m.sent),
        if m.sent == 1 { "message" } else { "messages" },
        if c.sent_in_window > drawn {
            format!(
                " ({} more sent in this window are not drawn: narrow it)",
                thousands(c.sent_in_window - drawn)
            )
        } else {
            String::new()
        },
        legend()
    );
    let _ = write!(
        s,
        r#"<div class="card">{}{}</div>"#,
        lane_header(p.names),
        diagram(&DiagramInput {
            names: p.names,
            window: p.window,
            messages: &c.messages,
            spans: p.spans,
            restarts: &c.restarts,
            violations: &r.violations,
            marks: p.marks,
        })
    );
    let _ = write!(
        s,
        r#"<h2>Plots</h2><p class="note">Shaded: fault windows (same colours as the diagram). Red dashed: violations. Dark bar on the time axis: the diagram's window. {} of {}.</p><div class="plots">{}</div>"#,
        crate::plural::count(p.series.grid.len as u64, "interval"),
        short_time(p.series.grid.width),
        plots(
            p.series,
            &Context {
                spans: p.spans,
                violations: &r.violations,
                window: p.window,
            }
        )
    );
    if !p.spans.is_empty() {
        s.push_str("<h2>Faults</h2>");
        if p.faults_left_out > 0 {
            let _ = write!(
                s,
                r#"<p class="note" id="faults-left-out">{} more fault windows are not drawn (in the diagram, the plots or this table): a report draws at most {} (those in the diagram's window first). Every fault is in <code>--json</code>.</p>"#,
                thousands(p.faults_left_out as u64),
                thousands(super::faults::MAX_FAULTS_DRAWN as u64)
            );
        }
        s.push_str("<table><tr><th>fault</th><th>from</th><th>to</th></tr>");
        for sp in p.spans {
            let _ = write!(
                s,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&sp.label),
                short_time(sp.start.0),
                short_time(sp.end.0)
            );
        }
        s.push_str("</table>");
    }
    let _ = write!(
        s,
        r#"<p class="note">Written by detsim {}. Everything above is in this one file.</p></main><script>{JS}</script></body></html>"#,
        env!("CARGO_PKG_VERSION")
    );
    s
}
