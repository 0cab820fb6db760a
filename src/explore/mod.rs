//! Seed sweeps and FAILURE files: which seeds a shard runs, what one seed's result is,
//! and the self-contained file that replays a failing seed (the scenario with the
//! realized faults as an explicit schedule, the seed, the expected hash and violation);
//! for sweeps on a cluster, the shard an array task is (`shard_env`), a task's results
//! on disk (`task`) and what `merge` checks of them (`merge`).

pub(crate) mod failure_groups;
pub mod merge;
pub(crate) mod shard_env;
pub mod shrink;
#[cfg(feature = "proptest")]
pub mod strategies;
pub mod swarm;
pub mod task;
#[cfg(feature = "proptest")]
pub mod testing;

use crate::plugin::Protocols;

pub use failure_groups::{CheckGroup, DEFAULT_MAX_FAILURES, FailureGroups, SEEDS_LISTED};
use serde::{Deserialize, Serialize};
pub use shard_env::{K8S_INDEX, SHARD_COUNT, SLURM_COUNT, SLURM_ID, SLURM_MAX, SLURM_MIN, shard_from_env};

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
    /// With `explore --swarm`: the nemesis's fault kinds switched on for this seed
    /// (absent without `--swarm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<Vec<String>>,
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
            swarm: None,
        }
    }
}

/// The file name of a FAILURE file: `<scenario name>-seed<seed>.json`, with every
/// character of the (untrusted) name outside `[A-Za-z0-9_-]` replaced by `_`, so a name
/// can never lead outside the output directory. When that changed the name (or it was
/// cut at 80 characters), a stable hash of the whole name follows it after a `.` (which
/// no kept name holds): `a.b` and `a/b` give `a_b.<hash>-seed3.json`, each its own,
/// and never the file of a scenario named `a_b`.
pub fn failure_file_name(scenario: &str, seed: u64) -> String {
    const KEPT: usize = 80;
    let safe: String = scenario
        .chars()
        .take(KEPT)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe == scenario {
        format!("{safe}-seed{seed}.json")
    } else {
        format!("{safe}.{:016x}-seed{seed}.json", fnv1a(scenario.as_bytes()))
    }
}

/// FNV-1a, 64 bits: a hash of a name that never changes between builds or platforms.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The version of the FAILURE-file format this detsim writes and reads.
pub const FAILURE_VERSION: u32 = 1;

/// A self-contained failing run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureFile {
    /// Format version ([`FAILURE_VERSION`]).
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
    /// The scenario with the realized faults as an explicit schedule and no nemesis; or,
    /// when that would be over the FAILURE-file limits, the scenario as it was run (its
    /// nemesis planned again from the seed): both give the recorded trace hash.
    pub scenario: Scenario,
    /// With `explore --swarm`: the fault kinds the seed switched on and the nemesis it
    /// ran with (what `scenario` holds in the second form). A record: replay needs only
    /// `scenario` and `seed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub swarm: Option<swarm::Swarm>,
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
        detsim_failure: FAILURE_VERSION,
        seed: r.seed,
        trace_hash: r.trace_hash.clone(),
        check: v.check.to_string(),
        message: v.message.clone(),
        source: source.to_string(),
        scenario: explicit,
        swarm: None,
    })
}

/// The text of FAILURE file `f` as `explore` writes it (pretty JSON, or compact when the
/// pretty text is over [`MAX_FAILURE_FILE_BYTES`]), checked to read back as `replay`,
/// `run` and `shrink` read it: within the size limit, parsed, its scenario valid. A file
/// that would not read back is a bug, returned as an error naming every problem instead
/// of a file that `replay` refuses.
pub fn failure_text(protocols: &Protocols, f: &FailureFile) -> Result<String, Error> {
    checked_text(protocols, f, MAX_FAILURE_FILE_BYTES)
}

/// The FAILURE file `explore` writes for `f` (made by [`failure_file`] from a run of
/// `original`) and its text: `f` itself when its text is within
/// [`MAX_FAILURE_FILE_BYTES`]; else the same failure with `original` as it was run (its
/// nemesis and its scheduled faults, no realized schedule), which reproduces the same
/// trace hash from the seed and is no larger than a scenario file. So `explore` never
/// writes a file `replay` refuses, nor loses a finding to the limit. The bool: the
/// second form was taken.
pub fn failure_text_for(
    protocols: &Protocols,
    original: &Scenario,
    f: &FailureFile,
) -> Result<(FailureFile, String, bool), Error> {
    failure_text_within(protocols, original, f, MAX_FAILURE_FILE_BYTES)
}

