//! `detsim explore`: runs a range of seeds in parallel (rayon), shows progress on a
//! terminal, writes failing seeds as FAILURE files (at most `--max-failures` per check),
//! and prints seeds run, failing seeds grouped by check, seeds not judged (no failure,
//! but a check could not judge the run: no FAILURE file), and seeds per second. With
//! `--shard I/N` it runs exactly shard I's seeds; with `--json` it prints one line per
//! seed (with its FAILURE file or `null`), so shards' outputs merge with `cat`.
//! With `--swarm`, each seed runs its own variant of the nemesis (`explore/swarm.rs`):
//! its line and FAILURE file say which fault kinds were on.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::plugin::Protocols;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::explore::failure_groups::{DEFAULT_MAX_FAILURES, FailureGroups};
use crate::explore::swarm::{swarm, swarm_problem};
use crate::explore::{
    SeedLine, SeedRange, Shard, failure_file, failure_file_name, failure_text_for, shard_len, shard_seeds,
};
use crate::plural::count;
use crate::run::report::{RunReport, Status};
use crate::run::run_scenario;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::load_or_exit;

/// Not-judged seeds listed by name in the human summary (the rest are counted).
const MAX_NOT_JUDGED_SHOWN: usize = 10;

/// Seeds made and run at a time (in parallel), in seed order.
const CHUNK: usize = 1024;

/// A FAILURE file written: its seed, the checks that failed, its path, and with
/// `--swarm` the fault kinds that were on.
type Written = (u64, Vec<String>, PathBuf, Option<Vec<String>>);

#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// The scenario file.
    scenario: PathBuf,
    /// Seeds to run: N (that seed alone), A..B (B excluded) or A..=B.
    #[arg(long)]
    seeds: SeedRange,
    /// Worker threads (default: all cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Run only shard I of N (every N-th seed from A + I).
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Where FAILURE files go.
    #[arg(long, default_value = "failures")]
    out: PathBuf,
    /// Keep going after the first failing seed.
    #[arg(long)]
    keep_going: bool,
    /// Write at most N FAILURE files per failing check (the smallest failing seeds; 0:
    /// none). Every failing seed is still counted and listed in --json.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FAILURES)]
    max_failures: u64,
    /// One JSON line per seed on stdout; the summary goes to stderr.
    #[arg(long)]
    json: bool,
    /// Swarm testing: each seed switches each fault kind of the scenario's nemesis on or
    /// off (1/2 each) and scales the rates of those on by a factor in [0.1, 10], drawn
    /// from the seed; each seed's line and FAILURE file say which kinds were on.
    #[arg(long)]
    swarm: bool,
    #[command(flatten)]
    memory: super::budget::MemoryArg,
}

