//! `detsim sweep emit slurm|k8s`: a ready job definition that sweeps a scenario's seed
//! range as an array of tasks on an existing cluster engine. Each task runs `explore
//! --shard auto --results DIR` (its shard from the engine's environment, its results
//! written whole, resumable), and `detsim merge DIR` sums them up.
//!
//! - Slurm: a batch script with `#SBATCH --array=0-(N-1)`, `--requeue` (a task on a node
//!   that fails is run again and resumes), its logs in the results directory (made here:
//!   Slurm opens them before the task starts). Paths are made absolute.
//! - Kubernetes: an Indexed Job as JSON (which `kubectl apply -f` reads as it reads YAML):
//!   `completionMode: Indexed`, `backoffLimitPerIndex`, and a `podFailurePolicy` that
//!   fails the whole Job on exit 2 (bad input: every index would fail alike) and does not
//!   count a pod the cluster evicted or pre-empted (`DisruptionTarget`: it resumes);
//!   other failures (a crash, an out-of-memory kill) count against the index's retries.
//!   The results directory is a `PersistentVolumeClaim` mounted in every pod.
//!
//! Exit codes to the engines: a task exits 0 once all of its seeds are written, findings
//! included (exit 1, 3 and 4 are `merge`'s verdict, never a task's: a finding re-run
//! would find itself again), 2 on bad input; anything else is a crash or a kill.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};

use crate::explore::failure_groups::DEFAULT_MAX_FAILURES;
use crate::explore::task::DEFAULT_BLOCK;
use crate::explore::{SHARD_COUNT, SeedRange};
use crate::plugin::Protocols;

#[derive(Args, Debug)]
pub struct SweepArgs {
    #[command(subcommand)]
    command: SweepCommand,
}

#[derive(Subcommand, Debug)]
enum SweepCommand {
    /// Write a job definition: a Slurm array batch script, or a Kubernetes Indexed Job.
    Emit(EmitArgs),
}

/// A cluster engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Engine {
    /// A Slurm batch script (`sbatch FILE`).
    Slurm,
    /// A Kubernetes Indexed Job, as JSON (`kubectl apply -f FILE`).
    K8s,
}

