//! Shrinking FAILURE files: the library reduces a failing scenario deterministically and
//! refuses what does not fail; `detsim shrink` on FAILURE files written by `explore`
//! writes a small scenario that `replay` and `run` still fail with the same check.

use std::path::PathBuf;

use detsim::explore::FailureFile;
use detsim::explore::shrink::{ShrinkError, ShrinkOptions, Sizes, shrink};
use detsim::scenario::load_scenario;

use crate::scenarios::{detsim, scenario};
use crate::support::tempdir;
use crate::sweep_support::read_failure;

#[test]
fn library_shrink_is_smaller_deterministic_and_still_fails() {
    let s = load_scenario(
        &detsim::Protocols::builtin(),
        &PathBuf::from(scenario("deposit_partition_canary")),
    )
    .unwrap();
    let a = shrink(
        &detsim::Protocols::builtin(),
        &s,
        s.seed,
        "rpc.at_most_once",
        ShrinkOptions::default(),
    )
    .unwrap();
    let b = shrink(
        &detsim::Protocols::builtin(),
        &s,
        s.seed,
        "rpc.at_most_once",
        ShrinkOptions::default(),
    )
    .unwrap();
    assert_eq!(a, b, "same input, same output");
    assert_eq!(a.before, Sizes::of(&s));
    assert!(a.after.faults < a.before.faults, "{} -> {}", a.before, a.after);
    assert!(a.after.nodes < a.before.nodes && a.after.jobs < a.before.jobs);
    assert!(a.after.duration < a.before.duration);
    assert_eq!(a.scenario.seed, s.seed);
    let r = detsim::run::run_scenario(&detsim::Protocols::builtin(), &a.scenario, s.seed, None).unwrap();
    assert!(r.violations.iter().any(|v| v.check == "rpc.at_most_once"));
    assert_eq!(r.trace_hash, a.report.trace_hash);
    // A run budget is honoured.
    let tight = shrink(
        &detsim::Protocols::builtin(),
        &s,
        s.seed,
        "rpc.at_most_once",
        ShrinkOptions { max_runs: 3 },
    )
    .unwrap();
    assert!(tight.runs <= 3);
}

#[test]
fn library_shrink_refuses_what_does_not_fail() {
    let s = load_scenario(
        &detsim::Protocols::builtin(),
        &PathBuf::from(scenario("deposit_partition")),
    )
    .unwrap();
    match shrink(
        &detsim::Protocols::builtin(),
        &s,
        s.seed,
        "rpc.at_most_once",
        ShrinkOptions::default(),
    ) {
        Err(ShrinkError::NotReproduced { check, seed }) => {
            assert_eq!((check.as_str(), seed), ("rpc.at_most_once", s.seed))
        }
        other => panic!("expected NotReproduced, got {other:?}"),
    }
    let mut bad = s.clone();
    bad.duration = detsim::SimTime::ZERO;
    assert!(matches!(
        shrink(&detsim::Protocols::builtin(), &bad, 1, "x", ShrinkOptions::default()),
        Err(ShrinkError::Invalid(_))
    ));
}

