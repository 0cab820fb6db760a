//! `detsim explore`: runs a range of seeds in parallel (rayon), shows progress on a
//! terminal, writes failing seeds as FAILURE files (at most `--max-failures` per check),
//! and prints seeds run, failing seeds grouped by check, seeds not judged (no failure,
//! but a check could not judge the run: no FAILURE file), and seeds per second. With
//! `--shard I/N` it runs exactly shard I's seeds; with `--json` it prints one line per
//! seed (with its FAILURE file or `null`), so shards' outputs merge with `cat`.
//!
//! On a cluster (`sweep emit`): `--shard auto` reads the shard from the array task's
//! environment, and `--results DIR` writes the task's lines and FAILURE files to
//! `DIR/shard-I-of-N/` in blocks, each whole, so a killed task re-run resumes where its
//! last whole block ended; it exits 0 once all its seeds are written (the verdict is
//! `detsim merge`'s) and 2 on bad input.
//! With `--swarm`, each seed runs its own variant of the nemesis (`explore/swarm.rs`):
//! its line and FAILURE file say which fault kinds were on.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::plugin::Protocols;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::explore::failure_groups::DEFAULT_MAX_FAILURES;
use crate::explore::swarm::{swarm, swarm_problem};
use crate::explore::task::{self, DEFAULT_BLOCK, TaskLine, TaskManifest};
use crate::explore::{SeedRange, Shard, failure_file, failure_file_name, failure_text_for, shard_len, shard_seeds};
use crate::plural::count;
use crate::run::report::RunReport;
use crate::run::run_scenario;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::load_or_exit;
use super::tally::Tally;

/// Seeds made and run at a time (in parallel), in seed order.
const CHUNK: usize = 1024;

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
    /// Run only shard I of N (every N-th seed from A + I); `auto`: the shard of this
    /// array task, from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT (or MIN/MAX), or
    /// from JOB_COMPLETION_INDEX (Kubernetes); DETSIM_SHARD_COUNT, when set, is the count.
    #[arg(long, value_name = "I/N|auto")]
    shard: Option<ShardArg>,
    /// Where FAILURE files go.
    #[arg(long, default_value = "failures", conflicts_with = "results")]
    out: PathBuf,
    /// A cluster task's results: write this shard's lines and FAILURE files under
    /// DIR/shard-I-of-N/, block by block, each file whole; re-run, resume after the last
    /// whole block. Implies --keep-going; exits 0 once every seed is written (`detsim
    /// merge DIR` gives the verdict), 2 on bad input.
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,
    /// With --results: seeds per block file (at most one block's work is lost when the
    /// task is killed).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BLOCK, requires = "results", value_parser = clap::value_parser!(u64).range(1..))]
    block: u64,
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

/// `--shard`: a fixed shard, or `auto` (from the environment).
#[derive(Clone, Copy, Debug)]
enum ShardArg {
    Fixed(Shard),
    Auto,
}

