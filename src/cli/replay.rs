//! `detsim replay`: re-run a FAILURE file and say whether the same violation and the same
//! trace hash came back.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use detsim::explore::{judge, replay};
use detsim::html::Window;

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
}

pub fn run(a: ReplayArgs) -> anyhow::Result<ExitCode> {
    let name = a.failure.display().to_string();
    let f = match load_failure_or_exit(&a.failure) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let out = match &a.report {
        Some(path) => {
            let cmd = format!("detsim replay {name}");
            let html = detsim::html::run_with_report(&f.scenario, f.seed, None, a.report_window, &cmd)?;
            write_report(path, &html)?;
            judge(&f, html.report)
        }
        None => replay(&f)?,
    };
    if a.json {
        let v = serde_json::json!({
            "failure": name,
            "check": f.check,
            "expected_trace_hash": f.trace_hash,
            "same_violation": out.same_violation,
            "same_hash": out.same_hash,
            "report": out.report,
        });
        println!("{v}");
    } else {
        print_summary(&out.report, &format!("detsim replay {name}"));
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
    }
    Ok(if out.same_violation {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
