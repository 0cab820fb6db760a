//! Shrinking a failing scenario by delta debugging: given a scenario, a seed and the name
//! of a check that fails, find a smaller scenario that still fails that check with that
//! seed. Candidates, in rounds until a round changes nothing (or the run budget is spent):
//!
//! 1. remove faults, ddmin-style (halves, quarters, ... single faults);
//! 2. pair a fault with its undo into one windowed fault (crash + restart, pause +
//!    resume, partition/block/isolate + heal, clog + unclog, set_link + restore);
//! 3. shorten fault windows (halve `until - at`) and move faults earlier (halve `at`);
//! 4. remove whole protocols (every node of one), then nodes nothing refers to (clients,
//!    workers, unreferenced servers), with the faults, links and nemesis targets that
//!    name them;
//! 5. reduce calls and jobs (binary search for the smallest count that still fails);
//! 6. shorten the run (binary search down to the last fault).
//!
//! A candidate is kept only if it passes [`validate`], the same check still fails with
//! the same seed, **and it stays a faithful witness of the same bug**:
//!
//! - it keeps every role the input had, for each protocol it still runs (a pool with no
//!   worker, or RPC clients with no server, fail for another reason than the input did);
//! - when the input *passes* that check with its faults removed (the faults are
//!   necessary to the failure), the candidate must pass it with its faults removed too,
//!   so shrinking never trades a fault-triggered bug for a failure that needs no fault.
//!
//! Everything is sequential and deterministic: the same input gives the same output.
//! Nothing prints.

use std::collections::BTreeSet;

use crate::engine::error::Error;
use crate::engine::time::SimTime;
use crate::explore::FailureFile;
use crate::plugin::Protocols;
use crate::run::report::RunReport;
use crate::run::run_scenario;
use crate::scenario::build::initial_link;
use crate::scenario::validate::validate;
use crate::scenario::{FaultSpec, Scenario};

/// How big a scenario is, in the terms shrinking reduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Sizes {
    /// Scheduled fault entries.
    pub faults: usize,
    /// Nodes.
    pub nodes: usize,
    /// RPC calls plus pool jobs (a Poisson stream without a limit counts as 0).
    pub jobs: u64,
    /// The run's duration.
    pub duration: SimTime,
}

impl Sizes {
    /// The sizes of `s`.
    pub fn of(s: &Scenario) -> Sizes {
        let jobs = s.nodes.iter().map(|n| n.config.work().unwrap_or(0)).sum();
        Sizes {
            faults: s.faults.len(),
            nodes: s.nodes.len(),
            jobs,
            duration: s.duration,
        }
    }
}

impl std::fmt::Display for Sizes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}, {}, {}, duration {}",
            crate::plural::count(self.faults as u64, "fault"),
            crate::plural::count(self.nodes as u64, "node"),
            if self.jobs == 1 {
                "1 job/call".to_string()
            } else {
                format!("{} jobs/calls", self.jobs)
            },
            self.duration
        )
    }
}

/// Settings of a shrink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShrinkOptions {
    /// Most simulation runs (the first, confirming run included).
    pub max_runs: usize,
}

impl Default for ShrinkOptions {
    fn default() -> Self {
        ShrinkOptions { max_runs: 2000 }
    }
}

/// Why shrinking could not start.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ShrinkError {
    /// The scenario is not valid.
    #[error("the scenario is not valid: {0}")]
    Invalid(String),
    /// The check did not fail on the scenario as given.
    #[error("could not reproduce the failure: check {check} passed with seed {seed}")]
    NotReproduced {
        /// The check.
        check: String,
        /// The seed.
        seed: u64,
    },
    /// A run failed.
    #[error(transparent)]
    Run(#[from] Error),
}

/// The result of a shrink.
#[derive(Clone, Debug, PartialEq)]
pub struct Shrunk {
    /// The smallest failing scenario found (its `seed` is the failing seed).
    pub scenario: Scenario,
    /// Its run.
    pub report: RunReport,
    /// The check that fails.
    pub check: String,
    /// Sizes of the input.
    pub before: Sizes,
    /// Sizes of the result.
    pub after: Sizes,
    /// Simulation runs made.
    pub runs: usize,
    /// The input passed the check without its faults, so every kept candidate was
    /// checked to pass without its faults too (the faults stay necessary).
    pub faults_necessary: bool,
}