impl std::str::FromStr for ShardArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.trim() == "auto" {
            Ok(ShardArg::Auto)
        } else {
            s.parse()
                .map(ShardArg::Fixed)
                .map_err(|e: String| format!("{e}, or auto"))
        }
    }
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
    let shard = match a.shard {
        None => Shard { index: 0, count: 1 },
        Some(ShardArg::Fixed(s)) => s,
        Some(ShardArg::Auto) => {
            crate::explore::shard_from_env(|k| std::env::var(k).ok()).map_err(|e| anyhow::anyhow!(e))?
        }
    };
    // A cluster task: its directory, what it sweeps, and the blocks a killed run left.
    let results = match &a.results {
        Some(dir) => Some(prepare_task(&scenario, &a, dir, shard)?),
        None => None,
    };
    let keep_going = a.keep_going || results.is_some();
    let out = match &results {
        Some(r) => r.dir.join("failures"),
        None => a.out.clone(),
    };
    // Before any seed runs: FAILURE files can be written where they go (and the temporary
    // files an explore that was killed left there are removed).
    if a.max_failures > 0 {
        super::files::check_out_dir(&out)?;
        super::files::remove_stale_temps(&out);
    }
    let source = a.scenario.display().to_string();
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
    let mut tally = Tally::new(a.max_failures);
    // Chunks in seed order keep the output in seed order and memory bounded. Without
    // --keep-going, a failure makes every later seed skip its run, and the sweep stops
    // after the first failing seed.
    let first_failure = AtomicU64::new(u64::MAX);
    let chunk_size = results.as_ref().map_or(CHUNK, |_| a.block as usize);
    let mut chunk: Vec<u64> = Vec::with_capacity(chunk_size);
    // A FAILURE file that could not be written (a full disk, or a bug: it would not read
    // back): the sweep stops, the files already written are still listed, then the error
    // (exit 2).
    let mut write_error: Option<anyhow::Error> = None;
    // Seeds whose results a killed run of this task had already written (not run again).
    let mut resumed = 0u64;
    let mut resumed_blocks = results.map(|r| r.blocks.into_iter()).into_iter().flatten();
    'sweep: for block in 0u64.. {
        chunk.clear();
        chunk.extend(seeds.by_ref().take(chunk_size));
        if chunk.is_empty() {
            break;
        }
        if let Some(lines) = resumed_blocks.next() {
            // A whole block of an earlier run: counted as it was, its FAILURE files kept.
            for t in &lines {
                let file = tally.count(t);
                if file != t.line.failure_file.is_some() {
                    anyhow::bail!(
                        "{}: seed {} {} a FAILURE file, but this sweep would {}: delete the task's directory and run it again",
                        task::block_file(&task::task_dir(a.results.as_deref().unwrap_or(&out), shard), block).display(),
                        t.line.seed,
                        if file { "has no" } else { "has" },
                        if file { "write one" } else { "not" }
                    );
                }
                if let Some(f) = &t.line.failure_file {
                    tally.wrote(t, PathBuf::from(f));
                }
                if a.json {
                    println!("{}", serde_json::to_string(&t.line)?);
                }
            }
            resumed += lines.len() as u64;
            bar.inc(lines.len() as u64);
            continue;
        }
        let results: Vec<Option<anyhow::Result<RunReport>>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&seed| {
                    if !keep_going && seed > first_failure.load(Ordering::Relaxed) {
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
        let mut block_lines: Vec<TaskLine> = Vec::with_capacity(chunk.len());
        for r in results.into_iter().flatten() {
            let r = r?;
            let mut t = TaskLine::of(&r);
            // The swarm's choice for this seed, made again (a pure function of the seed).
            let swarmed = if a.swarm { swarm(&scenario, r.seed) } else { None };
            let ran = swarmed.as_ref().map_or(&scenario, |(s, _)| s);
            t.line.swarm = swarmed.as_ref().map(|(_, sw)| sw.on.clone());
            let failure = failure_file(ran, &source, &r).map(|mut f| {
                f.swarm = swarmed.as_ref().map(|(_, sw)| sw.clone());
                f
            });
            if let Some(f) = &failure
                && tally.count(&t)
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
                t.planned = is_planned;
                let path = out.join(failure_file_name(&f.scenario.name, r.seed));
                let wrote =
                    super::files::refuse_overwriting_inputs(&[("scenario", &a.scenario)], &[("FAILURE file", &path)])
                        .and_then(|()| {
                            std::fs::create_dir_all(&out)
                                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", out.display()))
                        })
                        .and_then(|()| super::files::write_whole(&path, text.as_bytes()));
                if let Err(e) = wrote {
                    write_error = Some(e);
                    break 'sweep;
                }
                t.line.failure_file = Some(path.display().to_string());
                tally.wrote(&t, path);
            } else if failure.is_none() {
                tally.count(&t);
            }
            if a.json {
                // Nobody reads stdout any more (`--json | head`): the sweep stops quietly,
                // with the verdict of the seeds that ran.
                println!("{}", serde_json::to_string(&t.line)?);
                if super::stdout::closed() {
                    break 'sweep;
                }
            }
            block_lines.push(t);
            if failure.is_some() && !keep_going {
                break; // later seeds of this chunk ran, but the sweep stops here
            }
        }
        if let Some(dir) = &a.results {
            // The block's lines, whole: a task killed from here on keeps them.
            let mut text = String::new();
            for t in &block_lines {
                text += &serde_json::to_string(t)?;
                text.push('\n');
            }
            let path = task::block_file(&task::task_dir(dir, shard), block);
            if let Err(e) = super::files::write_whole(&path, text.as_bytes()) {
                write_error = Some(e);
                break 'sweep;
            }
        }
        if tally.groups.failing_seeds() > 0 && !keep_going {
            break;
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let ran_here = tally.ran - resumed;
    let summary = format!(
        "explored {}{} of {} in {secs:.2}s ({:.1} seeds/s, {}): {}",
        count(tally.ran, "seed"),
        if a.swarm { " (swarm)" } else { "" },
        scenario.name,
        ran_here as f64 / secs.max(1e-9),
        count(jobs as u64, "job"),
        tally.counts()
    );
    let mut lines = vec![summary];
    lines.extend(tally.lines());
    if let Some(dir) = &a.results {
        lines.push(format!(
            "  results: {}{} (`{} merge {}` sums up the sweep)",
            task::task_dir(dir, shard).display(),
            if resumed > 0 {
                format!(", {} resumed from an earlier run", count(resumed, "seed"))
            } else {
                String::new()
            },
            super::program(),
            dir.display()
        ));
    }
    if let Some(w) = tally.cut_warning() {
        // On stderr, whatever the output: the sweep explored less than it was asked to.
        eprintln!("{w}");
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
            count(tally.ran, "seed"),
            count(tally.written.len() as u64, "FAILURE file")
        )));
    }
    Ok(if a.results.is_some() {
        // A task's job is its results; what they mean is the merge's verdict.
        ExitCode::SUCCESS
    } else {
        tally.exit_code()
    })
}

