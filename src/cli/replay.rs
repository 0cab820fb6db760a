//! `detsim replay`: re-run a FAILURE file and say whether the same violation and the same
//! trace hash came back, and, when the violation did not, what the re-run's verdict was
//! (its exit code: another check may fail, or not be judged).

use crate::plugin::Protocols;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::explore::{judge, replay};
use crate::report::html::Window;
use clap::Args;

use crate::run::report::Status;

use super::budget::{MemoryArg, run_exit_code};
use super::{load_failure_or_exit, print_summary, write_report};

#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// The FAILURE file written by `explore`.
    failure: PathBuf,
    /// Print one JSON object instead of a summary.
    #[arg(long)]
    json: bool,
    /// Write a self-contained HTML report (space-time diagram, plots) to this file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// The diagram's time window (default: around the first violation, or the start).
    #[arg(long, value_name = "A..B", requires = "report")]
    report_window: Option<Window>,
    #[command(flatten)]
    memory: MemoryArg,
}

pub fn run(p: &Protocols, a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let name = a.failure.display().to_string();
    if let Some(report) = &a.report {
        super::files::refuse_overwriting_inputs(&[("FAILURE file", &a.failure)], &[("--report", report)])?;
    }
    let mut f = match load_failure_or_exit(p, &a.failure) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    a.memory.apply(&mut f.scenario, 1);
    let out = match &a.report {
        Some(path) => {
            let cmd = format!("{} replay {name}", super::program());
            let html = crate::report::html::run_with_report(p, &f.scenario, f.seed, None, a.report_window, &cmd)?;
            write_report(path, &html)?;
            judge(&f, html.report)
        }
        None => replay(p, &f)?,
    };
    let verdict = out.report.verdict();
    if let Some(e) = &out.report.budget_exhausted {
        eprintln!(
            "warning: {}",
            crate::run::budget_warning(e, crate::SimTime(out.report.sim_time_ns))
        );
    }
    let failed = out.report.checks_with(Status::Fail);
    if a.json {
        let v = serde_json::json!({
            "failure": name,
            "check": f.check,
            "expected_trace_hash": f.trace_hash,
            "same_violation": out.same_violation,
            "same_hash": out.same_hash,
            "status": verdict,
            "failed_checks": failed,
            "report": out.report,
        });
        println!("{v}");
    } else {
        print_summary(p, &out.report, &format!("{} replay {name}", super::program()));
        println!(
            "replay: violation of {} {}; trace hash {} ({} recorded)",
            f.check,
            if out.same_violation {
                "came back"
            } else {
                "did NOT come back"
            },
            if out.same_hash { "matches" } else { "DIFFERS" },
            f.trace_hash
        );
        if !out.same_violation {
            match verdict {
                Status::Fail => println!("replay: but another check failed: {}", failed.join(", ")),
                Status::NotJudged => println!(
                    "replay: but not every check could be judged: {}",
                    out.report.checks_with(Status::NotJudged).join(", ")
                ),
                Status::Pass => println!("replay: every check passed"),
            }
        }
    }
    // The re-run's own verdict, never whether the recorded check matched: 1 whenever a
    // check failed (the recorded one or another), 4 a budget stopped it, 3 some check
    // could not be judged, 0 every check passed. (The recorded check came back only if it
    // failed, so that is 1.)
    debug_assert!(!out.same_violation || verdict == Status::Fail);
    Ok(run_exit_code(&out.report))
}
