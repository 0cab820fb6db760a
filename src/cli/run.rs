//! `detsim run` and `detsim validate`: run one scenario and print its summary or JSON
//! report; check scenario files and report every problem.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use detsim::html::Window;
use detsim::plural::count;
use detsim::report::RunReport;
use detsim::runner::{check_determinism, effective_seed, run_scenario};
use detsim::scenario::load_scenario;

use super::{finding, load_or_exit, print_summary, write_report};

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Use this seed instead of the scenario's (DETSIM_SEED does the same).
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
}

pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = match load_or_exit(&a.scenario) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let env = std::env::var("DETSIM_SEED").ok();
    let seed = effective_seed(&scenario, a.seed, env.as_deref())?;
    let report: RunReport = if a.check_determinism {
        let (report, divergence) = check_determinism(&scenario, seed)?;
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
        let trace: Option<Box<dyn std::io::Write>> = match &a.trace {
            Some(p) => {
                let f = std::fs::File::create(p)
                    .map_err(|e| anyhow::anyhow!("cannot create trace file {}: {e}", p.display()))?;
                Some(Box::new(std::io::BufWriter::new(f)))
            }
            None => None,
        };
        match &a.report {
            Some(path) => {
                let cmd = format!("detsim run {} --seed {seed}", a.scenario.display());
                let out = detsim::html::run_with_report(&scenario, seed, trace, a.report_window, &cmd)?;
                write_report(path, &out)?;
                out.report
            }
            None => run_scenario(&scenario, seed, trace)?,
        }
    };
    let cmd = format!("detsim run {} --seed {seed}", a.scenario.display());
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_summary(&report, &cmd);
    }
    Ok(finding(&report))
}

#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

pub fn validate(a: ValidateArgs) -> anyhow::Result<ExitCode> {
    let mut bad = 0;
    for f in &a.files {
        match load_scenario(f) {
            Ok(s) => println!(
                "{}: ok ({}, {}, duration {})",
                f.display(),
                count(s.nodes.len() as u64, "node"),
                count(s.faults.len() as u64, "fault"),
                s.duration
            ),
            Err(errs) => {
                bad += 1;
                for e in errs.0 {
                    eprintln!("error: {e}");
                }
            }
        }
    }
    Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
}
