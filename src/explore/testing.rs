//! Helpers for property tests of simulations: the seed from `DETSIM_SEED`, a proptest
//! runner seeded from it (so the same seed generates, fails and shrinks to the same case
//! every time), and a panic message that carries the one line that reproduces a failure.
//!
//! Nothing here prints: [`Property::check`] panics with the repro line in its message;
//! [`Property::find`] returns the failure for the caller to judge.
//!
//! ```
//! use detsim::explore::testing::Property;
//! use proptest::prelude::*;
//!
//! let prop = Property::new("doc_example", 7).unwrap().cases(16);
//! // Passes: nothing to report.
//! prop.check(&(0u64..100), |n| {
//!     prop_assert!(n < 100);
//!     Ok(())
//! });
//! // Fails, and shrinks to the smallest counterexample, the same one for the same seed.
//! let f = prop.find(&(0u64..1000), |n| {
//!     prop_assert!(n < 10);
//!     Ok(())
//! }).unwrap().unwrap();
//! assert_eq!(f.minimal, 10);
//! assert_eq!(f.repro(), "DETSIM_SEED=7 cargo test doc_example");
//! ```

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

use crate::engine::error::Error;
use crate::run::run_scenario;
use crate::scenario::Scenario;

/// The environment variable that pins the seed of simulation tests.
pub const SEED_VAR: &str = "DETSIM_SEED";

/// The seed in `value` (the content of `DETSIM_SEED`), else `default`.
pub fn parse_seed(value: Option<&str>, default: u64) -> Result<u64, Error> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| Error::InvalidParameter(format!("{SEED_VAR}={v:?} is not a u64 seed"))),
    }
}

/// The seed pinned by `DETSIM_SEED`, else `default`. An unparsable value is an error.
pub fn seed_from_env(default: u64) -> Result<u64, Error> {
    let v = std::env::var(SEED_VAR).ok();
    parse_seed(v.as_deref(), default)
}

/// The command line that reruns test `test` with `seed`.
pub fn repro_line(test: &str, seed: u64) -> String {
    format!("{SEED_VAR}={seed} cargo test {test}")
}

