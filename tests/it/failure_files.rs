//! FAILURE files that `explore` writes always load: `replay` brings the violation back
//! with the same trace hash (exit 1) however dense the nemesis was: no zero-length
//! window, at most as many faults as a scenario may hold, within the FAILURE-file size
//! limit; a cut nemesis plan is said, never silent; and a file that would not load is an
//! error, never written.

use std::path::{Path, PathBuf};

use detsim::explore::{FailureFile, failure_text};
use detsim::scenario::MAX_FAULTS;
use detsim::scenario::{MAX_FAILURE_FILE_BYTES, MAX_FILE_BYTES};

use crate::scenarios::detsim;
use crate::support::tempdir;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The deposit canary (no dedupe, duplicating links) under `nemesis`: it fails
/// `rpc.at_most_once` on every seed.
fn canary_under(nemesis: &str) -> String {
    format!(
        r#"{{"name": "nemesis-canary", "seed": 1, "duration": "30s",
  "network": {{"default": {{"duplicate": 0.2}}}},
  "nodes": [
    {{"id": "bank", "role": "rpc_server", "dedupe": false}},
    {{"id": "alice", "role": "rpc_client", "server": "bank", "calls": 200, "interval": "25ms",
      "mix": {{"deposit": 1}}, "timeout": "20ms", "max_attempts": 12}},
    {{"id": "bob", "role": "rpc_client", "server": "bank", "calls": 200, "interval": "25ms",
      "mix": {{"deposit": 1}}, "timeout": "20ms", "max_attempts": 12}}
  ],
  "nemesis": {nemesis}}}"#
    )
}

