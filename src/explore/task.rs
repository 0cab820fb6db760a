//! One array task's results on disk (`explore --results DIR`), the unit `merge` reads:
//! `DIR/shard-I-of-N/` holds `task.json` (what the task sweeps: scenario, seed range,
//! shard, FAILURE-file budget, block size), its seeds' lines in blocks
//! `seeds-000000.jsonl`, `seeds-000001.jsonl`, … (block `k` holds the shard's seeds
//! `k*block .. (k+1)*block`, in order), and its FAILURE files in `failures/`.
//!
//! Each file is written whole (temporary file and rename, by the command line), so a
//! task killed at any point leaves only whole blocks: re-run, it keeps the blocks it
//! finds and runs the rest (at most one block's work is lost). Reading is here; writing
//! is the command line's.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{SeedLine, SeedRange, Shard};

/// The version of the task-directory format.
pub const TASK_VERSION: u32 = 1;

/// The file in a task directory that says what the task sweeps.
pub const MANIFEST: &str = "task.json";

/// Seeds per block by default (`explore --block`).
pub const DEFAULT_BLOCK: u64 = 256;

/// What a task sweeps; a re-run must sweep the same, and `merge` takes tasks of one sweep.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskManifest {
    /// Format version ([`TASK_VERSION`]).
    pub detsim_task: u32,
    /// The scenario's name.
    pub scenario: String,
    /// A hash of the scenario as run (16 hexadecimal digits): the same file, edited,
    /// is another sweep.
    pub scenario_hash: String,
    /// The whole sweep's seeds: `A..B`.
    pub seeds: String,
    /// This shard's index.
    pub shard: u64,
    /// How many shards the sweep has.
    pub shards: u64,
    /// FAILURE files per check (`--max-failures`).
    pub max_failures: u64,
    /// Seeds per block file.
    pub block: u64,
    /// `explore --swarm`: each seed runs its own variant of the nemesis (another sweep
    /// than without it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub swarm: bool,
}

impl TaskManifest {
    /// The sweep's seed range.
    pub fn range(&self) -> Result<SeedRange, String> {
        self.seeds.parse()
    }

    /// This task's shard.
    pub fn shard(&self) -> Shard {
        Shard {
            index: self.shard,
            count: self.shards,
        }
    }

    /// Whether `other` is a task of the same sweep (everything but the shard index and
    /// the block size, which only says how the task wrote its lines).
    pub fn same_sweep(&self, other: &TaskManifest) -> bool {
        let mut o = other.clone();
        o.shard = self.shard;
        o.block = self.block;
        o == *self
    }
}

/// A seed's line in a block: what `explore --json` prints, and what the sweep's summary
/// needs that the line leaves out, so `merge` prints what one `explore` would.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskLine {
    /// The line `explore --json` prints (its `failure_file` is the task's own file).
    #[serde(flatten)]
    pub line: SeedLine,
    /// The check its FAILURE file is about (the first violation's): the one whose
    /// FAILURE-file budget it uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_check: Option<String>,
    /// A budget stopped the run (and no check failed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub exhausted: bool,
    /// The warning that the nemesis plan was cut by its cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<String>,
    /// Its FAILURE file holds the scenario's nemesis, not the realized schedule.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub planned: bool,
}

impl TaskLine {
    /// The line of a run (no FAILURE file yet).
    pub fn of(r: &crate::run::report::RunReport) -> TaskLine {
        let line = SeedLine::of(r);
        TaskLine {
            first_check: r.violations.first().map(|v| v.check.to_string()),
            exhausted: r.budget_exhausted.is_some() && line.status != crate::run::report::Status::Fail,
            cut: r
                .warnings
                .first()
                .filter(|w| w.starts_with("the nemesis plan"))
                .cloned(),
            planned: false,
            line,
        }
    }
}

/// The directory of shard `shard` under `results`: `results/shard-I-of-N`.
pub fn task_dir(results: &Path, shard: Shard) -> PathBuf {
    results.join(format!("shard-{}-of-{}", shard.index, shard.count))
}

/// The file of block `k`.
pub fn block_file(dir: &Path, k: u64) -> PathBuf {
    dir.join(format!("seeds-{k:06}.jsonl"))
}

/// A task directory as found: its manifest and its whole blocks, in order from block 0
/// (a block missing ends them: later ones are run again).
#[derive(Clone, Debug, PartialEq)]
pub struct TaskResults {
    /// The directory.
    pub dir: PathBuf,
    /// What it sweeps.
    pub manifest: TaskManifest,
    /// The lines of its blocks 0, 1, … up to the first missing block, in seed order.
    pub blocks: Vec<Vec<TaskLine>>,
}

/// Read a task's manifest: `Ok(None)` when there is none yet.
pub fn read_manifest(dir: &Path) -> Result<Option<TaskManifest>, String> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let m: TaskManifest = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    if m.detsim_task != TASK_VERSION {
        return Err(format!(
            "{}: unknown task format version {}: this detsim reads version {TASK_VERSION}",
            path.display(),
            m.detsim_task
        ));
    }
    if m.block == 0 || m.shard >= m.shards || m.range().is_err() {
        return Err(format!(
            "{}: not a task of a sweep (block {}, shard {} of {}, seeds {:?})",
            path.display(),
            m.block,
            m.shard,
            m.shards,
            m.seeds
        ));
    }
    Ok(Some(m))
}

