//! `detsim shrink`: delta-debug a FAILURE file written by `explore` down to a smaller
//! scenario that still fails the same check with the same seed, write it, and print the
//! sizes before and after. Exit 0: wrote the shrunk failure; 1: the failure did not
//! reproduce; 2: bad input.

use crate::plugin::Protocols;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::explore::shrink::{ShrinkError, ShrinkOptions, shrink_failure};
use crate::plural::count;
use clap::Args;

use super::load_failure_or_exit;

#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// The FAILURE file written by `explore`.
    failure: PathBuf,
    /// Where to write the result (default: FAILURE.shrunk.json next to the input).
    #[arg(short = 'o', long = "out", value_name = "OUT.json")]
    out: Option<PathBuf>,
    /// Write a plain scenario file (its seed is the failing seed; `detsim run` reads it)
    /// instead of a FAILURE file (`detsim replay` reads it).
    #[arg(long)]
    plain: bool,
    /// Most simulation runs to spend.
    #[arg(long, default_value_t = ShrinkOptions::default().max_runs)]
    max_runs: usize,
    #[command(flatten)]
    memory: super::budget::MemoryArg,
}

fn default_out(input: &std::path::Path) -> PathBuf {
    let stem = input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    input.with_file_name(format!("{stem}.shrunk.json"))
}

pub fn run(p: &Protocols, a: ShrinkArgs) -> anyhow::Result<ExitCode> {
    let name = a.failure.display().to_string();
    let out = a.out.clone().unwrap_or_else(|| default_out(&a.failure));
    super::files::refuse_overwriting_inputs(&[("FAILURE file", &a.failure)], &[("-o", &out)])?;
    let mut f = match load_failure_or_exit(p, &a.failure) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    a.memory.apply(&mut f.scenario, 1);
    println!("shrinking {name}: check {} with seed {}", f.check, f.seed);
    let (failure, shrunk) = match shrink_failure(p, &f, ShrinkOptions { max_runs: a.max_runs }) {
        Ok(r) => r,
        Err(ShrinkError::NotReproduced { check, seed }) => {
            eprintln!("could not reproduce: check {check} passed with seed {seed}; nothing written");
            return Ok(ExitCode::from(1));
        }
        Err(ShrinkError::Invalid(m)) => {
            eprintln!("error: {name}: {m}");
            return Ok(ExitCode::from(2));
        }
        Err(ShrinkError::Run(e)) => return Err(e.into()),
    };
    let body = if a.plain {
        serde_json::to_string_pretty(&failure.scenario)?
    } else {
        serde_json::to_string_pretty(&failure)?
    };
    super::files::write_whole(&out, (body + "\n").as_bytes())?;
    println!("before: {}", shrunk.before);
    println!("after:  {}", shrunk.after);
    println!(
        "{}; still fails {}: {}",
        count(shrunk.runs as u64, "run"),
        failure.check,
        failure.message
    );
    if shrunk.faults_necessary {
        println!(
            "faithful: without its faults the shrunk scenario passes {} (as the input did)",
            failure.check
        );
    } else {
        println!(
            "note: the input fails {} even without its faults; the shrunk scenario keeps every role of its protocols",
            failure.check
        );
    }
    println!("trace hash {}", failure.trace_hash);
    let again = format!("{} {}", super::program(), if a.plain { "run" } else { "replay" });
    println!("wrote {}  ({again} {})", out.display(), out.display());
    Ok(ExitCode::SUCCESS)
}
