//! The `detsim` command line (behind the default `cli` feature): clap definitions,
//! dispatch to each subcommand, and the shared human summary of a run. [`main_with`] runs
//! it over any registered protocols, so a user's binary gets every subcommand for its
//! own roles; `src/main.rs` is `main_with(Protocols::builtin())`. This module is the
//! shell: it is the only part of the library that prints. Its `println!` is
//! `stdout::line`'s (a closed pipe stops the output, never panics).

#[macro_use]
mod stdout;
mod bench;
mod budget;
mod check_history;
mod explore;
mod files;
mod merge;
mod replay;
mod run;
mod shrink;
mod sweep;
mod tally;

use std::path::Path;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::plugin::Protocols;
use crate::plural::count;
use crate::run::report::{RunReport, Status};
use crate::scenario::{Scenario, ScenarioErrors, load_scenario};

/// detsim: a deterministic simulator for distributed systems.
///
/// Exit codes: 0 all checks passed; 1 a check failed (a finding); 2 bad input or usage;
/// 3 no check failed but at least one could not be judged (work was still undone when
/// the run ended and not yet due: a fault never healed, e.g. a node crashed and never
/// restarted, or the run ended too soon); 4 a budget (`--max-memory`, `--max-trace-bytes`)
/// stopped the run before its end and no check failed before the stop. `replay`: 1 the violation came back, else the
/// re-run's own code (1 another check failed, 3 not judged, 0 every check passed).
#[derive(Parser, Debug)]
#[command(name = "detsim", version, about, long_about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario (or a FAILURE file's scenario at its seed) and report what happened.
    #[command(
        long_about = run::LONG_ABOUT,
        after_help = "Exit codes: 0 every check passed, 1 a check failed, 3 no check failed but one could not be judged (the reason is shown: a fault that never healed, or a run too short for the work still undone), 4 a budget (--max-memory, --max-trace-bytes) stopped the run before its end and no check failed before the stop, 2 bad input.\n\nExamples:\n  detsim run scenarios/rpc_multiply.json\n  detsim run scenarios/pool_batch.json --seed 7 --json\n  detsim run scenarios/rpc_loss_retries.json --trace run.jsonl\n  detsim run scenarios/all_systems_nemesis.json --check-determinism\n  detsim run scenarios/deposit_partition_canary.json --report canary.html --report-window 250ms..800ms"
    )]
    Run(run::RunArgs),
    /// Check scenario files (or FAILURE files' scenarios) and report every problem (exit 2 if any).
    #[command(after_help = "Examples:\n  detsim validate scenarios/*.json\n  detsim validate failures/*.json")]
    Validate(run::ValidateArgs),
    /// Run a range of seeds in parallel; group failing seeds by check and write FAILURE files (at most --max-failures per check).
    #[command(
        after_help = "Exit codes: 1 some seed failed, else 3 some seed could not be judged (no FAILURE file is written for it; it is counted, and its --json line says status \"not_judged\" with the reasons), else 0; 2 bad input.\n\nExamples:\n  detsim explore scenarios/deposit_partition_canary.json --seeds 0..200\n  detsim explore scenarios/deposit_partition_canary.json --seeds 17\n  detsim explore scenarios/all_systems_nemesis.json --seeds 0..10000 --jobs 2 --keep-going --json\n  detsim explore scenarios/x.json --seeds 0..100000 --shard 3/16 --json > shard3.jsonl\n  detsim explore scenarios/x.json --seeds 0..100000 --shard auto --results results   (an array task: see `detsim sweep emit`)"
    )]
    Explore(explore::ExploreArgs),
    /// Re-run a FAILURE file and say whether the same violation and trace hash came back.
    #[command(
        after_help = "Exit codes: 1 the violation came back; when it did not, the re-run's own verdict: 1 another check failed, 3 no check failed but one could not be judged, 0 every check passed; 2 bad input.\n\nExamples:\n  detsim replay failures/deposit-canary-seed3.json\n  detsim replay failures/deposit-canary-seed3.json --report failure.html"
    )]
    Replay(replay::ReplayArgs),
    /// Shrink a FAILURE file to a smaller scenario that still fails the same check.
    #[command(
        after_help = "Exit codes: 0 wrote the shrunk failure, 1 the failure did not reproduce, 2 bad input.\n\nExamples:\n  detsim shrink failures/deposit-partition-canary-seed3.json -o small.json\n  detsim replay small.json\n  detsim shrink failures/x.json --plain -o small-scenario.json && detsim run small-scenario.json"
    )]
    Shrink(shrink::ShrinkArgs),
    /// Measure the engine on the RPC ping-pong workload against a hand-written reference loop.
    #[command(
        after_help = "Examples:\n  detsim bench\n  detsim bench --clients 100 --messages 5000000 --repeat 5 --json"
    )]
    Bench(bench::BenchArgs),
    /// Check that a history (Jepsen log lines, EDN maps, or detsim JSON lines) is linearizable, with a counterexample if not.
    #[command(
        after_help = "Exit codes: 0 linearizable, 1 not linearizable (the counterexample is printed: per failing key, the longest linearizable prefix, the operation that cannot be placed, the states before it), 3 unknown (the budget ran out: --max-steps, --max-memory-mib, --timeout), 2 bad input (file:line:column and what was expected).\n\nFormats (--format auto tells them apart):\n  jepsen  INFO  jepsen.util - 3\t:invoke\t:cas\t[3 0]\n  edn     {:process 0, :type :invoke, :f :get, :key \"x\", :value nil}\n  jsonl   {\"process\":0,\"type\":\"invoke\",\"f\":\"write\",\"value\":3,\"time\":1000}\n:ok took effect; :info (or no completion) has an unknown outcome; :fail did not happen, except a cas's :fail, which means the compare failed.\n\nExamples:\n  detsim check-history tests/data/porcupine/etcd/etcd_000.log --model cas-register\n  detsim check-history tests/data/porcupine/kv/c10-bad.txt --model kv --report kv.html\n  detsim check-history history.jsonl --model kv --json --timeout 30s"
    )]
    CheckHistory(check_history::CheckHistoryArgs),
    /// Sweep on a cluster: write a Slurm array script or a Kubernetes Indexed Job whose tasks each run one shard (`explore --shard auto --results DIR`).
    #[command(
        after_help = "A task exits 0 once all of its seeds are written (findings included: the verdict is `merge`'s), 2 on bad input; a killed task re-run resumes.\n\nExamples:\n  detsim sweep emit slurm scenarios/deposit_partition_canary.json --seeds 0..100000 --tasks 16 --results results -o sweep.sh && sbatch sweep.sh\n  detsim sweep emit k8s scenarios/x.json --seeds 0..100000 --tasks 16 --image registry.example/detsim:1 -o job.json && kubectl apply -f job.json\n  detsim merge results"
    )]
    Sweep(sweep::SweepArgs),
    /// Sum up a sweep's cluster tasks (`explore --results DIR`): check every seed is covered once, group failures, print what one `explore` would.
    #[command(
        after_help = "Exit codes: as one `explore --keep-going` of the whole range (1 some seed failed, else 4 a budget stopped a seed, else 3 some seed was not judged, else 0); 2 a seed is missing or covered twice (they are named), or the tasks are of different sweeps.\n\nExamples:\n  detsim merge results\n  detsim merge results --json > seeds.jsonl\n  detsim merge results/shard-0-of-4 results/shard-1-of-4 ... --shrink"
    )]
    Merge(merge::MergeArgs),
}