/// Read a task directory: its manifest and whole blocks, each checked to hold exactly
/// the seeds its place says (an error names the file and line).
pub fn read_task(dir: &Path) -> Result<TaskResults, String> {
    let manifest =
        read_manifest(dir)?.ok_or_else(|| format!("{}: no {MANIFEST}: not a task directory", dir.display()))?;
    let range = manifest.range()?;
    let mut seeds = super::shard_seeds(range, manifest.shard());
    let mut blocks = Vec::new();
    for k in 0u64.. {
        let expect: Vec<u64> = seeds.by_ref().take(manifest.block as usize).collect();
        if expect.is_empty() {
            break;
        }
        let path = block_file(dir, k);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        let mut lines = Vec::with_capacity(expect.len());
        for (i, l) in text.lines().enumerate() {
            let t: TaskLine = serde_json::from_str(l).map_err(|e| format!("{}:{}: {e}", path.display(), i + 1))?;
            lines.push(t);
        }
        let got: Vec<u64> = lines.iter().map(|t| t.line.seed).collect();
        if got != expect {
            return Err(format!(
                "{}: holds seeds {} but block {k} of shard {}/{} of {} is seeds {}",
                path.display(),
                brief(&got),
                manifest.shard,
                manifest.shards,
                manifest.seeds,
                brief(&expect)
            ));
        }
        blocks.push(lines);
    }
    Ok(TaskResults {
        dir: dir.to_path_buf(),
        manifest,
        blocks,
    })
}

/// A list of seeds in a few words: `3, 7, 11 … 99 (25 seeds)`.
fn brief(seeds: &[u64]) -> String {
    match seeds {
        [] => "none".into(),
        [a] => a.to_string(),
        [a, .., z] => format!("{a} … {z} ({} seeds)", seeds.len()),
    }
}

/// The task directories under each of `dirs`: a directory with a [`MANIFEST`] is one;
/// else its sub-directories that have one, in name order. An error for a directory that
/// holds none.
pub fn find_tasks(dirs: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    for d in dirs {
        if d.join(MANIFEST).is_file() {
            found.push(d.clone());
            continue;
        }
        let entries = std::fs::read_dir(d).map_err(|e| format!("cannot read {}: {e}", d.display()))?;
        let mut subs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.join(MANIFEST).is_file())
            .collect();
        if subs.is_empty() {
            return Err(format!(
                "{}: no task directories in it (each has a {MANIFEST}; `explore --results DIR` writes them)",
                d.display()
            ));
        }
        subs.sort();
        found.extend(subs);
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> TaskManifest {
        TaskManifest {
            detsim_task: TASK_VERSION,
            scenario: "s".into(),
            scenario_hash: "0".repeat(16),
            seeds: "0..10".into(),
            shard: 1,
            shards: 2,
            max_failures: 5,
            block: 2,
            swarm: false,
        }
    }

    #[test]
    fn a_task_directory_reads_back_its_whole_blocks_and_refuses_foreign_ones() {
        let dir = std::env::temp_dir().join(format!("detsim-task-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read_manifest(&dir), Ok(None));
        let m = manifest();
        std::fs::write(dir.join(MANIFEST), serde_json::to_string(&m).unwrap()).unwrap();
        let line = |seed: u64| {
            format!(r#"{{"seed":{seed},"trace_hash":"0000000000000000","status":"pass","violations":[]}}"#) + "\n"
        };
        // Shard 1 of 2 over 0..10 is 1, 3, 5, 7, 9: block 0 is 1 and 3, block 1 is 5 and 7.
        std::fs::write(block_file(&dir, 0), line(1) + &line(3)).unwrap();
        std::fs::write(block_file(&dir, 2), line(9)).unwrap(); // after a missing block: ignored
        let t = read_task(&dir).unwrap();
        assert_eq!(t.manifest, m);
        assert_eq!(t.blocks.len(), 1);
        assert_eq!(t.blocks[0].iter().map(|l| l.line.seed).collect::<Vec<_>>(), [1, 3]);
        std::fs::write(block_file(&dir, 1), line(5) + &line(6)).unwrap();
        let e = read_task(&dir).unwrap_err();
        assert!(
            e.contains("seeds-000001.jsonl: holds seeds 5 … 6 (2 seeds) but block 1"),
            "{e}"
        );
        std::fs::write(block_file(&dir, 1), line(5) + "{\"seed\":").unwrap();
        assert!(read_task(&dir).unwrap_err().contains("seeds-000001.jsonl:2:"));
        // Tasks of one sweep differ only in their shard (and block size).
        let mut other = m.clone();
        other.shard = 0;
        other.block = 7;
        assert!(m.same_sweep(&other));
        other.max_failures = 1;
        assert!(!m.same_sweep(&other));
        assert_eq!(task_dir(Path::new("r"), m.shard()), Path::new("r/shard-1-of-2"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