/// [`failure_text_for`] with the size limit `max` (lowered by the tests).
fn failure_text_within(
    protocols: &Protocols,
    original: &Scenario,
    f: &FailureFile,
    max: u64,
) -> Result<(FailureFile, String, bool), Error> {
    if encoded(f, max)?.is_some() {
        return checked_text(protocols, f, max).map(|t| (f.clone(), t, false));
    }
    let mut planned = f.clone();
    planned.scenario = original.clone();
    planned.scenario.seed = f.seed;
    checked_text(protocols, &planned, max).map(|t| (planned, t, true))
}

/// The error for a FAILURE file that would not load (a bug).
fn would_not_load(f: &FailureFile, what: String) -> Error {
    Error::InvalidParameter(format!(
        "bug: the FAILURE file of seed {} ({}) would not load: {what}",
        f.seed, f.check
    ))
}

/// `f` as JSON (pretty, or compact when the pretty text is over `max`); `None` when even
/// the compact text is over `max`.
fn encoded(f: &FailureFile, max: u64) -> Result<Option<String>, Error> {
    let encode = |r: serde_json::Result<String>| r.map_err(|e| would_not_load(f, format!("cannot encode it: {e}")));
    let mut text = encode(serde_json::to_string_pretty(f))? + "\n";
    if text.len() as u64 > max {
        text = encode(serde_json::to_string(f))? + "\n";
    }
    Ok((text.len() as u64 <= max).then_some(text))
}

/// `f`'s text, checked to read back as `replay` reads it (within `max` bytes).
fn checked_text(protocols: &Protocols, f: &FailureFile, max: u64) -> Result<String, Error> {
    let Some(text) = encoded(f, max)? else {
        let len = serde_json::to_string(f).map_or(0, |t| t.len() + 1);
        return Err(would_not_load(
            f,
            format!("it is {len} bytes, over the limit of {max} bytes"),
        ));
    };
    let name = failure_file_name(&f.scenario.name, f.seed);
    match parse_failure(protocols, &name, &text) {
        Ok(back) if back == *f => Ok(text),
        Ok(_) => Err(would_not_load(f, "it reads back as a different FAILURE file".into())),
        Err(errs) => Err(would_not_load(f, errs.to_string())),
    }
}

/// Read a FAILURE file, its nodes' roles resolved through `protocols`, with the same
/// precise errors as a scenario file. Refused (each error naming the file and the
/// field): a version other than [`FAILURE_VERSION`], a trace hash that is not 16
/// hexadecimal digits, a check that none of the scenario's protocols has (so `replay`
/// could never see it fail), trailing text, an invalid scenario.
pub fn parse_failure(protocols: &Protocols, file: &str, text: &str) -> Result<FailureFile, ScenarioErrors> {
    let error = |place: &str, message: String| {
        ScenarioErrors(vec![ScenarioError {
            file: file.to_string(),
            place: place.to_string(),
            message,
        }])
    };
    crate::scenario::load::expect_object(file, text)?;
    if serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok() && !crate::scenario::load::is_failure_text(text) {
        return Err(error(
            "1:1",
            "not a FAILURE file (no `detsim_failure` field): `detsim explore` writes them; \
             a scenario file is run with `detsim run`"
                .into(),
        ));
    }
    // The version first: another version's fields may mean something else.
    #[derive(Deserialize)]
    struct Version {
        detsim_failure: serde_json::Value,
    }
    if let Ok(Version { detsim_failure: v }) = serde_json::from_str::<Version>(text)
        && v != serde_json::json!(FAILURE_VERSION)
    {
        return Err(error(
            "at detsim_failure",
            format!("unknown FAILURE file version {v}: this detsim reads version {FAILURE_VERSION}"),
        ));
    }
    let f: FailureFile = protocols.scope(|| crate::scenario::load::from_json(file, text))?;
    if f.trace_hash.len() != 16 || !f.trace_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(error(
            "at trace_hash",
            format!(
                "{:?} is not a trace hash (16 hexadecimal digits, as `detsim explore` writes it)",
                f.trace_hash
            ),
        ));
    }
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
    let checks = check_names(protocols, &f.scenario);
    if !checks.contains(&f.check) {
        return Err(error(
            "at check",
            format!(
                "no check {:?} in this scenario (its checks: {})",
                f.check,
                if checks.is_empty() {
                    "none".to_string()
                } else {
                    checks.join(", ")
                }
            ),
        ));
    }
    Ok(f)
}