/// Run the parsed command; `Err` is bad input or usage (exit 2).
pub fn run(protocols: &Protocols, cli: Cli) -> anyhow::Result<ExitCode> {
    let p = protocols;
    match cli.command {
        Command::Run(a) => run::run(p, a),
        Command::Validate(a) => run::validate(p, a),
        Command::Explore(a) => explore::run(p, a),
        Command::Replay(a) => replay::run(p, a),
        Command::Shrink(a) => shrink::run(p, a),
        Command::Bench(a) => bench::run(p, a),
        Command::CheckHistory(a) => check_history::run(a),
        Command::Sweep(a) => sweep::run(p, a),
        Command::Merge(a) => merge::run(p, a),
    }
}

/// The whole `detsim` command line over `protocols`: parse the arguments, run the
/// subcommand, print, and map the outcome to an exit code (0 all checks passed, 1 a
/// check failed, 2 bad input or usage, 3 no check failed but one was not judged). A user
/// crate's binary is one line:
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     detsim::cli::main_with(detsim::protocols![detsim::protocols::Rpc])
/// }
/// ```
pub fn main_with(protocols: Protocols) -> ExitCode {
    main_from(protocols, std::env::args_os())
}

thread_local! {
    /// The program's name (`detsim`, or a user's binary such as `kvsim`), for the
    /// commands the output suggests.
    static PROGRAM: std::cell::RefCell<String> = std::cell::RefCell::new("detsim".into());
}

/// The program's name, as the command lines it prints should start.
pub(crate) fn program() -> String {
    PROGRAM.with(|p| p.borrow().clone())
}

