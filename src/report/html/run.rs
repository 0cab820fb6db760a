//! Running a scenario for its HTML report: the run with a trace collector attached, the
//! default window chosen from what the run showed (around the first violation, or the
//! start), and, when that window was not known in advance, a second run of the same
//! scenario and seed (deterministic, so the same run) to collect the window's messages.

use crate::plugin::Protocols;
use std::io::Write;

use super::collect::TraceCollector;
use super::evidence::{focus, marks};
use super::faults::{drawn, spans};
use super::page::{PageInput, page};
use super::series;
use super::window::{Window, default_window};
use crate::engine::error::Error;
use crate::engine::time::SimTime;
use crate::run::report::RunReport;
use crate::run::{json_sink, run_scenario_with, run_scenario_with_evidence};
use crate::scenario::Scenario;

/// The default window holds about this many messages at most.
pub const DEFAULT_BUDGET: u64 = 1_500;

/// A run and its report page.
#[derive(Clone, Debug)]
pub struct HtmlReport {
    /// The run's report (the same as without `--report`).
    pub report: RunReport,
    /// The page.
    pub html: String,
    /// The diagram's window.
    pub window: Window,
    /// Messages drawn in the diagram.
    pub drawn: usize,
}

/// Run `s` with `seed` and render its report. `trace` also gets the JSON-lines trace;
/// `window` fixes the diagram's window (default: around the first violation, or the
/// start; a window that starts after the end of the run is an error); `command` is the
/// command line shown as the way to reproduce the run.
pub fn run_with_report(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    trace: Option<Box<dyn Write>>,
    window: Option<Window>,
    command: &str,
) -> Result<HtmlReport, Error> {
    let (collector, cell) = TraceCollector::new(window, protocols);
    let mut sinks = json_sink(trace, s.limits.max_trace_bytes);
    sinks.push(Box::new(collector));
    let (report, (names, plot), evidence) = run_scenario_with_evidence(protocols, s, seed, sinks, |sim| {
        let c = cell.borrow();
        let plot = series::build(
            protocols,
            s,
            sim.history().records(),
            sim.now(),
            &c.delivered,
            &c.dropped,
        );
        (sim.node_names().to_vec(), plot)
    })?;
    let mut collected = cell.replace(Default::default());
    let end = SimTime(report.sim_time_ns);
    let (win, default) = match window {
        // A window after the run would draw an empty diagram: say so instead.
        Some(w) if w.start > end => {
            return Err(Error::InvalidParameter(format!(
                "report window {w} starts after the end of the run (it ran to {end}); choose a window within 0..{end}"
            )));
        }
        Some(w) => (w, false),
        None => {
            let first = report.violations.first().map(|v| v.at);
            let mut w = default_window(&collected.sends, end, first, DEFAULT_BUDGET);
            // A counterexample's operation that cannot be placed is in view, call to return.
            if let Some((call, ret)) = focus(&evidence) {
                w.start = w.start.min(call);
                w.end = w.end.max(ret.min(end));
            }
            let (collector, cell) = TraceCollector::new(Some(w), protocols);
            let (again, ()) = run_scenario_with(protocols, s, seed, vec![Box::new(collector)], |_| ())?;
            if again.trace_hash != report.trace_hash {
                return Err(Error::InvalidParameter(format!(
                    "the second run for the report diverged (trace hash {} then {}): the scenario is not deterministic",
                    report.trace_hash, again.trace_hash
                )));
            }
            collected = cell.replace(Default::default());
            (w, true)
        }
    };
    let (spans, faults_left_out) = drawn(spans(&collected.faults, end, &names), (win.start, win.end));
    let html = page(&PageInput {
        description: &s.description,
        report: &report,
        command,
        names: &names,
        collected: &collected,
        window: win,
        default_window: default,
        spans: &spans,
        faults_left_out,
        series: &plot,
        evidence: &evidence,
        marks: &marks(&evidence, win),
    });
    Ok(HtmlReport {
        drawn: collected.messages.len(),
        report,
        html,
        window: win,
    })
}