/// `--results DIR`: this shard's directory made, its manifest written (or, left by an
/// earlier run of the task, checked to be this sweep's), and the whole blocks found.
fn prepare_task(
    scenario: &crate::scenario::Scenario,
    a: &ExploreArgs,
    dir: &std::path::Path,
    shard: Shard,
) -> anyhow::Result<task::TaskResults> {
    let tdir = task::task_dir(dir, shard);
    std::fs::create_dir_all(&tdir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", tdir.display()))?;
    // The block a killed run was writing (a hidden temporary file) is run again.
    super::files::remove_stale_temps(&tdir);
    let manifest = TaskManifest {
        detsim_task: task::TASK_VERSION,
        scenario: scenario.name.clone(),
        scenario_hash: format!(
            "{:016x}",
            crate::explore::fnv1a(serde_json::to_string(scenario)?.as_bytes())
        ),
        seeds: format!("{}..{}", a.seeds.start, a.seeds.end),
        shard: shard.index,
        shards: shard.count,
        max_failures: a.max_failures,
        block: a.block,
        swarm: a.swarm,
    };
    match task::read_manifest(&tdir).map_err(|e| anyhow::anyhow!(e))? {
        Some(old) if old != manifest => anyhow::bail!(
            "{}: an earlier run swept something else ({}), not this ({}): give another --results directory, or delete it",
            tdir.join(task::MANIFEST).display(),
            serde_json::to_string(&old)?,
            serde_json::to_string(&manifest)?
        ),
        Some(_) => {}
        None => {
            let text = serde_json::to_string_pretty(&manifest)? + "\n";
            super::files::write_whole(&tdir.join(task::MANIFEST), text.as_bytes())?;
        }
    }
    task::read_task(&tdir).map_err(|e| anyhow::anyhow!(e))
}