pub fn run(p: &Protocols, a: ExploreArgs) -> anyhow::Result<ExitCode> {
    let mut scenario = match load_or_exit(p, &a.scenario) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if a.swarm
        && let Some(why) = swarm_problem(&scenario)
    {
        eprintln!("error: {}: {why}", a.scenario.display());
        return Ok(ExitCode::from(2));
    }
    // Before any seed runs: FAILURE files can be written where they go (and the temporary
    // files an explore that was killed left there are removed).
    if a.max_failures > 0 {
        super::files::check_out_dir(&a.out)?;
        super::files::remove_stale_temps(&a.out);
    }
    let source = a.scenario.display().to_string();
    let shard = a.shard.unwrap_or(Shard { index: 0, count: 1 });
    // Made lazily, a chunk at a time: a range of 10^11 seeds takes no memory.
    let mut seeds = shard_seeds(a.seeds, shard);
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build()?;
    // Each run's counted budgets get its share of the memory budget.
    a.memory.apply(&mut scenario, jobs);
    let scenario = scenario;
    let bar = if !a.json && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(shard_len(a.seeds, shard));
        b.set_style(ProgressStyle::with_template(
            "{bar:40} {pos}/{len} seeds, {per_sec}, eta {eta}",
        )?);
        b
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut ran = 0u64;
    let mut groups = FailureGroups::new(a.max_failures);
    // The seeds that got a FAILURE file: (seed, failed checks, path, the kinds on with
    // --swarm).
    let mut written: Vec<Written> = Vec::new();
    // Seeds no check failed on but some check could not judge: how many, and the first
    // few (seed, reasons). Nothing is kept per seed beyond those.
    let mut not_judged = 0u64;
    // Seeds a budget stopped (counted among the not judged too).
    let mut exhausted = 0u64;
    let mut not_judged_shown: Vec<(u64, Vec<String>)> = Vec::new();
    // Seeds whose nemesis plan was cut by its cap: how many, and the first one's warning.
    let mut cut = 0u64;
    let mut first_cut: Option<(u64, String)> = None;
    // Chunks in seed order keep the output in seed order and memory bounded. Without
    // --keep-going, a failure makes every later seed skip its run, and the sweep stops
    // after the first failing seed.
    let first_failure = AtomicU64::new(u64::MAX);
    let mut chunk: Vec<u64> = Vec::with_capacity(CHUNK);
    // A FAILURE file that could not be written (a full disk, or a bug: it would not read
    // back): the sweep stops, the files already written are still listed, then the error
    // (exit 2).
    let mut write_error: Option<anyhow::Error> = None;
    // FAILURE files that hold the scenario's nemesis instead of the realized schedule.
    let mut planned = 0u64;
    'sweep: loop {
        chunk.clear();
        chunk.extend(seeds.by_ref().take(CHUNK));
        if chunk.is_empty() {
            break;
        }
        let results: Vec<Option<anyhow::Result<RunReport>>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&seed| {
                    if !a.keep_going && seed > first_failure.load(Ordering::Relaxed) {
                        return None;
                    }
                    let swarmed = if a.swarm { swarm(&scenario, seed) } else { None };
                    let r = run_scenario(p, swarmed.as_ref().map_or(&scenario, |(s, _)| s), seed, None);
                    if let Ok(rep) = &r
                        && rep.failed()
                    {
                        first_failure.fetch_min(seed, Ordering::Relaxed);
                    }
                    bar.inc(1);
                    Some(r.map_err(anyhow::Error::from))
                })
                .collect()
        });
        for r in results.into_iter().flatten() {
            let r = r?;
            ran += 1;
            let mut line = SeedLine::of(&r);
            // The swarm's choice for this seed, made again (a pure function of the seed).
            let swarmed = if a.swarm { swarm(&scenario, r.seed) } else { None };
            let ran = swarmed.as_ref().map_or(&scenario, |(s, _)| s);
            line.swarm = swarmed.as_ref().map(|(_, sw)| sw.on.clone());
            if r.budget_exhausted.is_some() && line.status != Status::Fail {
                exhausted += 1;
            }
            if line.status == Status::NotJudged {
                not_judged += 1;
                if not_judged_shown.len() < MAX_NOT_JUDGED_SHOWN {
                    not_judged_shown.push((r.seed, line.not_judged.clone()));
                }
            }
            if let Some(w) = r.warnings.first().filter(|w| w.starts_with("the nemesis plan")) {
                cut += 1;
                first_cut.get_or_insert_with(|| (r.seed, w.clone()));
            }
            let failure = failure_file(ran, &source, &r).map(|mut f| {
                f.swarm = swarmed.as_ref().map(|(_, sw)| sw.clone());
                f
            });
            if let Some(f) = &failure
                && groups.record(r.seed, &line.violations, &f.check)
            {
                // Checked to load as replay loads it; a file that would not is a bug,
                // reported (exit 2, after the files written) instead of written.
                let (f, text, is_planned) = match failure_text_for(p, ran, f) {
                    Ok(t) => t,
                    Err(e) => {
                        write_error = Some(e.into());
                        break 'sweep;
                    }
                };
                planned += u64::from(is_planned);
                let path = a.out.join(failure_file_name(&f.scenario.name, r.seed));
                let wrote =
                    super::files::refuse_overwriting_inputs(&[("scenario", &a.scenario)], &[("FAILURE file", &path)])
                        .and_then(|()| {
                            std::fs::create_dir_all(&a.out)
                                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", a.out.display()))
                        })
                        .and_then(|()| super::files::write_whole(&path, text.as_bytes()));
                if let Err(e) = wrote {
                    write_error = Some(e);
                    break 'sweep;
                }
                line.failure_file = Some(path.display().to_string());
                written.push((r.seed, line.violations.clone(), path, line.swarm.clone()));
            }
            if a.json {
                // Nobody reads stdout any more (`--json | head`): the sweep stops quietly,
                // with the verdict of the seeds that ran.
                println!("{}", serde_json::to_string(&line)?);
                if super::stdout::closed() {
                    break 'sweep;
                }
            }
            if failure.is_some() && !a.keep_going {
                break; // later seeds of this chunk ran, but the sweep stops here
            }
        }
        if groups.failing_seeds() > 0 && !a.keep_going {
            break;
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let summary = format!(
        "explored {}{} of {} in {secs:.2}s ({:.1} seeds/s, {}): {} failing, {} not judged{}",
        count(ran, "seed"),
        if a.swarm { " (swarm)" } else { "" },
        scenario.name,
        ran as f64 / secs.max(1e-9),
        count(jobs as u64, "job"),
        groups.failing_seeds(),
        not_judged,
        if exhausted > 0 {
            format!(" ({exhausted} stopped by a budget)")
        } else {
            String::new()
        }
    );
    let mut lines = vec![summary];
    lines.extend(groups.summary_lines().into_iter().map(|l| format!("  {l}")));
    for (seed, checks, path, on) in &written {
        lines.push(format!(
            "  seed {seed} fails {}{}: {}  ({} replay {})",
            checks.join(", "),
            on.as_ref().map_or(String::new(), |on| format!(
                " [swarm: {}]",
                if on.is_empty() {
                    "no fault kind".to_string()
                } else {
                    on.join(", ")
                }
            )),
            path.display(),
            super::program(),
            path.display()
        ));
    }
    lines.extend(groups.without_file_note().map(|l| format!("  {l}")));
    for (seed, why) in &not_judged_shown {
        lines.push(format!("  seed {seed}: not judged ({})", why.join("; ")));
    }
    if not_judged > not_judged_shown.len() as u64 {
        lines.push(format!(
            "  ... and {} not judged (see --json)",
            count(not_judged - not_judged_shown.len() as u64, "more seed")
        ));
    }
    if planned > 0 {
        lines.push(format!(
            "  {} hold the scenario's nemesis, not the realized schedule: it was over the FAILURE-file limit (the same trace hash, from the seed)",
            count(planned, "FAILURE file")
        ));
    }
    if let Some((seed, w)) = &first_cut {
        // On stderr, whatever the output: the sweep explored less than it was asked to.
        eprintln!("warning: on {} (first seed {seed}): {w}", count(cut, "seed"));
    }
    for l in lines {
        if a.json {
            eprintln!("{l}");
        } else {
            println!("{l}");
        }
    }
    if let Some(e) = write_error {
        // After the list of what was written: the error names the file it could not write.
        return Err(e.context(format!(
            "explore stopped after {}; {} written",
            count(ran, "seed"),
            count(written.len() as u64, "FAILURE file")
        )));
    }
    Ok(if groups.failing_seeds() > 0 {
        ExitCode::from(1)
    } else if exhausted > 0 {
        ExitCode::from(super::budget::BUDGET_EXHAUSTED)
    } else if not_judged > 0 {
        ExitCode::from(super::NOT_JUDGED)
    } else {
        ExitCode::SUCCESS
    })
}
