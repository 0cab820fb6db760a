//! Running a scenario: build the simulation, feed the streaming metrics and the online
//! checks every observation as it is made (no history kept unless asked), run to the
//! end, take the checks' verdicts, and assemble the [`RunReport`]. Also the
//! determinism self-check, which runs twice and finds the first diverging trace event.

pub(crate) mod format;
pub(crate) mod memory;
pub(crate) mod report;
pub(crate) mod trace_json;

pub use memory::{available_bytes, bytes, default_max_memory, resident_bytes};
pub use report::{CheckResult, DropCounts, MessageCounts, RunReport, Status, hex};
pub use trace_json::JsonLines;

use std::cell::RefCell;
use std::fmt::Debug;
use std::io::Write;
use std::rc::Rc;

use crate::check::{CheckContext, CheckId};
use crate::engine::error::Error;
use crate::engine::fault::{MAX_PLANNED, MAX_PLANNED_GROUP_NODES};
use crate::engine::hash::{StableHash, StableHasher};
use crate::engine::node::NodeId;
use crate::engine::sim::Simulation;
use crate::engine::time::SimTime;
use crate::engine::trace::{TraceEvent, TraceSink};
use crate::plugin::{Check, Metrics, Observation, Payload, Protocols, WorkCx, judge};
use crate::run::trace_json::json_line;
use crate::scenario::Scenario;
use crate::scenario::build::{build, to_specs};

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

/// Run `s` (whose nodes are of `protocols`) with `seed`, streaming the trace to `trace`
/// as JSON lines when given.
pub fn run_scenario(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    trace: Option<Box<dyn Write>>,
) -> Result<RunReport, Error> {
    let sinks = json_sink(trace, s.limits.max_trace_bytes);
    run(protocols, s, seed, sinks, false, None, |_| ()).map(|(r, (), _)| r)
}

/// [`run_scenario`], also measuring the checks' memory: the most entries of state
/// ([`Check::retained`]) they held together, sampled every `every` observations and at
/// the end. Online checks hold live state only, so this stays flat as a run grows.
pub fn run_scenario_retained(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    every: u64,
) -> Result<(RunReport, usize), Error> {
    let peak = Rc::new(std::cell::Cell::new(0usize));
    let seen = peak.clone();
    let every = every.max(1);
    let mut n = 0u64;
    let sampler: Sampler = Box::new(move |checks: &[Box<dyn Check>], end: bool| {
        n += 1;
        if end || n.is_multiple_of(every) {
            let now: usize = checks.iter().map(|c| c.retained()).sum();
            seen.set(seen.get().max(now));
        }
    });
    let (r, (), _) = run(protocols, s, seed, Vec::new(), false, Some(sampler), |_| ())?;
    Ok((r, peak.get()))
}

/// Called after each observation with the checks (and once more at the end, `true`).
type Sampler = Box<dyn FnMut(&[Box<dyn Check>], bool)>;

