//! Seed sweeps and FAILURE files: which seeds a shard runs, what one seed's result is,
//! and the self-contained file that replays a failing seed (the scenario with the
//! realized faults as an explicit schedule, the seed, the expected hash and violation).

pub(crate) mod failure_groups;
pub mod shrink;
#[cfg(feature = "proptest")]
pub mod strategies;
#[cfg(feature = "proptest")]
pub mod testing;

use crate::plugin::Protocols;

pub use failure_groups::{CheckGroup, DEFAULT_MAX_FAILURES, FailureGroups, SEEDS_LISTED};
use serde::{Deserialize, Serialize};

use crate::check::Violation;
use crate::engine::error::Error;
use crate::run::report::{RunReport, Status};
use crate::run::run_scenario;
use crate::scenario::load::MAX_FAILURE_FILE_BYTES;
use crate::scenario::{Scenario, ScenarioError, ScenarioErrors};

/// A range of seeds `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeedRange {
    /// First seed.
    pub start: u64,
    /// One past the last seed.
    pub end: u64,
}

impl std::str::FromStr for SeedRange {
    type Err = String;
    /// `N` (that seed alone), `A..B` (B excluded) or `A..=B` (B included).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad =
            || format!("invalid seeds {s:?}: expected N (one seed), A..B (B excluded) or A..=B, e.g. 7 or 0..1000");
        let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
            (a, b, true)
        } else if let Some((a, b)) = s.split_once("..") {
            (a, b, false)
        } else {
            (s, s, true)
        };
        let start: u64 = a.trim().parse().map_err(|_| bad())?;
        let last: u64 = b.trim().parse().map_err(|_| bad())?;
        let end = if inclusive {
            last.checked_add(1).ok_or_else(bad)?
        } else {
            last
        };
        if end <= start {
            return Err(format!("seed range {s:?} is empty"));
        }
        Ok(SeedRange { start, end })
    }
}

/// Shard `index` of `count`: every `count`-th seed of the range starting at `start + index`,
/// so `count` machines cover the range exactly, with no overlap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 0.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `I/N` with `0 <= I < N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid shard {s:?}: expected I/N with 0 <= I < N, e.g. 0/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// The seeds of `shard` within `range`, in increasing order, made one at a time (a range
/// of 10^11 seeds takes no memory).
pub fn shard_seeds(range: SeedRange, shard: Shard) -> impl Iterator<Item = u64> {
    let first = range.start.checked_add(shard.index).filter(|s| *s < range.end);
    std::iter::successors(first, move |s| s.checked_add(shard.count).filter(|n| *n < range.end))
}

/// How many seeds [`shard_seeds`] makes.
pub fn shard_len(range: SeedRange, shard: Shard) -> u64 {
    match range.start.checked_add(shard.index) {
        Some(first) if first < range.end => (range.end - 1 - first) / shard.count + 1,
        _ => 0,
    }
}

/// One seed's result, as `explore --json` prints it (one line per seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeedLine {
    /// The seed.
    pub seed: u64,
    /// Its trace hash.
    pub trace_hash: String,
    /// "pass", "fail" or "not_judged" (no check failed, some could not be judged).
    pub status: Status,
    /// Names of the checks that failed.
    pub violations: Vec<String>,
    /// Names of the checks that could not be judged, with why: `"pool.liveness: w1
    /// crashed at 500ms and never restarted; 10 jobs undone"`.
    #[serde(default)]
    pub not_judged: Vec<String>,
    /// The FAILURE file written for this seed; `null` when none was (a passing seed, or
    /// its check's `--max-failures` budget was spent).
    #[serde(default)]
    pub failure_file: Option<String>,
}

impl SeedLine {
    /// The line for a report.
    pub fn of(r: &RunReport) -> SeedLine {
        // From the verdicts, not the violations: those are sorted by time across checks,
        // so one check's name could come back more than once.
        let not_judged = r
            .checks
            .iter()
            .filter(|c| c.status == Status::NotJudged)
            .map(|c| format!("{}: {}", c.name, c.reason.as_deref().unwrap_or("")))
            .chain(r.checks.is_empty().then(|| crate::run::NO_CHECK.to_string()))
            .chain(
                r.budget_exhausted
                    .as_ref()
                    .map(|e| format!("budget exhausted ({}): {}", e.budget, e.detail)),
            )
            .collect();
        SeedLine {
            seed: r.seed,
            trace_hash: r.trace_hash.clone(),
            status: r.verdict(),
            violations: r.checks_with(Status::Fail),
            not_judged,
            failure_file: None,
        }
    }
}