/// [`main_with`] on the given arguments (the first is the program name).
pub fn main_from<I, T>(protocols: Protocols, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(Into::into).collect();
    let name = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_stem())
        .map(|n| n.to_string_lossy().into_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "detsim".into());
    PROGRAM.with(|p| *p.borrow_mut() = name);
    let args = match Cli::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let code = match run(&protocols, args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    };
    // A closed pipe (`| head`) only stopped the output: the verdict stands. Any other
    // write error lost output: bad usage (exit 2).
    match stdout::failed() {
        Some(e) => {
            eprintln!("error: cannot write to stdout: {e}");
            ExitCode::from(2)
        }
        None => code,
    }
}

/// Print every problem of a file; exit code 2.
fn bad_input(errs: ScenarioErrors) -> ExitCode {
    for e in errs.0 {
        eprintln!("error: {e}");
    }
    ExitCode::from(2)
}

/// Load a scenario, or print every problem and give exit code 2.
fn load_or_exit(p: &Protocols, path: &Path) -> Result<Scenario, ExitCode> {
    load_scenario(p, path).map_err(bad_input)
}

/// Load a scenario or a FAILURE file, or print every problem and give exit code 2.
fn load_input_or_exit(p: &Protocols, path: &Path) -> Result<crate::explore::Input, ExitCode> {
    crate::explore::load_input(p, path).map_err(bad_input)
}

/// Read and parse a FAILURE file, or print every problem and give exit code 2.
fn load_failure_or_exit(p: &Protocols, path: &Path) -> Result<crate::explore::FailureFile, ExitCode> {
    crate::explore::load_failure(p, path).map_err(bad_input)
}

/// The exit code of a verdict: 0 pass, 1 fail (a finding), 3 not judged.
fn exit_code(v: Status) -> ExitCode {
    match v {
        Status::Pass => ExitCode::SUCCESS,
        Status::Fail => ExitCode::from(1),
        Status::NotJudged => ExitCode::from(NOT_JUDGED),
    }
}

/// The exit code when no check failed but one could not be judged.
const NOT_JUDGED: u8 = 3;

/// Write an HTML report and say where it went (on stderr: stdout may be JSON).
fn write_report(path: &Path, out: &crate::report::html::HtmlReport) -> anyhow::Result<()> {
    files::write_whole(path, out.html.as_bytes())?;
    eprintln!(
        "report: {} ({} KB; diagram {}..{}, {} messages drawn)",
        path.display(),
        out.html.len() / 1024,
        crate::SimTime(out.window.start.0),
        crate::SimTime(out.window.end.0),
        out.drawn
    );
    Ok(())
}

/// The human summary of a run.
fn print_summary(p: &Protocols, r: &RunReport, reproduce: &str) {
    let m = &r.messages;
    println!("scenario {}  seed {}  trace hash {}", r.scenario, r.seed, r.trace_hash);
    println!(
        "ran to {} ({:?}): {}; messages sent {}, delivered {}, dropped {}, duplicated {}; {}",
        crate::SimTime(r.sim_time_ns),
        r.outcome,
        count(r.events, "event"),
        m.sent,
        m.delivered,
        m.dropped,
        m.duplicated,
        count(r.faults.len() as u64, "fault")
    );
    for c in &r.checks {
        match c.status {
            Status::Pass => println!("  [pass] {}", c.name),
            Status::Fail => println!("  [FAIL] {}", c.name),
            Status::NotJudged => println!(
                "  [NOT JUDGED] {}: {}",
                c.name,
                c.reason.as_deref().unwrap_or("work undone at the end")
            ),
        }
    }
    for v in r.violations.iter().take(10) {
        println!("  violation {} at {}: {}", v.check, v.at, v.message);
        for e in v.events.iter().take(5) {
            println!("      {} {}: {}", e.at, e.name, e.what);
        }
    }
    if r.violations.len() > 10 {
        println!(
            "  ... and {} more (see --json)",
            count((r.violations.len() - 10) as u64, "violation")
        );
    }
    print_metrics(p, &r.metrics);
    if let Some(points) = &r.buggify {
        println!("  buggify: {}", crate::run::buggify_summary(points));
    }
    println!("reproduce: {reproduce}");
}

/// Key metrics, one line per protocol that reported some, in the protocol's own words
/// (the full set is in `--json`).
fn print_metrics(p: &Protocols, m: &serde_json::Value) {
    for proto in p.iter() {
        if let Some(metrics) = m.get(proto.name()) {
            let line = proto.summary(metrics).unwrap_or_else(|| metrics.to_string());
            println!("  {}: {line}", proto.name());
        }
    }
}