/// `explore` seed 0 of the scenario `text` (written into `dir`): its exit status, stderr
/// and the FAILURE file it wrote.
fn explore_seed0(dir: &Path, text: &str) -> (std::process::Output, PathBuf) {
    let scenario = dir.join("scenario.json");
    std::fs::write(&scenario, text).unwrap();
    let out_dir = dir.join("failures");
    let out = detsim(&[
        "explore",
        scenario.to_str().unwrap(),
        "--seeds",
        "0",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    (out, out_dir.join("nemesis-canary-seed0.json"))
}

/// `replay` of `file`: the violation came back (exit 1) with the recorded hash.
fn assert_replays(file: &Path) {
    let out = detsim(&["replay", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["same_violation"], true);
    assert_eq!(r["same_hash"], true, "{}", r["expected_trace_hash"]);
}

/// Was: pause windows drawn 0 ns long (`pause_time` 0ns..1ns) went into the FAILURE file
/// as `until == at`, which the validator refuses: `replay` exited 2.
#[test]
fn zero_length_nemesis_windows_never_reach_a_failure_file() {
    let dir = tempdir("ff-zero");
    let (_, file) = explore_seed0(
        &dir,
        &canary_under(r#"{"stop": "5s", "pause_rate": 200.0, "pause_time": {"min": "0ns", "max": "1ns"}}"#),
    );
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let faults = f["scenario"]["faults"].as_array().unwrap();
    assert!(faults.len() > 100, "{}", faults.len());
    assert!(faults.iter().all(|x| x["until"] != x["at"]));
    assert_replays(&file);
}

/// Was: the nemesis planned up to 1,000,000 windows (the validator holds 100,000 faults)
/// and the FAILURE file was far over the 16 MiB limit: `replay` exited 2. Now the plan
/// stops at the cap, `run` and `explore` say so, and the file (over 16 MiB: FAILURE files
/// may be up to 64 MiB) replays.
#[test]
fn a_dense_nemesis_failure_file_replays_and_the_cut_is_said() {
    let dir = tempdir("ff-dense");
    let text = canary_under(
        r#"{"stop": "25s", "partition_rate": 10000.0, "partition_time": {"min": "1ns", "max": "60us"},
            "loss_rate": 10000.0, "loss_time": {"min": "1ns", "max": "60us"}}"#,
    );
    let (out, file) = explore_seed0(&dir, &text);
    let err = stderr(&out);
    assert!(
        err.contains("warning: on 1 seed (first seed 0): the nemesis plan was cut at ")
            && err.contains("(it runs until 25s): at most 100000 fault windows per run"),
        "{err}"
    );
    let size = std::fs::metadata(&file).unwrap().len();
    assert!(
        size > MAX_FILE_BYTES && size <= MAX_FAILURE_FILE_BYTES,
        "{size} bytes: over the scenario limit, so this tests the FAILURE-file limit"
    );
    let f: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(f["scenario"]["faults"].as_array().unwrap().len(), MAX_FAULTS);
    assert_replays(&file);
    let out = detsim(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // `run` says it too, on stderr and in the JSON.
    let scenario = dir.join("scenario.json");
    let out = detsim(&["run", scenario.to_str().unwrap(), "--seed", "0", "--json"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("warning: the nemesis plan was cut at "),
        "{}",
        stderr(&out)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        r["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("the nemesis plan was cut at ")
    );
    // Scheduled faults take their room from the nemesis: still at most MAX_FAULTS.
    let mut s: serde_json::Value = serde_json::from_str(&text).unwrap();
    s["faults"] = serde_json::json!([{"kind": "pause", "at": "1ms", "until": "2ms", "node": "bob"}]);
    std::fs::write(&scenario, s.to_string()).unwrap();
    let out = detsim(&["run", scenario.to_str().unwrap(), "--seed", "0", "--json"]);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["faults"].as_array().unwrap().len(), MAX_FAULTS);
    // A quiet nemesis is not cut, and nothing is said.
    let quiet = dir.join("quiet.json");
    std::fs::write(&quiet, canary_under(r#"{"stop": "5s", "crash_rate": 1.0}"#)).unwrap();
    let out = detsim(&["run", quiet.to_str().unwrap(), "--json"]);
    assert!(!stderr(&out).contains("warning"), "{}", stderr(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["warnings"], serde_json::json!([]));
}

/// The safety net: a FAILURE file that would not load (here a zero-length window, as the
/// planner once made) is an error naming the problem, not a file `replay` refuses.
#[test]
fn a_failure_file_that_would_not_load_is_an_error() {
    let text = canary_under(r#"{"stop": "5s", "crash_rate": 1.0}"#);
    let scenario: detsim::scenario::Scenario = detsim::Protocols::builtin()
        .scope(|| serde_json::from_str(&text))
        .unwrap();
    let mut f = FailureFile {
        detsim_failure: 1,
        seed: 0,
        trace_hash: "0".repeat(16),
        check: "rpc.at_most_once".into(),
        message: "executed twice".into(),
        source: "scenario.json".into(),
        scenario,
        swarm: None,
    };
    f.scenario.nemesis = None;
    let good = failure_text(&detsim::Protocols::builtin(), &f).unwrap();
    assert!(detsim::explore::parse_failure(&detsim::Protocols::builtin(), "f.json", &good).is_ok());
    // A window that ends where it starts: no file can hold it.
    f.scenario.faults = vec![detsim::TimedFault::window(
        detsim::SimTime::from_millis(1),
        detsim::SimTime::from_millis(1),
        detsim::Fault::Pause {
            node: "bob".to_string(),
        },
    )];
    let err = failure_text(&detsim::Protocols::builtin(), &f).unwrap_err().to_string();
    assert!(
        err.contains("bug: the FAILURE file of seed 0 (rpc.at_most_once) would not load")
            && err.contains("at scenario.faults[0].until: 1ms must be after `at` (1ms)"),
        "{err}"
    );
}

/// Scenario files keep their own limit (16 MiB) when read where a FAILURE file could be.
#[test]
fn a_scenario_file_over_its_limit_is_refused() {
    let dir = tempdir("ff-large");
    let mut s: serde_json::Value = serde_json::from_str(&canary_under(r#"{"stop": "5s"}"#)).unwrap();
    s["description"] = "x".repeat(MAX_FILE_BYTES as usize).into();
    let file = dir.join("large.json");
    std::fs::write(&file, s.to_string()).unwrap();
    for cmd in ["run", "validate", "explore"] {
        let mut args = vec![cmd, file.to_str().unwrap()];
        if cmd == "explore" {
            args.extend(["--seeds", "0"]);
        }
        let out = detsim(&args);
        assert_eq!(out.status.code(), Some(2), "{cmd}");
        assert!(
            stderr(&out).contains("scenario files are limited to 16777216 bytes"),
            "{cmd}: {}",
            stderr(&out)
        );
    }
}