#[derive(Args, Debug)]
pub struct EmitArgs {
    /// The cluster engine.
    engine: Engine,
    /// The scenario file (for k8s: its path inside the container).
    scenario: PathBuf,
    /// Seeds to sweep: A..B (B excluded), A..=B, or N.
    #[arg(long)]
    seeds: SeedRange,
    /// Array tasks (shards).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    tasks: u64,
    /// The results directory every task writes its shard-I-of-N/ in (default: `results`
    /// for Slurm, `/results` for k8s, where the volume is mounted).
    #[arg(long, value_name = "DIR")]
    results: Option<PathBuf>,
    /// Threads (and CPUs) per task.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    jobs: u64,
    /// FAILURE files per check, as `explore --max-failures` (merge needs the same).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_FAILURES)]
    max_failures: u64,
    /// Seeds per block file (the most a killed task loses).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BLOCK, value_parser = clap::value_parser!(u64).range(1..))]
    block: u64,
    /// The detsim program the tasks run (default: this one's absolute path for Slurm,
    /// `detsim` for k8s).
    #[arg(long, value_name = "PATH")]
    program: Option<String>,
    /// Slurm: the partition.
    #[arg(long)]
    partition: Option<String>,
    /// Slurm: the time limit per task (`--time`, e.g. 1:00:00).
    #[arg(long)]
    time: Option<String>,
    /// k8s: the container image holding detsim and the scenario.
    #[arg(long)]
    image: Option<String>,
    /// k8s: the PersistentVolumeClaim mounted at the results directory.
    #[arg(long, default_value = "detsim-results")]
    pvc: String,
    /// k8s: pods running at once (default: all tasks).
    #[arg(long)]
    parallelism: Option<u64>,
    /// k8s: retries of one index that crashed or was killed (`backoffLimitPerIndex`).
    #[arg(long, default_value_t = 3)]
    backoff_limit_per_index: u64,
    /// Where to write it (default: stdout).
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn run(p: &Protocols, a: SweepArgs) -> anyhow::Result<ExitCode> {
    let SweepCommand::Emit(a) = a.command;
    let scenario = match super::load_or_exit(p, &a.scenario) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let text = match a.engine {
        Engine::Slurm => {
            let results = std::path::absolute(a.results.as_deref().unwrap_or(Path::new("results")))?;
            // Slurm opens the tasks' logs there before any task runs.
            std::fs::create_dir_all(&results)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", results.display()))?;
            let program = match &a.program {
                Some(p) => p.clone(),
                None => std::env::current_exe()?.display().to_string(),
            };
            let spec = JobSpec {
                scenario: std::path::absolute(&a.scenario)?.display().to_string(),
                results: results.display().to_string(),
                program,
                ..JobSpec::from_args(&a, &scenario.name)
            };
            slurm_script(&spec, a.partition.as_deref(), a.time.as_deref())
        }
        Engine::K8s => {
            let Some(image) = &a.image else {
                anyhow::bail!("sweep emit k8s needs --image: the container image holding detsim and the scenario");
            };
            let results = a.results.clone().unwrap_or_else(|| PathBuf::from("/results"));
            if !results.is_absolute() {
                anyhow::bail!(
                    "--results {}: for k8s, the absolute path in the container where the volume is mounted",
                    results.display()
                );
            }
            let spec = JobSpec {
                results: results.display().to_string(),
                program: a.program.clone().unwrap_or_else(|| "detsim".into()),
                ..JobSpec::from_args(&a, &scenario.name)
            };
            let job = k8s_job(
                &spec,
                image,
                &a.pvc,
                a.parallelism.unwrap_or(a.tasks),
                a.backoff_limit_per_index,
            );
            serde_json::to_string_pretty(&job)? + "\n"
        }
    };
    match &a.out {
        Some(path) => {
            super::files::refuse_overwriting_inputs(&[("scenario", &a.scenario)], &[("-o", path)])?;
            super::files::write_whole(path, text.as_bytes())?;
            eprintln!(
                "wrote {} ({} tasks over seeds {}..{}); then `{} merge RESULTS`",
                path.display(),
                a.tasks,
                a.seeds.start,
                a.seeds.end,
                super::program()
            );
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What a job definition runs, whatever the engine.
#[derive(Clone, Debug)]
struct JobSpec {
    name: String,
    program: String,
    scenario: String,
    seeds: String,
    tasks: u64,
    results: String,
    jobs: u64,
    max_failures: u64,
    block: u64,
}

impl JobSpec {
    fn from_args(a: &EmitArgs, scenario_name: &str) -> JobSpec {
        JobSpec {
            name: job_name(scenario_name),
            program: String::new(),
            scenario: a.scenario.display().to_string(),
            seeds: format!("{}..{}", a.seeds.start, a.seeds.end),
            tasks: a.tasks,
            results: String::new(),
            jobs: a.jobs,
            max_failures: a.max_failures,
            block: a.block,
        }
    }

    /// The task's command line.
    fn command(&self) -> Vec<String> {
        [
            self.program.as_str(),
            "explore",
            &self.scenario,
            "--seeds",
            &self.seeds,
            "--shard",
            "auto",
            "--results",
            &self.results,
            "--jobs",
            &self.jobs.to_string(),
            "--max-failures",
            &self.max_failures.to_string(),
            "--block",
            &self.block.to_string(),
        ]
        .map(String::from)
        .to_vec()
    }
}

/// A job name from a scenario name: `detsim-` and the name in lowercase letters, digits
/// and `-` (a DNS label, as Kubernetes wants; at most 63 characters).
fn job_name(scenario: &str) -> String {
    let mut s: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s = s.split('-').filter(|p| !p.is_empty()).collect::<Vec<_>>().join("-");
    s.truncate(50);
    let s = s.trim_end_matches('-');
    if s.is_empty() {
        "detsim-sweep".into()
    } else {
        format!("detsim-{s}")
    }
}

/// `s` quoted for a POSIX shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The Slurm batch script.
fn slurm_script(j: &JobSpec, partition: Option<&str>, time: Option<&str>) -> String {
    let mut s = String::new();
    s += "#!/bin/sh\n";
    s += "# A detsim sweep as a Slurm array job (written by `detsim sweep emit slurm`).\n";
    s += &format!(
        "# Seeds {} of {} in {} array tasks; each runs its shard (--shard auto: SLURM_ARRAY_TASK_ID\n",
        j.seeds, j.scenario, j.tasks
    );
    s += &format!(
        "# of {SHARD_COUNT}) and writes {}/shard-I-of-{}/ block by block, each file whole.\n",
        j.results, j.tasks
    );
    s += "# Submit: sbatch THIS_FILE. A task exits 0 once its seeds are all written (findings\n";
    s += "# included), 2 on bad input (FAILED: fix the input). A task killed or pre-empted is\n";
    s += "# requeued, or re-submitted alone (sbatch --array=I THIS_FILE), and resumes.\n";
    s += &format!(
        "# Then: {} merge {}  (0 pass, 1 a finding, 3 not judged, 4 a budget stopped a seed,\n",
        sh_quote(&j.program),
        sh_quote(&j.results)
    );
    s += "# 2 a seed missing or twice: it names them).\n";
    s += &format!("#SBATCH --job-name={}\n", j.name);
    s += &format!("#SBATCH --array=0-{}\n", j.tasks - 1);
    s += "#SBATCH --ntasks=1\n";
    s += &format!("#SBATCH --cpus-per-task={}\n", j.jobs);
    s += &format!("#SBATCH --output={}/slurm-%A_%a.out\n", j.results);
    s += "#SBATCH --requeue\n";
    if let Some(p) = partition {
        s += &format!("#SBATCH --partition={p}\n");
    }
    if let Some(t) = time {
        s += &format!("#SBATCH --time={t}\n");
    }
    s += &format!("export {SHARD_COUNT}={}\n", j.tasks);
    let cmd: Vec<String> = j.command().iter().map(|a| sh_quote(a)).collect();
    s += &format!("exec {}\n", cmd.join(" "));
    s
}

/// The Kubernetes Indexed Job.
fn k8s_job(j: &JobSpec, image: &str, pvc: &str, parallelism: u64, backoff: u64) -> serde_json::Value {
    let cpu = j.jobs.to_string();
    serde_json::json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": j.name,
            "labels": {"app.kubernetes.io/name": "detsim", "app.kubernetes.io/component": "sweep"}
        },
        "spec": {
            "completionMode": "Indexed",
            "completions": j.tasks,
            "parallelism": parallelism.clamp(1, j.tasks),
            "backoffLimitPerIndex": backoff,
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {"containerName": "detsim", "operator": "In", "values": [2]}
                    },
                    {
                        "action": "Ignore",
                        "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]
                    }
                ]
            },
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "detsim"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [{
                        "name": "detsim",
                        "image": image,
                        "command": j.command(),
                        "env": [{"name": SHARD_COUNT, "value": j.tasks.to_string()}],
                        "resources": {"requests": {"cpu": cpu}, "limits": {"cpu": cpu}},
                        "volumeMounts": [{"name": "results", "mountPath": j.results}]
                    }],
                    "volumes": [{"name": "results", "persistentVolumeClaim": {"claimName": pvc}}]
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_names_are_dns_labels_and_arguments_are_quoted() {
        assert_eq!(job_name("deposit-partition-canary"), "detsim-deposit-partition-canary");
        assert_eq!(job_name("A b/../C"), "detsim-a-b-c");
        assert_eq!(job_name("..."), "detsim-sweep");
        assert!(job_name(&"x".repeat(200)).len() <= 63);
        assert_eq!(sh_quote("/a/b-c.json"), "/a/b-c.json");
        assert_eq!(sh_quote("it's here"), "'it'\\''s here'");
        assert_eq!(sh_quote(""), "''");
        assert_eq!(sh_quote("$(rm -rf /)"), "'$(rm -rf /)'");
    }
}