/// The names of the checks a run of `s` judges (those of its protocols with nodes in it
/// whose checks are on), as the runner makes them.
fn check_names(protocols: &Protocols, s: &Scenario) -> Vec<String> {
    s.with_view(protocols, |view| {
        s.active(protocols)
            .filter(|p| s.checks.enabled(p.name()))
            .flat_map(|p| p.checks(view))
            .map(|c| c.id().to_string())
            .collect()
    })
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
            buggify: None,
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

    /// Was: a realized schedule over the FAILURE-file limit was an error (`explore` exit
    /// 2, the finding lost), or a file `replay` refused. Now the file holds the scenario
    /// as it was run (nemesis and seed): within the limit, read back by `replay`, which
    /// brings the same violation and trace hash back. Scaled down: the limit is lowered.
    #[test]
    fn a_failure_file_over_the_limit_holds_the_nemesis_and_replays() {
        let p = Protocols::builtin();
        let text = r#"{"name": "nemesis-canary", "seed": 1, "duration": "10s",
          "network": {"default": {"duplicate": 0.2}},
          "nodes": [
            {"id": "bank", "role": "rpc_server", "dedupe": false},
            {"id": "alice", "role": "rpc_client", "server": "bank", "calls": 100, "interval": "25ms",
             "mix": {"deposit": 1}, "timeout": "20ms", "max_attempts": 12}
          ],
          "nemesis": {"stop": "5s", "pause_rate": 40.0, "pause_time": {"min": "1ms", "max": "5ms"}}}"#;
        let s = crate::scenario::parse_scenario(&p, "s.json", text).unwrap();
        let r = run_scenario(&p, &s, 0, None).unwrap();
        assert!(r.faults.len() > 100, "{}", r.faults.len());
        let f = failure_file(&s, "s.json", &r).unwrap();
        let explicit = failure_text(&p, &f).unwrap();
        let (same, t, planned) = failure_text_for(&p, &s, &f).unwrap();
        assert_eq!(
            (same, t, planned),
            (f.clone(), explicit.clone(), false),
            "within the limit: explicit"
        );
        let mut nemesis_form = f.clone();
        nemesis_form.scenario = s.clone();
        let small = serde_json::to_string_pretty(&nemesis_form).unwrap().len() as u64 + 1;
        assert!(small < explicit.len() as u64 / 4, "{small} vs {}", explicit.len());
        let max = small * 2;
        assert!(
            checked_text(&p, &f, max)
                .unwrap_err()
                .to_string()
                .contains("over the limit")
        );
        let (g, text, planned) = failure_text_within(&p, &s, &f, max).unwrap();
        assert!(planned && text.len() as u64 <= max, "{} > {max}", text.len());
        assert!(g.scenario.nemesis.is_some() && g.scenario.faults.is_empty());
        let back = parse_failure(&p, "g.json", &text).unwrap();
        assert_eq!(back, g);
        let out = replay(&p, &back).unwrap();
        assert!(out.same_violation && out.same_hash, "{:?}", out.report.trace_hash);
    }

    #[test]
    fn failure_file_names_stay_in_their_directory() {
        assert_eq!(failure_file_name("deposit-canary", 3), "deposit-canary-seed3.json");
        let passwd = failure_file_name("../../etc/passwd", 1);
        assert!(
            passwd.starts_with("______etc_passwd.") && passwd.ends_with("-seed1.json") && !passwd.contains('/'),
            "{passwd}"
        );
        assert!(failure_file_name("a b/c\\d", 0).starts_with("a_b_c_d."));
        assert!(failure_file_name(&"x".repeat(10_000), 0).len() < 120);
        // Names that sanitise alike still get files of their own, stable across builds.
        let names = ["a_b", "a.b", "a/b", "a b", "a\\b"].map(|n| failure_file_name(n, 3));
        assert_eq!(names[0], "a_b-seed3.json");
        assert_eq!(names[1], "a_b.e61d99190466522c-seed3.json");
        for (i, n) in names.iter().enumerate() {
            assert!(names[..i].iter().all(|m| m != n), "{names:?}");
        }
        assert_ne!(
            failure_file_name(&"x".repeat(100), 0),
            failure_file_name(&"x".repeat(101), 0)
        );
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
