//! `detsim merge DIR…`: sums up a sweep that ran as cluster tasks (`explore --results`).
//! It reads every task directory under the given directories, checks that they are
//! tasks of one sweep and that their lines cover each seed of its range exactly once
//! (else it names the missing and duplicated seeds, exit 2), then prints what one
//! `explore --keep-going` of the whole range prints (the same lines after the first,
//! the same `--json` lines, the same exit code), copying to `--out` the FAILURE files
//! that `explore` would have written (the smallest failing seeds of each check). Then
//! the failing seeds by violation signature, with counts; `--shrink` shrinks one
//! representative of each.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::explore::merge::{Signatures, coverage};
use crate::explore::shrink::{ShrinkOptions, shrink_failure};
use crate::explore::task::{TaskLine, TaskResults, find_tasks, read_task};
use crate::explore::{failure_file_name, load_failure};
use crate::plugin::Protocols;
use crate::plural::count;

use super::tally::Tally;

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// The results directories (`explore --results DIR`), or task directories in them.
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// Where the sweep's FAILURE files go (as `explore --out`).
    #[arg(long, default_value = "failures")]
    out: PathBuf,
    /// One JSON line per seed on stdout, as `explore --json` prints them; the summary goes
    /// to stderr.
    #[arg(long)]
    json: bool,
    /// Shrink one representative FAILURE file of each violation signature (written
    /// beside it as NAME.shrunk.json).
    #[arg(long)]
    shrink: bool,
    /// With --shrink: most simulation runs to spend on each.
    #[arg(long, default_value_t = ShrinkOptions::default().max_runs, requires = "shrink")]
    max_runs: usize,
}

pub fn run(p: &Protocols, a: MergeArgs) -> anyhow::Result<ExitCode> {
    let dirs = find_tasks(&a.dirs).map_err(|e| anyhow::anyhow!(e))?;
    let tasks: Vec<TaskResults> = dirs
        .iter()
        .map(|d| read_task(d))
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!(e))?;
    let first = &tasks[0];
    if let Some(other) = tasks[1..].iter().find(|t| !t.manifest.same_sweep(&first.manifest)) {
        anyhow::bail!(
            "{} and {} are tasks of different sweeps: {} vs {}",
            first.dir.display(),
            other.dir.display(),
            serde_json::to_string(&first.manifest)?,
            serde_json::to_string(&other.manifest)?
        );
    }
    let sweep = first.manifest.clone();
    let range = sweep.range().map_err(|e| anyhow::anyhow!(e))?;
    // Every line, its FAILURE file (if the task wrote one) found in its task's directory.
    let mut lines: Vec<TaskLine> = Vec::new();
    for t in &tasks {
        for mut l in t.blocks.iter().flatten().cloned() {
            l.line.failure_file = l.line.failure_file.map(|_| {
                t.dir
                    .join("failures")
                    .join(failure_file_name(&sweep.scenario, l.line.seed))
                    .display()
                    .to_string()
            });
            lines.push(l);
        }
    }
    if let Err(e) = coverage(range, &mut lines) {
        anyhow::bail!(
            "the tasks in {} do not cover seeds {} exactly once: {e} (re-run the tasks that did not finish; they resume)",
            a.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            sweep.seeds
        );
    }
    if sweep.max_failures > 0 {
        super::files::check_out_dir(&a.out)?;
    }
    let mut tally = Tally::new(sweep.max_failures);
    let mut signatures = Signatures::default();
    for t in &mut lines {
        let file = tally.count(t);
        signatures.record(t, file);
        let from = t.line.failure_file.take();
        if !file {
            continue;
        }
        // One explore of the whole range writes this seed's file: so did its task (the
        // seeds before it in its shard are among those before it in the range).
        let from = from.ok_or_else(|| {
            anyhow::anyhow!(
                "seed {} has no FAILURE file in its task, but one explore of {} would write one: were the tasks run with the same --max-failures?",
                t.line.seed,
                sweep.seeds
            )
        })?;
        let bytes = std::fs::read(&from).map_err(|e| anyhow::anyhow!("cannot read {from}: {e}"))?;
        let path = a.out.join(failure_file_name(&sweep.scenario, t.line.seed));
        std::fs::create_dir_all(&a.out).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", a.out.display()))?;
        super::files::write_whole(&path, &bytes)?;
        t.line.failure_file = Some(path.display().to_string());
        tally.wrote(t, path);
    }
    if a.json {
        for t in &lines {
            println!("{}", serde_json::to_string(&t.line)?);
        }
    }
    let mut out = vec![format!(
        "merged {} of {} from {}: {}",
        count(tally.ran, "seed"),
        sweep.scenario,
        count(tasks.len() as u64, "task"),
        tally.counts()
    )];
    out.extend(tally.lines());
    let groups: Vec<_> = signatures.groups().collect();
    if !groups.is_empty() {
        out.push(format!(
            "  by violation signature ({}):",
            count(groups.len() as u64, "signature")
        ));
        for (sig, g) in &groups {
            out.push(format!(
                "    {sig}: {} (first {})",
                count(g.seeds, "seed"),
                g.first_seed
            ));
        }
    }
    if let Some(w) = tally.cut_warning() {
        eprintln!("{w}");
    }
    let say = |l: &str| {
        if a.json {
            eprintln!("{l}");
        } else {
            println!("{l}");
        }
    };
    for l in &out {
        say(l);
    }
    if a.shrink {
        for (sig, g) in &groups {
            let Some(seed) = g.representative else {
                say(&format!("  not shrunk {sig}: no FAILURE file (--max-failures)"));
                continue;
            };
            let path = a.out.join(failure_file_name(&sweep.scenario, seed));
            let f = match load_failure(p, &path) {
                Ok(f) => f,
                Err(errs) => return Err(anyhow::anyhow!("{errs}")),
            };
            let shrunk_path = path.with_file_name(format!(
                "{}.shrunk.json",
                path.file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            ));
            match shrink_failure(p, &f, ShrinkOptions { max_runs: a.max_runs }) {
                Ok((failure, shrunk)) => {
                    let body = serde_json::to_string_pretty(&failure)? + "\n";
                    super::files::write_whole(&shrunk_path, body.as_bytes())?;
                    say(&format!(
                        "  shrunk {sig} (seed {seed}): {} -> {}: {}  ({} replay {})",
                        shrunk.before,
                        shrunk.after,
                        shrunk_path.display(),
                        super::program(),
                        shrunk_path.display()
                    ));
                }
                Err(e) => say(&format!("  not shrunk {sig} (seed {seed}): {e}")),
            }
        }
    }
    Ok(tally.exit_code())
}
