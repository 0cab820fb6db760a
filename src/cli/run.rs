//! `detsim run` and `detsim validate`: run one scenario and print its summary or JSON
//! report; check scenario files and report every problem.

use crate::plugin::Protocols;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::explore::{Input, load_input};
use crate::plural::count;
use crate::report::html::Window;
use crate::run::report::RunReport;
use crate::run::{check_determinism, effective_seed, run_scenario};
use crate::scenario::RunLimits;
use clap::Args;

use super::budget::{MemoryArg, parse_size, run_exit_code};
use super::{bad_input, load_input_or_exit, print_summary, write_report};

/// `detsim run --help`: what the run prints and what each metric means (the same text as
/// the "Metrics" section of docs/scenario-format.md).
pub const LONG_ABOUT: &str = "\
Run one scenario and report what happened: the seed, the trace hash, counts of events,
messages and faults, each check's verdict, each violation, and the metrics.

Given a FAILURE file (written by `detsim explore`), run its scenario (the realized
faults as an explicit schedule) at its recorded seed; `detsim replay` also compares the
result with what the file recorded.

Metrics (all times are virtual time; --json has every figure):
  rpc.latency      an ok call's reply received at the client minus when the client
                   invoked it: every attempt, timeout and backoff included. Calls that
                   failed are counted in `failed`, not in the latency.
  pool.waiting     a job's submission (when it entered the dispatcher's queue) to its
                   FIRST assignment (when the dispatcher sent it to a worker), measured
                   at the dispatcher: no network leg, and a reassignment after an
                   expired lease does not count again.
  pool.sojourn     a job's submission to the dispatcher's acceptance of its first
                   result, measured at the dispatcher: waiting, both network legs
                   (dispatcher->worker, worker->dispatcher) and the service time. A
                   pool_client's own legs to and from the dispatcher are not included.
  pool.utilisation busy slot-time over available slot-time, summed over the workers
                   (each worker's own figure is in pool.workers): busy = the service
                   times of the jobs a worker completed (work lost in a crash is not
                   counted); available = slots x (end of the run - when the worker
                   first came up), downtime included.
  pool.throughput_per_s  accepted jobs per simulated second over the whole run.
  pool.mean_queue_len    the time-averaged number of jobs waiting in the dispatcher's
                   queue (not those out at workers).
  Quantiles (p50, p90, p99) come from HDR histograms with 3 significant figures: each
  is within 0.1% of the exact value and never above the exact maximum. Counts, means
  and maxima are exact.";

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file, or a FAILURE file (its scenario runs at its recorded seed).
    scenario: PathBuf,
    /// Use this seed instead of the scenario's or the FAILURE file's (DETSIM_SEED does the same).
    #[arg(long)]
    seed: Option<u64>,
    /// Print one JSON object (the report) instead of a summary.
    #[arg(long)]
    json: bool,
    /// Stream every trace event to this file as JSON lines.
    #[arg(long, value_name = "FILE.jsonl")]
    trace: Option<PathBuf>,
    /// Run twice and report the first event where the traces diverge, if they do.
    #[arg(long)]
    check_determinism: bool,
    /// Write a self-contained HTML report (space-time diagram, plots) to this file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// The diagram's time window (default: around the first violation, or the start).
    #[arg(long, value_name = "A..B", requires = "report")]
    report_window: Option<Window>,
    #[command(flatten)]
    memory: MemoryArg,
    /// The trace's budget, e.g. 100MiB: the run stops (budget exhausted, exit 4) within
    /// 4,096 events of the trace reaching it; the trace holds every event up to the stop.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, requires = "trace")]
    max_trace_bytes: Option<u64>,
}

pub fn run(p: &Protocols, a: RunArgs) -> anyhow::Result<ExitCode> {
    let outputs: Vec<(&str, &std::path::Path)> = [("--trace", &a.trace), ("--report", &a.report)]
        .into_iter()
        .filter_map(|(what, p)| p.as_deref().map(|p| (what, p)))
        .collect();
    super::files::refuse_overwriting_inputs(&[("scenario", &a.scenario)], &outputs)?;
    let input = match load_input_or_exit(p, &a.scenario) {
        Ok(i) => i,
        Err(code) => return Ok(code),
    };
    let mut scenario = input.scenario().clone();
    scenario.limits = RunLimits {
        max_trace_bytes: a.max_trace_bytes,
        ..a.memory.limits(1)
    };
    let scenario = &scenario;
    let env = std::env::var("DETSIM_SEED").ok();
    let seed = effective_seed(scenario, a.seed, env.as_deref())?;
    if let Input::Failure(f) = &input {
        // On stderr: stdout may be JSON.
        if seed == f.seed {
            eprintln!("FAILURE file: running its scenario at seed {seed}");
        } else {
            eprintln!(
                "FAILURE file: running its scenario at seed {seed} (given instead of the recorded seed {})",
                f.seed
            );
        }
    }
    let report: RunReport = if a.check_determinism {
        let (report, divergence) = check_determinism(p, scenario, seed)?;
        match divergence {
            None => eprintln!("determinism: two runs agree (trace hash {})", report.trace_hash),
            Some(d) => {
                eprintln!("determinism: runs diverge at trace event #{}", d.index);
                eprintln!("  first run:  {}", d.first.as_deref().unwrap_or("(ended)"));
                eprintln!("  second run: {}", d.second.as_deref().unwrap_or("(ended)"));
                return Ok(ExitCode::from(1));
            }
        }
        report
    } else {
        // The trace is written beside its destination and takes its name once the run
        // is over: an interrupted run leaves no cut-off trace.
        let pending = a.trace.as_deref().map(super::files::Pending::create).transpose()?;
        let trace: Option<Box<dyn std::io::Write>> = match &pending {
            Some(file) => Some(Box::new(std::io::BufWriter::new(file.file()?))),
            None => None,
        };
        // A failed trace write names the file.
        let named = |e: crate::engine::error::Error| match (&e, &a.trace) {
            (crate::engine::error::Error::Io(m), Some(t)) => anyhow::anyhow!("cannot write {}: {m}", t.display()),
            _ => anyhow::Error::from(e),
        };
        let report = match &a.report {
            Some(path) => {
                let cmd = format!("{} run {} --seed {seed}", super::program(), a.scenario.display());
                let out = crate::report::html::run_with_report(p, scenario, seed, trace, a.report_window, &cmd)
                    .map_err(named)?;
                write_report(path, &out)?;
                out.report
            }
            None => run_scenario(p, scenario, seed, trace).map_err(named)?,
        };
        if let Some(file) = pending {
            file.commit()?;
        }
        report
    };
    for w in &report.warnings {
        eprintln!("warning: {w}"); // on stderr: stdout may be JSON
    }
    let cmd = format!("{} run {} --seed {seed}", super::program(), a.scenario.display());
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(p, &report, &cmd);
    }
    Ok(run_exit_code(&report))
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Scenario files (or FAILURE files: their scenarios) to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn validate(p: &Protocols, a: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut bad = 0;
    for f in &a.files {
        match load_input(p, f) {
            Ok(input) => {
                let s = input.scenario();
                let what = match &input {
                    Input::Scenario(_) => String::new(),
                    Input::Failure(ff) => {
                        format!("FAILURE file of {} at seed {}; its scenario has ", ff.check, ff.seed)
                    }
                };
                println!(
                    "{}: ok ({what}{}, {}, duration {})",
                    f.display(),
                    count(s.nodes.len() as u64, "node"),
                    count(s.faults.len() as u64, "fault"),
                    s.duration
                );
            }
            Err(errs) => {
                bad += 1;
                let _ = bad_input(errs);
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