/// A proptest runner whose every draw comes from `seed`: no failure persistence, no
/// forking, no time limits, at most `max_shrink_iters` shrinking steps.
pub fn seeded_runner(seed: u64, cases: u32, max_shrink_iters: u32) -> TestRunner {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes[8..16].copy_from_slice(b"detsim-p");
    let config = Config {
        cases,
        max_shrink_iters,
        max_shrink_time: 0,
        failure_persistence: None,
        fork: false,
        timeout: 0,
        rng_algorithm: RngAlgorithm::ChaCha,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// A failing property: the minimal input proptest shrank to, and how to get it back.
#[derive(Clone, Debug, PartialEq)]
pub struct PropFailure<T> {
    /// The test's name (what `cargo test` filters on).
    pub test: String,
    /// The seed of the run.
    pub seed: u64,
    /// Why the minimal case failed.
    pub reason: String,
    /// The minimal failing input.
    pub minimal: T,
}

impl<T> PropFailure<T> {
    /// The line that reproduces this failure exactly.
    pub fn repro(&self) -> String {
        repro_line(&self.test, self.seed)
    }
}

/// A property test: a name, a seed (from `DETSIM_SEED` or a default), a case count and a
/// shrinking budget.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// The test's name, for the repro line.
    pub name: String,
    /// The seed of the runner.
    pub seed: u64,
    /// Cases to generate.
    pub cases: u32,
    /// Most shrinking steps.
    pub max_shrink_iters: u32,
}

impl Property {
    /// Test `name` with the seed of `DETSIM_SEED`, else `default_seed`; 64 cases, up to
    /// 1024 shrinking steps.
    pub fn new(name: &str, default_seed: u64) -> Result<Property, Error> {
        Ok(Property::with_seed(name, seed_from_env(default_seed)?))
    }

    /// Test `name` with exactly this seed (ignoring the environment).
    pub fn with_seed(name: &str, seed: u64) -> Property {
        Property {
            name: name.to_string(),
            seed,
            cases: 64,
            max_shrink_iters: 1024,
        }
    }

    /// Generate `n` cases.
    pub fn cases(mut self, n: u32) -> Self {
        self.cases = n;
        self
    }

    /// Shrink for at most `n` steps.
    pub fn shrink_iters(mut self, n: u32) -> Self {
        self.max_shrink_iters = n;
        self
    }

    /// Run the property; `Ok(None)` if every case passed, else the shrunk failure.
    /// An aborted run (too many rejected cases) is an error.
    pub fn find<S: Strategy>(
        &self,
        strategy: &S,
        property: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) -> Result<Option<PropFailure<S::Value>>, Error> {
        let mut runner = seeded_runner(self.seed, self.cases, self.max_shrink_iters);
        match runner.run(strategy, property) {
            Ok(()) => Ok(None),
            Err(TestError::Fail(reason, minimal)) => Ok(Some(PropFailure {
                test: self.name.clone(),
                seed: self.seed,
                reason: reason.to_string(),
                minimal,
            })),
            Err(TestError::Abort(reason)) => Err(Error::InvalidParameter(format!(
                "property {} aborted: {reason}",
                self.name
            ))),
        }
    }

    /// Run the property and panic on failure with the reason, the minimal input (as
    /// `describe` writes it) and the repro line.
    pub fn check_with<S: Strategy>(
        &self,
        strategy: &S,
        property: impl Fn(S::Value) -> Result<(), TestCaseError>,
        describe: impl Fn(&S::Value) -> String,
    ) {
        match self.find(strategy, property) {
            Ok(None) => {}
            Ok(Some(f)) => panic!(
                "property {} failed: {}\nminimal failing input:\n{}\nreproduce: {}",
                f.test,
                f.reason,
                describe(&f.minimal),
                f.repro()
            ),
            Err(e) => panic!("{e}\nreproduce: {}", repro_line(&self.name, self.seed)),
        }
    }

    /// [`Property::check_with`], describing the input with `Debug`.
    pub fn check<S: Strategy>(&self, strategy: &S, property: impl Fn(S::Value) -> Result<(), TestCaseError>)
    where
        S::Value: std::fmt::Debug,
    {
        self.check_with(strategy, property, |v| format!("{v:#?}"));
    }

    /// [`Property::check_with`] over scenarios, describing the minimal one as a scenario
    /// file (save it and `detsim run` it).
    pub fn check_scenarios<S: Strategy<Value = Scenario>>(
        &self,
        strategy: &S,
        property: impl Fn(Scenario) -> Result<(), TestCaseError>,
    ) {
        self.check_with(strategy, property, scenario_json);
    }
}

/// A scenario as pretty JSON (what `detsim run` reads).
pub fn scenario_json(s: &Scenario) -> String {
    serde_json::to_string_pretty(s).unwrap_or_else(|e| format!("(cannot serialize: {e})"))
}

/// Run `s` (of the built-in protocols, as [`crate::explore::strategies::scenario`] makes
/// them) at its own seed; fail the case if a check named in `checks` (every check when
/// empty) found a violation. A check that was not judged (work undone at the end and not
/// yet due) is not a violation and does not fail the case.
pub fn scenario_passes(s: &Scenario, checks: &[&str]) -> Result<(), TestCaseError> {
    let report = run_scenario(&crate::plugin::Protocols::builtin(), s, s.seed, None)
        .map_err(|e| TestCaseError::fail(format!("run failed: {e}")))?;
    match report
        .violations
        .iter()
        .find(|v| checks.is_empty() || checks.contains(&v.check.as_str()))
    {
        None => Ok(()),
        Some(v) => Err(TestCaseError::fail(format!("{}: {}", v.check, v.message))),
    }
}
