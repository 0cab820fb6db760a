//! Running a scenario: build the simulation, attach the streaming metrics, run to the end,
//! judge the history with the scenario's checks, and assemble the [`RunReport`]. Also the
//! determinism self-check, which runs twice and finds the first diverging trace event.

use std::io::Write;

use crate::check::CheckContext;
use crate::error::Error;
use crate::hash::StableHasher;
use crate::protocols::{Msg, Obs};
use crate::report::{CheckResult, MessageCounts, RunReport, Status, hex};
use crate::scenario::build::{build, to_specs};
use crate::scenario::{Scenario, nodes};
use crate::sim::Simulation;

/// The seed a run uses: an explicit one, else `DETSIM_SEED`, else the scenario's.
pub fn effective_seed(s: &Scenario, explicit: Option<u64>, env: Option<&str>) -> Result<u64, Error> {
    if let Some(seed) = explicit {
        return Ok(seed);
    }
    match env {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| Error::InvalidParameter(format!("DETSIM_SEED={v:?} is not a u64 seed"))),
        None => Ok(s.seed),
    }
}

/// Run `s` with `seed`, streaming the trace to `trace` when given.
pub fn run_scenario(s: &Scenario, seed: u64, trace: Option<Box<dyn Write>>) -> Result<RunReport, Error> {
    run_scenario_with(s, seed, trace, |_| ()).map(|(r, ())| r)
}

/// [`run_scenario`], also handing the finished simulation to `inspect` (e.g. to read its
/// history for a report) before it is dropped.
pub fn run_scenario_with<T>(
    s: &Scenario,
    seed: u64,
    trace: Option<Box<dyn Write>>,
    inspect: impl FnOnce(&Simulation<Msg, Obs>) -> T,
) -> Result<(RunReport, T), Error> {
    let mut built = build(s, seed)?;
    let sim = &mut built.sim;
    let metrics = nodes::attach_metrics(sim, s);
    if let Some(w) = trace {
        sim.set_trace_writer(w);
    }
    let outcome = sim.run()?;
    let realized = sim.realized_faults().to_vec();
    let ctx = CheckContext::after(sim);
    let heal_at = ctx.heal_at;
    let verdicts = nodes::run_checks(s, sim.history().records(), &ctx);
    let mut checks = Vec::new();
    let mut violations = Vec::new();
    for (name, found) in verdicts {
        checks.push(CheckResult {
            name: name.to_string(),
            status: if found.is_empty() { Status::Pass } else { Status::Fail },
            violations: found.len(),
        });
        violations.extend(found);
    }
    violations.sort_by_key(|v| v.at);
    let inspected = inspect(sim);
    let report = RunReport {
        scenario: s.name.clone(),
        seed,
        nodes: sim.node_names().to_vec(),
        trace_hash: hex(sim.trace_hash()),
        sim_time_ns: sim.now().as_nanos(),
        events: sim.stats().events,
        trace_events: sim.trace_events(),
        outcome,
        messages: MessageCounts::from(sim.stats()),
        faults: to_specs(&realized, sim.node_names()),
        heal_at_ns: heal_at.as_nanos(),
        checks,
        violations,
        metrics: metrics.finish(sim.now()),
    };
    Ok((report, inspected))
}

/// Where two runs of the same scenario and seed first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index (from 0) of the first trace event that differs.
    pub index: u64,
    /// That event in the first run (JSON), or `None` if the first run ended before it.
    pub first: Option<String>,
    /// That event in the second run (JSON), or `None` if the second run ended before it.
    pub second: Option<String>,
}

/// Hashes each trace line; keeps line `keep` verbatim.
struct LineProbe {
    hashes: std::rc::Rc<std::cell::RefCell<(Vec<u64>, Option<String>)>>,
    keep: Option<u64>,
    buf: Vec<u8>,
}

impl Write for LineProbe {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.buf.drain(..=pos).collect();
            let mut h = StableHasher::new();
            h.bytes(&line);
            let mut st = self.hashes.borrow_mut();
            if self.keep == Some(st.0.len() as u64) {
                st.1 = Some(String::from_utf8_lossy(&line).trim_end().to_string());
            }
            st.0.push(h.finish());
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn probed_run(s: &Scenario, seed: u64, keep: Option<u64>) -> Result<(RunReport, Vec<u64>, Option<String>), Error> {
    let cell = std::rc::Rc::new(std::cell::RefCell::new((Vec::new(), None)));
    let probe = LineProbe {
        hashes: cell.clone(),
        keep,
        buf: Vec::new(),
    };
    let report = run_scenario(s, seed, Some(Box::new(probe)))?;
    let (hashes, line) = cell.replace((Vec::new(), None));
    Ok((report, hashes, line))
}

/// Run twice; `Ok(None)` when the runs agree, else where they first diverge.
pub fn check_determinism(s: &Scenario, seed: u64) -> Result<(RunReport, Option<Divergence>), Error> {
    let (first, a, _) = probed_run(s, seed, None)?;
    let (second, b, _) = probed_run(s, seed, None)?;
    if first.trace_hash == second.trace_hash && a == b {
        return Ok((first, None));
    }
    let index = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len())) as u64;
    let (_, _, line_a) = probed_run(s, seed, Some(index))?;
    let (_, _, line_b) = probed_run(s, seed, Some(index))?;
    Ok((
        first,
        Some(Divergence {
            index,
            first: line_a,
            second: line_b,
        }),
    ))
}