/// explore -> shrink -> replay/run through the binary, on `file`.
fn explore_and_shrink(file: &str, seeds: &str, tag: &str, max_faults: usize) -> (FailureFile, FailureFile) {
    let dir = tempdir(&format!("shrink-{tag}"));
    let out_dir = dir.join("failures");
    let out = detsim(&["explore", file, "--seeds", seeds, "--out", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let mut found: Vec<PathBuf> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    found.sort();
    let failure = &found[0];
    let before = read_failure(failure);
    let small = dir.join("small.json");
    let out = detsim(&["shrink", failure.to_str().unwrap(), "-o", small.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{tag}: {stdout}");
    assert!(stdout.contains("before: ") && stdout.contains("after:  "), "{stdout}");
    let after = read_failure(&small);
    assert_eq!((after.seed, after.check.as_str()), (before.seed, before.check.as_str()));
    assert!(after.scenario.nemesis.is_none());
    assert!(
        after.scenario.faults.len() <= max_faults,
        "{tag}: {} faults left",
        after.scenario.faults.len()
    );
    assert!(Sizes::of(&after.scenario).nodes <= Sizes::of(&before.scenario).nodes);
    // replay finds the same violation with the recorded hash.
    let r = detsim(&["replay", small.to_str().unwrap(), "--json"]);
    assert_eq!(r.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(
        (v["same_violation"].clone(), v["same_hash"].clone()),
        (true.into(), true.into())
    );
    // --plain writes an ordinary scenario that `run` fails with the same check.
    let plain = dir.join("plain.json");
    let out = detsim(&[
        "shrink",
        failure.to_str().unwrap(),
        "--plain",
        "-o",
        plain.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let run = detsim(&["run", plain.to_str().unwrap(), "--json"]);
    assert_eq!(run.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        v["trace_hash"],
        after.trace_hash.as_str(),
        "the plain file runs at the failing seed"
    );
    assert!(
        v["violations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["check"] == after.check.as_str())
    );
    // Deterministic: shrinking again writes the same file.
    let again = dir.join("again.json");
    detsim(&["shrink", failure.to_str().unwrap(), "-o", again.to_str().unwrap()]);
    assert_eq!(std::fs::read(&small).unwrap(), std::fs::read(&again).unwrap());
    (before, after)
}

#[test]
fn cli_shrinks_an_explored_canary_failure() {
    let (before, after) = explore_and_shrink(&scenario("deposit_partition_canary"), "0..3", "canary", 2);
    assert!(after.scenario.faults.len() < before.scenario.faults.len());
}

#[test]
fn cli_shrinks_a_nemesis_failure_to_a_handful_of_faults() {
    let dir = tempdir("shrink-nemesis-src");
    let file = crate::scenarios::planted_nemesis(&dir);
    let (before, after) = explore_and_shrink(file.to_str().unwrap(), "0..10", "nemesis", 3);
    assert!(before.scenario.faults.len() >= 10, "the nemesis made many faults");
    assert!(after.scenario.nodes.len() < before.scenario.nodes.len());
}

#[test]
fn cli_shrink_exit_codes() {
    let dir = tempdir("shrink-codes");
    // Bad input: not a FAILURE file, missing file.
    let out = detsim(&["shrink", &scenario("rpc_multiply")]);
    assert_eq!(out.status.code(), Some(2));
    let out = detsim(&["shrink", dir.join("nope.json").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    // A FAILURE file whose failure does not come back: exit 1, nothing written.
    let s = load_scenario(
        &detsim::Protocols::builtin(),
        &PathBuf::from(scenario("deposit_partition")),
    )
    .unwrap();
    let f = FailureFile {
        detsim_failure: 1,
        seed: s.seed,
        trace_hash: "0000000000000000".into(),
        check: "rpc.at_most_once".into(),
        message: "made up".into(),
        source: "test".into(),
        scenario: s,
        swarm: None,
    };
    let file = dir.join("passing.json");
    std::fs::write(&file, serde_json::to_string_pretty(&f).unwrap()).unwrap();
    let out_file = dir.join("out.json");
    let out = detsim(&["shrink", file.to_str().unwrap(), "-o", out_file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!out_file.exists());
}

/// Does `s` fail `check` at `seed`?
fn fails(s: &detsim::scenario::Scenario, seed: u64, check: &str) -> bool {
    detsim::run::run_scenario(&detsim::Protocols::builtin(), s, seed, None)
        .unwrap()
        .violations
        .iter()
        .any(|v| v.check == check)
}

#[test]
fn shrinking_keeps_the_bug_not_another_one() {
    // The never-reassign canary under a crash nemesis. Removing every worker (or every
    // fault) also fails pool.liveness, but for another reason: the shrinker must not.
    let dir = tempdir("shrink-faithful-src");
    let file = dir.join("never-reassign.json");
    std::fs::write(
        &file,
        r#"{
      "name": "never-reassign", "seed": 0, "duration": "20s",
      "nodes": [
        { "id": "dispatcher", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 40 },
          "lease": "300ms", "canary_never_reassign": true },
        { "id": "w1", "role": "worker", "dispatcher": "dispatcher", "slots": 2,
          "service_time": { "dist": "exponential", "mean": "50ms" } },
        { "id": "w2", "role": "worker", "dispatcher": "dispatcher", "slots": 2,
          "service_time": { "dist": "exponential", "mean": "50ms" } }
      ],
      "nemesis": { "start": "0s", "stop": "3s", "targets": ["w1", "w2"], "crash_rate": 2 },
      "checks": { "pool_liveness_bound": "3s" }
    }"#,
    )
    .unwrap();
    let (before, after) = explore_and_shrink(file.to_str().unwrap(), "0..20", "faithful", 3);
    assert_eq!(after.check, "pool.liveness");
    let s = &after.scenario;
    assert!(
        s.nodes.iter().any(|n| n.role == "worker"),
        "a pool without workers fails for another reason"
    );
    assert!(!s.faults.is_empty(), "the bug needs a fault");
    assert!(fails(s, after.seed, "pool.liveness"));
    assert!(
        !fails(&s.without_canaries(), after.seed, "pool.liveness"),
        "with the canary off, the shrunk scenario passes"
    );
    let no_faults = detsim::scenario::Scenario {
        faults: vec![],
        ..s.clone()
    };
    assert!(
        !fails(&no_faults, after.seed, "pool.liveness"),
        "its faults are necessary"
    );
    assert!(Sizes::of(s).faults < Sizes::of(&before.scenario).faults);
}

#[test]
fn every_canary_shrinks_to_a_case_that_passes_with_the_canary_off() {
    // The shipped canary scenario and the nemesis scenario with the dedupe canary planted,
    // through the library: the shrunk case fails, and passes once the canary is off.
    let dir = tempdir("shrink-off");
    for file in [
        PathBuf::from(scenario("deposit_partition_canary")),
        crate::scenarios::planted_nemesis(&dir),
    ] {
        let s = load_scenario(&detsim::Protocols::builtin(), &file).unwrap();
        let seed = (0..10)
            .find(|seed| fails(&s, *seed, "rpc.at_most_once"))
            .expect("the canary is found");
        let shrunk = shrink(
            &detsim::Protocols::builtin(),
            &s,
            seed,
            "rpc.at_most_once",
            ShrinkOptions::default(),
        )
        .unwrap();
        assert!(fails(&shrunk.scenario, seed, "rpc.at_most_once"));
        assert!(
            !fails(&shrunk.scenario.without_canaries(), seed, "rpc.at_most_once"),
            "{}: the shrunk case fails with the canary off",
            file.display()
        );
    }
}

#[test]
fn the_phantom_booking_canary_shrinks_to_a_case_that_passes_with_the_canary_off() {
    // Three workers, leases shorter than the jobs, the pre-fix dispatcher: caught by
    // pool.work_conservation with no fault at all. The shrunk case keeps a worker (every
    // role of the pool) and passes once the canary is off.
    let s = detsim::scenario::parse_scenario(&detsim::Protocols::builtin(),
        "phantom.json",
        r#"{ "name": "phantom", "seed": 1, "duration": "60s",
      "nodes": [
        { "id": "dispatcher", "role": "dispatcher", "arrivals": { "kind": "batch", "jobs": 30 },
          "lease": "1s", "canary_book_refused_slots": true },
        { "id": "w1", "role": "worker", "dispatcher": "dispatcher", "service_time": { "dist": "constant", "value": "1500ms" } },
        { "id": "w2", "role": "worker", "dispatcher": "dispatcher", "service_time": { "dist": "constant", "value": "1500ms" } },
        { "id": "w3", "role": "worker", "dispatcher": "dispatcher", "service_time": { "dist": "constant", "value": "1500ms" } }
      ],
      "checks": { "pool_liveness_bound": "60s" } }"#,
    )
    .unwrap();
    let check = "pool.work_conservation";
    assert!(fails(&s, 1, check), "the canary is caught");
    let shrunk = shrink(&detsim::Protocols::builtin(), &s, 1, check, ShrinkOptions::default()).unwrap();
    assert!(shrunk.after.nodes < shrunk.before.nodes && shrunk.after.jobs < shrunk.before.jobs);
    assert!(shrunk.scenario.nodes.iter().any(|n| n.role == "worker"));
    assert!(fails(&shrunk.scenario, 1, check));
    assert!(
        !fails(&shrunk.scenario.without_canaries(), 1, check),
        "passes with the canary off"
    );
}