/// What a run feeds each observation to: every protocol's metrics (by protocol name) and
/// checks.
type Judges = (Vec<(&'static str, Box<dyn Metrics>)>, Vec<Box<dyn Check>>);

/// The JSON-lines sink writing to `trace`, if there is one; the run stops (budget
/// exhausted) once it has written `max_bytes` (see [`JsonLines::with_max_bytes`]).
pub fn json_sink(trace: Option<Box<dyn Write>>, max_bytes: Option<u64>) -> Vec<Box<dyn TraceSink<Payload>>> {
    trace
        .map(|w| Box::new(JsonLines::new(w).with_max_bytes(max_bytes)) as Box<dyn TraceSink<Payload>>)
        .into_iter()
        .collect()
}

/// [`run_scenario`] with these trace sinks, also handing the finished simulation to
/// `inspect` (e.g. to read its history for a report) before it is dropped. The history
/// is kept for `inspect`; [`run_scenario`] keeps none (the checks and metrics see every
/// observation as it is made).
///
/// The metrics and checks are those of the protocols that have nodes in `s` (checks only
/// where the scenario's `checks.<protocol>` is not false), fed every observation as it is
/// made; each verdict and violation is filed under the id of the check that gave it.
pub fn run_scenario_with<T>(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    sinks: Vec<Box<dyn TraceSink<Payload>>>,
    inspect: impl FnOnce(&Simulation<Payload, Observation>) -> T,
) -> Result<(RunReport, T), Error> {
    run(protocols, s, seed, sinks, true, None, inspect).map(|(r, t, _)| (r, t))
}

/// A check's [`Evidence`](crate::linearizability::Evidence), with the id of the check
/// that gave it.
pub type CheckEvidence = (CheckId, crate::linearizability::Evidence);

/// [`run_scenario_with`], also returning the counterexamples the checks gave
/// ([`Check::evidence`]), in the order of the checks, for the HTML report.
pub fn run_scenario_with_evidence<T>(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    sinks: Vec<Box<dyn TraceSink<Payload>>>,
    inspect: impl FnOnce(&Simulation<Payload, Observation>) -> T,
) -> Result<(RunReport, T, Vec<CheckEvidence>), Error> {
    run(protocols, s, seed, sinks, true, None, inspect)
}

/// One run: with the history kept (for `inspect`) or not.
fn run<T>(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    sinks: Vec<Box<dyn TraceSink<Payload>>>,
    keep_history: bool,
    mut sampler: Option<Sampler>,
    inspect: impl FnOnce(&Simulation<Payload, Observation>) -> T,
) -> Result<(RunReport, T, Vec<CheckEvidence>), Error> {
    let mut built = build(s, seed)?;
    let sim = &mut built.sim;
    let mut judges: Judges = (Vec::new(), Vec::new());
    s.with_view(protocols, |view| {
        for p in s.active(protocols) {
            if let Some(m) = p.metrics(view) {
                judges.0.push((p.name(), m));
            }
            if s.checks.enabled(p.name()) {
                judges.1.extend(p.checks(view));
            }
        }
    });
    let judges = Rc::new(RefCell::new(judges));
    let feed = judges.clone();
    let sampler = Rc::new(RefCell::new(sampler.take()));
    let sample = sampler.clone();
    sim.history_mut().set_keep(keep_history);
    sim.history_mut().set_observer(Box::new(move |rec| {
        let (metrics, checks) = &mut *feed.borrow_mut();
        metrics.iter_mut().for_each(|(_, m)| m.observe(rec));
        checks.iter_mut().for_each(|c| c.observe(rec));
        if let Some(f) = &mut *sample.borrow_mut() {
            f(checks, false);
        }
    }));
    for sink in sinks {
        sim.add_trace_sink(sink);
    }
    if let Some(max) = s.limits.max_memory {
        sim.set_watchdog(memory_watchdog(max, work_at_start(s)));
    }
    let outcome = sim.run()?;
    let mut warnings: Vec<String> = sim
        .nemesis_cut_at()
        .map(|t| nemesis_cut_warning(t, sim.nemesis_cut_by().unwrap_or("windows"), s))
        .into_iter()
        .collect();
    let budget_exhausted = sim.budget_exhausted().cloned();
    if let Some(e) = &budget_exhausted {
        warnings.push(budget_warning(e, sim.now()));
    }
    let realized = sim.realized_faults().to_vec();
    let mut ctx = CheckContext::after(sim);
    let settings = s.checks.settings(protocols);
    ctx.liveness = settings.get(crate::check::LIVENESS_KEY);
    for n in &s.nodes {
        if let Some(node) = sim.node_id(&n.id) {
            ctx.sources.extend(n.config.expected_work(&WorkCx {
                node,
                settings: &settings,
            }));
        }
    }
    let (metrics, verdicts, evidence) = {
        let (metrics, checks) = &mut *judges.borrow_mut();
        if let Some(f) = &mut *sampler.borrow_mut() {
            f(checks, true);
        }
        let end = sim.now();
        let m: serde_json::Map<String, serde_json::Value> = metrics
            .iter()
            .map(|(name, m)| (name.to_string(), m.finish(end)))
            .collect();
        let verdicts = judge(checks, &ctx);
        let evidence: Vec<CheckEvidence> = checks
            .iter()
            .filter_map(|c| c.evidence().map(|e| (c.id(), e)))
            .collect();
        (serde_json::Value::Object(m), verdicts, evidence)
    };
    let checks: Vec<CheckResult> = verdicts.iter().map(CheckResult::of).collect();
    if checks.is_empty() {
        warnings.push(NO_CHECK.to_string());
    }
    // Each check's first MAX_VIOLATIONS_KEPT violations (by time) are kept; the rest are
    // counted (in its CheckResult) and named in a warning.
    let mut violations: Vec<_> = Vec::new();
    for mut v in verdicts {
        if v.violations.len() > MAX_VIOLATIONS_KEPT {
            warnings.push(format!(
                "{}: {} violations, the first {MAX_VIOLATIONS_KEPT} kept in this report",
                v.check,
                v.violations.len()
            ));
            v.violations.truncate(MAX_VIOLATIONS_KEPT);
        }
        violations.append(&mut v.violations);
    }
    // By time, then check id: the first violation (the one a FAILURE file is named for)
    // does not depend on the order the protocols were registered in.
    violations.sort_by_key(|v| (v.at, v.check));
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
        heal_at_ns: ctx.healed_at().map(|t| t.as_nanos()),
        unhealed: ctx.unhealed.clone(),
        checks,
        violations,
        metrics,
        warnings,
        budget_exhausted,
        buggify: sim.buggify_points(),
    };
    Ok((report, inspected, evidence))
}

/// The most violations of one check a report keeps (the first, by time); its
/// [`CheckResult`] counts them all.
pub const MAX_VIOLATIONS_KEPT: usize = 1_000;

/// The warning of a run in which no check ran; such a run is not judged, never passed
/// ([`RunReport::verdict`]).
pub const NO_CHECK: &str = "no check ran (every check is switched off in the `checks` section, or none of the \
     scenario's protocols has checks): nothing was judged";

/// The warning of a run whose nemesis plan was cut at `t` by the cap `by` (see
/// [`crate::engine::fault::NemesisPlan`]): every fault kind is planned up to `t`, none
/// after.
pub fn nemesis_cut_warning(t: SimTime, by: &str, s: &Scenario) -> String {
    let stop = s.nemesis.as_ref().map_or(t, |n| n.stop);
    let cap = match by {
        "group_nodes" => format!(
            "at most {MAX_PLANNED_GROUP_NODES} nodes in all in the groups of its partitions (each split holds every target)"
        ),
        "arrivals" => "at most 200000 arrivals drawn per fault kind".to_string(),
        _ => format!("at most {MAX_PLANNED} fault windows per run, scheduled faults included"),
    };
    format!(
        "the nemesis plan was cut at {t} (it runs until {stop}): {cap}; every fault kind is planned up to {t}, \
         no nemesis fault starts at or after {t}"
    )
}

/// The fault points of a run in a line: `rpc.slow_reply fired 3 of 40; pool.refuse_job
/// inactive (reached 12)`, or `no point reached`.
pub fn buggify_summary(points: &[crate::engine::buggify::BuggifyPoint]) -> String {
    if points.is_empty() {
        return "no point reached".into();
    }
    points
        .iter()
        .map(|p| {
            if p.active {
                format!("{} fired {} of {}", p.name, p.fired, p.reached)
            } else {
                format!("{} inactive (reached {})", p.name, p.reached)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The warning of a run a budget stopped at `at`.
pub fn budget_warning(e: &crate::engine::budget::Exhausted, at: SimTime) -> String {
    format!(
        "budget exhausted ({}): {}; the run stopped at {at}, before its end, and is not judged past there{}",
        e.budget,
        e.detail,
        if e.deterministic {
            ""
        } else {
            " (a measurement, not deterministic: the same seed may stop elsewhere, or not at all)"
        }
    )
}

/// The memory budget's safety net: every [`crate::scenario::RSS_EVERY`] events, the
/// process's resident memory against `max` bytes; before the first event, `at_start`
/// (the counted work made at once at the start, when it is over its budget).
fn memory_watchdog(
    max: u64,
    mut at_start: Option<crate::engine::budget::Exhausted>,
) -> crate::engine::budget::Watchdog {
    Box::new(move |events| {
        // Asked before the first event: work made all at once at the start (a batch) is
        // counted before it is made, since nothing can stop the event that makes it.
        if events == 0 {
            return at_start.take();
        }
        // Not before the run's first events: what the process holds then is not the run's.
        if !events.is_multiple_of(crate::scenario::RSS_EVERY) {
            return None;
        }
        let rss = resident_bytes()?;
        (rss > max).then(|| crate::engine::budget::Exhausted {
            budget: "memory",
            detail: format!(
                "the process's resident memory was {} after {events} events, over the memory budget of {} (--max-memory)",
                bytes(rss),
                bytes(max)
            ),
            deterministic: false,
        })
    })
}

/// The counted memory budget of the work the nodes make all at once when they start (a
/// batch's jobs), if it is over: deterministic, and stopping the run before its first
/// event.
fn work_at_start(s: &Scenario) -> Option<crate::engine::budget::Exhausted> {
    let most = s.limits.max_work_at_start()?;
    let items: u64 = s.nodes.iter().map(|n| n.config.work_at_start()).sum();
    (items > most).then(|| {
        let per = crate::scenario::budgets::BYTES_PER_START_ITEM;
        crate::engine::budget::Exhausted {
            budget: "memory",
            detail: format!(
                "{items} items of work (a batch's jobs) are made at once at the start, counted at {per} B each \
                 ({}): over half the run's share of the memory budget ({}, --max-memory); make the batch \
                 smaller or raise the budget",
                bytes(items.saturating_mul(per)),
                bytes(most * per)
            ),
            deterministic: true,
        }
    })
}

/// Where two runs of the same scenario and seed first differ.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Divergence {
    /// Index (from 0) of the first trace event that differs.
    pub index: u64,
    /// That event in the first run (JSON); `None` if the first run ended before it (or
    /// its trace was longer than the 256 MiB kept to show it).
    pub first: Option<String>,
    /// That event in the second run (JSON), or `None` if the second run ended before it.
    pub second: Option<String>,
}

/// Most bytes of the first run's trace kept verbatim to show a divergence (beyond it,
/// only event hashes are kept and the first run's event is not shown).
const MAX_KEPT_BYTES: usize = 256 << 20;

/// The first run's events (hashes, and JSON lines up to a budget), or the second run's
/// comparison against them.
#[derive(Default)]
struct Lines {
    hashes: Vec<u64>,
    text: Vec<String>,
    kept_bytes: usize,
    /// Second run: the first event that differs, with its index.
    diverged: Option<(u64, String)>,
    seen: u64,
}

/// A trace sink that hashes each event (its time and canonical encoding, as the trace
/// hash folds it) and records it, or compares it with the first run's.
struct Probe {
    lines: Rc<RefCell<Lines>>,
    against: Option<Rc<RefCell<Lines>>>,
    names: Vec<String>,
}

impl<M: StableHash + Debug> TraceSink<M> for Probe {
    fn node_added(&mut self, id: NodeId, name: &str) {
        let i = id.0 as usize;
        if self.names.len() <= i {
            self.names.resize(i + 1, String::new());
        }
        self.names[i] = name.to_string();
    }

    fn event(&mut self, at: SimTime, ev: &TraceEvent<'_, M>) {
        let mut h = StableHasher::new();
        h.word(at.as_nanos());
        ev.hash_into(&mut h);
        let hash = h.finish();
        let mut me = self.lines.borrow_mut();
        match &self.against {
            None => {
                me.hashes.push(hash);
                if me.kept_bytes < MAX_KEPT_BYTES {
                    let line = json_line(at, ev, &self.names);
                    if me.kept_bytes + line.len() < MAX_KEPT_BYTES {
                        me.kept_bytes += line.len() + 1;
                        me.text.push(line);
                    } else {
                        me.kept_bytes = MAX_KEPT_BYTES;
                    }
                }
            }
            Some(first) => {
                let i = me.seen;
                me.seen += 1;
                if me.diverged.is_none() && first.borrow().hashes.get(i as usize) != Some(&hash) {
                    me.diverged = Some((i, json_line(at, ev, &self.names)));
                }
            }
        }
    }
}

/// Run `run` twice, each time with a trace sink to attach, and compare the traces event
/// by event. Returns the first run's result, and where the runs first diverge, if they do.
pub fn first_divergence<M: StableHash + Debug + 'static, T>(
    mut run: impl FnMut(Box<dyn TraceSink<M>>) -> Result<T, Error>,
) -> Result<(T, Option<Divergence>), Error> {
    let first = Rc::new(RefCell::new(Lines::default()));
    let result = run(Box::new(Probe {
        lines: first.clone(),
        against: None,
        names: Vec::new(),
    }))?;
    let second = Rc::new(RefCell::new(Lines::default()));
    run(Box::new(Probe {
        lines: second.clone(),
        against: Some(first.clone()),
        names: Vec::new(),
    }))?;
    let (first, second) = (first.borrow(), second.borrow());
    let diverged = match &second.diverged {
        Some((i, line)) => Some((*i, Some(line.clone()))),
        None if second.seen < first.hashes.len() as u64 => Some((second.seen, None)),
        None => None,
    };
    Ok((
        result,
        diverged.map(|(index, line)| Divergence {
            index,
            first: first.text.get(index as usize).cloned(),
            second: line,
        }),
    ))
}

/// Run `s` twice with `seed`; the report of the first run, and where the runs first
/// diverge if they do.
pub fn check_determinism(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
) -> Result<(RunReport, Option<Divergence>), Error> {
    first_divergence(|sink| run(protocols, s, seed, vec![sink], false, None, |_| ()).map(|(r, (), _)| r))
}