struct Shrinker<'a> {
    protocols: &'a Protocols,
    seed: u64,
    check: &'a str,
    runs: usize,
    max_runs: usize,
    best: Scenario,
    report: RunReport,
    /// (protocol, role) of every node of the input.
    roles: BTreeSet<(&'static str, &'static str)>,
    /// The input passes the check without its faults: candidates must too.
    faults_necessary: bool,
}

/// (protocol, role) of every node of `s`.
fn roles(s: &Scenario) -> BTreeSet<(&'static str, &'static str)> {
    s.nodes.iter().map(|n| (n.protocol, n.role)).collect()
}

/// `s` with no scheduled fault and no nemesis.
fn without_faults(s: &Scenario) -> Scenario {
    Scenario {
        faults: Vec::new(),
        nemesis: None,
        ..s.clone()
    }
}

/// Does `check` fail on `s` with `seed`?
fn fails(protocols: &Protocols, s: &Scenario, seed: u64, check: &str) -> Result<(bool, RunReport), Error> {
    let report = run_scenario(protocols, s, seed, None)?;
    Ok((report.violations.iter().any(|v| v.check == check), report))
}

impl Shrinker<'_> {
    fn budget_left(&self) -> bool {
        self.runs < self.max_runs
    }

    /// Does `cand` keep, for each protocol it still runs, every role the input had?
    fn keeps_roles(&self, cand: &Scenario) -> bool {
        let kept = roles(cand);
        let protocols: BTreeSet<&str> = kept.iter().map(|(p, _)| *p).collect();
        self.roles
            .iter()
            .filter(|(p, _)| protocols.contains(p))
            .all(|r| kept.contains(r))
    }

    /// Keep `cand` if it is valid, still fails the check, and is a faithful witness (see
    /// the module doc).
    fn attempt(&mut self, cand: Scenario) -> Result<bool, Error> {
        if !self.budget_left()
            || cand == self.best
            || !self.keeps_roles(&cand)
            || !validate(self.protocols, &cand).is_empty()
        {
            return Ok(false);
        }
        self.runs += 1;
        let (failed, report) = fails(self.protocols, &cand, self.seed, self.check)?;
        if !failed {
            return Ok(false);
        }
        if self.faults_necessary {
            if !self.budget_left() {
                return Ok(false);
            }
            self.runs += 1;
            if cand.faults.is_empty() && cand.nemesis.is_none() {
                return Ok(false); // it fails without faults: not the input's bug
            }
            if fails(self.protocols, &without_faults(&cand), self.seed, self.check)?.0 {
                return Ok(false);
            }
        }
        self.best = cand;
        self.report = report;
        Ok(true)
    }

    fn with_faults(&self, faults: Vec<FaultSpec>) -> Scenario {
        Scenario {
            faults,
            ..self.best.clone()
        }
    }

    /// ddmin over the fault list: try removing each of `n` chunks, refine when none can go.
    fn remove_faults(&mut self) -> Result<(), Error> {
        let mut n = 2usize;
        while self.budget_left() && !self.best.faults.is_empty() {
            let len = self.best.faults.len();
            let n_eff = n.min(len);
            let chunk = len.div_ceil(n_eff);
            let mut reduced = false;
            for start in (0..len).step_by(chunk) {
                let mut rest = self.best.faults.clone();
                rest.drain(start..(start + chunk).min(len));
                if self.attempt(self.with_faults(rest))? {
                    n = (n_eff - 1).max(2);
                    reduced = true;
                    break;
                }
            }
            if !reduced {
                if n_eff >= len {
                    break;
                }
                n = (n_eff * 2).min(len);
            }
        }
        Ok(())
    }

    /// Merge a fault and its undo into one windowed fault.
    fn pair_windows(&mut self) -> Result<(), Error> {
        let mut i = 0;
        while i < self.best.faults.len() && self.budget_left() {
            let faults = &self.best.faults;
            let found = faults[i + 1..]
                .iter()
                .position(|g| undoes(&self.best, &faults[i], g))
                .map(|k| i + 1 + k);
            if let Some(j) = found {
                let mut fs = faults.clone();
                let until = fs[j].at;
                if until > fs[i].at {
                    fs[i].set_until(until);
                    fs.remove(j);
                    self.attempt(self.with_faults(fs))?;
                }
            }
            i += 1;
        }
        Ok(())
    }

    /// Halve fault windows while the failure stays.
    fn shorten_windows(&mut self) -> Result<(), Error> {
        for i in 0..self.best.faults.len() {
            while self.budget_left() {
                let f = &self.best.faults[i];
                let (Some(until), at) = (f.until, f.at) else { break };
                let len = until.as_nanos() - at.as_nanos();
                let half = round_ms(len / 2).max(SimTime::from_millis(1).as_nanos());
                if half >= len {
                    break;
                }
                let mut fs = self.best.faults.clone();
                fs[i].set_until(SimTime(at.as_nanos() + half));
                if !self.attempt(self.with_faults(fs))? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Move faults (with their windows) earlier, halving their start, while the failure
    /// stays: an early failure needs fewer calls and a shorter run.
    fn move_earlier(&mut self) -> Result<(), Error> {
        for i in 0..self.best.faults.len() {
            while self.budget_left() {
                let f = &self.best.faults[i];
                let at = f.at.as_nanos();
                let new_at = round_ms(at / 2);
                if new_at >= at {
                    break;
                }
                let mut fs = self.best.faults.clone();
                fs[i].shift_earlier(SimTime(at - new_at));
                if !self.attempt(self.with_faults(fs))? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Remove every node of one protocol at once (a protocol other than the failing
    /// check's can go whole even though no single node of it can: a pool keeps its
    /// roles, so its last worker never goes alone).
    fn remove_protocols(&mut self) -> Result<(), Error> {
        let protocols: BTreeSet<&'static str> = self.best.nodes.iter().map(|n| n.protocol).collect();
        for p in protocols {
            if !self.budget_left() || self.best.nodes.iter().all(|n| n.protocol == p) {
                continue;
            }
            let ids: Vec<String> = self
                .best
                .nodes
                .iter()
                .filter(|n| n.protocol == p)
                .map(|n| n.id().to_string())
                .collect();
            let cand = ids.iter().fold(self.best.clone(), |s, id| without_node(&s, id));
            self.attempt(cand)?;
        }
        Ok(())
    }

    /// Remove nodes nothing refers to, last first.
    fn remove_nodes(&mut self) -> Result<(), Error> {
        let mut i = self.best.nodes.len();
        while i > 0 && self.budget_left() {
            i -= 1;
            if i >= self.best.nodes.len() || self.best.nodes.len() == 1 {
                continue;
            }
            let id = self.best.nodes[i].id().to_string();
            if referenced(&self.best, &id) {
                continue;
            }
            self.attempt(without_node(&self.best, &id))?;
        }
        Ok(())
    }

    /// Binary-search the smallest call or job count of each node that still fails.
    fn reduce_work(&mut self) -> Result<(), Error> {
        for i in 0..self.best.nodes.len() {
            let Some(cur) = self.best.nodes[i].config.work() else {
                continue;
            };
            let (mut lo, mut hi) = (1u64, cur);
            while lo < hi && self.budget_left() {
                let mid = lo + (hi - lo) / 2;
                let mut cand = self.best.clone();
                cand.nodes[i].config = cand.nodes[i].config.with_work(mid);
                if self.attempt(cand)? {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
        }
        Ok(())
    }

    /// Binary-search the shortest run (in whole ms) that still fails.
    fn shorten_run(&mut self) -> Result<(), Error> {
        let ms = 1_000_000u64;
        let last = self
            .best
            .faults
            .iter()
            .map(|f| f.until.unwrap_or(f.at))
            .chain(self.best.nemesis.as_ref().map(|n| n.stop))
            .max()
            .unwrap_or(SimTime::ZERO);
        let mut lo = last.as_nanos().div_ceil(ms).max(1);
        let mut hi = self.best.duration.as_nanos().div_ceil(ms);
        while lo < hi && self.budget_left() {
            let mid = lo + (hi - lo) / 2;
            let cand = Scenario {
                duration: SimTime(mid * ms),
                ..self.best.clone()
            };
            if self.attempt(cand)? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        Ok(())
    }
}

fn round_ms(ns: u64) -> u64 {
    ns / 1_000_000 * 1_000_000
}

/// Shrink `s`, which fails `check` with `seed`. The result's `seed` is `seed`.
pub fn shrink(
    protocols: &Protocols,
    s: &Scenario,
    seed: u64,
    check: &str,
    opts: ShrinkOptions,
) -> Result<Shrunk, ShrinkError> {
    let problems = validate(protocols, s);
    if let Some((path, msg)) = problems.first() {
        return Err(ShrinkError::Invalid(format!("{path}: {msg}")));
    }
    let mut start = s.clone();
    start.seed = seed;
    let (failed, report) = fails(protocols, &start, seed, check)?;
    if !failed {
        return Err(ShrinkError::NotReproduced {
            check: check.to_string(),
            seed,
        });
    }
    let has_faults = !start.faults.is_empty() || start.nemesis.is_some();
    let faults_necessary = has_faults && !fails(protocols, &without_faults(&start), seed, check)?.0;
    let mut sh = Shrinker {
        protocols,
        seed,
        check,
        runs: 1 + has_faults as usize,
        max_runs: opts.max_runs.max(1),
        roles: roles(&start),
        best: start,
        report,
        faults_necessary,
    };
    loop {
        let before = sh.best.clone();
        sh.remove_faults()?;
        sh.pair_windows()?;
        sh.remove_protocols()?;
        sh.remove_nodes()?;
        sh.remove_faults()?;
        sh.shorten_windows()?;
        sh.move_earlier()?;
        sh.reduce_work()?;
        sh.shorten_run()?;
        if sh.best == before || !sh.budget_left() {
            break;
        }
    }
    Ok(Shrunk {
        before: Sizes::of(s),
        after: Sizes::of(&sh.best),
        scenario: sh.best,
        report: sh.report,
        check: check.to_string(),
        runs: sh.runs,
        faults_necessary: sh.faults_necessary,
    })
}

/// Shrink a FAILURE file: the result is a FAILURE file of the shrunk scenario, with its
/// trace hash and the first violation of the same check.
pub fn shrink_failure(
    protocols: &Protocols,
    f: &FailureFile,
    opts: ShrinkOptions,
) -> Result<(FailureFile, Shrunk), ShrinkError> {
    let shrunk = shrink(protocols, &f.scenario, f.seed, &f.check, opts)?;
    let message = shrunk
        .report
        .violations
        .iter()
        .find(|v| v.check == f.check)
        .map(|v| v.message.clone())
        .unwrap_or_default();
    let out = FailureFile {
        detsim_failure: f.detsim_failure,
        seed: f.seed,
        trace_hash: shrunk.report.trace_hash.clone(),
        check: f.check.clone(),
        message,
        source: f.source.clone(),
        scenario: Scenario {
            description: format!(
                "Shrunk by `detsim shrink` from a failure of {} (seed {}, check {}). {}",
                f.source, f.seed, f.check, f.scenario.description
            ),
            limits: Default::default(),
            ..shrunk.scenario.clone()
        },
        swarm: f.swarm.clone(),
    };
    Ok((out, shrunk))
}

/// Does `g` undo `f` (so that `f` with `until: g.at` is the same pair)? `g` is the
/// undo of `f` ([`crate::engine::fault::Fault::undo`]), a `set_link` back to the
/// scenario's settings of that link.
fn undoes(s: &Scenario, f: &FaultSpec, g: &FaultSpec) -> bool {
    if f.until.is_some() || g.until.is_some() {
        return false;
    }
    let initial =
        |link: Option<(&String, &String)>| initial_link(s, link.map(|(a, b)| (a.as_str(), b.as_str()))).to_config();
    f.fault.undo(initial).is_some_and(|u| u == g.fault)
}

/// Does another node's config name `id` (as its server, registry or dispatcher)?
fn referenced(s: &Scenario, id: &str) -> bool {
    s.nodes.iter().any(|n| n.config.references().contains(&id))
}

/// `s` without node `id` and everything that names it.
pub fn without_node(s: &Scenario, id: &str) -> Scenario {
    let mut out = s.clone();
    out.nodes.retain(|n| n.id() != id);
    out.network.links.retain(|l| l.from != id && l.to != id);
    let name = id.to_string();
    out.faults = s
        .faults
        .iter()
        .filter_map(|f| {
            Some(FaultSpec {
                fault: f.fault.without(&name)?,
                ..f.clone()
            })
        })
        .collect();
    if let Some(n) = &mut out.nemesis
        && !n.targets.is_empty()
    {
        n.targets.retain(|t| t != id);
        if n.targets.is_empty() {
            out.nemesis = None;
        }
    }
    out
}