/// The file name of a FAILURE file: `<scenario name>-seed<seed>.json`, with every
/// character of the (untrusted) name outside `[A-Za-z0-9_-]` replaced by `_`, so a name
/// can never lead outside the output directory.
pub fn failure_file_name(scenario: &str, seed: u64) -> String {
    let safe: String = scenario
        .chars()
        .take(100)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}-seed{seed}.json")
}

/// A self-contained failing run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureFile {
    /// Format version.
    pub detsim_failure: u32,
    /// The seed.
    pub seed: u64,
    /// The trace hash the failing run had.
    pub trace_hash: String,
    /// The check that failed first.
    pub check: String,
    /// Its message.
    pub message: String,
    /// The scenario file it came from.
    pub source: String,
    /// The scenario with the realized faults as an explicit schedule and no nemesis.
    pub scenario: Scenario,
}

/// The FAILURE file for a failing report of `s`.
pub fn failure_file(s: &Scenario, source: &str, r: &RunReport) -> Option<FailureFile> {
    let v: &Violation = r.violations.first()?;
    let mut explicit = s.clone();
    explicit.nemesis = None;
    explicit.faults = r.faults.clone();
    explicit.seed = r.seed;
    // The run's budgets are the command line's, not the scenario's: the file holds none.
    explicit.limits = Default::default();
    Some(FailureFile {
        detsim_failure: 1,
        seed: r.seed,
        trace_hash: r.trace_hash.clone(),
        check: v.check.to_string(),
        message: v.message.clone(),
        source: source.to_string(),
        scenario: explicit,
    })
}

/// The text of FAILURE file `f` as `explore` writes it (pretty JSON, or compact when the
/// pretty text is over [`MAX_FAILURE_FILE_BYTES`]), checked to read back as `replay`,
/// `run` and `shrink` read it: within the size limit, parsed, its scenario valid. A file
/// that would not read back is a bug, returned as an error naming every problem instead
/// of a file that `replay` refuses.
pub fn failure_text(protocols: &Protocols, f: &FailureFile) -> Result<String, Error> {
    let bug = |what: String| {
        Error::InvalidParameter(format!(
            "bug: the FAILURE file of seed {} ({}) would not load: {what}",
            f.seed, f.check
        ))
    };
    let encode = |r: serde_json::Result<String>| r.map_err(|e| bug(format!("cannot encode it: {e}")));
    let mut text = encode(serde_json::to_string_pretty(f))? + "\n";
    if text.len() as u64 > MAX_FAILURE_FILE_BYTES {
        text = encode(serde_json::to_string(f))? + "\n";
    }
    if text.len() as u64 > MAX_FAILURE_FILE_BYTES {
        return Err(bug(format!(
            "it is {} bytes, over the limit of {MAX_FAILURE_FILE_BYTES} bytes",
            text.len()
        )));
    }
    let name = failure_file_name(&f.scenario.name, f.seed);
    match parse_failure(protocols, &name, &text) {
        Ok(back) if back == *f => Ok(text),
        Ok(_) => Err(bug("it reads back as a different FAILURE file".into())),
        Err(errs) => Err(bug(errs.to_string())),
    }
}

/// Read a FAILURE file, its nodes' roles resolved through `protocols`, with the same
/// precise errors as a scenario file.
pub fn parse_failure(protocols: &Protocols, file: &str, text: &str) -> Result<FailureFile, ScenarioErrors> {
    crate::scenario::load::expect_object(file, text)?;
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() && !crate::scenario::load::is_failure_text(text) {
        return Err(ScenarioErrors(vec![ScenarioError {
            file: file.to_string(),
            place: "1:1".into(),
            message: "not a FAILURE file (no `detsim_failure` field): `detsim explore` writes them; \
                      a scenario file is run with `detsim run`"
                .into(),
        }]));
    }
    let f: FailureFile = protocols.scope(|| crate::scenario::load::from_json(file, text))?;
    let problems = crate::scenario::validate::validate(protocols, &f.scenario);
    if !problems.is_empty() {
        return Err(ScenarioErrors(
            problems
                .into_iter()
                .map(|(p, m)| ScenarioError {
                    file: file.to_string(),
                    place: format!("at scenario.{p}"),
                    message: m,
                })
                .collect(),
        ));
    }
    Ok(f)
}

