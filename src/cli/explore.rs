//! `detsim explore`: runs a range of seeds in parallel (rayon), shows progress on a
//! terminal, writes each failing seed as a FAILURE file, and prints seeds run, failures
//! and seeds per second. With `--shard I/N` it runs exactly shard I's seeds; with `--json`
//! it prints one line per seed, so shards' outputs merge with `cat`.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use clap::Args;
use detsim::explore::{SeedLine, SeedRange, Shard, failure_file, failure_file_name, shard_seeds};
use detsim::report::RunReport;
use detsim::runner::run_scenario;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

use super::load_or_exit;

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
    /// One JSON line per seed on stdout; the summary goes to stderr.
    #[arg(long)]
    json: bool,
}

pub fn run(a: ExploreArgs) -> anyhow::Result<ExitCode> {
    let scenario = match load_or_exit(&a.scenario) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let source = a.scenario.display().to_string();
    let shard = a.shard.unwrap_or(Shard { index: 0, count: 1 });
    let seeds: Vec<u64> = shard_seeds(a.seeds, shard).collect();
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let pool = rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build()?;
    let bar = if !a.json && std::io::stderr().is_terminal() {
        let b = ProgressBar::new(seeds.len() as u64);
        b.set_style(ProgressStyle::with_template(
            "{bar:40} {pos}/{len} seeds, {per_sec}, eta {eta}",
        )?);
        b
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut ran = 0u64;
    let mut failures: Vec<(u64, PathBuf)> = Vec::new();
    // Chunks in seed order keep the output in seed order and memory bounded. Without
    // --keep-going, a failure makes every later seed skip its run, and the sweep stops
    // after the first failing seed.
    let first_failure = AtomicU64::new(u64::MAX);
    for chunk in seeds.chunks(1024) {
        let results: Vec<Option<anyhow::Result<RunReport>>> = pool.install(|| {
            chunk
                .par_iter()
                .map(|&seed| {
                    if !a.keep_going && seed > first_failure.load(Ordering::Relaxed) {
                        return None;
                    }
                    let r = run_scenario(&scenario, seed, None);
                    if let Ok(rep) = &r
                        && !rep.passed()
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
            if a.json {
                println!("{}", serde_json::to_string(&SeedLine::of(&r))?);
            }
            if let Some(f) = failure_file(&scenario, &source, &r) {
                std::fs::create_dir_all(&a.out)?;
                let path = a.out.join(failure_file_name(&scenario.name, r.seed));
                std::fs::write(&path, serde_json::to_string_pretty(&f)? + "\n")?;
                failures.push((r.seed, path));
                if !a.keep_going {
                    break; // later seeds of this chunk ran, but the sweep stops here
                }
            }
        }
        if !failures.is_empty() && !a.keep_going {
            break;
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let summary = format!(
        "explored {ran} seeds of {} in {secs:.2}s ({:.1} seeds/s, {jobs} jobs): {} failing",
        scenario.name,
        ran as f64 / secs.max(1e-9),
        failures.len()
    );
    let mut lines = vec![summary];
    for (seed, path) in &failures {
        lines.push(format!(
            "  seed {seed}: {}  (detsim replay {})",
            path.display(),
            path.display()
        ));
    }
    for l in lines {
        if a.json {
            eprintln!("{l}");
        } else {
            println!("{l}");
        }
    }
    Ok(if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