/// Read and parse a FAILURE file.
pub fn load_failure(protocols: &Protocols, path: &std::path::Path) -> Result<FailureFile, ScenarioErrors> {
    let (file, text) = crate::scenario::load::read_text(path, MAX_FAILURE_FILE_BYTES)?;
    parse_failure(protocols, &file, &text)
}

/// What a file given to `detsim run` or `detsim validate` holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A scenario file.
    Scenario(Box<Scenario>),
    /// A FAILURE file: its scenario is run at its seed.
    Failure(Box<FailureFile>),
}

impl Input {
    /// The scenario to run or validate (a FAILURE file's embedded one).
    pub fn scenario(&self) -> &Scenario {
        match self {
            Input::Scenario(s) => s,
            Input::Failure(f) => &f.scenario,
        }
    }
}

/// Read a scenario file or a FAILURE file (told apart by its `detsim_failure` field).
pub fn load_input(protocols: &Protocols, path: &std::path::Path) -> Result<Input, ScenarioErrors> {
    let (file, text) = crate::scenario::load::read_text(path, MAX_FAILURE_FILE_BYTES)?;
    if crate::scenario::load::is_failure_text(&text) {
        parse_failure(protocols, &file, &text).map(|f| Input::Failure(Box::new(f)))
    } else {
        crate::scenario::load::scenario_too_large(&file, &text)?;
        crate::scenario::parse_scenario(protocols, &file, &text).map(|s| Input::Scenario(Box::new(s)))
    }
}

/// What a replay found.
#[derive(Clone, Debug, PartialEq)]
pub struct ReplayOutcome {
    /// The replayed run.
    pub report: RunReport,
    /// The same check failed again.
    pub same_violation: bool,
    /// The trace hash matched the recorded one.
    pub same_hash: bool,
}

/// Re-run a FAILURE file.
pub fn replay(protocols: &Protocols, f: &FailureFile) -> Result<ReplayOutcome, Error> {
    Ok(judge(f, run_scenario(protocols, &f.scenario, f.seed, None)?))
}

/// Compare a re-run of a FAILURE file (`report`) with what the file recorded.
pub fn judge(f: &FailureFile, report: RunReport) -> ReplayOutcome {
    ReplayOutcome {
        same_violation: report.violations.iter().any(|v| v.check == f.check),
        same_hash: report.trace_hash == f.trace_hash,
        report,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_line_names_each_failed_check_once() {
        use crate::check::{CheckContext, Violation};
        use crate::engine::time::SimTime;
        use crate::run::report::{CheckResult, MessageCounts};
        let ctx = CheckContext::new(1, SimTime(9));
        let v = |check: &'static str, at| {
            Violation::new(
                crate::check::CheckId::new(check),
                String::new(),
                SimTime(at),
                &ctx,
                vec![],
            )
        };
        let verdict = |name: &str, n| CheckResult {
            name: name.into(),
            status: if n == 0 { Status::Pass } else { Status::Fail },
            violations: n,
            reason: None,
        };
        let report = RunReport {
            scenario: "s".into(),
            seed: 1,
            nodes: vec![],
            trace_hash: "0".repeat(16),
            sim_time_ns: 9,
            events: 0,
            trace_events: 0,
            outcome: crate::engine::sim::Outcome::Quiescent,
            messages: MessageCounts::from(&crate::engine::sim::Stats::default()),
            faults: vec![],
            heal_at_ns: Some(0),
            unhealed: vec![],
            checks: vec![verdict("a", 2), verdict("b", 1), verdict("c", 0)],
            // Sorted by time across checks, as run_scenario leaves them.
            violations: vec![v("a", 1), v("b", 2), v("a", 3)],
            metrics: serde_json::Value::Null,
            warnings: vec![],
            budget_exhausted: None,
        };
        let line = SeedLine::of(&report);
        assert_eq!(line.status, Status::Fail);
        assert_eq!(line.violations, ["a", "b"]);
        assert!(line.not_judged.is_empty());
        let json = serde_json::to_value(&line).unwrap();
        assert_eq!(json["status"], "fail");
        // No violation, one check not judged: the seed is not judged, not failed.
        let mut nj = report.clone();
        nj.violations.clear();
        nj.checks = vec![
            verdict("a", 0),
            CheckResult {
                name: "b".into(),
                status: Status::NotJudged,
                violations: 0,
                reason: Some("w1 crashed at 1s and never restarted; 2 jobs undone".into()),
            },
        ];
        let line = SeedLine::of(&nj);
        assert_eq!(line.status, Status::NotJudged);
        assert!(!nj.passed() && !nj.failed());
        assert_eq!(
            line.not_judged,
            ["b: w1 crashed at 1s and never restarted; 2 jobs undone"]
        );
        assert_eq!(serde_json::to_value(&line).unwrap()["status"], "not_judged");
        assert_eq!(json["failure_file"], serde_json::Value::Null, "always present");
    }

    #[test]
    fn failure_file_names_stay_in_their_directory() {
        assert_eq!(failure_file_name("deposit-canary", 3), "deposit-canary-seed3.json");
        assert_eq!(failure_file_name("../../etc/passwd", 1), "______etc_passwd-seed1.json");
        assert_eq!(failure_file_name("a b/c\\d", 0), "a_b_c_d-seed0.json");
        assert!(failure_file_name(&"x".repeat(10_000), 0).len() < 120);
    }

    #[test]
    fn shards_cover_the_range_exactly() {
        let range: SeedRange = "10..=30".parse().unwrap();
        let mut all: Vec<u64> = (0..3)
            .flat_map(|i| shard_seeds(range, Shard { index: i, count: 3 }).collect::<Vec<_>>())
            .collect();
        all.sort();
        assert_eq!(all, (10..31).collect::<Vec<_>>());
        for count in 1..25 {
            for index in 0..count {
                let shard = Shard { index, count };
                let seeds: Vec<u64> = shard_seeds(range, shard).collect();
                let expect: Vec<u64> = (10..31).filter(|s| (s - 10) % count == index).collect();
                assert_eq!(seeds, expect, "{index}/{count}");
                assert_eq!(shard_len(range, shard), expect.len() as u64, "{index}/{count}");
            }
        }
        // The end of the seeds: no overflow, nothing past the range.
        let top = SeedRange {
            start: u64::MAX - 5,
            end: u64::MAX,
        };
        let shard = Shard { index: 1, count: 2 };
        assert_eq!(
            shard_seeds(top, shard).collect::<Vec<_>>(),
            [u64::MAX - 4, u64::MAX - 2]
        );
        assert_eq!(shard_len(top, shard), 2);
        // A huge range is made lazily and counted without making it.
        let huge = SeedRange {
            start: 0,
            end: 100_000_000_000,
        };
        let shard = Shard { index: 3, count: 16 };
        assert_eq!(shard_seeds(huge, shard).take(3).collect::<Vec<_>>(), [3, 19, 35]);
        assert_eq!(shard_len(huge, shard), 6_250_000_000);
        assert!("5..5".parse::<SeedRange>().is_err());
        assert!("x..5".parse::<SeedRange>().is_err());
        assert_eq!("100".parse::<SeedRange>(), Ok(SeedRange { start: 100, end: 101 }));
        assert_eq!(" 7 ".parse::<SeedRange>(), Ok(SeedRange { start: 7, end: 8 }));
        assert_eq!("3..=3".parse::<SeedRange>(), Ok(SeedRange { start: 3, end: 4 }));
        assert!("18446744073709551615".parse::<SeedRange>().is_err(), "no seed after it");
        assert!("seven".parse::<SeedRange>().is_err());
        assert!("".parse::<SeedRange>().is_err());
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1/0".parse::<Shard>().is_err());
    }
}
